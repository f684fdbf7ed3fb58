//! Reports on request and on schedule: build a 日报, 周报, 专报 or 考评 report when a person asks
//! and archive it; produce what the schedule owes (日报 at 17:00, 周报, the monthly risk reminder)
//! on the desk's clock. The reports themselves are `yuqing_report`'s; this is who may ask and when.
//! Invariant: a 专报 is built only for someone who may see its incident (`Desk::visible_incident`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use yuqing_report::period::{parse_date, Period};
use yuqing_report::schedule::{Jobs, Produced};
use yuqing_report::{gather, store, Report, ReportError};
use yuqing_store::desk::User;
use yuqing_store::DataDir;

use crate::desk::{Clock, Desk};
use crate::error::DeskResult;
use crate::permission;

/// What to generate (the API's body and the page's form alike).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// daily | weekly | special | stats
    pub kind: String,
    /// 日报的日期 (YYYY-MM-DD; default today).
    pub date: Option<String>,
    /// 周报: a day of the week (default: last week).
    pub week_of: Option<String>,
    /// 考评: first and last day.
    pub from: Option<String>,
    pub to: Option<String>,
    /// 专报: the incident.
    pub incident: Option<i64>,
    /// 专报: the document's title as the office words it (default 关于“事件标题”的舆情专报).
    pub title: Option<String>,
}

/// The longest title a 专报 may be given, in characters (three lines of 二号 type).
pub const SPECIAL_TITLE_MAX: usize = 60;

/// A 专报 title as typed: trimmed, white space runs made one space; `None` when blank; refused
/// when too long or holding control characters.
pub fn special_title(raw: Option<&str>) -> Result<Option<String>, ReportError> {
    let Some(raw) = raw else { return Ok(None) };
    if raw.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(ReportError::Invalid("专报标题含有不可见的控制字符".into()));
    }
    let title = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() {
        return Ok(None);
    }
    let n = title.chars().count();
    if n > SPECIAL_TITLE_MAX {
        return Err(ReportError::Invalid(format!("专报标题最长 {SPECIAL_TITLE_MAX} 字，现为 {n} 字")));
    }
    Ok(Some(title))
}

/// Today in the reports' time zone.
pub fn today(jobs: &Jobs, now: DateTime<Utc>) -> NaiveDate {
    store::today(now, jobs.config.offset())
}

/// Builds a report on demand and archives it. A 专报 only for an incident `by` may see.
pub fn generate(
    d: &DataDir,
    desk: &Desk,
    jobs: &Jobs,
    req: &GenerateRequest,
    by: &User,
    now: DateTime<Utc>,
) -> DeskResult<(i64, Report)> {
    if matches!(req.kind.as_str(), "special" | "专报") {
        if let Some(id) = req.incident {
            desk.visible_incident(&d.store, by, id)?;
        }
    }
    Ok(build(d, jobs, req, by, now)?)
}

fn build(
    d: &DataDir,
    jobs: &Jobs,
    req: &GenerateRequest,
    by: &User,
    now: DateTime<Utc>,
) -> Result<(i64, Report), ReportError> {
    let st = &d.store;
    let offset = jobs.config.offset();
    let date = |s: &Option<String>, what: &str, default: NaiveDate| {
        s.as_deref().filter(|s| !s.trim().is_empty()).map_or(Ok(default), |s| parse_date(s, what))
    };
    let today = today(jobs, now);
    let special = matches!(req.kind.as_str(), "special" | "专报");
    if !special && req.title.as_deref().is_some_and(|t| !t.trim().is_empty()) {
        return Err(ReportError::Invalid("只有专报可以自拟标题，日报、周报和考评的标题按期间生成".into()));
    }
    let (report, period) = match req.kind.as_str() {
        "daily" | "日报" => {
            let day = date(&req.date, "日期", today)?;
            (
                Report::Daily(gather::daily(
                    st,
                    &jobs.org,
                    day,
                    offset,
                    &jobs.link_base,
                    jobs.config.posts_per_story,
                    now,
                )?),
                day.to_string(),
            )
        }
        "weekly" | "周报" => {
            let week = Period::week_of(date(&req.week_of, "周报日期", today - chrono::Duration::days(7))?);
            (Report::Weekly(gather::weekly(st, &jobs.org, week, offset, now)?), week.key())
        }
        "stats" | "考评" => {
            let month = Period::month_of(today);
            let p = Period::new(date(&req.from, "开始日期", month.first)?, date(&req.to, "结束日期", today)?)?;
            (Report::Stats(gather::stats(st, &jobs.org, p, offset, now)?), p.key())
        }
        "special" | "专报" => {
            let Some(id) = req.incident else {
                return Err(ReportError::Invalid("专报须指定工单编号（incident）".into()));
            };
            if permission::own_department_only(by.role) {
                return Err(ReportError::Invalid("专报由办公室或信息员生成".into()));
            }
            let title = special_title(req.title.as_deref())?;
            let mut special = gather::special(st, d.fts.segmenter(), &jobs.org, id, offset, now)?;
            special.title = title;
            (Report::Special(special), format!("incident-{id}"))
        }
        other => {
            return Err(ReportError::Invalid(format!(
                "未知的报表类型“{other}”，可用 daily（日报）、weekly（周报）、special（专报）、stats（考评）"
            )))
        }
    };
    let id = store::archive_put(st.connection(), &report, &period, "manual", &by.name, now)?;
    Ok((id, report))
}

/// Produces what the report schedule owes at `now`; returns what was produced.
pub fn run_schedule(d: &DataDir, jobs: &Jobs, now: DateTime<Utc>) -> DeskResult<Vec<Produced>> {
    Ok(yuqing_report::schedule::run(&d.store, jobs, now)?)
}

/// Runs the report schedule at once (catching up on what was missed while the server was down)
/// and then every `every`, on `clock`. A failing pass is logged and retried.
pub fn spawn_report_scheduler(
    data: std::sync::Arc<std::sync::Mutex<DataDir>>,
    jobs: std::sync::Arc<Jobs>,
    clock: Clock,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let pass = move |d: &DataDir, now: DateTime<Utc>| run_schedule(d, &jobs, now);
    crate::periodic::spawn_every(data, clock, every, "report schedule", pass, |p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_special_title_is_trimmed_and_checked() {
        assert_eq!(special_title(None).unwrap(), None);
        assert_eq!(special_title(Some("  \n ")).unwrap(), None);
        assert_eq!(
            special_title(Some("  关于武昌医院  院长\n去世的舆情专报 ")).unwrap().as_deref(),
            Some("关于武昌医院 院长 去世的舆情专报")
        );
        let long = "长".repeat(SPECIAL_TITLE_MAX + 1);
        assert!(matches!(special_title(Some(&long)), Err(ReportError::Invalid(m)) if m.contains("61")));
        assert!(special_title(Some(&"长".repeat(SPECIAL_TITLE_MAX))).unwrap().is_some());
        assert!(matches!(special_title(Some("标题\u{7}")), Err(ReportError::Invalid(_))));
    }
}
