//! `yuqing report …`: reports to files (日报, 周报, 专报, 考评), the archive, disposal reports and
//! the risk register. Opens only the SQLite database, so it works while the server runs (serials
//! are allocated under SQLite's write lock, shared with the server).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::{Duration, Utc};
use clap::Subcommand;
use serde_json::json;
use yuqing_report::model::{RiskFields, RiskStatus, DISPOSAL_LABELS};
use yuqing_report::period::{parse_date, Period};
use yuqing_report::schedule::Jobs;
use yuqing_report::{gather, store, Format, Report};

use crate::config::Config;
use crate::desk_cli::open_db;

/// Output options shared by the report commands.
#[derive(Debug, Clone, clap::Args)]
pub struct Output {
    /// 格式：docx（GB/T 9704 公文格式）、xlsx、html、pdf（需安装 LibreOffice）
    #[arg(long, default_value = "docx")]
    pub format: String,
    /// 输出文件
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// 日报：当日命中监测规则或已定级的重要信息（标题 + 链接），按级别、领域分组
    Daily {
        /// 日期 YYYY-MM-DD（默认今天）
        #[arg(long)]
        date: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// 周报：信息量与情感走势、热点事件、开启与办结的工单、各单位按时率
    Weekly {
        /// 该周任一天 YYYY-MM-DD（默认上周）
        #[arg(long)]
        week_of: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// 专报：一个工单的概况、时间线、传播态势、处置措施、口径
    Special {
        #[arg(long)]
        incident: i64,
        /// 自拟标题（默认“关于……的舆情专报”，最长 60 字）
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// 考评统计：各单位工单数、首报与回应按时率、超时次数、平均用时
    Stats {
        /// 开始日期（默认本月 1 日）
        #[arg(long)]
        from: Option<String>,
        /// 结束日期（默认今天）
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// 已存档的报表（定时生成与网页生成的）
    List {
        /// daily、weekly、special、stats
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// 导出一份已存档的报表
    Get {
        id: i64,
        #[command(flatten)]
        output: Output,
    },
    /// 立即执行定时报表（补发错过的日报、周报、隐患排查提醒；已生成的不重复）
    Schedule,
    /// 舆情处置情况报告单
    Disposal {
        #[command(subcommand)]
        command: DisposalCommand,
    },
    /// 网络舆情隐患排查表
    Risk {
        #[command(subcommand)]
        command: RiskCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum DisposalCommand {
    /// 为工单新建报告单（自动填写核查结果、处置措施、审定口径、处置结果）
    New { incident: i64 },
    /// 修改草稿：--set 字段=内容，可多次；字段：title cause measures statement result department leader phone date recipient
    Edit {
        id: i64,
        #[arg(long = "set", required = true)]
        set: Vec<String>,
    },
    /// 签发：按年度顺序编号 YQCZBG-YYYY-NNN，签发后不可修改
    Issue { id: i64 },
    /// 列出报告单
    List {
        #[arg(long)]
        incident: Option<i64>,
    },
    /// 显示或导出一份报告单
    Show {
        id: i64,
        #[arg(long)]
        format: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// 登记隐患
    Add {
        #[arg(long)]
        department: String,
        /// 舆情隐患内容
        #[arg(long)]
        content: String,
        /// 线下处置措施
        #[arg(long, default_value = "")]
        offline: String,
        /// 线上应对措施及引导口径
        #[arg(long, default_value = "")]
        online: String,
        /// 解决时限 YYYY-MM-DD
        #[arg(long)]
        due: String,
    },
    /// 修改隐患或标记解决（--status resolved）
    Update {
        id: i64,
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        content: Option<String>,
        #[arg(long)]
        offline: Option<String>,
        #[arg(long)]
        online: Option<String>,
        #[arg(long)]
        due: Option<String>,
        /// open（未解决）或 resolved（已解决）
        #[arg(long)]
        status: Option<String>,
    },
    /// 列出（或导出）隐患排查表
    List {
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        format: Option<String>,
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// 一项隐患的修改记录
    History { id: i64 },
}

/// The report jobs of a configuration: organization, `[reports]`, channels and links.
pub fn jobs(config: &Config) -> Jobs {
    let org =
        if config.organization.name.is_empty() { "本单位".to_string() } else { config.organization.name.clone() };
    let channels = if config.reports.channels.is_empty() {
        config.desk.broadcast_channels.clone()
    } else {
        config.reports.channels.clone()
    };
    Jobs {
        org,
        config: config.reports.clone(),
        link_base: config.desk.public_url.clone(),
        channels,
        default_channels: config.desk.default_channels.clone(),
        departments: config.departments.iter().map(|d| d.name.clone()).collect(),
        retry: Default::default(),
    }
}

fn save(report: &Report, output: &Output, jobs: &Jobs, json_out: bool) -> Result<()> {
    let format = Format::parse(&output.format)?;
    write_file(report, format, &output.out, jobs, json_out)
}

fn write_file(report: &Report, format: Format, out: &Path, jobs: &Jobs, json_out: bool) -> Result<()> {
    let bytes = yuqing_report::write(report, format, jobs.config.offset())?;
    std::fs::write(out, &bytes).with_context(|| format!("无法写入 {}", out.display()))?;
    if json_out {
        println!("{}", json!({"title": report.title(), "file": out, "format": format.ext(), "bytes": bytes.len()}));
    } else {
        println!("已生成《{}》：{}（{}，{} 字节）", report.title(), out.display(), format.ext(), bytes.len());
    }
    Ok(())
}

fn date_or(s: &Option<String>, what: &str, default: chrono::NaiveDate) -> Result<chrono::NaiveDate> {
    Ok(match s {
        Some(s) => parse_date(s, what)?,
        None => default,
    })
}

pub fn run(cmd: &ReportCommand, data_dir: &Path, config: &Config, json_out: bool) -> Result<()> {
    let jobs = jobs(config);
    let st = open_db(data_dir, false)?;
    let now = Utc::now();
    let offset = jobs.config.offset();
    let today = store::today(now, offset);
    let c = st.connection();
    match cmd {
        ReportCommand::Daily { date, output } => {
            let day = date_or(date, "--date", today)?;
            let r = gather::daily(&st, &jobs.org, day, offset, &jobs.link_base, jobs.config.posts_per_story, now)?;
            save(&Report::Daily(r), output, &jobs, json_out)
        }
        ReportCommand::Weekly { week_of, output } => {
            let week = Period::week_of(date_or(week_of, "--week-of", today - Duration::days(7))?);
            save(&Report::Weekly(gather::weekly(&st, &jobs.org, week, offset, now)?), output, &jobs, json_out)
        }
        ReportCommand::Special { incident, title, output } => {
            let title = yuqing_desk::reports::special_title(title.as_deref())?;
            // The brief's segmenter with the configuration's own words, as the pipeline cuts.
            let seg = yuqing_text::Segmenter::new(&config.analyzer_config().user_words);
            let mut special = gather::special(&st, &seg, &jobs.org, *incident, offset, now)?;
            special.title = title;
            save(&Report::Special(special), output, &jobs, json_out)
        }
        ReportCommand::Stats { from, to, output } => {
            let p = Period::new(date_or(from, "--from", Period::month_of(today).first)?, date_or(to, "--to", today)?)?;
            save(&Report::Stats(gather::stats(&st, &jobs.org, p, offset, now)?), output, &jobs, json_out)
        }
        ReportCommand::List { kind, limit } => {
            let (items, total) = store::archive_list(c, kind.as_deref(), *limit, 0)?;
            if json_out {
                println!("{}", json!({"total": total, "reports": items}));
            } else {
                println!("共 {total} 份报表：");
                for e in items {
                    println!(
                        "#{:<5} {}  {}（{}）",
                        e.id,
                        e.created_at.with_timezone(&offset).format("%Y-%m-%d %H:%M"),
                        e.title,
                        if e.trigger == "schedule" { "定时" } else { "手工" }
                    );
                }
            }
            Ok(())
        }
        ReportCommand::Get { id, output } => {
            let Some((_, report)) = store::archive_get(c, *id)? else {
                bail!("报表 {id} 不存在（yuqing report list 查看）")
            };
            save(&report, output, &jobs, json_out)
        }
        ReportCommand::Schedule => {
            let produced = yuqing_report::schedule::run(&st, &jobs, now)?;
            if json_out {
                println!("{}", json!({"produced": produced}));
            } else if produced.is_empty() {
                println!("没有到期未生成的定时报表。");
            } else {
                for p in produced {
                    println!("已生成 {} {}，发送通知 {} 条", p.job, p.period, p.messages);
                }
            }
            Ok(())
        }
        ReportCommand::Disposal { command } => disposal(command, &st, &jobs, json_out),
        ReportCommand::Risk { command } => risk(command, &st, &jobs, json_out),
    }
}

fn print_disposal(r: &yuqing_report::DisposalReport, json_out: bool) {
    if json_out {
        println!("{}", serde_json::to_string(r).unwrap_or_default());
        return;
    }
    println!(
        "报告单 #{} {}（{}），工单 #{}，主送：{}",
        r.id,
        r.serial.as_deref().unwrap_or("未编号"),
        r.status.label_zh(),
        r.incident_id,
        r.recipient
    );
    for (k, label) in DISPOSAL_LABELS {
        println!("【{label}】{}", r.fields.get(k));
    }
}

fn disposal(cmd: &DisposalCommand, st: &yuqing_store::SqliteStore, jobs: &Jobs, json_out: bool) -> Result<()> {
    let c = st.connection();
    let now = Utc::now();
    let offset = jobs.config.offset();
    match cmd {
        DisposalCommand::New { incident } => {
            let fields = gather::disposal_prefill(c, *incident, store::today(now, offset), offset)?;
            let issuer = if jobs.config.issuer.is_empty() { jobs.org.clone() } else { jobs.config.issuer.clone() };
            let r = store::disposal_create(c, *incident, &jobs.config.recipient, &issuer, fields, "cli", now)?;
            print_disposal(&r, json_out);
        }
        DisposalCommand::Edit { id, set } => {
            let mut changes = Vec::new();
            for s in set {
                let Some((k, v)) = s.split_once('=') else { bail!("--set 应写成 字段=内容，收到“{s}”") };
                changes.push((k.trim().to_string(), v.to_string()));
            }
            print_disposal(&store::disposal_edit(c, *id, &changes, "cli", now)?, json_out);
        }
        DisposalCommand::Issue { id } => print_disposal(&store::disposal_issue(c, *id, "cli", now, offset)?, json_out),
        DisposalCommand::List { incident } => {
            let list = store::disposal_list(c, *incident, 500)?;
            if json_out {
                println!("{}", json!({"reports": list}));
            } else {
                for r in list {
                    println!(
                        "#{:<5} {:<16} {}  工单 #{}  {}",
                        r.id,
                        r.serial.as_deref().unwrap_or("（草稿）"),
                        r.status.label_zh(),
                        r.incident_id,
                        r.fields.title
                    );
                }
            }
        }
        DisposalCommand::Show { id, format, out } => {
            let Some(r) = store::disposal_get(c, *id)? else { bail!("报告单 {id} 不存在") };
            match (format, out) {
                (_, Some(out)) => write_file(
                    &Report::Disposal(r),
                    Format::parse(format.as_deref().unwrap_or("docx"))?,
                    out,
                    jobs,
                    json_out,
                )?,
                (Some(_), None) => bail!("导出须用 --out 指定文件"),
                (None, None) => print_disposal(&r, json_out),
            }
        }
    }
    Ok(())
}

fn risk(cmd: &RiskCommand, st: &yuqing_store::SqliteStore, jobs: &Jobs, json_out: bool) -> Result<()> {
    let c = st.connection();
    let now = Utc::now();
    let today = store::today(now, jobs.config.offset());
    let show = |i: &yuqing_report::model::RiskItem| {
        if json_out {
            println!("{}", json!({"item": i, "overdue": i.overdue(today)}));
        } else {
            println!(
                "#{:<4} [{}] {}：{}（解决时限 {}）{}",
                i.id,
                i.fields.department,
                i.status.label_zh(),
                i.fields.content,
                i.fields.due_date,
                if i.overdue(today) { " 【逾期】" } else { "" }
            );
        }
    };
    match cmd {
        RiskCommand::Add { department, content, offline, online, due } => {
            let f = RiskFields {
                department: department.clone(),
                content: content.clone(),
                offline_measures: offline.clone(),
                online_response: online.clone(),
                due_date: parse_date(due, "--due")?,
            };
            show(&store::risk_add(c, f, "cli", now)?);
        }
        RiskCommand::Update { id, department, content, offline, online, due, status } => {
            let Some(item) = store::risk_get(c, *id)? else { bail!("隐患 {id} 不存在") };
            let mut f = item.fields.clone();
            if let Some(v) = department {
                f.department = v.clone();
            }
            if let Some(v) = content {
                f.content = v.clone();
            }
            if let Some(v) = offline {
                f.offline_measures = v.clone();
            }
            if let Some(v) = online {
                f.online_response = v.clone();
            }
            if let Some(v) = due {
                f.due_date = parse_date(v, "--due")?;
            }
            let status = match status {
                None => None,
                Some(s) => {
                    Some(RiskStatus::parse(s).ok_or_else(|| anyhow::anyhow!("未知的状态“{s}”，可用 open、resolved"))?)
                }
            };
            let changed = (f != item.fields).then_some(f);
            show(&store::risk_update(c, *id, changed, status, "cli", now)?);
        }
        RiskCommand::List { department, format, out } => {
            let reg = gather::risk_register(c, &jobs.org, department.as_deref(), today)?;
            match (format, out) {
                (_, Some(out)) => write_file(
                    &Report::Risk(reg),
                    Format::parse(format.as_deref().unwrap_or("xlsx"))?,
                    out,
                    jobs,
                    json_out,
                )?,
                (Some(_), None) => bail!("导出须用 --out 指定文件"),
                (None, None) => reg.items.iter().for_each(show),
            }
        }
        RiskCommand::History { id } => {
            for h in store::risk_history(c, *id)? {
                if json_out {
                    println!("{}", serde_json::to_string(&h).unwrap_or_default());
                } else {
                    println!(
                        "{} {}：{}",
                        h.at.with_timezone(&jobs.config.offset()).format("%Y-%m-%d %H:%M"),
                        h.actor,
                        h.change
                    );
                }
            }
        }
    }
    Ok(())
}
