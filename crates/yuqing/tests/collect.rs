//! Live collection against a local HTTP server serving real-world fixtures (see
//! tests/fixtures/collect/README.md): each run goes through the real fetcher, extraction and
//! pipeline into a real data directory, and each test asserts what was stored and what was recorded
//! on the source.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use yuqing::config::Config;
use yuqing::live::Live;
use yuqing::pipeline::Pipeline;
use yuqing_collect::collector::{self, Context};
use yuqing_collect::source::parse_source_toml;
use yuqing_collect::{CollectConfig, Fetcher, Source};
use yuqing_desk::{Desk, DeskConfig};
use yuqing_store::collect as records;
use yuqing_store::{DataDir, PostRecord, Store};

#[path = "../../yuqing-collect/tests/site/mod.rs"]
mod site;

use site::{Response, Site};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/collect").join(name)).expect("fixture")
}

fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture(name)).expect("utf-8 fixture")
}

fn ok(content_type: &str, body: Vec<u8>) -> Response {
    Response::ok(content_type, body)
}

/// The local site: fixtures and misbehaving endpoints. Returns its base URL and request counters.
async fn site() -> (String, Arc<AtomicUsize>) {
    let errors = Arc::new(AtomicUsize::new(0));
    let e500 = errors.clone();
    let addr = Site::new()
        .route("/robots.txt", |_| ok("text/plain", b"User-agent: *\nDisallow: /private/\n".to_vec()))
        .route("/weibo.xml", |_| ok("application/rss+xml", fixture("weibo-gbk.rss.xml")))
        .route("/pixnet.xml", |_| ok("application/xml", fixture("pixnet-big5.rss.xml")))
        .route("/weibo-mirror.xml", |_| ok("application/rss+xml", fixture("weibo-gbk.rss.xml")))
        .route("/broken.xml", |_| ok("application/rss+xml; charset=utf-8", fixture("weibo-broken.rss.xml")))
        .route("/private/feed.xml", |_| ok("application/rss+xml", fixture("weibo-gbk.rss.xml")))
        .route("/list.html", |_| {
            ok("text/html; charset=utf-8", "<ul class=\"news\"><li><a href=\"/gmw.html?spm=x\">光明网</a></li><li><a href=\"/pixnet.html\">痞客邦</a></li></ul><a href=\"/about\">关于</a>".as_bytes().to_vec())
        })
        // Declared only inside the pages (meta), as many Chinese sites do.
        .route("/gmw.html", |_| ok("text/html", fixture("gmw-gbk.html")))
        .route("/pixnet.html", |_| ok("text/html", fixture("pixnet-big5.html")))
        .route("/people.json", |req| {
            if req.header("if-none-match") == Some("\"v1\"") {
                return Response::status(304, Vec::new()).header("etag", "\"v1\"");
            }
            ok("application/feed+json", fixture("people-daily-3.json")).header("etag", "\"v1\"")
        })
        .route("/missing.xml", |_| Response::status(404, "not here"))
        .route("/down.xml", move |_| {
            e500.fetch_add(1, Ordering::SeqCst);
            Response::status(500, "down")
        })
        .route("/slow.xml", |_| {
            std::thread::sleep(Duration::from_secs(5));
            ok("application/rss+xml", fixture("weibo-gbk.rss.xml"))
        })
        .route("/loop/a", |_| Response::status(302, Vec::new()).header("location", "/loop/b"))
        .route("/loop/b", |_| Response::status(302, Vec::new()).header("location", "/loop/a"))
        .route("/big.xml", |_| ok("application/rss+xml", vec![b' '; 200_000]))
        // An RSSHub-style keyword route: one feed per keyword.
        .route("/rsshub/weibo/keyword/{kw}", |req| {
                let kw = req.param("kw");
                let body = format!(
                    "<rss version=\"2.0\"><channel><title>微博关键词 {kw}</title><item><title>{kw}</title><link>https://weibo.example/kw/{}</link><description>关于{kw}的讨论</description></item></channel></rss>",
                    kw.chars().map(|c| c as u32).sum::<u32>()
                );
                ok("application/rss+xml; charset=utf-8", body.into_bytes())
        })
        .route("/api/list", |_| {
            ok("application/json", r#"{"code":0,"data":{"records":[{"subject":"市政府常务会议","content":"研究部署防汛工作","detailUrl":"/detail/1?utm_source=api","createTime":"2026-06-01 09:30","district":"城南区","stats":{"likes":12}}]}}"#.as_bytes().to_vec())
        })
        .start();
    (format!("http://{addr}"), errors)
}

struct Harness {
    ctx: Context,
    live: Arc<Live>,
    data: Arc<Mutex<DataDir>>,
    _tmp: tempfile::TempDir,
}

fn harness(alert_after: u32) -> Harness {
    let tmp = tempfile::tempdir().expect("tempdir");
    let pipeline = Pipeline::open(&tmp.path().join("data"), Config::defaults()).expect("pipeline");
    let data = pipeline.shared_data();
    let desk = Arc::new(Desk::new(DeskConfig { default_channels: vec!["值班群".into()], ..DeskConfig::default() }));
    let live = Arc::new(Live::new(pipeline, desk));
    let config = CollectConfig {
        politeness: "0s".into(),
        retries: 1,
        backoff: "10ms".into(),
        alert_after_failures: alert_after,
        ..CollectConfig::default()
    };
    let fetcher = Arc::new(Fetcher::new(config).expect("fetcher"));
    Harness {
        ctx: Context {
            fetcher,
            data: data.clone(),
            intake: live.clone(),
            alarm: live.clone(),
            rule_phrases: Arc::new(Vec::new),
        },
        live,
        data,
        _tmp: tmp,
    }
}

impl Harness {
    fn posts(&self) -> Vec<PostRecord> {
        self.data.lock().unwrap().store.posts_after(0, 1000).unwrap()
    }
    fn state(&self, id: &str) -> records::SourceState {
        records::state(self.data.lock().unwrap().store.connection(), id).unwrap()
    }
    fn snapshots_of(&self, ids: &[i64]) -> std::collections::HashMap<i64, String> {
        records::snapshots_of_posts(self.data.lock().unwrap().store.connection(), ids).unwrap()
    }
}

fn source(id: &str, name: &str, kind: &str, url: &str, extra: &str) -> Source {
    parse_source_toml(&format!("id = \"{id}\"\nname = \"{name}\"\nkind = \"{kind}\"\nurl = \"{url}\"\n{extra}"))
        .expect("source")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gbk_feed_is_stored_without_mojibake_with_its_snapshot_and_only_once() {
    let (base, _) = site().await;
    let h = harness(5);
    let feed = source("weibo", "微博", "feed", &format!("{base}/weibo.xml"), "");
    let r = collector::run(&h.ctx, &feed).await;
    assert!(r.ok, "{r:?}");
    assert_eq!((r.items, r.stored), (3, 3), "{r:?}");
    let posts = h.posts();
    let expected: Vec<String> = fixture_text("weibo-gbk.posts.txt").lines().map(str::to_string).collect();
    for (p, want) in posts.iter().zip(&expected) {
        assert!(!p.text.contains('\u{fffd}') && !p.title.contains('\u{fffd}'));
        assert_eq!(p.text.split_whitespace().collect::<String>(), want.split_whitespace().collect::<String>());
        assert_eq!(p.source, "微博");
        assert!(p.url.as_deref().is_some_and(|u| !u.contains("from=")), "tracking parameter removed: {:?}", p.url);
    }
    // One snapshot (the feed's bytes, as fetched) links every post.
    let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let snaps = h.snapshots_of(&ids);
    assert_eq!(snaps.len(), 3);
    let sha = snaps.values().next().unwrap().clone();
    assert!(snaps.values().all(|s| *s == sha));
    assert_eq!(sha, records::sha256_hex(&fixture("weibo-gbk.rss.xml")));
    let meta = records::snapshot(h.data.lock().unwrap().store.connection(), &sha).unwrap().expect("snapshot row");
    assert_eq!((meta.status, meta.url.as_str()), (200, format!("{base}/weibo.xml").as_str()));

    // Again, and from a second source carrying the same items: nothing new.
    let again = collector::run(&h.ctx, &feed).await;
    assert_eq!((again.stored, again.duplicates), (0, 3), "{again:?}");
    let mirror = source("weibo-mirror", "微博镜像", "feed", &format!("{base}/weibo-mirror.xml"), "");
    let m = collector::run(&h.ctx, &mirror).await;
    assert_eq!((m.stored, m.duplicates), (0, 3), "{m:?}");
    assert_eq!(h.posts().len(), 3);
    let snapshot_rows: i64 = h
        .data
        .lock()
        .unwrap()
        .store
        .connection()
        .query_row("SELECT COUNT(*) FROM snapshots", [], |r| r.get(0))
        .unwrap();
    assert_eq!(snapshot_rows, 1, "a fetch that yields nothing new keeps no snapshot");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_big5_feed_is_stored_in_traditional_characters_without_mojibake() {
    let (base, _) = site().await;
    let h = harness(5);
    let r = collector::run(&h.ctx, &source("pixnet", "痞客邦", "feed", &format!("{base}/pixnet.xml"), "")).await;
    assert_eq!((r.ok, r.stored), (true, 3), "{r:?}");
    let texts: Vec<String> = h.posts().into_iter().map(|p| p.text).collect();
    let expected: Vec<String> = fixture_text("pixnet-big5.posts.txt").lines().map(str::to_string).collect();
    assert_eq!(texts, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn gbk_and_big5_article_pages_are_extracted_from_a_list_page() {
    let (base, _) = site().await;
    let h = harness(5);
    let list = source("pages", "光明网", "html", &format!("{base}/list.html"), "[selectors]\nlinks = \"ul.news a\"\n");
    let r = collector::run(&h.ctx, &list).await;
    assert!(r.ok && r.stored == 2, "{r:?}");
    let posts = h.posts();
    let gmw = posts
        .iter()
        .find(|p| p.url.as_deref() == Some(&format!("{base}/gmw.html")))
        .expect("the GBK page, canonical URL");
    // The headline without the site suffix (" _探索者 _光明网"; issue 13 item 18).
    assert_eq!(gmw.title, "宇航员在太空中喝酒会怎么样？后果很严重");
    assert!(gmw.text.contains(fixture_text("gmw-first-paragraph.txt").trim()), "{}", gmw.text);
    assert!(!gmw.text.contains("首页") && !gmw.text.contains("关于我们"), "navigation is not body: {}", gmw.text);
    assert_eq!(gmw.published_at.to_rfc3339(), "2016-03-14T10:27:00+08:00");
    let pixnet =
        posts.iter().find(|p| p.url.as_deref() == Some(&format!("{base}/pixnet.html"))).expect("the Big5 page");
    assert!(pixnet.text.contains(fixture_text("pixnet-first-line.txt").trim()), "{}", pixnet.text);
    assert!(posts.iter().all(|p| !p.text.contains('\u{fffd}')));
    // Each post links the page it was read from.
    let snaps = h.snapshots_of(&[gmw.id, pixnet.id]);
    assert_eq!(snaps.get(&gmw.id), Some(&records::sha256_hex(&fixture("gmw-gbk.html"))));
    assert_eq!(snaps.get(&pixnet.id), Some(&records::sha256_hex(&fixture("pixnet-big5.html"))));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_feed_keeps_what_parses_and_records_the_error() {
    let (base, _) = site().await;
    let h = harness(5);
    let feed = source("broken", "微博", "feed", &format!("{base}/broken.xml"), "");
    let r = collector::run(&h.ctx, &feed).await;
    assert!(r.ok, "a partly readable feed is a success: {r:?}");
    assert_eq!(r.stored, 2, "{r:?}");
    let expected: Vec<String> =
        fixture_text("weibo-gbk.posts.txt").lines().map(|l| l.split_whitespace().collect()).collect();
    let texts: Vec<String> = h.posts().iter().map(|p| p.text.split_whitespace().collect()).collect();
    assert_eq!(texts, vec![expected[0].clone(), expected[2].clone()]);
    let st = h.state("broken");
    assert!(
        st.last_error.as_deref().is_some_and(|e| e.contains("XML 格式有误") && e.contains("保留了 2 个")),
        "{st:?}"
    );
    assert_eq!(st.consecutive_failures, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_are_recorded_on_the_source_and_nothing_is_stored() {
    let (base, server_errors) = site().await;
    let h = harness(5);
    let cases = [
        ("missing", format!("{base}/missing.xml"), "", "HTTP 404"),
        ("down", format!("{base}/down.xml"), "", "HTTP 500"),
        ("slow", format!("{base}/slow.xml"), "timeout = \"1s\"\n", "超时"),
        ("loop", format!("{base}/loop/a"), "", "重定向循环"),
        ("big", format!("{base}/big.xml"), "max_bytes = 10000\n", "上限"),
        ("private", format!("{base}/private/feed.xml"), "", "robots.txt"),
    ];
    for (id, url, extra, want) in &cases {
        let r = collector::run(&h.ctx, &source(id, "站点", "feed", url, extra)).await;
        assert!(!r.ok, "{id}: {r:?}");
        let st = h.state(id);
        assert_eq!(st.consecutive_failures, 1, "{id}");
        assert!(st.last_error.as_deref().is_some_and(|e| e.contains(want)), "{id}: {st:?}");
        assert!(st.last_success_at.is_none());
        let fetches = records::fetches(h.data.lock().unwrap().store.connection(), id, 10).unwrap();
        assert!(fetches.len() == 1 && !fetches[0].ok, "{id}: {fetches:?}");
    }
    assert_eq!(server_errors.load(Ordering::SeqCst), 2, "a 500 is retried once (retries = 1)");
    assert!(h.posts().is_empty());
    // The same private feed, with a written reason to ignore robots.txt, is fetched.
    let allowed = source(
        "private2",
        "站点",
        "feed",
        &format!("{base}/private/feed.xml"),
        "ignore_robots = \"与该网站签有书面数据合作协议\"\n",
    );
    assert_eq!(collector::run(&h.ctx, &allowed).await.stored, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn search_templates_take_the_watch_rules_phrases_and_json_apis_map_fields_by_pointer() {
    let (base, _) = site().await;
    let mut h = harness(5);
    let rules = vec![yuqing_text::rules::RuleDef {
        name: "医院服务".into(),
        expr: "医院 & (排队 | 收费) & !招聘".into(),
    }];
    let phrases = collector::rule_phrases(&rules);
    assert_eq!(phrases, vec!["医院", "排队", "收费"], "what must be present, not what must be absent");
    h.ctx.rule_phrases = Arc::new(move || phrases.clone());
    let search = source("weibo-kw", "微博", "search", &format!("{base}/rsshub/weibo/keyword/{{keyword}}"), "");
    let r = collector::run(&h.ctx, &search).await;
    assert_eq!((r.ok, r.stored, r.snapshots), (true, 3, 3), "{r:?}");
    let mut titles: Vec<String> = h.posts().into_iter().map(|p| p.title).collect();
    titles.sort();
    assert_eq!(titles, vec!["医院", "排队", "收费"], "each keyword reached the route decoded");

    let api = source("hotline", "12345 热线", "json", &format!("{base}/api/list"), "tier = \"Local\"\n[fields]\nitems = \"/data/records\"\ntitle = \"/subject\"\ntext = \"/content\"\nurl = \"/detailUrl\"\npublished_at = \"/createTime\"\nplace = \"/district\"\nlikes = \"/stats/likes\"\n");
    let r = collector::run(&h.ctx, &api).await;
    assert_eq!((r.ok, r.stored), (true, 1), "{r:?}");
    let p = h.posts().into_iter().find(|p| p.source == "12345 热线").expect("the API's post");
    assert_eq!(p.url.as_deref(), Some(format!("{base}/detail/1").as_str()));
    assert_eq!(
        (p.title.as_str(), p.text.as_str(), p.place.as_deref(), p.metrics.likes),
        ("市政府常务会议", "研究部署防汛工作", Some("城南区"), 12)
    );
    assert_eq!(p.published_at.to_rfc3339(), "2026-06-01T09:30:00+08:00");
}

/// The server asks the pipeline for the phrases before each run: a rule saved on the 监测规则 page
/// is searched for at the next run, without a restart.
#[tokio::test(flavor = "multi_thread")]
async fn search_sources_follow_the_rules_edited_on_the_page() {
    let (base, _) = site().await;
    let mut h = harness(5);
    let live = h.live.clone();
    h.ctx.rule_phrases = Arc::new(move || live.rule_phrases());
    let search = source("weibo-kw", "微博", "search", &format!("{base}/rsshub/weibo/keyword/{{keyword}}"), "");
    let r = collector::run(&h.ctx, &search).await;
    assert!(!r.ok && r.errors[0].contains("没有关键词"), "no rules yet, nothing to search for: {r:?}");

    let edit = yuqing_store::rules::RuleEdit {
        name: "供暖".into(),
        expr: "供暖 & (停暖 | 不热)".into(),
        topic: None,
        department: None,
        enabled: true,
        by: "办公室".into(),
        at: chrono::Utc::now(),
    };
    yuqing_store::rules::save(h.data.lock().unwrap().store.connection(), &edit).expect("save the rule");
    let r = collector::run(&h.ctx, &search).await;
    assert_eq!((r.ok, r.stored), (true, 3), "{r:?}");
    let mut titles: Vec<String> = h.posts().into_iter().map(|p| p.title).collect();
    titles.sort();
    assert_eq!(titles, vec!["不热", "供暖", "停暖"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_etag_brings_a_304_and_nothing_new() {
    let (base, _) = site().await;
    let h = harness(5);
    let feed = source("people", "人民日报", "feed", &format!("{base}/people.json"), "tier = \"Central\"\n");
    let first = collector::run(&h.ctx, &feed).await;
    assert_eq!((first.ok, first.stored), (true, 3), "{first:?}");
    assert_eq!(h.state("people").etag.as_deref(), Some("\"v1\""));
    let second = collector::run(&h.ctx, &feed).await;
    assert!(second.ok && second.not_modified && second.items == 0 && second.stored == 0, "{second:?}");
    let posts = h.posts();
    assert_eq!(posts.len(), 3);
    assert!(posts.iter().all(|p| p.tier == yuqing_core::SourceTier::Central && p.source == "人民日报"));
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_raise_the_source_alert_once() {
    let (base, _) = site().await;
    let h = harness(2);
    {
        let d = h.data.lock().unwrap();
        let u = yuqing_store::desk::NewUser {
            name: "office".into(),
            display_name: "办公室".into(),
            role: Some(yuqing_core::people::Role::Coordinator),
            ..Default::default()
        };
        yuqing_store::desk::add_user(
            d.store.connection(),
            &u,
            &yuqing_store::desk::token_hash("t"),
            chrono::Utc::now(),
        )
        .unwrap();
    }
    let feed = source("gone", "某论坛", "feed", &format!("{base}/missing.xml"), "department = \"网信办\"\n");
    for _ in 0..3 {
        collector::run(&h.ctx, &feed).await;
    }
    let msgs = yuqing_store::outbox::list(h.data.lock().unwrap().store.connection(), None, 50, 0).unwrap();
    let alerts: Vec<_> = msgs.iter().filter(|m| m.subject.contains("信息源异常")).collect();
    assert_eq!(alerts.len(), 1, "{msgs:?}");
    assert!(alerts[0].body.contains("连续 2 次") && alerts[0].body.contains("HTTP 404"), "{}", alerts[0].body);
    assert_eq!(h.state("gone").consecutive_failures, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drop_folder_is_read_once_and_emptied() {
    let h = harness(5);
    let dir = h._tmp.path().join("drop");
    std::fs::create_dir_all(&dir).unwrap();
    let lines = "{\"source\":\"外部采集\",\"url\":\"https://bbs.example/t/1\",\"text\":\"市第一医院挂号排队三个小时\"}\n{\"text\":\"没有网址的一条\"}\n{\"title\":\n";
    std::fs::write(dir.join("a.jsonl"), lines).unwrap();
    let folder = source("drop", "投放", "folder", &dir.display().to_string(), "");
    let r = collector::run(&h.ctx, &folder).await;
    assert_eq!((r.ok, r.stored), (true, 2), "{r:?}");
    assert!(r.errors.iter().any(|e| e.contains("a.jsonl 第 3 行")), "{r:?}");
    assert!(!dir.join("a.jsonl").exists() && dir.join("done/a.jsonl").exists());
    // The same file dropped again (a crawler retrying) is not read again.
    std::fs::write(dir.join("b.jsonl"), lines).unwrap();
    let r = collector::run(&h.ctx, &folder).await;
    assert_eq!((r.items, r.stored), (0, 0), "{r:?}");
    assert_eq!(h.posts().len(), 2);
    assert!(h.posts().iter().all(|p| p.source == "外部采集" || p.source == "投放"));
}
