//! The desk's clock on a fake clock, through the real pipeline and store: an alert nobody
//! acknowledges goes to the on-duty leader at 10 minutes and the coordinator at 20; the first-report
//! clock reminds at 75 % and goes overdue at 100 %; a closed incident whose story rises again within
//! the follow-up window is reopened and re-graded.

use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use yuqing::config::Config;
use yuqing::pipeline::Pipeline;
use yuqing_core::duty::{DutyRole, DutyShift};
use yuqing_core::incident::{Command, IncidentState};
use yuqing_core::people::Role;
use yuqing_core::{PostInput, SourceTier};
use yuqing_desk::Desk;
use yuqing_store::desk::{self, NewUser};
use yuqing_store::outbox;

const CONFIG: &str = r#"
[[departments]]
name = "卫健委"

[[rules]]
name = "医院服务"
expr = "医院 & 排队"

[[routing]]
department = "卫健委"
rules = ["医院服务"]

[[channels]]
name = "值班通知"
kind = "webhook"
url = "http://127.0.0.1:9/never"

[desk]
open_grade = "IV"
default_channels = ["值班通知"]
"#;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

fn post(url: &str, source: &str, tier: SourceTier, at: DateTime<Utc>) -> PostInput {
    PostInput {
        source: Some(source.into()),
        url: Some(url.into()),
        text: Some("市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大".into()),
        published_at: Some(at.fixed_offset()),
        tier: Some(tier),
        ..Default::default()
    }
}

fn user(p: &Pipeline, name: &str, role: Role, dept: Option<&str>) {
    let u = NewUser {
        name: name.into(),
        display_name: name.into(),
        role: Some(role),
        department: dept.map(Into::into),
        ..Default::default()
    };
    desk::add_user(p.data().store.connection(), &u, &desk::token_hash(name), t0()).unwrap();
}

fn messages_to(p: &Pipeline, who: &str) -> Vec<String> {
    outbox::list(p.data().store.connection(), None, 500, 0)
        .unwrap()
        .into_iter()
        .filter(|m| m.dedup_key.as_deref().is_some_and(|k| k.contains(&format!(":{who}:"))))
        .map(|m| m.subject)
        .collect()
}

#[test]
fn unacknowledged_alerts_escalate_clocks_remind_then_go_overdue_and_closed_incidents_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(CONFIG, Path::new("yuqing.toml")).unwrap();
    let desk = Desk::new(config.desk.clone());
    let mut p = Pipeline::open(&dir.path().join("data"), config).unwrap();
    user(&p, "staff", Role::Officer, None);
    user(&p, "leader", Role::Approver, None);
    user(&p, "office", Role::Coordinator, None);
    user(&p, "member", Role::DepartmentMember, Some("卫健委"));
    let shifts = [
        DutyShift {
            person: "staff".into(),
            role: DutyRole::Staff,
            starts_at: t0() - Duration::hours(1),
            ends_at: t0() + Duration::hours(12),
        },
        DutyShift {
            person: "leader".into(),
            role: DutyRole::Leader,
            starts_at: t0() - Duration::hours(1),
            ends_at: t0() + Duration::hours(12),
        },
    ];
    desk::put_shifts(p.data().store.connection(), &shifts).unwrap();

    p.ingest(vec![(1, post("https://bbs.example/1", "本地论坛", SourceTier::Community, t0()))], t0()).unwrap();
    p.flush().unwrap();
    let rep = desk.tick(&p.data().store, t0() + Duration::minutes(1)).unwrap();
    assert_eq!(rep.opened.len(), 1, "{rep:?}");
    let id = rep.opened[0];
    assert_eq!(messages_to(&p, "staff").len(), 1, "the alert goes to the staff on duty");
    assert!(messages_to(&p, "leader").is_empty());

    assert_eq!(desk.tick(&p.data().store, t0() + Duration::minutes(9)).unwrap().ack_escalations, 0);
    assert_eq!(desk.tick(&p.data().store, t0() + Duration::minutes(10)).unwrap().ack_escalations, 1);
    assert!(messages_to(&p, "leader").iter().any(|s| s.contains("预警未确认")), "{:?}", messages_to(&p, "leader"));
    assert!(!messages_to(&p, "office").iter().any(|s| s.contains("预警未确认")));
    assert_eq!(desk.tick(&p.data().store, t0() + Duration::minutes(15)).unwrap().ack_escalations, 0);
    assert_eq!(desk.tick(&p.data().store, t0() + Duration::minutes(20)).unwrap().ack_escalations, 1);
    assert!(messages_to(&p, "office").iter().any(|s| s.contains("预警未确认")));
    assert_eq!(
        desk.tick(&p.data().store, t0() + Duration::minutes(21)).unwrap().ack_escalations,
        0,
        "two steps, then no more"
    );

    // The first report (30 min from detection at t0): reminder at 22.5 min, overdue at 30.
    assert_eq!(desk.tick(&p.data().store, t0() + Duration::minutes(22)).unwrap().reminders, 0);
    let rep = desk.tick(&p.data().store, t0() + Duration::minutes(23)).unwrap();
    assert_eq!((rep.reminders, rep.overdue), (1, 0), "{rep:?}");
    assert!(messages_to(&p, "staff").iter().any(|s| s.contains("时限提醒")));
    let rep = desk.tick(&p.data().store, t0() + Duration::minutes(30)).unwrap();
    assert_eq!(rep.overdue, 1, "{rep:?}");
    assert!(messages_to(&p, "leader").iter().any(|s| s.contains("【超时】")), "the approver hears of it");
    assert!(messages_to(&p, "office").iter().any(|s| s.contains("【超时】")), "and the coordinator");
    assert_eq!(desk.tick(&p.data().store, t0() + Duration::minutes(40)).unwrap().overdue, 0, "recorded once");
    let overdue = desk::overdue_records(p.data().store.connection(), 10, 0).unwrap();
    assert_eq!(overdue.total, 1);
    assert_eq!(overdue.items[0].deadline, "first_report");

    // Closed at triage as needing no action; then a central outlet reports it within the window.
    let office = desk::user_by_name(p.data().store.connection(), "office").unwrap().unwrap();
    desk.act(
        &p.data().store,
        &office,
        id,
        Command::Close { reason: Some("经研判无需处置".into()) },
        t0() + Duration::minutes(45),
    )
    .unwrap();
    let later = t0() + Duration::hours(2);
    p.ingest(vec![(2, post("https://people.example/2", "人民网", SourceTier::Central, later))], later).unwrap();
    p.flush().unwrap();
    let rep = desk.tick(&p.data().store, later + Duration::minutes(1)).unwrap();
    assert_eq!(rep.reopened, vec![id], "{rep:?}");
    assert!(rep.opened.is_empty());
    let inc = desk::incident(p.data().store.connection(), id).unwrap().unwrap();
    assert_eq!(inc.state, IncidentState::Triage);
    assert_eq!(inc.grade, yuqing_core::Grade::II);
    let kinds: Vec<&'static str> =
        desk::timeline(p.data().store.connection(), id).unwrap().iter().map(|e| e.kind.name()).collect();
    for k in ["opened", "ack_escalated", "reminder", "overdue", "reopened", "grade_changed", "heat_snapshot"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert!(desk::audit_verify(p.data().store.connection()).unwrap().is_ok());
}

/// The incident keeps the title it opened with; when its story's headline changes as posts come
/// in, the timeline says so at the next heat snapshot, once per change.
#[test]
fn a_story_headline_that_changes_is_on_the_incident_timeline_and_the_title_stays() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(CONFIG, Path::new("yuqing.toml")).unwrap();
    let desk = Desk::new(config.desk.clone());
    let mut p = Pipeline::open(&dir.path().join("data"), config).unwrap();
    user(&p, "office", Role::Coordinator, None);
    p.ingest(vec![(1, post("https://bbs.example/1", "本地论坛", SourceTier::Community, t0()))], t0()).unwrap();
    p.flush().unwrap();
    let rep = desk.tick(&p.data().store, t0() + Duration::minutes(1)).unwrap();
    let id = rep.opened[0];
    let opened_title = desk::incident(p.data().store.connection(), id).unwrap().unwrap().title;
    let retitled = |p: &Pipeline| -> Vec<String> {
        desk::timeline(p.data().store.connection(), id)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind.name() == "story_retitled")
            .map(|e| e.summary)
            .collect()
    };
    assert!(retitled(&p).is_empty());

    // Posts under the platform's hashtag for the matter: the story is now titled by it.
    let tagged: Vec<(usize, PostInput)> = (2..5)
        .map(|i| {
            let mut post = post(
                &format!("https://weibo.example/{i}"),
                "微博",
                SourceTier::Community,
                t0() + Duration::minutes(5 * i as i64),
            );
            post.text = Some(format!("#市第一医院挂号排队三小时#{}", post.text.unwrap_or_default()));
            (i, post)
        })
        .collect();
    p.ingest(tagged, t0() + Duration::minutes(30)).unwrap();
    p.flush().unwrap();
    let story = desk::incident(p.data().store.connection(), id).unwrap().unwrap().stories[0];
    let title = yuqing_store::Store::story(&p.data().store, story).unwrap().unwrap().title;
    assert_eq!(title, "市第一医院挂号排队三小时");
    desk.tick(&p.data().store, t0() + Duration::minutes(70)).unwrap();
    let events = retitled(&p);
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(events[0].contains("市第一医院挂号排队三小时"), "{events:?}");
    assert_eq!(
        desk::incident(p.data().store.connection(), id).unwrap().unwrap().title,
        opened_title,
        "the incident keeps its title"
    );
    desk.tick(&p.data().store, t0() + Duration::minutes(140)).unwrap();
    assert_eq!(retitled(&p).len(), 1, "no change, no new entry");
}
