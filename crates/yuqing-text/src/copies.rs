//! Copies pasted under hashtags (搬运文案): the same passage posted again and again, each time under
//! another trending hashtag so that it shows on that hashtag's page — sayings, love quotes and
//! home-decoration blurbs under #湖北新增349例新冠肺炎#, #宠物接触到疫情也需隔离# and the like.
//! One such post alone reads as a comment that names nothing; what gives it away is the same words
//! under another hashtag earlier, which only the assembler sees (`yuqing_core::story`). This module
//! gives the key it compares: the post's own words, when they may be such a copy at all.
//!
//! Invariant: pure.

use crate::dedup::{fnv1a, is_alnum};

/// Own words shorter than this (letters and digits) are not judged: "武汉加油" under ten hashtags
/// is a cheer, not a pasted passage.
pub const MIN_COPY_CHARS: usize = 15;

/// The key of a post's own words when the post may be a copy pasted under hashtags, else None.
///
/// `matching_text` is the text's matching form and `hashtags` the post's hashtags (matching forms).
/// A post may be such a copy when it carries a hashtag, its own words ([`crate::headline::clean`]:
/// no hashtags, `@`s, repost chains, links or emoji codes) have at least [`MIN_COPY_CHARS`] letters
/// and digits, and not two adjacent of them occur together in any of its hashtags: a report or a
/// comment on the matter repeats some of its hashtag's words (方舱医院 under #武汉再建10座方舱医院#);
/// a pasted passage has nothing to do with it. Spacing and punctuation do not change the key.
pub fn copy_key(matching_text: &str, hashtags: &[String]) -> Option<u64> {
    if hashtags.is_empty() {
        return None;
    }
    let own: String = crate::headline::clean(matching_text).chars().filter(|c| is_alnum(*c)).collect();
    if own.chars().count() < MIN_COPY_CHARS {
        return None;
    }
    let mut tag_pairs: Vec<(char, char)> = Vec::new();
    for tag in hashtags {
        let letters: Vec<char> = tag.chars().filter(|c| is_alnum(*c)).collect();
        tag_pairs.extend(letters.windows(2).map(|w| (w[0], w[1])));
    }
    tag_pairs.sort_unstable();
    tag_pairs.dedup();
    let mut prev: Option<char> = None;
    for c in own.chars() {
        if let Some(p) = prev {
            if tag_pairs.binary_search(&(p, c)).is_ok() {
                return None;
            }
        }
        prev = Some(c);
    }
    Some(fnv1a(own.as_bytes()))
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
