//! The notification outbox on PostgreSQL: `crate::outbox` with the same meaning (the row mapping
//! and the retry decision are that module's), for several nodes sharing one queue.
//!
//! Invariant: a message is handed to one claimer at a time. A claim picks its rows with
//! `FOR UPDATE SKIP LOCKED` and moves them past the lease in the same statement, so a second node
//! claiming at that moment skips them instead of waiting, and sees them as not due once the first
//! commits. Each function runs in the client it is given: a caller's transaction keeps its
//! writes with the change that caused them (run it READ COMMITTED, PostgreSQL's default).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::{Client, GenericClient, Transaction};

use crate::outbox::{
    after_attempt, attempt, lease_end, mention_column, message, secs, Attempt, AttemptOutcome, Before, ClaimLimits,
    NewMessage, OutboxCounts, OutboxMessage, OutboxStatus, Recorded, RetryPolicy, ATTEMPT_COLUMNS, COLUMNS,
};
use crate::sql::{sql_offset, ts};
use crate::Result;

/// A count or limit as a BIGINT parameter (PostgreSQL refuses a negative LIMIT).
fn big(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// [`COLUMNS`], each qualified by `table`.
fn columns_of(table: &str) -> String {
    COLUMNS.split(',').map(|c| format!("{table}.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

/// See [`crate::outbox::enqueue`].
pub fn enqueue<C: GenericClient>(
    c: &mut C,
    msg: &NewMessage,
    now: DateTime<Utc>,
    policy: &RetryPolicy,
) -> Result<Option<i64>> {
    let mention = mention_column(msg)?;
    let now_s = ts(now);
    let expires = now_s.saturating_add(secs(policy.expire_after));
    let row = c.query_opt(
        "INSERT INTO outbox (channel, recipient, mention, subject, body, link, dedup_key, created_at, next_attempt_at, \
             expires_at, attempts, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, 0, 'pending') \
         ON CONFLICT (dedup_key) DO NOTHING RETURNING id",
        &[&msg.channel, &msg.recipient, &mention, &msg.subject, &msg.body, &msg.link, &msg.dedup_key, &now_s, &expires],
    )?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

/// See [`crate::outbox::due`].
pub fn due<C: GenericClient>(c: &mut C, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxMessage>> {
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2"
        ),
        &[&ts(now), &big(limit)],
    )?;
    rows.iter().map(message).collect()
}

/// Moves the rows `picked` selects (by `FOR UPDATE SKIP LOCKED`, from the parameters after the
/// first) past the lease ending at `$1`; returns them as they were before.
fn take<C: GenericClient>(
    c: &mut C,
    picked: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Vec<OutboxMessage>> {
    let sql = format!(
        "WITH picked AS ({picked} FOR UPDATE SKIP LOCKED) \
         UPDATE outbox SET next_attempt_at = $1 FROM picked WHERE outbox.id = picked.id RETURNING {}",
        columns_of("picked")
    );
    let rows = c.query(&sql, params)?;
    rows.iter().map(message).collect()
}

/// See [`crate::outbox::claim`]. Two nodes claiming at once get disjoint sets of messages.
pub fn claim<C: GenericClient>(
    c: &mut C,
    now: DateTime<Utc>,
    limit: usize,
    lease: Duration,
) -> Result<Vec<OutboxMessage>> {
    let picked = format!(
        "SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_at <= $2 \
         ORDER BY next_attempt_at, id LIMIT $3"
    );
    let mut got = take(c, &picked, &[&lease_end(now, lease), &ts(now), &big(limit)])?;
    got.sort_by_key(|m| (m.next_attempt_at, m.id));
    Ok(got)
}

/// See [`crate::outbox::claim_fair`]. The turns are chosen from what is due, then those of the
/// chosen that no other node holds or has taken meanwhile are claimed, in turn order.
pub fn claim_fair<C: GenericClient>(
    c: &mut C,
    now: DateTime<Utc>,
    limits: &ClaimLimits<'_>,
    lease: Duration,
) -> Result<Vec<OutboxMessage>> {
    if limits.total == 0 || limits.per_channel == 0 {
        return Ok(Vec::new());
    }
    // A window function cannot be combined with FOR UPDATE, hence the two steps.
    let chosen: Vec<i64> = c
        .query(
            "SELECT id FROM (\
                SELECT id, attempts, next_attempt_at, \
                    ROW_NUMBER() OVER (PARTITION BY channel ORDER BY attempts > 0, next_attempt_at, id) AS turn \
                FROM outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
                    AND NOT (channel = ANY($4)) AND NOT (attempts > 0 AND channel = ANY($5))\
             ) turns WHERE turn <= $2 ORDER BY turn, attempts > 0, next_attempt_at, id LIMIT $3",
            &[&ts(now), &big(limits.per_channel), &big(limits.total), &limits.busy, &limits.new_only],
        )?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<_, _>>()?;
    if chosen.is_empty() {
        return Ok(Vec::new());
    }
    let picked =
        format!("SELECT {COLUMNS} FROM outbox WHERE id = ANY($2) AND status = 'pending' AND next_attempt_at <= $3");
    let mut got: HashMap<i64, OutboxMessage> =
        take(c, &picked, &[&lease_end(now, lease), &chosen, &ts(now)])?.into_iter().map(|m| (m.id, m)).collect();
    Ok(chosen.iter().filter_map(|id| got.remove(id)).collect())
}

/// See [`crate::outbox::release`].
pub fn release<C: GenericClient>(
    c: &mut C,
    id: i64,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<bool> {
    let n = c.execute(
        "UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND status = 'pending' AND next_attempt_at = $3",
        &[&ts(due_at), &id, &lease_end(now, lease)],
    )?;
    Ok(n == 1)
}

/// See [`crate::outbox::record_attempt`]. The message's row is locked while its attempt is
/// recorded, so two outcomes recorded at once both count.
pub fn record_attempt<C: GenericClient>(
    c: &mut C,
    id: i64,
    now: DateTime<Utc>,
    outcome: &AttemptOutcome,
    policy: &RetryPolicy,
) -> Result<Option<Recorded>> {
    // A transaction of its own, or a savepoint in the caller's.
    let mut tx = c.transaction()?;
    let Some(row) = tx.query_opt(
        "SELECT status, attempts, expires_at, next_attempt_at FROM outbox WHERE id = $1 FOR UPDATE",
        &[&id],
    )?
    else {
        return Ok(None);
    };
    let status: String = row.try_get(0)?;
    let before = Before {
        id,
        status: &status,
        attempts: row.try_get(1)?,
        expires_at: row.try_get(2)?,
        next_attempt_at: row.try_get(3)?,
    };
    let after = after_attempt(&before, now, outcome, policy)?;
    tx.execute(
        "INSERT INTO outbox_attempts (outbox_id, at, ok, detail) VALUES ($1, $2, $3, $4)",
        &[&id, &ts(now), &after.ok, &after.detail],
    )?;
    tx.execute(
        "UPDATE outbox SET attempts = $1, status = $2, next_attempt_at = $3, \
         delivered_at = COALESCE($4, delivered_at), last_error = COALESCE($5, last_error) WHERE id = $6",
        &[&after.attempts, &after.status, &after.next_attempt_at, &after.delivered_at, &after.last_error, &id],
    )?;
    tx.commit()?;
    Ok(Some(after.recorded))
}

/// See [`crate::outbox::requeue`].
pub fn requeue<C: GenericClient>(c: &mut C, id: i64, now: DateTime<Utc>, policy: &RetryPolicy) -> Result<bool> {
    let n = c.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = $1, expires_at = $2 WHERE id = $3 AND status = 'expired'",
        &[&ts(now), &ts(now).saturating_add(secs(policy.expire_after)), &id],
    )?;
    Ok(n == 1)
}

/// See [`crate::outbox::get`].
pub fn get<C: GenericClient>(c: &mut C, id: i64) -> Result<Option<OutboxMessage>> {
    c.query_opt(&format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"), &[&id])?.as_ref().map(message).transpose()
}

/// See [`crate::outbox::get_by_dedup_key`].
pub fn get_by_dedup_key<C: GenericClient>(c: &mut C, key: &str) -> Result<Option<OutboxMessage>> {
    c.query_opt(&format!("SELECT {COLUMNS} FROM outbox WHERE dedup_key = $1"), &[&key])?
        .as_ref()
        .map(message)
        .transpose()
}

/// See [`crate::outbox::list`].
pub fn list<C: GenericClient>(
    c: &mut C,
    status: Option<OutboxStatus>,
    limit: usize,
    offset: usize,
) -> Result<Vec<OutboxMessage>> {
    let rows = c.query(
        &format!(
            "SELECT {COLUMNS} FROM outbox WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2 OFFSET $3"
        ),
        &[&status.map(|s| s.as_str()), &big(limit.min(1000)), &sql_offset(offset)],
    )?;
    rows.iter().map(message).collect()
}

/// See [`crate::outbox::counts`].
pub fn counts<C: GenericClient>(c: &mut C) -> Result<OutboxCounts> {
    let mut out = OutboxCounts::default();
    for r in c.query("SELECT status, COUNT(*) FROM outbox GROUP BY status", &[])? {
        let (status, n): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
        out.set(&status, n);
    }
    Ok(out)
}

/// See [`crate::outbox::attempts`].
pub fn attempts<C: GenericClient>(c: &mut C, id: i64) -> Result<Vec<Attempt>> {
    let rows =
        c.query(&format!("SELECT {ATTEMPT_COLUMNS} FROM outbox_attempts WHERE outbox_id = $1 ORDER BY id"), &[&id])?;
    rows.iter().map(attempt).collect()
}

crate::outbox::outbox_on!(Client, Transaction<'_>);
