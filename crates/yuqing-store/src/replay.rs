//! Reading stored posts back as input, for a backtest (`yuqing backtest`, the 监测规则 page): the
//! posts of a time range as `PostInput`s, page by page, and the alerts and titles to compare with.
//!
//! Invariant: reads only — `open_read_only` gives a connection that cannot write, so a backtest
//! beside a running server never takes the data directory's lock or its writer's place.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, FixedOffset, Utc};
use rusqlite::{params, Connection, OpenFlags};
use yuqing_core::{Alert, Grade, Metrics, PostInput};

use crate::sql::{collect, ts, utc};
use crate::{Result, StoreError};

/// A stored post as it was handed to the pipeline, with where it ended up.
#[derive(Debug, Clone)]
pub struct ReplayPost {
    pub id: i64,
    pub story_id: i64,
    pub input: PostInput,
}

/// Opens `data_dir/yuqing.db` for reading only (it must exist).
pub fn open_read_only(data_dir: &Path) -> Result<Connection> {
    let path = data_dir.join("yuqing.db");
    if !path.exists() {
        return Err(StoreError::Io {
            path,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "数据目录中没有数据库（还没有导入过帖文？）"),
        });
    }
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// The smallest and largest id of the posts published in [since, until), if any.
pub fn id_range(conn: &Connection, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Option<(i64, i64)>> {
    let (lo, hi): (Option<i64>, Option<i64>) = conn.query_row(
        "SELECT MIN(id), MAX(id) FROM posts WHERE published_at >= ?1 AND published_at < ?2",
        params![ts(since), ts(until)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(lo.zip(hi))
}

/// Up to `limit` posts published in [since, until) with ids in (after, upto], in id order — the
/// order the pipeline took them in. Page on with the last id returned.
pub fn posts(
    conn: &Connection,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    after: i64,
    upto: i64,
    limit: usize,
) -> Result<Vec<ReplayPost>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, story_id, source, url, title, text, author, place, published_at, published_offset, tier, \
         reads, comments, reposts, likes FROM posts \
         WHERE id > ?1 AND id <= ?2 AND published_at >= ?3 AND published_at < ?4 ORDER BY id LIMIT ?5",
    )?;
    let rows = stmt.query_map(params![after, upto, ts(since), ts(until), limit.min(100_000) as i64], |r| {
        let offset: i32 = r.get(9)?;
        let tz = FixedOffset::east_opt(offset).unwrap_or_else(yuqing_core::china);
        let text = |i: usize| -> rusqlite::Result<Option<String>> {
            Ok(r.get::<_, Option<String>>(i)?.filter(|s| !s.is_empty()))
        };
        let count = |i: usize| -> rusqlite::Result<u64> { Ok(r.get::<_, i64>(i)?.max(0) as u64) };
        Ok(Ok(ReplayPost {
            id: r.get(0)?,
            story_id: r.get(1)?,
            input: PostInput {
                source: text(2)?,
                url: text(3)?,
                title: text(4)?,
                text: text(5)?,
                author: text(6)?,
                place: text(7)?,
                published_at: Some(utc(r.get(8)?).with_timezone(&tz)),
                tier: Some(yuqing_core::tracker::tier_from_index(r.get(10)?)),
                metrics: Metrics { reads: count(11)?, comments: count(12)?, reposts: count(13)?, likes: count(14)? },
            },
        }))
    })?;
    collect(rows)
}

/// Alerts raised at a time in [since, until), in the order raised.
pub fn alerts_between(conn: &Connection, since: DateTime<Utc>, until: DateTime<Utc>) -> Result<Vec<Alert>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, story_id, from_grade, to_grade, reasons, at FROM alerts WHERE at >= ?1 AND at < ?2 ORDER BY at, id",
    )?;
    let rows = stmt.query_map(params![ts(since), ts(until)], |r| {
        let (id, story_id, from, to, reasons, at): (i64, i64, Option<String>, String, String, i64) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?);
        Ok((|| -> Result<Alert> {
            let grade = |what: &str, s: &str| -> Result<Grade> {
                s.parse::<Grade>().map_err(|detail| StoreError::Corrupt { what: what.to_string(), detail })
            };
            Ok(Alert {
                id,
                story_id,
                from: from.as_deref().map(|f| grade("alerts.from_grade", f)).transpose()?,
                to: grade("alerts.to_grade", &to)?,
                reasons: serde_json::from_str(&reasons)
                    .map_err(|e| StoreError::Corrupt { what: "alerts.reasons".into(), detail: e.to_string() })?,
                at: utc(at),
            })
        })())
    })?;
    collect(rows)
}

/// The highest grade each of these stories had reached before `before` (those graded by then).
pub fn grades_before(conn: &Connection, stories: &[i64], before: DateTime<Utc>) -> Result<HashMap<i64, Grade>> {
    let mut stmt = conn.prepare_cached("SELECT to_grade FROM alerts WHERE story_id = ?1 AND at < ?2")?;
    let mut out = HashMap::new();
    for &s in stories {
        let rows = stmt.query_map(params![s, ts(before)], |r| r.get::<_, String>(0))?;
        for g in rows {
            // An unreadable grade is skipped: this only annotates the comparison.
            if let Ok(g) = g?.parse::<Grade>() {
                let best = out.entry(s).or_insert(g);
                *best = (*best).max(g);
            }
        }
    }
    Ok(out)
}

/// The titles of these stories (those that exist).
pub fn story_titles(conn: &Connection, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let mut stmt = conn.prepare_cached("SELECT title FROM stories WHERE id = ?1")?;
    let mut out = HashMap::new();
    for &id in ids {
        let mut rows = stmt.query([id])?;
        if let Some(r) = rows.next()? {
            out.insert(id, r.get(0)?);
        }
    }
    Ok(out)
}

/// (post id, story id) of every post of these stories.
pub fn story_members(conn: &Connection, stories: &[i64]) -> Result<Vec<(i64, i64)>> {
    let mut stmt = conn.prepare_cached("SELECT id, story_id FROM posts WHERE story_id = ?1 ORDER BY id")?;
    let mut out = Vec::new();
    for &s in stories {
        let rows = stmt.query_map([s], |r| Ok(Ok((r.get(0)?, r.get(1)?))))?;
        out.extend(collect::<_, rusqlite::Error>(rows)?);
    }
    Ok(out)
}

/// The latest publication time of any stored post.
pub fn latest_post_time(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = conn.query_row("SELECT MAX(published_at) FROM posts", [], |r| r.get(0))?;
    Ok(at.map(utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PostRecord, SqliteStore, Store, WriteBatch};

    fn record(id: i64, story: i64, at: &str, title: &str) -> PostRecord {
        let published = DateTime::parse_from_rfc3339(at).expect("time");
        PostRecord {
            id,
            story_id: story,
            dedup_key: id as u64,
            content_hash: id as u64,
            duplicate_of: None,
            source: if id == 2 { String::new() } else { "论坛".into() },
            url: Some(format!("https://bbs.example/{id}")),
            title: title.into(),
            text: format!("正文{id}"),
            author: None,
            place: Some("城南区".into()),
            published_at: published,
            time_estimated: false,
            ingested_at: published.with_timezone(&Utc),
            tier: yuqing_core::SourceTier::Provincial,
            metrics: Metrics { reads: 1, comments: 2, reposts: 3, likes: 4 },
            simhash: 0,
            sentiment: yuqing_core::Sentiment::Neutral,
            sentiment_score: 0.0,
            topics: Vec::new(),
            hits: Vec::new(),
            severe_words: Vec::new(),
            keywords: Vec::new(),
            join: yuqing_core::JoinReason::New,
        }
    }

    #[test]
    fn posts_of_a_range_come_back_as_input_in_id_order_page_by_page() {
        let dir = tempfile::tempdir().expect("dir");
        let mut store = SqliteStore::open(&dir.path().join("yuqing.db")).expect("store");
        let batch = WriteBatch {
            posts: vec![
                record(1, 1, "2020-02-09T23:59:59+08:00", "前一天"),
                record(2, 1, "2020-02-10T12:00:00+08:00", ""),
                record(3, 2, "2020-02-10T08:00:00+08:00", "早上"),
                record(4, 2, "2020-02-11T00:00:00+08:00", "后一天"),
            ],
            ..Default::default()
        };
        store.write(&batch).expect("write");
        drop(store);
        let conn = open_read_only(dir.path()).expect("read-only");
        let day = |s: &str| DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc);
        let (since, until) = (day("2020-02-10T00:00:00+08:00"), day("2020-02-11T00:00:00+08:00"));
        assert_eq!(id_range(&conn, since, until).expect("range"), Some((2, 3)));
        let first = posts(&conn, since, until, 0, 3, 1).expect("page");
        assert_eq!(first.iter().map(|p| p.id).collect::<Vec<_>>(), vec![2]);
        let p = &first[0].input;
        assert_eq!(
            (p.source.as_deref(), p.title.as_deref(), p.text.as_deref()),
            (None, None, Some("正文2")),
            "empty fields are absent"
        );
        assert_eq!(p.published_at.map(|t| t.to_rfc3339()).as_deref(), Some("2020-02-10T12:00:00+08:00"));
        assert_eq!(
            (p.tier, p.metrics.likes, p.place.as_deref()),
            (Some(yuqing_core::SourceTier::Provincial), 4, Some("城南区"))
        );
        let next = posts(&conn, since, until, 2, 3, 10).expect("next page");
        assert_eq!(next.iter().map(|p| (p.id, p.story_id)).collect::<Vec<_>>(), vec![(3, 2)]);
        assert_eq!(story_members(&conn, &[2]).expect("members"), vec![(3, 2), (4, 2)]);
        assert!(conn.execute("DELETE FROM posts", []).is_err(), "the connection only reads");
    }
}
