//! A PostgreSQL store of its own for each test: a fresh schema on the machine's server, dropped
//! when the test ends. The server is `YUQING_TEST_PG` (a connection string) or the local one
//! (`host=127.0.0.1 user=postgres dbname=postgres`, which `.ci/run` starts); a test that cannot
//! reach it fails — it does not skip.

use std::sync::atomic::{AtomicU32, Ordering};

use super::PgStore;

pub(crate) fn url() -> String {
    std::env::var("YUQING_TEST_PG").unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=postgres".into())
}

/// A schema name no other test (in this or another process) uses.
pub(crate) fn fresh_schema() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("yq_test_{}_{}_{nanos}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// Drops its schema (and everything in it) when dropped.
pub(crate) struct Scratch {
    pub schema: String,
}

impl Scratch {
    pub(crate) fn new() -> Scratch {
        Scratch { schema: fresh_schema() }
    }

    pub(crate) fn store(&self) -> PgStore {
        PgStore::connect(&url(), Some(&self.schema))
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (start it, or set YUQING_TEST_PG): {e}", url()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = super::drop_schema(&url(), &self.schema);
    }
}
