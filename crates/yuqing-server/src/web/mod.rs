//! The web desk's pages beyond the story views: 总览 (dashboard, live and big-screen) and 处置
//! (incidents). Handlers gather data under the data lock and hand it to pure renderers.

pub mod admin_pages;
pub mod alert_ack;
pub mod brief_html;
pub mod dashboard;
pub mod false_alarm;
pub mod incident_pages;
pub mod places_html;
pub mod posts_page;
pub mod rules_page;
pub mod sources_page;
pub mod story_edit;
pub mod themes_page;

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use yuqing_core::incident::{Channel, Command};
use yuqing_desk::permission;
use yuqing_store::{dashboard as dash, desk, Store, StoryOrder, StoryQuery};

use crate::error::{titled_page, AppError, AppResult};
use crate::extract::{Form, Query};
use crate::html::{Layout, Screen};
use crate::AppState;
use maud::html;

type Gathered = (
    dash::Overview,
    Vec<yuqing_store::StoryRecord>,
    Vec<(String, u64)>,
    Vec<yuqing_core::duty::DutyShift>,
    dash::Pictures,
);

fn gather(d: &yuqing_store::DataDir, now: chrono::DateTime<chrono::Utc>) -> AppResult<Gathered> {
    let c = d.store.connection();
    let o = dash::overview(c, now, i64::from(yuqing_core::CHINA_OFFSET_SECONDS))?;
    let top = d
        .store
        .stories(&StoryQuery { graded_only: true, order: StoryOrder::Grade, limit: 10, ..Default::default() })?
        .items;
    let recent = d.store.stories(&StoryQuery { order: StoryOrder::Recent, limit: 300, ..Default::default() })?.items;
    let topics = dash::topic_totals(&recent);
    let shifts = desk::shifts_between(c, now, now + chrono::Duration::seconds(1))?;
    let pictures = d.dashboard_pictures(now - chrono::Duration::hours(24), now)?;
    Ok((o, top, topics, shifts, pictures))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct DashboardQuery {
    screen: Option<String>,
}

/// 总览. `?screen=1` is the big-screen mode (dark, large type, full screen on click).
pub async fn dashboard(State(state): State<AppState>, Query(q): Query<DashboardQuery>) -> AppResult<Response> {
    let big = q.screen.as_deref() == Some("1");
    let (o, top, topics, shifts, pictures) = state.blocking(gather).await?;
    let inner = dashboard::render_fragment(&o, &top, &topics, &shifts, &pictures);
    let body = html! {
        @if big {
            p.screen-bar { b { "舆情态势" } " " button #fullscreen type="button" { "全屏" } " " a href="/" { "退出大屏" } }
        } @else {
            h2 { "总览 " a.small href="/?screen=1" { "大屏模式" } }
        }
        div #overview data-fragment="/dashboard/fragment" { (inner) }
        (crate::assets::desk_script())
    };
    let screen = if big { Screen::Big } else { Screen::Desk };
    Ok(Layout::of(&state, "总览").screen(screen).html(body).into_response())
}

pub async fn dashboard_fragment(State(state): State<AppState>) -> AppResult<Response> {
    let (o, top, topics, shifts, pictures) = state.blocking(gather).await?;
    Ok(Html(dashboard::render_fragment(&o, &top, &topics, &shifts, &pictures).into_string()).into_response())
}

/// A cheap fingerprint of what the dashboard shows: it changes when posts, alerts or incidents do.
fn version(d: &yuqing_store::DataDir, _now: chrono::DateTime<chrono::Utc>) -> AppResult<(i64, i64, i64, i64)> {
    Ok(dash::version(d.store.connection())?)
}

/// Server-sent events: a `change` event whenever the fingerprint moves (checked every 5 s). The
/// baseline is taken as the stream opens, so a change right after the page loaded is not missed.
pub async fn events(
    State(state): State<AppState>,
) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, Infallible>>> {
    let baseline = state.blocking(version).await.ok();
    let stream = futures_util::stream::unfold((state, baseline), |(state, mut last)| async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let v = state.blocking(version).await.ok();
            if v.is_some() && v != last {
                let changed = last.is_some();
                last = v;
                if changed {
                    return Some((Ok(SseEvent::default().event("change").data("1")), (state, last)));
                }
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The incident page's forms, one `action` each, with the fields that action reads (all text:
/// [`command_from_form`] trims them, treats blank as missing and words the refusals).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct IncidentForm {
    action: Option<String>,
    summary: Option<String>,
    findings: Option<String>,
    department: Option<String>,
    reason: Option<String>,
    text: Option<String>,
    title: Option<String>,
    owner: Option<String>,
    task: Option<String>,
    note: Option<String>,
    statement: Option<String>,
    comment: Option<String>,
    channel: Option<String>,
    url: Option<String>,
    spokesperson: Option<String>,
    lessons: Option<String>,
}

impl IncidentForm {
    fn field(&self, name: &str) -> Option<&str> {
        match name {
            "action" => self.action.as_deref(),
            "summary" => self.summary.as_deref(),
            "findings" => self.findings.as_deref(),
            "department" => self.department.as_deref(),
            "reason" => self.reason.as_deref(),
            "text" => self.text.as_deref(),
            "title" => self.title.as_deref(),
            "owner" => self.owner.as_deref(),
            "task" => self.task.as_deref(),
            "note" => self.note.as_deref(),
            "statement" => self.statement.as_deref(),
            "comment" => self.comment.as_deref(),
            "channel" => self.channel.as_deref(),
            "url" => self.url.as_deref(),
            "spokesperson" => self.spokesperson.as_deref(),
            "lessons" => self.lessons.as_deref(),
            _ => None,
        }
    }
}

/// A form's fields as a command (`action` names it, as in the JSON API).
pub fn command_from_form(f: &IncidentForm) -> Result<Command, String> {
    let get = |k: &str| f.field(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let need = |k: &str, what: &str| get(k).ok_or_else(|| format!("请填写{what}"));
    let num =
        |k: &str| -> Result<u32, String> { need(k, k)?.parse::<u32>().map_err(|_| format!("{k} 应为正整数")) };
    let action = need("action", "操作")?;
    Ok(match action.as_str() {
        "report" => Command::Report { summary: need("summary", "情况摘要")? },
        "report_to_leadership" => Command::ReportToLeadership { summary: need("summary", "报告内容")? },
        "start_verification" => Command::StartVerification,
        "submit_verification" => Command::SubmitVerification { findings: need("findings", "核查结果")? },
        "assign" => Command::Assign { department: need("department", "责任单位")?, reason: get("reason") },
        "reassign_lead" => Command::ReassignLead {
            department: need("department", "责任单位")?,
            reason: need("reason", "改派理由")?,
        },
        "add_note" => Command::AddNote { text: need("text", "备注")? },
        "add_task" => Command::AddTask { title: need("title", "任务")?, owner: get("owner"), due_at: None },
        "complete_task" => Command::CompleteTask { task: num("task")?, note: get("note") },
        "draft_statement" => Command::DraftStatement {
            statement: get("statement")
                .map(|s| s.parse::<u32>().map_err(|_| "statement 应为正整数".to_string()))
                .transpose()?,
            title: get("title"),
            text: need("text", "口径正文")?,
        },
        "submit_for_approval" => Command::SubmitForApproval { statement: num("statement")? },
        "approve" => Command::Approve { statement: num("statement")?, comment: get("comment") },
        "reject" => Command::Reject { statement: num("statement")?, comment: need("comment", "退回意见")? },
        "publish" => Command::Publish {
            statement: num("statement")?,
            channel: Channel::parse(&need("channel", "发布渠道")?),
            url: get("url"),
            at: None,
            spokesperson: get("spokesperson").unwrap_or_default(),
            timetable: Vec::new(),
            answers_node: None,
        },
        "start_follow_up" => Command::StartFollowUp,
        "submit_review" => Command::SubmitReview { lessons: need("lessons", "经验教训")? },
        "close" => Command::Close { reason: get("reason") },
        "reopen" => Command::Reopen { reason: need("reason", "理由")? },
        "mark_false_alarm" => Command::MarkFalseAlarm { reason: need("reason", "误报理由")? },
        other => return Err(format!("未知的操作“{other}”")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_become_commands_and_missing_fields_are_named() {
        let s = |v: &str| Some(v.to_string());
        let f = IncidentForm { action: s("reject"), statement: s("2"), comment: s("措辞"), ..Default::default() };
        assert_eq!(command_from_form(&f), Ok(Command::Reject { statement: 2, comment: "措辞".into() }));
        let f = IncidentForm { action: s("report"), summary: s("  "), ..Default::default() };
        assert_eq!(command_from_form(&f), Err("请填写情况摘要".into()));
        let f =
            IncidentForm { action: s("publish"), statement: s("1"), channel: s("政务微博"), ..Default::default() };
        assert!(matches!(command_from_form(&f), Ok(Command::Publish { channel: Channel::Weibo, .. })));
    }
}

// ---------------------------------------------------------------- 处置、值班、系统 (signed in)

use axum::extract::Path;
use axum::response::Redirect;
use yuqing_core::people::{Role, Title};
use yuqing_store::desk::IncidentQuery;

use crate::auth::CurrentUser;

/// A refusal shown as a notice on the page it concerns: its status and its message (an internal
/// failure is logged and shown only as the generic message).
fn notice(e: AppError) -> (StatusCode, String) {
    let shown = e.shown();
    (shown.status, shown.message)
}

/// 处置: "my" queue — a department member sees its department's incidents, others all.
/// `/incidents?all=1&page=N`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct IncidentsQuery {
    all: Option<String>,
    page: Option<String>,
}

pub async fn incidents(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<IncidentsQuery>) -> Response {
    match incidents_page(&state, &cu, &q).await {
        Ok(r) => r,
        Err(e) => titled_page(&state, "处置", e),
    }
}

async fn incidents_page(state: &AppState, cu: &CurrentUser, q: &IncidentsQuery) -> AppResult<Response> {
    let all = q.all.as_deref() == Some("1");
    let page_no = crate::pages::page_value(q.page.as_deref(), 50)?;
    let user = cu.user.clone();
    let list = state
        .blocking(move |d, _| {
            let mut query = IncidentQuery {
                open_only: !all,
                limit: 50,
                offset: crate::paging::offset_of(page_no, 50),
                ..Default::default()
            };
            if user.actor().sees_only_own_department() {
                query.department = Some(user.department.clone().unwrap_or_default());
            }
            Ok(desk::incidents(d.store.connection(), &query)?)
        })
        .await?;
    let title = match (cu.user.actor().sees_only_own_department(), all) {
        (true, false) => format!("本单位待办工单（{}）", cu.user.department.as_deref().unwrap_or("")),
        (_, false) => "处置中的工单".to_string(),
        (_, true) => "全部工单".to_string(),
    };
    let base = if all { "/incidents?all=1&" } else { "/incidents?" };
    let body = html! {
        (incident_pages::render_list(&list.items, list.total, &title))
        p {
            @if all {
                a href="/incidents" { "只看处置中" }
            } @else {
                a href="/incidents?all=1" { "全部工单（含已办结）" }
            }
        }
        (crate::paging::Pager::new(base, page_no, list.total, 50).render())
    };
    Ok(Layout::of(state, "处置").html(body).into_response())
}

async fn incident_view(state: &AppState, cu: &CurrentUser, id: i64, notice: Option<(StatusCode, String)>) -> Response {
    let (desk, user, now) = (state.desk.clone(), cu.user.clone(), (state.clock)());
    let r = state
        .blocking(move |d, _| {
            let inc = desk.visible_incident(&d.store, &user, id)?;
            let tl = desk::timeline(d.store.connection(), id)?;
            // The brief of each story the incident covers (the first few: a case is about one matter).
            let mut briefs = Vec::new();
            let mut alerts = Vec::new();
            for &sid in inc.stories.iter().take(3) {
                briefs.push((sid, yuqing_store::brief::story_brief(&d.store, d.fts.segmenter(), sid)?));
                alerts.extend(d.store.story_alerts(sid)?);
            }
            let acks = alert_ack::gather(d.store.connection(), alerts)?;
            Ok((inc, tl, briefs, acks))
        })
        .await;
    let (inc, tl, briefs, acks) = match r {
        Ok(x) => x,
        Err(e) => return titled_page(state, "处置工单", e),
    };
    let status = notice.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let body = html! {
        @if let Some((_, msg)) = &notice {
            p class="late notice" { (msg) }
        }
        (alert_ack::bar(&acks, &cu.user, cu.csrf_token(), &format!("/incidents/{id}")))
        (incident_pages::render_incident(&inc, &tl, &briefs, &cu.user, cu.csrf_token(), now))
    };
    let title = format!("工单 #{id}");
    (status, Layout::of(state, &title).html(body)).into_response()
}

pub async fn incident(State(state): State<AppState>, cu: CurrentUser, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return titled_page(&state, "处置工单", AppError::invalid_id("工单", &id));
    };
    incident_view(&state, &cu, id, None).await
}

/// A form on the incident page: apply it, then back to the page (303), or the page with the reason.
pub async fn incident_act(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<IncidentForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return titled_page(&state, "处置工单", AppError::invalid_id("工单", &id));
    };
    let cmd = match command_from_form(&f) {
        Ok(c) => c,
        Err(e) => return incident_view(&state, &cu, id, Some((StatusCode::BAD_REQUEST, e))).await,
    };
    let (desk, user) = (state.desk.clone(), cu.user.clone());
    let false_alarm = match &cmd {
        Command::MarkFalseAlarm { reason } => Some(reason.clone()),
        _ => None,
    };
    let r = state.blocking(move |d, now| Ok(desk.act(&d.store, &user, id, cmd, now)?.0.stories)).await;
    match r {
        Ok(stories) => {
            if let Some(reason) = false_alarm {
                // The incident is closed as 误报; its stories stop being graded.
                let notes = false_alarm::mark_incident_stories(&state, &cu, stories, reason).await;
                if notes.iter().any(|n| n.contains("未标记")) {
                    return incident_view(&state, &cu, id, Some((StatusCode::OK, notes.join("；")))).await;
                }
            }
            Redirect::to(&format!("/incidents/{id}")).into_response()
        }
        Err(e) => incident_view(&state, &cu, id, Some(notice(e))).await,
    }
}

pub async fn duty(State(state): State<AppState>, cu: CurrentUser) -> Response {
    let r = state
        .blocking(move |d, now| {
            let c = d.store.connection();
            let shifts = desk::shifts_between(c, now - chrono::Duration::days(1), now + chrono::Duration::days(14))?;
            let notes = desk::handovers(c, 30)?;
            Ok((shifts, notes, now))
        })
        .await;
    match r {
        Ok((shifts, notes, now)) => {
            let can_import = permission::may_import_duty(cu.user.role);
            let body = admin_pages::render_duty(&shifts, &notes, now, can_import, cu.csrf_token());
            Layout::of(&state, "值班").html(body).into_response()
        }
        Err(e) => titled_page(&state, "值班", e),
    }
}

/// The duty page's forms: a roster as CSV text, or a handover note.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct DutyForm {
    csv: Option<String>,
    text: Option<String>,
}

pub async fn duty_import(State(state): State<AppState>, cu: CurrentUser, Form(f): Form<DutyForm>) -> Response {
    let csv = f.csv.unwrap_or_default();
    let user = cu.user.name.clone();
    let r = state
        .blocking(move |d, now| {
            let shifts = yuqing_desk::desk::parse_roster(csv.as_bytes())?;
            Ok(yuqing_desk::desk::import_roster(&d.store, &user, &shifts, None, now)?)
        })
        .await;
    match r {
        Ok(_) => Redirect::to("/duty").into_response(),
        Err(e) => titled_page(&state, "值班表有误", e),
    }
}

pub async fn duty_handover(State(state): State<AppState>, cu: CurrentUser, Form(f): Form<DutyForm>) -> Response {
    let text = f.text.as_deref().map(|t| t.trim().to_string()).unwrap_or_default();
    let user = cu.user.name.clone();
    match state.blocking(move |d, now| Ok(yuqing_desk::desk::add_handover(&d.store, &user, &text, now)?)).await {
        Ok(_) => Redirect::to("/duty").into_response(),
        Err(e) => titled_page(&state, "交接班记录", e),
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SystemQuery {
    audit_page: Option<String>,
}

pub async fn system(State(state): State<AppState>, cu: CurrentUser, Query(q): Query<SystemQuery>) -> Response {
    let page_no = match crate::paging::page_value(
        q.audit_page.as_deref(),
        "audit_page",
        admin_pages::AUDIT_PAGE,
        crate::paging::AUDIT_MAX_OFFSET,
    ) {
        Ok(n) => n,
        Err(e) => return titled_page(&state, "系统", AppError::invalid_field("audit_page", e)),
    };
    system_page(&state, &cu, StatusCode::OK, None, page_no).await
}

async fn system_view(
    state: &AppState,
    cu: &CurrentUser,
    status: StatusCode,
    notice: Option<(bool, String)>,
) -> Response {
    system_page(state, cu, status, notice, 1).await
}

/// The 系统 page, with the outcome of a change when there was one.
async fn system_page(
    state: &AppState,
    cu: &CurrentUser,
    status: StatusCode,
    notice: Option<(bool, String)>,
    audit_page: usize,
) -> Response {
    let departments = state.departments.clone();
    let r = state
        .blocking(move |d, _| {
            let c = d.store.connection();
            let users = desk::users(c)?;
            let audit = desk::audit_recent(
                c,
                admin_pages::AUDIT_PAGE,
                crate::paging::offset_of(audit_page, admin_pages::AUDIT_PAGE),
            )?;
            let chain = desk::audit_verify(c)?;
            Ok((users, audit, chain))
        })
        .await;
    match r {
        Ok((users, audit, chain)) => {
            let view = admin_pages::SystemView {
                manage: permission::may_manage_people(cu.user.role),
                csrf: cu.csrf_token(),
                me: &cu.user.name,
                notice,
                audit_page,
            };
            let body = admin_pages::render_system(&users, &departments, &audit.items, audit.total, &chain, &view);
            (status, Layout::of(state, "系统").html(body)).into_response()
        }
        Err(e) => titled_page(state, "系统", e),
    }
}

/// Adds a person from the 系统 page's form (administrators only, by the policy table).
pub async fn system_add_user(
    State(state): State<AppState>,
    cu: CurrentUser,
    Form(f): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).filter(|v| !v.is_empty());
    let role = match Role::parse(&get("role").unwrap_or_default()) {
        Ok(r) => r,
        Err(e) => return system_view(&state, &cu, StatusCode::BAD_REQUEST, Some((false, e))).await,
    };
    let titles =
        match f.iter().filter(|(n, _)| n == "title").map(|(_, v)| Title::parse(v)).collect::<Result<Vec<_>, _>>() {
            Ok(t) => t,
            Err(e) => return system_view(&state, &cu, StatusCode::BAD_REQUEST, Some((false, e))).await,
        };
    let name = get("name").unwrap_or_default();
    let u = yuqing_store::desk::NewUser {
        display_name: get("display_name").unwrap_or_else(|| name.clone()),
        name,
        role: Some(role),
        department: get("department"),
        titles,
        phone: get("phone"),
        email: get("email"),
        channels: Vec::new(),
    };
    // Not trimmed: spaces may be part of a password.
    let password = f.iter().find(|(n, _)| n == "password").map(|(_, v)| v.clone()).unwrap_or_default();
    let (by, now) = (cu.user.name.clone(), (state.clock)());
    let r = state
        .blocking(move |d, _| Ok(yuqing_desk::people::add_person(&d.store, &by, &u, Some(&password), &[], now)?))
        .await;
    match r {
        Ok((user, token)) => {
            let msg = format!(
                "已新增用户 {}（{}）。API 令牌（只显示这一次，请转交本人妥善保存）：{token}",
                user.name,
                user.role.label_zh()
            );
            system_view(&state, &cu, StatusCode::OK, Some((true, msg))).await
        }
        Err(e) => {
            let (status, msg) = notice(e);
            system_view(&state, &cu, status, Some((false, format!("未能新增用户：{msg}")))).await
        }
    }
}

/// A person's forms on the 系统 page: `active` (0 | 1) or a new `password`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct UserForm {
    active: Option<String>,
    password: Option<String>,
}

/// Disables (`active=0`) or enables (`active=1`) a person.
pub async fn system_user_active(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(name): Path<String>,
    Form(f): Form<UserForm>,
) -> Response {
    let active = match f.active.as_deref() {
        Some("1") => true,
        Some("0") => false,
        other => {
            return system_view(
                &state,
                &cu,
                StatusCode::BAD_REQUEST,
                Some((false, format!("active 应为 0 或 1，收到“{}”", other.unwrap_or("")))),
            )
            .await
        }
    };
    let (by, now) = (cu.user.name.clone(), (state.clock)());
    let who = name.clone();
    let r = state.blocking(move |d, _| Ok(yuqing_desk::people::set_active(&d.store, &by, &who, active, now)?)).await;
    match r {
        Ok(_) => {
            let msg = if active {
                format!("已启用 {name}")
            } else {
                format!("已停用 {name}：其登录会话与 API 令牌立即失效")
            };
            system_view(&state, &cu, StatusCode::OK, Some((true, msg))).await
        }
        Err(e) => {
            let (status, msg) = notice(e);
            system_view(&state, &cu, status, Some((false, msg))).await
        }
    }
}

/// Sets a person's sign-in password (their open sessions end).
pub async fn system_user_password(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(name): Path<String>,
    Form(f): Form<UserForm>,
) -> Response {
    let password = f.password.unwrap_or_default();
    let (by, now) = (cu.user.name.clone(), (state.clock)());
    let who = name.clone();
    let r =
        state.blocking(move |d, _| Ok(yuqing_desk::people::set_password(&d.store, &by, &who, &password, now)?)).await;
    match r {
        Ok(()) => {
            system_view(
                &state,
                &cu,
                StatusCode::OK,
                Some((true, format!("已为 {name} 设置新密码；其已登录的会话已失效"))),
            )
            .await
        }
        Err(e) => {
            let (status, msg) = notice(e);
            system_view(&state, &cu, status, Some((false, msg))).await
        }
    }
}
