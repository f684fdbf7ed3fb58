//! The same tests on both stores: every scenario here runs once on the embedded SQLite store and
//! once on PostgreSQL (a fresh schema on the machine's server), through `dyn Store` only, so the
//! two backends answer every question of the interface alike.

use chrono::{DateTime, Duration, FixedOffset, Utc};
use yuqing_core::{Grade, GradeReason, Hit, JoinReason, Metrics, Sentiment, SourceTier, StoryStatus};

use crate::*;

fn at(s: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(s).expect("time")
}

fn post(id: i64, story: i64, published: &str) -> PostRecord {
    let published = at(published);
    PostRecord {
        id,
        story_id: story,
        // High bits set: keys and hashes are u64 stored in signed 64-bit columns.
        dedup_key: 0xF000_0000_0000_0000 | id as u64,
        content_hash: 0x8000_0000_0000_0000 | (id as u64 % 2),
        duplicate_of: (id % 2 == 0).then_some(id - 1),
        source: "weibo.com".into(),
        url: Some(format!("https://weibo.com/{id}")),
        title: format!("标题{id}"),
        // One post carries a (full-width) hashtag.
        text: if id == 3 {
            format!("正文{id}：＃江夏停水＃江夏区某小区停水")
        } else {
            format!("正文{id}：江夏区某小区停水")
        },
        author: (id % 3 == 0).then(|| "某网友".into()),
        place: Some("武汉市江夏区".into()),
        published_at: published,
        time_estimated: id == 3,
        ingested_at: published.with_timezone(&Utc) + Duration::seconds(30),
        tier: if id == 1 { SourceTier::Central } else { SourceTier::Community },
        metrics: Metrics { reads: 10 * id as u64, comments: 2, reposts: 3, likes: 4 },
        simhash: u64::MAX - id as u64,
        sentiment: if id % 2 == 0 { Sentiment::Negative } else { Sentiment::Neutral },
        sentiment_score: -0.25,
        topics: vec!["民生".into()],
        hits: vec![Hit { rule: "停水".into(), terms: vec!["停水".into()] }],
        severe_words: if id == 2 { vec!["死亡".into()] } else { Vec::new() },
        keywords: vec!["停水".into(), "江夏区".into()],
        join: if id == 1 { JoinReason::New } else { JoinReason::Similar { score: 0.75 } },
    }
}

fn story(id: i64, posts: u64, grade: Option<Grade>, last: &str) -> StoryRecord {
    StoryRecord {
        id,
        status: StoryStatus::Open,
        title: format!("事件{id}"),
        keywords: vec!["停水".into()],
        first_at: at("2020-01-31T20:00:00+08:00").with_timezone(&Utc),
        last_at: at(last).with_timezone(&Utc),
        grade,
        reasons: grade
            .map(|g| vec![GradeReason { grade: g, rule: "post_count".into(), detail: format!("信息 {posts} 条") }])
            .unwrap_or_default(),
        manual: None,
        posts,
        sites: 2,
        max_tier: SourceTier::Central,
        interactions: 1234,
        negative_share: 0.5,
        rule_hits: vec![("停水".into(), posts)],
        topics: vec![("民生".into(), posts)],
        severe_words: Vec::new(),
        centroid: vec![(u64::MAX, 0.5), (7, 0.25)],
        index_terms: vec![u64::MAX, 1],
        updated_at: at(last).with_timezone(&Utc),
    }
}

/// Three posts across a month's end (in UTC and in Beijing time), two stories, one alert.
fn first_batch() -> WriteBatch {
    WriteBatch {
        posts: vec![
            post(1, 1, "2020-01-31T20:00:00+08:00"),
            post(2, 1, "2020-02-01T09:00:00+08:00"),
            post(3, 2, "2020-02-01T07:30:00+08:00"),
        ],
        stories: vec![
            story(1, 2, Some(Grade::III), "2020-02-01T09:00:00+08:00"),
            story(2, 1, None, "2020-02-01T07:30:00+08:00"),
        ],
        alerts: vec![NewAlert {
            story_id: 1,
            from: None,
            to: Grade::III,
            reasons: vec![GradeReason { grade: Grade::III, rule: "post_count".into(), detail: "信息 2 条".into() }],
            at: at("2020-02-01T09:00:05+08:00").with_timezone(&Utc),
        }],
        ..Default::default()
    }
}

fn written_batch_reads_back_whole(s: &mut dyn Store) {
    assert_eq!((s.next_post_id().unwrap(), s.next_story_id().unwrap()), (1, 1));
    assert_eq!(s.latest_post_time().unwrap(), None);
    let batch = first_batch();
    s.write(&batch).expect("write");

    assert_eq!((s.next_post_id().unwrap(), s.next_story_id().unwrap()), (4, 3));
    let keys: Vec<u64> = vec![batch.posts[0].dedup_key, 42, batch.posts[2].dedup_key];
    let known = s.known_dedup_keys(&keys).unwrap();
    assert_eq!((known.len(), known[&keys[0]], known[&keys[2]]), (2, 1, 3));
    assert!(s.known_dedup_keys(&[]).unwrap().is_empty());
    assert_eq!(s.first_with_content(batch.posts[1].content_hash).unwrap(), Some(2));
    assert_eq!(s.first_with_content(12345).unwrap(), None);

    assert_eq!(s.posts_by_ids(&[3, 99, 1]).unwrap(), vec![batch.posts[2].clone(), batch.posts[0].clone()]);
    assert_eq!(s.posts_after(0, 10).unwrap(), batch.posts, "every field comes back as written, in id order");
    assert_eq!(s.posts_after(1, 1).unwrap().iter().map(|p| p.id).collect::<Vec<_>>(), vec![2]);
    let page = s.story_posts(1, 1, 0).unwrap();
    assert_eq!((page.total, page.items.iter().map(|p| p.id).collect::<Vec<_>>()), (2, vec![2]), "newest first");
    assert_eq!(s.story_posts(1, 10, 1).unwrap().items.iter().map(|p| p.id).collect::<Vec<_>>(), vec![1]);
    assert_eq!(s.story_posts(1, 10, usize::MAX).unwrap().items, Vec::new(), "an offset past the end");

    assert_eq!(s.story(1).unwrap(), Some(batch.stories[0].clone()));
    assert_eq!(s.story(9).unwrap(), None);
    assert_eq!(s.open_stories().unwrap(), batch.stories);
    let restore = s.restore_posts(&[2, 1]).unwrap();
    assert_eq!(restore.iter().map(|p| (p.id, p.story_id)).collect::<Vec<_>>(), vec![(3, 2), (1, 1), (2, 1)]);
    let r = &restore[2];
    assert_eq!(
        (r.interactions, r.rules.clone(), r.severe_words.clone(), r.simhash, r.sentiment),
        (2 + 3 + 4, vec!["停水".to_string()], vec!["死亡".to_string()], u64::MAX - 2, Sentiment::Negative)
    );
    assert_eq!(s.latest_post_time().unwrap(), Some(at("2020-02-01T09:00:00+08:00").with_timezone(&Utc)));
    let texts = s.texts_since(at("2020-02-01T00:00:00+08:00").with_timezone(&Utc)).unwrap();
    assert_eq!(texts.iter().map(|t| (t.id, t.title.as_str())).collect::<Vec<_>>(), vec![(2, "标题2"), (3, "标题3")]);
    let since = at("2020-01-01T00:00:00+08:00").with_timezone(&Utc);
    let tagged = s.tagged_texts_since(since).unwrap();
    assert_eq!(tagged.iter().map(|t| (t.id, t.at)).collect::<Vec<_>>(), vec![(3, texts[1].at)]);

    let alerts = s.alerts(10).unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].story_id, alerts[0].from, alerts[0].to), (1, None, Grade::III));
    assert_eq!(alerts[0].reasons, batch.alerts[0].reasons);
    assert_eq!(s.story_alerts(1).unwrap(), alerts);
    assert!(s.story_alerts(2).unwrap().is_empty());
}

fn failing_batch_leaves_nothing(s: &mut dyn Store) {
    s.write(&first_batch()).expect("write");
    // A post whose dedup key is stored already: the whole batch fails, its story with it.
    let mut again = post(4, 3, "2020-03-05T10:00:00+08:00");
    again.dedup_key = first_batch().posts[0].dedup_key;
    let bad = WriteBatch {
        posts: vec![post(5, 3, "2020-03-05T09:00:00+08:00"), again],
        stories: vec![story(3, 2, None, "2020-03-05T10:00:00+08:00")],
        ..Default::default()
    };
    assert!(s.write(&bad).is_err(), "a stored dedup key is refused");
    assert_eq!(s.story(3).unwrap(), None);
    assert_eq!(s.next_post_id().unwrap(), 4);
    assert_eq!(s.stats().unwrap().posts, 3);
    // The store still takes the next good batch, in the month the failed one would have opened.
    let good = WriteBatch { posts: vec![post(4, 3, "2020-03-05T10:00:00+08:00")], ..Default::default() };
    s.write(&good).expect("write after a failure");
    assert_eq!(s.posts_by_ids(&[4]).unwrap(), good.posts);
}

fn stories_list_in_order_and_filter(s: &mut dyn Store) {
    s.write(&WriteBatch {
        stories: vec![
            story(1, 5, Some(Grade::IV), "2020-02-03T00:00:00+08:00"),
            story(2, 50, None, "2020-02-05T00:00:00+08:00"),
            story(3, 7, Some(Grade::II), "2020-02-01T00:00:00+08:00"),
            story(4, 7, Some(Grade::II), "2020-02-02T00:00:00+08:00"),
        ],
        closed: vec![1],
        ..Default::default()
    })
    .expect("write");
    let ids = |q: StoryQuery| {
        let page = s.stories(&q).unwrap();
        (page.total, page.items.iter().map(|s| s.id).collect::<Vec<_>>())
    };
    assert_eq!(ids(StoryQuery::default()), (4, vec![4, 3, 1, 2]), "grade, then posts, then newest id");
    assert_eq!(ids(StoryQuery { order: StoryOrder::Recent, ..Default::default() }), (4, vec![2, 1, 4, 3]));
    assert_eq!(ids(StoryQuery { order: StoryOrder::Posts, ..Default::default() }), (4, vec![2, 4, 3, 1]));
    assert_eq!(ids(StoryQuery { min_grade: Some(Grade::II), ..Default::default() }), (2, vec![4, 3]));
    assert_eq!(ids(StoryQuery { graded_only: true, ..Default::default() }), (3, vec![4, 3, 1]));
    assert_eq!(ids(StoryQuery { status: Some(StoryStatus::Closed), ..Default::default() }), (1, vec![1]));
    assert_eq!(ids(StoryQuery { min_posts: 7, ..Default::default() }), (3, vec![4, 3, 2]));
    assert_eq!(ids(StoryQuery { limit: 2, offset: 1, ..Default::default() }), (4, vec![3, 1]));
    assert_eq!(ids(StoryQuery { offset: usize::MAX, ..Default::default() }), (4, vec![]));
}

fn stories_change_in_place(s: &mut dyn Store) {
    s.write(&first_batch()).expect("write");
    let mut grown = story(1, 3, Some(Grade::II), "2020-02-02T09:00:00+08:00");
    grown.title = "江夏区停水".into();
    s.write(&WriteBatch { stories: vec![grown.clone()], closed: vec![2], ..Default::default() }).expect("upsert");
    assert_eq!(s.story(1).unwrap(), Some(grown.clone()));
    assert_eq!(s.story(2).unwrap().map(|s| s.status), Some(StoryStatus::Closed));
    assert_eq!(s.open_stories().unwrap(), vec![grown]);

    assert!(s.set_manual_grade(1, Some((Grade::I, "涉及人员伤亡".into()))).unwrap());
    assert_eq!(s.story(1).unwrap().and_then(|s| s.manual), Some((Grade::I, "涉及人员伤亡".to_string())));
    assert!(s.set_manual_grade(1, None).unwrap());
    assert_eq!(s.story(1).unwrap().and_then(|s| s.manual), None);
    assert!(!s.set_manual_grade(77, Some((Grade::IV, String::new()))).unwrap(), "no such story");
}

fn stats_count_what_is_stored(s: &mut dyn Store) {
    assert_eq!(s.stats().unwrap(), Stats::default());
    s.write(&first_batch()).expect("write");
    let st = s.stats().unwrap();
    assert_eq!(
        (st.posts, st.stories, st.open_stories, st.alerts, st.negative_posts, st.graded.clone()),
        (3, 2, 2, 1, 1, vec![(Grade::III, 1)])
    );
    assert_eq!(st.first_post_at, Some(at("2020-01-31T20:00:00+08:00").with_timezone(&Utc)));
    assert_eq!(st.last_post_at, Some(at("2020-02-01T09:00:00+08:00").with_timezone(&Utc)));
}

fn a_batch_keeps_its_order(s: &mut dyn Store) {
    // A story given twice in one batch ends as its last version.
    let mut older = story(1, 1, None, "2020-02-01T09:00:00+08:00");
    older.title = "旧".into();
    let newer = story(1, 2, Some(Grade::II), "2020-02-01T10:00:00+08:00");
    let alert = |to: Grade, detail: &str| NewAlert {
        story_id: 1,
        from: None,
        to,
        reasons: vec![GradeReason { grade: to, rule: "post_count".into(), detail: detail.into() }],
        at: at("2020-02-01T10:00:00+08:00").with_timezone(&Utc),
    };
    // Alerts at the same instant: numbered in the order given.
    let alerts = vec![alert(Grade::IV, "一"), alert(Grade::III, "二"), alert(Grade::II, "三")];
    s.write(&WriteBatch { stories: vec![older, newer.clone()], alerts: alerts.clone(), ..Default::default() })
        .expect("write");
    assert_eq!(s.story(1).unwrap(), Some(newer));
    let stored = s.story_alerts(1).unwrap();
    assert_eq!(stored.iter().map(|a| a.to).collect::<Vec<_>>(), alerts.iter().map(|a| a.to).collect::<Vec<_>>());
    assert!(stored.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(s.alerts(1).unwrap()[0].reasons, alerts[2].reasons, "the last given is the newest");
}

/// Each scenario on SQLite (a file in a temporary directory) and on PostgreSQL (its own schema).
macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn sqlite() {
                let dir = tempfile::tempdir().expect("dir");
                let mut store = crate::SqliteStore::open(&dir.path().join("yuqing.db")).expect("sqlite");
                super::$scenario(&mut store);
            }

            #[test]
            fn postgres() {
                let scratch = crate::pg::testing::Scratch::new();
                let mut store = scratch.store();
                super::$scenario(&mut store);
            }
        }
    )*};
}

on_both_stores!(
    written_batch_reads_back_whole,
    failing_batch_leaves_nothing,
    stories_list_in_order_and_filter,
    stories_change_in_place,
    stats_count_what_is_stored,
    a_batch_keeps_its_order,
);
