//! `yuqing sources list|add|test|disable|enable`: the sources of the configuration file plus those
//! added here (stored in the data directory; the server reads them when it starts).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use serde_json::json;
use yuqing_collect::collector::{self, Collected};
use yuqing_collect::source::parse_source_toml;
use yuqing_collect::{Fetcher, Source, SourceKind};
use yuqing_store::collect as records;

use crate::config::Config;

#[derive(clap::Subcommand)]
pub enum SourcesCommand {
    /// 列出信息源及健康状况（最近成功、连续失败、近 24 小时入库、抓取耗时中位数）
    List,
    /// 新增（或替换同 id 的）信息源；其余选项用 --set 以 TOML 写法给出，如 --set 'selectors.links = "ul.news a"'
    Add {
        id: String,
        /// 站点名称（作为帖文来源）
        #[arg(long)]
        name: String,
        /// feed、html、search、json 或 folder
        #[arg(long)]
        kind: String,
        /// 网址（search 为含 {keyword} 的模板；folder 为目录路径）
        #[arg(long)]
        url: String,
        /// Central、Provincial、Local 或 Community（默认 Community）
        #[arg(long)]
        tier: Option<String>,
        /// 责任单位
        #[arg(long)]
        department: Option<String>,
        /// 采集间隔，如 5m（默认 5 分钟；重点时期 1 分钟）
        #[arg(long)]
        interval: Option<String>,
        /// 其他选项，TOML 写法，可多次给出
        #[arg(long = "set")]
        set: Vec<String>,
    },
    /// 抓取一次，列出将会入库的内容（不入库，不改变游标）
    Test { id: String },
    /// 停用信息源（运行中的服务在 [collect] sources_reload 内停止采集它）
    Disable { id: String },
    /// 重新启用信息源（运行中的服务在 [collect] sources_reload 内开始采集它）
    Enable { id: String },
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn all_sources(config: &Config, data_dir: &Path) -> Result<Vec<Source>> {
    if !data_dir.join("yuqing.db").exists() {
        return Ok(config.sources.clone());
    }
    let store = crate::desk_cli::open_db(data_dir, false)?;
    Ok(crate::live::sources_from(config, &store)?)
}

pub fn run(command: &SourcesCommand, data_dir: &Path, config: &Config, json_out: bool) -> Result<()> {
    match command {
        SourcesCommand::List => {
            let sources = all_sources(config, data_dir)?;
            let store = if data_dir.join("yuqing.db").exists() {
                Some(crate::desk_cli::open_db(data_dir, false)?)
            } else {
                None
            };
            let now = Utc::now();
            let mut rows = Vec::new();
            for s in &sources {
                let h = match &store {
                    Some(st) => records::health(st.connection(), &s.id, now)?,
                    None => records::SourceHealth { source_id: s.id.clone(), ..Default::default() },
                };
                rows.push((s, h));
            }
            if json_out {
                let v: Vec<_> = rows.iter().map(|(s, h)| json!({"source": s, "health": h})).collect();
                return print_json(&json!({ "sources": v }));
            }
            if rows.is_empty() {
                println!("尚未配置信息源。在配置文件中加入 [[sources]]，或用 yuqing sources add 新增。");
                return Ok(());
            }
            for (s, h) in rows {
                let mut line = format!(
                    "{}  {}  {}  {}  {}  每 {} 秒{}",
                    s.id,
                    s.name,
                    s.kind.label_zh(),
                    s.tier.label_zh(),
                    s.url,
                    s.interval().as_secs(),
                    if s.enabled { "" } else { "  【已停用】" }
                );
                let _ = write!(
                    line,
                    "\n    最近成功：{}；连续失败 {} 次；近 24 小时入库 {} 条；抓取耗时中位数 {}",
                    h.last_success_at
                        .map(|t| t.with_timezone(&crate::config::china_tz()).format("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_else(|| "无".into()),
                    h.consecutive_failures,
                    h.items_per_day,
                    h.median_fetch_ms.map(|m| format!("{m} 毫秒")).unwrap_or_else(|| "无".into())
                );
                if let Some(e) = &h.last_error {
                    let _ = write!(line, "\n    最近错误：{e}");
                }
                println!("{line}");
            }
            Ok(())
        }
        SourcesCommand::Add { id, name, kind, url, tier, department, interval, set } => {
            let mut text = format!(
                "id = {}\nname = {}\nkind = {}\nurl = {}\n",
                toml_str(id),
                toml_str(name),
                toml_str(kind),
                toml_str(url)
            );
            if let Some(t) = tier {
                let t: yuqing_core::SourceTier = t.parse().map_err(|e: String| anyhow::anyhow!(e))?;
                let _ = writeln!(text, "tier = {}", toml_str(t.as_str()));
            }
            if let Some(d) = department {
                let _ = writeln!(text, "department = {}", toml_str(d));
            }
            if let Some(i) = interval {
                let _ = writeln!(text, "interval = {}", toml_str(i));
            }
            for s in set {
                text.push_str(s.trim());
                text.push('\n');
            }
            let source = parse_source_toml(&text).map_err(|e| anyhow::anyhow!(e))?;
            let store = crate::desk_cli::open_db(data_dir, true)?;
            records::add_source(
                store.connection(),
                &records::StoredSource {
                    id: source.id.clone(),
                    enabled: source.enabled,
                    config: text,
                    added_by: "cli".into(),
                    added_at: Utc::now(),
                },
            )?;
            if json_out {
                return print_json(&json!({ "added": source }));
            }
            println!("已保存信息源 {}（{}，{}）。运行中的服务按 [collect] sources_reload（默认 30 秒）重新读取信息源后开始采集；可先用 yuqing sources test {} 试抓一次。", source.id, source.name, source.kind.label_zh(), source.id);
            Ok(())
        }
        SourcesCommand::Disable { id } | SourcesCommand::Enable { id } => {
            let enable = matches!(command, SourcesCommand::Enable { .. });
            if !all_sources(config, data_dir)?.iter().any(|s| &s.id == id) {
                bail!("没有 id 为“{id}”的信息源；用 yuqing sources list 查看");
            }
            let store = crate::desk_cli::open_db(data_dir, true)?;
            records::set_source_enabled(store.connection(), id, enable, "cli", Utc::now())?;
            if json_out {
                return print_json(&json!({ "id": id, "enabled": enable }));
            }
            println!(
                "信息源 {id} 已{}（运行中的服务按 [collect] sources_reload 重新读取信息源，默认 30 秒内生效）。",
                if enable { "启用" } else { "停用" }
            );
            Ok(())
        }
        SourcesCommand::Test { id } => {
            let sources = all_sources(config, data_dir)?;
            let Some(source) = sources.into_iter().find(|s| &s.id == id) else {
                bail!("没有 id 为“{id}”的信息源；用 yuqing sources list 查看");
            };
            let started = std::time::Instant::now();
            let collected: Collected = if source.kind == SourceKind::Folder {
                collector::collect_folder(&source, |_| false)
                    .with_context(|| format!("无法读取投放目录 {}", source.url))?
            } else {
                let rt =
                    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("无法启动异步运行时")?;
                let fetcher = Fetcher::new(config.collect.clone()).map_err(|e| anyhow::anyhow!(e))?;
                // The rules in force: the configuration's, with the edits saved on the 监测规则 page.
                let (edits, _) = crate::pipeline::saved_rule_edits(data_dir)?;
                let phrases = collector::rule_phrases(&config.clone().with_rule_edits(&edits).rules);
                rt.block_on(collector::collect(&fetcher, &source, None, &phrases, &|_| false))
                    .map_err(|e| anyhow::anyhow!("采集失败：{e}"))?
            };
            let ms = started.elapsed().as_millis();
            if json_out {
                let items: Vec<_> = collected.items.iter().map(|i| &i.post).collect();
                return print_json(&json!({
                    "source": source.id, "items": items, "errors": collected.errors, "status": collected.status,
                    "snapshots": collected.evidence.iter().map(|e| json!({"url": e.url, "final_url": e.final_url, "status": e.status, "bytes": e.bytes.len()})).collect::<Vec<_>>(),
                    "millis": ms,
                }));
            }
            println!(
                "试抓 {}（{}）：{} 毫秒，得到 {} 条（未入库）。",
                source.id,
                source.name,
                ms,
                collected.items.len()
            );
            for (n, item) in collected.items.iter().enumerate() {
                let p = &item.post;
                let text: String = p.text_str().chars().take(60).collect();
                println!(
                    "{:>3}. {}{}\n     {}  {}",
                    n + 1,
                    if p.title_str().is_empty() { String::new() } else { format!("【{}】", p.title_str()) },
                    text,
                    p.published_at
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "（无时间）".into()),
                    p.url.as_deref().unwrap_or("（无网址）")
                );
            }
            for e in &collected.errors {
                println!("  问题：{e}");
            }
            Ok(())
        }
    }
}

/// A source as the 信息源 page shows it.
pub fn source_info(s: &Source) -> yuqing_server::SourceInfo {
    yuqing_server::SourceInfo {
        id: s.id.clone(),
        name: s.name.clone(),
        kind: s.kind.label_zh().to_string(),
        url: s.url.clone(),
        tier: s.tier.label_zh().to_string(),
        department: s.department.clone(),
        interval: s.interval.clone().unwrap_or_else(|| "5m".to_string()),
        enabled: s.enabled,
        ignore_robots: s.ignore_robots.clone(),
    }
}
