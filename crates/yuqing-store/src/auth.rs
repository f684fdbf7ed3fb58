//! Storage of sign-in: password hashes on `users`, sessions (only the sha256 of a session id is
//! stored, like API tokens) and failed sign-ins per (name, client address) for lock-out. Plain functions over
//! `&Connection`; time is always an argument, so expiry and lock-out are tested on a fake clock.
//! Hashing the passwords themselves (argon2id) is the server's job; this module stores strings.
//!
//! The people and sign-in state — users (with their roles and tokens, `crate::desk`'s functions),
//! password hashes, sessions and the lock-out counters — is on both backends behind [`AuthTables`]:
//! implemented by the SQLite connection (the functions here) and by a PostgreSQL client or
//! transaction (`pg::auth`, safe when several nodes sign people in at once).

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::desk::{
    add_user, set_user_active, set_user_token, token_hash, user_by_name, user_by_token, users, NewUser, User,
};
use crate::sql::{ts, utc};
use crate::Result;

// ---------------------------------------------------------------- passwords

/// Sets a user's password hash (a PHC string such as `$argon2id$...`). False when no such user.
pub fn set_password_hash(conn: &Connection, name: &str, hash: &str) -> Result<bool> {
    Ok(conn.execute("UPDATE users SET password_hash = ?2 WHERE name = ?1", params![name, hash])? > 0)
}

/// A user with its stored password hash (None when no password was ever set).
pub fn user_with_password(conn: &Connection, name: &str) -> Result<Option<(User, Option<String>)>> {
    let Some(user) = user_by_name(conn, name)? else { return Ok(None) };
    let hash: Option<String> =
        conn.query_row("SELECT password_hash FROM users WHERE name = ?1", [name], |r| r.get(0)).optional()?.flatten();
    Ok(Some((user, hash)))
}

// ---------------------------------------------------------------- sessions

/// A signed-in session. The id itself is only in the user's cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: i64,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// The absolute end, however active the session is.
    pub expires_at: DateTime<Utc>,
    /// The token every state-changing request of this session must carry.
    pub csrf: String,
}

/// How long sessions live: `idle` without a request, `absolute` at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub idle: Duration,
    pub absolute: Duration,
}

/// Stores a new session for `session_id` (kept only as its sha256).
pub fn create_session(
    conn: &Connection,
    session_id: &str,
    user_id: i64,
    csrf: &str,
    now: DateTime<Utc>,
    limits: SessionLimits,
) -> Result<Session> {
    let expires_at = now + limits.absolute;
    conn.execute(
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, expires_at, csrf) VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
        params![token_hash(session_id), user_id, ts(now), ts(expires_at), csrf],
    )?;
    Ok(Session {
        user_id,
        created_at: utc(ts(now)),
        last_seen_at: utc(ts(now)),
        expires_at: utc(ts(expires_at)),
        csrf: csrf.to_string(),
    })
}

/// How stale `last_seen_at` may get before a request moves it: a tenth of the idle limit, at
/// most a minute, so reading pages does not write on every request, and a session used more
/// often than `idle − step` stays alive however short the idle limit.
pub(crate) fn last_seen_step(limits: SessionLimits) -> i64 {
    (limits.idle.num_seconds() / 10).clamp(1, 60)
}

/// Whether a session last seen and ending at these times (Unix seconds) is over at `now_s`.
pub(crate) fn session_over(now_s: i64, last_seen: i64, expires: i64, limits: SessionLimits) -> bool {
    now_s >= expires || now_s >= last_seen + limits.idle.num_seconds()
}

/// The live session for `session_id` and its (active) user. An expired session (idle or absolute)
/// is deleted and None returned. Each use slides the idle expiry: `last_seen_at` moves to now
/// when it is older than [`last_seen_step`].
pub fn session_user(
    conn: &Connection,
    session_id: &str,
    now: DateTime<Utc>,
    limits: SessionLimits,
) -> Result<Option<(Session, User)>> {
    let id_hash = token_hash(session_id);
    let row: Option<(i64, i64, i64, i64, String)> = conn
        .query_row(
            "SELECT user_id, created_at, last_seen_at, expires_at, csrf FROM sessions WHERE id_hash = ?1",
            [&id_hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((user_id, created, last_seen, expires, csrf)) = row else { return Ok(None) };
    let now_s = ts(now);
    if session_over(now_s, last_seen, expires, limits) {
        conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash])?;
        return Ok(None);
    }
    let user = {
        let name: Option<String> =
            conn.query_row("SELECT name FROM users WHERE id = ?1", [user_id], |r| r.get(0)).optional()?;
        match name {
            Some(n) => user_by_name(conn, &n)?,
            None => None,
        }
    };
    let Some(user) = user.filter(|u| u.active) else {
        conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash])?;
        return Ok(None);
    };
    let mut last_seen_at = last_seen;
    if now_s - last_seen >= last_seen_step(limits) {
        conn.execute("UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1", params![id_hash, now_s])?;
        last_seen_at = now_s;
    }
    Ok(Some((
        Session { user_id, created_at: utc(created), last_seen_at: utc(last_seen_at), expires_at: utc(expires), csrf },
        user,
    )))
}

/// Ends one session (sign-out). False when it did not exist.
pub fn delete_session(conn: &Connection, session_id: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [token_hash(session_id)])? > 0)
}

/// Ends every session of a user (after a password change). Returns how many.
pub fn delete_user_sessions(conn: &Connection, user_id: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?)
}

/// Deletes expired sessions and stale lock-out counters (a pair that was never locked is
/// forgotten a window after its last attempt, one that was after `max_lock`); returns how many
/// sessions went.
pub fn purge_expired(
    conn: &Connection,
    now: DateTime<Utc>,
    limits: SessionLimits,
    lockout: LockoutPolicy,
) -> Result<usize> {
    let n = conn.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at + ?2 <= ?1",
        params![ts(now), limits.idle.num_seconds()],
    )?;
    conn.execute(
        "DELETE FROM login_throttle WHERE COALESCE(locked_until, 0) <= ?1 \
         AND last_at + CASE WHEN lockouts > 0 THEN MAX(?2, ?3) ELSE ?2 END <= ?1",
        params![ts(now), lockout.window.num_seconds(), lockout.max_lock.num_seconds()],
    )?;
    Ok(n)
}

// ---------------------------------------------------------------- lock-out

/// Lock-out of one (name, client address) pair: after `max_failures` failed sign-ins within
/// `window`, the pair is locked for `lock_for`, doubled at each further lock-out of the pair
/// (back-off) up to `max_lock`. A pair remembers its lock-outs until `max_lock` passes without an
/// attempt, or until a successful sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub lock_for: Duration,
    pub max_lock: Duration,
}

impl LockoutPolicy {
    /// How long the `n`th lock-out of a pair lasts (n = 0 for the first): `lock_for · 2ⁿ`, at most
    /// `max_lock`.
    pub fn lock_duration(&self, n: i64) -> Duration {
        let base = self.lock_for.num_seconds().max(0);
        let cap = self.max_lock.num_seconds().max(base);
        let secs = base.checked_mul(1i64 << n.clamp(0, 30)).unwrap_or(cap).min(cap);
        Duration::seconds(secs)
    }
}

/// Whether an attempt may check its password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Counted (as a failure until [`attempt_succeeded`] says otherwise): check the password.
    Allowed,
    /// Refused without checking the password, until then.
    Locked(DateTime<Utc>),
}

pub(crate) type ThrottleRow = (i64, i64, Option<i64>, i64);

fn throttle_row(conn: &Connection, name: &str, addr: &str) -> Result<Option<ThrottleRow>> {
    Ok(conn
        .query_row(
            "SELECT failures, window_start, locked_until, lockouts FROM login_throttle WHERE name = ?1 AND addr = ?2",
            params![name, addr],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?)
}

/// Checks the lock of `name` from `addr` and counts this attempt, in one step: the caller runs it
/// in the transaction (under the data lock) that also reads the password hash, so however many
/// attempts arrive at once, at most `max_failures` per window get their password checked. The
/// attempt counts as a failure until [`attempt_succeeded`]; one never checked (refused for
/// another reason) is taken back with [`release_attempt`]. Names are counted whether or not such
/// a user exists, so the answer says nothing about which users exist.
pub fn begin_attempt(
    conn: &Connection,
    name: &str,
    addr: &str,
    now: DateTime<Utc>,
    policy: LockoutPolicy,
) -> Result<Attempt> {
    let now_s = ts(now);
    let (failures, start, lockouts) = match begin_counts(throttle_row(conn, name, addr)?, now_s, policy) {
        Err(locked) => return Ok(locked),
        Ok(counts) => counts,
    };
    conn.execute(
        "INSERT INTO login_throttle (name, addr, failures, window_start, locked_until, lockouts, last_at) VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6) \
         ON CONFLICT(name, addr) DO UPDATE SET failures = ?3, window_start = ?4, locked_until = NULL, lockouts = ?5, last_at = ?6",
        params![name, addr, failures, start, lockouts, now_s],
    )?;
    Ok(Attempt::Allowed)
}

/// What [`begin_attempt`] decides from the pair's row (both backends): refused (`Err`), or the
/// pair's new (failures, window start, lock-outs) with this attempt counted.
pub(crate) fn begin_counts(
    row: Option<ThrottleRow>,
    now_s: i64,
    policy: LockoutPolicy,
) -> std::result::Result<(i64, i64, i64), Attempt> {
    if let Some((_, _, Some(until), _)) = row {
        if until > now_s {
            return Err(Attempt::Locked(utc(until)));
        }
    }
    let window = policy.window.num_seconds();
    let (failures, start, lockouts) = match row {
        Some((f, start, _, lockouts)) if start + window > now_s => (f, start, lockouts),
        Some((_, _, _, lockouts)) => (0, now_s, lockouts),
        None => (0, now_s, 0),
    };
    if failures >= i64::from(policy.max_failures.max(1)) {
        // Every guess of this window is taken by attempts still being checked.
        return Err(Attempt::Locked(utc(start + window)));
    }
    Ok((failures + 1, start, lockouts))
}

/// Takes back an attempt counted by [`begin_attempt`] whose password was never checked.
pub fn release_attempt(conn: &Connection, name: &str, addr: &str) -> Result<()> {
    conn.execute(
        "UPDATE login_throttle SET failures = MAX(failures - 1, 0) WHERE name = ?1 AND addr = ?2 AND locked_until IS NULL",
        params![name, addr],
    )?;
    Ok(())
}

/// The password of an attempt was wrong. Returns `Some(until)` when this failure locked the pair
/// (its window's `max_failures` are used up), for the audit log.
pub fn attempt_failed(
    conn: &Connection,
    name: &str,
    addr: &str,
    now: DateTime<Utc>,
    policy: LockoutPolicy,
) -> Result<Option<DateTime<Utc>>> {
    let now_s = ts(now);
    match failed_outcome(throttle_row(conn, name, addr)?, now_s, policy) {
        Failed::Nothing => Ok(None),
        Failed::Counted => {
            conn.execute(
                "UPDATE login_throttle SET last_at = ?3 WHERE name = ?1 AND addr = ?2",
                params![name, addr, now_s],
            )?;
            Ok(None)
        }
        Failed::Locks(until) => {
            conn.execute(
                "UPDATE login_throttle SET failures = 0, window_start = ?3, locked_until = ?4, lockouts = lockouts + 1, last_at = ?3 \
                 WHERE name = ?1 AND addr = ?2",
                params![name, addr, now_s, until],
            )?;
            Ok(Some(utc(until)))
        }
    }
}

/// What [`attempt_failed`] does to the pair's row (both backends).
pub(crate) enum Failed {
    /// No row, or a concurrent attempt of the same window locked it already.
    Nothing,
    /// Counted already (by `begin_attempt`): only `last_at` moves.
    Counted,
    /// This failure locks the pair until then (Unix seconds).
    Locks(i64),
}

pub(crate) fn failed_outcome(row: Option<ThrottleRow>, now_s: i64, policy: LockoutPolicy) -> Failed {
    let Some((failures, _, locked, lockouts)) = row else { return Failed::Nothing };
    if locked.is_some_and(|u| u > now_s) {
        return Failed::Nothing; // a concurrent attempt of the same window locked it already
    }
    if failures < i64::from(policy.max_failures.max(1)) {
        return Failed::Counted;
    }
    Failed::Locks(now_s + policy.lock_duration(lockouts).num_seconds())
}

/// The password was right: the pair forgets its failures and lock-outs.
pub fn attempt_succeeded(conn: &Connection, name: &str, addr: &str) -> Result<()> {
    conn.execute("DELETE FROM login_throttle WHERE name = ?1 AND addr = ?2", params![name, addr])?;
    Ok(())
}

/// Until when `name` is locked for attempts from `addr`, if it is now.
pub fn locked_until(conn: &Connection, name: &str, addr: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    Ok(throttle_row(conn, name, addr)?.and_then(|(_, _, until, _)| until).filter(|&u| u > ts(now)).map(utc))
}

// ---------------------------------------------------------------- one interface, two backends

/// Users, their passwords, sessions and sign-in lock-out on either backend: implemented by the
/// SQLite connection (`&Connection`, through the functions above and `crate::desk`'s user
/// functions) and by a PostgreSQL client or transaction (`pg::auth`). Each method means what the
/// function of its name means. On PostgreSQL, with several nodes at once, a user name is taken
/// once (the second add is refused as on SQLite), ids come from a sequence, a session read waits
/// for a sign-out or revocation in progress and never moves `last_seen_at` back, and the lock-out
/// counts each attempt once (at most `max_failures` per window get their password checked, and
/// one failure locks the pair).
pub trait AuthTables {
    /// See [`crate::desk::add_user`].
    fn add_user(&mut self, u: &NewUser, token_hash: &str, now: DateTime<Utc>) -> Result<User>;
    /// See [`crate::desk::set_user_active`].
    fn set_user_active(&mut self, name: &str, active: bool) -> Result<bool>;
    /// See [`crate::desk::set_user_token`].
    fn set_user_token(&mut self, name: &str, token_hash: &str) -> Result<bool>;
    /// See [`crate::desk::user_by_name`].
    fn user_by_name(&mut self, name: &str) -> Result<Option<User>>;
    /// See [`crate::desk::user_by_token`].
    fn user_by_token(&mut self, token: &str) -> Result<Option<User>>;
    /// See [`crate::desk::users`].
    fn users(&mut self) -> Result<Vec<User>>;
    /// See [`set_password_hash`].
    fn set_password_hash(&mut self, name: &str, hash: &str) -> Result<bool>;
    /// See [`user_with_password`].
    fn user_with_password(&mut self, name: &str) -> Result<Option<(User, Option<String>)>>;
    /// See [`create_session`].
    fn create_session(
        &mut self,
        session_id: &str,
        user_id: i64,
        csrf: &str,
        now: DateTime<Utc>,
        limits: SessionLimits,
    ) -> Result<Session>;
    /// See [`session_user`].
    fn session_user(
        &mut self,
        session_id: &str,
        now: DateTime<Utc>,
        limits: SessionLimits,
    ) -> Result<Option<(Session, User)>>;
    /// See [`delete_session`].
    fn delete_session(&mut self, session_id: &str) -> Result<bool>;
    /// See [`delete_user_sessions`].
    fn delete_user_sessions(&mut self, user_id: i64) -> Result<usize>;
    /// See [`purge_expired`].
    fn purge_expired(&mut self, now: DateTime<Utc>, limits: SessionLimits, lockout: LockoutPolicy) -> Result<usize>;
    /// See [`begin_attempt`].
    fn begin_attempt(&mut self, name: &str, addr: &str, now: DateTime<Utc>, policy: LockoutPolicy) -> Result<Attempt>;
    /// See [`release_attempt`].
    fn release_attempt(&mut self, name: &str, addr: &str) -> Result<()>;
    /// See [`attempt_failed`].
    fn attempt_failed(
        &mut self,
        name: &str,
        addr: &str,
        now: DateTime<Utc>,
        policy: LockoutPolicy,
    ) -> Result<Option<DateTime<Utc>>>;
    /// See [`attempt_succeeded`].
    fn attempt_succeeded(&mut self, name: &str, addr: &str) -> Result<()>;
    /// See [`locked_until`].
    fn locked_until(&mut self, name: &str, addr: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>>;
}

/// Implements [`AuthTables`] for each client type by calling the functions of the same names where
/// it is used: this module's (and `crate::desk`'s) on SQLite (below), `pg::auth`'s on PostgreSQL.
macro_rules! auth_tables_on {
    ($($client:ty),*) => {$(
        impl $crate::auth::AuthTables for $client {
            fn add_user(&mut self, u: &NewUser, token_hash: &str, now: DateTime<Utc>) -> Result<User> {
                add_user(self, u, token_hash, now)
            }
            fn set_user_active(&mut self, name: &str, active: bool) -> Result<bool> {
                set_user_active(self, name, active)
            }
            fn set_user_token(&mut self, name: &str, token_hash: &str) -> Result<bool> {
                set_user_token(self, name, token_hash)
            }
            fn user_by_name(&mut self, name: &str) -> Result<Option<User>> {
                user_by_name(self, name)
            }
            fn user_by_token(&mut self, token: &str) -> Result<Option<User>> {
                user_by_token(self, token)
            }
            fn users(&mut self) -> Result<Vec<User>> {
                users(self)
            }
            fn set_password_hash(&mut self, name: &str, hash: &str) -> Result<bool> {
                set_password_hash(self, name, hash)
            }
            fn user_with_password(&mut self, name: &str) -> Result<Option<(User, Option<String>)>> {
                user_with_password(self, name)
            }
            fn create_session(
                &mut self,
                session_id: &str,
                user_id: i64,
                csrf: &str,
                now: DateTime<Utc>,
                limits: SessionLimits,
            ) -> Result<Session> {
                create_session(self, session_id, user_id, csrf, now, limits)
            }
            fn session_user(
                &mut self,
                session_id: &str,
                now: DateTime<Utc>,
                limits: SessionLimits,
            ) -> Result<Option<(Session, User)>> {
                session_user(self, session_id, now, limits)
            }
            fn delete_session(&mut self, session_id: &str) -> Result<bool> {
                delete_session(self, session_id)
            }
            fn delete_user_sessions(&mut self, user_id: i64) -> Result<usize> {
                delete_user_sessions(self, user_id)
            }
            fn purge_expired(
                &mut self,
                now: DateTime<Utc>,
                limits: SessionLimits,
                lockout: LockoutPolicy,
            ) -> Result<usize> {
                purge_expired(self, now, limits, lockout)
            }
            fn begin_attempt(
                &mut self,
                name: &str,
                addr: &str,
                now: DateTime<Utc>,
                policy: LockoutPolicy,
            ) -> Result<Attempt> {
                begin_attempt(self, name, addr, now, policy)
            }
            fn release_attempt(&mut self, name: &str, addr: &str) -> Result<()> {
                release_attempt(self, name, addr)
            }
            fn attempt_failed(
                &mut self,
                name: &str,
                addr: &str,
                now: DateTime<Utc>,
                policy: LockoutPolicy,
            ) -> Result<Option<DateTime<Utc>>> {
                attempt_failed(self, name, addr, now, policy)
            }
            fn attempt_succeeded(&mut self, name: &str, addr: &str) -> Result<()> {
                attempt_succeeded(self, name, addr)
            }
            fn locked_until(&mut self, name: &str, addr: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
                locked_until(self, name, addr, now)
            }
        }
    )*};
}
pub(crate) use auth_tables_on;

auth_tables_on!(&Connection);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::{add_user, NewUser};
    use crate::SqliteStore;
    use chrono::TimeZone;
    use yuqing_core::people::Role;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap() + Duration::minutes(min)
    }
    const LIMITS: SessionLimits = SessionLimits { idle: Duration::hours(8), absolute: Duration::days(7) };
    const POLICY: LockoutPolicy = LockoutPolicy {
        max_failures: 5,
        window: Duration::minutes(15),
        lock_for: Duration::minutes(15),
        max_lock: Duration::hours(24),
    };

    fn store_with_user() -> (tempfile::TempDir, SqliteStore, User) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("y.db")).unwrap();
        let u = NewUser { name: "li".into(), role: Some(Role::Officer), ..Default::default() };
        let user = add_user(store.connection(), &u, "tok", t(0)).unwrap();
        (dir, store, user)
    }

    #[test]
    fn password_hash_is_stored_and_read_back() {
        let (_d, store, _) = store_with_user();
        let c = store.connection();
        assert_eq!(user_with_password(c, "li").unwrap().unwrap().1, None);
        assert!(set_password_hash(c, "li", "$argon2id$x").unwrap());
        assert_eq!(user_with_password(c, "li").unwrap().unwrap().1.as_deref(), Some("$argon2id$x"));
        assert!(!set_password_hash(c, "nobody", "$argon2id$x").unwrap());
        assert!(user_with_password(c, "nobody").unwrap().is_none());
    }

    #[test]
    fn sessions_expire_when_idle_and_at_the_absolute_limit() {
        let (_d, store, user) = store_with_user();
        let c = store.connection();
        create_session(c, "sid", user.id, "csrf1", t(0), LIMITS).unwrap();
        // Only the hash is stored.
        let stored: String = c.query_row("SELECT id_hash FROM sessions", [], |r| r.get(0)).unwrap();
        assert_ne!(stored, "sid");
        let (s, u) = session_user(c, "sid", t(10), LIMITS).unwrap().unwrap();
        assert_eq!((u.name.as_str(), s.csrf.as_str()), ("li", "csrf1"));
        assert!(session_user(c, "other", t(10), LIMITS).unwrap().is_none());
        // Active every 7 hours: alive for days, until the absolute limit.
        for h in 1..24 {
            assert!(session_user(c, "sid", t(h * 7 * 60), LIMITS).unwrap().is_some(), "hour {}", h * 7);
        }
        assert!(session_user(c, "sid", t(7 * 24 * 60), LIMITS).unwrap().is_none(), "absolute expiry");
        // Idle expiry.
        create_session(c, "sid2", user.id, "csrf2", t(0), LIMITS).unwrap();
        assert!(session_user(c, "sid2", t(8 * 60 - 1), LIMITS).unwrap().is_some());
        assert!(session_user(c, "sid2", t(2 * 8 * 60 - 1), LIMITS).unwrap().is_none(), "idle for 8 hours");
        assert_eq!(c.query_row("SELECT COUNT(*) FROM sessions", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
        // Sign-out and purge.
        create_session(c, "sid3", user.id, "c", t(0), LIMITS).unwrap();
        assert!(delete_session(c, "sid3").unwrap());
        assert!(session_user(c, "sid3", t(1), LIMITS).unwrap().is_none());
        create_session(c, "sid4", user.id, "c", t(0), LIMITS).unwrap();
        assert_eq!(purge_expired(c, t(9 * 60), LIMITS, POLICY).unwrap(), 1);
        // A deactivated user's sessions stop working.
        create_session(c, "sid5", user.id, "c", t(0), LIMITS).unwrap();
        c.execute("UPDATE users SET active = 0", []).unwrap();
        assert!(session_user(c, "sid5", t(1), LIMITS).unwrap().is_none());
    }

    /// One failed sign-in of `name` from `addr` at `at`: counted, checked, failed.
    fn fail(c: &Connection, name: &str, addr: &str, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        assert_eq!(begin_attempt(c, name, addr, at, POLICY).unwrap(), Attempt::Allowed, "{name}@{addr} at {at}");
        attempt_failed(c, name, addr, at, POLICY).unwrap()
    }

    #[test]
    fn five_failures_within_the_window_lock_the_pair_with_back_off() {
        let (_d, store, _) = store_with_user();
        let c = store.connection();
        const A: &str = "203.0.113.5";
        const B: &str = "198.51.100.7";
        for i in 0..4 {
            assert_eq!(fail(c, "li", A, t(i)), None);
            assert_eq!(locked_until(c, "li", A, t(i)).unwrap(), None);
        }
        assert_eq!(fail(c, "li", A, t(4)), Some(t(19)));
        assert_eq!(locked_until(c, "li", A, t(10)).unwrap(), Some(t(19)));
        assert_eq!(
            begin_attempt(c, "li", A, t(10), POLICY).unwrap(),
            Attempt::Locked(t(19)),
            "refused unchecked while locked"
        );
        // Another address is not locked by this one's failures.
        assert_eq!(locked_until(c, "li", B, t(10)).unwrap(), None);
        assert_eq!(begin_attempt(c, "li", B, t(10), POLICY).unwrap(), Attempt::Allowed);
        attempt_succeeded(c, "li", B).unwrap();
        // The next lock-out of the same pair lasts twice as long, then four times…
        for i in 19..23 {
            assert_eq!(fail(c, "li", A, t(i)), None);
        }
        assert_eq!(fail(c, "li", A, t(23)), Some(t(23 + 30)));
        for i in 53..57 {
            assert_eq!(fail(c, "li", A, t(i)), None);
        }
        assert_eq!(fail(c, "li", A, t(57)), Some(t(57 + 60)));
        // … at most max_lock.
        assert_eq!(POLICY.lock_duration(10), Duration::hours(24));
        assert_eq!(POLICY.lock_duration(i64::MAX), Duration::hours(24));
        // Success forgets the pair's failures and lock-outs.
        attempt_succeeded(c, "li", A).unwrap();
        for i in 200..204 {
            assert_eq!(fail(c, "li", A, t(i)), None);
        }
        assert_eq!(fail(c, "li", A, t(204)), Some(t(219)), "back to the first lock-out's length");
        // Failures spread wider than the window never lock.
        for i in 0..10 {
            assert_eq!(fail(c, "wang", A, t(100 + i * 4)), None, "{i}");
        }
        // Unknown names are counted the same way (the answer says nothing about who exists).
        for i in 0..5 {
            fail(c, "nobody", A, t(i));
        }
        assert!(locked_until(c, "nobody", A, t(5)).unwrap().is_some());
        // Stale counters are purged: unlocked pairs after the window, locked ones after max_lock.
        purge_expired(c, t(1000), LIMITS, POLICY).unwrap();
        let rows =
            |c: &Connection| c.query_row("SELECT COUNT(*) FROM login_throttle", [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(rows(c), 2, "li and nobody were locked: kept for the back-off");
        purge_expired(c, t(1000 + 24 * 60), LIMITS, POLICY).unwrap();
        assert_eq!(rows(c), 0);
    }

    #[test]
    fn attempts_are_counted_before_their_password_is_checked() {
        let (_d, store, _) = store_with_user();
        let c = store.connection();
        // Sixty attempts arrive before any is checked: five are let through.
        let allowed =
            (0..60).filter(|_| begin_attempt(c, "li", "a", t(0), POLICY).unwrap() == Attempt::Allowed).count();
        assert_eq!(allowed, 5);
        // The first of them to fail locks the pair; the others find it locked.
        assert_eq!(attempt_failed(c, "li", "a", t(0), POLICY).unwrap(), Some(t(15)));
        for _ in 0..3 {
            assert_eq!(attempt_failed(c, "li", "a", t(0), POLICY).unwrap(), None);
        }
        // An attempt never checked (refused as busy) is taken back.
        assert_eq!(begin_attempt(c, "li", "b", t(0), POLICY).unwrap(), Attempt::Allowed);
        release_attempt(c, "li", "b").unwrap();
        for i in 0..4 {
            assert_eq!(fail(c, "li", "b", t(i)), None, "{i}");
        }
        assert!(fail(c, "li", "b", t(4)).is_some());
    }

    #[test]
    fn idle_expiry_slides_with_use_however_short_the_limit() {
        let (_d, store, user) = store_with_user();
        let c = store.connection();
        let limits = SessionLimits { idle: Duration::minutes(1), absolute: Duration::days(7) };
        create_session(c, "sid", user.id, "csrf", t(0), limits).unwrap();
        // Used every 20 seconds for ten minutes: alive throughout.
        for k in 1..=30 {
            let at = t(0) + Duration::seconds(20 * k);
            assert!(session_user(c, "sid", at, limits).unwrap().is_some(), "after {} s", 20 * k);
        }
        // Then a minute without a request ends it.
        assert!(session_user(c, "sid", t(11), limits).unwrap().is_none());
        assert_eq!(last_seen_step(LIMITS), 60);
        assert_eq!(last_seen_step(limits), 6);
    }
}
