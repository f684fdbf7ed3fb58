//! What only the PostgreSQL store has: month partitions, retention by month, migrations shared by
//! processes, schema names. (What both stores do is in `contract_tests`.)

use chrono::{DateTime, Utc};

use super::testing::{url, Scratch};
use super::*;
use crate::places::PostPlace;
use crate::themes::ThemePost;

fn post(id: i64, published: &str) -> PostRecord {
    let published = DateTime::parse_from_rfc3339(published).expect("time");
    PostRecord {
        id,
        story_id: 1,
        dedup_key: id as u64,
        content_hash: id as u64,
        duplicate_of: None,
        source: "weibo.com".into(),
        url: None,
        title: String::new(),
        text: format!("正文{id}"),
        author: None,
        place: None,
        published_at: published,
        time_estimated: false,
        ingested_at: published.with_timezone(&Utc),
        tier: yuqing_core::SourceTier::Community,
        metrics: yuqing_core::Metrics::default(),
        simhash: 0,
        sentiment: yuqing_core::Sentiment::Neutral,
        sentiment_score: 0.0,
        topics: Vec::new(),
        hits: Vec::new(),
        severe_words: Vec::new(),
        keywords: Vec::new(),
        join: yuqing_core::JoinReason::New,
    }
}

fn month(year: i32, month: u32) -> Month {
    Month { year, month }
}

#[test]
fn posts_go_to_the_partition_of_their_month_and_retention_drops_whole_months() {
    let scratch = Scratch::new();
    let mut s = scratch.store();
    s.write(&WriteBatch {
        posts: vec![post(1, "2020-01-15T12:00:00Z"), post(2, "2020-02-29T23:59:59Z"), post(3, "2020-03-01T00:00:00Z")],
        themes: vec![ThemePost { theme: "疫情".into(), post: 1, story: 1 }],
        places: vec![PostPlace { post: 1, code: 420115 }, PostPlace { post: 2, code: 420115 }],
        ..Default::default()
    })
    .expect("write");
    assert_eq!(s.partitions().unwrap(), vec![month(2020, 1), month(2020, 2), month(2020, 3)]);
    let seg = yuqing_text::Segmenter::default();
    let words = |t: &str| crate::IndexWords::of_texts(&seg, "", t);
    let stamp = |id: i64| s.posts_by_ids(&[id]).unwrap()[0].published_at.timestamp();
    let indexed = [(1, stamp(1), words("停水")), (3, stamp(3), words("停水"))];
    s.index_words(&indexed).expect("words");
    let in_feb: i64 = s.client.get_mut().query_one("SELECT COUNT(*) FROM \"posts_2020_02\"", &[]).unwrap().get(0);
    assert_eq!(in_feb, 1, "the last second of February is in February");

    // A second store on the same schema (another node) knows the months and adds to them.
    let mut other = scratch.store();
    other.write(&WriteBatch { posts: vec![post(4, "2020-02-10T00:00:00Z")], ..Default::default() }).expect("write");

    let cutoff = DateTime::parse_from_rfc3339("2020-03-01T00:00:00Z").unwrap().with_timezone(&Utc);
    assert_eq!(s.drop_months_before(cutoff).unwrap(), vec![month(2020, 1), month(2020, 2)]);
    assert_eq!(s.partitions().unwrap(), vec![month(2020, 3)]);
    assert_eq!(s.posts_after(0, 10).unwrap().iter().map(|p| p.id).collect::<Vec<_>>(), vec![3]);
    assert!(s.known_dedup_keys(&[1, 2, 4]).unwrap().is_empty(), "the dropped posts' keys are gone");
    let c = s.client.get_mut();
    let left: i64 = c
        .query_one("SELECT (SELECT COUNT(*) FROM theme_posts) + (SELECT COUNT(*) FROM post_places)", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "their theme and place rows too");
    assert_eq!(s.search(&seg, "停水", 10, 0).unwrap().ids, vec![3], "and their words");
    assert!(s.drop_months_before(cutoff).unwrap().is_empty(), "nothing more to drop");

    // A post of a dropped month may come again: its month is made anew.
    s.write(&WriteBatch { posts: vec![post(5, "2020-01-20T00:00:00Z")], ..Default::default() }).expect("write");
    assert_eq!(s.partitions().unwrap(), vec![month(2020, 1), month(2020, 3)]);
}

#[test]
fn processes_starting_together_migrate_once() {
    let scratch = Scratch::new();
    let schema = scratch.schema.clone();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let schema = schema.clone();
            std::thread::spawn(move || PgStore::connect(&url(), Some(&schema)).map(|s| s.schema_version()))
        })
        .collect();
    for s in starts {
        let version = s.join().expect("thread").expect("connect").expect("version");
        assert_eq!(version, PG_MIGRATIONS.len() as i64);
    }
    // And a later start changes nothing.
    assert_eq!(scratch.store().schema_version().unwrap(), PG_MIGRATIONS.len() as i64);
}

#[test]
fn a_schema_newer_than_the_program_is_refused() {
    let scratch = Scratch::new();
    let mut s = scratch.store();
    s.client.get_mut().execute("UPDATE yuqing_schema SET version = version + 1", &[]).unwrap();
    match PgStore::connect(&url(), Some(&scratch.schema)) {
        Err(StoreError::TooNew { found, supported, .. }) => assert_eq!(found, supported + 1),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}

#[test]
fn schema_names_are_plain_identifiers() {
    for bad in ["", "Yuqing", "1st", "a-b", "a; DROP TABLE posts", &"x".repeat(64)] {
        assert!(matches!(check_schema(bad), Err(StoreError::Conflict(_))), "{bad:?}");
    }
    for good in ["yuqing", "client_42", &"x".repeat(63)] {
        assert!(check_schema(good).is_ok(), "{good:?}");
    }
}

#[test]
fn an_unreachable_server_is_an_error_not_a_panic() {
    let Err(e) = PgStore::connect("host=127.0.0.1 port=1 user=postgres connect_timeout=2", None) else {
        panic!("connected to port 1");
    };
    assert!(e.to_string().starts_with("数据库错误"), "{e}");
}
