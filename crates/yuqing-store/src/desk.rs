//! Storage of the incident desk: users, incidents and their timelines, alert acknowledgements,
//! the duty roster, attachments, overdue records, cursors and the hash-chained audit log.
//! Plain functions over `&Connection` so a caller writes an incident change, its timeline, its
//! audit entry and its outbox messages in one transaction. Time is always an argument. The traits
//! [`AuditLog`] and [`DeskTables`] (all but users, which are in [`crate::auth::AuthTables`]) put
//! the same on PostgreSQL (`pg::desk`, `pg::desk_tables`), which reuses the row mapping here.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use yuqing_core::audit::{self, AuditEntry, ChainBreak};
use yuqing_core::duty::{DutyRole, DutyShift};
use yuqing_core::incident::{Event, EventKind, Incident, IncidentState};
use yuqing_core::people::{Actor, Role, Title};
use yuqing_core::{Alert, Grade};

use crate::sql::{collect, ts, utc};
use crate::{Page, Result, StoreError};

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { what: what.to_string(), detail: e.to_string() }
}
pub(crate) fn to_json<T: Serialize>(what: &str, v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| corrupt(what, e))
}

// ---------------------------------------------------------------- users

/// A desk user. The API token is kept only as its sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub role: Role,
    pub department: Option<String>,
    pub titles: Vec<Title>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Notification channels (by configured name) that reach this person.
    pub channels: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn actor(&self) -> Actor {
        Actor {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            department: self.department.clone(),
            titles: self.titles.clone(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub name: String,
    pub display_name: String,
    pub role: Option<Role>,
    pub department: Option<String>,
    pub titles: Vec<Title>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub channels: Vec<String>,
}

/// sha256 of an API token, as stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The columns of a users query, in the order [`user_record`] reads them (both backends).
pub(crate) const USER_COLS: &str =
    "id, name, display_name, role, department, titles, phone, email, channels, active, created_at";

/// A user from a row of [`USER_COLS`], on either backend (`active` is SQLite 0/1 or a BOOLEAN).
pub(crate) fn user_record(r: &impl crate::rows::Cols) -> Result<User> {
    let role = r.text(3)?;
    let titles = r.text(5)?;
    let channels = r.text(8)?;
    Ok(User {
        id: r.int(0)?,
        name: r.text(1)?,
        display_name: r.text(2)?,
        role: Role::parse(&role).map_err(|e| corrupt("users.role", e))?,
        department: r.opt_text(4)?,
        titles: serde_json::from_str(&titles).map_err(|e| corrupt("users.titles", e))?,
        phone: r.opt_text(6)?,
        email: r.opt_text(7)?,
        channels: serde_json::from_str(&channels).map_err(|e| corrupt("users.channels", e))?,
        active: r.flag(9)?,
        created_at: utc(r.int(10)?),
    })
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<User>> {
    Ok(user_record(r))
}

/// Adds a user with the given token hash; an existing name is refused with a clear error.
pub fn add_user(conn: &Connection, u: &NewUser, token_hash: &str, now: DateTime<Utc>) -> Result<User> {
    let role = u.role.unwrap_or(Role::Officer);
    if user_by_name(conn, &u.name)?.is_some() {
        return Err(StoreError::Conflict(format!("用户“{}”已存在", u.name)));
    }
    conn.execute(
        "INSERT INTO users (name, display_name, role, department, titles, phone, email, channels, token_hash, active, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10)",
        params![
            u.name,
            if u.display_name.is_empty() { &u.name } else { &u.display_name },
            role.as_str(),
            u.department,
            to_json("users.titles", &u.titles)?,
            u.phone,
            u.email,
            to_json("users.channels", &u.channels)?,
            token_hash,
            ts(now)
        ],
    )?;
    user_by_name(conn, &u.name)?.ok_or_else(|| corrupt("users", "刚写入的用户读不出"))
}

/// Enables or disables a user (a disabled user's token and sessions stop working).
pub fn set_user_active(conn: &Connection, name: &str, active: bool) -> Result<bool> {
    Ok(conn.execute("UPDATE users SET active = ?2 WHERE name = ?1", params![name, active as i64])? > 0)
}

/// Replaces a user's API token.
pub fn set_user_token(conn: &Connection, name: &str, token_hash: &str) -> Result<bool> {
    Ok(conn.execute("UPDATE users SET token_hash = ?2 WHERE name = ?1", params![name, token_hash])? > 0)
}

pub fn user_by_name(conn: &Connection, name: &str) -> Result<Option<User>> {
    let mut st = conn.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE name = ?1"))?;
    st.query_row([name], user_from_row).optional()?.transpose()
}

pub fn user_by_token(conn: &Connection, token: &str) -> Result<Option<User>> {
    let mut st = conn.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE token_hash = ?1 AND active = 1"))?;
    st.query_row([token_hash(token)], user_from_row).optional()?.transpose()
}

pub fn users(conn: &Connection) -> Result<Vec<User>> {
    let mut st = conn.prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY id"))?;
    let rows = st.query_map([], user_from_row)?;
    collect(rows)
}

// ---------------------------------------------------------------- incidents

/// A row of the incident list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentSummary {
    pub id: i64,
    pub title: String,
    pub state: IncidentState,
    pub grade: Grade,
    pub lead_department: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Closed as 误报.
    pub false_alarm: bool,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    pub state: Option<IncidentState>,
    pub open_only: bool,
    /// Lead or cooperating department.
    pub department: Option<String>,
    pub limit: usize,
    pub offset: usize,
}

/// The next incident's id: one past the largest. (SQLite has one writer, inside whose transaction
/// this is read and the incident saved; PostgreSQL takes it from a sequence, see `pg::desk_tables`.)
pub fn next_incident_id(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM incidents", [], |r| r.get(0))?)
}

/// Writes the incident (insert or update) and appends its new timeline events.
pub fn save_incident(conn: &Connection, inc: &Incident, events: &[Event], now: DateTime<Utc>) -> Result<()> {
    let data = to_json("incidents.data", inc)?;
    conn.execute(
        "INSERT INTO incidents (id, title, state, grade, lead_department, opened_at, updated_at, closed_at, data) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         ON CONFLICT(id) DO UPDATE SET title = ?2, state = ?3, grade = ?4, lead_department = ?5, updated_at = ?7, \
             closed_at = ?8, data = ?9",
        params![
            inc.id,
            inc.title,
            inc.state.as_str(),
            inc.grade.as_str(),
            inc.lead_department,
            ts(inc.opened_at),
            ts(now),
            inc.closed_at.map(ts),
            data
        ],
    )?;
    for s in &inc.stories {
        conn.execute(
            "INSERT OR IGNORE INTO incident_stories (incident_id, story_id) VALUES (?1, ?2)",
            params![inc.id, s],
        )?;
    }
    let mut seq: i64 =
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM incident_events WHERE incident_id = ?1", [inc.id], |r| {
            r.get(0)
        })?;
    let mut st = conn.prepare_cached(
        "INSERT INTO incident_events (incident_id, seq, at, actor, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for e in events {
        seq += 1;
        st.execute(params![
            inc.id,
            seq,
            ts(e.at),
            e.actor,
            e.kind.name(),
            to_json("incident_events.detail", &e.kind)?
        ])?;
    }
    Ok(())
}

pub fn incident(conn: &Connection, id: i64) -> Result<Option<Incident>> {
    let data: Option<String> =
        conn.query_row("SELECT data FROM incidents WHERE id = ?1", [id], |r| r.get(0)).optional()?;
    data.map(|d| incident_from_data(id, &d)).transpose()
}

/// An incident from its stored `data` (both backends).
pub(crate) fn incident_from_data(id: i64, data: &str) -> Result<Incident> {
    serde_json::from_str(data).map_err(|e| corrupt(&format!("工单 {id}"), e))
}

/// The columns of an incident list, in the order [`incident_summary`] reads them; the last one,
/// whether the incident was closed as 误报, is read from the JSON by each backend's own SQL.
pub(crate) const INCIDENT_SUMMARY_COLUMNS: &str =
    "id, title, state, grade, lead_department, opened_at, updated_at, closed_at";

/// A row of the incident list: [`INCIDENT_SUMMARY_COLUMNS`] then the 误报 flag (both backends).
pub(crate) fn incident_summary(r: &impl crate::rows::Cols) -> Result<IncidentSummary> {
    let state = r.text(2)?;
    Ok(IncidentSummary {
        id: r.int(0)?,
        title: r.text(1)?,
        state: IncidentState::parse(&state).ok_or_else(|| corrupt("incidents.state", &state))?,
        grade: parse_grade(&r.text(3)?)?,
        lead_department: r.opt_text(4)?,
        opened_at: utc(r.int(5)?),
        updated_at: utc(r.int(6)?),
        closed_at: r.opt_int(7)?.map(utc),
        false_alarm: r.flag(8)?,
    })
}

/// The limit of an incident list page (both backends).
pub(crate) fn incident_page_limit(q: &IncidentQuery) -> i64 {
    q.limit.clamp(1, 500) as i64
}

pub fn incidents(conn: &Connection, q: &IncidentQuery) -> Result<Page<IncidentSummary>> {
    let mut wh = vec!["1=1".to_string()];
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(s) = q.state {
        args.push(Box::new(s.as_str()));
        wh.push(format!("state = ?{}", args.len()));
    }
    if q.open_only {
        wh.push("state != 'Closed'".into());
    }
    if let Some(d) = &q.department {
        // Cooperating departments live in the JSON; lead is a column.
        args.push(Box::new(d.clone()));
        let n = args.len();
        wh.push(format!(
            "(lead_department = ?{n} OR EXISTS (SELECT 1 FROM json_each(json_extract(data, '$.cooperating')) WHERE value = ?{n}))"
        ));
    }
    let where_sql = wh.join(" AND ");
    let refs: Vec<&dyn rusqlite::ToSql> = args.iter().map(|b| b.as_ref()).collect();
    let total: i64 =
        conn.query_row(&format!("SELECT COUNT(*) FROM incidents WHERE {where_sql}"), refs.as_slice(), |r| r.get(0))?;
    let mut st = conn.prepare(&format!(
        "SELECT {INCIDENT_SUMMARY_COLUMNS}, json_extract(data, '$.false_alarm') IS NOT NULL FROM incidents \
         WHERE {where_sql} ORDER BY id DESC LIMIT {} OFFSET {}",
        incident_page_limit(q),
        crate::sql::sql_offset(q.offset)
    ))?;
    let items = collect(st.query_map(refs.as_slice(), |r| Ok(incident_summary(r)))?)?;
    Ok(Page { items, total: total.max(0) as u64 })
}

fn parse_grade(s: &str) -> Result<Grade> {
    Grade::ALL.into_iter().find(|g| g.as_str() == s).ok_or_else(|| corrupt("grade", s))
}

/// The incident a story belongs to (the newest, open or not).
pub fn incident_for_story(conn: &Connection, story: i64) -> Result<Option<i64>> {
    Ok(conn.query_row("SELECT MAX(incident_id) FROM incident_stories WHERE story_id = ?1", [story], |r| {
        r.get::<_, Option<i64>>(0)
    })?)
}

/// Ids of incidents not closed.
pub fn open_incident_ids(conn: &Connection) -> Result<Vec<i64>> {
    let mut st = conn.prepare_cached("SELECT id FROM incidents WHERE state != 'Closed' ORDER BY id")?;
    let ids = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
    Ok(ids)
}

/// A stored timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    #[serde(flatten)]
    pub kind: EventKind,
    pub summary: String,
}

pub fn timeline(conn: &Connection, incident: i64) -> Result<Vec<TimelineEntry>> {
    let mut st =
        conn.prepare_cached("SELECT seq, at, actor, detail FROM incident_events WHERE incident_id = ?1 ORDER BY seq")?;
    let rows = st.query_map([incident], |r| Ok(timeline_entry(incident, r)))?;
    collect(rows)
}

/// A timeline entry from a row of `seq, at, actor, detail` (both backends).
pub(crate) fn timeline_entry(incident: i64, r: &impl crate::rows::Cols) -> Result<TimelineEntry> {
    let seq = r.int(0)?;
    let kind: EventKind =
        serde_json::from_str(&r.text(3)?).map_err(|e| corrupt(&format!("工单 {incident} 时间线第 {seq} 条"), e))?;
    Ok(TimelineEntry { seq, at: utc(r.int(1)?), actor: r.text(2)?, summary: kind.summary_zh(), kind })
}

/// When the newest event of `kind` was recorded on an incident.
pub fn last_event_at(conn: &Connection, incident: i64, kind: &str) -> Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = conn.query_row(
        "SELECT MAX(at) FROM incident_events WHERE incident_id = ?1 AND kind = ?2",
        params![incident, kind],
        |r| r.get(0),
    )?;
    Ok(at.map(utc))
}

/// The title a story had when it was last recorded on an incident's timeline (its newest
/// `story_retitled` event), if any.
pub fn last_story_title(conn: &Connection, incident: i64, story: i64) -> Result<Option<String>> {
    newest_event(conn, incident, "story_retitled", story_title_in(story))
}

/// What [`last_story_title`] takes from a `story_retitled` event (both backends).
pub(crate) fn story_title_in(story: i64) -> impl Fn(EventKind) -> Option<String> {
    move |e| match e {
        EventKind::StoryRetitled { story: s, title } if s == story => Some(title),
        _ => None,
    }
}

/// A story's newest heat snapshot on an incident's timeline (a `heat_snapshot` event), if any.
pub fn last_heat_snapshot(conn: &Connection, incident: i64, story: i64) -> Result<Option<EventKind>> {
    newest_event(conn, incident, "heat_snapshot", heat_snapshot_of(story))
}

/// What [`last_heat_snapshot`] takes from a `heat_snapshot` event (both backends).
pub(crate) fn heat_snapshot_of(story: i64) -> impl Fn(EventKind) -> Option<EventKind> {
    move |e| match e {
        EventKind::HeatSnapshot { story: s, .. } if s == story => Some(e),
        _ => None,
    }
}

/// How many of an incident's newest events of a kind [`newest_event`] looks through.
pub(crate) const NEWEST_EVENTS: i64 = 500;

/// The newest of an incident's last 500 events of `kind` that `pick` takes.
fn newest_event<T>(
    conn: &Connection,
    incident: i64,
    kind: &str,
    pick: impl Fn(EventKind) -> Option<T>,
) -> Result<Option<T>> {
    let mut st = conn.prepare_cached(
        "SELECT detail FROM incident_events WHERE incident_id = ?1 AND kind = ?2 ORDER BY seq DESC LIMIT ?3",
    )?;
    let rows = st.query_map(params![incident, kind, NEWEST_EVENTS], |r| r.get::<_, String>(0))?;
    first_picked(rows.map(|r| r.map_err(StoreError::from)), pick)
}

/// The first of these event details, newest first, that `pick` takes (both backends); a detail
/// that does not parse is passed over.
pub(crate) fn first_picked<T>(
    details: impl Iterator<Item = Result<String>>,
    pick: impl Fn(EventKind) -> Option<T>,
) -> Result<Option<T>> {
    for d in details {
        if let Some(t) = serde_json::from_str::<EventKind>(&d?).ok().and_then(&pick) {
            return Ok(Some(t));
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------- overdue

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueRecord {
    pub id: i64,
    pub incident_id: i64,
    pub deadline: String,
    pub department: Option<String>,
    pub assignee: Option<String>,
    pub due_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// Records a missed clock once per (incident, clock, due time).
pub fn record_overdue(
    conn: &Connection,
    incident: i64,
    deadline: &str,
    department: Option<&str>,
    assignee: Option<&str>,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO overdue (incident_id, deadline, department, assignee, due_at, recorded_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![incident, deadline, department, assignee, ts(due_at), ts(now)],
    )? > 0)
}

pub fn overdue_records(conn: &Connection, limit: usize, offset: usize) -> Result<Page<OverdueRecord>> {
    let total: i64 = conn.query_row("SELECT COUNT(*) FROM overdue", [], |r| r.get(0))?;
    let mut st =
        conn.prepare_cached(&format!("SELECT {OVERDUE_COLUMNS} FROM overdue ORDER BY id DESC LIMIT ?1 OFFSET ?2"))?;
    let items =
        collect(st.query_map(params![limit.clamp(1, 500) as i64, crate::sql::sql_offset(offset)], |r| {
            Ok(overdue_record(r))
        })?)?;
    Ok(Page { items, total: total.max(0) as u64 })
}

/// The columns of an overdue query, in the order [`overdue_record`] reads them (both backends).
pub(crate) const OVERDUE_COLUMNS: &str = "id, incident_id, deadline, department, assignee, due_at, recorded_at";

/// An overdue record from a row of [`OVERDUE_COLUMNS`], on either backend.
pub(crate) fn overdue_record(r: &impl crate::rows::Cols) -> Result<OverdueRecord> {
    Ok(OverdueRecord {
        id: r.int(0)?,
        incident_id: r.int(1)?,
        deadline: r.text(2)?,
        department: r.opt_text(3)?,
        assignee: r.opt_text(4)?,
        due_at: utc(r.int(5)?),
        recorded_at: utc(r.int(6)?),
    })
}

// ---------------------------------------------------------------- alerts: cursor, acks, escalations

pub fn cursor(conn: &Connection, name: &str) -> Result<i64> {
    Ok(conn.query_row("SELECT value FROM desk_cursor WHERE name = ?1", [name], |r| r.get(0)).optional()?.unwrap_or(0))
}

pub fn set_cursor(conn: &Connection, name: &str, value: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO desk_cursor (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = ?2",
        params![name, value],
    )?;
    Ok(())
}

/// An alert from a row of `id, story_id, from_grade, to_grade, reasons, at` (both backends); a
/// grade that does not parse is an error, not a guess.
pub(crate) fn desk_alert(r: &impl crate::rows::Cols) -> Result<Alert> {
    Ok(Alert {
        id: r.int(0)?,
        story_id: r.int(1)?,
        from: r.opt_text(2)?.as_deref().map(parse_grade).transpose()?,
        to: parse_grade(&r.text(3)?)?,
        reasons: serde_json::from_str(&r.text(4)?).map_err(|e| corrupt("alerts.reasons", e))?,
        at: utc(r.int(5)?),
    })
}

/// Alerts with id above `after`, oldest first.
pub fn alerts_after(conn: &Connection, after: i64, limit: usize) -> Result<Vec<Alert>> {
    let mut st = conn.prepare_cached(
        "SELECT id, story_id, from_grade, to_grade, reasons, at FROM alerts WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = st.query_map(params![after, crate::sql::sql_offset(limit)], |r| Ok(desk_alert(r)))?;
    collect(rows)
}

pub fn alert(conn: &Connection, id: i64) -> Result<Option<Alert>> {
    let mut st =
        conn.prepare_cached("SELECT id, story_id, from_grade, to_grade, reasons, at FROM alerts WHERE id = ?1")?;
    st.query_row([id], |r| Ok(desk_alert(r))).optional()?.transpose()
}

/// Acknowledges an alert; false when it was already acknowledged.
pub fn ack_alert(conn: &Connection, alert: i64, by: &str, now: DateTime<Utc>) -> Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO alert_acks (alert_id, by_user, at) VALUES (?1, ?2, ?3)",
        params![alert, by, ts(now)],
    )? > 0)
}

/// Who acknowledged an alert, and when.
pub fn alert_ack(conn: &Connection, alert: i64) -> Result<Option<(String, DateTime<Utc>)>> {
    Ok(conn
        .query_row("SELECT by_user, at FROM alert_acks WHERE alert_id = ?1", [alert], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?
        .map(|(b, a)| (b, utc(a))))
}

/// Unacknowledged alerts raised at or after `since`, with the escalation steps already taken.
pub fn unacked_alerts(conn: &Connection, since: DateTime<Utc>) -> Result<Vec<(Alert, u8)>> {
    let mut st = conn.prepare_cached(
        "SELECT a.id, a.story_id, a.from_grade, a.to_grade, a.reasons, a.at, \
                (SELECT COUNT(*) FROM alert_escalations e WHERE e.alert_id = a.id) \
         FROM alerts a WHERE a.at >= ?1 AND NOT EXISTS (SELECT 1 FROM alert_acks k WHERE k.alert_id = a.id) ORDER BY a.id",
    )?;
    let rows = st.query_map([ts(since)], |r| Ok(unacked_alert(r)))?;
    collect(rows)
}

/// An unacknowledged alert with its escalation steps taken, from a row of the alert's columns
/// then the count of its steps (both backends).
pub(crate) fn unacked_alert(r: &impl crate::rows::Cols) -> Result<(Alert, u8)> {
    Ok((desk_alert(r)?, r.int(6)?.clamp(0, 255) as u8))
}

pub fn record_ack_escalation(
    conn: &Connection,
    alert: i64,
    step: u8,
    target: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(conn.execute(
        "INSERT OR IGNORE INTO alert_escalations (alert_id, step, target, at) VALUES (?1, ?2, ?3, ?4)",
        params![alert, step, target, ts(now)],
    )? > 0)
}

// ---------------------------------------------------------------- duty roster

/// Adds shifts; a shift with the same person and start replaces the old one.
pub fn put_shifts(conn: &Connection, shifts: &[DutyShift]) -> Result<usize> {
    let mut st = conn.prepare_cached(
        "INSERT INTO duty_shifts (person, role, starts_at, ends_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(person, starts_at) DO UPDATE SET role = ?2, ends_at = ?4",
    )?;
    for s in shifts {
        st.execute(params![s.person, s.role.as_str(), ts(s.starts_at), ts(s.ends_at)])?;
    }
    Ok(shifts.len())
}

/// Shifts that overlap [from, to), by start time.
pub fn shifts_between(conn: &Connection, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<DutyShift>> {
    let mut st = conn.prepare_cached(
        "SELECT person, role, starts_at, ends_at FROM duty_shifts WHERE starts_at < ?2 AND ends_at > ?1 ORDER BY starts_at, id",
    )?;
    let rows = st.query_map(params![ts(from), ts(to)], |r| Ok(duty_shift(r)))?;
    collect(rows)
}

/// A shift from a row of `person, role, starts_at, ends_at` (both backends).
pub(crate) fn duty_shift(r: &impl crate::rows::Cols) -> Result<DutyShift> {
    let role = r.text(1)?;
    Ok(DutyShift {
        person: r.text(0)?,
        role: DutyRole::parse(&role).ok_or_else(|| corrupt("duty_shifts.role", &role))?,
        starts_at: utc(r.int(2)?),
        ends_at: utc(r.int(3)?),
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandoverNote {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub author: String,
    pub text: String,
}

pub fn add_handover(conn: &Connection, author: &str, text: &str, now: DateTime<Utc>) -> Result<i64> {
    conn.execute("INSERT INTO handover_notes (at, author, text) VALUES (?1, ?2, ?3)", params![ts(now), author, text])?;
    Ok(conn.last_insert_rowid())
}

pub fn handovers(conn: &Connection, limit: usize) -> Result<Vec<HandoverNote>> {
    let mut st = conn.prepare_cached("SELECT id, at, author, text FROM handover_notes ORDER BY id DESC LIMIT ?1")?;
    let rows = st.query_map([handover_limit(limit)], |r| Ok(handover_note(r)))?;
    collect(rows)
}

/// How many handover notes a read returns at most (both backends).
pub(crate) fn handover_limit(limit: usize) -> i64 {
    limit.clamp(1, 200) as i64
}

/// A handover note from a row of `id, at, author, text` (both backends).
pub(crate) fn handover_note(r: &impl crate::rows::Cols) -> Result<HandoverNote> {
    Ok(HandoverNote { id: r.int(0)?, at: utc(r.int(1)?), author: r.text(2)?, text: r.text(3)? })
}

// ---------------------------------------------------------------- attachments

/// Stores bytes once by sha256; returns the hex digest.
pub fn put_attachment(conn: &Connection, bytes: &[u8]) -> Result<String> {
    let sha = attachment_sha256(bytes);
    conn.execute(
        "INSERT OR IGNORE INTO attachments (sha256, size, bytes) VALUES (?1, ?2, ?3)",
        params![sha, bytes.len() as i64, bytes],
    )?;
    Ok(sha)
}

/// The key an attachment is stored under: the hex sha256 of its bytes (both backends).
pub(crate) fn attachment_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn attachment(conn: &Connection, sha256: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn.query_row("SELECT bytes FROM attachments WHERE sha256 = ?1", [sha256], |r| r.get(0)).optional()?)
}

// ---------------------------------------------------------------- the desk's tables on either backend

/// The incident desk's tables — incidents (处置工单) and their timelines, overdue records, the
/// desk's cursors, alert (预警) acknowledgements and escalations, the duty roster (值班), handover
/// notes and attachments — on either backend: implemented by the SQLite connection (`&Connection`,
/// through the functions above) and by a PostgreSQL client or transaction (`pg::desk_tables`).
/// Users and sign-in are in [`crate::auth::AuthTables`]. Each method means what the function of its name means; on
/// PostgreSQL several nodes at once still get distinct incident ids, one open incident per story
/// and one acknowledgement per alert.
pub trait DeskTables {
    /// See [`next_incident_id`].
    fn next_incident_id(&mut self) -> Result<i64>;
    /// See [`save_incident`].
    fn save_incident(&mut self, inc: &Incident, events: &[Event], now: DateTime<Utc>) -> Result<()>;
    /// See [`incident`].
    fn incident(&mut self, id: i64) -> Result<Option<Incident>>;
    /// See [`incidents`].
    fn incidents(&mut self, q: &IncidentQuery) -> Result<Page<IncidentSummary>>;
    /// See [`incident_for_story`].
    fn incident_for_story(&mut self, story: i64) -> Result<Option<i64>>;
    /// See [`open_incident_ids`].
    fn open_incident_ids(&mut self) -> Result<Vec<i64>>;
    /// See [`timeline`].
    fn timeline(&mut self, incident: i64) -> Result<Vec<TimelineEntry>>;
    /// See [`last_event_at`].
    fn last_event_at(&mut self, incident: i64, kind: &str) -> Result<Option<DateTime<Utc>>>;
    /// See [`last_story_title`].
    fn last_story_title(&mut self, incident: i64, story: i64) -> Result<Option<String>>;
    /// See [`last_heat_snapshot`].
    fn last_heat_snapshot(&mut self, incident: i64, story: i64) -> Result<Option<EventKind>>;
    /// See [`record_overdue`].
    #[allow(clippy::too_many_arguments)]
    fn record_overdue(
        &mut self,
        incident: i64,
        deadline: &str,
        department: Option<&str>,
        assignee: Option<&str>,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// See [`overdue_records`].
    fn overdue_records(&mut self, limit: usize, offset: usize) -> Result<Page<OverdueRecord>>;
    /// See [`cursor`].
    fn cursor(&mut self, name: &str) -> Result<i64>;
    /// See [`set_cursor`].
    fn set_cursor(&mut self, name: &str, value: i64) -> Result<()>;
    /// See [`alerts_after`].
    fn alerts_after(&mut self, after: i64, limit: usize) -> Result<Vec<Alert>>;
    /// See [`alert`].
    fn alert(&mut self, id: i64) -> Result<Option<Alert>>;
    /// See [`ack_alert`].
    fn ack_alert(&mut self, alert: i64, by: &str, now: DateTime<Utc>) -> Result<bool>;
    /// See [`alert_ack`].
    fn alert_ack(&mut self, alert: i64) -> Result<Option<(String, DateTime<Utc>)>>;
    /// See [`unacked_alerts`].
    fn unacked_alerts(&mut self, since: DateTime<Utc>) -> Result<Vec<(Alert, u8)>>;
    /// See [`record_ack_escalation`].
    fn record_ack_escalation(&mut self, alert: i64, step: u8, target: &str, now: DateTime<Utc>) -> Result<bool>;
    /// See [`put_shifts`].
    fn put_shifts(&mut self, shifts: &[DutyShift]) -> Result<usize>;
    /// See [`shifts_between`].
    fn shifts_between(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<DutyShift>>;
    /// See [`add_handover`].
    fn add_handover(&mut self, author: &str, text: &str, now: DateTime<Utc>) -> Result<i64>;
    /// See [`handovers`].
    fn handovers(&mut self, limit: usize) -> Result<Vec<HandoverNote>>;
    /// See [`put_attachment`].
    fn put_attachment(&mut self, bytes: &[u8]) -> Result<String>;
    /// See [`attachment`].
    fn attachment(&mut self, sha256: &str) -> Result<Option<Vec<u8>>>;
}

/// Implements [`DeskTables`] for each client type by calling the functions of the same names where
/// it is used: this module's on SQLite (below), `pg::desk_tables`'s on PostgreSQL.
macro_rules! desk_tables_on {
    ($($client:ty),*) => {$(
        impl $crate::desk::DeskTables for $client {
            fn next_incident_id(&mut self) -> Result<i64> {
                next_incident_id(self)
            }
            fn save_incident(&mut self, inc: &Incident, events: &[Event], now: DateTime<Utc>) -> Result<()> {
                save_incident(self, inc, events, now)
            }
            fn incident(&mut self, id: i64) -> Result<Option<Incident>> {
                incident(self, id)
            }
            fn incidents(&mut self, q: &IncidentQuery) -> Result<Page<IncidentSummary>> {
                incidents(self, q)
            }
            fn incident_for_story(&mut self, story: i64) -> Result<Option<i64>> {
                incident_for_story(self, story)
            }
            fn open_incident_ids(&mut self) -> Result<Vec<i64>> {
                open_incident_ids(self)
            }
            fn timeline(&mut self, incident: i64) -> Result<Vec<TimelineEntry>> {
                timeline(self, incident)
            }
            fn last_event_at(&mut self, incident: i64, kind: &str) -> Result<Option<DateTime<Utc>>> {
                last_event_at(self, incident, kind)
            }
            fn last_story_title(&mut self, incident: i64, story: i64) -> Result<Option<String>> {
                last_story_title(self, incident, story)
            }
            fn last_heat_snapshot(&mut self, incident: i64, story: i64) -> Result<Option<EventKind>> {
                last_heat_snapshot(self, incident, story)
            }
            fn record_overdue(
                &mut self,
                incident: i64,
                deadline: &str,
                department: Option<&str>,
                assignee: Option<&str>,
                due_at: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                record_overdue(self, incident, deadline, department, assignee, due_at, now)
            }
            fn overdue_records(&mut self, limit: usize, offset: usize) -> Result<Page<OverdueRecord>> {
                overdue_records(self, limit, offset)
            }
            fn cursor(&mut self, name: &str) -> Result<i64> {
                cursor(self, name)
            }
            fn set_cursor(&mut self, name: &str, value: i64) -> Result<()> {
                set_cursor(self, name, value)
            }
            fn alerts_after(&mut self, after: i64, limit: usize) -> Result<Vec<Alert>> {
                alerts_after(self, after, limit)
            }
            fn alert(&mut self, id: i64) -> Result<Option<Alert>> {
                alert(self, id)
            }
            fn ack_alert(&mut self, alert: i64, by: &str, now: DateTime<Utc>) -> Result<bool> {
                ack_alert(self, alert, by, now)
            }
            fn alert_ack(&mut self, alert: i64) -> Result<Option<(String, DateTime<Utc>)>> {
                alert_ack(self, alert)
            }
            fn unacked_alerts(&mut self, since: DateTime<Utc>) -> Result<Vec<(Alert, u8)>> {
                unacked_alerts(self, since)
            }
            fn record_ack_escalation(&mut self, alert: i64, step: u8, target: &str, now: DateTime<Utc>) -> Result<bool> {
                record_ack_escalation(self, alert, step, target, now)
            }
            fn put_shifts(&mut self, shifts: &[DutyShift]) -> Result<usize> {
                put_shifts(self, shifts)
            }
            fn shifts_between(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<DutyShift>> {
                shifts_between(self, from, to)
            }
            fn add_handover(&mut self, author: &str, text: &str, now: DateTime<Utc>) -> Result<i64> {
                add_handover(self, author, text, now)
            }
            fn handovers(&mut self, limit: usize) -> Result<Vec<HandoverNote>> {
                handovers(self, limit)
            }
            fn put_attachment(&mut self, bytes: &[u8]) -> Result<String> {
                put_attachment(self, bytes)
            }
            fn attachment(&mut self, sha256: &str) -> Result<Option<Vec<u8>>> {
                attachment(self, sha256)
            }
        }
    )*};
}
pub(crate) use desk_tables_on;

desk_tables_on!(&Connection);

// ---------------------------------------------------------------- audit log

/// The columns of an audit query, in the order [`audit_entry`] reads them (both backends).
pub(crate) const AUDIT_COLUMNS: &str = "id, at, actor, action, target, detail, prev_hash, hash";

/// An audit entry from a row of [`AUDIT_COLUMNS`], on either backend.
pub(crate) fn audit_entry(r: &impl crate::rows::Cols) -> Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.int(0)?,
        at: r.int(1)?,
        actor: r.text(2)?,
        action: r.text(3)?,
        target: r.text(4)?,
        detail: r.text(5)?,
        prev_hash: r.text(6)?,
        hash: r.text(7)?,
    })
}

/// The entry that follows the chain's last (`None`: the chain is empty), not yet stored.
pub(crate) fn audit_next(
    last: Option<(i64, String)>,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> AuditEntry {
    let (prev_id, prev_hash) = last.unwrap_or((0, audit::GENESIS.to_string()));
    let id = prev_id + 1;
    let at = ts(now);
    let hash = audit::entry_hash(id, at, actor, action, target, detail, &prev_hash);
    AuditEntry {
        id,
        at,
        actor: actor.into(),
        action: action.into(),
        target: target.into(),
        detail: detail.into(),
        prev_hash,
        hash,
    }
}

/// Appends an audit entry linked to the previous one. Call inside the transaction of the change.
pub fn audit_append(
    conn: &Connection,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<AuditEntry> {
    let last: Option<(i64, String)> = conn
        .query_row("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let e = audit_next(last, actor, action, target, detail, now);
    conn.execute(
        &format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
        params![e.id, e.at, e.actor, e.action, e.target, e.detail, e.prev_hash, e.hash],
    )?;
    Ok(e)
}

pub fn audit_entries(conn: &Connection, after: i64, limit: usize) -> Result<Vec<AuditEntry>> {
    let mut st =
        conn.prepare_cached(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id > ?1 ORDER BY id LIMIT ?2"))?;
    let rows = st.query_map(params![after, limit as i64], |r| Ok(audit_entry(r)))?;
    collect(rows)
}

/// Newest entries first, for reading.
pub fn audit_recent(conn: &Connection, limit: usize, offset: usize) -> Result<Page<AuditEntry>> {
    let (total, max): (i64, i64) =
        conn.query_row("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM audit_log", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
    audit_page(total, max, limit, offset, |after, n| audit_entries(conn, after, n))
}

/// The page of [`audit_recent`] given the log's size and last id, read through `entries`. The
/// chain has no gaps, so the page is an id range.
pub(crate) fn audit_page(
    total: i64,
    max: i64,
    limit: usize,
    offset: usize,
    entries: impl FnOnce(i64, usize) -> Result<Vec<AuditEntry>>,
) -> Result<Page<AuditEntry>> {
    let limit = limit.clamp(1, 500) as i64;
    let upto = max.saturating_sub(crate::sql::sql_offset(offset)).max(0);
    let after = (upto - limit).max(0);
    let mut items = entries(after, (upto - after) as usize)?;
    items.reverse();
    Ok(Page { items, total: total.max(0) as u64 })
}

/// Verifies the whole chain in id order: the number of entries, or the first entry that breaks it.
pub fn audit_verify(conn: &Connection) -> Result<std::result::Result<u64, ChainBreak>> {
    audit_verify_with(|after| audit_entries(conn, after, 10_000))
}

/// [`audit_verify`] over chunks read by `next(after)` (empty at the end), on either backend.
pub(crate) fn audit_verify_with(
    mut next: impl FnMut(i64) -> Result<Vec<AuditEntry>>,
) -> Result<std::result::Result<u64, ChainBreak>> {
    let mut prev = audit::GENESIS.to_string();
    let mut prev_id = 0i64;
    let mut total = 0u64;
    loop {
        let chunk = next(prev_id)?;
        if chunk.is_empty() {
            return Ok(Ok(total));
        }
        match audit::verify_chain(&chunk, &prev, prev_id) {
            Ok((n, p, id)) => {
                total += n;
                prev = p;
                prev_id = id;
            }
            Err(b) => return Ok(Err(b)),
        }
    }
}

/// The audit log on either backend: implemented by the SQLite connection (`&Connection`, through
/// the functions above) and by a PostgreSQL client or transaction (`pg::desk`). On PostgreSQL
/// appends from several connections at once still make one chain: ids without gaps, each entry
/// hashing the one before.
pub trait AuditLog {
    /// See [`audit_append`]; inside the caller's transaction when it has one.
    fn audit_append(
        &mut self,
        actor: &str,
        action: &str,
        target: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<AuditEntry>;
    /// See [`audit_entries`].
    fn audit_entries(&mut self, after: i64, limit: usize) -> Result<Vec<AuditEntry>>;
    /// See [`audit_recent`].
    fn audit_recent(&mut self, limit: usize, offset: usize) -> Result<Page<AuditEntry>>;
    /// See [`audit_verify`].
    fn audit_verify(&mut self) -> Result<std::result::Result<u64, ChainBreak>>;
}

/// Implements [`AuditLog`] for each client type by calling the functions of the same names where it
/// is used: this module's on SQLite (below), `pg::desk`'s on PostgreSQL.
macro_rules! audit_log_on {
    ($($client:ty),*) => {$(
        impl $crate::desk::AuditLog for $client {
            fn audit_append(
                &mut self,
                actor: &str,
                action: &str,
                target: &str,
                detail: &str,
                now: DateTime<Utc>,
            ) -> Result<AuditEntry> {
                audit_append(self, actor, action, target, detail, now)
            }
            fn audit_entries(&mut self, after: i64, limit: usize) -> Result<Vec<AuditEntry>> {
                audit_entries(self, after, limit)
            }
            fn audit_recent(&mut self, limit: usize, offset: usize) -> Result<Page<AuditEntry>> {
                audit_recent(self, limit, offset)
            }
            fn audit_verify(&mut self) -> Result<std::result::Result<u64, ChainBreak>> {
                audit_verify(self)
            }
        }
    )*};
}
pub(crate) use audit_log_on;

audit_log_on!(&Connection);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;
    use chrono::TimeZone;
    use yuqing_core::incident::{DeadlinePolicy, Opening};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
    }

    #[test]
    fn incidents_round_trip_with_their_timeline() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let c = store.connection();
        let id = next_incident_id(c).unwrap();
        let (inc, events) = Incident::open(
            Opening {
                id,
                title: "t".into(),
                stories: vec![4],
                grade: Grade::III,
                grade_reason: "r".into(),
                first_post_at: None,
                alert: None,
                routes: vec![],
            },
            &DeadlinePolicy::default(),
            &Actor::system(),
            now(),
        );
        save_incident(c, &inc, &events, now()).unwrap();
        assert_eq!(incident(c, id).unwrap().unwrap(), inc);
        assert_eq!(incident_for_story(c, 4).unwrap(), Some(id));
        let tl = timeline(c, id).unwrap();
        assert_eq!(tl.len(), events.len());
        assert_eq!(tl[0].kind, events[0].kind);
        let page = incidents(c, &IncidentQuery { open_only: true, limit: 10, ..Default::default() }).unwrap();
        assert_eq!(page.total, 1);
    }

    #[test]
    fn audit_chain_detects_a_changed_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let c = store.connection();
        for i in 0..5 {
            audit_append(c, "sun", "incident.report", &format!("incident:{i}"), "{}", now()).unwrap();
        }
        assert_eq!(audit_verify(c).unwrap(), Ok(5));
        // The table refuses updates; a tamperer drops the trigger first.
        assert!(c.execute("UPDATE audit_log SET actor = 'x' WHERE id = 3", []).is_err());
        c.execute_batch("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE id = 3;")
            .unwrap();
        assert_eq!(audit_verify(c).unwrap().unwrap_err().id, 3);
    }

    #[test]
    fn users_are_found_by_token_hash_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let c = store.connection();
        let u = NewUser { name: "sun".into(), role: Some(Role::Coordinator), ..Default::default() };
        add_user(c, &u, &token_hash("secret-token"), now()).unwrap();
        assert_eq!(user_by_token(c, "secret-token").unwrap().unwrap().name, "sun");
        assert!(user_by_token(c, "other").unwrap().is_none());
        assert!(matches!(add_user(c, &u, &token_hash("t2"), now()), Err(StoreError::Conflict(_))));
        let stored: String = c.query_row("SELECT token_hash FROM users", [], |r| r.get(0)).unwrap();
        assert!(!stored.contains("secret"));
    }
}
