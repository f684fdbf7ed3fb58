//! 报表: the reports' JSON API (`/api/v1/reports…`; `pages` holds the web pages). Operations run
//! off the async threads under the data lock and go through `yuqing_report` — the same functions
//! the command line uses; reports on request and the schedule (日报, 周报, the monthly risk
//! reminder) are `yuqing_desk::reports`.
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
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use yuqing_desk::permission;
use yuqing_desk::reports::{generate, today, GenerateRequest};
use yuqing_report::model::{DisposalReport, RiskFields, RiskStatus};
use yuqing_report::period::parse_date;
use yuqing_report::schedule::Jobs;
use yuqing_report::{gather, store, Format, Report};
use yuqing_store::desk::User;
use yuqing_store::DataDir;

use crate::error::{AppError, AppResult, Code};
use crate::extract::Query;
use crate::{AppState, CurrentUser};

/// The file of a report in a format, as a download.
pub fn download(report: &Report, format: Format, jobs: &Jobs) -> AppResult<Response> {
    let bytes = yuqing_report::write(report, format, jobs.config.offset())?;
    let name = format!("{}.{}", report.file_stem(), format.ext());
    let disposition =
        format!("attachment; filename=\"report.{}\"; filename*=UTF-8''{}", format.ext(), urlencoding::encode(&name));
    Ok(([(header::CONTENT_TYPE, format.mime().to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes)
        .into_response())
}

fn format_param(format: Option<&str>) -> AppResult<Option<Format>> {
    format.map(|f| Format::parse(f).map_err(AppError::from)).transpose()
}

/// `GET /api/v1/reports`: `limit` stays text so its 400 is worded by `pages::usize_value`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    kind: Option<String>,
    limit: Option<String>,
}

/// `?format=docx|xlsx|pdf|…` on a report, a disposal report or the risk register.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FormatQuery {
    format: Option<String>,
    department: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DisposalListQuery {
    incident: Option<String>,
}

/// May this user see incident `id` (and so what is written about it)? The desk's one rule.
fn incident_visible(d: &DataDir, desk: &yuqing_desk::Desk, user: &User, id: i64) -> AppResult<()> {
    desk.visible_incident(&d.store, user, id)?;
    Ok(())
}

/// May this user see this disposal report (its incident)?
pub fn disposal_visible(d: &DataDir, state_desk: &yuqing_desk::Desk, user: &User, r: &DisposalReport) -> AppResult<()> {
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
pub fn report_visible(
    d: &DataDir,
    desk: &yuqing_desk::Desk,
    user: &User,
    e: &store::ArchiveEntry,
    report: Option<&Report>,
) -> AppResult<()> {
    let incident = match report {
        Some(Report::Special(s)) => Some(s.incident.id),
        Some(_) => None,
        None => archived_incident(e).map_err(|()| AppError::forbidden(format!("无法确定专报 {} 所属的工单", e.id)))?,
    };
    let Some(id) = incident else { return Ok(()) };
    match desk.visible_incident(&d.store, user, id) {
        Ok(_) => Ok(()),
        // A gone incident: its report stays with those who see every incident.
        Err(yuqing_desk::DeskError::NotFound(..)) if !user.actor().sees_only_own_department() => Ok(()),
        Err(yuqing_desk::DeskError::NotFound(..)) => {
            Err(AppError::forbidden(format!("{} 只能查看本单位承办工单的专报", user.display_name)))
        }
        Err(e) => Err(e.into()),
    }
}

/// One page of the archive as `user` may see it (newest first) and how many they may see in all.
pub fn visible_archive(
    d: &DataDir,
    desk: &yuqing_desk::Desk,
    user: &User,
    kind: Option<&str>,
    limit: usize,
    offset: usize,
) -> AppResult<(Vec<store::ArchiveEntry>, u64)> {
    let c = d.store.connection();
    if !user.actor().sees_only_own_department() {
        return Ok(store::archive_list(c, kind, limit, offset)?);
    }
    // Filtered here, so read the whole archive (reports are a few a day) in pages.
    const CHUNK: usize = 500;
    let mut seen = Vec::new();
    let mut at = 0;
    loop {
        let (items, total) = store::archive_list(c, kind, CHUNK, at)?;
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
pub fn risk_allowed(user: &User, department: &str) -> AppResult<()> {
    if permission::own_department_only(user.role) && user.department.as_deref() != Some(department) {
        return Err(AppError::forbidden(format!(
            "{} 只能登记、修改本单位（{}）的隐患",
            user.display_name,
            user.department.as_deref().unwrap_or("")
        )));
    }
    Ok(())
}

use crate::desk_api::body;

fn id_of(s: &str, what: &str) -> AppResult<i64> {
    s.parse().map_err(|_| AppError::invalid_id(what, s))
}

// ---------------------------------------------------------------- archive API

pub async fn list(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let kind = q.kind;
    let limit =
        crate::pages::usize_value(q.limit.as_deref(), "limit", 50).map_err(|m| AppError::invalid_field("limit", m))?;
    let desk = state.desk.clone();
    let (items, total) =
        state.blocking(move |d, _| visible_archive(d, &desk, &cu.user, kind.as_deref(), limit, 0)).await?;
    Ok(Json(json!({"total": total, "reports": items})).into_response())
}

pub async fn create(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> AppResult<Response> {
    let req: GenerateRequest = body(&bytes)?;
    let (desk, jobs) = (state.desk.clone(), state.reports.clone());
    let (id, report) = state.blocking(move |d, now| Ok(generate(d, &desk, &jobs, &req, &cu.user, now)?)).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "kind": report.kind(), "title": report.title()}))).into_response())
}

/// An archived report `user` may see.
pub fn visible_report(
    d: &DataDir,
    desk: &yuqing_desk::Desk,
    user: &User,
    id: i64,
) -> AppResult<(store::ArchiveEntry, Report)> {
    let (entry, report) = store::archive_get(d.store.connection(), id)?
        .ok_or_else(|| AppError::not_found(Code::ReportNotFound, format!("报表 {id} 不存在")))?;
    report_visible(d, desk, user, &entry, Some(&report))?;
    Ok((entry, report))
}

pub async fn get(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
) -> AppResult<Response> {
    let id = id_of(&id, "报表")?;
    let format = format_param(q.format.as_deref())?;
    let desk = state.desk.clone();
    let (entry, report) = state.blocking(move |d, _| visible_report(d, &desk, &cu.user, id)).await?;
    match format {
        Some(f) => download(&report, f, &state.reports),
        None => Ok(Json(json!({"entry": entry, "report": report})).into_response()),
    }
}

// ---------------------------------------------------------------- disposal API

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewDisposal {
    incident: i64,
}

pub async fn disposal_list(
    State(state): State<AppState>,
    cu: CurrentUser,
    Query(q): Query<DisposalListQuery>,
) -> AppResult<Response> {
    let incident = q.incident.as_deref().map(|s| id_of(s, "工单")).transpose()?;
    let desk = state.desk.clone();
    let reports = state
        .blocking(move |d, _| {
            let all = store::disposal_list(d.store.connection(), incident, 500)?;
            Ok(all.into_iter().filter(|r| disposal_visible(d, &desk, &cu.user, r).is_ok()).collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(json!({"reports": reports})).into_response())
}

pub async fn disposal_create(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> AppResult<Response> {
    let req: NewDisposal = body(&bytes)?;
    let (desk, jobs) = (state.desk.clone(), state.reports.clone());
    let r = state.blocking(move |d, now| create_disposal(d, &desk, &jobs, &cu.user, req.incident, now)).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// A new draft for an incident, pre-filled.
pub fn create_disposal(
    d: &DataDir,
    desk: &yuqing_desk::Desk,
    jobs: &Jobs,
    user: &User,
    incident: i64,
    now: DateTime<Utc>,
) -> AppResult<DisposalReport> {
    incident_visible(d, desk, user, incident)?;
    let c = d.store.connection();
    let fields = gather::disposal_prefill(c, incident, today(jobs, now), jobs.config.offset())?;
    let issuer = if jobs.config.issuer.is_empty() { jobs.org.clone() } else { jobs.config.issuer.clone() };
    Ok(store::disposal_create(c, incident, &jobs.config.recipient, &issuer, fields, &user.name, now)?)
}

fn visible_disposal(d: &DataDir, desk: &yuqing_desk::Desk, user: &User, id: i64) -> AppResult<DisposalReport> {
    let r = store::disposal_get(d.store.connection(), id)?
        .ok_or_else(|| AppError::not_found(Code::DisposalReportNotFound, format!("报告单 {id} 不存在")))?;
    disposal_visible(d, desk, user, &r)?;
    Ok(r)
}

pub async fn disposal_get(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<FormatQuery>,
) -> AppResult<Response> {
    let id = id_of(&id, "报告单")?;
    let format = format_param(q.format.as_deref())?;
    let desk = state.desk.clone();
    let r = state.blocking(move |d, _| visible_disposal(d, &desk, &cu.user, id)).await?;
    match format {
        Some(f) => download(&Report::Disposal(r), f, &state.reports),
        None => Ok(Json(r).into_response()),
    }
}

pub async fn disposal_edit(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> AppResult<Response> {
    let id = id_of(&id, "报告单")?;
    let fields: HashMap<String, String> = body(&bytes)?;
    let desk = state.desk.clone();
    let r = state
        .blocking(move |d, now| {
            visible_disposal(d, &desk, &cu.user, id)?;
            let changes: Vec<(String, String)> = fields.into_iter().collect();
            Ok(store::disposal_edit(d.store.connection(), id, &changes, &cu.user.name, now)?)
        })
        .await?;
    Ok(Json(r).into_response())
}

pub async fn disposal_issue(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = id_of(&id, "报告单")?;
    let (desk, jobs) = (state.desk.clone(), state.reports.clone());
    let r = state
        .blocking(move |d, now| {
            visible_disposal(d, &desk, &cu.user, id)?;
            Ok(store::disposal_issue(d.store.connection(), id, &cu.user.name, now, jobs.config.offset())?)
        })
        .await?;
    Ok(Json(r).into_response())
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
    pub fn fields(&self, base: Option<&RiskFields>) -> AppResult<RiskFields> {
        let pick = |v: &Option<String>, old: Option<&String>| {
            v.clone().or_else(|| old.cloned()).unwrap_or_default().trim().to_string()
        };
        let due = match (&self.due_date, base) {
            (Some(s), _) => parse_date(s, "解决时限")?,
            (None, Some(b)) => b.due_date,
            (None, None) => return Err(AppError::invalid_field("due_date", "请填写解决时限（YYYY-MM-DD）")),
        };
        Ok(RiskFields {
            department: pick(&self.department, base.map(|b| &b.department)),
            content: pick(&self.content, base.map(|b| &b.content)),
            offline_measures: pick(&self.offline_measures, base.map(|b| &b.offline_measures)),
            online_response: pick(&self.online_response, base.map(|b| &b.online_response)),
            due_date: due,
        })
    }

    pub fn status(&self) -> AppResult<Option<RiskStatus>> {
        self.status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                RiskStatus::parse(s).ok_or_else(|| {
                    AppError::invalid_field(
                        "status",
                        format!("未知的隐患状态“{s}”，可用 open（未解决）、resolved（已解决）"),
                    )
                })
            })
            .transpose()
    }
}

/// Adds a risk item for `user`.
pub fn add_risk(
    d: &DataDir,
    user: &User,
    input: &RiskInput,
    now: DateTime<Utc>,
) -> AppResult<yuqing_report::model::RiskItem> {
    let mut fields = input.fields(None)?;
    if fields.department.is_empty() && permission::own_department_only(user.role) {
        fields.department = user.department.clone().unwrap_or_default();
    }
    risk_allowed(user, &fields.department)?;
    Ok(store::risk_add(d.store.connection(), fields, &user.name, now)?)
}

/// Changes a risk item for `user`.
pub fn update_risk(
    d: &DataDir,
    user: &User,
    id: i64,
    input: &RiskInput,
    now: DateTime<Utc>,
) -> AppResult<yuqing_report::model::RiskItem> {
    let c = d.store.connection();
    let item =
        store::risk_get(c, id)?.ok_or_else(|| AppError::not_found(Code::RiskNotFound, format!("隐患 {id} 不存在")))?;
    risk_allowed(user, &item.fields.department)?;
    let fields = input.fields(Some(&item.fields))?;
    risk_allowed(user, &fields.department)?;
    let changed = (fields != item.fields).then_some(fields);
    Ok(store::risk_update(c, id, changed, input.status()?, &user.name, now)?)
}

fn dept_scope(user: &User) -> Option<String> {
    permission::own_department_only(user.role).then(|| user.department.clone().unwrap_or_default())
}

pub async fn risks(
    State(state): State<AppState>,
    cu: CurrentUser,
    Query(q): Query<FormatQuery>,
) -> AppResult<Response> {
    let format = format_param(q.format.as_deref())?;
    let department = dept_scope(&cu.user).or_else(|| q.department.filter(|s| !s.is_empty()));
    let jobs = state.reports.clone();
    let reg = state
        .blocking(move |d, now| {
            Ok(gather::risk_register(d.store.connection(), &jobs.org, department.as_deref(), today(&jobs, now))?)
        })
        .await?;
    match format {
        Some(f) => download(&Report::Risk(reg), f, &state.reports),
        None => {
            let items: Vec<_> = reg.items.iter().map(|i| json!({"item": i, "overdue": i.overdue(reg.as_of)})).collect();
            Ok(Json(json!({"as_of": reg.as_of, "items": items})).into_response())
        }
    }
}

pub async fn risk_add(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> AppResult<Response> {
    let input: RiskInput = body(&bytes)?;
    let r = state.blocking(move |d, now| add_risk(d, &cu.user, &input, now)).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

pub async fn risk_update(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> AppResult<Response> {
    let id = id_of(&id, "隐患")?;
    let input: RiskInput = body(&bytes)?;
    let r = state.blocking(move |d, now| update_risk(d, &cu.user, id, &input, now)).await?;
    Ok(Json(r).into_response())
}

pub async fn risk_history(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = id_of(&id, "隐患")?;
    let history = state
        .blocking(move |d, _| {
            let c = d.store.connection();
            let item = store::risk_get(c, id)?
                .ok_or_else(|| AppError::not_found(Code::RiskNotFound, format!("隐患 {id} 不存在")))?;
            if let Some(dept) = dept_scope(&cu.user) {
                if dept != item.fields.department {
                    return Err(AppError::forbidden("只能查看本单位的隐患"));
                }
            }
            Ok(store::risk_history(c, id)?)
        })
        .await?;
    Ok(Json(json!({"history": history})).into_response())
}

pub async fn run_schedule(State(state): State<AppState>) -> AppResult<Response> {
    let jobs = state.reports.clone();
    let produced = state.blocking(move |d, now| Ok(yuqing_report::schedule::run(&d.store, &jobs, now)?)).await?;
    Ok(Json(json!({"produced": produced})).into_response())
}

/// Produces what the report schedule owes at the server's time: what the server runs on start and
/// then periodically. Returns what was produced.
pub async fn run_report_schedule(state: &AppState) -> Result<Vec<yuqing_report::schedule::Produced>, AppError> {
    let jobs = state.reports.clone();
    state.blocking(move |d, now| Ok(yuqing_desk::reports::run_schedule(d, &jobs, now)?)).await
}
