//! Tests of the incident aggregate: the whole path with its clocks, who may do what, refusals
//! that change nothing, and a grade change in the middle of a clock.

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::people::{Actor, Role, Title};

fn t0() -> DateTime<Utc> {
    // 2026-11-20 10:00 China time.
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}
fn mins(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}
fn person(name: &str, role: Role, dept: Option<&str>, titles: &[Title]) -> Actor {
    Actor {
        name: name.into(),
        display_name: name.into(),
        role,
        department: dept.map(Into::into),
        titles: titles.to_vec(),
    }
}
fn officer() -> Actor {
    person("xinxi", Role::Officer, None, &[])
}
fn office() -> Actor {
    person("bangongshi", Role::Coordinator, Some("办公室"), &[Title::OfficeDirector])
}
fn member() -> Actor {
    person("weijian", Role::DepartmentMember, Some("卫健委"), &[])
}
fn head() -> Actor {
    person("weijian-head", Role::DepartmentMember, Some("卫健委"), &[Title::DepartmentHead])
}
fn approver() -> Actor {
    person("fenguan", Role::Approver, None, &[])
}
fn leader() -> Actor {
    person("zuzhang", Role::Approver, None, &[Title::GroupLeader])
}

fn open(grade: Grade) -> Incident {
    let o = Opening {
        id: 1,
        title: "某医院排队过长".into(),
        stories: vec![7],
        grade,
        grade_reason: "帖文 120 条".into(),
        first_post_at: Some(t0() - Duration::hours(3)),
        alert: Some((3, t0())),
        routes: vec![RouteMatch { department: "卫健委".into(), because: "领域“医疗”".into() }],
    };
    Incident::open(o, &DeadlinePolicy::default(), &Actor::system(), t0()).0
}

fn ok(inc: &mut Incident, who: &Actor, cmd: Command, at: DateTime<Utc>) -> Vec<Event> {
    match inc.apply(who, cmd.clone(), at) {
        Ok(ev) => ev,
        Err(e) => panic!("{cmd:?} by {} refused: {e}", who.name),
    }
}

fn publish(statement: u32, timetable: Vec<TimetableNode>, answers_node: Option<u32>) -> Command {
    Command::Publish {
        statement,
        channel: Channel::Weibo,
        url: Some("https://weibo.example/1".into()),
        at: None,
        spokesperson: "办公室主任".into(),
        timetable,
        answers_node,
    }
}

/// Drives an incident to `state` by the normal path (grade III unless given).
fn at_state(state: IncidentState, grade: Grade) -> Incident {
    let mut inc = open(grade);
    let path: Vec<(Actor, Command)> = vec![
        (officer(), Command::Report { summary: "网民反映排队过长".into() }),
        (member(), Command::StartVerification),
        (member(), Command::SubmitVerification { findings: "属实".into() }),
        (member(), Command::DraftStatement { statement: None, title: None, text: "经核查……".into() }),
        (member(), Command::SubmitForApproval { statement: 1 }),
    ];
    let mut m = 1;
    for (who, cmd) in path {
        if inc.state == state {
            return inc;
        }
        ok(&mut inc, &who, cmd, mins(m));
        m += 1;
    }
    if inc.state == state {
        return inc;
    }
    let mut chain = vec![head(), approver(), office()];
    if grade >= Grade::II {
        chain.push(leader());
    }
    for who in chain {
        ok(&mut inc, &who, Command::Approve { statement: 1, comment: None }, mins(m));
        m += 1;
    }
    if inc.state == state {
        return inc;
    }
    ok(&mut inc, &office(), publish(1, vec![], None), mins(m));
    if inc.state == state {
        return inc;
    }
    ok(&mut inc, &office(), Command::StartFollowUp, mins(m + 1));
    if inc.state == state {
        return inc;
    }
    if grade >= Grade::II {
        ok(&mut inc, &office(), Command::SubmitReview { lessons: "响应及时".into() }, mins(m + 2));
    }
    ok(&mut inc, &office(), Command::Close { reason: None }, mins(m + 3));
    assert_eq!(inc.state, state);
    inc
}

/// One command of each kind, as the coordinator would send it.
fn every_command() -> Vec<Command> {
    vec![
        Command::Report { summary: "摘要".into() },
        Command::ReportToLeadership { summary: "已报告".into() },
        Command::StartVerification,
        Command::SubmitVerification { findings: "属实".into() },
        Command::Assign { department: "教育局".into(), reason: None },
        Command::ReassignLead { department: "市场监管局".into(), reason: "职责调整".into() },
        Command::AddNote { text: "备注".into() },
        Command::AddAttachment { name: "a.png".into(), sha256: "a".repeat(64), size: 3 },
        Command::AddTask { title: "联系当事人".into(), owner: None, due_at: None },
        Command::CompleteTask { task: 2, note: None },
        Command::DraftStatement { statement: None, title: None, text: "新口径".into() },
        Command::SubmitForApproval { statement: 1 },
        Command::Approve { statement: 1, comment: None },
        Command::Reject { statement: 1, comment: "改".into() },
        publish(1, vec![], None),
        Command::StartFollowUp,
        Command::SubmitReview { lessons: "总结".into() },
        Command::Close { reason: Some("办结".into()) },
        Command::Reopen { reason: "再起".into() },
    ]
}

#[test]
fn every_state_times_every_command_follows_the_state_machine() {
    let mut checked = 0;
    for state in IncidentState::ALL {
        for cmd in every_command() {
            let mut inc = at_state(state, Grade::III);
            let before = inc.clone();
            // The one who may sign the current link, so that only the state decides.
            let who = match &cmd {
                Command::Approve { .. } | Command::Reject { .. } => head(),
                _ => office(),
            };
            let got = inc.apply(&who, cmd.clone(), mins(100));
            match cmd.step() {
                Some(step) => {
                    let legal = state::transition(state, step).is_some();
                    match &got {
                        Ok(_) => assert!(legal, "{state:?} × {cmd:?} was accepted"),
                        Err(IncidentError::Illegal(e)) => {
                            assert!(!legal, "{state:?} × {cmd:?}: {e}");
                            assert_eq!(e.state, state);
                        }
                        Err(other) => assert!(legal, "{state:?} × {cmd:?}: {other}"),
                    }
                    if got.is_ok() {
                        assert_eq!(Some(inc.state), state::transition(state, step));
                    }
                }
                None => {
                    if state == IncidentState::Closed
                        && !matches!(
                            cmd,
                            Command::AddNote { .. } | Command::AddAttachment { .. } | Command::SubmitReview { .. }
                        )
                    {
                        assert!(got.is_err(), "{cmd:?} on a closed incident");
                    }
                    if got.is_ok() {
                        assert_eq!(inc.state, state, "{cmd:?} must not move the state");
                    }
                }
            }
            if got.is_err() {
                assert_eq!(inc, before, "a refused {cmd:?} changed the incident in {state:?}");
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 8 * 19);
}

#[test]
fn the_whole_path_meets_its_clocks_and_measures_them() {
    let mut inc = open(Grade::II);
    assert_eq!(inc.lead_department.as_deref(), Some("卫健委"));
    assert_eq!(inc.tasks.len(), 5);
    assert!(inc.tasks.iter().all(|t| t.owner.as_deref() == Some("卫健委")));
    ok(&mut inc, &officer(), Command::Report { summary: "首报".into() }, mins(20));
    ok(&mut inc, &office(), Command::ReportToLeadership { summary: "已报分管领导".into() }, mins(50));
    ok(&mut inc, &member(), Command::StartVerification, mins(21));
    ok(&mut inc, &member(), Command::SubmitVerification { findings: "情况属实，已整改".into() }, mins(45));
    ok(&mut inc, &member(), Command::DraftStatement { statement: None, title: None, text: "初稿".into() }, mins(60));
    ok(&mut inc, &member(), Command::SubmitForApproval { statement: 1 }, mins(61));
    ok(&mut inc, &head(), Command::Reject { statement: 1, comment: "补充整改措施".into() }, mins(62));
    assert_eq!(inc.state, IncidentState::Handling);
    ok(
        &mut inc,
        &member(),
        Command::DraftStatement { statement: Some(1), title: None, text: "二稿：已整改".into() },
        mins(70),
    );
    ok(&mut inc, &member(), Command::SubmitForApproval { statement: 1 }, mins(71));
    for who in [head(), approver(), office(), leader()] {
        ok(&mut inc, &who, Command::Approve { statement: 1, comment: None }, mins(80));
    }
    assert_eq!(inc.statements[0].status, StatementStatus::Approved);
    let node = TimetableNode { label: "完成排队系统改造".into(), due_at: mins(60 * 24 * 3) };
    ok(&mut inc, &office(), publish(1, vec![node], None), mins(90));
    assert_eq!(inc.state, IncidentState::Responded);
    ok(&mut inc, &office(), Command::StartFollowUp, mins(100));
    // Closing needs the review (grade II) and the timetable node answered.
    let e = inc.apply(&office(), Command::Close { reason: None }, mins(110)).unwrap_err();
    assert!(e.to_string().contains("总结评估"), "{e}");
    ok(&mut inc, &office(), Command::SubmitReview { lessons: "首报及时".into() }, mins(120));
    let e = inc.apply(&office(), Command::Close { reason: None }, mins(130)).unwrap_err();
    assert!(e.to_string().contains("完成排队系统改造"), "{e}");
    ok(
        &mut inc,
        &member(),
        Command::DraftStatement { statement: None, title: Some("进展通报".into()), text: "改造完成".into() },
        mins(2000),
    );
    ok(&mut inc, &member(), Command::SubmitForApproval { statement: 2 }, mins(2001));
    // Statement 2 goes through its own chain while the incident stays in follow-up.
    assert_eq!(inc.state, IncidentState::FollowUp);
    for who in [head(), approver(), office(), leader()] {
        ok(&mut inc, &who, Command::Approve { statement: 2, comment: None }, mins(2002));
    }
    ok(&mut inc, &office(), publish(2, vec![], Some(0)), mins(2010));
    ok(&mut inc, &office(), Command::Close { reason: None }, mins(2020));
    assert_eq!(inc.state, IncidentState::Closed);
    let times = inc.review.as_ref().unwrap().times.clone();
    assert_eq!(times.detect, Some(3 * 3600));
    assert_eq!(times.report, Some(20 * 60));
    assert_eq!(times.verify, Some(25 * 60));
    assert_eq!(times.respond, Some(90 * 60));
    assert_eq!(times.close, Some(2020 * 60));
    // Leadership report for II is 2 h: met at 50 min. Verification for II is 30 min from the
    // report (20 → 50): met at 45. All clocks met in time.
    assert!(inc.deadlines.iter().all(|d| d.is_met() && !d.is_late(mins(3000))), "{:#?}", inc.deadlines);
    assert_eq!(times.overdue, 0);
}

#[test]
fn a_grade_rise_in_the_middle_of_a_clock_moves_it_and_may_make_it_overdue() {
    let mut inc = open(Grade::III);
    ok(&mut inc, &officer(), Command::Report { summary: "首报".into() }, mins(10));
    let verification = inc.deadlines.iter().position(|d| d.kind == DeadlineKind::Verification).unwrap();
    assert_eq!(inc.deadlines[verification].due_at, mins(10 + 120));
    // 75 % of 2 h after 10 min is 100 min.
    assert_eq!(inc.due_escalations(mins(100)), vec![(verification, Escalation::Remind)]);
    // At 45 min the story rises to II: verification is due 30 min after the report, at 40 — past.
    let ev = inc.regrade(Grade::II, "中央媒体报道".into(), mins(45));
    assert!(ev.iter().any(|e| matches!(&e.kind, EventKind::DeadlineMoved { deadline: DeadlineKind::Verification, to, .. } if *to == mins(40))));
    assert!(ev.iter().any(|e| matches!(e.kind, EventKind::GradeChanged { from: Grade::III, to: Grade::II, .. })));
    let due = inc.due_escalations(mins(45));
    assert!(due.contains(&(verification, Escalation::Overdue)), "{due:?}");
    // The public response clock (from detection) shrinks from 24 h to 12 h.
    let resp = inc.deadlines.iter().find(|d| d.kind == DeadlineKind::PublicResponse).unwrap();
    assert_eq!(resp.due_at, t0() + Duration::hours(12));
    inc.record_escalation(verification, Escalation::Overdue, vec!["fenguan".into()], mins(45));
    assert!(inc.due_escalations(mins(50)).iter().all(|(i, _)| *i != verification));
    assert_eq!(inc.review_times(mins(50)).overdue, 1);
}

#[test]
fn a_grade_drop_gives_more_time_and_rearms_the_reminder() {
    let mut inc = open(Grade::II);
    let resp = inc.deadlines.iter().position(|d| d.kind == DeadlineKind::PublicResponse).unwrap();
    inc.record_escalation(resp, Escalation::Remind, vec!["x".into()], mins(9 * 60 + 1));
    inc.regrade(Grade::III, "人工调整".into(), mins(9 * 60 + 2));
    assert_eq!(inc.deadlines[resp].due_at, t0() + Duration::hours(24));
    assert!(!inc.deadlines[resp].reminded);
}

#[test]
fn department_members_act_only_on_their_own_departments_incidents() {
    let mut inc = at_state(IncidentState::Reported, Grade::III);
    let stranger = person("jiaoyu", Role::DepartmentMember, Some("教育局"), &[]);
    let e = inc.apply(&stranger, Command::StartVerification, mins(30)).unwrap_err();
    assert!(matches!(e, IncidentError::Forbidden { .. }), "{e}");
    // Publishing is the office's: a member may not, even on its own incident.
    let mut inc = at_state(IncidentState::AwaitingApproval, Grade::III);
    for who in [head(), approver(), office()] {
        ok(&mut inc, &who, Command::Approve { statement: 1, comment: None }, mins(40));
    }
    assert!(matches!(inc.apply(&member(), publish(1, vec![], None), mins(41)), Err(IncidentError::Forbidden { .. })));
    let viewer = person("kan", Role::Viewer, None, &[]);
    assert!(matches!(
        inc.apply(&viewer, Command::AddNote { text: "x".into() }, mins(41)),
        Err(IncidentError::Forbidden { .. })
    ));
}

#[test]
fn a_units_officer_acts_only_on_its_units_incidents_and_the_offices_officer_on_all() {
    let inc = at_state(IncidentState::Reported, Grade::III);
    let units_officer = person("jiaoyu-xinxi", Role::Officer, Some("教育局"), &[]);
    let note = || Command::AddNote { text: "补充情况".into() };
    assert!(matches!(inc.clone().apply(&units_officer, note(), mins(1)), Err(IncidentError::Forbidden { .. })));
    assert!(
        inc.clone().apply(&officer(), note(), mins(1)).is_ok(),
        "the office's officer has no department and sees all"
    );
    let own = person("weijian-xinxi", Role::Officer, Some("卫健委"), &[]);
    assert!(inc.clone().apply(&own, note(), mins(1)).is_ok(), "卫健委 leads this incident");
}

#[test]
fn the_buttons_offered_follow_the_same_rule_as_the_refusals() {
    let inc = at_state(IncidentState::Reported, Grade::III);
    let stranger = person("jiaoyu", Role::DepartmentMember, Some("教育局"), &[]);
    assert!(inc.may_take(&member(), Step::StartVerification));
    assert!(!inc.may_take(&stranger, Step::StartVerification), "another department's member");
    assert!(!inc.may_take(&member(), Step::Publish) && inc.may_take(&office(), Step::Publish));
    assert!(!inc.may_take(&approver(), Step::Report) && inc.may_take(&officer(), Step::Report));
    // Every role × step: offered exactly when the command would pass the permission check.
    for who in [member(), head(), approver(), office(), officer(), stranger.clone()] {
        for step in Step::ALL {
            let mut copy = inc.clone();
            let offered = inc.may_take(&who, step);
            if !offered {
                let cmd = match step {
                    Step::StartVerification => Command::StartVerification,
                    Step::StartFollowUp => Command::StartFollowUp,
                    _ => continue,
                };
                assert!(
                    matches!(copy.apply(&who, cmd, mins(1)), Err(IncidentError::Forbidden { .. })),
                    "{step:?} for {}",
                    who.name
                );
            }
        }
    }
}

#[test]
fn first_assigned_department_stays_lead_unless_the_coordinator_reassigns_with_a_reason() {
    let mut inc = open(Grade::III);
    ok(&mut inc, &officer(), Command::Assign { department: "教育局".into(), reason: None }, mins(1));
    assert_eq!(inc.lead_department.as_deref(), Some("卫健委"));
    assert_eq!(inc.cooperating, vec!["教育局".to_string()]);
    let e = inc.apply(&officer(), Command::ReassignLead { department: "教育局".into(), reason: "x".into() }, mins(2));
    assert!(matches!(e, Err(IncidentError::Forbidden { .. })));
    assert!(inc
        .apply(&office(), Command::ReassignLead { department: "教育局".into(), reason: " ".into() }, mins(2))
        .is_err());
    ok(&mut inc, &office(), Command::ReassignLead { department: "教育局".into(), reason: "属地调整".into() }, mins(3));
    assert_eq!(inc.lead_department.as_deref(), Some("教育局"));
    assert_eq!(inc.cooperating, vec!["卫健委".to_string()]);
    assert!(inc.tasks.iter().all(|t| t.owner.as_deref() == Some("教育局")));
}

#[test]
fn a_statement_cannot_be_published_before_it_is_approved() {
    let mut inc = at_state(IncidentState::AwaitingApproval, Grade::III);
    ok(&mut inc, &head(), Command::Approve { statement: 1, comment: None }, mins(40));
    let e = inc.apply(&office(), publish(1, vec![], None), mins(41)).unwrap_err();
    assert!(e.to_string().contains("尚未审定"), "{e}");
}

#[test]
fn closing_at_triage_needs_a_reason_and_reopening_restarts_the_clocks() {
    let mut inc = open(Grade::III);
    assert!(inc.apply(&office(), Command::Close { reason: None }, mins(5)).is_err());
    ok(&mut inc, &office(), Command::Close { reason: Some("经研判无需处置".into()) }, mins(5));
    assert!(inc.due_escalations(mins(600)).is_empty(), "a closed incident escalates nothing");
    let e =
        inc.apply(&office(), Command::AddTask { title: "x".into(), owner: None, due_at: None }, mins(6)).unwrap_err();
    assert!(e.to_string().contains("重新打开"));
    ok(&mut inc, &office(), Command::Reopen { reason: "舆情再起".into() }, mins(600));
    assert_eq!(inc.state, IncidentState::Triage);
    let first_reports: Vec<_> = inc.deadlines.iter().filter(|d| d.kind == DeadlineKind::FirstReport).collect();
    assert_eq!(first_reports.len(), 2);
    assert_eq!(first_reports[1].due_at, mins(630));
}

#[test]
fn late_first_report_is_recorded_as_late() {
    let mut inc = open(Grade::IV);
    let ev = ok(&mut inc, &officer(), Command::Report { summary: "首报".into() }, mins(45));
    assert!(ev
        .iter()
        .any(|e| matches!(e.kind, EventKind::DeadlineMet { deadline: DeadlineKind::FirstReport, late: true })));
    assert_eq!(inc.review_times(mins(45)).overdue, 1);
}

#[test]
fn every_event_has_a_summary_and_round_trips_through_json() {
    let inc = at_state(IncidentState::Closed, Grade::II);
    let json = serde_json::to_string(&inc).unwrap();
    let back: Incident = serde_json::from_str(&json).unwrap();
    assert_eq!(back, inc);
    let (_, events) = Incident::open(
        Opening {
            id: 2,
            title: "t".into(),
            stories: vec![1],
            grade: Grade::I,
            grade_reason: "r".into(),
            first_post_at: None,
            alert: None,
            routes: vec![],
        },
        &DeadlinePolicy::default(),
        &Actor::system(),
        t0(),
    );
    for e in events {
        assert!(!e.kind.summary_zh().is_empty());
        let back: Event = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}

#[test]
fn spokesperson_defaults_by_grade() {
    assert_eq!(spokesperson_title(Grade::I), Title::GroupLeader);
    assert_eq!(spokesperson_title(Grade::II), Title::OfficeDirector);
    assert_eq!(spokesperson_title(Grade::III), Title::DepartmentHead);
    assert_eq!(spokesperson_title(Grade::IV), Title::DepartmentHead);
}

#[test]
fn a_false_alarm_closes_with_its_reason_until_a_response_is_on_its_way() {
    // Before approval: the officer or the office marks it, with a reason; nothing else is needed
    // (no review, no follow-up), and reopening clears the mark.
    for state in [IncidentState::Triage, IncidentState::Reported, IncidentState::Verifying, IncidentState::Handling] {
        let mut inc = at_state(state, Grade::II);
        let refused = inc.clone().apply(&officer(), Command::MarkFalseAlarm { reason: "  ".into() }, mins(30));
        assert!(
            matches!(refused, Err(IncidentError::Precondition(ref m)) if m.contains("理由")),
            "{state:?}: {refused:?}"
        );
        assert!(
            matches!(
                inc.clone().apply(&member(), Command::MarkFalseAlarm { reason: "非本地".into() }, mins(30)),
                Err(IncidentError::Forbidden { .. })
            ),
            "a department member does not judge relevance"
        );
        let ev = ok(&mut inc, &officer(), Command::MarkFalseAlarm { reason: "河南的事，非本地".into() }, mins(30));
        assert_eq!(inc.state, IncidentState::Closed);
        assert_eq!(inc.closed_at, Some(mins(30)));
        let fa = inc.false_alarm.clone().expect("marked");
        assert_eq!((fa.reason.as_str(), fa.by.as_str()), ("河南的事，非本地", "xinxi"));
        assert!(ev.iter().any(|e| matches!(&e.kind, EventKind::StateChanged { step: Step::MarkFalseAlarm, note: Some(n), .. } if n.contains("河南"))));
        ok(&mut inc, &office(), Command::Reopen { reason: "本地也有人反映".into() }, mins(40));
        assert_eq!(inc.false_alarm, None);
    }
    // Once a statement is in approval or out, it is no false alarm: it closes the normal way.
    for state in [IncidentState::AwaitingApproval, IncidentState::Responded, IncidentState::FollowUp] {
        let mut inc = at_state(state, Grade::III);
        let e = inc.apply(&office(), Command::MarkFalseAlarm { reason: "无关".into() }, mins(90)).unwrap_err();
        assert!(e.to_string().contains("标记误报"), "{e}");
        assert_eq!(inc.false_alarm, None);
    }
}
