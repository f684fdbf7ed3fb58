//! The checks shared by the `input_jsonl` and `input_csv` targets.

use yuqing_core::input::{parse, Format, Item};

/// U+FFFD as UTF-8 and as GB18030: the only ways it can be in the input as a character.
const FFFD_UTF8: &[u8] = &[0xEF, 0xBF, 0xBD];
const FFFD_GB18030: &[u8] = &[0x84, 0x31, 0xA4, 0x37];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Parses `data` as `format` and checks what `yuqing_core::input` promises about the result.
pub fn check(data: &[u8], format: Format) {
    let _ = Format::sniff(data);
    let _ = yuqing_core::input::decode_text(data);
    let Ok(parsed) = parse(data, format) else { return };

    // `items` lists every record once, in input order, as indexes into `posts` and `rejected`.
    assert_eq!(parsed.items.len(), parsed.posts.len() + parsed.rejected.len());
    let (mut next_post, mut next_rejected) = (0, 0);
    for item in &parsed.items {
        match *item {
            Item::Post(i) => {
                assert_eq!(i, next_post);
                next_post += 1;
            }
            Item::Rejected(i) => {
                assert_eq!(i, next_rejected);
                next_rejected += 1;
            }
        }
    }
    assert!(parsed.posts.iter().all(|(line, _)| *line >= 1), "a post on line 0");
    assert!(parsed.rejected.iter().all(|r| r.line >= 1 && !r.reason.is_empty()), "a rejection on line 0 or without a reason");
    assert!(parsed.posts.windows(2).all(|w| w[0].0 <= w[1].0), "posts out of file order");

    // Mojibake never reaches a post: with no U+FFFD written in the input (as a character or a JSON
    // escape), no field of a post has one. (UTF-16 input is left out: its FFFD has no fixed bytes.)
    let literal = data.contains(&b'\\') || contains(data, FFFD_UTF8) || contains(data, FFFD_GB18030);
    if !literal && matches!(parsed.encoding, "UTF-8" | "GB18030") {
        for (line, p) in &parsed.posts {
            for field in [&p.source, &p.url, &p.title, &p.text, &p.author, &p.place].into_iter().flatten() {
                assert!(!field.contains('\u{FFFD}'), "U+FFFD from decoding in the post of line {line}: {field:?}");
            }
        }
    }
}
