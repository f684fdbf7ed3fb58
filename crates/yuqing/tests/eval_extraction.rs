//! End-to-end test of `yuqing eval-extraction`: the real binary on three real test pages of
//! mozilla/readability (tests/fixtures/extraction), and on copies of one of them spoiled on purpose.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

fn eval(dirs: &[&Path]) -> Value {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut cmd = yuqing(&scratch.path().join("data"));
    cmd.args(["--json", "eval-extraction", "--pages", "all"]).args(dirs);
    run_json(&mut cmd)
}

fn group<'a>(v: &'a Value, split: &str, subset: &str) -> &'a Value {
    v["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .find(|g| g["split"] == split && g["subset"] == subset)
        .expect("group")
}

fn figure<'a>(g: &'a Value, extractor: &str) -> &'a Value {
    g["figures"].as_array().expect("figures").iter().find(|f| f["extractor"] == extractor).expect("extractor")
}

fn page_f1(v: &Value, page: &str, extractor: &str) -> f64 {
    let r = v["page_results"].as_array().expect("page_results").iter().find(|r| r["page"] == page).expect("page");
    r["scores"].as_array().expect("scores").iter().find(|s| s["extractor"] == extractor).expect("score")["f1"]
        .as_f64()
        .expect("f1")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read fixture") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

#[test]
fn eval_extraction_reports_every_extractor_on_both_sides_of_the_split() {
    let v = eval(&[&fixture("extraction")]);
    assert_eq!(v["pages"], 3);
    assert_eq!(v["chinese_pages"], 1, "gmw is the Chinese page");
    let groups = v["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 6);
    let all = group(&v, "all", "all");
    assert_eq!(all["pages"], 3);
    let held = group(&v, "held-out", "all")["pages"].as_u64().expect("n");
    let dev = group(&v, "dev", "all")["pages"].as_u64().expect("n");
    assert_eq!(held + dev, 3);
    for g in groups {
        let names: Vec<&str> =
            g["figures"].as_array().expect("figures").iter().filter_map(|f| f["extractor"].as_str()).collect();
        assert_eq!(names, ["yuqing", "dom_smoothie", "legacy"]);
        for f in g["figures"].as_array().expect("figures") {
            for k in ["mean_f1", "mean_precision", "mean_recall", "share_f1_below_half", "title_exact", "title_loose"] {
                let x = f[k].as_f64().unwrap_or_else(|| panic!("{k} in {f}"));
                assert!((0.0..=1.0).contains(&x), "{k} = {x}");
            }
        }
    }
    // Only parsely-metadata has a publishedTime.
    assert_eq!(figure(all, "yuqing")["dated_pages"], 1);
    assert_eq!(v["page_results"].as_array().expect("pages").len(), 3);
    // yuqing's extractor finds these bodies; the Chinese page's title is the headline without
    // the site's name, which only the suffix-insensitive comparison accepts.
    for page in ["gmw", "replace-brs", "parsely-metadata"] {
        assert!(page_f1(&v, page, "yuqing") > 0.8, "{page}: {}", page_f1(&v, page, "yuqing"));
    }
    let cn = group(&v, "all", "chinese");
    assert_eq!(figure(cn, "yuqing")["title_loose"], 1.0);
}

#[test]
fn a_wrong_answer_or_a_page_without_its_article_scores_lower() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let fixtures = fixture("extraction");
    // The right page with another page's expected body.
    let swapped = scratch.path().join("pages/gmw");
    copy_dir(&fixtures.join("gmw"), &swapped);
    std::fs::copy(fixtures.join("replace-brs/expected.html"), swapped.join("expected.html")).expect("copy");
    // The expected body with a page that holds only its footer.
    let footer = scratch.path().join("pages/footer-only");
    copy_dir(&fixtures.join("gmw"), &footer);
    std::fs::write(footer.join("source.html"), "<html lang=\"zh-CN\"><head><title>宇航员_光明网</title></head><body><div class=\"footer\">沪公网安备31010602000299号 版权所有 光明网 联系我们</div></body></html>")
        .expect("write");

    let good = eval(&[&fixtures.join("gmw")]);
    let bad = eval(&[&scratch.path().join("pages")]);
    let right = page_f1(&good, "gmw", "yuqing");
    assert!(page_f1(&bad, "gmw", "yuqing") < right - 0.5, "a wrong expected body must lower the F1");
    for ex in ["yuqing", "dom_smoothie", "legacy"] {
        assert!(page_f1(&bad, "footer-only", ex) < 0.5, "{ex}");
    }
    let all = group(&bad, "all", "all");
    assert_eq!(figure(all, "yuqing")["share_f1_below_half"], 1.0);
}

#[test]
fn eval_extraction_prints_a_chinese_table_and_refuses_an_empty_directory() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut cmd = yuqing(&scratch.path().join("data"));
    cmd.arg("eval-extraction").arg(fixture("extraction"));
    let out = run(&mut cmd);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for want in ["留出集", "开发集", "yuqing", "dom_smoothie", "legacy", "正文F1"] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let empty = scratch.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let mut cmd = yuqing(&scratch.path().join("data"));
    cmd.arg("eval-extraction").arg(&empty);
    let out = run(&mut cmd);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("source.html"), "{}", stderr(&out));
}
