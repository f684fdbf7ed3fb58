//! People and sign-in on PostgreSQL — users (roles, tokens), password hashes, sessions and the
//! lock-out counters — as [`crate::auth::AuthTables`]: `crate::auth`'s and `crate::desk`'s
//! functions of the same names, with the same meaning (the row mapping, the lock-out decisions and
//! the session expiry rule are theirs), for several nodes signing people in at once.
//!
//! Invariants under concurrency: a user name is taken once (its unique key: the second of two
//! nodes adding one name gets the same "已存在" refusal as on SQLite) and ids come from the
//! `users.id` sequence; a session read locks the session's row (`FOR UPDATE`), so it waits for a
//! sign-out or revocation in progress and then finds the session gone, and two requests at once
//! never move `last_seen_at` back; an attempt locks its (name, address) row before it counts, so at
//! most `max_failures` attempts per window get their password checked however many nodes take
//! them, and of several failures recorded at once one locks the pair. SQLite gets the same from
//! its single writer. Run the transactions READ COMMITTED (PostgreSQL's default).

use chrono::{DateTime, Utc};
use postgres::{Client, GenericClient, Transaction};

use crate::auth::{
    begin_counts, failed_outcome, last_seen_step, session_over, Attempt, Failed, LockoutPolicy, Session, SessionLimits,
    ThrottleRow,
};
use crate::desk::{to_json, token_hash, user_record, NewUser, User, USER_COLS};
use crate::sql::{ts, utc};
use crate::{Result, StoreError};
use yuqing_core::people::Role;

// ---------------------------------------------------------------- users

/// See [`crate::desk::add_user`]. The name's unique key decides between two nodes adding it at once.
pub fn add_user<C: GenericClient>(c: &mut C, u: &NewUser, token_hash: &str, now: DateTime<Utc>) -> Result<User> {
    let role = u.role.unwrap_or(Role::Officer);
    let display = if u.display_name.is_empty() { &u.name } else { &u.display_name };
    let row = c.query_opt(
        &format!(
            "INSERT INTO users (name, display_name, role, department, titles, phone, email, channels, token_hash, active, \
                 created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, $10) \
             ON CONFLICT (name) DO NOTHING RETURNING {USER_COLS}"
        ),
        &[
            &u.name,
            display,
            &role.as_str(),
            &u.department,
            &to_json("users.titles", &u.titles)?,
            &u.phone,
            &u.email,
            &to_json("users.channels", &u.channels)?,
            &token_hash,
            &ts(now),
        ],
    )?;
    match row {
        Some(r) => user_record(&r),
        None => Err(StoreError::Conflict(format!("用户“{}”已存在", u.name))),
    }
}

/// See [`crate::desk::set_user_active`].
pub fn set_user_active<C: GenericClient>(c: &mut C, name: &str, active: bool) -> Result<bool> {
    Ok(c.execute("UPDATE users SET active = $2 WHERE name = $1", &[&name, &active])? > 0)
}

/// See [`crate::desk::set_user_token`].
pub fn set_user_token<C: GenericClient>(c: &mut C, name: &str, token_hash: &str) -> Result<bool> {
    Ok(c.execute("UPDATE users SET token_hash = $2 WHERE name = $1", &[&name, &token_hash])? > 0)
}

/// See [`crate::desk::user_by_name`].
pub fn user_by_name<C: GenericClient>(c: &mut C, name: &str) -> Result<Option<User>> {
    c.query_opt(&format!("SELECT {USER_COLS} FROM users WHERE name = $1"), &[&name])?
        .as_ref()
        .map(user_record)
        .transpose()
}

/// See [`crate::desk::user_by_token`].
pub fn user_by_token<C: GenericClient>(c: &mut C, token: &str) -> Result<Option<User>> {
    c.query_opt(&format!("SELECT {USER_COLS} FROM users WHERE token_hash = $1 AND active"), &[&token_hash(token)])?
        .as_ref()
        .map(user_record)
        .transpose()
}

/// See [`crate::desk::users`].
pub fn users<C: GenericClient>(c: &mut C) -> Result<Vec<User>> {
    c.query(&format!("SELECT {USER_COLS} FROM users ORDER BY id"), &[])?.iter().map(user_record).collect()
}

// ---------------------------------------------------------------- passwords

/// See [`crate::auth::set_password_hash`].
pub fn set_password_hash<C: GenericClient>(c: &mut C, name: &str, hash: &str) -> Result<bool> {
    Ok(c.execute("UPDATE users SET password_hash = $2 WHERE name = $1", &[&name, &hash])? > 0)
}

/// See [`crate::auth::user_with_password`]: the user and the hash from one row.
pub fn user_with_password<C: GenericClient>(c: &mut C, name: &str) -> Result<Option<(User, Option<String>)>> {
    let Some(r) = c.query_opt(&format!("SELECT {USER_COLS}, password_hash FROM users WHERE name = $1"), &[&name])?
    else {
        return Ok(None);
    };
    let hash: Option<String> = r.try_get(11)?;
    Ok(Some((user_record(&r)?, hash)))
}

// ---------------------------------------------------------------- sessions

/// See [`crate::auth::create_session`].
pub fn create_session<C: GenericClient>(
    c: &mut C,
    session_id: &str,
    user_id: i64,
    csrf: &str,
    now: DateTime<Utc>,
    limits: SessionLimits,
) -> Result<Session> {
    let expires_at = now + limits.absolute;
    c.execute(
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, csrf) VALUES ($1, $2, $3, $3, $4, $5)",
        &[&token_hash(session_id), &user_id, &ts(now), &ts(expires_at), &csrf],
    )?;
    Ok(Session {
        user_id,
        created_at: utc(ts(now)),
        last_seen_at: utc(ts(now)),
        expires_at: utc(ts(expires_at)),
        csrf: csrf.to_string(),
    })
}

/// See [`crate::auth::session_user`], in one transaction (a savepoint inside the caller's) that
/// locks the session's row first: a sign-out or revocation in progress is waited for (and the
/// session then found gone), and of two requests at once the second reads what the first wrote,
/// so `last_seen_at` never moves back.
pub fn session_user<C: GenericClient>(
    c: &mut C,
    session_id: &str,
    now: DateTime<Utc>,
    limits: SessionLimits,
) -> Result<Option<(Session, User)>> {
    let id_hash = token_hash(session_id);
    let mut tx = c.transaction()?;
    let Some(row) = tx.query_opt(
        "SELECT user_id, created_at, last_seen_at, expires_at, csrf FROM sessions WHERE id_hash = $1 FOR UPDATE",
        &[&id_hash],
    )?
    else {
        return Ok(None);
    };
    let (user_id, created, last_seen, expires, csrf): (i64, i64, i64, i64, String) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?, row.try_get(4)?);
    let now_s = ts(now);
    if session_over(now_s, last_seen, expires, limits) {
        tx.execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])?;
        tx.commit()?;
        return Ok(None);
    }
    let user = tx.query_opt(&format!("SELECT {USER_COLS} FROM users WHERE id = $1"), &[&user_id])?;
    let Some(user) = user.as_ref().map(user_record).transpose()?.filter(|u| u.active) else {
        tx.execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])?;
        tx.commit()?;
        return Ok(None);
    };
    let mut last_seen_at = last_seen;
    if now_s - last_seen >= last_seen_step(limits) {
        tx.execute("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1", &[&id_hash, &now_s])?;
        last_seen_at = now_s;
    }
    tx.commit()?;
    Ok(Some((
        Session { user_id, created_at: utc(created), last_seen_at: utc(last_seen_at), expires_at: utc(expires), csrf },
        user,
    )))
}

/// See [`crate::auth::delete_session`].
pub fn delete_session<C: GenericClient>(c: &mut C, session_id: &str) -> Result<bool> {
    Ok(c.execute("DELETE FROM sessions WHERE id_hash = $1", &[&token_hash(session_id)])? > 0)
}

/// See [`crate::auth::delete_user_sessions`].
pub fn delete_user_sessions<C: GenericClient>(c: &mut C, user_id: i64) -> Result<usize> {
    Ok(usize::try_from(c.execute("DELETE FROM sessions WHERE user_id = $1", &[&user_id])?).unwrap_or(usize::MAX))
}

/// See [`crate::auth::purge_expired`] (SQLite's two-argument `MAX` is `GREATEST` here).
pub fn purge_expired<C: GenericClient>(
    c: &mut C,
    now: DateTime<Utc>,
    limits: SessionLimits,
    lockout: LockoutPolicy,
) -> Result<usize> {
    let n = c.execute(
        "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at + CAST($2 AS BIGINT) <= $1",
        &[&ts(now), &limits.idle.num_seconds()],
    )?;
    c.execute(
        "DELETE FROM login_throttle WHERE COALESCE(locked_until, 0) <= $1 \
         AND last_at + CASE WHEN lockouts > 0 THEN GREATEST(CAST($2 AS BIGINT), CAST($3 AS BIGINT)) ELSE CAST($2 AS BIGINT) END <= $1",
        &[&ts(now), &lockout.window.num_seconds(), &lockout.max_lock.num_seconds()],
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

// ---------------------------------------------------------------- lock-out

/// The pair's counters, its row locked until the end of the transaction.
fn throttle_row_locked(tx: &mut Transaction<'_>, name: &str, addr: &str) -> Result<Option<ThrottleRow>> {
    let row = tx.query_opt(
        "SELECT failures, window_start, locked_until, lockouts FROM login_throttle WHERE name = $1 AND addr = $2 \
         FOR UPDATE",
        &[&name, &addr],
    )?;
    Ok(row
        .map(|r| Ok::<_, postgres::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .transpose()?)
}

/// See [`crate::auth::begin_attempt`]. The pair's row is made to exist (a new pair's row is what
/// "no row" means: no failures, a window starting now, no lock-outs) and locked before the
/// decision, so attempts from several nodes are counted one after another.
pub fn begin_attempt<C: GenericClient>(
    c: &mut C,
    name: &str,
    addr: &str,
    now: DateTime<Utc>,
    policy: LockoutPolicy,
) -> Result<Attempt> {
    let now_s = ts(now);
    let mut tx = c.transaction()?;
    tx.execute(
        "INSERT INTO login_throttle (name, addr, failures, window_start, locked_until, lockouts, last_at) \
         VALUES ($1, $2, 0, $3, NULL, 0, $3) ON CONFLICT (name, addr) DO NOTHING",
        &[&name, &addr, &now_s],
    )?;
    let row = throttle_row_locked(&mut tx, name, addr)?;
    let (failures, start, lockouts) = match begin_counts(row, now_s, policy) {
        // The row made above is only ever one that allows (no failures): nothing to undo.
        Err(locked) => {
            tx.commit()?;
            return Ok(locked);
        }
        Ok(counts) => counts,
    };
    tx.execute(
        "UPDATE login_throttle SET failures = $3, window_start = $4, locked_until = NULL, lockouts = $5, last_at = $6 \
         WHERE name = $1 AND addr = $2",
        &[&name, &addr, &failures, &start, &lockouts, &now_s],
    )?;
    tx.commit()?;
    Ok(Attempt::Allowed)
}

/// See [`crate::auth::release_attempt`] (one statement).
pub fn release_attempt<C: GenericClient>(c: &mut C, name: &str, addr: &str) -> Result<()> {
    c.execute(
        "UPDATE login_throttle SET failures = GREATEST(failures - 1, 0) WHERE name = $1 AND addr = $2 AND locked_until IS NULL",
        &[&name, &addr],
    )?;
    Ok(())
}

/// See [`crate::auth::attempt_failed`]. The pair's row is locked before the decision, so of several
/// failures recorded at once the first to take the lock locks the pair and the others find it locked.
pub fn attempt_failed<C: GenericClient>(
    c: &mut C,
    name: &str,
    addr: &str,
    now: DateTime<Utc>,
    policy: LockoutPolicy,
) -> Result<Option<DateTime<Utc>>> {
    let now_s = ts(now);
    let mut tx = c.transaction()?;
    let out = match failed_outcome(throttle_row_locked(&mut tx, name, addr)?, now_s, policy) {
        Failed::Nothing => None,
        Failed::Counted => {
            tx.execute(
                "UPDATE login_throttle SET last_at = $3 WHERE name = $1 AND addr = $2",
                &[&name, &addr, &now_s],
            )?;
            None
        }
        Failed::Locks(until) => {
            tx.execute(
                "UPDATE login_throttle SET failures = 0, window_start = $3, locked_until = $4, lockouts = lockouts + 1, \
                 last_at = $3 WHERE name = $1 AND addr = $2",
                &[&name, &addr, &now_s, &until],
            )?;
            Some(utc(until))
        }
    };
    tx.commit()?;
    Ok(out)
}

/// See [`crate::auth::attempt_succeeded`].
pub fn attempt_succeeded<C: GenericClient>(c: &mut C, name: &str, addr: &str) -> Result<()> {
    c.execute("DELETE FROM login_throttle WHERE name = $1 AND addr = $2", &[&name, &addr])?;
    Ok(())
}

/// See [`crate::auth::locked_until`].
pub fn locked_until<C: GenericClient>(
    c: &mut C,
    name: &str,
    addr: &str,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    let until: Option<Option<i64>> = c
        .query_opt("SELECT locked_until FROM login_throttle WHERE name = $1 AND addr = $2", &[&name, &addr])?
        .map(|r| r.try_get(0))
        .transpose()?;
    Ok(until.flatten().filter(|&u| u > ts(now)).map(utc))
}

crate::auth::auth_tables_on!(Client, Transaction<'_>);
