//! Months of posts: which partition a publication time falls in, its bounds and its table name.
//! Pure; months are calendar months in UTC, the time zone `published_at` is stored in.

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use crate::sql::utc;

/// A calendar month (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// The month a stored time (Unix seconds) falls in.
    pub fn of(secs: i64) -> Month {
        let t = utc(secs);
        Month { year: t.year(), month: t.month() }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year.saturating_add(1), month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }

    /// Unix seconds of the month's first instant; None past chrono's calendar.
    fn start(self) -> Option<i64> {
        let day = NaiveDate::from_ymd_opt(self.year, self.month, 1)?;
        Some(Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?).timestamp())
    }

    /// `[from, to)` in Unix seconds. The months at the ends of chrono's calendar are open towards
    /// the end of `i64`, so every storable time has a month.
    pub fn bounds(self) -> (i64, i64) {
        let from = self.start().unwrap_or(i64::MIN);
        let to = self.next().start().filter(|&t| t > from).unwrap_or(i64::MAX);
        (from, to)
    }

    /// The partition's table name, quoted (a year before 1 or after 9999 has a sign or more
    /// digits, still one identifier).
    pub fn table(self) -> String {
        format!("\"posts_{:04}_{:02}\"", self.year, self.month)
    }

    /// The month a partition's table name names, for the tables this store created.
    pub fn from_table(name: &str) -> Option<Month> {
        let rest = name.strip_prefix("posts_")?;
        let (year, month) = rest.rsplit_once('_')?;
        let month: u32 = month.parse().ok().filter(|m| (1..=12).contains(m))?;
        Some(Month { year: year.parse().ok()?, month })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).expect("time").timestamp()
    }

    #[test]
    fn a_time_falls_in_its_utc_month_and_the_bounds_meet() {
        // 08:00 on 1 March in Beijing is still February in UTC.
        assert_eq!(Month::of(at("2020-03-01T07:59:59+08:00")), Month { year: 2020, month: 2 });
        assert_eq!(Month::of(at("2020-03-01T08:00:00+08:00")), Month { year: 2020, month: 3 });
        let feb = Month { year: 2020, month: 2 };
        let (from, to) = feb.bounds();
        assert_eq!((from, to), (at("2020-02-01T00:00:00Z"), at("2020-03-01T00:00:00Z")));
        assert_eq!(feb.next().bounds().0, to, "months meet without a gap");
        assert_eq!(Month { year: 2020, month: 12 }.next(), Month { year: 2021, month: 1 });
    }

    #[test]
    fn table_names_round_trip_and_foreign_tables_are_not_months() {
        let m = Month { year: 2020, month: 2 };
        assert_eq!(m.table(), "\"posts_2020_02\"");
        assert_eq!(Month::from_table("posts_2020_02"), Some(m));
        assert_eq!(Month::from_table("posts_-0001_12"), Some(Month { year: -1, month: 12 }));
        assert_eq!(Month::from_table("posts_2020_13"), None);
        assert_eq!(Month::from_table("post_keys"), None);
    }

    #[test]
    fn every_storable_time_lies_in_its_months_bounds() {
        let ends = [chrono::DateTime::<Utc>::MIN_UTC.timestamp(), -1, 0, chrono::DateTime::<Utc>::MAX_UTC.timestamp()];
        for secs in ends {
            let (from, to) = Month::of(secs).bounds();
            assert!(from <= secs && secs < to, "{secs} in [{from}, {to})");
        }
    }
}
