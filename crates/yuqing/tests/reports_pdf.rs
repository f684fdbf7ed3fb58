//! The paperwork as a reader gets it: every report kind of the demo (the real Weibo sample, the
//! desk's incidents opened on it) written by the real binary as PDF — its DOCX converted by
//! LibreOffice — and read back with poppler: the page count, the first page's text (要情 first, no
//! system names, internal ids or dead addresses), the fonts (headings and body in different
//! families), and a picture of each first page under `target/report-shots/` to look at.
//!
//! Needs LibreOffice and poppler-utils (`scripts/test` installs them); without `soffice` the test
//! says so and passes nothing off as checked.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Duration;
use common::*;
use yuqing::config::Config;
use yuqing_store::Store;

fn shots_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is <target>/tmp; the pictures go beside it.
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target dir").join("report-shots")
}

fn tool(name: &str) -> bool {
    Command::new(name).arg("-v").output().is_ok()
}

fn poppler(name: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(out.status.success(), "{name} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pages(pdf: &Path) -> u32 {
    let info = poppler("pdfinfo", &[pdf.to_str().unwrap()]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no page count in {info}"))
}

fn first_page_text(pdf: &Path) -> String {
    poppler("pdftotext", &["-layout", "-f", "1", "-l", "1", pdf.to_str().unwrap(), "-"])
}

/// Font families embedded in the PDF (the subset prefix and the style dropped).
fn families(pdf: &Path) -> Vec<String> {
    let listing = poppler("pdffonts", &[pdf.to_str().unwrap()]);
    let mut out: Vec<String> = listing
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .map(|name| {
            let name = name.split_once('+').map_or(name, |(_, n)| n);
            name.split('-').next().unwrap_or(name).to_string()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn shoot(pdf: &Path, name: &str) -> PathBuf {
    let dir = shots_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let stem = dir.join(name);
    poppler(
        "pdftoppm",
        &["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", pdf.to_str().unwrap(), stem.to_str().unwrap()],
    );
    let png = stem.with_extension("png");
    assert!(png.exists(), "{} written", png.display());
    png
}

#[test]
fn every_report_kind_of_the_demo_prints_a_first_page_an_office_would_send() {
    if yuqing_report::pdf::soffice().is_none() {
        println!(
            "跳过：未安装 LibreOffice（soffice），无法检查 PDF；scripts/test 会安装 libreoffice-writer-nogui 与 poppler-utils"
        );
        return;
    }
    assert!(tool("pdfinfo") && tool("pdftotext") && tool("pdffonts") && tool("pdftoppm"), "poppler-utils");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo");
    let cfg = tmp.path().join("yuqing.toml");
    let text = format!("{}\n[desk]\npublic_url = \"https://yq.example.gov.cn\"\n", yuqing::demo::DEMO_CONFIG);
    std::fs::write(&cfg, &text).unwrap();

    // The demo's data and the incidents the desk opened on it during the replay.
    let config = Config::parse(&text, &cfg).unwrap();
    let (p, _) = yuqing::demo::build(&data, config, |_| {}).unwrap();
    let end = p.data().store.stats().unwrap().last_post_at.expect("the demo has posts");
    let opened = yuqing_store::desk::open_incident_ids(p.data().store.connection()).unwrap();
    assert!(!opened.is_empty(), "the desk opens incidents during the demo's replay");
    // Each at the time it would have happened, not all at the end of the replay.
    let timeline = yuqing_store::desk::timeline(p.data().store.connection(), opened[0]).unwrap();
    let minutes: std::collections::BTreeSet<_> = timeline.iter().map(|e| e.at.timestamp() / 60).collect();
    assert!(minutes.len() >= 3, "the timeline's rows carry their own times: {timeline:?}");
    assert!(timeline.iter().all(|e| e.at <= end), "nothing after the replay's end");
    drop(p);
    let day = (end.with_timezone(&yuqing_core::china()) - Duration::hours(12)).date_naive().to_string();
    let incident = opened[0].to_string();

    let cli = |args: &[&str]| run_json(yuqing(&data).arg("--config").arg(&cfg).arg("--json").arg("report").args(args));
    let out = |name: &str| tmp.path().join(name);
    let pdf = |kind: &[&str], name: &str| -> PathBuf {
        let path = out(name);
        let mut args: Vec<&str> = kind.to_vec();
        args.extend(["--format", "pdf", "--out", path.to_str().unwrap()]);
        cli(&args);
        path
    };
    let disposal = cli(&["disposal", "new", &incident]);
    let disposal_id = disposal["id"].as_i64().unwrap().to_string();
    cli(&[
        "risk",
        "add",
        "--department",
        "市卫生健康委员会",
        "--content",
        "定点医院床位紧张，患者求助信息集中出现",
        "--offline",
        "每日公布床位数，开通求助热线",
        "--online",
        "及时发布床位与收治信息，回应求助",
        "--due",
        "2020-02-29",
    ]);
    let kinds: Vec<(&str, PathBuf)> = vec![
        ("daily", pdf(&["daily", "--date", &day], "daily.pdf")),
        ("weekly", pdf(&["weekly", "--week-of", &day], "weekly.pdf")),
        ("special", pdf(&["special", "--incident", &incident], "special.pdf")),
        ("stats", pdf(&["stats", "--from", "2020-01-01", "--to", "2020-02-29"], "stats.pdf")),
        ("disposal", {
            let path = out("disposal.pdf");
            cli(&["disposal", "show", &disposal_id, "--format", "pdf", "--out", path.to_str().unwrap()]);
            path
        }),
        ("risk", {
            let path = out("risk.pdf");
            cli(&["risk", "list", "--format", "pdf", "--out", path.to_str().unwrap()]);
            path
        }),
    ];

    for (kind, path) in &kinds {
        // The whole PDF beside its picture, to read every page.
        std::fs::create_dir_all(shots_dir()).unwrap();
        std::fs::copy(path, shots_dir().join(format!("{kind}.pdf"))).unwrap();
        let n = pages(path);
        let first = first_page_text(path);
        let png = shoot(path, kind);
        println!("{kind}: {n} 页，首页 {}", png.display());
        assert!(n >= 1, "{kind}");
        for unwanted in ["system", "关联事件 [", "工单 #", "没有可通知的人员", "127.0.0.1", "????", "\u{e627}"]
        {
            assert!(!first.contains(unwanted), "{kind}: no “{unwanted}” on the first page:\n{first}");
        }
        let fams = families(path);
        assert!(fams.len() >= 3, "{kind}: title, headings and body in faces of their own: {fams:?}");
    }
    let text = |kind: &str| first_page_text(&kinds.iter().find(|(k, _)| *k == kind).unwrap().1);
    let squeeze = |s: String| s.split_whitespace().collect::<String>();

    let daily = squeeze(text("daily"));
    let (matters, counts, list) = (daily.find("一、今日要情"), daily.find("二、今日概况"), daily.find("三、重要信息"));
    assert!(matters.is_some() && matters < counts && counts < list.or(Some(usize::MAX)), "要情 first:\n{daily}");
    assert!(daily.contains("1.") && daily.contains("级"), "the matters with their grades:\n{daily}");
    assert!(daily.contains("共监测到相关信息"), "{daily}");

    let weekly = squeeze(text("weekly"));
    assert!(weekly.starts_with("网络舆情周报") && weekly.contains("一、总体情况"), "{weekly}");
    let special = squeeze(text("special"));
    assert!(special.starts_with("关于“") && special.contains("一、基本情况"), "{special}");
    // Its sections number themselves: 一、二、三 … with no gap, whatever was left out.
    let (_, special_pdf) = kinds.iter().find(|(k, _)| *k == "special").unwrap();
    let all = poppler("pdftotext", &["-layout", special_pdf.to_str().unwrap(), "-"]);
    let numerals = ["一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let found: Vec<&str> = all
        .lines()
        .filter_map(|l| numerals.iter().find(|n| l.trim_start().starts_with(&format!("{n}、"))).copied())
        .collect();
    assert!(found.len() >= 4, "{all}");
    assert_eq!(found, numerals[..found.len()].to_vec(), "no gap in the headings:\n{all}");
    let stats = squeeze(text("stats"));
    assert!(stats.contains("处置舆情事件"), "{stats}");

    let (_, form) = kinds.iter().find(|(k, _)| *k == "disposal").unwrap();
    assert_eq!(pages(form), 1, "the 报告单 on one page");
    let form_text = squeeze(first_page_text(form));
    assert!(form_text.contains("舆情处置情况报告单") && form_text.contains("分管领导"), "{form_text}");
    assert_eq!(form_text.matches("日期").count(), 0, "no 日期 row besides the 成文日期: {form_text}");

    // The digest in Word: its links go to the configured address or to the posts' sources.
    let docx = out("daily.docx");
    cli(&["daily", "--date", &day, "--format", "docx", "--out", docx.to_str().unwrap()]);
    let unzip = Command::new("python3")
        .args([
            "-c",
            "import sys,zipfile;print(zipfile.ZipFile(sys.argv[1]).read('word/_rels/document.xml.rels').decode())",
        ])
        .arg(&docx)
        .output()
        .unwrap();
    let rels = String::from_utf8_lossy(&unzip.stdout);
    assert!(rels.contains("https://yq.example.gov.cn/stories/"), "links to the public address: {rels}");
    assert!(!rels.contains("127.0.0.1"));
}
