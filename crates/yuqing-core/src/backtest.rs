//! 回测 (backtest): what stored posts replayed through the rules in force would have graded, set
//! against the alerts actually raised. This module holds the comparison — pure, no I/O; the binary
//! replays (`yuqing::backtest`) and the server renders.
//!
//! Invariant: the report is a function of its inputs (alerts, titles, which stored story each
//! replayed post came from); rows and summaries come out in a fixed order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::Grade;

/// The longest range one backtest may replay, in days (a month of posts).
pub const MAX_DAYS: i64 = 31;

/// What is wrong with a requested range, in words a user can act on.
pub fn check_range(from: NaiveDate, to: NaiveDate) -> Result<(), String> {
    if to < from {
        return Err(format!("结束日期 {to} 早于开始日期 {from}"));
    }
    let days = (to - from).num_days() + 1;
    if days > MAX_DAYS {
        return Err(format!("回测范围为 {days} 天，超过上限 {MAX_DAYS} 天；请缩短日期范围"));
    }
    Ok(())
}

/// The half-open interval [from 00:00, to + 1 00:00) of China time, in UTC.
pub fn period(from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let day_start = |d: NaiveDate| {
        crate::china()
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    (day_start(from), day_start(to) + Duration::days(1))
}

/// A grade a story reached, and when (an alert).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    pub story: i64,
    pub to: Grade,
    pub at: DateTime<Utc>,
    /// Graded by hand (the replay cannot reproduce it).
    pub manual: bool,
}

/// One story's side of a row: the first time it reached each grade within the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    pub story: i64,
    pub title: String,
    /// (grade, first time reached) for every grade reached, lowest first; empty: 未定级 in the
    /// period. Reaching III also counts as reaching IV.
    pub reached: Vec<(Grade, DateTime<Utc>)>,
    /// The highest grade was given by hand.
    pub manual: bool,
    /// The grade the stored story had already reached before the period (a story under way since
    /// before the warm-up, which the replay starts afresh).
    pub graded_before: Option<Grade>,
}

impl Side {
    /// The highest grade reached in the period.
    pub fn grade(&self) -> Option<Grade> {
        self.reached.last().map(|(g, _)| *g)
    }

    /// When the story was first graded in the period.
    pub fn first_at(&self) -> Option<DateTime<Utc>> {
        self.reached.first().map(|(_, t)| *t)
    }

    /// When it first reached `g` or above.
    pub fn at(&self, g: Grade) -> Option<DateTime<Utc>> {
        self.reached.iter().find(|(x, _)| *x == g).map(|(_, t)| *t)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// Graded in the replay and actually graded.
    Both,
    /// Graded in the replay only.
    OnlyBacktest,
    /// Actually graded; the replay graded nothing of it.
    OnlyActual,
}

impl Outcome {
    pub fn label_zh(self) -> &'static str {
        match self {
            Outcome::Both => "两者均定级",
            Outcome::OnlyBacktest => "仅回测定级",
            Outcome::OnlyActual => "实际已定级、回测未定级",
        }
    }
}

/// One line of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub outcome: Outcome,
    /// The replayed story (its title as the replay made it).
    pub backtest: Option<Side>,
    /// The stored story: the one holding most of the replayed story's posts, or an actually graded
    /// story no replayed story matched. `reached` is empty when it was not graded in the period.
    pub actual: Option<Side>,
    /// Seconds from the actual first grade to the replayed one (negative: the replay was earlier).
    pub delay_seconds: Option<i64>,
}

/// Per grade: how many stories reached it (or above) on each side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GradeSummary {
    pub grade: Option<Grade>,
    pub both: usize,
    pub only_backtest: usize,
    pub only_actual: usize,
    /// Of `both`: the replay reached the grade earlier, at the same time, later.
    pub earlier: usize,
    pub same_time: usize,
    pub later: usize,
    /// Of `both`: the median of (replayed − actual) time to reach the grade, in seconds.
    pub median_delay_seconds: Option<i64>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct BacktestReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Posts before `from` replayed only to warm up (their grades not counted), from this day.
    pub warmup_from: NaiveDate,
    pub warmup_posts: usize,
    pub posts: usize,
    pub rows: Vec<Row>,
    /// One line per grade, IV first.
    pub summary: Vec<GradeSummary>,
    /// Stories graded by hand in the period (counted as actual; a replay cannot give them).
    pub manual_actual: usize,
    /// Where the replayed data directory was kept, when it was.
    pub scratch: Option<String>,
}

impl BacktestReport {
    pub fn count(&self, o: Outcome) -> usize {
        self.rows.iter().filter(|r| r.outcome == o).count()
    }
}

/// What the comparison needs, gathered by the replay.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Grades reached in the replay within the period (replayed story ids).
    pub backtest: Vec<Raised>,
    /// Alerts actually raised within the period (stored story ids).
    pub actual: Vec<Raised>,
    /// Replayed story → the stored story of each of its posts.
    pub members: HashMap<i64, Vec<i64>>,
    /// Titles of replayed stories.
    pub backtest_titles: HashMap<i64, String>,
    /// Titles of stored stories.
    pub actual_titles: HashMap<i64, String>,
    /// Stored stories graded before the period: the highest grade they had reached.
    pub actual_before: HashMap<i64, Grade>,
}

/// A story's first time at each grade reached (lowest first), and whether its highest was manual.
type Levels = (Vec<(Grade, DateTime<Utc>)>, bool);

/// For each story, the first time it reached each grade, lowest grade first.
fn reached(alerts: &[Raised]) -> BTreeMap<i64, Levels> {
    // Per story: grade → first time, and the highest grade with its manual flag.
    type Running = (BTreeMap<Grade, DateTime<Utc>>, Option<(Grade, bool)>);
    let mut by_story: BTreeMap<i64, Running> = BTreeMap::new();
    for a in alerts {
        let (levels, top) = by_story.entry(a.story).or_default();
        for g in Grade::ALL.into_iter().filter(|g| *g <= a.to) {
            let t = levels.entry(g).or_insert(a.at);
            *t = (*t).min(a.at);
        }
        if top.is_none_or(|(g, _)| a.to >= g) {
            *top = Some((a.to, a.manual));
        }
    }
    by_story
        .into_iter()
        .map(|(s, (levels, top))| (s, (levels.into_iter().collect(), top.is_some_and(|(_, m)| m))))
        .collect()
}

/// The stored story that holds most of these posts; ties go to one graded in the period, then to
/// the lowest id.
fn majority(stories: &[i64], graded: &BTreeSet<i64>) -> Option<i64> {
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for s in stories {
        *counts.entry(*s).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(graded.contains(&a.0).cmp(&graded.contains(&b.0))).then(b.0.cmp(&a.0)))
        .map(|(s, _)| s)
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2 })
}

/// Rows (every replayed story graded in the period, matched to the stored story holding most of
/// its posts; then every actually graded story no replayed story matched) and the summary by grade.
pub fn compare(inputs: &Inputs) -> (Vec<Row>, Vec<GradeSummary>) {
    let bt = reached(&inputs.backtest);
    let actual = reached(&inputs.actual);
    let graded: BTreeSet<i64> = actual.keys().copied().collect();
    let side = |story: i64,
                levels: Option<&Levels>,
                titles: &HashMap<i64, String>,
                before: Option<&HashMap<i64, Grade>>| Side {
        story,
        title: titles.get(&story).cloned().unwrap_or_default(),
        reached: levels.map(|l| l.0.clone()).unwrap_or_default(),
        manual: levels.is_some_and(|l| l.1),
        graded_before: before.and_then(|b| b.get(&story).copied()),
    };
    let before = Some(&inputs.actual_before);
    let mut rows = Vec::new();
    let mut matched: BTreeSet<i64> = BTreeSet::new();
    for (story, levels) in &bt {
        let b = side(*story, Some(levels), &inputs.backtest_titles, None);
        let a = inputs
            .members
            .get(story)
            .and_then(|m| majority(m, &graded))
            .map(|s| side(s, actual.get(&s), &inputs.actual_titles, before));
        if let Some(a) = &a {
            matched.insert(a.story);
        }
        let both = a.as_ref().is_some_and(|a| !a.reached.is_empty());
        let delay = match (&a, b.first_at()) {
            (Some(a), Some(bt)) => a.first_at().map(|at| (bt - at).num_seconds()),
            _ => None,
        };
        rows.push(Row {
            outcome: if both { Outcome::Both } else { Outcome::OnlyBacktest },
            backtest: Some(b),
            actual: a,
            delay_seconds: delay,
        });
    }
    for (story, levels) in actual.iter().filter(|(s, _)| !matched.contains(s)) {
        rows.push(Row {
            outcome: Outcome::OnlyActual,
            backtest: None,
            actual: Some(side(*story, Some(levels), &inputs.actual_titles, before)),
            delay_seconds: None,
        });
    }
    let first = |r: &Row| {
        let b = r.backtest.as_ref().and_then(Side::first_at);
        let a = r.actual.as_ref().and_then(Side::first_at);
        match (b, a) {
            (Some(b), Some(a)) => b.min(a),
            (x, y) => x.or(y).unwrap_or_default(),
        }
    };
    let key = |r: &Row| {
        (first(r), r.backtest.as_ref().map_or(i64::MAX, |s| s.story), r.actual.as_ref().map_or(i64::MAX, |s| s.story))
    };
    rows.sort_by_key(key);
    let summary = Grade::ALL.into_iter().map(|g| summarize(&rows, g)).collect();
    (rows, summary)
}

fn summarize(rows: &[Row], g: Grade) -> GradeSummary {
    let mut s = GradeSummary { grade: Some(g), ..Default::default() };
    let mut delays = Vec::new();
    for r in rows {
        let b = r.backtest.as_ref().and_then(|x| x.at(g));
        let a = r.actual.as_ref().and_then(|x| x.at(g));
        match (b, a) {
            (Some(b), Some(a)) => {
                s.both += 1;
                let d = (b - a).num_seconds();
                match d.cmp(&0) {
                    std::cmp::Ordering::Less => s.earlier += 1,
                    std::cmp::Ordering::Equal => s.same_time += 1,
                    std::cmp::Ordering::Greater => s.later += 1,
                }
                delays.push(d);
            }
            (Some(_), None) => s.only_backtest += 1,
            (None, Some(_)) => s.only_actual += 1,
            (None, None) => {}
        }
    }
    s.median_delay_seconds = median(delays);
    s
}

/// A duration in seconds as a person reads it: “早 2 小时 5 分” / “晚 30 分” / “同时”.
pub fn delay_zh(seconds: i64) -> String {
    if seconds == 0 {
        return "同时".to_string();
    }
    let word = if seconds < 0 { "早" } else { "晚" };
    let m = seconds.unsigned_abs().div_ceil(60);
    let (d, h, m) = (m / 1440, m % 1440 / 60, m % 60);
    let mut out = word.to_string();
    if d > 0 {
        out.push_str(&format!(" {d} 天"));
    }
    if h > 0 {
        out.push_str(&format!(" {h} 小时"));
    }
    if m > 0 || (d == 0 && h == 0) {
        out.push_str(&format!(" {m} 分"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2020, 2, 10, 0, 0, 0).single().expect("valid") + Duration::hours(h)
    }

    fn raised(story: i64, to: Grade, h: i64) -> Raised {
        Raised { story, to, at: t(h), manual: false }
    }

    fn inputs(backtest: Vec<Raised>, actual: Vec<Raised>, members: &[(i64, &[i64])]) -> Inputs {
        Inputs {
            backtest,
            actual,
            members: members.iter().map(|(s, m)| (*s, m.to_vec())).collect(),
            backtest_titles: [(1, "回测一".to_string()), (2, "回测二".to_string()), (3, "回测三".to_string())].into(),
            actual_titles: [(10, "实际十".to_string()), (20, "实际二十".to_string()), (30, "实际三十".to_string())]
                .into(),
            actual_before: HashMap::new(),
        }
    }

    #[test]
    fn the_same_grades_at_the_same_times_are_all_both() {
        let i = inputs(
            vec![raised(1, Grade::IV, 1), raised(1, Grade::III, 5), raised(2, Grade::IV, 2)],
            vec![raised(10, Grade::IV, 1), raised(10, Grade::III, 5), raised(20, Grade::IV, 2)],
            &[(1, &[10, 10, 10]), (2, &[20])],
        );
        let (rows, summary) = compare(&i);
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|r| r.outcome == Outcome::Both && r.delay_seconds == Some(0)), "{rows:?}");
        assert_eq!(rows[0].actual.as_ref().map(|a| a.title.as_str()), Some("实际十"));
        assert_eq!((summary[0].both, summary[0].same_time), (2, 2), "both reached IV");
        assert_eq!((summary[1].both, summary[1].only_backtest, summary[1].only_actual), (1, 0, 0), "one reached III");
        assert_eq!(summary[2], GradeSummary { grade: Some(Grade::II), ..Default::default() });
    }

    #[test]
    fn a_replayed_story_is_matched_to_the_stored_story_holding_most_of_its_posts() {
        let i = inputs(vec![raised(1, Grade::IV, 3)], vec![raised(20, Grade::IV, 1)], &[(1, &[10, 20, 20])]);
        let (rows, _) = compare(&i);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].actual.as_ref().map(|a| a.story), Some(20));
        assert_eq!(rows[0].delay_seconds, Some(2 * 3600), "the replay graded two hours later");
    }

    #[test]
    fn a_tie_goes_to_the_story_that_was_graded() {
        let i = inputs(vec![raised(1, Grade::IV, 3)], vec![raised(20, Grade::IV, 3)], &[(1, &[10, 20])]);
        let (rows, _) = compare(&i);
        assert_eq!(rows[0].outcome, Outcome::Both);
        assert_eq!(rows[0].actual.as_ref().map(|a| a.story), Some(20));
    }

    #[test]
    fn each_side_alone_is_reported_with_the_other_side_as_it_stood() {
        // Replayed story 2 grades a stored story that was never graded; stored story 30 was graded
        // and nothing replayed graded it.
        let i = inputs(
            vec![raised(2, Grade::III, 4)],
            vec![raised(30, Grade::IV, 1), Raised { story: 30, to: Grade::II, at: t(2), manual: true }],
            &[(2, &[20])],
        );
        let (rows, summary) = compare(&i);
        assert_eq!(rows.len(), 2);
        let only_actual = &rows[0];
        assert_eq!(only_actual.outcome, Outcome::OnlyActual);
        assert!(only_actual.backtest.is_none());
        let a = only_actual.actual.as_ref().expect("actual side");
        assert_eq!((a.grade(), a.manual, a.at(Grade::III)), (Some(Grade::II), true, Some(t(2))));
        let only_bt = &rows[1];
        assert_eq!(only_bt.outcome, Outcome::OnlyBacktest);
        let matched = only_bt.actual.as_ref().expect("the stored story it matched");
        assert_eq!((matched.story, matched.grade(), matched.title.as_str()), (20, None, "实际二十"));
        assert_eq!(only_bt.delay_seconds, None);
        assert_eq!((summary[0].only_backtest, summary[0].only_actual), (1, 1));
        assert_eq!((summary[1].only_backtest, summary[1].only_actual), (1, 1));
        assert_eq!((summary[2].only_backtest, summary[2].only_actual), (0, 1));
    }

    #[test]
    fn a_stored_story_graded_before_the_period_says_so() {
        let mut i = inputs(vec![raised(1, Grade::III, 3)], Vec::new(), &[(1, &[10])]);
        i.actual_before.insert(10, Grade::III);
        let (rows, _) = compare(&i);
        assert_eq!(rows[0].outcome, Outcome::OnlyBacktest, "no alert in the period");
        let a = rows[0].actual.as_ref().expect("matched");
        assert_eq!((a.grade(), a.graded_before), (None, Some(Grade::III)));
        assert_eq!(rows[0].backtest.as_ref().and_then(|b| b.graded_before), None);
    }

    #[test]
    fn grades_reached_at_different_levels_split_by_grade() {
        // Both graded; the replay reached III earlier, the stored story only IV.
        let i = inputs(
            vec![raised(1, Grade::IV, 1), raised(1, Grade::III, 2)],
            vec![raised(10, Grade::IV, 3)],
            &[(1, &[10])],
        );
        let (rows, summary) = compare(&i);
        assert_eq!(rows[0].outcome, Outcome::Both);
        assert_eq!(rows[0].delay_seconds, Some(-2 * 3600));
        assert_eq!((summary[0].both, summary[0].earlier, summary[0].median_delay_seconds), (1, 1, Some(-7200)));
        assert_eq!((summary[1].both, summary[1].only_backtest), (0, 1));
    }

    #[test]
    fn ranges_are_bounded_and_ordered() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        assert!(check_range(d("2020-02-10"), d("2020-02-10")).is_ok());
        assert!(check_range(d("2020-02-01"), d("2020-03-02")).is_ok(), "31 days");
        assert!(check_range(d("2020-02-01"), d("2020-03-03")).unwrap_err().contains("超过上限 31 天"));
        assert!(check_range(d("2020-02-12"), d("2020-02-10")).unwrap_err().contains("早于"));
    }

    #[test]
    fn the_period_is_whole_days_of_china_time() {
        let d = |s: &str| s.parse::<NaiveDate>().expect("date");
        let (start, end) = period(d("2020-02-10"), d("2020-02-12"));
        assert_eq!(start.to_rfc3339(), "2020-02-09T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2020-02-12T16:00:00+00:00");
    }

    #[test]
    fn delays_read_as_words() {
        assert_eq!(delay_zh(0), "同时");
        assert_eq!(delay_zh(-90), "早 2 分");
        assert_eq!(delay_zh(3600 * 26 + 60), "晚 1 天 2 小时 1 分");
    }
}
