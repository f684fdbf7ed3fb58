//! 报表 pages: archived reports (view, download, generate), the disposal report form (edit,
//! issue) and the risk register. Forms go through the same functions as the JSON API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use yuqing_desk::permission;
use yuqing_desk::reports::GenerateRequest;
use yuqing_report::model::{DisposalStatus, RiskStatus, DISPOSAL_LABELS};
use yuqing_report::{render, store, Report};

use super::RiskInput;
use crate::error::AppError;
use crate::extract::{empty_as_none, Form, Query};
use crate::html::{csrf_field, fmt_time, Layout};
use crate::{AppState, CurrentUser};

const KINDS: [(&str, &str); 6] = [
    ("daily", "日报"),
    ("weekly", "周报"),
    ("special", "专报"),
    ("stats", "考评"),
    ("disposal", "处置情况报告单"),
    ("risk", "隐患排查表"),
];

fn kind_label(k: &str) -> &str {
    KINDS.iter().find(|(a, _)| *a == k).map_or(k, |(_, b)| b)
}

fn shell(state: &AppState, title: &str, body: Markup) -> Response {
    // The reports' styles are part of the desk's style sheet (assets.rs).
    let body = html! {
        p.tabs {
            a href="/reports" { "报表存档" }
            a href="/reports/disposal" { "处置情况报告单" }
            a href="/reports/risks" { "隐患排查表" }
        }
        (body)
    };
    Layout::of(state, title).html(body).into_response()
}

/// An error in the reports' own frame (internal text is logged, not shown: `AppError::shown`).
fn failed(state: &AppState, e: AppError) -> Response {
    let shown = e.shown();
    let mut r =
        shell(state, "报表", html! { h2 { "报表" } p.late { (shown.message) } p { a href="/reports" { "返回报表" } } });
    *r.status_mut() = shown.status;
    r
}

fn downloads(base: &str) -> Markup {
    html! {
        @for (i, f) in ["docx", "xlsx", "html", "pdf"].iter().enumerate() {
            @if i > 0 { " " }
            a href={ (base) "?format=" (f) } { (f.to_uppercase()) }
        }
    }
}

/// A report as the report crate lays it out in HTML.
fn report_fragment(doc: &render::Document) -> Markup {
    yuqing_report::html::fragment(doc)
}

/// `GET /reports?kind=…` (empty: all kinds).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IndexQuery {
    #[serde(deserialize_with = "empty_as_none")]
    kind: Option<String>,
}

/// 报表: archived reports and the generate form.
pub async fn index(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<IndexQuery>) -> Response {
    // A department's own paperwork is its risk lines and its incidents' forms, not the archive.
    if permission::own_department_only(cu.user.role) {
        return Redirect::to("/reports/risks").into_response();
    }
    let kind = q.kind;
    let (k2, desk, user) = (kind.clone(), state.desk.clone(), cu.user.clone());
    let r = state.blocking(move |d, _| super::visible_archive(d, &desk, &user, k2.as_deref(), 100, 0)).await;
    let (items, total) = match r {
        Ok(x) => x,
        Err(f) => return failed(&state, f),
    };
    let body = html! {
        h2 { "报表" }
        p.muted {
            "日报每天 17:00、周报每周一、隐患排查提醒每月自动生成并通过通知渠道发送；也可随时生成。\
             下载格式：Word（GB/T 9704 公文格式）、Excel、网页、PDF（需安装 LibreOffice）。"
        }
        p {
            "筛选：" a href="/reports" { "全部" }
            @for (k, l) in &KINDS[..4] { " " a href={ "/reports?kind=" (k) } { (l) } }
        }
        @if permission::may_make_reports(cu.user.role) {
            form class="act" method="post" action="/reports/generate" {
                (csrf_field(cu.csrf_token()))
                select name="kind" {
                    option value="daily" { "日报" }
                    option value="weekly" { "周报" }
                    option value="special" { "专报" }
                    option value="stats" { "考评统计" }
                }
                label { "日报日期 " input name="date" placeholder="YYYY-MM-DD" size="10"; }
                label { "周报（该周任一天）" input name="week_of" placeholder="YYYY-MM-DD" size="10"; }
                label { "考评区间 " input name="from" placeholder="开始" size="10"; "–" input name="to" placeholder="结束" size="10"; }
                label { "专报工单 " input name="incident" size="5"; }
                label { "专报标题 " input name="title" size="24" maxlength="60" placeholder="默认：关于“事件标题”的舆情专报"; }
                button { "生成" }
            }
        }
        p.muted { "共 " (total) " 份" @if let Some(k) = kind.as_deref() { "（" (kind_label(k)) "）" } }
        table {
            tr { th { "编号" } th { "类型" } th { "标题" } th { "生成" } th { "时间" } th { "下载" } }
            @for e in &items {
                tr {
                    td { (e.id) }
                    td { (kind_label(&e.kind)) }
                    td { a href={ "/reports/" (e.id) } { (e.title) } }
                    td { @if e.trigger == "schedule" { "定时" } @else { (e.created_by) } }
                    td { (fmt_time(&e.created_at)) }
                    td { (downloads(&format!("/api/v1/reports/{}", e.id))) }
                }
            }
        }
    };
    shell(&state, "报表", body)
}

/// The generate form: every field as typed; blank means "not given" (the report's default).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GenerateForm {
    kind: Option<String>,
    date: Option<String>,
    week_of: Option<String>,
    from: Option<String>,
    to: Option<String>,
    incident: Option<String>,
    title: Option<String>,
}

pub async fn generate(State(state): State<AppState>, cu: CurrentUser, Form(f): Form<GenerateForm>) -> Response {
    let get = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let incident = match get(&f.incident).map(|s| s.parse::<i64>()) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => return failed(&state, AppError::invalid_field("incident", "专报工单编号应为整数")),
        None => None,
    };
    let req = GenerateRequest {
        kind: get(&f.kind).unwrap_or_default(),
        date: get(&f.date),
        week_of: get(&f.week_of),
        from: get(&f.from),
        to: get(&f.to),
        incident,
        title: f.title.clone(),
    };
    let (desk, jobs) = (state.desk.clone(), state.reports.clone());
    match state.blocking(move |d, now| Ok(yuqing_desk::reports::generate(d, &desk, &jobs, &req, &cu.user, now)?)).await
    {
        Ok((id, _)) => Redirect::to(&format!("/reports/{id}")).into_response(),
        Err(f) => failed(&state, f),
    }
}

pub async fn view(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return failed(&state, AppError::invalid_id("报表", &id)) };
    let desk = state.desk.clone();
    let r = state.blocking(move |d, _| super::visible_report(d, &desk, &cu.user, id)).await;
    match r {
        Ok((e, report)) => {
            let doc = render::document(&report, state.reports.config.offset());
            let body = html! {
                p {
                    "下载：" (downloads(&format!("/api/v1/reports/{id}"))) "　"
                    span.muted {
                        @if e.trigger == "schedule" { "定时生成" } @else { (e.created_by) " 生成" }
                        "，" (fmt_time(&e.created_at))
                    }
                }
                (report_fragment(&doc))
            };
            shell(&state, &e.title, body)
        }
        Err(f) => failed(&state, f),
    }
}

// ---------------------------------------------------------------- disposal reports

pub async fn disposal_index(State(state): State<AppState>, cu: CurrentUser) -> Response {
    let desk = state.desk.clone();
    let user = cu.user.clone();
    let r = state
        .blocking(move |d, _| {
            let all = store::disposal_list(d.store.connection(), None, 500)?;
            Ok(all.into_iter().filter(|r| super::disposal_visible(d, &desk, &user, r).is_ok()).collect::<Vec<_>>())
        })
        .await;
    let list = match r {
        Ok(l) => l,
        Err(f) => return failed(&state, f),
    };
    let body = html! {
        h2 { "舆情处置情况报告单" }
        p.muted {
            "主送：" (state.reports.config.recipient)
            "。从工单自动填写（核查结果、处置措施、审定口径、处置结果），签发前可修改；签发时按年度顺序编号 YQCZBG-年份-序号，签发后不可修改。"
        }
        @if permission::may_write_forms(cu.user.role) {
            form class="act" method="post" action="/reports/disposal" {
                (csrf_field(cu.csrf_token()))
                label { "工单编号 " input name="incident" size="6"; }
                button { "新建报告单" }
            }
        }
        table {
            tr { th { "编号" } th { "工单" } th { "标题" } th { "状态" } th { "更新" } th { "下载" } }
            @for r in &list {
                tr {
                    td { a href={ "/reports/disposal/" (r.id) } { (r.serial.as_deref().unwrap_or("（草稿）")) } }
                    td { a href={ "/incidents/" (r.incident_id) } { "#" (r.incident_id) } }
                    td { (r.fields.title) }
                    td { (r.status.label_zh()) }
                    td { (fmt_time(&r.updated_at)) }
                    td { (downloads(&format!("/api/v1/reports/disposal/{}", r.id))) }
                }
            }
        }
    };
    shell(&state, "处置情况报告单", body)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DisposalNewForm {
    incident: Option<String>,
}

pub async fn disposal_new(State(state): State<AppState>, cu: CurrentUser, Form(f): Form<DisposalNewForm>) -> Response {
    let Some(Ok(incident)) = f.incident.as_deref().map(|s| s.trim().parse::<i64>()) else {
        return failed(&state, AppError::invalid_field("incident", "请填写工单编号（整数）"));
    };
    let (desk, jobs) = (state.desk.clone(), state.reports.clone());
    match state.blocking(move |d, now| super::create_disposal(d, &desk, &jobs, &cu.user, incident, now)).await {
        Ok(r) => Redirect::to(&format!("/reports/disposal/{}", r.id)).into_response(),
        Err(f) => failed(&state, f),
    }
}

async fn disposal_page(state: &AppState, cu: &CurrentUser, id: i64, notice: Option<AppError>) -> Response {
    let notice = notice.map(AppError::shown);
    let (desk, user) = (state.desk.clone(), cu.user.clone());
    let r = state.blocking(move |d, _| super::visible_disposal(d, &desk, &user, id)).await;
    let r = match r {
        Ok(r) => r,
        Err(f) => return failed(state, f),
    };
    let editable = r.status == DisposalStatus::Draft && permission::may_write_forms(cu.user.role);
    let csrf = cu.csrf_token();
    let body = html! {
        @if let Some(n) = &notice {
            p class="late notice" { (n.message) }
        }
        h2 { "舆情处置情况报告单 " (r.serial.as_deref().unwrap_or("（草稿）")) }
        p {
            "工单 " a href={ "/incidents/" (r.incident_id) } { "#" (r.incident_id) } " · " (r.status.label_zh())
            " · 下载：" (downloads(&format!("/api/v1/reports/disposal/{id}")))
        }
        @if editable {
            form method="post" action={ "/reports/disposal/" (id) } {
                (csrf_field(csrf))
                input type="hidden" name="action" value="save";
                table.form {
                    tr { th { "主送" } td { input name="recipient" value=(r.recipient) size="40"; } }
                    @for (k, label) in DISPOSAL_LABELS {
                        @let v = if k == "date" { r.fields.date.to_string() } else { r.fields.get(k) };
                        tr {
                            th { (label) }
                            td {
                                @if matches!(k, "cause" | "measures" | "statement" | "result") {
                                    textarea name=(k) rows="5" cols="80" { (v) }
                                } @else {
                                    input name=(k) value=(v) size="50";
                                }
                            }
                        }
                    }
                }
                p { button { "保存" } }
            }
            @if permission::may_issue_forms(cu.user.role) {
                form class="act" method="post" action={ "/reports/disposal/" (id) } {
                    (csrf_field(csrf))
                    input type="hidden" name="action" value="issue";
                    button { "签发（编号后不可修改）" }
                }
            }
        } @else {
            (report_fragment(&render::document(&Report::Disposal(r.clone()), state.reports.config.offset())))
        }
    };
    let status = notice.map_or(StatusCode::OK, |n| n.status);
    let mut resp = shell(state, "处置情况报告单", body);
    *resp.status_mut() = status;
    resp
}

pub async fn disposal_view(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return failed(&state, AppError::invalid_id("报告单", &id)) };
    disposal_page(&state, &cu, id, None).await
}

/// A disposal report's form: `action` (save | issue) and, to save, the fields present in the form
/// (an empty field clears it).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DisposalForm {
    action: Option<String>,
    recipient: Option<String>,
    title: Option<String>,
    cause: Option<String>,
    measures: Option<String>,
    statement: Option<String>,
    result: Option<String>,
    department: Option<String>,
    leader: Option<String>,
    phone: Option<String>,
    date: Option<String>,
}

impl DisposalForm {
    /// The fields given, by their store names, in the store's order.
    fn changes(self) -> Vec<(String, String)> {
        let DisposalForm {
            action: _,
            recipient,
            title,
            cause,
            measures,
            statement,
            result,
            department,
            leader,
            phone,
            date,
        } = self;
        [
            ("recipient", recipient),
            ("title", title),
            ("cause", cause),
            ("measures", measures),
            ("statement", statement),
            ("result", result),
            ("department", department),
            ("leader", leader),
            ("phone", phone),
            ("date", date),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
    }
}

pub async fn disposal_act(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    Form(mut f): Form<DisposalForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else { return failed(&state, AppError::invalid_id("报告单", &id)) };
    let action = f.action.take().unwrap_or_default();
    if action == "issue" && !permission::may_issue_forms(cu.user.role) {
        return disposal_page(&state, &cu, id, Some(AppError::forbidden("报告单由办公室签发"))).await;
    }
    let (desk, jobs, user) = (state.desk.clone(), state.reports.clone(), cu.user.clone());
    let r = state
        .blocking(move |d, now| {
            super::visible_disposal(d, &desk, &user, id)?;
            let c = d.store.connection();
            match action.as_str() {
                "issue" => store::disposal_issue(c, id, &user.name, now, jobs.config.offset())
                    .map(|_| ())
                    .map_err(AppError::from),
                "save" => {
                    let changes = f.changes();
                    store::disposal_edit(c, id, &changes, &user.name, now).map(|_| ()).map_err(AppError::from)
                }
                other => Err(AppError::invalid_field("action", format!("未知的操作“{other}”"))),
            }
        })
        .await;
    match r {
        Ok(()) => Redirect::to(&format!("/reports/disposal/{id}")).into_response(),
        Err(f) => disposal_page(&state, &cu, id, Some(f)).await,
    }
}

// ---------------------------------------------------------------- risk register

fn risk_form(action: &str, csrf: &str, v: Option<&yuqing_report::model::RiskItem>, dept: Option<&str>) -> Markup {
    let f = v.map(|i| &i.fields);
    let val = |s: Option<&String>| s.map(String::as_str).unwrap_or("").to_string();
    html! {
        form method="post" action=(action) {
            (csrf_field(csrf))
            table.form {
                tr { th { "责任单位" } td {
                    input name="department" value=(f.map_or_else(|| dept.unwrap_or("").to_string(), |f| f.department.clone())) size="30";
                } }
                tr { th { "舆情隐患内容" } td { textarea name="content" rows="3" cols="80" { (val(f.map(|f| &f.content))) } } }
                tr { th { "线下处置措施" } td {
                    textarea name="offline_measures" rows="3" cols="80" { (val(f.map(|f| &f.offline_measures))) }
                } }
                tr { th { "线上应对措施及引导口径" } td {
                    textarea name="online_response" rows="3" cols="80" { (val(f.map(|f| &f.online_response))) }
                } }
                tr { th { "解决时限" } td {
                    input name="due_date" value=(f.map(|f| f.due_date.to_string()).unwrap_or_default()) placeholder="YYYY-MM-DD" size="12";
                } }
                @if let Some(i) = v {
                    tr { th { "状态" } td {
                        select name="status" {
                            option value="open" selected[i.status == RiskStatus::Open] { "未解决" }
                            option value="resolved" selected[i.status == RiskStatus::Resolved] { "已解决" }
                        }
                    } }
                }
            }
            p { button { (if v.is_some() { "保存修改" } else { "登记隐患" }) } }
        }
    }
}

/// `GET /reports/risks?edit=ID`: an unreadable `edit` just shows no edit form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RisksQuery {
    edit: Option<String>,
}

pub async fn risks(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<RisksQuery>) -> Response {
    let edit = q.edit.as_deref().and_then(|s| s.parse::<i64>().ok());
    let scope = permission::own_department_only(cu.user.role).then(|| cu.user.department.clone().unwrap_or_default());
    let jobs = state.reports.clone();
    let r = state
        .blocking(move |d, now| {
            let c = d.store.connection();
            let reg = yuqing_report::gather::risk_register(
                c,
                &jobs.org,
                scope.as_deref(),
                store::today(now, jobs.config.offset()),
            )?;
            let history = match edit {
                Some(id) if reg.items.iter().any(|i| i.id == id) => store::risk_history(c, id)?,
                _ => Vec::new(),
            };
            Ok((reg, history))
        })
        .await;
    let (reg, history) = match r {
        Ok(x) => x,
        Err(f) => return failed(&state, f),
    };
    let can_edit = permission::may_keep_risks(cu.user.role);
    let overdue = reg.items.iter().filter(|i| i.overdue(reg.as_of)).count();
    let csrf = cu.csrf_token();
    let body = html! {
        h2 { "网络舆情隐患排查表" }
        p {
            "登记 " (reg.items.len()) " 项，逾期未解决 " b.late { (overdue) } " 项。每月 " (state.reports.config.reminder_day)
            " 日提醒各单位开展排查。下载：" (downloads("/api/v1/reports/risks"))
        }
        table {
            tr {
                th { "序号" } th { "责任单位" } th { "舆情隐患内容" } th { "线下处置措施" } th { "线上应对措施及引导口径" }
                th { "解决时限" } th { "状态" } th {}
            }
            @for (k, i) in reg.items.iter().enumerate() {
                tr {
                    td { (k + 1) }
                    td { (i.fields.department) }
                    td { (i.fields.content) }
                    td { (i.fields.offline_measures) }
                    td { (i.fields.online_response) }
                    td { (i.fields.due_date) }
                    td { @if i.overdue(reg.as_of) { span.late { "逾期" } } @else { (i.status.label_zh()) } }
                    td { @if can_edit { a href={ "/reports/risks?edit=" (i.id) } { "修改" } } }
                }
            }
        }
        @if can_edit {
            @match edit.and_then(|id| reg.items.iter().find(|i| i.id == id)) {
                Some(item) => {
                    h3 { "修改隐患 " (item.id) }
                    (risk_form(&format!("/reports/risks/{}", item.id), csrf, Some(item), None))
                    h3 { "修改记录" }
                    ol.timeline { @for h in &history { li { (fmt_time(&h.at)) " " (h.actor) "：" (h.change) } } }
                }
                None => {
                    h3 { "登记隐患" }
                    (risk_form("/reports/risks", csrf, None, cu.user.department.as_deref()))
                }
            }
        }
    };
    shell(&state, "隐患排查表", body)
}

/// A risk line's form (the page's [`RiskInput`]; a blank 解决时限 keeps the old one).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RiskForm {
    department: Option<String>,
    content: Option<String>,
    offline_measures: Option<String>,
    online_response: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    due_date: Option<String>,
    status: Option<String>,
}

fn risk_input(f: RiskForm) -> RiskInput {
    let RiskForm { department, content, offline_measures, online_response, due_date, status } = f;
    RiskInput { department, content, offline_measures, online_response, due_date, status }
}

pub async fn risk_add(State(state): State<AppState>, cu: CurrentUser, Form(f): Form<RiskForm>) -> Response {
    let input = risk_input(f);
    match state.blocking(move |d, now| super::add_risk(d, &cu.user, &input, now)).await {
        Ok(_) => Redirect::to("/reports/risks").into_response(),
        Err(f) => failed(&state, f),
    }
}

pub async fn risk_update(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<RiskForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else { return failed(&state, AppError::invalid_id("隐患", &id)) };
    let input = risk_input(f);
    match state.blocking(move |d, now| super::update_risk(d, &cu.user, id, &input, now)).await {
        Ok(_) => Redirect::to(&format!("/reports/risks?edit={id}")).into_response(),
        Err(f) => failed(&state, f),
    }
}
