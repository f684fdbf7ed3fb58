//! The web desk's pages beyond the story views: 总览 (dashboard, live and big-screen) and 处置
//! (incidents). Handlers gather data under the data lock and hand it to pure renderers.

pub mod dashboard;
pub mod incident_pages;
pub mod admin_pages;
pub mod posts_page;

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use yuqing_core::incident::{Channel, Command};
use yuqing_store::{dashboard as dash, desk, Store, StoryOrder, StoryQuery};

use crate::html::page;
use crate::pages::with_data;
use crate::AppState;

type Gathered = (dash::Overview, Vec<yuqing_store::StoryRecord>, Vec<(String, u64)>, Vec<yuqing_core::duty::DutyShift>);

fn gather(d: &yuqing_store::DataDir, now: chrono::DateTime<chrono::Utc>) -> Result<Gathered, String> {
    let c = d.store.connection();
    let o = dash::overview(c, now, 8 * 3600).map_err(|e| e.to_string())?;
    let top = d
        .store
        .stories(&StoryQuery { graded_only: true, order: StoryOrder::Grade, limit: 10, ..Default::default() })
        .map_err(|e| e.to_string())?
        .items;
    let recent = d.store.stories(&StoryQuery { order: StoryOrder::Recent, limit: 300, ..Default::default() }).map_err(|e| e.to_string())?.items;
    let topics = dash::topic_totals(&recent);
    let shifts = desk::shifts_between(c, now, now + chrono::Duration::seconds(1)).map_err(|e| e.to_string())?;
    Ok((o, top, topics, shifts))
}

/// 总览. `?screen=1` is the big-screen mode (dark, large type, full screen on click).
pub async fn dashboard(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let big = q.get("screen").is_some_and(|v| v == "1");
    let now = (state.clock)();
    let r = with_data(&state, move |d| gather(d, now)).await;
    let (o, top, topics, shifts) = match r {
        Ok(x) => x,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    };
    let inner = dashboard::render_fragment(&o, &top, &topics, &shifts);
    let head = if big {
        "<p class=\"screen-bar\"><b>舆情态势</b> <button id=\"fullscreen\" type=\"button\">全屏</button> <a href=\"/\">退出大屏</a></p>"
    } else {
        "<h2>总览 <a class=\"small\" href=\"/?screen=1\">大屏模式</a></h2>"
    };
    let body = format!(
        "{head}<div id=\"overview\" data-fragment=\"/dashboard/fragment\">{inner}</div>{}",
        dashboard::LIVE_JS
    );
    let mut html = page("总览", &state.org_name, state.banner.as_deref(), &body);
    if big {
        html = html.replacen("<body>", "<body class=\"big\">", 1);
    }
    Html(html).into_response()
}

pub async fn dashboard_fragment(State(state): State<AppState>) -> Response {
    let now = (state.clock)();
    match with_data(&state, move |d| gather(d, now)).await {
        Ok((o, top, topics, shifts)) => Html(dashboard::render_fragment(&o, &top, &topics, &shifts)).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

/// A cheap fingerprint of what the dashboard shows: it changes when posts, alerts or incidents do.
fn version(d: &yuqing_store::DataDir) -> Result<(i64, i64, i64, i64), String> {
    let c = d.store.connection();
    let q = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).map_err(|e| e.to_string());
    Ok((
        q("SELECT COALESCE(MAX(id), 0) FROM posts")?,
        q("SELECT COALESCE(MAX(id), 0) FROM alerts")?,
        q("SELECT COALESCE(MAX(updated_at), 0) FROM incidents")?,
        q("SELECT COUNT(*) FROM overdue")?,
    ))
}

/// Server-sent events: a `change` event whenever the fingerprint moves (checked every 5 s).
pub async fn events(State(state): State<AppState>) -> Sse<impl futures_util::Stream<Item = Result<SseEvent, Infallible>>> {
    let stream = futures_util::stream::unfold((state, None), |(state, mut last)| async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let v = with_data(&state, version).await.ok();
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

/// A form's fields as a command (`action` names it, as in the JSON API).
pub fn command_from_form(f: &HashMap<String, String>) -> Result<Command, String> {
    let get = |k: &str| f.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let need = |k: &str, what: &str| get(k).ok_or_else(|| format!("请填写{what}"));
    let num = |k: &str| -> Result<u32, String> { need(k, k)?.parse::<u32>().map_err(|_| format!("{k} 应为正整数")) };
    let action = need("action", "操作")?;
    Ok(match action.as_str() {
        "report" => Command::Report { summary: need("summary", "情况摘要")? },
        "report_to_leadership" => Command::ReportToLeadership { summary: need("summary", "报告内容")? },
        "start_verification" => Command::StartVerification,
        "submit_verification" => Command::SubmitVerification { findings: need("findings", "核查结果")? },
        "assign" => Command::Assign { department: need("department", "责任单位")?, reason: get("reason") },
        "reassign_lead" => Command::ReassignLead { department: need("department", "责任单位")?, reason: need("reason", "改派理由")? },
        "add_note" => Command::AddNote { text: need("text", "备注")? },
        "add_task" => Command::AddTask { title: need("title", "任务")?, owner: get("owner"), due_at: None },
        "complete_task" => Command::CompleteTask { task: num("task")?, note: get("note") },
        "draft_statement" => Command::DraftStatement {
            statement: get("statement").map(|s| s.parse::<u32>().map_err(|_| "statement 应为正整数".to_string())).transpose()?,
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
        other => return Err(format!("未知的操作“{other}”")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_become_commands_and_missing_fields_are_named() {
        let f: HashMap<String, String> = [("action", "reject"), ("statement", "2"), ("comment", "措辞")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(command_from_form(&f), Ok(Command::Reject { statement: 2, comment: "措辞".into() }));
        let f: HashMap<String, String> = [("action", "report"), ("summary", "  ")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(command_from_form(&f), Err("请填写情况摘要".into()));
        let f: HashMap<String, String> = [("action", "publish"), ("statement", "1"), ("channel", "政务微博")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert!(matches!(command_from_form(&f), Ok(Command::Publish { channel: Channel::Weibo, .. })));
    }
}
