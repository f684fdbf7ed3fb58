//! 专题 (themes): long-running subjects such as 新冠疫情 or 复工复产 that hold many stories. A theme
//! is a named expression in the watch-rule language; a post matches it or not, and a story belongs
//! to a theme when at least `min_share` of its posts match. Themes never grade: grades, alerts and
//! incidents stay with stories.
//!
//! Stored as derived data beside the posts: `theme_posts` (which posts match which theme), written
//! in the same transaction as the posts, and `theme_stories` (per theme and story, how many of the
//! story's posts match), kept in step when posts arrive or move between stories by hand. When the
//! configured themes change, the caller matches every stored post again and [`rebuild`]s both
//! tables; the `theme_state` row records which definitions they were built for.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::sql::{collect, sql_offset, ts, utc};
use crate::sqlite::{story_from_row, STORY_COLUMNS};
use crate::{Page, Result, StoryRecord};

/// The share of a story's posts that must match a theme, unless the theme says otherwise.
pub const DEFAULT_MIN_SHARE: f64 = 0.3;

/// A theme as configured (`[[themes]]`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeDef {
    pub name: String,
    /// In the watch-rule language.
    pub expr: String,
    /// What the theme is about, for the officer (may be empty).
    pub description: String,
    /// A story belongs to the theme when at least this share of its posts match (0 < share ≤ 1).
    pub min_share: f64,
}

/// A post that matches a theme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemePost {
    pub theme: String,
    pub post: i64,
    pub story: i64,
}

/// What the stored theme tables were built for: the names and expressions, in order. Descriptions
/// and shares are read at query time, so changing them needs no rebuild.
pub fn fingerprint(defs: &[ThemeDef]) -> String {
    let pairs: Vec<(&str, &str)> = defs.iter().map(|d| (d.name.as_str(), d.expr.as_str())).collect();
    serde_json::to_string(&pairs).unwrap_or_default()
}

/// The fingerprint the stored tables were built for; None before the first build.
pub fn stored_fingerprint(conn: &Connection) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT fingerprint FROM theme_state WHERE id = 1", [], |r| r.get(0)).optional()?)
}

/// Records matches of newly stored posts (inside the transaction that stores them).
pub(crate) fn add_posts(tx: &Connection, matches: &[ThemePost]) -> Result<()> {
    if matches.is_empty() {
        return Ok(());
    }
    let mut post = tx.prepare_cached("INSERT OR IGNORE INTO theme_posts (theme, post_id) VALUES (?1, ?2)")?;
    let mut story = tx.prepare_cached(
        "INSERT INTO theme_stories (theme, story_id, matched) VALUES (?1, ?2, 1) \
         ON CONFLICT (theme, story_id) DO UPDATE SET matched = matched + 1",
    )?;
    for m in matches {
        if post.execute(params![m.theme, m.post])? == 1 {
            story.execute(params![m.theme, m.story])?;
        }
    }
    Ok(())
}

/// Counts the stories' matching posts again from `theme_posts` (after posts moved between them).
pub(crate) fn recount(tx: &Connection, stories: &[i64]) -> Result<()> {
    let mut delete = tx.prepare_cached("DELETE FROM theme_stories WHERE story_id = ?1")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO theme_stories (theme, story_id, matched) \
         SELECT t.theme, p.story_id, COUNT(*) FROM theme_posts t JOIN posts p ON p.id = t.post_id \
         WHERE p.story_id = ?1 GROUP BY t.theme",
    )?;
    for &s in stories {
        delete.execute([s])?;
        insert.execute([s])?;
    }
    Ok(())
}

/// Replaces both tables with `matches` (every stored post matched against `defs`), in one
/// transaction, and records what they were built for.
pub fn rebuild(conn: &Connection, defs: &[ThemeDef], matches: &[ThemePost], at: DateTime<Utc>) -> Result<()> {
    let tx = crate::Work::begin(conn)?;
    tx.execute("DELETE FROM theme_posts", [])?;
    tx.execute("DELETE FROM theme_stories", [])?;
    {
        let mut post = tx.prepare_cached("INSERT OR IGNORE INTO theme_posts (theme, post_id) VALUES (?1, ?2)")?;
        for m in matches {
            post.execute(params![m.theme, m.post])?;
        }
    }
    tx.execute(
        "INSERT INTO theme_stories (theme, story_id, matched) \
         SELECT t.theme, p.story_id, COUNT(*) FROM theme_posts t JOIN posts p ON p.id = t.post_id GROUP BY t.theme, p.story_id",
        [],
    )?;
    tx.execute(
        "INSERT INTO theme_state (id, fingerprint, built_at, posts) VALUES (1, ?1, ?2, ?3) \
         ON CONFLICT (id) DO UPDATE SET fingerprint = excluded.fingerprint, built_at = excluded.built_at, posts = excluded.posts",
        params![fingerprint(defs), ts(at), matches.len() as i64],
    )?;
    tx.commit()?;
    Ok(())
}

/// One theme at a glance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeSummary {
    pub name: String,
    pub description: String,
    pub expr: String,
    pub min_share: f64,
    /// Stories that belong to the theme (at least `min_share` of their posts match), of at least
    /// `min_posts` posts.
    pub stories: u64,
    /// Of those, graded (IV or above).
    pub graded: u64,
    /// Posts that match the theme (in any story).
    pub posts: u64,
    /// The latest post of its stories.
    pub last_at: Option<DateTime<Utc>>,
}

/// The membership condition on `theme_stories t` joined to `stories`: ?1 theme, ?2 share,
/// ?3 minimum posts.
const MEMBER: &str = "t.theme = ?1 AND t.matched >= ?2 * posts AND posts >= ?3";

/// Every configured theme with its counts, in configured order.
pub fn summaries(conn: &Connection, defs: &[ThemeDef], min_posts: u64) -> Result<Vec<ThemeSummary>> {
    let mut counts = conn.prepare_cached(&format!(
        "SELECT COUNT(*), COALESCE(SUM(grade_rank > 0), 0), MAX(last_at) FROM theme_stories t JOIN stories s ON s.id = t.story_id \
         WHERE {MEMBER}"
    ))?;
    let mut posts = conn.prepare_cached("SELECT COUNT(*) FROM theme_posts WHERE theme = ?1")?;
    let mut out = Vec::with_capacity(defs.len());
    for d in defs {
        let (stories, graded, last): (i64, i64, Option<i64>) = counts
            .query_row(params![d.name, d.min_share, min_posts.min(i64::MAX as u64) as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        let n: i64 = posts.query_row([&d.name], |r| r.get(0))?;
        out.push(ThemeSummary {
            name: d.name.clone(),
            description: d.description.clone(),
            expr: d.expr.clone(),
            min_share: d.min_share,
            stories: stories.max(0) as u64,
            graded: graded.max(0) as u64,
            posts: n.max(0) as u64,
            last_at: last.map(utc),
        });
    }
    Ok(out)
}

/// A story of a theme, with how many of its posts match the theme.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThemeStory {
    #[serde(flatten)]
    pub story: StoryRecord,
    pub matched: u64,
}

/// How a theme's stories are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeOrder {
    /// Highest grade first, then most posts.
    #[default]
    Grade,
    /// Latest post first.
    Recent,
}

/// The stories of a theme with at least `min_posts` posts, a page of them.
pub fn stories(
    conn: &Connection,
    def: &ThemeDef,
    min_posts: u64,
    order: ThemeOrder,
    limit: usize,
    offset: usize,
) -> Result<Page<ThemeStory>> {
    let args = params![def.name, def.min_share, min_posts.min(i64::MAX as u64) as i64];
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM theme_stories t JOIN stories s ON s.id = t.story_id WHERE {MEMBER}"),
        args,
        |r| r.get(0),
    )?;
    let order = match order {
        ThemeOrder::Grade => "grade_rank DESC, posts DESC, id DESC",
        ThemeOrder::Recent => "last_at DESC, id DESC",
    };
    let cols: Vec<String> = STORY_COLUMNS.split(',').map(|c| format!("s.{}", c.trim())).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {}, t.matched FROM theme_stories t JOIN stories s ON s.id = t.story_id WHERE {MEMBER} ORDER BY {order} LIMIT ?4 OFFSET ?5",
        cols.join(", ")
    ))?;
    let rows = stmt.query_map(
        params![
            def.name,
            def.min_share,
            min_posts.min(i64::MAX as u64) as i64,
            limit.min(1000) as i64,
            sql_offset(offset)
        ],
        |r| {
            let matched: i64 = r.get(21)?;
            Ok(story_from_row(r)?.map(|story| ThemeStory { story, matched: matched.max(0) as u64 }))
        },
    )?;
    Ok(Page { items: collect(rows)?, total: total.max(0) as u64 })
}

/// 1970-01-01 counted in days from 0001-01-01 (chrono's day numbers).
const UNIX_EPOCH_CE_DAY: i32 = 719_163;

/// Matching posts of a theme per day (in China time, UTC+8), oldest first.
pub fn daily(conn: &Connection, theme: &str) -> Result<Vec<(NaiveDate, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT (p.published_at + ?2) / 86400 AS d, COUNT(*) FROM theme_posts t JOIN posts p ON p.id = t.post_id \
         WHERE t.theme = ?1 GROUP BY d ORDER BY d",
    )?;
    let rows = stmt.query_map(rusqlite::params![theme, yuqing_core::CHINA_OFFSET_SECONDS], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (day, n) = row?;
        let date = i32::try_from(day)
            .ok()
            .and_then(|d| d.checked_add(UNIX_EPOCH_CE_DAY))
            .and_then(NaiveDate::from_num_days_from_ce_opt);
        if let Some(date) = date {
            out.push((date, n.max(0) as u64));
        }
    }
    Ok(out)
}

/// The themes a story belongs to, with its matching posts, most first (only configured themes,
/// with their own shares).
pub fn of_story(conn: &Connection, defs: &[ThemeDef], story: &StoryRecord) -> Result<Vec<(String, u64)>> {
    let mut stmt = conn.prepare_cached("SELECT theme, matched FROM theme_stories WHERE story_id = ?1")?;
    let rows = stmt.query_map([story.id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    for row in rows {
        let (theme, n) = row?;
        found.insert(theme, n.max(0) as u64);
    }
    let mut out: Vec<(String, u64)> = defs
        .iter()
        .filter_map(|d| {
            let n = *found.get(&d.name)?;
            (n as f64 >= d.min_share * story.posts as f64 && n > 0).then(|| (d.name.clone(), n))
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}
