//! What the desk state must do on PostgreSQL that one SQLite file never faces: several nodes at
//! once, each with its own connection. Every test starts its threads together at a barrier. (What
//! both stores do alike is in `desk_contract_tests`.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::testing::Scratch;
use yuqing_core::incident::{DeadlinePolicy, Event, EventKind, Incident, Opening};
use yuqing_core::people::Actor;
use yuqing_core::Grade;

use crate::desk::{AuditLog, DeskTables, IncidentQuery};
use crate::outbox::{ClaimLimits, NewMessage, Outbox, RetryPolicy};
use crate::report_tables::ReportState;
use crate::sql::utc;
use crate::StoreError;

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
pub(crate) fn on_nodes<T: Send>(
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

/// An incident for `story` with the id the store hands out, not yet saved.
fn opening<C: DeskTables>(c: &mut C, title: &str, story: i64) -> (Incident, Vec<Event>) {
    let o = Opening {
        id: c.next_incident_id().unwrap(),
        title: title.into(),
        stories: vec![story],
        grade: Grade::III,
        grade_reason: "r".into(),
        first_post_at: None,
        alert: None,
        routes: vec![],
    };
    Incident::open(o, &DeadlinePolicy::default(), &Actor::system(), t(0))
}

#[test]
fn four_nodes_opening_incidents_at_once_get_distinct_ids() {
    let scratch = Scratch::new();
    let opened = on_nodes(&scratch, 4, |node, c| {
        (0..25)
            .map(|i| {
                let title = format!("节点{node}-{i}");
                // As the desk does: the id is taken and the incident saved in one transaction.
                let mut tx = c.transaction().unwrap();
                let (inc, events) = opening(&mut tx, &title, (node * 100 + i) as i64);
                std::thread::sleep(Duration::from_millis(1));
                tx.save_incident(&inc, &events, t(0)).unwrap();
                tx.commit().unwrap();
                (inc.id, title)
            })
            .collect::<Vec<_>>()
    });
    let mut store = scratch.store();
    let c = store.client();
    let opened: BTreeMap<i64, String> = opened.into_iter().flatten().collect();
    assert_eq!(opened.len(), 100, "every opening got its own id");
    assert_eq!(c.incidents(&IncidentQuery { limit: 500, ..Default::default() }).unwrap().total, 100);
    for (id, title) in &opened {
        assert_eq!(&c.incident(*id).unwrap().expect("stored").title, title, "incident {id} is its opener's");
    }
}

#[test]
fn nodes_opening_an_incident_for_one_story_at_once_open_one() {
    let scratch = Scratch::new();
    for story in 1..=5 {
        let results = on_nodes(&scratch, 4, |node, c| {
            // The desk's check, then the opening, in one transaction; the check alone races.
            let mut tx = c.transaction().unwrap();
            if tx.incident_for_story(story).unwrap().is_some() {
                return None;
            }
            let (inc, events) = opening(&mut tx, &format!("节点{node}"), story);
            std::thread::sleep(Duration::from_millis(20));
            let saved = tx.save_incident(&inc, &events, t(0));
            if saved.is_ok() {
                tx.commit().unwrap();
            }
            Some(saved.map(|_| inc.id))
        });
        let opened: Vec<i64> = results.iter().flatten().filter_map(|r| r.as_ref().ok().copied()).collect();
        assert_eq!(opened.len(), 1, "story {story}: {results:?}");
        assert!(
            results.iter().flatten().all(|r| matches!(r, Ok(_) | Err(StoreError::Conflict(_)))),
            "the others are refused as a conflict: {results:?}"
        );
        let mut store = scratch.store();
        assert_eq!(store.client().incident_for_story(story).unwrap(), Some(opened[0]));
    }
    let mut store = scratch.store();
    let c = store.client();
    assert_eq!(c.open_incident_ids().unwrap().len(), 5);
    assert_eq!(c.query_one("SELECT COUNT(*) FROM incident_stories", &[]).unwrap().get::<_, i64>(0), 5);
}

#[test]
fn an_incident_is_not_opened_for_a_story_another_open_incident_holds() {
    let scratch = Scratch::new();
    let mut store = scratch.store();
    let c = store.client();
    let (mut first, events) = opening(c, "第一张", 7);
    c.save_incident(&first, &events, t(0)).unwrap();
    let (second, events) = opening(c, "第二张", 7);
    let refused = c.save_incident(&second, &events, t(1));
    assert!(matches!(&refused, Err(StoreError::Conflict(m)) if m.contains("#7")), "{refused:?}");
    assert_eq!(c.incident(second.id).unwrap(), None, "nothing of it written");
    assert_eq!(c.incident_for_story(7).unwrap(), Some(first.id));
    // Once the first is closed, the story may have a new incident.
    first.state = yuqing_core::incident::IncidentState::Closed;
    c.save_incident(&first, &[], t(2)).unwrap();
    c.save_incident(&second, &events, t(3)).unwrap();
    assert_eq!(c.incident_for_story(7).unwrap(), Some(second.id));
}

#[test]
fn nodes_saving_one_incident_at_once_number_its_timeline_without_gaps() {
    let scratch = Scratch::new();
    let mut store = scratch.store();
    let (inc, events) = opening(store.client(), "共同处置", 7);
    store.client().save_incident(&inc, &events, t(0)).unwrap();
    on_nodes(&scratch, 4, |node, c| {
        for i in 0..20 {
            let ev = Event {
                at: t(i),
                actor: format!("node{node}"),
                kind: EventKind::StoryRetitled { story: 7, title: format!("{node}-{i}") },
            };
            let mut tx = c.transaction().unwrap();
            tx.save_incident(&inc, &[ev], t(i)).unwrap();
            std::thread::sleep(Duration::from_millis(1));
            tx.commit().unwrap();
        }
    });
    let tl = store.client().timeline(inc.id).unwrap();
    let n = events.len() as i64 + 80;
    assert_eq!(tl.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=n).collect::<Vec<_>>());
}

#[test]
fn an_alert_acknowledged_on_several_nodes_at_once_is_acknowledged_once() {
    let scratch = Scratch::new();
    let mut store = scratch.store();
    store
        .client()
        .batch_execute(
            "INSERT INTO alerts (id, story_id, from_grade, to_grade, reasons, at) \
             SELECT g, g, NULL, 'III', '[]', 1750000000 FROM generate_series(1, 50) AS g",
        )
        .unwrap();
    let acked = on_nodes(&scratch, 4, |node, c| {
        (1..=50i64)
            .filter(|&alert| {
                // Inside the acknowledgement's transaction, as the desk does (the incident's
                // timeline and the audit entry commit with it).
                let mut tx = c.transaction().unwrap();
                let fresh = tx.ack_alert(alert, &format!("node{node}"), t(alert)).unwrap();
                std::thread::sleep(Duration::from_micros(300));
                tx.commit().unwrap();
                fresh
            })
            .collect::<Vec<_>>()
    });
    let mut times: BTreeMap<i64, usize> = BTreeMap::new();
    for alert in acked.iter().flatten() {
        *times.entry(*alert).or_default() += 1;
    }
    assert_eq!(times.len(), 50, "every alert acknowledged");
    let twice: Vec<_> = times.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "acknowledged twice: {twice:?}");
    let c = store.client();
    assert!(c.unacked_alerts(t(-10)).unwrap().is_empty());
    for (node, mine) in acked.iter().enumerate() {
        for &alert in mine {
            assert_eq!(c.alert_ack(alert).unwrap().map(|a| a.0), Some(format!("node{node}")), "the one told it acked");
        }
    }
}
