//! The notification outbox: every message is written here first (in the same transaction as the
//! change that caused it, when the caller wants), then delivered by a worker that retries with
//! exponential backoff until the message is delivered or expires. Every attempt is recorded.
//!
//! Plain functions over `&rusqlite::Connection`; time is always an argument. Times are stored as
//! Unix seconds, like the rest of the database.
//!
//! Delivery is at least once: a worker first *claims* due messages (moving their next attempt past a
//! lease, so another tick does not pick them while they are in flight), delivers them without holding
//! any lock, then records the outcome. A crash between delivering and recording means the message is
//! tried again once the lease has passed; receivers that must not see a message twice deduplicate on
//! the message id.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::rows::Cols;
use crate::sql::{collect, ts, utc};
use crate::{Result, StoreError};

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// Delivered; no more attempts.
    Delivered,
    /// Not delivered before it expired; no more attempts unless requeued by hand.
    Expired,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxStatus> {
        match s {
            "pending" => Some(OutboxStatus::Pending),
            "delivered" => Some(OutboxStatus::Delivered),
            "expired" => Some(OutboxStatus::Expired),
            _ => None,
        }
    }

    /// The name shown to users.
    pub fn label(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "待发送",
            OutboxStatus::Delivered => "已送达",
            OutboxStatus::Expired => "已过期未送达",
        }
    }
}

/// A message to enqueue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMessage {
    /// The configured channel's name (not its kind): e.g. "值班群".
    pub channel: String,
    /// Channel-specific addressee: email addresses (comma-separated) for email, passed through for
    /// the generic webhook; ignored by the group robots.
    pub recipient: Option<String>,
    /// Mobile numbers to @-mention in robot messages ("all" mentions everyone).
    pub mention: Vec<String>,
    pub subject: String,
    pub body: String,
    /// A link to the matter in yuqing, appended to the message.
    pub link: Option<String>,
    /// When set, a second message with the same key is not enqueued (e.g. "alert:42:值班群").
    pub dedup_key: Option<String>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub channel: String,
    pub recipient: Option<String>,
    pub mention: Vec<String>,
    pub subject: String,
    pub body: String,
    pub link: Option<String>,
    pub dedup_key: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Attempts made so far.
    pub attempts: u32,
    pub status: OutboxStatus,
    pub delivered_at: Option<DateTime<Utc>>,
    /// The last failed attempt's reason (kept after delivery, for the record).
    pub last_error: Option<String>,
}

/// One recorded delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attempt {
    pub id: i64,
    pub outbox_id: i64,
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// What the receiver answered, or why the attempt failed (in Chinese; shown to users).
    pub detail: String,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Delivered; the detail says what the receiver answered.
    Delivered(String),
    /// Failed; the reason. The message is retried later unless it has expired.
    Failed(String),
}

/// When to retry and when to give up. Pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The delay after the first failure; it doubles after each further failure.
    pub base: Duration,
    /// The longest delay between two attempts.
    pub max_delay: Duration,
    /// How long after enqueueing a message is still tried.
    pub expire_after: Duration,
}

impl Default for RetryPolicy {
    /// 30 s doubling to 30 min; expire after 24 h.
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(30),
            max_delay: Duration::from_secs(30 * 60),
            expire_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt after `failures` failed attempts (1 after the first):
    /// `base · 2^(failures−1)`, capped at `max_delay`. Zero failures means no delay.
    pub fn backoff(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
        self.base.checked_mul(factor).unwrap_or(Duration::MAX).min(self.max_delay)
    }
}

/// What `record_attempt` did to the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub status: OutboxStatus,
    /// Attempts made so far, this one included.
    pub attempts: u32,
    /// When the next attempt is due (meaningful while pending).
    pub next_attempt_at: DateTime<Utc>,
}

pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The columns of a messages query, in the order [`message`] reads them (both backends).
pub(crate) const COLUMNS: &str =
    "id, channel, recipient, mention, subject, body, link, dedup_key, created_at, next_attempt_at, \
    expires_at, attempts, status, delivered_at, last_error";

/// A message from a row of [`COLUMNS`], on either backend.
pub(crate) fn message(row: &impl Cols) -> Result<OutboxMessage> {
    let id = row.int(0)?;
    let mention = row.opt_text(3)?;
    let status = row.text(12)?;
    let corrupt = |detail: String| StoreError::Corrupt { what: format!("通知 {id}"), detail };
    let mention = match mention.as_deref().filter(|s| !s.is_empty()) {
        None => Vec::new(),
        Some(s) => serde_json::from_str::<Vec<String>>(s).map_err(|e| corrupt(format!("提醒对象 {s}：{e}")))?,
    };
    let status = OutboxStatus::parse(&status).ok_or_else(|| corrupt(format!("未知状态 {status}")))?;
    Ok(OutboxMessage {
        id,
        channel: row.text(1)?,
        recipient: row.opt_text(2)?,
        mention,
        subject: row.text(4)?,
        body: row.text(5)?,
        link: row.opt_text(6)?,
        dedup_key: row.opt_text(7)?,
        created_at: utc(row.int(8)?),
        next_attempt_at: utc(row.int(9)?),
        expires_at: utc(row.int(10)?),
        attempts: u32::try_from(row.int(11)?).unwrap_or(u32::MAX),
        status,
        delivered_at: row.opt_int(13)?.map(utc),
        last_error: row.opt_text(14)?,
    })
}

fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Result<OutboxMessage>> {
    Ok(message(row))
}

/// The `mention` column of a new message: a JSON list, or NULL when there is none.
pub(crate) fn mention_column(msg: &NewMessage) -> Result<Option<String>> {
    if msg.mention.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&msg.mention)
        .map(Some)
        .map_err(|e| StoreError::Corrupt { what: "提醒对象".into(), detail: e.to_string() })
}

/// Writes a message to the outbox, due at once and expiring `policy.expire_after` from `now`.
/// Returns its id, or `None` when a message with the same `dedup_key` is already stored (whatever
/// its status), so a periodic tick never enqueues the same notice twice.
pub fn enqueue(conn: &Connection, msg: &NewMessage, now: DateTime<Utc>, policy: &RetryPolicy) -> Result<Option<i64>> {
    let mention = mention_column(msg)?;
    let now_s = ts(now);
    let expires = now_s.saturating_add(secs(policy.expire_after));
    let n = conn.execute(
        "INSERT INTO outbox (channel, recipient, mention, subject, body, link, dedup_key, created_at, next_attempt_at, \
             expires_at, attempts, status) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, 0, 'pending') \
         ON CONFLICT(dedup_key) DO NOTHING",
        params![msg.channel, msg.recipient, mention, msg.subject, msg.body, msg.link, msg.dedup_key, now_s, expires],
    )?;
    Ok(if n == 0 { None } else { Some(conn.last_insert_rowid()) })
}

/// Pending messages whose next attempt is due at `now`, oldest due first. Reads only.
pub fn due(conn: &Connection, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1 \
         ORDER BY next_attempt_at, id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![ts(now), limit as i64], message_from_row)?;
    collect(rows)
}

/// Like [`due`], but also moves the claimed messages' next attempt to `now + lease`, in one
/// statement, so another worker tick does not pick them while they are being delivered. If the
/// outcome is never recorded (a crash mid-delivery), they come due again once the lease has passed.
/// The messages are returned as they were before the claim.
pub fn claim(conn: &Connection, now: DateTime<Utc>, limit: usize, lease: Duration) -> Result<Vec<OutboxMessage>> {
    let picked = due(conn, now, limit)?;
    take(conn, picked, now, lease)
}

/// How many due messages [`claim_fair`] takes, and of which channels.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClaimLimits<'a> {
    /// At most this many messages in all.
    pub total: usize,
    /// At most this many of one channel, so a backlog on one cannot crowd out the others.
    pub per_channel: usize,
    /// Channels being delivered right now: nothing of theirs is claimed.
    pub busy: &'a [String],
    /// Channels that failed recently: only their new messages (never tried yet) are claimed; their
    /// retries wait for the next pass after the pause.
    pub new_only: &'a [String],
}

/// Like [`claim`], but fair between channels: within a channel new messages (never tried) come
/// before retries, each in due order, and at most `per_channel` of one channel are taken; the
/// channels take turns (every channel's first, then every channel's second, …) up to `total`. So a
/// new alert is claimed in the first pass however large another channel's backlog of retries is.
pub fn claim_fair(
    conn: &Connection,
    now: DateTime<Utc>,
    limits: &ClaimLimits<'_>,
    lease: Duration,
) -> Result<Vec<OutboxMessage>> {
    if limits.total == 0 || limits.per_channel == 0 {
        return Ok(Vec::new());
    }
    use rusqlite::types::Value;
    let mut args: Vec<Value> = vec![
        Value::Integer(ts(now)),
        Value::Integer(i64::try_from(limits.per_channel).unwrap_or(i64::MAX)),
        Value::Integer(i64::try_from(limits.total).unwrap_or(i64::MAX)),
    ];
    fn list(names: &[String], args: &mut Vec<Value>) -> String {
        let marks: Vec<String> = names
            .iter()
            .map(|n| {
                args.push(Value::Text(n.clone()));
                format!("?{}", args.len())
            })
            .collect();
        marks.join(", ")
    }
    let mut filter = String::new();
    if !limits.busy.is_empty() {
        filter.push_str(&format!(" AND channel NOT IN ({})", list(limits.busy, &mut args)));
    }
    if !limits.new_only.is_empty() {
        filter.push_str(&format!(" AND NOT (attempts > 0 AND channel IN ({}))", list(limits.new_only, &mut args)));
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM (\
            SELECT {COLUMNS}, ROW_NUMBER() OVER (PARTITION BY channel ORDER BY attempts > 0, next_attempt_at, id) AS turn \
            FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1{filter}\
         ) WHERE turn <= ?2 ORDER BY turn, attempts > 0, next_attempt_at, id LIMIT ?3"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), message_from_row)?;
    let picked = collect(rows)?;
    take(conn, picked, now, lease)
}

/// When a claim made at `now` with `lease` runs out.
pub(crate) fn lease_end(now: DateTime<Utc>, lease: Duration) -> i64 {
    ts(now).saturating_add(secs(lease).max(1))
}

/// Gives back a message claimed at `now` with `lease` that was not tried (its channel was failing):
/// due again at `due_at`, its due time before the claim, so nothing is lost or pushed back. False
/// when the claim no longer holds it (an outcome was recorded meanwhile).
pub fn release(conn: &Connection, id: i64, due_at: DateTime<Utc>, now: DateTime<Utc>, lease: Duration) -> Result<bool> {
    let n = conn.execute(
        "UPDATE outbox SET next_attempt_at = ?1 WHERE id = ?2 AND status = 'pending' AND next_attempt_at = ?3",
        params![ts(due_at), id, lease_end(now, lease)],
    )?;
    Ok(n == 1)
}

/// Moves the picked messages' next attempt past the lease; returns those this call took.
fn take(
    conn: &Connection,
    picked: Vec<OutboxMessage>,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<Vec<OutboxMessage>> {
    if picked.is_empty() {
        return Ok(picked);
    }
    let until = lease_end(now, lease);
    let mut stmt = conn.prepare_cached(
        "UPDATE outbox SET next_attempt_at = ?1 WHERE id = ?2 AND status = 'pending' AND next_attempt_at <= ?3",
    )?;
    let mut claimed = Vec::with_capacity(picked.len());
    for m in picked {
        // Zero rows: someone else claimed or finished it between the read and this update.
        if stmt.execute(params![until, m.id, ts(now)])? == 1 {
            claimed.push(m);
        }
    }
    Ok(claimed)
}

/// Records one attempt on message `id` at `now` and moves the message on: delivered on success;
/// on failure, the attempt count goes up and the next attempt is due after the policy's backoff —
/// never later than the message's expiry, so the last try happens at the expiry — and a failure at
/// or past the expiry marks the message expired. The attempt row is written in every case, even for
/// a message that is no longer pending (its status is then left as it is).
///
/// Returns `None` when there is no message `id`. Runs in one transaction unless the caller already
/// has one open.
pub fn record_attempt(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    outcome: &AttemptOutcome,
    policy: &RetryPolicy,
) -> Result<Option<Recorded>> {
    let own_tx = conn.is_autocommit();
    if own_tx {
        conn.execute_batch("BEGIN IMMEDIATE")?;
    }
    let result = record_attempt_inner(conn, id, now, outcome, policy);
    if own_tx {
        match &result {
            Ok(_) => conn.execute_batch("COMMIT")?,
            Err(_) => {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
    result
}

fn record_attempt_inner(
    conn: &Connection,
    id: i64,
    now: DateTime<Utc>,
    outcome: &AttemptOutcome,
    policy: &RetryPolicy,
) -> Result<Option<Recorded>> {
    let row: Option<(String, i64, i64, i64)> = conn
        .query_row("SELECT status, attempts, expires_at, next_attempt_at FROM outbox WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((status, attempts, expires_at, next_attempt_at)) = row else {
        return Ok(None);
    };
    let before = Before { id, status: &status, attempts, expires_at, next_attempt_at };
    let after = after_attempt(&before, now, outcome, policy)?;
    conn.prepare_cached("INSERT INTO outbox_attempts (outbox_id, at, ok, detail) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![id, ts(now), after.ok, after.detail])?;
    conn.execute(
        AFTER_ATTEMPT,
        params![after.attempts, after.status, after.next_attempt_at, after.delivered_at, after.last_error, id],
    )?;
    Ok(Some(after.recorded))
}

/// A message as an attempt finds it (read under the attempt's lock or transaction).
pub(crate) struct Before<'a> {
    pub id: i64,
    pub status: &'a str,
    pub attempts: i64,
    pub expires_at: i64,
    pub next_attempt_at: i64,
}

/// What one attempt does to its message: the attempt row's fields and the message's new values
/// for [`AFTER_ATTEMPT`]. Decided once for both backends.
pub(crate) struct After<'a> {
    pub recorded: Recorded,
    pub ok: bool,
    pub detail: &'a str,
    pub attempts: i64,
    pub status: &'static str,
    pub next_attempt_at: i64,
    /// Set when delivered now; otherwise the column keeps its value.
    pub delivered_at: Option<i64>,
    /// Set when this attempt failed on a pending message; otherwise the column keeps its value.
    pub last_error: Option<&'a str>,
}

/// The update that moves a message on after an attempt: parameters attempts, status, next attempt,
/// delivered at (NULL keeps it), last error (NULL keeps it), id.
const AFTER_ATTEMPT: &str = "UPDATE outbox SET attempts = ?1, status = ?2, next_attempt_at = ?3, \
    delivered_at = COALESCE(?4, delivered_at), last_error = COALESCE(?5, last_error) WHERE id = ?6";

/// Delivered on success; on failure the attempt count goes up and the next attempt is due after the
/// backoff, never later than the expiry; a failure at or past the expiry expires the message. A
/// message no longer pending only counts the attempt.
pub(crate) fn after_attempt<'a>(
    before: &Before<'_>,
    now: DateTime<Utc>,
    outcome: &'a AttemptOutcome,
    policy: &RetryPolicy,
) -> Result<After<'a>> {
    let status = OutboxStatus::parse(before.status).ok_or_else(|| StoreError::Corrupt {
        what: format!("通知 {}", before.id),
        detail: format!("未知状态 {}", before.status),
    })?;
    let now_s = ts(now);
    let (ok, detail) = match outcome {
        AttemptOutcome::Delivered(d) => (true, d.as_str()),
        AttemptOutcome::Failed(d) => (false, d.as_str()),
    };
    let attempts = before.attempts.saturating_add(1);
    let attempts_u32 = u32::try_from(attempts).unwrap_or(u32::MAX);
    let unchanged = |status: OutboxStatus| Recorded {
        status,
        attempts: attempts_u32,
        next_attempt_at: utc(before.next_attempt_at),
    };
    let mut after = After {
        recorded: unchanged(status),
        ok,
        detail,
        attempts,
        status: status.as_str(),
        next_attempt_at: before.next_attempt_at,
        delivered_at: None,
        last_error: None,
    };
    if status != OutboxStatus::Pending {
        // Delivered or expired meanwhile (a second worker, a requeue race): keep the record only.
        return Ok(after);
    }
    if ok {
        after.recorded = unchanged(OutboxStatus::Delivered);
        after.status = OutboxStatus::Delivered.as_str();
        after.delivered_at = Some(now_s);
        return Ok(after);
    }
    after.last_error = Some(detail);
    if now_s >= before.expires_at {
        after.recorded = unchanged(OutboxStatus::Expired);
        after.status = OutboxStatus::Expired.as_str();
        return Ok(after);
    }
    let next = now_s.saturating_add(secs(policy.backoff(attempts_u32)).max(1)).min(before.expires_at);
    after.next_attempt_at = next;
    after.recorded = Recorded { status: OutboxStatus::Pending, attempts: attempts_u32, next_attempt_at: utc(next) };
    Ok(after)
}

/// Puts an expired message back in the queue by hand: pending, due at `now`, with a fresh expiry
/// (`policy.expire_after` from `now`). False when there is no such message or it is not expired.
pub fn requeue(conn: &Connection, id: i64, now: DateTime<Utc>, policy: &RetryPolicy) -> Result<bool> {
    let n = conn.execute(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?1, expires_at = ?2 WHERE id = ?3 AND status = 'expired'",
        params![ts(now), ts(now).saturating_add(secs(policy.expire_after)), id],
    )?;
    Ok(n == 1)
}

/// One message.
pub fn get(conn: &Connection, id: i64) -> Result<Option<OutboxMessage>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"))?;
    match stmt.query_row([id], message_from_row).optional()? {
        None => Ok(None),
        Some(r) => Ok(Some(r?)),
    }
}

/// One message by its dedup key.
pub fn get_by_dedup_key(conn: &Connection, key: &str) -> Result<Option<OutboxMessage>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE dedup_key = ?1"))?;
    match stmt.query_row([key], message_from_row).optional()? {
        None => Ok(None),
        Some(r) => Ok(Some(r?)),
    }
}

/// Messages, newest first, optionally only those with one status.
pub fn list(
    conn: &Connection,
    status: Option<OutboxStatus>,
    limit: usize,
    offset: usize,
) -> Result<Vec<OutboxMessage>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(
        params![status.map(|s| s.as_str()), limit.min(1000) as i64, crate::sql::sql_offset(offset)],
        message_from_row,
    )?;
    collect(rows)
}

/// How many messages have each status: (pending, delivered, expired).
pub fn counts(conn: &Connection) -> Result<OutboxCounts> {
    let mut stmt = conn.prepare_cached("SELECT status, COUNT(*) FROM outbox GROUP BY status")?;
    let mut c = OutboxCounts::default();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    for r in rows {
        let (status, n) = r?;
        c.set(&status, n);
    }
    Ok(c)
}

/// Messages per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivered: u64,
    pub expired: u64,
}

impl OutboxCounts {
    /// Takes in one row of `SELECT status, COUNT(*) … GROUP BY status` (both backends); an unknown
    /// status counts nowhere.
    pub(crate) fn set(&mut self, status: &str, n: i64) {
        let n = u64::try_from(n).unwrap_or(0);
        match OutboxStatus::parse(status) {
            Some(OutboxStatus::Pending) => self.pending = n,
            Some(OutboxStatus::Delivered) => self.delivered = n,
            Some(OutboxStatus::Expired) => self.expired = n,
            None => {}
        }
    }
}

/// The attempts on one message, in order.
pub fn attempts(conn: &Connection, id: i64) -> Result<Vec<Attempt>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {ATTEMPT_COLUMNS} FROM outbox_attempts WHERE outbox_id = ?1 ORDER BY id"))?;
    let rows = stmt.query_map([id], |r| Ok(attempt(r)))?;
    collect(rows)
}

/// The columns of an attempts query, in the order [`attempt`] reads them.
pub(crate) const ATTEMPT_COLUMNS: &str = "id, outbox_id, at, ok, detail";

/// An attempt from a row of [`ATTEMPT_COLUMNS`], on either backend.
pub(crate) fn attempt(r: &impl Cols) -> Result<Attempt> {
    Ok(Attempt { id: r.int(0)?, outbox_id: r.int(1)?, at: utc(r.int(2)?), ok: r.flag(3)?, detail: r.text(4)? })
}

// ---------------------------------------------------------------- one interface, two backends

/// The outbox on either backend: implemented by the SQLite connection (`&Connection`, through the
/// functions above) and by a PostgreSQL client or transaction (`pg::outbox`). Each method means what
/// the function of the same name above means; on PostgreSQL a claim also holds when several nodes
/// claim at once — no message is handed to two of them.
pub trait Outbox {
    /// See [`enqueue`]: the new message's id, or None when its dedup key is taken.
    fn enqueue(&mut self, msg: &NewMessage, now: DateTime<Utc>, policy: &RetryPolicy) -> Result<Option<i64>>;
    /// See [`due`].
    fn due(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxMessage>>;
    /// See [`claim`].
    fn claim(&mut self, now: DateTime<Utc>, limit: usize, lease: Duration) -> Result<Vec<OutboxMessage>>;
    /// See [`claim_fair`].
    fn claim_fair(
        &mut self,
        now: DateTime<Utc>,
        limits: &ClaimLimits<'_>,
        lease: Duration,
    ) -> Result<Vec<OutboxMessage>>;
    /// See [`release`].
    fn release(&mut self, id: i64, due_at: DateTime<Utc>, now: DateTime<Utc>, lease: Duration) -> Result<bool>;
    /// See [`record_attempt`].
    fn record_attempt(
        &mut self,
        id: i64,
        now: DateTime<Utc>,
        outcome: &AttemptOutcome,
        policy: &RetryPolicy,
    ) -> Result<Option<Recorded>>;
    /// See [`requeue`].
    fn requeue(&mut self, id: i64, now: DateTime<Utc>, policy: &RetryPolicy) -> Result<bool>;
    /// See [`get`].
    fn message(&mut self, id: i64) -> Result<Option<OutboxMessage>>;
    /// See [`get_by_dedup_key`].
    fn message_by_dedup_key(&mut self, key: &str) -> Result<Option<OutboxMessage>>;
    /// See [`list`].
    fn messages(&mut self, status: Option<OutboxStatus>, limit: usize, offset: usize) -> Result<Vec<OutboxMessage>>;
    /// See [`counts`].
    fn counts(&mut self) -> Result<OutboxCounts>;
    /// See [`attempts`].
    fn attempts(&mut self, id: i64) -> Result<Vec<Attempt>>;
}

/// Implements [`Outbox`] for each client type by calling the functions of the same names where it
/// is used: this module's on SQLite (below), `pg::outbox`'s on PostgreSQL.
macro_rules! outbox_on {
    ($($client:ty),*) => {$(
        impl $crate::outbox::Outbox for $client {
            fn enqueue(&mut self, msg: &NewMessage, now: DateTime<Utc>, policy: &RetryPolicy) -> Result<Option<i64>> {
                enqueue(self, msg, now, policy)
            }
            fn due(&mut self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxMessage>> {
                due(self, now, limit)
            }
            fn claim(&mut self, now: DateTime<Utc>, limit: usize, lease: Duration) -> Result<Vec<OutboxMessage>> {
                claim(self, now, limit, lease)
            }
            fn claim_fair(
                &mut self,
                now: DateTime<Utc>,
                limits: &ClaimLimits<'_>,
                lease: Duration,
            ) -> Result<Vec<OutboxMessage>> {
                claim_fair(self, now, limits, lease)
            }
            fn release(&mut self, id: i64, due_at: DateTime<Utc>, now: DateTime<Utc>, lease: Duration) -> Result<bool> {
                release(self, id, due_at, now, lease)
            }
            fn record_attempt(
                &mut self,
                id: i64,
                now: DateTime<Utc>,
                outcome: &AttemptOutcome,
                policy: &RetryPolicy,
            ) -> Result<Option<Recorded>> {
                record_attempt(self, id, now, outcome, policy)
            }
            fn requeue(&mut self, id: i64, now: DateTime<Utc>, policy: &RetryPolicy) -> Result<bool> {
                requeue(self, id, now, policy)
            }
            fn message(&mut self, id: i64) -> Result<Option<OutboxMessage>> {
                get(self, id)
            }
            fn message_by_dedup_key(&mut self, key: &str) -> Result<Option<OutboxMessage>> {
                get_by_dedup_key(self, key)
            }
            fn messages(
                &mut self,
                status: Option<OutboxStatus>,
                limit: usize,
                offset: usize,
            ) -> Result<Vec<OutboxMessage>> {
                list(self, status, limit, offset)
            }
            fn counts(&mut self) -> Result<OutboxCounts> {
                counts(self)
            }
            fn attempts(&mut self, id: i64) -> Result<Vec<Attempt>> {
                attempts(self, id)
            }
        }
    )*};
}
pub(crate) use outbox_on;

outbox_on!(&Connection);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;

    fn t(s: i64) -> DateTime<Utc> {
        utc(1_750_000_000 + s)
    }

    fn open() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("yuqing.db")).expect("open");
        (dir, store)
    }

    fn msg(channel: &str, key: Option<&str>) -> NewMessage {
        NewMessage {
            channel: channel.into(),
            recipient: None,
            mention: vec!["13800000000".into()],
            subject: "预警：某地化工厂异味".into(),
            body: "事件已升至 III 级".into(),
            link: Some("http://yuqing.local/stories/7".into()),
            dedup_key: key.map(String::from),
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0), Duration::ZERO);
        assert_eq!(p.backoff(1), Duration::from_secs(30));
        assert_eq!(p.backoff(2), Duration::from_secs(60));
        assert_eq!(p.backoff(3), Duration::from_secs(120));
        assert_eq!(p.backoff(6), Duration::from_secs(960));
        assert_eq!(p.backoff(7), Duration::from_secs(1800));
        assert_eq!(p.backoff(8), Duration::from_secs(1800));
        assert_eq!(p.backoff(40), Duration::from_secs(1800));
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(1800));
        let huge = RetryPolicy { base: Duration::MAX, max_delay: Duration::MAX, expire_after: Duration::MAX };
        assert_eq!(huge.backoff(5), Duration::MAX);
    }

    #[test]
    fn enqueue_dedups_and_roundtrips() {
        let (_d, s) = open();
        let c = s.connection();
        let p = RetryPolicy::default();
        let id = enqueue(c, &msg("值班群", Some("alert:7")), t(0), &p).unwrap().unwrap();
        assert_eq!(enqueue(c, &msg("值班群", Some("alert:7")), t(5), &p).unwrap(), None);
        // Without a key, no deduplication.
        let a = enqueue(c, &msg("值班群", None), t(0), &p).unwrap();
        let b = enqueue(c, &msg("值班群", None), t(0), &p).unwrap();
        assert!(a.is_some() && b.is_some() && a != b);
        let m = get(c, id).unwrap().unwrap();
        assert_eq!(m.channel, "值班群");
        assert_eq!(m.mention, vec!["13800000000".to_string()]);
        assert_eq!(m.status, OutboxStatus::Pending);
        assert_eq!(m.attempts, 0);
        assert_eq!(m.created_at, t(0));
        assert_eq!(m.next_attempt_at, t(0));
        assert_eq!(m.expires_at, t(24 * 3600));
        assert_eq!(get_by_dedup_key(c, "alert:7").unwrap().map(|m| m.id), Some(id));
        assert_eq!(get(c, 9999).unwrap(), None);
        let empty = NewMessage { mention: vec![], ..msg("x", None) };
        let e = enqueue(c, &empty, t(0), &p).unwrap().unwrap();
        assert!(get(c, e).unwrap().unwrap().mention.is_empty());
    }

    #[test]
    fn enqueue_joins_the_callers_transaction() {
        let (_d, s) = open();
        let c = s.connection();
        let p = RetryPolicy::default();
        c.execute_batch("BEGIN").unwrap();
        enqueue(c, &msg("值班群", Some("k")), t(0), &p).unwrap();
        c.execute_batch("ROLLBACK").unwrap();
        assert!(get_by_dedup_key(c, "k").unwrap().is_none());
        // record_attempt inside a caller's transaction does not commit it.
        let id = enqueue(c, &msg("值班群", Some("k")), t(0), &p).unwrap().unwrap();
        c.execute_batch("BEGIN").unwrap();
        record_attempt(c, id, t(1), &AttemptOutcome::Delivered("ok".into()), &p).unwrap();
        c.execute_batch("ROLLBACK").unwrap();
        assert_eq!(get(c, id).unwrap().unwrap().status, OutboxStatus::Pending);
        assert!(attempts(c, id).unwrap().is_empty());
    }

    #[test]
    fn failures_back_off_then_delivery() {
        let (_d, s) = open();
        let c = s.connection();
        let p = RetryPolicy::default();
        let id = enqueue(c, &msg("值班群", None), t(0), &p).unwrap().unwrap();
        assert_eq!(due(c, t(0), 10).unwrap().len(), 1);
        let r = record_attempt(c, id, t(0), &AttemptOutcome::Failed("HTTP 500".into()), &p).unwrap().unwrap();
        assert_eq!(r, Recorded { status: OutboxStatus::Pending, attempts: 1, next_attempt_at: t(30) });
        assert!(due(c, t(29), 10).unwrap().is_empty());
        assert_eq!(due(c, t(30), 10).unwrap().len(), 1);
        let r = record_attempt(c, id, t(30), &AttemptOutcome::Failed("errcode 310000".into()), &p).unwrap().unwrap();
        assert_eq!(r.next_attempt_at, t(90));
        let m = get(c, id).unwrap().unwrap();
        assert_eq!(m.last_error.as_deref(), Some("errcode 310000"));
        let r = record_attempt(c, id, t(90), &AttemptOutcome::Delivered("errcode 0".into()), &p).unwrap().unwrap();
        assert_eq!(r.status, OutboxStatus::Delivered);
        let m = get(c, id).unwrap().unwrap();
        assert_eq!((m.status, m.attempts, m.delivered_at), (OutboxStatus::Delivered, 3, Some(t(90))));
        assert!(due(c, t(100_000), 10).unwrap().is_empty());
        let a = attempts(c, id).unwrap();
        assert_eq!(
            a.iter().map(|a| (a.at, a.ok, a.detail.as_str())).collect::<Vec<_>>(),
            vec![(t(0), false, "HTTP 500"), (t(30), false, "errcode 310000"), (t(90), true, "errcode 0"),]
        );
        // A late duplicate outcome is recorded but does not change the status.
        let r = record_attempt(c, id, t(95), &AttemptOutcome::Failed("late".into()), &p).unwrap().unwrap();
        assert_eq!(r.status, OutboxStatus::Delivered);
        assert_eq!(attempts(c, id).unwrap().len(), 4);
        assert_eq!(record_attempt(c, 9999, t(0), &AttemptOutcome::Failed("x".into()), &p).unwrap(), None);
    }

    #[test]
    fn expires_after_the_last_try_at_expiry_and_can_be_requeued() {
        let (_d, s) = open();
        let c = s.connection();
        let p = RetryPolicy {
            base: Duration::from_secs(10),
            max_delay: Duration::from_secs(40),
            expire_after: Duration::from_secs(100),
        };
        let id = enqueue(c, &msg("值班群", None), t(0), &p).unwrap().unwrap();
        let fail = AttemptOutcome::Failed("连接被拒绝".into());
        let mut now = t(0);
        let mut times = vec![];
        loop {
            let r = record_attempt(c, id, now, &fail, &p).unwrap().unwrap();
            times.push(now.timestamp() - t(0).timestamp());
            if r.status == OutboxStatus::Expired {
                break;
            }
            now = r.next_attempt_at;
        }
        // 0, +10, +20, +40, +40 (capped), then the last try exactly at expiry (100).
        assert_eq!(times, vec![0, 10, 30, 70, 100]);
        let m = get(c, id).unwrap().unwrap();
        assert_eq!((m.status, m.attempts), (OutboxStatus::Expired, 5));
        assert_eq!(attempts(c, id).unwrap().len(), 5);
        assert!(due(c, t(1000), 10).unwrap().is_empty());
        assert_eq!(list(c, Some(OutboxStatus::Expired), 10, 0).unwrap().len(), 1);
        assert!(requeue(c, id, t(500), &p).unwrap());
        assert!(!requeue(c, id, t(500), &p).unwrap());
        let m = get(c, id).unwrap().unwrap();
        assert_eq!((m.status, m.next_attempt_at, m.expires_at), (OutboxStatus::Pending, t(500), t(600)));
    }

    #[test]
    fn a_message_due_long_after_its_expiry_is_still_tried_once() {
        let (_d, s) = open();
        let c = s.connection();
        let p = RetryPolicy::default();
        let id = enqueue(c, &msg("值班群", None), t(0), &p).unwrap().unwrap();
        let late = t(3 * 24 * 3600);
        assert_eq!(due(c, late, 10).unwrap().len(), 1);
        let r = record_attempt(c, id, late, &AttemptOutcome::Delivered("ok".into()), &p).unwrap().unwrap();
        assert_eq!(r.status, OutboxStatus::Delivered);
    }

    #[test]
    fn claim_leases_and_lists() {
        let (_d, s) = open();
        let c = s.connection();
        let p = RetryPolicy::default();
        let ids: Vec<i64> = (0..3).map(|i| enqueue(c, &msg("值班群", None), t(i), &p).unwrap().unwrap()).collect();
        let got = claim(c, t(1), 10, Duration::from_secs(60)).unwrap();
        assert_eq!(got.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..2].to_vec());
        // Claimed ones are not due again until the lease passes; the third is.
        assert_eq!(
            claim(c, t(2), 10, Duration::from_secs(60)).unwrap().iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![ids[2]]
        );
        assert!(claim(c, t(30), 10, Duration::from_secs(60)).unwrap().is_empty());
        assert_eq!(claim(c, t(61), 1, Duration::from_secs(60)).unwrap().len(), 1);
        assert_eq!(
            list(c, None, 10, 0).unwrap().iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![ids[2], ids[1], ids[0]]
        );
        assert_eq!(list(c, None, 1, 1).unwrap()[0].id, ids[1]);
        assert_eq!(list(c, Some(OutboxStatus::Delivered), 10, 0).unwrap().len(), 0);
        record_attempt(c, ids[0], t(61), &AttemptOutcome::Delivered("ok".into()), &p).unwrap();
        assert_eq!(counts(c).unwrap(), OutboxCounts { pending: 2, delivered: 1, expired: 0 });
    }
}
