//! 情感倾向: a linear (multinomial logistic) model over words and word pairs that gives a post
//! `Negative` / `Neutral` / `Positive` and a polarity score; trained here, shipped as a text file.
//!
//! Invariant: pure. Training is deterministic (fixed seed, fixed order), so the same data gives the
//! same model file byte for byte; prediction allocates nothing but the feature list.

use std::collections::HashMap;
use std::sync::OnceLock;

use yuqing_core::Sentiment;

use yuqing_core::hashing::Mix;

use crate::dedup::term_hash;

/// The shipped model, trained by `yuqing train-sentiment` (see docs/QUALITY.md).
static BUILTIN: &str = include_str!("../data/sentiment.model");
const MAGIC: &str = "yuqing-sentiment 1";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ModelError {
    #[error("情感模型文件第 {line} 行有误：{message}")]
    Line { line: usize, message: String },
    #[error("情感模型文件的开头应为“{MAGIC}”")]
    Magic,
}

/// A token that carries no signal: white space. (`!token.trim().is_empty()`, with a fast path for
/// the usual first byte.)
#[inline]
pub fn usable(token: &str) -> bool {
    match token.as_bytes().first() {
        None => false,
        Some(&b) if b.is_ascii() && !b.is_ascii_whitespace() && b != 0x0B => true,
        // Lead bytes of U+4000..U+9FFF (CJK): never white space.
        Some(&b) if (0xE4..=0xE9).contains(&b) => true,
        _ => token.chars().any(|c| !c.is_whitespace()),
    }
}

/// The feature of a word pair.
#[inline]
fn pair_hash(a: u64, b: u64) -> u64 {
    a.rotate_left(17).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b
}

/// Features of a token list: every word, and every pair of neighbouring words (so 不 + 好 differs
/// from 好). Repeats are kept once: presence, not count, carries sentiment in short posts.
pub fn features(tokens: &[&str]) -> Vec<u64> {
    features_of_hashes(tokens.iter().copied().filter(|t| usable(t)).map(term_hash))
}

/// [`features`] from the [`term_hash`]es of the usable tokens, in order (the analysis has them already).
pub fn features_of_hashes(hashes: impl Iterator<Item = u64>) -> Vec<u64> {
    let (lower, _) = hashes.size_hint();
    let mut raw = Vec::with_capacity(lower * 2);
    let mut prev: Option<u64> = None;
    for h in hashes {
        raw.push(h);
        if let Some(p) = prev {
            raw.push(pair_hash(p, h));
        }
        prev = Some(h);
    }
    // Keep the first of each feature: an open-addressing set over a power-of-two table beats
    // sorting for the few dozen features of a post.
    let size = (raw.len() * 2).next_power_of_two().max(16);
    let mut slots = vec![0u64; size];
    let mask = size - 1;
    let mut out = Vec::with_capacity(raw.len());
    for h in raw {
        if insert_new(&mut slots, mask, h) {
            out.push(h);
        }
    }
    out
}

/// Adds `h` to an open-addressing set over a power-of-two table (`mask` = size − 1) and tells
/// whether it was new. The table must have room: callers size it at twice the features or more.
#[inline]
fn insert_new(slots: &mut [u64], mask: usize, h: u64) -> bool {
    let key = h | 1; // 0 marks an empty slot
    let mut i = (h >> 7) as usize & mask;
    loop {
        match slots[i] {
            0 => {
                slots[i] = key;
                return true;
            }
            k if k == key => return false,
            _ => i = (i + 1) & mask,
        }
    }
}

/// The trained model: a bias and per-feature weights for the three classes (Negative, Neutral, Positive).
#[derive(Debug, Clone, Default)]
pub struct SentimentModel {
    bias: [f32; 3],
    weights: HashMap<u64, [f32; 3], Mix>,
}

fn softmax(z: [f32; 3]) -> [f32; 3] {
    let m = z[0].max(z[1]).max(z[2]);
    let e = [(z[0] - m).exp(), (z[1] - m).exp(), (z[2] - m).exp()];
    let s = e[0] + e[1] + e[2];
    [e[0] / s, e[1] / s, e[2] / s]
}

impl SentimentModel {
    /// The model shipped in the repository, parsed once.
    pub fn builtin() -> &'static SentimentModel {
        static MODEL: OnceLock<SentimentModel> = OnceLock::new();
        MODEL.get_or_init(|| match SentimentModel::from_text(BUILTIN) {
            Ok(m) => m,
            // The file is compiled in and checked by a test; an empty model predicts from the bias.
            Err(_) => SentimentModel::default(),
        })
    }

    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }

    /// Class probabilities (Negative, Neutral, Positive) of a token list.
    pub fn probabilities(&self, tokens: &[&str]) -> [f32; 3] {
        self.probabilities_of(&features(tokens))
    }

    /// Class probabilities from precomputed [`features`].
    pub fn probabilities_of(&self, features: &[u64]) -> [f32; 3] {
        let mut z = self.bias;
        for f in features {
            if let Some(w) = self.weights.get(f) {
                z[0] += w[0];
                z[1] += w[1];
                z[2] += w[2];
            }
        }
        softmax(z)
    }

    /// The sentiment of a token list and its polarity P(positive) − P(negative) in [-1, 1].
    pub fn predict(&self, tokens: &[&str]) -> (Sentiment, f32) {
        self.predict_features(&features(tokens))
    }

    /// [`SentimentModel::predict`] from the [`term_hash`]es of the usable tokens, in order: the same
    /// features as [`features_of_hashes`], summed in the same order, without building the list.
    pub fn predict_hashes(&self, hashes: &[u64]) -> (Sentiment, f32) {
        thread_local! {
            static SLOTS: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let raw_len = (hashes.len() * 2).saturating_sub(1);
        let size = (raw_len * 2).next_power_of_two().max(16);
        let mask = size - 1;
        let mut z = self.bias;
        SLOTS.with(|slots| {
            let mut slots = slots.borrow_mut();
            if slots.len() < size {
                slots.resize(size, 0);
            }
            let slots = &mut slots[..size];
            slots.fill(0);
            let mut add = |h: u64| {
                if insert_new(slots, mask, h) {
                    if let Some(w) = self.weights.get(&h) {
                        z[0] += w[0];
                        z[1] += w[1];
                        z[2] += w[2];
                    }
                }
            };
            let mut prev: Option<u64> = None;
            for &h in hashes {
                add(h);
                if let Some(p) = prev {
                    add(pair_hash(p, h));
                }
                prev = Some(h);
            }
        });
        Self::decide(softmax(z))
    }

    fn decide(p: [f32; 3]) -> (Sentiment, f32) {
        let best = if p[0] >= p[1] && p[0] >= p[2] {
            Sentiment::Negative
        } else if p[2] >= p[1] {
            Sentiment::Positive
        } else {
            Sentiment::Neutral
        };
        (best, p[2] - p[0])
    }

    /// [`SentimentModel::predict`] from precomputed [`features`].
    pub fn predict_features(&self, features: &[u64]) -> (Sentiment, f32) {
        Self::decide(self.probabilities_of(features))
    }

    /// Parses the text format written by [`Trained::to_text`].
    pub fn from_text(src: &str) -> Result<SentimentModel, ModelError> {
        let mut lines = src.lines().enumerate();
        match lines.next() {
            Some((_, l)) if l.trim() == MAGIC => {}
            _ => return Err(ModelError::Magic),
        }
        let mut model = SentimentModel::default();
        for (i, line) in lines {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |message: &str| ModelError::Line { line: i + 1, message: message.to_string() };
            let cols: Vec<&str> = line.split('\t').collect();
            let (key, nums) = match cols.first().copied() {
                Some("bias") if cols.len() == 4 => (None, &cols[1..]),
                Some("w") if cols.len() == 5 => (Some(term_hash(cols[1])), &cols[2..]),
                Some("p") if cols.len() == 6 => (Some(pair_hash(term_hash(cols[1]), term_hash(cols[2]))), &cols[3..]),
                _ => return Err(err("应为 bias/w/p 开头、以制表符分隔的一行")),
            };
            let mut w = [0f32; 3];
            for (slot, s) in w.iter_mut().zip(nums) {
                *slot = s.parse().map_err(|_| err("权重不是数字"))?;
            }
            match key {
                None => model.bias = w,
                Some(k) => {
                    model.weights.insert(k, w);
                }
            }
        }
        Ok(model)
    }
}

/// One labelled example for training.
#[derive(Debug, Clone)]
pub struct Example {
    pub tokens: Vec<String>,
    pub label: Sentiment,
}

/// How the model is trained.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    /// L2 penalty per update.
    pub l2: f32,
    /// Features seen in fewer examples than this are dropped.
    pub min_count: u32,
    /// Weights smaller than this (in every class) are not written out.
    pub prune_below: f32,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 8, learning_rate: 0.2, l2: 1e-6, min_count: 2, prune_below: 0.25, seed: 20_200_119 }
    }
}

/// A trained model in its writable form: feature names kept for the text file.
pub struct Trained {
    pub model: SentimentModel,
    text: String,
}

impl Trained {
    /// The model file (UTF-8 text, one weight line per feature, sorted, so diffs are readable).
    pub fn to_text(&self) -> &str {
        &self.text
    }
}

/// Trains a multinomial logistic regression with AdaGrad over shuffled examples, classes weighted
/// by the inverse square root of their frequency (so the rare neutral class is not drowned out).
pub fn train(examples: &[Example], config: &TrainConfig) -> Trained {
    // Name every feature and count in how many examples it occurs.
    #[derive(Clone)]
    enum Name {
        Word(String),
        Pair(String, String),
    }
    let mut names: HashMap<u64, Name> = HashMap::new();
    let mut counts: HashMap<u64, u32> = HashMap::new();
    let mut docs: Vec<(Vec<u64>, usize)> = Vec::with_capacity(examples.len());
    for ex in examples {
        let toks: Vec<&str> = ex.tokens.iter().map(String::as_str).filter(|t| usable(t)).collect();
        for (i, t) in toks.iter().enumerate() {
            names.entry(term_hash(t)).or_insert_with(|| Name::Word(t.to_string()));
            if i > 0 {
                let key = pair_hash(term_hash(toks[i - 1]), term_hash(t));
                names.entry(key).or_insert_with(|| Name::Pair(toks[i - 1].to_string(), t.to_string()));
            }
        }
        let f = features(&toks);
        for k in &f {
            *counts.entry(*k).or_insert(0) += 1;
        }
        docs.push((f, ex.label.index()));
    }
    for (f, _) in docs.iter_mut() {
        f.retain(|k| counts.get(k).is_some_and(|c| *c >= config.min_count));
    }
    let mut freq = [0f32; 3];
    for (_, y) in &docs {
        freq[*y] += 1.0;
    }
    let total: f32 = freq.iter().sum::<f32>().max(1.0);
    let class_weight: [f32; 3] = [0, 1, 2].map(|c| if freq[c] > 0.0 { (total / (3.0 * freq[c])).sqrt() } else { 0.0 });

    let mut bias = [0f32; 3];
    let mut bias_g = [1e-6f32; 3];
    let mut weights: HashMap<u64, ([f32; 3], [f32; 3]), Mix> = HashMap::default();
    let mut order: Vec<usize> = (0..docs.len()).collect();
    let mut rng = config.seed | 1;
    for _ in 0..config.epochs {
        // Fisher–Yates with xorshift: the same seed gives the same order on every machine.
        for i in (1..order.len()).rev() {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            order.swap(i, (rng % (i as u64 + 1)) as usize);
        }
        for &d in &order {
            let (feats, y) = &docs[d];
            let mut z = bias;
            for f in feats {
                if let Some((w, _)) = weights.get(f) {
                    for c in 0..3 {
                        z[c] += w[c];
                    }
                }
            }
            let p = softmax(z);
            let cw = class_weight[*y];
            let grad: [f32; 3] = [0, 1, 2].map(|c| cw * (p[c] - if c == *y { 1.0 } else { 0.0 }));
            for c in 0..3 {
                bias_g[c] += grad[c] * grad[c];
                bias[c] -= config.learning_rate * grad[c] / bias_g[c].sqrt();
            }
            for f in feats {
                let (w, g) = weights.entry(*f).or_insert(([0.0; 3], [1e-6; 3]));
                for c in 0..3 {
                    let gc = grad[c] + config.l2 * w[c];
                    g[c] += gc * gc;
                    w[c] -= config.learning_rate * gc / g[c].sqrt();
                }
            }
        }
    }

    // Centre each feature's weights (softmax is shift-invariant), prune the negligible, write out.
    let mut lines: Vec<String> = Vec::new();
    let mut model = SentimentModel { bias, weights: HashMap::default() };
    for (k, (w, _)) in weights {
        let mean = (w[0] + w[1] + w[2]) / 3.0;
        let w = [w[0] - mean, w[1] - mean, w[2] - mean];
        if w.iter().all(|x| x.abs() < config.prune_below) {
            continue;
        }
        let Some(name) = names.get(&k) else { continue };
        // Three decimals, and never "-0": the file stays small and diffs stay readable.
        let w = w.map(|x| (x * 1000.0).round() / 1000.0 + 0.0);
        let nums = format!("{}\t{}\t{}", w[0], w[1], w[2]);
        lines.push(match name {
            Name::Word(a) => format!("w\t{a}\t{nums}"),
            Name::Pair(a, b) => format!("p\t{a}\t{b}\t{nums}"),
        });
        model.weights.insert(k, w);
    }
    lines.sort();
    let b = bias.map(|x| (x * 1000.0).round() / 1000.0 + 0.0);
    model.bias = b;
    let mut text = format!(
        "{MAGIC}\n# Trained by `yuqing train-sentiment`; classes Negative, Neutral, Positive. See docs/QUALITY.md.\nbias\t{}\t{}\t{}\n",
        b[0], b[1], b[2]
    );
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    Trained { model, text }
}

/// Accuracy and macro-F1 of a model on labelled examples, with the confusion matrix
/// (`confusion[truth][predicted]`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub confusion: [[u64; 3]; 3],
}

/// Evaluates `model` on `examples`; the macro average runs over the classes the examples are labelled
/// with (a two-class corpus is not scored on a neutral class it does not have).
pub fn evaluate(model: &SentimentModel, examples: &[Example]) -> Evaluation {
    let mut confusion = [[0u64; 3]; 3];
    for ex in examples {
        let toks: Vec<&str> = ex.tokens.iter().map(String::as_str).collect();
        let (pred, _) = model.predict(&toks);
        confusion[ex.label.index()][pred.index()] += 1;
    }
    let n: u64 = confusion.iter().flatten().sum();
    let correct: u64 = (0..3).map(|c| confusion[c][c]).sum();
    let mut f1s = Vec::new();
    for c in 0..3 {
        let tp = confusion[c][c] as f64;
        let truth: u64 = confusion[c].iter().sum();
        let pred: u64 = (0..3).map(|t| confusion[t][c]).sum();
        if truth == 0 {
            continue;
        }
        let p = if pred > 0 { tp / pred as f64 } else { 0.0 };
        let r = if truth > 0 { tp / truth as f64 } else { 0.0 };
        f1s.push(if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 });
    }
    Evaluation {
        examples: n as usize,
        accuracy: if n > 0 { correct as f64 / n as f64 } else { 0.0 },
        macro_f1: if f1s.is_empty() { 0.0 } else { f1s.iter().sum::<f64>() / f1s.len() as f64 },
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(words: &[&str], label: Sentiment) -> Example {
        Example { tokens: words.iter().map(|w| w.to_string()).collect(), label }
    }

    fn toy() -> Vec<Example> {
        let mut v = Vec::new();
        for _ in 0..20 {
            v.push(ex(&["服务", "很", "好", "满意"], Sentiment::Positive));
            v.push(ex(&["太", "差", "了", "投诉"], Sentiment::Negative));
            v.push(ex(&["通知", "发布", "时间"], Sentiment::Neutral));
            v.push(ex(&["不", "好", "失望"], Sentiment::Negative));
        }
        v
    }

    #[test]
    fn trained_model_learns_a_separable_toy_set() {
        let t = train(&toy(), &TrainConfig::default());
        assert_eq!(t.model.predict(&["很", "好"]).0, Sentiment::Positive);
        assert_eq!(t.model.predict(&["投诉", "差"]).0, Sentiment::Negative);
        assert_eq!(t.model.predict(&["发布", "通知"]).0, Sentiment::Neutral);
        let e = evaluate(&t.model, &toy());
        assert_eq!(e.accuracy, 1.0);
        assert!(e.macro_f1 > 0.99);
    }

    #[test]
    fn word_pairs_capture_negation() {
        let t = train(&toy(), &TrainConfig::default());
        let (s, score) = t.model.predict(&["不", "好"]);
        assert_eq!(s, Sentiment::Negative, "score {score}");
    }

    #[test]
    fn model_text_round_trips_and_training_is_deterministic() {
        let a = train(&toy(), &TrainConfig::default());
        let b = train(&toy(), &TrainConfig::default());
        assert_eq!(a.to_text(), b.to_text());
        let loaded = SentimentModel::from_text(a.to_text()).expect("own output parses");
        assert_eq!(loaded.len(), a.model.len());
        let toks = ["服务", "很", "好"];
        let (p, q) = (loaded.probabilities(&toks), a.model.probabilities(&toks));
        for c in 0..3 {
            assert!((p[c] - q[c]).abs() < 1e-5);
        }
    }

    #[test]
    fn fused_prediction_equals_the_feature_list_one() {
        let m = SentimentModel::builtin();
        let texts: [&[&str]; 4] = [
            &["太", "失望", "了", "失望", "了", "非常", "愤怒"],
            &["感谢", "医护人员", "辛苦", "了", "感谢", "医护人员"],
            &[],
            &["好"],
        ];
        for toks in texts {
            let hashes: Vec<u64> = toks.iter().map(|t| term_hash(t)).collect();
            let a = m.predict_hashes(&hashes);
            let b = m.predict_features(&features_of_hashes(hashes.iter().copied()));
            assert_eq!(a.0, b.0);
            assert_eq!(a.1.to_bits(), b.1.to_bits());
        }
    }

    #[test]
    fn usable_is_not_white_space() {
        for t in ["", " ", "\u{3000}", "\u{a0}", "\t\n", "\u{0b}", "a", "中", "，", "\u{2028}", "ǅ"] {
            assert_eq!(usable(t), !t.trim().is_empty(), "{t:?}");
        }
    }

    #[test]
    fn broken_model_file_names_the_line() {
        assert!(matches!(SentimentModel::from_text("nonsense"), Err(ModelError::Magic)));
        let err = SentimentModel::from_text(&format!("{MAGIC}\nbias\t0\t0\t0\nw\t好\tx\t0\t0\n")).unwrap_err();
        assert_eq!(err, ModelError::Line { line: 3, message: "权重不是数字".into() });
    }

    #[test]
    fn builtin_model_loads_and_is_not_empty() {
        let m = SentimentModel::from_text(BUILTIN).expect("shipped model parses");
        assert!(m.len() > 1000, "shipped model has {} weights", m.len());
        let (s, _) = m.predict(&["太", "失望", "了", "，", "非常", "愤怒"]);
        assert_eq!(s, Sentiment::Negative);
        let (s, _) = m.predict(&["感谢", "医护人员", "，", "辛苦", "了", "！"]);
        assert_eq!(s, Sentiment::Positive);
    }
}
