//! The analysis stage: one post in, its `Analysis` out — normalized text, words, rule hits,
//! sentiment, topics, severe words, hashes and the term vector that story assembly uses.
//!
//! Invariant: pure and thread-safe (`&self` only); the same post always gives the same analysis.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use yuqing_core::story::{NUM_BIT, TAG_BIT};
use yuqing_core::{Hit, PostFeatures, Sentiment};

use crate::dedup::{term_hash, ContentHasher};
use crate::normalize::{matching_form, normalize_with, Normalized};
use crate::rules::{RuleDef, RuleDoc, RuleError, RuleSet};
use crate::segment::{is_word, Segmenter};
use crate::sentiment::{usable, SentimentModel};
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
    /// The post's hashtags (`#…#`, matching form), in order of first appearance. Each is also a
    /// term of `terms` (see [`tag_term`]), together weighing as much as all the words.
    pub hashtags: Vec<String>,
    /// The key of the post's own words when it may be a passage pasted under hashtags
    /// ([`crate::copies::copy_key`]); the assembler judges it against earlier posts.
    pub copy_key: Option<u64>,
    pub sentiment: Sentiment,
    /// Polarity in [-1, 1]: P(positive) − P(negative).
    pub sentiment_score: f32,
    pub topics: Vec<String>,
    pub hits: Vec<Hit>,
    pub severe_words: Vec<String>,
    /// Byte ranges of the words jieba cut from the title's and the text's matching forms, joined by
    /// a line break (title range first); the full-text index derives its search-mode words from it.
    pub cut: Vec<(u32, u32)>,
}

/// One character said again and again (哈哈哈哈, 啊啊啊, 呜呜): laughter and cries, in comments on
/// every matter; as a term it gathers them into one story.
fn repeated(w: &str) -> bool {
    let mut chars = w.chars();
    chars.next().is_some_and(|first| chars.all(|c| c == first))
}

/// Platform phrases that say nothing of the matter ("o网页链接" for a link), kept out of the terms.
const PLATFORM_PHRASES: [&str; 4] = ["网页链接", "展开全文", "转发微博", "查看图片"];

/// The byte ranges of link cards and platform phrases in a matching-form text: the phrases above,
/// and video cards "l<uploader>的微博视频" (the L is the link icon as scraped text). The uploader's
/// name says who posted a video, not what a post is about: as a term it would gather every post
/// linking that account's videos into one story.
fn link_cards(s: &str) -> Vec<std::ops::Range<usize>> {
    const CARDS: [&str; 2] = ["的微博视频", "的秒拍视频"];
    /// An uploader's name is at most this many characters.
    const MAX_NAME: usize = 30;
    let mut out = Vec::new();
    // `contains` first: the standard library's vectorized check is far cheaper than a search
    // (an Aho–Corasick pass over every post cost 9 % of the analysis in callgrind), and most
    // posts hold none of these.
    for phrase in PLATFORM_PHRASES {
        if !s.contains(phrase) {
            continue;
        }
        let mut from = 0;
        while let Some(i) = s[from..].find(phrase).map(|i| i + from) {
            out.push(i..i + phrase.len());
            from = i + phrase.len();
        }
    }
    if !s.contains("视频") {
        return out;
    }
    for card in CARDS {
        let mut from = 0;
        while let Some(i) = s[from..].find(card).map(|i| i + from) {
            let end = i + card.len();
            let mut start = None;
            for (n, (j, c)) in s[..i].char_indices().rev().enumerate() {
                if n > MAX_NAME || c.is_whitespace() {
                    break;
                }
                if c == 'l' {
                    start = Some(j);
                    break;
                }
            }
            if let Some(j) = start {
                out.push(j..end);
            }
            from = end;
        }
    }
    out
}

/// At most this many hashtags of a post become terms.
pub const MAX_TAG_TERMS: usize = 4;

/// The term a word is in a post's vector: its hash with [`NUM_BIT`] set for a figure (three or more
/// ASCII digits, not a year 1900–2099) and clear otherwise, [`TAG_BIT`] always clear.
pub fn word_term(hash: u64, word: &str) -> u64 {
    let digits = word.len() >= 3 && word.bytes().all(|b| b.is_ascii_digit());
    let year = word.len() == 4 && (word.starts_with("19") || word.starts_with("20"));
    if digits && !year {
        (hash & !TAG_BIT) | NUM_BIT
    } else {
        hash & !(TAG_BIT | NUM_BIT)
    }
}

/// The term a hashtag is in a post's vector: [`TAG_BIT`] set (a word's term has it clear).
pub fn tag_term(tag: &str) -> u64 {
    term_hash(&format!("#{tag}#")) | TAG_BIT
}

/// The hashtags of a post that become terms: the title's, then the text's, at most
/// [`MAX_TAG_TERMS`] (matching forms in, matching forms out).
fn post_hashtags(title: &str, text: &str) -> Vec<String> {
    let mut hashtags = crate::hashtag::tags(title);
    for t in crate::hashtag::tags(text) {
        if !hashtags.contains(&t) {
            hashtags.push(t);
        }
    }
    hashtags.truncate(MAX_TAG_TERMS);
    hashtags
}

/// What the assembler remembers of a post for copies pasted under hashtags — its copy key and its
/// hashtag terms, exactly as [`Analyzer::analyze`] gives them (`copy_key`, the [`TAG_BIT`] terms)
/// — from its stored title and text, without the rest of the analysis: a restart reads weeks of
/// posts for it.
pub fn copy_evidence(title: &str, text: &str) -> Option<(u64, Vec<u64>)> {
    if !title.contains(['#', '＃']) && !text.contains(['#', '＃']) {
        return None;
    }
    let (title, text) = (crate::matching_form(title), crate::matching_form(text));
    let hashtags = post_hashtags(&title, &text);
    let key = crate::copies::copy_key(&text, &hashtags)?;
    Some((key, hashtags.iter().map(|t| tag_term(t)).collect()))
}

/// Which text of a post a full-text word belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Title,
    Text,
}

impl Analysis {
    /// The assembler's view of the post. `anchored` is whether it names something a matter can be
    /// told by (see [`crate::anchor`]); the analysis alone knows its figures, headlines, hashtags,
    /// watch-rule hits and topic words, the caller adds its places ([`Analysis::names_something`]).
    pub fn features(&self, at: chrono::DateTime<chrono::Utc>, anchored: bool) -> PostFeatures {
        PostFeatures { at, simhash: self.simhash, terms: self.terms.clone(), anchored, copy_key: self.copy_key }
    }

    /// Whether the post names a figure, a headline, a sentence-like hashtag, a watch-rule or a
    /// topic word (the anchors the analysis can tell without the gazetteer).
    pub fn names_something(&self) -> bool {
        !self.hits.is_empty()
            || !self.topics.is_empty()
            || crate::anchor::names_something(&self.title.matching, &self.text.matching)
    }

    /// The full-text index's words of the title and of the text (matching forms), in jieba's search
    /// mode and order, with byte ranges in their own text; derived from `cut`, so exactly what
    /// [`Segmenter::cut_for_search`] gives on each text, without segmenting it again.
    pub fn search_words<'a>(&'a self, segmenter: &Segmenter, mut emit: impl FnMut(Part, &'a str, usize, usize)) {
        let title = self.title.matching.as_str();
        let text = self.text.matching.as_str();
        // Where the text starts in the joined string the cut was taken from.
        let text_from = if title.is_empty() {
            0
        } else if text.is_empty() {
            usize::MAX
        } else {
            title.len() + 1
        };
        let title_spans = self.cut.iter().map(|&(a, b)| (a as usize, b as usize)).filter(|&(_, b)| b <= title.len());
        segmenter.search_words_from_cut(title, title_spans, |w, a, b| emit(Part::Title, w, a, b));
        if text_from != usize::MAX {
            let text_spans = self
                .cut
                .iter()
                .map(|&(a, b)| (a as usize, b as usize))
                .filter(|&(a, _)| a >= text_from)
                .map(|(a, b)| (a - text_from, b - text_from));
            segmenter.search_words_from_cut(text, text_spans, |w, a, b| emit(Part::Text, w, a, b));
        }
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
                lexicon_words.push((
                    LexKind::Topic(i),
                    w.trim().to_string(),
                    m.chars().count().saturating_sub(1).max(1),
                ));
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
        // Normalized and hashed for copies in one pass: content hash over title and text, SimHash of
        // the text (copies are judged on the body when there is one: a repost keeps the body).
        let mut hasher = ContentHasher::new();
        let title = normalize_with(title, |c| hasher.title_char(c));
        hasher.end_title();
        let text = normalize_with(text, |c| hasher.text_char(c));
        let (content, sim) = hasher.finish(&title.matching, &text.matching);
        let source_m = matching_form(source.trim());
        let hits = self.rules.matches(&RuleDoc { title: &title.matching, text: &text.matching, source: &source_m });

        let mut joined = String::with_capacity(title.matching.len() + text.matching.len() + 1);
        joined.push_str(&title.matching);
        if !title.matching.is_empty() && !text.matching.is_empty() {
            joined.push('\n');
        }
        joined.push_str(&text.matching);
        let tokens = self.segmenter.cut_spans(&joined);
        let mut cut: Vec<(u32, u32)> = Vec::with_capacity(tokens.len());
        // Each token is hashed once; sentiment features and the term vector both use the hashes.
        let mut hashes: Vec<u64> = Vec::with_capacity(tokens.len());
        // Term vector: tf·idf over content words of two or more characters.
        let mut tf: Vec<(u64, &str, f32)> = Vec::with_capacity(tokens.len());
        let cards = link_cards(&joined);
        for t in &tokens {
            cut.push((t.byte_start as u32, t.byte_end as u32));
            let w = t.word;
            if !usable(w) {
                continue;
            }
            let h = term_hash(w);
            hashes.push(h);
            if w.chars().nth(1).is_none()
                || !is_word(w)
                || repeated(w)
                || cards.iter().any(|r| r.contains(&t.byte_start))
            {
                continue;
            }
            let idf = self.segmenter.idf_of_hash(h);
            if idf < MIN_TERM_IDF {
                continue;
            }
            // A post has a few dozen words: a linear scan over u64s beats hashing or sorting.
            match tf.iter_mut().find(|e| e.0 == h) {
                Some(e) => e.2 += idf,
                None => tf.push((h, w, idf)),
            }
        }
        drop(tokens);
        let (sentiment, sentiment_score) = self.sentiment.predict_post(&hashes, &joined);

        // A total order (weights, then distinct words), so the heaviest terms come out the same
        // whatever the algorithm: select them, then sort only those.
        let heavier = |a: &(u64, &str, f32), b: &(u64, &str, f32)| b.2.total_cmp(&a.2).then_with(|| a.1.cmp(b.1));
        if tf.len() > POST_TERMS {
            tf.select_nth_unstable_by(POST_TERMS - 1, heavier);
            tf.truncate(POST_TERMS);
        }
        tf.sort_unstable_by(heavier);
        let keywords: Vec<String> = tf.iter().take(8).map(|e| e.1.to_string()).collect();
        // Hashtags: strong evidence of the matter, together as heavy as all the words (or the whole
        // vector when the post is nothing but hashtags).
        let hashtags = post_hashtags(&title.matching, &text.matching);
        let copy_key = crate::copies::copy_key(&text.matching, &hashtags);
        let words_norm = tf.iter().map(|e| e.2 * e.2).sum::<f32>().sqrt();
        let tag_weight = if words_norm > 0.0 { words_norm } else { 1.0 } / (hashtags.len().max(1) as f32).sqrt();
        let mut weighted: Vec<(u64, f32)> = hashtags.iter().map(|t| (tag_term(t), tag_weight)).collect();
        weighted.extend(tf.iter().map(|&(h, word, w)| (word_term(h, word), w)));
        weighted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let norm = weighted.iter().map(|e| e.1 * e.1).sum::<f32>().sqrt();
        let terms: Vec<(u64, f32)> =
            if norm > 0.0 { weighted.iter().map(|&(h, weight)| (h, weight / norm)).collect() } else { Vec::new() };

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
            hashtags,
            copy_key,
            sentiment,
            sentiment_score,
            topics,
            hits,
            severe_words,
            cut,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_video_cards_uploader_is_not_a_term() {
        let cards = super::link_cards("这种时候真的体现出了人才的重要性 l魔画精灵的微博视频 后面的话");
        assert_eq!(cards.len(), 1);
        let text = "这种时候真的体现出了人才的重要性 l魔画精灵的微博视频 后面的话";
        assert_eq!(&text[cards[0].clone()], "l魔画精灵的微博视频");
        assert!(super::link_cards("没有链接卡片的微博视频").is_empty(), "no link icon, no card");
        assert_eq!(super::link_cards("好难过 o网页链接").len(), 1);
        assert!(
            super::repeated("哈哈哈哈") && super::repeated("啊啊") && !super::repeated("哈密") && !super::repeated("")
        );
    }

    use super::*;
    use crate::dedup::content_and_shingles;

    /// A restart reads the copy window's posts through `copy_evidence`, not the whole analysis:
    /// both must give the same key and hashtags (real posts of the demo sample).
    #[test]
    fn copy_evidence_is_what_the_analysis_gives() {
        let a = Analyzer::new(&AnalyzerConfig::default()).expect("analyzer");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../demo/weibo-covid19-sample.jsonl");
        let sample = std::fs::read_to_string(path).expect("the demo sample");
        let mut keys = 0;
        for line in sample.lines().take(4000) {
            let post: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            let text = post["text"].as_str().unwrap_or("");
            let r = a.analyze("", text, "");
            let tags: Vec<u64> = r.terms.iter().map(|e| e.0).filter(|t| t & TAG_BIT != 0).collect();
            let mut expected = r.copy_key.map(|k| (k, tags));
            let mut got = copy_evidence("", text);
            for e in [&mut expected, &mut got].into_iter().flatten() {
                e.1.sort_unstable();
            }
            assert_eq!(got, expected, "{text}");
            keys += usize::from(expected.is_some());
        }
        assert!(keys > 300, "{keys} posts of 4000 may be copies");
    }

    #[test]
    fn hashes_made_while_normalizing_equal_the_separate_ones() {
        let a = Analyzer::new(&AnalyzerConfig::default()).expect("analyzer");
        let posts = [
            ("標題：醫院", "<p>今天上午市第一人民醫院門診大廳發生醫療糾紛，患者家屬聚集</p>ＡＢＣ１２３"),
            ("", "短"),
            ("只有标题也要算", ""),
            ("", ""),
            ("Title", "a b c d e f g h i j k"),
        ];
        for (title, text) in posts {
            let r = a.analyze(title, text, "");
            assert_eq!(
                (r.content_hash, r.simhash),
                content_and_shingles(&r.title.matching, &r.text.matching),
                "{title}|{text}"
            );
        }
    }
}
