//! 审计日志: each entry carries the hash of the one before, so changing or removing any stored
//! entry breaks the chain from that entry on. Pure: hashing and verification only.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash the first entry links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// JSON text.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// sha256 over the entry's fields and the previous hash, each length-prefixed so no two
/// different entries hash alike by moving text between fields.
pub fn entry_hash(id: i64, at: i64, actor: &str, action: &str, target: &str, detail: &str, prev_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(id.to_le_bytes());
    h.update(at.to_le_bytes());
    for field in [actor, action, target, detail, prev_hash] {
        h.update((field.len() as u64).to_le_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

impl AuditEntry {
    pub fn computed_hash(&self) -> String {
        entry_hash(self.id, self.at, &self.actor, &self.action, &self.target, &self.detail, &self.prev_hash)
    }
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    /// The first entry that does not verify.
    pub id: i64,
    pub reason: String,
}

/// Verifies entries given in id order, continuing from `prev` (the hash before the first one;
/// `GENESIS` from the start). Returns the number verified, or the first break.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
    prev: &str,
    prev_id: i64,
) -> Result<(u64, String, i64), ChainBreak> {
    let mut prev = prev.to_string();
    let mut prev_id = prev_id;
    let mut n = 0u64;
    for e in entries {
        if e.id != prev_id + 1 {
            return Err(ChainBreak {
                id: e.id,
                reason: format!("条目编号不连续：第 {prev_id} 条之后是第 {} 条（中间的条目被删除）", e.id),
            });
        }
        if e.prev_hash != prev {
            return Err(ChainBreak {
                id: e.id,
                reason: "记录的前一条哈希与前一条不符（前面的条目被改动或删除）".into(),
            });
        }
        if e.computed_hash() != e.hash {
            return Err(ChainBreak { id: e.id, reason: "条目内容与其哈希不符（该条被改动）".into() });
        }
        prev = e.hash.clone();
        prev_id = e.id;
        n += 1;
    }
    Ok((n, prev, prev_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|id| {
                let (actor, action, target, detail) =
                    ("sun".to_string(), "incident.report".to_string(), format!("incident:{id}"), "{}".to_string());
                let hash = entry_hash(id, 1_700_000_000 + id, &actor, &action, &target, &detail, &prev);
                let e = AuditEntry {
                    id,
                    at: 1_700_000_000 + id,
                    actor,
                    action,
                    target,
                    detail,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify_chain(&c, GENESIS, 0).map(|r| r.0), Ok(5));
    }

    #[test]
    fn changing_any_field_names_that_entry() {
        for field in 0..4 {
            let mut c = chain(5);
            match field {
                0 => c[2].actor = "mallory".into(),
                1 => c[2].detail = "{\"x\":1}".into(),
                2 => c[2].at += 1,
                _ => c[2].target = "incident:9".into(),
            }
            assert_eq!(verify_chain(&c, GENESIS, 0).unwrap_err().id, 3, "field {field}");
        }
    }

    #[test]
    fn rehashing_a_changed_entry_breaks_the_next_one() {
        let mut c = chain(5);
        c[1].actor = "mallory".into();
        c[1].hash = c[1].computed_hash();
        assert_eq!(verify_chain(&c, GENESIS, 0).unwrap_err().id, 3);
    }

    #[test]
    fn a_removed_entry_is_found() {
        let mut c = chain(5);
        c.remove(3);
        let e = verify_chain(&c, GENESIS, 0).unwrap_err();
        assert_eq!(e.id, 5);
        assert!(e.reason.contains("不连续"));
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        assert_ne!(entry_hash(1, 0, "ab", "c", "", "", GENESIS), entry_hash(1, 0, "a", "bc", "", "", GENESIS));
    }
}
