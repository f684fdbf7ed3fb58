//! 工作日日历: China's public holidays and make-up workdays (调休) from the State Council General
//! Office's yearly notices, for deadlines counted in working days ("5wd").
//!
//! The built-in data is `data/cn-workdays.toml` (its header names every notice); an operator adds
//! later years with a file of the same format (`[deadlines] calendar = "…"`), whose years replace
//! the built-in ones. Pure: parsing takes text, counting takes dates.
//!
//! Counting rule (as 《民法典》第二百零一条、第二百零三条 and 《政府信息公开条例》 count 工作日): the
//! day the clock starts is not counted, whatever time it started; counting begins with the next
//! working day; the deadline ends at 24:00 local time of the Nth working day. A working day is a
//! Monday to Friday that is not a day off in the notice, or a Saturday/Sunday the notice makes a
//! working day (调休上班). A year no notice covers is counted with plain weekends; callers can ask
//! [`WorkCalendar::uncovered_years`] to say so.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock, RwLock};

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Deserialize;

/// The built-in calendar's text.
pub const BUILTIN: &str = include_str!("../data/cn-workdays.toml");

/// The most working days a limit may count (about ten years, like [`crate::span::MAX`]).
pub const MAX_WORKING_DAYS: u32 = 2500;

/// What is wrong with a calendar file; the message is Chinese and names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("工作日日历{place}：{message}")]
pub struct CalendarError {
    /// "第 12 行" or "（2024 年）", empty when nothing narrower is known.
    pub place: String,
    pub message: String,
}

impl CalendarError {
    fn year(year: i32, message: String) -> CalendarError {
        CalendarError { place: format!("（{year} 年）"), message }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    years: Vec<RawYear>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    source: String,
    #[serde(default)]
    holidays: Vec<RawHoliday>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    from: toml::value::Datetime,
    to: toml::value::Datetime,
    #[serde(default)]
    work: Vec<toml::value::Datetime>,
}

/// One year's arrangement as its notice gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearArrangement {
    pub year: i32,
    /// The notice it comes from.
    pub source: String,
    /// Days off (放假调休), with the holiday's name.
    pub off: BTreeMap<NaiveDate, String>,
    /// Weekend days that are working days (调休上班), with the holiday's name.
    pub work: BTreeMap<NaiveDate, String>,
}

/// The calendar: the years it covers and, flattened, their days off and make-up workdays.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct WorkCalendar {
    years: BTreeMap<i32, YearArrangement>,
    off: BTreeSet<NaiveDate>,
    work: BTreeSet<NaiveDate>,
}

impl std::fmt::Debug for WorkCalendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WorkCalendar({:?})", self.years.keys().collect::<Vec<_>>())
    }
}

fn to_date(d: &toml::value::Datetime, what: &str, year: i32) -> Result<NaiveDate, CalendarError> {
    match (d.date, d.time, d.offset) {
        (Some(date), None, None) => {
            NaiveDate::from_ymd_opt(i32::from(date.year), u32::from(date.month), u32::from(date.day))
                .ok_or_else(|| CalendarError::year(year, format!("{what}“{d}”不是有效日期")))
        }
        _ => Err(CalendarError::year(year, format!("{what}“{d}”应为日期（如 2026-10-01），不带时间"))),
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

impl WorkCalendar {
    /// Reads a calendar file's text (the format of `data/cn-workdays.toml`).
    pub fn parse(src: &str) -> Result<WorkCalendar, CalendarError> {
        let raw: RawFile = toml::from_str(src).map_err(|e| {
            let line = e.span().map(|s| src[..s.start.min(src.len())].matches('\n').count() + 1);
            CalendarError {
                place: line.map(|l| format!("第 {l} 行")).unwrap_or_default(),
                message: e.message().trim().to_string(),
            }
        })?;
        let mut years = BTreeMap::new();
        for y in raw.years {
            let year = y.year;
            if !(1949..=9999).contains(&year) {
                return Err(CalendarError { place: String::new(), message: format!("年份 {year} 无效") });
            }
            if y.source.trim().is_empty() {
                return Err(CalendarError::year(year, "缺少 source（所依据的通知）".into()));
            }
            let mut a = YearArrangement {
                year,
                source: y.source.trim().to_string(),
                off: BTreeMap::new(),
                work: BTreeMap::new(),
            };
            for h in &y.holidays {
                let from = to_date(&h.from, &format!("{} 的 from", h.name), year)?;
                let to = to_date(&h.to, &format!("{} 的 to", h.name), year)?;
                if to < from || (to - from).num_days() > 31 {
                    return Err(CalendarError::year(year, format!("{} 的放假区间 {from} 至 {to} 无效", h.name)));
                }
                // A notice's days off stay within a day of its year (2023's 元旦 starts 2022-12-31).
                for d in [from, to] {
                    if (d.year() - year).abs() > 1 {
                        return Err(CalendarError::year(year, format!("{} 的日期 {d} 不在 {year} 年前后", h.name)));
                    }
                }
                let mut d = from;
                while d <= to {
                    a.off.insert(d, h.name.clone());
                    d += Duration::days(1);
                }
                for w in &h.work {
                    let w = to_date(w, &format!("{} 的调休上班日", h.name), year)?;
                    if !is_weekend(w) {
                        return Err(CalendarError::year(
                            year,
                            format!("{} 的调休上班日 {w} 不是周六或周日（工作日本来就上班）", h.name),
                        ));
                    }
                    a.work.insert(w, h.name.clone());
                }
            }
            if let Some(d) = a.work.keys().find(|d| a.off.contains_key(d)) {
                return Err(CalendarError::year(year, format!("{d} 既是放假日又是调休上班日")));
            }
            if years.insert(year, a).is_some() {
                return Err(CalendarError::year(year, "同一年份出现两次".into()));
            }
        }
        Ok(WorkCalendar::from_years(years))
    }

    fn from_years(years: BTreeMap<i32, YearArrangement>) -> WorkCalendar {
        let off = years.values().flat_map(|a| a.off.keys().copied()).collect();
        let work = years.values().flat_map(|a| a.work.keys().copied()).collect();
        WorkCalendar { years, off, work }
    }

    /// The built-in calendar (2020 onward); an error here is a packaging mistake, reported at start.
    pub fn builtin() -> Result<WorkCalendar, CalendarError> {
        WorkCalendar::parse(BUILTIN).map_err(|e| CalendarError { place: format!("（内置）{}", e.place), ..e })
    }

    /// This calendar with `other`'s years added; a year in both is taken from `other`.
    pub fn merged(&self, other: &WorkCalendar) -> WorkCalendar {
        let mut years = self.years.clone();
        for (y, a) in &other.years {
            years.insert(*y, a.clone());
        }
        WorkCalendar::from_years(years)
    }

    /// The years a notice covers.
    pub fn years(&self) -> impl Iterator<Item = &YearArrangement> {
        self.years.values()
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// Whether `d` is a working day: a make-up workday, or a weekday that is not a day off.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.work.contains(&d) {
            return true;
        }
        !is_weekend(d) && !self.off.contains(&d)
    }

    /// The Nth working day after `start` (`start` itself is never counted). Saturates at the end
    /// of chrono's calendar rather than panicking.
    pub fn nth_working_day_after(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n.max(1);
        while left > 0 {
            match d.succ_opt() {
                Some(next) => d = next,
                None => return d,
            }
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The years between `from` and `to` (inclusive) that no notice covers, so a deadline there
    /// was counted with plain weekends.
    pub fn uncovered_years(&self, from: NaiveDate, to: NaiveDate) -> Vec<i32> {
        (from.year()..=to.year()).filter(|y| !self.covers(*y)).collect()
    }
}

static BUILTIN_PARSED: OnceLock<Arc<WorkCalendar>> = OnceLock::new();
static ACTIVE: RwLock<Option<Arc<WorkCalendar>>> = RwLock::new(None);

/// The calendar in force for this process: the one the desk installed from the configuration,
/// else the built-in one. Incidents read from storage take it (the calendar is not frozen into
/// them, so a year the operator adds later applies to clocks re-computed after that).
pub fn active() -> Arc<WorkCalendar> {
    if let Some(c) = ACTIVE.read().ok().and_then(|g| g.clone()) {
        return c;
    }
    // The built-in data is checked by a unit test and again when the configuration loads; an
    // empty calendar (plain weekends) is the fallback that cannot fail.
    BUILTIN_PARSED.get_or_init(|| Arc::new(WorkCalendar::builtin().unwrap_or_default())).clone()
}

/// Makes `calendar` the one [`active`] returns (the desk calls this with the configured calendar).
pub fn install(calendar: Arc<WorkCalendar>) {
    if let Ok(mut g) = ACTIVE.write() {
        *g = Some(calendar);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_builtin_calendar_parses_and_covers_2020_to_2026_with_sources() {
        let c = WorkCalendar::builtin().unwrap();
        let years: Vec<i32> = c.years().map(|a| a.year).collect();
        assert_eq!(years, (2020..=2026).collect::<Vec<_>>());
        for a in c.years() {
            assert!(a.source.contains(&format!("国务院办公厅关于{}年部分节假日安排的通知", a.year)), "{}", a.source);
            assert!(a.source.contains("国办发明电〔"), "{}", a.source);
        }
    }

    #[test]
    fn spring_festival_2024_with_its_make_up_sundays() {
        let c = WorkCalendar::builtin().unwrap();
        for day in 10..=17 {
            assert!(!c.is_working_day(d(&format!("2024-02-{day:02}"))), "2024-02-{day}");
        }
        assert!(c.is_working_day(d("2024-02-04")), "2/4 Sunday is a make-up workday");
        assert!(c.is_working_day(d("2024-02-18")), "2/18 Sunday is a make-up workday");
        assert!(c.is_working_day(d("2024-02-09")), "除夕 2024 is a working day in the notice");
        assert!(!c.is_working_day(d("2024-02-03")), "a plain Saturday");
    }

    #[test]
    fn national_day_2025_with_its_make_up_sunday_and_saturday() {
        let c = WorkCalendar::builtin().unwrap();
        for day in 1..=8 {
            assert!(!c.is_working_day(d(&format!("2025-10-{day:02}"))));
        }
        assert!(c.is_working_day(d("2025-09-28")), "9/28 Sunday");
        assert!(c.is_working_day(d("2025-10-11")), "10/11 Saturday");
        assert!(c.is_working_day(d("2025-10-09")) && c.is_working_day(d("2025-10-10")));
        assert!(!c.is_working_day(d("2025-10-12")), "a plain Sunday");
    }

    #[test]
    fn counting_skips_the_start_day_weekends_and_holidays() {
        let c = WorkCalendar::builtin().unwrap();
        // Started Friday 2024-02-02: Sun 2/4 (调休), Mon 2/5 … Fri 2/9 are days 1–6; 2/10–2/17 off;
        // Sun 2/18 (调休) is day 7, Mon 2/19 day 8.
        assert_eq!(c.nth_working_day_after(d("2024-02-02"), 1), d("2024-02-04"));
        assert_eq!(c.nth_working_day_after(d("2024-02-02"), 6), d("2024-02-09"));
        assert_eq!(c.nth_working_day_after(d("2024-02-02"), 7), d("2024-02-18"));
        assert_eq!(c.nth_working_day_after(d("2024-02-02"), 8), d("2024-02-19"));
        // 2025 国庆: started Tue 9/30, day 1 is Thu 10/9, day 3 is Sat 10/11 (调休), day 4 Mon 10/13.
        assert_eq!(c.nth_working_day_after(d("2025-09-30"), 1), d("2025-10-09"));
        assert_eq!(c.nth_working_day_after(d("2025-09-30"), 3), d("2025-10-11"));
        assert_eq!(c.nth_working_day_after(d("2025-09-30"), 4), d("2025-10-13"));
        // Started Saturday 2025-09-27: Sunday 9/28 (调休) is day 1.
        assert_eq!(c.nth_working_day_after(d("2025-09-27"), 1), d("2025-09-28"));
        // A plain week: started Friday 2026-11-20, 5 working days end Friday 11/27.
        assert_eq!(c.nth_working_day_after(d("2026-11-20"), 5), d("2026-11-27"));
    }

    #[test]
    fn years_without_a_notice_count_plain_weekends_and_are_reported() {
        let c = WorkCalendar::builtin().unwrap();
        // 2028-01-01 is a Saturday; with no 2028 notice, New Year's Day is not known as a holiday.
        assert!(!c.is_working_day(d("2028-01-01")));
        assert!(c.is_working_day(d("2028-01-03")));
        assert_eq!(c.nth_working_day_after(d("2026-12-30"), 5), d("2027-01-06"));
        assert_eq!(c.uncovered_years(d("2026-12-30"), d("2027-01-06")), vec![2027]);
        assert!(c.uncovered_years(d("2026-02-01"), d("2026-03-01")).is_empty());
    }

    #[test]
    fn an_operator_file_adds_and_replaces_years() {
        let base = WorkCalendar::builtin().unwrap();
        let extra = WorkCalendar::parse(
            r#"
[[years]]
year = 2027
source = "本地测试"
holidays = [{ name = "元旦", from = 2027-01-01, to = 2027-01-03, work = [2027-01-09] }]
"#,
        )
        .unwrap();
        let c = base.merged(&extra);
        assert!(c.covers(2027) && c.covers(2024));
        assert!(!c.is_working_day(d("2027-01-01")) && c.is_working_day(d("2027-01-09")));
        assert_eq!(c.nth_working_day_after(d("2026-12-30"), 2), d("2027-01-04"));
        // Replacing 2024 drops its built-in days.
        let replaced = base.merged(&WorkCalendar::parse("[[years]]\nyear = 2024\nsource = \"改\"\n").unwrap());
        assert!(replaced.is_working_day(d("2024-02-12")) && !replaced.is_working_day(d("2024-02-18")));
    }

    #[test]
    fn bad_files_get_chinese_errors_naming_the_place() {
        let e = WorkCalendar::parse("[[years]]\nyear = 2027\nsource = \"x\"\nholidays = [{ name = \"春节\", from = 2027-02-05, to = 2027-02-11, work = [2027-02-08] }]\n").unwrap_err();
        assert!(e.to_string().contains("2027 年") && e.to_string().contains("不是周六或周日"), "{e}");
        let e = WorkCalendar::parse("[[years]]\nyear = 2027\nsource = \"x\"\nholidays = [{ name = \"春节\", from = \"2月5日\", to = 2027-02-11 }]\n")
            .unwrap_err();
        assert!(e.to_string().contains("第 4 行"), "{e}");
        let e = WorkCalendar::parse("[[years]]\nyear = 2027\nsource = \"x\"\nholidays = [{ name = \"春节\", from = 2027-02-11, to = 2027-02-05 }]\n")
            .unwrap_err();
        assert!(e.to_string().contains("无效"), "{e}");
        let e = WorkCalendar::parse("[[years]]\nyear = 2027\nsource = \"\"\n").unwrap_err();
        assert!(e.to_string().contains("source"), "{e}");
        let e = WorkCalendar::parse("[[years]]\nyear = 2027\nsource = \"a\"\n[[years]]\nyear = 2027\nsource = \"b\"\n")
            .unwrap_err();
        assert!(e.to_string().contains("两次"), "{e}");
        let e = WorkCalendar::parse("[[years]]\nyear = 2027\nsource = \"a\"\nholidays = [{ name = \"x\", from = 2027-10-01T08:00:00, to = 2027-10-02 }]\n").unwrap_err();
        assert!(e.to_string().contains("不带时间"), "{e}");
    }
}
