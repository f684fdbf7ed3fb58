//! End-to-end tests of the command line: the real binary on real files and a data directory.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::*;
use serde_json::Value;

fn scratch() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    (dir, data)
}

fn ingest(data: &Path, files: &[&Path]) -> Value {
    let mut cmd = yuqing(data);
    with_config(&mut cmd).arg("--json").arg("ingest").args(files);
    run_json(&mut cmd)
}

fn story(data: &Path, id: i64) -> Value {
    let mut cmd = yuqing(data);
    with_config(&mut cmd).args(["--json", "story", &id.to_string(), "--posts", "500"]);
    run_json(&mut cmd)
}

fn stats(data: &Path) -> Value {
    let mut cmd = yuqing(data);
    with_config(&mut cmd).args(["--json", "stats"]);
    run_json(&mut cmd)
}

/// Story id of the post whose text contains `needle`, looked up through search.
fn story_of(data: &Path, query: &str, needle: &str) -> i64 {
    let mut cmd = yuqing(data);
    with_config(&mut cmd).args(["--json", "search", query, "--limit", "100"]);
    let v = run_json(&mut cmd);
    let results = v["results"].as_array().expect("results");
    let hit = results
        .iter()
        .find(|r| r["snippet"].as_str().unwrap_or("").replace('…', "").contains(needle))
        .unwrap_or_else(|| panic!("no post with {needle:?} among {v}"));
    hit["story"].as_i64().expect("story id")
}

#[test]
fn ingest_reports_counts_and_rejects_bad_lines_without_stopping() {
    let (_tmp, data) = scratch();
    let v = ingest(&data, &[&fixture("mixed.jsonl")]);
    assert_eq!(v["stored"], 5, "{v}");
    assert_eq!(v["duplicates"], 1, "{v}");
    assert_eq!(v["rejected"], 4, "{v}");
    assert_eq!(v["read"], 10, "{v}");
    let rejected = v["files"][0]["rejected"].as_array().expect("rejections listed");
    let lines: Vec<i64> = rejected.iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, vec![3, 4, 5, 9]);
    let reasons: Vec<&str> = rejected.iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert!(reasons[0].contains("JSON"), "{reasons:?}");
    assert!(reasons[1].contains("text") && reasons[1].contains("title"), "{reasons:?}");
    assert!(reasons[2].contains("published_at") && reasons[2].contains("昨天上午"), "{reasons:?}");
    assert!(reasons[3].contains("likes"), "{reasons:?}");
    assert_eq!(stats(&data)["posts"], 5);

    // The human-readable report names the lines too.
    let mut cmd = yuqing(&data);
    with_config(&mut cmd).arg("ingest").arg(fixture("mixed.jsonl"));
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("读取 10 条，入库 0 条，重复 6 条，拒收 4 条"), "second ingest stores nothing new: {text}");
    assert!(text.contains("第 3 行") && text.contains("第 9 行"), "{text}");
}

#[test]
fn traditional_post_matches_simplified_rule_and_reason_names_the_rule() {
    let (_tmp, data) = scratch();
    ingest(&data, &[&fixture("mixed.jsonl")]);
    let id = story_of(&data, "医疗纠纷", "醫療糾紛");
    let s = story(&data, id);
    let post = s["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["text"].as_str().unwrap().contains("醫療糾紛"))
        .expect("the traditional post is kept as written");
    assert_eq!(post["hits"][0]["rule"], "医疗纠纷", "{post}");
    assert!(s["story"]["grade"].is_string(), "a story that matched a rule is graded: {s}");
    let reasons = s["story"]["reasons"].as_array().unwrap();
    assert!(
        reasons.iter().any(|r| r["rule"] == "watch_rule" && r["detail"].as_str().unwrap().contains("医疗纠纷")),
        "{reasons:?}"
    );
}

#[test]
fn repost_joins_the_story_of_its_original_and_unrelated_post_does_not() {
    let (_tmp, data) = scratch();
    ingest(&data, &[&fixture("mixed.jsonl")]);
    let original = story_of(&data, "门诊大厅", "今天上午市第一人民医院");
    let s = story(&data, original);
    let texts: Vec<&str> = s["posts"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert!(texts.iter().any(|t| t.starts_with("//@路人乙")), "the repost is in the original's story: {texts:?}");
    // A copy on another site with small edits is recognised as a near-duplicate of the original.
    let copy =
        s["posts"].as_array().unwrap().iter().find(|p| p["source"] == "某某生活网").expect("the copy is in the story");
    assert!(copy["join"]["NearDuplicate"].is_object(), "joined as a near-duplicate: {copy}");
    assert!(copy["duplicate_of"].is_null(), "an edited copy is not an exact duplicate");
    let park = story_of(&data, "菊花展", "菊花展");
    assert_ne!(park, original);
    let park_story = story(&data, park);
    assert!(park_story["story"]["grade"].is_null(), "a story matching no rule stays ungraded");
}

#[test]
fn gbk_csv_from_the_real_dataset_is_decoded_stored_and_searchable() {
    let (_tmp, data) = scratch();
    let v = ingest(&data, &[&fixture("weibo-2020-02-01-gb18030.csv")]);
    assert_eq!(v["rejected"], 0, "{v}");
    let stored = v["stored"].as_u64().unwrap();
    assert!(stored > 200, "{v}");
    let mut cmd = yuqing(&data);
    with_config(&mut cmd).args(["--json", "search", "双黄连", "--limit", "5"]);
    let s = run_json(&mut cmd);
    assert!(s["total"].as_u64().unwrap() >= 5, "{s}");
    let first = &s["results"][0];
    assert!(first["snippet_html"].as_str().unwrap().contains("<mark>双黄连</mark>"), "{first}");
    // No mojibake reached the store.
    let mut cmd = yuqing(&data);
    with_config(&mut cmd).args(["--json", "stories", "--all", "--limit", "1000"]);
    let all = run_json(&mut cmd);
    for st in all["stories"].as_array().unwrap() {
        assert!(!st["title"].as_str().unwrap().contains('\u{FFFD}'), "{st}");
    }
    // The watch rule 双黄连 grades the story those posts formed.
    assert!(all["stories"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["rule_hits"].to_string().contains("双黄连") && s["grade"].is_string()));
}

#[test]
fn undecodable_bytes_reject_only_their_record() {
    let (_tmp, data) = scratch();
    let v = ingest(&data, &[&fixture("weibo-2020-02-14-damaged-gb18030.csv")]);
    assert_eq!(v["rejected"], 2, "{v}");
    let lines: Vec<i64> =
        v["files"][0]["rejected"].as_array().unwrap().iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, vec![12, 22], "{v}");
    assert!(v["files"][0]["rejected"][0]["reason"].as_str().unwrap().contains("GB18030"), "{v}");
    assert_eq!(v["stored"].as_u64().unwrap() + v["duplicates"].as_u64().unwrap(), 19, "{v}");
}

/// Real posts: one saying pasted under three trending hashtags (2020-01-30, 02-01, 02-03), among
/// posts on #请勿抢购自行服用双黄连口服液#. The later copies are set apart as 搬运文案, together and
/// outside the matter's story, in one run as across a restart.
#[test]
fn a_saying_pasted_under_other_hashtags_stays_out_of_their_stories() {
    let sample = std::fs::read_to_string(fixture("copies-under-hashtags.jsonl")).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    let (tmp, one) = scratch();
    ingest(&one, &[&fixture("copies-under-hashtags.jsonl")]);
    let two = tmp.path().join("data2");
    let (first, second) = (tmp.path().join("first.jsonl"), tmp.path().join("second.jsonl"));
    std::fs::write(&first, lines[..lines.len() - 1].join("\n")).unwrap();
    std::fs::write(&second, lines[lines.len() - 1]).unwrap();
    ingest(&two, &[&first]);
    ingest(&two, &[&second]);
    for data in [&one, &two] {
        let matter = story_of(data, "抑制并不等于预防", "抑制并不等于预防");
        let mut cmd = yuqing(data);
        with_config(&mut cmd).args(["--json", "search", "肚量", "--limit", "10"]);
        let v = run_json(&mut cmd);
        let mut copies: Vec<(String, i64)> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["published_at"].as_str().unwrap_or("").to_string(), r["story"].as_i64().unwrap()))
            .collect();
        copies.sort();
        assert_eq!(copies.len(), 3, "{v}");
        let (first_seen, pasted) = (copies[0].1, copies[1].1);
        assert_eq!(copies[2].1, pasted, "the later copies are one story: {copies:?}");
        assert!(pasted != first_seen && pasted != matter, "{copies:?}, the matter is {matter}");
        let s = story(data, pasted);
        let posts = s["posts"].as_array().unwrap();
        assert_eq!(posts.len(), 2, "{s}");
        assert!(posts.iter().all(|p| p["join"]["Copied"]["of"].is_i64()), "{s}");
        assert!(s["story"]["grade"].is_null(), "copies are never graded: {s}");
        let matter_posts = story(data, matter);
        assert!(
            !matter_posts["posts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["text"].as_str().unwrap_or("").contains("肚量")),
            "{matter_posts}"
        );
    }
}

#[test]
fn restart_between_files_assigns_posts_as_one_run_would() {
    let sample = std::fs::read_to_string(repo_root().join("demo/weibo-covid19-sample.jsonl")).unwrap();
    let lines: Vec<&str> = sample.lines().take(3000).collect();
    let (tmp, one) = scratch();
    let first = tmp.path().join("first.jsonl");
    let second = tmp.path().join("second.jsonl");
    let whole = tmp.path().join("whole.jsonl");
    std::fs::write(&first, lines[..1500].join("\n")).unwrap();
    std::fs::write(&second, lines[1500..].join("\n")).unwrap();
    std::fs::write(&whole, lines.join("\n")).unwrap();

    ingest(&one, &[&whole]);
    let two = tmp.path().join("data2");
    ingest(&two, &[&first]);
    ingest(&two, &[&second]);

    let list = |d: &Path| {
        let mut cmd = yuqing(d);
        with_config(&mut cmd).args(["--json", "stories", "--all", "--limit", "1000", "--order", "posts"]);
        let v = run_json(&mut cmd);
        let mut out: Vec<(i64, u64, Value, Value, Value)> = v["stories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let id = s["id"].as_i64().unwrap();
                (id, s["posts"].as_u64().unwrap(), s["grade"].clone(), s["keywords"].clone(), s["status"].clone())
            })
            .collect();
        out.sort_by_key(|x| x.0);
        (v["total"].as_u64().unwrap(), out)
    };
    assert_eq!(stats(&one)["posts"], stats(&two)["posts"]);
    assert_eq!(list(&one), list(&two), "a restart between the halves changes nothing");

    // Ingesting the same file again adds nothing.
    let again = ingest(&two, &[&whole]);
    assert_eq!(again["stored"], 0, "{again}");
}

#[test]
fn killed_ingest_loses_nothing_and_duplicates_nothing_when_run_again() {
    let (tmp, data) = scratch();
    let sample = repo_root().join("demo/weibo-covid19-sample.jsonl");
    let mut cmd = yuqing(&data);
    with_config(&mut cmd).arg("ingest").arg(&sample).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("ingest starts");
    // Kill it once it has started writing (the WAL grows), or after a few seconds at most.
    let wal = data.join("yuqing.db-wal");
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(20) {
        if std::fs::metadata(&wal).map(|m| m.len() > 64 * 1024).unwrap_or(false) {
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let partial = stats(&data)["posts"].as_u64().unwrap();

    let v = ingest(&data, &[&sample]);
    let total = stats(&data)["posts"].as_u64().unwrap();
    assert_eq!(partial + v["stored"].as_u64().unwrap(), total);
    // Every distinct post of the file is stored exactly once: a fresh directory agrees.
    let fresh = tmp.path().join("fresh");
    ingest(&fresh, &[&sample]);
    assert_eq!(total, stats(&fresh)["posts"].as_u64().unwrap(), "killed after {partial} posts");
    // And the full-text index caught up with the database.
    let mut cmd = yuqing(&data);
    with_config(&mut cmd).args(["--json", "search", "双黄连"]);
    let a = run_json(&mut cmd)["total"].clone();
    let mut cmd = yuqing(&fresh);
    with_config(&mut cmd).args(["--json", "search", "双黄连"]);
    assert_eq!(a, run_json(&mut cmd)["total"]);
}

#[test]
fn classify_prints_sentiment_and_topics_for_each_line() {
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["classify"]).stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "医院乱收费，患者投诉无门，太气人了！").unwrap();
        writeln!(stdin, "感谢医护人员的辛苦付出，你们是最可爱的人").unwrap();
        writeln!(stdin, "化工厂发生爆炸起火，消防正在救援").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let lines: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["sentiment"], "Negative", "{:?}", lines[0]);
    assert_eq!(lines[1]["sentiment"], "Positive", "{:?}", lines[1]);
    assert!(lines[0]["score"].as_f64().unwrap() < 0.0);
    assert!(lines[0]["topics"].to_string().contains("医疗"), "{:?}", lines[0]);
    assert!(lines[2]["topics"].to_string().contains("安全生产"), "{:?}", lines[2]);
}

#[test]
fn cluster_prints_one_story_per_input_line() {
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["cluster"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&std::fs::read(fixture("mixed.jsonl")).unwrap()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let lines: Vec<i64> = rows.iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, vec![1, 6, 7, 8, 10, 11]);
    let story = |line: i64| rows.iter().find(|r| r["line"] == line).unwrap()["story"].as_i64().unwrap();
    assert_eq!(story(1), story(6), "repost with the original");
    assert_eq!(story(1), story(7), "exact copy with the original");
    assert_ne!(story(1), story(10));
    assert!(stderr(&out).contains("第 3 行"), "rejections go to stderr: {}", stderr(&out));
}

#[test]
fn rules_check_shows_the_parsed_rule_or_the_error_position() {
    let out = run(std::process::Command::new(bin()).args(["--json", "rules", "check", "(医院 | 醫生) & !招聘"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert!(v["rule"].as_str().unwrap().contains("\"医院\""), "{v}");

    let out = run(std::process::Command::new(bin()).args(["--json", "rules", "check", "(医院 & 纠纷"]));
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["position"].is_u64(), "{v}");
    assert!(stderr(&out).contains("规则有误"), "{}", stderr(&out));
}

#[test]
fn broken_config_names_file_line_and_column_and_touches_nothing() {
    let (tmp, data) = scratch();
    ingest(&data, &[&fixture("mixed.jsonl")]);
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[organization]\nname = \"某市\"\n\n[[rules]]\nname = \"x\"\nexpr = \"医院 & (纠纷\"\n")
        .unwrap();
    let mut cmd = yuqing(&data);
    cmd.arg("--config").arg(&bad).arg("ingest").arg(fixture("weibo-2020-02-01-gb18030.csv"));
    let out = run(&mut cmd);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("bad.toml") && err.contains("第 6 行") && err.contains("列"), "{err}");
    assert_eq!(stats(&data)["posts"], 5, "nothing stored was lost or added");
}

#[test]
fn init_writes_a_commented_config_that_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("yuqing.toml");
    let out = run(std::process::Command::new(bin()).arg("init").arg(&path));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# ") && text.contains("[[rules]]"));
    let out = run(std::process::Command::new(bin()).arg("init").arg(&path));
    assert!(!out.status.success(), "does not overwrite without --force");
    let out =
        run(std::process::Command::new(bin()).arg("--config").arg(&path).args(["--json", "rules", "check", "医院"]));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn manual_grade_raises_an_ungraded_story_with_the_reason() {
    let (_tmp, data) = scratch();
    ingest(&data, &[&fixture("mixed.jsonl")]);
    let park = story_of(&data, "菊花展", "菊花展");
    let mut cmd = yuqing(&data);
    with_config(&mut cmd).args(["--json", "grade", &park.to_string(), "III", "--reason", "领导批示关注"]);
    let v = run_json(&mut cmd);
    assert_eq!(v["alert"]["to"], "III", "{v}");
    let s = story(&data, park);
    assert_eq!(s["story"]["grade"], "III");
    assert!(s["story"]["reasons"][0]["detail"].as_str().unwrap().contains("领导批示关注"));
    let mut cmd = yuqing(&data);
    with_config(&mut cmd).args(["grade", &park.to_string(), "II"]);
    assert!(!run(&mut cmd).status.success(), "a manual grade needs a reason");
}

#[test]
fn damaged_full_text_index_is_rebuilt_from_the_database() {
    let (_tmp, data) = scratch();
    ingest(&data, &[&fixture("weibo-2020-02-01-gb18030.csv")]);
    let search = |d: &Path| {
        let mut cmd = yuqing(d);
        with_config(&mut cmd).args(["--json", "search", "口罩", "--limit", "3"]);
        run_json(&mut cmd)
    };
    let before = search(&data);
    assert!(before["total"].as_u64().unwrap() > 0, "{before}");
    std::fs::write(data.join("fts/meta.json"), b"{ not json").unwrap();
    let after = search(&data);
    assert_eq!(before["total"], after["total"], "the index was rebuilt with every post");
    assert_eq!(before["results"][0]["post"], after["results"][0]["post"]);
}

#[test]
fn second_process_on_the_same_data_directory_is_refused_clearly() {
    let (_tmp, data) = scratch();
    ingest(&data, &[&fixture("mixed.jsonl")]);
    let mut server = std::process::Command::new(bin());
    server.arg("--data-dir").arg(&data).args(["serve", "--addr", "127.0.0.1:0"]);
    let _running = start_server(server, std::time::Duration::from_secs(60));
    let mut cmd = yuqing(&data);
    with_config(&mut cmd).arg("ingest").arg(fixture("mixed.jsonl"));
    let out = run(&mut cmd);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("正被另一个 yuqing 进程使用"), "{}", stderr(&out));
}

/// An unclosed quote no longer swallows the records after it, and one GBK line in a UTF-8 file no
/// longer costs the valid lines: each refusal names its lines, everything else is stored.
#[test]
fn ingest_says_what_was_merged_or_refused_by_line_and_keeps_the_valid_records() {
    let (tmp, data) = scratch();
    let csv = tmp.path().join("unclosed.csv");
    std::fs::write(&csv, "title,text,author\n\"未闭合的标题,城南小区停水三天,甲\n北门道路积水,暴雨后北门道路积水严重,乙\n学校食堂,学校食堂饭菜质量引发家长关注,丙\n").unwrap();
    let jsonl = tmp.path().join("mixed-encoding.jsonl");
    let mut bytes = Vec::new();
    for i in 1..=10 {
        let line = format!("{{\"source\": \"论坛\", \"text\": \"第{i}条：市民反映公交线路调整后出行不便\"}}\n");
        if i == 4 {
            // The same line in GBK, as a tool writing the legacy encoding would append it.
            bytes.extend_from_slice(b"{\"source\": \"\xc2\xdb\xcc\xb3\", \"text\": \"\xb5\xda4\xcc\xf5\xa3\xba\xca\xd0\xc3\xf1\xb7\xb4\xd3\xb3\xb9\xab\xbd\xbb\xcf\xdf\xc2\xb7\xb5\xf7\xd5\xfb\xba\xf3\xb3\xf6\xd0\xd0\xb2\xbb\xb1\xe3\"}\n");
        } else {
            bytes.extend_from_slice(line.as_bytes());
        }
    }
    std::fs::write(&jsonl, bytes).unwrap();
    let v = ingest(&data, &[&csv, &jsonl]);
    let files = v["files"].as_array().unwrap();
    assert_eq!((files[0]["read"].as_u64(), files[0]["stored"].as_u64()), (Some(3), Some(2)), "{v}");
    let refused = &files[0]["rejected"][0];
    assert_eq!(refused["line"], 2, "{v}");
    assert!(refused["reason"].as_str().unwrap().contains("第 2–4 行"), "{v}");
    assert_eq!((files[1]["read"].as_u64(), files[1]["stored"].as_u64()), (Some(10), Some(9)), "{v}");
    let lines: Vec<i64> =
        files[1]["rejected"].as_array().unwrap().iter().map(|r| r["line"].as_i64().unwrap()).collect();
    assert_eq!(lines, vec![4], "{v}");
    assert_eq!(stats(&data)["posts"], 11);
    // The human-readable report says the same by line.
    let mut cmd = yuqing(&data);
    with_config(&mut cmd).arg("ingest").arg(&csv);
    let text = stdout(&run(&mut cmd));
    assert!(text.contains("第 2 行：第 2–4 行被读成了一条记录"), "{text}");
}

/// A duration in the configuration too long for the clock is refused when the configuration is
/// loaded, naming the key, instead of panicking in the command that uses it.
#[test]
fn a_huge_deadline_is_refused_at_load_naming_the_key() {
    let (tmp, data) = scratch();
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(
        &cfg,
        "[deadlines.public_response]\nI = \"1000000000000d\"\nII = \"12h\"\nIII = \"24h\"\nIV = \"24h\"\n",
    )
    .unwrap();
    let out = run(yuqing(&data).arg("--config").arg(&cfg).arg("stats"));
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("deadlines.public_response.I")
            && err.contains("超出范围（最长 3650 天）")
            && err.contains("第 2 行"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
