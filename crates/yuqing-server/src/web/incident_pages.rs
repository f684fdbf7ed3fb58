//! 处置 pages: the incident queue and one incident with its clocks, tasks, statements (with the
//! diff between versions), approval buttons for whoever's turn it is, publications and the review.
//! Rendering is pure (data in, HTML out); forms post to `/incidents/{id}/act` with the CSRF token.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use yuqing_core::incident::{
    allowed_steps, diff, ApprovalLink, DiffPart, Incident, IncidentState, StatementStatus, Step,
};
use yuqing_desk::permission;
use yuqing_store::desk::{IncidentSummary, TimelineEntry, User};
use yuqing_text::brief::Brief;

use crate::html::{esc, fmt_time, grade_badge};

/// "还剩 1 小时 20 分" / "已超时 35 分".
pub fn countdown(due: DateTime<Utc>, now: DateTime<Utc>) -> (String, bool) {
    let secs = (due - now).num_seconds();
    let abs = secs.unsigned_abs();
    let (d, h, m) = (abs / 86_400, abs % 86_400 / 3600, abs % 3600 / 60);
    let span = if d > 0 {
        format!("{d} 天 {h} 小时")
    } else if h > 0 {
        format!("{h} 小时 {m} 分")
    } else {
        format!("{} 分", m.max(if abs > 0 { 1 } else { 0 }))
    };
    if secs >= 0 {
        (format!("还剩 {span}"), false)
    } else {
        (format!("已超时 {span}"), true)
    }
}

pub fn state_badge(s: IncidentState) -> String {
    let class = match s {
        IncidentState::Closed => "st-closed",
        IncidentState::Triage | IncidentState::Reported => "st-new",
        _ => "st-open",
    };
    format!("<span class=\"state {class}\">{}</span>", s.label_zh())
}

/// The queue: one row per incident, newest first.
pub fn render_list(items: &[IncidentSummary], total: u64, title: &str) -> String {
    let mut b = String::new();
    let _ = write!(b, "<h2>{}</h2><p class=\"muted\">共 {total} 个工单</p>", esc(title));
    if items.is_empty() {
        b.push_str(
            "<p class=\"muted\">暂无工单。事件达到开启级别（默认 III 级）时会自动开启，也可以在事件页面人工开启。</p>",
        );
        return b;
    }
    b.push_str("<table><thead><tr><th>编号</th><th>级别</th><th>状态</th><th>工单</th><th>牵头单位</th><th>开启</th><th>更新</th></tr></thead><tbody>");
    for i in items {
        let _ = write!(
            b,
            "<tr><td>#{id}</td><td>{}</td><td>{}{}</td><td><a href=\"/incidents/{id}\">{}</a></td><td>{}</td><td class=\"muted\">{}</td><td class=\"muted\">{}</td></tr>",
            grade_badge(Some(i.grade)).into_string(),
            state_badge(i.state),
            super::false_alarm::badge(i.false_alarm),
            esc(&i.title),
            esc(i.lead_department.as_deref().unwrap_or("（未指派）")),
            fmt_time(&i.opened_at),
            fmt_time(&i.updated_at),
            id = i.id
        );
    }
    b.push_str("</tbody></table>");
    b
}

fn hidden(csrf: &str, action: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"_csrf\" value=\"{}\"><input type=\"hidden\" name=\"action\" value=\"{action}\">",
        esc(csrf)
    )
}

fn form(id: i64, csrf: &str, action: &str, inner: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/incidents/{id}/act\" class=\"act\">{}{inner}<button type=\"submit\">{}</button></form>",
        hidden(csrf, action),
        esc(button)
    )
}

fn diff_html(parts: &[DiffPart]) -> String {
    let mut s = String::new();
    for p in parts {
        match p {
            DiffPart::Same(t) => s.push_str(&esc(t)),
            DiffPart::Added(t) => {
                let _ = write!(s, "<ins>{}</ins>", esc(t));
            }
            DiffPart::Removed(t) => {
                let _ = write!(s, "<del>{}</del>", esc(t));
            }
        }
    }
    s
}

/// One incident, for `user`, at `now`.
pub fn render_incident(
    inc: &Incident,
    timeline: &[TimelineEntry],
    briefs: &[(i64, Brief)],
    user: &User,
    csrf: &str,
    now: DateTime<Utc>,
) -> String {
    let id = inc.id;
    let mut b = String::new();
    let _ = write!(
        b,
        "<h2>处置工单 #{id} {}</h2><p>{} {} <span class=\"reason\">{}</span></p>",
        esc(&inc.title),
        grade_badge(Some(inc.grade)).into_string(),
        state_badge(inc.state),
        esc(&inc.grade_reason)
    );
    let _ = write!(
        b,
        "<p>牵头单位：<b>{}</b>　配合单位：{}　关联事件：{}</p>",
        esc(inc.lead_department.as_deref().unwrap_or("（未指派）")),
        if inc.cooperating.is_empty() { "无".to_string() } else { esc(&inc.cooperating.join("、")) },
        inc.stories.iter().map(|s| format!("<a href=\"/stories/{s}\">#{s}</a>")).collect::<Vec<_>>().join(" ")
    );
    b.push_str(&super::false_alarm::incident_line(inc.false_alarm.as_ref()));
    for (sid, brief) in briefs {
        let title = if briefs.len() > 1 { format!("研判摘要：事件 #{sid}") } else { "研判摘要".to_string() };
        b.push_str(&super::brief_html::render_brief(brief, &title, &|_| false));
    }

    // Clocks.
    b.push_str("<h3>时限</h3><table><thead><tr><th>事项</th><th>截止</th><th>状态</th></tr></thead><tbody>");
    for d in &inc.deadlines {
        let status = match d.met_at {
            Some(m) if m > d.due_at => format!("<span class=\"late\">超时完成（{}）</span>", fmt_time(&m)),
            Some(m) => format!("<span class=\"ok\">按时完成（{}）</span>", fmt_time(&m)),
            None if !inc.state.is_open() => "<span class=\"muted\">未完成（工单已办结）</span>".to_string(),
            None => {
                let (text, over) = countdown(d.due_at, now);
                format!(
                    "<span class=\"countdown{}\" data-due=\"{}\">{}</span>",
                    if over { " overdue" } else { "" },
                    d.due_at.timestamp(),
                    text
                )
            }
        };
        let _ = write!(b, "<tr><td>{}</td><td>{}</td><td>{status}</td></tr>", esc(&d.label), fmt_time(&d.due_at));
    }
    b.push_str("</tbody></table>");

    // The next steps.
    let actor = user.actor();
    let steps: Vec<Step> = allowed_steps(inc.state).into_iter().filter(|s| inc.may_take(&actor, *s)).collect();
    if !steps.is_empty() || inc.state.is_open() {
        b.push_str("<h3>办理</h3><div class=\"actions\">");
    }
    for step in &steps {
        match step {
            Step::Report => b.push_str(&form(
                id,
                csrf,
                "report",
                "<textarea name=\"summary\" required placeholder=\"首报情况摘要\"></textarea>",
                "上报",
            )),
            Step::StartVerification => b.push_str(&form(id, csrf, "start_verification", "", "开始核查")),
            Step::SubmitVerification => b.push_str(&form(
                id,
                csrf,
                "submit_verification",
                "<textarea name=\"findings\" required placeholder=\"核查结果（事实真相）\"></textarea>",
                "提交核查结果",
            )),
            Step::StartFollowUp => b.push_str(&form(id, csrf, "start_follow_up", "", "转入跟踪")),
            Step::Close => {
                b.push_str(&form(id, csrf, "close", "<input name=\"reason\" placeholder=\"办结说明\">", "办结"))
            }
            Step::Reopen => b.push_str(&form(
                id,
                csrf,
                "reopen",
                "<input name=\"reason\" required placeholder=\"重新打开的理由\">",
                "重新打开",
            )),
            Step::MarkFalseAlarm => b.push_str(&form(
                id,
                csrf,
                "mark_false_alarm",
                "<input name=\"reason\" required maxlength=\"500\" placeholder=\"误报理由（如：外省事件，非本地）\">",
                "标记误报",
            )),
            // Statement steps are offered next to the statement they concern.
            Step::SubmitForApproval | Step::Approve | Step::Reject | Step::Publish => {}
        }
    }
    if inc.state.is_open() && permission::may_open_incidents(user.role) {
        b.push_str(&form(
            id,
            csrf,
            "report_to_leadership",
            "<input name=\"summary\" required placeholder=\"报告领导的内容\">",
            "报告领导",
        ));
    }
    if inc.state.is_open() && permission::may_work(user.role) {
        b.push_str(&form(id, csrf, "add_note", "<input name=\"text\" required placeholder=\"备注\">", "添加备注"));
    }
    if !steps.is_empty() || inc.state.is_open() {
        b.push_str("</div>");
    }

    // Tasks.
    b.push_str(
        "<h3>任务</h3><table><thead><tr><th>任务</th><th>承办</th><th>截止</th><th>完成</th></tr></thead><tbody>",
    );
    for t in &inc.tasks {
        let done = match (&t.done_at, &t.done_by) {
            (Some(at), by) => format!("{}（{}）", fmt_time(at), esc(by.as_deref().unwrap_or(""))),
            (None, _) if inc.state.is_open() && permission::may_work(user.role) => form(
                id,
                csrf,
                "complete_task",
                &format!("<input type=\"hidden\" name=\"task\" value=\"{}\">", t.id),
                "完成",
            ),
            (None, _) => "未完成".into(),
        };
        let due = t.due_at.map(|d| {
            let over = t.done_at.is_none() && d < now;
            format!("<span class=\"{}\">{}</span>", if over { "late" } else { "" }, fmt_time(&d))
        });
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{done}</td></tr>",
            esc(&t.title),
            esc(t.owner.as_deref().unwrap_or("")),
            due.unwrap_or_default()
        );
    }
    b.push_str("</tbody></table>");

    // Statements.
    b.push_str("<h3>口径</h3>");
    let lead = inc.lead_department.as_deref();
    for s in &inc.statements {
        let v = s.latest();
        let _ = write!(
            b,
            "<div class=\"statement\"><h4>口径 {} 《{}》 <span class=\"state\">{}</span> 第 {} 版</h4><blockquote>{}</blockquote>",
            s.id,
            esc(&s.title),
            s.status.label_zh(),
            v.number,
            esc(&v.text)
        );
        if s.versions.len() > 1 {
            let prev = &s.versions[s.versions.len() - 2];
            let _ = write!(
                b,
                "<details><summary>与第 {} 版的差异</summary><p class=\"diff\">{}</p></details>",
                prev.number,
                diff_html(&diff(&prev.text, &v.text))
            );
        }
        if !s.chain.is_empty() {
            let chain: Vec<String> = s
                .chain
                .iter()
                .map(|l| {
                    let signed = s.approvals[s.round_start..].iter().any(|a| a.link == *l && a.approved);
                    format!("{}{}", l.label_zh(), if signed { " ✓" } else { "" })
                })
                .collect();
            let _ = write!(b, "<p class=\"muted\">审批链：{}</p>", chain.join(" → "));
        }
        for a in s.approvals.iter().filter(|a| !a.approved) {
            let _ = write!(
                b,
                "<p class=\"late\">第 {} 版被{}退回：{}</p>",
                a.version,
                a.link.label_zh(),
                esc(a.comment.as_deref().unwrap_or(""))
            );
        }
        match s.status {
            StatementStatus::InApproval => {
                if let Some(link) = s.next_link() {
                    if link.qualifies(&user.actor(), lead) {
                        let sid = format!("<input type=\"hidden\" name=\"statement\" value=\"{}\">", s.id);
                        b.push_str(&form(id, csrf, "approve", &sid, &format!("审批通过（{}）", link.label_zh())));
                        b.push_str(&form(
                            id,
                            csrf,
                            "reject",
                            &format!("{sid}<input name=\"comment\" required placeholder=\"退回意见\">"),
                            "退回修改",
                        ));
                    } else {
                        let _ = write!(b, "<p class=\"muted\">等待{}审批</p>", approval_label(link));
                    }
                }
            }
            StatementStatus::Draft | StatementStatus::Rejected
                if inc.state.is_open() && permission::may_work(user.role) =>
            {
                let sid = format!("<input type=\"hidden\" name=\"statement\" value=\"{}\">", s.id);
                b.push_str(&form(
                    id,
                    csrf,
                    "draft_statement",
                    &format!("{sid}<textarea name=\"text\" required>{}</textarea>", esc(&v.text)),
                    "保存新版本",
                ));
                if s.status == StatementStatus::Draft {
                    b.push_str(&form(id, csrf, "submit_for_approval", &sid, "提交审批"));
                }
            }
            StatementStatus::Approved if permission::may_publish(user.role) && inc.state.is_open() => {
                let sid = format!("<input type=\"hidden\" name=\"statement\" value=\"{}\">", s.id);
                let channels = ["官网", "政务微博", "微信公众号", "新闻发布会", "媒体采访", "官方回复"]
                    .iter()
                    .map(|c| format!("<option>{c}</option>"))
                    .collect::<String>();
                b.push_str(&form(
                    id,
                    csrf,
                    "publish",
                    &format!("{sid}<select name=\"channel\">{channels}</select><input name=\"url\" placeholder=\"发布链接\"><input name=\"spokesperson\" placeholder=\"发言人（默认按级别）\">"),
                    "登记发布",
                ));
            }
            _ => {}
        }
        b.push_str("</div>");
    }
    if inc.state.is_open() && permission::may_draft_statements(user.role) {
        b.push_str(&form(id, csrf, "draft_statement", "<input name=\"title\" placeholder=\"口径标题\"><textarea name=\"text\" required placeholder=\"口径正文\"></textarea>", "起草新口径"));
    }

    // Publications.
    if !inc.publications.is_empty() {
        b.push_str("<h3>发布记录</h3><table><thead><tr><th>时间</th><th>渠道</th><th>口径</th><th>发言人</th><th>链接</th></tr></thead><tbody>");
        for p in &inc.publications {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>口径 {} 第 {} 版</td><td>{}</td><td>{}</td></tr>",
                fmt_time(&p.at),
                esc(p.channel.label_zh()),
                p.statement,
                p.version,
                esc(&p.spokesperson),
                p.url.as_deref().map(|u| crate::html::external_link(u, None).into_string()).unwrap_or_default()
            );
        }
        b.push_str("</tbody></table>");
    }

    // Review.
    let times = inc.review_times(now);
    let fmt = |s: Option<i64>| s.map(crate::web::incident_pages::span).unwrap_or_else(|| "—".into());
    b.push_str("<h3>总结评估</h3><table><tbody>");
    for (label, v) in [
        ("发现（首帖 → 事件）", times.detect),
        ("预警", times.alert),
        ("确认预警", times.acknowledge),
        ("首报", times.report),
        ("核查", times.verify),
        ("公开回应", times.respond),
        ("办结", times.close),
    ] {
        let _ = write!(b, "<tr><td>{label}</td><td>{}</td></tr>", fmt(v));
    }
    let _ = write!(b, "<tr><td>超时</td><td>{} 项</td></tr></tbody></table>", times.overdue);
    match &inc.review {
        Some(r) => {
            let _ = write!(b, "<p>经验教训（{}，{}）：{}</p>", esc(&r.by), fmt_time(&r.at), esc(&r.lessons));
        }
        None if matches!(inc.state, IncidentState::FollowUp | IncidentState::Closed)
            && permission::may_open_incidents(user.role) =>
        {
            b.push_str(&form(
                id,
                csrf,
                "submit_review",
                "<textarea name=\"lessons\" required placeholder=\"经验教训\"></textarea>",
                "提交总结评估",
            ));
        }
        None => {}
    }

    // Timeline.
    b.push_str("<h3>时间线</h3><ol class=\"timeline\">");
    for e in timeline {
        let _ = write!(
            b,
            "<li><span class=\"muted\">{} · {}</span> {}</li>",
            fmt_time(&e.at),
            esc(&e.actor),
            esc(&e.summary)
        );
    }
    b.push_str("</ol>");
    b
}

fn approval_label(l: ApprovalLink) -> &'static str {
    l.label_zh()
}

/// "1 小时 5 分".
pub fn span(secs: i64) -> String {
    let s = secs.max(0);
    if s >= 86_400 {
        format!("{} 天 {} 小时", s / 86_400, s % 86_400 / 3600)
    } else if s >= 3600 {
        format!("{} 小时 {} 分", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{} 分", s / 60)
    } else {
        format!("{s} 秒")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use yuqing_core::incident::{Command, DeadlinePolicy, Opening, RouteMatch};
    use yuqing_core::people::{Actor, Role, Title};
    use yuqing_core::Grade;

    fn user(name: &str, role: Role, dept: Option<&str>, titles: Vec<Title>) -> User {
        User {
            id: 1,
            name: name.into(),
            display_name: name.into(),
            role,
            department: dept.map(Into::into),
            titles,
            phone: None,
            email: None,
            channels: vec![],
            active: true,
            created_at: Utc::now(),
        }
    }

    fn incident() -> Incident {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap();
        let o = Opening {
            id: 3,
            title: "医院<排队>".into(),
            stories: vec![9],
            grade: Grade::III,
            grade_reason: "帖文 120 条".into(),
            first_post_at: None,
            alert: Some((1, t0)),
            routes: vec![RouteMatch { department: "卫健委".into(), because: "x".into() }],
        };
        Incident::open(o, &DeadlinePolicy::default(), &Actor::system(), t0).0
    }

    #[test]
    fn countdown_turns_red_when_overdue() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap();
        assert_eq!(countdown(now + Duration::minutes(80), now), ("还剩 1 小时 20 分".to_string(), false));
        assert_eq!(countdown(now - Duration::minutes(35), now), ("已超时 35 分".to_string(), true));
    }

    #[test]
    fn the_page_escapes_titles_and_offers_only_the_users_steps() {
        let mut inc = incident();
        let now = inc.opened_at + Duration::hours(1);
        let officer = user("xinxi", Role::Officer, None, vec![]);
        let html = render_incident(&inc, &[], &[], &officer, "tok", now);
        assert!(html.contains("医院&lt;排队&gt;") && !html.contains("医院<排队>"));
        assert!(html.contains("value=\"report\""), "the officer may report");
        assert!(html.contains("countdown overdue"), "the first report is overdue an hour in");
        let viewer = user("kan", Role::Viewer, None, vec![]);
        assert!(!render_incident(&inc, &[], &[], &viewer, "tok", now).contains("<form"), "a viewer gets no forms");

        let member = user("wj", Role::DepartmentMember, Some("卫健委"), vec![]);
        let head = user("wjh", Role::DepartmentMember, Some("卫健委"), vec![Title::DepartmentHead]);
        let office = Actor {
            name: "o".into(),
            display_name: "o".into(),
            role: Role::Coordinator,
            department: None,
            titles: vec![],
        };
        for cmd in [
            Command::Report { summary: "s".into() },
            Command::StartVerification,
            Command::SubmitVerification { findings: "f".into() },
            Command::DraftStatement { statement: None, title: None, text: "初稿".into() },
        ] {
            inc.apply(&office, cmd, now).unwrap();
        }
        inc.apply(&office, Command::DraftStatement { statement: Some(1), title: None, text: "二稿".into() }, now)
            .unwrap();
        inc.apply(&office, Command::SubmitForApproval { statement: 1 }, now).unwrap();
        let html = render_incident(&inc, &[], &[], &head, "tok", now);
        assert!(html.contains("审批通过（责任单位负责人）"), "the head signs first");
        assert!(html.contains("<del>初</del><ins>二</ins>"), "the diff is shown: {html}");
        let html = render_incident(&inc, &[], &[], &member, "tok", now);
        assert!(!html.contains("value=\"approve\"") && html.contains("等待责任单位负责人审批"));
    }
}
