//! 误报 (false alarm) from the story page, the incident page and the JSON API.
//!
//! Marking a story 误报 (the pipeline, through the [`StoryEditor`]) stops its grading and teaches
//! the relevance model; then its open incident closes as 误报 when all of the incident's stories
//! are marked ([`yuqing_desk::Desk::close_false_alarm`]). Marking an incident 误报 on its page closes it
//! (the desk) and marks its stories. Withdrawing a mark grades the story again; resetting the
//! relevance model keeps the marks and forgets what was learned from them.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use yuqing_store::false_alarm::FalseAlarmMark;

use super::story_edit::{field, form_pairs, may_edit, run, story_id, StoryEditor};
use crate::auth::CurrentUser;
use crate::desk_api::body;
use crate::error::{titled_page, AppError, AppResult};
use crate::html::{csrf_field, fmt_time};
use crate::AppState;
use maud::{html, Markup};

/// What marking a story did: its incident closed, or why it stayed open.
#[derive(Debug, Default)]
struct Marked {
    notes: Vec<String>,
    closed: Vec<i64>,
    /// An incident of the story that stayed open.
    kept: Option<i64>,
}

/// Marks the story (pipeline), then closes its incident (desk) as the same person.
async fn mark_story(state: &AppState, cu: &CurrentUser, story: i64, reason: String) -> AppResult<Marked> {
    let actor = cu.user.name.clone();
    let why = reason.clone();
    run(state, move |e: &dyn StoryEditor| e.mark_false_alarm(story, &why, &actor)).await?;
    let (desk, user) = (state.desk.clone(), cu.user.clone());
    let closed = state.blocking(move |d, now| Ok(desk.close_false_alarm(&d.store, &user, story, &reason, now)?)).await;
    let mut out = Marked::default();
    match closed {
        Ok(Some((id, Ok(())))) => {
            out.closed.push(id);
            out.notes.push(format!("处置工单 #{id} 已按误报关闭"));
        }
        Ok(Some((id, Err(why)))) => {
            out.kept = Some(id);
            out.notes.push(why);
        }
        Ok(None) => {}
        Err(e) => {
            // The mark stands; the person is told to close the incident by hand.
            tracing::error!(story, error = %e, "closing the incident of a story marked as a false alarm failed");
            out.notes.push("事件已标记误报，但关联工单未能自动关闭，请到工单页办理".to_string());
        }
    }
    Ok(out)
}

/// After an incident was marked 误报 (by the desk): its stories are marked too, so they stop being
/// graded. Returns notes for the person (stories already marked are skipped silently).
pub async fn mark_incident_stories(
    state: &AppState,
    cu: &CurrentUser,
    stories: Vec<i64>,
    reason: String,
) -> Vec<String> {
    let mut notes = Vec::new();
    for story in stories {
        let (actor, why) = (cu.user.name.clone(), reason.clone());
        match run(state, move |e: &dyn StoryEditor| e.mark_false_alarm(story, &why, &actor)).await {
            Ok(()) => notes.push(format!("舆情事件 #{story} 已标记误报，不再定级")),
            Err(AppError::Conflict { message, .. }) if message.contains("已标记") => {}
            Err(e) => notes.push(format!("舆情事件 #{story} 未标记误报：{}", e.shown().message)),
        }
    }
    notes
}

fn reason_of(pairs: &[(String, String)]) -> String {
    field(pairs, "reason").to_string()
}

/// `POST /stories/{id}/false-alarm` (form: `reason`).
pub async fn mark_form(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let story = match story_id(&id) {
        Ok(s) => s,
        Err(e) => return titled_page(&state, "标记误报", e),
    };
    match mark_story(&state, &cu, story, reason_of(&form_pairs(&body))).await {
        Ok(m) => Redirect::to(&format!(
            "/stories/{story}?false_alarm=1&closed={}&kept={}",
            m.closed.first().copied().unwrap_or(0),
            m.kept.unwrap_or(0)
        ))
        .into_response(),
        Err(e) => titled_page(&state, "标记误报", e),
    }
}

/// `POST /stories/{id}/false-alarm/withdraw` (form: `reason`).
pub async fn withdraw_form(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let story = match story_id(&id) {
        Ok(s) => s,
        Err(e) => return titled_page(&state, "撤销误报", e),
    };
    let (reason, actor) = (reason_of(&form_pairs(&body)), cu.user.name.clone());
    match run(&state, move |e: &dyn StoryEditor| e.withdraw_false_alarm(story, &reason, &actor)).await {
        Ok(()) => Redirect::to(&format!("/stories/{story}?withdrawn=1")).into_response(),
        Err(e) => titled_page(&state, "撤销误报", e),
    }
}

/// `POST /rules/relevance/reset`: the office resets the relevance model.
pub async fn reset_form(State(state): State<AppState>, cu: CurrentUser) -> Response {
    let actor = cu.user.name.clone();
    match run(&state, move |e: &dyn StoryEditor| e.reset_relevance(&actor)).await {
        Ok(n) => Redirect::to(&format!("/rules?relevance_reset={n}")).into_response(),
        Err(e) => titled_page(&state, "重置误报学习", e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonRequest {
    reason: String,
}

/// The story of the path and the reason of the JSON body, or the 400 that says which is wrong.
fn api_request(id: &str, bytes: &Bytes) -> AppResult<(i64, ReasonRequest)> {
    Ok((story_id(id)?, body(bytes)?))
}

/// `POST /api/v1/stories/{id}/false-alarm` `{"reason": "…"}`.
pub async fn mark_api(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> AppResult<Response> {
    let (story, req) = api_request(&id, &bytes)?;
    let m = mark_story(&state, &cu, story, req.reason).await?;
    Ok(Json(json!({"story": story, "false_alarm": true, "closed_incidents": m.closed, "notes": m.notes}))
        .into_response())
}

/// `POST /api/v1/stories/{id}/false-alarm/withdraw` `{"reason": "…"}`.
pub async fn withdraw_api(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> AppResult<Response> {
    let (story, req) = api_request(&id, &bytes)?;
    let actor = cu.user.name.clone();
    run(&state, move |e: &dyn StoryEditor| e.withdraw_false_alarm(story, &req.reason, &actor)).await?;
    Ok(Json(json!({"story": story, "false_alarm": false})).into_response())
}

/// The story page's 误报 section: the mark (who, when, why) with the form to withdraw it, or the
/// form to mark the story.
pub fn section(story: i64, mark: Option<&FalseAlarmMark>, cu: &CurrentUser, editable: bool) -> Markup {
    let may = editable && may_edit(cu);
    html! {
        section.false-alarm #false-alarm {
            h3 { "误报" }
            @match mark {
                Some(m) => {
                    p.late {
                        (fmt_time(&m.at)) " 由 " (m.actor) " 标记为误报：" (m.reason)
                        "。本事件不再定级，也不再发出预警；相似的新事件会被降一级（见监测规则页的误报学习）。"
                    }
                    @if may {
                        form method="post" action={ "/stories/" (story) "/false-alarm/withdraw" } class="act" {
                            (csrf_field(cu.csrf_token()))
                            label { "撤销原因 " input name="reason" size="30" required maxlength="500"; }
                            " " button { "撤销误报" }
                        }
                    }
                }
                None if may => {
                    form method="post" action={ "/stories/" (story) "/false-alarm" } class="act" id="mark-false-alarm" {
                        (csrf_field(cu.csrf_token()))
                        "本事件与本单位无关或不是舆情（外地事件、广告营销、正常通报等）："
                        label { "原因 " input name="reason" size="30" required maxlength="500" placeholder="如：外省事件，非本地"; }
                        " " button { "标记误报" }
                    }
                    p.muted { "标记后本事件不再定级，关联的处置工单（未进入审批的）按误报关闭。" }
                }
                None => p.muted { "未标记误报。" },
            }
        }
    }
}

/// The line under a story's title when it is marked.
pub fn banner(mark: Option<&FalseAlarmMark>) -> Markup {
    html! {
        @if let Some(m) = mark {
            p.late { b { "已标记误报" } "（" (m.actor) "）：" (m.reason) }
        }
    }
}

/// The 误报 badge in lists (with the space before it).
pub fn badge(marked: bool) -> Markup {
    html! {
        @if marked {
            " " span.badge.false-alarm title="已标记误报" { "误报" }
        }
    }
}

/// An incident closed as 误报, for its page: who, when, why.
pub fn incident_line(fa: Option<&yuqing_core::incident::FalseAlarm>) -> Markup {
    html! {
        @if let Some(f) = fa {
            p.late { b { "已按误报关闭" } "：" (f.reason) "（" (f.by) "，" (fmt_time(&f.at)) "）" }
        }
    }
}

/// The query flags the redirects set after marking or withdrawing (present or not; `closed`
/// and `kept` name an incident).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Flags {
    pub false_alarm: Option<String>,
    pub closed: Option<String>,
    pub kept: Option<String>,
    pub withdrawn: Option<String>,
}

/// Shown after marking or withdrawing (query flags set by the redirects).
pub fn notice(q: &Flags) -> Markup {
    let id = |v: &Option<String>| v.as_deref().and_then(|c| c.parse::<i64>().ok()).filter(|c| *c > 0);
    html! {
        @if q.false_alarm.is_some() {
            p.ok { "已标记误报，并记入审计日志。" }
            @if let Some(id) = id(&q.closed) {
                p.ok { "关联的 " a href={ "/incidents/" (id) } { "处置工单 #" (id) } " 已按误报关闭。" }
            }
            @if let Some(id) = id(&q.kept) {
                p.late {
                    "关联的 " a href={ "/incidents/" (id) } { "处置工单 #" (id) }
                    " 未自动关闭（还关联其他未标记误报的事件，或口径已进入审批），请到工单页办理。"
                }
            }
        }
        @if q.withdrawn.is_some() {
            p.ok { "已撤销误报标记，本事件重新定级。" }
        }
    }
}
