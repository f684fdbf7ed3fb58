//! The desk state several nodes share — the outbox, the audit chain, the report serials and
//! schedule, and the desk's tables (incidents, timelines, overdue records, cursors, alert
//! acknowledgements, the duty roster, handovers, attachments) — tested alike on both stores: every scenario here runs once on the embedded SQLite
//! store and once on PostgreSQL (a fresh schema), through the traits only. (What only holds on
//! PostgreSQL, many nodes at once, is in `pg/desk_tests.rs`.)

use std::time::Duration;

use chrono::{DateTime, Utc};

use yuqing_core::duty::{DutyRole, DutyShift};
use yuqing_core::incident::{DeadlinePolicy, Event, EventKind, FalseAlarm, Incident, IncidentState, Opening};
use yuqing_core::people::Actor;
use yuqing_core::Grade;

use crate::desk::{AuditLog, DeskTables, IncidentQuery};
use crate::outbox::{
    AttemptOutcome, ClaimLimits, NewMessage, Outbox, OutboxCounts, OutboxStatus, Recorded, RetryPolicy,
};
use crate::report_tables::ReportState;
use crate::sql::utc;

/// One backend's desk state, and what a tamperer does to its audit log.
trait DeskState: Outbox + AuditLog + ReportState + DeskTables {
    /// Runs SQL the same on both backends; false when the database refuses it.
    fn try_sql(&mut self, sql: &str) -> bool;
    /// How many rows a table has.
    fn rows_in(&mut self, table: &str) -> i64;
    /// Removes the guard that refuses changes to the audit log, as a tamperer would.
    fn drop_audit_guard(&mut self);
}

impl DeskState for &crate::Connection {
    fn try_sql(&mut self, sql: &str) -> bool {
        self.execute_batch(sql).is_ok()
    }
    fn drop_audit_guard(&mut self) {
        self.execute_batch("DROP TRIGGER audit_log_no_update").expect("drop trigger");
    }
    fn rows_in(&mut self, table: &str) -> i64 {
        self.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).expect("count")
    }
}

impl DeskState for postgres::Client {
    fn try_sql(&mut self, sql: &str) -> bool {
        self.batch_execute(sql).is_ok()
    }
    fn drop_audit_guard(&mut self) {
        self.batch_execute("DROP TRIGGER audit_log_no_update ON audit_log").expect("drop trigger");
    }
    fn rows_in(&mut self, table: &str) -> i64 {
        self.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]).expect("count").get(0)
    }
}

fn t(s: i64) -> DateTime<Utc> {
    utc(1_750_000_000 + s)
}

fn msg(channel: &str, key: Option<&str>) -> NewMessage {
    NewMessage {
        channel: channel.into(),
        recipient: Some("duty@example.org".into()),
        mention: vec!["13800000000".into()],
        subject: "预警：某地化工厂异味".into(),
        body: "事件已升至 III 级".into(),
        link: Some("http://yuqing.local/stories/7".into()),
        dedup_key: key.map(String::from),
    }
}

fn ids(v: &[crate::outbox::OutboxMessage]) -> Vec<i64> {
    v.iter().map(|m| m.id).collect()
}

fn outbox_dedups_and_reads_back(d: &mut dyn DeskState) {
    let p = RetryPolicy::default();
    let id = d.enqueue(&msg("值班群", Some("alert:7:值班群")), t(0), &p).unwrap().expect("enqueued");
    assert_eq!(d.enqueue(&msg("值班群", Some("alert:7:值班群")), t(5), &p).unwrap(), None, "same key: not again");
    // Without a key, no deduplication.
    let a = d.enqueue(&msg("值班群", None), t(1), &p).unwrap().expect("enqueued");
    let b = d.enqueue(&msg("值班群", None), t(1), &p).unwrap().expect("enqueued");
    assert!(a != b && a > id && b > a);
    let m = d.message(id).unwrap().expect("stored");
    assert_eq!(
        (m.channel.as_str(), m.recipient.as_deref(), m.mention.clone(), m.subject.as_str(), m.body.as_str()),
        (
            "值班群",
            Some("duty@example.org"),
            vec!["13800000000".to_string()],
            "预警：某地化工厂异味",
            "事件已升至 III 级"
        )
    );
    assert_eq!(
        (m.link.as_deref(), m.dedup_key.as_deref()),
        (Some("http://yuqing.local/stories/7"), Some("alert:7:值班群"))
    );
    assert_eq!(
        (m.status, m.attempts, m.created_at, m.next_attempt_at, m.expires_at),
        (OutboxStatus::Pending, 0, t(0), t(0), t(24 * 3600))
    );
    assert_eq!((m.delivered_at, m.last_error.as_deref()), (None, None));
    assert_eq!(d.message_by_dedup_key("alert:7:值班群").unwrap(), Some(m));
    assert_eq!(d.message_by_dedup_key("nothing").unwrap(), None);
    assert_eq!(d.message(a + 1000).unwrap(), None);
    let bare = NewMessage { mention: vec![], recipient: None, link: None, ..msg("短信", None) };
    let e = d.enqueue(&bare, t(2), &p).unwrap().expect("enqueued");
    let m = d.message(e).unwrap().expect("stored");
    assert!(m.mention.is_empty() && m.recipient.is_none() && m.link.is_none());
    assert_eq!(ids(&d.messages(None, 10, 0).unwrap()), vec![e, b, a, id], "newest first");
    assert_eq!(ids(&d.messages(None, 2, 1).unwrap()), vec![b, a]);
    assert_eq!(d.messages(Some(OutboxStatus::Delivered), 10, 0).unwrap(), vec![]);
    assert_eq!(d.messages(None, 10, usize::MAX).unwrap(), vec![], "an offset past the end");
    assert_eq!(d.counts().unwrap(), OutboxCounts { pending: 4, delivered: 0, expired: 0 });
}

fn outbox_claims_lease_back_off_and_expire(d: &mut dyn DeskState) {
    let p = RetryPolicy {
        base: Duration::from_secs(10),
        max_delay: Duration::from_secs(40),
        expire_after: Duration::from_secs(100),
    };
    let lease = Duration::from_secs(60);
    let m: Vec<i64> = (0..3).map(|i| d.enqueue(&msg("值班群", None), t(i), &p).unwrap().expect("enqueued")).collect();
    assert_eq!(ids(&d.due(t(1), 10).unwrap()), m[..2].to_vec(), "due reads, oldest due first");
    let got = d.claim(t(1), 10, lease).unwrap();
    assert_eq!(ids(&got), m[..2].to_vec());
    assert_eq!(got[0].next_attempt_at, t(0), "returned as before the claim");
    // Claimed ones are not due again until the lease passes; the third is.
    assert_eq!(ids(&d.claim(t(2), 10, lease).unwrap()), vec![m[2]]);
    assert!(d.claim(t(30), 10, lease).unwrap().is_empty());
    assert_eq!(d.message(m[0]).unwrap().unwrap().next_attempt_at, t(61));

    // Released untried: due again at its old time; a second release finds nothing to give back.
    assert!(d.release(m[0], t(0), t(1), lease).unwrap());
    assert!(!d.release(m[0], t(0), t(1), lease).unwrap());
    assert_eq!(ids(&d.due(t(2), 10).unwrap()), vec![m[0]]);

    // Failures back off (10, 20, 40, 40 capped), the last try falls on the expiry, then it expires.
    let fail = AttemptOutcome::Failed("连接被拒绝".into());
    let mut now = t(0);
    let mut times = vec![];
    loop {
        let r = d.record_attempt(m[0], now, &fail, &p).unwrap().expect("message");
        times.push(now.timestamp() - t(0).timestamp());
        if r.status == OutboxStatus::Expired {
            assert_eq!(r.attempts, 5);
            break;
        }
        assert_eq!(d.message(m[0]).unwrap().unwrap().next_attempt_at, r.next_attempt_at);
        now = r.next_attempt_at;
    }
    assert_eq!(times, vec![0, 10, 30, 70, 100]);
    let x = d.message(m[0]).unwrap().unwrap();
    assert_eq!((x.status, x.attempts, x.last_error.as_deref()), (OutboxStatus::Expired, 5, Some("连接被拒绝")));
    assert!(d.due(t(1000), 10).unwrap().iter().all(|x| x.id != m[0]), "an expired message is not due");
    assert!(d.requeue(m[0], t(500), &p).unwrap());
    assert!(!d.requeue(m[0], t(500), &p).unwrap(), "only an expired message is requeued");
    let x = d.message(m[0]).unwrap().unwrap();
    assert_eq!((x.status, x.next_attempt_at, x.expires_at), (OutboxStatus::Pending, t(500), t(600)));

    // A failure then a delivery; a late outcome is recorded but changes nothing else.
    let r = d.record_attempt(m[1], t(61), &AttemptOutcome::Failed("HTTP 500".into()), &p).unwrap().unwrap();
    assert_eq!(r, Recorded { status: OutboxStatus::Pending, attempts: 1, next_attempt_at: t(71) });
    let r = d.record_attempt(m[1], t(71), &AttemptOutcome::Delivered("errcode 0".into()), &p).unwrap().unwrap();
    assert_eq!((r.status, r.attempts), (OutboxStatus::Delivered, 2));
    let r = d.record_attempt(m[1], t(72), &AttemptOutcome::Failed("late".into()), &p).unwrap().unwrap();
    assert_eq!((r.status, r.attempts), (OutboxStatus::Delivered, 3));
    let x = d.message(m[1]).unwrap().unwrap();
    assert_eq!(
        (x.status, x.delivered_at, x.last_error.as_deref()),
        (OutboxStatus::Delivered, Some(t(71)), Some("HTTP 500"))
    );
    let a = d.attempts(m[1]).unwrap();
    assert_eq!(
        a.iter().map(|a| (a.outbox_id, a.at, a.ok, a.detail.as_str())).collect::<Vec<_>>(),
        vec![(m[1], t(61), false, "HTTP 500"), (m[1], t(71), true, "errcode 0"), (m[1], t(72), false, "late")]
    );
    assert!(d.attempts(m[2]).unwrap().is_empty());
    assert_eq!(d.record_attempt(m[2] + 1000, t(0), &fail, &p).unwrap(), None, "no such message");
    assert_eq!(d.counts().unwrap(), OutboxCounts { pending: 2, delivered: 1, expired: 0 });
}

fn outbox_claims_fairly_between_channels(d: &mut dyn DeskState) {
    let p = RetryPolicy::default();
    let lease = Duration::from_secs(60);
    // A backlog of retries on one channel, then one new message on each of two others.
    let backlog: Vec<i64> = (0..4).map(|i| d.enqueue(&msg("邮件", None), t(i), &p).unwrap().unwrap()).collect();
    for &id in &backlog {
        d.record_attempt(id, t(5), &AttemptOutcome::Failed("超时".into()), &p).unwrap();
    }
    let fresh = d.enqueue(&msg("值班群", None), t(10), &p).unwrap().unwrap();
    let sms = d.enqueue(&msg("短信", None), t(11), &p).unwrap().unwrap();
    let now = t(100);
    let busy = ["短信".to_string()];
    let limits = ClaimLimits { total: 3, per_channel: 2, busy: &busy, new_only: &[] };
    // Turns: each channel's first (a new message before a retry), then 邮件's second; 短信 is busy.
    assert_eq!(ids(&d.claim_fair(now, &limits, lease).unwrap()), vec![fresh, backlog[0], backlog[1]]);
    let new_only = ["邮件".to_string()];
    let limits = ClaimLimits { total: 10, per_channel: 10, busy: &[], new_only: &new_only };
    assert_eq!(ids(&d.claim_fair(now, &limits, lease).unwrap()), vec![sms], "邮件's retries wait");
    let limits = ClaimLimits { total: 10, per_channel: 10, busy: &[], new_only: &[] };
    assert_eq!(ids(&d.claim_fair(now, &limits, lease).unwrap()), backlog[2..].to_vec());
    assert!(d.claim_fair(now, &limits, lease).unwrap().is_empty(), "all leased");
    assert!(d.claim_fair(now, &ClaimLimits { total: 0, ..limits }, lease).unwrap().is_empty());
}

fn audit_chain_appends_verifies_and_detects_tampering(d: &mut dyn DeskState) {
    assert_eq!(d.audit_verify().unwrap(), Ok(0));
    assert!(d.audit_recent(10, 0).unwrap().items.is_empty());
    let mut written = Vec::new();
    for i in 0..7 {
        let e = d.audit_append("sun", "incident.report", &format!("incident:{i}"), r#"{"note":"上报"}"#, t(i)).unwrap();
        assert_eq!(e.id, i + 1);
        assert_eq!(e.hash, e.computed_hash());
        written.push(e);
    }
    assert_eq!(written[0].prev_hash, yuqing_core::audit::GENESIS);
    assert!(written.windows(2).all(|w| w[1].prev_hash == w[0].hash), "each entry hashes the one before");
    assert_eq!(d.audit_entries(0, 100).unwrap(), written);
    assert_eq!(d.audit_entries(5, 1).unwrap(), written[5..6].to_vec());
    assert_eq!(d.audit_entries(0, usize::MAX).unwrap().len(), 7);
    let page = d.audit_recent(3, 1).unwrap();
    assert_eq!((page.total, page.items.iter().map(|e| e.id).collect::<Vec<_>>()), (7, vec![6, 5, 4]));
    assert_eq!(d.audit_recent(10, usize::MAX).unwrap().items, vec![]);
    assert_eq!(d.audit_verify().unwrap(), Ok(7));

    // The log refuses changes; one who removes the guard first is caught by the chain.
    assert!(!d.try_sql("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"));
    assert!(!d.try_sql("DELETE FROM audit_log WHERE id = 7"));
    d.drop_audit_guard();
    assert!(d.try_sql("UPDATE audit_log SET actor = 'mallory' WHERE id = 3"));
    assert_eq!(d.audit_verify().unwrap().unwrap_err().id, 3);
}

fn serials_count_per_scope_and_year_and_the_schedule_remembers(d: &mut dyn DeskState) {
    assert_eq!((1..=3).map(|_| d.next_serial("YQCZBG", 2026).unwrap()).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(d.next_serial("YQCZBG", 2027).unwrap(), 1, "a new year starts again");
    assert_eq!(d.next_serial("专报", 2026).unwrap(), 1, "each scope counts alone");
    assert_eq!(d.next_serial("YQCZBG", 2026).unwrap(), 4);

    assert_eq!(d.schedule_last("daily").unwrap(), None);
    d.schedule_set("daily", "2026-11-19", t(0)).unwrap();
    d.schedule_set("weekly", "2026-W47", t(0)).unwrap();
    d.schedule_set("daily", "2026-11-20", t(1)).unwrap();
    assert_eq!(d.schedule_last("daily").unwrap().as_deref(), Some("2026-11-20"));
    assert_eq!(d.schedule_last("weekly").unwrap().as_deref(), Some("2026-W47"));
}

/// An incident opened at `t(at)` for `stories`, with the id the store hands out, not yet saved.
fn opening(d: &mut dyn DeskState, title: &str, stories: Vec<i64>, at: i64) -> (Incident, Vec<Event>) {
    let id = d.next_incident_id().unwrap();
    let o = Opening {
        id,
        title: title.into(),
        stories,
        grade: Grade::III,
        grade_reason: "负面占比 80%".into(),
        first_post_at: Some(t(at - 60)),
        alert: None,
        routes: vec![],
    };
    Incident::open(o, &DeadlinePolicy::default(), &Actor::system(), t(at))
}

fn event(at: i64, kind: EventKind) -> Event {
    Event { at: t(at), actor: "sun".into(), kind }
}

fn heat(story: i64, posts: u64) -> EventKind {
    EventKind::HeatSnapshot { story, posts, sites: 3, interactions: 40, negative_share: 0.5, grade: Some(Grade::III) }
}

fn incidents_round_trip_with_their_timeline(d: &mut dyn DeskState) {
    let (mut inc, events) = opening(d, "某地化工厂异味", vec![7, 9], 0);
    assert!(!events.is_empty());
    d.save_incident(&inc, &events, t(0)).unwrap();
    assert_eq!(d.incident(inc.id).unwrap(), Some(inc.clone()));
    assert_eq!(d.incident(inc.id + 1000).unwrap(), None);
    assert_eq!((d.incident_for_story(7).unwrap(), d.incident_for_story(9).unwrap()), (Some(inc.id), Some(inc.id)));
    assert_eq!(d.incident_for_story(8).unwrap(), None);
    let tl = d.timeline(inc.id).unwrap();
    assert_eq!(tl.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=events.len() as i64).collect::<Vec<_>>());
    assert_eq!(
        tl.iter().map(|e| (e.at, e.actor.clone(), e.kind.clone())).collect::<Vec<_>>(),
        events.iter().map(|e| (e.at, e.actor.clone(), e.kind.clone())).collect::<Vec<_>>()
    );
    assert!(tl.iter().all(|e| e.summary == e.kind.summary_zh()));

    // A later save updates the row, keeps the opening time, and numbers its events after the first.
    inc.title = "某地化工厂异味（更新）".into();
    inc.lead_department = Some("生态环境局".into());
    let more = vec![
        event(10, EventKind::StoryRetitled { story: 7, title: "旧标题".into() }),
        event(20, heat(7, 5)),
        event(30, EventKind::StoryRetitled { story: 9, title: "另一事件".into() }),
        event(40, EventKind::StoryRetitled { story: 7, title: "新标题".into() }),
        event(50, heat(9, 8)),
    ];
    d.save_incident(&inc, &more, t(60)).unwrap();
    assert_eq!(d.incident(inc.id).unwrap(), Some(inc.clone()));
    let tl = d.timeline(inc.id).unwrap();
    assert_eq!(tl.len(), events.len() + more.len());
    assert_eq!(tl.last().map(|e| (e.seq, e.kind.clone())), Some(((events.len() + 5) as i64, heat(9, 8))));
    assert!(tl.windows(2).all(|w| w[1].seq == w[0].seq + 1), "in order, without gaps");
    let row = d.incidents(&IncidentQuery { limit: 10, ..Default::default() }).unwrap().items.remove(0);
    assert_eq!((row.opened_at, row.updated_at, row.lead_department.as_deref()), (t(0), t(60), Some("生态环境局")));

    assert_eq!(d.last_event_at(inc.id, "story_retitled").unwrap(), Some(t(40)));
    assert_eq!(d.last_event_at(inc.id, "reviewed").unwrap(), None);
    assert_eq!(d.last_story_title(inc.id, 7).unwrap().as_deref(), Some("新标题"));
    assert_eq!(d.last_story_title(inc.id, 9).unwrap().as_deref(), Some("另一事件"));
    assert_eq!(d.last_story_title(inc.id, 8).unwrap(), None);
    assert_eq!(d.last_heat_snapshot(inc.id, 7).unwrap(), Some(heat(7, 5)));
    assert_eq!(d.last_heat_snapshot(inc.id, 9).unwrap(), Some(heat(9, 8)));
    assert_eq!(d.last_heat_snapshot(inc.id + 1000, 9).unwrap(), None);
}

fn incidents_are_listed_filtered_and_paged_newest_first(d: &mut dyn DeskState) {
    let mut ids = Vec::new();
    let setups: [(IncidentState, Option<&str>, &[&str], bool); 5] = [
        (IncidentState::Triage, Some("应急管理局"), &[], false),
        (IncidentState::Reported, Some("卫健委"), &["应急管理局"], false),
        (IncidentState::Closed, Some("应急管理局"), &[], true),
        (IncidentState::Reported, None, &[], false),
        (IncidentState::Closed, Some("教育局"), &["卫健委", "公安局"], false),
    ];
    for (i, (state, lead, coop, false_alarm)) in setups.iter().enumerate() {
        let (mut inc, events) = opening(d, &format!("工单{i}"), vec![100 + i as i64], i as i64);
        inc.state = *state;
        inc.lead_department = lead.map(String::from);
        inc.cooperating = coop.iter().map(|s| s.to_string()).collect();
        if *state == IncidentState::Closed {
            inc.closed_at = Some(t(i as i64 + 5));
        }
        if *false_alarm {
            inc.false_alarm = Some(FalseAlarm { reason: "同名不同事".into(), by: "sun".into(), at: t(9) });
        }
        d.save_incident(&inc, &events, t(i as i64)).unwrap();
        ids.push(inc.id);
    }
    assert!(ids.windows(2).all(|w| w[1] > w[0]), "ids rise: {ids:?}");
    let list = |d: &mut dyn DeskState, q: IncidentQuery| {
        let p = d.incidents(&IncidentQuery { limit: if q.limit == 0 { 10 } else { q.limit }, ..q }).unwrap();
        (p.total, p.items.iter().map(|s| s.id).collect::<Vec<_>>())
    };
    let all = list(d, IncidentQuery::default());
    assert_eq!(all, (5, ids.iter().rev().copied().collect::<Vec<_>>()), "newest first");
    assert_eq!(list(d, IncidentQuery { limit: 2, offset: 1, ..Default::default() }), (5, vec![ids[3], ids[2]]));
    assert_eq!(list(d, IncidentQuery { offset: usize::MAX, ..Default::default() }), (5, vec![]));
    assert_eq!(list(d, IncidentQuery { open_only: true, ..Default::default() }), (3, vec![ids[3], ids[1], ids[0]]));
    assert_eq!(
        list(d, IncidentQuery { state: Some(IncidentState::Reported), ..Default::default() }),
        (2, vec![ids[3], ids[1]])
    );
    let dept = |name: &str| IncidentQuery { department: Some(name.into()), ..Default::default() };
    assert_eq!(list(d, dept("应急管理局")), (3, vec![ids[2], ids[1], ids[0]]), "lead or cooperating");
    assert_eq!(list(d, dept("卫健委")), (2, vec![ids[4], ids[1]]));
    assert_eq!(list(d, dept("公安局")), (1, vec![ids[4]]));
    assert_eq!(list(d, dept("无此单位")), (0, vec![]));
    assert_eq!(
        list(d, IncidentQuery { department: Some("应急管理局".into()), open_only: true, ..Default::default() }),
        (2, vec![ids[1], ids[0]])
    );
    let rows = d.incidents(&IncidentQuery { limit: 10, ..Default::default() }).unwrap().items;
    let closed = rows.iter().find(|r| r.id == ids[2]).unwrap();
    assert_eq!((closed.state, closed.closed_at, closed.false_alarm), (IncidentState::Closed, Some(t(7)), true));
    let other = rows.iter().find(|r| r.id == ids[4]).unwrap();
    assert_eq!((other.title.as_str(), other.grade, other.false_alarm), ("工单4", Grade::III, false));
    assert_eq!(d.open_incident_ids().unwrap(), vec![ids[0], ids[1], ids[3]]);

    // A story whose incident was closed gets a new one; the newest is the story's.
    let (again, events) = opening(d, "再次升温", vec![102], 20);
    d.save_incident(&again, &events, t(20)).unwrap();
    assert_eq!(d.incident_for_story(102).unwrap(), Some(again.id));
    assert!(again.id > ids[4]);

    // A story added by hand to another incident (one matter under two) belongs to the newest.
    let (mut merged, events) = opening(d, "合并", vec![200], 21);
    d.save_incident(&merged, &events, t(21)).unwrap();
    merged.stories.push(100);
    d.save_incident(&merged, &[], t(22)).unwrap();
    assert_eq!(d.incident_for_story(100).unwrap(), Some(merged.id));
    assert_eq!(d.incident(merged.id).unwrap().map(|i| i.stories), Some(vec![200, 100]));
}

fn overdue_records_once_and_cursors_remember(d: &mut dyn DeskState) {
    let (inc, events) = opening(d, "逾期", vec![1], 0);
    d.save_incident(&inc, &events, t(0)).unwrap();
    assert!(d.record_overdue(inc.id, "report", Some("应急管理局"), Some("li"), t(100), t(101)).unwrap());
    assert!(!d.record_overdue(inc.id, "report", Some("应急管理局"), Some("li"), t(100), t(200)).unwrap(), "once");
    assert!(d.record_overdue(inc.id, "report", None, None, t(300), t(301)).unwrap(), "another due time");
    assert!(d.record_overdue(inc.id, "verify", None, None, t(100), t(302)).unwrap(), "another clock");
    let page = d.overdue_records(2, 0).unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(
        page.items.iter().map(|r| (r.deadline.as_str(), r.due_at, r.recorded_at)).collect::<Vec<_>>(),
        vec![("verify", t(100), t(302)), ("report", t(300), t(301))],
        "newest first"
    );
    let first = &d.overdue_records(2, 2).unwrap().items[0];
    assert_eq!(
        (first.incident_id, first.department.as_deref(), first.assignee.as_deref(), first.recorded_at),
        (inc.id, Some("应急管理局"), Some("li"), t(101))
    );
    assert!(d.overdue_records(10, usize::MAX).unwrap().items.is_empty());

    assert_eq!(d.cursor("alerts").unwrap(), 0, "unset: 0");
    d.set_cursor("alerts", 41).unwrap();
    d.set_cursor("stories", 7).unwrap();
    d.set_cursor("alerts", 42).unwrap();
    assert_eq!((d.cursor("alerts").unwrap(), d.cursor("stories").unwrap()), (42, 7));
}

fn alerts_are_acknowledged_once_and_escalations_counted(d: &mut dyn DeskState) {
    for (id, story, from, to, at) in
        [(1, 7, "NULL", "'IV'", 0), (2, 8, "'IV'", "'III'", 10), (3, 9, "NULL", "'II'", 20)]
    {
        assert!(d.try_sql(&format!(
            "INSERT INTO alerts (id, story_id, from_grade, to_grade, reasons, at) \
             VALUES ({id}, {story}, {from}, {to}, '[]', {})",
            t(at).timestamp()
        )));
    }
    let a2 = d.alert(2).unwrap().expect("alert 2");
    assert_eq!((a2.story_id, a2.from, a2.to, a2.at), (8, Some(Grade::IV), Grade::III, t(10)));
    assert_eq!(d.alert(99).unwrap(), None);
    assert_eq!(d.alerts_after(1, 10).unwrap().iter().map(|a| a.id).collect::<Vec<_>>(), vec![2, 3]);
    assert_eq!(d.alerts_after(0, 1).unwrap().iter().map(|a| a.id).collect::<Vec<_>>(), vec![1]);

    let unacked = |d: &mut dyn DeskState, since: i64| {
        d.unacked_alerts(t(since)).unwrap().iter().map(|(a, n)| (a.id, *n)).collect::<Vec<_>>()
    };
    assert_eq!(unacked(d, 0), vec![(1, 0), (2, 0), (3, 0)]);
    assert_eq!(unacked(d, 5), vec![(2, 0), (3, 0)], "raised since");
    assert!(d.record_ack_escalation(2, 1, "值班领导", t(15)).unwrap());
    assert!(!d.record_ack_escalation(2, 1, "值班领导", t(16)).unwrap(), "a step once");
    assert!(d.record_ack_escalation(2, 2, "分管领导", t(17)).unwrap());
    assert_eq!(unacked(d, 0), vec![(1, 0), (2, 2), (3, 0)]);

    assert_eq!(d.alert_ack(2).unwrap(), None);
    assert!(d.ack_alert(2, "sun", t(30)).unwrap());
    assert!(!d.ack_alert(2, "li", t(31)).unwrap(), "already acknowledged");
    assert_eq!(d.alert_ack(2).unwrap(), Some(("sun".to_string(), t(30))));
    assert_eq!(unacked(d, 0), vec![(1, 0), (3, 0)]);
}

fn shifts_handovers_and_attachments(d: &mut dyn DeskState) {
    let h = 3600;
    let shift = |person: &str, role, from: i64, to: i64| DutyShift {
        person: person.into(),
        role,
        starts_at: t(from * h),
        ends_at: t(to * h),
    };
    let stored = vec![
        shift("li", DutyRole::Staff, 8, 16),
        shift("wang", DutyRole::Leader, 0, 24),
        shift("zhao", DutyRole::Staff, 16, 24),
        shift("sun", DutyRole::Staff, 0, 8),
    ];
    assert_eq!(d.put_shifts(&stored).unwrap(), 4);
    // The same person and start replaces the shift.
    assert_eq!(d.put_shifts(&[shift("li", DutyRole::Leader, 8, 18)]).unwrap(), 1);
    assert_eq!(d.rows_in("duty_shifts"), 4);
    let who = |d: &mut dyn DeskState, from: i64, to: i64| {
        d.shifts_between(t(from * h), t(to * h)).unwrap().into_iter().map(|s| s.person).collect::<Vec<_>>()
    };
    assert_eq!(who(d, 9, 10), vec!["wang", "li"], "by start time, then as stored");
    assert_eq!(who(d, 16, 17), vec!["wang", "li", "zhao"]);
    assert_eq!(who(d, 8, 8), vec!["wang"], "at 8:00 one shift has ended and one not begun");
    assert_eq!(who(d, 24, 30), Vec::<String>::new(), "ends are exclusive");
    assert_eq!(d.shifts_between(t(9 * h), t(10 * h)).unwrap()[1], shift("li", DutyRole::Leader, 8, 18));

    let a = d.add_handover("sun", "夜间无新增预警。", t(0)).unwrap();
    let b = d.add_handover("li", "化工厂事件待核查，已联系应急管理局。", t(10)).unwrap();
    let c = d.add_handover("zhao", "交班。", t(20)).unwrap();
    assert!(a < b && b < c);
    let notes = d.handovers(2).unwrap();
    assert_eq!(notes.iter().map(|n| n.id).collect::<Vec<_>>(), vec![c, b], "newest first");
    assert_eq!(
        (notes[1].at, notes[1].author.as_str(), notes[1].text.as_str()),
        (t(10), "li", "化工厂事件待核查，已联系应急管理局。")
    );
    assert_eq!(d.handovers(0).unwrap().len(), 1, "at least one");

    let bytes = "截图：某地化工厂".as_bytes().to_vec();
    let sha = d.put_attachment(&bytes).unwrap();
    assert_eq!(sha, crate::desk::attachment_sha256(&bytes));
    assert_eq!(sha.len(), 64);
    assert_eq!(d.put_attachment(&bytes).unwrap(), sha, "the same bytes, the same key");
    let binary: Vec<u8> = (0..=255u8).collect();
    let other = d.put_attachment(&binary).unwrap();
    assert_eq!(d.rows_in("attachments"), 2, "stored once each");
    assert_eq!(d.attachment(&sha).unwrap(), Some(bytes));
    assert_eq!(d.attachment(&other).unwrap(), Some(binary));
    assert_eq!(d.attachment(&"0".repeat(64)).unwrap(), None);
}

/// Each scenario on SQLite (a file in a temporary directory) and on PostgreSQL (its own schema).
macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn sqlite() {
                let dir = tempfile::tempdir().expect("dir");
                let store = crate::SqliteStore::open(&dir.path().join("yuqing.db")).expect("sqlite");
                let mut conn = store.connection();
                super::$scenario(&mut conn);
            }

            #[test]
            fn postgres() {
                let scratch = crate::pg::testing::Scratch::new();
                let mut store = scratch.store();
                super::$scenario(store.client());
            }
        }
    )*};
}
pub(crate) use on_both_stores;

on_both_stores!(
    outbox_dedups_and_reads_back,
    outbox_claims_lease_back_off_and_expire,
    outbox_claims_fairly_between_channels,
    audit_chain_appends_verifies_and_detects_tampering,
    serials_count_per_scope_and_year_and_the_schedule_remembers,
    incidents_round_trip_with_their_timeline,
    incidents_are_listed_filtered_and_paged_newest_first,
    overdue_records_once_and_cursors_remember,
    alerts_are_acknowledged_once_and_escalations_counted,
    shifts_handovers_and_attachments,
);
