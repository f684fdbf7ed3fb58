//! The incident desk's JSON API (`/api/v1/incidents`, alerts, duty, audit, outbox). Every call but
//! the OpenAPI document needs a signed-in user (session cookie, or `Authorization: Bearer TOKEN`);
//! the role is checked against `auth/policy.rs` before the handler runs.
//! Errors are `{"error": "..."}` in Chinese with the matching status.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::json;
use yuqing_core::incident::{allowed_steps, diff, Command};
use yuqing_store::desk::{self, IncidentQuery, User};
use yuqing_store::{outbox, DataDir};

use crate::desk::{DeskError, TickReport};
use crate::{AppState, CurrentUser};

/// A JSON error answer `{"error": …}` (the API's one shape for errors).
pub(crate) fn err(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({"error": msg.into()}))).into_response()
}

fn desk_err(e: DeskError) -> Response {
    if matches!(e, DeskError::Store(_)) {
        tracing::error!(error = %e, "desk storage error");
    }
    err(e.status(), e.to_string())
}

/// Runs `f` with the data directory and the signed-in user (session cookie or bearer token, signed
/// in by `auth::enforce`, which also checked the role against `auth/policy.rs`), off the async threads.
async fn with_user<T: Send + 'static>(
    state: &AppState,
    cu: CurrentUser,
    f: impl FnOnce(&DataDir, &User, DateTime<Utc>) -> Result<T, DeskError> + Send + 'static,
) -> Result<T, Response> {
    let data = state.data.clone();
    let clock = state.clock.clone();
    tokio::task::spawn_blocking(move || {
        let guard = yuqing_store::guard::lock(&data);
        f(&guard, &cu.user, clock()).map_err(desk_err)
    })
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "desk task failed");
        err(StatusCode::INTERNAL_SERVER_ERROR, "内部错误，请稍后重试")
    })?
}

/// A JSON request body, or a 400 that says where it is not valid JSON.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        err(StatusCode::BAD_REQUEST, format!("请求体不是有效的 JSON（第 {} 行第 {} 列）：{e}", e.line(), e.column()))
    })
}

fn id_param(s: &str, what: &str) -> Result<i64, Response> {
    s.parse::<i64>().map_err(|_| err(StatusCode::BAD_REQUEST, format!("{what}编号应为整数，收到“{s}”")))
}

/// `limit` (1–500, default 50) and `offset` (at most `crate::paging::MAX_OFFSET`), or a 400.
fn limits(q: &HashMap<String, String>) -> Result<(usize, usize), Response> {
    crate::paging::window(q, 50, 500).map_err(|e| err(StatusCode::BAD_REQUEST, e))
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return r,
        }
    };
}

pub async fn me(State(state): State<AppState>, cu: CurrentUser) -> Response {
    let r = with_user(&state, cu, |_, u, _| Ok(u.clone())).await;
    match r {
        Ok(u) => Json(u).into_response(),
        Err(r) => r,
    }
}

pub async fn incidents(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let (limit, offset) = tri!(limits(&q));
    let state_filter = match q.get("state") {
        None => None,
        Some(s) => match yuqing_core::incident::IncidentState::parse(s) {
            Some(st) => Some(st),
            None => return err(StatusCode::BAD_REQUEST, format!("未知的工单状态“{s}”")),
        },
    };
    let open_only = q.get("open").is_some_and(|v| v == "1");
    let department = q.get("department").cloned();
    let r = with_user(&state, cu, move |d, u, _| {
        let mut query = IncidentQuery { state: state_filter, open_only, department, limit, offset };
        if u.actor().sees_only_own_department() {
            // A department (and its officers) sees its own queue only.
            query.department = u.department.clone().or(Some(String::new()));
        }
        Ok(desk::incidents(d.store.connection(), &query)?)
    })
    .await;
    match r {
        Ok(page) => Json(json!({"total": page.total, "incidents": page.items})).into_response(),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    story: Option<i64>,
    post: Option<i64>,
    title: Option<String>,
}

pub async fn open_incident(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> Response {
    let req: OpenRequest = tri!(body(&bytes));
    let desk = state.desk.clone();
    let r = with_user(&state, cu, move |d, u, now| {
        let story = match (req.story, req.post) {
            (Some(s), _) => s,
            (None, Some(p)) => {
                use yuqing_store::Store;
                let posts = d.store.posts_by_ids(&[p])?;
                posts.first().map(|p| p.story_id).ok_or_else(|| DeskError::NotFound(format!("没有编号为 {p} 的帖文")))?
            }
            (None, None) => return Err(DeskError::Invalid("须给出 story（事件编号）或 post（帖文编号）".into())),
        };
        desk.open_by_hand(&d.store, u, story, req.title, now)
    })
    .await;
    match r {
        Ok(inc) => (StatusCode::CREATED, Json(json!({"incident": inc}))).into_response(),
        Err(r) => r,
    }
}

fn incident_view(d: &DataDir, inc: &yuqing_core::incident::Incident, now: DateTime<Utc>) -> Result<serde_json::Value, DeskError> {
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

pub async fn incident(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> Response {
    let id = tri!(id_param(&id, "工单"));
    let desk = state.desk.clone();
    let r = with_user(&state, cu, move |d, u, now| {
        let inc = desk.visible_incident(&d.store, u, id)?;
        incident_view(d, &inc, now)
    })
    .await;
    match r {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

pub async fn act(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>, bytes: Bytes) -> Response {
    let id = tri!(id_param(&id, "工单"));
    let cmd: Command = tri!(body(&bytes));
    let false_alarm = match &cmd {
        Command::MarkFalseAlarm { reason } => Some(reason.clone()),
        _ => None,
    };
    let desk = state.desk.clone();
    let who = cu.clone();
    let r = with_user(&state, cu, move |d, u, now| {
        let (inc, events) = desk.act(&d.store, u, id, cmd, now)?;
        let mut v = incident_view(d, &inc, now)?;
        v["events"] = json!(events.iter().map(|e| e.kind.summary_zh()).collect::<Vec<_>>());
        Ok((v, inc.stories))
    })
    .await;
    match r {
        Ok((mut v, stories)) => {
            if let Some(reason) = false_alarm {
                // Closed as 误报: its stories stop being graded.
                v["notes"] = json!(crate::web::false_alarm::mark_incident_stories(&state, &who, stories, reason).await);
            }
            Json(v).into_response()
        }
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StoryRequest {
    story: i64,
}

pub async fn add_story(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>, bytes: Bytes) -> Response {
    let id = tri!(id_param(&id, "工单"));
    let req: StoryRequest = tri!(body(&bytes));
    let desk = state.desk.clone();
    let r = with_user(&state, cu, move |d, u, now| desk.add_story(&d.store, u, id, req.story, now)).await;
    match r {
        Ok(inc) => Json(json!({"incident": inc})).into_response(),
        Err(r) => r,
    }
}

pub async fn statement_diff(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path((id, sid)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let id = tri!(id_param(&id, "工单"));
    let sid = tri!(id_param(&sid, "口径"));
    let parse_v = |k: &str| q.get(k).map(|v| v.parse::<u32>()).transpose();
    let (Ok(from), Ok(to)) = (parse_v("from"), parse_v("to")) else {
        return err(StatusCode::BAD_REQUEST, "参数 from、to 应为版本号（正整数）");
    };
    let desk = state.desk.clone();
    let r = with_user(&state, cu, move |d, u, _| {
        let inc = desk.visible_incident(&d.store, u, id)?;
        let s = inc.statements.iter().find(|s| i64::from(s.id) == sid).ok_or_else(|| DeskError::NotFound(format!("没有编号为 {sid} 的口径")))?;
        let to = to.unwrap_or(s.latest().number);
        let from = from.unwrap_or(to.saturating_sub(1).max(1));
        let (a, b) = (s.version(from), s.version(to));
        let (Some(a), Some(b)) = (a, b) else { return Err(DeskError::NotFound(format!("口径 {sid} 没有第 {from} 版或第 {to} 版"))) };
        Ok(json!({"statement": sid, "from": from, "to": to, "diff": diff(&a.text, &b.text)}))
    })
    .await;
    match r {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// The largest attachment accepted (files go to the database).
pub const MAX_ATTACHMENT: usize = 20 * 1024 * 1024;

pub async fn add_attachment(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    bytes: Bytes,
) -> Response {
    let id = tri!(id_param(&id, "工单"));
    let Some(name) = q.get("name").filter(|n| !n.trim().is_empty()).cloned() else {
        return err(StatusCode::BAD_REQUEST, "须用参数 name 给出附件文件名");
    };
    if bytes.is_empty() {
        return err(StatusCode::BAD_REQUEST, "附件为空");
    }
    let desk = state.desk.clone();
    let r = with_user(&state, cu, move |d, u, now| {
        desk.visible_incident(&d.store, u, id)?;
        let sha = desk::put_attachment(d.store.connection(), &bytes)?;
        let size = bytes.len() as u64;
        desk.act(&d.store, u, id, Command::AddAttachment { name, sha256: sha.clone(), size }, now)?;
        Ok(json!({"sha256": sha, "size": size}))
    })
    .await;
    match r {
        Ok(v) => (StatusCode::CREATED, Json(v)).into_response(),
        Err(r) => r,
    }
}

pub async fn attachment(State(state): State<AppState>, cu: CurrentUser, Path((id, sha)): Path<(String, String)>) -> Response {
    let id = tri!(id_param(&id, "工单"));
    let desk = state.desk.clone();
    let r = with_user(&state, cu, move |d, u, _| {
        let inc = desk.visible_incident(&d.store, u, id)?;
        let Some(a) = inc.attachments.iter().find(|a| a.sha256 == sha) else {
            return Err(DeskError::NotFound("本工单没有这个附件".into()));
        };
        let bytes = desk::attachment(d.store.connection(), &a.sha256)?.ok_or_else(|| DeskError::NotFound("附件内容缺失".into()))?;
        Ok((a.name.clone(), bytes))
    })
    .await;
    match r {
        Ok((name, bytes)) => {
            let disposition = format!("attachment; filename*=UTF-8''{}", urlencoding::encode(&name));
            ([(header::CONTENT_TYPE, "application/octet-stream".to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response()
        }
        Err(r) => r,
    }
}

pub async fn ack_alert(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> Response {
    let id = tri!(id_param(&id, "预警"));
    let desk = state.desk.clone();
    let r = with_user(&state, cu, move |d, u, now| desk.acknowledge(&d.store, u, id, now)).await;
    match r {
        Ok(fresh) => Json(json!({"alert": id, "acknowledged": true, "already": !fresh})).into_response(),
        Err(r) => r,
    }
}

pub async fn duty(State(state): State<AppState>, cu: CurrentUser) -> Response {
    let r = with_user(&state, cu, |d, _, now| {
        let c = d.store.connection();
        let shifts = desk::shifts_between(c, now - chrono::Duration::days(1), now + chrono::Duration::days(7))?;
        let current: Vec<_> = shifts.iter().filter(|s| s.covers(now)).cloned().collect();
        Ok(json!({"now": now, "on_duty": current, "shifts": shifts, "handovers": desk::handovers(c, 20)?}))
    })
    .await;
    match r {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

pub async fn import_duty(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> Response {
    let r = with_user(&state, cu, move |d, u, now| {
        let shifts = crate::desk::parse_roster(&bytes)?;
        crate::desk::import_roster(&d.store, &u.name, &shifts, None, now)
    })
    .await;
    match r {
        Ok(n) => Json(json!({"imported": n})).into_response(),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoverRequest {
    text: String,
}

pub async fn handover(State(state): State<AppState>, cu: CurrentUser, bytes: Bytes) -> Response {
    let req: HandoverRequest = tri!(body(&bytes));
    let r = with_user(&state, cu, move |d, u, now| {
crate::desk::add_handover(&d.store, &u.name, &req.text, now)
    })
    .await;
    match r {
        Ok(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        Err(r) => r,
    }
}

pub async fn outbox_list(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let (limit, offset) = tri!(limits(&q));
    let status = match q.get("status").map(String::as_str) {
        None => None,
        Some("pending") => Some(outbox::OutboxStatus::Pending),
        Some("delivered") => Some(outbox::OutboxStatus::Delivered),
        Some("expired") => Some(outbox::OutboxStatus::Expired),
        Some(s) => return err(StatusCode::BAD_REQUEST, format!("未知的状态“{s}”，可用 pending、delivered、expired")),
    };
    let r = with_user(&state, cu, move |d, _, _| {
        let c = d.store.connection();
        let msgs = outbox::list(c, status, limit, offset)?;
        let mut out = Vec::new();
        for m in msgs {
            let attempts = outbox::attempts(c, m.id)?;
            out.push(json!({"message": m, "attempts": attempts}));
        }
        Ok(out)
    })
    .await;
    match r {
        Ok(v) => Json(json!({"messages": v})).into_response(),
        Err(r) => r,
    }
}

pub async fn audit(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<HashMap<String, String>>) -> Response {
    // The audit log reads the same at any depth (by id), so it pages deeper than other lists.
    let (limit, offset) =
        tri!(crate::paging::window_within(&q, 50, 500, crate::paging::AUDIT_MAX_OFFSET).map_err(|e| err(StatusCode::BAD_REQUEST, e)));
    let r = with_user(&state, cu, move |d, _, _| {
        Ok(desk::audit_recent(d.store.connection(), limit, offset)?)
    })
    .await;
    match r {
        Ok(p) => Json(json!({"total": p.total, "entries": p.items})).into_response(),
        Err(r) => r,
    }
}

pub async fn audit_verify(State(state): State<AppState>, cu: CurrentUser) -> Response {
    let r = with_user(&state, cu, move |d, _, _| {
        Ok(desk::audit_verify(d.store.connection())?)
    })
    .await;
    match r {
        Ok(Ok(n)) => Json(json!({"ok": true, "entries": n})).into_response(),
        Ok(Err(b)) => (StatusCode::CONFLICT, Json(json!({"ok": false, "broken_at": b.id, "reason": b.reason}))).into_response(),
        Err(r) => r,
    }
}

pub async fn overdue(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let (limit, offset) = tri!(limits(&q));
    let r = with_user(&state, cu, move |d, _, _| {
        Ok(desk::overdue_records(d.store.connection(), limit, offset)?)
    })
    .await;
    match r {
        Ok(p) => Json(json!({"total": p.total, "overdue": p.items})).into_response(),
        Err(r) => r,
    }
}

/// Runs the desk's clock once now (the server also runs it every few seconds); for operators.
pub async fn tick(State(state): State<AppState>, cu: CurrentUser) -> Response {
    let desk = state.desk.clone();
    let r = with_user(&state, cu, move |d, _, now| -> Result<TickReport, DeskError> {
        desk.tick_data(d, now)
    })
    .await;
    match r {
        Ok(rep) => Json(rep).into_response(),
        Err(r) => r,
    }
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], crate::OPENAPI).into_response()
}
