//! 监测规则: the configured watch rules and a workbench — type an expression, see a syntax error
//! at its position, or how many posts of the last 7 days it matches, with samples highlighted.
//! Saving, switching and the trial run itself are `yuqing_desk::rules`; this is their page.

use std::collections::BTreeMap;
use std::fmt::Write;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use yuqing_desk::permission::may_edit_rules;
use yuqing_desk::rules::{check_rule, save_rule, test_rule, SCAN_CAP};
use yuqing_store::false_alarm::{self, FalseAlarmMark, RuleCounts};
use yuqing_store::rules::{self as store_rules, RuleEdit, RuleInForce, RuleOrigin};
use yuqing_text::highlight::snippet;
use yuqing_text::matching_form;
use yuqing_text::rules;

use crate::auth::CurrentUser;
use crate::error::{titled_page, AppError, AppResult};
use crate::extract::{Form, Query};
use crate::html::{esc, fmt_time, page};
use crate::AppState;

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

fn origin_label(o: &RuleOrigin) -> String {
    match o {
        RuleOrigin::Config => "配置文件".to_string(),
        RuleOrigin::Edited { by, at, overrides } => {
            format!("网页{}（{} {}）", if *overrides { "修改" } else { "新增" }, esc(by), fmt_time(at))
        }
    }
}

/// `/rules`: the rule being edited, a rule to pre-fill, and the notices the redirects ask for.
/// Every field is trimmed; blank means unset.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct RulesQuery {
    edit: Option<String>,
    name: Option<String>,
    expr: Option<String>,
    department: Option<String>,
    saved: Option<String>,
    relevance_reset: Option<String>,
}

/// A form or query field trimmed, blank → `None`.
fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

pub async fn rules_page(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<RulesQuery>) -> Response {
    let field = |v: &Option<String>| trimmed(v);
    let editing = field(&q.edit);
    let (in_force, history, relevance) = match load(&state, editing.clone()).await {
        Ok(v) => v,
        Err(e) => return titled_page(&state, "监测规则", e),
    };
    // The workbench starts from the rule being edited, or from what was typed.
    let current = editing.as_ref().and_then(|n| in_force.iter().find(|r| &r.rule.name == n));
    let name = field(&q.name).or_else(|| current.map(|r| r.rule.name.clone()));
    let expr = field(&q.expr).or_else(|| current.map(|r| r.rule.expr.clone()));
    let department = field(&q.department).or_else(|| current.and_then(|r| r.rule.department.clone()));
    let notice = field(&q.saved)
        .map(|n| (true, format!("已保存规则“{n}”：之后入库的帖文按新规则分析，命中后按其责任单位分派。")))
        .or_else(|| {
            field(&q.relevance_reset).map(|n| (true, format!("已重置误报学习：{n} 个样本不再参考，误报标记保留。")))
        });
    let body = render(&state, &cu, &in_force, &history, &relevance, name, expr, department, notice).await;
    Html(page("监测规则", &state.org_name, state.banner.as_deref(), &body)).into_response()
}

/// What the 监测规则 page shows of 误报: per rule the stories raised and marked in the last 30
/// days, the examples the relevance model learns from, and the latest marks.
struct Relevance {
    counts: BTreeMap<String, RuleCounts>,
    learning: u64,
    recent: Vec<FalseAlarmMark>,
}

/// The days the per-rule 误报 counts look back.
const FALSE_ALARM_DAYS: i64 = 30;

/// The rules in force, the saved versions of the rule named `editing`, and the 误报 figures.
async fn load(state: &AppState, editing: Option<String>) -> AppResult<(Vec<RuleInForce>, Vec<RuleEdit>, Relevance)> {
    let configured = state.rules.clone();
    state
        .blocking(move |d, now| {
            let since = now - chrono::Duration::days(FALSE_ALARM_DAYS);
            let c = d.store.connection();
            let edits = store_rules::edits(c)?;
            let history = match &editing {
                Some(n) => store_rules::history(c, n)?,
                None => Vec::new(),
            };
            let relevance = Relevance {
                counts: false_alarm::rule_counts(c, since)?,
                learning: false_alarm::learning(c)?,
                recent: false_alarm::recent(c, 10)?,
            };
            Ok((store_rules::in_force(&configured, &edits), history, relevance))
        })
        .await
}

/// The per-rule cells: stories raised in the period, and how many of them were marked 误报.
fn counts_cells(c: Option<&RuleCounts>) -> String {
    let c = c.cloned().unwrap_or_default();
    let share = if c.raised > 0 && c.false_alarms > 0 {
        format!("（{:.0}%）", c.false_alarms as f64 * 100.0 / c.raised as f64)
    } else {
        String::new()
    };
    format!(
        "<td class=\"num\">{}</td><td class=\"num{}\">{}{share}</td>",
        c.raised,
        if c.false_alarms > 0 { " late" } else { "" },
        c.false_alarms
    )
}

/// The 误报学习 section: what the model learns from, the latest marks, and the reset.
fn relevance_section(r: &Relevance, can_reset: bool, csrf: &str) -> String {
    let mut b = String::from("<h3 id=\"relevance\">误报学习</h3>");
    let _ = write!(
        b,
        "<p>在舆情事件或处置工单上“标记误报”的事件不再定级；它们作为样本，与之用词相似（相似度达到定级政策 false_alarm_similarity，默认 0.60）的新事件定级时降一级（不低于一般，不隐藏），定级依据写明相似的是哪个事件。         现有学习样本 <b>{}</b> 个。</p>",
        r.learning
    );
    if r.recent.is_empty() {
        b.push_str("<p class=\"muted\">还没有误报标记。</p>");
    } else {
        b.push_str("<table><thead><tr><th>时间</th><th>事件</th><th>标记人</th><th>原因</th><th>命中规则</th></tr></thead><tbody>");
        for m in &r.recent {
            let _ = write!(
                b,
                "<tr><td>{}</td><td><a href=\"/stories/{}\">#{} {}</a>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                fmt_time(&m.at),
                m.story,
                m.story,
                esc(&m.title),
                if m.learn { "" } else { " <span class=\"muted\">（已重置）</span>" },
                esc(&m.actor),
                esc(&m.reason),
                esc(&m.rules.join("、"))
            );
        }
        b.push_str("</tbody></table>");
    }
    if can_reset && r.learning > 0 {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/rules/relevance/reset\" class=\"act\">{csrf}<button>重置误报学习</button>              <span class=\"muted\">标记保留、事件仍不定级；只是不再据此调低相似事件。也可用命令 <code>yuqing false-alarm reset</code>。</span></form>"
        );
    }
    b
}

#[allow(clippy::too_many_arguments)]
async fn render(
    state: &AppState,
    cu: &CurrentUser,
    in_force: &[RuleInForce],
    history: &[RuleEdit],
    relevance: &Relevance,
    name: Option<String>,
    expr: Option<String>,
    department: Option<String>,
    notice: Option<(bool, String)>,
) -> String {
    let now = (state.clock)();
    let editor = may_edit_rules(cu.user.role);
    let csrf = format!("<input type=\"hidden\" name=\"_csrf\" value=\"{}\">", esc(cu.csrf_token()));
    let mut b = String::from("<h2>监测规则</h2>");
    if let Some((ok, msg)) = &notice {
        let _ = write!(b, "<p class=\"{} notice\">{}</p>", if *ok { "ok" } else { "late" }, esc(msg));
    }
    let _ = write!(
        b,
        "<table><thead><tr><th>名称</th><th>表达式</th><th>责任单位</th><th>状态</th><th>来源</th>\
         <th title=\"近 {FALSE_ALARM_DAYS} 天发出预警的、命中本规则的舆情事件\">近 {FALSE_ALARM_DAYS} 天预警事件</th><th>其中误报</th><th></th></tr></thead><tbody>"
    );
    for r in in_force {
        let n = urlencoding::encode(&r.rule.name);
        let _ = write!(
            b,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td class=\"muted\">{}</td>{}<td><a href=\"/rules?edit={n}\">{}</a>",
            esc(&r.rule.name),
            esc(&r.rule.expr),
            esc(r.rule.department.as_deref().unwrap_or("")),
            if r.enabled { "启用" } else { "<span class=\"late\">停用</span>" },
            origin_label(&r.origin),
            counts_cells(relevance.counts.get(&r.rule.name)),
            if editor { "编辑" } else { "试运行" }
        );
        if editor {
            let _ = write!(
                b,
                " <form method=\"post\" action=\"/rules/enabled\" class=\"act inline\">{csrf}<input type=\"hidden\" name=\"name\" value=\"{}\"><input type=\"hidden\" name=\"enabled\" value=\"{}\"><button>{}</button></form>",
                esc(&r.rule.name),
                if r.enabled { 0 } else { 1 },
                if r.enabled { "停用" } else { "启用" }
            );
        }
        b.push_str("</td></tr>");
    }
    if in_force.is_empty() {
        b.push_str("<tr><td colspan=\"8\" class=\"muted\">还没有监测规则：在下方写一条并保存，或在配置文件 [[rules]] 中列出</td></tr>");
    }
    b.push_str("</tbody></table><p class=\"muted\">语法：\"词语\"、&amp;（且）、|（或）、!（非）、括号、NEAR/n（n 字以内）、title: 与 source: 限定字段。\
        配置文件 [[rules]] 是初始规则；在此保存的修改覆盖同名规则，历次版本都保留。</p>");
    let depts: String = state.departments.iter().map(|d| format!("<option>{}</option>", esc(d))).collect();
    let _ = write!(
        b,
        "<h3>{}</h3><form method=\"get\" action=\"/rules\" class=\"act\">\
         <input name=\"name\" value=\"{}\" placeholder=\"规则名称（保存时必填）\">\
         <input name=\"expr\" class=\"wide\" value=\"{}\" placeholder=\"例如：(医院 | 卫健委) &amp; (投诉 | 纠纷) &amp; !招聘\">\
         <input name=\"department\" list=\"rule-departments\" value=\"{}\" placeholder=\"责任单位（命中后分派）\"><datalist id=\"rule-departments\">{depts}</datalist>\
         <button>检查并试运行</button></form>",
        if editor { "编辑与试运行" } else { "规则试运行" },
        esc(name.as_deref().unwrap_or("")),
        esc(expr.as_deref().unwrap_or("")),
        esc(department.as_deref().unwrap_or(""))
    );
    if let Some(expr) = expr {
        match rules::parse(&expr) {
            Err(e) => {
                let _ = write!(
                    b,
                    "<p class=\"late\">{}</p><p><code>{}</code></p>",
                    esc(&e.to_string()),
                    mark_position(&expr, e.position)
                );
            }
            Ok(rule) => {
                let _ = write!(b, "<p class=\"ok\">语法正确：<code>{}</code></p>", esc(&rule.to_string()));
                if editor {
                    match &name {
                        Some(n) => {
                            let _ = write!(
                                b,
                                "<form method=\"post\" action=\"/rules\" class=\"act\">{csrf}<input type=\"hidden\" name=\"name\" value=\"{}\"><input type=\"hidden\" name=\"expr\" value=\"{}\"><input type=\"hidden\" name=\"department\" value=\"{}\"><button>保存规则“{}”</button></form>",
                                esc(n),
                                esc(&expr),
                                esc(department.as_deref().unwrap_or("")),
                                esc(n)
                            );
                        }
                        None => b.push_str("<p class=\"muted\">填写规则名称后可保存。</p>"),
                    }
                }
                let ex = expr.clone();
                match state.blocking(move |d, _| Ok(test_rule(&d.store, &ex, now)?)).await {
                    Err(e) => {
                        let _ = write!(b, "<p class=\"late\">{}</p>", esc(&e.shown().message));
                    }
                    Ok(r) => {
                        let _ = write!(
                            b,
                            "<p>近 7 天 {} 条帖文中命中 <b>{}</b> 条{}。</p>",
                            r.scanned,
                            r.matched,
                            if r.truncated {
                                format!("（只扫描了最近 {SCAN_CAP} 条）")
                            } else {
                                String::new()
                            }
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
    if !history.is_empty() {
        b.push_str("<h3>历次保存</h3><table><thead><tr><th>时间</th><th>修改人</th><th>表达式</th><th>责任单位</th><th>状态</th></tr></thead><tbody>");
        for h in history {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                fmt_time(&h.at),
                esc(&h.by),
                esc(&h.expr),
                esc(h.department.as_deref().unwrap_or("")),
                if h.enabled { "启用" } else { "停用" }
            );
        }
        b.push_str("</tbody></table>");
    }
    b.push_str(&relevance_section(relevance, editor && state.story_editor.is_some(), &csrf));
    if editor && state.backtest.is_some() {
        b.push_str(&backtest_form(state, cu).await);
    }
    b
}

/// The 回测 form, over the last 7 days that hold posts.
async fn backtest_form(state: &AppState, cu: &CurrentUser) -> String {
    let latest = state.blocking(|d, _| Ok(yuqing_store::replay::latest_post_time(d.store.connection())?)).await;
    let latest = latest.unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not read the latest post time for the backtest form");
        None
    });
    let (from, to) = crate::backtest::default_range(latest, (state.clock)());
    crate::backtest::form_html(cu.csrf_token(), from, to)
}

/// A rule's form (trimmed; a blank department means the whole organisation).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct RuleForm {
    name: Option<String>,
    expr: Option<String>,
    department: Option<String>,
}

pub async fn save(State(state): State<AppState>, cu: CurrentUser, Form(f): Form<RuleForm>) -> Response {
    let (name, expr, department) =
        (trimmed(&f.name).unwrap_or_default(), trimmed(&f.expr).unwrap_or_default(), trimmed(&f.department));
    if let Err(msg) = check_rule(&name, &expr, department.as_deref(), &state.departments) {
        // The refusal keeps the page whole: the rules in force, and what was typed to correct.
        let (in_force, history, relevance) = match load(&state, Some(name.clone())).await {
            Ok(v) => v,
            Err(e) => return titled_page(&state, "监测规则", e),
        };
        let body = render(
            &state,
            &cu,
            &in_force,
            &history,
            &relevance,
            Some(name),
            Some(expr),
            department,
            Some((false, format!("未保存：{msg}"))),
        )
        .await;
        return (StatusCode::BAD_REQUEST, Html(page("监测规则", &state.org_name, state.banner.as_deref(), &body)))
            .into_response();
    }
    let by = cu.user.name.clone();
    let edit = RuleEdit {
        name: name.clone(),
        expr,
        topic: None,
        department,
        enabled: true,
        by: by.clone(),
        at: (state.clock)(),
    };
    match state.blocking(move |d, _| Ok(save_rule(&d.store, &by, &edit)?)).await {
        Ok(()) => {
            Redirect::to(&format!("/rules?saved={}&edit={}", urlencoding::encode(&name), urlencoding::encode(&name)))
                .into_response()
        }
        Err(e) => titled_page(&state, "监测规则", e),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct EnabledForm {
    name: Option<String>,
    enabled: Option<String>,
}

/// Switches a rule in force off (`enabled=0`) or on again (`enabled=1`).
pub async fn set_enabled(State(state): State<AppState>, cu: CurrentUser, Form(f): Form<EnabledForm>) -> Response {
    let name = f.name.as_deref().map(|s| s.trim().to_string()).unwrap_or_default();
    let enabled = match f.enabled.as_deref() {
        Some("1") => true,
        Some("0") => false,
        other => {
            return titled_page(
                &state,
                "监测规则",
                AppError::invalid_field("enabled", format!("enabled 应为 0 或 1，收到“{}”", other.unwrap_or(""))),
            )
        }
    };
    let configured = state.rules.clone();
    let (by, at) = (cu.user.name.clone(), (state.clock)());
    let target = name.clone();
    let r = state
        .blocking(move |d, _| Ok(yuqing_desk::rules::set_enabled(&d.store, &configured, &target, enabled, &by, at)?))
        .await;
    match r {
        Ok(()) => Redirect::to(&format!("/rules?saved={}", urlencoding::encode(&name))).into_response(),
        Err(e) => titled_page(&state, "监测规则", e),
    }
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
