//! A feed at a local server, collected through the real fetcher: items with only a link are fetched
//! as article pages when the source sets `fetch_articles` (with robots.txt obeyed for them too), and
//! relative links resolve against the answer's Content-Location.

mod site;

use site::{Response, Site};
use yuqing_collect::collector::collect;
use yuqing_collect::source::parse_source_toml;
use yuqing_collect::{CollectConfig, Fetcher};

const FEED: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>市政府</title>\
    <item><link>/news/1.html</link><pubDate>Fri, 01 Mar 2024 08:00:00 GMT</pubDate><author>press@example.cn (市新闻办)</author></item>\
    <item><link>/private/2.html</link></item>\
    <item><title>有标题的条目</title><link>/news/3.html</link><description>正文</description></item>\
    </channel></rss>";

const ARTICLE: &str = "<html><head><meta charset=\"utf-8\"><title>关于医院排队问题的回应 - 市政府</title></head><body>\
    <h1>关于医院排队问题的回应</h1><div class=\"content\"><p>近日，有市民反映市第一医院挂号排队时间过长。市卫健委高度重视，立即组织调查。</p>\
    <p>经查，该院上午挂号窗口开放不足。即日起增开三个窗口，并推行分时段预约。</p><p>欢迎市民继续监督。</p></div></body></html>";

async fn site() -> String {
    let addr = Site::new()
        .route("/robots.txt", |_| Response::text("User-agent: *\nDisallow: /private/\n"))
        .route("/feeds/rss.xml", |_| Response::ok("application/rss+xml", FEED))
        // The same feed, answered with a Content-Location elsewhere on the site.
        .route("/feeds/latest", |_| {
            Response::ok("application/rss+xml", FEED.replace("/news/", "news/"))
                .header("content-location", "/archive/2024/feed.xml")
        })
        .route("/news/1.html", |_| Response::ok("text/html; charset=utf-8", ARTICLE))
        .route("/private/2.html", |_| Response::ok("text/html; charset=utf-8", ARTICLE))
        .start();
    format!("http://{addr}")
}

fn fetcher() -> Fetcher {
    Fetcher::new(CollectConfig { politeness: "0s".into(), retries: 0, ..CollectConfig::default() }).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn link_only_items_are_fetched_as_articles_when_the_source_says_so() {
    let base = site().await;
    let f = fetcher();
    let never = |_: &str| false;
    let plain = parse_source_toml(&format!(
        "id = \"gov\"\nname = \"市政府\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\n"
    ))
    .unwrap();
    let c = collect(&f, &plain, None, &[], &never).await.unwrap();
    assert_eq!(c.items.len(), 1, "without fetch_articles only the item with text");
    assert!(
        c.errors.iter().any(|e| e.contains(&format!("{base}/news/1.html")) && e.contains("fetch_articles")),
        "{:?}",
        c.errors
    );

    let fetching = parse_source_toml(&format!(
        "id = \"gov\"\nname = \"市政府\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml\"\nfetch_articles = true\n"
    ))
    .unwrap();
    let c = collect(&f, &fetching, None, &[], &never).await.unwrap();
    let article = c
        .items
        .iter()
        .find(|i| i.post.url.as_deref() == Some(&format!("{base}/news/1.html")))
        .expect("the article page was fetched");
    assert!(article.post.title_str().starts_with("关于医院排队问题的回应"), "{:?}", article.post.title);
    assert!(article.post.text_str().contains("即日起增开三个窗口"), "{:?}", article.post.text);
    assert_eq!(
        article.post.published_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-03-01T16:00:00+08:00"),
        "the feed's date where the page has none"
    );
    assert_eq!(article.post.author.as_deref(), Some("市新闻办"));
    assert_eq!(c.evidence[article.evidence.unwrap()].url, format!("{base}/news/1.html"), "the page is the evidence");
    assert_eq!(c.items.len(), 2, "the robots-disallowed page is not fetched: {:?}", c.items);
    assert!(
        c.errors.iter().any(|e| e.contains("/private/2.html") && e.contains("robots.txt 不允许抓取")),
        "{:?}",
        c.errors
    );

    // Stored links are not fetched again.
    let known = |u: &str| u.ends_with("/news/1.html");
    let c = collect(&f, &fetching, None, &[], &known).await.unwrap();
    assert_eq!(c.items.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn relative_links_resolve_against_content_location() {
    let base = site().await;
    let src = parse_source_toml(&format!(
        "id = \"gov\"\nname = \"市政府\"\nkind = \"feed\"\nurl = \"{base}/feeds/latest\"\n"
    ))
    .unwrap();
    let c = collect(&fetcher(), &src, None, &[], &|_: &str| false).await.unwrap();
    assert_eq!(c.items.len(), 1, "{:?}", c.errors);
    assert_eq!(c.items[0].post.url.as_deref(), Some(format!("{base}/archive/2024/news/3.html").as_str()));
}
