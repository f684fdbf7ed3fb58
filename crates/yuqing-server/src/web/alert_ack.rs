//! 签收: acknowledging an alert from the page an alert message links to (the story, or the
//! incident that covers it), in one tap on a phone. The same step as `POST /api/v1/alerts/{id}/ack`:
//! it stops the escalation to the leader on duty and the office.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use serde::Deserialize;
use yuqing_core::Alert;
use yuqing_desk::permission;
use yuqing_store::desk::User;

use crate::auth::CurrentUser;
use crate::error::{titled_page, AppError};
use crate::extract::Form;
use crate::html::{csrf_field, fmt_time, grade_badge};
use crate::AppState;

/// An alert of the page's story (or stories) with who acknowledged it, when.
pub type AlertAck = (Alert, Option<(String, DateTime<Utc>)>);

/// The acknowledgements of `alerts` (the last few: older ones were dealt with long ago).
pub fn gather(conn: &yuqing_store::Connection, mut alerts: Vec<Alert>) -> yuqing_store::Result<Vec<AlertAck>> {
    alerts.sort_by_key(|a| (a.at, a.id));
    let skip = alerts.len().saturating_sub(5);
    alerts
        .into_iter()
        .skip(skip)
        .map(|a| {
            let ack = yuqing_store::desk::alert_ack(conn, a.id)?;
            Ok((a, ack))
        })
        .collect()
}

/// The bar at the top of the page: a large 签收 button per unacknowledged alert for those who may
/// acknowledge, else who acknowledged the latest one. Empty when the page's story has no alerts.
pub fn bar(items: &[AlertAck], user: &User, csrf: &str, back: &str) -> Markup {
    let pending: Vec<&Alert> = items.iter().filter(|(_, ack)| ack.is_none()).map(|(a, _)| a).collect();
    let latest_ack = items.iter().rev().find_map(|(a, ack)| ack.as_ref().map(|k| (a, k)));
    let may = permission::may_work(user.role);
    html! {
        @if !pending.is_empty() {
            div.ack-bar {
                @for a in &pending {
                    @if may {
                        form.ack method="post" action={ "/alerts/" (a.id) "/ack" } {
                            (csrf_field(csrf))
                            input type="hidden" name="back" value=(back);
                            button type="submit" { "签收预警 #" (a.id) " " (grade_badge(Some(a.to))) }
                            span.muted { (fmt_time(&a.at)) " 预警，签收后停止向值班领导升级" }
                        }
                    } @else {
                        p.late { "预警 #" (a.id) "（" (fmt_time(&a.at)) "）尚未签收" }
                    }
                }
            }
        } @else if let Some((a, (by, at))) = latest_ack {
            p.ok.ack-done { "预警 #" (a.id) " 已由 " (by) " 于 " (fmt_time(at)) " 签收" }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AckForm {
    #[serde(default)]
    back: Option<String>,
}

/// Only back to a story or an incident page of this site.
fn back_to(back: Option<&str>) -> Option<&str> {
    let b = back?;
    let id = b.strip_prefix("/stories/").or_else(|| b.strip_prefix("/incidents/"))?;
    (!id.is_empty() && id.len() <= 18 && id.bytes().all(|c| c.is_ascii_digit())).then_some(b)
}

/// `POST /alerts/{id}/ack` from the 签收 button: acknowledge, then back to the page (303).
pub async fn alert_ack(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    Form(f): Form<AckForm>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return titled_page(&state, "签收预警", AppError::invalid_id("预警", &id));
    };
    let (desk, user) = (state.desk.clone(), cu.user.clone());
    let r = state
        .blocking(move |d, now| {
            desk.acknowledge(&d.store, &user, id, now)?;
            Ok(yuqing_store::desk::alert(d.store.connection(), id)?.map(|a| a.story_id))
        })
        .await;
    match r {
        Ok(story) => {
            let fallback = story.map_or_else(|| "/alerts".to_string(), |s| format!("/stories/{s}"));
            Redirect::to(back_to(f.back.as_deref()).unwrap_or(&fallback)).into_response()
        }
        Err(e) => titled_page(&state, "签收预警", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use yuqing_core::people::Role;
    use yuqing_core::Grade;

    fn user(role: Role) -> User {
        User {
            id: 1,
            name: "xinxi".into(),
            display_name: "信息员".into(),
            role,
            department: None,
            titles: vec![],
            phone: None,
            email: None,
            channels: vec![],
            active: true,
            created_at: Utc::now(),
        }
    }

    fn alert(id: i64) -> Alert {
        Alert {
            id,
            story_id: 9,
            from: None,
            to: Grade::III,
            reasons: vec![],
            at: Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap(),
        }
    }

    #[test]
    fn one_button_per_pending_alert_for_workers_and_the_ack_once_done() {
        let items = vec![(alert(1), Some(("zhang".to_string(), Utc::now()))), (alert(2), None)];
        let html = bar(&items, &user(Role::Officer), "tok", "/stories/9").into_string();
        assert!(html.contains("action=\"/alerts/2/ack\"") && !html.contains("/alerts/1/ack"), "{html}");
        assert!(html.contains("name=\"back\" value=\"/stories/9\"") && html.contains("value=\"tok\""));
        let viewer = bar(&items, &user(Role::Viewer), "", "/stories/9").into_string();
        assert!(!viewer.contains("<form") && viewer.contains("尚未签收"), "{viewer}");
        let done = bar(&items[..1], &user(Role::Officer), "tok", "/stories/9").into_string();
        assert!(done.contains("已由 zhang") && !done.contains("<form"), "{done}");
        assert!(bar(&[], &user(Role::Officer), "tok", "/").into_string().is_empty());
    }

    #[test]
    fn back_only_leads_to_a_story_or_an_incident() {
        assert_eq!(back_to(Some("/stories/12")), Some("/stories/12"));
        assert_eq!(back_to(Some("/incidents/3")), Some("/incidents/3"));
        for bad in ["//evil.example/", "/stories/12/../../x", "/stories/", "https://x/stories/1", "/stories/1?x"] {
            assert_eq!(back_to(Some(bad)), None, "{bad}");
        }
        assert_eq!(back_to(None), None);
    }
}
