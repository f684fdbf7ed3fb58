//! 处置 pages: the incident queue and one incident with its clocks, tasks, statements (with the
//! diff between versions), approval buttons for whoever's turn it is, publications and the review.
//! Rendering is pure (data in, HTML out); forms post to `/incidents/{id}/act` with the CSRF token.

use chrono::{DateTime, Utc};
use maud::{html, Markup};
use yuqing_core::incident::{
    allowed_steps, diff, ApprovalLink, Deadline, DiffPart, Incident, IncidentState, Limit, Statement, StatementStatus,
    Step,
};
use yuqing_desk::permission;
use yuqing_store::desk::{IncidentSummary, TimelineEntry, User};
use yuqing_text::brief::Brief;

use crate::html::{csrf_field, external_link, fmt_day_end, fmt_time, grade_badge};

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

pub fn state_badge(s: IncidentState) -> Markup {
    let class = match s {
        IncidentState::Closed => "st-closed",
        IncidentState::Triage | IncidentState::Reported => "st-new",
        _ => "st-open",
    };
    html! { span class={ "state " (class) } { (s.label_zh()) } }
}

/// The queue: one row per incident, newest first.
pub fn render_list(items: &[IncidentSummary], total: u64, title: &str) -> Markup {
    html! {
        h2 { (title) }
        p.muted { "共 " (total) " 个工单" }
        @if items.is_empty() {
            p.muted { "暂无工单。事件达到开启级别（默认 III 级）时会自动开启，也可以在事件页面人工开启。" }
        } @else {
            table {
                thead { tr {
                    th { "编号" } th { "级别" } th { "状态" } th { "工单" } th { "牵头单位" } th { "开启" } th { "更新" }
                } }
                tbody { @for i in items {
                    tr {
                        td { "#" (i.id) }
                        td { (grade_badge(Some(i.grade))) }
                        td { (state_badge(i.state)) (super::false_alarm::badge(i.false_alarm)) }
                        td { a href={ "/incidents/" (i.id) } { (i.title) } }
                        td { (i.lead_department.as_deref().unwrap_or("（未指派）")) }
                        td.muted { (fmt_time(&i.opened_at)) }
                        td.muted { (fmt_time(&i.updated_at)) }
                    }
                } }
            }
        }
    }
}

/// A form of the incident page: its `action`, the fields `inner` and the button.
fn form(id: i64, csrf: &str, action: &str, inner: Markup, button: &str) -> Markup {
    html! {
        form method="post" action={ "/incidents/" (id) "/act" } class="act" {
            (csrf_field(csrf))
            input type="hidden" name="action" value=(action);
            (inner)
            button type="submit" { (button) }
        }
    }
}

/// The hidden field naming the statement a form concerns.
fn statement_field(statement: u32) -> Markup {
    html! { input type="hidden" name="statement" value=(statement); }
}

fn diff_html(parts: &[DiffPart]) -> Markup {
    html! {
        @for p in parts {
            @match p {
                DiffPart::Same(t) => (t),
                DiffPart::Added(t) => ins { (t) },
                DiffPart::Removed(t) => del { (t) },
            }
        }
    }
}

/// The deadline's state: met (in time or late), not met on a closed incident, or the countdown.
/// The due time as the incident's policy set it: a working-day or same-day limit ends at 24:00 of
/// a local day, shown as that day's "24:00" with the limit, and a note when the calendar has no
/// holiday notice for a year the clock crosses (those days were counted with plain weekends).
fn deadline_due(inc: &Incident, d: &Deadline) -> Markup {
    let limit = inc.policy.limit(d.kind, inc.grade);
    let day_end = matches!(limit, Some(Limit::SameDay | Limit::WorkingDays(_)));
    let shown = if day_end { fmt_day_end(&d.due_at) } else { fmt_time(&d.due_at) };
    let gaps = match limit {
        Some(Limit::WorkingDays(_)) => inc.policy.uncovered_years(d.started_at, d.due_at),
        _ => Vec::new(),
    };
    html! {
        (shown)
        @if let Some(Limit::WorkingDays(n)) = limit { span.muted { "（" (n) " 个工作日）" } }
        @if !gaps.is_empty() {
            br;
            span.muted.calendar-gap {
                "工作日日历未含 "
                (gaps.iter().map(|y| format!("{y} 年")).collect::<Vec<_>>().join("、"))
                "节假日安排，按周六、周日休息计算"
            }
        }
    }
}

fn deadline_status(met: Option<DateTime<Utc>>, due: DateTime<Utc>, open: bool, now: DateTime<Utc>) -> Markup {
    match met {
        Some(m) if m > due => html! { span.late { "超时完成（" (fmt_time(&m)) "）" } },
        Some(m) => html! { span.ok { "按时完成（" (fmt_time(&m)) "）" } },
        None if !open => html! { span.muted { "未完成（工单已办结）" } },
        None => {
            let (text, over) = countdown(due, now);
            html! { span.countdown.overdue[over] data-due=(due.timestamp()) { (text) } }
        }
    }
}

/// The form that takes a step of the incident (statement steps are offered by their statement).
fn step_form(step: Step, id: i64, csrf: &str) -> Option<Markup> {
    let f = |action, inner, button| Some(form(id, csrf, action, inner, button));
    match step {
        Step::Report => f("report", html! { textarea name="summary" required placeholder="首报情况摘要" {} }, "上报"),
        Step::StartVerification => f("start_verification", html! {}, "开始核查"),
        Step::SubmitVerification => f(
            "submit_verification",
            html! { textarea name="findings" required placeholder="核查结果（事实真相）" {} },
            "提交核查结果",
        ),
        Step::StartFollowUp => f("start_follow_up", html! {}, "转入跟踪"),
        Step::Close => f("close", html! { input name="reason" placeholder="办结说明"; }, "办结"),
        Step::Reopen => f("reopen", html! { input name="reason" required placeholder="重新打开的理由"; }, "重新打开"),
        Step::MarkFalseAlarm => f(
            "mark_false_alarm",
            html! { input name="reason" required maxlength="500" placeholder="误报理由（如：外省事件，非本地）"; },
            "标记误报",
        ),
        Step::SubmitForApproval | Step::Approve | Step::Reject | Step::Publish => None,
    }
}

/// One statement: its latest version, the diff with the one before, the approval chain and the
/// forms that are `user`'s to use.
fn statement_html(inc: &Incident, s: &Statement, user: &User, csrf: &str) -> Markup {
    let id = inc.id;
    let v = s.latest();
    let prev = s.versions.len().checked_sub(2).and_then(|i| s.versions.get(i));
    let chain: Vec<String> = s
        .chain
        .iter()
        .map(|l| {
            let signed = s.approvals.get(s.round_start..).unwrap_or(&[]).iter().any(|a| a.link == *l && a.approved);
            format!("{}{}", l.label_zh(), if signed { " ✓" } else { "" })
        })
        .collect();
    let may_work = inc.state.is_open() && permission::may_work(user.role);
    html! {
        div.statement {
            h4 { "口径 " (s.id) " 《" (s.title) "》 " span.state { (s.status.label_zh()) } " 第 " (v.number) " 版" }
            blockquote { (v.text) }
            @if let Some(prev) = prev {
                details {
                    summary { "与第 " (prev.number) " 版的差异" }
                    p.diff { (diff_html(&diff(&prev.text, &v.text))) }
                }
            }
            @if !chain.is_empty() {
                p.muted { "审批链：" (chain.join(" → ")) }
            }
            @for a in s.approvals.iter().filter(|a| !a.approved) {
                p.late { "第 " (a.version) " 版被" (a.link.label_zh()) "退回：" (a.comment.as_deref().unwrap_or("")) }
            }
            @match s.status {
                StatementStatus::InApproval => {
                    @if let Some(link) = s.next_link() {
                        @if link.qualifies(&user.actor(), inc.lead_department.as_deref()) {
                            (form(id, csrf, "approve", statement_field(s.id), &format!("审批通过（{}）", link.label_zh())))
                            (form(id, csrf, "reject", html! {
                                (statement_field(s.id))
                                input name="comment" required placeholder="退回意见";
                            }, "退回修改"))
                        } @else {
                            p.muted { "等待" (approval_label(link)) "审批" }
                        }
                    }
                }
                StatementStatus::Draft | StatementStatus::Rejected if may_work => {
                    (form(id, csrf, "draft_statement", html! {
                        (statement_field(s.id))
                        textarea name="text" required { (v.text) }
                    }, "保存新版本"))
                    @if s.status == StatementStatus::Draft {
                        (form(id, csrf, "submit_for_approval", statement_field(s.id), "提交审批"))
                    }
                }
                StatementStatus::Approved if permission::may_publish(user.role) && inc.state.is_open() => {
                    (form(id, csrf, "publish", html! {
                        (statement_field(s.id))
                        select name="channel" {
                            @for c in ["官网", "政务微博", "微信公众号", "新闻发布会", "媒体采访", "官方回复"] { option { (c) } }
                        }
                        input name="url" placeholder="发布链接";
                        input name="spokesperson" placeholder="发言人（默认按级别）";
                    }, "登记发布"))
                }
                _ => {}
            }
        }
    }
}

/// One incident, for `user`, at `now`.
pub fn render_incident(
    inc: &Incident,
    timeline: &[TimelineEntry],
    briefs: &[(i64, Brief)],
    user: &User,
    csrf: &str,
    now: DateTime<Utc>,
) -> Markup {
    let id = inc.id;
    let actor = user.actor();
    let steps: Vec<Step> = allowed_steps(inc.state).into_iter().filter(|s| inc.may_take(&actor, *s)).collect();
    let open = inc.state.is_open();
    let times = inc.review_times(now);
    let fmt = |s: Option<i64>| s.map(span).unwrap_or_else(|| "—".into());
    let review_rows = [
        ("发现（首帖 → 事件）", times.detect),
        ("预警", times.alert),
        ("确认预警", times.acknowledge),
        ("首报", times.report),
        ("核查", times.verify),
        ("公开回应", times.respond),
        ("办结", times.close),
    ];
    html! {
        h2 { "处置工单 #" (id) " " (inc.title) }
        p { (grade_badge(Some(inc.grade))) " " (state_badge(inc.state)) " " span.reason { (inc.grade_reason) } }
        p {
            "牵头单位：" b { (inc.lead_department.as_deref().unwrap_or("（未指派）")) }
            "　配合单位：" @if inc.cooperating.is_empty() { "无" } @else { (inc.cooperating.join("、")) }
            "　关联事件："
            @for (i, s) in inc.stories.iter().enumerate() {
                @if i > 0 { " " }
                a href={ "/stories/" (s) } { "#" (s) }
            }
        }
        (super::false_alarm::incident_line(inc.false_alarm.as_ref()))
        @for (sid, brief) in briefs {
            @let title = if briefs.len() > 1 { format!("研判摘要：事件 #{sid}") } else { "研判摘要".to_string() };
            (super::brief_html::render_brief(brief, &title, &|_| false))
        }

        h3 { "时限" }
        table {
            thead { tr { th { "事项" } th { "截止" } th { "状态" } } }
            tbody { @for d in &inc.deadlines {
                tr { td { (d.label) } td { (deadline_due(inc, d)) } td { (deadline_status(d.met_at, d.due_at, open, now)) } }
            } }
        }

        @if !steps.is_empty() || open {
            h3 { "办理" }
            div.actions {
                @for step in &steps { @if let Some(f) = step_form(*step, id, csrf) { (f) } }
                @if open && permission::may_open_incidents(user.role) {
                    (form(id, csrf, "report_to_leadership", html! {
                        input name="summary" required placeholder="报告领导的内容";
                    }, "报告领导"))
                }
                @if open && permission::may_work(user.role) {
                    (form(id, csrf, "add_note", html! { input name="text" required placeholder="备注"; }, "添加备注"))
                }
            }
        }

        h3 { "任务" }
        table {
            thead { tr { th { "任务" } th { "承办" } th { "截止" } th { "完成" } } }
            tbody { @for t in &inc.tasks {
                tr {
                    td { (t.title) }
                    td { (t.owner.as_deref().unwrap_or("")) }
                    td { @if let Some(d) = t.due_at {
                        span class=[(t.done_at.is_none() && d < now).then_some("late")] { (fmt_time(&d)) }
                    } }
                    td {
                        @match &t.done_at {
                            Some(at) => { (fmt_time(at)) "（" (t.done_by.as_deref().unwrap_or("")) "）" }
                            None if open && permission::may_work(user.role) => {
                                (form(id, csrf, "complete_task", html! {
                                    input type="hidden" name="task" value=(t.id);
                                }, "完成"))
                            }
                            None => "未完成",
                        }
                    }
                }
            } }
        }

        h3 { "口径" }
        @for s in &inc.statements { (statement_html(inc, s, user, csrf)) }
        @if open && permission::may_draft_statements(user.role) {
            (form(id, csrf, "draft_statement", html! {
                input name="title" placeholder="口径标题";
                textarea name="text" required placeholder="口径正文" {}
            }, "起草新口径"))
        }

        @if !inc.publications.is_empty() {
            h3 { "发布记录" }
            table {
                thead { tr { th { "时间" } th { "渠道" } th { "口径" } th { "发言人" } th { "链接" } } }
                tbody { @for p in &inc.publications {
                    tr {
                        td { (fmt_time(&p.at)) }
                        td { (p.channel.label_zh()) }
                        td { "口径 " (p.statement) " 第 " (p.version) " 版" }
                        td { (p.spokesperson) }
                        td { @if let Some(u) = p.url.as_deref() { (external_link(u, None)) } }
                    }
                } }
            }
        }

        h3 { "总结评估" }
        table { tbody {
            @for (label, v) in review_rows { tr { td { (label) } td { (fmt(v)) } } }
            tr { td { "超时" } td { (times.overdue) " 项" } }
        } }
        @match &inc.review {
            Some(r) => p { "经验教训（" (r.by) "，" (fmt_time(&r.at)) "）：" (r.lessons) },
            None if matches!(inc.state, IncidentState::FollowUp | IncidentState::Closed)
                && permission::may_open_incidents(user.role) =>
            {
                (form(id, csrf, "submit_review", html! {
                    textarea name="lessons" required placeholder="经验教训" {}
                }, "提交总结评估"))
            }
            None => {}
        }

        @if permission::may_make_reports(user.role) && !permission::own_department_only(user.role) {
            h3 { "专报" }
            form method="post" action="/reports/generate" class="act" {
                (csrf_field(csrf))
                input type="hidden" name="kind" value="special";
                input type="hidden" name="incident" value=(id);
                label {
                    "标题 "
                    input name="title" size="36" maxlength="60" placeholder="默认：关于“事件标题”的舆情专报";
                }
                button type="submit" { "生成专报" }
            }
        }

        h3 { "时间线" }
        ol.timeline {
            @for e in timeline {
                li { span.muted { (fmt_time(&e.at)) " · " (e.actor) } " " (e.summary) }
            }
        }
    }
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
    fn working_day_deadlines_show_their_due_day_at_24_00() {
        let t0 = Utc.with_ymd_and_hms(2026, 9, 25, 2, 0, 0).unwrap(); // Friday 10:00 in China
        let policy = DeadlinePolicy {
            public_response: yuqing_core::incident::deadline::PerGrade::all(Limit::WorkingDays(5)),
            ..Default::default()
        };
        let o = Opening {
            id: 4,
            title: "回应".into(),
            stories: vec![9],
            grade: Grade::III,
            grade_reason: "x".into(),
            first_post_at: None,
            alert: Some((1, t0)),
            routes: vec![],
        };
        let inc = Incident::open(o, &policy, &Actor::system(), t0).0;
        let officer = user("xinxi", Role::Officer, None, vec![]);
        let html = render_incident(&inc, &[], &[], &officer, "tok", t0).into_string();
        // 中秋 9/25–27 and 国庆 10/1–7 off: 9/28, 9/29, 9/30, 10/8, 10/9.
        assert!(html.contains("2026-10-09 24:00"), "{html}");
        assert!(html.contains("5 个工作日"));
        assert!(!html.contains("工作日日历未含"));

        // Reaching into a year without a notice says how it was counted.
        let t1 = Utc.with_ymd_and_hms(2026, 12, 28, 2, 0, 0).unwrap();
        let o = Opening { id: 5, alert: Some((2, t1)), ..inc_opening() };
        let inc = Incident::open(o, &policy, &Actor::system(), t1).0;
        let html = render_incident(&inc, &[], &[], &officer, "tok", t1).into_string();
        assert!(html.contains("2027-01-04 24:00"), "12/29, 12/30, 12/31, 1/1 (no 2027 notice), 1/4");
        assert!(html.contains("工作日日历未含 2027 年节假日安排，按周六、周日休息计算"), "{html}");
    }

    fn inc_opening() -> Opening {
        Opening {
            id: 0,
            title: "回应".into(),
            stories: vec![9],
            grade: Grade::III,
            grade_reason: "x".into(),
            first_post_at: None,
            alert: None,
            routes: vec![],
        }
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
        let html = render_incident(&inc, &[], &[], &officer, "tok", now).into_string();
        assert!(html.contains("医院&lt;排队&gt;") && !html.contains("医院<排队>"));
        assert!(html.contains("value=\"report\""), "the officer may report");
        assert!(html.contains("countdown overdue"), "the first report is overdue an hour in");
        assert!(
            html.contains("action=\"/reports/generate\"") && html.contains("name=\"title\" size=\"36\""),
            "the officer may make a 专报 and title it"
        );
        let viewer = user("kan", Role::Viewer, None, vec![]);
        assert!(
            !render_incident(&inc, &[], &[], &viewer, "tok", now).into_string().contains("<form"),
            "a viewer gets no forms"
        );

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
        let html = render_incident(&inc, &[], &[], &head, "tok", now).into_string();
        assert!(html.contains("审批通过（责任单位负责人）"), "the head signs first");
        assert!(html.contains("<del>初</del><ins>二</ins>"), "the diff is shown: {html}");
        let html = render_incident(&inc, &[], &[], &member, "tok", now).into_string();
        assert!(!html.contains("value=\"approve\"") && html.contains("等待责任单位负责人审批"));
        assert!(!html.contains("生成专报"), "a department member does not make 专报");
    }
}
