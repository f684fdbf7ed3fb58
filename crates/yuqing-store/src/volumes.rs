//! 突增 (spike) counts: what rebuilding the hourly posts per watch rule and topic needs of the
//! recent posts, read when the pipeline opens. Nothing is written here: the posts are the truth.
//!
//! Invariant: read-only; rows are handed over one at a time, so 28 days of posts are never all in
//! memory at once.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use crate::sql::ts;
use crate::{Result, StoreError};

/// What a post brings to the hourly counts of its watch rules and topics.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumePost {
    /// Publication time, Unix seconds.
    pub at: i64,
    pub rules: Vec<String>,
    pub topics: Vec<String>,
    /// Title and text as stored, for the noise check (advertising does not count).
    pub title: String,
    pub text: String,
}

/// Posts stored per hour (hour index since the epoch, posts) published in `since..until`: which
/// hours had anything collected at all.
pub fn hourly_posts(conn: &Connection, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<(i64, u32)>> {
    // Floor division, also for times before 1970 (SQLite's `/` truncates toward zero).
    let mut stmt = conn.prepare_cached(
        "SELECT (published_at - ((published_at % 3600) + 3600) % 3600) / 3600 AS hour, COUNT(*) \
         FROM posts WHERE published_at >= ?1 AND published_at < ?2 GROUP BY hour",
    )?;
    let rows = stmt.query_map([ts(since), ts(until)], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (hour, n) = row?;
        out.push((hour, u32::try_from(n.max(0)).unwrap_or(u32::MAX)));
    }
    Ok(out)
}

/// Calls `f` with every post published in `since..until` that matched a watch rule or has a topic,
/// oldest id first.
pub fn for_each_keyed_post(
    conn: &Connection,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    mut f: impl FnMut(VolumePost),
) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT published_at, hits, topics, title, text FROM posts \
         WHERE published_at >= ?1 AND published_at < ?2 AND (hits <> '[]' OR topics <> '[]') ORDER BY id",
    )?;
    let mut rows = stmt.query([ts(since), ts(until)])?;
    while let Some(r) = rows.next()? {
        let hits: String = r.get(1)?;
        let topics: String = r.get(2)?;
        let hits: Vec<yuqing_core::Hit> = serde_json::from_str(&hits)
            .map_err(|e| StoreError::Corrupt { what: "posts.hits".into(), detail: e.to_string() })?;
        let topics: Vec<String> = serde_json::from_str(&topics)
            .map_err(|e| StoreError::Corrupt { what: "posts.topics".into(), detail: e.to_string() })?;
        f(VolumePost {
            at: r.get(0)?,
            rules: hits.into_iter().map(|h| h.rule).collect(),
            topics,
            title: r.get(3)?,
            text: r.get(4)?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_and_keyed_posts_come_back_from_the_posts_table() {
        let conn = Connection::open_in_memory().expect("db");
        conn.execute_batch(
            "CREATE TABLE posts (id INTEGER PRIMARY KEY, published_at INTEGER, hits TEXT, topics TEXT, title TEXT, text TEXT);
             INSERT INTO posts VALUES (1, 7200, '[]', '[]', '', '无关');
             INSERT INTO posts VALUES (2, 7300, '[{\"rule\":\"食品安全\",\"terms\":[\"过期\"]}]', '[\"食品药品\"]', '标题', '过期食品');
             INSERT INTO posts VALUES (3, -10, '[]', '[\"医疗\"]', '', '早');
             INSERT INTO posts VALUES (4, 100, '[]', '[\"医疗\"]', '', '凌晨');",
        )
        .expect("rows");
        let since = chrono::TimeZone::timestamp_opt(&Utc, -3600, 0).unwrap();
        let end = chrono::TimeZone::timestamp_opt(&Utc, 7300, 0).unwrap();
        let mut hours = hourly_posts(&conn, since, DateTime::<Utc>::MAX_UTC).expect("hours");
        hours.sort_unstable();
        assert_eq!(hours, vec![(-1, 1), (0, 1), (2, 2)]);
        let mut posts = Vec::new();
        for_each_keyed_post(&conn, since, DateTime::<Utc>::MAX_UTC, |p| posts.push(p)).expect("posts");
        assert_eq!(posts.len(), 3, "the post with neither rule nor topic is not read");
        assert_eq!(
            (posts[0].at, posts[0].rules.clone(), posts[0].topics.clone()),
            (7300, vec!["食品安全".to_string()], vec!["食品药品".to_string()])
        );
        let later = chrono::TimeZone::timestamp_opt(&Utc, 3600, 0).unwrap();
        assert_eq!(hourly_posts(&conn, later, DateTime::<Utc>::MAX_UTC).expect("hours"), vec![(2, 2)]);
        assert_eq!(hourly_posts(&conn, later, end).expect("hours"), vec![(2, 1)], "until is exclusive");
        let mut before_end = Vec::new();
        for_each_keyed_post(&conn, later, end, |p| before_end.push(p.at)).expect("posts");
        assert!(before_end.is_empty(), "{before_end:?}");
    }
}
