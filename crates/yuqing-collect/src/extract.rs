//! Extraction: decoded text of a feed, page or JSON answer → posts. Pure functions.
//!
//! Invariant: extraction never fails. A broken feed yields the items that parse plus errors; an
//! item without title and text is skipped with an error naming it.

use std::collections::HashSet;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use yuqing_core::url::canonical_url;
use yuqing_core::{Metrics, PostInput};

use crate::source::{HtmlSelectors, JsonFields, Source};

/// What one extraction gave.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Extracted {
    pub posts: Vec<PostInput>,
    /// What went wrong, in Chinese (recorded on the source).
    pub errors: Vec<String>,
}

fn china() -> FixedOffset {
    yuqing_core::china()
}

/// A link made absolute against `base` and put in canonical form (tracking parameters removed).
pub fn absolute_url(base: &str, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() || href.starts_with("javascript:") || href.starts_with("mailto:") || href.starts_with('#') {
        return None;
    }
    let joined = match reqwest::Url::parse(base) {
        Ok(b) => b.join(href).ok()?,
        Err(_) => reqwest::Url::parse(href).ok()?,
    };
    if !matches!(joined.scheme(), "http" | "https") {
        return None;
    }
    Some(canonical_url(joined.as_str()))
}

fn post_for(src: &Source) -> PostInput {
    PostInput { source: Some(src.name.clone()), tier: Some(src.tier), ..Default::default() }
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

// ------------------------------------------------------------------------------------------ feeds

/// Feeds are read in [`crate::feed`].
pub use crate::feed::feed;

// ------------------------------------------------------------------------------------------- HTML

/// Visible text with block elements on lines of their own, whitespace tidied (iterative: see
/// [`crate::html_text`]).
pub fn element_text(el: ElementRef<'_>) -> String {
    crate::html_text::element_text(el)
}

/// Text of an HTML fragment (feed content, summaries), parsed within the bounds of
/// [`crate::html_limit`].
pub fn html_to_text(html: &str) -> String {
    crate::html_text::html_to_text(html)
}

/// The item links of a list page, in page order, absolute and canonical, without repeats.
pub fn html_links(html: &str, base_url: &str, selector: &str) -> Result<Vec<String>, String> {
    let sel = Selector::parse(selector).map_err(|e| format!("CSS 选择器“{selector}”无效：{e}"))?;
    let a = Selector::parse("a[href]").map_err(|e| e.to_string())?;
    let doc = crate::html_limit::parse_document(html).map_err(|e| e.to_string())?;
    let mut out: Vec<String> = Vec::new();
    // A set beside the list: `out.contains` made a page of many distinct links quadratic.
    let mut seen: HashSet<String> = HashSet::new();
    for el in doc.select(&sel) {
        let href = el
            .value()
            .attr("href")
            .map(str::to_string)
            .or_else(|| el.select(&a).next().and_then(|x| x.value().attr("href")).map(str::to_string));
        if let Some(u) = href.and_then(|h| absolute_url(base_url, &h)) {
            if seen.insert(u.clone()) {
                out.push(u);
            }
        }
    }
    Ok(out)
}

fn select_text(doc: &Html, selector: &str) -> Option<String> {
    let sel = Selector::parse(selector).ok()?;
    let parts: Vec<String> = doc.select(&sel).map(element_text).filter(|t| !t.is_empty()).collect();
    non_empty(parts.join("\n"))
}

fn select_attr_or_text(doc: &Html, selector: &str, attrs: &[&str]) -> Option<String> {
    let sel = Selector::parse(selector).ok()?;
    let el = doc.select(&sel).next()?;
    attrs
        .iter()
        .find_map(|a| el.value().attr(a).map(str::to_string))
        .and_then(non_empty)
        .or_else(|| non_empty(element_text(el)))
}

/// A publication time in common Chinese page forms: RFC 3339, `2024-03-05 10:20(:30)`,
/// `2024/3/5 10:20`, `2024年3月5日 10:20`, `2024年03月05日`; read as China time unless it has a zone.
pub fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t);
    }
    find_time(s)
}

/// The first date (and time) found in free text.
pub fn find_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let chars: Vec<char> = text.chars().collect();
    for start in 0..chars.len() {
        if !(chars[start].is_ascii_digit() && (start == 0 || !chars[start - 1].is_ascii_digit())) {
            continue;
        }
        let mut nums: Vec<u32> = Vec::new();
        let mut i = start;
        let mut cur = String::new();
        while i < chars.len() && nums.len() < 6 {
            let c = chars[i];
            if c.is_ascii_digit() {
                cur.push(c);
            } else {
                if cur.is_empty() {
                    break;
                }
                let sep_ok = match nums.len() {
                    0 | 1 => matches!(c, '-' | '/' | '.' | '年' | '月'),
                    2 => matches!(c, ' ' | 'T' | '日' | '\u{3000}'),
                    3 | 4 => matches!(c, ':' | '时' | '分'),
                    _ => false,
                };
                nums.push(cur.parse().ok()?);
                cur.clear();
                if !sep_ok {
                    break;
                }
                if nums.len() == 3 && c == '日' {
                    // optional space after 日
                    if chars.get(i + 1).is_some_and(|c| *c == ' ' || *c == '\u{3000}') {
                        i += 1;
                    }
                }
            }
            i += 1;
        }
        if !cur.is_empty() && nums.len() < 6 {
            if let Ok(n) = cur.parse() {
                nums.push(n);
            }
        }
        if nums.len() >= 3 && (1990..=2100).contains(&nums[0]) {
            // Not a date (2024-13-45): look further on.
            let Some(date) = NaiveDate::from_ymd_opt(nums[0] as i32, nums[1], nums[2]) else { continue };
            let (h, m, sec) = match nums.len() {
                n if n >= 5 => (nums[3], nums[4], nums.get(5).copied().unwrap_or(0)),
                _ => (0, 0, 0),
            };
            let naive: NaiveDateTime = date.and_hms_opt(h, m, sec).or_else(|| date.and_hms_opt(0, 0, 0))?;
            return china().from_local_datetime(&naive).single();
        }
    }
    None
}

/// An article page → a post: each selector given is used; what is not given is found the way a
/// reader view would (see [`crate::article`]: title from a heading that agrees with `<title>`,
/// body by Readability with site furniture removed, time from metadata or beside the headline,
/// author from meta). The page is parsed within the bounds of [`crate::html_limit`]; a page
/// beyond them is refused with an error naming it.
pub fn article(html: &str, url: &str, sel: &HtmlSelectors, src: &Source) -> Result<PostInput, String> {
    let doc = crate::html_limit::parse_document(html).map_err(|e| format!("{url}：{e}"))?;
    let pick = |s: &str| if s.trim().is_empty() { None } else { select_text(&doc, s) };
    let title = pick(&sel.title);
    let body = pick(&sel.body);
    let time = if sel.time.trim().is_empty() {
        None
    } else {
        select_attr_or_text(&doc, &sel.time, &["datetime", "content"]).and_then(|t| parse_time(&t))
    };
    let author = pick(&sel.author);
    drop(doc);
    let found = if title.is_none() || body.is_none() || time.is_none() || author.is_none() {
        crate::article::extract(html, url).map_err(|e| format!("{url}：{e}"))?
    } else {
        crate::article::Article::default()
    };
    let title = title.or(found.title);
    let body = body.or(found.body);
    if title.is_none() && body.is_none() {
        return Err(format!("页面 {url} 中找不到标题和正文"));
    }
    let mut p = post_for(src);
    p.url = Some(canonical_url(url));
    p.title = title;
    p.text = body;
    p.author = author.or(found.author);
    p.published_at = time.or(found.published_at);
    Ok(p)
}

// ------------------------------------------------------------------------------------------- JSON

fn at<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        None
    } else {
        v.pointer(pointer)
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => non_empty(html_to_text(s)),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn as_count(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

fn as_time(v: &Value) -> Option<DateTime<FixedOffset>> {
    match v {
        Value::String(s) => parse_time(s),
        Value::Number(n) => {
            let n = n.as_i64()?;
            // Seconds or milliseconds since the epoch.
            let secs = if n > 100_000_000_000 { n / 1000 } else { n };
            Utc.timestamp_opt(secs, 0).single().map(|t| t.with_timezone(&china()))
        }
        _ => None,
    }
}

/// A JSON answer → posts, each field by its JSON pointer.
pub fn json_items(text: &str, base_url: &str, f: &JsonFields, src: &Source) -> Extracted {
    let mut out = Extracted::default();
    let root: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            out.errors.push(format!("JSON 无法解析（第 {} 行第 {} 列）：{e}", e.line(), e.column()));
            return out;
        }
    };
    let items = if f.items.is_empty() { Some(&root) } else { root.pointer(&f.items) };
    let Some(Value::Array(items)) = items else {
        out.errors.push(format!("JSON 中 {} 处不是数组", if f.items.is_empty() { "顶层" } else { &f.items }));
        return out;
    };
    for (i, item) in items.iter().enumerate() {
        let mut p = post_for(src);
        p.title = at(item, &f.title).and_then(as_text);
        p.text = at(item, &f.text).and_then(as_text);
        p.url = at(item, &f.url).and_then(|v| v.as_str()).and_then(|u| absolute_url(base_url, u));
        p.author = at(item, &f.author).and_then(as_text);
        p.place = at(item, &f.place).and_then(as_text);
        p.published_at = at(item, &f.published_at).and_then(as_time);
        p.metrics = Metrics {
            reads: as_count(at(item, &f.reads)),
            comments: as_count(at(item, &f.comments)),
            reposts: as_count(at(item, &f.reposts)),
            likes: as_count(at(item, &f.likes)),
        };
        if p.title.is_none() && p.text.is_none() {
            out.errors.push(format!("第 {} 个条目既无标题也无正文（{} / {}），已跳过", i + 1, f.title, f.text));
            continue;
        }
        out.posts.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceKind;

    fn src() -> Source {
        crate::source::parse_source_toml(
            "id = \"t\"\nname = \"测试站\"\nkind = \"feed\"\nurl = \"http://example.com/feed\"\ntier = \"Local\"\n",
        )
        .unwrap()
    }

    // Found with the fuzz target `html_text` (docs/FUZZING.md): a minute and more before the fix.
    #[test]
    fn a_list_page_of_many_distinct_links_is_read_in_linear_time() {
        let page: String = (0..100_000)
            .map(|i| format!("<a href=\"/n/{i:06}.html\">x</a><a href=\"/n/{i:06}.html#c\">y</a>"))
            .collect();
        let started = std::time::Instant::now();
        let links = html_links(&page, "http://example.com/", "a").unwrap();
        let took = started.elapsed();
        assert_eq!(links.len(), 100_000);
        assert_eq!(links[1], "http://example.com/n/000001.html");
        assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
    }

    #[test]
    fn rss_items_become_posts_with_canonical_urls() {
        let xml = r#"<?xml version="1.0" encoding="gbk"?><rss version="2.0"><channel><title>x</title>
            <item><title>医院排队</title><link>/a/1.html?utm_source=rss</link><description>&lt;p&gt;挂号排队&lt;/p&gt;&lt;p&gt;三个小时&lt;/p&gt;</description>
            <pubDate>Tue, 03 Mar 2026 10:00:00 +0800</pubDate><author>记者甲</author></item></channel></rss>"#;
        let e = feed(xml, "http://example.com/feed", &src());
        assert!(e.errors.is_empty(), "{:?}", e.errors);
        let p = &e.posts[0];
        assert_eq!(p.url.as_deref(), Some("http://example.com/a/1.html"));
        assert_eq!(p.text.as_deref(), Some("挂号排队\n三个小时"));
        assert_eq!(p.source.as_deref(), Some("测试站"));
        assert_eq!(p.tier, Some(yuqing_core::SourceTier::Local));
        assert_eq!(p.published_at.unwrap().to_rfc3339(), "2026-03-03T10:00:00+08:00");
    }

    #[test]
    fn a_broken_feed_keeps_the_items_that_parse() {
        let xml = "<rss version=\"2.0\"><channel><title>x</title>\
            <item><title>第一条</title><link>http://e.com/1</link></item>\
            <item><title>第二条 <b>坏</title><link>http://e.com/2</link></item>\
            <item><title>第三条</title><link>http://e.com/3</link></item>\
            <item><title>被截断的";
        let e = feed(xml, "http://e.com/", &src());
        let titles: Vec<_> = e.posts.iter().filter_map(|p| p.title.clone()).collect();
        assert_eq!(titles, vec!["第一条", "第三条"]);
        assert_eq!(e.errors.len(), 1);
        assert!(e.errors[0].contains("保留了 2 个"), "{:?}", e.errors);
    }

    #[test]
    fn json_pointer_mapping() {
        let mut s = src();
        s.kind = SourceKind::Json;
        let f = JsonFields {
            items: "/data/list".into(),
            title: "/t".into(),
            text: "/c/body".into(),
            url: "/u".into(),
            published_at: "/ts".into(),
            likes: "/n/like".into(),
            ..Default::default()
        };
        let j = r#"{"data":{"list":[{"t":"标题","c":{"body":"正文"},"u":"/x?id=1&spm=2","ts":1772503200,"n":{"like":"7"}},{"u":"/y"}]}}"#;
        let e = json_items(j, "http://api.e.com/v1/list", &f, &s);
        assert_eq!(e.posts.len(), 1);
        assert_eq!(e.posts[0].url.as_deref(), Some("http://api.e.com/x?id=1"));
        assert_eq!(e.posts[0].metrics.likes, 7);
        assert_eq!(e.posts[0].published_at.unwrap().to_rfc3339(), "2026-03-03T10:00:00+08:00");
        assert_eq!(e.errors.len(), 1);
        let bad = json_items("{\"data\":", "http://e", &f, &s);
        assert!(bad.posts.is_empty() && bad.errors[0].contains("第 1 行"));
    }

    #[test]
    fn times_in_page_forms() {
        let t = |s: &str| find_time(s).map(|t| t.to_rfc3339());
        assert_eq!(t("发布时间：2024年3月5日 10:20 来源：人民网"), Some("2024-03-05T10:20:00+08:00".into()));
        assert_eq!(t("2024-03-05 10:20:30"), Some("2024-03-05T10:20:30+08:00".into()));
        assert_eq!(t("2024/3/5"), Some("2024-03-05T00:00:00+08:00".into()));
        assert_eq!(t("阅读 12345 次"), None);
    }

    #[test]
    fn list_links_and_article_selectors() {
        let list = r#"<ul class="news"><li><a href="/n/1.html?from=list">一</a></li><li><a href="http://other.com/2">二</a></li><li><a href="/n/1.html">重复</a></li></ul><a href="/about">关于</a>"#;
        let links = html_links(list, "http://e.com/list/", "ul.news a").unwrap();
        assert_eq!(links, vec!["http://e.com/n/1.html", "http://other.com/2"]);
        let page = r#"<html><head><title>页面标题_某网</title></head><body><h1 class="t">医院排队三小时</h1>
            <div class="info"><span class="date">2024-03-05 10:20</span><span class="au">记者 张三</span></div>
            <div class="content"><p>市第一医院挂号排队三个小时。</p><p>收费窗口只开一个。</p></div></body></html>"#;
        let sel = HtmlSelectors {
            title: "h1.t".into(),
            time: "span.date".into(),
            body: "div.content".into(),
            author: "span.au".into(),
            ..Default::default()
        };
        let p = article(page, "http://e.com/n/1.html", &sel, &src()).unwrap();
        assert_eq!(p.title.as_deref(), Some("医院排队三小时"));
        assert_eq!(p.text.as_deref(), Some("市第一医院挂号排队三个小时。\n收费窗口只开一个。"));
        assert_eq!(p.author.as_deref(), Some("记者 张三"));
        assert_eq!(p.published_at.unwrap().to_rfc3339(), "2024-03-05T10:20:00+08:00");
    }
}
