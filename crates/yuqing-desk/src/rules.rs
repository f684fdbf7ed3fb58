//! Watch rules edited while the server runs: the checks a rule meets before it is saved, saving it
//! with its history and audit entry in one transaction, switching a rule in force off or on, and a
//! trial run of an expression over the last week's posts.
//! Invariant: a saved rule always has its audit entry (both or neither are written).

use chrono::{DateTime, Utc};
use yuqing_store::rules::{self as store_rules, ConfiguredRule, RuleEdit};
use yuqing_store::{SqliteStore, Work};
use yuqing_text::matching_form;
use yuqing_text::rules::{self, RuleDef, RuleDoc, RuleSet};

use crate::error::{DeskError, DeskResult, Missing};

/// At most this many recent posts are scanned per test (the page says when the week holds more).
pub const SCAN_CAP: usize = 300_000;

/// What a trial run of one expression found.
pub struct TestResult {
    pub scanned: usize,
    pub matched: usize,
    pub truncated: bool,
    /// (post id, story id, time, source, title, text, matched terms)
    pub samples: Vec<(i64, i64, i64, String, String, String, Vec<String>)>,
}

/// Runs one rule over the posts published in the 7 days before `now`, newest first.
pub fn test_rule(store: &SqliteStore, expr: &str, now: DateTime<Utc>) -> DeskResult<TestResult> {
    // The rule language's errors say where the expression is wrong: for the person.
    let set = RuleSet::compile(&[RuleDef { name: "测试".into(), expr: expr.into() }])
        .map_err(|e| DeskError::InvalidField { field: "expr", message: e.to_string() })?;
    let since = now - chrono::Duration::days(7);
    let mut res = TestResult { scanned: 0, matched: 0, truncated: false, samples: Vec::new() };
    store_rules::for_each_trial_post(store.connection(), since, now, SCAN_CAP + 1, |p| {
        if res.scanned == SCAN_CAP {
            res.truncated = true;
            return false;
        }
        res.scanned += 1;
        let (t, x, s) = (matching_form(&p.title), matching_form(&p.text), matching_form(&p.source));
        if let Some(hit) = set.matches_rule(0, &RuleDoc { title: &t, text: &x, source: &s }) {
            res.matched += 1;
            if res.samples.len() < 10 {
                res.samples.push((p.id, p.story_id, p.published_at, p.source, p.title, p.text, hit.terms));
            }
        }
        true
    })?;
    Ok(res)
}

/// A rule saved from the workbench: checked again by the caller (the form may be forged), stored
/// with its history and audit entry in one transaction.
pub fn save_rule(store: &SqliteStore, by: &str, edit: &RuleEdit) -> DeskResult<()> {
    let c = store.connection();
    let tx = Work::begin(c)?;
    store_rules::save(&tx, edit)?;
    let detail = serde_json::json!({"expr": edit.expr, "department": edit.department, "enabled": edit.enabled});
    yuqing_store::desk::audit_append(
        &tx,
        by,
        "rule.save",
        &format!("rule:{}", edit.name),
        &detail.to_string(),
        edit.at,
    )?;
    Ok(tx.commit()?)
}

/// Switches the rule in force named `name` off or on again: a new version of it, saved with its
/// audit entry.
pub fn set_enabled(
    store: &SqliteStore,
    configured: &[ConfiguredRule],
    name: &str,
    enabled: bool,
    by: &str,
    at: DateTime<Utc>,
) -> DeskResult<()> {
    let edits = store_rules::edits(store.connection())?;
    let Some(r) = store_rules::in_force(configured, &edits).into_iter().find(|r| r.rule.name == name) else {
        return Err(DeskError::NotFound(Missing::Rule, format!("没有名为“{name}”的监测规则")));
    };
    let edit = RuleEdit {
        name: r.rule.name,
        expr: r.rule.expr,
        topic: r.rule.topic,
        department: r.rule.department,
        enabled,
        by: by.to_string(),
        at,
    };
    save_rule(store, by, &edit)
}

/// What is wrong with a rule about to be saved, if anything.
pub fn check_rule(name: &str, expr: &str, department: Option<&str>, departments: &[String]) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err("规则名称不能为空，不超过 64 个字符".into());
    }
    if let Err(e) = rules::parse(expr) {
        return Err(format!("表达式有误：{e}"));
    }
    if let Some(d) = department {
        if !departments.is_empty() && !departments.iter().any(|x| x == d) {
            return Err(format!("责任单位“{d}”不在配置的单位中（{}）", departments.join("、")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_to_save_needs_a_name_a_valid_expression_and_a_known_department() {
        let depts = vec!["市卫健委".to_string()];
        assert!(check_rule("医院", "医院 & 投诉", Some("市卫健委"), &depts).is_ok());
        assert!(check_rule("医院", "医院 & 投诉", None, &depts).is_ok());
        assert!(check_rule("", "医院", None, &depts).unwrap_err().contains("名称"));
        assert!(check_rule("医院", "医院 &&", None, &depts).unwrap_err().contains("表达式有误"));
        assert!(check_rule("医院", "医院", Some("教育局"), &depts).unwrap_err().contains("不在配置的单位中"));
        assert!(check_rule("医院", "医院", Some("教育局"), &[]).is_ok(), "no departments configured: any name");
    }
}
