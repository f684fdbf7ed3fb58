//! The full-text index (tantivy) over posts' titles and texts, tokenized with jieba in search mode
//! on the matching form, so traditional, full-width and simplified spellings find each other.
//!
//! Invariant: derived from SQLite. Each commit records the last post id it holds; on open the
//! index catches up from the database, and a damaged index is rebuilt from scratch.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use tantivy::{doc, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};
use yuqing_text::{is_word, matching_form, Segmenter};

use crate::{Result, StoreError};

const TOKENIZER: &str = "yuqing_jieba";

/// jieba as a tantivy tokenizer (search mode: long words also yield their sub-words).
#[derive(Clone)]
pub struct JiebaTokenizer {
    segmenter: Arc<Segmenter>,
}

pub struct JiebaTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.index += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let tokens = self
            .segmenter
            .cut_for_search(text)
            .into_iter()
            .filter(|(w, _, _)| is_word(w))
            .enumerate()
            .map(|(position, (w, from, to))| Token {
                offset_from: from,
                offset_to: to,
                position,
                text: w.to_string(),
                position_length: 1,
            })
            .collect();
        JiebaTokenStream { tokens, index: 0 }
    }
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
        index.tokenizers().register(TOKENIZER, JiebaTokenizer { segmenter: segmenter.clone() });
        let committed_upto = index
            .load_metas()?
            .payload
            .and_then(|p| p.strip_prefix("upto:").and_then(|n| n.parse::<i64>().ok()))
            .unwrap_or(0);
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
        self.writer.add_document(doc!(
            self.f_id => id,
            self.f_published => published,
            self.f_title => title_m,
            self.f_body => body_m,
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

    /// The query's words in matching form (what is searched and highlighted).
    pub fn query_terms(&self, query: &str) -> Vec<Vec<String>> {
        let m = matching_form(query);
        m.split_whitespace()
            .filter(|part| !part.is_empty())
            .map(|part| {
                let mut words: Vec<String> =
                    self.segmenter.cut(part).into_iter().filter(|w| is_word(w)).map(|w| w.to_string()).collect();
                words.dedup();
                words
            })
            .filter(|w| !w.is_empty())
            .collect()
    }

    /// Posts matching every word of the query, newest first.
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
        let limit = limit.clamp(1, 1000);
        let (top, total) = searcher.search(
            &query,
            &(TopDocs::with_limit(limit).and_offset(offset).order_by_fast_field::<i64>("published", Order::Desc), Count),
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
