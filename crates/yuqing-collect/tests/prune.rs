//! Snapshot pruning with retentions at and past the edge of time: it never panics (a panic there
//! would poison the data lock every request shares), keeps what is young, removes what is old.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use yuqing_collect::collector::prune;
use yuqing_store::collect::{self as records, SnapshotMeta};
use yuqing_store::DataDir;

fn data_dir() -> (tempfile::TempDir, Mutex<DataDir>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let segmenter = Arc::new(yuqing_text::Segmenter::new::<&str>(&[]));
    let data = DataDir::open(&tmp.path().join("data"), segmenter).expect("data dir");
    (tmp, Mutex::new(data))
}

fn snapshot(data: &Mutex<DataDir>, body: &[u8], fetched_at: DateTime<Utc>) -> String {
    let d = data.lock().expect("lock");
    let meta = SnapshotMeta {
        sha256: String::new(),
        url: "http://example.cn/feed.xml".into(),
        final_url: "http://example.cn/feed.xml".into(),
        status: 200,
        content_type: Some("application/rss+xml".into()),
        fetched_at,
        size: body.len() as u64,
        source_id: Some("bbs".into()),
    };
    records::put_snapshot(d.store.connection(), &d.path().join("snapshots"), &meta, body).expect("snapshot")
}

fn kept(data: &Mutex<DataDir>, sha: &str) -> bool {
    records::snapshot(data.lock().expect("lock").store.connection(), sha).expect("read").is_some()
}

#[test]
fn a_huge_retention_keeps_everything_and_does_not_panic() {
    let (_tmp, data) = data_dir();
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap();
    let old = snapshot(&data, b"<rss>old</rss>", now - chrono::Duration::days(400));
    // "99999999999d" as the configuration once let through, and the largest durations there are.
    for retention in [Duration::from_secs(99_999_999_999 * 86_400), Duration::from_secs(u64::MAX), Duration::MAX] {
        assert_eq!(prune(&data, retention, now), Ok(0), "{retention:?}");
    }
    // Near the beginning of time a modest retention reaches past it: nothing is that old either.
    assert_eq!(prune(&data, Duration::from_secs(90 * 86_400), DateTime::<Utc>::MIN_UTC), Ok(0));
    assert!(!data.is_poisoned(), "no panic happened under the lock");
    assert!(kept(&data, &old));
    // An ordinary retention still prunes.
    let young = snapshot(&data, b"<rss>young</rss>", now - chrono::Duration::days(1));
    assert_eq!(prune(&data, Duration::from_secs(90 * 86_400), now), Ok(1));
    assert!(!kept(&data, &old) && kept(&data, &young));
}
