//! The push API through the real server: every item of a request gets its own answer (by its index,
//! with its line), and the answer matches what was committed — also when a step after the commit
//! fails (the full-text index on a full disk), and when the database refuses the batch.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn add_user(data: &Path, cfg: &Path, args: &[&str]) -> String {
    let v = run_json(yuqing(data).arg("--config").arg(cfg).arg("--json").arg("user").arg("add").args(args));
    v["token"].as_str().expect("token").to_string()
}

/// A server on a fresh data directory, and a token that may push.
fn serve(tmp: &Path) -> (Server, std::path::PathBuf, String) {
    let data = tmp.join("data");
    let cfg = tmp.join("yuqing.toml");
    std::fs::write(&cfg, "[[rules]]\nname = \"停水\"\nexpr = \"停水\"\n").unwrap();
    let token = add_user(&data, &cfg, &["crawler", "--role", "officer"]);
    let mut cmd = yuqing(&data);
    cmd.arg("--config").arg(&cfg).args(["serve", "--addr", "127.0.0.1:0"]);
    (start_server(cmd, Duration::from_secs(120)), data, token)
}

fn push(server: &Server, token: &str, body: &str) -> (u16, Value) {
    let (status, text) =
        http(&server.addr, "POST", "/api/v1/posts", Some(token), "application/x-ndjson", body.as_bytes());
    (status, serde_json::from_str(&text).unwrap_or_else(|_| json!({ "raw": text })))
}

fn stored_posts(server: &Server, token: &str) -> u64 {
    api(&server.addr, "GET", "/api/v1/stats", token, &Value::Null, 200)["posts"].as_u64().expect("posts")
}

fn field<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    v["items"].as_array().expect("items").iter().map(|i| &i[key]).collect()
}

#[test]
fn each_item_of_a_json_array_gets_its_own_index_and_outcome() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, _data, token) = serve(tmp.path());
    let stored_before = json!({"source": "本地论坛", "text": "城南小区停水三天，物业没有任何通知"});
    let (status, first) = push(&server, &token, &stored_before.to_string());
    assert_eq!(status, 200, "{first}");
    let stored_id = first["items"][0]["post_id"].as_i64().expect("stored");

    // One line: new, a repeat of the stored post, a post with a URL, the same URL from another
    // site, a repeat of the first element, an element without text, and not an object.
    let array = json!([
        {"source": "本地论坛", "text": "北门道路积水严重，车辆无法通行"},
        stored_before,
        {"source": "微博", "url": "https://weibo.example/7?utm_source=x", "text": "滨江路施工噪音扰民"},
        {"source": "头条", "url": "https://weibo.example/7", "text": "滨江路施工噪音扰民（转）"},
        {"source": "本地论坛", "text": "北门道路积水严重，车辆无法通行"},
        {"source": "本地论坛", "author": "x"},
        5
    ]);
    let (status, v) = push(&server, &token, &array.to_string());
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["accepted"].as_u64(), v["duplicates"].as_u64(), v["rejected"].as_u64()),
        (Some(2), Some(3), Some(2)),
        "{v}"
    );
    let indexes: Vec<u64> = field(&v, "index").iter().map(|i| i.as_u64().expect("index")).collect();
    assert_eq!(indexes, (0..7).collect::<Vec<u64>>(), "{v}");
    assert!(field(&v, "line").iter().all(|l| **l == json!(1)), "{v}");
    let status: Vec<&str> = field(&v, "status").iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(status, ["accepted", "duplicate", "accepted", "duplicate", "duplicate", "rejected", "rejected"], "{v}");
    let items = v["items"].as_array().unwrap();
    let (new_id, url_id) = (items[0]["post_id"].as_i64().unwrap(), items[2]["post_id"].as_i64().unwrap());
    assert!(new_id != url_id && new_id != stored_id && url_id != stored_id, "{v}");
    // A duplicate says of which stored post, and of which item of this request when it repeats one.
    assert_eq!(items[1]["duplicate_of"], stored_id, "{v}");
    assert!(items[1].get("post_id").is_none() && items[1].get("duplicate_of_index").is_none(), "{v}");
    assert_eq!(
        (items[3]["duplicate_of"].as_i64(), items[3]["duplicate_of_index"].as_u64()),
        (Some(url_id), Some(2)),
        "{v}"
    );
    assert_eq!(
        (items[4]["duplicate_of"].as_i64(), items[4]["duplicate_of_index"].as_u64()),
        (Some(new_id), Some(0)),
        "{v}"
    );
    assert!(items[5]["reason"].as_str().unwrap().contains("text"), "{v}");
    assert!(items[6]["reason"].as_str().unwrap().contains("对象"), "{v}");
    assert_eq!(stored_posts(&server, &token), 3);

    // JSON lines: the index counts items, the line is the line (blank lines are not items).
    let body = format!("\n{}\n\n{}\n", json!({"source": "微博", "text": "东区菜市场周末关闭"}), json!({"text": ""}));
    let (_, v) = push(&server, &token, &body);
    assert_eq!(field(&v, "index"), [&json!(0), &json!(1)], "{v}");
    assert_eq!(field(&v, "line"), [&json!(2), &json!(4)], "{v}");
}

#[test]
fn a_push_answers_what_was_committed_when_a_later_step_fails_and_an_error_when_nothing_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, data, token) = serve(tmp.path());
    let (status, v) = push(&server, &token, &json!({"source": "微博", "text": "开场：北门道路维修"}).to_string());
    assert_eq!(status, 200, "{v}");

    // The index can no longer commit (its meta.json cannot be replaced, as on a full disk); the
    // database can. The 50 posts are committed before the index is, so the answer is "accepted".
    let meta = data.join("fts").join("meta.json");
    std::fs::remove_file(&meta).unwrap();
    std::fs::create_dir_all(meta.join("blocked")).unwrap();
    let body: Vec<String> = (0..50)
        .map(|i| json!({"source": "本地论坛", "text": format!("第{i}号楼供暖管道漏水，维修迟迟不来")}).to_string())
        .collect();
    let (status, v) = push(&server, &token, &body.join("\n"));
    assert_eq!(status, 200, "the posts were committed, the answer must say so: {v}");
    assert_eq!(v["accepted"], 50, "{v}");
    let mut ids: Vec<i64> = field(&v, "post_id").iter().map(|i| i.as_i64().expect("post id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "{v}");
    assert_eq!(stored_posts(&server, &token), 51);
    // The index caught up from the database (the next flush at the latest): every post is found.
    let (status, v) = push(&server, &token, &json!({"source": "微博", "text": "收尾：供暖恢复"}).to_string());
    assert_eq!(status, 200, "{v}");
    let found = api(&server.addr, "GET", "/api/v1/search?q=%E6%BC%8F%E6%B0%B4&limit=100", &token, &Value::Null, 200);
    assert_eq!(found["total"], 50, "{found}");

    // A failure before the commit (the database refuses the batch) answers an error, stores nothing.
    let db = yuqing_store::Connection::open(data.join("yuqing.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute_batch("CREATE TRIGGER refuse BEFORE INSERT ON posts WHEN NEW.text LIKE '%停电%' BEGIN SELECT RAISE(ABORT, 'refused'); END;").unwrap();
    let body =
        [json!({"source": "微博", "text": "城东一片突然停电"}), json!({"source": "微博", "text": "城西也停电了"})]
            .map(|p| p.to_string())
            .join("\n");
    let (status, v) = push(&server, &token, &body);
    assert_eq!(status, 500, "{v}");
    let message = v["error"].as_str().unwrap();
    assert!(
        message.contains("均未入库") && !message.contains("refused"),
        "no internal text reaches the client: {message}"
    );
    assert_eq!(stored_posts(&server, &token), 52);
    db.execute_batch("DROP TRIGGER refuse;").unwrap();
    let (status, v) = push(&server, &token, &body);
    assert_eq!((status, v["accepted"].as_u64()), (200, Some(2)), "{v}");
}
