//! 回测 on the 监测规则 page: a form (from/to dates) that replays stored posts through the rules in
//! force and shows which stories would have been graded, when, against what was actually raised.
//! The replay itself is the binary's (`Backtester`); this module asks for it and renders the answer.
//!
//! Invariant: one backtest at a time (`Runner`); it runs on a blocking thread and never under the
//! data lock; a failure is logged, and the page says only what the user can act on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use yuqing_core::backtest::{check_range, delay_zh, BacktestReport, Outcome, Side};

use crate::auth::CurrentUser;
use crate::extract::Form;
use crate::html::{csrf_field, fmt_time, grade_badge, Layout};
use crate::AppState;

/// Why a backtest gave no report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BacktestFailure {
    /// Something the user can change (the range, the dates): shown as it is.
    Refused(String),
    /// Anything else: logged with this detail; the page says the backtest failed.
    Failed(String),
}

/// Runs a backtest over [from, to] (China dates) of this server's data. Implemented by the binary;
/// blocking, and takes as long as the replay does.
pub trait Backtester: Send + Sync {
    fn backtest(&self, from: NaiveDate, to: NaiveDate) -> Result<BacktestReport, BacktestFailure>;
}

/// The hook, allowing one backtest at a time (a replay takes cores the live pipeline needs).
pub struct Runner {
    hook: Arc<dyn Backtester>,
    running: AtomicBool,
}

/// Held while a backtest runs; lets the next one start when dropped (a panic included).
pub struct Claim<'a>(&'a AtomicBool);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Runner {
    pub fn new(hook: Arc<dyn Backtester>) -> Runner {
        Runner { hook, running: AtomicBool::new(false) }
    }

    /// The right to run, unless a backtest is running already.
    pub fn claim(&self) -> Option<Claim<'_>> {
        self.running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Claim(&self.running))
    }

    /// Runs one backtest now, or refuses when one is running.
    pub fn run(&self, from: NaiveDate, to: NaiveDate) -> Result<BacktestReport, BacktestFailure> {
        let Some(_claim) = self.claim() else {
            return Err(BacktestFailure::Refused("已有一次回测正在运行，请等它完成后再试".into()));
        };
        self.hook.backtest(from, to)
    }
}

/// The default range: the last 7 days that hold posts (ending on the day of the latest post).
pub fn default_range(
    latest: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> (NaiveDate, NaiveDate) {
    let to = crate::html::china(&latest.unwrap_or(now)).date_naive();
    (to - Duration::days(6), to)
}

/// The form, for the 监测规则 page (office and administrators).
pub fn form_html(csrf: &str, from: NaiveDate, to: NaiveDate) -> Markup {
    html! {
        h3 { "回测" }
        form method="post" action="/rules/backtest" class="act" id="backtest-form" {
            (csrf_field(csrf))
            label { "开始日期 " input type="date" name="from" value=(from) required; } " "
            label { "结束日期 " input type="date" name="to" value=(to) required; } " "
            button { "回测" }
        }
        p.muted {
            "把这段时间入库的帖文按现行监测规则、定级政策与事件聚合重新回放一遍（在临时目录中进行，不改动现有数据），\
             列出哪些事件会被定级、在什么时间，与实际预警对照。最长 " (yuqing_core::backtest::MAX_DAYS) " 天。"
        }
    }
}

/// `POST /rules/backtest`'s form: the two dates as typed (checked by [`parse_date`]).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct BacktestForm {
    from: Option<String>,
    to: Option<String>,
}

fn parse_date(v: Option<&str>, label: &str) -> Result<NaiveDate, String> {
    let v = v.map(str::trim).unwrap_or("");
    if v.is_empty() {
        return Err(format!("请填写{label}"));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .map_err(|_| format!("{label}“{v}”不是有效日期，应为 年-月-日，如 2020-02-10"))
}

fn answer(
    state: &AppState,
    cu: &CurrentUser,
    status: StatusCode,
    from: NaiveDate,
    to: NaiveDate,
    body: Markup,
) -> Response {
    let page = html! {
        h2 { "监测规则 · 回测" }
        p { a href="/rules" { "返回监测规则" } }
        (body)
        (form_html(cu.csrf_token(), from, to))
    };
    (status, Layout::of(state, "回测").html(page)).into_response()
}

/// `POST /rules/backtest`: runs the backtest and shows its table.
pub async fn run(State(state): State<AppState>, cu: CurrentUser, Form(f): Form<BacktestForm>) -> Response {
    let (default_from, default_to) = default_range(None, (state.clock)());
    let dates = parse_date(f.from.as_deref(), "开始日期")
        .and_then(|from| parse_date(f.to.as_deref(), "结束日期").map(|to| (from, to)));
    let (from, to) = match dates {
        Ok(d) => d,
        Err(e) => return answer(&state, &cu, StatusCode::BAD_REQUEST, default_from, default_to, notice(&e)),
    };
    if let Err(e) = check_range(from, to) {
        return answer(&state, &cu, StatusCode::BAD_REQUEST, from, to, notice(&e));
    }
    let Some(runner) = state.backtest.clone() else {
        let msg = "本服务没有接入分析流水线，无法回测；请用 yuqing serve 启动，或在命令行运行 yuqing backtest";
        return answer(&state, &cu, StatusCode::SERVICE_UNAVAILABLE, from, to, notice(msg));
    };
    tracing::info!(user = %cu.user.name, %from, %to, "backtest requested");
    let result = tokio::task::spawn_blocking(move || runner.run(from, to)).await;
    match result {
        Ok(Ok(report)) => answer(&state, &cu, StatusCode::OK, from, to, report_html(&report)),
        Ok(Err(BacktestFailure::Refused(msg))) => answer(&state, &cu, StatusCode::CONFLICT, from, to, notice(&msg)),
        Ok(Err(BacktestFailure::Failed(detail))) => {
            tracing::error!(error = %detail, %from, %to, "backtest failed");
            answer(
                &state,
                &cu,
                StatusCode::INTERNAL_SERVER_ERROR,
                from,
                to,
                notice("回测失败（详情已记入服务日志），请稍后重试或联系管理员"),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "backtest task panicked");
            answer(
                &state,
                &cu,
                StatusCode::INTERNAL_SERVER_ERROR,
                from,
                to,
                notice("回测失败（详情已记入服务日志），请稍后重试或联系管理员"),
            )
        }
    }
}

fn notice(msg: &str) -> Markup {
    html! { p class="late notice" { (msg) } }
}

/// The stored story's grade in the period, or that it had one before.
fn actual_grade(s: &Side) -> Markup {
    html! {
        @match (s.grade(), s.graded_before) {
            (None, Some(g)) => { (grade_badge(None)) br; span.muted { "开始前已为" (g.as_str()) "级" } }
            (g, _) => (grade_badge(g)),
        }
    }
}

fn when(s: Option<&Side>) -> String {
    s.and_then(Side::first_at).map(|t| fmt_time(&t)).unwrap_or_else(|| "—".into())
}

/// The report as HTML: the notes, the summary by grade and one row per story.
pub fn report_html(r: &BacktestReport) -> Markup {
    let dash = || html! { "—" };
    html! {
        p {
            "回测 " (r.from) " 至 " (r.to) "：回放 " (r.posts) " 条帖文（另有预热 " (r.warmup_posts) " 条："
            (r.warmup_from) " 起、开始日期之前的帖文只用于建立事件与词频，其定级不计）。"
        }
        p.muted {
            "开始日期前更早就在发展的事件，在回测中从预热起点重新累计；人工定级无法回放，只出现在“实际”一侧"
            @if r.manual_actual > 0 { "（本期 " (r.manual_actual) " 个）" }
            "。"
            @match &r.scratch {
                Some(dir) => { "回放所得数据保留在 " (dir) "。" }
                None => "回放用的临时目录已删除。",
            }
        }
        p.ok #backtest-counts {
            "两者均定级 " b { (r.count(Outcome::Both)) } " 个 · 仅回测定级 " b { (r.count(Outcome::OnlyBacktest)) }
            " 个 · 实际已定级、回测未定级 " b { (r.count(Outcome::OnlyActual)) } " 个"
        }
        table #backtest-summary {
            thead { tr {
                th { "级别（及以上）" } th { "两者均达到" } th { "仅回测" } th { "仅实际" } th { "回测更早 / 同时 / 更晚" }
                th { "时间差中位数" }
            } }
            tbody { @for s in &r.summary {
                tr {
                    td { (grade_badge(s.grade)) }
                    td { (s.both) } td { (s.only_backtest) } td { (s.only_actual) }
                    td { (s.earlier) " / " (s.same_time) " / " (s.later) }
                    td { (s.median_delay_seconds.map(delay_zh).unwrap_or_else(|| "—".into())) }
                }
            } }
        }
        table #backtest-rows {
            thead { tr {
                th { "对照" } th { "回测级别" } th { "回测定级时间" } th { "回测事件" } th { "实际事件" } th { "实际级别" }
                th { "实际定级时间" } th { "时间差" }
            } }
            tbody {
                @for row in &r.rows {
                    @let bt = row.backtest.as_ref();
                    @let actual = row.actual.as_ref();
                    tr class=(match row.outcome {
                        Outcome::Both => "both",
                        Outcome::OnlyBacktest => "only-backtest",
                        Outcome::OnlyActual => "only-actual",
                    }) {
                        td { (row.outcome.label_zh()) }
                        td { @match bt { Some(s) => (grade_badge(s.grade())), None => (dash()) } }
                        td { (when(bt)) }
                        // The replayed story lives in the scratch directory only: its title, no link.
                        td { @match bt { Some(s) => (s.title), None => (dash()) } }
                        td { @match actual {
                            Some(s) => { a href={ "/stories/" (s.story) } { "#" (s.story) } " " (s.title) }
                            None => (dash()),
                        } }
                        td {
                            @match actual { Some(s) => (actual_grade(s)), None => (dash()) }
                            @if actual.is_some_and(|s| s.manual) { "（人工）" }
                        }
                        td { (when(actual)) }
                        td { (row.delay_seconds.map(delay_zh).unwrap_or_else(|| "—".into())) }
                    }
                }
                @if r.rows.is_empty() {
                    tr { td colspan="8" class="muted" { "这段时间回测与实际都没有定级的事件" } }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Slow(std::sync::Mutex<std::sync::mpsc::Receiver<()>>);

    impl Backtester for Slow {
        fn backtest(&self, from: NaiveDate, to: NaiveDate) -> Result<BacktestReport, BacktestFailure> {
            let _ = self.0.lock().map(|rx| rx.recv());
            Ok(BacktestReport {
                from,
                to,
                warmup_from: from,
                warmup_posts: 0,
                posts: 0,
                rows: Vec::new(),
                summary: Vec::new(),
                manual_actual: 0,
                scratch: None,
            })
        }
    }

    #[test]
    fn a_second_backtest_is_refused_while_one_runs_and_allowed_after() {
        let (tx, rx) = std::sync::mpsc::channel();
        let runner = Arc::new(Runner::new(Arc::new(Slow(std::sync::Mutex::new(rx)))));
        let d = NaiveDate::from_ymd_opt(2020, 2, 10).expect("date");
        let first = {
            let runner = runner.clone();
            std::thread::spawn(move || runner.run(d, d))
        };
        while !runner.running.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        let refused = runner.run(d, d).expect_err("refused while running");
        assert!(matches!(&refused, BacktestFailure::Refused(m) if m.contains("正在运行")), "{refused:?}");
        tx.send(()).expect("let the first finish");
        assert!(first.join().expect("joined").is_ok());
        tx.send(()).expect("and the next");
        assert!(runner.run(d, d).is_ok(), "the next one runs");
    }

    #[test]
    fn the_default_range_is_the_last_seven_days_with_posts() {
        let latest = chrono::DateTime::parse_from_rfc3339("2020-02-12T23:30:00+08:00")
            .expect("time")
            .with_timezone(&chrono::Utc);
        let (from, to) = default_range(Some(latest), chrono::Utc::now());
        assert_eq!((from.to_string(), to.to_string()), ("2020-02-06".to_string(), "2020-02-12".to_string()));
    }

    #[test]
    fn dates_are_checked_with_a_message_that_says_what_is_wrong() {
        let f: BacktestForm = BacktestForm { from: Some("2020-13-01".to_string()), to: Some(String::new()) };
        assert!(parse_date(f.from.as_deref(), "开始日期").unwrap_err().contains("不是有效日期"));
        assert!(parse_date(f.to.as_deref(), "结束日期").unwrap_err().contains("请填写结束日期"));
    }
}
