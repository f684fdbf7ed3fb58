//! Reports built from a stored world, written as DOCX and XLSX and read back with python-docx and
//! openpyxl; the disposal report's serials under 100 concurrent writers; the schedule's catch-up.

mod common;

use std::collections::BTreeSet;

use chrono::{Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use common::*;
use yuqing_report::model::{RiskFields, RiskStatus};
use yuqing_report::period::Period;
use yuqing_report::schedule::{self, Jobs};
use yuqing_report::{gather, store, write, Format, Report, ReportConfig};
use yuqing_store::{desk, outbox, SqliteStore};

fn cst() -> FixedOffset {
    yuqing_core::china()
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
}

fn save(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn the_daily_digest_in_word_and_excel_lists_titles_and_links_by_grade_and_topic_in_the_official_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (st, _) = world(dir.path());
    let now = t0() + Duration::hours(7);
    let d = gather::daily(&st, "某市网信办", day(), cst(), "http://yq.example", 3, now).unwrap();
    assert_eq!(d.posts_total, 4, "the post of the next day is left out");
    let report = Report::Daily(d);

    let v = read_office(&save(dir.path(), "daily.docx", &write(&report, Format::Docx, cst()).unwrap()));
    assert_gb9704_page(&v);
    assert_gb9704_fonts(&v, "网络舆情日报（2026年11月20日）");
    let text = docx_text(&v);
    assert!(text.contains("2026年11月20日共监测到相关信息 4 条，其中负面 2 条"), "{text}");
    let styled = |style: &str| -> Vec<String> {
        v["paragraphs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["style"] == style)
            .map(|p| p["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(styled("Heading 1"), ["一、今日要情", "二、今日概况", "三、重要信息"], "要情 first");
    assert_eq!(
        styled("Heading 2"),
        ["（一）II级（重大）·教育", "（二）未定级·交通"],
        "grade first, then topic; the story without a rule hit is left out"
    );
    // 今日要情: the graded matter, what changed and how it is handled, before any list.
    let matter = v["paragraphs"].as_array().unwrap().iter().position(|p| {
        let t = p["text"].as_str().unwrap();
        t.starts_with("1. 某中学违规收取补课费。II级（重大），")
            && t.contains("今日新出现")
            && t.contains("牵头单位市教育局")
    });
    assert_eq!(matter, Some(2), "the first paragraph after the heading: {text}");
    assert_eq!(v["tables"].as_array().unwrap().len(), 2, "one table per group on paper");
    let table = &v["tables"][0];
    assert_eq!(table[0], serde_json::json!(["序号", "标题", "站点", "时间", "条数"]));
    assert_eq!(table[1], serde_json::json!(["1", "某中学违规收取补课费", "微博", "11-20 10:00", "2"]));
    assert_eq!(table.as_array().unwrap().len(), 2, "header and the story: no dump of posts");
    // Real hyperlinks: the headline to the desk (the configured address), the site to the source.
    let links = v["links"].as_array().unwrap();
    assert!(
        links.contains(&serde_json::json!({"text": "某中学违规收取补课费", "url": "http://yq.example/stories/1"})),
        "{links:?}"
    );
    assert!(links.contains(&serde_json::json!({"text": "微博", "url": "https://weibo.example/1"})), "{links:?}");
    // Rows whole on a page, the header repeated, the time column wide enough not to wrap.
    for t in v["tables_xml"].as_array().unwrap() {
        assert_eq!(t["cant_split"], t["rows"], "{t}");
        assert_eq!(t["header_repeats"], true);
        let w = t["widths"].as_array().unwrap();
        assert!(w[3].as_u64().unwrap() >= 11 * 120 + 200, "11 characters of 12 pt and the cell margins: {t}");
        assert!(w[0].as_u64().unwrap() >= 4 * 120, "序号 on one line: {t}");
    }
    assert!(!text.contains("天气"), "an ungraded story without rule hits is not important");
    assert!(!text.contains("某网民"), "no authors in reports");
    for r in v["table_runs"].as_array().unwrap() {
        assert_eq!(r["size_pt"], 12.0);
    }
    // Page numbers on the outside edges, one character (14 pt) in.
    assert_eq!(v["even_and_odd"], true);
    let (odd, even) = (&v["footers"]["odd"], &v["footers"]["even"]);
    assert!(odd["align"].as_str().unwrap().contains("RIGHT") && odd["right"] == 280, "{odd}");
    assert!(even["align"].as_str().unwrap().contains("LEFT") && even["left"] == 280, "{even}");
    assert!(odd["text"].as_str().unwrap().starts_with("— "));
    // The signature: a blank line, the organization centred over the date, the date four characters in.
    let paras = v["paragraphs"].as_array().unwrap();
    let n = paras.len();
    assert_eq!(paras[n - 1]["text"], "2026年11月20日");
    assert!((paras[n - 1]["right_mm"].as_f64().unwrap() - 22.58).abs() < 0.1, "{}", paras[n - 1]);
    assert_eq!(paras[n - 2]["text"], "某市网信办");
    assert_eq!(paras[n - 3]["text"], "", "a blank line before the signature");
    assert!(paras[n - 4]["keep_next"].as_bool().unwrap() && paras[n - 3]["keep_next"].as_bool().unwrap());

    let x = read_office(&save(dir.path(), "daily.xlsx", &write(&report, Format::Xlsx, cst()).unwrap()));
    assert_eq!(x["sheets"]["概要"][0][0], "网络舆情日报（2026年11月20日）");
    assert_eq!(x["a1"]["概要"]["bold"], true);
    let rows = x["sheets"]["重要信息"].as_array().unwrap();
    assert_eq!(rows[0], serde_json::json!(["级别", "领域", "标题", "站点", "时间", "当日重要信息"]));
    assert_eq!(rows.len(), 1 + 2, "header, two stories");
    assert_eq!(rows[1][4], "2026-11-20 10:00:00", "a real date: {}", rows[1][4]);
    assert_eq!(x["formats"]["重要信息"]["E2"], "yyyy-mm-dd hh:mm");
    let links = x["links"]["重要信息"].as_array().unwrap();
    assert!(links.contains(&serde_json::json!("https://weibo.example/1")), "{links:?}");
    assert!(links.contains(&serde_json::json!("http://yq.example/stories/1")), "{links:?}");
    let counts = x["sheets"]["今日概况"].as_array().unwrap();
    assert_eq!(counts[2], serde_json::json!(["监测信息（条）", 4, "—", "—"]), "the counts as numbers");
    let p = &x["print"]["重要信息"];
    // Fitted to one page wide (1 is the default width of the fit and may be left out); A4.
    assert_eq!(
        (p["fit"].as_bool(), p["fit_width"].as_i64().unwrap_or(1), p["paper"].as_i64()),
        (Some(true), 1, Some(9)),
        "{p}"
    );
    assert!(p["area"].as_str().unwrap().contains("$A$1:$F$3"), "{p}");

    let html = String::from_utf8(write(&report, Format::Html, cst()).unwrap()).unwrap();
    assert!(html.contains("<a href=\"https://weibo.example/1\""));
}

#[test]
fn the_weekly_bulletin_has_trend_charts_top_stories_incidents_and_on_time_rates() {
    let dir = tempfile::tempdir().unwrap();
    let (st, _) = world(dir.path());
    let week = Period::week_of(day());
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
    let b = gather::weekly(&st, "某市网信办", week, cst(), now).unwrap();
    assert_eq!(b.days.len(), 7);
    let fri = b.days.iter().find(|d| d.date == day()).unwrap();
    assert_eq!((fri.negative, fri.neutral, fri.positive), (2, 1, 1));
    assert_eq!(b.days.iter().find(|d| d.date == day().succ_opt().unwrap()).unwrap().negative, 1);
    assert_eq!(b.opened.len(), 1);
    assert_eq!(b.departments[0].department, "市教育局");
    assert_eq!((b.departments[0].report_on_time, b.departments[0].report_due), (1, 1));
    assert_eq!((b.departments[0].response_on_time, b.departments[0].response_due), (0, 1), "answered after 12 hours");
    let report = Report::Weekly(b);

    let v = read_office(&save(dir.path(), "weekly.docx", &write(&report, Format::Docx, cst()).unwrap()));
    assert_gb9704_page(&v);
    // Twenty characters and the spacing around its digits: broken before the period, not in it.
    assert_gb9704_fonts(&v, "网络舆情周报\n（2026年11月16日至11月22日）");
    assert_eq!(v["images"], 2, "the trend chart and the on-time chart are embedded pictures");
    let text = docx_text(&v);
    assert!(text.contains("处置舆情事件 1 起"), "{text}");
    assert!(text.contains("图：每日信息量与情感倾向"));
    let rates = v["tables"].as_array().unwrap().iter().find(|t| t[0][0] == "责任单位").unwrap();
    assert_eq!(rates[1], serde_json::json!(["市教育局", "1", "0", "100.0%", "0.0%", "1", "10 分钟", "1 天 6 小时"]));

    let x = read_office(&save(dir.path(), "weekly.xlsx", &write(&report, Format::Xlsx, cst()).unwrap()));
    assert_eq!(x["charts"]["每日信息量与情感倾向"], 1, "a native Excel chart: {}", x["charts"]);
    let data = x["sheets"]["每日信息量与情感倾向"].as_array().unwrap();
    assert_eq!(data[0], serde_json::json!(["项目", "负面", "中性", "正面"]));
    assert_eq!(data[5], serde_json::json!(["11-20", 2, 1, 1]));
    assert_eq!(x["sheets"]["热点事件"][1][1], "某中学违规收取补课费");
    let html = String::from_utf8(write(&report, Format::Html, cst()).unwrap()).unwrap();
    assert!(html.contains("<svg class=\"chart\""));
}

#[test]
fn the_special_report_and_the_period_statistics_carry_what_the_incident_went_through() {
    let dir = tempfile::tempdir().unwrap();
    let (st, id) = world(dir.path());
    let now = t0() + Duration::days(2);
    let s = gather::special(&st, &yuqing_text::Segmenter::default(), "某市网信办", id, cst(), now).unwrap();
    assert!(!s.spread.is_empty());
    let v = read_office(&save(dir.path(), "special.docx", &write(&Report::Special(s), Format::Docx, cst()).unwrap()));
    assert_gb9704_fonts(&v, "关于“某中学违规收取补课费”的舆情专报");
    assert_eq!(v["images"], 1, "the spread chart");
    let text = docx_text(&v);
    for want in [
        "共监测到相关信息 3 条",
        "经核查，该校确有违规收取补课费行为",
        "我局已责令该校全额退还补课费",
        "核实情况：已完成",
        "开启处置工单，定为II级（重大）",
        "首条相关信息发布",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    for unwanted in ["system", "#", "关联事件", "没有可通知的人员", "[1]"] {
        assert!(!text.contains(unwanted), "no {unwanted} in a document: {text}");
    }
    let h1: Vec<&str> = v["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["style"] == "Heading 1")
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    for (k, h) in h1.iter().enumerate() {
        let n = ["一", "二", "三", "四", "五", "六", "七", "八"][k];
        assert!(h.starts_with(&format!("{n}、")), "numbered without a gap: {h1:?}");
    }

    let stats = gather::stats(&st, "某市网信办", Period::month_of(day()), cst(), now).unwrap();
    assert_eq!(stats.totals.incidents, 1);
    assert_eq!(stats.totals.posts, 5);
    let x = read_office(&save(dir.path(), "stats.xlsx", &write(&Report::Stats(stats), Format::Xlsx, cst()).unwrap()));
    let rows = x["sheets"]["各单位考评"].as_array().unwrap();
    assert_eq!(rows[1][0], "市教育局");
    assert_eq!(rows[1][1], 1);
    let summary: Vec<String> =
        x["sheets"]["概要"].as_array().unwrap().iter().filter_map(|r| r[0].as_str().map(String::from)).collect();
    assert!(summary.iter().any(|l| l.contains("处置舆情事件 1 起") && l.contains("报送信息")), "{summary:?}");
}

#[test]
fn a_disposal_report_is_prefilled_from_the_incident_edited_as_a_draft_then_numbered_and_frozen() {
    let dir = tempfile::tempdir().unwrap();
    let (st, id) = world(dir.path());
    let c = st.connection();
    let fields = gather::disposal_prefill(c, id, day(), cst()).unwrap();
    assert_eq!(fields.cause, "经核查，该校确有违规收取补课费行为，已责令退还。");
    assert_eq!(fields.statement, "我局已责令该校全额退还补课费，并对相关责任人严肃处理。");
    assert!(
        fields.measures.contains("核实情况：约谈校长") && fields.measures.contains("政务微博"),
        "{}",
        fields.measures
    );
    assert_eq!(fields.department, "市教育局");
    let r = store::disposal_create(c, id, "舆情监控调度处置中心", "某市网信办", fields, "office", t0()).unwrap();
    assert!(r.serial.is_none());
    let refused = store::disposal_issue(c, r.id, "office", t0(), cst()).unwrap_err().to_string();
    assert!(refused.contains("分管领导"), "the leader is missing: {refused}");
    let edits = vec![
        ("leader".to_string(), "李副市长".to_string()),
        ("phone".to_string(), "0571-12345678".to_string()),
        ("result".to_string(), "已退还全部费用，舆情平息".to_string()),
    ];
    store::disposal_edit(c, r.id, &edits, "office", t0()).unwrap();
    let issued = store::disposal_issue(c, r.id, "office", t0() + Duration::hours(1), cst()).unwrap();
    assert_eq!(issued.serial.as_deref(), Some("YQCZBG-2026-001"));
    let again =
        store::disposal_edit(c, r.id, &[("title".into(), "改".into())], "office", t0()).unwrap_err().to_string();
    assert!(again.contains("签发，内容已冻结") && again.contains("YQCZBG-2026-001"), "{again}");
    assert!(store::disposal_issue(c, r.id, "office", t0(), cst()).is_err(), "issued once");
    // The trigger keeps the row frozen even against a direct write.
    assert!(c.execute("UPDATE disposal_reports SET data = '{}' WHERE id = ?1", [r.id]).is_err());
    let actions: Vec<String> = desk::audit_recent(c, 20, 0).unwrap().items.into_iter().map(|e| e.action).collect();
    for a in ["report.disposal.create", "report.disposal.edit", "report.disposal.issue"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
    assert!(desk::audit_verify(c).unwrap().is_ok());

    let report = Report::Disposal(store::disposal_get(c, r.id).unwrap().unwrap());
    let v = read_office(&save(dir.path(), "disposal.docx", &write(&report, Format::Docx, cst()).unwrap()));
    assert_gb9704_page(&v);
    assert_gb9704_fonts(&v, "舆情处置情况报告单");
    let paras: Vec<&str> = v["paragraphs"].as_array().unwrap().iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert!(paras.contains(&"编号：YQCZBG-2026-001"), "{paras:?}");
    assert!(paras.contains(&"主送：舆情监控调度处置中心"));
    let form = v["tables"][0].as_array().unwrap();
    let labels: Vec<&str> = form.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        [
            "标题",
            "舆情产生原因（事实真相）",
            "具体处置措施及网络舆论引导措施",
            "应对口径",
            "处置结果",
            "责任单位",
            "分管领导",
            "联系电话",
        ],
        "the date is the 成文日期 under the form, not a row of it"
    );
    assert_eq!(form[6][1], "李副市长");
    assert_eq!(paras.last(), Some(&"2026年11月20日"));
    assert_eq!(form[3][1], "我局已责令该校全额退还补课费，并对相关责任人严肃处理。");
    let x = read_office(&save(dir.path(), "disposal.xlsx", &write(&report, Format::Xlsx, cst()).unwrap()));
    let rows = x["sheets"]["概要"].as_array().unwrap();
    assert!(rows.iter().any(|r| r[0] == "编号：YQCZBG-2026-001"));
    assert!(rows.iter().any(|r| r[0] == "处置结果" && r[1] == "已退还全部费用，舆情平息"));
}

#[test]
fn a_hundred_concurrent_issues_from_separate_connections_get_a_hundred_consecutive_serials() {
    let dir = tempfile::tempdir().unwrap();
    let (st, id) = world(dir.path());
    let mut ids = Vec::new();
    for _ in 0..100 {
        let mut f = gather::disposal_prefill(st.connection(), id, day(), cst()).unwrap();
        f.leader = "李副市长".into();
        f.result = "已处置".into();
        ids.push(
            store::disposal_create(st.connection(), id, "舆情监控调度处置中心", "", f, "office", t0()).unwrap().id,
        );
    }
    drop(st);
    let path = dir.path().join("yuqing.db");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(ids.len()));
    let handles: Vec<_> = ids
        .into_iter()
        .map(|rid| {
            let (path, barrier) = (path.clone(), barrier.clone());
            std::thread::spawn(move || {
                // One connection per thread, as separate processes would have.
                let st = SqliteStore::open(&path).unwrap();
                barrier.wait();
                store::disposal_issue(st.connection(), rid, "office", t0() + Duration::hours(1), yuqing_core::china())
                    .unwrap()
                    .serial
                    .unwrap()
            })
        })
        .collect();
    let serials: BTreeSet<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let want: BTreeSet<String> = (1..=100).map(|n| format!("YQCZBG-2026-{n:03}")).collect();
    assert_eq!(serials, want);
}

#[test]
fn the_risk_register_keeps_history_flags_overdue_items_and_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let (st, _) = world(dir.path());
    let c = st.connection();
    let f = |content: &str, due: NaiveDate| RiskFields {
        department: "市教育局".into(),
        content: content.into(),
        offline_measures: "开展专项检查".into(),
        online_response: "及时发布检查结果".into(),
        due_date: due,
    };
    let a = store::risk_add(c, f("校外培训机构退费纠纷", day() - Duration::days(1)), "edu", t0()).unwrap();
    let b = store::risk_add(c, f("学校食堂食品安全", day() + Duration::days(30)), "edu", t0()).unwrap();
    assert!(store::risk_add(c, RiskFields { department: " ".into(), ..f("x", day()) }, "edu", t0())
        .unwrap_err()
        .to_string()
        .contains("责任单位"));
    let mut changed = b.fields.clone();
    changed.offline_measures = "每周抽检".into();
    store::risk_update(c, b.id, Some(changed), None, "edu", t0() + Duration::hours(1)).unwrap();
    store::risk_update(c, b.id, None, Some(RiskStatus::Resolved), "edu", t0() + Duration::hours(2)).unwrap();
    let h: Vec<String> = store::risk_history(c, b.id).unwrap().into_iter().map(|x| x.change).collect();
    assert_eq!(h, ["登记", "修改线下处置措施", "状态改为已解决"]);
    assert_eq!(
        store::risk_history(c, b.id).unwrap()[0].item.offline_measures,
        "开展专项检查",
        "history keeps the old text"
    );
    assert!(c.execute("DELETE FROM risk_item_history", []).is_err(), "the history is append-only");
    assert!(c.execute("UPDATE risk_item_history SET change = 'x'", []).is_err());

    let reg = gather::risk_register(c, "某市网信办", None, day()).unwrap();
    assert!(reg.items.iter().find(|i| i.id == a.id).unwrap().overdue(day()));
    let report = Report::Risk(reg);
    let x = read_office(&save(dir.path(), "risk.xlsx", &write(&report, Format::Xlsx, cst()).unwrap()));
    let rows = x["sheets"]["隐患排查表"].as_array().unwrap();
    assert_eq!(
        rows[0],
        serde_json::json!([
            "序号",
            "责任单位",
            "舆情隐患内容",
            "线下处置措施",
            "线上应对措施及引导口径",
            "解决时限",
            "状态"
        ])
    );
    assert_eq!(rows[1][6], "逾期");
    assert_eq!(rows[2][6], "已解决");
    let v = read_office(&save(dir.path(), "risk.docx", &write(&report, Format::Docx, cst()).unwrap()));
    assert_gb9704_fonts(&v, "网络舆情隐患排查表");
    assert_eq!(v["landscape"], true, "a register of seven columns is printed across the page");
    assert_eq!(x["formats"]["隐患排查表"]["F2"], "yyyy-mm-dd", "the due day is a date");
    assert!(docx_text(&v).contains("登记隐患 2 项，未解决 1 项，其中逾期 1 项"));
}

fn jobs() -> Jobs {
    Jobs {
        org: "某市网信办".into(),
        config: ReportConfig::default(),
        link_base: "http://yq.example".into(),
        channels: vec!["值班群".into()],
        default_channels: vec!["值班群".into()],
        departments: vec!["市教育局".into()],
        retry: Default::default(),
    }
}

#[test]
fn the_schedule_produces_the_digest_after_five_once_and_delivers_it_through_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let (st, _) = world(dir.path());
    let member = desk::NewUser {
        name: "edu".into(),
        display_name: "教育局信息员".into(),
        role: Some(yuqing_core::people::Role::DepartmentMember),
        department: Some("市教育局".into()),
        ..Default::default()
    };
    desk::add_user(st.connection(), &member, &desk::token_hash("edu"), t0()).unwrap();
    // 16:59 China time on the 20th: yesterday's digest and last week's bulletin are owed, not today's.
    let before = yuqing_core::china().with_ymd_and_hms(2026, 11, 20, 16, 59, 0).unwrap().with_timezone(&Utc);
    let p = schedule::run(&st, &jobs(), before).unwrap();
    assert!(p.iter().any(|x| x.job == "daily" && x.period == "2026-11-19"), "{p:?}");
    let reminder = p.iter().find(|x| x.job == "risk_reminder").unwrap();
    assert_eq!(reminder.messages, 1, "the member of 市教育局 is reminded");
    let after = before + Duration::minutes(2);
    let p = schedule::run(&st, &jobs(), after).unwrap();
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].job, p[0].period.as_str(), p[0].messages), ("daily", "2026-11-20", 1));
    assert!(schedule::run(&st, &jobs(), after + Duration::minutes(5)).unwrap().is_empty(), "produced once");
    let id = p[0].archive_id.unwrap();
    let (entry, report) = store::archive_get(st.connection(), id).unwrap().unwrap();
    assert_eq!(entry.trigger, "schedule");
    assert!(matches!(report, Report::Daily(ref d) if d.date == day()));
    let msgs = outbox::list(st.connection(), None, 50, 0).unwrap();
    let m = msgs.iter().find(|m| m.subject == "【网络舆情日报】2026年11月20日").unwrap();
    assert_eq!(m.channel, "值班群");
    assert!(m.body.contains("某中学违规收取补课费 http://yq.example/stories/1"), "{}", m.body);
    assert!(m.body.contains("https://weibo.example/1"));
    assert_eq!(m.link.as_deref(), Some(format!("http://yq.example/reports/{id}").as_str()));
}

#[test]
fn pdf_without_libreoffice_says_what_to_install() {
    if yuqing_report::pdf::soffice().is_some() {
        let dir = tempfile::tempdir().unwrap();
        let (st, _) = world(dir.path());
        let d = gather::daily(&st, "某市网信办", day(), cst(), "http://yq.example", 3, t0()).unwrap();
        let pdf = write(&Report::Daily(d), Format::Pdf, cst()).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    } else {
        let d = yuqing_report::model::build_daily("某单位", day(), &[], &[], 0, "", 1, &Default::default(), t0());
        let e = write(&Report::Daily(d), Format::Pdf, cst()).unwrap_err().to_string();
        assert!(e.contains("未安装 LibreOffice") && e.contains("--format docx"), "{e}");
    }
}
