//! 误报 (false alarms): stories the office marked as not relevant to it or not a matter at all.
//!
//! A mark keeps who, when and why, the title, the watch rules the story hit and its core (its
//! heaviest terms) as they were when marked, so the 监测规则 page can count per rule how many
//! stories it raised and how many were marked 误报, and the relevance model can learn from the
//! marks. A mark outlives its story (a merged story's mark still counts); withdrawing it deletes
//! it. Resetting the model sets `learn` to 0 and keeps the marks.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::sql::{ts, utc};
use crate::{Result, StoreError};

/// A condition on `stories` rows: the story is not marked 误报 (graded lists, statistics, reports
/// and the word cloud leave marked stories out).
pub const NOT_MARKED: &str = "NOT EXISTS (SELECT 1 FROM false_alarms f WHERE f.story_id = stories.id)";

/// A story's 误报 mark.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalseAlarmMark {
    pub story: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub reason: String,
    pub title: String,
    pub rules: Vec<String>,
    /// Whether the relevance model learns from it (false after a reset).
    pub learn: bool,
}

/// What is marked: the story as it is when marked.
#[derive(Debug, Clone)]
pub struct NewMark<'a> {
    pub story: i64,
    pub reason: &'a str,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
    pub title: &'a str,
    pub rules: &'a [String],
    pub core: &'a [(u64, f32)],
}

/// An example of the relevance model: (story, title, reason, core).
pub type Example = (i64, String, String, Vec<(u64, f32)>);

/// Per watch rule: stories it raised (graded, with an alert in the period) and marks of stories
/// that hit it (marked in the period).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleCounts {
    pub raised: u64,
    pub false_alarms: u64,
}

/// Marks a story 误报, with its audit entry, in one transaction. Refused when the story does not
/// exist or is marked already.
pub fn mark(conn: &Connection, m: &NewMark<'_>) -> Result<()> {
    let tx = crate::Work::begin(conn)?;
    if !tx.query_row("SELECT EXISTS(SELECT 1 FROM stories WHERE id = ?1)", [m.story], |r| r.get::<_, bool>(0))? {
        return Err(StoreError::Conflict(format!("舆情事件 #{} 不存在或已并入其他事件", m.story)));
    }
    if tx.query_row("SELECT EXISTS(SELECT 1 FROM false_alarms WHERE story_id = ?1)", [m.story], |r| {
        r.get::<_, bool>(0)
    })? {
        return Err(StoreError::Conflict(format!("舆情事件 #{} 已标记为误报", m.story)));
    }
    let rules = serde_json::to_string(m.rules).unwrap_or_else(|_| "[]".into());
    let core = serde_json::to_string(m.core).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO false_alarms (story_id, at, actor, reason, title, rules, core, learn) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1)",
        params![m.story, ts(m.at), m.actor, m.reason, m.title, rules, core],
    )?;
    let detail = format!("舆情事件 #{}（{}）标记为误报；原因：{}", m.story, m.title, m.reason);
    crate::desk::audit_append(&tx, m.actor, "story.false_alarm", &format!("story:{}", m.story), &detail, m.at)?;
    tx.commit()?;
    Ok(())
}

/// Withdraws a story's mark, with its audit entry. `false` when it was not marked.
pub fn unmark(conn: &Connection, story: i64, reason: &str, actor: &str, at: DateTime<Utc>) -> Result<bool> {
    let tx = crate::Work::begin(conn)?;
    if tx.execute("DELETE FROM false_alarms WHERE story_id = ?1", [story])? == 0 {
        return Ok(false);
    }
    let detail = format!("撤销舆情事件 #{story} 的误报标记；原因：{reason}");
    crate::desk::audit_append(&tx, actor, "story.false_alarm_withdrawn", &format!("story:{story}"), &detail, at)?;
    tx.commit()?;
    Ok(true)
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(FalseAlarmMark, String)> {
    Ok((
        FalseAlarmMark {
            story: r.get(0)?,
            at: utc(r.get(1)?),
            actor: r.get(2)?,
            reason: r.get(3)?,
            title: r.get(4)?,
            rules: Vec::new(),
            learn: r.get::<_, i64>(6)? != 0,
        },
        r.get(5)?,
    ))
}

fn with_rules((mut m, rules): (FalseAlarmMark, String)) -> Result<FalseAlarmMark> {
    m.rules = serde_json::from_str(&rules).map_err(|e| StoreError::Corrupt {
        what: format!("false_alarms.rules（事件 #{}）", m.story),
        detail: e.to_string(),
    })?;
    Ok(m)
}

const COLUMNS: &str = "story_id, at, actor, reason, title, rules, learn";

/// A story's mark, if it is marked.
pub fn of_story(conn: &Connection, story: i64) -> Result<Option<FalseAlarmMark>> {
    let found =
        conn.query_row(&format!("SELECT {COLUMNS} FROM false_alarms WHERE story_id = ?1"), [story], row).optional()?;
    found.map(with_rules).transpose()
}

/// The marks among `stories` (for lists), by story.
pub fn among(conn: &Connection, stories: &[i64]) -> Result<HashMap<i64, FalseAlarmMark>> {
    let mut out = HashMap::new();
    let mut st = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM false_alarms WHERE story_id = ?1"))?;
    for &s in stories {
        if let Some(found) = st.query_row([s], row).optional()? {
            let m = with_rules(found)?;
            out.insert(m.story, m);
        }
    }
    Ok(out)
}

/// The most recent marks, newest first.
pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<FalseAlarmMark>> {
    let mut st =
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM false_alarms ORDER BY at DESC, story_id DESC LIMIT ?1"))?;
    let rows = st.query_map([limit as i64], row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(with_rules(r?)?);
    }
    Ok(out)
}

/// Every marked story (the pipeline stops grading them).
pub fn marked(conn: &Connection) -> Result<HashSet<i64>> {
    let mut st = conn.prepare_cached("SELECT story_id FROM false_alarms")?;
    let rows = st.query_map([], |r| r.get::<_, i64>(0))?;
    Ok(rows.collect::<rusqlite::Result<HashSet<i64>>>()?)
}

/// The relevance model's examples: marks it learns from, oldest first. A core that no longer
/// parses is skipped with a warning (the mark itself stays).
pub fn examples(conn: &Connection) -> Result<Vec<Example>> {
    let mut st = conn.prepare_cached(
        "SELECT story_id, title, reason, core FROM false_alarms WHERE learn = 1 ORDER BY at, story_id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (story, title, reason, core) = r?;
        match serde_json::from_str::<Vec<(u64, f32)>>(&core) {
            Ok(core) => out.push((story, title, reason, core)),
            Err(e) => {
                tracing::warn!(story, error = %e, "a false-alarm example's core does not parse; not learned from")
            }
        }
    }
    Ok(out)
}

/// How many marks the model learns from.
pub fn learning(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM false_alarms WHERE learn = 1", [], |r| r.get::<_, i64>(0))?.max(0) as u64)
}

/// Resets the relevance model: no mark is learned from any more (the marks stay, and so do the
/// stories' own 误报 state and the per-rule counts). Returns how many examples were dropped.
pub fn reset_learning(conn: &Connection, actor: &str, at: DateTime<Utc>) -> Result<usize> {
    let tx = crate::Work::begin(conn)?;
    let n = tx.execute("UPDATE false_alarms SET learn = 0 WHERE learn = 1", [])?;
    crate::desk::audit_append(
        &tx,
        actor,
        "relevance.reset",
        "relevance",
        &format!("误报学习已重置，不再参考 {n} 个误报样本"),
        at,
    )?;
    tx.commit()?;
    Ok(n)
}

/// Per watch rule, since `since`: the stories it raised (graded stories that hit it and had an
/// alert since then) and the 误报 marks of stories that hit it.
pub fn rule_counts(conn: &Connection, since: DateTime<Utc>) -> Result<BTreeMap<String, RuleCounts>> {
    let mut out: BTreeMap<String, RuleCounts> = BTreeMap::new();
    let mut raised = conn.prepare_cached(
        "SELECT json_extract(h.value, '$[0]'), COUNT(DISTINCT s.id) FROM stories s, json_each(s.rule_hits) h \
         WHERE s.grade IS NOT NULL AND EXISTS (SELECT 1 FROM alerts a WHERE a.story_id = s.id AND a.at >= ?1) \
         GROUP BY 1",
    )?;
    for r in raised.query_map([ts(since)], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?)))? {
        if let (Some(rule), n) = r? {
            out.entry(rule).or_default().raised = n.max(0) as u64;
        }
    }
    let mut marked = conn.prepare_cached(
        "SELECT r.value, COUNT(*) FROM false_alarms f, json_each(f.rules) r WHERE f.at >= ?1 GROUP BY 1",
    )?;
    for r in marked.query_map([ts(since)], |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?)))? {
        if let (Some(rule), n) = r? {
            out.entry(rule).or_default().false_alarms = n.max(0) as u64;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;
    use chrono::TimeZone;

    fn story(conn: &Connection, id: i64, rules: &str, graded: bool, alert_at: Option<i64>) {
        conn.execute(
            "INSERT INTO stories (id, status, title, keywords, first_at, last_at, grade, grade_rank, reasons, posts, sites, max_tier, \
             interactions, negative_share, rule_hits, topics, severe_words, centroid, index_terms, updated_at) \
             VALUES (?1, 'open', ?2, '[]', 0, 0, ?3, 0, '[]', 1, 1, 0, 0, 0.0, ?4, '[]', '[]', '[]', '[]', 0)",
            params![id, format!("事件{id}"), graded.then_some("III"), rules],
        )
        .unwrap();
        if let Some(at) = alert_at {
            conn.execute(
                "INSERT INTO alerts (story_id, from_grade, to_grade, reasons, at) VALUES (?1, NULL, 'III', '[]', ?2)",
                params![id, at],
            )
            .unwrap();
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    #[test]
    fn marks_count_per_rule_teach_until_reset_and_are_audited() {
        let tmp = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&tmp.path().join("t.db")).unwrap();
        let conn = store.connection();
        story(conn, 1, r#"[["食品安全",3],["学校",1]]"#, true, Some(1000));
        story(conn, 2, r#"[["食品安全",2]]"#, true, Some(1000));
        story(conn, 3, r#"[["食品安全",2]]"#, true, Some(10)); // raised before the period
        story(conn, 4, r#"[["学校",2]]"#, false, None); // never graded
        let rules = vec!["食品安全".to_string(), "学校".to_string()];
        let m = NewMark {
            story: 1,
            reason: "外省的事",
            actor: "bangong",
            at: at(2000),
            title: "事件1",
            rules: &rules,
            core: &[(7, 0.5), (u64::MAX, 0.25)],
        };
        mark(conn, &m).unwrap();
        assert!(matches!(mark(conn, &m), Err(StoreError::Conflict(ref e)) if e.contains("已标记")));
        assert!(
            matches!(mark(conn, &NewMark { story: 99, ..m.clone() }), Err(StoreError::Conflict(ref e)) if e.contains("#99"))
        );

        let counts = rule_counts(conn, at(500)).unwrap();
        assert_eq!(counts["食品安全"], RuleCounts { raised: 2, false_alarms: 1 });
        assert_eq!(counts["学校"], RuleCounts { raised: 1, false_alarms: 1 });
        assert!(rule_counts(conn, at(3000)).unwrap().values().all(|c| c.false_alarms == 0));

        let got = of_story(conn, 1).unwrap().expect("marked");
        assert_eq!(
            (got.reason.as_str(), got.actor.as_str(), got.rules.clone(), got.learn),
            ("外省的事", "bangong", rules.clone(), true)
        );
        assert_eq!(marked(conn).unwrap(), HashSet::from([1]));
        assert_eq!(among(conn, &[1, 2]).unwrap().keys().copied().collect::<Vec<_>>(), vec![1]);
        let ex = examples(conn).unwrap();
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].3, vec![(7, 0.5), (u64::MAX, 0.25)], "term hashes survive JSON exactly");

        assert_eq!(reset_learning(conn, "admin", at(2100)).unwrap(), 1);
        assert!(examples(conn).unwrap().is_empty() && learning(conn).unwrap() == 0);
        assert!(of_story(conn, 1).unwrap().is_some(), "the mark stays");
        assert!(unmark(conn, 1, "本地确有反映", "bangong", at(2200)).unwrap());
        assert!(!unmark(conn, 1, "再次", "bangong", at(2300)).unwrap());
        assert!(of_story(conn, 1).unwrap().is_none());
        let actions: Vec<String> =
            crate::desk::audit_entries(conn, 0, 100).unwrap().into_iter().map(|e| e.action).collect();
        assert_eq!(actions, ["story.false_alarm", "relevance.reset", "story.false_alarm_withdrawn"]);
    }
}
