//! Local days, weeks and months as UTC instants: a report period is `[start, end)` of local time at
//! a fixed offset (Asia/Shanghai by default). Pure.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::{ReportError, Result};

/// A span of whole local days, `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Period {
    pub fn day(d: NaiveDate) -> Period {
        Period { first: d, last: d }
    }

    /// Monday to Sunday of the week holding `d`.
    pub fn week_of(d: NaiveDate) -> Period {
        let first = d - Duration::days(d.weekday().num_days_from_monday() as i64);
        Period { first, last: first + Duration::days(6) }
    }

    /// The calendar month holding `d`.
    pub fn month_of(d: NaiveDate) -> Period {
        let first = d.with_day(1).unwrap_or(d);
        let next = if first.month() == 12 {
            NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
        };
        Period { first, last: next.map_or(first, |n| n - Duration::days(1)) }
    }

    pub fn new(first: NaiveDate, last: NaiveDate) -> Result<Period> {
        if last < first {
            return Err(ReportError::Invalid(format!("统计区间有误：结束日期 {last} 早于开始日期 {first}")));
        }
        if (last - first).num_days() > 3660 {
            return Err(ReportError::Invalid("统计区间不能超过十年".into()));
        }
        Ok(Period { first, last })
    }

    pub fn days(&self) -> i64 {
        (self.last - self.first).num_days() + 1
    }

    /// `[start, end)` in UTC.
    pub fn bounds(&self, offset: FixedOffset) -> (DateTime<Utc>, DateTime<Utc>) {
        (local_midnight(self.first, offset), local_midnight(self.last + Duration::days(1), offset))
    }

    /// "2026年11月20日" or "2026年11月16日至11月22日".
    pub fn label_zh(&self) -> String {
        if self.first == self.last {
            return zh_date(self.first);
        }
        let last = if self.last.year() == self.first.year() {
            format!("{}月{}日", self.last.month(), self.last.day())
        } else {
            zh_date(self.last)
        };
        format!("{}至{}", zh_date(self.first), last)
    }

    /// A stable key for storage: "2026-11-20" or "2026-11-16~2026-11-22".
    pub fn key(&self) -> String {
        if self.first == self.last {
            self.first.to_string()
        } else {
            format!("{}~{}", self.first, self.last)
        }
    }
}

/// Local midnight of `d` as UTC.
pub fn local_midnight(d: NaiveDate, offset: FixedOffset) -> DateTime<Utc> {
    let naive = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    offset.from_local_datetime(&naive).single().map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc))
}

/// The local date of an instant.
pub fn local_date(t: DateTime<Utc>, offset: FixedOffset) -> NaiveDate {
    t.with_timezone(&offset).date_naive()
}

/// "2026年11月20日".
pub fn zh_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// "2026年11月20日 09:05": the one date-and-time style of report text.
pub fn zh_datetime(t: DateTime<Utc>, offset: FixedOffset) -> String {
    let l = t.with_timezone(&offset);
    format!("{} {}", zh_date(l.date_naive()), l.format("%H:%M"))
}

/// Parses `YYYY-MM-DD`, naming the argument when it fails.
pub fn parse_date(s: &str, what: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| ReportError::Invalid(format!("{what}“{s}”应写成 YYYY-MM-DD，例如 2026-11-20")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_local_day_starts_at_local_midnight() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let (s, e) = Period::day(d).bounds(yuqing_core::china());
        assert_eq!(s, Utc.with_ymd_and_hms(2026, 11, 19, 16, 0, 0).unwrap());
        assert_eq!(e - s, Duration::days(1));
    }

    #[test]
    fn weeks_run_monday_to_sunday_and_months_end_on_their_last_day() {
        let w = Period::week_of(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap());
        assert_eq!((w.first.to_string(), w.last.to_string()), ("2026-11-16".into(), "2026-11-22".into()));
        let m = Period::month_of(NaiveDate::from_ymd_opt(2024, 2, 10).unwrap());
        assert_eq!(m.last.to_string(), "2024-02-29");
        assert_eq!(w.label_zh(), "2026年11月16日至11月22日");
    }
}
