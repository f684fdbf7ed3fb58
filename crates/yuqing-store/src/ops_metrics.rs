//! What the server's `/metrics` reads from the database at scrape time. Counters come from tables
//! that only grow (posts, alerts, outbox attempts), so they survive restarts; the fetch log is
//! pruned (the last 1000 fetches of each source), so it is read incrementally by row id.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

use crate::sql::ts;
use crate::Result;

/// Posts stored after `after_id`, by their source (site) name, and the largest id seen.
pub fn posts_by_source_after(conn: &Connection, after_id: i64) -> Result<(Vec<(String, u64)>, i64)> {
    let mut st = conn.prepare_cached("SELECT source, COUNT(*), MAX(id) FROM posts WHERE id > ?1 GROUP BY source")?;
    let mut max = after_id;
    let mut out = Vec::new();
    for row in
        st.query_map(params![after_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?
    {
        let (source, n, top) = row?;
        max = max.max(top);
        out.push((source, n.max(0) as u64));
    }
    Ok((out, max))
}

/// One row of the fetch log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRow {
    pub id: i64,
    pub source_id: String,
    pub ok: bool,
    pub millis: u64,
    pub items: u64,
    pub stored: u64,
}

/// Fetches recorded after `after_id`, oldest first, at most `limit`.
pub fn fetches_after(conn: &Connection, after_id: i64, limit: usize) -> Result<Vec<FetchRow>> {
    let mut st = conn.prepare_cached(
        "SELECT id, source_id, ok, millis, items, stored FROM collect_fetches WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = st.query_map(params![after_id, limit as i64], |r| {
        Ok(FetchRow {
            id: r.get(0)?,
            source_id: r.get(1)?,
            ok: r.get(2)?,
            millis: r.get::<_, i64>(3)?.max(0) as u64,
            items: r.get::<_, i64>(4)?.max(0) as u64,
            stored: r.get::<_, i64>(5)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The largest id of the fetch log (0 when empty).
pub fn last_fetch_id(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) FROM collect_fetches", [], |r| r.get(0))?)
}

/// Alerts raised, by the grade raised to.
pub fn alerts_by_grade(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut st = conn.prepare_cached("SELECT to_grade, COUNT(*) FROM alerts GROUP BY to_grade ORDER BY to_grade")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Messages waiting to be delivered, by channel.
pub fn outbox_pending_by_channel(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut st = conn.prepare_cached(
        "SELECT channel, COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY channel ORDER BY channel",
    )?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Delivery attempts that failed, by channel (every attempt is kept).
pub fn outbox_failures_by_channel(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut st = conn.prepare_cached(
        "SELECT o.channel, COUNT(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id \
         WHERE a.ok = 0 GROUP BY o.channel ORDER BY o.channel",
    )?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The channels messages were ever queued for (so a channel with no failures shows a zero).
pub fn outbox_channels(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT DISTINCT channel FROM outbox ORDER BY channel")?;
    let rows = st.query_map([], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deadlines of open incidents that are unmet and past due at `now`, and the overdue records
/// ever written (deadlines that went overdue, met later or not).
pub fn overdue(conn: &Connection, now: DateTime<Utc>) -> Result<(u64, u64)> {
    let mut st = conn.prepare_cached("SELECT data FROM incidents WHERE state != 'Closed'")?;
    let mut open = 0;
    for data in st.query_map([], |r| r.get::<_, String>(0))? {
        if let Ok(inc) = serde_json::from_str::<yuqing_core::incident::Incident>(&data?) {
            open += inc.deadlines.iter().filter(|d| !d.is_met() && d.due_at < now).count() as u64;
        }
    }
    let recorded: i64 = conn.query_row("SELECT COUNT(*) FROM overdue", [], |r| r.get(0))?;
    Ok((open, recorded.max(0) as u64))
}

/// The pipeline's state against the full-text index that holds posts up to `indexed_upto`: the
/// newest post id, the posts stored but not yet searchable, and how long the oldest of those has
/// waited (seconds; 0 when the index is caught up); and when the newest post was stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lag {
    pub newest_post: i64,
    pub unindexed_posts: u64,
    pub unindexed_seconds: f64,
    pub last_stored_at: Option<DateTime<Utc>>,
}

pub fn lag(conn: &Connection, indexed_upto: i64, now: DateTime<Utc>) -> Result<Lag> {
    let newest: Option<(i64, i64)> = conn
        .query_row("SELECT id, ingested_at FROM posts ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(Some)
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })?;
    let Some((newest_post, last)) = newest else { return Ok(Lag::default()) };
    let (n, oldest): (i64, Option<i64>) =
        conn.query_row("SELECT COUNT(*), MIN(ingested_at) FROM posts WHERE id > ?1", params![indexed_upto], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    let waited = oldest.map_or(0.0, |t| (ts(now) - t).max(0) as f64);
    Ok(Lag {
        newest_post,
        unindexed_posts: n.max(0) as u64,
        unindexed_seconds: waited,
        last_stored_at: DateTime::from_timestamp(last, 0),
    })
}

/// Each source's consecutive failed runs (collection health).
pub fn source_failures(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut st = conn.prepare_cached("SELECT source_id, consecutive_failures FROM collect_state ORDER BY source_id")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the database answers and its schema is this program's (for `/readyz`).
pub fn schema_current(conn: &Connection) -> Result<(i64, i64)> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    Ok((v, crate::backup::supported_schema_version()))
}
