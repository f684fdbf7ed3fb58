//! 报表: the reports' JSON API (`/api/v1/reports…`) and the scheduler that produces the daily
//! digest, weekly bulletin and monthly risk reminder on the server's clock (`pages` holds the web
//! pages). Operations run off the async threads under the data lock and go through
//! `yuqing_report` — the same functions the command line uses.
//!
//! Finer access than `auth/policy.rs`: whatever is about one incident — a 专报 (special report),
//! a 处置情况报告单 (disposal report) — is seen, made and changed only by who may see the incident
//! (`Desk::visible_incident`: a department member or a department's officer sees its department's
//! incidents only; refusals are 403 as for the incident itself, and lists leave such items out).
//! The daily, weekly and statistics reports are the organization's bulletins and stay readable by
//! every report reader. A department member touches only its own department's risk items.

pub mod pages;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;
use yuqing_core::people::Role;
use yuqing_report::model::{DisposalReport, RiskFields, RiskStatus};
use yuqing_report::period::{parse_date, Period};
use yuqing_report::schedule::Jobs;
use yuqing_report::{gather, store, Format, Report, ReportError};
use yuqing_store::desk::User;
use yuqing_store::DataDir;

use crate::{AppState, CurrentUser};

/// A refusal: status and the message in Chinese.
pub type Fail = (StatusCode, String);

pub fn fail(e: ReportError) -> Fail {
    let status = match &e {
        ReportError::NotFound(_) => StatusCode::NOT_FOUND,
        ReportError::Invalid(_) => StatusCode::BAD_REQUEST,
        ReportError::Conflict(_) => StatusCode::CONFLICT,
        ReportError::PdfUnavailable(_) => StatusCode::NOT_IMPLEMENTED,
        ReportError::Store(_) | ReportError::Write { .. } => {
            tracing::error!(error = %e, "report error");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    (status, e.to_string())
}

/// Runs `f` with the data directory and the time, off the async threads.
pub async fn blocking<T: Send + 'static>(state: &AppState, f: impl FnOnce(&DataDir, DateTime<Utc>) -> Result<T, Fail> + Send + 'static) -> Result<T, Fail> {
    let (data, clock) = (state.data.clone(), state.clock.clone());
    tokio::task::spawn_blocking(move || {
        let guard = yuqing_store::guard::lock(&data);
        f(&guard, clock())
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "report task failed");
        (StatusCode::INTERNAL_SERVER_ERROR, "内部错误，请稍后重试".to_string())
    })?
}

fn json_err((status, msg): Fail) -> Response {
    (status, Json(json!({"error": msg}))).into_response()
}

/// The file of a report in a format, as a download.
pub fn download(report: &Report, format: Format, jobs: &Jobs) -> Response {
    match yuqing_report::write(report, format, jobs.config.offset()) {
        Ok(bytes) => {
            let name = format!("{}.{}", report.file_stem(), format.ext());
            let disposition = format!("attachment; filename=\"report.{}\"; filename*=UTF-8''{}", format.ext(), urlencoding::encode(&name));
            ([(header::CONTENT_TYPE, format.mime().to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response()
        }
        Err(e) => json_err(fail(e)),
    }
}

fn format_param(q: &HashMap<String, String>) -> Result<Option<Format>, Fail> {
    q.get("format").map(|f| Format::parse(f).map_err(fail)).transpose()
}

fn today(jobs: &Jobs, now: DateTime<Utc>) -> NaiveDate {
    store::today(now, jobs.config.offset())
}

/// What to generate (API body and page form alike).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// daily | weekly | special | stats
    pub kind: String,
    /// 日报的日期 (YYYY-MM-DD; default today).
    pub date: Option<String>,
    /// 周报: a day of the week (default: last week).
    pub week_of: Option<String>,
    /// 考评: first and last day.
    pub from: Option<String>,
    pub to: Option<String>,
    /// 专报: the incident.
    pub incident: Option<i64>,
}

/// Builds a report on demand and archives it. A 专报 only for an incident `by` may see.
pub fn generate(d: &DataDir, desk: &crate::Desk, jobs: &Jobs, req: &GenerateRequest, by: &User, now: DateTime<Utc>) -> Result<(i64, Report), Fail> {
    if matches!(req.kind.as_str(), "special" | "专报") {
        if let Some(id) = req.incident {
            incident_visible(d, desk, by, id)?;
        }
    }
    build(d, jobs, req, by, now).map_err(fail)
}

fn build(d: &DataDir, jobs: &Jobs, req: &GenerateRequest, by: &User, now: DateTime<Utc>) -> Result<(i64, Report), ReportError> {
    let st = &d.store;
    let offset = jobs.config.offset();
    let date = |s: &Option<String>, what: &str, default: NaiveDate| s.as_deref().filter(|s| !s.trim().is_empty()).map_or(Ok(default), |s| parse_date(s, what));
    let today = today(jobs, now);
    let (report, period) = match req.kind.as_str() {
        "daily" | "日报" => {
            let day = date(&req.date, "日期", today)?;
            (Report::Daily(gather::daily(st, &jobs.org, day, offset, &jobs.link_base, jobs.config.posts_per_story, now)?), day.to_string())
        }
        "weekly" | "周报" => {
            let week = Period::week_of(date(&req.week_of, "周报日期", today - chrono::Duration::days(7))?);
            (Report::Weekly(gather::weekly(st, &jobs.org, week, offset, now)?), week.key())
        }
        "stats" | "考评" => {
            let month = Period::month_of(today);
            let p = Period::new(date(&req.from, "开始日期", month.first)?, date(&req.to, "结束日期", today)?)?;
            (Report::Stats(gather::stats(st, &jobs.org, p, offset, now)?), p.key())
        }
        "special" | "专报" => {
            let Some(id) = req.incident else { return Err(ReportError::Invalid("专报须指定工单编号（incident）".into())) };
            if by.role == Role::DepartmentMember {
                return Err(ReportError::Invalid("专报由办公室或信息员生成".into()));
            }
            (Report::Special(gather::special(st, d.fts.segmenter(), &jobs.org, id, offset, now)?), format!("incident-{id}"))
        }
        other => return Err(ReportError::Invalid(format!("未知的报表类型“{other}”，可用 daily（日报）、weekly（周报）、special（专报）、stats（考评）"))),
    };
    let id = store::archive_put(st.connection(), &report, &period, "manual", &by.name, now)?;
    Ok((id, report))
}

/// May this user see incident `id` (and so what is written about it)? The desk's one rule.
fn incident_visible(d: &DataDir, desk: &crate::Desk, user: &User, id: i64) -> Result<(), Fail> {
    desk.visible_incident(&d.store, user, id).map(|_| ()).map_err(desk_fail)
}

/// A desk refusal as a report refusal; a storage error is logged, not shown.
fn desk_fail(e: crate::desk::DeskError) -> Fail {
    if let crate::desk::DeskError::Store(_) = e {
        tracing::error!(error = %e, "reading the incident of a report failed");
        return (StatusCode::INTERNAL_SERVER_ERROR, "读取工单失败，请稍后重试".to_string());
    }
    (e.status(), e.to_string())
}

/// May this user see this disposal report (its incident)?
pub fn disposal_visible(d: &DataDir, state_desk: &crate::Desk, user: &User, r: &DisposalReport) -> Result<(), Fail> {
    incident_visible(d, state_desk, user, r.incident_id)
}

/// The incident an archived report is about: a 专报's (archived under the period `incident-N`).
/// `Err` for a 专报 whose incident cannot be told.
fn archived_incident(e: &store::ArchiveEntry) -> Result<Option<i64>, ()> {
    if e.kind != "special" {
        return Ok(None);
    }
    e.period.strip_prefix("incident-").and_then(|n| n.parse().ok()).map(Some).ok_or(())
}

/// May this user see this archived report? A 专报 only with its incident; the others are the
/// organization's bulletins.
pub fn report_visible(d: &DataDir, desk: &crate::Desk, user: &User, e: &store::ArchiveEntry, report: Option<&Report>) -> Result<(), Fail> {
    let incident = match report {
        Some(Report::Special(s)) => Some(s.incident.id),
        Some(_) => None,
        None => archived_incident(e).map_err(|()| (StatusCode::FORBIDDEN, format!("无法确定专报 {} 所属的工单", e.id)))?,
    };
    let Some(id) = incident else { return Ok(()) };
    match desk.visible_incident(&d.store, user, id) {
        Ok(_) => Ok(()),
        // A gone incident: its report stays with those who see every incident.
        Err(crate::desk::DeskError::NotFound(_)) if !user.actor().sees_only_own_department() => Ok(()),
        Err(crate::desk::DeskError::NotFound(_)) => Err((StatusCode::FORBIDDEN, format!("{} 只能查看本单位承办工单的专报", user.display_name))),
        Err(e) => Err(desk_fail(e)),
    }
}

/// One page of the archive as `user` may see it (newest first) and how many they may see in all.
pub fn visible_archive(d: &DataDir, desk: &crate::Desk, user: &User, kind: Option<&str>, limit: usize, offset: usize) -> Result<(Vec<store::ArchiveEntry>, u64), Fail> {
    let c = d.store.connection();
    if !user.actor().sees_only_own_department() {
        return store::archive_list(c, kind, limit, offset).map_err(fail);
    }
    // Filtered here, so read the whole archive (reports are a few a day) in pages.
    const CHUNK: usize = 500;
    let mut seen = Vec::new();
    let mut at = 0;
    loop {
        let (items, total) = store::archive_list(c, kind, CHUNK, at).map_err(fail)?;
        let n = items.len();
        for e in items {
            if report_visible(d, desk, user, &e, None).is_ok() {
                seen.push(e);
            }
        }
        at += n;
        if n < CHUNK || at as u64 >= total {
            break;
        }
    }
    let total = seen.len() as u64;
    Ok((seen.into_iter().skip(offset).take(limit.clamp(1, 500)).collect(), total))
}

/// A department member may touch only its own department's risk items.
pub fn risk_allowed(user: &User, department: &str) -> Result<(), Fail> {
    if user.role == Role::DepartmentMember && user.department.as_deref() != Some(department) {
        return Err((StatusCode::FORBIDDEN, format!("{} 只能登记、修改本单位（{}）的隐患", user.display_name, user.department.as_deref().unwrap_or(""))));
    }
    Ok(())
}

fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, Fail> {
    serde_json::from_slice(bytes).map_err(|e| (StatusCode::BAD_REQUEST, format!("请求体不是有效的 JSON（第 {} 行第 {} 列）：{e}", e.line(), e.column())))
}

fn id_of(s: &str, what: &str) -> Result<i64, Fail> {
    s.parse().map_err(|_| (StatusCode::BAD_REQUEST, format!("{what}编号应为整数，收到“{s}”")))
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(f) => return json_err(f),
        }
    };
}

// ---------------------------------------------------------------- archive API

pub async fn list(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let kind = q.get("kind").cloned();
    let limit = tri!(q.get("limit").map_or(Ok(50), |v| v.parse::<usize>().map_err(|_| (StatusCode::BAD_REQUEST, format!("参数 limit 应为非负整数，收到“{v}”")))));
    let desk = state.desk.clone();
    let r = blocking(&state, move |d, _| visible_archive(d, &desk, &cu.user, kind.as_deref(), limit, 0)).await;
    let (items, total) = tri!(r);
    Json(json!({"total": total, "reports": items})).into_response()
}

pub async fn create(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> Response {
    let req: GenerateRequest = tri!(body(&bytes));
    let (desk, jobs) = (state.desk.clone(), state.reports.clone());
    let r = blocking(&state, move |d, now| generate(d, &desk, &jobs, &req, &cu.user, now)).await;
    let (id, report) = tri!(r);
    (StatusCode::CREATED, Json(json!({"id": id, "kind": report.kind(), "title": report.title()}))).into_response()
}

/// An archived report `user` may see.
pub fn visible_report(d: &DataDir, desk: &crate::Desk, user: &User, id: i64) -> Result<(store::ArchiveEntry, Report), Fail> {
    let (entry, report) = store::archive_get(d.store.connection(), id).map_err(fail)?.ok_or((StatusCode::NOT_FOUND, format!("报表 {id} 不存在")))?;
    report_visible(d, desk, user, &entry, Some(&report))?;
    Ok((entry, report))
}

pub async fn get(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let id = tri!(id_of(&id, "报表"));
    let format = tri!(format_param(&q));
    let desk = state.desk.clone();
    let r = blocking(&state, move |d, _| visible_report(d, &desk, &cu.user, id)).await;
    let (entry, report) = tri!(r);
    match format {
        Some(f) => download(&report, f, &state.reports),
        None => Json(json!({"entry": entry, "report": report})).into_response(),
    }
}

// ---------------------------------------------------------------- disposal API

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDisposal {
    incident: i64,
}

pub async fn disposal_list(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let incident = tri!(q.get("incident").map(|s| id_of(s, "工单")).transpose());
    let desk = state.desk.clone();
    let r = blocking(&state, move |d, _| {
        let all = store::disposal_list(d.store.connection(), incident, 500).map_err(fail)?;
        Ok(all.into_iter().filter(|r| disposal_visible(d, &desk, &cu.user, r).is_ok()).collect::<Vec<_>>())
    })
    .await;
    Json(json!({"reports": tri!(r)})).into_response()
}

pub async fn disposal_create(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> Response {
    let req: NewDisposal = tri!(body(&bytes));
    let (desk, jobs) = (state.desk.clone(), state.reports.clone());
    let r = blocking(&state, move |d, now| create_disposal(d, &desk, &jobs, &cu.user, req.incident, now)).await;
    (StatusCode::CREATED, Json(tri!(r))).into_response()
}

/// A new draft for an incident, pre-filled.
pub fn create_disposal(d: &DataDir, desk: &crate::Desk, jobs: &Jobs, user: &User, incident: i64, now: DateTime<Utc>) -> Result<DisposalReport, Fail> {
    incident_visible(d, desk, user, incident)?;
    let c = d.store.connection();
    let fields = gather::disposal_prefill(c, incident, today(jobs, now), jobs.config.offset()).map_err(fail)?;
    let issuer = if jobs.config.issuer.is_empty() { jobs.org.clone() } else { jobs.config.issuer.clone() };
    store::disposal_create(c, incident, &jobs.config.recipient, &issuer, fields, &user.name, now).map_err(fail)
}

fn visible_disposal(d: &DataDir, desk: &crate::Desk, user: &User, id: i64) -> Result<DisposalReport, Fail> {
    let r = store::disposal_get(d.store.connection(), id).map_err(fail)?.ok_or((StatusCode::NOT_FOUND, format!("报告单 {id} 不存在")))?;
    disposal_visible(d, desk, user, &r)?;
    Ok(r)
}

pub async fn disposal_get(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let id = tri!(id_of(&id, "报告单"));
    let format = tri!(format_param(&q));
    let desk = state.desk.clone();
    let r = tri!(blocking(&state, move |d, _| visible_disposal(d, &desk, &cu.user, id)).await);
    match format {
        Some(f) => download(&Report::Disposal(r), f, &state.reports),
        None => Json(r).into_response(),
    }
}

pub async fn disposal_edit(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>, bytes: Bytes) -> Response {
    let id = tri!(id_of(&id, "报告单"));
    let fields: HashMap<String, String> = tri!(body(&bytes));
    let desk = state.desk.clone();
    let r = blocking(&state, move |d, now| {
        visible_disposal(d, &desk, &cu.user, id)?;
        let changes: Vec<(String, String)> = fields.into_iter().collect();
        store::disposal_edit(d.store.connection(), id, &changes, &cu.user.name, now).map_err(fail)
    })
    .await;
    Json(tri!(r)).into_response()
}

pub async fn disposal_issue(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> Response {
    let id = tri!(id_of(&id, "报告单"));
    let (desk, jobs) = (state.desk.clone(), state.reports.clone());
    let r = blocking(&state, move |d, now| {
        visible_disposal(d, &desk, &cu.user, id)?;
        store::disposal_issue(d.store.connection(), id, &cu.user.name, now, jobs.config.offset()).map_err(fail)
    })
    .await;
    Json(tri!(r)).into_response()
}

// ---------------------------------------------------------------- risk API

/// A risk line as the API and the form send it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskInput {
    pub department: Option<String>,
    pub content: Option<String>,
    pub offline_measures: Option<String>,
    pub online_response: Option<String>,
    /// 解决时限, YYYY-MM-DD.
    pub due_date: Option<String>,
    /// open | resolved (未解决 | 已解决)
    pub status: Option<String>,
}

impl RiskInput {
    /// The fields over `base` (a new item when none).
    pub fn fields(&self, base: Option<&RiskFields>) -> Result<RiskFields, Fail> {
        let pick = |v: &Option<String>, old: Option<&String>| v.clone().or_else(|| old.cloned()).unwrap_or_default().trim().to_string();
        let due = match (&self.due_date, base) {
            (Some(s), _) => parse_date(s, "解决时限").map_err(fail)?,
            (None, Some(b)) => b.due_date,
            (None, None) => return Err((StatusCode::BAD_REQUEST, "请填写解决时限（YYYY-MM-DD）".into())),
        };
        Ok(RiskFields {
            department: pick(&self.department, base.map(|b| &b.department)),
            content: pick(&self.content, base.map(|b| &b.content)),
            offline_measures: pick(&self.offline_measures, base.map(|b| &b.offline_measures)),
            online_response: pick(&self.online_response, base.map(|b| &b.online_response)),
            due_date: due,
        })
    }

    pub fn status(&self) -> Result<Option<RiskStatus>, Fail> {
        self.status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| RiskStatus::parse(s).ok_or((StatusCode::BAD_REQUEST, format!("未知的隐患状态“{s}”，可用 open（未解决）、resolved（已解决）"))))
            .transpose()
    }
}

/// Adds a risk item for `user`.
pub fn add_risk(d: &DataDir, user: &User, input: &RiskInput, now: DateTime<Utc>) -> Result<yuqing_report::model::RiskItem, Fail> {
    let mut fields = input.fields(None)?;
    if fields.department.is_empty() && user.role == Role::DepartmentMember {
        fields.department = user.department.clone().unwrap_or_default();
    }
    risk_allowed(user, &fields.department)?;
    store::risk_add(d.store.connection(), fields, &user.name, now).map_err(fail)
}

/// Changes a risk item for `user`.
pub fn update_risk(d: &DataDir, user: &User, id: i64, input: &RiskInput, now: DateTime<Utc>) -> Result<yuqing_report::model::RiskItem, Fail> {
    let c = d.store.connection();
    let item = store::risk_get(c, id).map_err(fail)?.ok_or((StatusCode::NOT_FOUND, format!("隐患 {id} 不存在")))?;
    risk_allowed(user, &item.fields.department)?;
    let fields = input.fields(Some(&item.fields))?;
    risk_allowed(user, &fields.department)?;
    let changed = (fields != item.fields).then_some(fields);
    store::risk_update(c, id, changed, input.status()?, &user.name, now).map_err(fail)
}

fn dept_scope(user: &User) -> Option<String> {
    (user.role == Role::DepartmentMember).then(|| user.department.clone().unwrap_or_default())
}

pub async fn risks(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let format = tri!(format_param(&q));
    let department = dept_scope(&cu.user).or_else(|| q.get("department").cloned().filter(|s| !s.is_empty()));
    let jobs = state.reports.clone();
    let r = blocking(&state, move |d, now| gather::risk_register(d.store.connection(), &jobs.org, department.as_deref(), today(&jobs, now)).map_err(fail)).await;
    let reg = tri!(r);
    match format {
        Some(f) => download(&Report::Risk(reg), f, &state.reports),
        None => {
            let items: Vec<_> = reg.items.iter().map(|i| json!({"item": i, "overdue": i.overdue(reg.as_of)})).collect();
            Json(json!({"as_of": reg.as_of, "items": items})).into_response()
        }
    }
}

pub async fn risk_add(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> Response {
    let input: RiskInput = tri!(body(&bytes));
    let r = blocking(&state, move |d, now| add_risk(d, &cu.user, &input, now)).await;
    (StatusCode::CREATED, Json(tri!(r))).into_response()
}

pub async fn risk_update(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>, bytes: Bytes) -> Response {
    let id = tri!(id_of(&id, "隐患"));
    let input: RiskInput = tri!(body(&bytes));
    let r = blocking(&state, move |d, now| update_risk(d, &cu.user, id, &input, now)).await;
    Json(tri!(r)).into_response()
}

pub async fn risk_history(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> Response {
    let id = tri!(id_of(&id, "隐患"));
    let r = blocking(&state, move |d, _| {
        let c = d.store.connection();
        let item = store::risk_get(c, id).map_err(fail)?.ok_or((StatusCode::NOT_FOUND, format!("隐患 {id} 不存在")))?;
        if let Some(dept) = dept_scope(&cu.user) {
            if dept != item.fields.department {
                return Err((StatusCode::FORBIDDEN, "只能查看本单位的隐患".to_string()));
            }
        }
        store::risk_history(c, id).map_err(fail)
    })
    .await;
    Json(json!({"history": tri!(r)})).into_response()
}

pub async fn run_schedule(State(state): State<AppState>) -> Response {
    let jobs = state.reports.clone();
    let r = blocking(&state, move |d, now| yuqing_report::schedule::run(&d.store, &jobs, now).map_err(fail)).await;
    Json(json!({"produced": tri!(r)})).into_response()
}

/// Produces what the report schedule owes at the server's time: what the server runs on start and
/// then periodically. Returns what was produced.
pub async fn run_report_schedule(state: &AppState) -> Result<Vec<yuqing_report::schedule::Produced>, String> {
    let jobs = state.reports.clone();
    blocking(state, move |d, now| yuqing_report::schedule::run(&d.store, &jobs, now).map_err(fail)).await.map_err(|(_, e)| e)
}

/// Runs the report schedule at once (catching up on what was missed while the server was down)
/// and then every `every`, on the server's clock. A failing pass is logged and retried.
pub fn spawn_report_scheduler(state: &AppState, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match run_report_schedule(&state).await {
                Ok(p) if !p.is_empty() => tracing::info!(produced = ?p, "report schedule"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "report schedule failed"),
            }
        }
    })
}
