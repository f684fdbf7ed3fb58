//! Chinese word segmentation (jieba-rs) with the organization's own words in the user dictionary,
//! and the IDF table that weights words for story similarity.
//!
//! Invariant: built once at start and shared read-only; cutting a text never allocates strings.

use std::collections::HashMap;

use jieba_rs::Jieba;

use yuqing_core::hashing::Mix;

use crate::dedup::term_hash;

/// IDF given to words the table does not list (they are rarer than every listed word).
pub const DEFAULT_IDF: f32 = 11.0;

static IDF_TABLE: &str = include_str!("../data/idf.txt");

/// A jieba segmenter plus the IDF table.
pub struct Segmenter {
    jieba: Jieba,
    /// Keyed by [`term_hash`] of the word, so the analysis hashes each token once.
    idf: HashMap<u64, f32, Mix>,
    hmm: bool,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segmenter").field("idf_words", &self.idf.len()).field("hmm", &self.hmm).finish()
    }
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter::new::<&str>(&[])
    }
}

impl Segmenter {
    /// A segmenter whose dictionary also knows `user_words` (organization names, aliases, places,
    /// rule phrases), so they come out as single tokens.
    pub fn new<S: AsRef<str>>(user_words: &[S]) -> Segmenter {
        let mut jieba = Jieba::new();
        for w in user_words {
            let w = w.as_ref().trim();
            if w.chars().count() >= 2 {
                // A high frequency so the word wins over the dictionary's own splits.
                jieba.add_word(w, Some(100_000), Some("nz"));
            }
        }
        let mut idf = HashMap::with_capacity_and_hasher(50_000, Mix::default());
        for line in IDF_TABLE.lines() {
            if let Some((word, value)) = line.split_once(' ') {
                if let Ok(v) = value.trim().parse::<f32>() {
                    idf.insert(term_hash(word), v);
                }
            }
        }
        Segmenter { jieba, idf, hmm: true }
    }

    /// Words of `text` in order, punctuation and spaces included (callers filter with [`is_word`]).
    pub fn cut<'a>(&self, text: &'a str) -> Vec<&'a str> {
        self.jieba.cut(text, self.hmm).into_iter().map(|t| t.word).collect()
    }

    /// Words of `text` in order with their byte ranges, punctuation and spaces included.
    pub fn cut_spans<'a>(&self, text: &'a str) -> Vec<jieba_rs::Token<'a>> {
        self.jieba.cut(text, self.hmm)
    }

    /// The search-mode words of `text` given its default cut (`spans`: the byte ranges of
    /// [`Segmenter::cut_spans`]), in the order [`Segmenter::cut_for_search`] gives them: for each
    /// word, the parts of an alphanumeric compound joined by `.`, `_` or `-`, then its dictionary
    /// sub-words of two and then three characters, then the word itself. jieba's search mode is its
    /// default cut plus exactly these, so the full-text index need not segment the text again.
    pub fn search_words_from_cut<'a>(
        &self,
        text: &'a str,
        spans: impl IntoIterator<Item = (usize, usize)>,
        mut emit: impl FnMut(&'a str, usize, usize),
    ) {
        let mut bounds: Vec<usize> = Vec::new();
        for (start, end) in spans {
            let Some(word) = text.get(start..end) else { continue };
            if word.bytes().any(|b| matches!(b, b'.' | b'_' | b'-')) {
                let mut offset = 0;
                for part in word.split(['.', '_', '-']) {
                    if part.len() >= 2 && part.bytes().any(|b| b.is_ascii_alphabetic()) {
                        emit(part, start + offset, start + offset + part.len());
                    }
                    offset += part.len() + 1;
                }
            }
            // Words of one or two characters have no sub-words; skip counting them.
            if word.len() > 6 || (word.len() > 2 && word.chars().nth(2).is_some()) {
                bounds.clear();
                bounds.extend(word.char_indices().map(|(i, _)| i));
                bounds.push(word.len());
                let chars = bounds.len() - 1;
                for len in [2, 3] {
                    if chars > len {
                        for i in 0..=chars - len {
                            let gram = &word[bounds[i]..bounds[i + len]];
                            if self.jieba.has_word(gram) {
                                emit(gram, start + bounds[i], start + bounds[i + len]);
                            }
                        }
                    }
                }
            }
            emit(word, start, end);
        }
    }

    /// Words of `text` with jieba's part-of-speech tags (`ns` a place name, `nr` a person's name…),
    /// punctuation included, in the order [`Segmenter::cut`] gives them.
    pub fn tag<'a>(&'a self, text: &'a str) -> Vec<(&'a str, &'a str)> {
        self.jieba.tag(text, self.hmm).into_iter().map(|t| (t.word, t.tag)).collect()
    }

    /// Search-engine style cut: long words also yield their dictionary sub-words.
    pub fn cut_for_search<'a>(&self, text: &'a str) -> Vec<(&'a str, usize, usize)> {
        self.jieba.cut_for_search(text, self.hmm).into_iter().map(|t| (t.word, t.byte_start, t.byte_end)).collect()
    }

    /// Inverse document frequency of a word; rare and unknown words weigh most.
    pub fn idf(&self, word: &str) -> f32 {
        self.idf_of_hash(term_hash(word))
    }

    /// Inverse document frequency of a word given by its [`term_hash`].
    #[inline]
    pub fn idf_of_hash(&self, hash: u64) -> f32 {
        self.idf.get(&hash).copied().unwrap_or(DEFAULT_IDF)
    }
}

/// True for tokens that carry meaning: at least one letter, digit or CJK character.
#[inline]
pub fn is_word(token: &str) -> bool {
    token.chars().any(crate::dedup::is_alnum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_words_come_out_whole() {
        let plain = Segmenter::default();
        let custom = Segmenter::new(&["城南街道办"]);
        let text = "城南街道办回应居民投诉";
        assert!(!plain.cut(text).contains(&"城南街道办"));
        assert!(custom.cut(text).contains(&"城南街道办"));
    }

    #[test]
    fn idf_weighs_common_words_low() {
        let s = Segmenter::default();
        assert!(s.idf("的") < 2.0);
        assert!(s.idf("疫苗") > s.idf("我们"));
        assert_eq!(s.idf("某某不存在的词语"), DEFAULT_IDF);
    }

    #[test]
    fn search_words_from_the_cut_are_jiebas_search_mode() {
        let s = Segmenter::new(&["城南街道办"]);
        let texts = [
            "武汉市中华人民共和国国务院新闻办公室召开新闻发布会，城南街道办回应",
            "WES-5.4.5 版本 foo_bar-baz a.b 3.6.3 小米MIX2s 上海交通大学医学院附属瑞金医院",
            "隔离 确诊病例 新型冠状病毒感染的肺炎 ，。！ 　 \r\n 疫情防控指挥部",
            "",
            "a",
        ];
        for text in texts {
            let expected = s.cut_for_search(text);
            let mut got = Vec::new();
            let spans = s.cut_spans(text).into_iter().map(|t| (t.byte_start, t.byte_end));
            s.search_words_from_cut(text, spans, |w, a, b| got.push((w, a, b)));
            assert_eq!(got, expected, "{text}");
        }
    }

    #[test]
    fn punctuation_is_not_a_word() {
        assert!(!is_word("，"));
        assert!(!is_word(" "));
        assert!(is_word("医院"));
        assert!(is_word("5G"));
    }
}
