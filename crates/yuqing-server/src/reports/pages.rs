//! 报表 pages: archived reports (view, download, generate), the disposal report form (edit,
//! issue) and the risk register. Forms go through the same functions as the JSON API.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use yuqing_desk::permission;
use yuqing_desk::reports::GenerateRequest;
use yuqing_report::model::{DisposalStatus, RiskStatus, DISPOSAL_LABELS};
use yuqing_report::{render, store, Report};

use super::RiskInput;
use crate::error::AppError;
use crate::extract::{empty_as_none, Form, Query};
use crate::html::{esc, fmt_time, page};
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

fn shell(state: &AppState, title: &str, body: &str) -> Response {
    // The reports' styles are part of the desk's style sheet (assets.rs).
    let body = format!("<p class=\"tabs\"><a href=\"/reports\">报表存档</a><a href=\"/reports/disposal\">处置情况报告单</a><a href=\"/reports/risks\">隐患排查表</a></p>{body}");
    Html(page(title, &state.org_name, state.banner.as_deref(), &body)).into_response()
}

/// An error in the reports' own frame (internal text is logged, not shown: `AppError::shown`).
fn failed(state: &AppState, e: AppError) -> Response {
    let shown = e.shown();
    let mut r = shell(
        state,
        "报表",
        &format!("<h2>报表</h2><p class=\"late\">{}</p><p><a href=\"/reports\">返回报表</a></p>", esc(&shown.message)),
    );
    *r.status_mut() = shown.status;
    r
}

fn downloads(base: &str) -> String {
    ["docx", "xlsx", "html", "pdf"]
        .iter()
        .map(|f| format!("<a href=\"{base}?format={f}\">{}</a>", f.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
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
    let mut b = String::from("<h2>报表</h2><p class=\"muted\">日报每天 17:00、周报每周一、隐患排查提醒每月自动生成并通过通知渠道发送；也可随时生成。下载格式：Word（GB/T 9704 公文格式）、Excel、网页、PDF（需安装 LibreOffice）。</p>");
    b.push_str("<p>筛选：<a href=\"/reports\">全部</a>");
    for (k, l) in &KINDS[..4] {
        b.push_str(&format!(" <a href=\"/reports?kind={k}\">{l}</a>"));
    }
    b.push_str("</p>");
    if permission::may_make_reports(cu.user.role) {
        b.push_str(&format!(
            "<form class=\"act\" method=\"post\" action=\"/reports/generate\">{}<select name=\"kind\"><option value=\"daily\">日报</option><option value=\"weekly\">周报</option><option value=\"special\">专报</option><option value=\"stats\">考评统计</option></select>\
             <label>日报日期 <input name=\"date\" placeholder=\"YYYY-MM-DD\" size=\"10\"></label><label>周报（该周任一天）<input name=\"week_of\" placeholder=\"YYYY-MM-DD\" size=\"10\"></label>\
             <label>考评区间 <input name=\"from\" placeholder=\"开始\" size=\"10\">–<input name=\"to\" placeholder=\"结束\" size=\"10\"></label><label>专报工单 <input name=\"incident\" size=\"5\"></label><button>生成</button></form>",
            cu.csrf_field()
        ));
    }
    b.push_str(&format!(
        "<p class=\"muted\">共 {total} 份{}</p>",
        kind.as_deref().map(|k| format!("（{}）", kind_label(k))).unwrap_or_default()
    ));
    b.push_str("<table><tr><th>编号</th><th>类型</th><th>标题</th><th>生成</th><th>时间</th><th>下载</th></tr>");
    for e in &items {
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><a href=\"/reports/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.id,
            esc(kind_label(&e.kind)),
            e.id,
            esc(&e.title),
            if e.trigger == "schedule" { "定时".to_string() } else { esc(&e.created_by) },
            fmt_time(&e.created_at),
            downloads(&format!("/api/v1/reports/{}", e.id))
        ));
    }
    b.push_str("</table>");
    shell(&state, "报表", &b)
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
            let body = format!(
                "<p>下载：{}　<span class=\"muted\">{}，{}</span></p>{}",
                downloads(&format!("/api/v1/reports/{id}")),
                if e.trigger == "schedule" {
                    "定时生成".to_string()
                } else {
                    format!("{} 生成", esc(&e.created_by))
                },
                fmt_time(&e.created_at),
                yuqing_report::html::fragment(&doc)
            );
            shell(&state, &e.title, &body)
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
    let mut b = format!("<h2>舆情处置情况报告单</h2><p class=\"muted\">主送：{}。从工单自动填写（核查结果、处置措施、审定口径、处置结果），签发前可修改；签发时按年度顺序编号 YQCZBG-年份-序号，签发后不可修改。</p>", esc(&state.reports.config.recipient));
    if permission::may_write_forms(cu.user.role) {
        b.push_str(&format!("<form class=\"act\" method=\"post\" action=\"/reports/disposal\">{}<label>工单编号 <input name=\"incident\" size=\"6\"></label><button>新建报告单</button></form>", cu.csrf_field()));
    }
    b.push_str("<table><tr><th>编号</th><th>工单</th><th>标题</th><th>状态</th><th>更新</th><th>下载</th></tr>");
    for r in &list {
        b.push_str(&format!(
            "<tr><td><a href=\"/reports/disposal/{}\">{}</a></td><td><a href=\"/incidents/{}\">#{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.id,
            esc(r.serial.as_deref().unwrap_or("（草稿）")),
            r.incident_id,
            r.incident_id,
            esc(&r.fields.title),
            r.status.label_zh(),
            fmt_time(&r.updated_at),
            downloads(&format!("/api/v1/reports/disposal/{}", r.id))
        ));
    }
    b.push_str("</table>");
    shell(&state, "处置情况报告单", &b)
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
    let mut b = String::new();
    if let Some(n) = &notice {
        b.push_str(&format!("<p class=\"late notice\">{}</p>", esc(&n.message)));
    }
    b.push_str(&format!(
        "<h2>舆情处置情况报告单 {}</h2><p>工单 <a href=\"/incidents/{}\">#{}</a> · {} · 下载：{}</p>",
        esc(r.serial.as_deref().unwrap_or("（草稿）")),
        r.incident_id,
        r.incident_id,
        r.status.label_zh(),
        downloads(&format!("/api/v1/reports/disposal/{id}"))
    ));
    let editable = r.status == DisposalStatus::Draft && permission::may_write_forms(cu.user.role);
    if editable {
        b.push_str(&format!("<form method=\"post\" action=\"/reports/disposal/{id}\">{}<input type=\"hidden\" name=\"action\" value=\"save\"><table class=\"form\">", cu.csrf_field()));
        b.push_str(&format!(
            "<tr><th>主送</th><td><input name=\"recipient\" value=\"{}\" size=\"40\"></td></tr>",
            esc(&r.recipient)
        ));
        for (k, label) in DISPOSAL_LABELS {
            let v = if k == "date" { r.fields.date.to_string() } else { r.fields.get(k) };
            let input = if matches!(k, "cause" | "measures" | "statement" | "result") {
                format!("<textarea name=\"{k}\" rows=\"5\" cols=\"80\">{}</textarea>", esc(&v))
            } else {
                format!("<input name=\"{k}\" value=\"{}\" size=\"50\">", esc(&v))
            };
            b.push_str(&format!("<tr><th>{label}</th><td>{input}</td></tr>"));
        }
        b.push_str("</table><p><button>保存</button></p></form>");
        if permission::may_issue_forms(cu.user.role) {
            b.push_str(&format!(
                "<form class=\"act\" method=\"post\" action=\"/reports/disposal/{id}\">{}<input type=\"hidden\" name=\"action\" value=\"issue\"><button>签发（编号后不可修改）</button></form>",
                cu.csrf_field()
            ));
        }
    } else {
        let doc = render::document(&Report::Disposal(r), state.reports.config.offset());
        b.push_str(&yuqing_report::html::fragment(&doc));
    }
    let status = notice.map_or(StatusCode::OK, |n| n.status);
    let mut resp = shell(state, "处置情况报告单", &b);
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

fn risk_form(action: &str, csrf: &str, v: Option<&yuqing_report::model::RiskItem>, dept: Option<&str>) -> String {
    let f = v.map(|i| &i.fields);
    let val = |s: Option<&String>| esc(s.map(String::as_str).unwrap_or(""));
    format!(
        "<form method=\"post\" action=\"{action}\">{csrf}<table class=\"form\">\
         <tr><th>责任单位</th><td><input name=\"department\" value=\"{}\" size=\"30\"></td></tr>\
         <tr><th>舆情隐患内容</th><td><textarea name=\"content\" rows=\"3\" cols=\"80\">{}</textarea></td></tr>\
         <tr><th>线下处置措施</th><td><textarea name=\"offline_measures\" rows=\"3\" cols=\"80\">{}</textarea></td></tr>\
         <tr><th>线上应对措施及引导口径</th><td><textarea name=\"online_response\" rows=\"3\" cols=\"80\">{}</textarea></td></tr>\
         <tr><th>解决时限</th><td><input name=\"due_date\" value=\"{}\" placeholder=\"YYYY-MM-DD\" size=\"12\"></td></tr>{}\
         </table><p><button>{}</button></p></form>",
        f.map_or_else(|| esc(dept.unwrap_or("")), |f| esc(&f.department)),
        val(f.map(|f| &f.content)),
        val(f.map(|f| &f.offline_measures)),
        val(f.map(|f| &f.online_response)),
        f.map(|f| f.due_date.to_string()).unwrap_or_default(),
        v.map_or(String::new(), |i| format!(
            "<tr><th>状态</th><td><select name=\"status\"><option value=\"open\"{}>未解决</option><option value=\"resolved\"{}>已解决</option></select></td></tr>",
            if i.status == RiskStatus::Open { " selected" } else { "" },
            if i.status == RiskStatus::Resolved { " selected" } else { "" }
        )),
        if v.is_some() { "保存修改" } else { "登记隐患" }
    )
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
    let mut b = format!(
        "<h2>网络舆情隐患排查表</h2><p>登记 {} 项，逾期未解决 <b class=\"late\">{overdue}</b> 项。每月 {} 日提醒各单位开展排查。下载：{}</p>",
        reg.items.len(),
        state.reports.config.reminder_day,
        downloads("/api/v1/reports/risks")
    );
    b.push_str("<table><tr><th>序号</th><th>责任单位</th><th>舆情隐患内容</th><th>线下处置措施</th><th>线上应对措施及引导口径</th><th>解决时限</th><th>状态</th><th></th></tr>");
    for (k, i) in reg.items.iter().enumerate() {
        let status = if i.overdue(reg.as_of) {
            "<span class=\"late\">逾期</span>".to_string()
        } else {
            i.status.label_zh().to_string()
        };
        b.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{status}</td><td>{}</td></tr>",
            k + 1,
            esc(&i.fields.department),
            esc(&i.fields.content),
            esc(&i.fields.offline_measures),
            esc(&i.fields.online_response),
            i.fields.due_date,
            if can_edit { format!("<a href=\"/reports/risks?edit={}\">修改</a>", i.id) } else { String::new() }
        ));
    }
    b.push_str("</table>");
    if can_edit {
        match edit.and_then(|id| reg.items.iter().find(|i| i.id == id)) {
            Some(item) => {
                b.push_str(&format!("<h3>修改隐患 {}</h3>", item.id));
                b.push_str(&risk_form(&format!("/reports/risks/{}", item.id), &cu.csrf_field(), Some(item), None));
                b.push_str("<h3>修改记录</h3><ol class=\"timeline\">");
                for h in &history {
                    b.push_str(&format!("<li>{} {}：{}</li>", fmt_time(&h.at), esc(&h.actor), esc(&h.change)));
                }
                b.push_str("</ol>");
            }
            None => {
                b.push_str("<h3>登记隐患</h3>");
                b.push_str(&risk_form("/reports/risks", &cu.csrf_field(), None, cu.user.department.as_deref()));
            }
        }
    }
    shell(&state, "隐患排查表", &b)
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
