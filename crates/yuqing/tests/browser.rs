//! The web desk in a real browser: Playwright (playwright-core, from npm) drives Debian's Chromium
//! headless against `yuqing demo`. This test builds the demo, creates the people of one incident's
//! approval chain and an officer of another department, then runs `ui-tests/desk.spec.mjs`, which
//! signs in, checks the dashboard's charts and live update, a highlighted search, the officer's 403,
//! a statement drafted and approved by clicking through as the chain, and the big-screen mode.
//! Screenshots of every page land in `target/ui-shots/`.
//!
//! Needs `node`, `ui-tests/node_modules/playwright-core` and Chromium (`/usr/bin/chromium`, or
//! `YUQING_CHROMIUM`): `scripts/test` installs what is missing before it runs `cargo test`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

/// The departments of demo/yuqing.toml (the demo routes incidents to them by its rules).
const DEMO_DEPARTMENTS: &[&str] = &["市卫生健康委员会", "市红十字会", "市市场监督管理局"];

fn chromium() -> PathBuf {
    std::env::var_os("YUQING_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn shots_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp; the screenshots go beside it.
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("ui-shots")
}

/// The administrator account the demo prints: (name, password).
fn demo_account(output: &[String]) -> (String, String) {
    let account = output.iter().find(|l| l.starts_with("演示账号：")).expect("the demo prints its account");
    let rest = account.trim_start_matches("演示账号：");
    let (admin, rest) = rest.split_once('　').unwrap();
    (admin.to_string(), rest.trim_start_matches("密码：").split('（').next().unwrap().to_string())
}

/// The first incident of the demo's desk that `pick` takes. The desk opens them during the
/// replay; the server's own first tick may add more, so this asks for up to two minutes.
fn demo_incident(addr: &str, cookie: &str, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, body) = http_get_as(addr, "/api/v1/incidents?limit=200", cookie);
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        if let Some(i) = v["incidents"].as_array().unwrap().iter().find(|i| pick(i)) {
            return i.clone();
        }
        assert!(Instant::now() < deadline, "the demo desk opened no {what} incident: {v}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn the_desk_works_in_a_real_browser() {
    let ui = repo_root().join("ui-tests");
    let playwright = ui.join("node_modules/playwright-core");
    assert!(
        chromium().exists() && playwright.exists(),
        "browser tests need Chromium at {} and {}: run scripts/test (it installs both), \
         or `apt-get install -y chromium && (cd ui-tests && npm ci)`",
        chromium().display(),
        playwright.display()
    );

    let tmp = tempfile::tempdir().unwrap();
    let (server, data) = start_demo(tmp.path());
    let addr = server.addr.clone();
    let (admin, admin_password) = demo_account(&server.output);
    let cookie = sign_in(&addr, &admin, &admin_password);

    // An open grade III/IV incident (a three-link approval chain) that nobody has handled yet.
    let incident = demo_incident(&addr, &cookie, "grade III/IV", |i| {
        ["III", "IV"].contains(&i["grade"].as_str().unwrap_or(""))
            && i["state"] == "Triage"
            && i["lead_department"].as_str().is_some_and(|d| DEMO_DEPARTMENTS.contains(&d))
    });
    let id = incident["id"].as_i64().unwrap();
    // Another untouched one, for the 误报 checks.
    let (_, body) = http_get_as(&addr, "/api/v1/incidents?limit=200", &cookie);
    let v: Value = serde_json::from_str(&body).unwrap();
    let false_alarm = v["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["state"] == "Triage")
        .filter_map(|i| i["id"].as_i64())
        .find(|i| *i != id)
        .expect("a second incident at 待研判");
    let lead = incident["lead_department"].as_str().unwrap();
    let other = DEMO_DEPARTMENTS.iter().find(|d| **d != lead).unwrap();

    let password = "Browser-test-2026";
    let demo_config = repo_root().join("demo/yuqing.toml");
    let add_person = |args: &[&str]| add_user_with_password(&data, &demo_config, args, password);
    add_person(&[
        "dept-head",
        "--role",
        "department",
        "--department",
        lead,
        "--title",
        "department-head",
        "--display-name",
        "责任单位负责人",
    ]);
    add_person(&["fenguan", "--role", "approver", "--display-name", "分管领导"]);
    add_person(&["bangong", "--role", "coordinator", "--title", "office-director", "--display-name", "办公室主任"]);
    let accounts = json!({
        "admin": {"name": admin, "password": admin_password},
        // The browser adds this one through the 系统 page.
        "officer": {"name": "unit-officer", "password": password, "department": other},
        "head": {"name": "dept-head", "password": password},
        "approver": {"name": "fenguan", "password": password},
        "office": {"name": "bangong", "password": password},
    });

    let shots = shots_dir();
    let _ = std::fs::remove_dir_all(&shots); // only this run's screenshots count below
    let out = Command::new("node")
        .arg(ui.join("desk.spec.mjs"))
        .current_dir(&ui)
        .env("YUQING_URL", format!("http://{addr}"))
        .env("YUQING_ACCOUNTS", accounts.to_string())
        .env("YUQING_INCIDENT", id.to_string())
        .env("YUQING_FALSE_ALARM_INCIDENT", false_alarm.to_string())
        .env("YUQING_SHOTS", &shots)
        .env("YUQING_CHROMIUM", chromium())
        .output()
        .expect("node runs (install Node.js 18 or later)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "browser checks failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all browser checks passed"), "{stdout}");

    // What the browser did is what the store holds: the statement is approved by the chain.
    let (status, body) = http_get_as(&addr, &format!("/api/v1/incidents/{id}"), &cookie);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let inc = if v["incident"].is_object() { &v["incident"] } else { &v };
    let statement = &inc["statements"][0];
    assert_eq!(statement["status"], "Approved", "{statement}");
    let signers: Vec<&str> =
        statement["approvals"].as_array().unwrap().iter().map(|a| a["by"].as_str().unwrap()).collect();
    assert_eq!(signers, ["dept-head", "fenguan", "bangong"]);
    // And the incident the browser marked 误报 is closed as such.
    let (_, body) = http_get_as(&addr, &format!("/api/v1/incidents/{false_alarm}"), &cookie);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["incident"]["state"], "Closed", "{v}");
    assert_eq!(v["incident"]["false_alarm"]["reason"], "浏览器测试：外地事件，非本地", "{v}");
    for name in [
        "login",
        "dashboard",
        "search",
        "officer-403",
        "statement-approved",
        "incident-false-alarm",
        "story-false-alarm",
        "big-screen",
    ] {
        let found = std::fs::read_dir(&shots)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(&format!("-{name}.png")));
        assert!(found, "screenshot {name} written under {}", shots.display());
    }
}

fn phone_shots_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("ui-shots-phone")
}

/// The desk at 390×844 (`ui-tests/phone.spec.mjs`): from an alert's link, sign in, land back on
/// the linked page and acknowledge (签收) in one tap; every main page without sideways scrolling
/// and with tap targets of at least 44 px. Screenshots land in `target/ui-shots-phone/`.
#[test]
fn the_desk_works_on_a_phone() {
    let ui = repo_root().join("ui-tests");
    assert!(
        chromium().exists() && ui.join("node_modules/playwright-core").exists(),
        "browser tests need Chromium and playwright-core: run scripts/test"
    );
    let tmp = tempfile::tempdir().unwrap();
    let (server, _data) = start_demo(tmp.path());
    let addr = server.addr.clone();
    let (admin, admin_password) = demo_account(&server.output);
    let cookie = sign_in(&addr, &admin, &admin_password);

    // An open incident, and the latest alert (nobody has acknowledged anything in a fresh demo).
    let incident = demo_incident(&addr, &cookie, "any", |i| i["id"].as_i64().is_some())["id"].as_i64().unwrap();
    let (status, body) = http_get_as(&addr, "/api/v1/alerts?limit=1", &cookie);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let alert = &v["alerts"][0];
    let alert_id = alert["id"].as_i64().expect("the demo raised alerts");
    let alert = json!({"id": alert_id, "story_id": alert["story_id"]});

    let shots = phone_shots_dir();
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new("node")
        .arg(ui.join("phone.spec.mjs"))
        .current_dir(&ui)
        .env("YUQING_URL", format!("http://{addr}"))
        .env("YUQING_ACCOUNTS", json!({"admin": {"name": admin, "password": admin_password}}).to_string())
        .env("YUQING_INCIDENT", incident.to_string())
        .env("YUQING_ALERT", alert.to_string())
        .env("YUQING_SHOTS", &shots)
        .env("YUQING_CHROMIUM", chromium())
        .output()
        .expect("node runs (install Node.js 18 or later)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "phone checks failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("all phone checks passed"), "{stdout}");

    // The tap reached the store: another session sees the alert acknowledged by the admin.
    let (status, body) = http_get_as(&addr, &format!("/stories/{}", alert["story_id"]), &cookie);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("预警 #{alert_id} 已由 {admin} 于")), "{body}");
    assert!(!body.contains(&format!("/alerts/{alert_id}/ack")), "{body}");
    for name in [
        "login",
        "alert-link",
        "alert-acknowledged",
        "dashboard",
        "stories",
        "story",
        "incidents",
        "incident",
        "reports",
        "rules",
    ] {
        let found = std::fs::read_dir(&shots)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().ends_with(&format!("-{name}.png")));
        assert!(found, "screenshot {name} written under {}", shots.display());
    }
}
