//! Storage of sign-in: password hashes on `users`, sessions (only the sha256 of a session id is
//! stored, like API tokens) and failed sign-ins by name for lock-out. Plain functions over
//! `&Connection`; time is always an argument, so expiry and lock-out are tested on a fake clock.
//! Hashing the passwords themselves (argon2id) is the server's job; this module stores strings.

use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use crate::sql::{ts, utc};
use crate::desk::{token_hash, user_by_name, User};
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
    Ok(Session { user_id, created_at: utc(ts(now)), last_seen_at: utc(ts(now)), expires_at: utc(ts(expires_at)), csrf: csrf.to_string() })
}

/// How stale `last_seen_at` may get before a request moves it: a tenth of the idle limit, at
/// most a minute, so reading pages does not write on every request, and a session used more
/// often than `idle − step` stays alive however short the idle limit.
fn last_seen_step(limits: SessionLimits) -> i64 {
    (limits.idle.num_seconds() / 10).clamp(1, 60)
}

/// The live session for `session_id` and its (active) user. An expired session (idle or absolute)
/// is deleted and None returned. Each use slides the idle expiry: `last_seen_at` moves to now
/// when it is older than [`last_seen_step`].
pub fn session_user(conn: &Connection, session_id: &str, now: DateTime<Utc>, limits: SessionLimits) -> Result<Option<(Session, User)>> {
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
    if now_s >= expires || now_s >= last_seen + limits.idle.num_seconds() {
        conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [&id_hash])?;
        return Ok(None);
    }
    let user = {
        let name: Option<String> = conn.query_row("SELECT name FROM users WHERE id = ?1", [user_id], |r| r.get(0)).optional()?;
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
    Ok(Some((Session { user_id, created_at: utc(created), last_seen_at: utc(last_seen_at), expires_at: utc(expires), csrf }, user)))
}

/// Ends one session (sign-out). False when it did not exist.
pub fn delete_session(conn: &Connection, session_id: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [token_hash(session_id)])? > 0)
}

/// Ends every session of a user (after a password change). Returns how many.
pub fn delete_user_sessions(conn: &Connection, user_id: i64) -> Result<usize> {
    Ok(conn.execute("DELETE FROM sessions WHERE user_id = ?1", [user_id])?)
}

/// Deletes expired sessions and stale failure counters; returns how many sessions went.
pub fn purge_expired(conn: &Connection, now: DateTime<Utc>, limits: SessionLimits, failure_window: Duration) -> Result<usize> {
    let n = conn.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at + ?2 <= ?1",
        params![ts(now), limits.idle.num_seconds()],
    )?;
    conn.execute(
        "DELETE FROM login_failures WHERE COALESCE(locked_until, 0) <= ?1 AND first_failure_at + ?2 <= ?1",
        params![ts(now), failure_window.num_seconds()],
    )?;
    Ok(n)
}

// ---------------------------------------------------------------- lock-out

/// Lock a name for `lock_for` after `max_failures` failed sign-ins within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub lock_for: Duration,
}

/// Until when `name` is locked, if it is now. Names are counted whether or not such a user
/// exists, so the answer says nothing about which users exist.
pub fn locked_until(conn: &Connection, name: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let until: Option<Option<i64>> =
        conn.query_row("SELECT locked_until FROM login_failures WHERE name = ?1", [name], |r| r.get(0)).optional()?;
    Ok(until.flatten().filter(|&u| u > ts(now)).map(utc))
}

/// Records a failed sign-in for `name`. Returns `Some(until)` when this failure locked the name.
pub fn record_failure(conn: &Connection, name: &str, now: DateTime<Utc>, policy: LockoutPolicy) -> Result<Option<DateTime<Utc>>> {
    let now_s = ts(now);
    let row: Option<(i64, i64, Option<i64>)> = conn
        .query_row("SELECT failures, first_failure_at, locked_until FROM login_failures WHERE name = ?1", [name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let (mut failures, mut first) = match row {
        Some((_, _, Some(until))) if until > now_s => return Ok(None), // already locked
        Some((f, first, _)) if first + policy.window.num_seconds() > now_s => (f, first),
        _ => (0, now_s),
    };
    failures += 1;
    let mut locked = None;
    if failures >= i64::from(policy.max_failures.max(1)) {
        locked = Some(now_s + policy.lock_for.num_seconds());
        failures = 0;
        first = now_s;
    }
    conn.execute(
        "INSERT INTO login_failures (name, failures, first_failure_at, locked_until) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(name) DO UPDATE SET failures = ?2, first_failure_at = ?3, locked_until = ?4",
        params![name, failures, first, locked],
    )?;
    Ok(locked.map(utc))
}

/// Forgets the failures of `name` (after a successful sign-in).
pub fn clear_failures(conn: &Connection, name: &str) -> Result<()> {
    conn.execute("DELETE FROM login_failures WHERE name = ?1", [name])?;
    Ok(())
}

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
    const POLICY: LockoutPolicy = LockoutPolicy { max_failures: 5, window: Duration::minutes(15), lock_for: Duration::minutes(15) };

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
        assert_eq!(purge_expired(c, t(9 * 60), LIMITS, POLICY.window).unwrap(), 1);
        // A deactivated user's sessions stop working.
        create_session(c, "sid5", user.id, "c", t(0), LIMITS).unwrap();
        c.execute("UPDATE users SET active = 0", []).unwrap();
        assert!(session_user(c, "sid5", t(1), LIMITS).unwrap().is_none());
    }

    #[test]
    fn five_failures_within_the_window_lock_the_name_for_fifteen_minutes() {
        let (_d, store, _) = store_with_user();
        let c = store.connection();
        for i in 0..4 {
            assert_eq!(record_failure(c, "li", t(i), POLICY).unwrap(), None);
            assert_eq!(locked_until(c, "li", t(i)).unwrap(), None);
        }
        assert_eq!(record_failure(c, "li", t(4), POLICY).unwrap(), Some(t(19)));
        assert_eq!(locked_until(c, "li", t(10)).unwrap(), Some(t(19)));
        // Failures while locked do not extend the lock.
        assert_eq!(record_failure(c, "li", t(10), POLICY).unwrap(), None);
        assert_eq!(locked_until(c, "li", t(19)).unwrap(), None, "unlocked after 15 minutes");
        // Failures spread wider than the window never lock.
        for i in 0..10 {
            assert_eq!(record_failure(c, "wang", t(100 + i * 4), POLICY).unwrap(), None, "{i}");
        }
        // Unknown names are counted the same way (the answer says nothing about who exists).
        for i in 0..5 {
            record_failure(c, "nobody", t(i), POLICY).unwrap();
        }
        assert!(locked_until(c, "nobody", t(5)).unwrap().is_some());
        // Success clears the count.
        for i in 0..4 {
            record_failure(c, "zhao", t(i), POLICY).unwrap();
        }
        clear_failures(c, "zhao").unwrap();
        assert_eq!(record_failure(c, "zhao", t(5), POLICY).unwrap(), None);
        purge_expired(c, t(1000), LIMITS, POLICY.window).unwrap();
        assert_eq!(c.query_row("SELECT COUNT(*) FROM login_failures", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
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
