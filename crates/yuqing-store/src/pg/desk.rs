//! The audit log, the report serial counters and the report schedule on PostgreSQL:
//! `crate::desk`'s and `crate::report_tables`' functions of the same names, with the same meaning
//! (the entry hashing and the chain check are theirs), for several nodes appending at once.
//!
//! Invariant: the audit chain stays one chain — ids 1, 2, 3, … without gaps, each entry hashing
//! the one before — however many connections append. An append takes a transaction-scoped
//! advisory lock on the log before it reads the last entry, and holds it until its transaction
//! ends (the caller's, when it has one), so the next appender reads the tail only once this one's
//! entry is committed or rolled back. Locking the tail row instead would not do: an empty log has
//! no row to lock, and under READ COMMITTED a second appender that waited on the old tail wakes up
//! still holding that row — the old tail — and forks the chain. The lock is keyed by the log
//! table's oid, so stores in different schemas of one database do not wait for each other. The
//! tail is read by the statement after the lock, which sees what committed before it: run the
//! transaction READ COMMITTED (PostgreSQL's default); under a snapshot taken earlier an append
//! fails on the duplicate id instead of forking the chain.

use chrono::{DateTime, Utc};
use postgres::{Client, GenericClient, Transaction};
use yuqing_core::audit::{AuditEntry, ChainBreak};

use crate::desk::{audit_entry, audit_next, audit_page, audit_verify_with, AUDIT_COLUMNS};
use crate::sql::ts;
use crate::{Page, Result};

/// The first key of the advisory lock an audit append holds ("yqau"); the second is the table's oid.
const AUDIT_LOCK: i32 = 0x79_71_61_75;
/// The first key of the advisory lock a schedule read holds in a transaction ("yqsc").
const SCHEDULE_LOCK: i32 = 0x79_71_73_63;

/// Takes the transaction-scoped advisory lock `tag` on `table` (of the schema in use).
pub(crate) fn lock_table<C: GenericClient>(c: &mut C, tag: i32, table: &str) -> Result<()> {
    // An oid is unsigned 32-bit; as int4 it may be negative, which the lock does not mind.
    c.execute(
        "SELECT pg_advisory_xact_lock($1, CAST(CAST(CAST($2 AS text) AS regclass) AS oid)::int4)",
        &[&tag, &table],
    )?;
    Ok(())
}

/// See [`crate::desk::audit_append`]: appends the entry that follows the last, inside the caller's
/// transaction when there is one (in a savepoint; the lock is held until the caller's end).
pub fn audit_append<C: GenericClient>(
    c: &mut C,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<AuditEntry> {
    let mut tx = c.transaction()?;
    lock_table(&mut tx, AUDIT_LOCK, "audit_log")?;
    let last = tx
        .query_opt("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1", &[])?
        .map(|r| Ok::<_, postgres::Error>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()?;
    let e = audit_next(last, actor, action, target, detail, now);
    tx.execute(
        &format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
        &[&e.id, &e.at, &e.actor, &e.action, &e.target, &e.detail, &e.prev_hash, &e.hash],
    )?;
    tx.commit()?;
    Ok(e)
}

/// See [`crate::desk::audit_entries`].
pub fn audit_entries<C: GenericClient>(c: &mut C, after: i64, limit: usize) -> Result<Vec<AuditEntry>> {
    let rows = c.query(
        &format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"),
        &[&after, &i64::try_from(limit).unwrap_or(i64::MAX)],
    )?;
    rows.iter().map(audit_entry).collect()
}

/// See [`crate::desk::audit_recent`].
pub fn audit_recent<C: GenericClient>(c: &mut C, limit: usize, offset: usize) -> Result<Page<AuditEntry>> {
    let r = c.query_one("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM audit_log", &[])?;
    let (total, max): (i64, i64) = (r.try_get(0)?, r.try_get(1)?);
    audit_page(total, max, limit, offset, |after, n| audit_entries(c, after, n))
}

/// See [`crate::desk::audit_verify`].
pub fn audit_verify<C: GenericClient>(c: &mut C) -> Result<std::result::Result<u64, ChainBreak>> {
    audit_verify_with(|after| audit_entries(c, after, 10_000))
}

/// See [`crate::report_tables::next_serial`]. The counter's row stays locked until the
/// transaction ends, so a second issuer waits and then takes the next number; a rolled-back issue
/// gives its number back.
pub fn next_serial<C: GenericClient>(c: &mut C, scope: &str, year: i32) -> Result<i64> {
    Ok(c.query_one(
        "INSERT INTO report_serials (scope, year, last) VALUES ($1, $2, 1) \
         ON CONFLICT (scope, year) DO UPDATE SET last = report_serials.last + 1 RETURNING last",
        &[&scope, &i64::from(year)],
    )?
    .try_get(0)?)
}

/// See [`crate::report_tables::schedule_last`]. Inside a transaction it first takes the schedule's
/// advisory lock, held until the transaction ends: a node that reads the schedule, produces what
/// is owed and records it in one transaction cannot interleave with another doing the same (the
/// row lock would not do — the first period of a job has no row yet).
pub fn schedule_last<C: GenericClient>(c: &mut C, name: &str) -> Result<Option<String>> {
    lock_table(c, SCHEDULE_LOCK, "report_schedule")?;
    Ok(c.query_opt("SELECT last_period FROM report_schedule WHERE name = $1", &[&name])?
        .map(|r| r.try_get(0))
        .transpose()?)
}

/// See [`crate::report_tables::schedule_set`].
pub fn schedule_set<C: GenericClient>(c: &mut C, name: &str, period: &str, now: DateTime<Utc>) -> Result<()> {
    c.execute(
        "INSERT INTO report_schedule (name, last_period, at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO UPDATE SET last_period = EXCLUDED.last_period, at = EXCLUDED.at",
        &[&name, &period, &ts(now)],
    )?;
    Ok(())
}

crate::desk::audit_log_on!(Client, Transaction<'_>);
crate::report_tables::report_state_on!(Client, Transaction<'_>);
