//! The dashboard's pictures through the real router over a temporary data directory: the ranking
//! of places (provinces by posts, cities beneath, each post once, noise and older posts left out)
//! and the word cloud of the day's story keywords, on the page, the live fragment and the big
//! screen.
//!
//! The world, at 10:00 China time: story 1 (7 posts in the last day) about 武汉 hospitals, one of
//! its posts naming both 武汉 and 江夏区; story 2 (3 posts) in 郑州; story 3 (2 posts) in 黄冈
//! and one in 韩国; story 4 is 5 advertisements naming 深圳; story 5 has 9 posts in 长沙, all two
//! days old.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Duration, TimeZone, Utc};
use tower::ServiceExt;
use yuqing_core::people::Role;
use yuqing_core::{JoinReason, Metrics, Sentiment, SourceTier, StoryStatus};
use yuqing_server::{router, AppState};
use yuqing_store::desk::{self, NewUser};
use yuqing_store::places::PostPlace;
use yuqing_store::{DataDir, PostRecord, Store, StoryRecord, WriteBatch};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

fn story(id: i64, title: &str, keywords: &[&str], last_at: DateTime<Utc>) -> StoryRecord {
    StoryRecord {
        id,
        status: StoryStatus::Open,
        title: title.into(),
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        first_at: last_at - Duration::hours(3),
        last_at,
        grade: None,
        reasons: vec![],
        manual: None,
        posts: 1,
        sites: 1,
        max_tier: SourceTier::Local,
        interactions: 1,
        negative_share: 0.5,
        rule_hits: vec![],
        topics: vec![],
        severe_words: vec![],
        centroid: vec![],
        index_terms: vec![],
        updated_at: last_at,
    }
}

fn post(id: i64, story_id: i64, text: &str, at: DateTime<Utc>) -> PostRecord {
    PostRecord {
        id,
        story_id,
        dedup_key: id as u64,
        content_hash: id as u64,
        duplicate_of: None,
        source: "本地论坛".into(),
        url: None,
        title: String::new(),
        text: text.into(),
        author: None,
        place: None,
        published_at: at.fixed_offset(),
        time_estimated: false,
        ingested_at: at,
        tier: SourceTier::Local,
        metrics: Metrics::default(),
        simhash: id as u64,
        sentiment: Sentiment::Neutral,
        sentiment_score: 0.5,
        topics: vec![],
        hits: vec![],
        severe_words: vec![],
        keywords: vec![],
        join: JoinReason::New,
    }
}

fn world() -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().unwrap();
    let segmenter = Arc::new(yuqing_text::Segmenter::new::<&str>(&[]));
    let mut data = DataDir::open(dir.path(), segmenter).unwrap();
    let mut batch = WriteBatch::default();
    let mut id = 0i64;
    let mut add = |batch: &mut WriteBatch, story_id: i64, text: &str, hours_ago: i64, codes: &[u32]| {
        id += 1;
        batch.posts.push(post(id, story_id, text, now() - Duration::hours(hours_ago)));
        batch.places.extend(codes.iter().map(|&code| PostPlace { post: id, code }));
    };
    add(&mut batch, 1, "武汉市江夏区第一人民医院急诊排长队", 1, &[420100, 420115]);
    for i in 0..6 {
        add(&mut batch, 1, &format!("武汉医院急诊排队，网友第{i}次反映"), 2 + i, &[420100]);
    }
    for i in 0..3 {
        add(&mut batch, 2, &format!("郑州地铁停运，第{i}位乘客滞留"), 3, &[410100]);
    }
    add(&mut batch, 3, "黄冈市防疫物资到位", 5, &[421100]);
    add(&mut batch, 3, "黄冈防疫物资发放，韩国捐赠口罩", 6, &[421100, 1_000_410]);
    for i in 0..5 {
        add(&mut batch, 4, &format!("深圳口罩包邮，领券下单立减{i}元"), 4, &[440300]);
    }
    for i in 0..9 {
        add(&mut batch, 5, &format!("长沙暴雨内涝，第{i}条"), 48, &[430100]);
    }
    batch.stories = vec![
        story(1, "武汉医院急诊排队", &["急诊", "排队", "医院"], now() - Duration::hours(1)),
        story(2, "郑州地铁停运", &["地铁", "停运"], now() - Duration::hours(3)),
        story(3, "黄冈防疫物资", &["防疫物资", "医院"], now() - Duration::hours(5)),
        story(4, "口罩促销", &["包邮", "领券"], now() - Duration::hours(4)),
        story(5, "长沙暴雨", &["暴雨", "内涝"], now() - Duration::hours(48)),
    ];
    data.store.write(&batch).unwrap();
    let u = NewUser {
        name: "viewer".into(),
        display_name: "值班员".into(),
        role: Some(Role::Viewer),
        ..Default::default()
    };
    desk::add_user(data.store.connection(), &u, &desk::token_hash("tok-viewer"), now()).unwrap();
    let mut state = AppState::new(data, "测试单位".into(), None);
    state.clock = Arc::new(now);
    (dir, router(state))
}

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String) {
    let req = Request::builder().uri(path).header("authorization", "Bearer tok-viewer").body(Body::empty()).unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024).await.unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// (name, count) of the ranking's rows in page order: provinces and, beneath each, its cities.
fn ranking(html: &str) -> Vec<(String, u64)> {
    let start = html.find("<ol class=\"bars places\">").unwrap_or_else(|| panic!("no ranking in {html}"));
    let end = start + html[start..].find("</section>").expect("section end");
    let part = &html[start..end];
    let mut rows = Vec::new();
    for piece in part.split("</a></span>").collect::<Vec<_>>().windows(2) {
        let name = piece[0].rsplit('>').next().unwrap_or("").to_string();
        let count = piece[1]
            .split("<em>")
            .nth(1)
            .and_then(|s| s.split("</em>").next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(u64::MAX);
        rows.push((name, count));
    }
    rows
}

#[tokio::test]
async fn the_dashboard_ranks_places_by_posts_and_draws_the_days_keywords() {
    let (_dir, app) = world();
    let (status, page) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let rows = ranking(&page);
    let want: Vec<(String, u64)> = [("湖北省", 9), ("武汉市", 7), ("黄冈市", 2), ("河南省", 3), ("郑州市", 3)]
        .iter()
        .map(|(n, c)| (n.to_string(), *c))
        .collect();
    assert_eq!(
        rows, want,
        "a post naming 武汉 and 江夏区 counts once; the ads (深圳) and the old posts (长沙) not at all"
    );
    assert!(page.contains("境外：<a href=\"/search?q=%E9%9F%A9%E5%9B%BD\">韩国</a> 1"), "{page}");
    assert!(page.contains("噪声帖文 5 条不计"), "{page}");

    // The word cloud: a link per keyword of the day's real stories, weighted by their posts.
    let cloud_at = page.find("<svg class=\"chart cloud\"").unwrap_or_else(|| panic!("no cloud in {page}"));
    let cloud = &page[cloud_at..cloud_at + page[cloud_at..].find("</svg>").expect("svg end")];
    for (word, note) in [
        ("医院", "医院：2 个事件，近 24 小时帖文 9 条"),
        ("急诊", "急诊：1 个事件，近 24 小时帖文 7 条"),
        ("地铁", "地铁：1 个事件，近 24 小时帖文 3 条"),
    ] {
        let href = format!("href=\"/search?q={}\"", urlencoding::encode(word));
        assert!(cloud.contains(&href) && cloud.contains(&format!("<title>{note}</title>")), "{word} in {cloud}");
    }
    assert!(!cloud.contains("包邮") && !cloud.contains("暴雨"), "no advertisement, nothing from two days ago: {cloud}");
    let size = |word: &str| -> f32 {
        let at = cloud.find(&format!("<title>{word}：")).unwrap_or_else(|| panic!("{word}"));
        let tag = &cloud[..at];
        let fs = tag.rfind("font-size=\"").expect("font-size") + "font-size=\"".len();
        tag[fs..].split('"').next().and_then(|s| s.parse().ok()).expect("size")
    };
    assert!(size("医院") > size("地铁") && size("急诊") > size("地铁"), "{cloud}");

    // The live fragment and the big screen carry the same pictures.
    let (_, fragment) = get(&app, "/dashboard/fragment").await;
    assert_eq!(ranking(&fragment), want);
    assert!(fragment.contains("<svg class=\"chart cloud\""));
    let (status, big) = get(&app, "/?screen=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        big.contains("<body class=\"big\">") && big.contains("<svg class=\"chart cloud\"") && ranking(&big) == want,
        "{big}"
    );
}
