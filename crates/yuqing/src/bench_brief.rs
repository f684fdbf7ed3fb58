//! `yuqing bench-brief FILE...`: how long the 研判摘要 of a large story takes — the brief computed
//! from N real posts read as one story, and its HTML section rendered — timed over several runs,
//! reporting p50, p95 and max.
//!
//! The posts are analyzed first (not timed) so each carries its real sentiment; posts without a
//! time are spread one minute apart. `--matching WORD` keeps only posts that contain WORD, so the
//! story is one matter as the desk would see it; without it the first N posts are read, all
//! different matters — the hardest case (every post is its own content).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use serde::Serialize;
use yuqing_core::input::{self, Format};
use yuqing_core::{HeatBucket, Sentiment, SourceTier};
use yuqing_text::brief::{brief, BriefPost};
use yuqing_text::Analyzer;

use crate::config::Config;

#[derive(Debug, Clone, Serialize)]
pub struct BriefBench {
    pub posts: usize,
    pub runs: usize,
    pub matching: Option<String>,
    pub sentences: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// The brief alone (without the HTML), p50.
    pub brief_p50_ms: f64,
}

struct Owned {
    id: i64,
    at: DateTime<FixedOffset>,
    site: String,
    tier: SourceTier,
    title: String,
    text: String,
    sentiment: Sentiment,
    score: f32,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

pub fn run(
    config: &Config,
    files: &[PathBuf],
    posts: usize,
    runs: usize,
    matching: Option<&str>,
) -> Result<BriefBench> {
    let analyzer = Analyzer::new(&config.analyzer_config())?;
    let base = yuqing_core::china().with_ymd_and_hms(2026, 1, 1, 8, 0, 0).single().context("time")?;
    let mut story: Vec<Owned> = Vec::new();
    'files: for f in files {
        let bytes = std::fs::read(f).with_context(|| format!("无法读取 {}", f.display()))?;
        let fmt = Format::from_path_hint(&f.to_string_lossy()).unwrap_or(Format::Csv);
        for (_, p) in input::parse(&bytes, fmt).with_context(|| format!("{} 无法解析", f.display()))?.posts {
            if story.len() >= posts {
                break 'files;
            }
            if matching.is_some_and(|w| !p.text_str().contains(w) && !p.title_str().contains(w)) {
                continue;
            }
            let a = analyzer.analyze(p.title_str(), p.text_str(), p.source_str());
            let n = story.len() as i64;
            story.push(Owned {
                id: n + 1,
                at: p.published_at.unwrap_or(base + Duration::minutes(n)),
                site: p.source_str().to_string(),
                tier: p.tier.unwrap_or_default(),
                title: p.title_str().to_string(),
                text: p.text_str().to_string(),
                sentiment: a.sentiment,
                score: a.sentiment_score,
            });
        }
    }
    if story.is_empty() {
        bail!("输入文件中没有符合条件的帖文");
    }
    let seg = analyzer.segmenter_arc();
    drop(analyzer);
    let input: Vec<BriefPost<'_>> = story
        .iter()
        .map(|p| BriefPost {
            id: p.id,
            at: p.at,
            site: &p.site,
            tier: p.tier,
            title: &p.title,
            text: &p.text,
            sentiment: p.sentiment,
            score: p.score,
        })
        .collect();
    // The hourly heat as the store would give it.
    let mut hours: std::collections::BTreeMap<DateTime<Utc>, (u32, u32)> = Default::default();
    for p in &input {
        let u = p.at.with_timezone(&Utc);
        let h = u - Duration::seconds(u.timestamp().rem_euclid(3600));
        let e = hours.entry(h).or_default();
        e.0 += 1;
        e.1 += u32::from(p.sentiment == Sentiment::Negative);
    }
    let heat: Vec<HeatBucket> = hours
        .into_iter()
        .map(|(hour, (posts, negative))| HeatBucket {
            hour,
            posts,
            sites: 1,
            max_tier: SourceTier::Community,
            interactions: 0,
            negative,
        })
        .collect();

    let runs = runs.max(1);
    let mut total = Vec::with_capacity(runs);
    let mut alone = Vec::with_capacity(runs);
    let mut sentences = 0;
    // One untimed run warms the caches, as a running server would have them.
    std::hint::black_box(brief(&seg, &input, &heat));
    for _ in 0..runs {
        let t = Instant::now();
        let b = brief(&seg, &input, &heat);
        let t_brief = t.elapsed().as_secs_f64() * 1000.0;
        let html = yuqing_server::render_brief_html(&b, "研判摘要", &|_| false);
        total.push(t.elapsed().as_secs_f64() * 1000.0);
        alone.push(t_brief);
        sentences = b.what.len();
        std::hint::black_box(html);
    }
    total.sort_by(f64::total_cmp);
    alone.sort_by(f64::total_cmp);
    Ok(BriefBench {
        posts: input.len(),
        runs,
        matching: matching.map(str::to_string),
        sentences,
        p50_ms: percentile(&total, 0.5),
        p95_ms: percentile(&total, 0.95),
        max_ms: total.last().copied().unwrap_or(0.0),
        brief_p50_ms: percentile(&alone, 0.5),
    })
}
