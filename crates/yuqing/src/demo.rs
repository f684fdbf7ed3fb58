//! `yuqing demo` and `yuqing serve`: builds a demo data directory from the real Weibo sample shipped
//! in `demo/`, replays it in time order as if it arrived live, and serves the read-only desk.
//!
//! Invariant: the demo only ever deletes a directory it created itself (marked by `.yuqing-demo`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use chrono::{Duration, Utc};
use yuqing_core::input::{self, Format};
use yuqing_core::Grade;
use yuqing_store::Store;

use crate::config::Config;
use crate::pipeline::{IngestReport, Pipeline};

/// The shipped sample (see demo/README.md for its origin) and the demo's configuration.
pub const SAMPLE: &[u8] = include_bytes!("../../../demo/weibo-covid19-sample.jsonl");
pub const DEMO_CONFIG: &str = include_str!("../../../demo/yuqing.toml");
const MARKER: &str = ".yuqing-demo";

/// Replay window: posts published within this many minutes arrive together.
const REPLAY_STEP_MINUTES: i64 = 30;

pub fn demo_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::parse(DEMO_CONFIG, Path::new("demo/yuqing.toml"))?),
    }
}

/// Builds the demo data directory (replacing an earlier demo build) and returns the pipeline on it.
pub fn build(data_dir: &Path, config: Config, mut progress: impl FnMut(&str)) -> Result<(Pipeline, IngestReport)> {
    if data_dir.exists() {
        let is_demo = data_dir.join(MARKER).exists();
        let is_empty = std::fs::read_dir(data_dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !is_demo && !is_empty {
            bail!("{} 已存在且不是演示目录；为免误删数据，请换一个 --data-dir", data_dir.display());
        }
        if is_demo {
            std::fs::remove_dir_all(data_dir)
                .with_context(|| format!("无法清理旧的演示目录 {}", data_dir.display()))?;
        }
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("无法创建 {}", data_dir.display()))?;
    std::fs::write(data_dir.join(MARKER), "yuqing demo data directory; `yuqing demo` rebuilds it\n")
        .with_context(|| format!("无法写入 {}", data_dir.display()))?;

    let parsed = input::parse(SAMPLE, Format::Jsonl).context("内置演示样本无法解析")?;
    let mut posts = parsed.posts;
    posts.sort_by_key(|(line, p)| (p.published_at, *line));
    // The desk works through the replay as it would have live: each batch's alerts are taken up
    // (incidents opened, people told) and the clocks run at that batch's time, so an incident's
    // timeline, reminders and overdue records carry the moments they would have had, not the
    // moment the server starts. The demo account exists from the start, so it is told too.
    let desk = yuqing_desk::Desk::new(config.desk.clone());
    let mut pipeline = Pipeline::open(data_dir, config)?;
    crate::desk_cli::demo_account(&pipeline.data().store)?;
    let mut report = IngestReport::default();
    let total = posts.len();
    let mut done = 0;
    let mut iter = posts.into_iter().peekable();
    while let Some(first) = iter.next() {
        let start = first.1.published_at.map(|t| t.with_timezone(&Utc)).unwrap_or_else(Utc::now);
        let end = start + Duration::minutes(REPLAY_STEP_MINUTES);
        let mut batch = vec![first];
        while let Some(next) = iter.peek() {
            match next.1.published_at {
                Some(t) if t.with_timezone(&Utc) < end => batch.push(iter.next().expect("peeked")),
                _ => break,
            }
        }
        let batch_len = batch.len();
        done += batch_len;
        let r = pipeline.ingest(batch, end)?;
        desk.tick_data(&pipeline.data(), end).context("演示回放中值班台处理预警失败")?;
        for a in r.alerts.iter().filter(|a| a.to >= Grade::II) {
            progress(&format!(
                "  {} 预警：事件 #{} 升至 {} 级（{}）",
                a.at.with_timezone(&crate::config::china_tz()).format("%m-%d %H:%M"),
                a.story_id,
                a.to.as_str(),
                a.to.label_zh()
            ));
        }
        report.merge(r);
        if done / 2000 > (done - batch_len) / 2000 {
            progress(&format!("已回放 {done}/{total} 条"));
        }
    }
    pipeline.flush()?;
    Ok((pipeline, report))
}

pub fn run(data_dir: &Path, config_path: Option<&Path>, addr: &str, serve_after: bool) -> Result<()> {
    let config = demo_config(config_path)?;
    println!(
        "yuqing 演示：回放 2020 年 1–2 月新冠疫情期间的真实微博样本（见 demo/README.md），数据目录 {}",
        data_dir.display()
    );
    let started = std::time::Instant::now();
    let (pipeline, report) = build(data_dir, config, |line| println!("{line}"))?;
    let stats = pipeline.data().store.stats()?;
    println!(
        "回放完成（{:.1} 秒）：帖文 {} 条，舆情事件 {} 个，已定级 {} 个，预警 {} 条。",
        started.elapsed().as_secs_f32(),
        report.stored,
        stats.stories,
        stats.graded.iter().map(|(_, n)| n).sum::<u64>(),
        stats.alerts
    );
    print_daily_graded(&pipeline)?;
    let (name, password) = crate::desk_cli::demo_account(&pipeline.data().store)?;
    println!("演示账号：{name}　密码：{password}（系统管理员；在登录页输入，每次运行 yuqing demo 重新生成）");
    if serve_after {
        serve(pipeline, addr)
    } else {
        Ok(())
    }
}

/// Lists, day by day (China time, by the day each story began), the stories graded III or above:
/// what an officer would have been alerted to, so anyone can judge whether they read as matters.
fn print_daily_graded(pipeline: &Pipeline) -> Result<()> {
    let query = yuqing_store::StoryQuery {
        min_grade: Some(Grade::III),
        graded_only: true,
        order: yuqing_store::StoryOrder::Recent,
        limit: 10_000,
        ..Default::default()
    };
    let mut stories = pipeline.data().store.stories(&query)?.items;
    if stories.is_empty() {
        return Ok(());
    }
    stories.sort_by_key(|s| (s.first_at, s.id));
    println!("每日 III 级及以上舆情事件（按事件首发日期）：");
    let tz = crate::config::china_tz();
    let mut day = None;
    for s in &stories {
        let d = s.first_at.with_timezone(&tz).date_naive();
        if day != Some(d) {
            println!("  {}", d.format("%Y-%m-%d"));
            day = Some(d);
        }
        let grade = s.grade.map(|g| format!("{}级", g.as_str())).unwrap_or_default();
        println!("    #{:<5} {:<4} {:>5} 帖  {}", s.id, grade, s.posts, s.title);
    }
    Ok(())
}

/// Serves the desk on `addr` until Ctrl-C, collecting from the configured sources and taking
/// pushed posts into the same pipeline.
pub fn serve(pipeline: Pipeline, addr: &str) -> Result<()> {
    let org = pipeline.config().organization.name.clone();
    let banner = if pipeline.data().path().join(MARKER).exists() {
        Some("演示数据：2020 年 1–2 月新冠疫情期间的真实微博（NLPCC 2020 公开数据集抽样），按发布时间回放入库；页面时间停在回放结束时刻并由此继续走。".to_string())
    } else {
        None
    };
    let config = pipeline.config().clone();
    let desk_config = config.desk.clone();
    let departments: Vec<String> = config.departments.iter().map(|d| d.name.clone()).collect();
    let report_jobs = crate::report_cli::jobs(&config);
    let data = pipeline.shared_data();
    // The sources in force, for the collectors and as the 信息源 page shows them. Sources added,
    // changed, disabled or enabled with `yuqing sources` while the server runs are read again every
    // `[collect] sources_reload`: the collectors start or stop, the page shows them.
    let infos: Arc<std::sync::RwLock<Vec<yuqing_server::SourceInfo>>> = Arc::default();
    let source_list: yuqing_collect::scheduler::SourceList = {
        let (config, data, infos) = (config.clone(), data.clone(), infos.clone());
        Arc::new(move || {
            let list = {
                let d = yuqing_store::guard::lock(&data);
                crate::live::sources_from(&config, &d.store).map_err(|e| e.to_string())?
            };
            *infos.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
                list.iter().map(crate::sources_cli::source_info).collect();
            Ok(list)
        })
    };
    let sources = source_list().map_err(anyhow::Error::msg)?;
    // The demo's clock stands at the end of the replay and runs on from there, so the dashboard's
    // "today" and the desk's clocks read the replayed posts as live ones.
    let demo_now = if banner.is_some() { pipeline.data().store.stats()?.last_post_at } else { None };
    let mut state =
        yuqing_server::AppState::shared(data.clone(), if org.is_empty() { "本单位".to_string() } else { org }, banner);
    if let Some(end) = demo_now {
        let shift = end - Utc::now();
        state.clock = Arc::new(move || Utc::now() + shift);
    }
    let tick = desk_config.tick.to_std().unwrap_or(std::time::Duration::from_secs(15));
    let desk = Arc::new(yuqing_desk::Desk::new(desk_config));
    state.desk = desk.clone();
    state.departments = departments;
    state.rules = Arc::new(config.configured_rules.clone());
    state.themes = Arc::new(config.themes.clone());
    state.auth = Arc::new(config.auth.clone());
    state.reports = Arc::new(report_jobs);
    state.sources = infos;
    state.metrics = Arc::new(yuqing_server::metrics::Metrics::new(yuqing_server::metrics::MetricsAccess {
        allow: config.metrics.allow.clone(),
        token: config.metrics.token.clone(),
    }));
    // The 监测规则 page's 回测 replays this data directory with this configuration (and the rule
    // edits saved in it) in a scratch directory.
    let data_dir = pipeline.data().path().to_path_buf();
    state.backtest =
        Some(Arc::new(yuqing_server::backtest::Runner::new(crate::backtest::Hook::new(&data_dir, config.clone()))));
    let live = Arc::new(crate::live::Live::new(pipeline, desk));
    state.intake = Some(live.clone());
    state.story_editor = Some(live.clone());
    let deliverer = Arc::new(yuqing_desk::notify::Deliverer::new(&config.channels).context("通知渠道配置有误")?);
    let fetcher = Arc::new(yuqing_collect::Fetcher::new(config.collect.clone()).context("无法创建采集客户端")?);
    let key_periods = config.key_periods.clone();
    let reload_every = config.collect.sources_reload();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("无法启动异步运行时")?;
    rt.block_on(async move {
        let (local, fut) = yuqing_server::bind(state.clone(), addr).await?;
        // The desk's clock and the outbox run beside the pages; both resume where they stopped.
        let ticker = yuqing_desk::spawn_desk_ticker(state.data.clone(), state.desk.clone(), state.clock.clone(), tick);
        let worker = yuqing_desk::notify::spawn_outbox_worker(state.data.clone(), deliverer, Default::default());
        live.set_waker(worker.waker());
        // Reports due while the server was down are produced now, then on schedule.
        let reports = yuqing_desk::reports::spawn_report_scheduler(
            state.data.clone(),
            state.reports.clone(),
            state.clock.clone(),
            std::time::Duration::from_secs(30),
        );
        let enabled = sources.iter().filter(|s| s.enabled).count();
        let rule_phrases: yuqing_collect::collector::RulePhrases = {
            let live = live.clone();
            Arc::new(move || live.rule_phrases())
        };
        let ctx = Arc::new(yuqing_collect::Context {
            fetcher,
            data: state.data.clone(),
            intake: live.clone(),
            alarm: live,
            rule_phrases,
        });
        let in_key_period: yuqing_collect::scheduler::KeyPeriod =
            Arc::new(move |t| key_periods.iter().any(|(_, s, e)| *s <= t && t < *e));
        let collectors = yuqing_collect::scheduler::spawn(ctx, sources, source_list, in_key_period, reload_every);
        // `/readyz` answers 503 once one of these loops has stopped.
        state.metrics.watch_worker("值班时钟", move || !ticker.is_finished());
        state.metrics.watch_worker("通知发送", move || worker.is_running());
        state.metrics.watch_worker("报表定时", move || !reports.is_finished());
        state.metrics.watch_worker("采集调度", move || collectors.iter().all(|h| !h.is_finished()));
        println!("页面已启动：http://{local}/  （采集信息源 {enabled} 个；Ctrl-C 停止）");
        fut.await?;
        Ok::<(), anyhow::Error>(())
    })
}

/// Where `cargo run -- demo` keeps its data unless told otherwise.
pub fn default_dir() -> PathBuf {
    PathBuf::from("./yuqing-demo")
}
