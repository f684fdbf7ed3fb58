//! Watch rules (监测规则) on PostgreSQL: `crate::rules`' functions of the same names, with the same
//! meaning, as [`crate::rules::RuleTables`], for several nodes saving edits at once.
//!
//! Invariant: [`version`] (the largest history id) moves with every committed save, so a reader
//! that reloads when it moves never misses an edit. History ids come from the column's sequence,
//! which hands numbers out in the order saves ask, not the order they commit: a save that took 5
//! and committed before one that took 4 would make the version 5 while 4 is still unseen, and a
//! reader at 5 would never load 4. So a save takes a transaction-scoped advisory lock on the history
//! (keyed by its table's oid) before it takes its number and holds it until the caller's commit:
//! saves number and commit one after another, as on SQLite's single writer. Readers never wait.

use chrono::{DateTime, Utc};
use postgres::{Client, GenericClient, Transaction};

use super::desk::lock_table;
use crate::rules::{rule_edit, RuleEdit, TrialPost, COLS};
use crate::sql::ts;
use crate::Result;

/// The first key of the advisory lock a save holds ("yqru"); the second is the history table's oid.
const RULES_LOCK: i32 = 0x79_71_72_75;

/// See [`crate::rules::edits`].
pub fn edits<C: GenericClient>(c: &mut C) -> Result<Vec<RuleEdit>> {
    c.query(&format!("SELECT {COLS} FROM watch_rules ORDER BY name"), &[])?.iter().map(rule_edit).collect()
}

/// See [`crate::rules::save`], in one transaction (a savepoint inside the caller's) under the
/// history's lock.
pub fn save<C: GenericClient>(c: &mut C, e: &RuleEdit) -> Result<()> {
    let mut tx = c.transaction()?;
    lock_table(&mut tx, RULES_LOCK, "watch_rule_history")?;
    let at = ts(e.at);
    tx.execute(
        "INSERT INTO watch_rules (name, expr, topic, department, enabled, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (name) DO UPDATE SET expr = excluded.expr, topic = excluded.topic, department = excluded.department, \
         enabled = excluded.enabled, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        &[&e.name, &e.expr, &e.topic, &e.department, &e.enabled, &e.by, &at],
    )?;
    tx.execute(
        &format!("INSERT INTO watch_rule_history ({COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        &[&e.name, &e.expr, &e.topic, &e.department, &e.enabled, &e.by, &at],
    )?;
    tx.commit()?;
    Ok(())
}

/// See [`crate::rules::history`].
pub fn history<C: GenericClient>(c: &mut C, name: &str) -> Result<Vec<RuleEdit>> {
    c.query(&format!("SELECT {COLS} FROM watch_rule_history WHERE name = $1 ORDER BY id DESC"), &[&name])?
        .iter()
        .map(rule_edit)
        .collect()
}

/// See [`crate::rules::version`].
pub fn version<C: GenericClient>(c: &mut C) -> Result<i64> {
    let v: Option<i64> = c.query_one("SELECT MAX(id) FROM watch_rule_history", &[])?.try_get(0)?;
    Ok(v.unwrap_or(0))
}

/// See [`crate::rules::for_each_trial_post`].
pub fn for_each_trial_post<C: GenericClient>(
    c: &mut C,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
    mut f: impl FnMut(TrialPost) -> bool,
) -> Result<()> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c.query(
        "SELECT id, story_id, published_at, source, title, text FROM posts \
         WHERE published_at >= $1 AND published_at <= $2 ORDER BY published_at DESC LIMIT $3",
        &[&ts(since), &ts(until), &limit],
    )?;
    for r in rows {
        let post = TrialPost {
            id: r.try_get(0)?,
            story_id: r.try_get(1)?,
            published_at: r.try_get(2)?,
            source: r.try_get(3)?,
            title: r.try_get(4)?,
            text: r.try_get(5)?,
        };
        if !f(post) {
            break;
        }
    }
    Ok(())
}

crate::rules::rule_tables_on!(Client, Transaction<'_>);
