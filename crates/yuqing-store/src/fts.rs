//! The full-text index (tantivy) over posts' titles and texts, tokenized with jieba in search mode
//! on the matching form, so traditional, full-width and simplified spellings find each other. The
//! words come from the analysis' own cut ([`IndexWords`]), so a post is segmented once.
//!
//! Invariant: derived from SQLite. Each commit records the last post id it holds; on open the
//! index catches up from the database, and a damaged index is rebuilt from scratch.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{doc, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};
use yuqing_text::{is_word, matching_form, Analysis, Part, Segmenter};

use crate::{Result, StoreError};

const TOKENIZER: &str = "yuqing_jieba";

/// The index's words of a text (matching form): jieba's search mode (long words also yield their
/// dictionary sub-words), meaningful words only, in order.
pub fn search_words(segmenter: &Segmenter, text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (w, _, _) in segmenter.cut_for_search(text) {
        push_word(&mut out, w);
    }
    out
}

/// Appends a word to an encoded word list (see [`WordListTokenizer`]), if it carries meaning.
#[inline]
fn push_word(out: &mut String, w: &str) {
    if is_word(w) {
        if !out.is_empty() {
            out.push(WORD_SEPARATOR);
        }
        out.push_str(w);
    }
}

/// Separates the words of an encoded word list. A meaningful word never contains white space:
/// jieba cuts white space into tokens of their own, and those are not words.
const WORD_SEPARATOR: char = ' ';

/// The tokenizer of the title and body fields. Its input is a text's word list, already segmented
/// ([`search_words`], or [`IndexWords::of`] from the analysis' cut): it only splits the list, so a
/// post is segmented once, in the parallel analysis stage, and not again on the indexing thread.
/// The fields index terms and frequencies only (no positions or offsets), so these are all that
/// reach the index: the same as jieba's search-mode tokenizer gave on the text itself.
#[derive(Clone, Default)]
pub struct WordListTokenizer {
    token: Token,
}

pub struct WordListTokenStream<'a> {
    rest: std::str::Split<'a, char>,
    offset: usize,
    token: &'a mut Token,
    position: usize,
}

impl TokenStream for WordListTokenStream<'_> {
    fn advance(&mut self) -> bool {
        for w in self.rest.by_ref() {
            let from = self.offset;
            self.offset += w.len() + WORD_SEPARATOR.len_utf8();
            if w.is_empty() {
                continue;
            }
            self.token.position = self.position;
            self.position += 1;
            self.token.offset_from = from;
            self.token.offset_to = from + w.len();
            self.token.text.clear();
            self.token.text.push_str(w);
            return true;
        }
        false
    }
    fn token(&self) -> &Token {
        self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

impl Tokenizer for WordListTokenizer {
    type TokenStream<'a> = WordListTokenStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordListTokenStream<'a> {
        self.token.reset();
        WordListTokenStream { rest: text.split(WORD_SEPARATOR), offset: 0, token: &mut self.token, position: 0 }
    }
}

/// A post's title and body as the index's word lists, taken from its analysis: the words jieba's
/// search mode gives on each matching form, derived from the analysis' cut instead of segmenting
/// again (made in the parallel stage; the sequential writer only hands them on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexWords {
    title: String,
    body: String,
}

impl IndexWords {
    pub fn of(analysis: &Analysis, segmenter: &Segmenter) -> IndexWords {
        let mut words = IndexWords {
            title: String::with_capacity(analysis.title.matching.len() * 2),
            body: String::with_capacity(analysis.text.matching.len() * 2),
        };
        analysis.search_words(segmenter, |part, w, _, _| match part {
            Part::Title => push_word(&mut words.title, w),
            Part::Text => push_word(&mut words.body, w),
        });
        words
    }

    /// The words of a title and a body (matching forms), segmenting them.
    pub fn of_texts(segmenter: &Segmenter, title_m: &str, body_m: &str) -> IndexWords {
        IndexWords { title: search_words(segmenter, title_m), body: search_words(segmenter, body_m) }
    }

    /// Every word of the title and the body, each once (a store that searches both as one field).
    pub fn distinct_words(&self) -> Vec<&str> {
        let mut words: Vec<&str> =
            self.title.split(WORD_SEPARATOR).chain(self.body.split(WORD_SEPARATOR)).filter(|w| !w.is_empty()).collect();
        words.sort_unstable();
        words.dedup();
        words
    }
}

/// The query's words in matching form, one group per space-separated part (what is searched and
/// highlighted): a post matches when it has every word.
pub fn query_terms(segmenter: &Segmenter, query: &str) -> Vec<Vec<String>> {
    let m = matching_form(query);
    m.split_whitespace()
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut words: Vec<String> =
                segmenter.cut(part).into_iter().filter(|w| is_word(w)).map(|w| w.to_string()).collect();
            words.dedup();
            words
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// One page of search results: post ids newest first, and how many matched in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHits {
    pub ids: Vec<i64>,
    pub total: usize,
    /// The query words (matching form), for highlighting.
    pub terms: Vec<String>,
}

/// The index and its writer.
pub struct FullTextIndex {
    writer: IndexWriter,
    reader: IndexReader,
    segmenter: Arc<Segmenter>,
    f_id: Field,
    f_published: Field,
    f_title: Field,
    f_body: Field,
    f_source: Field,
    committed_upto: i64,
    pending: usize,
    pending_upto: i64,
    dir: PathBuf,
    /// A rollback failed: the writer may be unusable (tantivy must not be asked to roll it back
    /// again), so the next rollback reopens the index instead.
    writer_lost: bool,
}

/// The last post id the index's last commit holds (its payload `upto:N`).
fn committed_upto_of(index: &Index) -> Result<i64> {
    Ok(index
        .load_metas()?
        .payload
        .and_then(|p| p.strip_prefix("upto:").and_then(|n| n.parse::<i64>().ok()))
        .unwrap_or(0))
}

fn schema() -> Schema {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(TOKENIZER).set_index_option(IndexRecordOption::WithFreqs),
    );
    b.add_i64_field("id", NumericOptions::default().set_indexed().set_fast().set_stored());
    b.add_i64_field("published", NumericOptions::default().set_fast());
    b.add_text_field("title", text.clone());
    b.add_text_field("body", text);
    b.add_text_field("source", tantivy::schema::STRING);
    b.build()
}

impl FullTextIndex {
    /// The segmenter the index cuts with (the organization's words in its dictionary).
    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }

    /// Opens the index in `dir`, rebuilding it empty when it is missing, of another schema or damaged.
    pub fn open(dir: &Path, segmenter: Arc<Segmenter>) -> Result<FullTextIndex> {
        let io = |e: std::io::Error| StoreError::Io { path: dir.to_path_buf(), source: e };
        std::fs::create_dir_all(dir).map_err(io)?;
        let index = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema() => index,
            Ok(_) | Err(_) if dir.join("meta.json").exists() => {
                tracing::warn!(path = %dir.display(), "full-text index unreadable or of another schema; rebuilding it");
                std::fs::remove_dir_all(dir).map_err(io)?;
                std::fs::create_dir_all(dir).map_err(io)?;
                Index::create_in_dir(dir, schema())?
            }
            _ => Index::create_in_dir(dir, schema())?,
        };
        index.tokenizers().register(TOKENIZER, WordListTokenizer::default());
        let committed_upto = committed_upto_of(&index)?;
        let writer = index.writer_with_num_threads(1, 96_000_000)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let s = index.schema();
        let field = |name: &str| s.get_field(name);
        Ok(FullTextIndex {
            f_id: field("id")?,
            f_published: field("published")?,
            f_title: field("title")?,
            f_body: field("body")?,
            f_source: field("source")?,
            writer,
            reader,
            segmenter,
            committed_upto,
            pending: 0,
            pending_upto: committed_upto,
            dir: dir.to_path_buf(),
            writer_lost: false,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The largest post id the last commit holds.
    pub fn committed_upto(&self) -> i64 {
        self.committed_upto
    }

    /// Adds a post (its matching forms); visible after `commit`.
    pub fn add(&mut self, id: i64, published: i64, title_m: &str, body_m: &str, source: &str) -> Result<()> {
        if id <= self.committed_upto {
            return Ok(());
        }
        self.add_words(id, published, IndexWords::of_texts(&self.segmenter, title_m, body_m), source)
    }

    /// Adds a post given its words ([`IndexWords::of`] its analysis); the same index entries as
    /// [`FullTextIndex::add`] on its matching forms.
    pub fn add_words(&mut self, id: i64, published: i64, words: IndexWords, source: &str) -> Result<()> {
        if id <= self.committed_upto {
            return Ok(());
        }
        self.writer.add_document(doc!(
            self.f_id => id,
            self.f_published => published,
            self.f_title => words.title,
            self.f_body => words.body,
            self.f_source => source,
        ))?;
        self.pending += 1;
        self.pending_upto = self.pending_upto.max(id);
        Ok(())
    }

    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Makes added posts durable and searchable.
    pub fn commit(&mut self) -> Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&format!("upto:{}", self.pending_upto));
        prepared.commit()?;
        self.committed_upto = self.pending_upto;
        self.pending = 0;
        self.reader.reload()?;
        Ok(())
    }

    /// Drops everything added since the last commit (after a failed database write, so the index
    /// never holds a post the database does not; `DataDir::catch_up_index` then adds back what the
    /// database did store).
    ///
    /// Also the way back after a failed commit (a full disk): what the last commit on disk holds is
    /// read again, so a catch-up from the database starts where the index really is. When the writer
    /// cannot be rolled back the index is reopened (and rebuilt if unreadable).
    pub fn rollback(&mut self) -> Result<()> {
        if !self.writer_lost {
            match self.writer.rollback() {
                Ok(_) => {
                    self.pending = 0;
                    self.committed_upto = committed_upto_of(self.writer.index())?;
                    self.pending_upto = self.committed_upto;
                    return Ok(());
                }
                Err(e) => {
                    self.writer_lost = true;
                    tracing::warn!(error = %e, "full-text index writer could not roll back; reopening the index");
                }
            }
        }
        *self = FullTextIndex::open(&self.dir, self.segmenter.clone())?;
        Ok(())
    }

    /// The query's words in matching form (what is searched and highlighted).
    pub fn query_terms(&self, query: &str) -> Vec<Vec<String>> {
        query_terms(&self.segmenter, query)
    }

    /// Posts matching every word of the query, newest first: at most `limit` (1 to 1000) after
    /// skipping `offset`. Past [`crate::MAX_OFFSET`] no hits are collected (only the total is
    /// counted): tantivy allocates its top-K (`offset + limit`) up front, so an unchecked offset
    /// from a request would exhaust memory or overflow.
    pub fn search(&self, query: &str, limit: usize, offset: usize) -> Result<SearchHits> {
        let groups = self.query_terms(query);
        let terms: Vec<String> = groups.iter().flatten().cloned().collect();
        if terms.is_empty() {
            return Ok(SearchHits { ids: Vec::new(), total: 0, terms });
        }
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &terms {
            let either: Vec<(Occur, Box<dyn Query>)> = [self.f_title, self.f_body]
                .iter()
                .map(|f| {
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(Term::from_field_text(*f, word), IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect();
            must.push((Occur::Must, Box::new(BooleanQuery::new(either))));
        }
        let query = BooleanQuery::new(must);
        let searcher = self.reader.searcher();
        if offset > crate::MAX_OFFSET {
            let total = searcher.search(&query, &Count)?;
            return Ok(SearchHits { ids: Vec::new(), total, terms });
        }
        let limit = limit.clamp(1, 1000);
        let (top, total) = searcher.search(
            &query,
            &(
                TopDocs::with_limit(limit).and_offset(offset).order_by_fast_field::<i64>("published", Order::Desc),
                Count,
            ),
        )?;
        let mut ids = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc.get_first(self.f_id).and_then(|v| v.as_i64()) {
                ids.push(id);
            }
        }
        Ok(SearchHits { ids, total, terms })
    }

    /// Number of documents searchable now.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_text::{Analyzer, AnalyzerConfig};

    /// What jieba's search-mode tokenizer gave the index before word lists (the reference).
    fn jieba_search_tokens(segmenter: &Segmenter, text: &str) -> Vec<String> {
        segmenter
            .cut_for_search(text)
            .into_iter()
            .map(|(w, _, _)| w)
            .filter(|w| is_word(w))
            .map(str::to_string)
            .collect()
    }

    fn tokens(list: &str) -> Vec<(String, usize)> {
        let mut t = WordListTokenizer::default();
        let mut s = t.token_stream(list);
        let mut out = Vec::new();
        while s.advance() {
            out.push((s.token().text.clone(), s.token().position));
        }
        out
    }

    #[test]
    fn words_from_the_analysis_are_jiebas_search_mode() {
        let analyzer =
            Analyzer::new(&AnalyzerConfig { user_words: vec!["城南街道办".into()], ..Default::default() })
                .expect("analyzer");
        let seg = analyzer.segmenter();
        let posts = [
            ("武汉市新冠肺炎疫情防控指挥部通告", "武汉市中华人民共和国国务院新闻办公室召开新闻发布会，城南街道办回应"),
            ("", "WES-5.4.5 版本 foo_bar-baz 小米MIX2s 上海交通大学医学院附属瑞金医院 醫院發生醫療糾紛"),
            ("只有标题：確診病例", ""),
            ("", ""),
            ("ＡＢＣ　全角", "<p>某市&nbsp;醫院</p>  第二段 \u{3000} 新型冠状病毒感染的肺炎 café Ωmega ①"),
        ];
        for (title, text) in posts {
            let a = analyzer.analyze(title, text, "某报");
            let words = IndexWords::of(&a, seg);
            assert_eq!(words, IndexWords::of_texts(seg, &a.title.matching, &a.text.matching), "{title}|{text}");
            for (list, text) in [(&words.title, &a.title.matching), (&words.body, &a.text.matching)] {
                let expected = jieba_search_tokens(seg, text);
                let got = tokens(list);
                assert_eq!(got.iter().map(|(w, _)| w.clone()).collect::<Vec<_>>(), expected, "{text}");
                assert_eq!(got.iter().map(|(_, p)| *p).collect::<Vec<_>>(), (0..expected.len()).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn sub_words_are_searchable_through_either_path() {
        let analyzer = Analyzer::new(&AnalyzerConfig::default()).expect("analyzer");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut fts = FullTextIndex::open(dir.path(), analyzer.segmenter_arc()).expect("index");
        let a = analyzer.analyze("武汉市通报", "武汉市卫健委发布最新疫情", "某报");
        fts.add(1, 10, &a.title.matching, &a.text.matching, "某报").expect("add");
        fts.add_words(2, 20, IndexWords::of(&a, analyzer.segmenter()), "某报").expect("add");
        fts.commit().expect("commit");
        for q in ["武汉", "武汉市", "卫健委", "疫情"] {
            assert_eq!(fts.search(q, 10, 0).expect("search").ids, vec![2, 1], "{q}");
        }
        assert_eq!(fts.search("上海", 10, 0).expect("search").total, 0);
    }

    /// A request's offset reaches the index unchecked only through a bug at the edge; even then
    /// the index neither overflows (`usize::MAX`) nor allocates a huge top-K.
    #[test]
    fn offsets_past_the_maximum_give_no_hits_but_the_total() {
        let analyzer = Analyzer::new(&AnalyzerConfig::default()).expect("analyzer");
        let dir = tempfile::tempdir().expect("tempdir");
        let mut fts = FullTextIndex::open(dir.path(), analyzer.segmenter_arc()).expect("index");
        for id in 1..=3 {
            fts.add(id, id * 10, "武汉市通报", "武汉市卫健委发布最新疫情", "某报").expect("add");
        }
        fts.commit().expect("commit");
        assert_eq!(fts.search("武汉", 2, 1).expect("search").ids, vec![2, 1]);
        for offset in [crate::MAX_OFFSET + 1, 100_000_000, usize::MAX] {
            let hits = fts.search("武汉", usize::MAX, offset).expect("search");
            assert_eq!((hits.ids.len(), hits.total), (0, 3), "{offset}");
        }
        assert_eq!(fts.search("武汉", usize::MAX, crate::MAX_OFFSET).expect("search").total, 3);
    }
}
