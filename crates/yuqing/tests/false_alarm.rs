//! 误报 through the real binary and server: a story graded 重大 opens an incident; the office marks
//! the story 误报 on its page (signed in, with the CSRF token, as a browser posts it) and the
//! incident closes as 误报; the 监测规则 page counts the rule's stories and false alarms; an
//! incident marked 误报 through the JSON API marks its story; viewers may not mark; withdrawing a
//! mark grades the story again; the CLI lists the marks and resets the learning; the audit
//! chain holds.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use common::*;
use serde_json::{json, Value};

const CONFIG: &str = r#"
[organization]
name = "某市人民政府"

[[departments]]
name = "卫健委"

[[rules]]
name = "医院服务"
expr = "医院 & (排队 | 收费)"
department = "卫健委"

[desk]
tick = "1s"
"#;

/// Two matters, each with a central-media report (grade II on its own): a hospital queue, and a
/// vaccination queue at another hospital.
fn posts() -> String {
    let now = Utc::now();
    let at = |m: i64| (now - chrono::Duration::minutes(m)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let lines = [
        json!({"source": "微博", "url": "https://weibo.example/a1", "text": "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大", "published_at": at(30), "tier": "Community"}),
        json!({"source": "人民网", "url": "https://people.example/n/2", "title": "市第一医院排队问题引关注", "text": "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大。记者进行了调查。", "published_at": at(29), "tier": "Central"}),
        json!({"source": "微博", "url": "https://weibo.example/b1", "text": "区妇幼保健医院新生儿疫苗接种排队，家长凌晨排起长龙，疫苗数量不够", "published_at": at(20), "tier": "Community"}),
        json!({"source": "新华网", "url": "https://xinhua.example/n/3", "title": "区妇幼保健医院疫苗接种排长队", "text": "区妇幼保健医院疫苗接种排长队，家长凌晨等候，疫苗供应不足。记者进行了调查。", "published_at": at(19), "tier": "Central"}),
    ];
    lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n") + "\n"
}

fn csrf_of(page: &str) -> String {
    page.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the form's CSRF token")
        .to_string()
}

/// The incident covering `story`, if one is open or closed.
fn incident_of(addr: &str, token: &str, story: i64) -> Option<i64> {
    let list = api(addr, "GET", "/api/v1/incidents?limit=100", token, &Value::Null, 200);
    list["incidents"].as_array()?.iter().filter_map(|i| i["id"].as_i64()).find(|id| {
        let v = api(addr, "GET", &format!("/api/v1/incidents/{id}"), token, &Value::Null, 200);
        v["incident"]["stories"].as_array().is_some_and(|s| s.contains(&json!(story)))
    })
}

fn wait_for_incident(addr: &str, token: &str, story: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(id) = incident_of(addr, token, story) {
            return id;
        }
        assert!(Instant::now() < deadline, "no incident opened for story {story}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn setup(tmp: &Path) -> (std::path::PathBuf, std::path::PathBuf, i64, i64) {
    let data = tmp.join("data");
    let cfg = tmp.join("yuqing.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let input = tmp.join("posts.jsonl");
    std::fs::write(&input, posts()).unwrap();
    let ingest = run_json(yuqing(&data).arg("--config").arg(&cfg).arg("--json").arg("ingest").arg(&input));
    assert_eq!(ingest["stored"], 4, "{ingest}");
    let v = run_json(yuqing(&data).arg("--config").arg(&cfg).args(["--json", "stories", "--limit", "10"]));
    let stories = v["stories"].as_array().unwrap();
    assert_eq!(stories.len(), 2, "{v}");
    let id_of = |needle: &str| {
        stories
            .iter()
            .find(|s| s["title"].as_str().unwrap_or("").contains(needle))
            .and_then(|s| s["id"].as_i64())
            .unwrap_or_else(|| panic!("{needle}: {v}"))
    };
    (data, cfg, id_of("第一医院"), id_of("妇幼"))
}

#[test]
fn the_office_marks_false_alarms_on_stories_and_incidents_and_the_rules_page_counts_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, cfg, queue, vaccine) = setup(tmp.path());
    let password = "False-alarm-2026";
    let office = add_user_with_password(
        &data,
        &cfg,
        &["bangong", "--role", "coordinator", "--display-name", "办公室"],
        password,
    );
    add_user_with_password(&data, &cfg, &["kan", "--role", "viewer", "--display-name", "只读"], password);
    let server = serve(&data, &cfg);
    let addr = server.addr.clone();
    let queue_incident = wait_for_incident(&addr, &office, queue);
    let vaccine_incident = wait_for_incident(&addr, &office, vaccine);

    // A viewer sees no form and may not post one.
    let viewer = sign_in(&addr, "kan", password);
    let (_, page) = http_get_as(&addr, &format!("/stories/{queue}"), &viewer);
    assert!(page.contains("未标记误报") && !page.contains("标记误报</button>"), "{page}");
    let vcsrf =
        page.split("name=\"_csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
    let body = format!("_csrf={}&reason=x", urlencoding_min(&vcsrf));
    let vform = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", viewer.as_str())];
    let (status, _, _) = http_with(&addr, "POST", &format!("/stories/{queue}/false-alarm"), &vform, body.as_bytes());
    assert_eq!(status, 403);

    // The office marks the story on its page: the story is marked, its incident closes as 误报.
    let cookie = sign_in(&addr, "bangong", password);
    let (status, page) = http_get_as(&addr, &format!("/stories/{queue}"), &cookie);
    assert_eq!(status, 200);
    assert!(page.contains(&format!("action=\"/stories/{queue}/false-alarm\"")), "{page}");
    let form = [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", cookie.as_str())];
    let empty = format!("_csrf={}&reason=+", urlencoding_min(&csrf_of(&page)));
    let (status, _, page_body) =
        http_with(&addr, "POST", &format!("/stories/{queue}/false-alarm"), &form, empty.as_bytes());
    assert_eq!(status, 409, "no reason: refused, saying why: {page_body}");
    assert!(page_body.contains("原因"), "{page_body}");
    let body =
        format!("_csrf={}&reason={}", urlencoding_min(&csrf_of(&page)), urlencoding_min("医院例行通报，不是舆情"));
    let (status, head, _) = http_with(&addr, "POST", &format!("/stories/{queue}/false-alarm"), &form, body.as_bytes());
    assert_eq!(status, 303, "{head}");
    assert!(head.contains(&format!("closed={queue_incident}")), "{head}");
    let (_, page) = http_get_as(&addr, &format!("/stories/{queue}?false_alarm=1&closed={queue_incident}"), &cookie);
    assert!(
        page.contains("已标记误报") && page.contains("医院例行通报，不是舆情") && page.contains("撤销误报"),
        "{page}"
    );
    assert!(page.contains(&format!("处置工单 #{queue_incident}</a> 已按误报关闭")), "{page}");
    let inc = api(&addr, "GET", &format!("/api/v1/incidents/{queue_incident}"), &office, &Value::Null, 200)["incident"]
        .clone();
    assert_eq!(inc["state"], "Closed", "{inc}");
    assert_eq!(inc["false_alarm"]["reason"], "医院例行通报，不是舆情", "{inc}");
    let (_, page) = http_get_as(&addr, &format!("/incidents/{queue_incident}"), &cookie);
    assert!(page.contains("已按误报关闭"), "{page}");
    // Marking twice is refused.
    let again =
        api(&addr, "POST", &format!("/api/v1/stories/{queue}/false-alarm"), &office, &json!({"reason": "再次"}), 409);
    assert!(again["error"].as_str().unwrap().contains("已标记"), "{again}");

    // The other incident is marked 误报 on the incident itself (JSON API): its story is marked.
    let done = api(
        &addr,
        "POST",
        &format!("/api/v1/incidents/{vaccine_incident}/actions"),
        &office,
        &json!({"action": "mark_false_alarm", "reason": "外区医院，非本单位管辖"}),
        200,
    );
    assert_eq!(done["incident"]["state"], "Closed", "{done}");
    assert!(done["notes"].to_string().contains(&format!("#{vaccine}")), "{done}");
    let (_, page) = http_get_as(&addr, &format!("/stories/{vaccine}"), &cookie);
    assert!(page.contains("已标记误报") && page.contains("外区医院，非本单位管辖"), "{page}");

    // The 监测规则 page: the rule raised 2 stories in 30 days, both marked 误报; the learning has 2.
    let (_, page) = http_get_as(&addr, "/rules", &cookie);
    let row = page
        .split("<tr><td>医院服务</td>")
        .nth(1)
        .and_then(|r| r.split("</tr>").next())
        .expect("the rule's row")
        .to_string();
    assert!(row.contains("<td class=\"num\">2</td>") && row.contains(">2（100%）</td>"), "{row}");
    assert!(page.contains("现有学习样本 <b>2</b> 个") && page.contains("重置误报学习"), "{page}");

    // Withdrawn through the API: graded again (it was II; grades never fall, so no new alert).
    api(
        &addr,
        "POST",
        &format!("/api/v1/stories/{queue}/false-alarm/withdraw"),
        &office,
        &json!({"reason": "复核：本市医院"}),
        200,
    );
    let (_, page) = http_get_as(&addr, &format!("/stories/{queue}"), &cookie);
    assert!(page.contains("未标记误报") || page.contains("标记误报</button>"), "{page}");
    let e = api(
        &addr,
        "POST",
        &format!("/api/v1/stories/{queue}/false-alarm/withdraw"),
        &office,
        &json!({"reason": "再撤"}),
        409,
    );
    assert!(e["error"].as_str().unwrap().contains("没有误报标记"), "{e}");

    // Reset from the rules page: the marks stay, nothing is learned from them.
    let (_, page) = http_get_as(&addr, "/rules", &cookie);
    let body = format!("_csrf={}", urlencoding_min(&csrf_of(&page)));
    let (status, head, _) = http_with(&addr, "POST", "/rules/relevance/reset", &form, body.as_bytes());
    assert_eq!(status, 303, "{head}");
    assert!(head.contains("relevance_reset=1"), "one example was left after the withdrawal: {head}");
    let (_, page) = http_get_as(&addr, "/rules?relevance_reset=1", &cookie);
    assert!(
        page.contains("已重置误报学习") && page.contains("现有学习样本 <b>0</b> 个") && page.contains("（已重置）"),
        "{page}"
    );

    // Every change is on the audit log, and the chain holds.
    let audit = api(&addr, "GET", "/api/v1/audit?limit=200", &office, &Value::Null, 200).to_string();
    for action in ["story.false_alarm", "story.false_alarm_withdrawn", "relevance.reset", "incident.mark_false_alarm"] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
    assert_eq!(api(&addr, "GET", "/api/v1/audit/verify", &office, &Value::Null, 200)["ok"], true);
    drop(server);

    // The CLI lists the marks (the reset one says so).
    let out = run(yuqing(&data).arg("--config").arg(&cfg).args(["false-alarm", "list"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("误报学习样本 0 个") && text.contains("外区医院") && text.contains("已重置"), "{text}");
}
