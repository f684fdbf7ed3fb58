//! The demo end to end: `yuqing demo` replays the shipped real sample, grades stories and serves the
//! desk; it prints a demo account, with which the pages and the JSON API answer, and hostile requests
//! get a 400, never a crash.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn demo_serves_graded_stories_from_real_posts_with_their_reasons() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, _) = start_demo(tmp.path());
    let addr = server.addr.clone();
    assert!(server.output.iter().any(|l| l.contains("回放完成")), "{:?}", server.output);

    // Everything but the health check and the sign-in form needs an account; the demo prints one.
    let (status, _) = http_get(&addr, "/api/v1/stories");
    assert_eq!(status, 401);
    let (status, _, _) = http_with(&addr, "GET", "/", &[], b"");
    assert_eq!(status, 303, "pages send strangers to the sign-in form");
    let account = server.output.iter().find(|l| l.starts_with("演示账号：")).expect("the demo prints its account");
    let rest = account.trim_start_matches("演示账号：");
    let (name, rest) = rest.split_once('　').unwrap();
    let password = rest.trim_start_matches("密码：").split('（').next().unwrap();
    let cookie = sign_in(&addr, name, password);
    let http_get = |addr: &str, path: &str| http_get_as(addr, path, &cookie);

    // The API: graded stories, highest grade first, each with reasons that carry numbers.
    let (status, body) = http_get(&addr, "/api/v1/stories?limit=50");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let stories = v["stories"].as_array().unwrap();
    assert!(stories.len() >= 5, "the demo grades several stories: {}", v["total"]);
    let top = &stories[0];
    let grade = top["grade"].as_str().unwrap();
    assert!(["I", "II"].contains(&grade), "the top story of the covid sample reaches II or I: {top}");
    assert!(top["reasons"].as_array().unwrap().iter().any(|r| r["detail"]
        .as_str()
        .unwrap()
        .chars()
        .any(|c| c.is_ascii_digit())));
    let (_, stats) = http_get(&addr, "/api/v1/stats");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert!(stats["posts"].as_u64().unwrap() > 14_000, "{stats}");

    // The pages.
    let (status, index) = http_get(&addr, "/");
    assert_eq!(status, 200);
    assert!(index.contains("演示数据") && index.contains(&format!("{grade}级")), "{index}");
    let id = top["id"].as_i64().unwrap();
    assert!(index.contains(&format!("/stories/{id}")));
    // The dashboard: numbers and charts filled from the demo data (the demo's clock stands at the
    // end of the replay), live fragment, big-screen mode.
    assert!(index.contains("今日帖文") && index.contains("近 7 天帖文") && index.contains("<rect"), "{index}");
    let (status, fragment) = http_get(&addr, "/dashboard/fragment");
    assert_eq!(status, 200);
    assert!(fragment.contains("热点事件") && !fragment.contains("<html"));
    let (status, big) = http_get(&addr, "/?screen=1");
    assert_eq!(status, 200);
    assert!(big.contains("<body class=\"big\">"));
    // The rule workbench: a valid rule counts its matches in the replayed week with samples; a
    // broken one shows where. (复工 | 口罩: the last replayed week is about masks and going back to work.)
    let (status, rules) = http_get(&addr, "/rules?expr=%E5%A4%8D%E5%B7%A5%20%7C%20%E5%8F%A3%E7%BD%A9");
    assert_eq!(status, 200);
    assert!(rules.contains("语法正确") && rules.contains("命中 <b>"), "{rules}");
    assert!(!rules.contains("命中 <b>0</b>"), "the week holds posts about it: {rules}");
    let (status, broken) = http_get(&addr, "/rules?expr=%E5%8F%8C%E9%BB%84%E8%BF%9E%20%26%26");
    assert_eq!(status, 200);
    assert!(broken.contains("mark class=\"err\"") && broken.contains("字符处"), "{broken}");
    let (status, stories) = http_get(&addr, "/stories");
    assert_eq!(status, 200);
    assert!(stories.contains(&format!("/stories/{id}")));
    let (status, page) = http_get(&addr, &format!("/stories/{id}"));
    assert_eq!(status, 200);
    assert!(page.contains("定级依据") && page.contains("<svg"), "story page shows reasons and the heat chart");
    let (status, search) = http_get(&addr, "/search?q=%E5%8F%8C%E9%BB%84%E8%BF%9E"); // 双黄连
    assert_eq!(status, 200);
    assert!(search.contains("<mark>双黄连</mark>"), "search highlights the term");
    let (status, _) = http_get(&addr, "/alerts");
    assert_eq!(status, 200);

    // Hostile or malformed requests: clear 4xx, and the server keeps serving.
    for path in [
        "/stories/abc",
        "/stories/99999999999999999999999",
        "/api/v1/stories?limit=-1",
        "/stories?page=x",
        "/api/v1/search",
    ] {
        let (status, body) = http_get(&addr, path);
        assert!((400..500).contains(&status), "{path} → {status}: {body}");
    }
    let (status, _) = http_get(&addr, "/stories/999999");
    assert_eq!(status, 404);
    let (status, _) = http_get(&addr, "/healthz");
    assert_eq!(status, 200, "still serving after bad requests");
}
