//! 属地 end to end: a configured jurisdiction keeps a story about elsewhere at 一般 and says why,
//! while the same matter at home is graded higher with the places named; a jurisdiction that names
//! no division is refused with its line.

mod common;

use common::*;
use serde_json::json;

const CONFIG: &str = r#"
[organization]
name = "武汉市某区舆情办"
jurisdiction = ["武汉市"]

[[rules]]
name = "医疗纠纷"
expr = '医院 & (纠纷 | 殴打 | 聚集)'

[grading]
major_posts = 4
"#;

fn posts(city: &str, title: &str, text: &str, n: usize, hour: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            json!({
                "source": format!("论坛{i}"),
                "url": format!("https://bbs.example.cn/{hour}/{i}"),
                "title": format!("{city}{title}"),
                "text": format!("{city}{text}（第{i}位网友）"),
                "published_at": format!("2026-11-20T{:02}:{:02}:00+08:00", hour, i * 5),
                "tier": "Community"
            })
            .to_string()
        })
        .collect()
}

#[test]
fn a_story_elsewhere_stays_iv_with_where_it_is_and_one_at_home_rises() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = dir.path().join("yuqing.toml");
    std::fs::write(&config, CONFIG).expect("config");
    let mut lines = posts(
        "郑州市",
        "第五人民医院门诊医疗纠纷",
        "第五人民医院门诊大厅发生医疗纠纷，患者家属聚集要求院方给说法",
        6,
        8,
    );
    lines.extend(posts(
        "武汉市江夏区",
        "第一人民医院急诊医生被殴打",
        "第一人民医院急诊科深夜有醉酒男子殴打值班医生，保安报警后派出所带走当事人",
        6,
        14,
    ));
    let input = dir.path().join("posts.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").expect("posts");
    let mut cmd = yuqing(&data);
    cmd.arg("--config").arg(&config).args(["--json", "ingest"]).arg(&input);
    let v = run_json(&mut cmd);
    assert_eq!(v["stored"], 12, "{v}");

    let all = all_stories(&data, &config);
    let find = |needle: &str| {
        all.iter()
            .find(|s| s["title"].as_str().unwrap_or("").contains(needle))
            .unwrap_or_else(|| panic!("{needle} in {all:?}"))
            .clone()
    };
    let zhengzhou = find("郑州");
    assert_eq!(zhengzhou["grade"], "IV", "{zhengzhou}");
    let why = zhengzhou["reasons"][0]["detail"].as_str().unwrap_or("");
    assert!(
        why.contains("未涉及本地")
            && why.contains("管辖：武汉市")
            && why.contains("河南省 6 条")
            && why.contains("本可定为III级"),
        "{why}"
    );

    let wuhan = find("武汉");
    assert_eq!(wuhan["grade"], "III", "{wuhan}");
    let why = wuhan["reasons"][0]["detail"].as_str().unwrap_or("");
    assert!(why.contains("涉及本地：武汉市江夏区 6 条") && why.contains("占 100%"), "{why}");
}

#[test]
fn a_jurisdiction_that_names_no_division_is_refused_with_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let config = dir.path().join("yuqing.toml");
    std::fs::write(&config, CONFIG.replace("\"武汉市\"", "\"火星市\"")).expect("config");
    let mut cmd = yuqing(&data);
    cmd.arg("--config").arg(&config).args(["stories"]);
    let out = run(&mut cmd);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("第 4 行") && err.contains("火星市") && err.contains("GB/T 2260"), "{err}");
    std::fs::write(&config, CONFIG.replace("\"武汉市\"", "\"朝阳区\"")).expect("config");
    let mut cmd = yuqing(&data);
    cmd.arg("--config").arg(&config).args(["stories"]);
    let err = stderr(&run(&mut cmd));
    assert!(err.contains("110105") && err.contains("请写全称或代码"), "{err}");
}
