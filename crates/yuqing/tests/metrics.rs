//! `/metrics` of the real server, scraped after posts were pushed and a source fetched: every
//! family the operations guide names is there with values from this run, in the Prometheus text
//! format; only the token opens it to an address outside `[metrics] allow`. `/readyz` and
//! `/healthz` answer.

mod common;
#[path = "../../yuqing-collect/tests/site/mod.rs"]
mod site;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};
use site::{Response, Site};

const TOKEN: &str = "metrics-token-0123456789";

fn add_user(data: &Path, cfg: &Path, args: &[&str]) -> String {
    let v = run_json(yuqing(data).arg("--config").arg(cfg).arg("--json").arg("user").arg("add").args(args));
    v["token"].as_str().expect("token").to_string()
}

/// Samples of the exposition: "name{labels}" → value. Checks the line format on the way.
fn samples(text: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            assert!(line.split_whitespace().count() >= 4, "bad comment line: {line}");
            continue;
        }
        assert!(!line.trim().is_empty() && !line.starts_with('#'), "unexpected line: {line:?}");
        let (key, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
        out.insert(key.to_string(), v);
    }
    out
}

/// The sum of the samples of `name` whose labels contain every one of `labels`.
fn sum(s: &HashMap<String, f64>, name: &str, labels: &[&str]) -> Option<f64> {
    let hits: Vec<f64> = s
        .iter()
        .filter(|(k, _)| k.split('{').next() == Some(name) && labels.iter().all(|l| k.contains(l)))
        .map(|(_, v)| *v)
        .collect();
    (!hits.is_empty()).then(|| hits.iter().sum())
}

fn scrape(addr: &str) -> (u16, String) {
    http(addr, "GET", "/metrics", Some(TOKEN), "text/plain", b"")
}

#[test]
fn every_family_is_present_with_values_from_this_run_and_only_allowed_callers_read_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // The duty webhook refuses its first request: a delivery failure to count.
    let receiver = Receiver::start(1);
    let feed = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>论坛</title>\
        <item><title>周末出行提示</title><link>http://example.invalid/t/1</link><description>本周末天气晴好</description></item>\
        </channel></rss>";
    let site = Site::new().fallback(move |_| Response::ok("application/rss+xml", feed.as_bytes().to_vec())).start();
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[[rules]]
name = "医院服务"
expr = "医院 & 排队"

[[channels]]
name = "值班通知"
kind = "webhook"
url = "http://{receiver}/hook"

[desk]
tick = "1s"
open_grade = "IV"
default_channels = ["值班通知"]
# Every alert goes to the duty group: the message whose first delivery fails. (Without it the
# only message would be the officer's 75 % reminder, which a 1 s tick may step over.)
broadcast_channels = ["值班通知"]

[deadlines.first_report]
I = "2s"
II = "2s"
III = "2s"
IV = "2s"

[collect]
politeness = "1s"

[[sources]]
id = "bbs"
name = "本地论坛"
kind = "feed"
url = "http://{site}/feed.xml"
interval = "2s"

[metrics]
allow = ["10.0.0.0/8"]
token = "{TOKEN}"
"#,
            receiver = receiver.addr
        ),
    )
    .unwrap();
    let crawler = add_user(&data, &cfg, &["crawler", "--role", "officer"]);
    let server = serve(&data, &cfg);

    // Posts through the push API: two stored (one raises an alert), one invalid, one repeated.
    let body = [
        json!({"source": "本地论坛", "text": "市第一医院挂号排队三个小时，收费窗口只开一个"}).to_string(),
        json!({"source": "微博", "text": "城北道路积水，车辆无法通行"}).to_string(),
        json!({"source": "微博", "author": "没有正文"}).to_string(),
        json!({"source": "微博", "text": "城北道路积水，车辆无法通行"}).to_string(),
    ]
    .join("\n");
    let (status, answer) =
        http(&server.addr, "POST", "/api/v1/posts", Some(&crawler), "application/x-ndjson", body.as_bytes());
    assert_eq!(status, 200, "{answer}");
    let (status, _) = http(&server.addr, "GET", "/stories/1", Some(&crawler), "text/plain", b"");
    assert_eq!(status, 200);

    // From 127.0.0.1, outside `allow`: refused without the token, also with a wrong one.
    let (status, text) = http(&server.addr, "GET", "/metrics", None, "text/plain", b"");
    assert_eq!(status, 403, "{text}");
    let (status, _) = http(&server.addr, "GET", "/metrics", Some("metrics-token-wrong-000"), "text/plain", b"");
    assert_eq!(status, 403);

    // Wait until the source fetched, a delivery failed and the first-report deadline passed.
    let deadline = Instant::now() + Duration::from_secs(90);
    let (text, s) = loop {
        let (status, text) = scrape(&server.addr);
        assert_eq!(status, 200, "{text}");
        let s = samples(&text);
        let fetched = sum(&s, "yuqing_fetches_total", &["source=\"bbs\"", "result=\"ok\""]).unwrap_or(0.0) >= 1.0;
        let failed = sum(&s, "yuqing_outbox_delivery_failures_total", &[]).unwrap_or(0.0) >= 1.0;
        let overdue = sum(&s, "yuqing_deadlines_overdue", &[]).unwrap_or(0.0) >= 1.0;
        if fetched && failed && overdue {
            break (text, s);
        }
        assert!(
            Instant::now() < deadline,
            "metrics never showed the run (fetched {fetched}, delivery failed {failed}, overdue {overdue}):\n{text}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    // Every family, with its type.
    for (name, kind) in [
        ("yuqing_posts_stored_total", "counter"),
        ("yuqing_posts_refused_total", "counter"),
        ("yuqing_fetches_total", "counter"),
        ("yuqing_fetch_duration_seconds", "histogram"),
        ("yuqing_pipeline_lag_seconds", "gauge"),
        ("yuqing_pipeline_unindexed_posts", "gauge"),
        ("yuqing_alerts_raised_total", "counter"),
        ("yuqing_outbox_depth", "gauge"),
        ("yuqing_outbox_delivery_failures_total", "counter"),
        ("yuqing_deadlines_overdue", "gauge"),
        ("yuqing_http_request_duration_seconds", "histogram"),
    ] {
        assert!(text.contains(&format!("# TYPE {name} {kind}\n")), "{name} {kind} missing:\n{text}");
    }
    // Values from this run.
    assert_eq!(sum(&s, "yuqing_posts_stored_total", &["source=\"微博\""]), Some(1.0), "{text}");
    assert!(sum(&s, "yuqing_posts_stored_total", &["source=\"本地论坛\""]).unwrap_or(0.0) >= 1.0, "{text}");
    assert!(sum(&s, "yuqing_posts_stored_total", &[]).unwrap_or(0.0) >= 3.0, "pushed and fetched:\n{text}");
    assert_eq!(sum(&s, "yuqing_posts_refused_total", &["source=\"push\"", "reason=\"invalid\""]), Some(1.0), "{text}");
    assert_eq!(
        sum(&s, "yuqing_posts_refused_total", &["source=\"push\"", "reason=\"duplicate\""]),
        Some(1.0),
        "{text}"
    );
    assert!(sum(&s, "yuqing_fetch_duration_seconds_count", &["source=\"bbs\""]).unwrap_or(0.0) >= 1.0, "{text}");
    assert!(sum(&s, "yuqing_fetch_duration_seconds_bucket", &["source=\"bbs\"", "le=\"+Inf\""]).unwrap_or(0.0) >= 1.0);
    assert!(s.contains_key("yuqing_pipeline_lag_seconds"), "{text}");
    assert_eq!(s.get("yuqing_pipeline_unindexed_posts"), Some(&0.0), "the index keeps up:\n{text}");
    assert!(sum(&s, "yuqing_alerts_raised_total", &["grade=\"IV\""]).unwrap_or(0.0) >= 1.0, "{text}");
    assert!(sum(&s, "yuqing_outbox_depth", &["channel=\"值班通知\""]).is_some(), "{text}");
    assert!(sum(&s, "yuqing_outbox_delivery_failures_total", &["channel=\"值班通知\""]).unwrap_or(0.0) >= 1.0);
    assert!(s["yuqing_deadlines_overdue"] >= 1.0, "{text}");
    // HTTP latency by route pattern, never by raw path.
    assert!(
        sum(
            &s,
            "yuqing_http_request_duration_seconds_count",
            &["route=\"/api/v1/posts\"", "method=\"POST\"", "status=\"2xx\""]
        ) == Some(1.0),
        "{text}"
    );
    assert!(sum(&s, "yuqing_http_request_duration_seconds_count", &["route=\"/stories/{id}\""]).is_some(), "{text}");
    assert!(!text.contains("route=\"/stories/1\""), "{text}");
    assert!(
        sum(&s, "yuqing_http_request_duration_seconds_count", &["route=\"/metrics\"", "status=\"4xx\""]).unwrap_or(0.0)
            >= 2.0
    );

    // Readiness is its own answer; liveness stays a plain "ok".
    let (status, ready) = http(&server.addr, "GET", "/readyz", None, "text/plain", b"");
    assert_eq!(status, 200, "{ready}");
    let ready: Value = serde_json::from_str(&ready).unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(http(&server.addr, "GET", "/healthz", None, "text/plain", b""), (200, "ok".to_string()));
}

#[test]
fn by_default_only_this_machine_reads_the_metrics() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, "").unwrap();
    let server = serve(&data, &cfg);
    let (status, text) = http(&server.addr, "GET", "/metrics", None, "text/plain", b"");
    assert_eq!(status, 200, "{text}");
    let s = samples(&text);
    assert_eq!(s.get("yuqing_up"), Some(&1.0));
    assert_eq!(s.get("yuqing_deadlines_overdue"), Some(&0.0), "{text}");
}
