//! Every feed format feed-rs reads, from real feeds (tests/fixtures/README.md): decoded by the
//! encoding rules and extracted into posts with absolute canonical URLs.

use yuqing_collect::extract;
use yuqing_collect::source::parse_source_toml;

fn extract_file(name: &str) -> extract::Extracted {
    let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).expect("fixture");
    let (text, _) = yuqing_collect::encoding::decode(None, &bytes).expect("decodes cleanly");
    let src = parse_source_toml("id = \"f\"\nname = \"测试\"\nkind = \"feed\"\nurl = \"http://example.com/feed\"\n").expect("source");
    extract::feed(&text, "http://example.com/feed", &src)
}

#[test]
fn rss_0_9x_1_0_2_0_atom_and_json_feed_are_read() {
    for (name, posts) in [
        ("rss_0.91_spec_1.xml", 2),
        ("rss_0.92_spec_1.xml", 3),
        ("rss_1.0_example_1.xml", 2),
        ("rss_1.0_iso8859.xml", 1),
        ("rss_2.0_spec_1.xml", 2),
        ("atom_example_1.xml", 1),
        ("jsonfeed_example_1.json", 2),
    ] {
        let e = extract_file(name);
        assert!(e.errors.is_empty(), "{name}: {:?}", e.errors);
        assert_eq!(e.posts.len(), posts, "{name}: {:?}", e.posts);
        for p in &e.posts {
            assert!(p.title.is_some() || p.text.is_some(), "{name}: {p:?}");
            assert!(!p.text_str().contains('\u{fffd}') && !p.title_str().contains('<'), "{name}: {p:?}");
            if let Some(u) = &p.url {
                assert!(u.starts_with("http://") || u.starts_with("https://"), "{name}: {u}");
            }
        }
    }
}
