//! Logs an operator can read: `yuqing --log-format json serve` with `YUQING_LOG=debug` writes one
//! JSON object per line, requests carry their request id, and no secret ever reaches the log —
//! not the password (right or wrong), the session cookie, the CSRF token, the API token, nor the
//! webhook's signing secret or the access token in its address.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use common::*;
use serde_json::{json, Value};

const PASSWORD: &str = "Log-Test-Passw0rd-7781";
const WRONG_PASSWORD: &str = "Wrong-Passw0rd-5512";
const WEBHOOK_SECRET: &str = "SECwebhook9f3b2c7d1e";
const URL_TOKEN: &str = "accesstoken4d8e1f0a2b";

fn config(receiver: &str) -> String {
    format!(
        r#"
[[rules]]
name = "医院服务"
expr = "医院 & (排队 | 收费)"
topic = "医疗"

[[channels]]
name = "值班通知"
kind = "webhook"
url = "http://{receiver}/hook?access_token={URL_TOKEN}"
secret = "{WEBHOOK_SECRET}"

[desk]
tick = "1s"
broadcast_channels = ["值班通知"]
"#
    )
}

fn posts() -> String {
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    [
        json!({"source": "微博", "url": "https://weibo.example/a1", "text": "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大", "published_at": now, "tier": "Community"}),
        json!({"source": "本地论坛", "url": "https://bbs.example/t/9", "text": "市第一医院挂号排队三个多小时，收费窗口只开了一个，大家意见很大", "published_at": now, "tier": "Community"}),
        json!({"source": "人民网", "url": "https://people.example/n/2", "title": "市第一医院排队问题引关注", "text": "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大。记者进行了调查。", "published_at": now, "tier": "Central"}),
    ]
    .iter()
    .map(|l| l.to_string() + "\n")
    .collect()
}

/// `yuqing --log-format json serve` with debug logs into `log`; returns the child and its address.
/// The caller kills and waits for the child; if the server never prints its address the test
/// fails here, and the child ends with the test process.
#[allow(clippy::zombie_processes)]
fn serve_with_json_logs(data: &Path, cfg: &Path, log: &Path) -> (Child, String) {
    let mut child = yuqing(data)
        .arg("--config")
        .arg(cfg)
        .args(["--log-format", "json", "serve", "--addr", "127.0.0.1:0"])
        .env("YUQING_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let line =
            rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("the server prints its address");
        if let Some(rest) = line.split("http://").nth(1) {
            return (child, rest.split('/').next().unwrap().to_string());
        }
    }
}

#[test]
fn json_logs_carry_request_ids_and_never_a_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let receiver = Receiver::start(0);
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, config(&receiver.addr)).unwrap();
    let token = add_user_with_password(&data, &cfg, &["duty", "--role", "officer"], PASSWORD);
    let log = tmp.path().join("server.log");
    let (mut child, addr) = serve_with_json_logs(&data, &cfg, &log);

    // A refused sign-in, then a real one; a page read with the session and its CSRF token used.
    let (status, head, form) = http_with(&addr, "GET", "/login", &[], b"");
    assert_eq!(status, 200);
    let login_cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").filter(|c| c.starts_with("yuqing_login=")))
        .map(|c| c.split(';').next().unwrap().to_string())
        .expect("the login cookie");
    let login_csrf = login_cookie.split_once('=').unwrap().1.to_string();
    assert!(form.contains(&login_csrf));
    let body = format!("_csrf={login_csrf}&next=%2F&name=duty&password={WRONG_PASSWORD}");
    let (status, _, _) = http_with(
        &addr,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", &login_cookie)],
        body.as_bytes(),
    );
    assert_ne!(status, 303, "a wrong password is refused");
    let cookie = sign_in(&addr, "duty", PASSWORD);
    let session = cookie.split_once('=').unwrap().1.to_string();

    // The API token pushes posts; the desk raises an alert and the webhook (signed) delivers it.
    let (status, text) = http(&addr, "POST", "/api/v1/posts", Some(&token), "application/x-ndjson", posts().as_bytes());
    assert_eq!(status, 200, "{text}");
    receiver.wait_for("医院", Duration::from_secs(60));
    let (status, text) = http(&addr, "GET", "/api/v1/alerts", Some(&token), "application/json", b"");
    assert_eq!(status, 200, "{text}");
    let alerts: Value = serde_json::from_str(&text).unwrap();
    let (alert, story) =
        (alerts["alerts"][0]["id"].as_i64().unwrap(), alerts["alerts"][0]["story_id"].as_i64().unwrap());

    // The session reads the story and acknowledges the alert with the form's CSRF token.
    let (status, page) = http_get_as(&addr, &format!("/stories/{story}"), &cookie);
    assert_eq!(status, 200);
    let csrf = page
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the 签收 form with the session's CSRF token")
        .to_string();
    assert!(csrf.len() >= 16, "{csrf}");
    let (status, _, answer) = http_with(
        &addr,
        "POST",
        &format!("/alerts/{alert}/ack"),
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", &cookie)],
        format!("_csrf={csrf}&back=%2Fstories%2F{story}").as_bytes(),
    );
    assert_eq!(status, 303, "{answer}");
    // A failing request: its id is in the answer and in the log.
    let (status, _) = http(&addr, "GET", "/api/v1/stories/abc", Some(&token), "application/json", b"");
    assert!(status >= 400);

    std::thread::sleep(Duration::from_millis(500));
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();

    // One JSON object per line.
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.len() > 10, "debug logs have lines: {text}");
    assert!(lines.iter().all(|l| l["timestamp"].is_string() && l["level"].is_string()), "{text}");
    // Request lines carry the request id, method and path (never the query).
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    assert!(requests.len() >= 8, "a line per request: {text}");
    for r in &requests {
        let id = r["span"]["request_id"].as_str().unwrap_or("");
        assert!(id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit()), "{r}");
        assert!(r["span"]["path"].as_str().is_some_and(|p| p.starts_with('/') && !p.contains('?')), "{r}");
    }
    assert!(
        requests.iter().any(|r| r["span"]["path"] == "/api/v1/posts" && r["status"] == 200),
        "the push is logged: {text}"
    );
    // The ids differ from request to request.
    let ids: std::collections::HashSet<&str> =
        requests.iter().filter_map(|r| r["span"]["request_id"].as_str()).collect();
    assert_eq!(ids.len(), requests.len());
    // Lines inside a request's blocking work keep its id too.
    assert!(lines.iter().any(|l| l["message"] == "posts pushed" && l["span"]["request_id"].is_string()), "{text}");

    for (what, secret) in [
        ("password", PASSWORD),
        ("wrong password", WRONG_PASSWORD),
        ("session cookie", session.as_str()),
        ("sign-in form CSRF token", login_csrf.as_str()),
        ("session CSRF token", csrf.as_str()),
        ("API token", token.as_str()),
        ("webhook secret", WEBHOOK_SECRET),
        ("access token in the webhook address", URL_TOKEN),
    ] {
        assert!(!secret.is_empty());
        assert!(
            !text.contains(secret),
            "the {what} appears in the log:\n{}",
            text.lines().filter(|l| l.contains(secret)).collect::<Vec<_>>().join("\n")
        );
    }
}
