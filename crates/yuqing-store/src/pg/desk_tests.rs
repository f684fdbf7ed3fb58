//! What the desk state must do on PostgreSQL that one SQLite file never faces: several nodes at
//! once, each with its own connection. Every test starts its threads together at a barrier. (What
//! both stores do alike is in `desk_contract_tests`.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::testing::Scratch;
use crate::desk::AuditLog;
use crate::outbox::{ClaimLimits, NewMessage, Outbox, RetryPolicy};
use crate::report_tables::ReportState;
use crate::sql::utc;

fn t(s: i64) -> DateTime<Utc> {
    utc(1_750_000_000 + s)
}

fn msg(channel: &str, key: Option<String>) -> NewMessage {
    NewMessage {
        channel: channel.into(),
        subject: "预警".into(),
        body: "事件已升至 III 级".into(),
        dedup_key: key,
        ..Default::default()
    }
}

/// Runs `work(node)` on `nodes` threads, each with its own connection, started together.
fn on_nodes<T: Send>(
    scratch: &Scratch,
    nodes: usize,
    work: impl Fn(usize, &mut postgres::Client) -> T + Sync,
) -> Vec<T> {
    let barrier = Barrier::new(nodes);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..nodes)
            .map(|node| {
                let (barrier, work) = (&barrier, &work);
                let mut store = scratch.store();
                s.spawn(move || {
                    barrier.wait();
                    work(node, store.client())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("node panicked")).collect()
    })
}

#[test]
fn four_nodes_claiming_at_once_take_every_message_exactly_once() {
    let scratch = Scratch::new();
    let mut store = scratch.store();
    let p = RetryPolicy::default();
    let channels = ["值班群", "邮件", "短信"];
    for i in 0..200 {
        store.client().enqueue(&msg(channels[i % 3], None), t(i as i64 % 10), &p).unwrap().expect("enqueued");
    }
    let claimed = on_nodes(&scratch, 4, |node, c| {
        let mut mine = Vec::new();
        loop {
            // Half the nodes claim plainly, half fairly between channels; small batches, so the
            // claims interleave.
            let got = if node % 2 == 0 {
                c.claim(t(100), 3, Duration::from_secs(600)).unwrap()
            } else {
                let limits = ClaimLimits { total: 4, per_channel: 2, busy: &[], new_only: &[] };
                c.claim_fair(t(100), &limits, Duration::from_secs(600)).unwrap()
            };
            if got.is_empty() && c.due(t(100), 1).unwrap().is_empty() {
                return mine;
            }
            mine.extend(got.iter().map(|m| m.id));
        }
    });
    let mut times: BTreeMap<i64, usize> = BTreeMap::new();
    for id in claimed.iter().flatten() {
        *times.entry(*id).or_default() += 1;
    }
    let twice: Vec<_> = times.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "claimed by two nodes: {twice:?}");
    assert_eq!(times.len(), 200, "every message claimed");
    assert!(
        claimed.iter().filter(|c| !c.is_empty()).count() > 1,
        "the nodes shared the work: {:?}",
        claimed.iter().map(Vec::len).collect::<Vec<_>>()
    );
}

#[test]
fn eight_nodes_appending_at_once_make_one_chain_without_gaps() {
    let scratch = Scratch::new();
    let p = RetryPolicy::default();
    on_nodes(&scratch, 8, |node, c| {
        for i in 0..50 {
            let target = format!("incident:{node}:{i}");
            if i % 5 == 0 {
                // Inside a change's transaction, with its message: the chain's tail stays this
                // node's until the commit.
                let mut tx = c.transaction().unwrap();
                tx.audit_append("sun", "incident.verify", &target, "{}", t(i)).unwrap();
                tx.enqueue(&msg("值班群", Some(target.clone())), t(i), &p).unwrap().expect("enqueued");
                std::thread::sleep(Duration::from_millis(2));
                tx.commit().unwrap();
            } else {
                c.audit_append("sun", "incident.report", &target, "{}", t(i)).unwrap();
            }
        }
    });
    let mut store = scratch.store();
    let c = store.client();
    let all = c.audit_entries(0, 1000).unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), (1..=400).collect::<Vec<_>>(), "ids 1..400, no gap");
    assert_eq!(c.audit_verify().unwrap(), Ok(400));
    assert_eq!(c.counts().unwrap().pending, 80);
}

#[test]
fn four_nodes_taking_serials_at_once_get_each_number_once() {
    let scratch = Scratch::new();
    let taken = on_nodes(&scratch, 4, |node, c| {
        (0..100)
            .map(|i| {
                if (node + i) % 4 == 0 {
                    // Inside an issue's transaction: the number is held until the commit.
                    let mut tx = c.transaction().unwrap();
                    let n = tx.next_serial("YQCZBG", 2026).unwrap();
                    std::thread::sleep(Duration::from_millis(1));
                    tx.commit().unwrap();
                    n
                } else {
                    c.next_serial("YQCZBG", 2026).unwrap()
                }
            })
            .collect::<Vec<i64>>()
    });
    let mut all: Vec<i64> = taken.into_iter().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (1..=400).collect::<Vec<_>>());
}

#[test]
fn a_period_is_produced_once_however_many_nodes_see_it_owed() {
    let scratch = Scratch::new();
    let produced = AtomicUsize::new(0);
    on_nodes(&scratch, 4, |_, c| {
        let mut tx = c.transaction().unwrap();
        if tx.schedule_last("daily").unwrap().as_deref() != Some("2026-11-20") {
            // Producing the digest takes a while; another node looking now must wait, then see it done.
            produced.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(50));
            tx.schedule_set("daily", "2026-11-20", t(0)).unwrap();
        }
        tx.commit().unwrap();
    });
    assert_eq!(produced.load(Ordering::SeqCst), 1);
}

#[test]
fn a_change_its_audit_entry_its_message_and_its_serial_commit_together() {
    let scratch = Scratch::new();
    let mut store = scratch.store();
    let c = store.client();
    let p = RetryPolicy::default();
    let mut tx = c.transaction().unwrap();
    tx.audit_append("sun", "incident.report", "incident:1", "{}", t(0)).unwrap();
    tx.enqueue(&msg("值班群", Some("incident:1".into())), t(0), &p).unwrap().expect("enqueued");
    assert_eq!(tx.next_serial("YQCZBG", 2026).unwrap(), 1);
    drop(tx);
    assert_eq!(c.audit_verify().unwrap(), Ok(0), "rolled back: no entry");
    assert_eq!(c.message_by_dedup_key("incident:1").unwrap(), None);
    assert_eq!(c.next_serial("YQCZBG", 2026).unwrap(), 1, "the number was given back");

    let mut tx = c.transaction().unwrap();
    let e = tx.audit_append("sun", "incident.report", "incident:1", "{}", t(0)).unwrap();
    tx.enqueue(&msg("值班群", Some("incident:1".into())), t(0), &p).unwrap().expect("enqueued");
    tx.commit().unwrap();
    assert_eq!(c.audit_entries(0, 10).unwrap(), vec![e]);
    assert!(c.message_by_dedup_key("incident:1").unwrap().is_some());
}
