//! The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a committed batch
//! survives a crash or power cut and an interrupted one leaves no trace.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use yuqing_core::{Alert, Grade, Sentiment};

use crate::migrations::MIGRATIONS;
use crate::records::*;
use crate::sql::{collect, ts, utc};
use crate::{Result, Store, StoreError};

pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

use crate::rows::{json, parse, ALERT_COLUMNS};
pub(crate) use crate::rows::{POST_COLUMNS, STORY_COLUMNS};

/// Row readers in the shape rusqlite's `query_map` takes.
fn post_from_row(row: &Row<'_>) -> rusqlite::Result<Result<PostRecord>> {
    Ok(crate::rows::post(row))
}

pub(crate) fn story_from_row(row: &Row<'_>) -> rusqlite::Result<Result<StoryRecord>> {
    Ok(crate::rows::story(row))
}

fn alert_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Alert>> {
    Ok(crate::rows::alert(row))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 32 MiB of page cache (the default is 2 MiB): ingest inserts into several indexes keyed by
        // hashes, whose pages are otherwise read again for nearly every post.
        conn.pragma_update(None, "cache_size", -32768)?;
        let mut store = SqliteStore { conn, path: path.to_path_buf() };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `Store::first_with_content` of many hashes at once (chunks of one query each): hash → the
    /// first stored post with it, for the hashes stored.
    pub fn first_with_contents(&self, hashes: &[u64]) -> Result<std::collections::HashMap<u64, i64>> {
        let mut first = std::collections::HashMap::new();
        for_chunks_of(
            &self.conn,
            "SELECT content_hash, MIN(id) FROM posts WHERE content_hash IN",
            "GROUP BY content_hash",
            hashes,
            |row| {
                first.insert(row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)?);
                Ok(())
            },
        )?;
        Ok(first)
    }

    /// The connection, for modules that work on plain `&Connection` (the notification outbox), so a
    /// caller can write them in the same transaction as the change that caused them.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let supported = MIGRATIONS.len() as i64;
        if version > supported {
            return Err(StoreError::TooNew { path: self.path.clone(), found: version, supported });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
            tracing::info!(version = i + 1, path = %self.path.display(), "applied schema migration");
        }
        Ok(())
    }

    /// The schema version in force.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    fn page_stories(
        &self,
        sql_where: &str,
        order: &str,
        limit: usize,
        offset: usize,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Page<StoryRecord>> {
        let total: i64 =
            self.conn.query_row(&format!("SELECT COUNT(*) FROM stories {sql_where}"), args, |r| r.get(0))?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {STORY_COLUMNS} FROM stories {sql_where} ORDER BY {order} LIMIT {limit} OFFSET {}",
            crate::sql::sql_offset(offset)
        ))?;
        let items = collect(stmt.query_map(args, story_from_row)?)?;
        Ok(Page { items, total: total.max(0) as u64 })
    }
}

/// Inserts or updates stories (inside the caller's transaction).
pub(crate) fn upsert_stories(tx: &Connection, stories: &[StoryRecord]) -> Result<()> {
    // An upsert, not `INSERT OR REPLACE`: an update in place touches only the indexes whose
    // columns changed, where a replace deletes and re-inserts the row in every index.
    let mut up = tx.prepare_cached(&format!(
        "INSERT INTO stories ({STORY_COLUMNS}, grade_rank) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
         ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22) ON CONFLICT(id) DO UPDATE SET {}",
        STORY_COLUMNS
            .split(',')
            .map(str::trim)
            .filter(|c| *c != "id")
            .chain(["grade_rank"])
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))?;
    for s in stories {
        let v = crate::rows::StoryValues::of(s);
        up.execute(params![
            s.id,
            v.status,
            s.title,
            v.keywords,
            v.first_at,
            v.last_at,
            v.grade,
            v.reasons,
            v.manual_grade,
            s.manual.as_ref().map(|(_, r)| r.as_str()),
            v.posts,
            v.sites,
            v.max_tier,
            v.interactions,
            v.negative_share,
            v.rule_hits,
            v.topics,
            v.severe_words,
            v.centroid,
            v.updated_at,
            v.index_terms,
            v.grade_rank,
        ])?;
    }
    Ok(())
}

/// Appends grade alerts (inside the caller's transaction).
pub(crate) fn insert_alerts(tx: &Connection, alerts: &[crate::NewAlert]) -> Result<()> {
    let mut alert = tx.prepare_cached(
        "INSERT INTO alerts (story_id, from_grade, to_grade, reasons, at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for a in alerts {
        alert.execute(params![a.story_id, a.from.map(|g| g.as_str()), a.to.as_str(), json(&a.reasons), ts(a.at)])?;
    }
    Ok(())
}

/// Values per `IN (...)` lookup: one statement text for every full chunk (the last chunk is padded
/// with its own last value, which changes no answer), so the prepared statement is reused.
const LOOKUP_CHUNK: usize = 512;

/// Runs `{head} (?, ?, …) {tail}` over `values` in chunks, calling `row` for every row found.
fn for_chunks_of(
    conn: &Connection,
    head: &str,
    tail: &str,
    values: &[u64],
    mut row: impl FnMut(&Row<'_>) -> rusqlite::Result<()>,
) -> Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let placeholders = vec!["?"; LOOKUP_CHUNK].join(", ");
    let mut stmt = conn.prepare_cached(&format!("{head} ({placeholders}) {tail}"))?;
    for chunk in values.chunks(LOOKUP_CHUNK) {
        let last = chunk[chunk.len() - 1];
        let args = (0..LOOKUP_CHUNK).map(|i| chunk.get(i).copied().unwrap_or(last) as i64);
        let mut rows = stmt.query(rusqlite::params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            row(r)?;
        }
    }
    Ok(())
}

impl Store for SqliteStore {
    fn next_post_id(&self) -> Result<i64> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM posts", [], |r| r.get(0))?)
    }

    fn next_story_id(&self) -> Result<i64> {
        // A story merged into another is gone from `stories` but its id stays taken: links to it
        // lead to the story it joined.
        Ok(self.conn.query_row(
            "SELECT MAX(COALESCE((SELECT MAX(id) FROM stories), 0), COALESCE((SELECT MAX(other_id) FROM story_edits), 0)) + 1",
            [],
            |r| r.get(0),
        )?)
    }

    fn known_dedup_keys(&self, keys: &[u64]) -> Result<HashMap<u64, i64>> {
        let mut known = HashMap::new();
        for_chunks_of(&self.conn, "SELECT dedup_key, id FROM posts WHERE dedup_key IN", "", keys, |row| {
            known.insert(row.get::<_, i64>(0)? as u64, row.get::<_, i64>(1)?);
            Ok(())
        })?;
        Ok(known)
    }

    fn first_with_content(&self, content_hash: u64) -> Result<Option<i64>> {
        let mut stmt = self.conn.prepare_cached("SELECT MIN(id) FROM posts WHERE content_hash = ?1")?;
        Ok(stmt.query_row([content_hash as i64], |r| r.get(0))?)
    }

    fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut ins = tx.prepare_cached(&format!(
                "INSERT INTO posts ({POST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
                 ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)"
            ))?;
            for p in &batch.posts {
                let v = crate::rows::PostValues::of(p);
                ins.execute(params![
                    p.id,
                    p.story_id,
                    p.dedup_key as i64,
                    p.content_hash as i64,
                    p.duplicate_of,
                    p.source,
                    p.url,
                    p.title,
                    p.text,
                    p.author,
                    p.place,
                    v.published_at,
                    v.published_offset,
                    p.time_estimated,
                    v.ingested_at,
                    v.tier,
                    v.reads,
                    v.comments,
                    v.reposts,
                    v.likes,
                    p.simhash as i64,
                    v.sentiment,
                    p.sentiment_score as f64,
                    v.topics,
                    v.hits,
                    v.severe_words,
                    v.keywords,
                    v.join,
                ])?;
            }
            upsert_stories(&tx, &batch.stories)?;
            insert_alerts(&tx, &batch.alerts)?;
            crate::themes::add_posts(&tx, &batch.themes)?;
            crate::places::add_posts(&tx, &batch.places)?;
            let mut close = tx.prepare_cached("UPDATE stories SET status = 'Closed' WHERE id = ?1")?;
            for id in &batch.closed {
                close.execute([id])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn open_stories(&self) -> Result<Vec<StoryRecord>> {
        let mut stmt =
            self.conn.prepare(&format!("SELECT {STORY_COLUMNS} FROM stories WHERE status = 'Open' ORDER BY id"))?;
        let rows = stmt.query_map([], story_from_row)?;
        collect(rows)
    }

    fn restore_posts(&self, stories: &[i64]) -> Result<Vec<RestorePost>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, story_id, published_at, source, tier, comments + reposts + likes, sentiment, simhash, hits, \
             severe_words, topics, keywords, title, text, join_reason FROM posts WHERE story_id = ?1 ORDER BY id",
        )?;
        let mut out = Vec::new();
        for &story in stories {
            let rows = stmt.query_map([story], |r| {
                let hits: String = r.get(8)?;
                let severe: String = r.get(9)?;
                let topics: String = r.get(10)?;
                let keywords: String = r.get(11)?;
                let texts: (String, String, String) = (r.get(12)?, r.get(13)?, r.get(14)?);
                let sentiment: i64 = r.get(6)?;
                let tier: i64 = r.get(4)?;
                let fixed = (
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, i64>(7)?,
                );
                Ok((fixed, tier, sentiment, hits, severe, topics, keywords, texts))
            })?;
            for row in rows {
                let (
                    (id, story_id, at, source, interactions, simhash),
                    tier,
                    sentiment,
                    hits,
                    severe,
                    topics,
                    keywords,
                    texts,
                ) = row?;
                let (title, text, join) = texts;
                let hits: Vec<yuqing_core::Hit> = parse("posts.hits", &hits)?;
                out.push(RestorePost {
                    id,
                    story_id,
                    at: utc(at),
                    source,
                    tier: yuqing_core::tracker::tier_from_index(tier),
                    interactions: interactions.max(0) as u64,
                    sentiment: Sentiment::from_index(sentiment.clamp(0, 2) as usize).unwrap_or(Sentiment::Neutral),
                    simhash: simhash as u64,
                    rules: hits.into_iter().map(|h| h.rule).collect(),
                    severe_words: parse("posts.severe_words", &severe)?,
                    topics: parse("posts.topics", &topics)?,
                    keywords: parse("posts.keywords", &keywords)?,
                    title,
                    text,
                    join: parse("posts.join_reason", &join)?,
                });
            }
        }
        Ok(out)
    }

    fn latest_post_time(&self) -> Result<Option<DateTime<Utc>>> {
        let at: Option<i64> = self.conn.query_row("SELECT MAX(published_at) FROM posts", [], |r| r.get(0))?;
        Ok(at.map(utc))
    }

    fn texts_since(&self, since: DateTime<Utc>) -> Result<Vec<RecentPost>> {
        self.recent_posts(since, "")
    }

    fn tagged_texts_since(&self, since: DateTime<Utc>) -> Result<Vec<RecentPost>> {
        self.recent_posts(since, crate::rows::TAGGED)
    }

    fn stories(&self, q: &StoryQuery) -> Result<Page<StoryRecord>> {
        let (sql_where, order, limit) = crate::rows::story_listing(q);
        self.page_stories(&sql_where, order, limit, q.offset, &[])
    }

    fn story(&self, id: i64) -> Result<Option<StoryRecord>> {
        let row = self
            .conn
            .query_row(&format!("SELECT {STORY_COLUMNS} FROM stories WHERE id = ?1"), [id], story_from_row)
            .optional()?;
        row.transpose()
    }

    fn story_posts(&self, story: i64, limit: usize, offset: usize) -> Result<Page<PostRecord>> {
        let total: i64 =
            self.conn.query_row("SELECT COUNT(*) FROM posts WHERE story_id = ?1", [story], |r| r.get(0))?;
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE story_id = ?1 ORDER BY published_at DESC, id DESC LIMIT ?2 OFFSET ?3"
        ))?;
        let items = collect(
            stmt.query_map(params![story, limit.min(1000) as i64, crate::sql::sql_offset(offset)], post_from_row)?,
        )?;
        Ok(Page { items, total: total.max(0) as u64 })
    }

    fn posts_by_ids(&self, ids: &[i64]) -> Result<Vec<PostRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!("SELECT {POST_COLUMNS} FROM posts WHERE id = ?1"))?;
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(p) = stmt.query_row([id], post_from_row).optional()? {
                out.push(p?);
            }
        }
        Ok(out)
    }

    fn posts_after(&self, after_id: i64, limit: usize) -> Result<Vec<PostRecord>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {POST_COLUMNS} FROM posts WHERE id > ?1 ORDER BY id LIMIT ?2"))?;
        let rows = stmt.query_map(params![after_id, limit as i64], post_from_row)?;
        collect(rows)
    }

    fn alerts(&self, limit: usize) -> Result<Vec<Alert>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {ALERT_COLUMNS} FROM alerts ORDER BY at DESC, id DESC LIMIT ?1"))?;
        let rows = stmt.query_map([limit as i64], alert_from_row)?;
        collect(rows)
    }

    fn story_alerts(&self, story: i64) -> Result<Vec<Alert>> {
        let mut stmt =
            self.conn.prepare_cached(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE story_id = ?1 ORDER BY id"))?;
        let rows = stmt.query_map([story], alert_from_row)?;
        collect(rows)
    }

    fn set_manual_grade(&mut self, story: i64, grade: Option<(Grade, String)>) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE stories SET manual_grade = ?2, manual_reason = ?3 WHERE id = ?1",
            params![story, grade.as_ref().map(|(g, _)| g.as_str()), grade.as_ref().map(|(_, r)| r.as_str())],
        )?;
        Ok(n > 0)
    }

    fn stats(&self) -> Result<Stats> {
        use crate::rows::{StatCounts, STATS_ALERTS, STATS_POSTS, STATS_STORIES};
        let mut c = StatCounts::default();
        (c.posts, c.negative, c.first, c.last) =
            self.conn.query_row(STATS_POSTS, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        (c.stories, c.open) = self.conn.query_row(STATS_STORIES, [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        c.alerts = self.conn.query_row(STATS_ALERTS, [], |r| r.get(0))?;
        let mut stmt = self.conn.prepare(&crate::rows::stats_grades_sql())?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        c.grades = rows.collect::<std::result::Result<_, _>>()?;
        Ok(c.stats())
    }
}

/// Which posts the 信息 stream shows; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub source: Option<String>,
    pub tier: Option<yuqing_core::SourceTier>,
    pub sentiment: Option<yuqing_core::Sentiment>,
    pub topic: Option<String>,
    pub rule: Option<String>,
}

/// Totals above this are reported as "more than" (counting a million rows per page view is waste).
pub const COUNT_CAP: u64 = 10_000;

impl SqliteStore {
    /// The posts published at or after `since` that meet `condition` (SQL after a WHERE clause's
    /// first term, or empty), in id order.
    fn recent_posts(&self, since: DateTime<Utc>, condition: &str) -> Result<Vec<RecentPost>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {} FROM posts WHERE published_at >= ?1{condition} ORDER BY id",
            crate::rows::RECENT_POST_COLUMNS
        ))?;
        let rows = stmt.query_map([since.timestamp()], |r| {
            Ok(Ok(RecentPost {
                id: r.get(0)?,
                at: utc(r.get::<_, i64>(1)?),
                title: r.get(2)?,
                text: r.get(3)?,
                source: r.get(4)?,
            }))
        })?;
        collect(rows)
    }

    /// Posts matching `f`, newest first; `total` is capped at `COUNT_CAP + 1`.
    pub fn posts_filtered(&self, f: &PostFilter, limit: usize, offset: usize) -> Result<Page<PostRecord>> {
        let mut wh: Vec<String> = vec!["1=1".into()];
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        let mut push = |sql: &str, v: Box<dyn rusqlite::ToSql>| {
            args.push(v);
            wh.push(sql.replace('?', &format!("?{}", args.len())));
        };
        if let Some(t) = f.since {
            push("published_at >= ?", Box::new(ts(t)));
        }
        if let Some(t) = f.until {
            push("published_at < ?", Box::new(ts(t)));
        }
        if let Some(s) = &f.source {
            push("source = ?", Box::new(s.clone()));
        }
        if let Some(t) = f.tier {
            push("tier = ?", Box::new(t.index() as i64));
        }
        if let Some(s) = f.sentiment {
            push("sentiment = ?", Box::new(s.index() as i64));
        }
        if let Some(t) = &f.topic {
            push("EXISTS (SELECT 1 FROM json_each(posts.topics) WHERE value = ?)", Box::new(t.clone()));
        }
        if let Some(r) = &f.rule {
            push(
                "EXISTS (SELECT 1 FROM json_each(posts.hits) WHERE json_extract(value, '$.rule') = ?)",
                Box::new(r.clone()),
            );
        }
        let where_sql = wh.join(" AND ");
        let refs: Vec<&dyn rusqlite::ToSql> = args.iter().map(|b| b.as_ref()).collect();
        let total: i64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM (SELECT 1 FROM posts WHERE {where_sql} LIMIT {})", COUNT_CAP + 1),
            refs.as_slice(),
            |r| r.get(0),
        )?;
        let mut st = self.conn.prepare(&format!(
            "SELECT {POST_COLUMNS} FROM posts WHERE {where_sql} ORDER BY published_at DESC, id DESC LIMIT {} OFFSET {}",
            limit.clamp(1, 200),
            offset.min(100_000)
        ))?;
        let rows = st.query_map(refs.as_slice(), post_from_row)?;
        let mut items = Vec::new();
        for r in rows {
            items.push(r??);
        }
        Ok(Page { items, total: total as u64 })
    }
}
