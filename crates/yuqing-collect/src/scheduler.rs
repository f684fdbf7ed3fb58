//! The scheduler: one task per enabled source, each on its own interval (shorter inside a key
//! period) plus random jitter, so one slow or broken source never delays another. Requests of all
//! sources share the fetcher's global cap and per-host politeness.

use std::collections::HashMap;
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

/// The sources in force (the configuration's and those saved with `yuqing sources`), asked again
/// while the server runs.
pub type SourceList = Arc<dyn Fn() -> Result<Vec<Source>, String> + Send + Sync>;

/// A running source: its definition and the switch that stops its task between runs.
struct Running {
    source: Source,
    stop: tokio::sync::watch::Sender<bool>,
}

fn start(ctx: &Arc<Context>, src: Source, key_period: &KeyPeriod) -> Running {
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let (ctx, key_period, jitter) = (ctx.clone(), key_period.clone(), ctx.fetcher.config().jitter);
    let source = src.clone();
    tokio::spawn(async move {
        loop {
            // A run in progress is finished, never cut off: its posts and health are recorded whole.
            let report = collector::run(&ctx, &src).await;
            if report.ok {
                tracing::info!(source = %src.id, items = report.items, stored = report.stored, duplicates = report.duplicates, not_modified = report.not_modified, millis = report.millis, "collected");
            } else {
                tracing::warn!(source = %src.id, errors = ?report.errors, "collection failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(next_wait(&src, key_period(Utc::now()), jitter)) => {}
                _ = stopped.changed() => break,
            }
            if *stopped.borrow() {
                break;
            }
        }
        tracing::info!(source = %src.id, "source stopped");
    });
    Running { source, stop }
}

/// Brings the running tasks in line with `wanted`: starts new or re-enabled sources, stops disabled
/// or removed ones, restarts changed ones. Returns (started, stopped) ids.
fn reconcile(
    running: &mut HashMap<String, Running>,
    wanted: Vec<Source>,
    ctx: &Arc<Context>,
    key_period: &KeyPeriod,
) -> (Vec<String>, Vec<String>) {
    let wanted: HashMap<String, Source> = wanted.into_iter().filter(|s| s.enabled).map(|s| (s.id.clone(), s)).collect();
    let mut stopped = Vec::new();
    running.retain(|id, r| {
        let keep = wanted.get(id).is_some_and(|w| *w == r.source);
        if !keep {
            let _ = r.stop.send(true);
            stopped.push(id.clone());
        }
        keep
    });
    let mut started = Vec::new();
    for (id, src) in wanted {
        if !running.contains_key(&id) {
            running.insert(id.clone(), start(ctx, src, key_period));
            started.push(id);
        }
    }
    started.sort();
    stopped.sort();
    (started, stopped)
}

/// Starts a task per enabled source (the first run at once), then asks `sources` again every
/// `reload_every` and starts, stops or restarts tasks for sources added, disabled, enabled or
/// changed meanwhile (`yuqing sources add|disable|enable` while the server runs); plus a task that
/// prunes old snapshots hourly. The tasks run until the runtime stops.
pub fn spawn(
    ctx: Arc<Context>,
    initial: Vec<Source>,
    sources: SourceList,
    key_period: KeyPeriod,
    reload_every: Duration,
) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    let mut running: HashMap<String, Running> = HashMap::new();
    reconcile(&mut running, initial, &ctx, &key_period);
    {
        let ctx = ctx.clone();
        handles.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(reload_every).await;
                let list = sources.clone();
                match tokio::task::spawn_blocking(move || list()).await {
                    Ok(Ok(wanted)) => {
                        let (started, stopped) = reconcile(&mut running, wanted, &ctx, &key_period);
                        if !started.is_empty() || !stopped.is_empty() {
                            tracing::info!(?started, ?stopped, "sources changed while running");
                        }
                    }
                    Ok(Err(e)) => tracing::error!(error = %e, "could not read the sources; the running ones go on"),
                    Err(e) => tracing::error!(error = %e, "reading the sources panicked; the running ones go on"),
                }
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
        let src =
            crate::source::parse_source_toml("id = \"a\"\nname = \"站\"\nkind = \"feed\"\nurl = \"http://e.com/f\"\n")
                .unwrap();
        for _ in 0..50 {
            let normal = next_wait(&src, false, 0.1);
            assert!(normal >= Duration::from_secs(300) && normal <= Duration::from_secs(330), "{normal:?}");
            let key = next_wait(&src, true, 0.1);
            assert!(key >= Duration::from_secs(60) && key <= Duration::from_secs(66), "{key:?}");
        }
        assert_eq!(next_wait(&src, true, 0.0), Duration::from_secs(60));
    }
}
