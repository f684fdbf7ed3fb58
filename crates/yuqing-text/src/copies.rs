//! Copies pasted under hashtags (搬运文案): the same passage posted again and again, each time under
//! another trending hashtag so that it shows on that hashtag's page — sayings, love quotes and
//! home-decoration blurbs under #湖北新增349例新冠肺炎#, #宠物接触到疫情也需隔离# and the like.
//! One such post alone reads as a comment that names nothing; what gives it away is the same words
//! under another hashtag earlier, which only the assembler sees (`yuqing_core::story`). This module
//! gives the key it compares: the post's own words, when they may be such a copy at all.
//!
//! Invariant: pure.

use crate::dedup::is_alnum;

/// Own words shorter than this (letters and digits) are not judged: "武汉加油" under ten hashtags
/// is a cheer, not a pasted passage.
pub const MIN_COPY_CHARS: usize = 15;

/// The key of a post's own words when the post may be a copy pasted under hashtags, else None.
///
/// `matching_text` is the text's matching form and `hashtags` the post's hashtags (matching forms).
/// A post may be such a copy when it carries a hashtag, its own words — the text before a `//@`
/// repost chain, without hashtags, `@name`s, URLs and emoji codes, letters and digits only — are at
/// least [`MIN_COPY_CHARS`] long, and not two adjacent of them occur together in any of its
/// hashtags: a report or a comment on the matter repeats some of its hashtag's words (方舱医院
/// under #武汉再建10座方舱医院#); a pasted passage has nothing to do with it. Spacing and
/// punctuation do not change the key.
///
/// One pass, no allocation but the hashtags' letter pairs: it runs for every post with a hashtag.
pub fn copy_key(matching_text: &str, hashtags: &[String]) -> Option<u64> {
    if hashtags.is_empty() {
        return None;
    }
    // The hashtags' adjacent letter pairs, and a 256-bit filter of them that most pairs of the
    // text miss at once.
    let mut pairs: Vec<(char, char)> = Vec::new();
    let mut filter = [0u64; 4];
    for tag in hashtags {
        let mut prev: Option<char> = None;
        for c in tag.chars().filter(|c| is_alnum(*c)) {
            if let Some(p) = prev {
                pairs.push((p, c));
                let bit = pair_bit(p, c);
                filter[bit / 64] |= 1 << (bit % 64);
            }
            prev = Some(c);
        }
    }
    pairs.sort_unstable();
    let own = match matching_text.find("//@") {
        Some(i) if i > 0 && !matching_text[..i].trim().is_empty() => &matching_text[..i],
        _ => matching_text,
    };
    let tags = crate::hashtag::find(own);
    let mut next_tag = tags.iter().map(|(_, r)| r.clone()).peekable();
    let (mut hash, mut letters, mut prev) = (FNV_OFFSET, 0usize, None::<char>);
    let mut at = 0;
    while at < own.len() {
        if let Some(r) = next_tag.peek() {
            if r.start <= at {
                at = at.max(r.end);
                next_tag.next();
                continue;
            }
        }
        let here = &own[at..];
        let Some(c) = here.chars().next() else { break };
        // What `headline::clean` cuts: URLs, `@name`s, emoji codes.
        let skip = if c == 'h' {
            crate::headline::url_len(here).unwrap_or(0)
        } else if c == '@' {
            1 + crate::headline::name_len(&here[1..])
        } else if c == '[' {
            crate::headline::emoji_code_len(&here[1..]).map_or(0, |n| 1 + n)
        } else {
            0
        };
        if skip > 0 {
            at += skip;
            continue;
        }
        at += c.len_utf8();
        if !is_alnum(c) {
            continue;
        }
        if let Some(p) = prev {
            let bit = pair_bit(p, c);
            if filter[bit / 64] & (1 << (bit % 64)) != 0 && pairs.binary_search(&(p, c)).is_ok() {
                return None;
            }
        }
        prev = Some(c);
        letters += 1;
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
    }
    (letters >= MIN_COPY_CHARS).then_some(hash)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// A pair's bit in the 256-bit filter.
fn pair_bit(a: char, b: char) -> usize {
    ((u32::from(a).wrapping_mul(0x9E37_79B1) ^ u32::from(b)).wrapping_mul(0x85EB_CA6B) >> 24) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching_form;

    fn key(text: &str) -> Option<u64> {
        let m = matching_form(text);
        copy_key(&m, &crate::hashtag::tags(&m))
    }

    /// Real posts of the demo sample (weibo-covid19, 2020-02): one saying under two hashtags.
    #[test]
    fn a_passage_under_two_unrelated_hashtags_has_one_key() {
        let a = key("#湖北新增349例新冠肺炎# 爱情可以做你自己，婚姻却不能如此。爱情是展示最真实的自我");
        let b = key("#宠物接触到疫情也需隔离#爱情可以做你自己 婚姻却不能如此，爱情是展示最真实的自我 [心]");
        assert!(a.is_some());
        assert_eq!(a, b, "spacing, punctuation, emoji codes and the hashtag do not change the key");
        let other = key("#宠物接触到疫情也需隔离# 两颗相爱的心之间不需要言语，在这世上珍贵的东西总是爱情");
        assert!(other.is_some() && other != a);
    }

    #[test]
    fn the_key_is_the_hash_of_the_own_letters_and_digits() {
        let text = matching_form(
            "#宠物接触到疫情也需隔离# 爱情可以做你自己，@某人 婚姻却不能如此 http://t.cn/x [心]//@甲: 好",
        );
        let expected = crate::dedup::fnv1a("爱情可以做你自己婚姻却不能如此".as_bytes());
        assert_eq!(copy_key(&text, &crate::hashtag::tags(&text)), Some(expected));
    }

    #[test]
    fn words_that_repeat_the_hashtag_are_about_it() {
        assert_eq!(key("#武汉再建10座方舱医院# 北京大学第一医院主任医师王贵强介绍方舱医院患者出院标准"), None);
        assert_eq!(key("#钟南山谈新冠肺炎疫情峰值# 钟南山院士说，峰值可能在二月中下旬到来"), None);
    }

    #[test]
    fn short_words_a_post_without_hashtags_and_a_bare_repost_have_no_key() {
        assert_eq!(key("#湖北新增349例新冠肺炎# 武汉加油！中国加油！"), None);
        assert_eq!(key("爱情可以做你自己，婚姻却不能如此。爱情是展示最真实的自我"), None);
        assert_eq!(key("#宠物接触到疫情也需隔离# //@某人: 转发微博"), None);
    }

    #[test]
    fn a_repost_chain_is_not_the_authors_own_words() {
        let own = key("#湖北新增349例新冠肺炎# 爱情可以做你自己，婚姻却不能如此。爱情是展示最真实的自我");
        let chained =
            key("#天津出现聚集性发病# 爱情可以做你自己，婚姻却不能如此。爱情是展示最真实的自我//@某人:说得好");
        assert_eq!(own, chained);
    }
}
