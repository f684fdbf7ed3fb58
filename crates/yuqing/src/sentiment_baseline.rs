//! The baseline `yuqing eval-sentiment` sets beside the shipped sentiment model: character 1–3-gram
//! TF-IDF (sublinear tf, smoothed idf, l2 norm, as scikit-learn's `TfidfVectorizer`) and a
//! multinomial logistic regression with an L2 penalty (C = 1), trained on the same training split.
//!
//! Invariant: deterministic — the vocabulary is numbered in key order and the training shuffles with
//! a fixed seed, so the same data gives the same figures on every run.

use std::collections::HashMap;

use yuqing_core::Sentiment;
use yuqing_text::sentiment::{char_gram_keys, shuffle, softmax};

/// Character 1–3-gram TF-IDF, fitted on training texts (matching form).
pub struct CharTfidf {
    index: HashMap<u64, u32>,
    idf: Vec<f32>,
}

impl CharTfidf {
    /// Learns the vocabulary (every n-gram of the texts) and its inverse document frequencies,
    /// `ln((1 + n) / (1 + df)) + 1`.
    pub fn fit<'a>(texts: impl IntoIterator<Item = &'a str>) -> CharTfidf {
        let mut df: HashMap<u64, u32> = HashMap::new();
        let mut n = 0usize;
        let mut keys = Vec::new();
        for t in texts {
            n += 1;
            keys.clear();
            char_gram_keys(t, |k| keys.push(k));
            keys.sort_unstable();
            keys.dedup();
            for k in &keys {
                *df.entry(*k).or_insert(0) += 1;
            }
        }
        let mut vocab: Vec<(u64, u32)> = df.into_iter().collect();
        vocab.sort_unstable();
        let n = n as f64;
        let idf = vocab.iter().map(|&(_, d)| (((1.0 + n) / (1.0 + d as f64)).ln() + 1.0) as f32).collect();
        let index = vocab.iter().enumerate().map(|(i, &(k, _))| (k, i as u32)).collect();
        CharTfidf { index, idf }
    }

    /// Size of the vocabulary.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// The l2-normalized vector of a text as (feature, value) sorted by feature: `(1 + ln tf) · idf`
    /// per known n-gram; n-grams never seen in training are left out.
    pub fn transform(&self, text: &str) -> Vec<(u32, f32)> {
        let mut ids: Vec<u32> = Vec::new();
        char_gram_keys(text, |k| {
            if let Some(&i) = self.index.get(&k) {
                ids.push(i);
            }
        });
        ids.sort_unstable();
        let mut out: Vec<(u32, f32)> = Vec::new();
        let mut i = 0;
        while i < ids.len() {
            let j = ids[i..].iter().position(|&x| x != ids[i]).map_or(ids.len(), |p| i + p);
            let tf = (j - i) as f32;
            out.push((ids[i], (1.0 + tf.ln()) * self.idf[ids[i] as usize]));
            i = j;
        }
        let norm = out.iter().map(|e| e.1 * e.1).sum::<f32>().sqrt();
        if norm > 0.0 {
            for e in out.iter_mut() {
                e.1 /= norm;
            }
        }
        out
    }
}

/// Multinomial logistic regression over sparse vectors.
pub struct LogisticRegression {
    bias: [f32; 3],
    weights: Vec<[f32; 3]>,
}

impl LogisticRegression {
    /// Minimizes `C · Σ cross-entropy + ½‖W‖²` (the intercept unpenalized) by AdaGrad over
    /// shuffled examples; a feature's share of the penalty is spread over the examples it occurs in,
    /// so each epoch applies the whole penalty once.
    pub fn fit(docs: &[(Vec<(u32, f32)>, usize)], dim: usize, c: f32, epochs: usize) -> LogisticRegression {
        let mut df = vec![0u32; dim];
        for (x, _) in docs {
            for &(j, _) in x {
                df[j as usize] += 1;
            }
        }
        let rate = 0.5f32;
        let mut bias = [0f32; 3];
        let mut bias_g = [1e-6f32; 3];
        let mut weights = vec![[0f32; 3]; dim];
        let mut sq = vec![[1e-6f32; 3]; dim];
        let mut order: Vec<usize> = (0..docs.len()).collect();
        let mut rng: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..epochs {
            shuffle(&mut order, &mut rng);
            for &d in &order {
                let (x, y) = &docs[d];
                let mut z = bias;
                for &(j, v) in x {
                    let w = &weights[j as usize];
                    for k in 0..3 {
                        z[k] += w[k] * v;
                    }
                }
                let p = softmax(z);
                let grad: [f32; 3] = [0, 1, 2].map(|k| p[k] - if k == *y { 1.0 } else { 0.0 });
                for k in 0..3 {
                    bias_g[k] += grad[k] * grad[k];
                    bias[k] -= rate * grad[k] / bias_g[k].sqrt();
                }
                for &(j, v) in x {
                    let j = j as usize;
                    let penalty = 1.0 / (c * df[j] as f32);
                    let (w, g) = (&mut weights[j], &mut sq[j]);
                    for k in 0..3 {
                        let gk = grad[k] * v + penalty * w[k];
                        g[k] += gk * gk;
                        w[k] -= rate * gk / g[k].sqrt();
                    }
                }
            }
        }
        LogisticRegression { bias, weights }
    }

    /// The most probable class of a vector.
    pub fn predict(&self, x: &[(u32, f32)]) -> Sentiment {
        let mut z = self.bias;
        for &(j, v) in x {
            if let Some(w) = self.weights.get(j as usize) {
                for k in 0..3 {
                    z[k] += w[k] * v;
                }
            }
        }
        let p = softmax(z);
        if p[0] >= p[1] && p[0] >= p[2] {
            Sentiment::Negative
        } else if p[2] >= p[1] {
            Sentiment::Positive
        } else {
            Sentiment::Neutral
        }
    }
}

/// The baseline, trained: TF-IDF then logistic regression.
pub struct Baseline {
    tfidf: CharTfidf,
    lr: LogisticRegression,
}

impl Baseline {
    /// Trains on (matching-form text, label) pairs.
    pub fn train(examples: &[(&str, Sentiment)]) -> Baseline {
        let tfidf = CharTfidf::fit(examples.iter().map(|e| e.0));
        let docs: Vec<(Vec<(u32, f32)>, usize)> =
            examples.iter().map(|(t, y)| (tfidf.transform(t), y.index())).collect();
        let lr = LogisticRegression::fit(&docs, tfidf.len(), 1.0, 10);
        Baseline { tfidf, lr }
    }

    pub fn predict(&self, text: &str) -> Sentiment {
        self.lr.predict(&self.tfidf.transform(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tfidf_weighs_sublinear_counts_by_smoothed_idf_and_normalizes() {
        // Two documents: 好 in both (idf 1), 差 in one (idf ln(3/2) + 1).
        let t = CharTfidf::fit(["好", "好差"]);
        assert_eq!(t.len(), 3); // 好, 差, 好差
        let v = t.transform("差差好");
        // 差 twice: (1 + ln 2) · (ln 1.5 + 1); 好 once: 1 · 1; 差差 and 差好 unknown.
        let cha = (1.0 + 2f32.ln()) * (1.5f32.ln() + 1.0);
        let hao = 1.0f32;
        let norm = (cha * cha + hao * hao).sqrt();
        let mut got: Vec<f32> = v.iter().map(|e| e.1).collect();
        got.sort_by(|a, b| a.total_cmp(b));
        let mut want = vec![hao / norm, cha / norm];
        want.sort_by(|a, b| a.total_cmp(b));
        assert_eq!(got.len(), 2);
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{got:?} {want:?}");
        }
        assert!(t.transform("").is_empty());
        assert!(t.transform("未知").is_empty());
    }

    #[test]
    fn baseline_learns_a_toy_set_and_is_deterministic() {
        let mut data = Vec::new();
        for _ in 0..20 {
            data.push(("服务很好满意", Sentiment::Positive));
            data.push(("太差了投诉", Sentiment::Negative));
            data.push(("通知发布时间", Sentiment::Neutral));
        }
        let a = Baseline::train(&data);
        let b = Baseline::train(&data);
        assert_eq!(a.predict("很好"), Sentiment::Positive);
        assert_eq!(a.predict("投诉"), Sentiment::Negative);
        assert_eq!(a.predict("发布通知"), Sentiment::Neutral);
        assert_eq!(a.lr.weights.len(), b.lr.weights.len());
        for (x, y) in a.lr.weights.iter().zip(&b.lr.weights) {
            assert_eq!(x, y);
        }
    }
}
