//! Live collection through the real binary: `yuqing serve` with local sources. An item appended to
//! a feed that matches a watch rule reaches the duty webhook within the source interval plus 5 s;
//! SIGKILL in the middle of collection cycles loses no post and duplicates none; the push API
//! answers per item.

mod common;
#[path = "../../yuqing-collect/tests/site/mod.rs"]
mod site;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::*;
use serde_json::{json, Value};
use site::{Response, Site};

type Pages = Arc<Mutex<std::collections::HashMap<String, (String, Vec<u8>)>>>;

/// A tiny site: path → (content type, body); unknown paths are 404. Every answer waits `delay`.
fn start_site(delay: Duration) -> (String, Pages) {
    let pages: Pages = Arc::new(Mutex::new(std::collections::HashMap::new()));
    let p = pages.clone();
    let addr = Site::new()
        .fallback(move |req| {
            std::thread::sleep(delay);
            let key = if req.query.is_empty() { req.path.clone() } else { format!("{}?{}", req.path, req.query) };
            match p.lock().expect("lock").get(&key).cloned() {
                Some((ct, body)) => Response::ok(&ct, body),
                None => Response::status(404, "not found").header("content-type", "text/plain"),
            }
        })
        .start();
    (addr.to_string(), pages)
}

fn rss(items: &[(String, String, String)]) -> Vec<u8> {
    let mut s =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>本地论坛</title>");
    for (url, title, text) in items {
        s.push_str(&format!("<item><title>{title}</title><link>{url}</link><description>{text}</description><pubDate>{}</pubDate></item>", Utc::now().to_rfc2822()));
    }
    s.push_str("</channel></rss>");
    s.into_bytes()
}

fn add_user(data: &Path, cfg: &Path, args: &[&str]) -> String {
    let v = run_json(yuqing(data).arg("--config").arg(cfg).arg("--json").arg("user").arg("add").args(args));
    v["token"].as_str().expect("token").to_string()
}

#[test]
fn an_item_appended_to_a_feed_reaches_the_duty_webhook_within_the_interval_plus_5s() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let receiver = Receiver::start(0);
    let (site, pages) = start_site(Duration::ZERO);
    let mut items =
        vec![(format!("http://{site}/t/1"), "周末出行提示".to_string(), "本周末天气晴好，适合出行。".to_string())];
    pages.lock().unwrap().insert("/feed.xml".into(), ("application/rss+xml".into(), rss(&items)));
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[[rules]]
name = "医院服务"
expr = "医院 & (排队 | 收费)"

[[channels]]
name = "值班通知"
kind = "webhook"
url = "http://{}/hook"

[desk]
tick = "1s"
default_channels = ["值班通知"]

[collect]
politeness = "1s"

[[sources]]
id = "bbs"
name = "本地论坛"
kind = "feed"
url = "http://{site}/feed.xml"
interval = "3s"
"#,
            receiver.addr
        ),
    )
    .unwrap();
    let office = add_user(&data, &cfg, &["office", "--role", "coordinator", "--display-name", "办公室"]);
    let server = serve(&data, &cfg);
    assert!(server.output.iter().any(|l| l.contains("采集信息源 1 个")), "{:?}", server.output);

    // The first run stores the first item.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = api(&server.addr, "GET", "/api/v1/sources", &office, &Value::Null, 200);
        if s["sources"][0]["last_success_at"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "the source never succeeded: {s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(receiver.received().is_empty(), "nothing matched yet: {:?}", receiver.received());

    items.push((
        format!("http://{site}/t/2"),
        "市第一医院排队".to_string(),
        "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大".to_string(),
    ));
    pages.lock().unwrap().insert("/feed.xml".into(), ("application/rss+xml".into(), rss(&items)));
    let appended = Instant::now();
    let body = receiver.wait_for("舆情预警", Duration::from_secs(8 + 5));
    let took = appended.elapsed();
    assert!(took <= Duration::from_secs(3 + 5), "alert after {took:?} (interval 3 s + 5 s)");
    assert!(body.contains("IV级"), "{body}");
    let stats = api(&server.addr, "GET", "/api/v1/stats", &office, &Value::Null, 200);
    assert_eq!(stats["posts"], 2, "{stats}");

    // Each post links its evidence: the feed as fetched, viewable as text and downloadable as is.
    let (status, page) = http(&server.addr, "GET", "/posts", Some(&office), "text/plain", b"");
    assert_eq!(status, 200);
    let sha: String =
        page.split("/snapshots/").nth(1).expect("a snapshot link on the posts page").chars().take(64).collect();
    assert!(sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()), "{sha}");
    let (status, view) = http(&server.addr, "GET", &format!("/snapshots/{sha}"), Some(&office), "text/plain", b"");
    assert_eq!(status, 200, "{view}");
    assert!(
        view.contains(&format!("http://{site}/feed.xml")) && view.contains("&lt;rss"),
        "shown as text, not as a live page"
    );
    let (status, raw) =
        http(&server.addr, "GET", &format!("/snapshots/{sha}?download=1"), Some(&office), "text/plain", b"");
    assert_eq!(status, 200);
    assert!(raw.starts_with("<?xml") && raw.contains("<rss"), "{raw}");
    let (status, sources) = http(&server.addr, "GET", "/sources", Some(&office), "text/plain", b"");
    assert!(
        status == 200 && sources.contains("href=\"/sources?id=bbs\"") && sources.contains("最近成功"),
        "the 信息源 page shows the source's health: {sources}"
    );
    let (status, one) = http(&server.addr, "GET", "/sources?id=bbs", Some(&office), "text/plain", b"");
    assert!(status == 200 && one.contains("最近的抓取") && one.contains("成功"), "one source's recent fetches: {one}");
    let (status, _) = http(&server.addr, "GET", "/sources?id=nope", Some(&office), "text/plain", b"");
    assert_eq!(status, 404);
    let (status, _) = http(&server.addr, "GET", "/snapshots/not-a-hash", Some(&office), "text/plain", b"");
    assert_eq!(status, 400);
    let (status, _) =
        http(&server.addr, "GET", &format!("/snapshots/{}", "0".repeat(64)), Some(&office), "text/plain", b"");
    assert_eq!(status, 404);
}

#[test]
fn sigkill_in_the_middle_of_collection_loses_nothing_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Every page answers after 60 ms, so a cycle over the list's 25 articles takes seconds.
    let (site, pages) = start_site(Duration::from_millis(60));
    {
        let mut p = pages.lock().unwrap();
        let mut list = String::from("<html><body><ul class=\"news\">");
        for i in 0..25 {
            list.push_str(&format!("<li><a href=\"/a/{i}.html\">第 {i} 篇</a></li>"));
            p.insert(
                format!("/a/{i}.html"),
                ("text/html; charset=utf-8".into(), format!("<html><head><title>通报第 {i} 号</title></head><body><div class=\"c\"><p>第 {i} 号通报：某街道第 {i} 段道路施工，请绕行，施工期间注意安全。</p></div></body></html>").into_bytes()),
            );
        }
        list.push_str("</ul></body></html>");
        p.insert("/list.html".into(), ("text/html; charset=utf-8".into(), list.into_bytes()));
        let items: Vec<_> = (0..20)
            .map(|i| {
                (
                    format!("http://{site}/f/{i}"),
                    format!("快讯 {i}"),
                    format!("第 {i} 条快讯：全市公交线路第 {i} 路临时调整。"),
                )
            })
            .collect();
        p.insert("/feed.xml".into(), ("application/rss+xml".into(), rss(&items)));
    }
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[collect]
politeness = "0s"

[[sources]]
id = "list"
name = "街道网站"
kind = "html"
url = "http://{site}/list.html"
interval = "1s"
[sources.selectors]
links = "ul.news a"
max_articles = 5

[[sources]]
id = "feed"
name = "公交快讯"
kind = "feed"
url = "http://{site}/feed.xml"
interval = "1s"
"#
        ),
    )
    .unwrap();
    let token = add_user(&data, &cfg, &["office", "--role", "coordinator"]);
    let serve = || serve(&data, &cfg);
    // Killed (SIGKILL) at different points of the cycles: articles are fetched 5 per run, 60 ms each.
    for wait_ms in [400u64, 900, 650, 1300] {
        let mut server = serve();
        std::thread::sleep(Duration::from_millis(wait_ms));
        server.child.kill().expect("SIGKILL");
        let _ = server.child.wait();
    }
    let server = serve();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = api(&server.addr, "GET", "/api/v1/stats", &token, &Value::Null, 200);
        if stats["posts"] == 45 {
            break;
        }
        assert!(stats["posts"].as_u64().unwrap_or(0) <= 45, "more posts than items: {stats}");
        assert!(Instant::now() < deadline, "not all items arrived: {stats}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // A few more cycles: still 45.
    std::thread::sleep(Duration::from_millis(2500));
    let stats = api(&server.addr, "GET", "/api/v1/stats", &token, &Value::Null, 200);
    assert_eq!(stats["posts"], 45, "{stats}");
    drop(server);
    let conn = yuqing_store::Connection::open(data.join("yuqing.db")).unwrap();
    let (n, distinct): (i64, i64) =
        conn.query_row("SELECT COUNT(*), COUNT(DISTINCT url) FROM posts", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!((n, distinct), (45, 45));
}

#[test]
fn the_push_api_answers_per_item_and_refuses_bad_input_in_chinese() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, "[[rules]]\nname = \"医院服务\"\nexpr = \"医院 & 排队\"\n").unwrap();
    let crawler = add_user(&data, &cfg, &["crawler", "--role", "officer"]);
    let viewer = add_user(&data, &cfg, &["viewer", "--role", "viewer"]);
    let server = serve(&data, &cfg);
    let now = Utc::now().to_rfc3339();
    let body = [
        json!({"source": "微博", "url": "https://weibo.example/1?utm_source=x", "text": "市第一医院挂号排队三个小时", "published_at": now}).to_string(),
        json!({"source": "微博", "url": "https://weibo.example/1", "text": "同一网址再推一次"}).to_string(),
        json!({"source": "微博", "published_at": "昨天"}).to_string(),
        json!({"source": "本地论坛", "url": "https://bbs.example/2", "text": "市第一医院挂号排队三个小时"}).to_string(),
    ]
    .join("\n");
    let (status, text) =
        http(&server.addr, "POST", "/api/v1/posts", Some(&crawler), "application/x-ndjson", body.as_bytes());
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (v["accepted"].as_u64(), v["duplicates"].as_u64(), v["rejected"].as_u64()),
        (Some(2), Some(1), Some(1)),
        "{v}"
    );
    let statuses: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, vec!["accepted", "duplicate", "rejected", "accepted"]);
    assert!(v["items"][2]["reason"].as_str().unwrap().contains("published_at"), "{v}");
    // Pushed again: all duplicates.
    let (_, text) = http(
        &server.addr,
        "POST",
        "/api/v1/posts",
        Some(&crawler),
        "application/x-ndjson",
        body.lines().next().unwrap().as_bytes(),
    );
    assert!(text.contains("\"duplicates\":1"), "{text}");
    // Bad input: 400 with a Chinese message naming the place; viewers may not push.
    let (status, text) =
        http(&server.addr, "POST", "/api/v1/posts", Some(&crawler), "application/x-ndjson", b"{\"text\": ");
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("第 1 行"), "{text}");
    let (status, text) = http(&server.addr, "POST", "/api/v1/posts", Some(&crawler), "application/x-ndjson", b"");
    assert!(status == 400 && text.contains("请求体为空"), "{text}");
    let (status, _) =
        http(&server.addr, "POST", "/api/v1/posts", Some(&viewer), "application/x-ndjson", body.as_bytes());
    assert_eq!(status, 403);
    let stats = api(&server.addr, "GET", "/api/v1/stats", &crawler, &Value::Null, 200);
    assert_eq!(stats["posts"], 2, "{stats}");
}

/// A scratch directory (with the data directory and configuration paths in it) and a site whose
/// `/feed.xml` carries one notice.
fn one_notice_site() -> (tempfile::TempDir, std::path::PathBuf, String, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (site, pages) = start_site(Duration::ZERO);
    let items = vec![(format!("http://{site}/t/1"), "通告".to_string(), "城南区明日停水，请提前储水。".to_string())];
    pages.lock().unwrap().insert("/feed.xml".into(), ("application/rss+xml".into(), rss(&items)));
    let cfg = tmp.path().join("yuqing.toml");
    (tmp, data, site, cfg)
}

#[test]
fn sources_can_be_listed_added_tested_and_disabled_from_the_command_line() {
    let (_tmp, data, site, cfg) = one_notice_site();
    std::fs::write(&cfg, format!("[collect]\npoliteness = \"0s\"\n\n[[sources]]\nid = \"bbs\"\nname = \"本地论坛\"\nkind = \"feed\"\nurl = \"http://{site}/feed.xml\"\n")).unwrap();
    let sources = |args: &[&str]| {
        let mut c = yuqing(&data);
        c.arg("--config").arg(&cfg).arg("sources").args(args);
        run(&mut c)
    };

    // test: fetches once, prints what would be stored, stores nothing.
    let out = sources(&["test", "bbs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("得到 1 条") && stdout(&out).contains("城南区明日停水"), "{}", stdout(&out));
    assert!(!data.join("yuqing.db").exists(), "sources test leaves no data behind");

    let out = sources(&[
        "add",
        "city",
        "--name",
        "某市新闻网",
        "--kind",
        "html",
        "--url",
        &format!("http://{site}/list.html"),
        "--tier",
        "地方",
        "--set",
        "selectors.links = \"ul a\"",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sources(&["add", "bad", "--name", "x", "--kind", "html", "--url", "http://example.com/"]);
    assert!(!out.status.success() && stderr(&out).contains("selectors.links"), "{}", stderr(&out));
    let out = sources(&["disable", "bbs"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sources(&["disable", "nope"]);
    assert!(!out.status.success() && stderr(&out).contains("nope"));

    let v = run_json(yuqing(&data).arg("--config").arg(&cfg).arg("--json").args(["sources", "list"]));
    let list = v["sources"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{v}");
    assert_eq!((list[0]["source"]["id"].as_str(), list[0]["source"]["enabled"].as_bool()), (Some("bbs"), Some(false)));
    assert_eq!((list[1]["source"]["id"].as_str(), list[1]["source"]["tier"].as_str()), (Some("city"), Some("Local")));
    assert_eq!(list[1]["health"]["consecutive_failures"], 0);
    let stats = run_json(yuqing(&data).arg("--config").arg(&cfg).arg("--json").arg("stats"));
    assert_eq!(stats["posts"], 0);
}

/// Sources saved with the command line while the server runs are collected (or stopped) at the
/// next reading of the sources, without a restart.
#[test]
fn sources_added_and_disabled_from_the_command_line_take_effect_while_the_server_runs() {
    let (_tmp, data, site, cfg) = one_notice_site();
    std::fs::write(&cfg, "[collect]\npoliteness = \"0s\"\njitter = 0.0\nsources_reload = \"1s\"\n").unwrap();
    let office = add_user(&data, &cfg, &["office", "--role", "coordinator", "--display-name", "办公室"]);
    let server = serve(&data, &cfg);
    assert!(server.output.iter().any(|l| l.contains("采集信息源 0 个")), "{:?}", server.output);
    let sources = |args: &[&str]| {
        let mut c = yuqing(&data);
        c.arg("--config").arg(&cfg).arg("sources").args(args);
        let out = run(&mut c);
        assert!(out.status.success(), "{}", stderr(&out));
    };
    let last_success = || {
        let s = api(&server.addr, "GET", "/api/v1/sources", &office, &Value::Null, 200);
        s["sources"]
            .as_array()
            .and_then(|a| a.iter().find(|h| h["source_id"] == "bbs"))
            .map(|h| h["last_success_at"].clone())
    };

    sources(&[
        "add",
        "bbs",
        "--name",
        "本地论坛",
        "--kind",
        "feed",
        "--url",
        &format!("http://{site}/feed.xml"),
        "--set",
        "interval = \"1s\"",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !last_success().is_some_and(|t| t.is_string()) {
        assert!(Instant::now() < deadline, "the added source was never collected");
        std::thread::sleep(Duration::from_millis(200));
    }
    let stats = api(&server.addr, "GET", "/api/v1/stats", &office, &Value::Null, 200);
    assert_eq!(stats["posts"], 1, "{stats}");
    let (status, page) = http(&server.addr, "GET", "/sources", Some(&office), "text/plain", b"");
    assert!(status == 200 && page.contains("本地论坛"), "the 信息源 page lists the added source: {page}");

    // Disabled: after the next reading (1 s) and the run in progress, no more fetches.
    sources(&["disable", "bbs"]);
    std::thread::sleep(Duration::from_secs(4));
    let stopped_at = last_success();
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(last_success(), stopped_at, "a disabled source is no longer collected");
}
