//! The 研判摘要 end to end, through the real binary and server, on real Weibo posts (the Red Cross
//! posts of crates/yuqing-text/testdata, re-timed to the last hours): the story page shows the
//! brief with every sentence linked to its posts and no author; a cited post's link finds it in its
//! story; the incident page shows the brief; the alert message carries what happened, first seen
//! and where; the 专报 has a 研判摘要 section citing its sources.

mod common;

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use common::*;
use serde_json::{json, Value};

fn config(receiver: &str) -> String {
    format!(
        r#"
[organization]
name = "某市人民政府"

[[departments]]
name = "民政局"

[[rules]]
name = "红会物资"
expr = "红十字会 | 红会"
topic = "救灾救助"
department = "民政局"

[[channels]]
name = "值班通知"
kind = "webhook"
url = "http://{receiver}/hook"

[desk]
open_grade = "IV"
tick = "1s"
default_channels = ["值班通知"]
"#
    )
}

/// The fixture's posts, re-timed one minute apart ending now, keeping their order and text; the
/// one by the central broadcaster's reporters is given the central tier.
fn posts() -> (String, Vec<String>) {
    let raw =
        std::fs::read_to_string(repo_root().join("crates/yuqing-text/testdata/brief-redcross.jsonl")).expect("fixture");
    let lines: Vec<&str> = raw.lines().filter(|l| !l.trim().is_empty()).collect();
    let n = lines.len() as i64;
    let mut out = String::new();
    let mut authors = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let mut v: Value = serde_json::from_str(l).unwrap();
        authors.push(v["author"].as_str().unwrap().to_string());
        let at = Utc::now() - chrono::Duration::minutes(n - i as i64);
        v["published_at"] = json!(at.to_rfc3339_opts(SecondsFormat::Secs, true));
        v["url"] = json!(format!("https://weibo.example/{i}"));
        if v["text"].as_str().unwrap().contains("总台央广记者") {
            v["source"] = json!("央广网");
            v["tier"] = json!("Central");
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    (out, authors)
}

fn section(page: &str) -> &str {
    let start = page.find("<section class=\"brief\"").unwrap_or_else(|| panic!("no brief section: {page}"));
    let end = page[start..].find("</section>").expect("section closed") + start;
    &page[start..end]
}

#[test]
fn the_brief_is_shown_with_its_sources_on_the_pages_in_the_alert_and_in_the_special_report() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let receiver = Receiver::start(0);
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, config(&receiver.addr)).unwrap();
    let (input_text, authors) = posts();
    let input = tmp.path().join("posts.jsonl");
    std::fs::write(&input, input_text).unwrap();
    let ingest = run_json(yuqing(&data).arg("--config").arg(&cfg).arg("--json").arg("ingest").arg(&input));
    assert_eq!(ingest["stored"], 28, "{ingest}");
    let password = "Brief-test-2026";
    let office = add_user_with_password(
        &data,
        &cfg,
        &["bangong", "--role", "coordinator", "--display-name", "办公室"],
        password,
    );

    let server = serve(&data, &cfg);
    let addr = server.addr.clone();

    // The alert message: what happened (with post numbers), first seen, where.
    let alert = receiver.wait_for("【舆情预警】", Duration::from_secs(30));
    assert!(alert.contains("概要：") && alert.contains("（帖文 #"), "{alert}");
    assert!(alert.contains("首发：") && alert.contains("首见于"), "{alert}");
    for a in &authors {
        assert!(!alert.contains(a.as_str()), "author {a} in the alert: {alert}");
    }

    // The largest story's page.
    let stories = api(&addr, "GET", "/api/v1/stories?all=1&limit=50", &office, &Value::Null, 200);
    let top = stories["stories"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|s| (s["posts"].as_u64().unwrap(), -s["id"].as_i64().unwrap()))
        .expect("a story")
        .clone();
    let sid = top["id"].as_i64().unwrap();
    let cookie = sign_in(&addr, "bangong", password);
    let (status, page) = http_get_as(&addr, &format!("/stories/{sid}"), &cookie);
    assert_eq!(status, 200, "{page}");
    let brief = section(&page);
    assert!(brief.contains("研判摘要") && brief.contains("事件概要") && brief.contains("首发"), "{brief}");
    // Every sentence of 事件概要 links at least one post, and every link goes to a post.
    let what =
        brief.split("<ol class=\"brief-what\">").nth(1).and_then(|r| r.split("</ol>").next()).expect("sentences");
    for li in what.split("<li>").skip(1) {
        assert!(li.contains("class=\"cite\""), "a sentence without its source: {li}");
    }
    let mut cited = 0;
    for part in brief.split("class=\"cite\" href=\"").skip(1) {
        let href = part.split('"').next().unwrap();
        if let Some(id) = href.strip_prefix("#p") {
            assert!(page.contains(&format!("id=\"p{id}\"")), "anchor {href} is on the page");
        } else {
            assert!(href.starts_with("/posts/"), "{href}");
            let (status, head, _) = http_with(&addr, "GET", href, &[("Cookie", &cookie)], b"");
            assert_eq!(status, 303);
            assert!(head.to_ascii_lowercase().contains(&format!("location: /stories/{sid}")), "{head}");
        }
        cited += 1;
    }
    assert!(cited >= 3, "{brief}");
    for a in &authors {
        assert!(!brief.contains(a.as_str()), "author {a} in the brief");
    }
    // A cited post's own page finds it in its story's list.
    let first_post = brief
        .split("class=\"cite\" href=\"#p")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a cited post on the page");
    let (status, head, _) = http_with(&addr, "GET", &format!("/posts/{first_post}"), &[("Cookie", &cookie)], b"");
    assert_eq!(status, 303, "{head}");
    assert!(head.contains(&format!("#p{first_post}")), "{head}");

    // The incident page.
    let incidents = api(&addr, "GET", "/api/v1/incidents?limit=50", &office, &Value::Null, 200);
    let iid = incidents["incidents"][0]["id"].as_i64().unwrap_or_else(|| panic!("an incident opened: {incidents}"));
    let (status, page) = http_get_as(&addr, &format!("/incidents/{iid}"), &cookie);
    assert_eq!(status, 200);
    let brief = section(&page);
    assert!(brief.contains("事件概要") && brief.contains("href=\"/posts/"), "{brief}");

    // The 专报: a 研判摘要 section whose lines cite numbered sources, listed with their links.
    let made = api(&addr, "POST", "/api/v1/reports", &office, &json!({"kind": "special", "incident": iid}), 201);
    let rid = made["id"].as_i64().unwrap();
    let report = api(&addr, "GET", &format!("/api/v1/reports/{rid}"), &office, &Value::Null, 200);
    let section = &report["report"]["brief"];
    let lines = section["lines"].as_array().unwrap_or_else(|| panic!("a brief in the 专报: {report}"));
    let sources = section["sources"].as_array().unwrap();
    assert!(lines.iter().any(|l| l["label"] == "事件概要"), "{section}");
    for l in lines {
        for r in l["refs"].as_array().unwrap() {
            let k = r.as_u64().unwrap() as usize;
            assert!((1..=sources.len()).contains(&k), "{l}");
        }
    }
    assert!(
        sources.iter().all(|s| s["url"].as_str().is_some_and(|u| u.starts_with("https://weibo.example/"))),
        "{section}"
    );
    let (status, html) =
        http(&addr, "GET", &format!("/api/v1/reports/{rid}?format=html"), Some(&office), "text/plain", b"");
    assert_eq!(status, 200);
    assert!(html.contains("二、研判摘要") && html.contains("〔1〕"), "{html}");
    let text = serde_json::to_string(&report).unwrap();
    for a in &authors {
        assert!(!text.contains(a.as_str()), "author {a} in the 专报");
    }
}
