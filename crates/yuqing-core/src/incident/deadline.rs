//! 时限: the clocks on an incident's steps, set by grade, and when to remind and escalate.
//! Pure: the policy is data, `now` is an argument; a grade change re-computes unmet clocks.

use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::workdays::{WorkCalendar, MAX_WORKING_DAYS};
use crate::Grade;

/// Which step a clock is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeadlineKind {
    /// 首报: the first report, from detection.
    FirstReport,
    /// 报告领导: report to leadership, from detection.
    LeadershipReport,
    /// 核查结果: verification result, from the report (routing) to the department.
    Verification,
    /// 公开回应: public response, from detection.
    PublicResponse,
    /// 时间表节点: a node of a published timetable (its index among the incident's nodes).
    FollowUpNode(u32),
    /// 总结评估: review of a grade I/II incident, from the start of follow-up.
    Review,
}

impl DeadlineKind {
    pub fn label_zh(self) -> String {
        match self {
            DeadlineKind::FirstReport => "首报".into(),
            DeadlineKind::LeadershipReport => "报告领导".into(),
            DeadlineKind::Verification => "核查结果反馈".into(),
            DeadlineKind::PublicResponse => "公开回应".into(),
            DeadlineKind::FollowUpNode(i) => format!("时间表节点 {}", i + 1),
            DeadlineKind::Review => "总结评估".into(),
        }
    }

    /// A stable key for storage (`overdue.deadline`).
    pub fn key(self) -> String {
        match self {
            DeadlineKind::FirstReport => "first_report".into(),
            DeadlineKind::LeadershipReport => "leadership_report".into(),
            DeadlineKind::Verification => "verification".into(),
            DeadlineKind::PublicResponse => "public_response".into(),
            DeadlineKind::FollowUpNode(i) => format!("follow_up_node_{i}"),
            DeadlineKind::Review => "review".into(),
        }
    }
}

/// How long a step may take: `"30m"`, `"2h"`, `"7d"`, `"same-day"` (当日, the end of the local
/// day the clock started on) or `"5wd"` (5 个工作日, see [`crate::workdays`]: the start day is not
/// counted, the deadline is 24:00 local time of the 5th working day after it) in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    After(Duration),
    SameDay,
    WorkingDays(u32),
}

impl Serialize for Limit {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Limit::After(d) => s.serialize_str(&format!("{}s", d.num_seconds())),
            Limit::SameDay => s.serialize_str("same-day"),
            Limit::WorkingDays(n) => s.serialize_str(&format!("{n}wd")),
        }
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Limit, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim() == "same-day" || s.trim() == "当日" {
            return Ok(Limit::SameDay);
        }
        if let Some(n) = parse_working_days(&s) {
            return n.map(Limit::WorkingDays).map_err(serde::de::Error::custom);
        }
        parse_span_within(&s, STORED_MAX).map(Limit::After).map_err(serde::de::Error::custom)
    }
}

/// "5wd" (also "5 wd"): `None` when it is not a working-day limit at all, else the count or why
/// it is refused.
fn parse_working_days(s: &str) -> Option<Result<u32, String>> {
    let n = s.trim().strip_suffix("wd")?.trim();
    Some(match n.parse::<u32>() {
        Ok(n) if (1..=MAX_WORKING_DAYS).contains(&n) => Ok(n),
        Ok(_) => Err(format!("时长“{}”应为 1 到 {MAX_WORKING_DAYS} 个工作日", s.trim())),
        Err(_) => Err(format!("时长“{}”无效：工作日数应为整数，如 5wd", s.trim())),
    })
}

/// The end of local day `day` (its 24:00, i.e. the next day's 00:00) at `offset`, in UTC.
fn end_of_local_day(day: NaiveDate, offset: FixedOffset) -> Option<DateTime<Utc>> {
    let end = day.succ_opt()?.and_time(NaiveTime::MIN);
    offset.from_local_datetime(&end).single().map(|t| t.with_timezone(&Utc))
}

impl Limit {
    /// The due time of a clock started at `start`, with local time at `offset` for "same day"
    /// and working days, and `calendar` for working days.
    pub fn due(self, start: DateTime<Utc>, offset: FixedOffset, calendar: &WorkCalendar) -> DateTime<Utc> {
        let local_day = start.with_timezone(&offset).date_naive();
        match self {
            // Limits are bounded when loaded; saturate rather than panic all the same.
            Limit::After(d) => start.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC),
            Limit::SameDay => end_of_local_day(local_day, offset).unwrap_or(start + Duration::hours(24)),
            Limit::WorkingDays(n) => end_of_local_day(calendar.nth_working_day_after(local_day, n), offset)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Limit::SameDay => "当日".into(),
            Limit::After(d) => describe_span(d),
            Limit::WorkingDays(n) => format!("{n} 个工作日"),
        }
    }

    pub fn is_working_days(self) -> bool {
        matches!(self, Limit::WorkingDays(_))
    }
}

/// "30 分钟", "2 小时", "7 天".
pub fn describe_span(d: Duration) -> String {
    let s = d.num_seconds();
    if s % 86_400 == 0 && s >= 86_400 {
        format!("{} 天", s / 86_400)
    } else if s % 3600 == 0 && s >= 3600 {
        format!("{} 小时", s / 3600)
    } else if s % 60 == 0 && s >= 60 {
        format!("{} 分钟", s / 60)
    } else {
        format!("{s} 秒")
    }
}

/// Parses "90s", "30m", "2h", "7d", "1h30m": more than zero, whole seconds, at most
/// [`crate::span::MAX`] (3650 days). The message starts with 时长“…” so a caller can name its key.
pub fn parse_span(s: &str) -> Result<Duration, String> {
    parse_span_within(s, crate::span::MAX)
}

/// The bound for limits read back from stored incidents (each froze the policy of its day): far
/// beyond any configured value, far inside chrono's range. The configuration's own check is
/// [`DeadlinePolicy::validate`], at [`crate::span::MAX`].
const STORED_MAX: std::time::Duration = std::time::Duration::from_secs(100 * crate::span::MAX_DAYS * 86_400);

fn parse_span_within(s: &str, max: std::time::Duration) -> Result<Duration, String> {
    let shown = |e: crate::span::SpanError| format!("时长“{}”{e}", s.trim());
    let d = crate::span::parse_within(s, max).map_err(shown)?;
    if d.is_zero() {
        return Err(shown(crate::span::SpanError::Zero));
    }
    if d.subsec_nanos() != 0 {
        return Err(shown(crate::span::SpanError::SubSecond));
    }
    Ok(crate::span::to_chrono(d))
}

mod span {
    use chrono::Duration;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}s", d.num_seconds()))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_span_within(&s, super::STORED_MAX).map_err(serde::de::Error::custom)
    }
}

/// One limit per grade, I to IV.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerGrade {
    #[serde(rename = "I")]
    pub i: Limit,
    #[serde(rename = "II")]
    pub ii: Limit,
    #[serde(rename = "III")]
    pub iii: Limit,
    #[serde(rename = "IV")]
    pub iv: Limit,
}

impl PerGrade {
    pub fn all(l: Limit) -> PerGrade {
        PerGrade { i: l, ii: l, iii: l, iv: l }
    }
    pub fn get(&self, g: Grade) -> Limit {
        match g {
            Grade::I => self.i,
            Grade::II => self.ii,
            Grade::III => self.iii,
            Grade::IV => self.iv,
        }
    }
}

fn minutes(m: i64) -> Limit {
    Limit::After(Duration::minutes(m))
}
fn hours(h: i64) -> Limit {
    Limit::After(Duration::hours(h))
}

/// The deadline policy (`[deadlines]` in the configuration). Frozen into each incident when its
/// clocks start, so editing the policy later does not move clocks already running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlinePolicy {
    pub first_report: PerGrade,
    pub leadership_report: PerGrade,
    pub verification: PerGrade,
    pub public_response: PerGrade,
    /// Review after follow-up begins; only grades listed in `review_grades` need one.
    #[serde(with = "span")]
    pub review: Duration,
    pub review_grades: Vec<Grade>,
    /// Remind the assignee when this share of the time has passed (0.75 = 75 %).
    pub remind_at: f64,
    /// Local time for "same day" (当日) and working days, in seconds east of UTC; China is +8 h.
    pub utc_offset_seconds: i32,
    /// The operator's working-day calendar file (`calendar = "/etc/yuqing/holidays.toml"`), whose
    /// years are added to (or replace) the built-in ones; read by the configuration loader.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// The working-day calendar in force (built-in plus the operator's file). Not stored with an
    /// incident: one read back takes the process's [`crate::workdays::active`] calendar.
    #[serde(skip, default = "crate::workdays::active")]
    pub workdays: Arc<WorkCalendar>,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        DeadlinePolicy {
            first_report: PerGrade::all(minutes(30)),
            leadership_report: PerGrade { i: hours(1), ii: hours(2), iii: Limit::SameDay, iv: Limit::SameDay },
            verification: PerGrade { i: minutes(30), ii: minutes(30), iii: hours(2), iv: hours(2) },
            public_response: PerGrade { i: hours(12), ii: hours(12), iii: hours(24), iv: hours(24) },
            review: Duration::days(7),
            review_grades: vec![Grade::I, Grade::II],
            remind_at: 0.75,
            utc_offset_seconds: crate::CHINA_OFFSET_SECONDS,
            calendar: None,
            workdays: crate::workdays::active(),
        }
    }
}

impl DeadlinePolicy {
    pub fn offset(&self) -> FixedOffset {
        FixedOffset::east_opt(self.utc_offset_seconds).unwrap_or_else(crate::china)
    }

    /// Checks the numbers a user can get wrong; the message says which key.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.remind_at > 0.0 && self.remind_at < 1.0) {
            return Err(format!("deadlines.remind_at 应在 0 与 1 之间（如 0.75），现为 {}", self.remind_at));
        }
        if FixedOffset::east_opt(self.utc_offset_seconds).is_none() {
            return Err(format!("deadlines.utc_offset_seconds 无效：{}", self.utc_offset_seconds));
        }
        // Stored incidents may hold longer limits (see `STORED_MAX`); the configuration may not.
        let max = crate::span::to_chrono(crate::span::MAX);
        let too_long = |key: String, d: Duration| {
            format!("配置项 {key} 的时长“{}”{}", describe_span(d), crate::span::SpanError::TooLong)
        };
        for (name, per) in [
            ("first_report", &self.first_report),
            ("leadership_report", &self.leadership_report),
            ("verification", &self.verification),
            ("public_response", &self.public_response),
        ] {
            for (grade, limit) in [("I", per.i), ("II", per.ii), ("III", per.iii), ("IV", per.iv)] {
                if let Limit::After(d) = limit {
                    if d > max {
                        return Err(too_long(format!("deadlines.{name}.{grade}"), d));
                    }
                }
            }
        }
        if self.review > max {
            return Err(too_long("deadlines.review".into(), self.review));
        }
        Ok(())
    }

    /// The limit for a kind of clock at a grade; `None` for kinds that have no grade limit
    /// (timetable nodes carry their own due time).
    pub fn limit(&self, kind: DeadlineKind, grade: Grade) -> Option<Limit> {
        match kind {
            DeadlineKind::FirstReport => Some(self.first_report.get(grade)),
            DeadlineKind::LeadershipReport => Some(self.leadership_report.get(grade)),
            DeadlineKind::Verification => Some(self.verification.get(grade)),
            DeadlineKind::PublicResponse => Some(self.public_response.get(grade)),
            DeadlineKind::Review => Some(Limit::After(self.review)),
            DeadlineKind::FollowUpNode(_) => None,
        }
    }

    /// The due time under this policy of a clock with `limit` started at `start`.
    pub fn due(&self, limit: Limit, start: DateTime<Utc>) -> DateTime<Utc> {
        limit.due(start, self.offset(), &self.workdays)
    }

    /// Years a clock from `started_at` to `due_at` crosses that the working-day calendar does not
    /// cover (counted with plain weekends), for a note next to the deadline.
    pub fn uncovered_years(&self, started_at: DateTime<Utc>, due_at: DateTime<Utc>) -> Vec<i32> {
        let off = self.offset();
        self.workdays
            .uncovered_years(started_at.with_timezone(&off).date_naive(), due_at.with_timezone(&off).date_naive())
    }

    pub fn needs_review(&self, grade: Grade) -> bool {
        self.review_grades.contains(&grade)
    }
}

/// One running (or finished) clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deadline {
    pub kind: DeadlineKind,
    /// What the user reads, e.g. "核查结果反馈" or a timetable node's own words.
    pub label: String,
    pub started_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// When the step was done; a clock met is never escalated again.
    pub met_at: Option<DateTime<Utc>>,
    /// The 75 % reminder was sent for this due time.
    pub reminded: bool,
    /// The overdue notice was sent and an `Overdue` entry recorded for this due time.
    pub overdue: bool,
}

impl Deadline {
    pub fn new(kind: DeadlineKind, label: String, started_at: DateTime<Utc>, due_at: DateTime<Utc>) -> Deadline {
        Deadline { kind, label, started_at, due_at, met_at: None, reminded: false, overdue: false }
    }

    pub fn is_met(&self) -> bool {
        self.met_at.is_some()
    }

    /// Met after it was due (迟报), or not met and past due.
    pub fn is_late(&self, now: DateTime<Utc>) -> bool {
        match self.met_at {
            Some(m) => m > self.due_at,
            None => now > self.due_at,
        }
    }

    /// When the reminder falls due: `remind_at` of the way from start to due.
    pub fn remind_time(&self, remind_at: f64) -> DateTime<Utc> {
        let span = (self.due_at - self.started_at).num_milliseconds().max(0) as f64;
        self.started_at + Duration::milliseconds((span * remind_at).round() as i64)
    }

    /// Time left (negative when overdue) at `now`.
    pub fn remaining(&self, now: DateTime<Utc>) -> Duration {
        self.due_at - now
    }
}

/// What the clock asks for at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Escalation {
    /// 75 %: remind the assignee.
    Remind,
    /// 100 %: notify the approver and the coordinator, record an `Overdue`.
    Overdue,
}

/// The escalations due at `now` for these clocks: (index into `deadlines`, what). An overdue clock
/// that was never reminded yields only `Overdue` (a reminder after the fact helps nobody).
pub fn due_escalations(deadlines: &[Deadline], remind_at: f64, now: DateTime<Utc>) -> Vec<(usize, Escalation)> {
    let mut out = Vec::new();
    for (i, d) in deadlines.iter().enumerate() {
        if d.is_met() {
            continue;
        }
        if now >= d.due_at {
            if !d.overdue {
                out.push((i, Escalation::Overdue));
            }
        } else if now >= d.remind_time(remind_at) && !d.reminded {
            out.push((i, Escalation::Remind));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn defaults_follow_the_response_plans() {
        let p = DeadlinePolicy::default();
        let start = t("2026-11-20T10:00:00+08:00");
        let off = p.offset();
        assert_eq!(
            p.first_report.get(Grade::IV).due(start, off, &WorkCalendar::default()),
            t("2026-11-20T10:30:00+08:00")
        );
        assert_eq!(
            p.leadership_report.get(Grade::I).due(start, off, &WorkCalendar::default()),
            t("2026-11-20T11:00:00+08:00")
        );
        assert_eq!(
            p.leadership_report.get(Grade::II).due(start, off, &WorkCalendar::default()),
            t("2026-11-20T12:00:00+08:00")
        );
        assert_eq!(
            p.leadership_report.get(Grade::III).due(start, off, &WorkCalendar::default()),
            t("2026-11-21T00:00:00+08:00")
        );
        assert_eq!(
            p.verification.get(Grade::II).due(start, off, &WorkCalendar::default()),
            t("2026-11-20T10:30:00+08:00")
        );
        assert_eq!(
            p.verification.get(Grade::III).due(start, off, &WorkCalendar::default()),
            t("2026-11-20T12:00:00+08:00")
        );
        assert_eq!(
            p.public_response.get(Grade::I).due(start, off, &WorkCalendar::default()),
            t("2026-11-20T22:00:00+08:00")
        );
        assert_eq!(
            p.public_response.get(Grade::IV).due(start, off, &WorkCalendar::default()),
            t("2026-11-21T10:00:00+08:00")
        );
        assert!(p.needs_review(Grade::II) && !p.needs_review(Grade::III));
    }

    #[test]
    fn same_day_ends_at_local_midnight_not_utc_midnight() {
        let off = DeadlinePolicy::default().offset();
        // 07:00 UTC on the 20th is 15:00 in China: the local day ends at 16:00 UTC.
        assert_eq!(
            Limit::SameDay.due(t("2026-11-20T07:00:00Z"), off, &WorkCalendar::default()),
            t("2026-11-20T16:00:00Z")
        );
        // 17:00 UTC on the 20th is already the 21st in China.
        assert_eq!(
            Limit::SameDay.due(t("2026-11-20T17:00:00Z"), off, &WorkCalendar::default()),
            t("2026-11-21T16:00:00Z")
        );
    }

    #[test]
    fn spans_parse_and_reject_nonsense() {
        assert_eq!(parse_span("30m"), Ok(Duration::minutes(30)));
        assert_eq!(parse_span("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_span("7d"), Ok(Duration::days(7)));
        assert!(parse_span("30").unwrap_err().contains("单位"));
        assert!(parse_span("2w").is_err());
        assert!(parse_span("0s").is_err());
        assert!(parse_span("").is_err());
    }

    #[test]
    fn policy_reads_from_toml_with_spans_and_same_day() {
        let p: DeadlinePolicy =
            toml_like(r#"{"first_report": {"I": "10m", "II": "20m", "III": "30m", "IV": "same-day"}, "review": "3d"}"#);
        assert_eq!(p.first_report.i, Limit::After(Duration::minutes(10)));
        assert_eq!(p.first_report.iv, Limit::SameDay);
        assert_eq!(p.review, Duration::days(3));
        assert_eq!(p.verification, DeadlinePolicy::default().verification);
        // Round trip through the stored (frozen) form.
        let back: DeadlinePolicy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn huge_limits_are_refused_without_panicking_and_stored_ones_still_load() {
        for s in ["1000000000000d", "99999999999d", "3651d"] {
            let e = parse_span(s).unwrap_err();
            assert!(e.contains(s) && e.contains("超出范围（最长 3650 天）"), "{e}");
        }
        assert!(serde_json::from_str::<DeadlinePolicy>(r#"{"review": "1000000000000d"}"#).is_err());
        // A stored incident's frozen policy beyond the configuration's bound still reads, and the
        // configuration check names the key.
        let p = toml_like(r#"{"first_report": {"I": "5000d", "II": "20m", "III": "30m", "IV": "30m"}}"#);
        let e = p.validate().unwrap_err();
        assert!(e.contains("deadlines.first_report.I") && e.contains("5000 天") && e.contains("最长 3650 天"), "{e}");
        let e = toml_like(r#"{"review": "4000d"}"#).validate().unwrap_err();
        assert!(e.contains("deadlines.review"), "{e}");
        assert!(DeadlinePolicy::default().validate().is_ok());
        // Due times saturate instead of overflowing.
        let start = DateTime::<Utc>::MAX_UTC - Duration::days(1);
        assert_eq!(
            Limit::After(Duration::days(3650)).due(start, FixedOffset::east_opt(0).unwrap(), &WorkCalendar::default()),
            DateTime::<Utc>::MAX_UTC
        );
    }

    fn toml_like(json: &str) -> DeadlinePolicy {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn working_days_end_at_local_midnight_of_the_nth_working_day() {
        let cal = WorkCalendar::builtin().unwrap();
        let off = DeadlinePolicy::default().offset();
        // 2024 春节: started Friday 2/2 at 16:00; 2/4 (Sun) and 2/18 (Sun) are working days, 2/10–2/17 off.
        let start = t("2024-02-02T16:00:00+08:00");
        assert_eq!(Limit::WorkingDays(1).due(start, off, &cal), t("2024-02-05T00:00:00+08:00"));
        assert_eq!(Limit::WorkingDays(7).due(start, off, &cal), t("2024-02-19T00:00:00+08:00"));
        // 2025 国庆: started Tue 9/30, day 3 is Saturday 10/11 (调休), ending at its 24:00.
        let start = t("2025-09-30T09:00:00+08:00");
        assert_eq!(Limit::WorkingDays(3).due(start, off, &cal), t("2025-10-12T00:00:00+08:00"));
        // 2026 国庆: started Fri 9/25 (中秋 9/25–27 off as well), 5 working days: 9/28, 9/29, 9/30, 10/8, 10/9.
        let start = t("2026-09-25T10:00:00+08:00");
        assert_eq!(Limit::WorkingDays(5).due(start, off, &cal), t("2026-10-10T00:00:00+08:00"));
        // The start day is a local day: 23:30 UTC on Friday 11/20 is Saturday 11/21 in China.
        assert_eq!(Limit::WorkingDays(1).due(t("2026-11-20T23:30:00Z"), off, &cal), t("2026-11-24T00:00:00+08:00"));
        // A plain weekend.
        assert_eq!(
            Limit::WorkingDays(5).due(t("2026-11-20T10:00:00+08:00"), off, &cal),
            t("2026-11-28T00:00:00+08:00")
        );
        assert_eq!(Limit::WorkingDays(5).describe(), "5 个工作日");
    }

    #[test]
    fn working_days_parse_from_the_configuration_and_round_trip() {
        let p = toml_like(r#"{"public_response": {"I": "5wd", "II": "15wd", "III": "2h", "IV": "same-day"}}"#);
        assert_eq!(p.public_response.i, Limit::WorkingDays(5));
        assert_eq!(p.public_response.ii, Limit::WorkingDays(15));
        let back: DeadlinePolicy = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        for bad in ["0wd", "2501wd", "1.5wd", "-3wd", "wd"] {
            let json = format!(r#"{{"public_response": {{"I": "{bad}", "II": "1h", "III": "1h", "IV": "1h"}}}}"#);
            let e = serde_json::from_str::<DeadlinePolicy>(&json).unwrap_err().to_string();
            assert!(e.contains("工作日"), "{bad}: {e}");
        }
        // An incident's policy uses the calendar it carries.
        let start = t("2024-02-08T10:00:00+08:00");
        assert_eq!(p.due(Limit::WorkingDays(5), start), t("2024-02-22T00:00:00+08:00"));
        assert_eq!(p.uncovered_years(start, t("2024-02-22T00:00:00+08:00")), Vec::<i32>::new());
        assert_eq!(p.uncovered_years(t("2030-01-02T10:00:00+08:00"), t("2030-01-09T00:00:00+08:00")), vec![2030]);
    }

    #[test]
    fn remind_at_three_quarters_then_overdue_once() {
        let start = t("2026-11-20T10:00:00+08:00");
        let mut d = vec![Deadline::new(DeadlineKind::Verification, "核查".into(), start, start + Duration::hours(2))];
        assert!(due_escalations(&d, 0.75, start + Duration::minutes(89)).is_empty());
        assert_eq!(due_escalations(&d, 0.75, start + Duration::minutes(90)), vec![(0, Escalation::Remind)]);
        d[0].reminded = true;
        assert!(due_escalations(&d, 0.75, start + Duration::minutes(119)).is_empty());
        assert_eq!(due_escalations(&d, 0.75, start + Duration::minutes(120)), vec![(0, Escalation::Overdue)]);
        d[0].overdue = true;
        assert!(due_escalations(&d, 0.75, start + Duration::hours(5)).is_empty());
    }

    #[test]
    fn a_met_clock_is_never_escalated_and_late_is_recorded() {
        let start = t("2026-11-20T10:00:00+08:00");
        let mut d = Deadline::new(DeadlineKind::FirstReport, "首报".into(), start, start + Duration::minutes(30));
        d.met_at = Some(start + Duration::minutes(40));
        assert!(due_escalations(std::slice::from_ref(&d), 0.75, start + Duration::hours(3)).is_empty());
        assert!(d.is_late(start + Duration::hours(3)));
        d.met_at = Some(start + Duration::minutes(20));
        assert!(!d.is_late(start + Duration::hours(3)));
    }

    #[test]
    fn a_clock_found_past_due_skips_the_reminder() {
        let start = t("2026-11-20T10:00:00+08:00");
        let d = vec![Deadline::new(DeadlineKind::FirstReport, "首报".into(), start, start + Duration::minutes(30))];
        assert_eq!(due_escalations(&d, 0.75, start + Duration::hours(1)), vec![(0, Escalation::Overdue)]);
    }
}
