//! 情感倾向: a linear (multinomial logistic) model over words, word pairs and character 1–3-grams
//! that gives a post `Negative` / `Neutral` / `Positive` and a polarity score; trained here, shipped
//! as a text file of a hashed weight table.
//!
//! Invariant: pure. Training is deterministic (fixed seed, fixed order), so the same data gives the
//! same model file byte for byte; prediction allocates nothing.

use std::fmt::Write as _;
use std::sync::OnceLock;

use yuqing_core::Sentiment;

use crate::dedup::term_hash;

/// The shipped model, trained by `yuqing train-sentiment` (see docs/QUALITY.md).
static BUILTIN: &str = include_str!("../data/sentiment.model");
const MAGIC: &str = "yuqing-sentiment 3";

/// Outputs of the model: Negative, Neutral, Positive as written on Weibo, then Negative and Positive
/// as written in a review. The review corpora have no neutral class and their own way of writing, so
/// they are trained into classes of their own rather than pulling the Weibo classes toward review
/// words; a post's sentiment sums the outputs of each [`Sentiment`] ([`GROUP`]).
pub const OUTPUTS: usize = 5;
/// The [`Sentiment`] index (0 Negative, 1 Neutral, 2 Positive) of each output.
pub const GROUP: [usize; OUTPUTS] = [0, 1, 2, 0, 2];

/// Bits of the hashed weight table: 2^18 buckets of [`OUTPUTS`] `i8` weights (1.25 MB), small
/// enough to stay mostly in cache on the analysis hot path.
pub const TABLE_BITS: u32 = 18;
pub const TABLE_SIZE: usize = 1 << TABLE_BITS;

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

/// Calls `f` with the exact key of every character 1-, 2- and 3-gram of `text`, in order. White
/// space separates: no n-gram spans it. A key packs the code points (21 bits each), so keys are
/// distinct for distinct n-grams: a unigram is below 2^21, a bigram below 2^42, a trigram above.
#[inline]
pub fn char_gram_keys(text: &str, f: impl FnMut(u64)) {
    char_grams(text, true, f)
}

/// [`char_gram_keys`], with or without the unigrams.
#[inline]
fn char_grams(text: &str, unigrams: bool, mut f: impl FnMut(u64)) {
    // `prev` holds the last two code points (newest in the low 21 bits); `run` how many are valid.
    let mut prev: u64 = 0;
    let mut run = 0u32;
    for c in text.chars() {
        // No white space lies above U+3000: CJK text skips the table lookup.
        if (c as u32) <= 0x3000 && c.is_whitespace() {
            run = 0;
            prev = 0;
            continue;
        }
        let c = c as u64;
        if unigrams {
            f(c);
        }
        if run >= 1 {
            f(((prev & 0x1F_FFFF) << 21) | c);
        }
        if run >= 2 {
            f((prev << 21) | c);
        }
        prev = ((prev & 0x1F_FFFF) << 21) | c;
        run += 1;
    }
}

/// The feature hash of a character n-gram key: [`bucket`]'s multiply spreads it; the salt keeps
/// the small unigram keys away from bucket 0.
#[inline]
fn char_gram_hash(key: u64) -> u64 {
    key ^ 0x5851_F42D_4C95_7F2D
}

/// The table bucket of a feature hash (multiply-shift: the top bits of the product).
#[inline]
pub fn bucket(h: u64) -> usize {
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - TABLE_BITS)) as usize
}

/// Calls `f` with the bucket of every feature of a post: each usable word (by its [`term_hash`], in
/// order), each pair of neighbouring words, each character 2–3-gram of `text` (the matching form the
/// words were cut from), and with `unigrams` each character. Repeats are kept: the model counts
/// them. Allocates nothing.
#[inline]
pub fn for_each_bucket(word_hashes: &[u64], text: &str, unigrams: bool, mut f: impl FnMut(usize)) {
    let mut prev: Option<u64> = None;
    for &h in word_hashes {
        f(bucket(h));
        if let Some(p) = prev {
            f(bucket(pair_hash(p, h)));
        }
        prev = Some(h);
    }
    char_grams(text, unigrams, |k| f(bucket(char_gram_hash(k))));
}

/// The features of a post as (bucket, value) sorted by bucket: counts scaled by 1/√(number of
/// features), so a long post is not more certain merely for being long. Training uses this; the
/// prediction sums the same values without building the list.
pub fn feature_vector(word_hashes: &[u64], text: &str, unigrams: bool) -> Vec<(u32, f32)> {
    let mut raw: Vec<u32> = Vec::new();
    for_each_bucket(word_hashes, text, unigrams, |b| raw.push(b as u32));
    let n = raw.len();
    if n == 0 {
        return Vec::new();
    }
    raw.sort_unstable();
    let x = 1.0 / (n as f32).sqrt();
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(raw.len());
    for b in raw {
        match out.last_mut() {
            Some((last, v)) if *last == b => *v += x,
            _ => out.push((b, x)),
        }
    }
    out
}

/// The [`term_hash`]es of the usable tokens, in order (what the analysis stage has at hand).
pub fn word_hashes(tokens: &[&str]) -> Vec<u64> {
    tokens.iter().copied().filter(|t| usable(t)).map(term_hash).collect()
}

/// The trained model: a bias and a hashed table of quantized weights for the [`OUTPUTS`] outputs;
/// a weight is `q · scale`.
#[derive(Debug, Clone)]
pub struct SentimentModel {
    bias: [f32; OUTPUTS],
    scale: f32,
    table: Box<[[i8; OUTPUTS]; TABLE_SIZE]>,
    nonzero: usize,
    /// Character unigrams are features (else 2–3-grams only).
    unigrams: bool,
}

impl Default for SentimentModel {
    fn default() -> Self {
        // Built on the heap: 1.25 MB would not fit a test thread's stack.
        let table: Box<[[i8; OUTPUTS]; TABLE_SIZE]> =
            match vec![[0i8; OUTPUTS]; TABLE_SIZE].into_boxed_slice().try_into() {
                Ok(t) => t,
                Err(_) => unreachable!("the vector has TABLE_SIZE entries"),
            };
        SentimentModel { bias: [0.0; OUTPUTS], scale: 1.0, table, nonzero: 0, unigrams: true }
    }
}

/// Class probabilities from scores (shifted by the largest, so nothing overflows; a score of −∞
/// gets probability 0).
pub fn softmax<const N: usize>(z: [f32; N]) -> [f32; N] {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e = z.map(|x| (x - m).exp());
    let s: f32 = e.iter().sum();
    e.map(|x| x / s)
}

/// The probability of each [`Sentiment`] (Negative, Neutral, Positive) from the outputs' scores:
/// the sum over the outputs of each ([`GROUP`]).
pub fn sentiment_probabilities(z: [f32; OUTPUTS]) -> [f32; 3] {
    let p = softmax(z);
    let mut q = [0f32; 3];
    for (o, &g) in GROUP.iter().enumerate() {
        q[g] += p[o];
    }
    q
}

impl SentimentModel {
    /// The model shipped in the repository, parsed once.
    pub fn builtin() -> &'static SentimentModel {
        static MODEL: OnceLock<SentimentModel> = OnceLock::new();
        // The file is compiled in and checked by a test; an empty model predicts from the bias.
        MODEL.get_or_init(|| SentimentModel::from_text(BUILTIN).unwrap_or_default())
    }

    /// Buckets with a weight.
    pub fn len(&self) -> usize {
        self.nonzero
    }

    pub fn is_empty(&self) -> bool {
        self.nonzero == 0
    }

    /// Class probabilities (Negative, Neutral, Positive) of a post: its usable words' hashes in order
    /// and the matching-form text they were cut from.
    pub fn probabilities(&self, word_hashes: &[u64], text: &str) -> [f32; 3] {
        let mut sum = [0i32; OUTPUTS];
        let mut n = 0u32;
        for_each_bucket(word_hashes, text, self.unigrams, |b| {
            // `bucket` is below TABLE_SIZE by construction; the mask lets the compiler drop the bounds check.
            let w = &self.table[b & (TABLE_SIZE - 1)];
            for o in 0..OUTPUTS {
                sum[o] += w[o] as i32;
            }
            n += 1;
        });
        let x = if n > 0 { self.scale / (n as f32).sqrt() } else { 0.0 };
        sentiment_probabilities(std::array::from_fn(|o| self.bias[o] + sum[o] as f32 * x))
    }

    /// The sentiment of a post and its polarity P(positive) − P(negative) in [-1, 1]; see
    /// [`SentimentModel::probabilities`] for the arguments.
    pub fn predict_post(&self, word_hashes: &[u64], text: &str) -> (Sentiment, f32) {
        Self::decide(self.probabilities(word_hashes, text))
    }

    /// [`SentimentModel::predict_post`] from tokens and their text (tests, tools).
    pub fn predict(&self, tokens: &[&str], text: &str) -> (Sentiment, f32) {
        self.predict_post(&word_hashes(tokens), text)
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
            match cols.as_slice() {
                ["bias", a, b, c, d, e] => {
                    let mut w = [0f32; OUTPUTS];
                    for (slot, s) in w.iter_mut().zip([a, b, c, d, e]) {
                        *slot = s.parse().map_err(|_| err("偏置不是数字"))?;
                    }
                    model.bias = w;
                }
                ["chars", "1-3"] => model.unigrams = true,
                ["chars", "2-3"] => model.unigrams = false,
                ["scale", s] => {
                    model.scale = s
                        .parse()
                        .ok()
                        .filter(|x: &f32| x.is_finite() && *x > 0.0)
                        .ok_or_else(|| err("比例不是正数"))?;
                }
                [b, q0, q1, q2, q3, q4] => {
                    let b: usize =
                        b.parse().ok().filter(|b| *b < TABLE_SIZE).ok_or_else(|| err("桶号应为小于 2^18 的整数"))?;
                    let mut q = [0i8; OUTPUTS];
                    for (slot, s) in q.iter_mut().zip([q0, q1, q2, q3, q4]) {
                        *slot = s.parse().map_err(|_| err("权重应为 −128..127 的整数"))?;
                    }
                    if model.table[b] == [0; OUTPUTS] && q != [0; OUTPUTS] {
                        model.nonzero += 1;
                    }
                    model.table[b] = q;
                }
                _ => return Err(err("应为 bias/scale 或桶号开头、以制表符分隔的一行")),
            }
        }
        Ok(model)
    }
}

/// One labelled example for training: the matching-form text and its tokens.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub tokens: Vec<String>,
    pub label: Sentiment,
    /// Which corpus it comes from. Corpus 0 is the kind of writing the model is for (Weibo posts):
    /// it may be weighted up. A corpus without any Neutral example is trained into the review
    /// outputs (3 and 4, see [`OUTPUTS`]).
    pub corpus: u8,
}

impl Example {
    fn word_hashes(&self) -> Vec<u64> {
        self.tokens.iter().map(String::as_str).filter(|t| usable(t)).map(term_hash).collect()
    }
}

/// How the model is trained.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    /// L2 penalty per update.
    pub l2: f32,
    /// Buckets whose weights are all smaller than this are not written out.
    pub prune_below: f32,
    /// Added to the neutral bias after training: moves the decision threshold toward Neutral.
    pub neutral_shift: f32,
    /// Classes are weighted by (mean class frequency / class frequency) to this power: 0 none,
    /// 1 balanced.
    pub class_weight_power: f32,
    /// Buckets met in fewer training examples than this are not trained (left at zero).
    pub min_count: u32,
    /// Character unigrams are features too (else 2–3-grams only: fewer lookups a post).
    pub char_unigrams: bool,
    /// Ship the mean of the weights at the end of each epoch of the second half rather than the
    /// last weights (averaging steadies stochastic training).
    pub average: bool,
    /// Examples of corpus 0 count this many times (the other corpora are reviews, not posts). 1 in
    /// the shipped model (docs/QUALITY.md, "Tried and not shipped").
    pub primary_weight: f32,
    /// A corpus without any Neutral example (the reviews) is trained into the review outputs 3 and 4
    /// (shipped); else into the Weibo outputs 0 and 2, and 3 and 4 stay unused.
    pub review_outputs: bool,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 6,
            learning_rate: 0.05,
            l2: 1e-6,
            prune_below: 0.3,
            neutral_shift: 0.3,
            class_weight_power: 0.5,
            min_count: 1,
            average: true,
            char_unigrams: true,
            primary_weight: 1.0,
            review_outputs: true,
            seed: 20_200_119,
        }
    }
}

/// A trained model in its writable form.
pub struct Trained {
    pub model: SentimentModel,
    text: String,
}

impl Trained {
    /// The model file (UTF-8 text: bias, scale, then one line per non-zero bucket, in bucket order).
    pub fn to_text(&self) -> &str {
        &self.text
    }
}

/// Fisher–Yates with xorshift: the same seed gives the same order on every machine (training
/// order for the model and the baseline of `eval-sentiment`).
pub fn shuffle(order: &mut [usize], rng: &mut u64) {
    for i in (1..order.len()).rev() {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        order.swap(i, (*rng % (i as u64 + 1)) as usize);
    }
}

/// Trains a multinomial logistic regression with AdaGrad over shuffled examples, classes weighted
/// by a power of their inverse frequency (so the rare neutral class is not drowned out); see
/// [`TrainConfig`] and [`OUTPUTS`] for how the corpora are told apart.
pub fn train(examples: &[Example], config: &TrainConfig) -> Trained {
    let corpora = examples.iter().map(|ex| ex.corpus as usize + 1).max().unwrap_or(1);
    let mut has_neutral = vec![false; corpora];
    for ex in examples {
        has_neutral[ex.corpus as usize] |= ex.label == Sentiment::Neutral;
    }
    // The output each example is trained toward.
    let output = |ex: &Example| -> usize {
        match ex.label {
            Sentiment::Negative if config.review_outputs && !has_neutral[ex.corpus as usize] => 3,
            Sentiment::Positive if config.review_outputs && !has_neutral[ex.corpus as usize] => 4,
            label => label.index(),
        }
    };
    let mut docs: Vec<(Vec<(u32, f32)>, usize)> = examples
        .iter()
        .map(|ex| (feature_vector(&ex.word_hashes(), &ex.text, config.char_unigrams), output(ex)))
        .collect();
    if config.min_count > 1 {
        let mut df = vec![0u32; TABLE_SIZE];
        for (f, _) in &docs {
            for &(b, _) in f {
                df[b as usize] += 1;
            }
        }
        // The values keep their scale: at prediction the rare buckets are zero but still counted.
        for (f, _) in docs.iter_mut() {
            f.retain(|&(b, _)| df[b as usize] >= config.min_count);
        }
    }
    // Class weights by sentiment (not by output): a review negative weighs as a Weibo negative.
    let mut freq = [0f32; 3];
    for (_, y) in &docs {
        freq[GROUP[*y]] += 1.0;
    }
    let total: f32 = freq.iter().sum::<f32>().max(1.0);
    let class_weight: [f32; 3] =
        [0, 1, 2].map(|c| if freq[c] > 0.0 { (total / (3.0 * freq[c])).powf(config.class_weight_power) } else { 0.0 });

    let mut bias = [0f32; OUTPUTS];
    let mut bias_g = [1e-6f32; OUTPUTS];
    let mut weights = vec![[0f32; OUTPUTS]; TABLE_SIZE];
    let mut sq_grads = vec![[1e-6f32; OUTPUTS]; TABLE_SIZE];
    let mut order: Vec<usize> = (0..docs.len()).collect();
    let mut rng = config.seed | 1;
    let mut sum = vec![[0f32; OUTPUTS]; if config.average { TABLE_SIZE } else { 0 }];
    let mut bias_sum = [0f32; OUTPUTS];
    let mut snapshots = 0u32;
    for epoch in 0..config.epochs {
        shuffle(&mut order, &mut rng);
        for &d in &order {
            let (feats, y) = &docs[d];
            let mut z = bias;
            for &(b, x) in feats {
                let w = &weights[b as usize];
                for o in 0..OUTPUTS {
                    z[o] += w[o] * x;
                }
            }
            let p = softmax(z);
            let cw = class_weight[GROUP[*y]] * if examples[d].corpus == 0 { config.primary_weight } else { 1.0 };
            let grad: [f32; OUTPUTS] = std::array::from_fn(|o| cw * (p[o] - if o == *y { 1.0 } else { 0.0 }));
            for o in 0..OUTPUTS {
                bias_g[o] += grad[o] * grad[o];
                bias[o] -= config.learning_rate * grad[o] / bias_g[o].sqrt();
            }
            for &(b, x) in feats {
                let (w, g) = (&mut weights[b as usize], &mut sq_grads[b as usize]);
                for o in 0..OUTPUTS {
                    let gc = grad[o] * x + config.l2 * w[o];
                    g[o] += gc * gc;
                    w[o] -= config.learning_rate * gc / g[o].sqrt();
                }
            }
        }
        if config.average && epoch >= config.epochs / 2 {
            for (s, w) in sum.iter_mut().zip(&weights) {
                for o in 0..OUTPUTS {
                    s[o] += w[o];
                }
            }
            for o in 0..OUTPUTS {
                bias_sum[o] += bias[o];
            }
            snapshots += 1;
        }
    }
    if config.average && snapshots > 0 {
        let k = snapshots as f32;
        for (w, s) in weights.iter_mut().zip(&sum) {
            *w = s.map(|x| x / k);
        }
        bias = bias_sum.map(|x| x / k);
    }

    // Centre each bucket's weights (softmax is shift-invariant), prune the negligible, quantize to
    // i8 with one scale (the table's cache footprint is the analysis' cost), write out; the model
    // returned is the file parsed back, so it is exactly what ships.
    for w in weights.iter_mut() {
        let mean = w.iter().sum::<f32>() / OUTPUTS as f32;
        *w = w.map(|x| x - mean);
    }
    let max = weights.iter().flatten().fold(0f32, |m, x| m.max(x.abs()));
    // A round scale (a power of two) keeps the file readable and the parse exact.
    let scale = if max > 0.0 { 2f32.powi((max / 127.0).log2().ceil() as i32) } else { 1.0 };
    bias[1] += config.neutral_shift;
    let b = bias.map(|x| (x * 10_000.0).round() / 10_000.0 + 0.0);
    let mut text = format!(
        "{MAGIC}\n# Trained by `yuqing train-sentiment`; outputs Weibo Negative, Neutral, Positive, review Negative, Positive;\n\
         # one line per bucket of the hashed table of words, word pairs and character 1–3-grams (weight = integer × scale).\n\
         # See docs/QUALITY.md.\nbias\t{}\t{}\t{}\t{}\t{}\nscale\t{}\nchars\t{}\n",
        b[0], b[1], b[2], b[3], b[4], scale, if config.char_unigrams { "1-3" } else { "2-3" }
    );
    for (i, w) in weights.iter().enumerate() {
        if w.iter().all(|x| x.abs() < config.prune_below) {
            continue;
        }
        let q = w.map(|x| (x / scale).round().clamp(-128.0, 127.0) as i8);
        if q == [0; OUTPUTS] {
            continue;
        }
        let _ = writeln!(text, "{i}\t{}\t{}\t{}\t{}\t{}", q[0], q[1], q[2], q[3], q[4]);
    }
    let model = SentimentModel::from_text(&text).unwrap_or_default();
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

impl Evaluation {
    /// Scores a confusion matrix (`confusion[truth][predicted]`); the macro average runs over the
    /// classes the examples are labelled with (a two-class corpus is not scored on a neutral class it
    /// does not have).
    pub fn from_confusion(confusion: [[u64; 3]; 3]) -> Evaluation {
        let n: u64 = confusion.iter().flatten().sum();
        let correct: u64 = (0..3).map(|c| confusion[c][c]).sum();
        let f1s: Vec<f64> =
            (0..3).filter(|&c| confusion[c].iter().sum::<u64>() > 0).map(|c| f1_of(&confusion, c)).collect();
        Evaluation {
            examples: n as usize,
            accuracy: if n > 0 { correct as f64 / n as f64 } else { 0.0 },
            macro_f1: if f1s.is_empty() { 0.0 } else { f1s.iter().sum::<f64>() / f1s.len() as f64 },
            confusion,
        }
    }

    /// F1 of one class against the rest (class index: 0 Negative, 1 Neutral, 2 Positive).
    pub fn class_f1(&self, class: usize) -> f64 {
        f1_of(&self.confusion, class)
    }

    /// Recall of one class: the share of its examples predicted as it.
    pub fn recall(&self, class: usize) -> f64 {
        let truth: u64 = self.confusion[class].iter().sum();
        if truth == 0 {
            0.0
        } else {
            self.confusion[class][class] as f64 / truth as f64
        }
    }
}

fn f1_of(confusion: &[[u64; 3]; 3], c: usize) -> f64 {
    let tp = confusion[c][c] as f64;
    let truth: u64 = confusion[c].iter().sum();
    let pred: u64 = (0..3).map(|t| confusion[t][c]).sum();
    let p = if pred > 0 { tp / pred as f64 } else { 0.0 };
    let r = if truth > 0 { tp / truth as f64 } else { 0.0 };
    if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    }
}

/// Evaluates `model` on `examples`.
pub fn evaluate(model: &SentimentModel, examples: &[Example]) -> Evaluation {
    evaluate_with(examples, |ex| model.predict_post(&ex.word_hashes(), &ex.text).0)
}

/// Evaluates any classifier on `examples`.
pub fn evaluate_with(examples: &[Example], mut predict: impl FnMut(&Example) -> Sentiment) -> Evaluation {
    let mut confusion = [[0u64; 3]; 3];
    for ex in examples {
        confusion[ex.label.index()][predict(ex).index()] += 1;
    }
    Evaluation::from_confusion(confusion)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(words: &[&str], label: Sentiment) -> Example {
        Example { text: words.concat(), tokens: words.iter().map(|w| w.to_string()).collect(), label, corpus: 0 }
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

    fn predict(m: &SentimentModel, words: &[&str]) -> (Sentiment, f32) {
        m.predict(words, &words.concat())
    }

    #[test]
    fn trained_model_learns_a_separable_toy_set() {
        let t = train(&toy(), &TrainConfig::default());
        assert_eq!(predict(&t.model, &["很", "好"]).0, Sentiment::Positive);
        assert_eq!(predict(&t.model, &["投诉", "差"]).0, Sentiment::Negative);
        assert_eq!(predict(&t.model, &["发布", "通知"]).0, Sentiment::Neutral);
        let e = evaluate(&t.model, &toy());
        assert_eq!(e.accuracy, 1.0);
        assert!(e.macro_f1 > 0.99);
    }

    #[test]
    fn corpus_options_still_learn_the_toy_set() {
        // Every second negative and positive comes from a second corpus without a neutral class.
        let mut set = toy();
        let mut seen = [0usize; 3];
        for e in set.iter_mut().filter(|e| e.label != Sentiment::Neutral) {
            seen[e.label.index()] += 1;
            if seen[e.label.index()] % 2 == 0 {
                e.corpus = 1;
            }
        }
        for config in [
            TrainConfig { primary_weight: 2.0, ..TrainConfig::default() },
            TrainConfig { review_outputs: false, ..TrainConfig::default() },
        ] {
            let t = train(&set, &config);
            assert_eq!(t.to_text(), train(&set, &config).to_text(), "deterministic");
            assert_eq!(predict(&t.model, &["很", "好"]).0, Sentiment::Positive);
            assert_eq!(predict(&t.model, &["投诉", "差"]).0, Sentiment::Negative);
            assert_eq!(predict(&t.model, &["发布", "通知"]).0, Sentiment::Neutral);
            assert_eq!(evaluate(&t.model, &set).accuracy, 1.0);
        }
    }

    #[test]
    fn review_corpora_train_the_review_outputs() {
        // Corpus 1 (no neutral class) has its own words; they must land in outputs 3 and 4 and still
        // be read as Negative and Positive.
        let mut set = toy();
        for _ in 0..20 {
            set.push(Example { corpus: 1, ..ex(&["房间", "干净", "早餐", "丰富"], Sentiment::Positive) });
            set.push(Example { corpus: 1, ..ex(&["外卖", "送", "晚", "凉", "了"], Sentiment::Negative) });
        }
        let t = train(&set, &TrainConfig::default());
        let h = word_hashes(&["房间", "干净"]);
        let mut z = t.model.bias;
        for (b, x) in feature_vector(&h, "房间干净", t.model.unigrams) {
            for o in 0..OUTPUTS {
                z[o] += t.model.table[b as usize][o] as f32 * t.model.scale * x;
            }
        }
        let p = softmax(z);
        assert!(p[4] > p[2], "a review's positive words go to the review output: {p:?}");
        assert_eq!(predict(&t.model, &["房间", "干净"]).0, Sentiment::Positive);
        assert_eq!(predict(&t.model, &["外卖", "凉", "了"]).0, Sentiment::Negative);
        assert_eq!(evaluate(&t.model, &set).accuracy, 1.0);
        // Without review outputs, they stay unused (zero weight everywhere).
        let t = train(&set, &TrainConfig { review_outputs: false, ..TrainConfig::default() });
        assert!(t.model.table.iter().all(|w| w[3] == w[4]));
    }

    #[test]
    fn sentiment_probabilities_sum_the_outputs_of_each_sentiment() {
        let q = sentiment_probabilities([0.0; OUTPUTS]);
        assert!((q[0] - 0.4).abs() < 1e-6 && (q[1] - 0.2).abs() < 1e-6 && (q[2] - 0.4).abs() < 1e-6, "{q:?}");
        let q = sentiment_probabilities([0.0, 0.0, 0.0, 50.0, 0.0]);
        assert!(q[0] > 0.999, "{q:?}");
        assert_eq!(softmax([0.0, f32::NEG_INFINITY])[1], 0.0);
    }

    #[test]
    fn word_pairs_capture_negation() {
        let t = train(&toy(), &TrainConfig::default());
        let (s, score) = predict(&t.model, &["不", "好"]);
        assert_eq!(s, Sentiment::Negative, "score {score}");
    }

    #[test]
    fn model_text_round_trips_and_training_is_deterministic() {
        let a = train(&toy(), &TrainConfig::default());
        let b = train(&toy(), &TrainConfig::default());
        assert_eq!(a.to_text(), b.to_text());
        let loaded = SentimentModel::from_text(a.to_text()).expect("own output parses");
        assert_eq!(loaded.len(), a.model.len());
        assert!(loaded.len() > 10);
        let h = word_hashes(&["服务", "很", "好"]);
        let (p, q) = (loaded.probabilities(&h, "服务很好"), a.model.probabilities(&h, "服务很好"));
        assert_eq!(p, q);
    }

    #[test]
    fn char_grams_are_every_one_to_three_gram_and_stop_at_white_space() {
        let mut keys = Vec::new();
        char_gram_keys("好不好 a", |k| keys.push(k));
        let (h, b, g, a) = ('好' as u64, '不' as u64, '好' as u64, 'a' as u64);
        assert_eq!(keys, vec![h, b, (h << 21) | b, g, (b << 21) | g, (h << 42) | (b << 21) | g, a]);
        let mut n = 0;
        char_gram_keys("", |_| n += 1);
        char_gram_keys(" \n\u{3000}", |_| n += 1);
        assert_eq!(n, 0);
    }

    #[test]
    fn char_gram_keys_of_different_grams_differ() {
        let mut keys = Vec::new();
        for t in ["一", "一一", "一一一", "丁一", "一丁", "\u{10FFFF}\u{10FFFF}\u{10FFFF}", "\u{1}\u{1}"] {
            char_gram_keys(t, |k| keys.push(k));
        }
        let mut distinct = keys.clone();
        distinct.sort_unstable();
        distinct.dedup();
        // Repeats inside one text ("一一一" has 一 thrice) are the same key; count by hand.
        assert_eq!(distinct.len(), 11, "{keys:?}");
    }

    #[test]
    fn buckets_are_in_the_table_and_spread() {
        let mut seen = std::collections::HashSet::new();
        for w in ["好", "不好", "失望", "感谢", "医护人员", "通知", "发布"] {
            let b = bucket(term_hash(w));
            assert!(b < TABLE_SIZE);
            seen.insert(b);
        }
        char_gram_keys("武汉加油感谢医护人员", |k| {
            seen.insert(bucket(char_gram_hash(k)));
        });
        // 7 words and 27 n-grams (10 + 9 + 8): nearly all in buckets of their own.
        assert!(seen.len() >= 32, "{}", seen.len());
    }

    #[test]
    fn feature_vector_counts_repeats_and_scales_by_the_root_of_the_count() {
        let h = word_hashes(&["好", "好"]);
        // Features: 好, 好, pair(好,好); chars 好, 好, 好好.
        let v = feature_vector(&h, "好好", true);
        let n = 6f32;
        let total: f32 = v.iter().map(|e| e.1).sum();
        assert!((total - n / n.sqrt()).abs() < 1e-5);
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0), "sorted and merged");
        assert!(feature_vector(&[], "", true).is_empty());
        // Without unigrams: 好, 好, pair; 好好.
        let total: f32 = feature_vector(&h, "好好", false).iter().map(|e| e.1).sum();
        assert!((total - 2.0).abs() < 1e-5);
    }

    #[test]
    fn prediction_equals_the_feature_vector_sum() {
        let m = SentimentModel::builtin();
        for (toks, text) in [
            (&["太", "失望", "了", "失望", "了", "非常", "愤怒"][..], "太失望了失望了 非常愤怒"),
            (&["感谢", "医护人员", "辛苦", "了"][..], "感谢医护人员辛苦了"),
            (&[][..], ""),
        ] {
            let h = word_hashes(toks);
            let mut z = m.bias;
            for (b, x) in feature_vector(&h, text, m.unigrams) {
                for o in 0..OUTPUTS {
                    z[o] += m.table[b as usize][o] as f32 * m.scale * x;
                }
            }
            let p = sentiment_probabilities(z);
            let q = m.probabilities(&h, text);
            for c in 0..3 {
                assert!((p[c] - q[c]).abs() < 1e-4, "{p:?} {q:?}");
            }
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
        let err = SentimentModel::from_text(&format!("{MAGIC}\nbias\t0\t0\t0\t0\t0\n12\tx\t0\t0\t0\t0\n")).unwrap_err();
        assert_eq!(err, ModelError::Line { line: 3, message: "权重应为 −128..127 的整数".into() });
        let err = SentimentModel::from_text(&format!("{MAGIC}\n{TABLE_SIZE}\t1\t0\t0\t0\t0\n")).unwrap_err();
        assert!(matches!(err, ModelError::Line { line: 2, .. }));
        let err = SentimentModel::from_text(&format!("{MAGIC}\nscale\t-1\n")).unwrap_err();
        assert!(matches!(err, ModelError::Line { line: 2, .. }));
    }

    #[test]
    fn evaluation_scores_negative_against_the_rest() {
        // 8 negatives, 6 found; 2 others called negative.
        let e = Evaluation::from_confusion([[6, 1, 1], [1, 3, 0], [1, 0, 7]]);
        let (p, r) = (6.0 / 8.0, 6.0 / 8.0);
        assert!((e.class_f1(0) - 2.0 * p * r / (p + r)).abs() < 1e-12);
        assert!((e.recall(1) - 0.75).abs() < 1e-12);
        assert_eq!(e.examples, 20);
    }

    #[test]
    fn builtin_model_loads_and_is_not_empty() {
        let m = SentimentModel::from_text(BUILTIN).expect("shipped model parses");
        assert!(m.len() > 1000, "shipped model has {} weights", m.len());
        let (s, _) = predict(&m, &["太", "失望", "了", "，", "非常", "愤怒"]);
        assert_eq!(s, Sentiment::Negative);
        let (s, _) = predict(&m, &["感谢", "医护人员", "，", "辛苦", "了", "！"]);
        assert_eq!(s, Sentiment::Positive);
    }
}
