//! Which encoding a fetched body is in, and its text. The decision follows the order browsers and
//! feed readers use: the HTTP `Content-Type` charset, then the XML declaration, then
//! `<meta charset>` / `<meta http-equiv>`, then detection (chardetng). GBK and GB2312 labels are read
//! as GB18030 (a superset, as the WHATWG Encoding Standard does); Big5 as Big5-HKSCS.
//!
//! Invariant: pure; a body that does not decode cleanly in the chosen encoding is an error, never
//! text with U+FFFD in it (mojibake must not reach the store).

use encoding_rs::{Encoding, UTF_8};

/// Where the decision came from (recorded with errors, shown by `sources test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    Bom,
    Header,
    XmlDeclaration,
    Meta,
    Detected,
}

impl Evidence {
    pub fn label_zh(self) -> &'static str {
        match self {
            Evidence::Bom => "字节顺序标记",
            Evidence::Header => "HTTP 头",
            Evidence::XmlDeclaration => "XML 声明",
            Evidence::Meta => "网页 meta 标签",
            Evidence::Detected => "自动检测",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("内容按 {encoding}（依据：{}）解码时遇到无法识别的字节，为免乱码入库已整体放弃", .evidence.label_zh())]
pub struct DecodeError {
    pub encoding: &'static str,
    pub evidence: Evidence,
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
            _ => value.split(|c: char| c.is_whitespace() || matches!(c, '>' | '/' | ';' | '"' | '\'')).next().unwrap_or(""),
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

/// Decides the encoding of a body.
pub fn decide(content_type: Option<&str>, body: &[u8]) -> (&'static Encoding, Evidence) {
    if let Some((e, _)) = Encoding::for_bom(body) {
        return (e, Evidence::Bom);
    }
    if let Some(e) = content_type.and_then(header_charset).and_then(for_label) {
        return (e, Evidence::Header);
    }
    if let Some(e) = xml_declared(body).as_deref().and_then(for_label) {
        return (e, Evidence::XmlDeclaration);
    }
    if let Some(e) = meta_charset(body).as_deref().and_then(for_label) {
        return (e, Evidence::Meta);
    }
    if std::str::from_utf8(body).is_ok() {
        return (UTF_8, Evidence::Detected);
    }
    let mut det = chardetng::EncodingDetector::new();
    det.feed(body, true);
    let e = det.guess(None, true);
    (if e == encoding_rs::GBK { encoding_rs::GB18030 } else { e }, Evidence::Detected)
}

/// The encoding's display name, for messages.
pub fn name(e: &'static Encoding) -> &'static str {
    e.name()
}

/// Decides and decodes; the text has no BOM. Fails rather than return replacement characters.
pub fn decode(content_type: Option<&str>, body: &[u8]) -> Result<(String, &'static Encoding), DecodeError> {
    let (mut enc, mut evidence) = decide(content_type, body);
    // A page declared as GBK that is in fact valid UTF-8 with Chinese in it (a common mistake of
    // site templates) would decode "cleanly" into mojibake: valid multi-byte UTF-8 is read as UTF-8.
    if enc != UTF_8 && evidence != Evidence::Bom && !body.is_ascii() && std::str::from_utf8(body).is_ok() {
        (enc, evidence) = (UTF_8, Evidence::Detected);
    }
    let (text, used, malformed) = enc.decode(body);
    if malformed {
        return Err(DecodeError { encoding: name(used), evidence });
    }
    Ok((text.into_owned(), used))
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

    #[test]
    fn header_wins_then_xml_then_meta() {
        let body = gbk("<?xml version=\"1.0\" encoding=\"gb2312\"?><rss>市第一医院</rss>");
        let (e, ev) = decide(Some("application/rss+xml; charset=GBK"), &body);
        assert_eq!((e, ev), (encoding_rs::GB18030, Evidence::Header));
        let (e, ev) = decide(Some("application/xml"), &body);
        assert_eq!((e, ev), (encoding_rs::GB18030, Evidence::XmlDeclaration));
        let html = gbk("<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\"></head><body>医院</body></html>");
        assert_eq!(decide(None, &html).1, Evidence::Meta);
        let big5 = encoding_rs::BIG5.encode("<meta charset=\"big5\"><p>臺北市政府公告</p>").0.into_owned();
        let (text, e) = decode(Some("text/html"), &big5).unwrap();
        assert_eq!(e, encoding_rs::BIG5);
        assert!(text.contains("臺北市政府公告"));
    }

    #[test]
    fn undeclared_gbk_is_detected_and_decoded() {
        let body = gbk("<html><body><p>市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大。</p></body></html>");
        let (text, _) = decode(None, &body).unwrap();
        assert!(text.contains("挂号排队三个小时"), "{text}");
    }

    #[test]
    fn a_wrong_declaration_falls_back_and_broken_bytes_are_refused() {
        let utf8 = "<meta charset=\"gb2312\"><p>医院排队</p>".as_bytes();
        // UTF-8 bytes read as GB18030 do not always fail, but these do: detection recovers.
        let (text, _) = decode(None, utf8).unwrap();
        assert!(text.contains("医院排队"), "{text}");
        let mut broken = gbk("<meta charset=\"gbk\"><p>医院排队</p>");
        broken.extend_from_slice(&[0x81, 0x20, 0xff, 0x30]);
        assert!(decode(Some("text/html; charset=gbk"), &broken).is_err());
    }

    #[test]
    fn labels_are_read_from_headers_and_declarations() {
        assert_eq!(header_charset("text/html; Charset=\"UTF-8\""), Some("UTF-8"));
        assert_eq!(xml_declared(b"<?xml version='1.0' encoding='GB2312'?><x/>").as_deref(), Some("GB2312"));
        assert_eq!(meta_charset(b"<head><META CHARSET=big5></head>").as_deref(), Some("big5"));
        assert_eq!(strip_xml_declaration("<?xml version=\"1.0\" encoding=\"gbk\"?>\n<rss/>").trim(), "<rss/>");
    }
}
