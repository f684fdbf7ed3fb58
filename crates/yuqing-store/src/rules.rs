//! Watch rules edited on the 监测规则 page. The configuration file's `[[rules]]` are the starting
//! set; an edit saved here replaces the rule of the same name (or adds a new one, or switches one
//! off) for every later analysis. Each save is kept in `watch_rule_history`, so earlier versions
//! are never lost. Plain functions over a `&Connection`, like `desk`; [`RuleTables`] puts the same on
//! PostgreSQL (`pg::rules`), where several nodes may save at once.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::rows::Cols;
use crate::sql::{collect, ts, utc};
use crate::Result;

/// A rule as the configuration file defines it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfiguredRule {
    pub name: String,
    pub expr: String,
    pub topic: Option<String>,
    pub department: Option<String>,
}

/// One saved edit: the rule's whole new definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleEdit {
    pub name: String,
    pub expr: String,
    pub topic: Option<String>,
    pub department: Option<String>,
    pub enabled: bool,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Where the rule in force comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RuleOrigin {
    /// The configuration file, unchanged.
    Config,
    /// Saved on the page (over a configured rule of the same name when `overrides` is true).
    Edited { by: String, at: DateTime<Utc>, overrides: bool },
}

/// A rule with its state: what the analysis uses when `enabled`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInForce {
    pub rule: ConfiguredRule,
    pub enabled: bool,
    pub origin: RuleOrigin,
}

/// The configured rules with the saved edits applied, in configuration order, new rules after.
pub fn in_force(configured: &[ConfiguredRule], edits: &[RuleEdit]) -> Vec<RuleInForce> {
    let edited = |e: &RuleEdit, overrides: bool| RuleInForce {
        rule: ConfiguredRule {
            name: e.name.clone(),
            expr: e.expr.clone(),
            topic: e.topic.clone(),
            department: e.department.clone(),
        },
        enabled: e.enabled,
        origin: RuleOrigin::Edited { by: e.by.clone(), at: e.at, overrides },
    };
    let mut out: Vec<RuleInForce> = configured
        .iter()
        .map(|c| match edits.iter().find(|e| e.name == c.name) {
            Some(e) => edited(e, true),
            None => RuleInForce { rule: c.clone(), enabled: true, origin: RuleOrigin::Config },
        })
        .collect();
    for e in edits {
        if !configured.iter().any(|c| c.name == e.name) {
            out.push(edited(e, false));
        }
    }
    out
}

/// The rules the analysis uses: those in force and switched on.
pub fn enabled(configured: &[ConfiguredRule], edits: &[RuleEdit]) -> Vec<ConfiguredRule> {
    in_force(configured, edits).into_iter().filter(|r| r.enabled).map(|r| r.rule).collect()
}

/// An edit from a row of [`COLS`], on either backend (`enabled` is SQLite 0/1 or a BOOLEAN).
pub(crate) fn rule_edit(r: &impl Cols) -> Result<RuleEdit> {
    Ok(RuleEdit {
        name: r.text(0)?,
        expr: r.text(1)?,
        topic: r.opt_text(2)?,
        department: r.opt_text(3)?,
        enabled: r.flag(4)?,
        by: r.text(5)?,
        at: utc(r.int(6)?),
    })
}

fn edit_from_row(r: &rusqlite::Row) -> rusqlite::Result<Result<RuleEdit>> {
    Ok(rule_edit(r))
}

/// The columns of a rules query, in the order [`rule_edit`] reads them (both backends).
pub(crate) const COLS: &str = "name, expr, topic, department, enabled, updated_by, updated_at";

/// The current edit of every edited rule, by name.
pub fn edits(conn: &Connection) -> Result<Vec<RuleEdit>> {
    let mut st = conn.prepare_cached(&format!("SELECT {COLS} FROM watch_rules ORDER BY name"))?;
    let rows = st.query_map([], edit_from_row)?;
    collect(rows)
}

/// Saves an edit (replacing the rule's previous one) and keeps it in the history.
pub fn save(conn: &Connection, e: &RuleEdit) -> Result<()> {
    conn.execute(
        "INSERT INTO watch_rules (name, expr, topic, department, enabled, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT(name) DO UPDATE SET expr = excluded.expr, topic = excluded.topic, department = excluded.department, \
         enabled = excluded.enabled, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        params![e.name, e.expr, e.topic, e.department, e.enabled as i64, e.by, ts(e.at)],
    )?;
    conn.execute(
        &format!("INSERT INTO watch_rule_history ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        params![e.name, e.expr, e.topic, e.department, e.enabled as i64, e.by, ts(e.at)],
    )?;
    Ok(())
}

/// Every saved version of one rule, newest first.
pub fn history(conn: &Connection, name: &str) -> Result<Vec<RuleEdit>> {
    let mut st =
        conn.prepare_cached(&format!("SELECT {COLS} FROM watch_rule_history WHERE name = ?1 ORDER BY id DESC"))?;
    let rows = st.query_map([name], edit_from_row)?;
    collect(rows)
}

/// A number that grows with every save (0 before the first): readers reload when it moves.
pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn
        .query_row("SELECT MAX(id) FROM watch_rule_history", [], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .flatten()
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;

    fn rule(name: &str, expr: &str, dept: Option<&str>) -> ConfiguredRule {
        ConfiguredRule { name: name.into(), expr: expr.into(), topic: None, department: dept.map(String::from) }
    }

    fn edit(name: &str, expr: &str, enabled: bool, at: i64) -> RuleEdit {
        RuleEdit {
            name: name.into(),
            expr: expr.into(),
            topic: None,
            department: Some("教育局".into()),
            enabled,
            by: "li".into(),
            at: utc(at),
        }
    }

    #[test]
    fn edits_replace_add_and_switch_off_rules_and_keep_every_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("y.db")).unwrap();
        let c = store.connection();
        assert_eq!(version(c).unwrap(), 0);
        let configured = vec![rule("医院", "医院 & 投诉", Some("卫健委")), rule("食品", "食品 & 变质", None)];
        assert_eq!(enabled(&configured, &edits(c).unwrap()), configured, "no edits: the configuration as it is");

        save(c, &edit("医院", "医院 & (投诉 | 纠纷)", true, 100)).unwrap();
        save(c, &edit("学校", "学校 & 欺凌", true, 110)).unwrap();
        save(c, &edit("食品", "食品 & 变质", false, 120)).unwrap();
        save(c, &edit("医院", "医院 & (投诉 | 纠纷 | 排队)", true, 130)).unwrap();
        assert_eq!(version(c).unwrap(), 4);

        let all = in_force(&configured, &edits(c).unwrap());
        let names: Vec<&str> = all.iter().map(|r| r.rule.name.as_str()).collect();
        assert_eq!(names, ["医院", "食品", "学校"], "configuration order first, new rules after");
        assert_eq!(all[0].rule.expr, "医院 & (投诉 | 纠纷 | 排队)");
        assert_eq!(all[0].rule.department.as_deref(), Some("教育局"));
        assert_eq!(all[0].origin, RuleOrigin::Edited { by: "li".into(), at: utc(130), overrides: true });
        assert!(!all[1].enabled);
        assert!(matches!(all[2].origin, RuleOrigin::Edited { overrides: false, .. }));
        let on: Vec<String> = enabled(&configured, &edits(c).unwrap()).into_iter().map(|r| r.name).collect();
        assert_eq!(on, ["医院", "学校"]);

        let h = history(c, "医院").unwrap();
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].expr, "医院 & (投诉 | 纠纷)", "the earlier version is kept");
    }
}

/// A post as the rule workbench tries an expression on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialPost {
    pub id: i64,
    pub story_id: i64,
    /// Unix seconds.
    pub published_at: i64,
    pub source: String,
    pub title: String,
    pub text: String,
}

/// Hands `f` the posts published in `[since, until]`, newest first, at most `limit` of them;
/// stops early when `f` answers false.
pub fn for_each_trial_post(
    conn: &Connection,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: usize,
    mut f: impl FnMut(TrialPost) -> bool,
) -> Result<()> {
    let mut st = conn.prepare(
        "SELECT id, story_id, published_at, source, title, text FROM posts \
         WHERE published_at >= ?1 AND published_at <= ?2 ORDER BY published_at DESC LIMIT ?3",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = st.query_map(params![ts(since), ts(until), limit], |r| {
        Ok(TrialPost {
            id: r.get(0)?,
            story_id: r.get(1)?,
            published_at: r.get(2)?,
            source: r.get(3)?,
            title: r.get(4)?,
            text: r.get(5)?,
        })
    })?;
    for row in rows {
        if !f(row?) {
            break;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- one interface, two backends

/// The saved rule edits on either backend: implemented by the SQLite connection (`&Connection`,
/// through the functions above) and by a PostgreSQL client or transaction (`pg::rules`). Each
/// method means what the function it names means; on PostgreSQL, saves from several nodes at once
/// are numbered in the order they commit, so [`version`] moving is a reliable signal to reload.
pub trait RuleTables {
    /// See [`edits`].
    fn rule_edits(&mut self) -> Result<Vec<RuleEdit>>;
    /// See [`save`].
    fn save_rule(&mut self, e: &RuleEdit) -> Result<()>;
    /// See [`history`].
    fn rule_history(&mut self, name: &str) -> Result<Vec<RuleEdit>>;
    /// See [`version`].
    fn rules_version(&mut self) -> Result<i64>;
    /// See [`for_each_trial_post`].
    fn trial_posts(
        &mut self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
        f: &mut dyn FnMut(TrialPost) -> bool,
    ) -> Result<()>;
}

/// Implements [`RuleTables`] for each client type by calling the functions of the same names where
/// it is used: this module's on SQLite (below), `pg::rules`' on PostgreSQL.
macro_rules! rule_tables_on {
    ($($client:ty),*) => {$(
        impl $crate::rules::RuleTables for $client {
            fn rule_edits(&mut self) -> Result<Vec<RuleEdit>> {
                edits(self)
            }
            fn save_rule(&mut self, e: &RuleEdit) -> Result<()> {
                save(self, e)
            }
            fn rule_history(&mut self, name: &str) -> Result<Vec<RuleEdit>> {
                history(self, name)
            }
            fn rules_version(&mut self) -> Result<i64> {
                version(self)
            }
            fn trial_posts(
                &mut self,
                since: DateTime<Utc>,
                until: DateTime<Utc>,
                limit: usize,
                f: &mut dyn FnMut(TrialPost) -> bool,
            ) -> Result<()> {
                for_each_trial_post(self, since, until, limit, f)
            }
        }
    )*};
}
pub(crate) use rule_tables_on;

rule_tables_on!(&Connection);
