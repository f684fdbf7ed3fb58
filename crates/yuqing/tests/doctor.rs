//! `yuqing doctor` through the real binary: a healthy installation passes; an unreachable source
//! and a broken configuration fail with a non-zero exit and say in Chinese what to fix; a test
//! message reaches a channel only with `--send-test`; it runs beside a serving server.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn doctor(data: &std::path::Path, cfg: &std::path::Path, extra: &[&str]) -> (bool, Value) {
    let out = run(yuqing(data).arg("--config").arg(cfg).args(["--json", "doctor"]).args(extra));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}\n{}", stdout(&out), stderr(&out)));
    (out.status.success(), v)
}

fn area<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    v["checks"].as_array().unwrap().iter().filter(|c| c["area"] == name).collect()
}

#[test]
fn doctor_passes_a_healthy_installation_and_fails_what_is_broken_saying_how_to_fix_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let receiver = Receiver::start(0);
    let cfg = tmp.path().join("yuqing.toml");
    let healthy = format!(
        "[[rules]]\nname = \"停水\"\nexpr = \"停水\"\n\n[[channels]]\nname = \"值班通知\"\nkind = \"webhook\"\nurl = \"http://{}/hook\"\n",
        receiver.addr
    );
    std::fs::write(&cfg, &healthy).unwrap();
    run_json(yuqing(&data).arg("--config").arg(&cfg).args(["--json", "user", "add", "office", "--role", "admin"]));

    // Healthy: passes, beside a running server, and sends nothing without --send-test.
    let server = serve(&data, &cfg);
    let (ok, v) = doctor(&data, &cfg, &[]);
    assert!(ok, "{v:#}");
    assert_eq!(v["failed"], 0);
    for a in ["配置", "数据目录", "磁盘", "时钟", "通知渠道", "信息源"] {
        assert!(!area(&v, a).is_empty(), "{a} not checked: {v:#}");
    }
    assert!(area(&v, "数据目录").iter().any(|c| c["message"].as_str().unwrap().contains("运行中")), "{v:#}");
    assert!(area(&v, "数据目录").iter().any(|c| c["message"].as_str().unwrap().contains("数据库版本")), "{v:#}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
    let (ok, v) = doctor(&data, &cfg, &["--send-test"]);
    assert!(ok, "{v:#}");
    receiver.wait_for("测试消息", Duration::from_secs(10));
    drop(server);

    // An unreachable source: exit non-zero, the source named, what to do said.
    std::fs::write(
        &cfg,
        format!("{healthy}\n[[sources]]\nid = \"gone\"\nname = \"停用的站点\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/feed.xml\"\n"),
    )
    .unwrap();
    let out = run(yuqing(&data).arg("--config").arg(&cfg).arg("doctor"));
    assert!(!out.status.success());
    let text = stdout(&out);
    assert!(text.contains("✗ 信息源：gone") && text.contains("无法访问"), "{text}");
    assert!(text.contains("处理：") && text.contains("sources disable"), "{text}");
    assert!(stderr(&out).contains("1 项检查未通过"), "{}", stderr(&out));

    // A broken configuration: its line named.
    std::fs::write(&cfg, "[[rules]]\nname = \"停水\"\nexpr = \"停水 &\"\n").unwrap();
    let (ok, v) = doctor(&data, &cfg, &[]);
    assert!(!ok);
    let c = area(&v, "配置");
    assert!(c[0]["level"] == "fail" && c[0]["message"].as_str().unwrap().contains("第 3 行"), "{v:#}");
}

#[test]
fn doctor_runs_in_the_demo_data_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo-data");
    let out = Command::new(bin())
        .current_dir(tmp.path())
        .arg("--data-dir")
        .arg(&data)
        .args(["demo", "--no-serve"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let out = Command::new(bin())
        .current_dir(tmp.path())
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(repo_root().join("demo/yuqing.toml"))
        .arg("doctor")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("✓ 数据目录") && text.contains("帖文"), "{text}\n{}", stderr(&out));
    assert!(text.contains("共 ") && text.contains("项检查"), "{text}");
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
}
