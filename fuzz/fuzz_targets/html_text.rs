//! HTML fragments and list pages: `html_text::html_to_text` (feed content, JSON fields) and its
//! fallback `strip_tags`, `extract::html_links` (list pages, through `html_limit::parse_document`)
//! and `extract::find_time` on the text.
//!
//! Input: UTF-8 markup. Checks: every link is absolute http(s), appears once, and is already in
//! canonical form (`canonical_url` leaves it unchanged).
#![no_main]

use libfuzzer_sys::fuzz_target;
use yuqing_collect::{extract, html_text};
use yuqing_core::url::canonical_url;

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else { return };
    let text = html_text::html_to_text(html);
    let _ = html_text::strip_tags(html);
    let _ = extract::find_time(&text);
    for selector in ["a", "li > a, h2, .title"] {
        let Ok(links) = extract::html_links(html, "http://example.com/news/list.html", selector) else { continue };
        let mut seen = std::collections::HashSet::new();
        for link in &links {
            assert!(link.starts_with("http://") || link.starts_with("https://"), "not absolute http(s): {link:?}");
            assert!(seen.insert(link), "repeated link {link:?}");
            assert_eq!(&canonical_url(link), link, "link not in canonical form");
        }
    }
});
