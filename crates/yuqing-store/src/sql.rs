//! Small helpers every SQLite module of the store shares: times as Unix seconds, and collecting
//! rows whose conversion can fail after the row was read.

use chrono::{DateTime, TimeZone, Utc};

use crate::{Result, StoreError};

/// A time as stored: Unix seconds.
pub(crate) fn ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

/// A stored time back (out-of-range values become the epoch rather than a panic).
pub(crate) fn utc(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

/// An OFFSET for SQLite: saturating, so a huge value skips every row instead of wrapping to a
/// negative number (which SQLite reads as 0) or printing past `i64` (which it refuses).
pub(crate) fn sql_offset(offset: usize) -> i64 {
    i64::try_from(offset).unwrap_or(i64::MAX)
}

/// Rows mapped to `Result<T>`: the first read or conversion error, or all of them.
pub(crate) fn collect<T, E: Into<StoreError>>(
    rows: impl Iterator<Item = std::result::Result<Result<T>, E>>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for r in rows {
        out.push(r.map_err(Into::into)??);
    }
    Ok(out)
}
