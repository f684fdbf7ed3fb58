//! Durations written in the configuration: `"250ms"`, `"30s"`, `"5m"`, `"2h"`, `"7d"`, `"1h30m"`.
//! One parser for every key (`[collect]`, `[[sources]]`, `[desk]`, `[deadlines]`), with checked
//! arithmetic and an upper bound, so a configured duration can never overflow later arithmetic on
//! times (`now - retention`, `start + limit`). Pure.

use std::time::Duration;

/// The longest duration a configuration key accepts: 3650 days (about ten years).
pub const MAX_DAYS: u64 = 3650;

/// [`MAX_DAYS`] as a duration.
pub const MAX: Duration = Duration::from_secs(MAX_DAYS * 86_400);

/// Why a duration was refused. Shown after "时长“…”" (see [`message`]), so it reads as Chinese.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    #[error("为空，应写成 30s、5m、2h、7d 这样的形式")]
    Empty,
    #[error("的单位“{0}”无法识别，可用 ms、s、m、h、d（如 30s、5m、2h、7d、1h30m）")]
    Unit(char),
    #[error("的单位前缺少数字（应写成 30s、5m、2h、7d 这样的形式）")]
    MissingNumber,
    #[error("缺少单位（ms、s、m、h 或 d）")]
    MissingUnit,
    #[error("超出范围（最长 {MAX_DAYS} 天）")]
    TooLong,
    #[error("必须大于零")]
    Zero,
    #[error("不能含毫秒（最小单位为秒）")]
    SubSecond,
}

/// A user-facing message naming the key: `配置项 collect.snapshot_retention 的时长“99999999999d”超出范围（最长 3650 天）`.
pub fn message(key: &str, value: &str, e: SpanError) -> String {
    format!("配置项 {key} 的时长“{}”{e}", value.trim())
}

/// Parses a duration of at most [`MAX`]; zero is allowed (`"0s"`). Units: `ms`, `s`, `m`, `h`, `d`,
/// combined in any order (`"1h30m"`, `"1s500ms"`).
pub fn parse(s: &str) -> Result<Duration, SpanError> {
    parse_within(s, MAX)
}

/// Like [`parse`], but the value must be more than zero.
pub fn parse_positive(s: &str) -> Result<Duration, SpanError> {
    match parse(s)? {
        d if d.is_zero() => Err(SpanError::Zero),
        d => Ok(d),
    }
}

/// Like [`parse`] with another upper bound (values read back from storage, which a later,
/// stricter configuration check must not make unreadable). Never overflows, whatever the digits.
pub fn parse_within(s: &str, max: Duration) -> Result<Duration, SpanError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(SpanError::Empty);
    }
    let max_ms = max.as_millis();
    let mut total_ms: u128 = 0;
    let mut number: Option<u128> = None;
    let mut chars = t.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(digit) = c.to_digit(10) {
            // Digits past the bound are too long, not malformed: saturate and report TooLong below.
            let n = number.unwrap_or(0).saturating_mul(10).saturating_add(u128::from(digit));
            number = Some(n.min(u128::from(u64::MAX)));
            continue;
        }
        let unit_ms: u128 = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            other => return Err(SpanError::Unit(other)),
        };
        let n = number.take().ok_or(SpanError::MissingNumber)?;
        total_ms = total_ms.saturating_add(n.saturating_mul(unit_ms));
        if total_ms > max_ms {
            return Err(SpanError::TooLong);
        }
    }
    if number.is_some() {
        return Err(SpanError::MissingUnit);
    }
    // total_ms <= max_ms, which fits a u64 of milliseconds for any sensible bound.
    let ms = u64::try_from(total_ms).map_err(|_| SpanError::TooLong)?;
    Ok(Duration::from_millis(ms))
}

/// A bounded `std` duration as a `chrono` one (never panics: the bound is far inside chrono's range).
pub fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_combine() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse(" 250ms "), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1s500ms"), Ok(Duration::from_millis(1500)));
        // Milliseconds before seconds are added, not multiplied.
        assert_eq!(parse("500ms1s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("3650d"), Ok(MAX));
    }

    #[test]
    fn malformed_values_say_why() {
        assert_eq!(parse(""), Err(SpanError::Empty));
        assert_eq!(parse("30"), Err(SpanError::MissingUnit));
        assert_eq!(parse("2w"), Err(SpanError::Unit('w')));
        assert_eq!(parse("五分钟"), Err(SpanError::Unit('五')));
        assert_eq!(parse("m"), Err(SpanError::MissingNumber));
        assert_eq!(parse("-5s"), Err(SpanError::Unit('-')));
        assert_eq!(parse_positive("0s"), Err(SpanError::Zero));
    }

    #[test]
    fn huge_values_are_too_long_and_never_overflow() {
        for s in
            ["3651d", "99999999999d", "1000000000000d", "99999999999999999999999999999999999d", "87601h", "5256001m"]
        {
            assert_eq!(parse(s), Err(SpanError::TooLong), "{s}");
        }
        assert_eq!(parse("3650d1s"), Err(SpanError::TooLong));
        assert_eq!(parse_within("5000d", Duration::from_secs(10_000 * 86_400)), Ok(Duration::from_secs(5000 * 86_400)));
    }

    #[test]
    fn the_message_names_the_key_and_the_value() {
        let e = parse("99999999999d").unwrap_err();
        assert_eq!(
            message("collect.snapshot_retention", "99999999999d", e),
            "配置项 collect.snapshot_retention 的时长“99999999999d”超出范围（最长 3650 天）"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[0-9msdh五 ]{0,40}") {
            if let Ok(d) = parse(&s) {
                proptest::prop_assert!(d <= MAX);
            }
        }
    }
}
