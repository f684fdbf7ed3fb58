//! 回测 through the real binary and the real server: stored posts replayed through the rules in
//! force grade what was actually raised, at the same times; a rule saved since grades more, and the
//! backtest names those stories as graded in the backtest only.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Four days of the shipped demo sample (2020-02-09 to 02-12): the day before the range warms up
/// the replay, the range is 02-10 to 02-12.
fn slice(dir: &Path) -> PathBuf {
    let sample = std::fs::read_to_string(repo_root().join("demo/weibo-covid19-sample.jsonl")).expect("demo sample");
    let days = ["2020-02-09", "2020-02-10", "2020-02-11", "2020-02-12"];
    let lines: Vec<&str> =
        sample.lines().filter(|l| days.iter().any(|d| l.contains(&format!("\"published_at\": \"{d}")))).collect();
    assert!(lines.len() > 1000, "the sample holds these days: {}", lines.len());
    let path = dir.join("slice.jsonl");
    std::fs::write(&path, lines.join("\n")).expect("write slice");
    path
}

fn demo_config() -> PathBuf {
    repo_root().join("demo/yuqing.toml")
}

/// A data directory with the slice ingested under the demo configuration.
fn ingested(dir: &Path) -> PathBuf {
    let data = dir.join("data");
    let file = slice(dir);
    let v = run_json(yuqing(&data).arg("--config").arg(demo_config()).args(["--json", "ingest"]).arg(&file));
    assert!(v["stored"].as_u64().unwrap_or(0) > 1000, "{v}");
    data
}

fn backtest_json(data: &Path, extra: &[&str]) -> Value {
    run_json(
        yuqing(data)
            .arg("--config")
            .arg(demo_config())
            .args(["--json", "backtest", "--from", "2020-02-10", "--to", "2020-02-12"])
            .args(extra),
    )
}

fn outcomes(v: &Value, which: &str) -> Vec<Value> {
    v["rows"].as_array().expect("rows").iter().filter(|r| r["outcome"] == which).cloned().collect()
}

/// Saves a watch rule edit in the data directory as the 监测规则 page does.
fn save_rule(data: &Path, name: &str, expr: &str) {
    let conn = yuqing_store::Connection::open(data.join("yuqing.db")).expect("db");
    let edit = yuqing_store::rules::RuleEdit {
        name: name.into(),
        expr: expr.into(),
        topic: None,
        department: None,
        enabled: true,
        by: "test".into(),
        at: chrono::Utc::now(),
    };
    yuqing_store::rules::save(&conn, &edit).expect("rule saved");
}

#[test]
fn backtest_with_unchanged_rules_grades_what_was_raised_and_a_new_rule_grades_more() {
    let tmp = tempfile::tempdir().unwrap();
    let data = ingested(tmp.path());

    let v = backtest_json(&data, &[]);
    let rows = v["rows"].as_array().expect("rows");
    assert!(!rows.is_empty(), "the demo rules grade stories in these days: {v}");
    assert!(v["warmup_posts"].as_u64().unwrap_or(0) > 0 && v["posts"].as_u64().unwrap_or(0) > 0, "{v}");
    assert_eq!(v["warmup_from"], "2020-02-07", "df_days = 3 days of warm-up");
    // The same posts in the same order through the same rules: every grade comes back, at the
    // same stream time, on the story that was graded.
    for r in rows {
        assert_eq!(r["outcome"], "Both", "{r}");
        assert_eq!(r["delay_seconds"], 0, "{r}");
        assert_eq!(r["backtest"]["reached"], r["actual"]["reached"], "{r}");
    }
    let stats =
        run_json(yuqing(&data).arg("--config").arg(demo_config()).args(["--json", "alerts", "--limit", "1000"]));
    let raised: std::collections::BTreeSet<i64> = stats
        .as_array()
        .or_else(|| stats["alerts"].as_array())
        .expect("alerts")
        .iter()
        .filter(|a| a["at"].as_str().is_some_and(|t| ("2020-02-09T16:00:00".."2020-02-12T16:00:00").contains(&t)))
        .filter_map(|a| a["story_id"].as_i64())
        .collect();
    let matched: std::collections::BTreeSet<i64> = rows.iter().filter_map(|r| r["actual"]["story"].as_i64()).collect();
    assert_eq!(matched, raised, "every story raised in the range, and only those");

    // The table a person reads.
    let out = run(yuqing(&data).arg("--config").arg(demo_config()).args([
        "backtest",
        "--from",
        "2020-02-10",
        "--to",
        "2020-02-12",
    ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("两者均定级 {} 个，仅回测定级 0 个，实际已定级、回测未定级 0 个", rows.len())),
        "{text}"
    );
    assert!(text.contains("预热"), "{text}");

    // A rule saved since (on the page) that matches nearly every post: stories that were never
    // graded are graded in the backtest only; kept in --scratch for a look.
    save_rule(&data, "回测测试", "的");
    let scratch = tmp.path().join("kept");
    let v = backtest_json(&data, &["--scratch", scratch.to_str().unwrap()]);
    let only = outcomes(&v, "OnlyBacktest");
    assert!(!only.is_empty(), "{v}");
    for r in &only {
        assert!(r["actual"]["reached"].as_array().is_some_and(Vec::is_empty), "the matched story was not graded: {r}");
        assert!(r["actual"]["story"].as_i64().is_some(), "it names the stored story it matched: {r}");
    }
    assert!(outcomes(&v, "OnlyActual").is_empty(), "a wider rule loses nothing: {v}");
    assert!(scratch.join("yuqing.db").exists(), "the replay is kept");
    assert_eq!(v["scratch"], scratch.display().to_string());
    let out = run(yuqing(&data)
        .arg("--config")
        .arg(demo_config())
        .args(["backtest", "--from", "2020-02-10", "--to", "2020-02-12", "--scratch"])
        .arg(&scratch));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("不是空目录"), "{}", stderr(&out));
}

#[test]
fn backtest_refuses_long_ranges_and_bad_dates_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    for (from, to, says) in [
        ("2020-01-01", "2020-02-12", "超过上限 31 天"),
        ("2020-02-12", "2020-02-10", "早于开始日期"),
        ("2020-02-30", "2020-03-01", "--from 的日期“2020-02-30”无效"),
    ] {
        let out = run(yuqing(&data).args(["backtest", "--from", from, "--to", to]));
        assert!(!out.status.success(), "{from} {to}");
        assert!(stderr(&out).contains(says), "{from} {to}: {}", stderr(&out));
    }
    // A data directory with nothing in it.
    let out = run(yuqing(&data).args(["backtest", "--from", "2020-02-10", "--to", "2020-02-12"]));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("没有数据库"), "{}", stderr(&out));
}

#[test]
fn the_rules_page_runs_a_backtest_for_the_office_and_shows_the_table() {
    let tmp = tempfile::tempdir().unwrap();
    let data = ingested(tmp.path());
    let cfg = demo_config();
    let password = "Backtest-page-2026";
    add_user_with_password(&data, &cfg, &["bangong", "--role", "coordinator"], password);
    add_user_with_password(&data, &cfg, &["kanke", "--role", "viewer"], password);
    let server = serve(&data, &cfg);
    let addr = server.addr.clone();

    let cookie = sign_in(&addr, "bangong", password);
    let (status, page) = http_get_as(&addr, "/rules", &cookie);
    assert_eq!(status, 200);
    assert!(page.contains("action=\"/rules/backtest\""), "the office sees the 回测 form");
    assert!(
        page.contains("value=\"2020-02-06\"") && page.contains("value=\"2020-02-12\""),
        "it defaults to the last 7 days with posts"
    );
    let csrf =
        page.split("name=\"_csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).expect("CSRF token").to_string();
    let post = |cookie: &str, form: &str| {
        http_with(
            &addr,
            "POST",
            "/rules/backtest",
            &[("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )
    };

    let (status, _, body) = post(&cookie, &format!("_csrf={csrf}&from=2020-02-10&to=2020-02-12"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("id=\"backtest-rows\"") && body.contains("两者均定级"), "{body}");
    assert!(body.contains("class=\"both\""), "graded stories are listed: {body}");
    assert!(
        !body.contains("class=\"only-backtest\"") && !body.contains("class=\"only-actual\""),
        "nothing differs with the rules unchanged"
    );
    assert!(body.contains("仅回测定级 <b>0</b> 个"), "{body}");

    // The office saves a wider rule on the page; the backtest now grades stories the desk never did.
    let enc = urlencoding_min;
    let form = format!("_csrf={csrf}&name={}&expr={}", enc("回测测试"), enc("的"));
    let (status, _, body) = http_with(
        &addr,
        "POST",
        "/rules",
        &[("Cookie", &cookie), ("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(status, 303, "{body}");
    let (status, _, body) = post(&cookie, &format!("_csrf={csrf}&from=2020-02-10&to=2020-02-12"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("class=\"only-backtest\""), "{body}");
    assert!(body.contains("未定级"), "the stored story it matched was not graded: {body}");

    // Refusals say why; viewers may not run it; a forged form without the token is refused.
    let (status, _, body) = post(&cookie, &format!("_csrf={csrf}&from=2020-01-01&to=2020-02-12"));
    assert_eq!(status, 400);
    assert!(body.contains("超过上限 31 天"), "{body}");
    let (status, _, body) = post(&cookie, &format!("_csrf={csrf}&from=2020-02-10&to=yesterday"));
    assert_eq!(status, 400);
    assert!(body.contains("不是有效日期"), "{body}");
    let (status, _, _) = post(&cookie, "from=2020-02-10&to=2020-02-12");
    assert_eq!(status, 403, "no CSRF token");
    let viewer = sign_in(&addr, "kanke", password);
    let (_, page) = http_get_as(&addr, "/rules", &viewer);
    assert!(!page.contains("/rules/backtest"), "no form for viewers");
    let vcsrf =
        page.split("name=\"_csrf\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
    let (status, _, _) = post(&viewer, &format!("_csrf={vcsrf}&from=2020-02-10&to=2020-02-12"));
    assert_eq!(status, 403);
}
