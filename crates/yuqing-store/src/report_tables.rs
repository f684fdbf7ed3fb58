//! The report tables (schema: migration 5): the archive of produced reports, the scheduler's
//! state, serial counters, 舆情处置情况报告单 (disposal reports) and the 隐患排查表 (risk register)
//! with its history; and the period figures the reports read from posts, stories and incidents.
//! Rows in and rows out: the report bodies are JSON that `yuqing-report` writes and reads (it owns
//! their shape and the rules of each change); the SQL is here.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use crate::sql::{sql_offset, ts, utc};
use crate::Result;

// ---------------------------------------------------------------- archive

/// A produced report as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchiveEntry {
    pub id: i64,
    pub kind: String,
    pub period: String,
    pub title: String,
    /// "schedule" (produced by the server's clock) or "manual".
    pub trigger: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A report to archive: its kind, period, title and body (JSON).
#[derive(Debug, Clone, Copy)]
pub struct NewArchived<'a> {
    pub kind: &'a str,
    pub period: &'a str,
    pub title: &'a str,
    pub data: &'a str,
    pub trigger: &'a str,
    pub by: &'a str,
}

/// Stores a produced report; returns its id.
pub fn archive_put(conn: &Connection, r: NewArchived<'_>, now: DateTime<Utc>) -> Result<i64> {
    conn.execute(
        "INSERT INTO report_archive (kind, period, title, data, trigger, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![r.kind, r.period, r.title, r.data, r.trigger, r.by, ts(now)],
    )?;
    Ok(conn.last_insert_rowid())
}

fn entry_row(r: &Row<'_>) -> rusqlite::Result<ArchiveEntry> {
    Ok(ArchiveEntry {
        id: r.get(0)?,
        kind: r.get(1)?,
        period: r.get(2)?,
        title: r.get(3)?,
        trigger: r.get(4)?,
        created_by: r.get(5)?,
        created_at: utc(r.get(6)?),
    })
}

/// Archived reports, newest first, with how many there are; `kind` narrows.
pub fn archive_list(
    conn: &Connection,
    kind: Option<&str>,
    limit: usize,
    offset: usize,
) -> Result<(Vec<ArchiveEntry>, u64)> {
    let total: i64 =
        conn.query_row("SELECT COUNT(*) FROM report_archive WHERE ?1 IS NULL OR kind = ?1", [kind], |r| r.get(0))?;
    let mut st = conn.prepare_cached(
        "SELECT id, kind, period, title, trigger, created_by, created_at FROM report_archive WHERE ?1 IS NULL OR kind = ?1 \
         ORDER BY id DESC LIMIT ?2 OFFSET ?3",
    )?;
    let items = st
        .query_map(params![kind, limit.clamp(1, 500) as i64, sql_offset(offset)], entry_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((items, total.max(0) as u64))
}

/// One archived report with its body (JSON).
pub fn archive_get(conn: &Connection, id: i64) -> Result<Option<(ArchiveEntry, String)>> {
    Ok(conn
        .query_row(
            "SELECT id, kind, period, title, trigger, created_by, created_at, data FROM report_archive WHERE id = ?1",
            [id],
            |r| Ok((entry_row(r)?, r.get::<_, String>(7)?)),
        )
        .optional()?)
}

/// The newest archived report of a kind and period, if any.
pub fn archive_find(conn: &Connection, kind: &str, period: &str) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MAX(id) FROM report_archive WHERE kind = ?1 AND period = ?2",
        params![kind, period],
        |r| r.get(0),
    )?)
}

// ---------------------------------------------------------------- scheduler state

/// The last period a scheduled job produced (e.g. "2026-11-20" for the digest).
pub fn schedule_last(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT last_period FROM report_schedule WHERE name = ?1", [name], |r| r.get(0)).optional()?)
}

pub fn schedule_set(conn: &Connection, name: &str, period: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "INSERT INTO report_schedule (name, last_period, at) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET last_period = ?2, at = ?3",
        params![name, period, ts(now)],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- serials

/// The next number of `scope` in `year`; call inside a [`crate::Work::begin_immediate`] unit.
pub fn next_serial(tx: &Connection, scope: &str, year: i32) -> Result<i64> {
    Ok(tx.query_row(
        "INSERT INTO report_serials (scope, year, last) VALUES (?1, ?2, 1) \
         ON CONFLICT(scope, year) DO UPDATE SET last = last + 1 RETURNING last",
        params![scope, year],
        |r| r.get(0),
    )?)
}

/// Serial counters and the report schedule on either backend: implemented by the SQLite connection
/// (`&Connection`, through the functions above) and by a PostgreSQL client or transaction
/// (`pg::desk`). Both are read-then-write state several nodes share: inside one unit of work, a
/// serial taken or a schedule read stays this unit's until it ends (SQLite: the unit's write lock,
/// [`crate::Work::begin_immediate`]; PostgreSQL: the counter's row lock, and a lock on the schedule
/// that [`ReportState::schedule_last`] takes), so two nodes never issue the same number or produce
/// the same period twice.
pub trait ReportState {
    /// See [`next_serial`]: 1, 2, 3, … per (scope, year), without gaps.
    fn next_serial(&mut self, scope: &str, year: i32) -> Result<i64>;
    /// See [`schedule_last`].
    fn schedule_last(&mut self, name: &str) -> Result<Option<String>>;
    /// See [`schedule_set`].
    fn schedule_set(&mut self, name: &str, period: &str, now: DateTime<Utc>) -> Result<()>;
}

/// Implements [`ReportState`] for each client type by calling the functions of the same names where
/// it is used: this module's on SQLite (below), `pg::desk`'s on PostgreSQL.
macro_rules! report_state_on {
    ($($client:ty),*) => {$(
        impl $crate::report_tables::ReportState for $client {
            fn next_serial(&mut self, scope: &str, year: i32) -> Result<i64> {
                next_serial(self, scope, year)
            }
            fn schedule_last(&mut self, name: &str) -> Result<Option<String>> {
                schedule_last(self, name)
            }
            fn schedule_set(&mut self, name: &str, period: &str, now: DateTime<Utc>) -> Result<()> {
                schedule_set(self, name, period, now)
            }
        }
    )*};
}
pub(crate) use report_state_on;

report_state_on!(&Connection);

// ---------------------------------------------------------------- disposal reports

const DISPOSAL_COLS: &str = "id, incident_id, serial, status, data, created_at, updated_at, issued_at";

/// A `disposal_reports` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisposalRow {
    pub id: i64,
    pub incident_id: i64,
    pub serial: Option<String>,
    /// "draft" or "issued".
    pub status: String,
    /// The report's fields (JSON).
    pub data: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
}

fn disposal_row(r: &Row<'_>) -> rusqlite::Result<DisposalRow> {
    Ok(DisposalRow {
        id: r.get(0)?,
        incident_id: r.get(1)?,
        serial: r.get(2)?,
        status: r.get(3)?,
        data: r.get(4)?,
        created_at: utc(r.get(5)?),
        updated_at: utc(r.get(6)?),
        issued_at: r.get::<_, Option<i64>>(7)?.map(utc),
    })
}

pub fn disposal_get(conn: &Connection, id: i64) -> Result<Option<DisposalRow>> {
    Ok(conn
        .query_row(&format!("SELECT {DISPOSAL_COLS} FROM disposal_reports WHERE id = ?1"), [id], disposal_row)
        .optional()?)
}

/// Disposal reports, newest first; of one incident when given.
pub fn disposal_list(conn: &Connection, incident: Option<i64>, limit: usize) -> Result<Vec<DisposalRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {DISPOSAL_COLS} FROM disposal_reports WHERE ?1 IS NULL OR incident_id = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![incident, limit.clamp(1, 1000) as i64], disposal_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Whether the incident exists.
pub fn incident_exists(conn: &Connection, incident_id: i64) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM incidents WHERE id = ?1)", [incident_id], |r| r.get(0))?)
}

/// A new draft of an incident; its id.
pub fn disposal_insert(conn: &Connection, incident_id: i64, data: &str, now: DateTime<Utc>) -> Result<i64> {
    conn.execute(
        "INSERT INTO disposal_reports (incident_id, serial, status, data, created_at, updated_at) VALUES (?1, NULL, 'draft', ?2, ?3, ?3)",
        params![incident_id, data, ts(now)],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Replaces a draft's fields (an issued report is never changed: the statement says `draft`, and
/// a database trigger refuses it too).
pub fn disposal_update_draft(conn: &Connection, id: i64, data: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE disposal_reports SET data = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'draft'",
        params![id, data, ts(now)],
    )?;
    Ok(())
}

/// Marks a draft issued under `serial`.
pub fn disposal_mark_issued(conn: &Connection, id: i64, serial: &str, data: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE disposal_reports SET serial = ?2, status = 'issued', data = ?3, updated_at = ?4, issued_at = ?4 WHERE id = ?1 AND status = 'draft'",
        params![id, serial, data, ts(now)],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- risk register

const RISK_COLS: &str = "id, status, data, created_at, updated_at";

/// A `risk_items` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskRow {
    pub id: i64,
    /// "open", "in_progress", "resolved", …
    pub status: String,
    /// The line's fields (JSON).
    pub data: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn risk_row(r: &Row<'_>) -> rusqlite::Result<RiskRow> {
    Ok(RiskRow {
        id: r.get(0)?,
        status: r.get(1)?,
        data: r.get(2)?,
        created_at: utc(r.get(3)?),
        updated_at: utc(r.get(4)?),
    })
}

pub fn risk_get(conn: &Connection, id: i64) -> Result<Option<RiskRow>> {
    Ok(conn.query_row(&format!("SELECT {RISK_COLS} FROM risk_items WHERE id = ?1"), [id], risk_row).optional()?)
}

/// The register (of one department when given), oldest first.
pub fn risk_list(conn: &Connection, department: Option<&str>) -> Result<Vec<RiskRow>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {RISK_COLS} FROM risk_items WHERE ?1 IS NULL OR department = ?1 ORDER BY id"
    ))?;
    let rows = st.query_map([department], risk_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// A new line of the register (its fields follow with [`risk_write`]); its id.
pub fn risk_insert(conn: &Connection, department: &str, due_date: &str, now: DateTime<Utc>) -> Result<i64> {
    conn.execute(
        "INSERT INTO risk_items (department, status, due_date, data, created_at, updated_at) VALUES (?1, 'open', ?2, '{}', ?3, ?3)",
        params![department, due_date, ts(now)],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A line as it stands after a change, and the change.
#[derive(Debug, Clone, Copy)]
pub struct RiskWrite<'a> {
    pub id: i64,
    pub department: &'a str,
    pub status: &'a str,
    pub due_date: &'a str,
    /// The line's fields (JSON).
    pub data: &'a str,
    pub actor: &'a str,
    /// What changed, as the history shows it.
    pub change: &'a str,
}

/// Writes a line and appends the change, with the line after it, to its history.
pub fn risk_write(conn: &Connection, w: RiskWrite<'_>, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "UPDATE risk_items SET department = ?2, status = ?3, due_date = ?4, data = ?5, updated_at = ?6 WHERE id = ?1",
        params![w.id, w.department, w.status, w.due_date, w.data, ts(now)],
    )?;
    conn.execute(
        "INSERT INTO risk_item_history (item_id, at, actor, change, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![w.id, ts(now), w.actor, w.change, w.data],
    )?;
    Ok(())
}

/// A line of an item's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskHistoryRow {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub change: String,
    /// The line after the change (JSON).
    pub data: String,
}

pub fn risk_history(conn: &Connection, id: i64) -> Result<Vec<RiskHistoryRow>> {
    let mut st =
        conn.prepare_cached("SELECT at, actor, change, data FROM risk_item_history WHERE item_id = ?1 ORDER BY id")?;
    let rows = st
        .query_map([id], |r| {
            Ok(RiskHistoryRow { at: utc(r.get(0)?), actor: r.get(1)?, change: r.get(2)?, data: r.get(3)? })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Departments with items in the register.
pub fn risk_departments(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT DISTINCT department FROM risk_items ORDER BY department")?;
    let v = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(v)
}

// ---------------------------------------------------------------- period figures

/// A post published in a report's period, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodPost {
    pub id: i64,
    pub story_id: i64,
    pub title: String,
    pub text: String,
    pub url: Option<String>,
    pub source: String,
    pub published_at: DateTime<Utc>,
    /// The watch-rule hits (JSON array).
    pub hits: String,
    /// The topics (JSON array).
    pub topics: String,
    /// 0 negative, 1 neutral, 2 positive.
    pub sentiment: i64,
    /// Reads + comments + reposts + likes.
    pub interactions: i64,
}

/// Posts published in `[start, end)`, in id order.
pub fn posts_between(conn: &Connection, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<PeriodPost>> {
    let mut st = conn.prepare_cached(
        "SELECT id, story_id, title, text, url, source, published_at, hits, topics, sentiment, reads + comments + reposts + likes \
         FROM posts WHERE published_at >= ?1 AND published_at < ?2 ORDER BY id",
    )?;
    let rows = st
        .query_map(params![ts(start), ts(end)], |r| {
            Ok(PeriodPost {
                id: r.get(0)?,
                story_id: r.get(1)?,
                title: r.get(2)?,
                text: r.get(3)?,
                url: r.get(4)?,
                source: r.get(5)?,
                published_at: utc(r.get(6)?),
                hits: r.get(7)?,
                topics: r.get(8)?,
                sentiment: r.get(9)?,
                interactions: r.get(10)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Which moment of an incident falls in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentMoment {
    Opened,
    Closed,
}

/// (id, data JSON) of the incidents opened (or closed) in `[start, end)`, in id order.
pub fn incidents_between(
    conn: &Connection,
    moment: IncidentMoment,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<(i64, String)>> {
    let sql = match moment {
        IncidentMoment::Opened => "SELECT id, data FROM incidents WHERE opened_at >= ?1 AND opened_at < ?2 ORDER BY id",
        IncidentMoment::Closed => "SELECT id, data FROM incidents WHERE closed_at >= ?1 AND closed_at < ?2 ORDER BY id",
    };
    let mut st = conn.prepare_cached(sql)?;
    let rows = st
        .query_map(params![ts(start), ts(end)], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// What the desk did in a period, counted for the reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ActivityCounts {
    /// First reports (an incident reaching the 报告 step).
    pub first_reports: u32,
    /// Reports to the leadership.
    pub leadership_reports: u32,
    /// Disposal reports issued.
    pub disposals_issued: u32,
    /// Public responses published.
    pub publications: u32,
    /// Deadlines missed.
    pub overdue: u32,
    /// Posts published.
    pub posts: u64,
    /// Incidents closed.
    pub closed: u32,
}

/// The desk's activity in `[start, end)`.
pub fn activity_counts(conn: &Connection, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<ActivityCounts> {
    let (s, e) = (ts(start), ts(end));
    let q = |sql: &str| -> Result<i64> { Ok(conn.query_row(sql, params![s, e], |r| r.get::<_, i64>(0))?.max(0)) };
    let small = |sql: &str| -> Result<u32> { Ok(u32::try_from(q(sql)?).unwrap_or(u32::MAX)) };
    Ok(ActivityCounts {
        first_reports: small(
            "SELECT COUNT(*) FROM incident_events WHERE at >= ?1 AND at < ?2 AND kind = 'state_changed' \
             AND json_extract(detail, '$.step') = 'Report'",
        )?,
        leadership_reports: small(
            "SELECT COUNT(*) FROM incident_events WHERE at >= ?1 AND at < ?2 AND kind = 'leadership_reported'",
        )?,
        disposals_issued: small("SELECT COUNT(*) FROM disposal_reports WHERE issued_at >= ?1 AND issued_at < ?2")?,
        publications: small("SELECT COUNT(*) FROM incident_events WHERE at >= ?1 AND at < ?2 AND kind = 'published'")?,
        overdue: small("SELECT COUNT(*) FROM overdue WHERE recorded_at >= ?1 AND recorded_at < ?2")?,
        posts: q("SELECT COUNT(*) FROM posts WHERE published_at >= ?1 AND published_at < ?2")? as u64,
        closed: small("SELECT COUNT(*) FROM incidents WHERE closed_at >= ?1 AND closed_at < ?2")?,
    })
}

/// The stories under way in `[start, end)` (not marked 误报), gravest and largest first, at most
/// `limit`.
pub fn stories_active_between(
    conn: &Connection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<i64>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT id FROM stories WHERE last_at >= ?1 AND first_at < ?2 AND {} ORDER BY grade_rank DESC, posts DESC, id LIMIT ?3",
        crate::false_alarm::NOT_MARKED
    ))?;
    let ids = st
        .query_map(params![ts(start), ts(end), limit as i64], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids)
}
