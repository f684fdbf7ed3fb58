//! `yuqing backup` of a running server while posts are being pushed, `yuqing restore` into a new
//! directory, and what the restored directory holds: the counts the manifest recorded, an audit log
//! whose hash chain verifies, a full-text index that finds every restored post; a backup with a
//! file altered or missing is refused before anything is written.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn add_user(data: &Path, cfg: &Path, args: &[&str]) -> String {
    let v = run_json(yuqing(data).arg("--config").arg(cfg).arg("--json").arg("user").arg("add").args(args));
    v["token"].as_str().expect("token").to_string()
}

/// A batch of `n` distinct posts that all say 停水 (one search word finds them all).
fn batch(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| {
            json!({"source": "本地论坛", "text": format!("城南第{i}小区停水，居民反映已经第{}天没有自来水", i % 7 + 1)})
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn push(addr: &str, token: &str, body: &str) -> u16 {
    http(addr, "POST", "/api/v1/posts", Some(token), "application/x-ndjson", body.as_bytes()).0
}

#[test]
fn a_backup_taken_while_posts_are_pushed_restores_with_its_counts_audit_chain_and_index() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, "[[rules]]\nname = \"停水\"\nexpr = \"停水\"\n").unwrap();
    let token = add_user(&data, &cfg, &["crawler", "--role", "officer"]);
    add_user(&data, &cfg, &["office", "--role", "coordinator"]);
    let server = serve(&data, &cfg);
    assert_eq!(push(&server.addr, &token, &batch(0, 50)), 200);

    // Posts keep arriving while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let pushed = Arc::new(AtomicUsize::new(0));
    let pusher = {
        let (addr, token, stop, pushed) = (server.addr.clone(), token.clone(), stop.clone(), pushed.clone());
        std::thread::spawn(move || {
            let mut next = 1000;
            while !stop.load(Ordering::SeqCst) {
                assert_eq!(push(&addr, &token, &batch(next, 20)), 200);
                next += 20;
                pushed.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while pushed.load(Ordering::SeqCst) < 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    let dest = tmp.path().join("backup");
    let out = run(yuqing(&data).arg("--config").arg(&cfg).arg("backup").arg(&dest));
    let during = pushed.load(Ordering::SeqCst);
    while pushed.load(Ordering::SeqCst) < during + 2 {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::SeqCst);
    pusher.join().expect("pusher");
    assert!(out.status.success(), "backup failed: {}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("已备份"), "{}", stdout(&out));

    let manifest: Value = serde_json::from_slice(&std::fs::read(dest.join("manifest.json")).unwrap()).unwrap();
    let counts = &manifest["counts"];
    let posts = counts["posts"].as_u64().unwrap();
    assert!(posts >= 50 + 2 * 20, "{manifest}");
    // The server went on storing after the copy was taken.
    let live = api(&server.addr, "GET", "/api/v1/stats", &token, &Value::Null, 200)["posts"].as_u64().unwrap();
    assert!(live > posts, "live {live}, backed up {posts}");
    assert_eq!(manifest["config"], "config/yuqing.toml");
    let files = manifest["files"].as_array().unwrap();
    for f in files {
        let p = dest.join(f["path"].as_str().unwrap());
        assert_eq!(std::fs::metadata(&p).unwrap().len(), f["size"].as_u64().unwrap(), "{p:?}");
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
    }
    assert!(files.iter().any(|f| f["path"] == "data/yuqing.db"));
    // The index was copied at a commit point no later than the database copy.
    if let Some(index) = manifest["index"].as_object() {
        assert!(index["upto"].as_i64().unwrap() <= counts["max_post_id"].as_i64().unwrap(), "{manifest}");
        assert!(files.iter().any(|f| f["path"] == "data/fts/meta.json"));
    }
    drop(server);

    // Restore into a new directory.
    let restored = tmp.path().join("restored");
    let out = run(yuqing(&data).arg("restore").arg(&dest).arg(&restored));
    assert!(out.status.success(), "restore failed: {}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("校验通过"), "{}", stdout(&out));
    let stats = run_json(yuqing(&restored).arg("--config").arg(&cfg).args(["--json", "stats"]));
    assert_eq!(stats["posts"].as_u64(), Some(posts), "{stats} vs {manifest}");
    assert_eq!(stats["stories"], counts["stories"], "{stats} vs {manifest}");
    assert_eq!(stats["alerts"], counts["alerts"], "{stats} vs {manifest}");
    let audit = run_json(yuqing(&restored).args(["--json", "audit", "verify"]));
    assert_eq!(audit["ok"], true, "{audit}");
    assert_eq!(audit["entries"], counts["audit_entries"], "{audit} vs {manifest}");
    assert!(counts["audit_entries"].as_u64().unwrap() >= 2, "the two users added are audited: {manifest}");
    let users = run(yuqing(&restored).args(["user", "list"]));
    assert!(stdout(&users).contains("crawler") && stdout(&users).contains("office"), "{}", stdout(&users));
    // Every restored post is searchable (the index copy, caught up from the database).
    let found = run_json(yuqing(&restored).arg("--config").arg(&cfg).args(["--json", "search", "停水"]));
    assert_eq!(found["total"].as_u64(), Some(posts), "{found}");
    assert!(restored.join("config-from-backup/yuqing.toml").is_file());

    // Not over a non-empty directory without --force; with it, the old one is kept aside.
    let out = run(yuqing(&data).arg("restore").arg(&dest).arg(&restored));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    let out = run(yuqing(&data).arg("restore").arg(&dest).arg(&restored).arg("--force"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("改名保留"), "{}", stdout(&out));

    // An altered file is refused, and names the file; so is a missing one.
    let db = dest.join("data/yuqing.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&db, &bytes).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    let out = run(yuqing(&data).arg("restore").arg(&dest).arg(&elsewhere));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("data/yuqing.db") && stderr(&out).contains("改动"), "{}", stderr(&out));
    assert!(!elsewhere.exists(), "nothing written before the check");
    std::fs::remove_file(&db).unwrap();
    let out = run(yuqing(&data).arg("restore").arg(&dest).arg(&elsewhere));
    assert!(stderr(&out).contains("缺失"), "{}", stderr(&out));
}

#[test]
fn migrate_refuses_while_a_server_holds_the_directory_and_is_a_no_op_when_current() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(&cfg, "").unwrap();
    add_user(&data, &cfg, &["office", "--role", "coordinator"]);
    let v = run_json(yuqing(&data).args(["--json", "migrate", "--backup-to"]).arg(tmp.path().join("b")));
    assert_eq!(v["before"], v["after"], "{v}");
    assert!(v["backup"].is_null(), "no backup when nothing is migrated: {v}");
    assert!(!tmp.path().join("b").exists());
    let server = serve(&data, &cfg);
    let out = run(yuqing(&data).arg("migrate"));
    assert!(!out.status.success());
    assert!(stderr(&out).contains("停止服务"), "{}", stderr(&out));
    drop(server);
}
