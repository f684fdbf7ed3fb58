//! The outbox worker: claims due messages, delivers them without holding the store's lock, and
//! records every outcome.
//!
//! Each channel is a lane of its own: its messages go out one at a time, new ones before retries,
//! while the other channels' lanes run beside it. A channel that fails (down, timing out) costs only
//! its own lane: after one failed attempt its other retries are given back untried, it is claimed
//! for new messages only until the next interval, and the background loop never waits for a slow
//! lane before claiming for the others. A claim takes at most `per_channel` messages of one channel,
//! so a backlog on one cannot crowd out a new alert on another.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use yuqing_store::outbox::{AttemptOutcome, ClaimLimits, Outbox, OutboxMessage, OutboxStatus, RetryPolicy};
use yuqing_store::pg::PgStore;
use yuqing_store::{DataDir, SqliteStore};

use super::{Deliverer, NotifyError};

/// Gives the worker the outbox for one short call at a time, on either store: implemented for the
/// server's `Arc<Mutex<DataDir>>` and `Arc<Mutex<SqliteStore>>` (SQLite) and for
/// `Arc<Mutex<PgStore>>` (PostgreSQL, where workers on several nodes share one outbox: a claim
/// there skips what another node holds).
pub trait OutboxConn: Clone + Send + Sync + 'static {
    /// Runs `f` on the outbox, holding whatever guards it only for the call. Blocking: call it
    /// from `spawn_blocking`.
    fn with_outbox<R>(&self, f: impl FnOnce(&mut dyn Outbox) -> yuqing_store::Result<R>) -> Result<R, NotifyError>;
}

impl OutboxConn for Arc<Mutex<DataDir>> {
    fn with_outbox<R>(&self, f: impl FnOnce(&mut dyn Outbox) -> yuqing_store::Result<R>) -> Result<R, NotifyError> {
        let guard = yuqing_store::guard::lock(self);
        Ok(f(&mut guard.store.connection())?)
    }
}

impl OutboxConn for Arc<Mutex<SqliteStore>> {
    fn with_outbox<R>(&self, f: impl FnOnce(&mut dyn Outbox) -> yuqing_store::Result<R>) -> Result<R, NotifyError> {
        let guard = yuqing_store::guard::lock(self);
        Ok(f(&mut guard.connection())?)
    }
}

impl OutboxConn for Arc<Mutex<PgStore>> {
    fn with_outbox<R>(&self, f: impl FnOnce(&mut dyn Outbox) -> yuqing_store::Result<R>) -> Result<R, NotifyError> {
        let mut guard = yuqing_store::guard::lock(self);
        Ok(f(guard.client())?)
    }
}

async fn blocking<P: OutboxConn, R: Send + 'static>(
    conn: &P,
    f: impl FnOnce(&mut dyn Outbox) -> yuqing_store::Result<R> + Send + 'static,
) -> Result<R, NotifyError> {
    let conn = conn.clone();
    tokio::task::spawn_blocking(move || conn.with_outbox(f)).await.map_err(|e| NotifyError::Internal(e.to_string()))?
}

/// The clock the worker reads (the one clock type of the desk); replaceable in tests.
pub use crate::desk::Clock;

/// How the worker runs.
#[derive(Clone)]
pub struct WorkerOptions {
    /// How often to look for due messages (default 5 s).
    pub interval: Duration,
    /// At most this many messages per pass (default 50); channels are delivered concurrently.
    pub batch: usize,
    /// At most this many messages of one channel per pass, delivered one after another (default 10).
    pub per_channel: usize,
    /// How long a claimed message is held back from other passes while in flight (default 60 s; at
    /// least `per_channel` times the longest channel timeout, plus 30 s, is used).
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
            per_channel: 10,
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
            .field("per_channel", &self.per_channel)
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
    /// Retries given back untried because their channel had just failed in this pass (due again
    /// as they were).
    pub deferred: usize,
}

impl RunCounts {
    fn add(&mut self, o: RunCounts) {
        self.claimed += o.claimed;
        self.delivered += o.delivered;
        self.retrying += o.retrying;
        self.expired += o.expired;
        self.unrecorded += o.unrecorded;
        self.deferred += o.deferred;
    }
}

impl WorkerOptions {
    /// The lease of a claim: a lane delivers its messages one after another, each within its
    /// channel's timeout, so the lease outlasts `per_channel` of them.
    fn lease_for(&self, deliverer: &Deliverer) -> Duration {
        let per_channel = u32::try_from(self.per_channel.max(1)).unwrap_or(u32::MAX);
        self.lease.max(deliverer.longest_timeout().saturating_mul(per_channel).saturating_add(Duration::from_secs(30)))
    }
}

/// The claimed messages by channel, each channel's in the claim's order (new before retries).
fn lanes_of(claimed: Vec<OutboxMessage>) -> Vec<(String, Vec<OutboxMessage>)> {
    let mut lanes: Vec<(String, Vec<OutboxMessage>)> = Vec::new();
    for m in claimed {
        match lanes.iter_mut().find(|(c, _)| *c == m.channel) {
            Some((_, v)) => v.push(m),
            None => lanes.push((m.channel.clone(), vec![m])),
        }
    }
    lanes
}

/// What one channel's lane did in a pass.
struct LaneDone {
    channel: String,
    counts: RunCounts,
    /// An attempt failed: the channel is taken to be failing until the next interval.
    failed: bool,
}

/// Delivers one channel's claimed messages one at a time and records each outcome. Once an attempt
/// fails, the remaining retries are given back untried (due as they were) instead of each waiting
/// for the same timeout; new messages are still tried.
async fn run_lane<P: OutboxConn>(
    conn: P,
    deliverer: Arc<Deliverer>,
    channel: String,
    messages: Vec<OutboxMessage>,
    now: DateTime<Utc>,
    policy: RetryPolicy,
    lease: Duration,
) -> LaneDone {
    let mut counts = RunCounts::default();
    let mut failed = false;
    for msg in messages {
        if failed && msg.attempts > 0 {
            let (id, due_at) = (msg.id, msg.next_attempt_at);
            match blocking(&conn, move |c| c.release(id, due_at, now, lease)).await {
                Ok(_) => counts.deferred += 1,
                Err(e) => {
                    counts.unrecorded += 1;
                    tracing::error!(id, error = %e, "could not give back a deferred notification; it comes due after its lease");
                }
            }
            continue;
        }
        let outcome = deliverer.deliver(&msg, now).await;
        failed |= matches!(outcome, AttemptOutcome::Failed(_));
        record(&conn, &msg, outcome, now, &policy, &mut counts).await;
    }
    LaneDone { channel, counts, failed }
}

/// Records one attempt and counts it.
async fn record<P: OutboxConn>(
    conn: &P,
    msg: &OutboxMessage,
    outcome: AttemptOutcome,
    now: DateTime<Utc>,
    policy: &RetryPolicy,
    counts: &mut RunCounts,
) {
    let policy = *policy;
    let id = msg.id;
    let o = outcome.clone();
    let recorded = blocking(conn, move |c| c.record_attempt(id, now, &o, &policy)).await;
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
                tracing::warn!(
                    id,
                    status = status.as_str(),
                    "notification outcome recorded on a message no longer pending"
                );
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

/// One pass: claims the messages due at `now` (fairly between channels, new before retries),
/// delivers each channel's in a lane of its own, the lanes concurrently (no lock held while on the
/// network), and records each outcome at `now`. Returns when every lane is done. The connection is
/// used only to claim and to record.
pub async fn run_outbox_once<P: OutboxConn>(
    conn: &P,
    deliverer: &Arc<Deliverer>,
    now: DateTime<Utc>,
    opts: &WorkerOptions,
) -> Result<RunCounts, NotifyError> {
    let lease = opts.lease_for(deliverer);
    let (total, per_channel) = (opts.batch.max(1), opts.per_channel.max(1));
    let claimed: Vec<OutboxMessage> = blocking(conn, move |c| {
        c.claim_fair(now, &ClaimLimits { total, per_channel, ..ClaimLimits::default() }, lease)
    })
    .await?;
    let mut counts = RunCounts { claimed: claimed.len(), ..RunCounts::default() };
    let mut set = JoinSet::new();
    for (channel, messages) in lanes_of(claimed) {
        set.spawn(run_lane(conn.clone(), deliverer.clone(), channel, messages, now, opts.policy, lease));
    }
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(lane) => counts.add(lane.counts),
            Err(e) => {
                // Cannot happen (delivery does not panic); the lane's messages come due after the lease.
                tracing::error!(error = %e, "notification lane failed");
                counts.unrecorded += 1;
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

    /// Whether the worker's loop is still running (for the server's `/readyz`).
    pub fn is_running(&self) -> bool {
        !self.handle.is_finished()
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

/// Starts the background loop: claims what is due every `opts.interval` (at once when woken, and
/// whenever a lane finishes), for the channels that have no lane running, and starts a lane per
/// channel without waiting for it; a channel whose lane failed is claimed for new messages only
/// until the next interval. Errors are logged and the loop goes on.
pub fn spawn_outbox_worker<P: OutboxConn>(conn: P, deliverer: Arc<Deliverer>, opts: WorkerOptions) -> OutboxWorker {
    let wake = Arc::new(tokio::sync::Notify::new());
    let stop = Arc::new(Stop { flag: AtomicBool::new(false), notify: tokio::sync::Notify::new() });
    let (w, st) = (wake.clone(), stop.clone());
    let handle = tokio::spawn(async move {
        tracing::info!(channels = ?deliverer.channel_names(), interval = ?opts.interval, "notification worker started");
        let lease = opts.lease_for(&deliverer);
        let (total, per_channel) = (opts.batch.max(1), opts.per_channel.max(1));
        let pause = chrono::Duration::from_std(opts.interval).unwrap_or(chrono::Duration::seconds(5));
        let mut lanes: JoinSet<LaneDone> = JoinSet::new();
        let mut lane_ids: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut busy: HashSet<String> = HashSet::new();
        // Channel → until when only its new messages are claimed.
        let mut paused: HashMap<String, DateTime<Utc>> = HashMap::new();
        let finish = |joined: Result<(tokio::task::Id, LaneDone), tokio::task::JoinError>,
                      busy: &mut HashSet<String>,
                      paused: &mut HashMap<String, DateTime<Utc>>,
                      lane_ids: &mut HashMap<tokio::task::Id, String>| {
            match joined {
                Ok((id, lane)) => {
                    lane_ids.remove(&id);
                    busy.remove(&lane.channel);
                    if lane.failed {
                        paused.insert(lane.channel.clone(), (opts.clock)() + pause);
                    }
                    tracing::debug!(channel = %lane.channel, counts = ?lane.counts, "notification lane done");
                }
                Err(e) => {
                    tracing::error!(error = %e, "notification lane failed; its messages come due after the lease");
                    if let Some(channel) = lane_ids.remove(&e.id()) {
                        busy.remove(&channel);
                    }
                }
            }
        };
        loop {
            if st.flag.load(Ordering::SeqCst) {
                break;
            }
            let now = (opts.clock)();
            paused.retain(|_, until| *until > now);
            let busy_now: Vec<String> = busy.iter().cloned().collect();
            let new_only: Vec<String> = paused.keys().cloned().collect();
            let claimed = blocking(&conn, move |c| {
                c.claim_fair(now, &ClaimLimits { total, per_channel, busy: &busy_now, new_only: &new_only }, lease)
            })
            .await;
            let full = match claimed {
                Ok(claimed) => {
                    let full = claimed.len() >= total;
                    for (channel, messages) in lanes_of(claimed) {
                        busy.insert(channel.clone());
                        let task = lanes.spawn(run_lane(
                            conn.clone(),
                            deliverer.clone(),
                            channel.clone(),
                            messages,
                            now,
                            opts.policy,
                            lease,
                        ));
                        lane_ids.insert(task.id(), channel);
                    }
                    full
                }
                Err(e) => {
                    tracing::error!(error = %e, "notification pass failed");
                    false
                }
            };
            if !full {
                tokio::select! {
                    _ = st.notify.notified() => {}
                    _ = w.notified() => {}
                    _ = tokio::time::sleep(opts.interval) => {}
                    Some(joined) = lanes.join_next_with_id(), if !lanes.is_empty() => {
                        finish(joined, &mut busy, &mut paused, &mut lane_ids);
                    }
                }
            }
            while let Some(joined) = lanes.try_join_next_with_id() {
                finish(joined, &mut busy, &mut paused, &mut lane_ids);
            }
        }
        // Let the lanes in flight finish, so no delivered message goes unrecorded.
        while let Some(joined) = lanes.join_next_with_id().await {
            finish(joined, &mut busy, &mut paused, &mut lane_ids);
        }
        tracing::info!("notification worker stopped");
    });
    OutboxWorker { wake, stop, handle }
}
