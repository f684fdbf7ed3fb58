//! The unit of work: the writes of one change — an incident step with its timeline, its audit
//! entry and its outbox messages; a saved rule with its history and audit entry; an issued report
//! with its serial — committed together, or not at all. Crates above the store begin and commit
//! units of work and never name the database driver's transaction, so a second backend needs only
//! a second way to begin one.

use std::ops::Deref;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::Result;

/// One unit of work on the store. Dropped without [`Work::commit`], nothing of it is kept. It
/// dereferences to the connection, so the store's functions run inside it.
pub struct Work<'c>(Transaction<'c>);

impl<'c> Work<'c> {
    /// Begins a unit of work. (SQLite: a deferred transaction, which takes the write lock at its
    /// first write.)
    pub fn begin(conn: &'c Connection) -> Result<Work<'c>> {
        Ok(Work(conn.unchecked_transaction()?))
    }

    /// Begins a unit of work that takes the write lock at once, so that a read and the write that
    /// depends on it (a serial counter, a schedule's last period, a lock-out count) cannot
    /// interleave with another writer's, in this process or another.
    pub fn begin_immediate(conn: &'c Connection) -> Result<Work<'c>> {
        Ok(Work(Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?))
    }

    /// Keeps every write of the unit.
    pub fn commit(self) -> Result<()> {
        Ok(self.0.commit()?)
    }
}

impl Deref for Work<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(c: &Connection) -> i64 {
        c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).expect("count")
    }

    #[test]
    fn a_unit_keeps_all_its_writes_or_none() {
        let c = Connection::open_in_memory().expect("db");
        c.execute_batch("CREATE TABLE t (x INTEGER)").expect("table");
        let w = Work::begin(&c).expect("begin");
        w.execute("INSERT INTO t VALUES (1)", []).expect("insert");
        w.execute("INSERT INTO t VALUES (2)", []).expect("insert");
        drop(w);
        assert_eq!(count(&c), 0, "dropped uncommitted: nothing kept");
        let w = Work::begin_immediate(&c).expect("begin");
        w.execute("INSERT INTO t VALUES (1)", []).expect("insert");
        w.execute("INSERT INTO t VALUES (2)", []).expect("insert");
        w.commit().expect("commit");
        assert_eq!(count(&c), 2);
    }
}
