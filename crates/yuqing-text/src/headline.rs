//! Headlines (标题) for stories: a short title that names the matter, made from its posts — a
//! sentence-like hashtag the posts share, a news-style 【…】 headline, or the first clause of the
//! most central post — never the raw first post with its hashtags, `@names`, repost chains, links
//! and emoji codes.
//!
//! Invariant: pure; the result is at most [`MAX_CHARS`] characters, trimmed, and never empty when
//! the input has any word in it.

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

use crate::hashtag;

/// A headline is at most this many characters (an ellipsis included).
pub const MAX_CHARS: usize = 30;

/// A hashtag reads as a headline when it has at least this many characters (shorter ones —
/// 新冠肺炎, 武汉加油 — name a theme, not a matter).
pub const MIN_TAG_CHARS: usize = 6;

/// Phrases that carry nothing of the matter (platform boilerplate), removed wherever they stand.
const BOILERPLATE: &[&str] = &[
    "O网页链接",
    "网页链接",
    "展开全文",
    "收起全文",
    "转发微博",
    "轉發微博",
    "查看图片",
    "查看原图",
    "的微博视频",
    "的秒拍视频",
    "原标题：",
    "原标题:",
    "来源：",
];

/// `text` without what is not the author's own words about the matter: hashtags, `@name`s,
/// `//@…` repost chains (everything from the first one), URLs, emoji codes `[…]` of up to eight
/// characters, private-use glyphs, boilerplate and runs of spaces.
///
/// One pass over the text after the hashtags and boilerplate are out, writing the collapsed result
/// directly (it runs two to four times for every post ingested: noise, anchors, headlines).
pub fn clean(text: &str) -> String {
    // A repost chain: the author's own words come before the first `//@`.
    let own = match text.find("//@") {
        Some(0) | None => text,
        Some(i) => &text[..i],
    };
    let own = if own.trim().is_empty() { text } else { own };
    let s: Cow<str> = if own.contains('#') { Cow::Owned(hashtag::split(own).1) } else { Cow::Borrowed(own) };
    let s = without_boilerplate(s);
    let mut out = Collapsed::with_capacity(s.len());
    let mut at = 0;
    while at < s.len() {
        // A run of plain characters goes in whole: it holds no byte that may begin what is cut
        // or collapsed below (every such character begins with one of `may_begin_cut`'s bytes).
        let plain = s.as_bytes()[at..].iter().position(|&b| may_begin_cut(b)).map_or(s.len(), |p| at + p);
        if plain > at {
            out.push_plain(&s[at..plain]);
            at = plain;
            continue;
        }
        let here = &s[at..];
        let Some(c) = here.chars().next() else { break };
        let rest = &here[c.len_utf8()..];
        // What is cut here: (whether a space stands in its place, its length in bytes).
        let cut = if let Some(n) = if c == 'h' || c == 'H' { url_len(here) } else { None } {
            Some((true, n))
        } else if c == '@' {
            // @name: up to a space, punctuation or the end (names are letters, digits, CJK, _
            // and -), at most 30 characters.
            Some(name_len(rest)).filter(|&n| n > 0).map(|n| (true, 1 + n))
        } else if c == '[' {
            // Emoji codes: [笑cry] [温暖帽子] — short bracketed words.
            emoji_code_len(rest).map(|n| (false, 1 + n))
        } else if ('\u{E000}'..='\u{F8FF}').contains(&c) || c == '\u{FFFD}' {
            // Private-use glyphs (icon fonts) and replacement characters.
            Some((false, c.len_utf8()))
        } else {
            None
        };
        match cut {
            Some((space, len)) => {
                if space {
                    out.space();
                }
                at += len;
            }
            None => {
                out.push(c);
                at += c.len_utf8();
            }
        }
    }
    out.0
}

/// Whether a character beginning with byte `b` may be one [`clean`] cuts or collapses: `h`/`H` (a
/// URL), `@`, `[`, ASCII white space, and the lead bytes of every other white space character
/// (U+0085, U+00A0: C2; U+1680: E1; U+2000–U+205F: E2; U+3000: E3), of the private-use area
/// (U+E000–U+F8FF: EE, EF) and of U+FFFD (EF). Continuation bytes (80–BF) are never among them.
fn may_begin_cut(b: u8) -> bool {
    matches!(b, b'h' | b'H' | b'@' | b'[' | b'\t'..=b'\r' | b' ' | 0xC2 | 0xE1 | 0xE2 | 0xE3 | 0xEE | 0xEF)
}

/// The length in bytes of the URL at the start of `here` (`http…`, any case): up to the next space
/// or CJK character. None when `here` does not start with one.
pub(crate) fn url_len(here: &str) -> Option<usize> {
    (here.len() >= 4 && here.as_bytes()[..4].eq_ignore_ascii_case(b"http"))
        .then(|| here.bytes().position(|b| !b.is_ascii() || b.is_ascii_whitespace()).unwrap_or(here.len()))
}

/// The length in bytes of the `@name` at the start of `rest` (after the `@`): letters, digits,
/// CJK, `_` and `-`, at most 30 characters.
pub(crate) fn name_len(rest: &str) -> usize {
    rest.char_indices()
        .take(30)
        .take_while(|(_, x)| x.is_alphanumeric() || *x == '_' || *x == '-')
        .last()
        .map_or(0, |(i, x)| i + x.len_utf8())
}

/// The length in bytes of an emoji code's rest at the start of `rest` (after the `[`): one to
/// eight letters or digits and the closing `]`.
pub(crate) fn emoji_code_len(rest: &str) -> Option<usize> {
    let (n, (close, _)) = rest.char_indices().take(9).enumerate().find(|(_, (_, x))| *x == ']')?;
    (n >= 1 && rest[..close].chars().all(|x| x.is_alphanumeric())).then_some(close + 1)
}

/// The boilerplate phrases, one automaton: most posts have none, and one scan says so.
fn boilerplate() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| AhoCorasick::new(BOILERPLATE).expect("the boilerplate phrases form a valid automaton"))
}

/// `s` with every boilerplate phrase replaced by a space, phrase by phrase in [`BOILERPLATE`]'s
/// order (an earlier phrase wins where two overlap: O网页链接 before 网页链接).
fn without_boilerplate(s: Cow<'_, str>) -> Cow<'_, str> {
    if !boilerplate().is_match(s.as_ref()) {
        return s;
    }
    let mut s = s.into_owned();
    for b in BOILERPLATE {
        if s.contains(b) {
            s = s.replace(b, " ");
        }
    }
    Cow::Owned(s)
}

/// A string being written with runs of white space collapsed to one space, none at either end.
struct Collapsed(String, bool);

impl Collapsed {
    fn with_capacity(n: usize) -> Collapsed {
        Collapsed(String::with_capacity(n), false)
    }

    /// A space before whatever comes next (dropped at the start and the end).
    fn space(&mut self) {
        self.1 = true;
    }

    fn push(&mut self, c: char) {
        if c.is_whitespace() || c == '\u{3000}' {
            self.1 = true;
        } else {
            self.push_plain(c.encode_utf8(&mut [0; 4]));
        }
    }

    /// A run without white space.
    fn push_plain(&mut self, run: &str) {
        if self.1 && !self.0.is_empty() {
            self.0.push(' ');
        }
        self.1 = false;
        self.0.push_str(run);
    }
}

/// Whether `c` ends a clause.
fn ends_clause(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '!' | '?' | '；' | ';' | '\n' | '…')
}

/// Cuts `s` to at most [`MAX_CHARS`] characters: at a clause end or a comma within the limit when
/// one leaves at least half of it, else with an ellipsis.
pub fn shorten(s: &str) -> String {
    let s =
        s.trim().trim_matches(|c: char| c.is_whitespace() || matches!(c, '，' | ',' | '、' | '：' | ':' | '-' | '—'));
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= MAX_CHARS {
        return s.to_string();
    }
    let limit = MAX_CHARS;
    let cut = (MAX_CHARS / 2..limit)
        .rev()
        .find(|&i| matches!(chars[i], '，' | ',' | '、' | '：' | ':' | ' ') || ends_clause(chars[i]));
    match cut {
        Some(i) => chars[..i].iter().collect::<String>().trim_end().to_string(),
        None => {
            let mut t: String = chars[..MAX_CHARS - 1].iter().collect();
            t.push('…');
            t
        }
    }
}

/// The headline of one post: its 【…】 headline when it opens with one (news style), else its
/// first clause of some substance, shortened. `None` when nothing of the post is left.
pub fn of_post(title: &str, text: &str) -> Option<String> {
    for part in [title, text] {
        let cleaned = clean(part);
        if cleaned.is_empty() {
            continue;
        }
        if let Some(rest) = cleaned.strip_prefix('【') {
            if let Some(end) = rest.find('】') {
                let inner = rest[..end].trim();
                if inner.chars().count() >= 4 {
                    return Some(shorten(inner));
                }
            }
        }
        // The first clause with at least six characters (a greeting or 转发 is not the matter).
        let mut clause = String::new();
        for c in cleaned.chars() {
            if ends_clause(c) {
                if clause.trim().chars().filter(|c| c.is_alphanumeric()).count() >= 6 {
                    break;
                }
                clause.clear();
                continue;
            }
            clause.push(c);
        }
        let clause = clause.trim().trim_start_matches(['【', '】', '「', '」', '“', '”']);
        if clause.chars().filter(|c| c.is_alphanumeric()).count() >= 2 {
            return Some(shorten(clause));
        }
    }
    None
}

/// A hashtag as a headline, when it reads as one (long enough to name a matter).
pub fn of_tag(tag: &str) -> Option<String> {
    let t = clean(tag);
    (t.chars().filter(|c| c.is_alphanumeric()).count() >= MIN_TAG_CHARS).then(|| shorten(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The implementation before 2026-12-07 (a `Vec<char>` and four passes), kept to check the
    /// one-pass [`clean`] against: they must agree on every input.
    fn clean_reference(text: &str) -> String {
        let own = match text.find("//@") {
            Some(0) | None => text,
            Some(i) => &text[..i],
        };
        let own = if own.trim().is_empty() { text } else { own };
        let (_, mut s) = hashtag::split(own);
        for b in BOILERPLATE {
            if s.contains(b) {
                s = s.replace(b, " ");
            }
        }
        let chars: Vec<char> = s.chars().collect();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if (c == 'h' || c == 'H') && starts_with(&chars[i..], "http") {
                let mut j = i;
                while j < chars.len() && chars[j].is_ascii() && !chars[j].is_ascii_whitespace() {
                    j += 1;
                }
                out.push(' ');
                i = j;
                continue;
            }
            if c == '@' {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == '-')
                    && j - i <= 30
                {
                    j += 1;
                }
                if j > i + 1 {
                    out.push(' ');
                    i = j;
                    continue;
                }
            }
            if c == '[' {
                if let Some(len) = chars[i + 1..].iter().take(9).position(|&x| x == ']') {
                    if len >= 1 && chars[i + 1..i + 1 + len].iter().all(|x| x.is_alphanumeric()) {
                        i += len + 2;
                        continue;
                    }
                }
            }
            if ('\u{E000}'..='\u{F8FF}').contains(&c) || c == '\u{FFFD}' {
                i += 1;
                continue;
            }
            out.push(c);
            i += 1;
        }
        collapse_spaces(&out)
    }

    fn starts_with(chars: &[char], prefix: &str) -> bool {
        let mut it = chars.iter();
        prefix.chars().all(|p| it.next().is_some_and(|c| c.eq_ignore_ascii_case(&p)))
    }

    fn collapse_spaces(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut space = false;
        for c in s.chars() {
            if c.is_whitespace() || c == '\u{3000}' {
                space = true;
            } else {
                if space && !out.is_empty() {
                    out.push(' ');
                }
                space = false;
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn one_pass_clean_agrees_with_the_reference_on_real_posts() {
        let real = [include_str!("../testdata/brief-cases.jsonl"), include_str!("../testdata/brief-redcross.jsonl")];
        let mut n = 0;
        for line in real.iter().flat_map(|f| f.lines()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("fixture line");
            let text = v["text"].as_str().expect("text");
            for t in [text.to_string(), crate::matching_form(text)] {
                assert_eq!(clean(&t), clean_reference(&t), "{t}");
                n += 1;
            }
        }
        assert!(n >= 100, "{n} texts");
        for t in [
            "",
            "  ",
            "//@a:b",
            "看这里http://t.cn/abc视频 HTTPS://X.CN/y?z=1 网页链接",
            "@人民日报 @新华社_-abc:你好 @ @",
            "@一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五 后面",
            "[心][温暖帽子][a b][][一二三四五六七八九][一二三四五六七八] ]",
            "O网页链接展开全文c收起全文 转发微博 的微博视频 原标题：来源： 查看原图",
            "\u{E001}\u{FFFD}图标\u{3000}\u{3000}全角空格\t\n换行",
            "#话题#正文#未闭合",
            "文字//@张三:转发//@李四:原文",
            "[O网页链接]",
            "h",
            "htt",
            "http",
        ] {
            assert_eq!(clean(t), clean_reference(t), "{t}");
        }
    }

    proptest::proptest! {
        #[test]
        fn one_pass_clean_agrees_with_the_reference(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "#", "@", "[", "]", "//@", "http", "HTTP", "://t.cn/", " ", "\u{3000}", "\n", "_", "-",
                "网页链接", "O网页链接", "展开全文", "转发微博", "的微博视频", "原标题：", "来源：",
                "武汉", "口罩", "a", "1", "，", "。", "\u{E000}", "\u{FFFD}", "心", "【", "】", "😀",
                "h", "H", "ttp", "\u{85}", "\u{A0}", "\u{1680}", "\u{2003}", "\u{205F}", "“", "”", "\u{F8FF}",
                "\u{EFFF}", "\u{FF01}", "\t", "\r", "\u{1C}", "ü", "é",
            ]), 0..40)
        ) {
            let t: String = parts.concat();
            proptest::prop_assert_eq!(clean(&t), clean_reference(&t));
        }
    }

    #[test]
    fn the_raw_first_post_becomes_a_readable_headline() {
        let raw = "#全国累计确诊新冠肺炎37198例#父母，这天是父母节，这多[温暖帽子]年来，您辛苦了";
        let h = of_post("", raw).unwrap();
        assert!(!h.contains('#') && !h.contains('[') && h.chars().count() <= MAX_CHARS, "{h}");
        assert!(h.starts_with("父母"), "{h}");
    }

    #[test]
    fn a_news_headline_in_brackets_is_taken_whole() {
        let h = of_post("", "【武汉再建10座方舱医院】记者从武汉市新冠肺炎防控指挥部获悉……O网页链接").unwrap();
        assert_eq!(h, "武汉再建10座方舱医院");
    }

    #[test]
    fn repost_chains_mentions_links_and_boilerplate_are_removed() {
        let h = of_post("", "说得太对了！！大家都要戴口罩//@某网友:转发 //@另一人: 哈哈 http://t.cn/abc").unwrap();
        assert_eq!(h, "大家都要戴口罩");
        let c = clean("@人民日报 武汉封城第10天 http://t.cn/A6x 展开全文 O网页链接");
        assert_eq!(c, "武汉封城第10天");
        assert_eq!(clean("\u{E627}今天\u{FFFD}"), "今天");
    }

    #[test]
    fn long_clauses_are_cut_within_thirty_characters() {
        let long = "河南一医院副院长拒戴口罩并与防疫人员发生冲突，已被停职调查，当地卫健委表示将严肃处理";
        let h = of_post("", long).unwrap();
        assert!(h.chars().count() <= MAX_CHARS, "{h}");
        assert_eq!(h, "河南一医院副院长拒戴口罩并与防疫人员发生冲突，已被停职调查");
        let unbroken = "一".repeat(50);
        let h = shorten(&unbroken);
        assert_eq!(h.chars().count(), MAX_CHARS);
        assert!(h.ends_with('…'));
    }

    #[test]
    fn a_post_of_nothing_but_noise_has_no_headline() {
        assert_eq!(of_post("", "#话题# [哈哈] @某人 O网页链接 ?"), None);
        assert_eq!(of_post("", ""), None);
    }

    #[test]
    fn only_sentence_like_hashtags_are_headlines() {
        assert_eq!(of_tag("武汉再建10座方舱医院").as_deref(), Some("武汉再建10座方舱医院"));
        assert_eq!(of_tag("武汉加油"), None);
    }
}
