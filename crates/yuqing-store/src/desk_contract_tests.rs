//! The desk state several nodes share — the outbox, the audit chain, the report serials and
//! schedule — tested alike on both stores: every scenario here runs once on the embedded SQLite
//! store and once on PostgreSQL (a fresh schema), through the traits only. (What only holds on
//! PostgreSQL, many nodes at once, is in `pg/desk_tests.rs`.)

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::desk::AuditLog;
use crate::outbox::{
    AttemptOutcome, ClaimLimits, NewMessage, Outbox, OutboxCounts, OutboxStatus, Recorded, RetryPolicy,
};
use crate::report_tables::ReportState;
use crate::sql::utc;

/// One backend's desk state, and what a tamperer does to its audit log.
trait DeskState: Outbox + AuditLog + ReportState {
    /// Runs SQL the same on both backends; false when the database refuses it.
    fn try_sql(&mut self, sql: &str) -> bool;
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
}

impl DeskState for postgres::Client {
    fn try_sql(&mut self, sql: &str) -> bool {
        self.batch_execute(sql).is_ok()
    }
    fn drop_audit_guard(&mut self) {
        self.batch_execute("DROP TRIGGER audit_log_no_update ON audit_log").expect("drop trigger");
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

on_both_stores!(
    outbox_dedups_and_reads_back,
    outbox_claims_lease_back_off_and_expire,
    outbox_claims_fairly_between_channels,
    audit_chain_appends_verifies_and_detects_tampering,
    serials_count_per_scope_and_year_and_the_schedule_remembers,
);
