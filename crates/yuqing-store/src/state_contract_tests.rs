//! The rest of the state several nodes share — people and sign-in (users, passwords, sessions,
//! lock-out), the watch rules (监测规则) and live collection's records — tested alike on both stores: every scenario runs once on the embedded SQLite store
//! and once on PostgreSQL (a fresh schema), through the traits only. (What only holds on
//! PostgreSQL, many nodes at once, is in `pg/state_tests.rs`.)

use chrono::{DateTime, Duration, Utc};

use yuqing_core::people::Role;

use crate::auth::{Attempt, AuthTables, LockoutPolicy, SessionLimits};
use crate::collect::{snapshot_path, CollectTables, FetchRecord, SnapshotMeta, SourceState, StoredSource};
use crate::desk::{token_hash, NewUser};
use crate::desk_contract_tests::on_both_stores;
use crate::rules::{enabled, in_force, ConfiguredRule, RuleEdit, RuleOrigin, RuleTables, TrialPost};
use crate::sql::utc;
use crate::StoreError;

/// One backend's shared state, a row count to look behind it, and posts written by hand.
trait SharedState: AuthTables + RuleTables + CollectTables {
    /// Runs SQL that reads the same on both backends.
    fn sql(&mut self, sql: &str);
    /// How many rows a table has.
    fn rows_in(&mut self, table: &str) -> i64;
    /// Stores a bare post (only what the tests here read), as the pipeline would.
    fn add_post(&mut self, id: i64, story: i64, published_at: i64, url: &str);
}

/// The columns of a bare post, and its values after id, story, published_at and url ($1…$4).
const BARE_POST: &str = "INSERT INTO posts (id, story_id, dedup_key, content_hash, source, url, title, text, \
    published_at, published_offset, time_estimated, ingested_at, tier, reads, comments, reposts, likes, simhash, sentiment, \
    sentiment_score, topics, hits, severe_words, keywords, join_reason) \
    VALUES ($1, $2, $1, $1, 'bbs', $4, '标题', '正文', $3, 0, FALSE, $3, 0, 0, 0, 0, 0, 0, 1, 0.0, '[]', '[]', '[]', '[]', '\"\"')";

impl SharedState for &crate::Connection {
    fn sql(&mut self, sql: &str) {
        self.execute_batch(sql).expect("sql");
    }
    fn rows_in(&mut self, table: &str) -> i64 {
        self.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0)).expect("count")
    }
    fn add_post(&mut self, id: i64, story: i64, published_at: i64, url: &str) {
        let sql = BARE_POST.replace("FALSE", "0").replace('$', "?");
        self.execute(&sql, rusqlite::params![id, story, published_at, url]).expect("post");
    }
}

impl SharedState for postgres::Client {
    fn sql(&mut self, sql: &str) {
        self.batch_execute(sql).expect("sql");
    }
    fn rows_in(&mut self, table: &str) -> i64 {
        self.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[]).expect("count").get(0)
    }
    fn add_post(&mut self, id: i64, story: i64, published_at: i64, url: &str) {
        // Posts are partitioned by month; a catch-all partition spares the test the months.
        self.batch_execute("CREATE TABLE IF NOT EXISTS posts_any PARTITION OF posts DEFAULT").expect("partition");
        self.execute(BARE_POST, &[&id, &story, &published_at, &url]).expect("post");
    }
}

/// `min` minutes after a fixed moment.
fn t(min: i64) -> DateTime<Utc> {
    utc(1_763_625_600) + Duration::minutes(min)
}

const LIMITS: SessionLimits = SessionLimits { idle: Duration::hours(8), absolute: Duration::days(7) };
const POLICY: LockoutPolicy = LockoutPolicy {
    max_failures: 5,
    window: Duration::minutes(15),
    lock_for: Duration::minutes(15),
    max_lock: Duration::hours(24),
};

fn new_user(name: &str, role: Option<Role>) -> NewUser {
    NewUser {
        name: name.into(),
        role,
        department: Some("网信办".into()),
        phone: Some("13800000000".into()),
        channels: vec!["值班群".into()],
        ..Default::default()
    }
}

// ---------------------------------------------------------------- people and sign-in

fn users_are_added_once_and_read_back(d: &mut dyn SharedState) {
    assert_eq!(d.users().unwrap(), vec![]);
    let li = d.add_user(&new_user("li", Some(Role::Officer)), &token_hash("tok-li"), t(0)).unwrap();
    assert_eq!(
        (li.name.as_str(), li.display_name.as_str(), li.role, li.department.as_deref(), li.active, li.created_at),
        ("li", "li", Role::Officer, Some("网信办"), true, t(0)),
        "an empty display name is the name"
    );
    assert_eq!(
        (li.phone.as_deref(), li.channels.clone(), li.titles.clone()),
        (Some("13800000000"), vec!["值班群".to_string()], vec![])
    );
    let wang = NewUser { display_name: "王主任".into(), ..new_user("wang", None) };
    let wang = d.add_user(&wang, &token_hash("tok-wang"), t(1)).unwrap();
    assert_eq!((wang.display_name.as_str(), wang.role), ("王主任", Role::Officer), "the default role");
    assert!(wang.id > li.id);
    match d.add_user(&new_user("li", Some(Role::Admin)), &token_hash("other"), t(2)) {
        Err(StoreError::Conflict(m)) => assert!(m.contains("已存在"), "{m}"),
        other => panic!("a name taken twice: {other:?}"),
    }
    assert_eq!(d.rows_in("users"), 2);
    assert_eq!(d.users().unwrap(), vec![li.clone(), wang.clone()], "by id");
    assert_eq!(d.user_by_name("li").unwrap(), Some(li.clone()));
    assert_eq!(d.user_by_name("nobody").unwrap(), None);

    assert_eq!(d.user_by_token("tok-li").unwrap(), Some(li.clone()));
    assert_eq!(d.user_by_token("wrong").unwrap(), None);
    assert!(d.set_user_token("li", &token_hash("tok-li-2")).unwrap());
    assert!(!d.set_user_token("nobody", &token_hash("x")).unwrap());
    assert_eq!(d.user_by_token("tok-li").unwrap(), None, "the old token no longer works");
    assert_eq!(d.user_by_token("tok-li-2").unwrap().map(|u| u.id), Some(li.id));
    assert!(d.set_user_active("li", false).unwrap());
    assert!(!d.set_user_active("nobody", false).unwrap());
    assert_eq!(d.user_by_token("tok-li-2").unwrap(), None, "a disabled user's token stops working");
    assert!(!d.user_by_name("li").unwrap().expect("kept").active);
    assert!(d.set_user_active("li", true).unwrap());
    assert!(d.user_by_token("tok-li-2").unwrap().expect("back").active);

    assert_eq!(d.user_with_password("li").unwrap().map(|(u, h)| (u.id, h)), Some((li.id, None)));
    assert!(d.set_password_hash("li", "$argon2id$x").unwrap());
    assert_eq!(d.user_with_password("li").unwrap().and_then(|(_, h)| h).as_deref(), Some("$argon2id$x"));
    assert!(!d.set_password_hash("nobody", "$argon2id$x").unwrap());
    assert!(d.user_with_password("nobody").unwrap().is_none());
}

fn sessions_slide_expire_and_end(d: &mut dyn SharedState) {
    let user = d.add_user(&new_user("li", None), &token_hash("tok"), t(0)).unwrap();
    let s = d.create_session("sid", user.id, "csrf1", t(0), LIMITS).unwrap();
    assert_eq!((s.user_id, s.created_at, s.last_seen_at, s.expires_at), (user.id, t(0), t(0), t(7 * 24 * 60)));
    assert_eq!(d.rows_in("sessions"), 1);
    let (s, u) = d.session_user("sid", t(10), LIMITS).unwrap().expect("live");
    assert_eq!((u.name.as_str(), s.csrf.as_str(), s.last_seen_at), ("li", "csrf1", t(10)));
    // Within a minute of the last move, `last_seen_at` stays put (no write per request).
    let (s, _) = d.session_user("sid", t(10) + Duration::seconds(30), LIMITS).unwrap().expect("live");
    assert_eq!(s.last_seen_at, t(10));
    assert!(d.session_user("other", t(10), LIMITS).unwrap().is_none());
    // Active every 7 hours: alive for days, until the absolute limit.
    for h in 1..24 {
        assert!(d.session_user("sid", t(h * 7 * 60), LIMITS).unwrap().is_some(), "hour {}", h * 7);
    }
    assert!(d.session_user("sid", t(7 * 24 * 60), LIMITS).unwrap().is_none(), "absolute expiry");
    assert_eq!(d.rows_in("sessions"), 0, "an expired session is deleted when met");
    // Idle expiry.
    d.create_session("sid2", user.id, "csrf2", t(0), LIMITS).unwrap();
    assert!(d.session_user("sid2", t(8 * 60 - 1), LIMITS).unwrap().is_some());
    assert!(d.session_user("sid2", t(2 * 8 * 60 - 1), LIMITS).unwrap().is_none(), "idle for 8 hours");
    // Sign-out, revocation and purge.
    d.create_session("sid3", user.id, "c", t(0), LIMITS).unwrap();
    assert!(d.delete_session("sid3").unwrap());
    assert!(!d.delete_session("sid3").unwrap());
    assert!(d.session_user("sid3", t(1), LIMITS).unwrap().is_none());
    d.create_session("a", user.id, "c", t(0), LIMITS).unwrap();
    d.create_session("b", user.id, "c", t(0), LIMITS).unwrap();
    assert_eq!(d.delete_user_sessions(user.id).unwrap(), 2);
    assert_eq!(d.delete_user_sessions(user.id).unwrap(), 0);
    d.create_session("sid4", user.id, "c", t(0), LIMITS).unwrap();
    d.create_session("sid5", user.id, "c", t(8 * 60), LIMITS).unwrap();
    assert_eq!(d.purge_expired(t(9 * 60), LIMITS, POLICY).unwrap(), 1, "idle since 0:00");
    assert!(d.session_user("sid5", t(9 * 60), LIMITS).unwrap().is_some());
    // A deactivated user's sessions stop working (and go).
    d.set_user_active("li", false).unwrap();
    assert!(d.session_user("sid5", t(9 * 60 + 1), LIMITS).unwrap().is_none());
    assert_eq!(d.rows_in("sessions"), 0);
}

/// One failed sign-in of `name` from `addr` at `at`: counted, checked, failed.
fn fail(d: &mut dyn SharedState, name: &str, addr: &str, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    assert_eq!(d.begin_attempt(name, addr, at, POLICY).unwrap(), Attempt::Allowed, "{name}@{addr} at {at}");
    d.attempt_failed(name, addr, at, POLICY).unwrap()
}

fn failures_lock_the_pair_with_back_off(d: &mut dyn SharedState) {
    const A: &str = "203.0.113.5";
    const B: &str = "198.51.100.7";
    for i in 0..4 {
        assert_eq!(fail(d, "li", A, t(i)), None);
        assert_eq!(d.locked_until("li", A, t(i)).unwrap(), None);
    }
    assert_eq!(fail(d, "li", A, t(4)), Some(t(19)));
    assert_eq!(d.locked_until("li", A, t(10)).unwrap(), Some(t(19)));
    assert_eq!(d.begin_attempt("li", A, t(10), POLICY).unwrap(), Attempt::Locked(t(19)), "refused unchecked");
    // Another address is not locked by this one's failures.
    assert_eq!(d.locked_until("li", B, t(10)).unwrap(), None);
    assert_eq!(d.begin_attempt("li", B, t(10), POLICY).unwrap(), Attempt::Allowed);
    d.attempt_succeeded("li", B).unwrap();
    // The next lock-out of the pair lasts twice as long, then four times.
    for i in 19..23 {
        assert_eq!(fail(d, "li", A, t(i)), None);
    }
    assert_eq!(fail(d, "li", A, t(23)), Some(t(23 + 30)));
    for i in 53..57 {
        assert_eq!(fail(d, "li", A, t(i)), None);
    }
    assert_eq!(fail(d, "li", A, t(57)), Some(t(57 + 60)));
    // Success forgets the pair's failures and lock-outs.
    d.attempt_succeeded("li", A).unwrap();
    for i in 200..204 {
        assert_eq!(fail(d, "li", A, t(i)), None);
    }
    assert_eq!(fail(d, "li", A, t(204)), Some(t(219)), "back to the first lock-out's length");
    // Failures spread wider than the window never lock.
    for i in 0..10 {
        assert_eq!(fail(d, "wang", A, t(100 + i * 4)), None, "{i}");
    }
    // Unknown names are counted the same way.
    for i in 0..5 {
        fail(d, "nobody", A, t(i));
    }
    assert!(d.locked_until("nobody", A, t(5)).unwrap().is_some());
    // Stale counters are purged: unlocked pairs after the window, locked ones after max_lock.
    d.purge_expired(t(1000), LIMITS, POLICY).unwrap();
    assert_eq!(d.rows_in("login_throttle"), 2, "li and nobody were locked: kept for the back-off");
    d.purge_expired(t(1000 + 24 * 60), LIMITS, POLICY).unwrap();
    assert_eq!(d.rows_in("login_throttle"), 0);
}

fn attempts_are_counted_before_their_password_is_checked(d: &mut dyn SharedState) {
    // Sixty attempts arrive before any is checked: five are let through.
    let allowed = (0..60).filter(|_| d.begin_attempt("li", "a", t(0), POLICY).unwrap() == Attempt::Allowed).count();
    assert_eq!(allowed, 5);
    assert_eq!(d.begin_attempt("li", "a", t(0), POLICY).unwrap(), Attempt::Locked(t(15)), "until the window ends");
    // The first of them to fail locks the pair; the others find it locked.
    assert_eq!(d.attempt_failed("li", "a", t(0), POLICY).unwrap(), Some(t(15)));
    for _ in 0..3 {
        assert_eq!(d.attempt_failed("li", "a", t(0), POLICY).unwrap(), None);
    }
    // A failure recorded for a pair never counted changes nothing.
    assert_eq!(d.attempt_failed("li", "never", t(0), POLICY).unwrap(), None);
    assert_eq!(d.rows_in("login_throttle"), 1);
    // An attempt never checked (refused as busy) is taken back; taking back more is harmless.
    assert_eq!(d.begin_attempt("li", "b", t(0), POLICY).unwrap(), Attempt::Allowed);
    d.release_attempt("li", "b").unwrap();
    d.release_attempt("li", "b").unwrap();
    for i in 0..4 {
        assert_eq!(fail(d, "li", "b", t(i)), None, "{i}");
    }
    assert!(fail(d, "li", "b", t(4)).is_some());
    // While locked, a take-back does not touch the counters.
    d.release_attempt("li", "b").unwrap();
    assert_eq!(d.locked_until("li", "b", t(5)).unwrap(), Some(t(19)));
}

// ---------------------------------------------------------------- watch rules

fn rule(name: &str, expr: &str, dept: Option<&str>) -> ConfiguredRule {
    ConfiguredRule { name: name.into(), expr: expr.into(), topic: None, department: dept.map(String::from) }
}

fn rule_edit(name: &str, expr: &str, enabled: bool, at: i64) -> RuleEdit {
    RuleEdit {
        name: name.into(),
        expr: expr.into(),
        topic: (name == "学校").then(|| "教育".into()),
        department: Some("教育局".into()),
        enabled,
        by: "li".into(),
        at: utc(at),
    }
}

fn rule_edits_replace_add_switch_off_and_keep_every_version(d: &mut dyn SharedState) {
    assert_eq!(d.rules_version().unwrap(), 0);
    assert_eq!(d.rule_edits().unwrap(), vec![]);
    let configured = vec![rule("医院", "医院 & 投诉", Some("卫健委")), rule("食品", "食品 & 变质", None)];
    d.save_rule(&rule_edit("医院", "医院 & (投诉 | 纠纷)", true, 100)).unwrap();
    let v1 = d.rules_version().unwrap();
    assert!(v1 > 0);
    d.save_rule(&rule_edit("学校", "学校 & 欺凌", true, 110)).unwrap();
    d.save_rule(&rule_edit("食品", "食品 & 变质", false, 120)).unwrap();
    d.save_rule(&rule_edit("医院", "医院 & (投诉 | 纠纷 | 排队)", true, 130)).unwrap();
    assert_eq!(d.rules_version().unwrap(), 4, "one step per save");

    let edits = d.rule_edits().unwrap();
    assert_eq!(edits.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["医院", "学校", "食品"], "by name");
    assert_eq!(edits[1], rule_edit("学校", "学校 & 欺凌", true, 110), "every field back as saved");
    let all = in_force(&configured, &edits);
    assert_eq!(all.iter().map(|r| r.rule.name.as_str()).collect::<Vec<_>>(), ["医院", "食品", "学校"]);
    assert_eq!(all[0].rule.expr, "医院 & (投诉 | 纠纷 | 排队)");
    assert_eq!(all[0].origin, RuleOrigin::Edited { by: "li".into(), at: utc(130), overrides: true });
    assert!(!all[1].enabled);
    let on: Vec<String> = enabled(&configured, &edits).into_iter().map(|r| r.name).collect();
    assert_eq!(on, ["医院", "学校"]);

    let h = d.rule_history("医院").unwrap();
    assert_eq!(h.iter().map(|e| e.at).collect::<Vec<_>>(), vec![utc(130), utc(100)], "newest first");
    assert_eq!(h[1].expr, "医院 & (投诉 | 纠纷)", "the earlier version is kept");
    assert_eq!(d.rule_history("无此规则").unwrap(), vec![]);
    assert_eq!(d.rows_in("watch_rules"), 3);
}

fn trial_posts_are_handed_newest_first_within_the_range(d: &mut dyn SharedState) {
    let base = 1_763_625_600;
    for (id, dt) in [(1, 0), (2, 100), (3, 200), (4, 300), (5, 40 * 86_400)] {
        d.add_post(id, 10 + id, base + dt, &format!("https://bbs.example/{id}"));
    }
    let mut seen = Vec::new();
    d.trial_posts(utc(base + 100), utc(base + 300), 10, &mut |p| {
        seen.push(p);
        true
    })
    .unwrap();
    assert_eq!(seen.iter().map(|p| p.id).collect::<Vec<_>>(), vec![4, 3, 2], "inclusive range, newest first");
    assert_eq!(
        seen[0],
        TrialPost {
            id: 4,
            story_id: 14,
            published_at: base + 300,
            source: "bbs".into(),
            title: "标题".into(),
            text: "正文".into()
        }
    );
    let mut ids = Vec::new();
    d.trial_posts(utc(base), utc(base + 50 * 86_400), 2, &mut |p| {
        ids.push(p.id);
        true
    })
    .unwrap();
    assert_eq!(ids, vec![5, 4], "at most the limit");
    ids.clear();
    d.trial_posts(utc(base), utc(base + 50 * 86_400), 10, &mut |p| {
        ids.push(p.id);
        ids.len() < 3
    })
    .unwrap();
    assert_eq!(ids, vec![5, 4, 3], "stops when told");
}

// ---------------------------------------------------------------- live collection

fn meta(url: &str, at: i64) -> SnapshotMeta {
    SnapshotMeta {
        sha256: String::new(),
        url: url.into(),
        final_url: format!("{url}?final"),
        status: 200,
        content_type: Some("text/html".into()),
        fetched_at: t(at),
        size: 0,
        source_id: Some("s".into()),
    }
}

fn snapshots_are_stored_once_by_content_and_pruned_unless_an_incident_needs_them(d: &mut dyn SharedState) {
    let dir = tempfile::tempdir().expect("dir");
    let snaps = dir.path().join("snapshots");
    let a = d.put_snapshot(&snaps, &meta("http://a/1", 0), b"<html>one</html>").unwrap();
    assert_eq!(d.put_snapshot(&snaps, &meta("http://a/2", 5), b"<html>one</html>").unwrap(), a, "by content");
    assert_eq!(d.rows_in("snapshots"), 1);
    assert_eq!(std::fs::read(snapshot_path(&snaps, &a)).unwrap(), b"<html>one</html>");
    let stored = d.snapshot(&a).unwrap().expect("stored");
    assert_eq!(
        stored,
        SnapshotMeta { sha256: a.clone(), size: 16, ..meta("http://a/1", 0) },
        "the first fetch's metadata, with the size"
    );
    assert_eq!(d.snapshot(&"0".repeat(64)).unwrap(), None);
    let b = d.put_snapshot(&snaps, &meta("http://b/1", 0), b"<html>two</html>").unwrap();
    let c = d.put_snapshot(&snaps, &meta("http://c/1", 20), b"<html>three</html>").unwrap();
    // Post 7 (story 3) came from snapshot b; story 3 is part of incident 1. A post keeps its first link.
    assert_eq!(d.link_posts(&[7, 8, 7], &b).unwrap(), 2);
    assert_eq!(d.link_posts(&[8, 9], &a).unwrap(), 1);
    d.add_post(7, 3, 0, "http://b/1");
    d.add_post(9, 4, 0, "http://a/1");
    d.sql(
        "INSERT INTO incidents (id, title, state, grade, opened_at, updated_at, data) VALUES (1, 't', 'open', 'II', 0, 0, '{}');
         INSERT INTO incident_stories (incident_id, story_id) VALUES (1, 3);",
    );
    let links = d.snapshots_of_posts(&[7, 8, 9, 10]).unwrap();
    assert_eq!((links.len(), &links[&7], &links[&8], &links[&9]), (3, &b, &b, &a));
    assert_eq!(d.prune_snapshots(&snaps, t(10)).unwrap(), 1, "a: old, and no incident needs it");
    assert!(d.snapshot(&a).unwrap().is_none());
    assert!(!snapshot_path(&snaps, &a).exists());
    assert!(d.snapshot(&b).unwrap().is_some(), "an incident's evidence is kept");
    assert!(d.snapshot(&c).unwrap().is_some(), "fetched after the cut");
    let links = d.snapshots_of_posts(&[7, 9]).unwrap();
    assert_eq!((links.len(), &links[&7]), (1, &b), "the pruned snapshot's links went with it");
    // A file already gone does not stop the pruning.
    std::fs::remove_file(snapshot_path(&snaps, &c)).unwrap();
    assert_eq!(d.prune_snapshots(&snaps, t(30)).unwrap(), 1);
}

fn a_link_noted_before_a_crash_is_settled_once_the_post_exists(d: &mut dyn SharedState) {
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    let notes = [("https://bbs.example/1".to_string(), a.clone()), ("https://bbs.example/2".to_string(), b.clone())];
    d.note_pending_links(&notes, t(0)).unwrap();
    d.note_pending_links(&notes[..1], t(1)).unwrap();
    d.note_pending_links(&[], t(1)).unwrap();
    assert_eq!(d.rows_in("snapshot_pending"), 2, "noted once");
    // Nothing stored yet: nothing to link, the notes stay.
    assert_eq!(d.settle_pending_links(t(-7 * 24 * 60)).unwrap(), 0);
    assert_eq!(d.rows_in("snapshot_pending"), 2);
    // The pipeline stored post 7 and the process died before linking it.
    d.add_post(7, 1, 0, "https://bbs.example/1");
    assert_eq!(d.posts_with_url("https://bbs.example/1").unwrap(), vec![7]);
    assert_eq!(d.posts_with_url("https://bbs.example/3").unwrap(), Vec::<i64>::new());
    assert_eq!(d.settle_pending_links(t(-7 * 24 * 60)).unwrap(), 1);
    assert_eq!(d.snapshots_of_posts(&[7]).unwrap()[&7], a);
    assert_eq!(d.rows_in("snapshot_pending"), 1, "the settled note is gone, the other waits");
    // A note whose post never comes is forgotten after the stale limit.
    assert_eq!(d.settle_pending_links(t(1)).unwrap(), 0);
    assert_eq!(d.rows_in("snapshot_pending"), 0);
}

fn fetch(source: &str, at: i64, ms: u64, stored: u32) -> FetchRecord {
    FetchRecord {
        source_id: source.into(),
        at: t(at),
        ok: ms != 0,
        status: (ms != 0).then_some(200),
        millis: ms,
        items: 2,
        stored,
        error: (ms == 0).then(|| "连接超时".into()),
    }
}

fn source_state_fetches_and_health_round_trip(d: &mut dyn SharedState) {
    assert_eq!(d.source_state("x").unwrap(), SourceState { source_id: "x".into(), ..Default::default() });
    let s = SourceState {
        source_id: "x".into(),
        etag: Some("\"e1\"".into()),
        last_modified: Some("Wed, 19 Nov 2025 08:00:00 GMT".into()),
        last_attempt_at: Some(t(5)),
        last_success_at: Some(t(4)),
        consecutive_failures: 3,
        last_error: Some("HTTP 500".into()),
        alerted_at: Some(t(5)),
    };
    d.put_source_state(&s).unwrap();
    assert_eq!(d.source_state("x").unwrap(), s);
    let cleared = SourceState { etag: None, consecutive_failures: 0, last_error: None, alerted_at: None, ..s.clone() };
    d.put_source_state(&cleared).unwrap();
    assert_eq!(d.source_state("x").unwrap(), cleared, "written whole");
    d.put_source_state(&s).unwrap();

    let h = d.source_health("x", t(100)).unwrap();
    assert_eq!((h.median_fetch_ms, h.items_per_day, h.consecutive_failures), (None, 0, 3));
    for (i, ms) in [30u64, 10, 20, 0].into_iter().enumerate() {
        d.record_fetch(&fetch("x", i as i64, ms, 1)).unwrap();
    }
    d.record_fetch(&fetch("y", 0, 99, 7)).unwrap();
    d.record_fetch(&fetch("x", -2 * 24 * 60, 40, 5)).unwrap();
    let got = d.fetches("x", 3).unwrap();
    assert_eq!(got, vec![fetch("x", -2 * 24 * 60, 40, 5), fetch("x", 3, 0, 1), fetch("x", 2, 20, 1)], "newest first");
    let h = d.source_health("x", t(100)).unwrap();
    assert_eq!(h.median_fetch_ms, Some(20), "of 0, 10, 20, 30, 40");
    assert_eq!(h.items_per_day, 4, "the last day's stored posts");
    assert_eq!((h.last_success_at, h.last_error.as_deref()), (Some(t(4)), Some("HTTP 500")));
    // The log keeps the last 1000 fetches of each source.
    for i in 0..1000 {
        d.record_fetch(&fetch("z", i, 5, 0)).unwrap();
    }
    assert_eq!(d.fetches("z", 2000).unwrap().len(), 1000);
    d.record_fetch(&fetch("z", 1000, 5, 0)).unwrap();
    let z = d.fetches("z", 2000).unwrap();
    assert_eq!((z.len(), z[0].at, z[999].at), (1000, t(1000), t(1)), "the oldest went");
    assert_eq!(d.fetches("y", 10).unwrap().len(), 1, "other sources keep theirs");
}

fn sources_switches_and_files_read(d: &mut dyn SharedState) {
    let src = |id: &str, enabled| StoredSource {
        id: id.into(),
        enabled,
        config: format!("url = \"https://{id}.example/rss\""),
        added_by: "li".into(),
        added_at: t(0),
    };
    assert_eq!(d.sources().unwrap(), vec![]);
    d.add_source(&src("b", true)).unwrap();
    d.add_source(&src("a", true)).unwrap();
    d.add_source(&StoredSource { config: "url = \"https://a.example/atom\"".into(), ..src("a", false) }).unwrap();
    let got = d.sources().unwrap();
    assert_eq!(got.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["a", "b"], "by id");
    assert_eq!(
        got[0],
        StoredSource { config: "url = \"https://a.example/atom\"".into(), ..src("a", false) },
        "replaced"
    );
    // Switching a stored source changes only the switch.
    assert!(d.set_source_enabled("b", false, "wang", t(9)).unwrap());
    assert_eq!(d.sources().unwrap()[1], src("b", false));
    // A configured source that is not stored gets a row that only carries the switch.
    assert!(d.set_source_enabled("conf", false, "wang", t(9)).unwrap());
    assert!(d.set_source_enabled("conf", true, "zhao", t(10)).unwrap());
    let conf = d.sources().unwrap().into_iter().find(|s| s.id == "conf").expect("row");
    assert_eq!(
        conf,
        StoredSource {
            id: "conf".into(),
            enabled: true,
            config: String::new(),
            added_by: "wang".into(),
            added_at: t(9)
        }
    );

    let sha = "c".repeat(64);
    assert!(!d.file_done(&sha).unwrap());
    d.mark_file_done("/drop/a.csv", &sha, t(0)).unwrap();
    assert!(d.file_done(&sha).unwrap());
    d.mark_file_done("/drop/b.csv", &sha, t(1)).unwrap();
    d.mark_file_done("/drop/a.csv", &"d".repeat(64), t(2)).unwrap();
    assert!(d.file_done(&sha).unwrap(), "b.csv still has it");
    assert!(d.file_done(&"d".repeat(64)).unwrap());
    assert_eq!(d.rows_in("collect_files"), 2, "one row per path");
}

on_both_stores!(
    snapshots_are_stored_once_by_content_and_pruned_unless_an_incident_needs_them,
    a_link_noted_before_a_crash_is_settled_once_the_post_exists,
    source_state_fetches_and_health_round_trip,
    sources_switches_and_files_read,
    rule_edits_replace_add_switch_off_and_keep_every_version,
    trial_posts_are_handed_newest_first_within_the_range,
    users_are_added_once_and_read_back,
    sessions_slide_expire_and_end,
    failures_lock_the_pair_with_back_off,
    attempts_are_counted_before_their_password_is_checked,
);
