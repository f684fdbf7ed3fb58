//! What keeps sign-in from being turned against the server: a cap on password verifications in
//! flight (each argon2id verification takes 19 MiB and tens of milliseconds of a core, so an
//! unbounded flood of `POST /login` would exhaust memory), and the client address lock-out is
//! counted against.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use tokio::sync::Semaphore;

/// Password verifications running at once, at most.
pub const MAX_CONCURRENT_VERIFICATIONS: usize = 4;
/// Sign-ins waiting for a verification slot, at most; more are refused at once (429).
pub const MAX_WAITING: usize = 32;
/// How long a sign-in waits for a slot before it is refused (429).
pub const MAX_WAIT: Duration = Duration::from_secs(3);
/// `Retry-After` of a sign-in refused as busy, in seconds.
pub const BUSY_RETRY_AFTER_SECS: u64 = 5;

/// The verification was not run: too many sign-ins at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// The gate every password verification of `/login` passes: at most
/// [`MAX_CONCURRENT_VERIFICATIONS`] at once, at most [`MAX_WAITING`] waiting, each at most
/// [`MAX_WAIT`]. One per server (in `AppState`).
pub struct SignInGate {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_wait: Duration,
    counters: Arc<Counters>,
}

/// What the gate lets tests observe and hold (see [`SignInGate::hold`]).
#[derive(Default)]
struct Counters {
    runs: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
    held: Mutex<bool>,
    released: Condvar,
}

impl Default for SignInGate {
    fn default() -> SignInGate {
        SignInGate {
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_VERIFICATIONS)),
            waiting: AtomicUsize::new(0),
            max_wait: MAX_WAIT,
            counters: Arc::default(),
        }
    }
}

/// Decrements the waiting count however the wait ends (also when the request is dropped).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SignInGate {
    /// Runs `check` (the argon2 verification) on a blocking thread once a slot is free, or
    /// refuses. The slot is held by the blocking thread itself, so a client that disconnects
    /// cannot free it while its verification still runs.
    pub async fn run(&self, check: impl FnOnce() -> bool + Send + 'static) -> Result<bool, Busy> {
        let permit = {
            if self.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                return Err(Busy);
            }
            let _waiting = Waiting(&self.waiting);
            match tokio::time::timeout(self.max_wait, self.slots.clone().acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) | Err(_) => return Err(Busy),
            }
        };
        let counters = self.counters.clone();
        let r = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            {
                let mut held = counters.held.lock().unwrap_or_else(PoisonError::into_inner);
                while *held {
                    held = counters.released.wait(held).unwrap_or_else(PoisonError::into_inner);
                }
            }
            counters.runs.fetch_add(1, Ordering::SeqCst);
            let now = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
            counters.peak.fetch_max(now, Ordering::SeqCst);
            let ok = check();
            counters.running.fetch_sub(1, Ordering::SeqCst);
            ok
        })
        .await;
        match r {
            Ok(ok) => Ok(ok),
            Err(e) => {
                tracing::error!(error = %e, "password verification failed to run");
                Ok(false)
            }
        }
    }

    /// Test hook: a gate whose sign-ins wait up to `max_wait` for a slot (a test on a loaded
    /// machine must not see a refusal for waiting).
    #[doc(hidden)]
    pub fn with_max_wait(max_wait: Duration) -> SignInGate {
        SignInGate { max_wait, ..SignInGate::default() }
    }

    /// Test hook: while held, verifications that got a slot wait before they start, so a test can
    /// fill the slots and the queue without relying on timing.
    #[doc(hidden)]
    pub fn hold(&self, on: bool) {
        *self.counters.held.lock().unwrap_or_else(PoisonError::into_inner) = on;
        if !on {
            self.counters.released.notify_all();
        }
    }

    /// Test hook: sign-ins holding a slot (running or held) and waiting for one.
    #[doc(hidden)]
    pub fn occupancy(&self) -> (usize, usize) {
        (MAX_CONCURRENT_VERIFICATIONS - self.slots.available_permits(), self.waiting.load(Ordering::SeqCst))
    }

    /// Test hook: how many verifications ran.
    #[doc(hidden)]
    pub fn verifications(&self) -> usize {
        self.counters.runs.load(Ordering::SeqCst)
    }

    /// Test hook: the most verifications that ever ran at once.
    #[doc(hidden)]
    pub fn peak(&self) -> usize {
        self.counters.peak.load(Ordering::SeqCst)
    }
}

/// The client a sign-in is counted against: the socket peer's address, or, when the peer is one
/// of `trusted_proxies`, the nearest address in `X-Forwarded-For` that is not a trusted proxy
/// (the header is the client's to write, so only what a trusted proxy appended is believed).
/// IPv6 addresses count by their /64 (one host usually holds a whole /64); IPv4-mapped addresses
/// as IPv4. "unknown" when the server was started without peer addresses (tests).
pub fn client_addr(ext: &Extensions, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> String {
    let Some(peer) = ext.get::<ConnectInfo<SocketAddr>>().map(|c| canonical(c.0.ip())) else {
        return "unknown".to_string();
    };
    let mut client = peer;
    if trusted_proxies.contains(&peer) {
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().parse::<IpAddr>().map(canonical))
            .collect::<Result<_, _>>()
            .unwrap_or_default();
        if let Some(ip) = forwarded.iter().rev().find(|ip| !trusted_proxies.contains(ip)) {
            client = *ip;
        }
    }
    match client {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{prefix}/64")
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn addr(peer: Option<&str>, xff: &[&str], trusted: &[&str]) -> String {
        let mut ext = Extensions::new();
        if let Some(p) = peer {
            ext.insert(ConnectInfo(p.parse::<SocketAddr>().unwrap()));
        }
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        let trusted: Vec<IpAddr> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_addr(&ext, &h, &trusted)
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_forwarded_it() {
        assert_eq!(addr(Some("203.0.113.5:4431"), &[], &[]), "203.0.113.5");
        assert_eq!(addr(None, &["203.0.113.5"], &[]), "unknown");
        // Not from a trusted proxy: the header is the client's own and ignored.
        assert_eq!(addr(Some("203.0.113.5:1"), &["198.51.100.1"], &[]), "203.0.113.5");
        assert_eq!(addr(Some("203.0.113.5:1"), &["198.51.100.1"], &["10.0.0.1"]), "203.0.113.5");
        // From a trusted proxy: the nearest address the proxies did not add.
        assert_eq!(addr(Some("10.0.0.1:1"), &["198.51.100.1"], &["10.0.0.1"]), "198.51.100.1");
        assert_eq!(
            addr(Some("10.0.0.1:1"), &["6.6.6.6, 198.51.100.1, 10.0.0.2"], &["10.0.0.1", "10.0.0.2"]),
            "198.51.100.1"
        );
        assert_eq!(addr(Some("10.0.0.1:1"), &["6.6.6.6", "198.51.100.1"], &["10.0.0.1"]), "198.51.100.1");
        // A malformed header, or none, leaves the proxy itself.
        assert_eq!(addr(Some("10.0.0.1:1"), &["junk, 198.51.100.1"], &["10.0.0.1"]), "10.0.0.1");
        assert_eq!(addr(Some("10.0.0.1:1"), &[], &["10.0.0.1"]), "10.0.0.1");
        // IPv6 by /64; IPv4-mapped as IPv4.
        assert_eq!(addr(Some("[2001:db8:1:2:aaaa::1]:1"), &[], &[]), "2001:db8:1:2::/64");
        assert_eq!(addr(Some("[2001:db8:1:2:bbbb::9]:1"), &[], &[]), "2001:db8:1:2::/64");
        assert_eq!(addr(Some("[::ffff:203.0.113.5]:1"), &[], &[]), "203.0.113.5");
    }
}
