//! 锚点 (anchors): whether a post's own words name something a matter can be told by — a figure
//! or a date (a digit), a headline 【…】 or a title 《…》, or a hashtag that reads as a sentence.
//! Places, watch-rule hits and topic words are the other anchors; the caller adds them (they need
//! the gazetteer and the configuration). The assembler lets a story gather posts by their words
//! only once one of its first posts is anchored: copied sayings (“事业是果实，说话不过是树叶而已”),
//! home-decoration blurbs and greetings pasted under trending hashtags name nothing, and would
//! otherwise make stories of hundreds of copies that are no matter at all.
//!
//! Invariant: pure; works on the matching form (half-width, lower case). Digits inside links,
//! `@names` and emoji codes do not count: only the author's own words (see [`headline::clean`]).

use crate::{hashtag, headline};

/// Whether the title or text (matching forms) names a figure, a headline, a title or a
/// sentence-like hashtag.
pub fn names_something(title: &str, text: &str) -> bool {
    own_words_anchor(title) || own_words_anchor(text)
}

fn own_words_anchor(s: &str) -> bool {
    let digit = s.bytes().any(|b| b.is_ascii_digit());
    let brackets = s.contains('【') || s.contains('《');
    let tag = s.contains('#');
    if !(digit || brackets || tag) {
        return false;
    }
    if tag && hashtag::tags(s).iter().any(|t| t.chars().count() >= headline::MIN_TAG_CHARS) {
        return true;
    }
    let own = headline::clean(s);
    own.bytes().any(|b| b.is_ascii_digit()) || bracketed(&own, '【', '】') || bracketed(&own, '《', '》')
}

/// Whether `s` holds `open` … `close` with at least two characters of words between.
fn bracketed(s: &str, open: char, close: char) -> bool {
    let mut rest = s;
    while let Some(i) = rest.find(open) {
        let after = &rest[i + open.len_utf8()..];
        let Some(j) = after.find(close) else { return false };
        if after[..j].chars().filter(|c| c.is_alphanumeric()).count() >= 2 {
            return true;
        }
        rest = &after[j + close.len_utf8()..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching_form;

    fn anchored(text: &str) -> bool {
        names_something("", &matching_form(text))
    }

    #[test]
    fn figures_headlines_titles_and_sentence_tags_anchor() {
        assert!(anchored("2月20日，武汉市新增新冠肺炎患者319例"));
        assert!(anchored("【为抗疫推迟婚礼的武汉医生，走了】江夏区一名医生不幸感染"));
        assert!(anchored("读了《鼠疫》才明白"));
        assert!(anchored("#武汉再建10座方舱医院# 加油"));
        assert!(anchored("全角数字也算：３位数"));
    }

    #[test]
    fn sayings_comments_and_digits_outside_the_authors_words_do_not() {
        assert!(!anchored("事业是果实，说话不过是树叶而已。"));
        assert!(!anchored("爱情是一句誓言，爱情是一个憧憬，爱情是一种执着"));
        assert!(!anchored("希望孕产妇和宝宝们都能平平安安"));
        assert!(!anchored("我的三观最像谁？http://t.cn/A6v1x2y3 @用户123 [二哈]"));
        assert!(!anchored("【】转发微博"));
        assert!(!anchored("#加油# 冲"));
        assert!(!anchored(""));
    }

    #[test]
    fn a_title_alone_can_anchor() {
        assert!(names_something(&matching_form("2020年第1号通告"), ""));
    }
}
