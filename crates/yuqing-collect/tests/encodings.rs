//! Encoding decisions on real Chinese text (tests/fixtures/README.md): Weibo posts (simplified,
//! published as GB18030) and a pixnet page (traditional), encoded as UTF-8, GBK, GB18030 and Big5,
//! served as feeds and pages under every combination of right, wrong and missing labels (HTTP header,
//! XML declaration, `<meta charset>`). Each body must read as exactly the text it was made from, or
//! be refused — never stored as mojibake.

use std::path::Path;

use encoding_rs::Encoding;
use yuqing_collect::extract;
use yuqing_collect::source::parse_source_toml;
use yuqing_core::encoding::{decode, DecodeError};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).expect("fixture")
}

/// The Weibo posts of the fixture (GB18030 as published), without the CSV header and user ids.
fn weibo_posts() -> Vec<String> {
    let bytes = fixture("weibo-covid19-2020-01-19-head.gb18030.csv");
    let (text, _, malformed) = encoding_rs::GB18030.decode(&bytes);
    assert!(!malformed);
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_once(',').map(|(_, t)| t.trim().to_string()))
        .filter(|t| !t.is_empty())
        .collect()
}

fn pixnet_lines() -> Vec<String> {
    String::from_utf8(fixture("pixnet-zh-tw-lines.txt")).expect("utf-8").lines().map(str::to_string).collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Encodes, or `None` when the encoding cannot represent the text.
fn encode(enc: &'static Encoding, text: &str) -> Option<Vec<u8>> {
    if enc == encoding_rs::UTF_8 {
        return Some(text.as_bytes().to_vec());
    }
    let (bytes, _, unmappable) = enc.encode(text);
    (!unmappable).then(|| bytes.into_owned())
}

fn rss(decl: Option<&str>, items: &[String]) -> String {
    let mut s = String::new();
    if let Some(d) = decl {
        s.push_str(&format!("<?xml version=\"1.0\" encoding=\"{d}\"?>\n"));
    }
    s.push_str("<rss version=\"2.0\"><channel><title>feed</title>\n");
    for (i, t) in items.iter().enumerate() {
        s.push_str(&format!(
            "<item><title>No. {i}</title><link>http://weibo.local/p/{i}</link><description>{}</description></item>\n",
            esc(t)
        ));
    }
    s.push_str("</channel></rss>\n");
    s
}

fn page(meta: Option<&str>, items: &[String]) -> String {
    let meta = meta.map(|m| format!("<meta charset=\"{m}\">")).unwrap_or_default();
    let body: String = items.iter().map(|t| format!("<p>{}</p>\n", esc(t))).collect();
    format!("<!DOCTYPE html><html><head>{meta}<title>page</title></head><body>{body}</body></html>")
}

/// A label that is wrong for the encoding: the other CJK family, or Latin-1.
fn wrong_labels(enc: &'static Encoding) -> Vec<&'static str> {
    if enc == encoding_rs::BIG5 {
        vec!["gb2312", "ISO-8859-1"]
    } else if enc == encoding_rs::UTF_8 {
        vec!["gbk", "ISO-8859-1"]
    } else {
        vec!["big5", "ISO-8859-1"]
    }
}

fn right_label(enc: &'static Encoding) -> &'static str {
    match enc.name() {
        "GBK" => "gb2312",
        "gb18030" => "GB18030",
        "Big5" => "big5",
        _ => "utf-8",
    }
}

struct Outcome {
    cases: usize,
    refused: Vec<String>,
}

/// Every combination of header × in-document label for one text set; asserts the text is exact
/// or refused, and returns the refusals.
fn run_combinations(name: &str, items: &[String], encodings: &[&'static Encoding]) -> Outcome {
    let src = parse_source_toml("id = \"t\"\nname = \"测试\"\nkind = \"feed\"\nurl = \"http://weibo.local/feed\"\n")
        .expect("source");
    let mut out = Outcome { cases: 0, refused: Vec::new() };
    for &enc in encodings {
        let mut labels: Vec<Option<&str>> = vec![None, Some(right_label(enc))];
        labels.extend(wrong_labels(enc).into_iter().map(Some));
        for header in &labels {
            for inner in &labels {
                for as_feed in [true, false] {
                    let doc = if as_feed { rss(*inner, items) } else { page(*inner, items) };
                    let Some(bytes) = encode(enc, &doc) else {
                        continue;
                    };
                    out.cases += 1;
                    let ct = header
                        .map(|h| format!("{}; charset={h}", if as_feed { "application/rss+xml" } else { "text/html" }));
                    let what = format!(
                        "{name} {} header={header:?} {}={inner:?} {}",
                        enc.name(),
                        if as_feed { "xml" } else { "meta" },
                        if as_feed { "feed" } else { "page" }
                    );
                    match decode(ct.as_deref(), &bytes) {
                        Ok((text, charset)) => {
                            assert_eq!(
                                text, doc,
                                "{what}: decoded as {} ({:?}) into other text",
                                charset.name, charset.evidence
                            );
                            if as_feed {
                                let e = extract::feed(&text, "http://weibo.local/feed", &src);
                                let got: Vec<&str> = e.posts.iter().map(|p| p.text_str()).collect();
                                let want: Vec<String> =
                                    items.iter().map(|t| t.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
                                assert_eq!(got, want, "{what}: {:?}", e.errors);
                            }
                        }
                        Err(e) => {
                            assert!(matches!(e, DecodeError::Unsure { .. } | DecodeError::Malformed { .. }));
                            assert!(!e.to_string().is_empty());
                            // A right label in the document or header is never refused.
                            let right = Some(right_label(enc));
                            assert!(
                                *header != right && *inner != right,
                                "{what}: refused although a label is right: {e}"
                            );
                            out.refused.push(format!("{what}: {e}"));
                        }
                    }
                }
            }
        }
    }
    out
}

#[test]
fn simplified_weibo_posts_under_every_label_combination() {
    let posts = weibo_posts();
    assert!(posts.len() >= 10);
    let o = run_combinations("weibo", &posts, &[encoding_rs::UTF_8, encoding_rs::GBK, encoding_rs::GB18030]);
    assert!(o.cases >= 90, "{}", o.cases);
    assert!(o.refused.is_empty(), "a dozen posts are enough text to decide: {:#?}", o.refused);
}

#[test]
fn traditional_text_under_every_label_combination() {
    let lines = pixnet_lines();
    let o = run_combinations("pixnet", &lines, &[encoding_rs::UTF_8, encoding_rs::BIG5, encoding_rs::GBK]);
    assert!(o.cases >= 90, "{}", o.cases);
    assert!(o.refused.is_empty(), "{:#?}", o.refused);
}

/// One short post: less evidence, the same guarantee (exact or refused, never mojibake).
#[test]
fn short_texts_are_exact_or_refused() {
    let posts = weibo_posts();
    let shortest = posts.iter().min_by_key(|p| p.chars().count()).cloned().expect("a post");
    let o = run_combinations("weibo-short", &[shortest], &[encoding_rs::UTF_8, encoding_rs::GBK]);
    assert!(o.cases >= 60);
    let lines = pixnet_lines();
    let t = run_combinations("pixnet-short", &lines[1..2], &[encoding_rs::BIG5]);
    assert!(t.cases >= 30);
}

/// The two cases, end to end through feed extraction.
#[test]
fn the_reported_cases_read_right() {
    let posts = weibo_posts();
    let doc = rss(Some("gb2312"), &posts[..3]);
    let bytes = encoding_rs::GBK.encode(&doc).0.into_owned();
    let (text, c) = decode(Some("application/rss+xml; charset=ISO-8859-1"), &bytes).expect("decodes");
    assert_eq!(text, doc);
    assert_eq!(c.name, "gb18030");
    let lines = pixnet_lines();
    let doc = rss(Some("gb2312"), &lines[..3]);
    let bytes = encoding_rs::BIG5.encode(&doc).0.into_owned();
    let (text, c) = decode(None, &bytes).expect("decodes");
    assert_eq!((text.as_str(), c.name), (doc.as_str(), "Big5"));
}
