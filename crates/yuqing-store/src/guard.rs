//! Taking a shared store's lock whatever a previous holder did. A thread that panics while holding
//! a `std::sync::Mutex` poisons it, and every later `lock()` then fails: one bad request would
//! stop every page, sign-in, the desk's clock and the outbox until a restart. [`lock`] takes the
//! guard anyway, after undoing what the panicking holder may have left half done (an open SQLite
//! transaction is rolled back), and clears the poison.
//!
//! Everything that locks the data directory (`Arc<Mutex<DataDir>>`) goes through [`lock`].

use std::sync::{Mutex, MutexGuard};

use crate::{DataDir, SqliteStore};

/// What a value behind a shared lock undoes when a holder panicked.
pub trait RecoverAfterPanic {
    /// Brings the value back to a state the next holder can use.
    fn recover_after_panic(&mut self);
}

impl RecoverAfterPanic for SqliteStore {
    /// A holder that panicked inside `BEGIN … COMMIT` without a `Transaction` guard (whose drop
    /// rolls back) would leave the connection inside its transaction; the next holder's writes
    /// would join it. Roll it back.
    fn recover_after_panic(&mut self) {
        let conn = self.connection();
        if !conn.is_autocommit() {
            if let Err(e) = conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "could not roll back the transaction a panicking holder left open");
            }
        }
    }
}

impl RecoverAfterPanic for DataDir {
    /// The database as for [`SqliteStore`]. The full-text index is left as it is: documents it
    /// holds uncommitted belong to a batch whose commit follows (an index is derived data and
    /// catches up from the database when it is behind).
    fn recover_after_panic(&mut self) {
        self.store.recover_after_panic();
    }
}

impl RecoverAfterPanic for crate::pg::PgStore {
    /// The client's `Transaction` guards roll back when dropped by the unwinding; a transaction a
    /// holder began by hand would still be open: roll it back (outside one, PostgreSQL only warns).
    fn recover_after_panic(&mut self) {
        if let Err(e) = self.client().batch_execute("ROLLBACK") {
            tracing::error!(error = %e, "could not roll back what a panicking holder left open on PostgreSQL");
        }
    }
}

/// Locks `m`; when a previous holder panicked, recovers the value (see the module) and clears the
/// poison instead of failing.
pub fn lock<T: RecoverAfterPanic>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => {
            let mut guard = poisoned.into_inner();
            tracing::error!("a thread panicked while holding the data lock; recovering and carrying on");
            guard.recover_after_panic();
            m.clear_poison();
            guard
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_panic_while_holding_the_lock_neither_poisons_it_nor_leaves_a_transaction_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("y.db")).expect("store");
        store.connection().execute_batch("CREATE TABLE t (x INTEGER)").expect("table");
        let shared = Arc::new(Mutex::new(store));
        let s = shared.clone();
        let r = std::thread::spawn(move || {
            let g = lock(&s);
            g.connection().execute_batch("BEGIN; INSERT INTO t VALUES (1);").expect("begin");
            panic!("a handler bug while holding the lock");
        })
        .join();
        assert!(r.is_err(), "the thread panicked");
        assert!(shared.is_poisoned());
        {
            let g = lock(&shared);
            let c = g.connection();
            assert!(c.is_autocommit(), "the half-done transaction was rolled back");
            let n: i64 = c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).expect("count");
            assert_eq!(n, 0);
            c.execute("INSERT INTO t VALUES (2)", []).expect("later writes work");
        }
        assert!(!shared.is_poisoned(), "the poison is cleared");
        assert!(shared.lock().is_ok());
    }
}
