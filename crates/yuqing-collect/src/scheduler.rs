//! The scheduler: one task per enabled source, each on its own interval (shorter inside a key
//! period) plus random jitter, so one slow or broken source never delays another. Requests of all
//! sources share the fetcher's global cap and per-host politeness.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;

use crate::collector::{self, Context};
use crate::source::Source;

/// Whether a key period is in force at a time (from the configuration's `[[key_periods]]`).
pub type KeyPeriod = Arc<dyn Fn(DateTime<Utc>) -> bool + Send + Sync>;

/// A random share in [0, 1).
fn random_share() -> f64 {
    getrandom::u32().map(|n| f64::from(n) / (f64::from(u32::MAX) + 1.0)).unwrap_or(0.5)
}

/// The wait before the next run of `src`.
pub fn next_wait(src: &Source, in_key_period: bool, jitter: f64) -> Duration {
    let base = if in_key_period { src.key_period_interval() } else { src.interval() };
    base + base.mul_f64(jitter.clamp(0.0, 1.0) * random_share())
}

/// Starts a task per enabled source (the first run at once) and one that prunes old snapshots
/// hourly. The tasks run until the runtime stops.
pub fn spawn(ctx: Arc<Context>, sources: Vec<Source>, key_period: KeyPeriod) -> Vec<JoinHandle<()>> {
    let jitter = ctx.fetcher.config().jitter;
    let mut handles = Vec::new();
    for src in sources.into_iter().filter(|s| s.enabled) {
        let ctx = ctx.clone();
        let key_period = key_period.clone();
        handles.push(tokio::spawn(async move {
            loop {
                let report = collector::run(&ctx, &src).await;
                if report.ok {
                    tracing::info!(source = %src.id, items = report.items, stored = report.stored, duplicates = report.duplicates, not_modified = report.not_modified, millis = report.millis, "collected");
                } else {
                    tracing::warn!(source = %src.id, errors = ?report.errors, "collection failed");
                }
                tokio::time::sleep(next_wait(&src, key_period(Utc::now()), jitter)).await;
            }
        }));
    }
    let retention = ctx.fetcher.config().retention();
    let data = ctx.data.clone();
    handles.push(tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            let data = data.clone();
            match tokio::task::spawn_blocking(move || collector::prune(&data, retention, Utc::now())).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(snapshots = n, "pruned old snapshots"),
                Ok(Err(e)) => tracing::error!(error = %e, "snapshot pruning failed"),
                _ => {}
            }
        }
    }));
    handles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_periods_shorten_the_wait_and_jitter_only_adds() {
        let src = crate::source::parse_source_toml("id = \"a\"\nname = \"站\"\nkind = \"feed\"\nurl = \"http://e.com/f\"\n").unwrap();
        for _ in 0..50 {
            let normal = next_wait(&src, false, 0.1);
            assert!(normal >= Duration::from_secs(300) && normal <= Duration::from_secs(330), "{normal:?}");
            let key = next_wait(&src, true, 0.1);
            assert!(key >= Duration::from_secs(60) && key <= Duration::from_secs(66), "{key:?}");
        }
        assert_eq!(next_wait(&src, true, 0.0), Duration::from_secs(60));
    }
}
