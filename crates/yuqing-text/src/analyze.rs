//! The analysis stage: one post in, its `Analysis` out — normalized text, words, rule hits,
//! sentiment, topics, severe words, hashes and the term vector that story assembly uses.
//!
//! Invariant: pure and thread-safe (`&self` only); the same post always gives the same analysis.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use yuqing_core::{Hit, PostFeatures, Sentiment};

use crate::dedup::{content_and_shingles, term_hash};
use crate::normalize::{matching_form, normalize, Normalized};
use crate::rules::{RuleDef, RuleDoc, RuleError, RuleSet};
use crate::segment::{is_word, Segmenter};
use crate::sentiment::{features_of_hashes, usable, SentimentModel};
use crate::topics::{pick_topics, TopicLexicon};

/// Terms kept in a post's vector for story similarity.
pub const POST_TERMS: usize = 24;
/// Words this common (low IDF) carry no topic and are left out of the vector.
pub const MIN_TERM_IDF: f32 = 3.0;

/// What the analyzer is built from (taken from the configuration).
#[derive(Debug, Clone, Default)]
pub struct AnalyzerConfig {
    /// Organization names, aliases, places, departments: whole words for the segmenter.
    pub user_words: Vec<String>,
    pub rules: Vec<RuleDef>,
    pub topics: Vec<TopicLexicon>,
    /// Casualty and unrest words the grading policy looks for.
    pub severe_words: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyzerError {
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("词表无法编译：{0}")]
    Lexicon(String),
}

/// The analysis of one post.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub title: Normalized,
    pub text: Normalized,
    pub content_hash: u64,
    pub simhash: u64,
    /// Term hash → weight (tf·idf, L2-normalized), heaviest first.
    pub terms: Vec<(u64, f32)>,
    /// The heaviest words themselves, for labels and search (at most 8).
    pub keywords: Vec<String>,
    pub sentiment: Sentiment,
    /// Polarity in [-1, 1]: P(positive) − P(negative).
    pub sentiment_score: f32,
    pub topics: Vec<String>,
    pub hits: Vec<Hit>,
    pub severe_words: Vec<String>,
}

impl Analysis {
    pub fn features(&self, at: chrono::DateTime<chrono::Utc>) -> PostFeatures {
        PostFeatures { at, simhash: self.simhash, terms: self.terms.clone() }
    }
}

#[derive(Debug, Clone, Copy)]
enum LexKind {
    Topic(usize),
    Severe,
}

/// The analyzer: built once from the configuration, shared by all threads.
pub struct Analyzer {
    segmenter: Arc<Segmenter>,
    rules: RuleSet,
    lexicon: Option<AhoCorasick>,
    /// Per lexicon pattern: its kind, its word as configured, its weight.
    lexicon_words: Vec<(LexKind, String, usize)>,
    topic_names: Vec<String>,
    sentiment: &'static SentimentModel,
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer").field("rules", &self.rules.len()).field("topics", &self.topic_names).finish()
    }
}

impl Analyzer {
    pub fn new(config: &AnalyzerConfig) -> Result<Analyzer, AnalyzerError> {
        let rules = RuleSet::compile(&config.rules)?;
        let mut words: Vec<String> = config.user_words.clone();
        words.extend(rules.phrases().map(|p| p.to_string()));
        let mut patterns: Vec<String> = Vec::new();
        let mut lexicon_words = Vec::new();
        for (i, topic) in config.topics.iter().enumerate() {
            for w in &topic.words {
                let m = matching_form(w.trim());
                if m.is_empty() {
                    continue;
                }
                lexicon_words.push((LexKind::Topic(i), w.trim().to_string(), m.chars().count().saturating_sub(1).max(1)));
                patterns.push(m);
                words.push(w.trim().to_string());
            }
        }
        for w in &config.severe_words {
            let m = matching_form(w.trim());
            if m.is_empty() {
                continue;
            }
            lexicon_words.push((LexKind::Severe, w.trim().to_string(), 1));
            patterns.push(m);
        }
        let lexicon = if patterns.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                    .build(&patterns)
                    .map_err(|e| AnalyzerError::Lexicon(e.to_string()))?,
            )
        };
        let words: Vec<String> = words.iter().map(|w| matching_form(w)).collect();
        Ok(Analyzer {
            segmenter: Arc::new(Segmenter::new(&words)),
            rules,
            lexicon,
            lexicon_words,
            topic_names: config.topics.iter().map(|t| t.name.clone()).collect(),
            sentiment: SentimentModel::builtin(),
        })
    }

    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }

    /// The segmenter, shared (the full-text index tokenizes with the same dictionary).
    pub fn segmenter_arc(&self) -> Arc<Segmenter> {
        self.segmenter.clone()
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn topic_names(&self) -> &[String] {
        &self.topic_names
    }

    /// Analyzes one post.
    pub fn analyze(&self, title: &str, text: &str, source: &str) -> Analysis {
        let title = normalize(title);
        let text = normalize(text);
        let source_m = matching_form(source.trim());
        let hits = self.rules.matches(&RuleDoc { title: &title.matching, text: &text.matching, source: &source_m });

        let mut joined = String::with_capacity(title.matching.len() + text.matching.len() + 1);
        joined.push_str(&title.matching);
        if !title.matching.is_empty() && !text.matching.is_empty() {
            joined.push('\n');
        }
        joined.push_str(&text.matching);
        let tokens = self.segmenter.cut(&joined);
        // Each token is hashed once; sentiment features and the term vector both use the hashes.
        let mut hashed: Vec<(u64, &str)> = Vec::with_capacity(tokens.len());
        hashed.extend(tokens.iter().filter(|t| usable(t)).map(|t| (term_hash(t), *t)));
        let (sentiment, sentiment_score) =
            self.sentiment.predict_features(&features_of_hashes(hashed.iter().map(|(h, _)| *h)));

        // Term vector: tf·idf over content words of two or more characters.
        let mut tf: Vec<(u64, &str, f32)> = Vec::with_capacity(hashed.len());
        for &(h, t) in &hashed {
            if t.chars().nth(1).is_none() || !is_word(t) {
                continue;
            }
            let idf = self.segmenter.idf_of_hash(h);
            if idf < MIN_TERM_IDF {
                continue;
            }
            // A post has a few dozen words: a linear scan over u64s beats hashing or sorting.
            match tf.iter_mut().find(|e| e.0 == h) {
                Some(e) => e.2 += idf,
                None => tf.push((h, t, idf)),
            }
        }
        // A total order (weights, then distinct words), so an unstable sort is deterministic.
        tf.sort_unstable_by(|a, b| b.2.total_cmp(&a.2).then(a.1.cmp(b.1)));
        // Copies are judged on the body when there is one (a repost keeps the body, not the title).
        let (content, sim) = content_and_shingles(&title.matching, &text.matching);
        tf.truncate(POST_TERMS);
        let norm = tf.iter().map(|e| e.2 * e.2).sum::<f32>().sqrt();
        let terms: Vec<(u64, f32)> =
            if norm > 0.0 { tf.iter().map(|&(h, _, weight)| (h, weight / norm)).collect() } else { Vec::new() };
        let keywords: Vec<String> = tf.iter().take(8).map(|e| e.1.to_string()).collect();

        // Topics and severe words in one scan.
        let mut topic_scores: Vec<(usize, usize)> = Vec::new();
        let mut severe_words: Vec<String> = Vec::new();
        if let Some(ac) = &self.lexicon {
            let mut seen: Vec<usize> = Vec::new();
            for m in ac.find_overlapping_iter(joined.as_str()) {
                let p = m.pattern().as_usize();
                if seen.contains(&p) {
                    continue;
                }
                seen.push(p);
                let (kind, word, weight) = &self.lexicon_words[p];
                match kind {
                    LexKind::Topic(i) => match topic_scores.iter_mut().find(|(t, _)| t == i) {
                        Some((_, s)) => *s += weight,
                        None => topic_scores.push((*i, *weight)),
                    },
                    LexKind::Severe => {
                        if !severe_words.contains(word) {
                            severe_words.push(word.clone());
                        }
                    }
                }
            }
        }
        let topics = pick_topics(&topic_scores).into_iter().map(|i| self.topic_names[i].clone()).collect();

        Analysis {
            content_hash: content,
            title,
            text,
            simhash: sim,
            terms,
            keywords,
            sentiment,
            sentiment_score,
            topics,
            hits,
            severe_words,
        }
    }
}
