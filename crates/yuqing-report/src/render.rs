//! Every report laid out once as a `Document` of blocks (title, headings, paragraphs, fields,
//! tables, charts); the DOCX, XLSX and HTML writers each print the same blocks their own way, so
//! the three formats always carry the same content.

use crate::chart::ChartData;
use crate::model::*;
use crate::period::zh_date;

/// One block of a document.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// 一级标题 (黑体).
    Heading(String),
    /// 二级标题 (楷体).
    Subheading(String),
    Para(String),
    /// A label / value form (the disposal report).
    Fields(Vec<(String, String)>),
    Table(Table),
    Chart(ChartData),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Names the sheet in XLSX.
    pub name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Which formats print it.
    pub scope: Scope,
}

/// Which writers print a table: a long list reads better split by group on paper and whole in a
/// spreadsheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    /// DOCX and HTML only.
    Print,
    /// XLSX only.
    Sheet,
}

/// A table cell: text, a number, a time, a share, or text with a link. Times and shares stay
/// values so a spreadsheet gets real dates and numbers; printed they take one short form.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Num(f64),
    Link {
        text: String,
        url: String,
    },
    /// Text shown as a warning (e.g. 逾期).
    Alarm(String),
    /// A local time: "02-18 15:27" in print.
    Time(chrono::DateTime<chrono::FixedOffset>),
    /// A day: "2026-11-20".
    Day(chrono::NaiveDate),
    /// A share 0–1: "87.5%"; "—" when there is none.
    Pct(Option<f64>),
}

impl Cell {
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Alarm(s) => s.clone(),
            Cell::Num(n) if n.fract() == 0.0 => format!("{n:.0}"),
            Cell::Num(n) => format!("{n:.1}"),
            Cell::Link { text, .. } => text.clone(),
            Cell::Time(t) => t.format(TABLE_TIME).to_string(),
            Cell::Day(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Pct(r) => fmt_rate(*r),
        }
    }

    /// Whether the cell reads badly when wrapped (times, numbers, short words).
    pub fn keeps_whole(&self) -> bool {
        match self {
            Cell::Num(_) | Cell::Time(_) | Cell::Day(_) | Cell::Pct(_) | Cell::Alarm(_) => true,
            Cell::Text(s) => display_width(s) <= 8,
            Cell::Link { .. } => false,
        }
    }
}

/// The one short time style of tables (the year is in the title or the period).
pub const TABLE_TIME: &str = "%m-%d %H:%M";

/// Width of text in half-ems: CJK and full-width characters count two, others one.
pub fn display_width(s: &str) -> u32 {
    s.chars()
        .map(|c| {
            let u = c as u32;
            let wide = (0x1100..=0x115F).contains(&u)
                || (0x2E80..=0xA4CF).contains(&u)
                || (0xAC00..=0xD7A3).contains(&u)
                || (0xF900..=0xFAFF).contains(&u)
                || (0xFE30..=0xFE4F).contains(&u)
                || (0xFF00..=0xFF60).contains(&u)
                || (0xFFE0..=0xFFE6).contains(&u)
                || u >= 0x20000
                || matches!(c, '“' | '”' | '‘' | '’' | '—' | '…' | '·');
            if wide {
                2
            } else {
                1
            }
        })
        .sum()
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}
fn n(v: impl Into<f64>) -> Cell {
    Cell::Num(v.into())
}

/// A laid-out report.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: String,
    /// Lines under the title (编号, 主送, 报送单位).
    pub meta: Vec<String>,
    pub blocks: Vec<Block>,
    /// 发文机关署名 and 成文日期 at the end.
    pub signature: Vec<String>,
    /// Printed across the page (wide registers).
    pub landscape: bool,
}

fn time(d: &chrono::DateTime<chrono::Utc>, offset: chrono::FixedOffset) -> Cell {
    Cell::Time(d.with_timezone(&offset))
}

fn grade_label(g: Option<yuqing_core::Grade>) -> String {
    g.map_or_else(|| "未定级".to_string(), |g| format!("{}级（{}）", g.as_str(), g.label_zh()))
}

fn dept_table(name: &str, rows: &[DepartmentStats]) -> Table {
    Table {
        name: name.to_string(),
        header: [
            "责任单位",
            "工单数",
            "已办结",
            "首报按时率",
            "回应按时率",
            "超时次数",
            "平均上报用时",
            "平均回应用时",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .iter()
            .map(|d| {
                vec![
                    t(&d.department),
                    n(d.incidents),
                    n(d.closed),
                    Cell::Pct(d.report_rate()),
                    Cell::Pct(d.response_rate()),
                    n(d.overdue),
                    t(fmt_secs(d.mean_report_secs)),
                    t(fmt_secs(d.mean_response_secs)),
                ]
            })
            .collect(),
        scope: Scope::All,
    }
}

fn incident_table(name: &str, rows: &[IncidentLine], offset: chrono::FixedOffset) -> Table {
    Table {
        name: name.to_string(),
        header: ["标题", "级别", "状态", "牵头单位", "开启时间", "办结时间"].map(String::from).to_vec(),
        rows: rows
            .iter()
            .map(|i| {
                vec![
                    t(&i.title),
                    t(format!("{}级", i.grade.as_str())),
                    t(&i.state),
                    t(i.department.clone().unwrap_or_else(|| "未分派".into())),
                    time(&i.opened_at, offset),
                    i.closed_at.map_or_else(|| t(""), |c| time(&c, offset)),
                ]
            })
            .collect(),
        scope: Scope::All,
    }
}

/// The on-time part of a period: the chart and table, or a sentence when there is nothing to draw.
fn rates_blocks(blocks: &mut Vec<Block>, name: &str, depts: &[DepartmentStats], period_word: &str) {
    if depts.is_empty() {
        blocks.push(Block::Para(format!("{period_word}无处置工单，暂无按时率。")));
        return;
    }
    if depts.iter().all(|d| d.report_due == 0 && d.response_due == 0) {
        blocks.push(Block::Para(format!("{period_word}各单位尚无到期的首报、公开回应时限，暂无按时率。")));
    } else if depts.iter().all(|d| d.report_on_time == 0 && d.response_on_time == 0) {
        // A chart of bars all at zero is an empty grid on paper.
        blocks.push(Block::Para(format!("{period_word}已到期的首报、公开回应时限均未按时完成，各单位按时率均为 0。")));
    } else {
        blocks.push(Block::Chart(ChartData::rates(depts)));
    }
    blocks.push(Block::Table(dept_table(name, depts)));
}

fn totals_para(x: &Totals) -> String {
    format!(
        "处置舆情事件 {} 起（已办结 {} 起），报送信息 {} 条，发布回应 {} 次，超时 {} 次；采集信息 {} 条。",
        x.incidents, x.closed, x.reports, x.publications, x.overdue, x.posts
    )
}

/// "（前一日 120 条，增加 30 条）".
fn change(now: u64, before: Option<u64>, unit: &str) -> String {
    match before {
        None => String::new(),
        Some(b) if b == now => "（与前一日持平）".to_string(),
        Some(b) if now > b => format!("（前一日 {b} {unit}，增加 {} {unit}）", now - b),
        Some(b) => format!("（前一日 {b} {unit}，减少 {} {unit}）", b - now),
    }
}

/// Numbers the headings in order — 一、二、三 …, and （一）（二）… under each — so a section left
/// out leaves no gap.
fn number(blocks: &mut [Block]) {
    let (mut h, mut sub) = (0, 0);
    for b in blocks.iter_mut() {
        match b {
            Block::Heading(text) => {
                h += 1;
                sub = 0;
                *text = format!("{}、{text}", cn_number(h));
            }
            Block::Subheading(text) => {
                sub += 1;
                *text = format!("（{}）{text}", cn_number(sub));
            }
            _ => {}
        }
    }
}

/// Lays out a report. `offset` is the local time shown.
pub fn document(report: &Report, offset: chrono::FixedOffset) -> Document {
    let mut d = layout(report, offset);
    number(&mut d.blocks);
    d
}

fn signed(org: &str, day: chrono::NaiveDate) -> Vec<String> {
    vec![org.to_string(), zh_date(day)]
}

fn layout(report: &Report, offset: chrono::FixedOffset) -> Document {
    let title = report.title();
    match report {
        Report::Daily(d) => {
            let mut blocks = vec![Block::Heading("今日要情".into())];
            if d.matters.is_empty() {
                blocks.push(Block::Para("今日无已定级或已开启处置工单的舆情事件。".into()));
            }
            for (k, m) in d.matters.iter().enumerate() {
                blocks.push(Block::Para(format!(
                    "{}. {}。{}，{}；{}。",
                    k + 1,
                    m.headline.trim_end_matches(['。', '！', '？', '…']),
                    grade_label(m.grade),
                    m.change_zh(),
                    m.handling_zh()
                )));
            }
            blocks.push(Block::Heading("今日概况".into()));
            let prev = d.previous.as_ref();
            blocks.push(Block::Para(format!(
                "{}共监测到相关信息 {} 条{}，其中负面 {} 条{}；重要信息涉及舆情事件 {} 个{}。",
                zh_date(d.date),
                d.posts_total,
                change(d.posts_total, prev.map(|p| p.posts_total), "条"),
                d.negative_total,
                change(d.negative_total, prev.map(|p| p.negative_total), "条"),
                d.items(),
                change(d.items() as u64, prev.map(|p| p.items), "个"),
            )));
            let delta = |now: u64, before: Option<u64>| match before {
                Some(b) => n(now as f64 - b as f64),
                None => t("—"),
            };
            let count_row = |name: &str, now: u64, before: Option<u64>| {
                vec![t(name), n(now as f64), before.map_or_else(|| t("—"), |b| n(b as f64)), delta(now, before)]
            };
            blocks.push(Block::Table(Table {
                name: "今日概况".into(),
                header: ["项目", "当日", "前一日", "增减"].map(String::from).to_vec(),
                rows: vec![
                    vec![
                        t("日期"),
                        Cell::Day(d.date),
                        d.previous.as_ref().map_or_else(|| t("—"), |_| Cell::Day(d.date.pred_opt().unwrap_or(d.date))),
                        t(""),
                    ],
                    count_row("监测信息（条）", d.posts_total, prev.map(|p| p.posts_total)),
                    count_row("负面信息（条）", d.negative_total, prev.map(|p| p.negative_total)),
                    count_row("重要舆情事件（个）", d.items() as u64, prev.map(|p| p.items)),
                    vec![t("生成时间"), time(&d.generated_at, offset), t(""), t("")],
                ],
                scope: Scope::Sheet,
            }));
            blocks.push(Block::Heading("重要信息".into()));
            if d.groups.is_empty() {
                blocks.push(Block::Para("当日无命中监测规则或已定级的重要信息。".into()));
            }
            let mut rows = Vec::new();
            for g in &d.groups {
                blocks.push(Block::Subheading(format!("{}·{}", grade_label(g.grade), g.topic)));
                let mut group_rows = Vec::new();
                for (ei, e) in g.entries.iter().enumerate() {
                    let lead = e.posts.first();
                    let site = match lead {
                        Some(p) => match p.url.as_deref().filter(|u| !u.is_empty()) {
                            Some(url) => Cell::Link { text: p.source.clone(), url: url.to_string() },
                            None => t(&p.source),
                        },
                        None => t(""),
                    };
                    let at = lead.map_or_else(|| time(&e.story.first_at, offset), |p| time(&p.at, offset));
                    let headline = Cell::Link { text: e.story.title.clone(), url: e.link.clone() };
                    group_rows.push(vec![
                        n((ei + 1) as f64),
                        headline.clone(),
                        site.clone(),
                        at.clone(),
                        n(e.posts_today as f64),
                    ]);
                    rows.push(vec![t(grade_label(g.grade)), t(&g.topic), headline, site, at, n(e.posts_today as f64)]);
                }
                blocks.push(Block::Table(Table {
                    name: format!("{} {}", grade_label(g.grade), g.topic),
                    header: ["序号", "标题", "站点", "时间", "条数"].map(String::from).to_vec(),
                    rows: group_rows,
                    scope: Scope::Print,
                }));
            }
            blocks.push(Block::Table(Table {
                name: "重要信息".into(),
                header: ["级别", "领域", "标题", "站点", "时间", "当日重要信息"].map(String::from).to_vec(),
                rows,
                scope: Scope::Sheet,
            }));
            Document {
                title,
                meta: Vec::new(),
                blocks,
                signature: signed(&d.org, crate::period::local_date(d.generated_at, offset)),
                landscape: false,
            }
        }
        Report::Weekly(w) => {
            let mut blocks = vec![
                Block::Heading("总体情况".into()),
                Block::Para(format!("{}，{}", w.period.label_zh(), totals_para(&w.totals))),
                Block::Heading("信息量与情感走势".into()),
            ];
            if w.days.iter().all(|d| d.total() == 0) {
                blocks.push(Block::Para("本周未采集到相关信息。".into()));
            } else {
                blocks.push(Block::Chart(ChartData::volume(&w.days)));
                blocks.push(Block::Table(Table {
                    name: "每日信息量".into(),
                    header: ["日期", "负面", "中性", "正面", "合计", "负面占比"].map(String::from).to_vec(),
                    rows: w
                        .days
                        .iter()
                        .map(|d| {
                            let share = (d.total() > 0).then(|| d.negative as f64 / d.total() as f64);
                            vec![
                                Cell::Day(d.date),
                                n(d.negative as f64),
                                n(d.neutral as f64),
                                n(d.positive as f64),
                                n(d.total() as f64),
                                Cell::Pct(share),
                            ]
                        })
                        .collect(),
                    scope: Scope::All,
                }));
            }
            blocks.push(Block::Heading("热点舆情事件".into()));
            if w.top_stories.is_empty() {
                blocks.push(Block::Para("本周无热点舆情事件。".into()));
            } else {
                blocks.push(Block::Table(Table {
                    name: "热点事件".into(),
                    header: ["序号", "事件", "级别", "领域", "本周信息量", "站点数", "负面占比"]
                        .map(String::from)
                        .to_vec(),
                    rows: w
                        .top_stories
                        .iter()
                        .enumerate()
                        .map(|(i, s)| {
                            vec![
                                n((i + 1) as f64),
                                t(&s.title),
                                t(s.grade.map_or_else(|| "未定级".to_string(), |g| format!("{}级", g.as_str()))),
                                t(&s.topic),
                                n(s.posts as f64),
                                n(s.sites),
                                Cell::Pct(Some(s.negative_share as f64)),
                            ]
                        })
                        .collect(),
                    scope: Scope::All,
                }));
            }
            blocks.push(Block::Heading("处置工单".into()));
            blocks.push(Block::Subheading(format!("本周开启 {} 件", w.opened.len())));
            if w.opened.is_empty() {
                blocks.push(Block::Para("本周无新开启工单。".into()));
            } else {
                blocks.push(Block::Table(incident_table("本周开启", &w.opened, offset)));
            }
            blocks.push(Block::Subheading(format!("本周办结 {} 件", w.closed.len())));
            if w.closed.is_empty() {
                blocks.push(Block::Para("本周无办结工单。".into()));
            } else {
                blocks.push(Block::Table(incident_table("本周办结", &w.closed, offset)));
            }
            blocks.push(Block::Heading("各单位按时率".into()));
            rates_blocks(&mut blocks, "各单位按时率", &w.departments, "本周");
            Document {
                title,
                meta: Vec::new(),
                blocks,
                signature: signed(&w.org, crate::period::local_date(w.generated_at, offset)),
                landscape: false,
            }
        }
        Report::Special(s) => {
            let i = &s.incident;
            let mut blocks = vec![
                Block::Heading("基本情况".into()),
                Block::Para(s.summary.clone()),
                Block::Fields(vec![
                    ("级别".into(), grade_label(Some(i.grade))),
                    ("处置状态".into(), i.state.clone()),
                    ("牵头单位".into(), i.department.clone().unwrap_or_else(|| "未分派".into())),
                    ("配合单位".into(), if s.cooperating.is_empty() { "无".into() } else { s.cooperating.join("、") }),
                ]),
            ];
            if let Some(brief) = &s.brief {
                blocks.push(Block::Heading("研判摘要".into()));
                blocks.push(Block::Para(
                    "以下内容均摘自监测到的帖文原文，〔〕内为出处序号，见文后出处列表；不涉及发帖人。".into(),
                ));
                for l in &brief.lines {
                    let refs: String = l.refs.iter().map(|n| format!("〔{n}〕")).collect();
                    blocks.push(Block::Para(format!("{}：{}{refs}", l.label, l.text)));
                }
                blocks.push(Block::Table(Table {
                    name: "研判摘要出处".into(),
                    header: ["序号", "标题", "来源", "发布时间"].map(String::from).to_vec(),
                    rows: brief
                        .sources
                        .iter()
                        .enumerate()
                        .map(|(k, p)| {
                            let title = match p.url.as_deref().filter(|u| !u.is_empty()) {
                                Some(url) => Cell::Link { text: p.title.clone(), url: url.to_string() },
                                None => t(&p.title),
                            };
                            vec![t(format!("〔{}〕", k + 1)), title, t(&p.source), time(&p.at, offset)]
                        })
                        .collect(),
                    scope: Scope::All,
                }));
            }
            if let Some(f) = s.findings.as_deref().filter(|f| !f.trim().is_empty()) {
                blocks.push(Block::Heading("核查情况".into()));
                blocks.push(Block::Para(f.to_string()));
            }
            blocks.push(Block::Heading("传播态势".into()));
            if s.spread.iter().all(|h| h.posts == 0) {
                blocks.push(Block::Para("暂无逐小时的传播数据。".into()));
            } else {
                blocks.push(Block::Chart(ChartData::spread(&s.spread, offset)));
            }
            blocks.push(Block::Heading("处置经过".into()));
            if s.timeline.is_empty() {
                blocks.push(Block::Para("暂无处置记录。".into()));
            } else {
                blocks.push(Block::Table(Table {
                    name: "处置经过".into(),
                    header: ["时间", "事项", "经办"].map(String::from).to_vec(),
                    rows: s
                        .timeline
                        .iter()
                        .map(|l| {
                            vec![time(&l.at, offset), t(&l.text), t(if l.actor == "system" { "" } else { &l.actor })]
                        })
                        .collect(),
                    scope: Scope::All,
                }));
            }
            blocks.push(Block::Heading("处置措施".into()));
            if s.measures.is_empty() {
                blocks.push(Block::Para("暂无已采取的处置措施。".into()));
            }
            for (k, m) in s.measures.iter().enumerate() {
                blocks.push(Block::Para(format!("{}. {m}", k + 1)));
            }
            blocks.push(Block::Heading("应对口径".into()));
            blocks.push(Block::Para(s.statement.clone().unwrap_or_else(|| "尚无审定的口径。".into())));
            Document {
                title,
                meta: Vec::new(),
                blocks,
                signature: signed(&s.org, crate::period::local_date(s.generated_at, offset)),
                landscape: false,
            }
        }
        Report::Stats(s) => {
            let mut blocks = vec![
                Block::Heading("总体情况".into()),
                Block::Para(format!("{}，{}", s.period.label_zh(), totals_para(&s.totals))),
                Block::Heading("各单位考评".into()),
            ];
            rates_blocks(&mut blocks, "各单位考评", &s.departments, "本期");
            blocks.push(Block::Para("说明：按时率为统计期内开启的工单中，已到期（或已完成）的首报、公开回应时限按时完成的比例；超时次数含迟报、超时回应等各类时限。".into()));
            Document {
                title,
                meta: Vec::new(),
                blocks,
                signature: signed(&s.org, crate::period::local_date(s.generated_at, offset)),
                landscape: false,
            }
        }
        Report::Disposal(d) => {
            let serial = d.serial.clone().unwrap_or_else(|| "（签发时编号）".into());
            let mut meta = vec![if d.status == DisposalStatus::Draft {
                format!("编号：{serial}　（草稿，未签发）")
            } else {
                format!("编号：{serial}")
            }];
            meta.push(format!("主送：{}", d.recipient));
            if !d.issuer.is_empty() {
                meta.push(format!("报送单位：{}", d.issuer));
            }
            // The date is the 成文日期 under the form, not a row of it.
            let fields = DISPOSAL_LABELS
                .iter()
                .filter(|(k, _)| *k != "date")
                .map(|(k, label)| (label.to_string(), d.fields.get(k)))
                .collect();
            Document {
                title,
                meta,
                blocks: vec![Block::Fields(fields)],
                signature: signed(&d.issuer, d.fields.date),
                landscape: false,
            }
        }
        Report::Risk(r) => {
            let overdue = r.items.iter().filter(|i| i.overdue(r.as_of)).count();
            let open = r.items.iter().filter(|i| i.status == RiskStatus::Open).count();
            let mut blocks = vec![Block::Para(format!(
                "截至{}，登记隐患 {} 项，未解决 {} 项，其中逾期 {} 项。",
                zh_date(r.as_of),
                r.items.len(),
                open,
                overdue
            ))];
            if !r.items.is_empty() {
                blocks.push(Block::Table(Table {
                    name: "隐患排查表".into(),
                    header: [
                        "序号",
                        "责任单位",
                        "舆情隐患内容",
                        "线下处置措施",
                        "线上应对措施及引导口径",
                        "解决时限",
                        "状态",
                    ]
                    .map(String::from)
                    .to_vec(),
                    rows: r
                        .items
                        .iter()
                        .enumerate()
                        .map(|(k, i)| {
                            let status =
                                if i.overdue(r.as_of) { Cell::Alarm("逾期".into()) } else { t(i.status.label_zh()) };
                            vec![
                                n((k + 1) as f64),
                                t(&i.fields.department),
                                t(&i.fields.content),
                                t(&i.fields.offline_measures),
                                t(&i.fields.online_response),
                                Cell::Day(i.fields.due_date),
                                status,
                            ]
                        })
                        .collect(),
                    scope: Scope::All,
                }));
            }
            Document { title, meta: Vec::new(), blocks, signature: signed(&r.org, r.as_of), landscape: true }
        }
    }
}

/// 一 二 … 二十 and beyond as digits.
pub fn cn_number(n: usize) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => D[n].to_string(),
        10 => "十".into(),
        11..=19 => format!("十{}", D[n - 10]),
        20..=99 => format!("{}十{}", D[n / 10], if n.is_multiple_of(10) { "" } else { D[n % 10] }),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    fn week() -> crate::period::Period {
        crate::period::Period::week_of(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap())
    }

    fn headings(d: &Document) -> Vec<String> {
        d.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Heading(h) | Block::Subheading(h) => Some(h.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn an_empty_week_is_written_in_sentences_not_empty_charts_and_tables() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap();
        let days = (0..7)
            .map(|k| DayVolume { date: week().first + chrono::Duration::days(k), negative: 0, neutral: 0, positive: 0 })
            .collect();
        let w = build_weekly("某单位", week(), days, &[], &[], &[], &PeriodCounts::default(), now);
        let d = document(&Report::Weekly(w), yuqing_core::china());
        assert!(!d.blocks.iter().any(|b| matches!(b, Block::Chart(_) | Block::Table(_))), "{:?}", d.blocks);
        let paras: Vec<&String> =
            d.blocks.iter().filter_map(|b| if let Block::Para(p) = b { Some(p) } else { None }).collect();
        for want in [
            "本周未采集到相关信息。",
            "本周无热点舆情事件。",
            "本周无新开启工单。",
            "本周无办结工单。",
            "本周无处置工单，暂无按时率。",
        ] {
            assert!(paras.iter().any(|p| p.as_str() == want), "{want} in {paras:?}");
        }
        assert_eq!(
            headings(&d),
            [
                "一、总体情况",
                "二、信息量与情感走势",
                "三、热点舆情事件",
                "四、处置工单",
                "（一）本周开启 0 件",
                "（二）本周办结 0 件",
                "五、各单位按时率"
            ]
        );
    }

    #[test]
    fn headings_number_themselves_without_a_gap_when_a_section_is_left_out() {
        let mut blocks = vec![
            Block::Heading("基本情况".into()),
            Block::Subheading("甲".into()),
            Block::Heading("传播态势".into()),
            Block::Subheading("乙".into()),
            Block::Subheading("丙".into()),
            Block::Heading("处置经过".into()),
        ];
        number(&mut blocks);
        let d = Document { title: String::new(), meta: vec![], blocks, signature: vec![], landscape: false };
        assert_eq!(headings(&d), ["一、基本情况", "（一）甲", "二、传播态势", "（一）乙", "（二）丙", "三、处置经过"]);
    }

    #[test]
    fn tables_print_one_short_time_style_and_shares_as_percentages() {
        let at = yuqing_core::china().with_ymd_and_hms(2020, 2, 18, 15, 27, 0).unwrap();
        assert_eq!(Cell::Time(at).text(), "02-18 15:27");
        assert_eq!(Cell::Pct(Some(0.875)).text(), "87.5%");
        assert_eq!(Cell::Pct(None).text(), "—");
        assert!(Cell::Time(at).keeps_whole() && !Cell::Text("很长的一段标题文字超过六个字".into()).keeps_whole());
        assert_eq!(display_width("02-18 15:27"), 11);
        assert_eq!(display_width("序号"), 4);
        assert_eq!(crate::period::zh_datetime(at.with_timezone(&Utc), yuqing_core::china()), "2020年2月18日 15:27");
    }
}
