//! Hostile markup (issue 13, item 2): 100,000 nested elements in a page, a list page or a feed's
//! description must give text or a clear error, never overflow the stack. These tests run on the
//! test harness's own threads (2 MiB stacks); before the fix each of them aborted the process.

use yuqing_collect::extract;
use yuqing_collect::source::{parse_source_toml, HtmlSelectors, Source};

const DEPTH: usize = 100_000;

fn src() -> Source {
    parse_source_toml(
        "id = \"d\"\nname = \"深层测试\"\nkind = \"html\"\nurl = \"http://example.com/\"\n[selectors]\nlinks = \"a\"\n",
    )
    .expect("source")
}

fn nested(open: &str, close: &str, inner: &str) -> String {
    format!("{}{inner}{}", open.repeat(DEPTH), close.repeat(DEPTH))
}

fn page(body: &str) -> String {
    format!("<html><head><title>深层页面_测试网</title></head><body><h1>深层页面</h1>{body}</body></html>")
}

const TEXT: &str = "<p>市第一医院挂号排队三个小时，收费窗口只开一个。</p>";

#[test]
fn a_page_of_100k_nested_divs_gives_its_text() {
    let html = page(&nested("<div>", "</div>", TEXT));
    assert!(html.len() > 1_000_000, "{} bytes", html.len());
    let p = extract::article(&html, "http://example.com/deep", &HtmlSelectors::default(), &src())
        .expect("text, not an error");
    assert_eq!(p.title.as_deref(), Some("深层页面"));
    assert!(p.text.as_deref().unwrap_or("").contains("挂号排队三个小时"), "{:?}", p.text);
}

#[test]
fn pages_of_other_deep_elements_give_text_or_a_clear_error() {
    for (open, close) in [
        ("<span>", "</span>"),
        ("<b>", "</b>"),
        ("<i>", "</i>"),
        ("<table><tr><td>", "</td></tr></table>"),
        ("<div><span><b>", "</b></span></div>"),
        ("<li>", ""),
        ("<div>", ""),
    ] {
        let html = page(&nested(open, close, TEXT));
        match extract::article(&html, "http://example.com/deep", &HtmlSelectors::default(), &src()) {
            Ok(p) => assert!(
                p.text.as_deref().unwrap_or("").contains("挂号排队三个小时") || p.title.is_some(),
                "{open}: {:?}",
                p.text
            ),
            Err(e) => assert!(e.contains("http://example.com/deep") && e.contains("页面结构过深/过大"), "{open}: {e}"),
        }
        // With selectors, the same page is read within the same bounds.
        let sel = HtmlSelectors { title: "h1".into(), body: "p".into(), ..Default::default() };
        if let Ok(p) = extract::article(&html, "http://example.com/deep", &sel, &src()) {
            assert_eq!(p.text.as_deref(), Some("市第一医院挂号排队三个小时，收费窗口只开一个。"), "{open}");
        }
    }
}

#[test]
fn formatting_elements_left_open_do_not_blow_up_the_tree() {
    let opens: String = (0..20_000).map(|k| format!("<b class=c{k}>")).collect();
    let html = page(&format!("<div>{opens}</div>{}", TEXT.repeat(20_000)));
    match extract::article(&html, "http://example.com/fmt", &HtmlSelectors::default(), &src()) {
        Ok(p) => assert!(p.text.is_some()),
        Err(e) => assert!(e.contains("页面结构过深/过大"), "{e}"),
    }
}

#[test]
fn a_list_page_of_100k_nested_divs_gives_its_links() {
    let html = page(&nested("<div>", "</div>", "<a href=\"/n/1.html\">一</a>"));
    let links = extract::html_links(&html, "http://example.com/list/", "a").expect("links");
    assert_eq!(links, vec!["http://example.com/n/1.html"]);
}

#[test]
fn a_feed_description_of_100k_nested_divs_gives_its_text() {
    let desc = nested("<div>", "</div>", "深层描述正文");
    let escaped = desc.replace('<', "&lt;").replace('>', "&gt;");
    let xml = format!("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>t</title><item><title>深层条目</title><link>http://example.com/1</link><description>{escaped}</description></item></channel></rss>");
    let e = extract::feed(&xml, "http://example.com/feed", &src());
    assert_eq!(e.posts.len(), 1, "{:?}", e.errors);
    assert_eq!(e.posts[0].text.as_deref(), Some("深层描述正文"));
    // The same in CDATA, with spans.
    let cdata = nested("<span>", "</span>", "深层描述正文");
    let xml = format!("<rss version=\"2.0\"><channel><title>t</title><item><title>深层条目</title><link>http://example.com/2</link><description><![CDATA[{cdata}]]></description></item></channel></rss>");
    let e = extract::feed(&xml, "http://example.com/feed", &src());
    assert_eq!(e.posts.first().and_then(|p| p.text.as_deref()), Some("深层描述正文"), "{:?}", e.errors);
}
