//! 专题 (themes) above stories, through the real binary: `yuqing themes`, the counts after ingest
//! in one go or in parts, after a split by hand, after the configured expression changed (every
//! stored post classified again), and the pages and API an officer opens.

mod common;

use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use common::*;
use serde_json::{json, Value};

const FACTORY: [&str; 3] = [
    "#城东工业园复工#城东工业园今天起分批复工，返岗员工需要十四天健康证明",
    "#城东工业园复工#城东工业园复工第一天，员工返岗排队测体温，食堂分餐",
    "#城东工业园复工#城东工业园部分企业复工后口罩不够用，员工自带",
];
const WATER: [&str; 3] = [
    "#滨江小区停水#滨江小区停水三天，居民生活受到严重影响，物业至今没有答复",
    "#滨江小区停水#滨江小区连续停水三天，老人孩子生活困难，物业不接电话",
    "#滨江小区停水#滨江小区停水第三天，居民排队接水，自来水公司说在抢修",
];

fn config(masks: &str) -> String {
    format!(
        "[organization]\nname = \"某区政府\"\n\n[[themes]]\nname = \"复工复产\"\nexpr = '复工 | 返岗'\ndescription = \"企业复工与员工返岗\"\n\n\
         [[themes]]\nname = \"民生保障\"\nexpr = '{masks}'\n"
    )
}

fn lines(texts: &[&str], from: usize) -> String {
    let n = texts.len() as i64;
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = Utc::now() - chrono::Duration::minutes(2 * n - i as i64);
            json!({"source": "微博", "url": format!("https://weibo.example/{}", from + i), "text": t, "published_at": at.to_rfc3339_opts(SecondsFormat::Secs, true)})
                .to_string()
                + "\n"
        })
        .collect()
}

fn ingest(data: &Path, cfg: &Path, file: &Path, content: &str) {
    std::fs::write(file, content).unwrap();
    let out = run(yuqing(data).arg("--config").arg(cfg).arg("ingest").arg(file));
    assert!(out.status.success(), "{}", stderr(&out));
}

fn themes(data: &Path, cfg: &Path) -> Value {
    run_json(yuqing(data).arg("--config").arg(cfg).args(["--json", "themes", "--min-posts", "1"]))
}

/// (theme, stories, posts) of every theme.
fn counts(v: &Value) -> Vec<(String, u64, u64)> {
    v["themes"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|t| {
            (t["name"].as_str().unwrap().to_string(), t["stories"].as_u64().unwrap(), t["posts"].as_u64().unwrap())
        })
        .collect()
}

/// (story id, posts, matched) of a theme's stories.
fn theme_stories(data: &Path, cfg: &Path, name: &str) -> Vec<(i64, u64, u64)> {
    let v = run_json(yuqing(data).arg("--config").arg(cfg).args(["--json", "themes", name, "--min-posts", "1"]));
    v["stories"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|s| (s["id"].as_i64().unwrap(), s["posts"].as_u64().unwrap(), s["matched"].as_u64().unwrap()))
        .collect()
}

fn setup(tmp: &Path) -> (PathBuf, PathBuf) {
    let data = tmp.join("data");
    let cfg = tmp.join("yuqing.toml");
    std::fs::write(&cfg, config("口罩 | 停水")).unwrap();
    let mut all: Vec<&str> = FACTORY.to_vec();
    all.extend(WATER);
    ingest(&data, &cfg, &tmp.join("posts.jsonl"), &lines(&all, 0));
    (data, cfg)
}

#[test]
fn themes_hold_the_stories_whose_posts_match_and_follow_edits_and_config_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, cfg) = setup(tmp.path());
    // 复工复产: the factory story, all three posts. 民生保障: the water story (3 of 3) and the
    // factory story, where only one post in three names 口罩 (a third: the default share).
    assert_eq!(counts(&themes(&data, &cfg)), vec![("复工复产".into(), 1, 3), ("民生保障".into(), 2, 4)]);
    let factory = theme_stories(&data, &cfg, "复工复产");
    assert_eq!(factory.iter().map(|s| (s.1, s.2)).collect::<Vec<_>>(), vec![(3, 3)]);
    let factory = factory[0].0;

    // The same posts ingested in two parts give the same counts (matches are stored with the posts).
    let parts = tmp.path().join("parts");
    let mut first: Vec<&str> = FACTORY[..2].to_vec();
    first.extend(&WATER[..1]);
    ingest(&parts, &cfg, &tmp.path().join("a.jsonl"), &lines(&first, 0));
    let mut second: Vec<&str> = FACTORY[2..].to_vec();
    second.extend(&WATER[1..]);
    ingest(&parts, &cfg, &tmp.path().join("b.jsonl"), &lines(&second, 10));
    assert_eq!(counts(&themes(&parts, &cfg)), counts(&themes(&data, &cfg)));

    // A split by hand: the counts follow the posts.
    let story = run_json(yuqing(&data).arg("--config").arg(&cfg).args([
        "--json",
        "story",
        &factory.to_string(),
        "--posts",
        "10",
    ]));
    let masks: Vec<String> = story["posts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["text"].as_str().unwrap().contains("口罩"))
        .map(|p| p["id"].to_string())
        .collect();
    assert_eq!(masks.len(), 1);
    let split = run_json(yuqing(&data).arg("--config").arg(&cfg).args([
        "--json",
        "split",
        &factory.to_string(),
        "--posts",
        &masks[0],
        "--reason",
        "口罩另作一事",
    ]));
    let new = split["story"].as_i64().unwrap();
    let mut after = theme_stories(&data, &cfg, "复工复产");
    after.sort();
    assert_eq!(after, vec![(factory, 2, 2), (new, 1, 1)]);
    let people = theme_stories(&data, &cfg, "民生保障");
    assert!(people.contains(&(new, 1, 1)) && !people.iter().any(|s| s.0 == factory), "{people:?}");

    // Another expression for a theme: every stored post is classified again when the program
    // next opens the data directory.
    std::fs::write(&cfg, config("停水 & 物业")).unwrap();
    let people = theme_stories(&data, &cfg, "民生保障");
    assert_eq!(people.iter().map(|s| (s.1, s.2)).collect::<Vec<_>>(), vec![(3, 2)], "two water posts name the 物业");
    assert_eq!(counts(&themes(&data, &cfg))[1], ("民生保障".into(), 1, 2));

    // An unknown theme is refused with the configured ones named.
    let out = run(yuqing(&data).arg("--config").arg(&cfg).args(["themes", "交通"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("复工复产、民生保障"), "{}", stderr(&out));
}

#[test]
fn an_officer_opens_a_theme_and_sees_its_stories() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, cfg) = setup(tmp.path());
    let password = "Themes-page-2026";
    let token = add_user_with_password(&data, &cfg, &["kan", "--role", "viewer", "--display-name", "只读"], password);
    let server = serve(&data, &cfg);
    let addr = server.addr.clone();
    let cookie = sign_in(&addr, "kan", password);

    let (status, page) = http_get_as(&addr, "/themes", &cookie);
    assert_eq!(status, 200);
    let href = format!("/themes/{}", urlencoding_min("复工复产"));
    assert!(
        page.contains(&format!("href=\"{href}\"")) && page.contains("企业复工与员工返岗") && page.contains("民生保障"),
        "{page}"
    );

    let (status, page) = http_get_as(&addr, &href, &cookie);
    assert_eq!(status, 200);
    let listed =
        api(&addr, "GET", &format!("/api/v1/themes/{}", urlencoding_min("复工复产")), &token, &Value::Null, 200);
    let factory = listed["stories"][0]["id"].as_i64().unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(listed["stories"][0]["matched"], 3);
    assert!(page.contains(&format!("href=\"/stories/{factory}\"")) && page.contains("城东工业园"), "{page}");
    assert!(page.contains("每日命中帖文") && page.contains("<svg"), "the daily chart");
    assert!(
        page.contains(&format!("href=\"{href}?order=recent\"")) && page.contains(&format!("href=\"{href}?all=1\"")),
        "the list's tabs"
    );
    let (status, recent) = http_get_as(&addr, &format!("{href}?order=recent&all=1"), &cookie);
    assert_eq!(status, 200);
    assert!(recent.contains("<b>按最近</b>") && recent.contains(&format!("href=\"{href}?all=1\">按级别")), "{recent}");

    let (status, story) = http_get_as(&addr, &format!("/stories/{factory}"), &cookie);
    assert_eq!(status, 200);
    assert!(story.contains(&format!("专题：<a href=\"{href}\">复工复产</a>（3 条）")), "{story}");

    let list = api(&addr, "GET", "/api/v1/themes", &token, &Value::Null, 200);
    assert_eq!(list["themes"][0]["name"], "复工复产");
    let one = api(
        &addr,
        "GET",
        &format!("/api/v1/themes/{}?min_posts=1", urlencoding_min("民生保障")),
        &token,
        &Value::Null,
        200,
    );
    assert_eq!(one["total"], 2);
    let daily: u64 = one["daily"].as_array().unwrap().iter().map(|d| d["posts"].as_u64().unwrap()).sum();
    assert_eq!(daily, 4, "posts per day add up to the theme's posts: {one}");
    api(&addr, "GET", &format!("/api/v1/themes/{}", urlencoding_min("交通")), &token, &Value::Null, 404);
    api(
        &addr,
        "GET",
        &format!("{}?order=hot", href.replacen("/themes", "/api/v1/themes", 1)),
        &token,
        &Value::Null,
        400,
    );
    let (status, _) = http_get_as(&addr, "/themes/%E4%BA%A4%E9%80%9A", &cookie);
    assert_eq!(status, 404);
    let (status, _) = http_get(&addr, "/themes");
    assert_ne!(status, 200, "signed out: not shown");
}
