//! `yuqing bench FILE...`: throughput of the analysis stage on one core and of the whole ingest
//! (parse → analyze → assemble → grade → SQLite + full-text index) on all cores, with peak memory.
//!
//! Invariant: the whole-ingest run writes to a fresh temporary data directory, removed afterwards.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use chrono::Utc;
use serde::Serialize;
use yuqing_core::input::{self, Format};
use yuqing_text::Analyzer;

use crate::config::Config;
use crate::pipeline::Pipeline;

#[derive(Debug, Clone, Serialize)]
pub struct StageFigures {
    pub posts: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub posts_per_second: f64,
    pub mb_per_second: f64,
    pub threads: usize,
}

impl StageFigures {
    fn new(posts: usize, bytes: u64, seconds: f64, threads: usize) -> StageFigures {
        let s = seconds.max(1e-9);
        StageFigures {
            posts,
            bytes,
            seconds,
            posts_per_second: posts as f64 / s,
            mb_per_second: bytes as f64 / 1e6 / s,
            threads,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub files: Vec<PathBuf>,
    pub parse: StageFigures,
    pub analysis: StageFigures,
    pub ingest: StageFigures,
    pub stored: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub stories: u64,
    pub graded_stories: u64,
    pub peak_rss_mb: Option<f64>,
}

impl BenchReport {
    pub fn to_text(&self) -> String {
        let line = |name: &str, f: &StageFigures| {
            format!(
                "{name}：{} 条，{:.1} MB，{:.2} 秒 → {:.0} 条/秒，{:.1} MB/秒（{} 线程）",
                f.posts,
                f.bytes as f64 / 1e6,
                f.seconds,
                f.posts_per_second,
                f.mb_per_second,
                f.threads
            )
        };
        format!(
            "{}\n{}\n{}\n入库 {} 条，重复 {} 条，拒收 {} 条；舆情事件 {} 个（已定级 {} 个）\n峰值内存：{}",
            line("解析（解码+JSONL/CSV）", &self.parse),
            line("分析阶段（单核）", &self.analysis),
            line("完整导入（读取→分析→聚合→定级→入库+全文索引）", &self.ingest),
            self.stored,
            self.duplicates,
            self.rejected,
            self.stories,
            self.graded_stories,
            self.peak_rss_mb.map_or("无法读取".to_string(), |m| format!("{m:.0} MB"))
        )
    }
}

/// Peak resident memory of this process (Linux: VmHWM).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Reads and parses the files in order; with `upto` > 0, stops after the file that brings the
/// posts to `upto` (the later files' posts would all be left out).
fn read_and_parse(files: &[PathBuf], upto: usize) -> Result<(Vec<(usize, yuqing_core::PostInput)>, usize, u64)> {
    let mut posts = Vec::new();
    let mut rejected = 0;
    let mut bytes = 0u64;
    for f in files {
        if upto > 0 && posts.len() >= upto {
            break;
        }
        let raw = std::fs::read(f).with_context(|| format!("无法读取 {}", f.display()))?;
        bytes += raw.len() as u64;
        let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let format = Format::from_path_hint(&name).unwrap_or_else(|| Format::sniff(&raw));
        let parsed = input::parse(&raw, format).with_context(|| format!("{} 无法解析", f.display()))?;
        rejected += parsed.rejected.len();
        posts.extend(parsed.posts);
    }
    Ok((posts, rejected, bytes))
}

pub fn run(config: &Config, files: &[PathBuf], limit: usize) -> Result<BenchReport> {
    // 1. Parse.
    let t = Instant::now();
    let (posts, rejected, file_bytes) = read_and_parse(files, 0)?;
    let parse = StageFigures::new(posts.len(), file_bytes, t.elapsed().as_secs_f64(), 1);

    // 2. The analysis stage alone, on one core.
    let analyzer = Analyzer::new(&config.analyzer_config())?;
    let sample = if limit == 0 { &posts[..] } else { &posts[..limit.min(posts.len())] };
    let text_bytes: u64 = sample.iter().map(|(_, p)| (p.title_str().len() + p.text_str().len()) as u64).sum();
    let t = Instant::now();
    let mut checksum = 0u64;
    for (_, p) in sample {
        let a = analyzer.analyze(p.title_str(), p.text_str(), p.source_str());
        checksum = checksum.wrapping_add(a.simhash ^ a.hits.len() as u64);
    }
    let analysis = StageFigures::new(sample.len(), text_bytes, t.elapsed().as_secs_f64(), 1);
    std::hint::black_box(checksum);
    drop(analyzer);
    drop(posts);

    // 3. The whole ingest into a fresh data directory, from reading the files on.
    let dir = temp_dir()?;
    let result = (|| -> Result<BenchReport> {
        let t = Instant::now();
        // Opening (the segmenter's dictionary, the gazetteer) and reading the files need each
        // other for nothing: each takes a core.
        let (opened, read) = std::thread::scope(|scope| {
            let reader = scope.spawn(|| read_and_parse(files, limit));
            (Pipeline::open(&dir, config.clone()), reader.join())
        });
        let mut pipeline = opened?;
        let (mut posts, _, read_bytes) = read.map_err(|_| anyhow::anyhow!("读取文件的线程异常退出"))??;
        if limit > 0 {
            posts.truncate(limit);
        }
        let n = posts.len();
        let report = pipeline.ingest(posts, Utc::now())?;
        pipeline.flush()?;
        let ingest = StageFigures::new(n, read_bytes, t.elapsed().as_secs_f64(), rayon::current_num_threads());
        let stats = yuqing_store::Store::stats(&pipeline.data().store)?;
        Ok(BenchReport {
            files: files.to_vec(),
            parse,
            analysis,
            ingest,
            stored: report.stored,
            duplicates: report.duplicates,
            rejected,
            stories: stats.stories,
            graded_stories: stats.graded.iter().map(|(_, n)| n).sum(),
            peak_rss_mb: peak_rss_mb(),
        })
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn temp_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..1000 {
        let p = base.join(format!("yuqing-bench-{}-{i}", std::process::id()));
        if !p.exists() {
            std::fs::create_dir_all(&p).with_context(|| format!("无法创建 {}", p.display()))?;
            return Ok(p);
        }
    }
    anyhow::bail!("无法在 {} 下创建临时目录", Path::new(&base).display())
}
