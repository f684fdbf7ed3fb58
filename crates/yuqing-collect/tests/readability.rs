//! Readability-style extraction (no selectors) on real Chinese article pages, against the expected
//! output of mozilla/readability (tests/fixtures/README.md).

use yuqing_collect::extract;
use yuqing_collect::source::{parse_source_toml, HtmlSelectors};

#[test]
fn article_pages_without_selectors_give_the_expected_title_byline_and_body() {
    let src = parse_source_toml(
        "id = \"f\"\nname = \"测试\"\nkind = \"html\"\nurl = \"http://example.com/\"\n[selectors]\nlinks = \"a\"\n",
    )
    .expect("source");
    // Readability keeps 光明网's site suffix in the title (its expected-metadata.json says so); the
    // headline is the page's <h1>, which <title> repeats with " _探索者 _光明网" (issue 13).
    for (site, title) in [
        ("gmw", "宇航员在太空中喝酒会怎么样？后果很严重"),
        ("pixnet", "新竹尖石_美樹營地賞楓 (2) @ 史蒂文的家_藍天 :: 痞客邦 PIXNET ::"),
    ] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/readability-cn").join(site);
        let bytes = std::fs::read(dir.join("source.html")).expect("page");
        let (html, _) = yuqing_core::encoding::decode(Some("text/html"), &bytes).expect("decodes");
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected-metadata.json")).expect("meta")).expect("json");
        let expected = extract::html_to_text(&std::fs::read_to_string(dir.join("expected.html")).expect("expected"));
        let p = extract::article(&html, "http://example.com/a", &HtmlSelectors::default(), &src).expect("extracted");
        assert_eq!(p.title.as_deref(), Some(title), "{site}");
        assert_eq!(p.author.as_deref(), meta["byline"].as_str(), "{site}");
        let text = p.text.unwrap_or_default();
        let (got, want) = (text.chars().count() as f64, expected.chars().count() as f64);
        assert!((got - want).abs() / want < 0.05, "{site}: {got} characters, expected about {want}\n{text}");
        let excerpt: String = meta["excerpt"].as_str().unwrap_or("").chars().take(15).collect();
        assert!(
            text.replace(char::is_whitespace, "").contains(&excerpt.replace(char::is_whitespace, "")),
            "{site}: {excerpt} not in {text}"
        );
        assert!(!text.contains("function(") && !text.contains("var "), "{site}: no script in the body");
    }
}
