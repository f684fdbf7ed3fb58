//! Stories merged or split by hand (合并 / 拆分): the change to posts, stories, alerts and incident
//! links, its record (who, when, why) and its audit entry, all in one transaction.
//!
//! A merge moves every post, alert and incident link of the merged story to the story it joins,
//! and removes the merged story's row; `story_edits` keeps its id, title and keywords, so a link to
//! it ([`redirect`]) leads to the story it joined. A split moves chosen posts into a new story.
//! The stories' new records (counts, grades, cores) are computed by the caller, which owns the
//! assembly state; this module only writes them.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::sql::{collect, ts, utc};
use crate::sqlite::{insert_alerts, upsert_stories};
use crate::{NewAlert, Result, SqliteStore, StoreError, StoryRecord};

/// What kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EditKind {
    /// `other` was merged into `story`.
    Merge,
    /// `posts` were moved out of `story` into the new story `other`.
    Split,
}

impl EditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EditKind::Merge => "merge",
            EditKind::Split => "split",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            EditKind::Merge => "合并",
            EditKind::Split => "拆分",
        }
    }
}

/// One change, to be applied.
#[derive(Debug, Clone)]
pub struct StoryEdit {
    pub kind: EditKind,
    /// Merge: the story kept. Split: the story the posts leave.
    pub story: i64,
    /// Merge: the story merged away. Split: the new story.
    pub other: i64,
    /// Split: the posts moved (merge: empty, all of `other`'s posts move).
    pub posts: Vec<i64>,
    pub reason: String,
    /// Who did it (user name).
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// A change as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: EditKind,
    pub story: i64,
    pub other: i64,
    /// How many posts moved.
    pub moved: u64,
    /// Merge: the merged story's title when it was merged. Split: the new story's first title.
    pub other_title: String,
    pub other_keywords: Vec<String>,
    pub reason: String,
    pub actor: String,
}

/// Applies a change in one transaction: posts (and for a merge, alerts and incident links) move,
/// `records` (the stories as they now are) are written, `alerts` (grades reached by the change)
/// appended, the change recorded and audited. Returns the change's id.
///
/// Refused (nothing written) when a merged story is gone already, or when a post to move is not
/// in the story it should leave.
pub fn apply(store: &mut SqliteStore, edit: &StoryEdit, records: &[StoryRecord], alerts: &[NewAlert]) -> Result<i64> {
    let conn = store.connection();
    let tx = crate::Work::begin(conn)?;
    let other = match edit.kind {
        EditKind::Merge => {
            let (title, keywords): (String, String) = tx
                .query_row("SELECT title, keywords FROM stories WHERE id = ?1", [edit.other], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?
                .ok_or_else(|| StoreError::Conflict(format!("舆情事件 #{} 不存在或已并入其他事件", edit.other)))?;
            if !tx.query_row("SELECT EXISTS(SELECT 1 FROM stories WHERE id = ?1)", [edit.story], |r| {
                r.get::<_, bool>(0)
            })? {
                return Err(StoreError::Conflict(format!("舆情事件 #{} 不存在或已并入其他事件", edit.story)));
            }
            let moved =
                tx.execute("UPDATE posts SET story_id = ?1 WHERE story_id = ?2", params![edit.story, edit.other])?;
            tx.execute("UPDATE alerts SET story_id = ?1 WHERE story_id = ?2", params![edit.story, edit.other])?;
            tx.execute(
                "INSERT OR IGNORE INTO incident_stories (incident_id, story_id) \
                 SELECT incident_id, ?1 FROM incident_stories WHERE story_id = ?2",
                params![edit.story, edit.other],
            )?;
            tx.execute("DELETE FROM stories WHERE id = ?1", [edit.other])?;
            (moved, title, keywords)
        }
        EditKind::Split => {
            let mut moved = 0;
            {
                let mut mv = tx.prepare_cached("UPDATE posts SET story_id = ?1 WHERE id = ?2 AND story_id = ?3")?;
                for &p in &edit.posts {
                    if mv.execute(params![edit.other, p, edit.story])? != 1 {
                        return Err(StoreError::Conflict(format!("帖子 {p} 不属于舆情事件 #{}", edit.story)));
                    }
                    moved += 1;
                }
            }
            let new = records.iter().find(|r| r.id == edit.other);
            (
                moved,
                new.map(|r| r.title.clone()).unwrap_or_default(),
                serde_json::to_string(&new.map(|r| r.keywords.clone()).unwrap_or_default())
                    .unwrap_or_else(|_| "[]".into()),
            )
        }
    };
    let (moved, other_title, other_keywords) = other;
    crate::themes::recount(&tx, &[edit.story, edit.other])?;
    upsert_stories(&tx, records)?;
    insert_alerts(&tx, alerts)?;
    tx.execute(
        "INSERT INTO story_edits (at, kind, story_id, other_id, posts, moved, other_title, other_keywords, reason, actor) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            ts(edit.at),
            edit.kind.as_str(),
            edit.story,
            edit.other,
            serde_json::to_string(&edit.posts).unwrap_or_else(|_| "[]".into()),
            moved as i64,
            other_title,
            other_keywords,
            edit.reason,
            edit.actor,
        ],
    )?;
    let id = tx.last_insert_rowid();
    let detail = match edit.kind {
        EditKind::Merge => format!(
            "舆情事件 #{}（{}）并入 #{}，帖子 {} 条；原因：{}",
            edit.other, other_title, edit.story, moved, edit.reason
        ),
        EditKind::Split => format!(
            "从舆情事件 #{} 移出帖子 {} 条，成为新事件 #{}；原因：{}",
            edit.story, moved, edit.other, edit.reason
        ),
    };
    crate::desk::audit_append(
        &tx,
        &edit.actor,
        &format!("story.{}", edit.kind.as_str()),
        &format!("story:{}", edit.story),
        &detail,
        edit.at,
    )?;
    tx.commit()?;
    Ok(id)
}

/// Where a link to `story` leads: the story itself while it exists, else the story it was merged
/// into (followed through later merges). None when there is no such story at all.
pub fn redirect(conn: &Connection, story: i64) -> Result<Option<i64>> {
    let mut id = story;
    // A chain of merges is at most as long as the stories merged; bounded all the same.
    for _ in 0..1000 {
        if conn.query_row("SELECT EXISTS(SELECT 1 FROM stories WHERE id = ?1)", [id], |r| r.get::<_, bool>(0))? {
            return Ok(Some(id));
        }
        let into: Option<i64> = conn
            .query_row(
                "SELECT story_id FROM story_edits WHERE kind = 'merge' AND other_id = ?1 ORDER BY id DESC LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        match into {
            Some(next) => id = next,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// The stories a change by hand made or kept (merged into, split from, or made by a split): the
/// office said each is one matter, so the assembler lets posts join it by their words even when
/// none of its posts names something (see `AssemblyConfig::anchor_required`).
pub fn edited_stories(conn: &Connection) -> Result<std::collections::BTreeSet<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT story_id FROM story_edits UNION SELECT other_id FROM story_edits WHERE kind = 'split'",
    )?;
    let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
    let mut out = std::collections::BTreeSet::new();
    for id in rows {
        out.insert(id?);
    }
    Ok(out)
}

/// The changes that touched a story (as the kept story, or as the other one), newest first.
pub fn edits_of(conn: &Connection, story: i64) -> Result<Vec<EditRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, kind, story_id, other_id, moved, other_title, other_keywords, reason, actor FROM story_edits \
         WHERE story_id = ?1 OR other_id = ?1 ORDER BY id DESC LIMIT 200",
    )?;
    let rows = stmt.query_map([story], |r| {
        let kind: String = r.get(2)?;
        let keywords: String = r.get(7)?;
        Ok(Ok(EditRecord {
            id: r.get(0)?,
            at: utc(r.get(1)?),
            kind: if kind == "merge" { EditKind::Merge } else { EditKind::Split },
            story: r.get(3)?,
            other: r.get(4)?,
            moved: r.get::<_, i64>(5)?.max(0) as u64,
            other_title: r.get(6)?,
            other_keywords: serde_json::from_str(&keywords).unwrap_or_default(),
            reason: r.get(8)?,
            actor: r.get(9)?,
        }))
    })?;
    collect(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PostRecord, Store, WriteBatch};
    use chrono::TimeZone;
    use yuqing_core::{Grade, JoinReason, Metrics, Sentiment, SourceTier, StoryStatus};

    fn at(h: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + h * 3600, 0).unwrap()
    }

    fn post(id: i64, story: i64) -> PostRecord {
        PostRecord {
            id,
            story_id: story,
            dedup_key: id as u64,
            content_hash: id as u64,
            duplicate_of: None,
            source: "论坛".into(),
            url: None,
            title: String::new(),
            text: format!("帖子{id}"),
            author: None,
            place: None,
            published_at: at(id).fixed_offset(),
            time_estimated: false,
            ingested_at: at(id),
            tier: SourceTier::Community,
            metrics: Metrics::default(),
            simhash: id as u64,
            sentiment: Sentiment::Neutral,
            sentiment_score: 0.0,
            topics: vec![],
            hits: vec![],
            severe_words: vec![],
            keywords: vec![],
            join: JoinReason::New,
        }
    }

    fn story(id: i64, title: &str, posts: u64) -> StoryRecord {
        StoryRecord {
            id,
            status: StoryStatus::Open,
            title: title.into(),
            keywords: vec![title.into()],
            first_at: at(0),
            last_at: at(3),
            grade: None,
            reasons: vec![],
            manual: None,
            posts,
            sites: 1,
            max_tier: SourceTier::Community,
            interactions: 0,
            negative_share: 0.0,
            rule_hits: vec![],
            topics: vec![],
            severe_words: vec![],
            centroid: vec![(1, 1.0)],
            index_terms: vec![1],
            updated_at: at(3),
        }
    }

    fn store_with_two_stories() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = SqliteStore::open(&dir.path().join("yuqing.db")).expect("open");
        let batch = WriteBatch {
            posts: vec![post(1, 1), post(2, 1), post(3, 2), post(4, 2)],
            stories: vec![story(1, "甲", 2), story(2, "乙", 2)],
            alerts: vec![NewAlert { story_id: 2, from: None, to: Grade::IV, reasons: vec![], at: at(2) }],
            closed: vec![],
            themes: vec![],
            places: vec![],
        };
        store.write(&batch).expect("write");
        store
            .connection()
            .execute_batch(
                "INSERT INTO incidents (id, title, state, grade, opened_at, updated_at, data) VALUES (7, 't', 's', 'IV', 0, 0, '{}');
                 INSERT INTO incident_stories (incident_id, story_id) VALUES (7, 2);",
            )
            .expect("incident");
        (dir, store)
    }

    #[test]
    fn a_merge_moves_posts_alerts_and_incident_links_and_leaves_a_way_to_the_story() {
        let (_dir, mut store) = store_with_two_stories();
        let edit = StoryEdit {
            kind: EditKind::Merge,
            story: 1,
            other: 2,
            posts: vec![],
            reason: "同一事件".into(),
            actor: "office".into(),
            at: at(5),
        };
        apply(&mut store, &edit, &[story(1, "甲", 4)], &[]).expect("merge");
        assert!(store.story(2).expect("read").is_none());
        assert_eq!(store.story(1).expect("read").expect("kept").posts, 4);
        assert_eq!(store.story_posts(1, 10, 0).expect("posts").total, 4);
        assert_eq!(store.story_alerts(1).expect("alerts").len(), 1);
        let c = store.connection();
        let linked: i64 = c
            .query_row("SELECT COUNT(*) FROM incident_stories WHERE incident_id = 7 AND story_id = 1", [], |r| r.get(0))
            .expect("links");
        assert_eq!(linked, 1);
        assert_eq!(redirect(c, 2).expect("redirect"), Some(1));
        assert_eq!(redirect(c, 1).expect("redirect"), Some(1));
        assert_eq!(redirect(c, 99).expect("redirect"), None);
        let edits = edits_of(c, 1).expect("edits");
        assert_eq!(
            (edits[0].kind, edits[0].other, edits[0].moved, edits[0].other_title.as_str()),
            (EditKind::Merge, 2, 2, "乙")
        );
        let audit = crate::desk::audit_recent(c, 10, 0).expect("audit");
        assert!(
            audit.items.iter().any(|e| e.action == "story.merge" && e.detail.contains("同一事件")),
            "{:?}",
            audit.items
        );
        assert!(crate::desk::audit_verify(c).expect("verify").is_ok());
        // Merging a story that is gone is refused, and changes nothing.
        let again = apply(&mut store, &edit, &[story(1, "甲", 99)], &[]);
        assert!(matches!(again, Err(StoreError::Conflict(_))));
        assert_eq!(store.story(1).expect("read").expect("kept").posts, 4);
    }

    #[test]
    fn a_split_moves_only_posts_of_the_story_and_is_all_or_nothing() {
        let (_dir, mut store) = store_with_two_stories();
        let bad = StoryEdit {
            kind: EditKind::Split,
            story: 1,
            other: 3,
            posts: vec![2, 3],
            reason: "不是一回事".into(),
            actor: "office".into(),
            at: at(5),
        };
        assert!(matches!(
            apply(&mut store, &bad, &[story(1, "甲", 1), story(3, "丙", 1)], &[]),
            Err(StoreError::Conflict(_))
        ));
        assert!(store.story(3).expect("read").is_none(), "nothing of the refused split is written");
        assert_eq!(store.story_posts(1, 10, 0).expect("posts").total, 2);
        let good = StoryEdit { posts: vec![2], ..bad };
        apply(&mut store, &good, &[story(1, "甲", 1), story(3, "丙", 1)], &[]).expect("split");
        assert_eq!(store.story_posts(3, 10, 0).expect("posts").items[0].id, 2);
        assert_eq!(store.story_posts(1, 10, 0).expect("posts").total, 1);
        let edits = edits_of(store.connection(), 3).expect("edits");
        assert_eq!((edits[0].kind, edits[0].story, edits[0].moved), (EditKind::Split, 1, 1));
    }
}
