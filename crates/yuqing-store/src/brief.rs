//! The 研判摘要 of a stored story: its posts and heat read from the store, handed to the pure
//! [`yuqing_text::brief`]; and where a cited post is shown (its story and its place in the list).
//!
//! Invariant: reads only; authors are never read into the brief's input.

use rusqlite::{params, Connection, OptionalExtension};
use yuqing_text::brief::{brief, Brief, BriefPost};
use yuqing_text::Segmenter;

use crate::{story_heat, Result, Store};

/// Newest posts read for a brief; a larger story also gives its [`BRIEF_OLDEST`] oldest, so the
/// first sighting and how it began are in.
pub const BRIEF_NEWEST: usize = 1000;
pub const BRIEF_OLDEST: usize = 500;

/// The brief of story `story` (an empty brief when it has no posts).
pub fn story_brief(store: &dyn Store, seg: &Segmenter, story: i64) -> Result<Brief> {
    let page = store.story_posts(story, BRIEF_NEWEST, 0)?;
    let mut posts = page.items;
    let total = usize::try_from(page.total).unwrap_or(usize::MAX);
    if total > BRIEF_NEWEST {
        let offset = total.saturating_sub(BRIEF_OLDEST).max(BRIEF_NEWEST);
        posts.extend(store.story_posts(story, BRIEF_OLDEST, offset)?.items);
    }
    let heat = story_heat(store, story)?;
    // Advertisements and the like say nothing of the matter: left out of the brief's sentences and
    // representative posts (unless the story has nothing else).
    let commercial = |p: &&crate::PostRecord| {
        yuqing_text::noise::classify(&yuqing_text::matching_form(&p.title), &yuqing_text::matching_form(&p.text))
            .is_some_and(|k| k.is_commercial())
    };
    if posts.iter().any(|p| !commercial(&p)) {
        posts.retain(|p| !commercial(&p));
    }
    let input: Vec<BriefPost<'_>> = posts
        .iter()
        .map(|p| BriefPost {
            id: p.id,
            at: p.published_at,
            site: &p.source,
            tier: p.tier,
            title: &p.title,
            text: &p.text,
            sentiment: p.sentiment,
            score: p.sentiment_score,
        })
        .collect();
    let mut b = brief(seg, &input, &heat);
    b.posts_total = total.max(b.posts_total);
    Ok(b)
}

/// Where post `id` is listed: its story and how many of the story's posts come before it in the
/// story page's order (newest first). None when there is no such post.
pub fn post_place(conn: &Connection, id: i64) -> Result<Option<(i64, u64)>> {
    let Some((story, at)) = conn
        .query_row("SELECT story_id, published_at FROM posts WHERE id = ?1", [id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let before: i64 = conn.query_row(
        "SELECT COUNT(*) FROM posts WHERE story_id = ?1 AND (published_at > ?2 OR (published_at = ?2 AND id > ?3))",
        params![story, at, id],
        |r| r.get(0),
    )?;
    Ok(Some((story, before.max(0) as u64)))
}
