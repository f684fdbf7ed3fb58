//! `yuqing bench-store`: the store's write path alone, on each backend. The files are ingested
//! once into a scratch data directory (the real pipeline, so the records are what ingest
//! writes); then its posts and stories are written again, in the pipeline's batches, into a fresh
//! SQLite store and a fresh PostgreSQL schema, alternating, several rounds, and each write is
//! timed. The machine is shared and noisy, so the rounds are interleaved and the median is given.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::Utc;
use serde::Serialize;
use yuqing_ingest::pipeline::Pipeline;
use yuqing_store::pg::PgStore;
use yuqing_store::{PostRecord, SqliteStore, Store, StoryQuery, StoryRecord, WriteBatch};

use crate::config::Config;

/// Posts per write, as the pipeline writes them.
const BATCH: usize = 512;

#[derive(Debug, Serialize)]
pub struct StoreBenchReport {
    pub posts: usize,
    pub stories: usize,
    pub rounds: usize,
    /// Posts per second of each round, in order.
    pub sqlite_rounds: Vec<f64>,
    pub postgres_rounds: Vec<f64>,
    pub sqlite_median: f64,
    pub postgres_median: f64,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        0.0
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    }
}

/// The batches ingest would write: posts in id order, each batch with the stories of its posts
/// (as they end up; the store upserts whole stories).
fn batches(posts: Vec<PostRecord>, stories: &[StoryRecord]) -> Vec<WriteBatch> {
    let by_id: std::collections::HashMap<i64, &StoryRecord> = stories.iter().map(|s| (s.id, s)).collect();
    let mut out = Vec::new();
    let mut rest = posts.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<PostRecord> = rest.by_ref().take(BATCH).collect();
        let mut ids: Vec<i64> = chunk.iter().map(|p| p.story_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let stories = ids.iter().filter_map(|id| by_id.get(id).map(|s| (*s).clone())).collect();
        out.push(WriteBatch { posts: chunk, stories, ..Default::default() });
    }
    out
}

fn time_writes(store: &mut dyn Store, batches: &[WriteBatch]) -> Result<f64> {
    let posts: usize = batches.iter().map(|b| b.posts.len()).sum();
    let t = Instant::now();
    for b in batches {
        store.write(b)?;
    }
    Ok(posts as f64 / t.elapsed().as_secs_f64().max(1e-9))
}

pub fn run(config: &Config, files: &[PathBuf], limit: usize, pg_url: &str, rounds: usize) -> Result<StoreBenchReport> {
    let scratch = tempfile::tempdir().context("无法创建临时目录")?;
    let (posts, stories) = {
        let mut pipeline = Pipeline::open(&scratch.path().join("ingest"), config.clone())?;
        let mut parsed = Vec::new();
        for f in files {
            let raw = std::fs::read(f).with_context(|| format!("无法读取 {}", f.display()))?;
            let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let format = yuqing_core::input::Format::from_path_hint(&name)
                .unwrap_or_else(|| yuqing_core::input::Format::sniff(&raw));
            let p = yuqing_core::input::parse(&raw, format).with_context(|| format!("{} 无法解析", f.display()))?;
            parsed.extend(p.posts);
            if limit > 0 && parsed.len() >= limit {
                parsed.truncate(limit);
                break;
            }
        }
        pipeline.ingest(parsed, Utc::now())?;
        pipeline.flush()?;
        let data = pipeline.data();
        let mut posts = Vec::new();
        loop {
            let after = posts.last().map_or(0, |p: &PostRecord| p.id);
            let page = data.store.posts_after(after, 10_000)?;
            if page.is_empty() {
                break;
            }
            posts.extend(page);
        }
        let mut stories = Vec::new();
        loop {
            let page = data.store.stories(&StoryQuery { limit: 1000, offset: stories.len(), ..Default::default() })?;
            if page.items.is_empty() {
                break;
            }
            stories.extend(page.items);
        }
        (posts, stories)
    };
    let (n_posts, n_stories) = (posts.len(), stories.len());
    let batches = batches(posts, &stories);

    let mut sqlite_rounds = Vec::new();
    let mut postgres_rounds = Vec::new();
    for round in 0..rounds.max(1) {
        let path = scratch.path().join(format!("round-{round}.db"));
        let mut sqlite = SqliteStore::open(&path)?;
        sqlite_rounds.push(time_writes(&mut sqlite, &batches)?);
        drop(sqlite);
        let schema = format!("yuqing_bench_{}_{round}", std::process::id());
        let mut pg =
            PgStore::connect(pg_url, Some(&schema)).with_context(|| format!("无法连接 PostgreSQL（{pg_url}）"))?;
        let result = time_writes(&mut pg, &batches);
        drop(pg);
        // The schema is scratch: dropped whatever the round gave.
        if let Err(e) = yuqing_store::pg::drop_schema(pg_url, &schema) {
            tracing::warn!(schema, error = %e, "could not drop the benchmark's scratch schema");
        }
        postgres_rounds.push(result?);
    }
    Ok(StoreBenchReport {
        posts: n_posts,
        stories: n_stories,
        rounds: sqlite_rounds.len(),
        sqlite_median: median(&sqlite_rounds),
        postgres_median: median(&postgres_rounds),
        sqlite_rounds,
        postgres_rounds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_rounds() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
