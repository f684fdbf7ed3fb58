//! 监测规则: the configured watch rules and a workbench — type an expression, see a syntax error
//! at its position, or how many posts of the last 7 days it matches, with samples highlighted.
//! Saving, switching and the trial run itself are `yuqing_desk::rules`; this is their page.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
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
use crate::html::{csrf_field, fmt_time, highlighted, Layout};
use crate::AppState;

/// The expression with the character at `position` marked (or a marker at the end).
pub fn mark_position(expr: &str, position: usize) -> Markup {
    let at = expr.char_indices().nth(position);
    html! {
        @match at {
            Some((i, c)) => {
                (expr.get(..i).unwrap_or("")) mark.err { (c) } (expr.get(i + c.len_utf8()..).unwrap_or(""))
            }
            None => { (expr) mark.err { "␣" } }
        }
    }
}

fn origin_label(o: &RuleOrigin) -> String {
    match o {
        RuleOrigin::Config => "配置文件".to_string(),
        RuleOrigin::Edited { by, at, overrides } => {
            format!("网页{}（{} {}）", if *overrides { "修改" } else { "新增" }, by, fmt_time(at))
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
    Layout::of(&state, "监测规则").html(body).into_response()
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
fn counts_cells(c: Option<&RuleCounts>) -> Markup {
    let c = c.cloned().unwrap_or_default();
    html! {
        td.num { (c.raised) }
        td.num.late[c.false_alarms > 0] {
            (c.false_alarms)
            @if c.raised > 0 && c.false_alarms > 0 {
                (format!("（{:.0}%）", c.false_alarms as f64 * 100.0 / c.raised as f64))
            }
        }
    }
}

/// The 误报学习 section: what the model learns from, the latest marks, and the reset.
fn relevance_section(r: &Relevance, can_reset: bool, csrf: &str) -> Markup {
    html! {
        h3 #relevance { "误报学习" }
        p {
            "在舆情事件或处置工单上“标记误报”的事件不再定级；它们作为样本，与之用词相似（相似度达到定级政策 \
             false_alarm_similarity，默认 0.60）的新事件定级时降一级（不低于一般，不隐藏），定级依据写明相似的是哪个事件。\
             现有学习样本 " b { (r.learning) } " 个。"
        }
        @if r.recent.is_empty() {
            p.muted { "还没有误报标记。" }
        } @else {
            table {
                thead { tr { th { "时间" } th { "事件" } th { "标记人" } th { "原因" } th { "命中规则" } } }
                tbody { @for m in &r.recent {
                    tr {
                        td { (fmt_time(&m.at)) }
                        td {
                            a href={ "/stories/" (m.story) } { "#" (m.story) " " (m.title) }
                            @if !m.learn { " " span.muted { "（已重置）" } }
                        }
                        td { (m.actor) }
                        td { (m.reason) }
                        td { (m.rules.join("、")) }
                    }
                } }
            }
        }
        @if can_reset && r.learning > 0 {
            form method="post" action="/rules/relevance/reset" class="act" {
                (csrf_field(csrf))
                button { "重置误报学习" }
                " "
                span.muted {
                    "标记保留、事件仍不定级；只是不再据此调低相似事件。也可用命令 " code { "yuqing false-alarm reset" } "。"
                }
            }
        }
    }
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
) -> Markup {
    let now = (state.clock)();
    let editor = may_edit_rules(cu.user.role);
    let csrf = cu.csrf_token();
    let parsed = expr.as_deref().map(|e| (e, rules::parse(e)));
    // The trial run, when the expression parses.
    let trial = match &parsed {
        Some((e, Ok(_))) => {
            let ex = e.to_string();
            Some(state.blocking(move |d, _| Ok(test_rule(&d.store, &ex, now)?)).await.map_err(|e| e.shown().message))
        }
        _ => None,
    };
    let backtest = if editor && state.backtest.is_some() { Some(backtest_form(state, cu).await) } else { None };
    html! {
        h2 { "监测规则" }
        @if let Some((ok, msg)) = &notice {
            p class={ (if *ok { "ok" } else { "late" }) " notice" } { (msg) }
        }
        table {
            thead { tr {
                th { "名称" } th { "表达式" } th { "责任单位" } th { "状态" } th { "来源" }
                th title={ "近 " (FALSE_ALARM_DAYS) " 天发出预警的、命中本规则的舆情事件" } { "近 " (FALSE_ALARM_DAYS) " 天预警事件" }
                th { "其中误报" } th {}
            } }
            tbody {
                @for r in in_force {
                    tr {
                        td { (r.rule.name) }
                        td { code { (r.rule.expr) } }
                        td { (r.rule.department.as_deref().unwrap_or("")) }
                        td { @if r.enabled { "启用" } @else { span.late { "停用" } } }
                        td.muted { (origin_label(&r.origin)) }
                        (counts_cells(relevance.counts.get(&r.rule.name)))
                        td {
                            a href={ "/rules?edit=" (urlencoding::encode(&r.rule.name)) } { (if editor { "编辑" } else { "试运行" }) }
                            @if editor {
                                " "
                                form method="post" action="/rules/enabled" class="act inline" {
                                    (csrf_field(csrf))
                                    input type="hidden" name="name" value=(r.rule.name);
                                    input type="hidden" name="enabled" value=(if r.enabled { 0 } else { 1 });
                                    button { (if r.enabled { "停用" } else { "启用" }) }
                                }
                            }
                        }
                    }
                }
                @if in_force.is_empty() {
                    tr { td colspan="8" class="muted" { "还没有监测规则：在下方写一条并保存，或在配置文件 [[rules]] 中列出" } }
                }
            }
        }
        p.muted {
            "语法：\"词语\"、&（且）、|（或）、!（非）、括号、NEAR/n（n 字以内）、title: 与 source: 限定字段。\
             配置文件 [[rules]] 是初始规则；在此保存的修改覆盖同名规则，历次版本都保留。"
        }
        h3 { (if editor { "编辑与试运行" } else { "规则试运行" }) }
        form method="get" action="/rules" class="act" {
            input name="name" value=(name.as_deref().unwrap_or("")) placeholder="规则名称（保存时必填）";
            input name="expr" class="wide" value=(expr.as_deref().unwrap_or("")) placeholder="例如：(医院 | 卫健委) & (投诉 | 纠纷) & !招聘";
            input name="department" list="rule-departments" value=(department.as_deref().unwrap_or("")) placeholder="责任单位（命中后分派）";
            datalist #rule-departments { @for d in state.departments.iter() { option { (d) } } }
            button { "检查并试运行" }
        }
        @match &parsed {
            Some((e, Err(err))) => {
                p.late { (err.to_string()) }
                p { code { (mark_position(e, err.position)) } }
            }
            Some((e, Ok(rule))) => {
                p.ok { "语法正确：" code { (rule.to_string()) } }
                @if editor {
                    @match &name {
                        Some(n) => form method="post" action="/rules" class="act" {
                            (csrf_field(csrf))
                            input type="hidden" name="name" value=(n);
                            input type="hidden" name="expr" value=(e);
                            input type="hidden" name="department" value=(department.as_deref().unwrap_or(""));
                            button { "保存规则“" (n) "”" }
                        },
                        None => p.muted { "填写规则名称后可保存。" },
                    }
                }
                @match &trial {
                    Some(Err(message)) => p.late { (message) },
                    Some(Ok(r)) => {
                        p {
                            "近 7 天 " (r.scanned) " 条帖文中命中 " b { (r.matched) } " 条"
                            @if r.truncated { "（只扫描了最近 " (SCAN_CAP) " 条）" }
                            "。"
                        }
                        @for (_, story, at, source, title, text, terms) in &r.samples {
                            div.post {
                                div.meta {
                                    (fmt_time(&chrono::DateTime::from_timestamp(*at, 0).unwrap_or_default())) " · "
                                    (if source.is_empty() { "未知来源" } else { source.as_str() }) " · "
                                    a href={ "/stories/" (story) } { "事件 #" (story) }
                                }
                                @if !title.is_empty() { b { (title) } }
                                div { (highlighted(&snippet(text, &matching_form(text), terms, 160))) }
                            }
                        }
                    }
                    None => {}
                }
            }
            None => {}
        }
        @if !history.is_empty() {
            h3 { "历次保存" }
            table {
                thead { tr { th { "时间" } th { "修改人" } th { "表达式" } th { "责任单位" } th { "状态" } } }
                tbody { @for h in history {
                    tr {
                        td { (fmt_time(&h.at)) }
                        td { (h.by) }
                        td { code { (h.expr) } }
                        td { (h.department.as_deref().unwrap_or("")) }
                        td { (if h.enabled { "启用" } else { "停用" }) }
                    }
                } }
            }
        }
        (relevance_section(relevance, editor && state.story_editor.is_some(), csrf))
        @if let Some(f) = backtest { (f) }
    }
}

/// The 回测 form, over the last 7 days that hold posts.
async fn backtest_form(state: &AppState, cu: &CurrentUser) -> Markup {
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
        return (StatusCode::BAD_REQUEST, Layout::of(&state, "监测规则").html(body)).into_response();
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
        assert_eq!(mark_position("a&(b", 4).into_string(), "a&amp;(b<mark class=\"err\">␣</mark>");
        assert_eq!(mark_position("医院&&", 3).into_string(), "医院&amp;<mark class=\"err\">&amp;</mark>");
        assert_eq!(mark_position("医<院", 1).into_string(), "医<mark class=\"err\">&lt;</mark>院");
    }
}
