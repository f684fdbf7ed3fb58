//! A small stored world for the report tests: two stories on 2026-11-20 (China time), one graded
//! II on education with an incident that was reported in time, verified, answered late with an
//! approved statement; and the helper that reads Office files with python-docx / openpyxl.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Duration, TimeZone, Utc};
use yuqing_core::incident::statement::StatementVersion;
use yuqing_core::incident::{
    Channel, DeadlineKind, DeadlinePolicy, Incident, Opening, Publication, RouteMatch, Statement, StatementStatus,
};
use yuqing_core::people::{Actor, Role};
use yuqing_core::{Grade, Hit, JoinReason, Metrics, Sentiment, SourceTier, StoryStatus};
use yuqing_store::{desk, PostRecord, SqliteStore, Store, StoryRecord, WriteBatch};

/// 2026-11-20 10:00 China time.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

fn story(id: i64, title: &str, grade: Option<Grade>, topic: &str, posts: u64) -> StoryRecord {
    StoryRecord {
        id,
        status: StoryStatus::Open,
        title: title.into(),
        keywords: vec![],
        first_at: t0(),
        last_at: t0() + Duration::hours(3),
        grade,
        reasons: vec![],
        manual: None,
        posts,
        sites: 2,
        max_tier: SourceTier::Local,
        interactions: 10,
        negative_share: 0.5,
        rule_hits: vec![],
        topics: vec![(topic.into(), posts)],
        severe_words: vec![],
        centroid: vec![],
        index_terms: vec![],
        updated_at: t0(),
    }
}

#[allow(clippy::too_many_arguments)]
fn post(
    id: i64,
    story_id: i64,
    title: &str,
    url: &str,
    at: DateTime<Utc>,
    rule: bool,
    sentiment: Sentiment,
    likes: u64,
) -> PostRecord {
    PostRecord {
        id,
        story_id,
        dedup_key: id as u64,
        content_hash: id as u64,
        duplicate_of: None,
        source: "微博".into(),
        url: Some(url.into()),
        title: title.into(),
        text: format!("{title}，网民热议"),
        author: Some("某网民".into()),
        place: None,
        published_at: at.fixed_offset(),
        time_estimated: false,
        ingested_at: at,
        tier: SourceTier::Community,
        metrics: Metrics { reads: 0, comments: 0, reposts: 0, likes },
        simhash: id as u64,
        sentiment,
        sentiment_score: 0.5,
        topics: vec![],
        hits: if rule { vec![Hit { rule: "教育收费".into(), terms: vec!["收费".into()] }] } else { vec![] },
        severe_words: vec![],
        keywords: vec![],
        join: JoinReason::New,
    }
}

pub fn actor(name: &str, role: Role) -> Actor {
    Actor { name: name.into(), display_name: name.into(), role, department: None, titles: vec![] }
}

/// Opens a store in `dir` and fills it. Returns the store and the incident id.
pub fn world(dir: &Path) -> (SqliteStore, i64) {
    let mut st = SqliteStore::open(&dir.join("yuqing.db")).unwrap();
    let batch = WriteBatch {
        posts: vec![
            post(1, 1, "某中学违规收取补课费", "https://weibo.example/1", t0(), true, Sentiment::Negative, 50),
            post(
                2,
                1,
                "家长反映补课费问题",
                "https://bbs.example/2",
                t0() + Duration::hours(1),
                false,
                Sentiment::Negative,
                5,
            ),
            post(
                3,
                2,
                "地铁站电梯故障",
                "https://weibo.example/3",
                t0() + Duration::hours(2),
                true,
                Sentiment::Neutral,
                1,
            ),
            post(
                4,
                3,
                "今日天气晴好",
                "https://weibo.example/4",
                t0() + Duration::hours(2),
                false,
                Sentiment::Positive,
                0,
            ),
            // The next local day: not in the digest of the 20th.
            post(
                5,
                1,
                "补课费后续",
                "https://weibo.example/5",
                t0() + Duration::hours(15),
                true,
                Sentiment::Negative,
                0,
            ),
        ],
        stories: vec![
            story(1, "某中学违规收取补课费", Some(Grade::II), "教育", 3),
            story(2, "地铁站电梯故障", None, "交通", 1),
            story(3, "今日天气晴好", None, "其他", 1),
        ],
        alerts: vec![],
        closed: vec![],
        themes: vec![],
        places: vec![],
    };
    st.write(&batch).unwrap();
    let conn = st.connection();
    let opening = Opening {
        id: 1,
        title: "某中学违规收取补课费".into(),
        stories: vec![1],
        grade: Grade::II,
        grade_reason: "央级媒体转载".into(),
        first_post_at: Some(t0()),
        alert: Some((1, t0())),
        routes: vec![RouteMatch {
            department: "市教育局".into(), because: "监测规则“教育收费”".into()
        }],
    };
    let (mut inc, events) = Incident::open(opening, &DeadlinePolicy::default(), &actor("system", Role::Admin), t0());
    inc.findings = Some("经核查，该校确有违规收取补课费行为，已责令退还。".into());
    inc.reported_at = Some(t0() + Duration::minutes(10));
    inc.responded_at = Some(t0() + Duration::hours(30));
    for d in inc.deadlines.iter_mut() {
        match d.kind {
            DeadlineKind::FirstReport => d.met_at = Some(t0() + Duration::minutes(10)),
            // Answered after the 12-hour clock of grade II.
            DeadlineKind::PublicResponse => d.met_at = Some(t0() + Duration::hours(30)),
            _ => {}
        }
    }
    for task in inc.tasks.iter_mut().take(1) {
        task.done_at = Some(t0() + Duration::hours(1));
        task.note = Some("约谈校长".into());
    }
    inc.statements.push(Statement {
        id: 1,
        title: "情况通报".into(),
        status: StatementStatus::Approved,
        versions: vec![StatementVersion {
            number: 1,
            text: "我局已责令该校全额退还补课费，并对相关责任人严肃处理。".into(),
            author: "edu".into(),
            at: t0(),
        }],
        chain: vec![],
        approvals: vec![],
        round_start: 0,
        approved_version: Some(1),
        approved_at: Some(t0() + Duration::hours(20)),
    });
    inc.publications.push(Publication {
        statement: 1,
        version: 1,
        channel: Channel::Weibo,
        url: Some("https://weibo.example/gov/1".into()),
        at: t0() + Duration::hours(30),
        spokesperson: "新闻发言人".into(),
        recorded_by: "office".into(),
        answers_node: None,
    });
    desk::save_incident(conn, &inc, &events, t0()).unwrap();
    (st, inc.id)
}

/// What python-docx or openpyxl read from `path`.
pub fn read_office(path: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/read_office.py");
    let out = Command::new("python3").arg(&script).arg(path).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "reading {} with python-docx/openpyxl failed (install them: python3 -m pip install python-docx openpyxl):\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the reader prints JSON")
}

/// All paragraph texts of a DOCX reading, joined by newlines.
pub fn docx_text(v: &serde_json::Value) -> String {
    let mut s: Vec<String> =
        v["paragraphs"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap_or("").to_string()).collect();
    for t in v["tables"].as_array().unwrap() {
        for row in t.as_array().unwrap() {
            for c in row.as_array().unwrap() {
                s.push(c.as_str().unwrap_or("").to_string());
            }
        }
    }
    s.join("\n")
}

/// The page of GB/T 9704: A4 with margins 37/35/28/26 mm (to 0.1 mm).
pub fn assert_gb9704_page(v: &serde_json::Value) {
    let sec = &v["section"];
    for (k, want) in [
        ("page_w_mm", 210.0),
        ("page_h_mm", 297.0),
        ("top_mm", 37.0),
        ("bottom_mm", 35.0),
        ("left_mm", 28.0),
        ("right_mm", 26.0),
    ] {
        let got = sec[k].as_f64().unwrap();
        assert!((got - want).abs() < 0.1, "{k}: {got} mm, want {want} mm");
    }
}

/// The title paragraph is 小标宋 22 pt centred; every body run is 仿宋_GB2312 16 pt.
pub fn assert_gb9704_fonts(v: &serde_json::Value, title: &str) {
    let paras = v["paragraphs"].as_array().unwrap();
    let t = &paras[0];
    assert_eq!(t["text"], title);
    assert_eq!(t["style"], "Title");
    assert!(t["align"].as_str().unwrap_or("").contains("CENTER"), "{t}");
    for r in t["runs"].as_array().unwrap() {
        assert_eq!(r["east_asia"], "方正小标宋简体");
        assert_eq!(r["size_pt"], 22.0);
    }
    let body: Vec<_> =
        paras.iter().filter(|p| p["style"] == "Normal" && !p["text"].as_str().unwrap_or("").is_empty()).collect();
    assert!(!body.is_empty());
    for p in body {
        for r in p["runs"].as_array().unwrap() {
            assert_eq!(r["east_asia"], "仿宋_GB2312", "{p}");
            assert_eq!(r["size_pt"], 16.0, "{p}");
        }
    }
    for p in paras.iter().filter(|p| p["style"] == "Heading 1") {
        assert_eq!(p["runs"][0]["east_asia"], "黑体");
    }
    for p in paras.iter().filter(|p| p["style"] == "Heading 2") {
        assert_eq!(p["runs"][0]["east_asia"], "楷体_GB2312");
    }
    let styles = &v["styles"];
    assert_eq!(styles["Normal"]["east_asia"], "仿宋_GB2312");
    assert_eq!(styles["Normal"]["size_pt"], 16.0);
    assert_eq!(styles["Title"]["size_pt"], 22.0);
    let fonts = v["fonts"].as_array().unwrap();
    let alt = |name: &str| fonts.iter().find(|f| f["name"] == name).map(|f| f["alt"].clone());
    assert_eq!(alt("仿宋_GB2312"), Some(serde_json::json!("仿宋")), "fallbacks declared: {fonts:?}");
    assert_eq!(alt("仿宋"), Some(serde_json::json!("FangSong")));
    assert_eq!(alt("FangSong"), Some(serde_json::json!("STFangsong")));
}
