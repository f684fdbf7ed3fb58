//! `yuqing bench-collect`: detection latency — an item appended to a feed → its alert delivered to a
//! webhook — measured end to end through a real `yuqing serve` process (this same binary), a local
//! feed and a local webhook receiver. Items are appended one at a time, each at a random moment of
//! the source's polling cycle, so the figures include the wait for the next poll.
//!
//! Each item is made its own story (the bench's `[assembly]` joins nothing) so that each raises
//! its own alert; the rule, the pipeline, the desk and the outbox are the production ones.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct CollectBench {
    pub items: usize,
    pub interval_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

type Shared<T> = Arc<Mutex<T>>;

fn serve_feed(feed: Shared<Vec<u8>>) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let feed = feed.clone();
            std::thread::spawn(move || {
                let Ok(clone) = stream.try_clone() else { return };
                let mut reader = BufReader::new(clone);
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                    line.clear();
                }
                let body = if first.contains(" /feed.xml ") {
                    feed.lock().map(|f| f.clone()).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let status = if body.is_empty() { "404 Not Found" } else { "200 OK" };
                let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Type: application/rss+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = stream.write_all(&body);
            });
        }
    });
    Ok(addr)
}

fn serve_webhook(received: Shared<Vec<(Instant, String)>>) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(clone) = stream.try_clone() else { continue };
            let mut reader = BufReader::new(clone);
            let mut len = 0usize;
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            if let Ok(mut r) = received.lock() {
                r.push((Instant::now(), String::from_utf8_lossy(&body).into_owned()));
            }
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}");
        }
    });
    Ok(addr)
}

fn rss(items: &[String]) -> Vec<u8> {
    let mut s =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>基准</title>");
    for (i, text) in items.iter().enumerate() {
        s.push_str(&format!("<item><title>测量{i}号</title><link>http://bench.local/t/{i}</link><description>{text}</description></item>"));
    }
    s.push_str("</channel></rss>");
    s.into_bytes()
}

/// Distinct texts (distinct term vectors), each matching the bench's rule.
fn item_text(i: usize) -> String {
    const PLACES: [&str; 10] = ["城东", "城西", "城南", "城北", "开发区", "高新区", "江北", "河西", "新城", "老城"];
    const KINDS: [&str; 10] =
        ["人民", "中医", "妇幼保健", "儿童", "肿瘤", "口腔", "骨科", "眼科", "精神卫生", "传染病"];
    const WHAT: [&str; 7] = ["挂号窗口", "缴费大厅", "门诊药房", "检验科", "住院部", "急诊室", "影像中心"];
    const HOW: [&str; 5] = ["群众意见很大", "老人站不住", "孩子哭闹不止", "有人晕倒", "保安维持秩序"];
    format!("{}{}医院{}排队{}个小时，{}。", PLACES[i % 10], KINDS[(i / 10) % 10], WHAT[i % 7], i % 5 + 2, HOW[i % 5])
}

fn random_share() -> f64 {
    getrandom::u32().map(|n| f64::from(n) / (f64::from(u32::MAX) + 1.0)).unwrap_or(0.5)
}

pub fn run(items: usize, interval: Duration) -> Result<CollectBench> {
    if items == 0 {
        bail!("--items 至少为 1");
    }
    let tmp = std::env::temp_dir().join(format!("yuqing-bench-collect-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).with_context(|| format!("无法创建 {}", tmp.display()))?;
    let feed = Arc::new(Mutex::new(rss(&[])));
    let received = Arc::new(Mutex::new(Vec::new()));
    let site = serve_feed(feed.clone())?;
    let hook = serve_webhook(received.clone())?;
    let cfg = tmp.join("yuqing.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[rules]]\nname = \"医院服务\"\nexpr = \"医院 & 排队\"\n\n[assembly]\nmin_similarity = 1.0\nnear_duplicate_bits = 0\n\n\
             [[channels]]\nname = \"值班通知\"\nkind = \"webhook\"\nurl = \"http://{hook}/hook\"\n\n[desk]\ntick = \"1s\"\ndefault_channels = [\"值班通知\"]\n\n\
             [collect]\npoliteness = \"0s\"\njitter = 0.0\n\n[[sources]]\nid = \"bench\"\nname = \"基准论坛\"\nkind = \"feed\"\nurl = \"http://{site}/feed.xml\"\ninterval = \"{}ms\"\n",
            interval.as_millis()
        ),
    )?;
    let exe = std::env::current_exe().context("找不到本程序")?;
    let data = tmp.join("data");
    let status = Command::new(&exe)
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&cfg)
        .args(["user", "add", "office", "--role", "coordinator"])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("无法创建基准测试用户");
    }
    let mut child = Command::new(&exe)
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(&cfg)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let result = (|| -> Result<CollectBench> {
        let stdout = child.stdout.take().context("无法读取服务输出")?;
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.contains("页面已启动") => break,
                Some(_) => {}
                None => bail!("服务未能启动"),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        let mut texts = Vec::new();
        let mut times = Vec::with_capacity(items);
        for i in 0..items {
            std::thread::sleep(interval.mul_f64(random_share()));
            texts.push(item_text(i));
            let marker = format!("测量{i}号");
            *feed.lock().map_err(|_| anyhow::anyhow!("lock"))? = rss(&texts);
            let appended = Instant::now();
            let deadline = appended + interval + Duration::from_secs(60);
            loop {
                let hit = received
                    .lock()
                    .map_err(|_| anyhow::anyhow!("lock"))?
                    .iter()
                    .find(|(_, b)| b.contains(&marker))
                    .map(|(t, _)| *t);
                if let Some(t) = hit {
                    times.push(t.duration_since(appended).as_secs_f64() * 1000.0);
                    break;
                }
                if Instant::now() > deadline {
                    bail!("第 {i} 条在 {:?} 内没有送达预警", deadline - appended);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let mut sorted = times.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize];
        Ok(CollectBench {
            items,
            interval_s: interval.as_secs_f64(),
            p50_ms: pct(0.5),
            p95_ms: pct(0.95),
            max_ms: pct(1.0),
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&tmp);
    result
}
