//! Reports end to end: the digest missed while the server was stopped across 17:00 is produced on
//! start (fake clock, as in desk_clock.rs); the real binary writes reports and forms that
//! python-docx and openpyxl read back; the real server archives the owed digest on start, and 100
//! disposal reports issued at once over its API get 100 consecutive serials.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use serde_json::{json, Value};
use yuqing::config::Config;
use yuqing::pipeline::Pipeline;
use yuqing_core::people::Role;
use yuqing_core::{PostInput, SourceTier};
use yuqing_desk::Desk;
use yuqing_server::AppState;
use yuqing_store::desk::{self, NewUser};
use yuqing_store::outbox;

const CONFIG: &str = r#"
[organization]
name = "某市人民政府"

[[departments]]
name = "卫健委"

[[rules]]
name = "医院服务"
expr = "医院 & 排队"
topic = "医疗"

[[routing]]
department = "卫健委"
rules = ["医院服务"]

[[channels]]
name = "值班通知"
kind = "webhook"
url = "http://127.0.0.1:9/never"

[desk]
public_url = "https://yq.example.gov.cn"
open_grade = "IV"
default_channels = ["值班通知"]
broadcast_channels = ["值班通知"]

[reports]
recipient = "舆情监控调度处置中心"
"#;

/// 2026-11-20 10:00 China time.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

fn cst(h: u32, m: u32) -> DateTime<Utc> {
    yuqing_core::china().with_ymd_and_hms(2026, 11, 20, h, m, 0).unwrap().with_timezone(&Utc)
}

fn post(url: &str, at: DateTime<Utc>) -> PostInput {
    PostInput {
        source: Some("本地论坛".into()),
        url: Some(url.into()),
        text: Some("市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大".into()),
        published_at: Some(at.fixed_offset()),
        tier: Some(SourceTier::Community),
        ..Default::default()
    }
}

fn read_office(path: &Path) -> Value {
    let script = repo_root().join("crates/yuqing-report/tests/read_office.py");
    let out = std::process::Command::new("python3").arg(&script).arg(path).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "python-docx/openpyxl could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// A data directory with one story on the 20th and the incident the desk opened for it.
fn world(dir: &Path) -> Pipeline {
    let config = Config::parse(CONFIG, Path::new("yuqing.toml")).unwrap();
    let desk = Desk::new(config.desk.clone());
    let mut p = Pipeline::open(dir, config).unwrap();
    p.ingest(
        vec![(1, post("https://bbs.example/1", t0())), (2, post("https://bbs.example/2", t0() + Duration::minutes(5)))],
        t0() + Duration::minutes(5),
    )
    .unwrap();
    p.flush().unwrap();
    let rep = desk.tick(&p.data().store, t0() + Duration::minutes(10)).unwrap();
    assert_eq!(rep.opened.len(), 1, "{rep:?}");
    p
}

fn state_at(p: Pipeline, now: Arc<Mutex<DateTime<Utc>>>) -> AppState {
    let jobs = yuqing::report_cli::jobs(p.config());
    let mut state = AppState::shared(p.into_data(), "某市人民政府".into(), None);
    state.reports = Arc::new(jobs);
    state.clock = Arc::new(move || *now.lock().unwrap());
    state
}

#[tokio::test(flavor = "multi_thread")]
async fn a_digest_missed_across_five_oclock_while_the_server_was_stopped_is_produced_when_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let p = world(&data);
    let digests = |p: &Pipeline| -> Vec<String> {
        yuqing_report::store::archive_list(p.data().store.connection(), Some("daily"), 50, 0)
            .unwrap()
            .0
            .into_iter()
            .map(|e| e.period)
            .collect()
    };

    // The server runs until 16:50 and stops: the 20th's digest is not due yet.
    let now = Arc::new(Mutex::new(cst(16, 50)));
    let state = state_at(p, now.clone());
    let produced = yuqing_server::run_report_schedule(&state).await.unwrap();
    assert!(produced.iter().all(|p| p.period != "2026-11-20"), "{produced:?}");
    drop(state);

    // Started again at 17:10: the digest of the 20th is produced at once, and only once.
    let config = Config::parse(CONFIG, Path::new("yuqing.toml")).unwrap();
    let p = Pipeline::open(&data, config).unwrap();
    assert!(!digests(&p).contains(&"2026-11-20".to_string()));
    *now.lock().unwrap() = cst(17, 10);
    let state = state_at(p, now.clone());
    let produced = yuqing_server::run_report_schedule(&state).await.unwrap();
    assert_eq!(produced.len(), 1, "{produced:?}");
    assert_eq!((produced[0].job, produced[0].period.as_str()), ("daily", "2026-11-20"));
    assert!(yuqing_server::run_report_schedule(&state).await.unwrap().is_empty(), "not twice");
    drop(state);

    let config = Config::parse(CONFIG, Path::new("yuqing.toml")).unwrap();
    let p = Pipeline::open(&data, config).unwrap();
    assert_eq!(digests(&p).iter().filter(|d| *d == "2026-11-20").count(), 1);
    let msgs = outbox::list(p.data().store.connection(), None, 100, 0).unwrap();
    let m = msgs.iter().find(|m| m.subject == "【网络舆情日报】2026年11月20日").expect("delivered through the outbox");
    assert_eq!(m.channel, "值班通知");
    assert!(m.body.contains("https://bbs.example/1"), "{}", m.body);
    assert!(m.body.contains("【IV级一般·医疗】"), "grouped by grade and topic: {}", m.body);
}

#[test]
fn the_cli_writes_reports_and_forms_that_word_and_excel_readers_open() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let p = world(&data);
    let leader = NewUser {
        name: "fenguan".into(),
        display_name: "张副局长".into(),
        role: Some(Role::Approver),
        phone: Some("13900000000".into()),
        ..Default::default()
    };
    desk::add_user(p.data().store.connection(), &leader, &desk::token_hash("x"), t0()).unwrap();
    drop(p);
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let cli = |args: &[&str]| run_json(yuqing(&data).arg("--config").arg(&cfg).arg("--json").arg("report").args(args));

    let out = tmp.path().join("日报.docx");
    let r = cli(&["daily", "--date", "2026-11-20", "--format", "docx", "--out", out.to_str().unwrap()]);
    assert_eq!(r["title"], "网络舆情日报（2026年11月20日）");
    let v = read_office(&out);
    assert_eq!(v["paragraphs"][0]["text"], "网络舆情日报（2026年11月20日）");
    assert_eq!(v["paragraphs"][0]["runs"][0]["east_asia"], "方正小标宋简体");
    assert!((v["section"]["top_mm"].as_f64().unwrap() - 37.0).abs() < 0.1, "{}", v["section"]);
    let links: Vec<&str> = v["links"].as_array().unwrap().iter().map(|l| l["url"].as_str().unwrap()).collect();
    assert!(links.iter().any(|u| u.starts_with("https://bbs.example/")), "the site links to the post: {links:?}");
    assert!(links.iter().any(|u| u.starts_with("https://yq.example.gov.cn/stories/")), "[desk] public_url: {links:?}");

    let out = tmp.path().join("stats.xlsx");
    cli(&["stats", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "xlsx", "--out", out.to_str().unwrap()]);
    let x = read_office(&out);
    assert_eq!(x["sheets"]["各单位考评"][1][0], "卫健委");
    let out = tmp.path().join("weekly.xlsx");
    cli(&["weekly", "--week-of", "2026-11-20", "--format", "xlsx", "--out", out.to_str().unwrap()]);
    assert_eq!(read_office(&out)["charts"]["每日信息量与情感倾向"], 1);

    let d = cli(&["disposal", "new", "1"]);
    assert_eq!(d["fields"]["leader"], "张副局长");
    assert_eq!(d["fields"]["department"], "卫健委");
    let id = d["id"].as_i64().unwrap().to_string();
    let refused = run(yuqing(&data).arg("--config").arg(&cfg).args(["report", "disposal", "issue", &id]));
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("未填写的栏目") && stderr(&refused).contains("舆情产生原因"),
        "{}",
        stderr(&refused)
    );
    cli(&[
        "disposal",
        "edit",
        &id,
        "--set",
        "cause=医院收费窗口人手不足",
        "--set",
        "result=已增开窗口，排队缓解",
        "--set",
        "measures=增开收费窗口",
        "--set",
        "statement=无需公开回应",
    ]);
    let issued = cli(&["disposal", "issue", &id]);
    assert_eq!(
        issued["serial"],
        format!("YQCZBG-{}-001", chrono::Utc::now().with_timezone(&yuqing_core::china()).format("%Y"))
    );
    let frozen =
        run(yuqing(&data).arg("--config").arg(&cfg).args(["report", "disposal", "edit", &id, "--set", "title=改"]));
    assert!(stderr(&frozen).contains("内容已冻结"), "{}", stderr(&frozen));
    let out = tmp.path().join("form.docx");
    cli(&["disposal", "show", &id, "--format", "docx", "--out", out.to_str().unwrap()]);
    let v = read_office(&out);
    let paras: Vec<&str> = v["paragraphs"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert!(paras.iter().any(|p| p.starts_with("编号：YQCZBG-")), "{paras:?}");
    assert_eq!(v["tables"][0][1][1], "医院收费窗口人手不足");

    cli(&[
        "risk",
        "add",
        "--department",
        "卫健委",
        "--content",
        "医院排队时间长",
        "--offline",
        "增开窗口",
        "--online",
        "公布就诊高峰",
        "--due",
        "2020-01-01",
    ]);
    let out = tmp.path().join("risk.xlsx");
    cli(&["risk", "list", "--format", "xlsx", "--out", out.to_str().unwrap()]);
    let x = read_office(&out);
    assert_eq!(x["sheets"]["隐患排查表"][1][2], "医院排队时间长");
    assert_eq!(x["sheets"]["隐患排查表"][1][6], "逾期");

    let bad =
        run(yuqing(&data).arg("--config").arg(&cfg).args(["report", "daily", "--date", "11/20", "--out", "x.docx"]));
    assert!(stderr(&bad).contains("--date“11/20”应写成 YYYY-MM-DD"), "{}", stderr(&bad));
}

#[test]
fn the_server_archives_the_owed_digest_on_start_and_issues_a_hundred_forms_at_once_with_consecutive_serials() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    drop(world(&data));
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let token = run_json(yuqing(&data).arg("--config").arg(&cfg).arg("--json").args([
        "user",
        "add",
        "office",
        "--role",
        "coordinator",
    ]))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let viewer =
        run_json(yuqing(&data).arg("--config").arg(&cfg).arg("--json").args(["user", "add", "v", "--role", "viewer"]))
            ["token"]
            .as_str()
            .unwrap()
            .to_string();

    {
        use std::io::Write;
        let mut c = yuqing(&data);
        c.arg("--config").arg(&cfg).args(["user", "add", "web", "--role", "coordinator", "--password-stdin"]);
        let mut child = c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(b"a-long-enough-password\n").unwrap();
        assert!(child.wait().unwrap().success());
        let mut c = yuqing(&data);
        c.arg("--config").arg(&cfg).args([
            "user",
            "add",
            "wj",
            "--role",
            "department",
            "--department",
            "卫健委",
            "--password-stdin",
        ]);
        let mut child = c.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::null()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(b"a-long-enough-password\n").unwrap();
        assert!(child.wait().unwrap().success());
    }

    let mut cmd = yuqing(&data);
    cmd.arg("--config").arg(&cfg).args(["serve", "--addr", "127.0.0.1:0"]);
    let server = start_server(cmd, std::time::Duration::from_secs(120));
    let addr = server.addr.clone();

    // A fresh data directory always owes the latest digest: produced on start.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let list = loop {
        let l = api(&addr, "GET", "/api/v1/reports?kind=daily", &token, &Value::Null, 200);
        if l["total"].as_u64().unwrap_or(0) >= 1 || std::time::Instant::now() > deadline {
            break l;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["reports"][0]["trigger"], "schedule");
    let rid = list["reports"][0]["id"].as_i64().unwrap();
    let (status, body) =
        http(&addr, "GET", &format!("/api/v1/reports/{rid}?format=docx"), Some(&token), "text/plain", b"");
    assert_eq!(status, 200);
    assert!(body.starts_with("PK"), "a zip (docx)");
    // The server's digest links to the configured public address, as the command line's does.
    let made = api(&addr, "POST", "/api/v1/reports", &token, &json!({"kind": "daily", "date": "2026-11-20"}), 201);
    let j = api(&addr, "GET", &format!("/api/v1/reports/{}", made["id"]), &token, &Value::Null, 200);
    let link = j["report"]["groups"][0]["entries"][0]["link"].as_str().unwrap_or_default();
    assert!(link.starts_with("https://yq.example.gov.cn/stories/"), "{j}");
    assert!(
        j["report"]["matters"][0]["link"].as_str().unwrap_or_default().starts_with("https://yq.example.gov.cn/"),
        "{j}"
    );
    let made = api(&addr, "POST", "/api/v1/reports", &token, &json!({"kind": "special", "incident": 1}), 201);
    assert_eq!(made["kind"], "special");
    assert!(made["title"].as_str().unwrap_or_default().starts_with("关于“"), "{made}");
    // The office words the title itself; the archive, the page and the document carry it.
    let titled = api(
        &addr,
        "POST",
        "/api/v1/reports",
        &token,
        &json!({"kind": "special", "incident": 1, "title": "  关于群众反映窗口排队情况的舆情专报 "}),
        201,
    );
    assert_eq!(titled["title"], "关于群众反映窗口排队情况的舆情专报", "{titled}");
    let (status, body) =
        http(&addr, "GET", &format!("/api/v1/reports/{}?format=html", titled["id"]), Some(&token), "text/plain", b"");
    assert_eq!(status, 200);
    assert!(body.contains("关于群众反映窗口排队情况的舆情专报"));
    let long = api(
        &addr,
        "POST",
        "/api/v1/reports",
        &token,
        &json!({"kind": "special", "incident": 1, "title": "长".repeat(61)}),
        400,
    );
    assert!(long["error"].as_str().unwrap_or_default().contains("最长 60 字"), "{long}");
    let daily_titled = api(&addr, "POST", "/api/v1/reports", &token, &json!({"kind": "daily", "title": "自拟"}), 400);
    assert!(daily_titled["error"].as_str().unwrap_or_default().contains("只有专报"), "{daily_titled}");
    let bad = api(&addr, "POST", "/api/v1/reports", &token, &json!({"kind": "monthly"}), 400);
    assert!(bad["error"].as_str().unwrap().contains("未知的报表类型"));
    api(&addr, "POST", "/api/v1/reports", &viewer, &json!({"kind": "daily"}), 403);

    let mut ids = Vec::new();
    for _ in 0..100 {
        let d = api(&addr, "POST", "/api/v1/reports/disposal", &token, &json!({"incident": 1}), 201);
        let id = d["id"].as_i64().unwrap();
        api(
            &addr,
            "POST",
            &format!("/api/v1/reports/disposal/{id}"),
            &token,
            &json!({"cause": "窗口不足", "measures": "增开窗口", "statement": "已在官网说明", "leader": "张副局长", "result": "已缓解"}),
            200,
        );
        ids.push(id);
    }
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            let (addr, token, id) = (addr.clone(), token.clone(), *id);
            std::thread::spawn(move || {
                api(&addr, "POST", &format!("/api/v1/reports/disposal/{id}/issue"), &token, &Value::Null, 200)["serial"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
        })
        .collect();
    let serials: BTreeSet<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let year = chrono::Utc::now().with_timezone(&yuqing_core::china()).format("%Y").to_string();
    let want: BTreeSet<String> = (1..=100).map(|n| format!("YQCZBG-{year}-{n:03}")).collect();
    assert_eq!(serials, want);
    let again =
        api(&addr, "POST", &format!("/api/v1/reports/disposal/{}", ids[0]), &token, &json!({"title": "改"}), 409);
    assert!(again["error"].as_str().unwrap().contains("冻结"));

    let page = api(
        &addr,
        "POST",
        "/api/v1/reports/risks",
        &token,
        &json!({"department": "卫健委", "content": "医院排队", "due_date": "2026-13-01"}),
        400,
    );
    assert!(page["error"].as_str().unwrap().contains("解决时限"), "{page}");

    // The 报表 pages, signed in as a browser would be.
    let cookie = sign_in(&addr, "web", "a-long-enough-password");
    let (status, html) = http_get_as(&addr, "/reports", &cookie);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("href=\"/reports\">报表</a>") && html.contains("网络舆情日报"), "nav entry and the archive");
    let (status, html) = http_get_as(&addr, &format!("/reports/{rid}"), &cookie);
    assert_eq!(status, 200);
    assert!(html.contains("report-title") && html.contains("format=docx"));
    let (_, html) = http_get_as(&addr, &format!("/reports/disposal/{}", ids[0]), &cookie);
    assert!(
        html.contains("YQCZBG-") && html.contains("舆情产生原因（事实真相）") && !html.contains("<textarea"),
        "issued: shown, not editable"
    );
    let (_, html) = http_get_as(&addr, "/reports/risks", &cookie);
    let csrf = html
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("the form carries the CSRF token")
        .to_string();
    let form = format!("_csrf={csrf}&department=%E5%8D%AB%E5%81%A5%E5%A7%94&content=%E5%8C%BB%E9%99%A2%E6%8E%92%E9%98%9F&due_date=2020-01-01");
    let (status, _, _) = http_with(
        &addr,
        "POST",
        "/reports/risks",
        &[("Cookie", &cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(status, 303);
    let (_, html) = http_get_as(&addr, "/reports/risks", &cookie);
    assert!(html.contains("医院排队") && html.contains("逾期"), "registered and flagged overdue");

    // A draft is edited through the form; the office's save is on the form at once.
    let draft =
        api(&addr, "POST", "/api/v1/reports/disposal", &token, &json!({"incident": 1}), 201)["id"].as_i64().unwrap();
    let form = format!("_csrf={csrf}&action=save&leader=%E6%9D%8E%E5%B1%80%E9%95%BF&date=2026-11-21");
    let (status, _, _) = http_with(
        &addr,
        "POST",
        &format!("/reports/disposal/{draft}"),
        &[("Cookie", &cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(status, 303);
    let (_, html) = http_get_as(&addr, &format!("/reports/disposal/{draft}"), &cookie);
    assert!(
        html.contains("value=\"李局长\"") && html.contains("value=\"2026-11-21\"") && html.contains("<textarea"),
        "the draft is editable"
    );
    let form = format!("_csrf={csrf}&action=save&date=11%2F21");
    let (status, _, html) = http_with(
        &addr,
        "POST",
        &format!("/reports/disposal/{draft}"),
        &[("Cookie", &cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(status, 400);
    assert!(html.contains("日期“11/21”应写成 YYYY-MM-DD"), "{html}");

    // A department member is sent to its own register and may not write another department's.
    let wj = sign_in(&addr, "wj", "a-long-enough-password");
    let (status, head, _) = http_with(&addr, "GET", "/reports", &[("Cookie", &wj)], b"");
    assert_eq!(status, 303);
    assert!(head.to_ascii_lowercase().contains("location: /reports/risks"), "{head}");
    let (_, html) = http_get_as(&addr, "/reports/risks", &wj);
    let wj_csrf = html.split("name=\"_csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
    let form = format!("_csrf={wj_csrf}&department=%E6%95%99%E8%82%B2%E5%B1%80&content=x&due_date=2027-01-01");
    let (status, _, html) = http_with(
        &addr,
        "POST",
        "/reports/risks",
        &[("Cookie", &wj), ("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(status, 403);
    assert!(html.contains("只能登记、修改本单位"), "{html}");
}
