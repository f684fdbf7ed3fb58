//! Encoding decision of fetched bodies: `yuqing_collect::encoding::decode` (which `decide` wraps),
//! with the label readers `header_charset`, `xml_declared`, `meta_charset`, and `plausibility`.
//!
//! Input: one byte `n`, then `n` bytes of `Content-Type` header value (none when `n` is 0 or the
//! bytes are not UTF-8), then the body. Checks: a decoded text has a U+FFFD only where the body
//! wrote one in the encoding it was decoded with (never one from a decoding error); plausibility is
//! a share between 0 and 1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yuqing_collect::encoding::{decode, header_charset, meta_charset, plausibility, strip_xml_declaration, xml_declared};

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// U+FFFD written in `name`, for the encodings where it has a fixed byte sequence.
fn fffd_bytes(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "UTF-8" => &[0xEF, 0xBF, 0xBD],
        "gb18030" | "GB18030" => &[0x84, 0x31, 0xA4, 0x37],
        "UTF-16LE" => &[0xFD, 0xFF],
        "UTF-16BE" => &[0xFF, 0xFD],
        "UTF-32LE" => &[0xFD, 0xFF, 0, 0],
        "UTF-32BE" => &[0, 0, 0xFF, 0xFD],
        _ => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else { return };
    let n = usize::from(n).min(rest.len());
    let (ct, body) = rest.split_at(n);
    let content_type = std::str::from_utf8(ct).ok().filter(|s| !s.is_empty());

    if let Some(ct) = content_type {
        let _ = header_charset(ct);
    }
    let _ = xml_declared(body);
    let _ = meta_charset(body);
    if let Ok((text, charset)) = decode(content_type, body) {
        if let Some(fffd) = fffd_bytes(charset.name) {
            assert!(
                !text.contains('\u{FFFD}') || contains(body, fffd),
                "U+FFFD in text decoded as {} ({:?}) though the body has none",
                charset.name,
                charset.evidence
            );
        }
        if let Some(p) = plausibility(&text) {
            assert!((0.0..=1.0).contains(&p), "plausibility {p}");
        }
        let _ = strip_xml_declaration(&text);
    }
});
