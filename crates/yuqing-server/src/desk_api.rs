//! The incident desk's JSON API (`/api/v1/incidents`, alerts, duty, audit, outbox). Every call but
//! the OpenAPI document needs a signed-in user (session cookie, or `Authorization: Bearer TOKEN`);
//! the role is checked against `auth/policy.rs` before the handler runs.
//! Errors are `AppError`s: `{"code", "message"}` in Chinese with the matching status (error.rs).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::json;
use yuqing_core::incident::{allowed_steps, diff, Command};
use yuqing_store::desk::{self, IncidentQuery};
use yuqing_store::{outbox, DataDir};

use crate::error::{AppError, AppResult, Code};
use crate::extract::Query;
use crate::{AppState, CurrentUser};
use yuqing_desk::{DeskError, Missing};

/// A JSON request body, or a 400 that says where it is not valid JSON.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> AppResult<T> {
    serde_json::from_slice(bytes).map_err(|e| AppError::Invalid {
        code: Code::InvalidJson,
        field: None,
        message: format!("请求体不是有效的 JSON（第 {} 行第 {} 列）：{e}", e.line(), e.column()),
    })
}

fn id_param(s: &str, what: &str) -> AppResult<i64> {
    s.parse::<i64>().map_err(|_| AppError::invalid_id(what, s))
}

/// `limit` (1–500, default 50) and `offset` (at most `crate::paging::MAX_OFFSET`), or a 400. Both
/// stay text in the typed queries so the 400 is worded by `paging`.
fn limits(limit: Option<&str>, offset: Option<&str>) -> AppResult<(usize, usize)> {
    crate::paging::window_values(limit, offset, 50, 500, crate::paging::MAX_OFFSET).map_err(AppError::invalid)
}

/// `GET /api/v1/incidents`: `state` and `department` as given (an empty `state` is refused).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct IncidentsQuery {
    limit: Option<String>,
    offset: Option<String>,
    state: Option<String>,
    open: Option<String>,
    department: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct OutboxQuery {
    limit: Option<String>,
    offset: Option<String>,
    status: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct WindowQuery {
    limit: Option<String>,
    offset: Option<String>,
}

pub async fn me(cu: CurrentUser) -> Json<yuqing_store::desk::User> {
    Json(cu.user)
}

pub async fn incidents(
    State(state): State<AppState>,
    cu: CurrentUser,
    Query(q): Query<IncidentsQuery>,
) -> AppResult<Response> {
    let (limit, offset) = limits(q.limit.as_deref(), q.offset.as_deref())?;
    let state_filter = match q.state.as_deref() {
        None => None,
        Some(s) => match yuqing_core::incident::IncidentState::parse(s) {
            Some(st) => Some(st),
            None => return Err(AppError::invalid_field("state", format!("未知的工单状态“{s}”"))),
        },
    };
    let open_only = q.open.as_deref().is_some_and(|v| v == "1");
    let department = q.department;
    let page = state
        .blocking(move |d, _| {
            let mut query = IncidentQuery { state: state_filter, open_only, department, limit, offset };
            if cu.user.actor().sees_only_own_department() {
                // A department (and its officers) sees its own queue only.
                query.department = cu.user.department.clone().or(Some(String::new()));
            }
            Ok(desk::incidents(d.store.connection(), &query)?)
        })
        .await?;
    Ok(Json(json!({"total": page.total, "incidents": page.items})).into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    story: Option<i64>,
    post: Option<i64>,
    title: Option<String>,
}

pub async fn open_incident(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> AppResult<Response> {
    let req: OpenRequest = body(&bytes)?;
    let desk = state.desk.clone();
    let inc = state
        .blocking(move |d, now| {
            let story = match (req.story, req.post) {
                (Some(s), _) => s,
                (None, Some(p)) => {
                    use yuqing_store::Store;
                    let posts = d.store.posts_by_ids(&[p])?;
                    posts
                        .first()
                        .map(|p| p.story_id)
                        .ok_or_else(|| AppError::not_found(Code::PostNotFound, format!("没有编号为 {p} 的帖文")))?
                }
                (None, None) => return Err(AppError::invalid("须给出 story（事件编号）或 post（帖文编号）")),
            };
            Ok(desk.open_by_hand(&d.store, &cu.user, story, req.title, now)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"incident": inc}))).into_response())
}

fn incident_view(
    d: &DataDir,
    inc: &yuqing_core::incident::Incident,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, DeskError> {
    let timeline = desk::timeline(d.store.connection(), inc.id)?;
    let deadlines: Vec<_> = inc
        .deadlines
        .iter()
        .map(|dl| {
            json!({
                "kind": dl.kind, "label": dl.label, "started_at": dl.started_at, "due_at": dl.due_at,
                "met_at": dl.met_at, "remaining_seconds": dl.remaining(now).num_seconds(),
                "late": dl.is_late(now), "overdue": dl.overdue,
            })
        })
        .collect();
    let allowed: Vec<_> = allowed_steps(inc.state).iter().map(|s| json!({"step": s, "label": s.label_zh()})).collect();
    Ok(json!({
        "incident": inc,
        "state_label": inc.state.label_zh(),
        "allowed_steps": allowed,
        "deadlines": deadlines,
        "review_times": inc.review_times(now),
        "timeline": timeline,
    }))
}

pub async fn incident(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> AppResult<Response> {
    let id = id_param(&id, "工单")?;
    let desk = state.desk.clone();
    let v = state
        .blocking(move |d, now| {
            let inc = desk.visible_incident(&d.store, &cu.user, id)?;
            Ok(incident_view(d, &inc, now)?)
        })
        .await?;
    Ok(Json(v).into_response())
}

pub async fn act(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> AppResult<Response> {
    let id = id_param(&id, "工单")?;
    let cmd: Command = body(&bytes)?;
    let false_alarm = match &cmd {
        Command::MarkFalseAlarm { reason } => Some(reason.clone()),
        _ => None,
    };
    let desk = state.desk.clone();
    let who = cu.clone();
    let (mut v, stories) = state
        .blocking(move |d, now| {
            let (inc, events) = desk.act(&d.store, &cu.user, id, cmd, now)?;
            let mut v = incident_view(d, &inc, now)?;
            v["events"] = json!(events.iter().map(|e| e.kind.summary_zh()).collect::<Vec<_>>());
            Ok((v, inc.stories))
        })
        .await?;
    if let Some(reason) = false_alarm {
        // Closed as 误报: its stories stop being graded.
        v["notes"] = json!(crate::web::false_alarm::mark_incident_stories(&state, &who, stories, reason).await);
    }
    Ok(Json(v).into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoryRequest {
    story: i64,
}

pub async fn add_story(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> AppResult<Response> {
    let id = id_param(&id, "工单")?;
    let req: StoryRequest = body(&bytes)?;
    let desk = state.desk.clone();
    let inc = state.blocking(move |d, now| Ok(desk.add_story(&d.store, &cu.user, id, req.story, now)?)).await?;
    Ok(Json(json!({"incident": inc})).into_response())
}

/// `from` and `to` of a statement diff: version numbers (default: the latest and the one before).
#[derive(serde::Deserialize)]
pub struct DiffQuery {
    from: Option<u32>,
    to: Option<u32>,
}

pub async fn statement_diff(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path((id, sid)): Path<(String, String)>,
    Query(DiffQuery { from, to }): Query<DiffQuery>,
) -> AppResult<Response> {
    let id = id_param(&id, "工单")?;
    let sid = id_param(&sid, "口径")?;
    let desk = state.desk.clone();
    let v = state
        .blocking(move |d, _| {
            let inc = desk.visible_incident(&d.store, &cu.user, id)?;
            let missing = |m: String| AppError::from(DeskError::NotFound(Missing::Statement, m));
            let s = inc
                .statements
                .iter()
                .find(|s| i64::from(s.id) == sid)
                .ok_or_else(|| missing(format!("没有编号为 {sid} 的口径")))?;
            let to = to.unwrap_or(s.latest().number);
            let from = from.unwrap_or(to.saturating_sub(1).max(1));
            let (a, b) = (s.version(from), s.version(to));
            let (Some(a), Some(b)) = (a, b) else {
                return Err(missing(format!("口径 {sid} 没有第 {from} 版或第 {to} 版")));
            };
            Ok(json!({"statement": sid, "from": from, "to": to, "diff": diff(&a.text, &b.text)}))
        })
        .await?;
    Ok(Json(v).into_response())
}

/// The largest attachment accepted (files go to the database).
pub const MAX_ATTACHMENT: usize = 20 * 1024 * 1024;

/// `name` of an attachment upload: its file name.
#[derive(serde::Deserialize)]
pub struct AttachmentQuery {
    name: Option<String>,
}

pub async fn add_attachment(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<AttachmentQuery>,
    bytes: Bytes,
) -> AppResult<Response> {
    let id = id_param(&id, "工单")?;
    let Some(name) = q.name.filter(|n| !n.trim().is_empty()) else {
        return Err(AppError::invalid_field("name", "须用参数 name 给出附件文件名"));
    };
    if bytes.is_empty() {
        return Err(AppError::invalid("附件为空"));
    }
    let desk = state.desk.clone();
    let v = state
        .blocking(move |d, now| {
            desk.visible_incident(&d.store, &cu.user, id)?;
            let sha = desk::put_attachment(d.store.connection(), &bytes)?;
            let size = bytes.len() as u64;
            desk.act(&d.store, &cu.user, id, Command::AddAttachment { name, sha256: sha.clone(), size }, now)?;
            Ok(json!({"sha256": sha, "size": size}))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

pub async fn attachment(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path((id, sha)): Path<(String, String)>,
) -> AppResult<Response> {
    let id = id_param(&id, "工单")?;
    let desk = state.desk.clone();
    let (name, bytes) = state
        .blocking(move |d, _| {
            let inc = desk.visible_incident(&d.store, &cu.user, id)?;
            let Some(a) = inc.attachments.iter().find(|a| a.sha256 == sha) else {
                return Err(AppError::not_found(Code::AttachmentNotFound, "本工单没有这个附件"));
            };
            let bytes = desk::attachment(d.store.connection(), &a.sha256)?
                .ok_or_else(|| AppError::not_found(Code::AttachmentNotFound, "附件内容缺失"))?;
            Ok((a.name.clone(), bytes))
        })
        .await?;
    let disposition = format!("attachment; filename*=UTF-8''{}", urlencoding::encode(&name));
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        bytes,
    )
        .into_response())
}

pub async fn ack_alert(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> AppResult<Response> {
    let id = id_param(&id, "预警")?;
    let desk = state.desk.clone();
    let fresh = state.blocking(move |d, now| Ok(desk.acknowledge(&d.store, &cu.user, id, now)?)).await?;
    Ok(Json(json!({"alert": id, "acknowledged": true, "already": !fresh})).into_response())
}

pub async fn duty(State(state): State<AppState>) -> AppResult<Response> {
    let v = state
        .blocking(|d, now| {
            let c = d.store.connection();
            let shifts = desk::shifts_between(c, now - chrono::Duration::days(1), now + chrono::Duration::days(7))?;
            let current: Vec<_> = shifts.iter().filter(|s| s.covers(now)).cloned().collect();
            Ok(json!({"now": now, "on_duty": current, "shifts": shifts, "handovers": desk::handovers(c, 20)?}))
        })
        .await?;
    Ok(Json(v).into_response())
}

pub async fn import_duty(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> AppResult<Response> {
    let n = state
        .blocking(move |d, now| {
            let shifts = yuqing_desk::desk::parse_roster(&bytes)?;
            Ok(yuqing_desk::desk::import_roster(&d.store, &cu.user.name, &shifts, None, now)?)
        })
        .await?;
    Ok(Json(json!({"imported": n})).into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoverRequest {
    text: String,
}

pub async fn handover(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> AppResult<Response> {
    let req: HandoverRequest = body(&bytes)?;
    let id = state
        .blocking(move |d, now| Ok(yuqing_desk::desk::add_handover(&d.store, &cu.user.name, &req.text, now)?))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

pub async fn outbox_list(State(state): State<AppState>, Query(q): Query<OutboxQuery>) -> AppResult<Response> {
    let (limit, offset) = limits(q.limit.as_deref(), q.offset.as_deref())?;
    let status = match q.status.as_deref() {
        None => None,
        Some("pending") => Some(outbox::OutboxStatus::Pending),
        Some("delivered") => Some(outbox::OutboxStatus::Delivered),
        Some("expired") => Some(outbox::OutboxStatus::Expired),
        Some(s) => {
            return Err(AppError::invalid_field("status", format!("未知的状态“{s}”，可用 pending、delivered、expired")))
        }
    };
    let v = state
        .blocking(move |d, _| {
            let c = d.store.connection();
            let msgs = outbox::list(c, status, limit, offset)?;
            let mut out = Vec::new();
            for m in msgs {
                let attempts = outbox::attempts(c, m.id)?;
                out.push(json!({"message": m, "attempts": attempts}));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(json!({"messages": v})).into_response())
}

pub async fn audit(State(state): State<AppState>, Query(q): Query<WindowQuery>) -> AppResult<Response> {
    // The audit log reads the same at any depth (by id), so it pages deeper than other lists.
    let (limit, offset) =
        crate::paging::window_values(q.limit.as_deref(), q.offset.as_deref(), 50, 500, crate::paging::AUDIT_MAX_OFFSET)
            .map_err(AppError::invalid)?;
    let p = state.blocking(move |d, _| Ok(desk::audit_recent(d.store.connection(), limit, offset)?)).await?;
    Ok(Json(json!({"total": p.total, "entries": p.items})).into_response())
}

pub async fn audit_verify(State(state): State<AppState>) -> AppResult<Response> {
    let verdict = state.blocking(move |d, _| Ok(desk::audit_verify(d.store.connection())?)).await?;
    Ok(match verdict {
        Ok(n) => Json(json!({"ok": true, "entries": n})).into_response(),
        // A broken chain is the answer, not a failure of the request.
        Err(b) => {
            (StatusCode::CONFLICT, Json(json!({"ok": false, "broken_at": b.id, "reason": b.reason}))).into_response()
        }
    })
}

pub async fn overdue(State(state): State<AppState>, Query(q): Query<WindowQuery>) -> AppResult<Response> {
    let (limit, offset) = limits(q.limit.as_deref(), q.offset.as_deref())?;
    let p = state.blocking(move |d, _| Ok(desk::overdue_records(d.store.connection(), limit, offset)?)).await?;
    Ok(Json(json!({"total": p.total, "overdue": p.items})).into_response())
}

/// Runs the desk's clock once now (the server also runs it every few seconds); for operators.
pub async fn tick(State(state): State<AppState>) -> AppResult<Response> {
    let desk = state.desk.clone();
    let rep = state.blocking(move |d, now| Ok(desk.tick_data(d, now)?)).await?;
    Ok(Json(rep).into_response())
}
