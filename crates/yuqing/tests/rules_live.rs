//! A watch rule saved on the 监测规则 page takes effect in the running server: the next pushed post
//! that matches it is graded by it and its incident goes to the rule's department, without a
//! restart; after a restart the saved rule is still in force.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[[departments]]
name = "市卫生健康委员会"

[[departments]]
name = "市教育局"

[[rules]]
name = "医院服务"
expr = "医院 & 排队"
department = "市卫生健康委员会"

[desk]
open_grade = "IV"
tick = "1s"
"#;

fn push(addr: &str, token: &str, url: &str, text: &str) -> i64 {
    let body = json!({"source": "本地论坛", "url": url, "text": text, "published_at": chrono::Utc::now().to_rfc3339()})
        .to_string();
    let (status, reply) = http(addr, "POST", "/api/v1/posts", Some(token), "application/x-ndjson", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    let v: Value = serde_json::from_str(&reply).unwrap();
    v["items"][0]["post_id"].as_i64().unwrap_or_else(|| panic!("accepted: {v}"))
}

/// The incident whose story holds `text`, once the desk has opened it.
fn incident_lead(addr: &str, token: &str, title_part: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let v = api(addr, "GET", "/api/v1/incidents?limit=50", token, &Value::Null, 200);
        if let Some(i) =
            v["incidents"].as_array().unwrap().iter().find(|i| i["title"].as_str().unwrap_or("").contains(title_part))
        {
            return i["lead_department"].as_str().unwrap_or("").to_string();
        }
        assert!(Instant::now() < deadline, "no incident for “{title_part}”: {v}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_rule_saved_on_the_page_grades_and_routes_the_next_post_without_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let password = "Rules-live-2026";
    let office = add_user_with_password(&data, &cfg, &["bangong", "--role", "coordinator"], password);
    let server = serve(&data, &cfg);
    let addr = server.addr.clone();

    // Before: a post about school bullying matches no rule and stays ungraded.
    let before = push(&addr, &office, "https://bbs.example/1", "某中学发生校园欺凌，学生受伤，家长要求学校给说法");
    let stats = api(&addr, "GET", "/api/v1/stats", &office, &Value::Null, 200);
    assert_eq!(stats["posts"], 1);
    let v = api(&addr, "GET", "/api/v1/stories?limit=10", &office, &Value::Null, 200);
    assert_eq!(v["total"], 0, "no graded story yet: {v}");

    // The office saves a new rule for 市教育局 through the page's form (signed in, with CSRF).
    let cookie = sign_in(&addr, "bangong", password);
    let (_, page) = http_get_as(&addr, "/rules?name=x&expr=a", &cookie);
    let csrf = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the page carries the CSRF token")
        .to_string();
    let enc = |s: &str| urlencoding_min(s);
    let form =
        format!("_csrf={csrf}&name={}&expr={}&department={}", enc("校园欺凌"), enc("学校 & 欺凌"), enc("市教育局"));
    let (status, head, body) = http_with(
        &addr,
        "POST",
        "/rules",
        &[("Cookie", &cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(status, 303, "{head}\n{body}");

    // After: the next post is analyzed with the saved rule, graded IV by it, and its incident goes
    // to the rule's department.
    let after = push(&addr, &office, "https://bbs.example/2", "又一所学校发生欺凌事件，网民质疑校方处理不力");
    assert!(after > before);
    let v = api(&addr, "GET", "/api/v1/stories?limit=10", &office, &Value::Null, 200);
    let story = v["stories"].as_array().unwrap().first().unwrap_or_else(|| panic!("a graded story: {v}")).clone();
    assert_eq!(story["grade"], "IV", "{story}");
    assert!(story["reasons"].to_string().contains("校园欺凌"), "the grade names the saved rule: {story}");
    assert_eq!(incident_lead(&addr, &office, "欺凌"), "市教育局");
    drop(server);

    // After a restart the saved rule is still in force (the configuration file never changed).
    let server = serve(&data, &cfg);
    push(&server.addr, &office, "https://bbs.example/3", "学校欺凌问题再引关注，教育部门回应");
    let v = api(&server.addr, "GET", "/api/v1/stories?limit=10", &office, &Value::Null, 200);
    assert!(v["stories"].to_string().contains("校园欺凌"), "{v}");
}
