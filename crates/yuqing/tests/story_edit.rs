//! Merging and splitting stories by hand, through the real binary: the `merge`/`split` commands,
//! the story page's forms (signed in, with the CSRF token, as a browser posts them), the JSON API,
//! the role table, links to a merged story, and the audit log.

mod common;

use chrono::{SecondsFormat, Utc};
use common::*;
use serde_json::{json, Value};

const WATER: [&str; 3] = [
    "滨江小区停水三天，居民生活受到严重影响，物业至今没有答复",
    "滨江小区连续停水三天，老人孩子生活困难，物业不接电话",
    "滨江小区停水第三天，居民排队接水，自来水公司说在抢修",
];
const ADS: [&str; 3] = [
    "超市优惠券限时领取，进口零食全场五折包邮",
    "进口零食超市优惠券，全场五折，限时包邮领取",
    "限时领取超市进口零食优惠券，五折包邮",
];
const REPAIR: &str = "自来水公司回应滨江片区管网爆裂抢修进度，预计明晚恢复供水";

/// Posts a minute apart ending now: the stoppage and advertisements under one hashtag, then the
/// water company's answer (a story of its own).
fn input() -> String {
    let mut texts: Vec<String> = Vec::new();
    for i in 0..3 {
        texts.push(format!("#滨江小区停水#{}", WATER[i]));
        texts.push(format!("#滨江小区停水#{}", ADS[i]));
    }
    texts.push(REPAIR.to_string());
    let n = texts.len() as i64;
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let at = Utc::now() - chrono::Duration::minutes(n - i as i64);
            json!({"source": "微博", "url": format!("https://weibo.example/{i}"), "text": t, "published_at": at.to_rfc3339_opts(SecondsFormat::Secs, true)})
                .to_string()
                + "\n"
        })
        .collect()
}

fn setup(tmp: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<i64>) {
    let data = tmp.join("data");
    let cfg = tmp.join("yuqing.toml");
    std::fs::write(&cfg, "[organization]\nname = \"某区政府\"\n").unwrap();
    let file = tmp.join("posts.jsonl");
    std::fs::write(&file, input()).unwrap();
    let out = run(yuqing(&data).arg("--config").arg(&cfg).args(["ingest"]).arg(&file));
    assert!(out.status.success(), "{}", stderr(&out));
    let posts = run_json(yuqing(&data).arg("--config").arg(&cfg).args(["--json", "stories", "--all", "--limit", "50"]));
    let ids: Vec<i64> = posts["stories"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect();
    (data, cfg, ids)
}

/// (story of each input post), read back through `yuqing story --json`.
fn story_posts(data: &std::path::Path, cfg: &std::path::Path, story: i64) -> Vec<(i64, String)> {
    let v =
        run_json(yuqing(data).arg("--config").arg(cfg).args(["--json", "story", &story.to_string(), "--posts", "100"]));
    v["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["text"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn the_commands_split_and_merge_and_say_what_they_did() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, cfg, stories) = setup(tmp.path());
    assert_eq!(stories.len(), 2, "the hashtag story and the answer: {stories:?}");
    let mixed = *stories.iter().find(|s| story_posts(&data, &cfg, **s).len() == 6).expect("the mixed story");
    let answer = *stories.iter().find(|s| **s != mixed).unwrap();
    let ads: Vec<String> = story_posts(&data, &cfg, mixed)
        .into_iter()
        .filter(|(_, t)| t.contains("优惠券"))
        .map(|(id, _)| id.to_string())
        .collect();
    assert_eq!(ads.len(), 3);

    // No reason: refused, nothing changes.
    let out = run(yuqing(&data).arg("--config").arg(&cfg).args([
        "split",
        &mixed.to_string(),
        "--posts",
        &ads.join(","),
        "--reason",
        " ",
    ]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("原因"), "{}", stderr(&out));
    assert_eq!(story_posts(&data, &cfg, mixed).len(), 6);

    let split = run_json(yuqing(&data).arg("--config").arg(&cfg).args([
        "--json",
        "split",
        &mixed.to_string(),
        "--posts",
        &ads.join(","),
        "--reason",
        "广告借用话题",
    ]));
    let new = split["story"].as_i64().unwrap();
    assert!(story_posts(&data, &cfg, new).iter().all(|(_, t)| t.contains("优惠券")));
    assert!(story_posts(&data, &cfg, mixed).iter().all(|(_, t)| t.contains("停水")));

    let out = run(yuqing(&data).arg("--config").arg(&cfg).args([
        "merge",
        &mixed.to_string(),
        &answer.to_string(),
        "--reason",
        "抢修回应属于停水这件事",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("已把事件 #{answer} 并入 #{mixed}")), "{}", stdout(&out));
    assert_eq!(story_posts(&data, &cfg, mixed).len(), 4);
    let out = run(yuqing(&data).arg("--config").arg(&cfg).args(["story", &answer.to_string()]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("已并入 #{mixed}")), "{}", stderr(&out));
    // Merging it again is refused with the reason.
    let out = run(yuqing(&data).arg("--config").arg(&cfg).args([
        "merge",
        &mixed.to_string(),
        &answer.to_string(),
        "--reason",
        "再来一次",
    ]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("舆情事件 #{answer} 已并入 #{mixed}")), "{}", stderr(&out));
}

#[test]
fn the_story_page_splits_and_merges_for_the_office_and_not_for_viewers() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, cfg, stories) = setup(tmp.path());
    let password = "Story-edit-2026";
    let office = add_user_with_password(
        &data,
        &cfg,
        &["bangong", "--role", "coordinator", "--display-name", "办公室"],
        password,
    );
    add_user_with_password(&data, &cfg, &["kan", "--role", "viewer", "--display-name", "只读"], password);
    let server = serve(&data, &cfg);
    let addr = server.addr.clone();

    let mixed = *stories.iter().find(|s| story_posts_api(&addr, &office, **s).len() == 6).expect("the mixed story");
    let answer = *stories.iter().find(|s| **s != mixed).unwrap();
    let cookie = sign_in(&addr, "bangong", password);
    let (status, page) = http_get_as(&addr, &format!("/stories/{mixed}"), &cookie);
    assert_eq!(status, 200);
    assert!(
        page.contains("人工调整")
            && page.contains("移出为新事件")
            && page.contains(&format!("action=\"/stories/{mixed}/merge\"")),
        "{page}"
    );
    assert!(page.contains("type=\"checkbox\" name=\"post\""), "a box beside each post");
    let csrf = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the form's CSRF token")
        .to_string();

    // Split: the advertisements' boxes ticked, as the browser posts them.
    let ads: Vec<i64> = story_posts_api(&addr, &office, mixed)
        .into_iter()
        .filter(|(_, t)| t.contains("优惠券"))
        .map(|(id, _)| id)
        .collect();
    let boxes: String = ads.iter().map(|id| format!("&post={id}")).collect();
    let body = format!("_csrf={}{boxes}&posts=&reason={}", urlencoding_min(&csrf), urlencoding_min("广告借用话题"));
    let form = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", cookie.as_str())];
    let (status, head, _) = http_with(&addr, "POST", &format!("/stories/{mixed}/split"), &form, body.as_bytes());
    assert_eq!(status, 303, "{head}");
    let location =
        head.lines().find(|l| l.to_ascii_lowercase().starts_with("location:")).expect("a redirect").to_string();
    let new: i64 = location
        .split("/stories/")
        .nth(1)
        .and_then(|r| r.split('?').next())
        .and_then(|n| n.trim().parse().ok())
        .expect("the new story");
    let (_, page) = http_get_as(&addr, &format!("/stories/{new}"), &cookie);
    assert!(
        page.contains(&format!("由 <a href=\"/stories/{mixed}\">事件 #{mixed}</a> 拆分而来"))
            && page.contains("广告借用话题"),
        "{page}"
    );

    // Merge: the water company's answer into the stoppage; the answer's link leads there.
    let body = format!("_csrf={}&from={answer}&reason={}", urlencoding_min(&csrf), urlencoding_min("同一件事"));
    let (status, head, _) = http_with(&addr, "POST", &format!("/stories/{mixed}/merge"), &form, body.as_bytes());
    assert_eq!(status, 303, "{head}");
    let (status, head, _) = http_with(&addr, "GET", &format!("/stories/{answer}"), &[("Cookie", cookie.as_str())], b"");
    assert_eq!(status, 303);
    assert!(head.contains(&format!("/stories/{mixed}?merged={answer}")), "{head}");
    let gone = api(&addr, "GET", &format!("/api/v1/stories/{answer}"), &office, &Value::Null, 404);
    assert_eq!(gone["merged_into"], mixed, "{gone}");
    let (_, page) = http_get_as(&addr, &format!("/stories/{mixed}?merged={answer}"), &cookie);
    assert!(page.contains(&format!("事件 #{answer} 已并入本事件")) && page.contains("同一件事"), "{page}");
    // A refusal is a page that says why.
    let (status, _, page) = http_with(&addr, "POST", &format!("/stories/{mixed}/merge"), &form, body.as_bytes());
    assert_eq!(status, 409);
    assert!(page.contains(&format!("舆情事件 #{answer} 已并入 #{mixed}")), "{page}");

    // The JSON API: move one stoppage post out, then back in by merging.
    let water = story_posts_api(&addr, &office, mixed)[0].0;
    let r = api(
        &addr,
        "POST",
        &format!("/api/v1/stories/{mixed}/split"),
        &office,
        &json!({"posts": [water], "reason": "试拆"}),
        200,
    );
    let lone = r["story"].as_i64().unwrap();
    api(
        &addr,
        "POST",
        &format!("/api/v1/stories/{mixed}/merge"),
        &office,
        &json!({"from": lone, "reason": "试拆后合回"}),
        200,
    );
    let e = api(
        &addr,
        "POST",
        &format!("/api/v1/stories/{mixed}/split"),
        &office,
        &json!({"posts": [999999], "reason": "无此帖"}),
        409,
    );
    assert!(e["error"].as_str().unwrap().contains("不属于"), "{e}");

    // Viewers read but may not change stories.
    let viewer = sign_in(&addr, "kan", password);
    let (_, page) = http_get_as(&addr, &format!("/stories/{mixed}"), &viewer);
    assert!(
        !page.contains("移出为新事件") && !page.contains("type=\"checkbox\" name=\"post\""),
        "no forms for a viewer"
    );
    let vcsrf =
        page.split("name=\"_csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
    let body = format!("_csrf={}&from={new}&reason=x", urlencoding_min(&vcsrf));
    let (status, _, _) = http_with(
        &addr,
        "POST",
        &format!("/stories/{mixed}/merge"),
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", viewer.as_str())],
        body.as_bytes(),
    );
    assert_eq!(status, 403);

    // Every change is on the audit log, and the chain holds.
    let audit = api(&addr, "GET", "/api/v1/audit?limit=100", &office, &Value::Null, 200);
    let text = audit.to_string();
    assert!(text.contains("story.split") && text.contains("story.merge") && text.contains("广告借用话题"), "{text}");
    let verify = api(&addr, "GET", "/api/v1/audit/verify", &office, &Value::Null, 200);
    assert_eq!(verify["ok"], true, "{verify}");
}

fn story_posts_api(addr: &str, token: &str, story: i64) -> Vec<(i64, String)> {
    let v = api(addr, "GET", &format!("/api/v1/stories/{story}?limit=100"), token, &Value::Null, 200);
    v["posts"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["text"].as_str().unwrap().to_string()))
        .collect()
}
