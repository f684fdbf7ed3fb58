//! The incident desk's tables on PostgreSQL — incidents and their timelines, overdue records,
//! cursors, alert acknowledgements and escalations, the duty roster, handover notes, attachments —
//! as [`crate::desk::DeskTables`]: `crate::desk`'s functions of the same names, with the same
//! meaning (row mapping and event picking are theirs), for several nodes at once.
//!
//! Invariants under concurrency: two nodes opening incidents at once get distinct ids (a
//! sequence); two nodes opening an incident for one story open one (checked under a per-story
//! lock); an alert is acknowledged once (its primary key); an
//! incident's timeline numbers its events 1, 2, 3, … without gaps (a save locks the incident's
//! row before it reads the last number). Run the transactions READ COMMITTED (PostgreSQL's
//! default): the checks read what committed before their statement.

use chrono::{DateTime, Utc};
use postgres::{Client, GenericClient, Transaction};
use yuqing_core::duty::DutyShift;
use yuqing_core::incident::{Event, EventKind, Incident, IncidentState};
use yuqing_core::Alert;

use crate::desk::{
    attachment_sha256, desk_alert, duty_shift, first_picked, handover_limit, handover_note, heat_snapshot_of,
    incident_from_data, incident_page_limit, incident_summary, overdue_record, story_title_in, timeline_entry, to_json,
    unacked_alert, HandoverNote, IncidentQuery, IncidentSummary, OverdueRecord, TimelineEntry,
    INCIDENT_SUMMARY_COLUMNS, NEWEST_EVENTS, OVERDUE_COLUMNS,
};
use crate::rows::ALERT_COLUMNS;
use crate::sql::{sql_offset, ts, utc};
use crate::{Page, Result, StoreError};

/// The first key of the advisory lock a story's joining an incident holds ("yqst"); the second is
/// the story id's low 32 bits (two stories sharing them only wait for each other).
const STORY_LOCK: i32 = 0x79_71_73_74;

/// See [`crate::desk::next_incident_id`]. On SQLite it is one past the largest id, read in the
/// transaction that saves the incident, which SQLite's single writer makes safe; two nodes doing
/// that at once on PostgreSQL would both read the same largest id, and the second save would
/// overwrite the first incident (a save is an upsert). The id comes from the `incidents.id`
/// sequence instead: `nextval` hands each caller its own number whatever the transactions, with
/// no lock held until commit (an advisory lock would serialize every incident opening and protect
/// only callers that allocate and save in one transaction). The price is a gap when an opening
/// rolls back, which costs nothing here: nothing counts on incident ids being contiguous (unlike
/// the audit chain and report serials).
pub fn next_incident_id<C: GenericClient>(c: &mut C) -> Result<i64> {
    Ok(c.query_one("SELECT nextval(pg_get_serial_sequence('incidents', 'id'))", &[])?.try_get(0)?)
}

/// See [`crate::desk::save_incident`], in one transaction (a savepoint inside the caller's). The
/// upsert locks the incident's row until the end of the caller's transaction, so a second node
/// saving the same incident waits and then numbers its events after this one's.
///
/// Opening an incident (its first save) checks each of its stories under the story's advisory
/// lock, held until the caller's commit: when another incident that is not closed holds one, the
/// save is refused (事件已在另一工单中) and nothing of it is written. So two nodes that both saw
/// no incident for a story open one between them. That is the desk's own rule before it opens an
/// incident, which SQLite's single writer needs no more for; SQLite's schema has no unique rule to
/// mirror (a story may have a closed incident and a newer one), and a story added by hand to an
/// incident that already exists is not checked, on either backend.
pub fn save_incident<C: GenericClient>(c: &mut C, inc: &Incident, events: &[Event], now: DateTime<Utc>) -> Result<()> {
    let data = to_json("incidents.data", inc)?;
    let mut tx = c.transaction()?;
    // Ids come from a sequence, so no other node is opening this one.
    let opening = tx.query_opt("SELECT 1 FROM incidents WHERE id = $1", &[&inc.id])?.is_none();
    tx.execute(
        "INSERT INTO incidents (id, title, state, grade, lead_department, opened_at, updated_at, closed_at, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, state = EXCLUDED.state, grade = EXCLUDED.grade, \
             lead_department = EXCLUDED.lead_department, updated_at = EXCLUDED.updated_at, \
             closed_at = EXCLUDED.closed_at, data = EXCLUDED.data",
        &[
            &inc.id,
            &inc.title,
            &inc.state.as_str(),
            &inc.grade.as_str(),
            &inc.lead_department,
            &ts(inc.opened_at),
            &ts(now),
            &inc.closed_at.map(ts),
            &data,
        ],
    )?;
    // In id order, so two saves locking several stories cannot wait on each other in a circle.
    let mut stories = inc.stories.clone();
    stories.sort_unstable();
    stories.dedup();
    for s in stories {
        let joined = tx.execute(
            "INSERT INTO incident_stories (incident_id, story_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&inc.id, &s],
        )?;
        if opening && joined > 0 && inc.state != IncidentState::Closed {
            tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&STORY_LOCK, &(s as i32)])?;
            let other: Option<i64> = tx
                .query_opt(
                    "SELECT i.id FROM incident_stories s JOIN incidents i ON i.id = s.incident_id \
                     WHERE s.story_id = $1 AND s.incident_id <> $2 AND i.state <> 'Closed' ORDER BY i.id LIMIT 1",
                    &[&s, &inc.id],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            if let Some(other) = other {
                return Err(StoreError::Conflict(format!("事件 #{s} 已在处置工单 #{other} 中")));
            }
        }
    }
    let mut seq: i64 = tx
        .query_one("SELECT COALESCE(MAX(seq), 0) FROM incident_events WHERE incident_id = $1", &[&inc.id])?
        .try_get(0)?;
    let insert = tx.prepare(
        "INSERT INTO incident_events (incident_id, seq, at, actor, kind, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )?;
    for e in events {
        seq += 1;
        let detail = to_json("incident_events.detail", &e.kind)?;
        tx.execute(&insert, &[&inc.id, &seq, &ts(e.at), &e.actor, &e.kind.name(), &detail])?;
    }
    tx.commit()?;
    Ok(())
}

/// See [`crate::desk::incident`].
pub fn incident<C: GenericClient>(c: &mut C, id: i64) -> Result<Option<Incident>> {
    let row = c.query_opt("SELECT data FROM incidents WHERE id = $1", &[&id])?;
    row.map(|r| incident_from_data(id, r.try_get(0)?)).transpose()
}

/// See [`crate::desk::incidents`]. Cooperating departments are read from the JSON as on SQLite.
pub fn incidents<C: GenericClient>(c: &mut C, q: &IncidentQuery) -> Result<Page<IncidentSummary>> {
    const WHERE: &str = "($1::text IS NULL OR state = $1) AND (NOT $2 OR state <> 'Closed') AND ($3::text IS NULL \
        OR lead_department = $3 OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(CAST(data AS jsonb) -> 'cooperating') \
        AS d (name) WHERE d.name = $3))";
    let state = q.state.map(IncidentState::as_str);
    let total: i64 = c
        .query_one(&format!("SELECT COUNT(*) FROM incidents WHERE {WHERE}"), &[&state, &q.open_only, &q.department])?
        .try_get(0)?;
    let rows = c.query(
        &format!(
            "SELECT {INCIDENT_SUMMARY_COLUMNS}, (CAST(data AS jsonb) ->> 'false_alarm') IS NOT NULL FROM incidents \
             WHERE {WHERE} ORDER BY id DESC LIMIT $4 OFFSET $5"
        ),
        &[&state, &q.open_only, &q.department, &incident_page_limit(q), &sql_offset(q.offset)],
    )?;
    let items = rows.iter().map(incident_summary).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total: total.max(0) as u64 })
}

/// See [`crate::desk::incident_for_story`].
pub fn incident_for_story<C: GenericClient>(c: &mut C, story: i64) -> Result<Option<i64>> {
    Ok(c.query_one("SELECT MAX(incident_id) FROM incident_stories WHERE story_id = $1", &[&story])?.try_get(0)?)
}

/// See [`crate::desk::open_incident_ids`].
pub fn open_incident_ids<C: GenericClient>(c: &mut C) -> Result<Vec<i64>> {
    let rows = c.query("SELECT id FROM incidents WHERE state <> 'Closed' ORDER BY id", &[])?;
    Ok(rows.iter().map(|r| r.try_get(0)).collect::<std::result::Result<_, _>>()?)
}

/// See [`crate::desk::timeline`].
pub fn timeline<C: GenericClient>(c: &mut C, incident: i64) -> Result<Vec<TimelineEntry>> {
    let rows = c.query(
        "SELECT seq, at, actor, detail FROM incident_events WHERE incident_id = $1 ORDER BY seq",
        &[&incident],
    )?;
    rows.iter().map(|r| timeline_entry(incident, r)).collect()
}

/// See [`crate::desk::last_event_at`].
pub fn last_event_at<C: GenericClient>(c: &mut C, incident: i64, kind: &str) -> Result<Option<DateTime<Utc>>> {
    let at: Option<i64> = c
        .query_one("SELECT MAX(at) FROM incident_events WHERE incident_id = $1 AND kind = $2", &[&incident, &kind])?
        .try_get(0)?;
    Ok(at.map(utc))
}

/// The newest of an incident's last events of `kind` that `pick` takes, as on SQLite.
fn newest_event<C: GenericClient, T>(
    c: &mut C,
    incident: i64,
    kind: &str,
    pick: impl Fn(EventKind) -> Option<T>,
) -> Result<Option<T>> {
    let rows = c.query(
        "SELECT detail FROM incident_events WHERE incident_id = $1 AND kind = $2 ORDER BY seq DESC LIMIT $3",
        &[&incident, &kind, &NEWEST_EVENTS],
    )?;
    first_picked(rows.iter().map(|r| Ok(r.try_get::<_, String>(0)?)), pick)
}

/// See [`crate::desk::last_story_title`].
pub fn last_story_title<C: GenericClient>(c: &mut C, incident: i64, story: i64) -> Result<Option<String>> {
    newest_event(c, incident, "story_retitled", story_title_in(story))
}

/// See [`crate::desk::last_heat_snapshot`].
pub fn last_heat_snapshot<C: GenericClient>(c: &mut C, incident: i64, story: i64) -> Result<Option<EventKind>> {
    newest_event(c, incident, "heat_snapshot", heat_snapshot_of(story))
}

/// See [`crate::desk::record_overdue`]: once per (incident, clock, due time), also when two nodes
/// record it at once (the unique key decides).
pub fn record_overdue<C: GenericClient>(
    c: &mut C,
    incident: i64,
    deadline: &str,
    department: Option<&str>,
    assignee: Option<&str>,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(c.execute(
        "INSERT INTO overdue (incident_id, deadline, department, assignee, due_at, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        &[&incident, &deadline, &department, &assignee, &ts(due_at), &ts(now)],
    )? > 0)
}

/// See [`crate::desk::overdue_records`].
pub fn overdue_records<C: GenericClient>(c: &mut C, limit: usize, offset: usize) -> Result<Page<OverdueRecord>> {
    let total: i64 = c.query_one("SELECT COUNT(*) FROM overdue", &[])?.try_get(0)?;
    let rows = c.query(
        &format!("SELECT {OVERDUE_COLUMNS} FROM overdue ORDER BY id DESC LIMIT $1 OFFSET $2"),
        &[&(limit.clamp(1, 500) as i64), &sql_offset(offset)],
    )?;
    let items = rows.iter().map(overdue_record).collect::<Result<Vec<_>>>()?;
    Ok(Page { items, total: total.max(0) as u64 })
}

/// See [`crate::desk::cursor`].
pub fn cursor<C: GenericClient>(c: &mut C, name: &str) -> Result<i64> {
    Ok(c.query_opt("SELECT value FROM desk_cursor WHERE name = $1", &[&name])?
        .map(|r| r.try_get(0))
        .transpose()?
        .unwrap_or(0))
}

/// See [`crate::desk::set_cursor`].
pub fn set_cursor<C: GenericClient>(c: &mut C, name: &str, value: i64) -> Result<()> {
    c.execute(
        "INSERT INTO desk_cursor (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
        &[&name, &value],
    )?;
    Ok(())
}

/// See [`crate::desk::alerts_after`].
pub fn alerts_after<C: GenericClient>(c: &mut C, after: i64, limit: usize) -> Result<Vec<Alert>> {
    let rows = c.query(
        &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id > $1 ORDER BY id LIMIT $2"),
        &[&after, &sql_offset(limit)],
    )?;
    rows.iter().map(desk_alert).collect()
}

/// See [`crate::desk::alert`].
pub fn alert<C: GenericClient>(c: &mut C, id: i64) -> Result<Option<Alert>> {
    let row = c.query_opt(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"), &[&id])?;
    row.as_ref().map(desk_alert).transpose()
}

/// See [`crate::desk::ack_alert`]. Two nodes acknowledging one alert at once: the second insert
/// waits for the first's transaction on the primary key, then finds the row and does nothing, so
/// exactly one of them is told it acknowledged.
pub fn ack_alert<C: GenericClient>(c: &mut C, alert: i64, by: &str, now: DateTime<Utc>) -> Result<bool> {
    Ok(c.execute(
        "INSERT INTO alert_acks (alert_id, by_user, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&alert, &by, &ts(now)],
    )? > 0)
}

/// See [`crate::desk::alert_ack`].
pub fn alert_ack<C: GenericClient>(c: &mut C, alert: i64) -> Result<Option<(String, DateTime<Utc>)>> {
    let row = c.query_opt("SELECT by_user, at FROM alert_acks WHERE alert_id = $1", &[&alert])?;
    Ok(row.map(|r| Ok::<_, postgres::Error>((r.try_get(0)?, utc(r.try_get(1)?)))).transpose()?)
}

/// See [`crate::desk::unacked_alerts`].
pub fn unacked_alerts<C: GenericClient>(c: &mut C, since: DateTime<Utc>) -> Result<Vec<(Alert, u8)>> {
    let rows = c.query(
        "SELECT a.id, a.story_id, a.from_grade, a.to_grade, a.reasons, a.at, \
                (SELECT COUNT(*) FROM alert_escalations e WHERE e.alert_id = a.id) \
         FROM alerts a WHERE a.at >= $1 AND NOT EXISTS (SELECT 1 FROM alert_acks k WHERE k.alert_id = a.id) \
         ORDER BY a.id",
        &[&ts(since)],
    )?;
    rows.iter().map(unacked_alert).collect()
}

/// See [`crate::desk::record_ack_escalation`]: each step once, also from two nodes at once.
pub fn record_ack_escalation<C: GenericClient>(
    c: &mut C,
    alert: i64,
    step: u8,
    target: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    Ok(c.execute(
        "INSERT INTO alert_escalations (alert_id, step, target, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&alert, &i64::from(step), &target, &ts(now)],
    )? > 0)
}

/// See [`crate::desk::put_shifts`].
pub fn put_shifts<C: GenericClient>(c: &mut C, shifts: &[DutyShift]) -> Result<usize> {
    let mut tx = c.transaction()?;
    let upsert = tx.prepare(
        "INSERT INTO duty_shifts (person, role, starts_at, ends_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (person, starts_at) DO UPDATE SET role = EXCLUDED.role, ends_at = EXCLUDED.ends_at",
    )?;
    for s in shifts {
        tx.execute(&upsert, &[&s.person, &s.role.as_str(), &ts(s.starts_at), &ts(s.ends_at)])?;
    }
    tx.commit()?;
    Ok(shifts.len())
}

/// See [`crate::desk::shifts_between`].
pub fn shifts_between<C: GenericClient>(c: &mut C, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<DutyShift>> {
    let rows = c.query(
        "SELECT person, role, starts_at, ends_at FROM duty_shifts WHERE starts_at < $2 AND ends_at > $1 \
         ORDER BY starts_at, id",
        &[&ts(from), &ts(to)],
    )?;
    rows.iter().map(duty_shift).collect()
}

/// See [`crate::desk::add_handover`].
pub fn add_handover<C: GenericClient>(c: &mut C, author: &str, text: &str, now: DateTime<Utc>) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO handover_notes (at, author, text) VALUES ($1, $2, $3) RETURNING id",
        &[&ts(now), &author, &text],
    )?
    .try_get(0)?)
}

/// See [`crate::desk::handovers`].
pub fn handovers<C: GenericClient>(c: &mut C, limit: usize) -> Result<Vec<HandoverNote>> {
    let rows = c.query(
        "SELECT id, at, author, text FROM handover_notes ORDER BY id DESC LIMIT $1",
        &[&handover_limit(limit)],
    )?;
    rows.iter().map(handover_note).collect()
}

/// See [`crate::desk::put_attachment`]: stored once by sha256, also when two nodes store the same
/// bytes at once.
pub fn put_attachment<C: GenericClient>(c: &mut C, bytes: &[u8]) -> Result<String> {
    let sha = attachment_sha256(bytes);
    c.execute(
        "INSERT INTO attachments (sha256, size, bytes) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[&sha, &(bytes.len() as i64), &bytes],
    )?;
    Ok(sha)
}

/// See [`crate::desk::attachment`].
pub fn attachment<C: GenericClient>(c: &mut C, sha256: &str) -> Result<Option<Vec<u8>>> {
    Ok(c.query_opt("SELECT bytes FROM attachments WHERE sha256 = $1", &[&sha256])?.map(|r| r.try_get(0)).transpose()?)
}

crate::desk::desk_tables_on!(Client, Transaction<'_>);
