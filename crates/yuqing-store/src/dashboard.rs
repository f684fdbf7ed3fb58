//! What the 总览 dashboard shows, read in a few indexed queries: posts and negative share since a
//! time, volume by hour or day split by sentiment, top sources, open incidents by grade, overdue
//! clocks, recent hot stories and their topics. Time is an argument.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;

use yuqing_core::incident::Incident;

use crate::Result;

/// A cheap fingerprint of what the dashboard shows — the newest post and alert, the latest incident
/// change, the overdue count: it changes when any of them does.
pub fn version(conn: &Connection) -> Result<(i64, i64, i64, i64)> {
    let q = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    Ok((
        q("SELECT COALESCE(MAX(id), 0) FROM posts")?,
        q("SELECT COALESCE(MAX(id), 0) FROM alerts")?,
        q("SELECT COALESCE(MAX(updated_at), 0) FROM incidents")?,
        q("SELECT COUNT(*) FROM overdue")?,
    ))
}

/// Posts per bucket, split by sentiment (index: Negative, Neutral, Positive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VolumeBucket {
    pub start: DateTime<Utc>,
    pub counts: [u64; 3],
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub now: DateTime<Utc>,
    pub posts_today: u64,
    pub negative_today: u64,
    pub hourly: Vec<VolumeBucket>,
    pub daily: Vec<VolumeBucket>,
    pub top_sources: Vec<(String, u64)>,
    pub open_by_grade: Vec<(String, u64)>,
    pub open_incidents: u64,
    pub overdue_now: u64,
    pub overdue_recorded: u64,
}

/// Counts posts in `n` buckets of `width` seconds ending at the bucket holding `now`.
pub fn volume(
    conn: &Connection,
    now: DateTime<Utc>,
    width: i64,
    n: usize,
    offset_secs: i64,
) -> Result<Vec<VolumeBucket>> {
    // Buckets align to local time (days start at local midnight).
    let now_s = now.timestamp();
    let last_start = (now_s + offset_secs).div_euclid(width) * width - offset_secs;
    let first = last_start - width * (n as i64 - 1);
    let mut out: Vec<VolumeBucket> = (0..n)
        .map(|i| VolumeBucket {
            start: DateTime::from_timestamp(first + width * i as i64, 0).unwrap_or_default(),
            counts: [0; 3],
        })
        .collect();
    // One aggregate per bucket over the covering index: no sorting of a week of rows for GROUP BY.
    let mut st = conn.prepare_cached(
        "SELECT COALESCE(SUM(sentiment = 0), 0), COALESCE(SUM(sentiment = 1), 0), COALESCE(SUM(sentiment = 2), 0) \
         FROM posts WHERE published_at >= ?1 AND published_at < ?2",
    )?;
    for b in out.iter_mut() {
        let start = b.start.timestamp();
        let (n, u, p): (i64, i64, i64) =
            st.query_row(params![start, start + width], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        b.counts = [n.max(0) as u64, u.max(0) as u64, p.max(0) as u64];
    }
    Ok(out)
}

/// Everything the dashboard's numbers need, as of `now`; local day boundaries at `offset_secs`.
pub fn overview(conn: &Connection, now: DateTime<Utc>, offset_secs: i64) -> Result<Overview> {
    let hourly = volume(conn, now, 3600, 24, offset_secs)?;
    let daily = volume(conn, now, 86_400, 7, offset_secs)?;
    let today = daily.last().map(|b| b.counts).unwrap_or([0; 3]);
    let since = now.timestamp() - 86_400;
    let mut st = conn.prepare_cached(
        "SELECT source, COUNT(*) AS n FROM posts WHERE published_at >= ?1 AND published_at <= ?2 GROUP BY source ORDER BY n DESC, source LIMIT 10",
    )?;
    let top_sources = st
        .query_map(params![since, now.timestamp()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut st = conn.prepare_cached("SELECT grade, COUNT(*) FROM incidents WHERE state != 'Closed' GROUP BY grade")?;
    let mut open_by_grade = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let rank = |g: &str| ["I", "II", "III", "IV"].iter().position(|x| *x == g).unwrap_or(9);
    open_by_grade.sort_by_key(|(g, _)| rank(g));
    let open_incidents = open_by_grade.iter().map(|(_, n)| n).sum();
    // Open incidents are few (hundreds at most); their clocks are read from the aggregate.
    let mut st = conn.prepare_cached("SELECT data FROM incidents WHERE state != 'Closed'")?;
    let mut overdue_now = 0;
    for data in st.query_map([], |r| r.get::<_, String>(0))? {
        if let Ok(inc) = serde_json::from_str::<Incident>(&data?) {
            overdue_now += inc.deadlines.iter().filter(|d| !d.is_met() && d.due_at < now).count() as u64;
        }
    }
    let overdue_recorded: i64 = conn.query_row("SELECT COUNT(*) FROM overdue", [], |r| r.get(0))?;
    Ok(Overview {
        now,
        posts_today: today.iter().sum(),
        negative_today: today[0],
        hourly,
        daily,
        top_sources,
        open_by_grade,
        open_incidents,
        overdue_now,
        overdue_recorded: overdue_recorded as u64,
    })
}

/// Topic counts over the given stories' topic tallies.
pub fn topic_totals(stories: &[crate::StoryRecord]) -> Vec<(String, u64)> {
    let mut m: HashMap<&str, u64> = HashMap::new();
    for s in stories {
        for (t, n) in &s.topics {
            *m.entry(t.as_str()).or_default() += n;
        }
    }
    let mut v: Vec<(String, u64)> = m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.truncate(10);
    v
}

/// At most this many posts of a window are read for its pictures (the newest); a window holding
/// more says so ([`Pictures::capped`]).
pub const PICTURE_POSTS: usize = 50_000;

/// What the dashboard's pictures count over a time window: the places its posts name and the
/// stories they belong to. Noise posts (advertising, lotteries, horoscopes, marketing, bare
/// reposts; `yuqing_text::noise`) are left out of both, as they are out of grading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pictures {
    /// (post, place code) pairs of the window's posts that are not noise.
    pub places: Vec<(i64, u32)>,
    /// Stories with posts in the window: (story, its posts in the window that are not noise, its
    /// keywords), most posts first.
    pub stories: Vec<(i64, u64, Vec<String>)>,
    /// Posts read, and how many of them were noise.
    pub posts: u64,
    pub noise: u64,
    /// The window held more than [`PICTURE_POSTS`] posts; the newest were counted.
    pub capped: bool,
}

/// Reads the pictures' counts for posts published in `[since, until]`, at most `cap` posts (the
/// newest). Three range reads over indexes: posts by `published_at`, their places by post, and
/// stories by `last_at` (a story with a post in the window was last active in it or later).
pub fn pictures(conn: &Connection, since: DateTime<Utc>, until: DateTime<Utc>, cap: usize) -> Result<Pictures> {
    pictures_with(conn, since, until, cap, &mut NoiseCache::default())
}

/// Noise verdicts of posts already classified. A post's title and text never change, so a verdict
/// never goes stale; the cache keeps only the posts of the last window read, so it is never larger
/// than one window (at most [`PICTURE_POSTS`]). Classifying is most of the pictures' cost: the
/// dashboard, redrawn after every change, classifies only the posts new since the last time.
#[derive(Debug, Default)]
pub struct NoiseCache {
    verdicts: HashMap<i64, bool>,
}

/// [`pictures`], classifying only the posts `cache` has not seen.
pub fn pictures_with(
    conn: &Connection,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    cap: usize,
    cache: &mut NoiseCache,
) -> Result<Pictures> {
    let (from, to) = (since.timestamp(), until.timestamp());
    let mut st = conn.prepare_cached(
        "SELECT id, story_id, title, text, published_at, join_reason FROM posts WHERE published_at >= ?1 AND published_at <= ?2 ORDER BY published_at DESC LIMIT ?3",
    )?;
    let limit = i64::try_from(cap).unwrap_or(i64::MAX).saturating_add(1);
    let mut rows = st.query(params![from, to, limit])?;
    let mut out = Pictures::default();
    let mut kept: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut per_story: HashMap<i64, u64> = HashMap::new();
    // When capped, the places are read from the oldest post counted on.
    let mut oldest = from;
    let mut verdicts: HashMap<i64, bool> = HashMap::with_capacity(cache.verdicts.len());
    while let Some(r) = rows.next()? {
        let (id, story, at): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(4)?);
        if out.posts as usize == cap {
            out.capped = true;
            oldest = at;
            break;
        }
        out.posts += 1;
        let noise = match cache.verdicts.get(&id) {
            Some(v) => *v,
            None => {
                let title: String = r.get(2)?;
                let text: String = r.get(3)?;
                // A reason that does not parse is not a copy's: the post is judged by its words.
                let join: yuqing_core::JoinReason =
                    serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or(yuqing_core::JoinReason::New);
                yuqing_text::noise::of_stored(
                    &yuqing_text::matching_form(&title),
                    &yuqing_text::matching_form(&text),
                    &join,
                )
                .is_some()
            }
        };
        verdicts.insert(id, noise);
        if noise {
            out.noise += 1;
            continue;
        }
        kept.insert(id);
        *per_story.entry(story).or_default() += 1;
    }
    drop(rows);
    cache.verdicts = verdicts;
    let mut st = conn.prepare_cached(
        "SELECT pp.post_id, pp.code FROM posts p JOIN post_places pp ON pp.post_id = p.id WHERE p.published_at >= ?1 AND p.published_at <= ?2",
    )?;
    for row in st.query_map(params![oldest, to], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))? {
        let (post, code) = row?;
        if let (true, Ok(code)) = (kept.contains(&post), u32::try_from(code)) {
            out.places.push((post, code));
        }
    }
    // Stories marked 误报 give the cloud no words (their posts still count where they are).
    let mut st = conn.prepare_cached(&format!(
        "SELECT id, keywords FROM stories WHERE last_at >= ?1 AND {}",
        crate::false_alarm::NOT_MARKED
    ))?;
    for row in st.query_map(params![oldest], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (id, keywords) = row?;
        if let Some(n) = per_story.get(&id) {
            // A story whose keywords cannot be read still counts, without words.
            let keywords: Vec<String> = serde_json::from_str(&keywords).unwrap_or_default();
            out.stories.push((id, *n, keywords));
        }
    }
    out.stories.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;
    use chrono::TimeZone;

    #[test]
    fn volume_buckets_align_to_local_days_and_split_sentiment() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let c = store.connection();
        // 2026-11-20 09:30 China time = 01:30 UTC.
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 1, 30, 0).unwrap();
        let insert = |id: i64, at: DateTime<Utc>, sentiment: i64, source: &str| {
            c.execute(
                "INSERT INTO posts (id, story_id, dedup_key, content_hash, source, title, text, published_at, published_offset, \
                 time_estimated, ingested_at, tier, reads, comments, reposts, likes, simhash, sentiment, sentiment_score, topics, hits, \
                 severe_words, keywords, join_reason) VALUES (?1, 1, ?1, 0, ?4, '', 't', ?2, 28800, 0, ?2, 0, 0, 0, 0, 0, 0, ?3, 0, '[]', '[]', '[]', '[]', 'new')",
                params![id, at.timestamp(), sentiment, source],
            )
            .unwrap();
        };
        insert(1, now, 0, "微博"); // today, negative
        insert(2, now - chrono::Duration::hours(2), 1, "微博"); // 07:30 local: today
        insert(3, now - chrono::Duration::hours(10), 2, "论坛"); // 23:30 yesterday local
        let o = overview(c, now, 8 * 3600).unwrap();
        assert_eq!(o.posts_today, 2);
        assert_eq!(o.negative_today, 1);
        assert_eq!(o.daily.len(), 7);
        assert_eq!(o.daily[5].counts, [0, 0, 1]);
        assert_eq!(o.hourly.iter().map(|b| b.counts.iter().sum::<u64>()).sum::<u64>(), 3);
        assert_eq!(o.top_sources[0], ("微博".to_string(), 2));
        assert_eq!(o.daily[6].start, Utc.with_ymd_and_hms(2026, 11, 19, 16, 0, 0).unwrap());
    }

    #[test]
    fn pictures_count_posts_in_the_window_and_leave_noise_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let c = store.connection();
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 1, 30, 0).unwrap();
        let post = |id: i64, story: i64, at: DateTime<Utc>, text: &str| {
            c.execute(
                "INSERT INTO posts (id, story_id, dedup_key, content_hash, source, title, text, published_at, published_offset, \
                 time_estimated, ingested_at, tier, reads, comments, reposts, likes, simhash, sentiment, sentiment_score, topics, hits, \
                 severe_words, keywords, join_reason) VALUES (?1, ?2, ?1, 0, 's', '', ?4, ?3, 28800, 0, ?3, 0, 0, 0, 0, 0, 0, 1, 0, '[]', '[]', '[]', '[]', 'new')",
                params![id, story, at.timestamp(), text],
            )
            .unwrap();
        };
        let story = |id: i64, last: DateTime<Utc>, keywords: &str| {
            c.execute(
                "INSERT INTO stories (id, status, title, keywords, first_at, last_at, grade_rank, reasons, posts, sites, max_tier, interactions, \
                 negative_share, rule_hits, topics, severe_words, centroid, index_terms, updated_at) \
                 VALUES (?1, 'Open', 't', ?3, ?2, ?2, 0, '[]', 1, 1, 0, 0, 0, '[]', '[]', '[]', '[]', '[]', ?2)",
                params![id, last.timestamp(), keywords],
            )
            .unwrap();
        };
        let h = chrono::Duration::hours;
        post(1, 1, now - h(1), "武汉江夏区医院排队");
        post(2, 1, now - h(2), "武汉医院排队");
        post(3, 2, now - h(3), "武汉口罩包邮，领券下单立减");
        post(4, 3, now - h(30), "郑州医院");
        story(1, now - h(1), r#"["医院","排队"]"#);
        story(2, now - h(3), r#"["口罩","包邮"]"#);
        story(3, now - h(30), r#"["郑州"]"#);
        c.execute(
            "INSERT INTO post_places (post_id, code) VALUES (1, 420115), (2, 420100), (3, 420100), (4, 410100)",
            [],
        )
        .unwrap();

        let p = pictures(c, now - h(24), now, 100).unwrap();
        assert_eq!((p.posts, p.noise, p.capped), (3, 1, false));
        let mut places = p.places.clone();
        places.sort();
        assert_eq!(places, vec![(1, 420115), (2, 420100)], "the advertisement and yesterday's post are out");
        assert_eq!(p.stories, vec![(1, 2, vec!["医院".to_string(), "排队".to_string()])]);

        // A second read through a cache that has seen the posts gives the same counts.
        let mut cache = NoiseCache::default();
        let first = pictures_with(c, now - h(24), now, 100, &mut cache).unwrap();
        assert_eq!(cache.verdicts.len(), 3);
        assert_eq!(pictures_with(c, now - h(24), now, 100, &mut cache).unwrap(), first);
        assert_eq!(first.noise, 1);

        let p = pictures(c, now - h(24), now, 1).unwrap();
        assert_eq!((p.posts, p.capped, p.places.clone()), (1, true, vec![(1, 420115)]), "the newest post only");
        assert_eq!(p.stories, vec![(1, 1, vec!["医院".to_string(), "排队".to_string()])]);
    }
}
