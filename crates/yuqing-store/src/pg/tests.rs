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

/// A story as the pipeline would write it, small.
fn story(id: i64, title: &str) -> StoryRecord {
    let at = DateTime::parse_from_rfc3339("2020-02-01T00:00:00Z").expect("time").with_timezone(&Utc);
    StoryRecord {
        id,
        status: yuqing_core::StoryStatus::Open,
        title: title.into(),
        keywords: vec![title.into()],
        first_at: at,
        last_at: at,
        grade: None,
        reasons: Vec::new(),
        manual: None,
        posts: 1,
        sites: 1,
        max_tier: yuqing_core::SourceTier::Community,
        interactions: 0,
        negative_share: 0.0,
        rule_hits: Vec::new(),
        topics: Vec::new(),
        severe_words: Vec::new(),
        centroid: Vec::new(),
        index_terms: Vec::new(),
        updated_at: at,
    }
}

fn count(s: &mut PgStore, sql: &str) -> i64 {
    s.client.get_mut().query_one(sql, &[]).expect("count").get(0)
}

#[test]
fn odd_text_comes_back_byte_for_byte_through_the_copy() {
    let scratch = Scratch::new();
    let mut s = scratch.store();
    let odd = [
        "tab\there, newline\nthere, return\r, backslash \\ and \\N and \\.",
        "\\",
        "",
        "'quotes' \"double\" ,;| COPY 的分隔符",
        "emoji 😷🇨🇳, combining e\u{301}, zero width \u{200b}\u{feff}, RTL \u{202e}abc",
        "\u{1}\u{7f}\u{85}\u{2028}\u{2029} control and separators",
        "\n",
    ];
    let posts: Vec<PostRecord> = odd
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut p = post(i as i64 + 1, "2020-02-10T00:00:00+08:00");
            p.text = t.to_string();
            p.title = t.chars().rev().collect();
            p.author = Some(t.to_string());
            p.url = if i % 2 == 0 { Some(String::new()) } else { None };
            p.keywords = vec![t.to_string()];
            p
        })
        .collect();
    let mut odd_story = story(1, odd[0]);
    odd_story.manual = Some((Grade::II, odd[4].into()));
    s.write(&WriteBatch {
        posts: posts.clone(),
        stories: vec![odd_story.clone()],
        themes: vec![ThemePost { theme: odd[0].into(), post: 1, story: 1 }],
        ..Default::default()
    })
    .expect("write");
    assert_eq!(s.posts_after(0, 100).unwrap(), posts, "every field as written, an empty url not a missing one");
    assert_eq!(s.story(1).unwrap(), Some(odd_story));
    let theme: String = s.client.get_mut().query_one("SELECT theme FROM theme_stories", &[]).unwrap().get(0);
    assert_eq!(theme, odd[0]);

    // A NUL, which PostgreSQL text cannot hold, fails the batch (an error, not a panic).
    let mut nul = post(100, "2020-02-10T00:00:00+08:00");
    nul.text = "a\0b".into();
    assert!(s.write(&WriteBatch { posts: vec![nul], ..Default::default() }).is_err());
    assert_eq!(s.next_post_id().unwrap(), odd.len() as i64 + 1);
}

#[test]
fn a_batch_across_two_months_fills_both_partitions_at_once() {
    let scratch = Scratch::new();
    let mut s = scratch.store();
    // 500 posts alternating between the last day of January and the first of February (UTC).
    let posts: Vec<PostRecord> = (1..=500)
        .map(|id| post(id, if id % 2 == 0 { "2020-01-31T23:59:59Z" } else { "2020-02-01T00:00:00Z" }))
        .collect();
    s.write(&WriteBatch { posts: posts.clone(), ..Default::default() }).expect("write");
    assert_eq!(s.partitions().unwrap(), vec![month(2020, 1), month(2020, 2)]);
    assert_eq!(count(&mut s, "SELECT COUNT(*) FROM \"posts_2020_01\""), 250);
    assert_eq!(count(&mut s, "SELECT COUNT(*) FROM \"posts_2020_02\""), 250);
    assert_eq!(count(&mut s, "SELECT COUNT(*) FROM post_keys"), 500);
    assert_eq!(s.posts_after(0, 1000).unwrap(), posts);
    let keys: Vec<u64> = posts.iter().map(|p| p.dedup_key).collect();
    assert_eq!(s.known_dedup_keys(&keys).unwrap().len(), 500);
}

#[test]
fn a_batch_failing_after_its_posts_were_copied_leaves_nothing() {
    let scratch = Scratch::new();
    let mut s = scratch.store();
    s.write(&WriteBatch {
        posts: vec![post(1, "2020-02-10T00:00:00Z")],
        stories: vec![story(1, "旧标题")],
        ..Default::default()
    })
    .expect("write");
    // Posts in a new month, their story changed, an alert, places: all written before the theme
    // rows, whose name PostgreSQL refuses.
    let bad = WriteBatch {
        posts: vec![post(2, "2020-03-10T00:00:00Z"), post(3, "2020-04-10T00:00:00Z")],
        stories: vec![story(1, "新标题")],
        alerts: vec![NewAlert {
            story_id: 1,
            from: None,
            to: Grade::IV,
            reasons: Vec::new(),
            at: DateTime::parse_from_rfc3339("2020-03-10T00:00:00Z").unwrap().with_timezone(&Utc),
        }],
        places: vec![PostPlace { post: 2, code: 420115 }],
        themes: vec![ThemePost { theme: "bad\0name".into(), post: 2, story: 1 }],
        closed: vec![1],
    };
    assert!(s.write(&bad).is_err());
    assert_eq!(s.posts_after(0, 10).unwrap().len(), 1, "no post of the failed batch");
    assert!(s.known_dedup_keys(&[2, 3]).unwrap().is_empty(), "nor their keys");
    assert_eq!(
        s.story(1).unwrap().map(|st| (st.title, st.status)),
        Some(("旧标题".into(), yuqing_core::StoryStatus::Open))
    );
    assert!(s.alerts(10).unwrap().is_empty());
    assert_eq!(count(&mut s, "SELECT COUNT(*) FROM post_places"), 0);
    assert_eq!(s.partitions().unwrap(), vec![month(2020, 2)], "nor its months");
    // The months it would have made are made by the next batch that needs them.
    s.write(&WriteBatch { posts: vec![post(2, "2020-03-10T00:00:00Z")], ..Default::default() }).expect("write");
    assert_eq!(s.partitions().unwrap(), vec![month(2020, 2), month(2020, 3)]);

    // A post whose id is given twice in one month fails its batch in the copy itself.
    let twice = WriteBatch {
        posts: vec![post(7, "2020-05-01T00:00:00Z"), {
            let mut p = post(7, "2020-05-01T00:00:00Z");
            p.dedup_key = 8;
            p
        }],
        ..Default::default()
    };
    assert!(s.write(&twice).is_err());
    assert_eq!(s.partitions().unwrap(), vec![month(2020, 2), month(2020, 3)]);
}

#[test]
fn theme_matches_count_once_per_post_and_places_are_kept_once() {
    let scratch = Scratch::new();
    let mut s = scratch.store();
    let tp = |theme: &str, post: i64, story: i64| ThemePost { theme: theme.into(), post, story };
    s.write(&WriteBatch {
        posts: (1..=4).map(|id| post(id, "2020-02-10T00:00:00Z")).collect(),
        // Post 1 twice for 疫情 (the second mention names another story: the first counts).
        themes: vec![tp("疫情", 1, 1), tp("疫情", 2, 1), tp("疫情", 1, 2), tp("复工", 3, 2)],
        places: vec![PostPlace { post: 1, code: 420115 }, PostPlace { post: 1, code: 420115 }],
        ..Default::default()
    })
    .expect("write");
    // A pair stored already adds nothing; a new one adds to the story's count.
    s.write(&WriteBatch {
        themes: vec![tp("疫情", 2, 1), tp("疫情", 4, 1), tp("复工", 4, 2)],
        places: vec![PostPlace { post: 1, code: 420115 }, PostPlace { post: 4, code: 420102 }],
        ..Default::default()
    })
    .expect("write");
    let rows = s
        .client
        .get_mut()
        .query("SELECT theme, story_id, matched FROM theme_stories ORDER BY theme, story_id", &[])
        .unwrap();
    let got: Vec<(String, i64, i64)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(got, vec![("复工".to_string(), 2, 2), ("疫情".to_string(), 1, 3)]);
    assert_eq!(count(&mut s, "SELECT COUNT(*) FROM theme_posts"), 5);
    assert_eq!(count(&mut s, "SELECT COUNT(*) FROM post_places"), 2);
}
