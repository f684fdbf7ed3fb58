//! 地名 (places): the most specific places each post names, as codes (GB/T 2260; countries are
//! 1,000,000 + ISO numeric), beside the posts. Written in the posts' own transaction; derived, so
//! when the gazetteer changes the caller finds every stored post's places again and [`rebuild`]s
//! the table, and `place_state` records the gazetteer version it was built with. A story's places
//! follow its posts (a hand merge or split moves them with no extra work).

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::sql::ts;
use crate::Result;

/// A place a post names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostPlace {
    pub post: i64,
    pub code: u32,
}

/// The gazetteer version the stored table was built with; None before the first build.
pub fn stored_version(conn: &Connection) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT version FROM place_state WHERE id = 1", [], |r| r.get(0)).optional()?)
}

/// Records the places of newly stored posts (inside the transaction that stores them).
pub(crate) fn add_posts(tx: &Connection, places: &[PostPlace]) -> Result<()> {
    if places.is_empty() {
        return Ok(());
    }
    let mut insert = tx.prepare_cached("INSERT OR IGNORE INTO post_places (post_id, code) VALUES (?1, ?2)")?;
    for p in places {
        insert.execute(params![p.post, p.code])?;
    }
    Ok(())
}

/// Replaces the table with `places` (every stored post's places), in one transaction.
pub fn rebuild(conn: &Connection, version: &str, places: &[PostPlace], at: DateTime<Utc>) -> Result<()> {
    let tx = crate::Work::begin(conn)?;
    tx.execute("DELETE FROM post_places", [])?;
    add_posts(&tx, places)?;
    tx.execute(
        "INSERT INTO place_state (id, version, built_at, posts) VALUES (1, ?1, ?2, ?3) \
         ON CONFLICT (id) DO UPDATE SET version = excluded.version, built_at = excluded.built_at, posts = excluded.posts",
        params![version, ts(at), places.len() as i64],
    )?;
    tx.commit()?;
    Ok(())
}

/// The places a story's posts name: (post, place code) pairs.
pub fn of_story(conn: &Connection, story: i64) -> Result<Vec<(i64, u32)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT pp.post_id, pp.code FROM posts p JOIN post_places pp ON pp.post_id = p.id WHERE p.story_id = ?1",
    )?;
    let rows = stmt.query_map([story], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (post, code) = row?;
        if let Ok(code) = u32::try_from(code) {
            out.push((post, code));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;

    #[test]
    fn rebuild_replaces_and_records_the_version() {
        let dir = tempfile::tempdir().expect("dir");
        let store = SqliteStore::open(&dir.path().join("t.db")).expect("open");
        let conn = store.connection();
        assert_eq!(stored_version(conn).expect("version"), None);
        rebuild(conn, "v1", &[PostPlace { post: 1, code: 420115 }, PostPlace { post: 1, code: 420115 }], Utc::now())
            .expect("rebuild");
        assert_eq!(stored_version(conn).expect("version").as_deref(), Some("v1"));
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM post_places", [], |r| r.get(0)).expect("count");
        assert_eq!(n, 1, "a post names a place once");
        rebuild(conn, "v2", &[], Utc::now()).expect("rebuild");
        let n: i64 = conn.query_row("SELECT COUNT(*) FROM post_places", [], |r| r.get(0)).expect("count");
        assert_eq!((n, stored_version(conn).expect("v").as_deref()), (0, Some("v2")));
    }
}
