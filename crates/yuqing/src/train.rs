//! `yuqing train-sentiment` and `yuqing eval-sentiment`: reads the labelled corpora in
//! ../shared/data/sentiment, splits them deterministically, trains the shipped model and measures it.
//!
//! Invariant: an example's split depends only on its text (a hash), so the held-out tenth is the same
//! on every run and machine, and a text that occurs twice never sits on both sides.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use rayon::prelude::*;
use yuqing_core::Sentiment;
use yuqing_text::dedup::fnv1a;
use yuqing_text::sentiment::{evaluate, train, Evaluation, Example, SentimentModel, TrainConfig};
use yuqing_text::{normalize, Segmenter};

/// One in this many examples (by text hash) is held out for evaluation.
pub const HOLDOUT_MODULUS: u64 = 10;

/// The corpora, their columns and how their labels map to `Sentiment`.
struct Corpus {
    file: &'static str,
    text_column: &'static str,
    label: fn(&str) -> Option<Sentiment>,
}

/// Weibo emotions: fear, disgust, sadness, anger are negative; optimism and gratitude positive;
/// surprise is the one emotion without a direction, so it stands for neutral.
fn weibo_emotion(label: &str) -> Option<Sentiment> {
    match label.trim() {
        "0" | "1" | "5" | "6" => Some(Sentiment::Negative),
        "2" | "4" => Some(Sentiment::Positive),
        "3" => Some(Sentiment::Neutral),
        _ => None,
    }
}

fn binary(label: &str) -> Option<Sentiment> {
    match label.trim() {
        "0" => Some(Sentiment::Negative),
        "1" => Some(Sentiment::Positive),
        _ => None,
    }
}

const CORPORA: &[Corpus] = &[
    Corpus { file: "weibo-covid19-emotions.csv", text_column: "text", label: weibo_emotion },
    Corpus { file: "chnsenticorp-hotel.csv", text_column: "review", label: binary },
    Corpus { file: "waimai-10k.csv", text_column: "review", label: binary },
];

/// Is this text in the held-out split?
pub fn is_held_out(text: &str) -> bool {
    fnv1a(normalize(text).matching.as_bytes()) % HOLDOUT_MODULUS == 0
}

/// Tokens exactly as the analysis stage produces them (matching form, jieba).
fn tokenize(segmenter: &Segmenter, text: &str) -> Vec<String> {
    let m = normalize(text).matching;
    segmenter.cut(&m).into_iter().map(str::to_string).collect()
}

struct Split {
    name: &'static str,
    train: Vec<Example>,
    test: Vec<Example>,
}

fn load(data: &Path, segmenter: &Segmenter) -> Result<Vec<Split>> {
    let mut out = Vec::new();
    for c in CORPORA {
        let path = data.join(c.file);
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(&path)
            .with_context(|| format!("无法读取情感语料 {}", path.display()))?;
        let headers = reader.headers().with_context(|| format!("{} 缺少表头", path.display()))?.clone();
        let find = |name: &str| headers.iter().position(|h| h.trim() == name);
        let (Some(ti), Some(li)) = (find(c.text_column), find("label")) else {
            bail!("{} 的表头应含 {} 与 label 列", path.display(), c.text_column);
        };
        let mut rows: Vec<(String, Sentiment)> = Vec::new();
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.with_context(|| format!("{} 第 {} 条记录无法解析", path.display(), i + 2))?;
            let (Some(text), Some(label)) = (rec.get(ti), rec.get(li).and_then(c.label)) else { continue };
            if !text.trim().is_empty() {
                rows.push((text.to_string(), label));
            }
        }
        let examples: Vec<(bool, Example)> = rows
            .par_iter()
            .map(|(text, label)| (is_held_out(text), Example { tokens: tokenize(segmenter, text), label: *label }))
            .collect();
        let mut split = Split { name: c.file, train: Vec::new(), test: Vec::new() };
        for (held, ex) in examples {
            if held {
                split.test.push(ex);
            } else {
                split.train.push(ex);
            }
        }
        out.push(split);
    }
    Ok(out)
}

fn describe(name: &str, e: &Evaluation) -> String {
    let labels = ["负面", "中性", "正面"];
    let mut s = format!("{name}：{} 条，准确率 {:.3}，宏平均 F1 {:.3}\n  混淆矩阵（行=标注，列=预测：负面/中性/正面）\n", e.examples, e.accuracy, e.macro_f1);
    for (i, row) in e.confusion.iter().enumerate() {
        let _ = writeln!(s, "  {}  {:>6} {:>6} {:>6}", labels[i], row[0], row[1], row[2]);
    }
    s
}

fn evaluate_all(model: &SentimentModel, splits: &[Split]) -> String {
    let mut s = String::new();
    let mut all = Vec::new();
    for sp in splits {
        s.push_str(&describe(sp.name, &evaluate(model, &sp.test)));
        all.extend(sp.test.iter().cloned());
    }
    s.push_str(&describe("合计（留出集）", &evaluate(model, &all)));
    s
}

/// Trains on nine tenths of every corpus, writes the model to `out`, and reports held-out figures.
pub fn train_sentiment(data: &Path, out: &Path) -> Result<String> {
    let segmenter = Segmenter::default();
    let splits = load(data, &segmenter)?;
    let train_set: Vec<Example> = splits.iter().flat_map(|s| s.train.iter().cloned()).collect();
    let started = std::time::Instant::now();
    let trained = train(&train_set, &TrainConfig::default());
    std::fs::write(out, trained.to_text()).with_context(|| format!("无法写入 {}", out.display()))?;
    let mut report = format!(
        "已用 {} 条训练样本训练情感模型（{:.1} 秒），{} 个特征权重写入 {}\n留出集（每条文本按哈希取十分之一，从未参与训练）：\n",
        train_set.len(),
        started.elapsed().as_secs_f32(),
        trained.model.len(),
        out.display()
    );
    report.push_str(&evaluate_all(&trained.model, &splits));
    Ok(report)
}

/// Measures the shipped model on the held-out tenth of every corpus.
pub fn eval_sentiment(data: &Path) -> Result<String> {
    let segmenter = Segmenter::default();
    let splits = load(data, &segmenter)?;
    let mut report = String::from("内置情感模型在留出集上的表现：\n");
    report.push_str(&evaluate_all(SentimentModel::builtin(), &splits));
    Ok(report)
}
