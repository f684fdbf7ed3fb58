//! Feeds: a body decoded as the collector does (`encoding::decode`, lossily when it refuses, so the
//! reader still sees the text), then `yuqing_collect::feed::read` (our RSS/Atom reader on quick-xml,
//! JSON Feed through feed-rs, the salvage of broken documents) and `feed::parse_date`.
//!
//! Checks: every post has a title or a text; every link-only item has a link and neither.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use yuqing_collect::source::{parse_source_toml, Source};
use yuqing_collect::{encoding, feed};

fn source() -> &'static Source {
    static SRC: OnceLock<Source> = OnceLock::new();
    SRC.get_or_init(|| {
        parse_source_toml("id = \"f\"\nname = \"模糊测试\"\nkind = \"feed\"\nurl = \"http://example.com/feed\"\n").expect("source")
    })
}

fuzz_target!(|data: &[u8]| {
    let text = match encoding::decode(None, data) {
        Ok((text, _)) => text,
        Err(_) => String::from_utf8_lossy(data).into_owned(),
    };
    let read = feed::read(encoding::strip_xml_declaration(&text), "http://example.com/feed/", source());
    for p in &read.posts {
        assert!(p.title.is_some() || p.text.is_some(), "a post with neither title nor text: {p:?}");
    }
    for p in &read.link_only {
        assert!(p.url.is_some() && p.title.is_none() && p.text.is_none(), "a link-only item that is not: {p:?}");
    }
    if let Some(line) = text.lines().next() {
        let _ = feed::parse_date(line);
    }
});
