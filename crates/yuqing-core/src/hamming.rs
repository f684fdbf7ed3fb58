//! Near-duplicate search in a column of SimHashes: the positions within a Hamming distance.
//!
//! Invariant: the result does not depend on the processor; where it has a population-count
//! instruction (checked at run time) the same scan is compiled to use it, since the portable
//! count takes a dozen instructions per hash and this scan runs over hundreds of hashes a post.

/// Appends `(position, distance)` of every hash in `hashes` at most `max_bits` from `target`.
pub fn within(hashes: &[u64], target: u64, max_bits: u32, out: &mut Vec<(usize, u32)>) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the processor has `popcnt`, checked just above.
            unsafe { within_popcnt(hashes, target, max_bits, out) };
            return;
        }
    }
    scan(hashes, target, max_bits, out);
}

#[inline(always)]
fn scan(hashes: &[u64], target: u64, max_bits: u32, out: &mut Vec<(usize, u32)>) {
    for (i, &h) in hashes.iter().enumerate() {
        let d = (h ^ target).count_ones();
        if d <= max_bits {
            out.push((i, d));
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn within_popcnt(hashes: &[u64], target: u64, max_bits: u32, out: &mut Vec<(usize, u32)>) {
    scan(hashes, target, max_bits, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_hashes_within_the_distance() {
        let target = 0xF0F0_1234_5678_9ABCu64;
        let hashes = [target, target ^ 0b111, target ^ 0b111_1111, !target, target ^ (1 << 63)];
        let mut out = Vec::new();
        within(&hashes, target, 6, &mut out);
        assert_eq!(out, vec![(0, 0), (1, 3), (4, 1)]);
        let mut portable = Vec::new();
        scan(&hashes, target, 6, &mut portable);
        assert_eq!(out, portable);
    }
}
