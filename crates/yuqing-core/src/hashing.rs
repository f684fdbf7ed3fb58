//! A fast `HashMap` hasher for integer keys that are ours (ids, term hashes, band keys): one
//! multiply, good high and low bits. Not for keys an outsider chooses freely.
//!
//! Invariant: deterministic (no random seed), so map contents never depend on the run.

use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
}

/// `HashMap<K, V, Mix>`: maps keyed by ids or term hashes.
pub type Mix = BuildHasherDefault<MixHasher>;
