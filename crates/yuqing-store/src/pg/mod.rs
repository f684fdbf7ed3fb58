//! The PostgreSQL store: the same [`Store`] as the embedded SQLite one, over a PostgreSQL server
//! (and the databases that speak its protocol), for installations past one machine.
//!
//! This is the store's second backend as far as it reaches today: posts (partitioned by month,
//! with retention by month), their full-text search (`search.rs`), stories, alerts and the rows a
//! write batch touches beside them; and the desk state several nodes share, behind the same
//! traits as on SQLite — the notification outbox (`outbox.rs`, [`crate::outbox::Outbox`]: a claim
//! hands each message to one node), the hash-chained audit log and the report serials and
//! schedule (`desk.rs`, [`crate::desk::AuditLog`], [`crate::report_tables::ReportState`]: appends
//! and numbers without gaps under concurrency); and the rest of the desk's tables
//! (`desk_tables.rs`, [`crate::desk::DeskTables`]: incidents and their timelines, overdue records,
//! cursors, alert acknowledgements and escalations, the duty roster, handovers, attachments — with
//! distinct incident ids, one open incident per story and one acknowledgement per alert however
//! many nodes act at once); and people and sign-in (`auth.rs`, [`crate::auth::AuthTables`]: users,
//! password hashes, sessions, lock-out counters), the watch rules (`rules.rs`,
//! [`crate::rules::RuleTables`]) and live collection's records (`collect.rs`,
//! [`crate::collect::CollectTables`]). Those traits are implemented on a `Client` and on a
//! `Transaction`, so a change, its timeline, its audit entry and its messages commit together.
//! The other report tables are still SQLite-only (docs/ARCHITECTURE.md
//! says what is where); the server does not run on this store yet.
//!
//! The client is the blocking `postgres` one: like the SQLite store, this one is called from
//! blocking threads (`spawn_blocking`), never from async code.

pub mod auth;
pub mod collect;
pub mod desk;
pub mod desk_tables;
mod migrations;
pub mod outbox;
pub mod partition;
pub mod rules;
mod search;
mod write;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use postgres::{Client, NoTls};
use yuqing_core::{Alert, Grade};

pub use migrations::PG_MIGRATIONS;
use partition::Month;

use crate::records::*;
use crate::rows::{self, ALERT_COLUMNS, POST_COLUMNS, STORY_COLUMNS};
use crate::sql::{ts, utc};
use crate::{Result, Store, StoreError};

/// The advisory lock that serializes schema changes (migrations, new month partitions) between
/// processes sharing one database; the value is arbitrary but fixed ("yuqing" in ASCII).
const SCHEMA_LOCK: i64 = 0x79_75_71_69_6e_67;

pub struct PgStore {
    client: RefCell<Client>,
    /// The months whose partition is known to exist (created here or found at start).
    months: HashSet<Month>,
}

/// A schema name the store may create and select: lower-case ASCII letters, digits and `_`,
/// starting with a letter, at most 63 bytes (PostgreSQL's identifier limit).
fn check_schema(name: &str) -> Result<()> {
    let ok = name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "PostgreSQL 模式名“{name}”无效：只能由小写字母、数字和下划线组成，以字母开头，不超过 63 个字符"
        )))
    }
}

impl PgStore {
    /// The posts published at or after `since` that meet `condition` (SQL after a WHERE clause's
    /// first term, or empty), in id order.
    fn recent_posts(&self, since: DateTime<Utc>, condition: &str) -> Result<Vec<RecentPost>> {
        let rows = self.client.borrow_mut().query(
            &format!("SELECT {} FROM posts WHERE published_at >= $1{condition} ORDER BY id", rows::RECENT_POST_COLUMNS),
            &[&ts(since)],
        )?;
        rows.iter()
            .map(|r| {
                Ok(RecentPost {
                    id: r.try_get(0)?,
                    at: utc(r.try_get(1)?),
                    title: r.try_get(2)?,
                    text: r.try_get(3)?,
                    source: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Connects (`url`: `postgres://user@host/db` or `host=… user=… dbname=…`), selects `schema`
    /// (created when missing; None keeps the server's search path) and brings the schema up to
    /// date. Two processes starting at once apply each migration once.
    pub fn connect(url: &str, schema: Option<&str>) -> Result<PgStore> {
        if let Some(s) = schema {
            check_schema(s)?;
        }
        let mut client = Client::connect(url, NoTls)?;
        if let Some(s) = schema {
            let mut tx = client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {s}"))?;
            tx.commit()?;
            client.batch_execute(&format!("SET search_path TO {s}"))?;
        }
        migrate(&mut client)?;
        let mut store = PgStore { client: RefCell::new(client), months: HashSet::new() };
        store.months = store.partitions()?.into_iter().collect();
        Ok(store)
    }

    /// The connection, for the desk state ([`crate::outbox::Outbox`], [`crate::desk::AuditLog`],
    /// [`crate::report_tables::ReportState`], [`crate::desk::DeskTables`]) and for a caller's own
    /// transaction around them.
    pub fn client(&mut self) -> &mut Client {
        self.client.get_mut()
    }

    /// The schema version in force.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.client.borrow_mut().query_one("SELECT version FROM yuqing_schema", &[])?.get(0))
    }

    /// The months that have a partition of posts, oldest first.
    pub fn partitions(&self) -> Result<Vec<Month>> {
        let rows = self.client.borrow_mut().query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'posts'::regclass",
            &[],
        )?;
        let mut months: Vec<Month> = rows.iter().filter_map(|r| Month::from_table(r.get::<_, &str>(0))).collect();
        months.sort();
        Ok(months)
    }

    /// Retention: removes every month of posts that ends at or before `cutoff` — the month's
    /// partition, and its posts' dedup keys, theme and place rows — in one transaction. Stories
    /// keep their summaries. Returns the months removed.
    pub fn drop_months_before(&mut self, cutoff: DateTime<Utc>) -> Result<Vec<Month>> {
        let old: Vec<Month> = self.partitions()?.into_iter().filter(|m| m.bounds().1 <= ts(cutoff)).collect();
        if old.is_empty() {
            return Ok(old);
        }
        let client = self.client.get_mut();
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        for m in &old {
            let (from, to) = m.bounds();
            let table = m.table();
            tx.execute(&format!("DELETE FROM theme_posts WHERE post_id IN (SELECT id FROM {table})"), &[])?;
            tx.execute(&format!("DELETE FROM post_places WHERE post_id IN (SELECT id FROM {table})"), &[])?;
            tx.execute("DELETE FROM post_keys WHERE published_at >= $1 AND published_at < $2", &[&from, &to])?;
            tx.execute("DELETE FROM post_words WHERE published_at >= $1 AND published_at < $2", &[&from, &to])?;
            tx.batch_execute(&format!("DROP TABLE {table}"))?;
        }
        tx.commit()?;
        for m in &old {
            self.months.remove(m);
            tracing::info!(month = %format!("{}-{:02}", m.year, m.month), "dropped a month of posts (retention)");
        }
        Ok(old)
    }

    fn page_stories(&self, sql_where: &str, order: &str, limit: usize, offset: usize) -> Result<Page<StoryRecord>> {
        let mut c = self.client.borrow_mut();
        let total: i64 = c.query_one(&format!("SELECT COUNT(*) FROM stories {sql_where}"), &[])?.get(0);
        let rows = c.query(
            &format!(
                "SELECT {STORY_COLUMNS} FROM stories {sql_where} ORDER BY {order} LIMIT {limit} OFFSET {}",
                crate::sql::sql_offset(offset)
            ),
            &[],
        )?;
        let items = rows.iter().map(rows::story).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: total.max(0) as u64 })
    }
}

/// Drops a schema and everything in it (a scratch schema of a benchmark or a test).
pub fn drop_schema(url: &str, schema: &str) -> Result<()> {
    check_schema(schema)?;
    Client::connect(url, NoTls)?.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))?;
    Ok(())
}

/// Applies the migrations not yet applied, all in one transaction under the schema lock.
fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS yuqing_schema (id BIGINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL); \
         INSERT INTO yuqing_schema (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING",
    )?;
    let version: i64 = tx.query_one("SELECT version FROM yuqing_schema", &[])?.get(0);
    let supported = PG_MIGRATIONS.len() as i64;
    if version > supported {
        return Err(StoreError::TooNew { path: "PostgreSQL".into(), found: version, supported });
    }
    for (i, sql) in PG_MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        tx.batch_execute(sql)?;
        tx.execute("UPDATE yuqing_schema SET version = $1", &[&((i + 1) as i64)])?;
        tracing::info!(version = i + 1, "applied PostgreSQL schema migration");
    }
    tx.commit()?;
    Ok(())
}

impl Store for PgStore {
    fn next_post_id(&self) -> Result<i64> {
        Ok(self.client.borrow_mut().query_one("SELECT COALESCE(MAX(id), 0) + 1 FROM posts", &[])?.get(0))
    }

    fn next_story_id(&self) -> Result<i64> {
        // As on SQLite: a merged story's id stays taken.
        Ok(self
            .client
            .borrow_mut()
            .query_one(
                "SELECT GREATEST(COALESCE((SELECT MAX(id) FROM stories), 0), \
                 COALESCE((SELECT MAX(other_id) FROM story_edits), 0)) + 1",
                &[],
            )?
            .get(0))
    }

    fn known_dedup_keys(&self, keys: &[u64]) -> Result<HashMap<u64, i64>> {
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let keys: Vec<i64> = keys.iter().map(|&k| k as i64).collect();
        let rows = self
            .client
            .borrow_mut()
            .query("SELECT dedup_key, post_id FROM post_keys WHERE dedup_key = ANY($1)", &[&keys])?;
        Ok(rows.iter().map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, i64>(1))).collect())
    }

    fn first_with_content(&self, content_hash: u64) -> Result<Option<i64>> {
        Ok(self
            .client
            .borrow_mut()
            .query_one("SELECT MIN(id) FROM posts WHERE content_hash = $1", &[&(content_hash as i64)])?
            .get(0))
    }

    fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        let new_months: BTreeSet<Month> = batch
            .posts
            .iter()
            .map(|p| Month::of(p.published_at.timestamp()))
            .filter(|m| !self.months.contains(m))
            .collect();
        let client = self.client.get_mut();
        let mut tx = client.transaction()?;
        if !new_months.is_empty() {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
            for m in &new_months {
                let (from, to) = m.bounds();
                tx.batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {} PARTITION OF posts FOR VALUES FROM ({from}) TO ({to})",
                    m.table()
                ))?;
            }
        }
        write::copy_posts(&mut tx, &batch.posts)?;
        write::upsert_stories(&mut tx, &batch.stories)?;
        write::copy_alerts(&mut tx, &batch.alerts)?;
        write::add_themes(&mut tx, &batch.themes)?;
        write::add_places(&mut tx, &batch.places)?;
        if !batch.closed.is_empty() {
            tx.execute("UPDATE stories SET status = 'Closed' WHERE id = ANY($1)", &[&batch.closed])?;
        }
        tx.commit()?;
        // Only once committed: a rolled-back partition does not exist.
        self.months.extend(new_months);
        Ok(())
    }

    fn open_stories(&self) -> Result<Vec<StoryRecord>> {
        let rows = self
            .client
            .borrow_mut()
            .query(&format!("SELECT {STORY_COLUMNS} FROM stories WHERE status = 'Open' ORDER BY id"), &[])?;
        rows.iter().map(rows::story).collect()
    }

    fn restore_posts(&self, stories: &[i64]) -> Result<Vec<RestorePost>> {
        let mut c = self.client.borrow_mut();
        let select = c.prepare(
            "SELECT id, story_id, published_at, source, tier, comments + reposts + likes, sentiment, simhash, hits, \
             severe_words, topics, keywords, title, text, join_reason FROM posts WHERE story_id = $1 ORDER BY id",
        )?;
        let mut out = Vec::new();
        for story in stories {
            for r in c.query(&select, &[story])? {
                let hits: Vec<yuqing_core::Hit> = rows::parse("posts.hits", r.try_get(8)?)?;
                let sentiment: i64 = r.try_get(6)?;
                out.push(RestorePost {
                    id: r.try_get(0)?,
                    story_id: r.try_get(1)?,
                    at: utc(r.try_get(2)?),
                    source: r.try_get(3)?,
                    tier: yuqing_core::tracker::tier_from_index(r.try_get(4)?),
                    interactions: r.try_get::<_, i64>(5)?.max(0) as u64,
                    sentiment: yuqing_core::Sentiment::from_index(sentiment.clamp(0, 2) as usize)
                        .unwrap_or(yuqing_core::Sentiment::Neutral),
                    simhash: r.try_get::<_, i64>(7)? as u64,
                    rules: hits.into_iter().map(|h| h.rule).collect(),
                    severe_words: rows::parse("posts.severe_words", r.try_get(9)?)?,
                    topics: rows::parse("posts.topics", r.try_get(10)?)?,
                    keywords: rows::parse("posts.keywords", r.try_get(11)?)?,
                    title: r.try_get(12)?,
                    text: r.try_get(13)?,
                    join: rows::parse("posts.join_reason", r.try_get(14)?)?,
                });
            }
        }
        Ok(out)
    }

    fn latest_post_time(&self) -> Result<Option<DateTime<Utc>>> {
        let at: Option<i64> = self.client.borrow_mut().query_one("SELECT MAX(published_at) FROM posts", &[])?.get(0);
        Ok(at.map(utc))
    }

    fn texts_since(&self, since: DateTime<Utc>) -> Result<Vec<RecentPost>> {
        self.recent_posts(since, "")
    }

    fn tagged_texts_since(&self, since: DateTime<Utc>) -> Result<Vec<RecentPost>> {
        self.recent_posts(since, rows::TAGGED)
    }

    fn stories(&self, q: &StoryQuery) -> Result<Page<StoryRecord>> {
        let (sql_where, order, limit) = rows::story_listing(q);
        self.page_stories(&sql_where, order, limit, q.offset)
    }

    fn story(&self, id: i64) -> Result<Option<StoryRecord>> {
        let row = self
            .client
            .borrow_mut()
            .query_opt(&format!("SELECT {STORY_COLUMNS} FROM stories WHERE id = $1"), &[&id])?;
        row.as_ref().map(rows::story).transpose()
    }

    fn story_posts(&self, story: i64, limit: usize, offset: usize) -> Result<Page<PostRecord>> {
        let mut c = self.client.borrow_mut();
        let total: i64 = c.query_one("SELECT COUNT(*) FROM posts WHERE story_id = $1", &[&story])?.get(0);
        let rows = c.query(
            &format!(
                "SELECT {POST_COLUMNS} FROM posts WHERE story_id = $1 ORDER BY published_at DESC, id DESC \
                 LIMIT $2 OFFSET $3"
            ),
            &[&story, &(limit.min(1000) as i64), &crate::sql::sql_offset(offset)],
        )?;
        let items = rows.iter().map(rows::post).collect::<Result<Vec<_>>>()?;
        Ok(Page { items, total: total.max(0) as u64 })
    }

    fn posts_by_ids(&self, ids: &[i64]) -> Result<Vec<PostRecord>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows =
            self.client.borrow_mut().query(&format!("SELECT {POST_COLUMNS} FROM posts WHERE id = ANY($1)"), &[&ids])?;
        let mut found: HashMap<i64, PostRecord> =
            rows.iter().map(|r| rows::post(r).map(|p| (p.id, p))).collect::<Result<_>>()?;
        // In the order asked, each once, as the SQLite store answers.
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    fn posts_after(&self, after_id: i64, limit: usize) -> Result<Vec<PostRecord>> {
        let rows = self.client.borrow_mut().query(
            &format!("SELECT {POST_COLUMNS} FROM posts WHERE id > $1 ORDER BY id LIMIT $2"),
            &[&after_id, &(limit.min(i64::MAX as usize) as i64)],
        )?;
        rows.iter().map(rows::post).collect()
    }

    fn alerts(&self, limit: usize) -> Result<Vec<Alert>> {
        let rows = self.client.borrow_mut().query(
            &format!("SELECT {ALERT_COLUMNS} FROM alerts ORDER BY at DESC, id DESC LIMIT $1"),
            &[&(limit.min(i64::MAX as usize) as i64)],
        )?;
        rows.iter().map(rows::alert).collect()
    }

    fn story_alerts(&self, story: i64) -> Result<Vec<Alert>> {
        let rows = self
            .client
            .borrow_mut()
            .query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE story_id = $1 ORDER BY id"), &[&story])?;
        rows.iter().map(rows::alert).collect()
    }

    fn set_manual_grade(&mut self, story: i64, grade: Option<(Grade, String)>) -> Result<bool> {
        let (g, reason) = (grade.as_ref().map(|(g, _)| g.as_str()), grade.as_ref().map(|(_, r)| r.as_str()));
        let n = self.client.get_mut().execute(
            "UPDATE stories SET manual_grade = $2, manual_reason = $3 WHERE id = $1",
            &[&story, &g, &reason],
        )?;
        Ok(n > 0)
    }

    fn stats(&self) -> Result<Stats> {
        use crate::rows::{StatCounts, STATS_ALERTS, STATS_POSTS, STATS_STORIES};
        let mut c = self.client.borrow_mut();
        let r = c.query_one(STATS_POSTS, &[])?;
        let mut counts = StatCounts {
            posts: r.try_get(0)?,
            negative: r.try_get(1)?,
            first: r.try_get(2)?,
            last: r.try_get(3)?,
            ..Default::default()
        };
        let r = c.query_one(STATS_STORIES, &[])?;
        (counts.stories, counts.open) = (r.try_get(0)?, r.try_get(1)?);
        counts.alerts = c.query_one(STATS_ALERTS, &[])?.try_get(0)?;
        counts.grades = c
            .query(&rows::stats_grades_sql(), &[])?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_>>()?;
        Ok(counts.stats())
    }
}

#[cfg(test)]
mod desk_tests;
#[cfg(test)]
mod state_tests;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
