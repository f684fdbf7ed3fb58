//! 监测规则: the configured watch rules and a workbench — type an expression, see a syntax error
//! at its position, or how many posts of the last 7 days it matches, with samples highlighted.

use std::collections::HashMap;
use std::fmt::Write;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use rusqlite::params;
use yuqing_text::highlight::snippet;
use yuqing_text::matching_form;
use yuqing_text::rules::{self, RuleDef, RuleDoc, RuleSet};

use crate::html::{esc, fmt_time, page};
use crate::pages::with_data;
use crate::AppState;

/// At most this many recent posts are scanned per test (the page says when the week holds more).
pub const SCAN_CAP: usize = 300_000;

/// The expression with the character at `position` marked (or a marker at the end).
pub fn mark_position(expr: &str, position: usize) -> String {
    let mut out = String::new();
    let mut marked = false;
    for (i, c) in expr.chars().enumerate() {
        if i == position {
            let _ = write!(out, "<mark class=\"err\">{}</mark>", esc(&c.to_string()));
            marked = true;
        } else {
            out.push_str(&esc(&c.to_string()));
        }
    }
    if !marked {
        out.push_str("<mark class=\"err\">␣</mark>");
    }
    out
}

pub struct TestResult {
    pub scanned: usize,
    pub matched: usize,
    pub truncated: bool,
    /// (post id, story id, time, source, title, text, matched terms)
    pub samples: Vec<(i64, i64, i64, String, String, String, Vec<String>)>,
}

/// Runs one rule over the posts published in the 7 days before `now`, newest first.
pub fn test_rule(conn: &rusqlite::Connection, expr: &str, now: chrono::DateTime<chrono::Utc>) -> Result<TestResult, String> {
    let set = RuleSet::compile(&[RuleDef { name: "测试".into(), expr: expr.into() }]).map_err(|e| e.to_string())?;
    let since = (now - chrono::Duration::days(7)).timestamp();
    let mut st = conn
        .prepare("SELECT id, story_id, published_at, source, title, text FROM posts WHERE published_at >= ?1 AND published_at <= ?2 ORDER BY published_at DESC LIMIT ?3")
        .map_err(|e| e.to_string())?;
    let rows = st
        .query_map(params![since, now.timestamp(), (SCAN_CAP + 1) as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?, r.get::<_, String>(4)?, r.get::<_, String>(5)?))
        })
        .map_err(|e| e.to_string())?;
    let mut res = TestResult { scanned: 0, matched: 0, truncated: false, samples: Vec::new() };
    for row in rows {
        let (id, story, at, source, title, text) = row.map_err(|e| e.to_string())?;
        if res.scanned == SCAN_CAP {
            res.truncated = true;
            break;
        }
        res.scanned += 1;
        let (t, x, s) = (matching_form(&title), matching_form(&text), matching_form(&source));
        if let Some(hit) = set.matches_rule(0, &RuleDoc { title: &t, text: &x, source: &s }) {
            res.matched += 1;
            if res.samples.len() < 10 {
                res.samples.push((id, story, at, source, title, text, hit.terms));
            }
        }
    }
    Ok(res)
}

pub async fn rules_page(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let expr = q.get("expr").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let now = (state.clock)();
    let mut b = String::from("<h2>监测规则</h2>");
    b.push_str("<table><thead><tr><th>名称</th><th>表达式</th><th></th></tr></thead><tbody>");
    for r in state.rules.iter() {
        let _ = write!(
            b,
            "<tr><td>{}</td><td><code>{}</code></td><td><a href=\"/rules?expr={}\">试运行</a></td></tr>",
            esc(&r.name),
            esc(&r.expr),
            urlencoding::encode(&r.expr)
        );
    }
    if state.rules.is_empty() {
        b.push_str("<tr><td colspan=\"3\" class=\"muted\">配置文件中没有监测规则</td></tr>");
    }
    b.push_str("</tbody></table><p class=\"muted\">规则在配置文件 [[rules]] 中维护；修改后重启服务生效。语法：\"词语\"、&amp;（且）、|（或）、!（非）、括号、NEAR/n、title: 与 source: 限定字段。</p>");
    let _ = write!(
        b,
        "<h3>规则试运行</h3><form method=\"get\" action=\"/rules\" class=\"act\"><input name=\"expr\" style=\"width:520px\" value=\"{}\" placeholder=\"例如：(医院 | 卫健委) &amp; (投诉 | 纠纷) &amp; !招聘\"><button>检查并试运行</button></form>",
        esc(expr.as_deref().unwrap_or(""))
    );
    if let Some(expr) = expr {
        match rules::parse(&expr) {
            Err(e) => {
                let _ = write!(b, "<p class=\"late\">{}</p><p><code>{}</code></p>", esc(&e.to_string()), mark_position(&expr, e.position));
            }
            Ok(rule) => {
                let _ = write!(b, "<p class=\"ok\">语法正确：<code>{}</code></p>", esc(&rule.to_string()));
                let ex = expr.clone();
                match with_data(&state, move |d| test_rule(d.store.connection(), &ex, now)).await {
                    Err(e) => {
                        let _ = write!(b, "<p class=\"late\">{}</p>", esc(&e));
                    }
                    Ok(r) => {
                        let _ = write!(
                            b,
                            "<p>近 7 天 {} 条帖文中命中 <b>{}</b> 条{}。</p>",
                            r.scanned,
                            r.matched,
                            if r.truncated { format!("（只扫描了最近 {SCAN_CAP} 条）") } else { String::new() }
                        );
                        for (_, story, at, source, title, text, terms) in &r.samples {
                            let at = chrono::DateTime::from_timestamp(*at, 0).unwrap_or_default();
                            let s = snippet(text, &matching_form(text), terms, 160);
                            let _ = write!(
                                b,
                                "<div class=\"post\"><div class=\"meta\">{} · {} · <a href=\"/stories/{story}\">事件 #{story}</a></div>{}<div>{}</div></div>",
                                fmt_time(&at),
                                esc(if source.is_empty() { "未知来源" } else { source }),
                                if title.is_empty() { String::new() } else { format!("<b>{}</b>", esc(title)) },
                                s.to_html()
                            );
                        }
                    }
                }
            }
        }
    }
    Html(page("监测规则", &state.org_name, state.banner.as_deref(), &b)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_position_is_marked() {
        assert_eq!(mark_position("a&(b", 4), "a&amp;(b<mark class=\"err\">␣</mark>");
        assert_eq!(mark_position("医院&&", 3), "医院&amp;<mark class=\"err\">&amp;</mark>");
    }
}
