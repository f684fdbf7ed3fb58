//! The incident desk end to end, through the real binary and server: a story rises to grade II →
//! an incident opens and is routed → the on-duty person's webhook gets the alert → nobody
//! acknowledges → it escalates → a clock runs out → verified → statement drafted, rejected once,
//! approved by the whole chain, published → follow-up → closed only after the review, which shows
//! the measured times. Then the audit chain verifies, and fails on a changed row.

mod common;

use std::path::Path;
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
name = "卫健委"

[[departments]]
name = "教育局"

[[rules]]
name = "医院服务"
expr = "医院 & (排队 | 收费)"
topic = "医疗"
department = "卫健委"

[[routing]]
department = "卫健委"
rules = ["医院服务"]

[[channels]]
name = "值班通知"
kind = "webhook"
url = "http://{receiver}/hook"

[desk]
ack_timeout = "3s"
tick = "1s"
default_channels = ["值班通知"]

# The first report falls due within seconds so that the test sees a clock run out.
[deadlines.first_report]
I = "6s"
II = "6s"
III = "6s"
IV = "6s"
"#
    )
}

fn posts() -> String {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    let lines = [
        json!({"source": "微博", "url": "https://weibo.example/a1", "text": "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大", "published_at": now, "tier": "Community"}),
        json!({"source": "本地论坛", "url": "https://bbs.example/t/9", "text": "市第一医院挂号排队三个多小时，收费窗口只开了一个，大家意见很大", "published_at": now, "tier": "Community"}),
        json!({"source": "人民网", "url": "https://people.example/n/2", "title": "市第一医院排队问题引关注", "text": "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大。记者进行了调查。", "published_at": now, "tier": "Central"}),
    ];
    lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("\n") + "\n"
}

fn add_user(data: &Path, cfg: &Path, args: &[&str]) -> String {
    let v = run_json(yuqing(data).arg("--config").arg(cfg).arg("--json").args(["user", "add"]).args(args));
    v["token"].as_str().expect("token").to_string()
}

fn act(addr: &str, token: &str, id: i64, body: Value) -> Value {
    api(addr, "POST", &format!("/api/v1/incidents/{id}/actions"), token, &body, 200)
}

#[test]
fn a_grade_ii_story_goes_from_alert_to_reviewed_closure_with_every_step_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let receiver = Receiver::start(0);
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, config(&receiver.addr)).unwrap();
    let input = tmp.path().join("posts.jsonl");
    std::fs::write(&input, posts()).unwrap();

    let ingest = run_json(yuqing(&data).arg("--config").arg(&cfg).arg("--json").arg("ingest").arg(&input));
    assert_eq!(ingest["stored"], 3, "{ingest}");

    let staff = add_user(
        &data,
        &cfg,
        &["xinxi", "--role", "officer", "--display-name", "信息员小王", "--phone", "13800000001"],
    );
    let duty_leader =
        add_user(&data, &cfg, &["zuzhang", "--role", "approver", "--title", "group-leader", "--display-name", "组长"]);
    let approver = add_user(&data, &cfg, &["fenguan", "--role", "approver", "--display-name", "分管领导"]);
    let office = add_user(
        &data,
        &cfg,
        &["bangong", "--role", "coordinator", "--title", "office-director", "--display-name", "办公室主任老李"],
    );
    let member = add_user(
        &data,
        &cfg,
        &["weijian", "--role", "department", "--department", "卫健委", "--display-name", "卫健委科员"],
    );
    let head = add_user(
        &data,
        &cfg,
        &["weijian-head", "--role", "department", "--department", "卫健委", "--title", "department-head"],
    );
    let stranger = add_user(&data, &cfg, &["jiaoyu", "--role", "department", "--department", "教育局"]);

    let start = Utc::now() - chrono::Duration::hours(1);
    let end = Utc::now() + chrono::Duration::hours(8);
    let fmt = |t: chrono::DateTime<Utc>| {
        t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).format("%Y-%m-%d %H:%M").to_string()
    };
    let roster = tmp.path().join("roster.csv");
    std::fs::write(
        &roster,
        format!("姓名,角色,开始时间,结束时间\nxinxi,值班员,{0},{1}\nzuzhang,值班领导,{0},{1}\n", fmt(start), fmt(end)),
    )
    .unwrap();
    let imported = run_json(yuqing(&data).arg("--json").args(["duty", "import"]).arg(&roster));
    assert_eq!(imported["imported"], 2);

    let server = serve(&data, &cfg);
    let addr = server.addr.clone();

    // The alert reaches the on-duty staff through the webhook, and an incident opens, routed.
    let alert_msg = receiver.wait_for("II级（重大）", Duration::from_secs(30));
    assert!(alert_msg.contains("II级") && alert_msg.contains("信息员小王"), "{alert_msg}");
    assert!(alert_msg.contains("13800000001"), "the on-duty person is @-mentioned: {alert_msg}");
    let list = api(&addr, "GET", "/api/v1/incidents", &office, &Value::Null, 200);
    assert_eq!(list["total"], 1, "{list}");
    let id = list["incidents"][0]["id"].as_i64().unwrap();
    assert_eq!(list["incidents"][0]["grade"], "II");
    assert_eq!(list["incidents"][0]["lead_department"], "卫健委");

    // Nobody acknowledges: after the timeout it goes to the on-duty leader, then the coordinator.
    let esc = receiver.wait_for("预警未确认", Duration::from_secs(30));
    assert!(esc.contains("组长"), "{esc}");
    receiver.wait_for("升级通知办公室", Duration::from_secs(30));
    // Nobody reports either: the first-report clock runs out and the approver and office are told.
    let overdue = receiver.wait_for("【超时】", Duration::from_secs(30));
    assert!(overdue.contains("首报"), "{overdue}");
    let recorded = api(&addr, "GET", "/api/v1/overdue", &office, &Value::Null, 200);
    assert!(recorded["total"].as_u64().unwrap() >= 1, "{recorded}");

    let alert_id = api(&addr, "GET", &format!("/api/v1/incidents/{id}"), &office, &Value::Null, 200)["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "alert")
        .map(|e| e["alert"].as_i64().unwrap())
        .expect("the alert is on the timeline");
    api(&addr, "POST", &format!("/api/v1/alerts/{alert_id}/ack"), &staff, &Value::Null, 200);

    // Another department's member may not even look at it.
    let (status, body) =
        http(&addr, "GET", &format!("/api/v1/incidents/{id}"), Some(&stranger), "application/json", b"");
    assert_eq!(status, 403, "{body}");
    let (status, _) = http(&addr, "GET", "/api/v1/incidents", None, "application/json", b"");
    assert_eq!(status, 401);

    // An illegal step names the state and what is allowed.
    let (status, body) = http(
        &addr,
        "POST",
        &format!("/api/v1/incidents/{id}/actions"),
        Some(&office),
        "application/json",
        br#"{"action":"start_follow_up"}"#,
    );
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("待研判") && body.contains("上报"), "{body}");

    act(&addr, &staff, id, json!({"action": "report", "summary": "网民集中反映市第一医院排队、收费窗口少"}));
    act(&addr, &office, id, json!({"action": "report_to_leadership", "summary": "已电话报告分管领导"}));
    act(&addr, &member, id, json!({"action": "start_verification"}));
    act(
        &addr,
        &member,
        id,
        json!({"action": "submit_verification", "findings": "情况属实：收费窗口因系统升级临时关闭三个"}),
    );
    act(&addr, &member, id, json!({"action": "draft_statement", "text": "经核查，市第一医院收费窗口临时减少。"}));
    act(&addr, &member, id, json!({"action": "submit_for_approval", "statement": 1}));
    // Out of turn: the approver cannot sign before the department head.
    let (status, body) = http(
        &addr,
        "POST",
        &format!("/api/v1/incidents/{id}/actions"),
        Some(&approver),
        "application/json",
        br#"{"action":"approve","statement":1}"#,
    );
    assert_eq!(status, 422, "{body}");
    act(&addr, &head, id, json!({"action": "reject", "statement": 1, "comment": "须写明整改措施和时间"}));
    act(
        &addr,
        &member,
        id,
        json!({"action": "draft_statement", "statement": 1, "text": "经核查，市第一医院收费窗口因系统升级临时减少，现已全部恢复，并增设自助缴费机。"}),
    );
    let diff = api(&addr, "GET", &format!("/api/v1/incidents/{id}/statements/1/diff"), &member, &Value::Null, 200);
    assert!(diff["diff"].as_array().unwrap().iter().any(|p| p["op"] == "added"), "{diff}");
    act(&addr, &member, id, json!({"action": "submit_for_approval", "statement": 1}));
    for token in [&head, &approver, &office, &duty_leader] {
        act(&addr, token, id, json!({"action": "approve", "statement": 1}));
    }
    // The office publishes; the spokesperson defaults by grade (II: the office director).
    let v = act(
        &addr,
        &office,
        id,
        json!({"action": "publish", "statement": 1, "channel": "Weibo", "url": "https://weibo.example/gov/1", "spokesperson": ""}),
    );
    assert_eq!(v["incident"]["publications"][0]["spokesperson"], "办公室主任老李", "{v}");
    act(&addr, &office, id, json!({"action": "start_follow_up"}));
    let (status, body) = http(
        &addr,
        "POST",
        &format!("/api/v1/incidents/{id}/actions"),
        Some(&office),
        "application/json",
        br#"{"action":"close"}"#,
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("总结评估"), "{body}");
    act(
        &addr,
        &office,
        id,
        json!({"action": "submit_review", "lessons": "首报超时：值班员未及时确认预警；以后预警须 10 分钟内确认"}),
    );
    let v = act(&addr, &office, id, json!({"action": "close"}));
    assert_eq!(v["incident"]["state"], "Closed");

    let times = &v["incident"]["review"]["times"];
    for k in ["detect", "alert", "acknowledge", "report", "verify", "respond", "close"] {
        assert!(times[k].is_i64(), "review time {k} is measured: {times}");
    }
    assert!(times["overdue"].as_u64().unwrap() >= 1, "the missed first report counts: {times}");
    let kinds: Vec<String> =
        v["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap().to_string()).collect();
    for k in [
        "opened",
        "assigned",
        "alert",
        "ack_escalated",
        "overdue",
        "acknowledged",
        "state_changed",
        "statement_rejected",
        "statement_approved",
        "published",
        "reviewed",
        "heat_snapshot",
    ] {
        assert!(kinds.iter().any(|x| x == k), "timeline has {k}: {kinds:?}");
    }
    // The statement was approved before publication and its text is locked.
    let (status, _) = http(
        &addr,
        "POST",
        &format!("/api/v1/incidents/{id}/actions"),
        Some(&member),
        "application/json",
        br#"{"action":"draft_statement","statement":1,"text":"x"}"#,
    );
    assert!(status >= 400);

    // Every message the webhook got was recorded as delivered.
    let outbox = api(&addr, "GET", "/api/v1/outbox?status=delivered", &office, &Value::Null, 200);
    assert!(outbox["messages"].as_array().unwrap().len() >= 4, "{outbox}");
    // The same incident as pages: the office sees the whole record; another department may not.
    let (status, html) = http(&addr, "GET", &format!("/incidents/{id}"), Some(&office), "text/html", b"");
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("已办结") && html.contains("时间线") && html.contains("按时完成") && html.contains("超时"),
        "{html}"
    );
    let (status, _) = http(&addr, "GET", &format!("/incidents/{id}"), Some(&stranger), "text/html", b"");
    assert_eq!(status, 403);
    let (status, html) = http(&addr, "GET", "/incidents?all=1", Some(&member), "text/html", b"");
    assert_eq!(status, 200);
    assert!(html.contains(&format!("/incidents/{id}")), "the lead department sees it in its queue");
    let (status, html) = http(&addr, "GET", "/incidents?all=1", Some(&stranger), "text/html", b"");
    assert_eq!(status, 200);
    assert!(!html.contains(&format!("/incidents/{id}\"")), "another department does not");
    // A form post (bearer callers need no CSRF token) adds a note and returns to the page.
    let (status, _) = http(
        &addr,
        "POST",
        &format!("/incidents/{id}/act"),
        Some(&office),
        "application/x-www-form-urlencoded",
        "action=add_note&text=%E5%B7%B2%E5%BD%92%E6%A1%A3".as_bytes(),
    );
    assert_eq!(status, 303);
    let (status, html) = http(&addr, "GET", "/system", Some(&office), "text/html", b"");
    assert_eq!(status, 200);
    assert!(html.contains("哈希链完整"), "{html}");
    let (status, _) = http(&addr, "GET", "/system", Some(&member), "text/html", b"");
    assert_eq!(status, 403);
    let (status, html) = http(&addr, "GET", "/duty", Some(&staff), "text/html", b"");
    assert_eq!(status, 200);
    assert!(html.contains("当前在岗"), "{html}");
    let openapi = http_get(&addr, "/api/v1/openapi.json");
    assert_eq!(openapi.0, 200);
    drop(server);

    // The audit chain holds; changing one row breaks it at that row.
    let ok = run_json(yuqing(&data).arg("--json").args(["audit", "verify"]));
    let entries = ok["entries"].as_u64().unwrap();
    assert!(entries > 20, "{ok}");
    let listed = run_json(yuqing(&data).arg("--json").args(["incidents", "list", "--all"]));
    assert_eq!(listed["total"], 1);
    let db = yuqing_store::Connection::open(data.join("yuqing.db")).unwrap();
    db.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE id = 7;").unwrap();
    drop(db);
    let out = run(yuqing(&data).args(["audit", "verify"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("第 7 条"), "{}", stderr(&out));
}
