//! Which encoding bytes are in, and their text: the one place yuqing decides it. Fetched bodies
//! and stored snapshots go through [`decode`] (below); post files and pushed posts through
//! `input`, which takes UTF-16/UTF-32 from [`wide_lossy`] here and decides UTF-8 or GB18030 line by
//! line, so that one bad line never costs the others.
//!
//! The evidence is, strongest first: a byte order mark; the byte pattern of UTF-16/UTF-32 (NUL
//! bytes beside ASCII markup) and of valid multi-byte UTF-8; the HTTP `Content-Type` charset; the
//! XML declaration; `<meta charset>` / `<meta http-equiv>`; detection (chardetng). GBK and GB2312
//! labels are read as GB18030 (a superset, as the WHATWG Encoding Standard does); Big5 as
//! Big5-HKSCS; ISO-8859-1 as windows-1252.
//!
//! When all the evidence names one encoding, the body must decode cleanly in it. Labels are often
//! wrong, though (an ISO-8859-1 default on a server in front of GBK pages, a template's gb2312 on
//! Big5 text), so when the evidence disagrees every candidate is decoded and judged: a
//! decoding with malformed sequences is out, and of the clean ones the plausible ones (most of their
//! non-ASCII characters common Chinese characters — GB2312 level 1 and Big5 level 1 — CJK
//! punctuation, or Latin letters inside words) are kept; of those, the strongest signal wins. When no
//! candidate is plausible the body is refused with an error naming the candidates.
//!
//! Invariant: pure; never returns text with U+FFFD from a decoding error, nor text a stronger signal
//! contradicts (mojibake must not reach the store).

use std::sync::OnceLock;

use encoding_rs::{Encoding, UTF_8};

/// Where the decision came from (recorded with errors, shown by `sources test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Evidence {
    Bom,
    /// The bytes themselves: the NUL pattern of UTF-16/32, or valid multi-byte UTF-8.
    BytePattern,
    Header,
    XmlDeclaration,
    Meta,
    Detected,
}

impl Evidence {
    pub fn label_zh(self) -> &'static str {
        match self {
            Evidence::Bom => "字节顺序标记",
            Evidence::BytePattern => "字节特征",
            Evidence::Header => "HTTP 头",
            Evidence::XmlDeclaration => "XML 声明",
            Evidence::Meta => "网页 meta 标签",
            Evidence::Detected => "自动检测",
        }
    }
}

/// The charset a body was decoded with (UTF-32 is not in encoding_rs, hence a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charset {
    pub name: &'static str,
    pub evidence: Evidence,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The one encoding the evidence allows does not decode the body cleanly.
    #[error("内容按 {encoding}（依据：{}）解码时遇到无法识别的字节，为免乱码入库已整体放弃", .evidence.label_zh())]
    Malformed { encoding: &'static str, evidence: Evidence },
    /// No candidate gives clean, plausible text; `tried` lists each with its verdict.
    #[error("无法确定内容的编码，为免乱码入库已整体放弃。尝试过：{tried}")]
    Unsure { tried: String },
}

/// The charset parameter of a `Content-Type` header value.
pub fn header_charset(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("charset").then(|| v.trim().trim_matches(['"', '\'']))
    })
}

/// `encoding="…"` in an XML declaration at the start of the body.
pub fn xml_declared(head: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(head.get(..head.len().min(256))?);
    let decl = head.trim_start_matches('\u{feff}').trim_start();
    let decl = decl.strip_prefix("<?xml")?;
    let end = decl.find("?>")?;
    attr_value(&decl[..end], "encoding")
}

/// `<meta charset="…">` or `<meta http-equiv="Content-Type" content="…; charset=…">` in the first
/// 4 KiB of an HTML page.
pub fn meta_charset(head: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(head.get(..head.len().min(4096))?).to_ascii_lowercase();
    let mut rest = head.as_str();
    while let Some(i) = rest.find("<meta") {
        rest = &rest[i + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(v) = attr_value(tag, "charset") {
            return Some(v);
        }
        if tag.contains("http-equiv") {
            if let Some(content) = attr_value(tag, "content") {
                if let Some(cs) = header_charset(&content) {
                    return Some(cs.to_string());
                }
            }
        }
    }
    None
}

fn attr_value(tag: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(i) = tag[from..].find(name) {
        let at = from + i;
        from = at + name.len();
        // A whole attribute name: preceded by space (or start), followed by optional spaces and '='.
        let before_ok = at == 0 || tag[..at].ends_with(|c: char| c.is_whitespace() || c == '"' || c == '\'');
        let after = tag[from..].trim_start();
        if !before_ok || !after.starts_with('=') {
            continue;
        }
        let value = after[1..].trim_start();
        let v = match value.chars().next() {
            Some(q @ ('"' | '\'')) => value[1..].split(q).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_whitespace() || matches!(c, '>' | '/' | ';' | '"' | '\''))
                .next()
                .unwrap_or(""),
        };
        let v = v.trim();
        if !v.is_empty() {
            return Some(v.to_string());
        }
    }
    None
}

/// The encoding for a label, with GBK and GB2312 widened to GB18030.
pub fn for_label(label: &str) -> Option<&'static Encoding> {
    let e = Encoding::for_label(label.trim().as_bytes())?;
    Some(if e == encoding_rs::GBK { encoding_rs::GB18030 } else { e })
}

/// UTF-16/UTF-32, by BOM or by the NUL pattern of ASCII markup (`<` is `3C 00`, `00 3C`,
/// `3C 00 00 00` or `00 00 00 3C`). encoding_rs has no UTF-32, hence this small type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wide {
    Utf16Le,
    Utf16Be,
    Utf32Le,
    Utf32Be,
}

impl Wide {
    fn name(self) -> &'static str {
        match self {
            Wide::Utf16Le => "UTF-16LE",
            Wide::Utf16Be => "UTF-16BE",
            Wide::Utf32Le => "UTF-32LE",
            Wide::Utf32Be => "UTF-32BE",
        }
    }

    /// Strict decoding (no BOM expected); `None` on any malformed unit.
    fn decode(self, body: &[u8]) -> Option<String> {
        match self {
            Wide::Utf16Le | Wide::Utf16Be => {
                let enc = if self == Wide::Utf16Le { encoding_rs::UTF_16LE } else { encoding_rs::UTF_16BE };
                enc.decode_without_bom_handling_and_without_replacement(body).map(|c| c.into_owned())
            }
            Wide::Utf32Le | Wide::Utf32Be => {
                if !body.len().is_multiple_of(4) {
                    return None;
                }
                body.chunks_exact(4)
                    .map(|c| {
                        let b = [c[0], c[1], c[2], c[3]];
                        char::from_u32(if self == Wide::Utf32Le {
                            u32::from_le_bytes(b)
                        } else {
                            u32::from_be_bytes(b)
                        })
                    })
                    .collect()
            }
        }
    }

    fn bom(body: &[u8]) -> Option<(Wide, usize)> {
        match body {
            [0, 0, 0xFE, 0xFF, ..] => Some((Wide::Utf32Be, 4)),
            [0xFF, 0xFE, 0, 0, ..] if body.len().is_multiple_of(4) => Some((Wide::Utf32Le, 4)),
            [0xFE, 0xFF, ..] => Some((Wide::Utf16Be, 2)),
            [0xFF, 0xFE, ..] => Some((Wide::Utf16Le, 2)),
            _ => None,
        }
    }

    /// The pattern of NUL bytes in the first 4 KiB: in UTF-32 three of four bytes of ASCII are 0,
    /// in UTF-16 one of two; single-byte and multi-byte legacy text has none.
    fn sniff(body: &[u8]) -> Option<Wide> {
        let head = &body[..body.len().min(4096) / 4 * 4];
        if head.len() < 4 || !head.contains(&0) {
            return None;
        }
        let mut zeros = [0usize; 4];
        for (i, b) in head.iter().enumerate() {
            if *b == 0 {
                zeros[i % 4] += 1;
            }
        }
        let quads = (head.len() / 4) as f64;
        let z = zeros.map(|n| n as f64 / quads);
        if z[0] > 0.95 && z[1] > 0.6 && z[3] < 0.05 {
            Some(Wide::Utf32Be)
        } else if z[3] > 0.95 && z[2] > 0.6 && z[0] < 0.05 {
            Some(Wide::Utf32Le)
        } else if z[0] + z[2] > 0.6 && z[1] + z[3] < 0.05 {
            Some(Wide::Utf16Be)
        } else if z[1] + z[3] > 0.6 && z[0] + z[2] < 0.05 {
            Some(Wide::Utf16Le)
        } else {
            None
        }
    }
}

/// Text in UTF-16 or UTF-32, known by its BOM or by the NUL pattern of its ASCII (see [`Wide`]),
/// decoded with U+FFFD for malformed units; `None` when the bytes are not wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WideText {
    /// "UTF-16LE", "UTF-16BE", "UTF-32LE" or "UTF-32BE".
    pub name: &'static str,
    /// The text, without the BOM.
    pub text: String,
    /// Whether some units were malformed (and replaced by U+FFFD).
    pub lossy: bool,
}

/// See [`WideText`]. For files, where a bad unit should cost one record, not the whole file.
pub fn wide_lossy(bytes: &[u8]) -> Option<WideText> {
    let (wide, skip) = match Wide::bom(bytes) {
        Some(found) => found,
        None => (Wide::sniff(bytes)?, 0),
    };
    let body = bytes.get(skip..).unwrap_or_default();
    let (text, lossy) = match wide {
        Wide::Utf16Le | Wide::Utf16Be => {
            let enc = if wide == Wide::Utf16Le { encoding_rs::UTF_16LE } else { encoding_rs::UTF_16BE };
            let (t, lossy) = enc.decode_without_bom_handling(body);
            (t.into_owned(), lossy)
        }
        Wide::Utf32Le | Wide::Utf32Be => {
            let mut lossy = !body.len().is_multiple_of(4);
            let text = body
                .chunks_exact(4)
                .map(|c| {
                    let b = [c[0], c[1], c[2], c[3]];
                    let u = if wide == Wide::Utf32Le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) };
                    char::from_u32(u).unwrap_or_else(|| {
                        lossy = true;
                        char::REPLACEMENT_CHARACTER
                    })
                })
                .collect();
            (text, lossy)
        }
    };
    Some(WideText { name: wide.name(), text, lossy })
}

/// Common Chinese characters: GB2312 level 1 (3,755 simplified, 一级常用字) and Big5 level 1
/// (5,401 traditional, 常用國字), taken from the code tables themselves so nothing is guessed; a
/// bit per code point of the CJK Unified Ideographs block.
fn common_cjk() -> &'static [u64] {
    static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut bits = vec![0u64; (0xA000 - 0x4E00) / 64];
        let mut add = |enc: &'static Encoding, pair: [u8; 2]| {
            if let Some(s) = enc.decode_without_bom_handling_and_without_replacement(&pair) {
                for c in s.chars() {
                    let i = (c as usize).wrapping_sub(0x4E00);
                    if i < bits.len() * 64 {
                        bits[i / 64] |= 1 << (i % 64);
                    }
                }
            }
        };
        for lead in 0xB0..=0xD7u8 {
            for trail in 0xA1..=0xFEu8 {
                add(encoding_rs::GBK, [lead, trail]);
            }
        }
        for lead in 0xA4..=0xC6u8 {
            for trail in (0x40..=0x7Eu8).chain(0xA1..=0xFE) {
                if lead == 0xC6 && trail > 0x7E {
                    break;
                }
                add(encoding_rs::BIG5, [lead, trail]);
            }
        }
        bits
    })
}

fn is_common_cjk(c: char) -> bool {
    let i = (c as usize).wrapping_sub(0x4E00);
    common_cjk().get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
}

/// Latin-1 supplement to Latin Extended-B: what CJK bytes turn into when read as windows-1252.
fn latin_high(c: char) -> bool {
    ('\u{80}'..='\u{2FF}').contains(&c)
}

/// How plausible decoded text is, 0 to 1: the weighted share of its non-ASCII characters that real
/// text has. Common CJK characters, CJK and general punctuation, kana, hangul and emoji count 1;
/// rarer CJK characters, Greek, Cyrillic and symbols ½; CJK extensions, private use, controls and
/// U+FFFD 0. An accented Latin letter counts 1 alone or in pairs inside a word, 0 in the runs that
/// legacy CJK bytes read as windows-1252 make (`²»¹é…`). `None` for text without non-ASCII.
pub fn plausibility(text: &str) -> Option<f64> {
    let chars: Vec<char> = text.chars().collect();
    let (mut total, mut score) = (0usize, 0.0f64);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii() {
            if c == '\0' || (c.is_ascii_control() && !c.is_ascii_whitespace()) {
                total += 1;
            }
            i += 1;
            continue;
        }
        if latin_high(c) {
            let start = i;
            while i < chars.len() && latin_high(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            let before = start.checked_sub(1).and_then(|j| chars.get(j)).copied();
            let after = chars.get(i).copied();
            let letter_side = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphabetic());
            let in_word = run.iter().all(|c| c.is_alphabetic()) && (letter_side(before) || letter_side(after));
            let isolated_sign = run.len() == 1 && !('\u{80}'..='\u{9F}').contains(&run[0]);
            total += run.len();
            if (run.len() <= 2 && in_word) || isolated_sign {
                score += run.len() as f64;
            }
            continue;
        }
        total += 1;
        let u = c as u32;
        score += if is_common_cjk(c) {
            1.0
        } else {
            match u {
                0x3000..=0x303F
                | 0xFF01..=0xFF5E
                | 0x2010..=0x2027
                | 0x2030..=0x205E
                | 0x3040..=0x30FF
                | 0xAC00..=0xD7A3
                | 0x1F300..=0x1FAFF
                | 0x2600..=0x27BF
                | 0xFE0F => 1.0,
                0x4E00..=0x9FFF | 0x0370..=0x04FF | 0x2100..=0x25FF | 0xFF61..=0xFFEF => 0.5,
                0xE000..=0xF8FF | 0xFFFD | 0x3400..=0x4DBF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF => 0.0,
                _ if c.is_alphabetic() => 0.5,
                _ => 0.25,
            }
        };
        i += 1;
    }
    (total > 0).then(|| score / total as f64)
}

/// Share of plausible characters a decoding needs to be taken (see [`plausibility`]).
const PLAUSIBLE: f64 = 0.8;
/// Within this of the best, a candidate with a stronger signal is preferred.
const MARGIN: f64 = 0.1;

/// One candidate decoding.
struct Candidate {
    encoding: &'static Encoding,
    evidence: Evidence,
    /// The label as written (for messages).
    label: String,
}

/// The candidates the evidence names, strongest first, without repeats.
fn candidates(content_type: Option<&str>, body: &[u8]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    let mut push = |encoding: &'static Encoding, evidence: Evidence, label: String| {
        // UTF-16 labels on a body without the UTF-16 byte pattern are impossible (WHATWG reads a
        // utf-16 meta as UTF-8 for the same reason).
        if encoding == encoding_rs::UTF_16LE
            || encoding == encoding_rs::UTF_16BE
            || encoding == encoding_rs::REPLACEMENT
        {
            return;
        }
        if !out.iter().any(|c| c.encoding == encoding) {
            out.push(Candidate { encoding, evidence, label });
        }
    };
    if !body.is_ascii() && std::str::from_utf8(body).is_ok() {
        push(UTF_8, Evidence::BytePattern, "UTF-8".into());
    }
    if let Some(l) = content_type.and_then(header_charset) {
        if let Some(e) = for_label(l) {
            push(e, Evidence::Header, l.to_string());
        }
    }
    if let Some(l) = xml_declared(body) {
        if let Some(e) = for_label(&l) {
            push(e, Evidence::XmlDeclaration, l);
        }
    }
    if let Some(l) = meta_charset(body) {
        if let Some(e) = for_label(&l) {
            push(e, Evidence::Meta, l);
        }
    }
    if std::str::from_utf8(body).is_ok() {
        push(UTF_8, Evidence::Detected, "UTF-8".into());
    } else {
        let mut det = chardetng::EncodingDetector::new();
        det.feed(body, true);
        let e = det.guess(None, false);
        let e = if e == encoding_rs::GBK { encoding_rs::GB18030 } else { e };
        push(e, Evidence::Detected, e.name().into());
    }
    out
}

/// Decides the encoding of a body and decodes it; the text has no BOM. Fails rather than return
/// replacement characters or text that reads as mojibake (see the module documentation).
pub fn decode(content_type: Option<&str>, body: &[u8]) -> Result<(String, Charset), DecodeError> {
    if let Some((wide, skip)) = Wide::bom(body) {
        let charset = Charset { name: wide.name(), evidence: Evidence::Bom };
        return wide
            .decode(&body[skip..])
            .map(|t| (t, charset))
            .ok_or(DecodeError::Malformed { encoding: wide.name(), evidence: Evidence::Bom });
    }
    if let Some((enc, skip)) = Encoding::for_bom(body) {
        let charset = Charset { name: enc.name(), evidence: Evidence::Bom };
        return enc
            .decode_without_bom_handling_and_without_replacement(&body[skip..])
            .map(|t| (t.into_owned(), charset))
            .ok_or(DecodeError::Malformed { encoding: enc.name(), evidence: Evidence::Bom });
    }
    if let Some(wide) = Wide::sniff(body) {
        let charset = Charset { name: wide.name(), evidence: Evidence::BytePattern };
        return wide
            .decode(body)
            .map(|t| (t, charset))
            .ok_or(DecodeError::Malformed { encoding: wide.name(), evidence: Evidence::BytePattern });
    }
    let cands = candidates(content_type, body);
    if body.is_ascii() {
        // Every ASCII-compatible encoding reads ASCII alike.
        if let Some(c) = cands.iter().find(|c| !c.encoding.is_ascii_compatible()) {
            if let Some(t) = c.encoding.decode_without_bom_handling_and_without_replacement(body) {
                return Ok((t.into_owned(), Charset { name: c.encoding.name(), evidence: c.evidence }));
            }
        }
        let evidence = cands.first().map_or(Evidence::Detected, |c| c.evidence);
        return Ok((String::from_utf8_lossy(body).into_owned(), Charset { name: UTF_8.name(), evidence }));
    }
    // The evidence agrees (one encoding): nothing to weigh, only a clean decoding to check.
    if let [c] = cands.as_slice() {
        return c
            .encoding
            .decode_without_bom_handling_and_without_replacement(body)
            .map(|t| (t.into_owned(), Charset { name: c.encoding.name(), evidence: c.evidence }))
            .ok_or(DecodeError::Malformed { encoding: c.encoding.name(), evidence: c.evidence });
    }
    // (candidate index, text, plausibility) of the clean decodings.
    let mut clean: Vec<(usize, String, f64)> = Vec::new();
    let mut verdicts: Vec<String> = Vec::new();
    for (i, c) in cands.iter().enumerate() {
        let shown = if c.label.eq_ignore_ascii_case(c.encoding.name()) {
            c.label.clone()
        } else {
            format!("{}（按 {} 解码）", c.label, c.encoding.name())
        };
        match c.encoding.decode_without_bom_handling_and_without_replacement(body) {
            None => verdicts.push(format!("{} {shown}：含无法识别的字节", c.evidence.label_zh())),
            Some(t) => {
                let p = plausibility(&t).unwrap_or(1.0);
                verdicts.push(if p >= PLAUSIBLE {
                    format!("{} {shown}：可读", c.evidence.label_zh())
                } else {
                    format!("{} {shown}：解出的文字像乱码（可读字符仅 {:.0}%）", c.evidence.label_zh(), p * 100.0)
                });
                clean.push((i, t.into_owned(), p));
            }
        }
    }
    let best = clean.iter().map(|c| c.2).fold(f64::NAN, f64::max);
    if best.is_nan() || best < PLAUSIBLE {
        return Err(DecodeError::Unsure { tried: verdicts.join("；") });
    }
    // Of the plausible decodings (close to the best), the strongest signal; candidates are in
    // order of strength already.
    let (i, text, _) = clean
        .into_iter()
        .find(|c| c.2 >= PLAUSIBLE && c.2 >= best - MARGIN)
        .ok_or(DecodeError::Unsure { tried: verdicts.join("；") })?;
    let c = &cands[i];
    Ok((text, Charset { name: c.encoding.name(), evidence: c.evidence }))
}

/// Decides the encoding of a body (see [`decode`]); `None` when it would be refused.
pub fn decide(content_type: Option<&str>, body: &[u8]) -> Option<Charset> {
    decode(content_type, body).ok().map(|(_, c)| c)
}

/// Rewrites (or removes) the XML declaration of decoded text so a parser reads it as the UTF-8 it now is.
pub fn strip_xml_declaration(text: &str) -> &str {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if let Some(rest) = t.strip_prefix("<?xml") {
        if let Some(end) = rest.find("?>") {
            return &rest[end + 2..];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    fn big5(s: &str) -> Vec<u8> {
        encoding_rs::BIG5.encode(s).0.into_owned()
    }

    const NEWS: &str = "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大。";
    const NEWS_TW: &str = "臺北市政府今日公告，自下週一起調整公車路線，請市民留意站牌資訊。";

    #[test]
    fn header_wins_then_xml_then_meta_when_they_agree() {
        let body = gbk(&format!("<?xml version=\"1.0\" encoding=\"gb2312\"?><rss>{NEWS}</rss>"));
        let c = decide(Some("application/rss+xml; charset=GBK"), &body).unwrap();
        assert_eq!((c.name, c.evidence), ("gb18030", Evidence::Header));
        let c = decide(Some("application/xml"), &body).unwrap();
        assert_eq!((c.name, c.evidence), ("gb18030", Evidence::XmlDeclaration));
        let html = gbk(&format!("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\"></head><body>{NEWS}</body></html>"));
        assert_eq!(decide(None, &html).map(|c| c.evidence), Some(Evidence::Meta));
        let (text, c) = decode(Some("text/html"), &big5(&format!("<meta charset=\"big5\"><p>{NEWS_TW}</p>"))).unwrap();
        assert_eq!(c.name, "Big5");
        assert!(text.contains(NEWS_TW));
    }

    #[test]
    fn undeclared_gbk_is_detected_and_decoded() {
        let body = gbk(&format!("<html><body><p>{NEWS}</p></body></html>"));
        let (text, c) = decode(None, &body).unwrap();
        assert!(text.contains(NEWS), "{text}");
        assert_eq!(c.evidence, Evidence::Detected);
    }

    /// The case: GBK bytes behind a server default of ISO-8859-1, declared gb2312 in the
    /// document. windows-1252 decodes every byte, into `²»¹é…`; that is not text.
    #[test]
    fn a_latin1_header_on_gbk_bytes_does_not_give_mojibake() {
        let body = gbk(&format!("<?xml version=\"1.0\" encoding=\"gb2312\"?><rss><item><title>不归</title><description>{NEWS}</description></item></rss>"));
        let (text, c) = decode(Some("application/rss+xml; charset=ISO-8859-1"), &body).unwrap();
        assert!(text.contains(NEWS) && text.contains("不归"), "{text}");
        assert_eq!((c.name, c.evidence), ("gb18030", Evidence::XmlDeclaration));
        // Without any right label, detection still finds it.
        let (text, _) = decode(Some("text/xml; charset=iso-8859-1"), &gbk(&format!("<rss>{NEWS}</rss>"))).unwrap();
        assert!(text.contains(NEWS), "{text}");
    }

    /// Big5 labelled gb2312 decodes "cleanly" as GB18030 into nonsense CJK; Big5 is read instead.
    #[test]
    fn big5_labelled_gb2312_is_read_as_big5() {
        let body = big5(&format!(
            "<?xml version=\"1.0\" encoding=\"gb2312\"?><rss><item><description>{NEWS_TW}</description></item></rss>"
        ));
        let (text, c) = decode(Some("application/xml; charset=gb2312"), &body).unwrap();
        assert!(text.contains(NEWS_TW), "{text}");
        assert_eq!(c.name, "Big5");
    }

    #[test]
    fn valid_utf8_wins_over_a_wrong_legacy_label() {
        let utf8 = format!("<meta charset=\"gb2312\"><p>{NEWS}</p>");
        let (text, c) = decode(Some("text/html; charset=gbk"), utf8.as_bytes()).unwrap();
        assert!(text.contains(NEWS), "{text}");
        assert_eq!(c.evidence, Evidence::BytePattern);
    }

    #[test]
    fn broken_bytes_are_refused_naming_the_encoding() {
        let mut broken = gbk(&format!("<meta charset=\"gbk\"><p>{NEWS}</p>"));
        broken.extend_from_slice(&[0x81, 0x20, 0xff, 0x30]);
        let e = decode(Some("text/html; charset=gbk"), &broken).unwrap_err();
        assert!(e.to_string().contains("gb18030") || e.to_string().contains("GB18030"), "{e}");
    }

    /// Bytes no candidate reads as text are refused, and the message names each candidate.
    #[test]
    fn when_no_candidate_is_plausible_the_body_is_refused_naming_them() {
        // Clean in GB18030 (rare radicals and private use) and Big5 (HKSCS extensions), but text in neither.
        let junk: Vec<u8> = (0x50..0x78u8).flat_map(|t| [0xFE, t]).collect();
        let mut body = b"<?xml version=\"1.0\" encoding=\"gb2312\"?><rss>".to_vec();
        body.extend_from_slice(&junk);
        body.extend_from_slice(b"</rss>");
        let e = decode(Some("text/xml; charset=gb2312"), &body).unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, DecodeError::Unsure { .. }), "{m}");
        assert!(m.contains("HTTP 头 gb2312") && m.contains("乱码"), "{m}");
    }

    #[test]
    fn utf16_and_utf32_with_and_without_bom() {
        let doc = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss version=\"2.0\"><channel><item><title>{NEWS}</title></item></channel></rss>");
        let u16le: Vec<u8> = doc.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let u16be: Vec<u8> = doc.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        let u32le: Vec<u8> = doc.chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
        let u32be: Vec<u8> = doc.chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        for (name, bytes, bom) in [
            ("UTF-16LE", u16le, vec![0xFF, 0xFE]),
            ("UTF-16BE", u16be, vec![0xFE, 0xFF]),
            ("UTF-32LE", u32le, vec![0xFF, 0xFE, 0, 0]),
            ("UTF-32BE", u32be, vec![0, 0, 0xFE, 0xFF]),
        ] {
            let (text, c) = decode(Some("application/xml"), &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((text.as_str(), c.name, c.evidence), (doc.as_str(), name, Evidence::BytePattern));
            let with_bom = [bom, bytes].concat();
            let (text, c) =
                decode(Some("application/xml; charset=utf-8"), &with_bom).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((text.as_str(), c.name, c.evidence), (doc.as_str(), name, Evidence::Bom));
        }
    }

    #[test]
    fn plausibility_tells_text_from_mojibake() {
        assert!(plausibility(NEWS).unwrap() > 0.95);
        assert!(plausibility(NEWS_TW).unwrap() > 0.95);
        assert!(plausibility("Größe, café, naïve, Ærø").unwrap() > 0.8);
        let latin = encoding_rs::WINDOWS_1252.decode(&gbk(NEWS)).0.into_owned();
        assert!(plausibility(&latin).unwrap() < 0.3, "{latin}");
        let wrong_gb = encoding_rs::GB18030.decode(&big5(NEWS_TW)).0.into_owned();
        assert!(plausibility(&wrong_gb).unwrap() < PLAUSIBLE - MARGIN, "{wrong_gb}: {:?}", plausibility(&wrong_gb));
        assert_eq!(plausibility("plain ASCII"), None);
    }

    #[test]
    fn labels_are_read_from_headers_and_declarations() {
        assert_eq!(header_charset("text/html; Charset=\"UTF-8\""), Some("UTF-8"));
        assert_eq!(xml_declared(b"<?xml version='1.0' encoding='GB2312'?><x/>").as_deref(), Some("GB2312"));
        assert_eq!(meta_charset(b"<head><META CHARSET=big5></head>").as_deref(), Some("big5"));
        assert_eq!(strip_xml_declaration("<?xml version=\"1.0\" encoding=\"gbk\"?>\n<rss/>").trim(), "<rss/>");
    }
}
