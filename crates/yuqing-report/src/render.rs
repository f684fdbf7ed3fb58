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
    /// Relative column widths.
    pub widths: Vec<u32>,
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

/// A table cell: text, a number, or text with a link.
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
}

impl Cell {
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Alarm(s) => s.clone(),
            Cell::Num(n) if n.fract() == 0.0 => format!("{n:.0}"),
            Cell::Num(n) => format!("{n:.1}"),
            Cell::Link { text, .. } => text.clone(),
        }
    }
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
    /// Lines under the title (编号, 主送, 报送单位, date).
    pub meta: Vec<String>,
    pub blocks: Vec<Block>,
    /// 成文日期 at the end, right-aligned.
    pub signature: Vec<String>,
}

/// Local time of a report's instants.
fn lt(d: &chrono::DateTime<chrono::Utc>, offset: chrono::FixedOffset) -> String {
    d.with_timezone(&offset).format("%Y-%m-%d %H:%M").to_string()
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
                    t(fmt_rate(d.report_rate())),
                    t(fmt_rate(d.response_rate())),
                    n(d.overdue),
                    t(fmt_secs(d.mean_report_secs)),
                    t(fmt_secs(d.mean_response_secs)),
                ]
            })
            .collect(),
        widths: vec![4, 2, 2, 3, 3, 2, 3, 3],
        scope: Scope::All,
    }
}

fn incident_table(name: &str, rows: &[IncidentLine], offset: chrono::FixedOffset) -> Table {
    Table {
        name: name.to_string(),
        header: ["工单", "标题", "级别", "状态", "牵头单位", "开启时间", "办结时间"].map(String::from).to_vec(),
        rows: rows
            .iter()
            .map(|i| {
                vec![
                    t(format!("#{}", i.id)),
                    t(&i.title),
                    t(grade_label(Some(i.grade))),
                    t(&i.state),
                    t(i.department.clone().unwrap_or_else(|| "（未分派）".into())),
                    t(lt(&i.opened_at, offset)),
                    t(i.closed_at.map(|c| lt(&c, offset)).unwrap_or_default()),
                ]
            })
            .collect(),
        widths: vec![2, 6, 2, 2, 3, 3, 3],
        scope: Scope::All,
    }
}

fn totals_para(x: &Totals) -> String {
    format!(
        "处置舆情事件 {} 起（已办结 {} 起），报送信息 {} 条，发布回应 {} 次，超时 {} 次；采集信息 {} 条。",
        x.incidents, x.closed, x.reports, x.publications, x.overdue, x.posts
    )
}

/// Lays out a report. `offset` is the local time shown.
pub fn document(report: &Report, offset: chrono::FixedOffset) -> Document {
    let title = report.title();
    match report {
        Report::Daily(d) => {
            let mut blocks = vec![Block::Para(format!(
                "{}，共监测到相关信息 {} 条，其中负面 {} 条；重要信息涉及舆情事件 {} 个，列示如下（标题及链接）。",
                zh_date(d.date),
                d.posts_total,
                d.negative_total,
                d.items()
            ))];
            if d.groups.is_empty() {
                blocks.push(Block::Para("当日无命中监测规则或已定级的重要信息。".into()));
            }
            let mut rows = Vec::new();
            for (gi, g) in d.groups.iter().enumerate() {
                blocks.push(Block::Heading(format!("{}、{} · {}", cn_number(gi + 1), grade_label(g.grade), g.topic)));
                let mut group_rows = Vec::new();
                for (ei, e) in g.entries.iter().enumerate() {
                    group_rows.push(vec![
                        t(format!("{}", ei + 1)),
                        Cell::Link { text: e.story.title.clone(), url: e.link.clone() },
                        t(format!("舆情事件，当日重要信息 {} 条", e.posts_today)),
                        t(lt(&e.story.first_at, offset)),
                    ]);
                    rows.push(vec![
                        t(grade_label(g.grade)),
                        t(&g.topic),
                        Cell::Link { text: e.story.title.clone(), url: e.link.clone() },
                        t("舆情事件"),
                        t(""),
                    ]);
                    for p in &e.posts {
                        let url = p.url.clone().unwrap_or_default();
                        let title_cell = if url.is_empty() {
                            t(&p.title)
                        } else {
                            Cell::Link { text: p.title.clone(), url: url.clone() }
                        };
                        group_rows.push(vec![t(""), title_cell.clone(), t(&p.source), t(lt(&p.at, offset))]);
                        rows.push(vec![
                            t(grade_label(g.grade)),
                            t(&g.topic),
                            title_cell,
                            t(&p.source),
                            t(lt(&p.at, offset)),
                        ]);
                    }
                }
                blocks.push(Block::Table(Table {
                    name: format!("{} {}", grade_label(g.grade), g.topic),
                    header: ["序号", "标题（链接）", "来源", "发布时间"].map(String::from).to_vec(),
                    rows: group_rows,
                    widths: vec![2, 10, 3, 3],
                    scope: Scope::Print,
                }));
            }
            blocks.push(Block::Table(Table {
                name: "重要信息".into(),
                header: ["级别", "领域", "标题（链接）", "来源", "发布时间"].map(String::from).to_vec(),
                rows,
                widths: vec![2, 2, 8, 2, 3],
                scope: Scope::Sheet,
            }));
            Document {
                title,
                meta: vec![d.org.clone()],
                blocks,
                signature: vec![d.org.clone(), zh_date(crate::period::local_date(d.generated_at, offset))],
            }
        }
        Report::Weekly(w) => {
            let mut blocks = vec![
                Block::Heading("一、总体情况".into()),
                Block::Para(format!("{}，{}", w.period.label_zh(), totals_para(&w.totals))),
                Block::Heading("二、信息量与情感走势".into()),
            ];
            blocks.push(Block::Chart(ChartData::volume(&w.days)));
            blocks.push(Block::Table(Table {
                name: "每日信息量".into(),
                header: ["日期", "负面", "中性", "正面", "合计", "负面占比"].map(String::from).to_vec(),
                rows: w
                    .days
                    .iter()
                    .map(|d| {
                        let share = if d.total() > 0 {
                            format!("{:.1}%", d.negative as f64 * 100.0 / d.total() as f64)
                        } else {
                            "—".into()
                        };
                        vec![
                            t(d.date.to_string()),
                            n(d.negative as f64),
                            n(d.neutral as f64),
                            n(d.positive as f64),
                            n(d.total() as f64),
                            t(share),
                        ]
                    })
                    .collect(),
                widths: vec![3, 2, 2, 2, 2, 2],
                scope: Scope::All,
            }));
            blocks.push(Block::Heading("三、热点舆情事件".into()));
            blocks.push(Block::Table(Table {
                name: "热点事件".into(),
                header: ["序号", "事件", "级别", "领域", "信息量", "站点数", "负面占比"].map(String::from).to_vec(),
                rows: w
                    .top_stories
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        vec![
                            n((i + 1) as f64),
                            t(&s.title),
                            t(grade_label(s.grade)),
                            t(&s.topic),
                            n(s.posts as f64),
                            n(s.sites),
                            t(format!("{:.0}%", s.negative_share * 100.0)),
                        ]
                    })
                    .collect(),
                widths: vec![2, 7, 4, 2, 2, 2, 2],
                scope: Scope::All,
            }));
            blocks.push(Block::Heading("四、处置工单".into()));
            blocks.push(Block::Subheading(format!("（一）本周开启 {} 件", w.opened.len())));
            blocks.push(Block::Table(incident_table("本周开启", &w.opened, offset)));
            blocks.push(Block::Subheading(format!("（二）本周办结 {} 件", w.closed.len())));
            blocks.push(Block::Table(incident_table("本周办结", &w.closed, offset)));
            blocks.push(Block::Heading("五、各单位按时率".into()));
            blocks.push(Block::Chart(ChartData::rates(&w.departments)));
            blocks.push(Block::Table(dept_table("各单位按时率", &w.departments)));
            Document {
                title,
                meta: vec![w.org.clone()],
                blocks,
                signature: vec![w.org.clone(), zh_date(crate::period::local_date(w.generated_at, offset))],
            }
        }
        Report::Special(s) => {
            let i = &s.incident;
            let mut blocks = vec![
                Block::Heading("一、基本情况".into()),
                Block::Para(s.summary.clone()),
                Block::Fields(vec![
                    ("工单".into(), format!("#{}", i.id)),
                    ("级别".into(), grade_label(Some(i.grade))),
                    ("状态".into(), i.state.clone()),
                    ("牵头单位".into(), i.department.clone().unwrap_or_else(|| "（未分派）".into())),
                    ("配合单位".into(), if s.cooperating.is_empty() { "无".into() } else { s.cooperating.join("、") }),
                ]),
            ];
            // Sections are numbered as they appear (核查情况 and 研判摘要 may be absent).
            let mut section = 1;
            let mut heading = |blocks: &mut Vec<Block>, name: &str| {
                section += 1;
                blocks.push(Block::Heading(format!("{}、{name}", cn_number(section))));
            };
            if let Some(brief) = &s.brief {
                heading(&mut blocks, "研判摘要");
                blocks.push(Block::Para(
                    "以下内容均摘自监测到的帖文原文，〔〕内为出处序号，见文后出处列表；不涉及发帖人。".into(),
                ));
                for l in &brief.lines {
                    let refs: String = l.refs.iter().map(|n| format!("〔{n}〕")).collect();
                    blocks.push(Block::Para(format!("{}：{}{refs}", l.label, l.text)));
                }
                blocks.push(Block::Table(Table {
                    name: "研判摘要出处".into(),
                    header: ["序号", "标题（链接）", "来源", "发布时间"].map(String::from).to_vec(),
                    rows: brief
                        .sources
                        .iter()
                        .enumerate()
                        .map(|(k, p)| {
                            let title = match p.url.as_deref().filter(|u| !u.is_empty()) {
                                Some(url) => Cell::Link { text: p.title.clone(), url: url.to_string() },
                                None => t(&p.title),
                            };
                            vec![t(format!("〔{}〕", k + 1)), title, t(&p.source), t(lt(&p.at, offset))]
                        })
                        .collect(),
                    widths: vec![2, 10, 3, 3],
                    scope: Scope::All,
                }));
            }
            if let Some(f) = &s.findings {
                heading(&mut blocks, "核查情况");
                blocks.push(Block::Para(f.clone()));
            }
            heading(&mut blocks, "传播态势");
            blocks.push(Block::Chart(ChartData::spread(&s.spread, offset)));
            heading(&mut blocks, "处置经过");
            blocks.push(Block::Table(Table {
                name: "时间线".into(),
                header: ["时间", "操作人", "事项"].map(String::from).to_vec(),
                rows: s.timeline.iter().map(|l| vec![t(lt(&l.at, offset)), t(&l.actor), t(&l.text)]).collect(),
                widths: vec![3, 2, 10],
                scope: Scope::All,
            }));
            heading(&mut blocks, "处置措施");
            if s.measures.is_empty() {
                blocks.push(Block::Para("暂无。".into()));
            }
            for (k, m) in s.measures.iter().enumerate() {
                blocks.push(Block::Para(format!("{}. {m}", k + 1)));
            }
            heading(&mut blocks, "应对口径");
            blocks.push(Block::Para(s.statement.clone().unwrap_or_else(|| "尚无审定的口径。".into())));
            Document {
                title,
                meta: vec![s.org.clone()],
                blocks,
                signature: vec![s.org.clone(), zh_date(crate::period::local_date(s.generated_at, offset))],
            }
        }
        Report::Stats(s) => {
            let blocks = vec![
                Block::Heading("一、总体情况".into()),
                Block::Para(format!("{}，{}", s.period.label_zh(), totals_para(&s.totals))),
                Block::Heading("二、各单位考评".into()),
                Block::Chart(ChartData::rates(&s.departments)),
                Block::Table(dept_table("各单位考评", &s.departments)),
                Block::Para("说明：按时率为统计期内开启的工单中，已到期（或已完成）的首报、公开回应时限按时完成的比例；超时次数含迟报、超时回应等各类时限。".into()),
            ];
            Document {
                title,
                meta: vec![s.org.clone()],
                blocks,
                signature: vec![s.org.clone(), zh_date(crate::period::local_date(s.generated_at, offset))],
            }
        }
        Report::Disposal(d) => {
            let mut meta = vec![format!("编号：{}", d.serial.clone().unwrap_or_else(|| "（签发时编号）".into()))];
            meta.push(format!("主送：{}", d.recipient));
            if !d.issuer.is_empty() {
                meta.push(format!("报送单位：{}", d.issuer));
            }
            if d.status == DisposalStatus::Draft {
                meta.push("（草稿，未签发）".into());
            }
            let fields = DISPOSAL_LABELS.iter().map(|(k, label)| (label.to_string(), d.fields.get(k))).collect();
            Document {
                title,
                meta,
                blocks: vec![Block::Fields(fields)],
                signature: vec![d.issuer.clone(), zh_date(d.fields.date)],
            }
        }
        Report::Risk(r) => {
            let overdue = r.items.iter().filter(|i| i.overdue(r.as_of)).count();
            let open = r.items.iter().filter(|i| i.status == RiskStatus::Open).count();
            let blocks = vec![
                Block::Para(format!(
                    "截至{}，登记隐患 {} 项，未解决 {} 项，其中逾期 {} 项。",
                    zh_date(r.as_of),
                    r.items.len(),
                    open,
                    overdue
                )),
                Block::Table(Table {
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
                                t(i.fields.due_date.to_string()),
                                status,
                            ]
                        })
                        .collect(),
                    widths: vec![2, 3, 6, 5, 6, 3, 2],
                    scope: Scope::All,
                }),
            ];
            Document { title, meta: vec![r.org.clone()], blocks, signature: vec![r.org.clone(), zh_date(r.as_of)] }
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
