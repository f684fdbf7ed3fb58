//! Article pages: `extract::article` with no selectors, i.e. `article::extract` entire (bounded
//! parsing and flattening in `html_limit`, the Readability port, Chinese title, body, date and
//! author heuristics).
//!
//! Input: UTF-8 markup. Checks: a page that gives a post gives it a title or a text.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use yuqing_collect::extract;
use yuqing_collect::source::{parse_source_toml, HtmlSelectors, Source};

fn source() -> &'static Source {
    static SRC: OnceLock<Source> = OnceLock::new();
    SRC.get_or_init(|| {
        parse_source_toml("id = \"a\"\nname = \"模糊测试\"\nkind = \"html\"\nurl = \"http://example.com/\"\n[selectors]\nlinks = \"a\"\n").expect("source")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else { return };
    if let Ok(post) = extract::article(html, "http://example.com/news/2020/01/article.html", &HtmlSelectors::default(), source()) {
        assert!(post.title.is_some() || post.text.is_some(), "a post with neither title nor text: {post:?}");
    }
});
