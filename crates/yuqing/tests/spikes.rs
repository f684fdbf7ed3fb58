//! 突增 end to end: a watch rule with a steady history does not spike at its usual volume, while a
//! quiet one that jumps and stays up for two hours does — graded 重大 with the numbers in its reason —
//! and one that jumps for a single hour does not. The history has days without any data (the
//! collector was down), which the baseline leaves out.

mod common;

use common::*;
use serde_json::{json, Value};

// Counts and sizes cannot raise a story here: only a spike can make it 重大.
const CONFIG: &str = r#"
[[rules]]
name = "供暖不热"
expr = '供暖 | 暖气'

[[rules]]
name = "燃气泄漏"
expr = '燃气 & 泄漏'

[[rules]]
name = "小区停电"
expr = '停电'

[grading]
major_posts = 100000
major_sites = 100000
serious_posts = 100000
severe_posts = 100000
"#;

const HEATING: &str = "滨江路小区供暖不热，暖气片冰凉，室温只有十二度，物业说在排查";
const GAS: &str = "幸福里小区燃气管道泄漏，楼道里全是燃气味，居民已经报警等待抢修";
const POWER: &str = "东湖新村突然停电，电梯困人，供电所电话一直占线";

/// `n` posts of `text` on day `day` of November 2026 at `hour` (China time), each on its own URL.
fn posts(out: &mut Vec<String>, text: &str, tag: &str, day: u32, hour: u32, n: usize) {
    for i in 0..n {
        out.push(
            json!({
                "source": format!("论坛{}", i % 7),
                "url": format!("https://bbs.example.cn/{tag}/{day}/{hour}/{i}"),
                "text": format!("{text}（第{i}位网友）"),
                "published_at": format!("2026-11-{day:02}T{hour:02}:{:02}:{:02}+08:00", (i * 59 / n.max(1)) % 60, i % 60),
                "tier": "Community"
            })
            .to_string(),
        );
    }
}

#[test]
fn a_quiet_rule_that_jumps_and_stays_up_spikes_and_a_steady_one_at_its_usual_volume_does_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = dir.path().join("yuqing.toml");
    std::fs::write(&config, CONFIG).expect("config");
    let mut lines = Vec::new();
    // Two weeks of history at 9 and 10 o'clock; 5–8 November nothing was collected at all.
    for day in (1..=14).filter(|d| !(5..=8).contains(d)) {
        for hour in [9, 10] {
            posts(&mut lines, HEATING, "heat", day, hour, 24 + (day as usize + hour as usize) % 4);
            posts(&mut lines, GAS, "gas", day, hour, 1);
            posts(&mut lines, POWER, "power", day, hour, 1);
        }
    }
    // 15 November: heating as usual; gas 25 an hour for two hours; power 30 for one hour only.
    posts(&mut lines, HEATING, "heat", 15, 9, 26);
    posts(&mut lines, HEATING, "heat", 15, 10, 27);
    posts(&mut lines, GAS, "gas", 15, 9, 25);
    posts(&mut lines, GAS, "gas", 15, 10, 25);
    posts(&mut lines, POWER, "power", 15, 9, 1);
    posts(&mut lines, POWER, "power", 15, 10, 30);
    let input = dir.path().join("posts.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").expect("posts");
    let mut cmd = yuqing(&data);
    cmd.arg("--config").arg(&config).args(["--json", "ingest"]).arg(&input);
    let v = run_json(&mut cmd);
    assert_eq!(v["stored"].as_u64(), Some(lines.len() as u64), "{v}");

    let all = all_stories(&data, &config);
    let of_rule = |rule: &str| -> Vec<Value> {
        all.iter().filter(|s| s["rule_hits"].to_string().contains(rule)).cloned().collect()
    };
    let gas = of_rule("燃气泄漏");
    let spiked: Vec<&Value> = gas.iter().filter(|s| s["grade"] == "II").collect();
    assert_eq!(spiked.len(), 1, "{gas:?}");
    let why = spiked[0]["reasons"][0]["detail"].as_str().unwrap_or("");
    assert_eq!(spiked[0]["reasons"][0]["rule"], "spike", "{why}");
    for part in [
        "监测规则“燃气泄漏”突增：本小时 25 条",
        "近 14 天同时段（其中 10 天有数据）中位数 1 条（不足 2 条按 2 条计）",
        "12.5 倍",
        "持续 2 小时",
        "每小时阈值 20 条",
    ] {
        assert!(why.contains(part), "{part} in {why}");
    }
    for (rule, what) in [("供暖不热", "a steady rule at its usual volume"), ("小区停电", "a one-hour jump")] {
        let s = of_rule(rule);
        assert!(!s.is_empty(), "{rule}: {all:?}");
        assert!(s.iter().all(|s| s["grade"] == "IV"), "{what} stays 一般: {s:?}");
    }

    // A restart rebuilds the counts from the store: the same posts come out the same.
    let mut cmd = yuqing(&data);
    cmd.arg("--config").arg(&config).args(["story"]).arg(spiked[0]["id"].to_string());
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("12.5 倍，持续 2 小时"), "{}", stdout(&out));
}

/// The hourly counts come back from the store on open: the second half of the burst, ingested by
/// a later run, spikes as it does in one run.
#[test]
fn counts_are_rebuilt_from_the_store_when_the_pipeline_opens_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = dir.path().join("yuqing.toml");
    std::fs::write(&config, CONFIG).expect("config");
    let mut history = Vec::new();
    for day in 1..=14 {
        for hour in [9, 10] {
            posts(&mut history, GAS, "gas", day, hour, 1);
        }
    }
    posts(&mut history, GAS, "gas", 15, 9, 25);
    let mut burst = Vec::new();
    posts(&mut burst, GAS, "gas", 15, 10, 25);
    for (name, lines) in [("history.jsonl", &history), ("burst.jsonl", &burst)] {
        let input = dir.path().join(name);
        std::fs::write(&input, lines.join("\n") + "\n").expect("posts");
        let mut cmd = yuqing(&data);
        cmd.arg("--config").arg(&config).args(["--json", "ingest"]).arg(&input);
        run_json(&mut cmd);
    }
    let all = all_stories(&data, &config);
    let spiked: Vec<&Value> = all.iter().filter(|s| s["grade"] == "II").collect();
    assert_eq!(spiked.len(), 1, "{all:?}");
    let why = spiked[0]["reasons"][0]["detail"].as_str().unwrap_or("");
    assert!(why.contains("近 14 天同时段中位数 1 条") && why.contains("持续 2 小时"), "{why}");
}
