//! `yuqing eval-clustering FILE...`: story clustering quality against Weibo hashtags. Posts with
//! exactly one hashtag are labelled by it; all hashtags are stripped before clustering, and each
//! day's posts are spread over that day (the data has no time of day).
//!
//! Invariant: uses exactly the analyzer and assembler that ingest uses.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use yuqing_core::input::{self, Format};
use yuqing_core::Assembler;
use yuqing_text::Analyzer;

use crate::config::{china_tz, Config};

#[derive(Debug, Clone, Serialize)]
pub struct ClusteringReport {
    pub posts: usize,
    pub labelled_posts: usize,
    pub hashtags: usize,
    pub stories: usize,
    /// B-cubed precision, recall and F1 over labelled posts (hashtags with at least `min_size` posts).
    pub bcubed_precision: f64,
    pub bcubed_recall: f64,
    pub bcubed_f1: f64,
    /// Pairwise precision/recall/F1 over pairs of labelled posts.
    pub pair_precision: f64,
    pub pair_recall: f64,
    pub pair_f1: f64,
    /// Baseline: every post its own story (B-cubed F1).
    pub singleton_bcubed_f1: f64,
    pub min_size: usize,
}

impl ClusteringReport {
    pub fn to_text(&self) -> String {
        format!(
            "帖文 {}，有唯一话题标签的 {}（{} 个标签，每个至少 {} 条），聚成事件 {} 个\n\
             B-cubed：精确率 {:.3}，召回率 {:.3}，F1 {:.3}（基线：每帖一事件 F1 {:.3}）\n\
             成对：精确率 {:.3}，召回率 {:.3}，F1 {:.3}",
            self.posts,
            self.labelled_posts,
            self.hashtags,
            self.min_size,
            self.stories,
            self.bcubed_precision,
            self.bcubed_recall,
            self.bcubed_f1,
            self.singleton_bcubed_f1,
            self.pair_precision,
            self.pair_recall,
            self.pair_f1
        )
    }
}

/// The hashtags `#…#` of a text and the text without them.
pub fn split_hashtags(text: &str) -> (Vec<String>, String) {
    let mut tags = Vec::new();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('#') {
        let after = &rest[start + 1..];
        match after.find('#') {
            Some(end) if end > 0 && end <= 60 && !after[..end].contains('\n') => {
                out.push_str(&rest[..start]);
                out.push(' ');
                tags.push(after[..end].trim().to_string());
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..start + 1]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    tags.sort();
    tags.dedup();
    (tags, out)
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

/// B-cubed precision and recall for (label, cluster) pairs.
pub fn bcubed(items: &[(usize, i64)]) -> (f64, f64) {
    let mut by_pair: HashMap<(usize, i64), f64> = HashMap::new();
    let mut by_label: HashMap<usize, f64> = HashMap::new();
    let mut by_cluster: HashMap<i64, f64> = HashMap::new();
    for &(l, c) in items {
        *by_pair.entry((l, c)).or_default() += 1.0;
        *by_label.entry(l).or_default() += 1.0;
        *by_cluster.entry(c).or_default() += 1.0;
    }
    let n = items.len().max(1) as f64;
    let (mut p, mut r) = (0.0, 0.0);
    for (&(l, c), &k) in &by_pair {
        p += k * k / by_cluster[&c];
        r += k * k / by_label[&l];
    }
    (p / n, r / n)
}

/// Pairwise precision and recall.
pub fn pairwise(items: &[(usize, i64)]) -> (f64, f64) {
    let mut by_pair: HashMap<(usize, i64), f64> = HashMap::new();
    let mut by_label: HashMap<usize, f64> = HashMap::new();
    let mut by_cluster: HashMap<i64, f64> = HashMap::new();
    for &(l, c) in items {
        *by_pair.entry((l, c)).or_default() += 1.0;
        *by_label.entry(l).or_default() += 1.0;
        *by_cluster.entry(c).or_default() += 1.0;
    }
    let pairs = |k: f64| k * (k - 1.0) / 2.0;
    let tp: f64 = by_pair.values().map(|&k| pairs(k)).sum();
    let pred: f64 = by_cluster.values().map(|&k| pairs(k)).sum();
    let truth: f64 = by_label.values().map(|&k| pairs(k)).sum();
    (if pred > 0.0 { tp / pred } else { 0.0 }, if truth > 0.0 { tp / truth } else { 0.0 })
}

pub fn clustering(config: &Config, files: &[PathBuf]) -> Result<ClusteringReport> {
    let analyzer = Analyzer::new(&config.analyzer_config())?;
    let mut assembler = Assembler::new(config.assembly.clone(), 1);
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut assigned: Vec<(Option<usize>, i64)> = Vec::new();
    let mut files = files.to_vec();
    files.sort();
    let mut id = 0i64;
    for f in &files {
        let raw = std::fs::read(f).with_context(|| format!("无法读取 {}", f.display()))?;
        let stem = f.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let day = NaiveDate::parse_from_str(&stem, "%Y-%m-%d")
            .with_context(|| format!("{} 的文件名应为 YYYY-MM-DD.csv（用于确定日期）", f.display()))?;
        let start = china_tz()
            .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.with_timezone(&Utc))
            .context("日期超出范围")?;
        let parsed = input::parse(&raw, Format::Csv).with_context(|| format!("{} 无法解析", f.display()))?;
        let n = parsed.posts.len().max(1);
        for (i, (_, p)) in parsed.posts.iter().enumerate() {
            let (tags, text) = split_hashtags(p.text_str());
            let (_, title) = split_hashtags(p.title_str());
            let a = analyzer.analyze(&title, &text, p.source_str());
            let at = start + Duration::seconds((i as i64 * 86_400) / n as i64);
            id += 1;
            let story = assembler.assign(id, &a.features(at)).story;
            let label = if tags.len() == 1 {
                let next = labels.len();
                Some(*labels.entry(tags[0].clone()).or_insert(next))
            } else {
                None
            };
            assigned.push((label, story));
            if id % 20_000 == 0 {
                assembler.close_inactive(at);
            }
        }
    }
    let min_size = 5;
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for (l, _) in &assigned {
        if let Some(l) = l {
            *sizes.entry(*l).or_default() += 1;
        }
    }
    let items: Vec<(usize, i64)> =
        assigned.iter().filter_map(|(l, s)| l.filter(|l| sizes[l] >= min_size).map(|l| (l, *s))).collect();
    let (bp, br) = bcubed(&items);
    let (pp, pr) = pairwise(&items);
    let singles: Vec<(usize, i64)> = items.iter().enumerate().map(|(i, (l, _))| (*l, i as i64)).collect();
    let (sp, sr) = bcubed(&singles);
    let mut stories: Vec<i64> = assigned.iter().map(|(_, s)| *s).collect();
    stories.sort_unstable();
    stories.dedup();
    Ok(ClusteringReport {
        posts: assigned.len(),
        labelled_posts: items.len(),
        hashtags: sizes.values().filter(|&&n| n >= min_size).count(),
        stories: stories.len(),
        bcubed_precision: bp,
        bcubed_recall: br,
        bcubed_f1: f1(bp, br),
        pair_precision: pp,
        pair_recall: pr,
        pair_f1: f1(pp, pr),
        singleton_bcubed_f1: f1(sp, sr),
        min_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_found_and_stripped() {
        let (tags, text) = split_hashtags("#双黄连可抑制新型冠状病毒#板蓝根说 #口罩# 完");
        assert_eq!(tags, vec!["双黄连可抑制新型冠状病毒".to_string(), "口罩".to_string()]);
        assert!(!text.contains('#') && text.contains("板蓝根说"));
        let (tags, text) = split_hashtags("只有一个#号");
        assert!(tags.is_empty());
        assert_eq!(text, "只有一个#号");
    }

    #[test]
    fn bcubed_of_perfect_clustering_is_one() {
        let items = vec![(0, 10), (0, 10), (1, 11), (1, 11)];
        assert_eq!(bcubed(&items), (1.0, 1.0));
        assert_eq!(pairwise(&items), (1.0, 1.0));
        let merged = vec![(0, 1), (0, 1), (1, 1), (1, 1)];
        let (p, r) = bcubed(&merged);
        assert!((p - 0.5).abs() < 1e-9 && (r - 1.0).abs() < 1e-9);
    }
}
