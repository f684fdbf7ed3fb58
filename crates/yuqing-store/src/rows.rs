//! Rows to records, once for both backends: a post, a story and an alert are read from a row by
//! column position through [`Cols`], which the SQLite and the PostgreSQL row types implement, so
//! the two stores cannot disagree on what a stored value means.

use chrono::FixedOffset;
use serde::de::DeserializeOwned;
use yuqing_core::{Alert, Grade, Metrics, Sentiment, StoryStatus};

use crate::records::{PostRecord, Stats, StoryOrder, StoryQuery, StoryRecord};
use crate::sql::utc;
use crate::{Result, StoreError};

/// The columns shared by every posts query, in the order [`post`] reads them.
pub(crate) const POST_COLUMNS: &str =
    "id, story_id, dedup_key, content_hash, duplicate_of, source, url, title, text, author, place, \
    published_at, published_offset, time_estimated, ingested_at, tier, reads, comments, reposts, likes, simhash, \
    sentiment, sentiment_score, topics, hits, severe_words, keywords, join_reason";

/// The columns shared by every stories query, in the order [`story`] reads them.
pub(crate) const STORY_COLUMNS: &str = "id, status, title, keywords, first_at, last_at, grade, reasons, manual_grade, manual_reason, \
    posts, sites, max_tier, interactions, negative_share, rule_hits, topics, severe_words, centroid, updated_at, index_terms";

/// The columns of an alerts query, in the order [`alert`] reads them.
/// The condition of [`crate::Store::tagged_texts_since`]: a `#` in the title or the text.
pub(crate) const TAGGED: &str = " AND (text LIKE '%#%' OR text LIKE '%＃%' OR title LIKE '%#%' OR title LIKE '%＃%')";
/// The columns of a [`crate::RecentPost`].
pub(crate) const RECENT_POST_COLUMNS: &str = "id, published_at, title, text, source";

pub(crate) const ALERT_COLUMNS: &str = "id, story_id, from_grade, to_grade, reasons, at";

/// A result row read by column position. Integers are 64-bit on both backends (SQLite INTEGER,
/// PostgreSQL BIGINT), flags are SQLite 0/1 or PostgreSQL BOOLEAN, reals are doubles.
pub(crate) trait Cols {
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn real(&self, i: usize) -> Result<f64>;
    fn flag(&self, i: usize) -> Result<bool>;
}

impl Cols for rusqlite::Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }
    fn real(&self, i: usize) -> Result<f64> {
        Ok(self.get(i)?)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.get(i)?)
    }
}

impl Cols for postgres::Row {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.try_get(i)?)
    }
    fn text(&self, i: usize) -> Result<String> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }
    fn real(&self, i: usize) -> Result<f64> {
        Ok(self.try_get(i)?)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.try_get(i)?)
    }
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_string())
}

pub(crate) fn parse<T: DeserializeOwned>(what: &str, s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt { what: what.to_string(), detail: e.to_string() })
}

/// The sort key of a grade: 0 ungraded, 1 = IV … 4 = I.
pub(crate) fn grade_rank(g: Option<Grade>) -> i64 {
    g.map_or(0, |g| g as i64 + 1)
}

pub(crate) fn parse_grade(what: &str, s: Option<String>) -> Result<Option<Grade>> {
    match s {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|detail| StoreError::Corrupt { what: what.to_string(), detail }),
    }
}

/// A story listing's WHERE clause, ORDER BY and row limit, the same on both backends. Built from
/// numbers and fixed words only, so it binds no parameters.
pub(crate) fn story_listing(q: &StoryQuery) -> (String, &'static str, usize) {
    let mut conds: Vec<String> = Vec::new();
    if let Some(s) = q.status {
        conds.push(format!("status = '{}'", s.as_str()));
    }
    if let Some(g) = q.min_grade {
        conds.push(format!("grade_rank >= {}", grade_rank(Some(g))));
    } else if q.graded_only {
        conds.push("grade_rank > 0".to_string());
    }
    // A story marked 误报 is not among the graded ones (it is listed with all stories).
    if q.min_grade.is_some() || q.graded_only {
        conds.push(crate::false_alarm::NOT_MARKED.to_string());
    }
    if q.min_posts > 0 {
        conds.push(format!("posts >= {}", q.min_posts.min(i64::MAX as u64)));
    }
    let sql_where = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    let order = match q.order {
        StoryOrder::Grade => "grade_rank DESC, posts DESC, id DESC",
        StoryOrder::Recent => "last_at DESC, id DESC",
        StoryOrder::Posts => "posts DESC, id DESC",
    };
    let limit = if q.limit == 0 { 50 } else { q.limit.min(1000) };
    (sql_where, order, limit)
}

/// The queries behind [`Stats`], the same on both backends: posts (count, negative, first and
/// last publication), stories (count, open), alerts (count), and graded stories not marked 误报
/// (grade, count).
pub(crate) const STATS_POSTS: &str = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN sentiment = 0 THEN 1 ELSE 0 END), 0), \
    MIN(published_at), MAX(published_at) FROM posts";
pub(crate) const STATS_STORIES: &str =
    "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'Open' THEN 1 ELSE 0 END), 0) FROM stories";
pub(crate) const STATS_ALERTS: &str = "SELECT COUNT(*) FROM alerts";
pub(crate) fn stats_grades_sql() -> String {
    format!(
        "SELECT grade, COUNT(*) FROM stories WHERE grade IS NOT NULL AND {} GROUP BY grade",
        crate::false_alarm::NOT_MARKED
    )
}

/// What the [`Stats`] queries answered, as stored.
#[derive(Debug, Default)]
pub(crate) struct StatCounts {
    pub posts: i64,
    pub negative: i64,
    pub first: Option<i64>,
    pub last: Option<i64>,
    pub stories: i64,
    pub open: i64,
    pub alerts: i64,
    /// (grade as stored, stories): a grade this program does not know is left out.
    pub grades: Vec<(String, i64)>,
}

impl StatCounts {
    /// The stats: counts as unsigned numbers, grades highest first, times in UTC.
    pub(crate) fn stats(self) -> Stats {
        let mut graded: Vec<(Grade, u64)> =
            self.grades.into_iter().filter_map(|(g, n)| g.parse::<Grade>().ok().map(|g| (g, count(n)))).collect();
        graded.sort_by_key(|g| std::cmp::Reverse(g.0));
        Stats {
            posts: count(self.posts),
            stories: count(self.stories),
            open_stories: count(self.open),
            graded,
            alerts: count(self.alerts),
            negative_posts: count(self.negative),
            first_post_at: self.first.map(utc),
            last_post_at: self.last.map(utc),
        }
    }
}

/// A stored count back as an unsigned number (a negative value, which no writer stores, is 0).
fn count(v: i64) -> u64 {
    v.max(0) as u64
}

/// A post from a row of [`POST_COLUMNS`].
pub(crate) fn post(row: &impl Cols) -> Result<PostRecord> {
    let offset = i32::try_from(row.int(12)?).unwrap_or(0);
    let tz = FixedOffset::east_opt(offset).unwrap_or_else(yuqing_core::china);
    Ok(PostRecord {
        id: row.int(0)?,
        story_id: row.int(1)?,
        dedup_key: row.int(2)? as u64,
        content_hash: row.int(3)? as u64,
        duplicate_of: row.opt_int(4)?,
        source: row.text(5)?,
        url: row.opt_text(6)?,
        title: row.text(7)?,
        text: row.text(8)?,
        author: row.opt_text(9)?,
        place: row.opt_text(10)?,
        published_at: utc(row.int(11)?).with_timezone(&tz),
        time_estimated: row.flag(13)?,
        ingested_at: utc(row.int(14)?),
        tier: yuqing_core::tracker::tier_from_index(row.int(15)?),
        metrics: Metrics {
            reads: count(row.int(16)?),
            comments: count(row.int(17)?),
            reposts: count(row.int(18)?),
            likes: count(row.int(19)?),
        },
        simhash: row.int(20)? as u64,
        sentiment: Sentiment::from_index(row.int(21)?.clamp(0, 2) as usize).unwrap_or(Sentiment::Neutral),
        sentiment_score: row.real(22)? as f32,
        topics: parse("posts.topics", &row.text(23)?)?,
        hits: parse("posts.hits", &row.text(24)?)?,
        severe_words: parse("posts.severe_words", &row.text(25)?)?,
        keywords: parse("posts.keywords", &row.text(26)?)?,
        join: parse("posts.join_reason", &row.text(27)?)?,
    })
}

/// A story from a row of [`STORY_COLUMNS`].
pub(crate) fn story(row: &impl Cols) -> Result<StoryRecord> {
    let manual = parse_grade("stories.manual_grade", row.opt_text(8)?)?
        .map(|g| -> Result<(Grade, String)> { Ok((g, row.opt_text(9)?.unwrap_or_default())) })
        .transpose()?;
    let centroid: Vec<(String, f32)> = parse("stories.centroid", &row.text(18)?)?;
    let index_terms: Vec<String> = parse("stories.index_terms", &row.text(20)?)?;
    Ok(StoryRecord {
        id: row.int(0)?,
        status: if row.text(1)? == "Closed" { StoryStatus::Closed } else { StoryStatus::Open },
        title: row.text(2)?,
        keywords: parse("stories.keywords", &row.text(3)?)?,
        first_at: utc(row.int(4)?),
        last_at: utc(row.int(5)?),
        grade: parse_grade("stories.grade", row.opt_text(6)?)?,
        reasons: parse("stories.reasons", &row.text(7)?)?,
        manual,
        posts: count(row.int(10)?),
        sites: u32::try_from(count(row.int(11)?)).unwrap_or(u32::MAX),
        max_tier: yuqing_core::tracker::tier_from_index(row.int(12)?),
        interactions: count(row.int(13)?),
        negative_share: row.real(14)? as f32,
        rule_hits: parse("stories.rule_hits", &row.text(15)?)?,
        topics: parse("stories.topics", &row.text(16)?)?,
        severe_words: parse("stories.severe_words", &row.text(17)?)?,
        // Term hashes are stored as decimal strings: JSON numbers would lose u64 precision.
        centroid: centroid.into_iter().filter_map(|(t, w)| t.parse::<u64>().ok().map(|t| (t, w))).collect(),
        index_terms: index_terms.iter().filter_map(|t| t.parse::<u64>().ok()).collect(),
        updated_at: utc(row.int(19)?),
    })
}

/// An alert from a row of [`ALERT_COLUMNS`].
pub(crate) fn alert(row: &impl Cols) -> Result<Alert> {
    Ok(Alert {
        id: row.int(0)?,
        story_id: row.int(1)?,
        from: parse_grade("alerts.from_grade", row.opt_text(2)?)?,
        to: parse_grade("alerts.to_grade", Some(row.text(3)?))?.unwrap_or(Grade::IV),
        reasons: parse("alerts.reasons", &row.text(4)?)?,
        at: utc(row.int(5)?),
    })
}

/// The values of a story's row, in [`STORY_COLUMNS`] order and then `grade_rank`, as the writers
/// of both backends bind them.
pub(crate) struct StoryValues {
    pub status: &'static str,
    pub keywords: String,
    pub first_at: i64,
    pub last_at: i64,
    pub grade: Option<&'static str>,
    pub reasons: String,
    pub manual_grade: Option<&'static str>,
    pub posts: i64,
    pub sites: i64,
    pub max_tier: i64,
    pub interactions: i64,
    pub negative_share: f64,
    pub rule_hits: String,
    pub topics: String,
    pub severe_words: String,
    pub centroid: String,
    pub updated_at: i64,
    pub index_terms: String,
    pub grade_rank: i64,
}

impl StoryValues {
    pub(crate) fn of(s: &StoryRecord) -> StoryValues {
        let centroid: Vec<(String, f32)> = s.centroid.iter().map(|(t, w)| (t.to_string(), *w)).collect();
        let index_terms: Vec<String> = s.index_terms.iter().map(|t| t.to_string()).collect();
        StoryValues {
            status: s.status.as_str(),
            keywords: json(&s.keywords),
            first_at: s.first_at.timestamp(),
            last_at: s.last_at.timestamp(),
            grade: s.grade.map(|g| g.as_str()),
            reasons: json(&s.reasons),
            manual_grade: s.manual.as_ref().map(|(g, _)| g.as_str()),
            posts: s.posts.min(i64::MAX as u64) as i64,
            sites: i64::from(s.sites),
            max_tier: s.max_tier.index() as i64,
            interactions: s.interactions.min(i64::MAX as u64) as i64,
            negative_share: f64::from(s.negative_share),
            rule_hits: json(&s.rule_hits),
            topics: json(&s.topics),
            severe_words: json(&s.severe_words),
            centroid: json(&centroid),
            updated_at: s.updated_at.timestamp(),
            index_terms: json(&index_terms),
            grade_rank: grade_rank(s.grade),
        }
    }
}

/// The values of a post's row that need converting, as the writers of both backends bind them.
pub(crate) struct PostValues {
    pub published_at: i64,
    pub published_offset: i64,
    pub ingested_at: i64,
    pub tier: i64,
    pub reads: i64,
    pub comments: i64,
    pub reposts: i64,
    pub likes: i64,
    pub sentiment: i64,
    pub topics: String,
    pub hits: String,
    pub severe_words: String,
    pub keywords: String,
    pub join: String,
}

impl PostValues {
    pub(crate) fn of(p: &PostRecord) -> PostValues {
        let n = |v: u64| v.min(i64::MAX as u64) as i64;
        PostValues {
            published_at: p.published_at.timestamp(),
            published_offset: i64::from(p.published_at.offset().local_minus_utc()),
            ingested_at: p.ingested_at.timestamp(),
            tier: p.tier.index() as i64,
            reads: n(p.metrics.reads),
            comments: n(p.metrics.comments),
            reposts: n(p.metrics.reposts),
            likes: n(p.metrics.likes),
            sentiment: p.sentiment.index() as i64,
            topics: json(&p.topics),
            hits: json(&p.hits),
            severe_words: json(&p.severe_words),
            keywords: json(&p.keywords),
            join: json(&p.join),
        }
    }
}
