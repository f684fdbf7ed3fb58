//! The sign-in's two writes, each one transaction: before the password is checked, the lock of
//! (name, client address) is read and this attempt counted ([`begin`]); after it, the session or
//! the failure (and the lock-out it may cause) is written with its audit entry ([`finish`]). The
//! password check itself (argon2, slow) runs between them without the data lock, in the server.
//!
//! Lock-out is counted per (name, address): checking the lock and counting the attempt happen in
//! one transaction, so concurrent attempts cannot check more guesses than allowed, and a lock-out
//! holds only for the address that earned it.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use yuqing_store::auth::{self as store_auth, LockoutPolicy, SessionLimits};
use yuqing_store::desk;
use yuqing_store::{SqliteStore, StoreError, Work};

use crate::password::random_token;

/// Sign-in settings (`[auth]` in the configuration). Every field has a default.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// A session ends after this long without a request (default 480 = 8 hours).
    pub idle_minutes: u32,
    /// A session ends this long after sign-in, however active (default 168 = 7 days).
    pub absolute_hours: u32,
    /// Failed sign-ins for one name from one client address within `failure_window_minutes` that
    /// lock that name for that address (default 5). Other addresses are not locked.
    pub max_failures: u32,
    /// Default 15.
    pub failure_window_minutes: u32,
    /// How long the first lock-out of a (name, address) pair lasts (default 15); each further
    /// lock-out of the pair lasts twice as long as the one before, up to `max_lockout_hours`.
    pub lockout_minutes: u32,
    /// The longest lock-out (default 24).
    pub max_lockout_hours: u32,
    /// Reverse proxies whose `X-Forwarded-For` is believed (IP addresses; default none): behind
    /// one, every client would otherwise share the proxy's address for lock-out.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Always mark the cookie `Secure` (set when the server is reached over HTTPS in a way the
    /// request does not show). Without it, `Secure` is set when `X-Forwarded-Proto: https` or
    /// `Forwarded: proto=https` says the browser used TLS.
    pub secure_cookie: bool,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            idle_minutes: 8 * 60,
            absolute_hours: 7 * 24,
            max_failures: 5,
            failure_window_minutes: 15,
            lockout_minutes: 15,
            max_lockout_hours: 24,
            trusted_proxies: Vec::new(),
            secure_cookie: false,
        }
    }
}

impl AuthConfig {
    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            idle: Duration::minutes(i64::from(self.idle_minutes.max(1))),
            absolute: Duration::hours(i64::from(self.absolute_hours.max(1))),
        }
    }

    pub fn lockout(&self) -> LockoutPolicy {
        LockoutPolicy {
            max_failures: self.max_failures.max(1),
            window: Duration::minutes(i64::from(self.failure_window_minutes.max(1))),
            lock_for: Duration::minutes(i64::from(self.lockout_minutes)),
            max_lock: Duration::hours(i64::from(self.max_lockout_hours)),
        }
    }
}

/// What [`begin`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Check the password: the user's (id, active, stored hash), or None for an unknown name
    /// (checked against a dummy hash all the same, so both take as long).
    Check(Option<(i64, bool, Option<String>)>),
    /// (name, address) is locked until then; nothing was counted.
    Locked(DateTime<Utc>),
}

/// What [`finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A session: its id (the cookie's value) and the user's name.
    SignedIn { session: String, user: String },
    /// A wrong name or password (the same answer for both).
    Wrong,
    /// This failure locked (name, address) until then.
    Locked(DateTime<Utc>),
}

/// Purges expired sessions and attempts, then reads the lock of (name, addr) and, when not locked,
/// counts this attempt and returns the stored hash. One transaction.
pub fn begin(
    store: &SqliteStore,
    name: &str,
    addr: &str,
    now: DateTime<Utc>,
    limits: SessionLimits,
    lockout: LockoutPolicy,
) -> Result<Lookup, StoreError> {
    let tx = Work::begin(store.connection())?;
    store_auth::purge_expired(&tx, now, limits, lockout)?;
    let r = match store_auth::begin_attempt(&tx, name, addr, now, lockout)? {
        store_auth::Attempt::Locked(until) => Lookup::Locked(until),
        store_auth::Attempt::Allowed => {
            let u = store_auth::user_with_password(&tx, name)?;
            Lookup::Check(u.map(|(u, h)| (u.id, u.active, h)))
        }
    };
    tx.commit()?;
    Ok(r)
}

/// The password was never checked (the server was too busy): the attempt [`begin`] counted does
/// not count against this name and address.
pub fn release(store: &SqliteStore, name: &str, addr: &str) -> Result<(), StoreError> {
    store_auth::release_attempt(store.connection(), name, addr)
}

/// Writes the result of the password check: for an active user whose password `verified`, a
/// session (and `auth.login` on the audit log); otherwise the failure, which may lock (name, addr)
/// (`auth.lockout`, with the address as the actor: it is who caused it). One transaction.
pub fn finish(
    store: &SqliteStore,
    name: &str,
    addr: &str,
    user: Option<(i64, bool)>,
    verified: bool,
    now: DateTime<Utc>,
    limits: SessionLimits,
    lockout: LockoutPolicy,
) -> Result<Outcome, StoreError> {
    let tx = Work::begin(store.connection())?;
    let out = match user {
        Some((uid, true)) if verified => {
            let (Ok(sid), Ok(csrf)) = (random_token(), random_token()) else {
                return Err(StoreError::Conflict("无法取得随机数".into()));
            };
            store_auth::attempt_succeeded(&tx, name, addr)?;
            store_auth::create_session(&tx, &sid, uid, &csrf, now, limits)?;
            let detail = json!({"addr": addr}).to_string();
            desk::audit_append(&tx, name, "auth.login", &format!("user:{name}"), &detail, now)?;
            Outcome::SignedIn { session: sid, user: name.to_string() }
        }
        _ => match store_auth::attempt_failed(&tx, name, addr, now, lockout)? {
            Some(until) => {
                let detail =
                    json!({"name": name, "addr": addr, "failures": lockout.max_failures, "locked_until": until})
                        .to_string();
                desk::audit_append(&tx, addr, "auth.lockout", &format!("user:{name}"), &detail, now)?;
                Outcome::Locked(until)
            }
            None => Outcome::Wrong,
        },
    };
    tx.commit()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    const LIMITS: SessionLimits = SessionLimits { idle: Duration::minutes(30), absolute: Duration::hours(12) };

    fn lockout() -> LockoutPolicy {
        LockoutPolicy {
            max_failures: 3,
            window: Duration::minutes(15),
            lock_for: Duration::minutes(5),
            max_lock: Duration::hours(1),
        }
    }

    /// Unknown names are checked like known ones, failures from one address lock that address
    /// only, and the lock-out is on the audit log with the address as its actor.
    #[test]
    fn failures_lock_the_address_that_earned_them_and_are_audited() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("yuqing.db")).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        for i in 0..3 {
            let found = begin(&store, "nobody", "10.0.0.1", now, LIMITS, lockout()).unwrap();
            assert_eq!(found, Lookup::Check(None), "attempt {i}");
            let out = finish(&store, "nobody", "10.0.0.1", None, false, now, LIMITS, lockout()).unwrap();
            assert_eq!(matches!(out, Outcome::Locked(_)), i == 2, "attempt {i}: {out:?}");
        }
        assert!(matches!(begin(&store, "nobody", "10.0.0.1", now, LIMITS, lockout()).unwrap(), Lookup::Locked(_)));
        assert_eq!(begin(&store, "nobody", "10.0.0.2", now, LIMITS, lockout()).unwrap(), Lookup::Check(None));
        let audit = yuqing_store::desk::audit_entries(store.connection(), 0, 10).unwrap();
        assert!(audit.iter().any(|e| e.action == "auth.lockout" && e.actor == "10.0.0.1"), "{audit:?}");
        // A released attempt does not count: two failures and a release leave one guess.
        for _ in 0..2 {
            begin(&store, "x", "10.0.0.3", now, LIMITS, lockout()).unwrap();
            finish(&store, "x", "10.0.0.3", None, false, now, LIMITS, lockout()).unwrap();
        }
        begin(&store, "x", "10.0.0.3", now, LIMITS, lockout()).unwrap();
        release(&store, "x", "10.0.0.3").unwrap();
        assert_eq!(begin(&store, "x", "10.0.0.3", now, LIMITS, lockout()).unwrap(), Lookup::Check(None));
    }

    /// An inactive user whose password is right gets no session.
    #[test]
    fn only_an_active_verified_user_gets_a_session() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("yuqing.db")).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        let inactive = finish(&store, "a", "10.0.0.1", Some((1, false)), true, now, LIMITS, lockout()).unwrap();
        assert_eq!(inactive, Outcome::Wrong);
        let wrong = finish(&store, "a", "10.0.0.1", Some((1, true)), false, now, LIMITS, lockout()).unwrap();
        assert_eq!(wrong, Outcome::Wrong);
    }
}
