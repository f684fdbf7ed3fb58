//! Work on a clock: a pass over the data directory every interval, off the async threads. The
//! desk's clock and the report schedule both run this way.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use yuqing_store::DataDir;

use crate::desk::Clock;

/// Runs `pass` on the data directory (under its lock, off the async threads) at once and then
/// every `every` until the process ends, with the time from `clock`. A pass for which `worth_logging`
/// holds is logged as `what`; a failing or panicking one is logged and retried on the next tick.
pub fn spawn_every<T, E>(
    data: Arc<Mutex<DataDir>>,
    clock: Clock,
    every: std::time::Duration,
    what: &'static str,
    pass: impl Fn(&DataDir, DateTime<Utc>) -> Result<T, E> + Send + Sync + 'static,
    worth_logging: fn(&T) -> bool,
) -> tokio::task::JoinHandle<()>
where
    T: std::fmt::Debug + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let pass = Arc::new(pass);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let (data, clock, pass) = (data.clone(), clock.clone(), pass.clone());
            let r = tokio::task::spawn_blocking(move || {
                let guard = yuqing_store::guard::lock(&data);
                pass(&guard, clock())
            })
            .await;
            match r {
                Ok(Ok(out)) if worth_logging(&out) => tracing::info!(result = ?out, "{what}"),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "{what} failed"),
                Err(e) => tracing::error!(error = %e, "{what} panicked"),
            }
        }
    })
}
