//! Text normalization: HTML removed and whitespace collapsed for display, then a matching form
//! (half-width, simplified Chinese, lower case) that rules, topics and hashes work on.
//!
//! Invariant: `matching` has exactly as many characters as `display`, char for char, so a
//! position found in the matching form points at the same place in the text users see.

/// A text in its two forms.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Normalized {
    /// HTML removed, entities decoded, whitespace collapsed; original characters kept.
    pub display: String,
    /// `display` mapped char by char: full-width → half-width, traditional → simplified, lower case.
    pub matching: String,
}

/// Normalize one text (title, body or source name).
pub fn normalize(raw: &str) -> Normalized {
    normalize_with(raw, |_| {})
}

/// [`normalize`], handing every letter or digit of the matching form (`is_alnum`) to `alnum` as it
/// is made, so the content hashes need no second pass over the text.
pub(crate) fn normalize_with(raw: &str, alnum: impl FnMut(char)) -> Normalized {
    if looks_like_html(raw) {
        normalize_clean(&strip_html(raw), alnum)
    } else {
        normalize_clean(raw, alnum)
    }
}

/// White space collapsed and the matching form, in one pass over a text without HTML: the same as
/// `collapse_whitespace` followed by `matching_form`, char for char.
fn normalize_clean(s: &str, mut alnum: impl FnMut(char)) -> Normalized {
    let mut display = String::with_capacity(s.len());
    let mut matching = String::with_capacity(s.len());
    let mut pending_space = false;
    let table = char_table();
    for c in s.chars() {
        let (space, m, is_alnum) = if c.is_ascii() {
            (c.is_ascii_whitespace(), c.to_ascii_lowercase(), c.is_ascii_alphanumeric())
        } else {
            let (space, m) = fold_entry(table, c);
            let is_alnum = match table.get(c as usize) {
                Some(&e) if e & !(SPACE_BIT | ALNUM_BIT) != 0 => e & ALNUM_BIT != 0,
                _ => crate::dedup::is_alnum(m),
            };
            (space, m, is_alnum)
        };
        if space {
            pending_space = !display.is_empty();
            continue;
        }
        if pending_space {
            display.push(' ');
            matching.push(' ');
            pending_space = false;
        }
        display.push(c);
        matching.push(m);
        if is_alnum {
            alnum(m);
        }
    }
    Normalized { display, matching }
}

/// The matching form of a text that is already clean (rule phrases, lexicon words).
pub fn matching_form(display: &str) -> String {
    let mut out = String::with_capacity(display.len());
    if display.is_ascii() {
        out.push_str(display);
        out.make_ascii_lowercase();
        return out;
    }
    let table = char_table();
    for c in display.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(fold_entry(table, c).1);
        }
    }
    out
}

/// Per non-ASCII char of the Basic Multilingual Plane: its matching form in the low 21 bits
/// (`simplified(fold_char(c))`, 0 when computed on the fly) and [`SPACE_BIT`] when
/// `collapse_whitespace` treats it as white space. One table lookup replaces the Unicode case and
/// white-space tables and the traditional → simplified table on the hot path.
const SPACE_BIT: u32 = 1 << 31;
/// Set when the matching form is a letter or digit (`dedup::is_alnum`).
const ALNUM_BIT: u32 = 1 << 30;

fn char_table() -> &'static [u32] {
    static TABLE: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let t2s = t2s_table();
        (0u32..0x10000)
            .map(|code| {
                let Some(c) = char::from_u32(code) else { return 0 };
                if c.is_ascii() {
                    return 0;
                }
                let m = simplified(t2s, fold_char(c));
                let space = if is_collapsed_space(c) { SPACE_BIT } else { 0 };
                let alnum = if crate::dedup::is_alnum(m) { ALNUM_BIT } else { 0 };
                space | alnum | m as u32
            })
            .collect()
    })
}

/// (is white space for collapsing, matching form) of a non-ASCII char.
#[inline]
fn fold_entry(table: &[u32], c: char) -> (bool, char) {
    match table.get(c as usize) {
        Some(&e) => match char::from_u32(e & !(SPACE_BIT | ALNUM_BIT)) {
            Some(m) if m != '\0' => (e & SPACE_BIT != 0, m),
            _ => (is_collapsed_space(c), simplified(t2s_table(), fold_char(c))),
        },
        None => (is_collapsed_space(c), simplified(t2s_table(), fold_char(c))),
    }
}

/// White space as `collapse_whitespace` sees it (non-ASCII chars).
#[inline]
fn is_collapsed_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{3000}' || c == '\u{a0}' || c == '\u{200b}' || c == '\u{feff}'
}

/// First and last code point of the range traditional characters are mapped in (CJK Extension A,
/// the unified ideographs, and everything up to the compatibility ideographs).
const T2S_FIRST: u32 = 0x3400;
const T2S_LAST: u32 = 0xFAFF;

/// Traditional → simplified over the table range, built once from fast2s's mapping ('\0': unchanged).
fn t2s_table() -> &'static [char] {
    static TABLE: std::sync::OnceLock<Vec<char>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (T2S_FIRST..=T2S_LAST)
            .map(|code| {
                let Some(c) = char::from_u32(code) else { return '\0' };
                let mut one = c.to_string();
                fast2s::replace(&mut one);
                let mut chars = one.chars();
                match (chars.next(), chars.next()) {
                    (Some(s), None) if s != c => s,
                    _ => '\0',
                }
            })
            .collect()
    })
}

#[inline]
fn simplified(table: &[char], c: char) -> char {
    let code = c as u32;
    if !(T2S_FIRST..=T2S_LAST).contains(&code) {
        return c;
    }
    match table.get((code - T2S_FIRST) as usize) {
        Some(&s) if s != '\0' => s,
        _ => c,
    }
}

/// Whether `c` is a Chinese character (the CJK unified ideograph blocks and compatibility ones).
pub fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// Full-width → half-width and lower case, one char to one char.
#[inline]
pub fn fold_char(c: char) -> char {
    let c = match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else if c.is_uppercase() {
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) => l,
            _ => c,
        }
    } else {
        c
    }
}

fn looks_like_html(s: &str) -> bool {
    // A '<' that opens a tag, or one of the entities HTML text carries. Most posts have neither '<'
    // nor '&', so eight bytes at a time are tested for either first.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has = |x: u64, b: u8| {
        let y = x ^ (ONES * b as u64);
        y.wrapping_sub(ONES) & !y & HIGH != 0
    };
    let b = s.as_bytes();
    let mut start = 0;
    while start < b.len() {
        let end = (start + 8).min(b.len());
        if end - start == 8 {
            let mut word = [0u8; 8];
            word.copy_from_slice(&b[start..end]);
            let x = u64::from_le_bytes(word);
            if !has(x, b'<') && !has(x, b'&') {
                start = end;
                continue;
            }
        }
        for i in start..end {
            match b[i] {
                b'<' => {
                    if let Some(&n) = b.get(i + 1) {
                        if n.is_ascii_alphabetic() || n == b'/' || n == b'!' {
                            return true;
                        }
                    }
                }
                b'&' => {
                    let rest = &b[i..];
                    if rest.starts_with(b"&nbsp;") || rest.starts_with(b"&amp;") || rest.starts_with(b"&#") {
                        return true;
                    }
                }
                _ => {}
            }
        }
        start = end;
    }
    false
}

/// Removes tags, comments, `<script>` and `<style>` bodies; decodes entities; block tags become spaces.
pub fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find(['<', '&']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('&') {
            let (decoded, used) = decode_entity(rest);
            match decoded {
                Some(c) => out.push(c),
                None => out.push('&'),
            }
            rest = &rest[used..];
            continue;
        }
        // A '<' that does not open a tag is text.
        let next = rest[1..].chars().next();
        let opens_tag = matches!(next, Some(c) if c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
        if !opens_tag {
            out.push('<');
            rest = &rest[1..];
            continue;
        }
        if rest.starts_with("<!--") {
            rest = match rest.find("-->") {
                Some(end) => &rest[end + 3..],
                None => "",
            };
            continue;
        }
        let tag_end = match rest.find('>') {
            Some(end) => end,
            None => {
                rest = "";
                break;
            }
        };
        let tag = &rest[1..tag_end];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        rest = &rest[tag_end + 1..];
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            let close = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = match lower.find(&close) {
                Some(i) => match rest[i..].find('>') {
                    Some(j) => &rest[i + j + 1..],
                    None => "",
                },
                None => "",
            };
        }
        if is_block_tag(&name) {
            out.push(' ');
        }
    }
    out.push_str(rest);
    out
}

fn is_block_tag(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "tr"
            | "td"
            | "th"
            | "table"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "blockquote"
            | "pre"
            | "hr"
            | "header"
            | "footer"
            | "title"
    )
}

/// Decodes one entity at the start of `s` (which starts with '&'); returns the char and bytes used.
fn decode_entity(s: &str) -> (Option<char>, usize) {
    let end = match s[1..].find(';') {
        Some(i) if i <= 10 => i + 1,
        _ => return (None, 1),
    };
    let body = &s[1..end];
    let c = match body {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" | "ensp" | "emsp" | "thinsp" => Some(' '),
        "middot" => Some('·'),
        "hellip" => Some('…'),
        "mdash" => Some('—'),
        "ndash" => Some('–'),
        "ldquo" => Some('“'),
        "rdquo" => Some('”'),
        "lsquo" => Some('‘'),
        "rsquo" => Some('’'),
        _ => {
            if let Some(hex) = body.strip_prefix("#x").or_else(|| body.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else if let Some(dec) = body.strip_prefix('#') {
                dec.parse::<u32>().ok().and_then(char::from_u32)
            } else {
                None
            }
        }
    };
    match c {
        Some(c) => (Some(c), end + 1),
        None => (None, 1),
    }
}

/// Runs of white space (including the ideographic space and NBSP) become one space; ends trimmed.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        let space = if c.is_ascii() { c.is_ascii_whitespace() } else { is_collapsed_space(c) };
        if space {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_becomes_half_width_and_lower_case() {
        assert_eq!(matching_form("ＡＢＣ１２３！　Ｘ"), "abc123! x");
    }

    #[test]
    fn traditional_becomes_simplified_in_matching_form_only() {
        let n = normalize("醫院發生醫療糾紛");
        assert_eq!(n.display, "醫院發生醫療糾紛");
        assert_eq!(n.matching, "医院发生医疗纠纷");
    }

    #[test]
    fn matching_form_keeps_char_positions() {
        let n = normalize("<p>某市  醫院&nbsp;ＡＢ</p><script>var x=1;</script>尾");
        assert_eq!(n.display.chars().count(), n.matching.chars().count());
        assert_eq!(n.display, "某市 醫院 ＡＢ 尾");
        assert_eq!(n.matching, "某市 医院 ab 尾");
    }

    #[test]
    fn html_entities_and_comments_are_decoded_or_dropped() {
        assert_eq!(strip_html("a&lt;b&gt;&#20013;&#x6587;<!-- x -->c"), "a<b>中文c");
        assert_eq!(normalize("3 < 5 and 7 > 2").display, "3 < 5 and 7 > 2");
        assert_eq!(normalize("AT&T").display, "AT&T");
    }

    #[test]
    fn unterminated_tag_does_not_panic() {
        assert_eq!(normalize("正文<div class=").display, "正文");
        assert_eq!(normalize("&#99999999999;").display, "&#99999999999;");
    }

    #[test]
    fn one_pass_normalization_agrees_with_the_two_passes() {
        let samples = [
            "  醫院 \u{3000}ＡＢＣ　發生\u{200b}糾紛\u{feff}！  ",
            "Ünïcode ÀÉÎ straße ΣΑΣ \u{a0}x\u{85}y\u{2028}z",
            "<p>某市&nbsp;醫院</p>",
            "𠀀𪚥 emoji 😀 Ⅻ ǅ",
            "",
        ];
        for raw in samples {
            let n = normalize(raw);
            let display =
                if looks_like_html(raw) { collapse_whitespace(&strip_html(raw)) } else { collapse_whitespace(raw) };
            let table = t2s_table();
            let slow: String = display
                .chars()
                .map(|c| if c.is_ascii() { c.to_ascii_lowercase() } else { simplified(table, fold_char(c)) })
                .collect();
            assert_eq!(n.display, display, "{raw}");
            assert_eq!(n.matching, slow, "{raw}");
            assert_eq!(matching_form(&display), slow, "{raw}");
        }
        // Every char of the Basic Multilingual Plane folds as before.
        let table = t2s_table();
        for code in 0x80u32..0x10000 {
            if let Some(c) = char::from_u32(code) {
                assert_eq!(
                    fold_entry(char_table(), c),
                    (is_collapsed_space(c), simplified(table, fold_char(c))),
                    "U+{code:04X}"
                );
            }
        }
    }

    #[test]
    fn html_is_recognized_anywhere() {
        let slow = |s: &str| {
            let b = s.as_bytes();
            b.windows(2).any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
                || s.contains("&nbsp;")
                || s.contains("&amp;")
                || s.contains("&#")
        };
        let base = "一二三四五六七八九十abcdefgh";
        for tail in ["<p>", "</", "<!--", "< p", "&nbsp;", "&amp;", "&#20013;", "&lt;", "<", "&", "3 < 5", "a&b"] {
            for cut in 0..base.len() {
                if !base.is_char_boundary(cut) {
                    continue;
                }
                let s = format!("{}{tail}{}", &base[..cut], &base[cut..]);
                assert_eq!(looks_like_html(&s), slow(&s), "{s}");
                assert_eq!(looks_like_html(tail), slow(tail), "{tail}");
            }
        }
    }

    #[test]
    fn whitespace_is_collapsed_and_trimmed() {
        assert_eq!(collapse_whitespace("  a \n\t b\u{3000}\u{3000}c  "), "a b c");
    }
}
