//! Duplicate detection: an exact content hash over the normalized text, and a SimHash over its
//! words, so reposts and copies with small edits are found as near-duplicates.
//!
//! Invariant: the hashes are stable across versions and machines (FNV-1a, never std's random hasher).

/// Letters and digits, with a fast path for ASCII and common CJK (the general Unicode table
/// lookup is slow and this runs for every character of every post).
#[inline]
pub fn is_alnum(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else if ('\u{4E00}'..='\u{9FFF}').contains(&c) {
        true
    } else if ('\u{3000}'..='\u{303F}').contains(&c) || ('\u{FF00}'..='\u{FF65}').contains(&c) {
        // CJK punctuation and full-width forms (full-width letters are folded before this is asked).
        false
    } else {
        c.is_alphanumeric()
    }
}

/// FNV-1a 64-bit: stable, fast for short keys.
#[inline]
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A well-mixed 64-bit hash of a word (FNV-1a then a finalizer, so SimHash bits are independent).
#[inline]
pub fn term_hash(word: &str) -> u64 {
    term_hash_u64(fnv1a(word.as_bytes()))
}

/// The key distinct sites are counted by: the source name in matching form, hashed (so 人民網 and
/// 人民网 are one site).
pub fn site_key(source: &str) -> u64 {
    term_hash(&crate::normalize::matching_form(source.trim()))
}

/// Hash of the content with white space and punctuation removed (matching form expected), so the
/// same text copied with other spacing or punctuation is an exact duplicate.
pub fn content_hash(matching_title: &str, matching_text: &str) -> u64 {
    matching_text.chars().filter(|c| is_alnum(*c)).fold(content_prefix(matching_title), fnv_char)
}

/// The content hash after the title and the title/text separator.
fn content_prefix(matching_title: &str) -> u64 {
    let h = matching_title.chars().filter(|c| is_alnum(*c)).fold(0xcbf2_9ce4_8422_2325, fnv_char);
    // The separator is not alphanumeric, so it is mixed in directly: title and text stay apart.
    (h ^ 0x01).wrapping_mul(0x0000_0100_0000_01b3)
}

/// One FNV-1a step over the UTF-8 bytes of `c`.
#[inline]
fn fnv_char(mut h: u64, c: char) -> u64 {
    let mut buf = [0u8; 4];
    for &b in c.encode_utf8(&mut buf).as_bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// SimHash of weighted features (term hash, weight).
pub fn simhash<I: IntoIterator<Item = (u64, f32)>>(features: I) -> u64 {
    let mut acc = [0f32; 64];
    for (h, w) in features {
        for (i, slot) in acc.iter_mut().enumerate() {
            if (h >> i) & 1 == 1 {
                *slot += w;
            } else {
                *slot -= w;
            }
        }
    }
    acc.iter().enumerate().fold(0u64, |s, (i, v)| if *v > 0.0 { s | (1 << i) } else { s })
}

/// SimHash of a text's character 3-grams (letters and digits only, matching form expected), each
/// weighing the same. Copies with a few characters inserted, removed or re-punctuated stay within
/// about six bits; word weights would let one changed word of a short post move many bits.
pub fn shingle_simhash(matching: &str) -> u64 {
    let mut sh = ShingleHasher::default();
    for c in matching.chars().filter(|c| is_alnum(*c)) {
        sh.push(c);
    }
    sh.finish(matching)
}

/// The exact-duplicate hash of a post and the SimHash of its body, in one pass over the body.
/// The SimHash is taken over title and body together when the body has fewer than 10 letters.
pub fn content_and_shingles(matching_title: &str, matching_text: &str) -> (u64, u64) {
    let mut hasher = ContentHasher::new();
    matching_title.chars().filter(|c| is_alnum(*c)).for_each(|c| hasher.title_char(c));
    hasher.end_title();
    matching_text.chars().filter(|c| is_alnum(*c)).for_each(|c| hasher.text_char(c));
    hasher.finish(matching_title, matching_text)
}

/// [`content_and_shingles`] fed char by char (the letters and digits of the matching forms, title
/// first), so the analysis hashes while it normalizes.
pub struct ContentHasher {
    h: u64,
    shingles: ShingleHasher,
}

impl ContentHasher {
    pub fn new() -> ContentHasher {
        ContentHasher { h: 0xcbf2_9ce4_8422_2325, shingles: ShingleHasher::default() }
    }

    #[inline]
    pub fn title_char(&mut self, c: char) {
        self.h = fnv_char(self.h, c);
    }

    /// The separator is not alphanumeric, so it is mixed in directly: title and text stay apart.
    pub fn end_title(&mut self) {
        self.h = (self.h ^ 0x01).wrapping_mul(0x0000_0100_0000_01b3);
    }

    #[inline]
    pub fn text_char(&mut self, c: char) {
        self.h = fnv_char(self.h, c);
        self.shingles.push(c);
    }

    /// (content hash, SimHash) given the two matching forms that were fed.
    pub fn finish(self, matching_title: &str, matching_text: &str) -> (u64, u64) {
        if self.shingles.seen >= 10 {
            (self.h, self.shingles.finish(matching_text))
        } else {
            (self.h, shingle_simhash(&format!("{matching_title}\n{matching_text}")))
        }
    }
}

impl Default for ContentHasher {
    fn default() -> Self {
        ContentHasher::new()
    }
}

/// Eight 8-bit counters share one u64 lane (`SPREAD` turns a byte into eight 0/1 bytes), flushed
/// into wide counters before they overflow: a few word operations per shingle instead of 64 adds.
const SPREAD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < 8 {
            if (b >> k) & 1 == 1 {
                t[b] |= 1 << (8 * k);
            }
            k += 1;
        }
        b += 1;
    }
    t
};

/// Counts, per bit position, the character 3-grams whose hash sets it.
struct ShingleHasher {
    lanes: [u64; 8],
    wide: [u32; 64],
    a: u32,
    b: u32,
    seen: u32,
    pending: u32,
}

impl Default for ShingleHasher {
    fn default() -> Self {
        ShingleHasher { lanes: [0; 8], wide: [0; 64], a: 0, b: 0, seen: 0, pending: 0 }
    }
}

impl ShingleHasher {
    #[inline]
    fn push(&mut self, c: char) {
        let c = c as u32;
        self.seen += 1;
        if self.seen >= 3 {
            let h = term_hash_u64(((self.a as u64) << 42) ^ ((self.b as u64) << 21) ^ c as u64);
            for (byte, lane) in self.lanes.iter_mut().enumerate() {
                *lane += SPREAD[((h >> (8 * byte)) & 0xFF) as usize];
            }
            self.pending += 1;
            if self.pending == 255 {
                self.flush();
            }
        }
        self.a = self.b;
        self.b = c;
    }

    fn flush(&mut self) {
        for (byte, lane) in self.lanes.iter_mut().enumerate() {
            for k in 0..8 {
                self.wide[byte * 8 + k] += ((*lane >> (8 * k)) & 0xFF) as u32;
            }
            *lane = 0;
        }
        self.pending = 0;
    }

    /// The SimHash; `text` is what was pushed, used only when it is too short for 3-grams.
    fn finish(mut self, text: &str) -> u64 {
        if self.seen < 3 {
            return simhash(text.chars().filter(|c| is_alnum(*c)).map(|c| (term_hash_u64(c as u64), 1.0)));
        }
        self.flush();
        let shingles = self.seen - 2;
        self.wide.iter().enumerate().fold(0u64, |s, (i, n)| if 2 * n > shingles { s | (1 << i) } else { s })
    }
}

/// The finalizer of [`term_hash`] applied to a number.
#[inline]
pub fn term_hash_u64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// Bits that differ between two SimHashes.
#[inline]
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(words: &[&str]) -> u64 {
        simhash(words.iter().map(|w| (term_hash(w), 1.0)))
    }

    #[test]
    fn one_pass_hashes_agree_with_the_separate_ones() {
        let (title, text) = ("标题", "今天上午市第一人民医院门诊大厅发生医疗纠纷，患者家属聚集");
        assert_eq!(content_and_shingles(title, text), (content_hash(title, text), shingle_simhash(text)));
        let (c, s) = content_and_shingles("市医院发生医疗纠纷", "转发");
        assert_eq!(c, content_hash("市医院发生医疗纠纷", "转发"));
        assert_eq!(s, shingle_simhash("市医院发生医疗纠纷\n转发"));
    }

    #[test]
    fn hashes_are_stable_across_runs() {
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn content_hash_ignores_spacing_and_punctuation() {
        assert_eq!(content_hash("", "某医院 发生纠纷！"), content_hash("", "某医院发生纠纷"));
        assert_ne!(content_hash("", "某医院发生纠纷"), content_hash("", "某学校发生纠纷"));
        assert_ne!(content_hash("标题", "正文"), content_hash("标", "题正文"));
    }

    #[test]
    fn copy_with_small_edits_is_within_six_bits_and_other_news_is_far() {
        let original = "今天上午市第一人民医院门诊大厅发生医疗纠纷，患者家属聚集要求院方给说法，保安到场维持秩序。";
        let copy = "今天上午，市第一人民医院门诊大厅发生医疗纠纷！患者家属聚集要求院方给个说法，保安到场维持秩序";
        let other = "今天上午市第一人民医院召开新闻发布会，通报门诊大厅改造工程进展，预计下月投入使用。";
        let d_copy = hamming(shingle_simhash(original), shingle_simhash(copy));
        let d_other = hamming(shingle_simhash(original), shingle_simhash(other));
        assert!(d_copy <= 6, "copy differs by {d_copy} bits");
        assert!(d_other > 10, "other news differs by only {d_other} bits");
        assert_eq!(shingle_simhash("ab"), shingle_simhash("a b"));
    }

    #[test]
    fn small_edit_is_a_near_duplicate_and_other_text_is_not() {
        let base = [
            "市",
            "第一",
            "人民医院",
            "发生",
            "医疗纠纷",
            "家属",
            "聚集",
            "门诊",
            "大厅",
            "要求",
            "说法",
            "院方",
            "回应",
            "正在",
            "调查",
            "处理",
            "情况",
            "通报",
            "卫健委",
            "介入",
        ];
        let mut edited = base.to_vec();
        edited[19] = "关注";
        let other = [
            "今天", "天气", "晴朗", "适合", "出游", "公园", "游客", "很多", "门票", "免费", "开放", "时间", "延长",
            "市民", "点赞", "服务", "周到", "环境", "优美", "推荐",
        ];
        let mut reordered = base.to_vec();
        reordered.reverse();
        assert_eq!(sh(&base), sh(&reordered));
        let near = hamming(sh(&base), sh(&edited));
        let far = hamming(sh(&base), sh(&other));
        assert!(near < far && far > 16, "near {near}, far {far}");
    }
}
