//! Full-text search on PostgreSQL without a Chinese extension on the server: each post's words,
//! cut by yuqing's own segmenter (the same [`IndexWords`] the tantivy index takes), are stored as
//! exact lexemes (`array_to_tsvector`, no server-side parsing or dictionaries) in a GIN-indexed
//! `tsvector`; a query is the conjunction of its words (`'w1' & 'w2'`), as on the embedded index.

use std::collections::HashMap;

use yuqing_text::Segmenter;

use super::PgStore;
use crate::{IndexWords, Result, SearchHits};

/// PostgreSQL refuses a lexeme longer than this many bytes.
const MAX_LEXEME: usize = 2046;

/// A tsquery matching posts with every one of `words` (quoted lexemes: a quote or backslash in a
/// word is doubled, so no word is read as an operator).
fn all_of(words: &[String]) -> String {
    words.iter().map(|w| format!("'{}'", w.replace('\\', "\\\\").replace('\'', "''"))).collect::<Vec<_>>().join(" & ")
}

impl PgStore {
    /// Makes these posts searchable by their words (`(post id, published at in Unix seconds,
    /// words)`), replacing words stored for them before; in one transaction and one statement (a
    /// post given twice keeps its last words).
    pub fn index_words(&mut self, posts: &[(i64, i64, IndexWords)]) -> Result<()> {
        if posts.is_empty() {
            return Ok(());
        }
        // Each post once, its last mention: one statement may not update a row twice.
        let mut last: HashMap<i64, usize> = HashMap::with_capacity(posts.len());
        for (i, (id, _, _)) in posts.iter().enumerate() {
            last.insert(*id, i);
        }
        let (mut ids, mut published, mut owners, mut words) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, (id, at, w)) in posts.iter().enumerate() {
            if last.get(id) != Some(&i) {
                continue;
            }
            ids.push(*id);
            published.push(*at);
            for word in w.distinct_words().into_iter().filter(|w| w.len() <= MAX_LEXEME) {
                owners.push(*id);
                words.push(word);
            }
        }
        let mut tx = self.client.get_mut().transaction()?;
        tx.execute(
            "INSERT INTO post_words (post_id, published_at, words) \
             SELECT p.id, p.published_at, array_to_tsvector(COALESCE(w.words, CAST('{}' AS text[]))) \
             FROM UNNEST($1::bigint[], $2::bigint[]) AS p(id, published_at) \
             LEFT JOIN (SELECT x.post_id, array_agg(x.word) AS words \
                        FROM UNNEST($3::bigint[], $4::text[]) AS x(post_id, word) GROUP BY x.post_id) w \
             ON w.post_id = p.id \
             ON CONFLICT (post_id) DO UPDATE SET published_at = EXCLUDED.published_at, words = EXCLUDED.words",
            &[&ids, &published, &owners, &words],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Posts with every word of `query`, newest first, as [`crate::FullTextIndex::search`]
    /// answers: at most `limit` (1 to 1000) after `offset`; past [`crate::MAX_OFFSET`] only the
    /// total is counted.
    pub fn search(&self, segmenter: &Segmenter, query: &str, limit: usize, offset: usize) -> Result<SearchHits> {
        let terms: Vec<String> = crate::fts::query_terms(segmenter, query).into_iter().flatten().collect();
        if terms.is_empty() {
            return Ok(SearchHits { ids: Vec::new(), total: 0, terms });
        }
        let q = all_of(&terms);
        let mut c = self.client.borrow_mut();
        let total: i64 = c.query_one("SELECT COUNT(*) FROM post_words WHERE words @@ $1::text::tsquery", &[&q])?.get(0);
        let total = usize::try_from(total).unwrap_or(0);
        if offset > crate::MAX_OFFSET {
            return Ok(SearchHits { ids: Vec::new(), total, terms });
        }
        let rows = c.query(
            "SELECT post_id FROM post_words WHERE words @@ $1::text::tsquery \
             ORDER BY published_at DESC, post_id DESC LIMIT $2 OFFSET $3",
            &[&q, &(limit.clamp(1, 1000) as i64), &(offset as i64)],
        )?;
        Ok(SearchHits { ids: rows.iter().map(|r| r.get(0)).collect(), total, terms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pg::testing::Scratch;

    #[test]
    fn quotes_and_backslashes_stay_inside_their_lexeme() {
        assert_eq!(all_of(&["停水".into(), "it's".into(), "a\\b".into()]), "'停水' & 'it''s' & 'a\\\\b'");
    }

    #[test]
    fn search_finds_posts_with_every_word_newest_first_and_pages() {
        let scratch = Scratch::new();
        let mut s = scratch.store();
        let seg = Segmenter::default();
        let words = |title: &str, body: &str| IndexWords::of_texts(&seg, title, body);
        s.index_words(&[
            (1, 100, words("江夏区停水", "小区居民反映已停水两天")),
            (2, 300, words("", "江夏区今日恢复供水")),
            (3, 200, words("洪山区停水", "")),
            (4, 400, words("it's 'quoted' a\\b", "")),
        ])
        .expect("index");
        let ids = |s: &PgStore, q: &str, limit: usize, offset: usize| {
            let hits = s.search(&seg, q, limit, offset).expect("search");
            (hits.total, hits.ids)
        };
        assert_eq!(ids(&s, "停水", 10, 0), (2, vec![3, 1]), "newest first");
        assert_eq!(ids(&s, "江夏区 停水", 10, 0), (1, vec![1]), "every word, title or body");
        assert_eq!(ids(&s, "江夏区", 1, 1), (2, vec![1]), "a page");
        assert_eq!(ids(&s, "江夏区", 10, crate::MAX_OFFSET + 1), (2, vec![]), "too deep: only the total");
        assert_eq!(ids(&s, "黄陂区", 10, 0), (0, vec![]));
        assert_eq!(ids(&s, "！！ ，", 10, 0), (0, vec![]), "no words, no query");
        // Operators and quotes in a query are words or nothing, never tsquery syntax.
        assert_eq!(ids(&s, "' & | ! ( ) :*", 10, 0), (0, vec![]));
        assert_eq!(ids(&s, "quoted", 10, 0).1, vec![4]);

        // Words stored again replace the old ones.
        s.index_words(&[(1, 100, words("黄陂区", ""))]).expect("reindex");
        assert_eq!(ids(&s, "停水", 10, 0), (1, vec![3]));
        assert_eq!(ids(&s, "黄陂区", 10, 0), (1, vec![1]));

        // A post given twice in one call keeps its last words; a post without words is stored
        // and found by none.
        s.index_words(&[(5, 500, words("汉阳区", "")), (6, 600, words("！！", "")), (5, 500, words("青山区", ""))])
            .expect("index");
        assert_eq!(ids(&s, "汉阳区", 10, 0), (0, vec![]));
        assert_eq!(ids(&s, "青山区", 10, 0), (1, vec![5]));
        let stored: i64 = s.client.get_mut().query_one("SELECT COUNT(*) FROM post_words", &[]).unwrap().get(0);
        assert_eq!(stored, 6);
    }
}
