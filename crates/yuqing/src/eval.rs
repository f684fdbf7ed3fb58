//! `yuqing eval-clustering FILE...`: story clustering quality against Weibo hashtags. Posts with
//! exactly one hashtag are labelled by it. The posts are clustered twice: with every hashtag
//! stripped from the text first (the hard case: the words alone must find the matter), and with the
//! hashtags kept (as ingest sees real posts). Each day's posts are spread over that day (the data has
//! no time of day). A plain nearest-neighbour TF-IDF clusterer runs on the same posts beside it.
//!
//! Invariant: uses exactly the analyzer and assembler that ingest uses.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use rayon::prelude::*;
use serde::Serialize;
use yuqing_core::input::{self, Format};
use yuqing_core::Assembler;
use yuqing_text::Analyzer;

use crate::config::{china_tz, Config};

/// One clustering of the posts, scored.
#[derive(Debug, Clone, Serialize)]
pub struct ClusteringRun {
    /// "yuqing" (the assembler ingest uses) or "nn-tfidf" (the plain baseline).
    pub method: String,
    /// Whether the hashtags were left in the text ("kept") or removed before clustering ("stripped").
    pub hashtags: String,
    pub stories: usize,
    pub largest_story: usize,
    /// B-cubed precision, recall and F1 over labelled posts (hashtags with at least `min_size` posts).
    pub bcubed_precision: f64,
    pub bcubed_recall: f64,
    pub bcubed_f1: f64,
    /// Pairwise precision/recall/F1 over pairs of labelled posts.
    pub pair_precision: f64,
    pub pair_recall: f64,
    pub pair_f1: f64,
    /// Stories of at least 40 posts, and the share of their labelled posts under each one's
    /// dominant hashtag.
    pub stories_40: usize,
    pub purity_40: f64,
    /// The same for stories of at least 150 posts.
    pub stories_150: usize,
    pub purity_150: f64,
    /// The stories of copies pasted under hashtags (搬运文案, never graded) of a yuqing run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copies: Option<CopyShare>,
}

/// What a run filed as copies pasted under hashtags, and the purity of the stories of at least 40
/// posts without them (the stories that can be graded). The hashtag labels count each copy as a
/// post of the matter it was pasted under, so these stories cost B-cubed and purity figures.
#[derive(Debug, Clone, Serialize)]
pub struct CopyShare {
    pub stories: usize,
    pub posts: usize,
    pub stories_40_without: usize,
    pub purity_40_without: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClusteringReport {
    pub posts: usize,
    pub labelled_posts: usize,
    pub hashtags: usize,
    pub min_size: usize,
    /// Baseline: every post its own story (B-cubed F1).
    pub singleton_bcubed_f1: f64,
    pub runs: Vec<ClusteringRun>,
}

impl ClusteringReport {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "帖文 {}，有唯一话题标签的 {}（{} 个标签，每个至少 {} 条）；基线“每帖一事件”B-cubed F1 {:.3}\n\
             话题标签  方法        事件数  最大事件  B3精确率 B3召回率 B3-F1  成对F1  ≥40帖事件(纯度)  ≥150帖事件(纯度)\n",
            self.posts, self.labelled_posts, self.hashtags, self.min_size, self.singleton_bcubed_f1
        );
        for r in &self.runs {
            let mode = if r.hashtags == "kept" { "保留" } else { "去除" };
            out.push_str(&format!(
                "{:<8}  {:<10} {:>7} {:>8}  {:>8.3} {:>8.3} {:>6.3} {:>7.3}  {:>5} ({:.3})     {:>5} ({:.3})\n",
                mode,
                r.method,
                r.stories,
                r.largest_story,
                r.bcubed_precision,
                r.bcubed_recall,
                r.bcubed_f1,
                r.pair_f1,
                r.stories_40,
                r.purity_40,
                r.stories_150,
                r.purity_150
            ));
        }
        for r in &self.runs {
            if let Some(c) = r.copies.as_ref().filter(|c| c.stories > 0) {
                let mode = if r.hashtags == "kept" { "保留" } else { "去除" };
                out.push_str(&format!(
                    "{mode}话题标签，{}：搬运文案事件 {} 个（帖文 {} 条，从不定级）；不计它们，≥40帖事件 {} 个，纯度 {:.3}\n",
                    r.method, c.stories, c.posts, c.stories_40_without, c.purity_40_without
                ));
            }
        }
        out
    }
}

/// The hashtags `#…#` of a text and the text without them.
pub fn split_hashtags(text: &str) -> (Vec<String>, String) {
    yuqing_text::hashtag::split(text)
}

fn f1(p: f64, r: f64) -> f64 {
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
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

/// Share of the labelled posts of stories of at least `min_posts` posts that are under their
/// story's dominant label, and how many such stories there are.
pub fn purity(assigned: &[(Option<usize>, i64)], min_posts: usize) -> (usize, f64) {
    let mut size: HashMap<i64, usize> = HashMap::new();
    let mut labels: HashMap<i64, HashMap<usize, usize>> = HashMap::new();
    for &(l, s) in assigned {
        *size.entry(s).or_default() += 1;
        if let Some(l) = l {
            *labels.entry(s).or_default().entry(l).or_default() += 1;
        }
    }
    let (mut stories, mut dominant, mut labelled) = (0, 0usize, 0usize);
    for (s, n) in &size {
        if *n < min_posts {
            continue;
        }
        stories += 1;
        if let Some(counts) = labels.get(s) {
            dominant += counts.values().max().copied().unwrap_or(0);
            labelled += counts.values().sum::<usize>();
        }
    }
    (stories, if labelled > 0 { dominant as f64 / labelled as f64 } else { 0.0 })
}

/// The plain baseline: each post joins the cluster of its most similar earlier post within the
/// window (cosine over TF-IDF vectors of its words, the IDF fitted on the evaluated posts
/// themselves) when that reaches `threshold`, else starts a cluster. Candidates are found through
/// the post's 8 heaviest words.
pub struct NearestNeighbour {
    window: Duration,
    threshold: f32,
    posts: Vec<(chrono::DateTime<Utc>, Vec<(u64, f32)>, i64)>,
    postings: HashMap<u64, std::collections::VecDeque<usize>>,
    next_cluster: i64,
}

/// Posts kept per word in the baseline's index (the newest).
const NN_PER_TERM: usize = 200;

impl NearestNeighbour {
    pub fn new(window: Duration, threshold: f32) -> NearestNeighbour {
        NearestNeighbour { window, threshold, posts: Vec::new(), postings: HashMap::new(), next_cluster: 1 }
    }

    pub fn assign(&mut self, at: chrono::DateTime<Utc>, terms: &[(u64, f32)]) -> i64 {
        let mut words: Vec<(u64, f32)> = terms.to_vec();
        let norm = words.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            words.iter_mut().for_each(|e| e.1 /= norm);
        }
        let mut heavy = words.clone();
        heavy.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        heavy.truncate(8);
        words.sort_unstable_by_key(|e| e.0);
        let mut candidates: Vec<usize> =
            heavy.iter().filter_map(|(t, _)| self.postings.get(t)).flatten().copied().collect();
        candidates.sort_unstable();
        candidates.dedup();
        let mut best: Option<(f32, usize)> = None;
        for i in candidates {
            let (t, v, _) = &self.posts[i];
            if (at - *t).abs() > self.window {
                continue;
            }
            let score = yuqing_core::story::dot(&words, v);
            if score >= self.threshold && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, i));
            }
        }
        let cluster = match best {
            Some((_, i)) => self.posts[i].2,
            None => {
                self.next_cluster += 1;
                self.next_cluster - 1
            }
        };
        let id = self.posts.len();
        for (t, _) in &heavy {
            let list = self.postings.entry(*t).or_default();
            list.push_back(id);
            if list.len() > NN_PER_TERM {
                list.pop_front();
            }
        }
        self.posts.push((at, words, cluster));
        cluster
    }
}

/// A labelled post of the evaluation: its label (the one hashtag), its time, and its analysis
/// with hashtags stripped and kept.
struct EvalPost {
    label: Option<usize>,
    at: chrono::DateTime<Utc>,
    /// Word counts (term hash → count) of the text without and with its hashtags, for the baseline.
    stripped_words: Vec<(u64, f32)>,
    kept_words: Vec<(u64, f32)>,
    stripped_features: yuqing_core::PostFeatures,
    kept_features: yuqing_core::PostFeatures,
    /// The text without hashtags (only kept for `--dump`).
    text: Option<String>,
}

/// Word counts of a text: words of two or more characters with a letter, digit or CJK character.
fn word_counts(analyzer: &Analyzer, text: &str) -> Vec<(u64, f32)> {
    let matching = yuqing_text::matching_form(text);
    let mut counts: HashMap<u64, f32> = HashMap::new();
    for w in analyzer.segmenter().cut(&matching) {
        if w.chars().nth(1).is_some() && yuqing_text::is_word(w) {
            *counts.entry(yuqing_text::dedup::term_hash(w)).or_default() += 1.0;
        }
    }
    let mut v: Vec<(u64, f32)> = counts.into_iter().collect();
    v.sort_unstable_by_key(|e| e.0);
    v
}

/// TF-IDF vectors with the IDF fitted on these documents: `ln(N / df)`, smoothed as scikit-learn's.
fn fit_tfidf(docs: &[&Vec<(u64, f32)>]) -> Vec<Vec<(u64, f32)>> {
    let mut df: HashMap<u64, f32> = HashMap::new();
    for d in docs {
        for (t, _) in d.iter() {
            *df.entry(*t).or_default() += 1.0;
        }
    }
    let n = docs.len() as f32;
    docs.iter().map(|d| d.iter().map(|(t, c)| (*t, c * (((1.0 + n) / (1.0 + df[t])).ln() + 1.0))).collect()).collect()
}

fn score(
    method: &str,
    hashtags: &str,
    assigned: &[(Option<usize>, i64)],
    min_size: usize,
    sizes: &HashMap<usize, usize>,
) -> ClusteringRun {
    let items: Vec<(usize, i64)> =
        assigned.iter().filter_map(|(l, s)| l.filter(|l| sizes[l] >= min_size).map(|l| (l, *s))).collect();
    let (bp, br) = bcubed(&items);
    let (pp, pr) = pairwise(&items);
    let mut story_sizes: HashMap<i64, usize> = HashMap::new();
    for (_, s) in assigned {
        *story_sizes.entry(*s).or_default() += 1;
    }
    let (stories_40, purity_40) = purity(assigned, 40);
    let (stories_150, purity_150) = purity(assigned, 150);
    ClusteringRun {
        method: method.into(),
        hashtags: hashtags.into(),
        stories: story_sizes.len(),
        largest_story: story_sizes.values().max().copied().unwrap_or(0),
        bcubed_precision: bp,
        bcubed_recall: br,
        bcubed_f1: f1(bp, br),
        pair_precision: pp,
        pair_recall: pr,
        pair_f1: f1(pp, pr),
        stories_40,
        purity_40,
        stories_150,
        purity_150,
        copies: None,
    }
}

/// [`CopyShare`] of a run whose stories of copies are `copy_stories`.
fn copy_share(assigned: &[(Option<usize>, i64)], copy_stories: &HashSet<i64>) -> CopyShare {
    let without: Vec<(Option<usize>, i64)> =
        assigned.iter().filter(|(_, s)| !copy_stories.contains(s)).copied().collect();
    let (stories_40_without, purity_40_without) = purity(&without, 40);
    CopyShare {
        stories: copy_stories.len(),
        posts: assigned.len() - without.len(),
        stories_40_without,
        purity_40_without,
    }
}

/// The assembly configuration with the `key=value` pairs of `spec` (space-separated) set over it.
pub fn assembly_variant(base: &yuqing_core::AssemblyConfig, spec: &str) -> Result<yuqing_core::AssemblyConfig> {
    let mut table = toml::Table::try_from(base).context("聚合参数无法表示为 TOML")?;
    for pair in spec.split_whitespace() {
        let (key, value) = pair.split_once('=').with_context(|| format!("“{pair}”应为 键=值"))?;
        let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .with_context(|| format!("“{pair}”的值无法解析"))?["v"]
            .clone();
        table.insert(key.to_string(), value);
    }
    table.try_into().with_context(|| format!("聚合参数“{spec}”无效"))
}

pub fn clustering(config: &Config, files: &[PathBuf], tries: &[String], dump: usize) -> Result<ClusteringReport> {
    let variants: Vec<(String, yuqing_core::AssemblyConfig)> =
        tries.iter().map(|t| Ok((t.clone(), assembly_variant(&config.assembly, t)?))).collect::<Result<_>>()?;
    let analyzer = Analyzer::new(&config.analyzer_config())?;
    let locator = crate::locality::Locator::new(config);
    // A post's anchor exactly as ingest finds it (its words, its places, its noise kind).
    let anchor_of = |a: &yuqing_text::Analysis| crate::pipeline::post_anchor(a, &locator);
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut posts: Vec<EvalPost> = Vec::new();
    let mut files = files.to_vec();
    files.sort();
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
        let analyzed: Vec<EvalPost> = parsed
            .posts
            .par_iter()
            .enumerate()
            .map(|(i, (_, p))| {
                let (tags, text) = split_hashtags(p.text_str());
                let (_, title) = split_hashtags(p.title_str());
                let at = start + Duration::seconds((i as i64 * 86_400) / n as i64);
                let stripped = analyzer.analyze(&title, &text, p.source_str());
                let kept = analyzer.analyze(p.title_str(), p.text_str(), p.source_str());
                let anchors = (anchor_of(&stripped), anchor_of(&kept));
                let label_name = if tags.len() == 1 { Some(tags[0].clone()) } else { None };
                let words = (
                    word_counts(&analyzer, &format!("{title}\n{text}")),
                    word_counts(&analyzer, &format!("{}\n{}", p.title_str(), p.text_str())),
                );
                (label_name, at, (stripped, kept, anchors), words, (dump > 0).then_some(text))
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(
                |(
                    label_name,
                    at,
                    (stripped, kept, (stripped_anchor, kept_anchor)),
                    (stripped_words, kept_words),
                    text,
                )| {
                    let label = label_name.map(|t| {
                        let next = labels.len();
                        *labels.entry(t).or_insert(next)
                    });
                    EvalPost {
                        label,
                        at,
                        stripped_words,
                        kept_words,
                        stripped_features: stripped.features(at, stripped_anchor),
                        kept_features: kept.features(at, kept_anchor),
                        text,
                    }
                },
            )
            .collect();
        posts.extend(analyzed);
    }
    let min_size = 5;
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for p in &posts {
        if let Some(l) = p.label {
            *sizes.entry(l).or_default() += 1;
        }
    }
    let window = Duration::hours(config.assembly.window_hours);
    let run_assembler = |kept: bool, assembly: &yuqing_core::AssemblyConfig| {
        let mut assembler = Assembler::new(assembly.clone(), 1);
        let mut out = Vec::with_capacity(posts.len());
        let mut copy_stories: HashSet<i64> = HashSet::new();
        for (i, p) in posts.iter().enumerate() {
            let f = if kept { &p.kept_features } else { &p.stripped_features };
            let a = assembler.assign(i as i64 + 1, f);
            if let yuqing_core::JoinReason::Copied { .. } = a.reason {
                copy_stories.insert(a.story);
            }
            out.push((p.label, a.story));
            if (i + 1) % 20_000 == 0 {
                assembler.close_inactive(p.at);
            }
        }
        (out, copy_stories)
    };
    let run_baseline = |kept: bool| {
        let docs: Vec<&Vec<(u64, f32)>> =
            posts.iter().map(|p| if kept { &p.kept_words } else { &p.stripped_words }).collect();
        let vectors = fit_tfidf(&docs);
        let mut nn = NearestNeighbour::new(window, NN_THRESHOLD);
        posts.iter().zip(&vectors).map(|(p, v)| (p.label, nn.assign(p.at, v))).collect::<Vec<_>>()
    };
    let mut runs = Vec::new();
    let none = String::new();
    let mut names: Vec<&String> = vec![&none; labels.len()];
    for (name, &i) in &labels {
        names[i] = name;
    }
    for kept in [false, true] {
        let mode = if kept { "kept" } else { "stripped" };
        let (assigned, copies) = run_assembler(kept, &config.assembly);
        if !kept && dump > 0 {
            dump_stories(&posts, &assigned, &names, dump);
        }
        runs.push(ClusteringRun {
            copies: Some(copy_share(&assigned, &copies)),
            ..score("yuqing", mode, &assigned, min_size, &sizes)
        });
        for (name, assembly) in &variants {
            let (assigned, copies) = run_assembler(kept, assembly);
            runs.push(ClusteringRun {
                copies: Some(copy_share(&assigned, &copies)),
                ..score(&format!("yuqing[{name}]"), mode, &assigned, min_size, &sizes)
            });
        }
        runs.push(score("nn-tfidf", mode, &run_baseline(kept), min_size, &sizes));
    }
    let items: Vec<(usize, i64)> = posts
        .iter()
        .filter_map(|p| p.label.filter(|l| sizes[l] >= min_size))
        .enumerate()
        .map(|(i, l)| (l, i as i64))
        .collect();
    let (sp, sr) = bcubed(&items);
    Ok(ClusteringReport {
        posts: posts.len(),
        labelled_posts: items.len(),
        hashtags: sizes.values().filter(|&&n| n >= min_size).count(),
        min_size,
        singleton_bcubed_f1: f1(sp, sr),
        runs,
    })
}

/// Prints the `n` stories of at least 40 posts that cost purity most (labelled posts outside their
/// dominant hashtag): their size, their labels' shares and a few posts of each label.
fn dump_stories(posts: &[EvalPost], assigned: &[(Option<usize>, i64)], names: &[&String], n: usize) {
    let mut members: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, (_, s)) in assigned.iter().enumerate() {
        members.entry(*s).or_default().push(i);
    }
    let mut stories: Vec<(usize, i64, Vec<usize>, Vec<(usize, usize)>)> = members
        .into_iter()
        .filter(|(_, idx)| idx.len() >= 40)
        .map(|(story, idx)| {
            let mut counts: HashMap<usize, usize> = HashMap::new();
            for &i in &idx {
                if let Some(l) = posts[i].label {
                    *counts.entry(l).or_default() += 1;
                }
            }
            let mut top: Vec<(usize, usize)> = counts.into_iter().collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let labelled: usize = top.iter().map(|e| e.1).sum();
            let impure = labelled - top.first().map(|e| e.1).unwrap_or(0);
            (impure, story, idx, top)
        })
        .collect();
    stories.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (impure, story, idx, top) in stories.into_iter().take(n) {
        let labels: Vec<String> = top.iter().take(5).map(|(l, c)| format!("#{}# {c}", names[*l])).collect();
        println!("事件 {story}：{} 帖，主标签以外 {impure} 帖；{}", idx.len(), labels.join("，"));
        for &(l, _) in top.iter().take(4) {
            for &i in idx.iter().filter(|&&i| posts[i].label == Some(l)).take(3) {
                let text: String = posts[i].text.as_deref().unwrap_or("").chars().take(70).collect();
                println!("    [{}] {}", names[l].chars().take(12).collect::<String>(), text.trim().replace('\n', " "));
            }
        }
    }
}

/// The baseline's cosine to join its nearest neighbour.
pub const NN_THRESHOLD: f32 = 0.5;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_share_leaves_the_stories_of_copies_out_of_purity() {
        // Story 1: 40 posts of label 0; story 2: 40 copies, one per label 1..=40.
        let mut assigned: Vec<(Option<usize>, i64)> = (0..40).map(|_| (Some(0), 1)).collect();
        assigned.extend((1..=40).map(|l| (Some(l), 2)));
        assert_eq!(purity(&assigned, 40), (2, 41.0 / 80.0));
        let c = copy_share(&assigned, &HashSet::from([2]));
        assert_eq!((c.stories, c.posts, c.stories_40_without, c.purity_40_without), (1, 40, 1, 1.0));
    }

    #[test]
    fn a_variant_sets_only_the_keys_it_names_and_refuses_unknown_ones() {
        let base = yuqing_core::AssemblyConfig::default();
        let v = assembly_variant(&base, "min_similarity=0.5 core_posts=20").unwrap();
        assert_eq!((v.min_similarity, v.core_posts, v.window_hours), (0.5, 20, base.window_hours));
        assert!(assembly_variant(&base, "no_such_key=1").is_err());
        assert!(assembly_variant(&base, "min_similarity").is_err());
    }

    #[test]
    fn purity_counts_the_dominant_label_of_big_stories_only() {
        let mut assigned: Vec<(Option<usize>, i64)> = Vec::new();
        // Story 1: 40 posts, 30 under label 0, 6 under label 1, 4 unlabelled.
        assigned.extend(std::iter::repeat_n((Some(0), 1), 30));
        assigned.extend(std::iter::repeat_n((Some(1), 1), 6));
        assigned.extend(std::iter::repeat_n((None, 1), 4));
        // Story 2: too small to count, however mixed.
        assigned.extend([(Some(0), 2), (Some(1), 2), (Some(2), 2)]);
        let (n, p) = purity(&assigned, 40);
        assert_eq!(n, 1);
        assert!((p - 30.0 / 36.0).abs() < 1e-9);
        assert_eq!(purity(&assigned, 150), (0, 0.0));
    }

    #[test]
    fn the_baseline_joins_near_neighbours_and_not_strangers() {
        let t = Utc::now();
        let mut nn = NearestNeighbour::new(Duration::hours(72), 0.5);
        let a = nn.assign(t, &[(1, 0.8), (2, 0.6)]);
        let b = nn.assign(t, &[(1, 0.7), (2, 0.7)]);
        let c = nn.assign(t, &[(3, 1.0)]);
        let d = nn.assign(t + Duration::hours(100), &[(1, 0.8), (2, 0.6)]);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d, "outside the window");
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
