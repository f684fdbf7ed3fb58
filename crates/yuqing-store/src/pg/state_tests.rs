//! What people and sign-in, the watch rules and live collection's records must do on PostgreSQL that one SQLite file never faces: several nodes at
//! once, each with its own connection. (What both stores do alike is in `state_contract_tests`.)

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};

use super::desk_tests::on_nodes;
use super::testing::Scratch;
use crate::auth::{Attempt, AuthTables, LockoutPolicy, SessionLimits};
use crate::collect::{CollectTables, SourceState, StoredSource};
use crate::desk::{token_hash, NewUser};
use crate::rules::{RuleEdit, RuleTables};
use crate::sql::utc;
use crate::StoreError;

fn t(s: i64) -> DateTime<Utc> {
    utc(1_763_625_600 + s)
}

const LIMITS: SessionLimits = SessionLimits { idle: Duration::hours(8), absolute: Duration::days(7) };
const POLICY: LockoutPolicy = LockoutPolicy {
    max_failures: 5,
    window: Duration::minutes(15),
    lock_for: Duration::minutes(15),
    max_lock: Duration::hours(24),
};

/// How long a test waits to be sure a statement is blocked (and not merely slow to start).
const BLOCKED: StdDuration = StdDuration::from_millis(400);

#[test]
fn eight_nodes_adding_the_same_names_add_each_once() {
    let scratch = Scratch::new();
    let results = on_nodes(&scratch, 8, |node, c| {
        (0..20)
            .map(|i| {
                let u = NewUser { name: format!("user{i}"), ..Default::default() };
                match c.add_user(&u, &token_hash(&format!("tok-{node}-{i}")), t(0)) {
                    Ok(user) => Some(user.id),
                    Err(StoreError::Conflict(_)) => None,
                    Err(e) => panic!("node {node}, user{i}: {e}"),
                }
            })
            .collect::<Vec<_>>()
    });
    for i in 0..20 {
        let added = results.iter().filter(|r| r[i].is_some()).count();
        assert_eq!(added, 1, "user{i} added by exactly one node");
    }
    let mut ids: Vec<i64> = results.iter().flatten().flatten().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 20, "distinct ids");
    let mut store = scratch.store();
    assert_eq!(store.client().users().unwrap().len(), 20);
}

#[test]
fn attempts_from_eight_nodes_at_once_let_five_through_and_one_failure_locks() {
    let scratch = Scratch::new();
    let allowed: usize = on_nodes(&scratch, 8, |_, c| {
        (0..20).filter(|_| c.begin_attempt("li", "203.0.113.5", t(0), POLICY).unwrap() == Attempt::Allowed).count()
    })
    .into_iter()
    .sum();
    assert_eq!(allowed, 5, "at most max_failures per window get their password checked");
    let locked: Vec<Option<DateTime<Utc>>> =
        on_nodes(&scratch, 5, |_, c| c.attempt_failed("li", "203.0.113.5", t(1), POLICY).unwrap());
    assert_eq!(locked.iter().filter(|l| l.is_some()).count(), 1, "one failure locks: {locked:?}");
    let mut store = scratch.store();
    let lockouts: i64 = store.client().query_one("SELECT lockouts FROM login_throttle", &[]).unwrap().get(0);
    assert_eq!(lockouts, 1, "locked once, so the next lock-out is not doubled twice");
}

#[test]
fn a_session_read_waits_for_a_revocation_in_progress_and_finds_it_gone() {
    let scratch = Scratch::new();
    let mut store = scratch.store();
    let user = store.client().add_user(&NewUser { name: "li".into(), ..Default::default() }, "h", t(0)).unwrap();
    store.client().create_session("sid", user.id, "csrf", t(0), LIMITS).unwrap();
    let mut revoker = scratch.store();
    let mut tx = revoker.client().transaction().unwrap();
    assert_eq!(tx.delete_user_sessions(user.id).unwrap(), 1);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut other = scratch.store();
            other.client().session_user("sid", t(60), LIMITS).unwrap()
        });
        std::thread::sleep(BLOCKED);
        assert!(!reader.is_finished(), "the read waits for the revocation");
        tx.commit().unwrap();
        assert_eq!(reader.join().unwrap(), None, "revoked before the read got the session");
    });
}

#[test]
fn two_requests_at_once_never_move_last_seen_back() {
    let scratch = Scratch::new();
    let mut store = scratch.store();
    let user = store.client().add_user(&NewUser { name: "li".into(), ..Default::default() }, "h", t(0)).unwrap();
    store.client().create_session("sid", user.id, "csrf", t(0), LIMITS).unwrap();
    let mut later = scratch.store();
    let mut tx = later.client().transaction().unwrap();
    let (s, _) = tx.session_user("sid", t(600), LIMITS).unwrap().expect("live");
    assert_eq!(s.last_seen_at, t(600));
    std::thread::scope(|s| {
        // A request that started earlier (its clock read 5 minutes) arrives while the later one's
        // transaction is open.
        let earlier = s.spawn(|| {
            let mut other = scratch.store();
            other.client().session_user("sid", t(300), LIMITS).unwrap()
        });
        std::thread::sleep(BLOCKED);
        tx.commit().unwrap();
        let (s, _) = earlier.join().unwrap().expect("live");
        assert_eq!(s.last_seen_at, t(600));
    });
    let stored: i64 = store.client().query_one("SELECT last_seen_at FROM sessions", &[]).unwrap().get(0);
    assert_eq!(utc(stored), t(600), "last_seen_at did not move back");
}

fn rule_edit(name: &str, at: i64) -> RuleEdit {
    RuleEdit {
        name: name.into(),
        expr: format!("{name} & 投诉"),
        topic: None,
        department: None,
        enabled: true,
        by: "li".into(),
        at: t(at),
    }
}

#[test]
fn the_rules_version_moves_with_every_committed_save_in_commit_order() {
    let scratch = Scratch::new();
    let mut reader = scratch.store();
    let mut first = scratch.store();
    let mut tx = first.client().transaction().unwrap();
    tx.save_rule(&rule_edit("医院", 0)).unwrap();
    std::thread::scope(|s| {
        // A second node saves while the first's transaction is open: it waits, so it cannot commit
        // a larger number while the first's smaller one is still unseen.
        let second = s.spawn(|| {
            let mut other = scratch.store();
            other.client().save_rule(&rule_edit("学校", 1)).unwrap();
        });
        std::thread::sleep(BLOCKED);
        assert_eq!(reader.client().rules_version().unwrap(), 0, "nothing committed yet");
        assert!(!second.is_finished(), "the second save waits for the first");
        tx.commit().unwrap();
        second.join().unwrap();
    });
    assert_eq!(reader.client().rules_version().unwrap(), 2);
    let ids: Vec<(i64, String)> = reader
        .client()
        .query("SELECT id, name FROM watch_rule_history ORDER BY id", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(ids, vec![(1, "医院".to_string()), (2, "学校".to_string())], "numbered in commit order");

    // Many nodes saving at once: every save is kept, numbered without gaps.
    on_nodes(&scratch, 4, |node, c| {
        for i in 0..10 {
            c.save_rule(&rule_edit(&format!("规则{node}-{}", i % 3), i)).unwrap();
        }
    });
    assert_eq!(reader.client().rules_version().unwrap(), 42);
    assert_eq!(reader.client().rule_edits().unwrap().len(), 2 + 4 * 3);
}

#[test]
fn nodes_switching_sources_at_once_all_succeed_and_keep_what_others_wrote() {
    let scratch = Scratch::new();
    let mut store = scratch.store();
    // Source "stored" was added with its configuration; the "conf-*" ones come from the
    // configuration file and have no row yet.
    let stored = StoredSource {
        id: "stored".into(),
        enabled: true,
        config: "url = \"https://a.example/rss\"".into(),
        added_by: "li".into(),
        added_at: t(0),
    };
    store.client().add_source(&stored).unwrap();
    on_nodes(&scratch, 4, |node, c| {
        for i in 0..20 {
            let enabled = node % 2 == 0;
            assert!(c.set_source_enabled(&format!("conf-{i}"), enabled, &format!("node{node}"), t(1)).unwrap());
            assert!(c.set_source_enabled("stored", enabled, "node", t(1)).unwrap());
            // Two nodes polling the same source write its state whole; each write is one upsert.
            let st =
                SourceState { source_id: format!("conf-{i}"), consecutive_failures: node as u32, ..Default::default() };
            c.put_source_state(&st).unwrap();
        }
    });
    let sources = store.client().sources().unwrap();
    assert_eq!(sources.len(), 21);
    let kept = sources.iter().find(|s| s.id == "stored").expect("stored");
    assert_eq!(
        (kept.config.as_str(), kept.added_by.as_str()),
        (stored.config.as_str(), "li"),
        "only the switch changed"
    );
    for s in sources.iter().filter(|s| s.id != "stored") {
        assert!(s.config.is_empty(), "{}: a switch-only row", s.id);
    }
    for i in 0..20 {
        assert!(store.client().source_state(&format!("conf-{i}")).unwrap().consecutive_failures < 4);
    }
}
