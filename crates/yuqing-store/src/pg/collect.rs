//! Live collection's records on PostgreSQL — sources added at run time, per-source fetch state and
//! health, the fetch log, snapshot metadata and links to posts, drop-folder files read — as
//! [`crate::collect::CollectTables`]: `crate::collect`'s functions of the same names, with the same
//! meaning (the row mapping and the snapshot files are theirs), for several nodes at once.
//!
//! The snapshot bytes stay files named by their sha256 under the directory the caller gives
//! (shared storage when several nodes collect); only their metadata is here. What SQLite's single
//! writer made safe and PostgreSQL needs spelled out: switching a source on or off that has no row
//! yet is one upsert (two nodes doing it at once both succeed, and the row keeps what the other
//! wrote beside the switch); "insert unless present" is `ON CONFLICT DO NOTHING` throughout. A
//! source's state is written whole, the last writer winning, as on SQLite (which has no rule that
//! a cursor only moves forward, so neither has this).

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use postgres::{Client, GenericClient, Transaction};

use crate::collect::{
    fetch_record, median_of, remove_snapshot_file, snapshot_record, source_record, state_record, write_snapshot_file,
    FetchRecord, SnapshotMeta, SourceHealth, SourceState, StoredSource, FETCHES_KEPT, FETCH_COLUMNS, SNAPSHOT_COLUMNS,
    STATE_COLUMNS,
};
use crate::sql::ts;
use crate::Result;

/// A count as PostgreSQL takes it.
fn big(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// See [`crate::collect::put_snapshot`].
pub fn put_snapshot<C: GenericClient>(c: &mut C, dir: &Path, meta: &SnapshotMeta, bytes: &[u8]) -> Result<String> {
    let sha = write_snapshot_file(dir, bytes)?;
    let size = big(bytes.len() as u64);
    c.execute(
        "INSERT INTO snapshots (sha256, url, final_url, status, content_type, fetched_at, size, source_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sha256) DO NOTHING",
        &[
            &sha,
            &meta.url,
            &meta.final_url,
            &i64::from(meta.status),
            &meta.content_type,
            &ts(meta.fetched_at),
            &size,
            &meta.source_id,
        ],
    )?;
    Ok(sha)
}

/// See [`crate::collect::snapshot`].
pub fn snapshot<C: GenericClient>(c: &mut C, sha256: &str) -> Result<Option<SnapshotMeta>> {
    c.query_opt(&format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE sha256 = $1"), &[&sha256])?
        .as_ref()
        .map(snapshot_record)
        .transpose()
}

/// See [`crate::collect::link_posts`] (one statement).
pub fn link_posts<C: GenericClient>(c: &mut C, post_ids: &[i64], sha256: &str) -> Result<usize> {
    let n = c.execute(
        "INSERT INTO post_snapshots (post_id, sha256) SELECT DISTINCT id, CAST($2 AS TEXT) FROM UNNEST($1::bigint[]) AS ids (id) \
         ON CONFLICT (post_id) DO NOTHING",
        &[&post_ids, &sha256],
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// See [`crate::collect::note_pending_links`].
pub fn note_pending_links<C: GenericClient>(c: &mut C, links: &[(String, String)], now: DateTime<Utc>) -> Result<()> {
    let (urls, shas): (Vec<&str>, Vec<&str>) = links.iter().map(|(u, s)| (u.as_str(), s.as_str())).unzip();
    c.execute(
        "INSERT INTO snapshot_pending (url, sha256, noted_at) \
         SELECT DISTINCT url, sha256, $3::bigint FROM UNNEST($1::text[], $2::text[]) AS l (url, sha256) \
         ON CONFLICT (url, sha256) DO NOTHING",
        &[&urls, &shas, &ts(now)],
    )?;
    Ok(())
}

/// See [`crate::collect::settle_pending_links`], in one transaction (a savepoint inside the
/// caller's). A post noted with several snapshots is linked to one (the least sha256; SQLite's
/// `INSERT OR IGNORE` keeps the first it meets).
pub fn settle_pending_links<C: GenericClient>(c: &mut C, stale_before: DateTime<Utc>) -> Result<usize> {
    let mut tx = c.transaction()?;
    let linked = tx.execute(
        "INSERT INTO post_snapshots (post_id, sha256) \
         SELECT p.id, MIN(n.sha256) FROM snapshot_pending n JOIN posts p ON p.url = n.url GROUP BY p.id \
         ON CONFLICT (post_id) DO NOTHING",
        &[],
    )?;
    tx.execute(
        "DELETE FROM snapshot_pending WHERE noted_at < $1 OR EXISTS (SELECT 1 FROM posts p WHERE p.url = snapshot_pending.url)",
        &[&ts(stale_before)],
    )?;
    tx.commit()?;
    Ok(usize::try_from(linked).unwrap_or(usize::MAX))
}

/// See [`crate::collect::snapshots_of_posts`].
pub fn snapshots_of_posts<C: GenericClient>(c: &mut C, post_ids: &[i64]) -> Result<HashMap<i64, String>> {
    let rows = c.query("SELECT post_id, sha256 FROM post_snapshots WHERE post_id = ANY($1)", &[&post_ids])?;
    rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
}

/// See [`crate::collect::posts_with_url`].
pub fn posts_with_url<C: GenericClient>(c: &mut C, url: &str) -> Result<Vec<i64>> {
    let rows = c.query("SELECT id FROM posts WHERE url = $1 ORDER BY id", &[&url])?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// See [`crate::collect::prune_snapshots`]: each snapshot's rows go in a transaction of their own
/// (a savepoint inside the caller's), then its file.
pub fn prune_snapshots<C: GenericClient>(c: &mut C, dir: &Path, before: DateTime<Utc>) -> Result<usize> {
    let old: Vec<String> = c
        .query(
            "SELECT s.sha256 FROM snapshots s WHERE s.fetched_at < $1 AND NOT EXISTS ( \
                SELECT 1 FROM post_snapshots ps JOIN posts p ON p.id = ps.post_id \
                JOIN incident_stories i ON i.story_id = p.story_id WHERE ps.sha256 = s.sha256)",
            &[&ts(before)],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    for sha in &old {
        let mut tx = c.transaction()?;
        tx.execute("DELETE FROM post_snapshots WHERE sha256 = $1", &[sha])?;
        tx.execute("DELETE FROM snapshots WHERE sha256 = $1", &[sha])?;
        tx.commit()?;
        remove_snapshot_file(dir, sha)?;
    }
    Ok(old.len())
}

/// See [`crate::collect::state`].
pub fn state<C: GenericClient>(c: &mut C, source_id: &str) -> Result<SourceState> {
    match c.query_opt(&format!("SELECT {STATE_COLUMNS} FROM collect_state WHERE source_id = $1"), &[&source_id])? {
        Some(r) => state_record(source_id, &r),
        None => Ok(SourceState { source_id: source_id.to_string(), ..Default::default() }),
    }
}

/// See [`crate::collect::put_state`] (one upsert: the last writer wins, as on SQLite).
pub fn put_state<C: GenericClient>(c: &mut C, s: &SourceState) -> Result<()> {
    c.execute(
        "INSERT INTO collect_state (source_id, etag, last_modified, last_attempt_at, last_success_at, consecutive_failures, \
             last_error, alerted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (source_id) DO UPDATE SET etag = $2, last_modified = $3, last_attempt_at = $4, last_success_at = $5, \
            consecutive_failures = $6, last_error = $7, alerted_at = $8",
        &[
            &s.source_id,
            &s.etag,
            &s.last_modified,
            &s.last_attempt_at.map(ts),
            &s.last_success_at.map(ts),
            &i64::from(s.consecutive_failures),
            &s.last_error,
            &s.alerted_at.map(ts),
        ],
    )?;
    Ok(())
}

/// See [`crate::collect::record_fetch`].
pub fn record_fetch<C: GenericClient>(c: &mut C, f: &FetchRecord) -> Result<()> {
    c.execute(
        "INSERT INTO collect_fetches (source_id, at, ok, status, millis, items, stored, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &f.source_id,
            &ts(f.at),
            &f.ok,
            &f.status.map(i64::from),
            &big(f.millis),
            &i64::from(f.items),
            &i64::from(f.stored),
            &f.error,
        ],
    )?;
    c.execute(
        "DELETE FROM collect_fetches WHERE source_id = $1 AND id <= \
         (SELECT id FROM collect_fetches WHERE source_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
        &[&f.source_id, &FETCHES_KEPT],
    )?;
    Ok(())
}

/// See [`crate::collect::fetches`].
pub fn fetches<C: GenericClient>(c: &mut C, source_id: &str, limit: usize) -> Result<Vec<FetchRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c.query(
        &format!("SELECT {FETCH_COLUMNS} FROM collect_fetches WHERE source_id = $1 ORDER BY id DESC LIMIT $2"),
        &[&source_id, &limit],
    )?;
    rows.iter().map(|r| fetch_record(source_id, r)).collect()
}

/// See [`crate::collect::health`].
pub fn health<C: GenericClient>(c: &mut C, source_id: &str, now: DateTime<Utc>) -> Result<SourceHealth> {
    let st = state(c, source_id)?;
    let items_per_day: i64 = c
        .query_one(
            "SELECT CAST(COALESCE(SUM(stored), 0) AS BIGINT) FROM collect_fetches WHERE source_id = $1 AND at >= $2",
            &[&source_id, &ts(now - Duration::days(1))],
        )?
        .try_get(0)?;
    let times: Vec<u64> = fetches(c, source_id, 50)?.into_iter().map(|f| f.millis).collect();
    Ok(SourceHealth {
        source_id: source_id.to_string(),
        last_success_at: st.last_success_at,
        consecutive_failures: st.consecutive_failures,
        last_error: st.last_error,
        items_per_day: items_per_day.max(0) as u64,
        median_fetch_ms: median_of(times),
    })
}

/// See [`crate::collect::add_source`].
pub fn add_source<C: GenericClient>(c: &mut C, s: &StoredSource) -> Result<()> {
    c.execute(
        "INSERT INTO collect_sources (id, enabled, config, added_by, added_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (id) DO UPDATE SET enabled = $2, config = $3, added_by = $4, added_at = $5",
        &[&s.id, &s.enabled, &s.config, &s.added_by, &ts(s.added_at)],
    )?;
    Ok(())
}

/// See [`crate::collect::sources`].
pub fn sources<C: GenericClient>(c: &mut C) -> Result<Vec<StoredSource>> {
    c.query("SELECT id, enabled, config, added_by, added_at FROM collect_sources ORDER BY id", &[])?
        .iter()
        .map(source_record)
        .collect()
}

/// See [`crate::collect::set_source_enabled`]. SQLite updates, then inserts when no row changed,
/// which its single writer makes safe; two nodes doing that at once here would both find no row
/// and the second insert would fail. One upsert instead: a new row carries only the switch, an
/// existing one changes only its switch.
pub fn set_source_enabled<C: GenericClient>(
    c: &mut C,
    id: &str,
    enabled: bool,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    c.execute(
        "INSERT INTO collect_sources (id, enabled, config, added_by, added_at) VALUES ($1, $2, '', $3, $4) \
         ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled",
        &[&id, &enabled, &by, &ts(now)],
    )?;
    Ok(true)
}

/// See [`crate::collect::file_done`].
pub fn file_done<C: GenericClient>(c: &mut C, sha256: &str) -> Result<bool> {
    Ok(c.query_opt("SELECT 1 FROM collect_files WHERE sha256 = $1 LIMIT 1", &[&sha256])?.is_some())
}

/// See [`crate::collect::mark_file_done`].
pub fn mark_file_done<C: GenericClient>(c: &mut C, path: &str, sha256: &str, now: DateTime<Utc>) -> Result<()> {
    c.execute(
        "INSERT INTO collect_files (path, sha256, done_at) VALUES ($1, $2, $3) \
         ON CONFLICT (path) DO UPDATE SET sha256 = $2, done_at = $3",
        &[&path, &sha256, &ts(now)],
    )?;
    Ok(())
}

crate::collect::collect_tables_on!(Client, Transaction<'_>);
