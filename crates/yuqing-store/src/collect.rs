//! Live collection's records: sources added at run time, per-source fetch state (cursors for
//! conditional GET, health), every fetch attempt, snapshots (evidence) and their links to posts,
//! and the drop-folder files already read.
//!
//! Plain functions over `&rusqlite::Connection`, like the outbox; time is always an argument.
//! [`CollectTables`] puts the same on PostgreSQL (`pg::collect`), for several collecting nodes.
//! Snapshot bytes are files under `snapshots/` in the data directory, named by their sha256
//! (content-addressed: the same bytes are stored once); this module keeps their metadata.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::rows::Cols;
use crate::sql::{collect, ts, utc};
use crate::{Result, StoreError};

/// A source's fetch state: conditional-GET cursors and health counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SourceState {
    pub source_id: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// When the 信息源异常 alert was last raised for the current run of failures.
    pub alerted_at: Option<DateTime<Utc>>,
}

/// One fetch attempt, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchRecord {
    pub source_id: String,
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub status: Option<u16>,
    pub millis: u64,
    /// Items extracted.
    pub items: u32,
    /// Posts stored (new).
    pub stored: u32,
    pub error: Option<String>,
}

/// What health a source shows (from its state and its recent fetches).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceHealth {
    pub source_id: String,
    pub last_success_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// Posts stored in the last 24 hours.
    pub items_per_day: u64,
    /// Median duration of the last 50 fetches, in milliseconds.
    pub median_fetch_ms: Option<u64>,
}

/// A snapshot's metadata (its bytes are in the snapshot directory).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotMeta {
    pub sha256: String,
    pub url: String,
    pub final_url: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub size: u64,
    pub source_id: Option<String>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `s` looks like a sha256 in hex (so it can name a file safely).
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Where the snapshot with this hash lives under `dir` (`ab/abcdef…`).
pub fn snapshot_path(dir: &Path, sha256: &str) -> PathBuf {
    dir.join(sha256.get(..2).unwrap_or("xx")).join(sha256)
}

/// Writes the bytes under their sha256 in `dir` unless a file of that name is there; returns the
/// sha256. Written to a temporary name, synced and renamed (both backends).
pub(crate) fn write_snapshot_file(dir: &Path, bytes: &[u8]) -> Result<String> {
    let sha = sha256_hex(bytes);
    let path = snapshot_path(dir, &sha);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| StoreError::Io { path: p, source: e }
    };
    if !path.exists() {
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(io(parent))?;
        let tmp = parent.join(format!(".{sha}.tmp"));
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(bytes).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
    }
    Ok(sha)
}

/// Removes a snapshot's file; one already gone is fine (both backends).
pub(crate) fn remove_snapshot_file(dir: &Path, sha256: &str) -> Result<()> {
    let path = snapshot_path(dir, sha256);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io { path, source: e }),
        _ => Ok(()),
    }
}

/// The columns of a snapshots query, in the order [`snapshot_record`] reads them.
pub(crate) const SNAPSHOT_COLUMNS: &str = "sha256, url, final_url, status, content_type, fetched_at, size, source_id";

/// Snapshot metadata from a row of [`SNAPSHOT_COLUMNS`], on either backend.
pub(crate) fn snapshot_record(r: &impl Cols) -> Result<SnapshotMeta> {
    Ok(SnapshotMeta {
        sha256: r.text(0)?,
        url: r.text(1)?,
        final_url: r.text(2)?,
        status: r.int(3)?.clamp(0, u16::MAX as i64) as u16,
        content_type: r.opt_text(4)?,
        fetched_at: utc(r.int(5)?),
        size: r.int(6)?.max(0) as u64,
        source_id: r.opt_text(7)?,
    })
}

/// Stores the bytes (once per content) and their metadata; returns the sha256. The file is written
/// to a temporary name, synced and renamed, so a crash never leaves a partial snapshot under its hash.
pub fn put_snapshot(conn: &Connection, dir: &Path, meta: &SnapshotMeta, bytes: &[u8]) -> Result<String> {
    let sha = write_snapshot_file(dir, bytes)?;
    conn.execute(
        "INSERT OR IGNORE INTO snapshots (sha256, url, final_url, status, content_type, fetched_at, size, source_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            sha,
            meta.url,
            meta.final_url,
            meta.status,
            meta.content_type,
            ts(meta.fetched_at),
            bytes.len() as i64,
            meta.source_id
        ],
    )?;
    Ok(sha)
}

pub fn snapshot(conn: &Connection, sha256: &str) -> Result<Option<SnapshotMeta>> {
    conn.query_row(&format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshots WHERE sha256 = ?1"), params![sha256], |r| {
        Ok(snapshot_record(r))
    })
    .optional()?
    .transpose()
}

/// Links posts to the snapshot they came from; a post keeps its first link.
pub fn link_posts(conn: &Connection, post_ids: &[i64], sha256: &str) -> Result<usize> {
    let mut n = 0;
    let mut stmt = conn.prepare_cached("INSERT OR IGNORE INTO post_snapshots (post_id, sha256) VALUES (?1, ?2)")?;
    for id in post_ids {
        n += stmt.execute(params![id, sha256])?;
    }
    Ok(n)
}

/// Notes, before the posts are ingested, which snapshot each (canonical) URL's post will link to.
pub fn note_pending_links(conn: &Connection, links: &[(String, String)], now: DateTime<Utc>) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO snapshot_pending (url, sha256, noted_at) VALUES (?1, ?2, ?3)")?;
    for (url, sha) in links {
        stmt.execute(params![url, sha, ts(now)])?;
    }
    Ok(())
}

/// Links every noted URL whose post is now stored (and has no snapshot yet), then forgets the
/// notes that are settled or older than `stale_before` (their post was never stored: a duplicate
/// by content, or an item that left the feed). Returns how many posts were linked.
pub fn settle_pending_links(conn: &Connection, stale_before: DateTime<Utc>) -> Result<usize> {
    let linked = conn.execute(
        "INSERT OR IGNORE INTO post_snapshots (post_id, sha256)          SELECT p.id, n.sha256 FROM snapshot_pending n JOIN posts p ON p.url = n.url",
        [],
    )?;
    conn.execute(
        "DELETE FROM snapshot_pending WHERE noted_at < ?1 OR EXISTS (SELECT 1 FROM posts p WHERE p.url = snapshot_pending.url)",
        params![ts(stale_before)],
    )?;
    Ok(linked)
}

/// The snapshot of each of these posts that has one.
pub fn snapshots_of_posts(conn: &Connection, post_ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
    let mut out = std::collections::HashMap::new();
    let mut stmt = conn.prepare_cached("SELECT sha256 FROM post_snapshots WHERE post_id = ?1")?;
    for id in post_ids {
        if let Some(sha) = stmt.query_row(params![id], |r| r.get::<_, String>(0)).optional()? {
            out.insert(*id, sha);
        }
    }
    Ok(out)
}

/// The ids of stored posts with this (canonical) URL, oldest first.
pub fn posts_with_url(conn: &Connection, url: &str) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM posts WHERE url = ?1 ORDER BY id")?;
    let rows = stmt.query_map(params![url], |r| r.get::<_, i64>(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Deletes snapshots fetched before `before` that no incident references (through a post of one of
/// its stories); returns how many went. Files are removed after the rows.
pub fn prune_snapshots(conn: &Connection, dir: &Path, before: DateTime<Utc>) -> Result<usize> {
    let mut stmt = conn.prepare(
        "SELECT s.sha256 FROM snapshots s WHERE s.fetched_at < ?1 AND NOT EXISTS (
            SELECT 1 FROM post_snapshots ps JOIN posts p ON p.id = ps.post_id
            JOIN incident_stories i ON i.story_id = p.story_id WHERE ps.sha256 = s.sha256)",
    )?;
    let old: Vec<String> = stmt.query_map(params![ts(before)], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for sha in &old {
        let tx = crate::Work::begin(conn)?;
        tx.execute("DELETE FROM post_snapshots WHERE sha256 = ?1", params![sha])?;
        tx.execute("DELETE FROM snapshots WHERE sha256 = ?1", params![sha])?;
        tx.commit()?;
        remove_snapshot_file(dir, sha)?;
    }
    Ok(old.len())
}

/// The columns of a source state query, in the order [`state_record`] reads them.
pub(crate) const STATE_COLUMNS: &str =
    "etag, last_modified, last_attempt_at, last_success_at, consecutive_failures, last_error, alerted_at";

/// A source's state from a row of [`STATE_COLUMNS`], on either backend.
pub(crate) fn state_record(source_id: &str, r: &impl Cols) -> Result<SourceState> {
    Ok(SourceState {
        source_id: source_id.to_string(),
        etag: r.opt_text(0)?,
        last_modified: r.opt_text(1)?,
        last_attempt_at: r.opt_int(2)?.map(utc),
        last_success_at: r.opt_int(3)?.map(utc),
        consecutive_failures: r.int(4)?.clamp(0, u32::MAX as i64) as u32,
        last_error: r.opt_text(5)?,
        alerted_at: r.opt_int(6)?.map(utc),
    })
}

pub fn state(conn: &Connection, source_id: &str) -> Result<SourceState> {
    Ok(conn
        .query_row(
            &format!("SELECT {STATE_COLUMNS} FROM collect_state WHERE source_id = ?1"),
            params![source_id],
            |r| Ok(state_record(source_id, r)),
        )
        .optional()?
        .transpose()?
        .unwrap_or(SourceState { source_id: source_id.to_string(), ..Default::default() }))
}

pub fn put_state(conn: &Connection, s: &SourceState) -> Result<()> {
    conn.execute(
        "INSERT INTO collect_state (source_id, etag, last_modified, last_attempt_at, last_success_at, consecutive_failures, last_error, alerted_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(source_id) DO UPDATE SET etag = ?2, last_modified = ?3, last_attempt_at = ?4, last_success_at = ?5,
            consecutive_failures = ?6, last_error = ?7, alerted_at = ?8",
        params![
            s.source_id,
            s.etag,
            s.last_modified,
            s.last_attempt_at.map(ts),
            s.last_success_at.map(ts),
            s.consecutive_failures,
            s.last_error,
            s.alerted_at.map(ts)
        ],
    )?;
    Ok(())
}

/// How many fetches of each source the log keeps.
pub(crate) const FETCHES_KEPT: i64 = 1000;

pub fn record_fetch(conn: &Connection, f: &FetchRecord) -> Result<()> {
    conn.execute(
        "INSERT INTO collect_fetches (source_id, at, ok, status, millis, items, stored, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![f.source_id, ts(f.at), f.ok, f.status, f.millis as i64, f.items, f.stored, f.error],
    )?;
    // Keep the log bounded: the last 1000 fetches of each source.
    conn.execute(
        "DELETE FROM collect_fetches WHERE source_id = ?1 AND id <= (SELECT id FROM collect_fetches WHERE source_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        params![f.source_id, FETCHES_KEPT],
    )?;
    Ok(())
}

/// The columns of a fetches query, in the order [`fetch_record`] reads them.
pub(crate) const FETCH_COLUMNS: &str = "at, ok, status, millis, items, stored, error";

/// A fetch from a row of [`FETCH_COLUMNS`], on either backend.
pub(crate) fn fetch_record(source_id: &str, r: &impl Cols) -> Result<FetchRecord> {
    Ok(FetchRecord {
        source_id: source_id.to_string(),
        at: utc(r.int(0)?),
        ok: r.flag(1)?,
        status: r.opt_int(2)?.map(|s| s.clamp(0, u16::MAX as i64) as u16),
        millis: r.int(3)?.max(0) as u64,
        items: r.int(4)?.clamp(0, u32::MAX as i64) as u32,
        stored: r.int(5)?.clamp(0, u32::MAX as i64) as u32,
        error: r.opt_text(6)?,
    })
}

/// The latest fetches of a source, newest first.
pub fn fetches(conn: &Connection, source_id: &str, limit: usize) -> Result<Vec<FetchRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {FETCH_COLUMNS} FROM collect_fetches WHERE source_id = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![source_id, limit as i64], |r| Ok(fetch_record(source_id, r)))?;
    collect(rows)
}

/// The median of some fetch durations (the upper one of an even count), None of none.
pub(crate) fn median_of(mut times: Vec<u64>) -> Option<u64> {
    times.sort_unstable();
    times.get(times.len() / 2).copied()
}

pub fn health(conn: &Connection, source_id: &str, now: DateTime<Utc>) -> Result<SourceHealth> {
    let st = state(conn, source_id)?;
    let items_per_day: i64 = conn.query_row(
        "SELECT COALESCE(SUM(stored), 0) FROM collect_fetches WHERE source_id = ?1 AND at >= ?2",
        params![source_id, ts(now - Duration::days(1))],
        |r| r.get(0),
    )?;
    let times: Vec<u64> = fetches(conn, source_id, 50)?.into_iter().map(|f| f.millis).collect();
    Ok(SourceHealth {
        source_id: source_id.to_string(),
        last_success_at: st.last_success_at,
        consecutive_failures: st.consecutive_failures,
        last_error: st.last_error,
        items_per_day: items_per_day.max(0) as u64,
        median_fetch_ms: median_of(times),
    })
}

/// A source added at run time (by `yuqing sources add`): its id, whether enabled, its
/// configuration as TOML text (parsed by yuqing-collect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredSource {
    pub id: String,
    pub enabled: bool,
    pub config: String,
    pub added_by: String,
    pub added_at: DateTime<Utc>,
}

pub fn add_source(conn: &Connection, s: &StoredSource) -> Result<()> {
    conn.execute(
        "INSERT INTO collect_sources (id, enabled, config, added_by, added_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET enabled = ?2, config = ?3, added_by = ?4, added_at = ?5",
        params![s.id, s.enabled, s.config, s.added_by, ts(s.added_at)],
    )?;
    Ok(())
}

/// A stored source from a row of `id, enabled, config, added_by, added_at`, on either backend.
pub(crate) fn source_record(r: &impl Cols) -> Result<StoredSource> {
    Ok(StoredSource {
        id: r.text(0)?,
        enabled: r.flag(1)?,
        config: r.text(2)?,
        added_by: r.text(3)?,
        added_at: utc(r.int(4)?),
    })
}

pub fn sources(conn: &Connection) -> Result<Vec<StoredSource>> {
    let mut stmt = conn.prepare("SELECT id, enabled, config, added_by, added_at FROM collect_sources ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok(source_record(r)))?;
    collect(rows)
}

/// Disables (or enables) a source. A source from the configuration file that is not stored gets a
/// row that only carries the switch (empty `config`). Returns whether a row changed.
pub fn set_source_enabled(conn: &Connection, id: &str, enabled: bool, by: &str, now: DateTime<Utc>) -> Result<bool> {
    let n = conn.execute("UPDATE collect_sources SET enabled = ?2 WHERE id = ?1", params![id, enabled])?;
    if n == 0 {
        conn.execute(
            "INSERT INTO collect_sources (id, enabled, config, added_by, added_at) VALUES (?1, ?2, '', ?3, ?4)",
            params![id, enabled, by, ts(now)],
        )?;
    }
    Ok(true)
}

/// Whether a drop-folder file with these contents was read already.
pub fn file_done(conn: &Connection, sha256: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM collect_files WHERE sha256 = ?1", params![sha256], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn mark_file_done(conn: &Connection, path: &str, sha256: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "INSERT INTO collect_files (path, sha256, done_at) VALUES (?1, ?2, ?3) ON CONFLICT(path) DO UPDATE SET sha256 = ?2, done_at = ?3",
        params![path, sha256, ts(now)],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- one interface, two backends

/// Live collection's records on either backend: implemented by the SQLite connection
/// (`&Connection`, through the functions above) and by a PostgreSQL client or transaction
/// (`pg::collect`). Each method means what the function it names means (snapshot files are written
/// and removed under `dir` alike); on PostgreSQL several nodes may collect at once.
pub trait CollectTables {
    /// See [`put_snapshot`].
    fn put_snapshot(&mut self, dir: &Path, meta: &SnapshotMeta, bytes: &[u8]) -> Result<String>;
    /// See [`snapshot`].
    fn snapshot(&mut self, sha256: &str) -> Result<Option<SnapshotMeta>>;
    /// See [`link_posts`].
    fn link_posts(&mut self, post_ids: &[i64], sha256: &str) -> Result<usize>;
    /// See [`note_pending_links`].
    fn note_pending_links(&mut self, links: &[(String, String)], now: DateTime<Utc>) -> Result<()>;
    /// See [`settle_pending_links`].
    fn settle_pending_links(&mut self, stale_before: DateTime<Utc>) -> Result<usize>;
    /// See [`snapshots_of_posts`].
    fn snapshots_of_posts(&mut self, post_ids: &[i64]) -> Result<std::collections::HashMap<i64, String>>;
    /// See [`posts_with_url`].
    fn posts_with_url(&mut self, url: &str) -> Result<Vec<i64>>;
    /// See [`prune_snapshots`].
    fn prune_snapshots(&mut self, dir: &Path, before: DateTime<Utc>) -> Result<usize>;
    /// See [`state`].
    fn source_state(&mut self, source_id: &str) -> Result<SourceState>;
    /// See [`put_state`].
    fn put_source_state(&mut self, s: &SourceState) -> Result<()>;
    /// See [`record_fetch`].
    fn record_fetch(&mut self, f: &FetchRecord) -> Result<()>;
    /// See [`fetches`].
    fn fetches(&mut self, source_id: &str, limit: usize) -> Result<Vec<FetchRecord>>;
    /// See [`health`].
    fn source_health(&mut self, source_id: &str, now: DateTime<Utc>) -> Result<SourceHealth>;
    /// See [`add_source`].
    fn add_source(&mut self, s: &StoredSource) -> Result<()>;
    /// See [`sources`].
    fn sources(&mut self) -> Result<Vec<StoredSource>>;
    /// See [`set_source_enabled`].
    fn set_source_enabled(&mut self, id: &str, enabled: bool, by: &str, now: DateTime<Utc>) -> Result<bool>;
    /// See [`file_done`].
    fn file_done(&mut self, sha256: &str) -> Result<bool>;
    /// See [`mark_file_done`].
    fn mark_file_done(&mut self, path: &str, sha256: &str, now: DateTime<Utc>) -> Result<()>;
}

/// Implements [`CollectTables`] for each client type by calling the functions of the same names
/// where it is used: this module's on SQLite (below), `pg::collect`'s on PostgreSQL.
macro_rules! collect_tables_on {
    ($($client:ty),*) => {$(
        impl $crate::collect::CollectTables for $client {
            fn put_snapshot(&mut self, dir: &Path, meta: &SnapshotMeta, bytes: &[u8]) -> Result<String> {
                put_snapshot(self, dir, meta, bytes)
            }
            fn snapshot(&mut self, sha256: &str) -> Result<Option<SnapshotMeta>> {
                snapshot(self, sha256)
            }
            fn link_posts(&mut self, post_ids: &[i64], sha256: &str) -> Result<usize> {
                link_posts(self, post_ids, sha256)
            }
            fn note_pending_links(&mut self, links: &[(String, String)], now: DateTime<Utc>) -> Result<()> {
                note_pending_links(self, links, now)
            }
            fn settle_pending_links(&mut self, stale_before: DateTime<Utc>) -> Result<usize> {
                settle_pending_links(self, stale_before)
            }
            fn snapshots_of_posts(&mut self, post_ids: &[i64]) -> Result<std::collections::HashMap<i64, String>> {
                snapshots_of_posts(self, post_ids)
            }
            fn posts_with_url(&mut self, url: &str) -> Result<Vec<i64>> {
                posts_with_url(self, url)
            }
            fn prune_snapshots(&mut self, dir: &Path, before: DateTime<Utc>) -> Result<usize> {
                prune_snapshots(self, dir, before)
            }
            fn source_state(&mut self, source_id: &str) -> Result<SourceState> {
                state(self, source_id)
            }
            fn put_source_state(&mut self, s: &SourceState) -> Result<()> {
                put_state(self, s)
            }
            fn record_fetch(&mut self, f: &FetchRecord) -> Result<()> {
                record_fetch(self, f)
            }
            fn fetches(&mut self, source_id: &str, limit: usize) -> Result<Vec<FetchRecord>> {
                fetches(self, source_id, limit)
            }
            fn source_health(&mut self, source_id: &str, now: DateTime<Utc>) -> Result<SourceHealth> {
                health(self, source_id, now)
            }
            fn add_source(&mut self, s: &StoredSource) -> Result<()> {
                add_source(self, s)
            }
            fn sources(&mut self) -> Result<Vec<StoredSource>> {
                sources(self)
            }
            fn set_source_enabled(&mut self, id: &str, enabled: bool, by: &str, now: DateTime<Utc>) -> Result<bool> {
                set_source_enabled(self, id, enabled, by, now)
            }
            fn file_done(&mut self, sha256: &str) -> Result<bool> {
                file_done(self, sha256)
            }
            fn mark_file_done(&mut self, path: &str, sha256: &str, now: DateTime<Utc>) -> Result<()> {
                mark_file_done(self, path, sha256, now)
            }
        }
    )*};
}
pub(crate) use collect_tables_on;

collect_tables_on!(&Connection);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;

    fn t(s: i64) -> DateTime<Utc> {
        utc(1_780_000_000 + s)
    }

    #[test]
    fn a_link_noted_before_a_crash_is_settled_once_the_post_exists() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::SqliteStore::open(&dir.path().join("y.db")).unwrap();
        let c = store.connection();
        let now = Utc::now();
        note_pending_links(
            c,
            &[("https://bbs.example/1".into(), "a".repeat(64)), ("https://bbs.example/2".into(), "b".repeat(64))],
            now,
        )
        .unwrap();
        // Nothing stored yet: nothing to link, the notes stay.
        assert_eq!(settle_pending_links(c, now - Duration::days(7)).unwrap(), 0);
        let pending =
            |c: &Connection| c.query_row("SELECT COUNT(*) FROM snapshot_pending", [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(pending(c), 2);
        // The pipeline stored post 1 and the process died before linking it.
        c.execute(
            "INSERT INTO posts (id, story_id, dedup_key, content_hash, source, url, title, text, published_at, published_offset, \
             time_estimated, ingested_at, tier, reads, comments, reposts, likes, simhash, sentiment, sentiment_score, topics, hits, \
             severe_words, keywords, join_reason) VALUES (7, 1, 1, 1, 's', 'https://bbs.example/1', '', 't', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0.0, '[]', '[]', '[]', '[]', '')",
            [],
        )
        .unwrap();
        assert_eq!(settle_pending_links(c, now - Duration::days(7)).unwrap(), 1);
        assert_eq!(snapshots_of_posts(c, &[7]).unwrap()[&7], "a".repeat(64));
        assert_eq!(pending(c), 1, "the settled note is gone, the other waits");
        // A note whose post never comes is forgotten after the stale limit.
        settle_pending_links(c, now + Duration::seconds(1)).unwrap();
        assert_eq!(pending(c), 0);
    }

    #[test]
    fn snapshots_are_stored_once_by_content_and_pruned_unless_an_incident_needs_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("y.db")).unwrap();
        let conn = store.connection();
        let snaps = dir.path().join("snapshots");
        let meta = |url: &str, at| SnapshotMeta {
            sha256: String::new(),
            url: url.into(),
            final_url: url.into(),
            status: 200,
            content_type: Some("text/html".into()),
            fetched_at: at,
            size: 0,
            source_id: Some("s".into()),
        };
        let a = put_snapshot(conn, &snaps, &meta("http://a/1", t(0)), b"<html>one</html>").unwrap();
        let again = put_snapshot(conn, &snaps, &meta("http://a/2", t(5)), b"<html>one</html>").unwrap();
        assert_eq!(a, again);
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM snapshots", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 1);
        assert_eq!(std::fs::read(snapshot_path(&snaps, &a)).unwrap(), b"<html>one</html>");
        let b = put_snapshot(conn, &snaps, &meta("http://b/1", t(0)), b"<html>two</html>").unwrap();
        // Post 7 (story 3) came from snapshot b; story 3 is part of incident 1.
        link_posts(conn, &[7], &b).unwrap();
        conn.execute_batch(
            "INSERT INTO posts (id, story_id, dedup_key, content_hash, source, title, text, published_at, published_offset,
               time_estimated, ingested_at, tier, reads, comments, reposts, likes, simhash, sentiment, sentiment_score, topics,
               hits, severe_words, keywords, join_reason)
             VALUES (7, 3, 1, 1, 's', '', 'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '[]', '[]', '[]', '[]', '\"\"');
             INSERT INTO incidents (id, title, state, grade, opened_at, updated_at, data) VALUES (1, 't', 'open', 'II', 0, 0, '{}');
             INSERT INTO incident_stories (incident_id, story_id) VALUES (1, 3);",
        )
        .unwrap();
        let pruned = prune_snapshots(conn, &snaps, t(10)).unwrap();
        assert_eq!(pruned, 1);
        assert!(snapshot(conn, &a).unwrap().is_none());
        assert!(!snapshot_path(&snaps, &a).exists());
        assert!(snapshot(conn, &b).unwrap().is_some(), "an incident's evidence is kept");
        assert_eq!(snapshots_of_posts(conn, &[7]).unwrap().get(&7), Some(&b));
    }

    #[test]
    fn state_and_health_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("y.db")).unwrap();
        let conn = store.connection();
        assert_eq!(state(conn, "x").unwrap().consecutive_failures, 0);
        let s = SourceState {
            source_id: "x".into(),
            etag: Some("\"e1\"".into()),
            consecutive_failures: 3,
            last_error: Some("HTTP 500".into()),
            ..Default::default()
        };
        put_state(conn, &s).unwrap();
        assert_eq!(state(conn, "x").unwrap(), s);
        for (i, ms) in [30u64, 10, 20].into_iter().enumerate() {
            record_fetch(
                conn,
                &FetchRecord {
                    source_id: "x".into(),
                    at: t(i as i64),
                    ok: true,
                    status: Some(200),
                    millis: ms,
                    items: 2,
                    stored: 1,
                    error: None,
                },
            )
            .unwrap();
        }
        let h = health(conn, "x", t(100)).unwrap();
        assert_eq!(h.median_fetch_ms, Some(20));
        assert_eq!(h.items_per_day, 3);
        assert_eq!(h.consecutive_failures, 3);
    }
}
