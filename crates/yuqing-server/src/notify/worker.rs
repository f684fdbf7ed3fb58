//! The outbox worker: claims due messages, delivers them without holding the store's lock, and
//! records every outcome.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::Connection;
use tokio::task::JoinSet;
use yuqing_store::outbox::{self, AttemptOutcome, OutboxMessage, OutboxStatus, RetryPolicy};
use yuqing_store::{DataDir, SqliteStore};

use super::{Deliverer, NotifyError};

/// Gives the worker the outbox's connection for one short call at a time. Implemented for the
/// server's `Arc<Mutex<DataDir>>` and for `Arc<Mutex<SqliteStore>>`.
pub trait OutboxConn: Clone + Send + Sync + 'static {
    /// Runs `f` on the connection, holding whatever guards it only for the call. Blocking: call it
    /// from `spawn_blocking`.
    fn with_conn<R>(&self, f: impl FnOnce(&Connection) -> yuqing_store::Result<R>) -> Result<R, NotifyError>;
}

impl OutboxConn for Arc<Mutex<DataDir>> {
    fn with_conn<R>(&self, f: impl FnOnce(&Connection) -> yuqing_store::Result<R>) -> Result<R, NotifyError> {
        let guard = yuqing_store::guard::lock(self);
        Ok(f(guard.store.connection())?)
    }
}

impl OutboxConn for Arc<Mutex<SqliteStore>> {
    fn with_conn<R>(&self, f: impl FnOnce(&Connection) -> yuqing_store::Result<R>) -> Result<R, NotifyError> {
        let guard = yuqing_store::guard::lock(self);
        Ok(f(guard.connection())?)
    }
}

async fn blocking<P: OutboxConn, R: Send + 'static>(
    conn: &P,
    f: impl FnOnce(&Connection) -> yuqing_store::Result<R> + Send + 'static,
) -> Result<R, NotifyError> {
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || conn.with_conn(f)).await.map_err(|e| NotifyError::Internal(e.to_string()))?
}

/// The clock the worker reads; replaceable in tests.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How the worker runs.
#[derive(Clone)]
pub struct WorkerOptions {
    /// How often to look for due messages (default 5 s).
    pub interval: Duration,
    /// At most this many messages per pass, delivered concurrently (default 50).
    pub batch: usize,
    /// How long a claimed message is held back from other passes while in flight (default 60 s; at
    /// least the longest channel timeout plus 30 s is used).
    pub lease: Duration,
    pub policy: RetryPolicy,
    /// Where the background loop takes `now` from (default: the system clock).
    pub clock: Clock,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            interval: Duration::from_secs(5),
            batch: 50,
            lease: Duration::from_secs(60),
            policy: RetryPolicy::default(),
            clock: Arc::new(Utc::now),
        }
    }
}

impl std::fmt::Debug for WorkerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerOptions")
            .field("interval", &self.interval)
            .field("batch", &self.batch)
            .field("lease", &self.lease)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunCounts {
    /// Messages taken for delivery.
    pub claimed: usize,
    pub delivered: usize,
    /// Failed and due again later.
    pub retrying: usize,
    /// Failed at or past their expiry: given up.
    pub expired: usize,
    /// Outcomes that could not be recorded (the message comes due again after the lease).
    pub unrecorded: usize,
}

/// One pass: claims the messages due at `now`, delivers them concurrently (no lock held while on the
/// network) and records each outcome at `now`. The connection is used only to claim and to record.
pub async fn run_outbox_once<P: OutboxConn>(
    conn: &P,
    deliverer: &Arc<Deliverer>,
    now: DateTime<Utc>,
    opts: &WorkerOptions,
) -> Result<RunCounts, NotifyError> {
    let lease = opts.lease.max(deliverer.longest_timeout() + Duration::from_secs(30));
    let batch = opts.batch.max(1);
    let claimed: Vec<OutboxMessage> = blocking(conn, move |c| outbox::claim(c, now, batch, lease)).await?;
    let mut counts = RunCounts { claimed: claimed.len(), ..RunCounts::default() };
    if claimed.is_empty() {
        return Ok(counts);
    }
    let mut set = JoinSet::new();
    for msg in claimed {
        let d = deliverer.clone();
        set.spawn(async move {
            let outcome = d.deliver(&msg, now).await;
            (msg, outcome)
        });
    }
    while let Some(joined) = set.join_next().await {
        let (msg, outcome) = match joined {
            Ok(r) => r,
            Err(e) => {
                // Cannot happen (deliver does not panic); the message comes due after its lease.
                tracing::error!(error = %e, "notification delivery task failed");
                counts.unrecorded += 1;
                continue;
            }
        };
        let policy = opts.policy;
        let id = msg.id;
        let o = outcome.clone();
        let recorded = blocking(conn, move |c| outbox::record_attempt(c, id, now, &o, &policy)).await;
        match recorded {
            Ok(Some(r)) => match (r.status, &outcome) {
                (OutboxStatus::Delivered, _) => {
                    counts.delivered += 1;
                    tracing::info!(id, channel = %msg.channel, attempts = r.attempts, "notification delivered");
                }
                (OutboxStatus::Pending, AttemptOutcome::Failed(why)) => {
                    counts.retrying += 1;
                    tracing::warn!(id, channel = %msg.channel, attempts = r.attempts, next = %r.next_attempt_at, reason = %why,
                        "notification attempt failed; will retry");
                }
                (OutboxStatus::Expired, AttemptOutcome::Failed(why)) => {
                    counts.expired += 1;
                    tracing::error!(id, channel = %msg.channel, attempts = r.attempts, reason = %why,
                        "notification expired undelivered");
                }
                (status, _) => {
                    tracing::warn!(id, status = status.as_str(), "notification outcome recorded on a message no longer pending");
                }
            },
            Ok(None) => {
                counts.unrecorded += 1;
                tracing::warn!(id, "notification vanished from the outbox while being delivered");
            }
            Err(e) => {
                counts.unrecorded += 1;
                tracing::error!(id, error = %e, "could not record a notification attempt; it will be retried after its lease");
            }
        }
    }
    Ok(counts)
}

struct Stop {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

/// The background worker's handle. Dropping it leaves the worker running until the runtime ends;
/// call [`OutboxWorker::shutdown`] to stop it cleanly.
pub struct OutboxWorker {
    wake: Arc<tokio::sync::Notify>,
    stop: Arc<Stop>,
    handle: tokio::task::JoinHandle<()>,
}

impl OutboxWorker {
    /// Runs a pass now instead of at the next interval (e.g. right after enqueueing an alert).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A handle that can wake the worker from elsewhere.
    pub fn waker(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// Lets the pass in progress finish (so no delivered message goes unrecorded), then stops.
    pub async fn shutdown(self) {
        self.stop.flag.store(true, Ordering::SeqCst);
        self.stop.notify.notify_one();
        if let Err(e) = self.handle.await {
            tracing::error!(error = %e, "notification worker ended abnormally");
        }
    }
}

/// Starts the background loop: a pass every `opts.interval` (at once when woken; again at once
/// while a full batch was due). Errors are logged and the loop goes on.
pub fn spawn_outbox_worker<P: OutboxConn>(conn: P, deliverer: Arc<Deliverer>, opts: WorkerOptions) -> OutboxWorker {
    let wake = Arc::new(tokio::sync::Notify::new());
    let stop = Arc::new(Stop { flag: AtomicBool::new(false), notify: tokio::sync::Notify::new() });
    let (w, st) = (wake.clone(), stop.clone());
    let handle = tokio::spawn(async move {
        tracing::info!(channels = ?deliverer.channel_names(), interval = ?opts.interval, "notification worker started");
        loop {
            if st.flag.load(Ordering::SeqCst) {
                break;
            }
            let now = (opts.clock)();
            let full = match run_outbox_once(&conn, &deliverer, now, &opts).await {
                Ok(c) => c.claimed >= opts.batch.max(1),
                Err(e) => {
                    tracing::error!(error = %e, "notification pass failed");
                    false
                }
            };
            if full {
                continue;
            }
            tokio::select! {
                _ = st.notify.notified() => {}
                _ = w.notified() => {}
                _ = tokio::time::sleep(opts.interval) => {}
            }
        }
        tracing::info!("notification worker stopped");
    });
    OutboxWorker { wake, stop, handle }
}
