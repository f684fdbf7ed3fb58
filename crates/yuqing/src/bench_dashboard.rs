//! `yuqing bench-dashboard`: how fast the 总览 page answers with a large store. Builds (or reuses)
//! a data directory of N posts through the real ingest path, starts the real server on it, and
//! times GET / over HTTP, reporting p50, p95 and max.
//!
//! The source posts are the real Weibo posts given on the command line; they carry no time, so the
//! benchmark spreads them evenly over the 60 days before the run and gives the k-th repetition of a
//! file its own source name (so a repeated post is a new post, not a duplicate).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration as StdDuration, Instant};

use anyhow::{bail, Context, Result};
use chrono::{Duration, Utc};
use serde::Serialize;
use yuqing_core::input::{self, Format};
use yuqing_store::Store;

use crate::config::Config;
use crate::pipeline::Pipeline;

#[derive(Debug, Clone, Serialize)]
pub struct DashboardBench {
    pub posts: u64,
    pub stories: u64,
    pub requests: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    pub build_seconds: Option<f64>,
}

/// Fills `data_dir` with `target` posts from `files` (skipped when it already holds that many).
fn build(data_dir: &Path, files: &[PathBuf], target: u64) -> Result<Option<f64>> {
    let config = Config::defaults();
    let mut pipeline = Pipeline::open(data_dir, config)?;
    let have = pipeline.data().store.stats()?.posts;
    if have >= target {
        return Ok(None);
    }
    let started = Instant::now();
    let mut pool = Vec::new();
    for f in files {
        let bytes = std::fs::read(f).with_context(|| format!("无法读取 {}", f.display()))?;
        let fmt = Format::from_path_hint(&f.to_string_lossy()).unwrap_or(Format::Csv);
        pool.extend(
            input::parse(&bytes, fmt)
                .with_context(|| format!("{} 无法解析", f.display()))?
                .posts
                .into_iter()
                .map(|(_, p)| p),
        );
    }
    if pool.is_empty() {
        bail!("输入文件中没有帖文");
    }
    let now = Utc::now();
    let span = Duration::days(60).num_seconds();
    let mut stored = have;
    let mut i = have;
    let mut round = 0u64;
    while stored < target {
        let mut batch = Vec::with_capacity(20_000);
        while batch.len() < 20_000 && stored + (batch.len() as u64) < target {
            let idx = (i as usize) % pool.len();
            round = i / pool.len() as u64;
            let mut p = pool[idx].clone();
            let at = now - Duration::seconds(span - (i as i64 * span / target as i64));
            p.published_at = Some(at.fixed_offset());
            if round > 0 {
                p.source = Some(format!("{}·{round}", p.source_str()));
            }
            batch.push((i as usize + 1, p));
            i += 1;
        }
        let batch_end = batch.last().and_then(|(_, p)| p.published_at).map(|t| t.with_timezone(&Utc)).unwrap_or(now);
        let r = pipeline.ingest(batch, batch_end)?;
        stored += r.stored as u64;
        if r.stored == 0 {
            bail!("第 {round} 轮没有新帖文入库（全是重复），无法达到 {target} 条");
        }
        eprintln!("已入库 {stored}/{target}");
    }
    pipeline.flush()?;
    Ok(Some(started.elapsed().as_secs_f64()))
}

fn get(addr: &str, path: &str, token: &str) -> Result<(u16, usize)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(StdDuration::from_secs(30)))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let head = String::from_utf8_lossy(&raw[..raw.len().min(64)]).to_string();
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((status, raw.len()))
}

/// Builds the store (if needed), serves it and times `requests` GETs of the dashboard.
pub fn run(data_dir: &Path, files: &[PathBuf], target: u64, requests: usize) -> Result<DashboardBench> {
    let build_seconds = build(data_dir, files, target)?;
    let pipeline = Pipeline::open(data_dir, Config::defaults())?;
    let stats = pipeline.data().store.stats()?;
    // The page needs a signed-in user: a viewer with a fresh token (the bench user is re-keyed each run).
    let token = crate::desk_cli::new_token()?;
    let guard = pipeline.data();
    let conn = guard.store.connection();
    if yuqing_store::desk::user_by_name(conn, "bench-viewer")?.is_none() {
        let u = yuqing_store::desk::NewUser {
            name: "bench-viewer".into(),
            display_name: "基准测试".into(),
            role: Some(yuqing_core::people::Role::Viewer),
            ..Default::default()
        };
        yuqing_store::desk::add_user(conn, &u, &yuqing_store::desk::token_hash(&token), Utc::now())?;
    } else {
        yuqing_store::desk::set_user_token(conn, "bench-viewer", &yuqing_store::desk::token_hash(&token))?;
    }
    drop(guard);
    let data = pipeline.into_data();
    let state = yuqing_server::AppState::shared(data, "基准测试".into(), None);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (_addr, times) = rt.block_on(async {
        let (local, fut) = yuqing_server::bind(state, "127.0.0.1:0").await?;
        tokio::spawn(fut);
        let addr = local.to_string();
        let a = addr.clone();
        let times = tokio::task::spawn_blocking(move || -> Result<Vec<f64>> {
            // Warm the page cache once, as a running server would be.
            get(&a, "/", &token)?;
            let mut times = Vec::with_capacity(requests);
            for _ in 0..requests {
                let t = Instant::now();
                let (status, len) = get(&a, "/", &token)?;
                if status != 200 || len < 1000 {
                    bail!("总览页返回 {status}（{len} 字节）");
                }
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(times)
        })
        .await??;
        Ok::<_, anyhow::Error>((addr, times))
    })?;
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| sorted[((sorted.len() as f64 - 1.0) * p).round() as usize];
    Ok(DashboardBench {
        posts: stats.posts,
        stories: stats.stories,
        requests,
        p50_ms: pct(0.5),
        p95_ms: pct(0.95),
        max_ms: pct(1.0),
        build_seconds,
    })
}
