//! `yuqing backtest` and the 监测规则 page's 回测: replays the stored posts of a date range through
//! the rules, grading policy and assembly in force, in a scratch data directory, and compares the
//! grades it reaches with the alerts actually raised (`yuqing_core::backtest::compare`).
//!
//! Invariant: the source data directory is only read, through its own read-only connection, page by
//! page — never under the server's data lock, never written.
//!
//! Warm-up: the `[assembly] df_days` days before `from` are replayed first, without counting their
//! grades, so the stream's word frequencies and the stories under way at `from` are built as they
//! were; a story begun before the warm-up starts afresh. The hourly volumes of watch rules and
//! topics (spike baselines, weeks long) are counted from the stored posts before the warm-up
//! instead (`Pipeline::seed_volumes`). Posts are replayed in the order they were
//! stored (their ids), which is the order the pipeline took them in, so with unchanged rules the
//! replay reaches the grades that were raised, at the same stream times.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};
use yuqing_core::backtest::{self as compare, BacktestReport, Inputs, Raised};
use yuqing_core::PostInput;
use yuqing_server::backtest::{BacktestFailure, Backtester};
use yuqing_store::replay;
use yuqing_store::StoreError;

use crate::config::Config;
use crate::pipeline::{Pipeline, PipelineError, BATCH};

#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error("{0}")]
    Range(String),
    #[error("回测目录 {0} 已存在且不是空目录；请给一个新的或空的 --scratch 目录")]
    ScratchInUse(PathBuf),
    #[error("无法创建回测目录 {path}：{source}")]
    Scratch { path: PathBuf, source: std::io::Error },
    #[error("读取数据目录 {path} 失败：{source}")]
    Source { path: PathBuf, source: StoreError },
    #[error("回放失败：{0}")]
    Replay(#[from] PipelineError),
}

impl BacktestError {
    /// The user can put it right (another range, another directory).
    pub fn is_refusal(&self) -> bool {
        matches!(self, BacktestError::Range(_) | BacktestError::ScratchInUse(_))
    }
}

/// Where the replay writes: a temporary directory removed afterwards, or one the user keeps.
enum Scratch {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Scratch {
    fn new(keep: Option<&Path>) -> Result<Scratch, BacktestError> {
        match keep {
            None => tempfile::Builder::new()
                .prefix("yuqing-backtest-")
                .tempdir()
                .map(Scratch::Temp)
                .map_err(|e| BacktestError::Scratch { path: std::env::temp_dir(), source: e }),
            Some(p) => {
                let in_use = std::fs::read_dir(p).map(|mut d| d.next().is_some()).unwrap_or(false);
                if in_use {
                    return Err(BacktestError::ScratchInUse(p.to_path_buf()));
                }
                std::fs::create_dir_all(p).map_err(|e| BacktestError::Scratch { path: p.to_path_buf(), source: e })?;
                Ok(Scratch::Kept(p.to_path_buf()))
            }
        }
    }

    fn path(&self) -> &Path {
        match self {
            Scratch::Temp(t) => t.path(),
            Scratch::Kept(p) => p,
        }
    }
}

/// Replays [from, to] (China dates) of `data_dir` with `config` (the configuration file; the rule
/// edits saved in `data_dir` are applied here) and compares. `scratch`: keep the replay there.
pub fn run(
    data_dir: &Path,
    config: &Config,
    from: NaiveDate,
    to: NaiveDate,
    scratch: Option<&Path>,
) -> Result<BacktestReport, BacktestError> {
    compare::check_range(from, to).map_err(BacktestError::Range)?;
    let source_err = |e: StoreError| BacktestError::Source { path: data_dir.to_path_buf(), source: e };
    let source = replay::open_read_only(data_dir).map_err(source_err)?;
    let edits = yuqing_store::rules::edits(&source).map_err(source_err)?;
    let config = config.clone().with_rule_edits(&edits);
    let (start, end) = compare::period(from, to);
    let warmup_days = config.assembly.df_days.max(0);
    let warmup_from = from - Duration::days(warmup_days);
    let warm_start = start - Duration::days(warmup_days);

    let dir = Scratch::new(scratch)?;
    let mut pipeline = Pipeline::open(dir.path(), config)?;
    // Spike baselines read weeks before the warm-up: counted from the stored posts, not replayed.
    pipeline.seed_volumes(&source, warm_start)?;
    // Replayed post id → the stored story the original post is in.
    let mut origin: HashMap<i64, i64> = HashMap::new();
    let mut raised: Vec<Raised> = Vec::new();
    let (mut posts, mut warmup_posts) = (0usize, 0usize);
    let now = Utc::now();
    if let Some((first, last)) = replay::id_range(&source, warm_start, end).map_err(source_err)? {
        let mut after = first - 1;
        loop {
            // One pipeline batch per page: a month of posts is never in memory at once.
            let page = replay::posts(&source, warm_start, end, after, last, BATCH).map_err(source_err)?;
            let Some(tail) = page.last() else { break };
            after = tail.id;
            let stories: Vec<i64> = page.iter().map(|p| p.story_id).collect();
            let mut batch: Vec<(usize, PostInput)> = Vec::with_capacity(page.len());
            for (i, p) in page.into_iter().enumerate() {
                if p.input.published_at.is_some_and(|t| t < start) {
                    warmup_posts += 1;
                } else {
                    posts += 1;
                }
                batch.push((i, p.input));
            }
            let report = pipeline.ingest(batch, now)?;
            if report.duplicates > 0 {
                tracing::warn!(duplicates = report.duplicates, "stored posts came back as duplicates in the replay");
            }
            for (i, id) in report.stored_ids {
                if let Some(s) = stories.get(i) {
                    origin.insert(id, *s);
                }
            }
            raised.extend(report.alerts.into_iter().filter(|a| a.at >= start && a.at < end).map(|a| Raised {
                story: a.story_id,
                to: a.to,
                at: a.at,
                manual: false,
            }));
        }
    }
    pipeline.flush()?;

    let graded: Vec<i64> = raised.iter().map(|r| r.story).collect::<BTreeSet<_>>().into_iter().collect();
    let (members, backtest_titles) = {
        let data = pipeline.data();
        let c = data.store.connection();
        let mut members: HashMap<i64, Vec<i64>> = HashMap::new();
        for (post, story) in replay::story_members(c, &graded).map_err(|e| BacktestError::Replay(e.into()))? {
            if let Some(o) = origin.get(&post) {
                members.entry(story).or_default().push(*o);
            }
        }
        (members, replay::story_titles(c, &graded).map_err(|e| BacktestError::Replay(e.into()))?)
    };
    let actual: Vec<Raised> = replay::alerts_between(&source, start, end)
        .map_err(source_err)?
        .into_iter()
        .map(|a| Raised {
            story: a.story_id,
            to: a.to,
            at: a.at,
            manual: a.reasons.iter().any(|r| r.rule == "manual" && r.grade == a.to),
        })
        .collect();
    let mut stored: BTreeSet<i64> = actual.iter().map(|a| a.story).collect();
    stored.extend(members.values().flatten().copied());
    let stored: Vec<i64> = stored.into_iter().collect();
    let actual_titles = replay::story_titles(&source, &stored).map_err(source_err)?;
    let actual_before = replay::grades_before(&source, &stored, start).map_err(source_err)?;
    let manual_actual = actual.iter().filter(|a| a.manual).map(|a| a.story).collect::<BTreeSet<_>>().len();
    let (rows, summary) =
        compare::compare(&Inputs { backtest: raised, actual, members, backtest_titles, actual_titles, actual_before });
    drop(pipeline);
    Ok(BacktestReport {
        from,
        to,
        warmup_from,
        warmup_posts,
        posts,
        rows,
        summary,
        manual_actual,
        scratch: match &dir {
            Scratch::Kept(p) => Some(p.display().to_string()),
            Scratch::Temp(_) => None,
        },
    })
}

/// The report as the command line prints it.
pub fn to_text(r: &BacktestReport) -> String {
    use std::fmt::Write;
    let tz = crate::config::china_tz();
    let time = |s: Option<&compare::Side>| {
        s.and_then(compare::Side::first_at)
            .map(|t| t.with_timezone(&tz).format("%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "—".into())
    };
    let grade = |s: Option<&compare::Side>| match s.map(|s| (s.grade(), s.graded_before)) {
        Some((Some(g), _)) => format!("{}级", g.as_str()),
        Some((None, Some(g))) => format!("未定级（开始前已为{}级）", g.as_str()),
        Some((None, None)) => "未定级".to_string(),
        None => "—".to_string(),
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "回测 {} 至 {}：回放帖文 {} 条；预热 {} 条（{} 起，定级不计）。",
        r.from, r.to, r.posts, r.warmup_posts, r.warmup_from
    );
    let _ = writeln!(
        out,
        "说明：开始日期前更早就在发展的事件，回测中从预热起点重新累计；人工定级无法回放，只计入“实际”{}。",
        if r.manual_actual > 0 { format!("（本期 {} 个）", r.manual_actual) } else { String::new() }
    );
    if let Some(dir) = &r.scratch {
        let _ = writeln!(out, "回放所得数据保留在 {dir}。");
    }
    let _ = writeln!(
        out,
        "两者均定级 {} 个，仅回测定级 {} 个，实际已定级、回测未定级 {} 个。",
        r.count(compare::Outcome::Both),
        r.count(compare::Outcome::OnlyBacktest),
        r.count(compare::Outcome::OnlyActual)
    );
    let _ = writeln!(out, "\n按级别（达到该级及以上）：");
    for s in &r.summary {
        let _ = writeln!(
            out,
            "  {:<4} 两者 {:>3}  仅回测 {:>3}  仅实际 {:>3}  回测更早/同时/更晚 {}/{}/{}  时间差中位数 {}",
            s.grade.map(|g| format!("{}级", g.as_str())).unwrap_or_default(),
            s.both,
            s.only_backtest,
            s.only_actual,
            s.earlier,
            s.same_time,
            s.later,
            s.median_delay_seconds.map(compare::delay_zh).unwrap_or_else(|| "—".into())
        );
    }
    if r.rows.is_empty() {
        let _ = writeln!(out, "\n这段时间回测与实际都没有定级的事件。");
        return out;
    }
    let _ = writeln!(out, "\n对照｜回测级别 回测定级时间｜实际级别 实际定级时间｜时间差｜回测事件 → 实际事件");
    for row in &r.rows {
        let (b, a) = (row.backtest.as_ref(), row.actual.as_ref());
        let _ = writeln!(
            out,
            "{}｜{} {}｜{}{} {}｜{}｜{} → {}",
            row.outcome.label_zh(),
            grade(b),
            time(b),
            grade(a),
            if a.is_some_and(|s| s.manual) { "（人工）" } else { "" },
            time(a),
            row.delay_seconds.map(compare::delay_zh).unwrap_or_else(|| "—".into()),
            b.map(|s| s.title.as_str()).unwrap_or("—"),
            a.map(|s| format!("#{} {}", s.story, s.title)).unwrap_or_else(|| "—".into())
        );
    }
    out
}

/// The backtest for the server's 回测 form: this data directory, this configuration file.
pub struct Hook {
    data_dir: PathBuf,
    config: Config,
}

impl Hook {
    /// `config` may already carry the rule edits loaded at start: each run reads the edits saved by
    /// then and applies them over the configured rules again, so a rule saved since counts.
    pub fn new(data_dir: &Path, config: Config) -> Arc<Hook> {
        Arc::new(Hook { data_dir: data_dir.to_path_buf(), config })
    }
}

impl Backtester for Hook {
    fn backtest(&self, from: NaiveDate, to: NaiveDate) -> Result<BacktestReport, BacktestFailure> {
        let started = std::time::Instant::now();
        match run(&self.data_dir, &self.config, from, to, None) {
            Ok(r) => {
                tracing::info!(%from, %to, posts = r.posts, rows = r.rows.len(), seconds = started.elapsed().as_secs_f32(), "backtest done");
                Ok(r)
            }
            Err(e) if e.is_refusal() => Err(BacktestFailure::Refused(e.to_string())),
            Err(e) => Err(BacktestFailure::Failed(e.to_string())),
        }
    }
}
