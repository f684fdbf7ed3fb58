//! Extraction: decoded text of a feed, page or JSON answer → posts. Pure functions.
//!
//! Invariant: extraction never fails. A broken feed yields the items that parse plus errors; an
//! item without title and text is skipped with an error naming it.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use scraper::{ElementRef, Html, Node, Selector};
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
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
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

const BLOCKS: &[&str] = &[
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "section", "article", "blockquote", "pre", "header", "footer",
];
const SKIP: &[&str] = &["script", "style", "noscript", "iframe", "svg", "template", "head"];

fn walk_text(el: ElementRef<'_>, out: &mut String) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) => {
                let name = e.name();
                if SKIP.contains(&name) {
                    continue;
                }
                if let Some(c) = ElementRef::wrap(child) {
                    walk_text(c, out);
                }
                if BLOCKS.contains(&name) {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
}

/// Visible text with block elements on lines of their own, whitespace tidied.
pub fn element_text(el: ElementRef<'_>) -> String {
    let mut raw = String::new();
    walk_text(el, &mut raw);
    tidy(&raw)
}

fn tidy(raw: &str) -> String {
    raw.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}').to_string())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Text of an HTML fragment (feed content, summaries).
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return tidy(html);
    }
    let frag = Html::parse_fragment(html);
    element_text(frag.root_element())
}

/// The item links of a list page, in page order, absolute and canonical, without repeats.
pub fn html_links(html: &str, base_url: &str, selector: &str) -> Result<Vec<String>, String> {
    let sel = Selector::parse(selector).map_err(|e| format!("CSS 选择器“{selector}”无效：{e}"))?;
    let a = Selector::parse("a[href]").map_err(|e| e.to_string())?;
    let doc = Html::parse_document(html);
    let mut out: Vec<String> = Vec::new();
    for el in doc.select(&sel) {
        let href = el.value().attr("href").map(str::to_string).or_else(|| el.select(&a).next().and_then(|x| x.value().attr("href")).map(str::to_string));
        if let Some(u) = href.and_then(|h| absolute_url(base_url, &h)) {
            if !out.contains(&u) {
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
    attrs.iter().find_map(|a| el.value().attr(a).map(str::to_string)).and_then(non_empty).or_else(|| non_empty(element_text(el)))
}

fn meta(doc: &Html, keys: &[&str]) -> Option<String> {
    let sel = Selector::parse("meta").ok()?;
    for key in keys {
        for m in doc.select(&sel) {
            let v = m.value();
            let k = v.attr("property").or(v.attr("name")).or(v.attr("itemprop")).unwrap_or("");
            if k.eq_ignore_ascii_case(key) {
                if let Some(c) = v.attr("content").map(str::to_string).and_then(non_empty) {
                    return Some(c);
                }
            }
        }
    }
    None
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
            let date = NaiveDate::from_ymd_opt(nums[0] as i32, nums[1], nums[2])?;
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

/// Readability-style main text: the element whose direct paragraphs hold the most text, with few
/// links in it.
fn main_text(doc: &Html) -> Option<String> {
    let p = Selector::parse("p").ok()?;
    let a = Selector::parse("a").ok()?;
    let mut scores: Vec<(ego_id::Id, f64)> = Vec::new();
    for para in doc.select(&p) {
        let t = element_text(para);
        let len = t.chars().filter(|c| !c.is_whitespace()).count();
        if len < 10 {
            continue;
        }
        let score = 1.0 + len as f64 / 50.0 + t.matches(['，', '。', ',']).count() as f64;
        let mut weight = 1.0;
        let mut node = para.parent();
        for _ in 0..2 {
            let Some(n) = node else { break };
            if ElementRef::wrap(n).is_none() {
                break;
            }
            let id = ego_id::of(n);
            match scores.iter_mut().find(|(i, _)| *i == id) {
                Some(s) => s.1 += score * weight,
                None => scores.push((id, score * weight)),
            }
            weight /= 2.0;
            node = n.parent();
        }
    }
    let mut best: Option<(ElementRef<'_>, f64)> = None;
    for (id, score) in &scores {
        let Some(el) = doc.tree.get(id.0).and_then(ElementRef::wrap) else { continue };
        let text = element_text(el);
        let total = text.chars().count().max(1) as f64;
        let linked: usize = el.select(&a).map(|x| element_text(x).chars().count()).sum();
        let adjusted = score * (1.0 - (linked as f64 / total).min(1.0));
        if best.as_ref().is_none_or(|(_, s)| adjusted > *s) {
            best = Some((el, adjusted));
        }
    }
    let (el, _) = best?;
    // The paragraphs of the best element (skipping navigation lists and scripts within it).
    let paras: Vec<String> = el.select(&p).map(element_text).filter(|t| !t.is_empty()).collect();
    if paras.is_empty() {
        non_empty(element_text(el))
    } else {
        non_empty(paras.join("\n"))
    }
}

/// Node ids of the parsed tree, comparable.
mod ego_id {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Id(pub ego_tree::NodeId);
    pub fn of(n: ego_tree::NodeRef<'_, scraper::Node>) -> Id {
        Id(n.id())
    }
}

/// An article page → a post: each selector given is used; what is not given is found the way a
/// reader view would (title from `og:title`/`<title>`, time from meta tags, `<time>` or the first
/// date in the page, author from meta, body from the densest block of paragraphs).
pub fn article(html: &str, url: &str, sel: &HtmlSelectors, src: &Source) -> Result<PostInput, String> {
    let doc = Html::parse_document(html);
    let pick = |s: &str| if s.trim().is_empty() { None } else { select_text(&doc, s) };
    let title = pick(&sel.title)
        .or_else(|| meta(&doc, &["og:title"]))
        .or_else(|| select_text(&doc, "title"))
        .or_else(|| select_text(&doc, "h1"));
    let body = pick(&sel.body).or_else(|| main_text(&doc));
    let time = if sel.time.trim().is_empty() {
        None
    } else {
        select_attr_or_text(&doc, &sel.time, &["datetime", "content"]).and_then(|t| parse_time(&t))
    }
    .or_else(|| meta(&doc, &["article:published_time", "pubdate", "publishdate", "datePublished", "og:release_date"]).and_then(|t| parse_time(&t)))
    .or_else(|| select_attr_or_text(&doc, "time", &["datetime"]).and_then(|t| parse_time(&t)))
    .or_else(|| {
        // The first date near the top of the visible text (bylines come before the article).
        let sel = Selector::parse("body").ok()?;
        let text: String = doc.select(&sel).next().map(element_text)?.chars().take(3000).collect();
        find_time(&text)
    });
    let author = pick(&sel.author).or_else(|| meta(&doc, &["author", "article:author"]));
    if title.is_none() && body.is_none() {
        return Err(format!("页面 {url} 中找不到标题和正文"));
    }
    let mut p = post_for(src);
    p.url = Some(canonical_url(url));
    p.title = title;
    p.text = body;
    p.author = author;
    p.published_at = time;
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
        crate::source::parse_source_toml("id = \"t\"\nname = \"测试站\"\nkind = \"feed\"\nurl = \"http://example.com/feed\"\ntier = \"Local\"\n").unwrap()
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
        let f = JsonFields { items: "/data/list".into(), title: "/t".into(), text: "/c/body".into(), url: "/u".into(), published_at: "/ts".into(), likes: "/n/like".into(), ..Default::default() };
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
        let sel = HtmlSelectors { title: "h1.t".into(), time: "span.date".into(), body: "div.content".into(), author: "span.au".into(), ..Default::default() };
        let p = article(page, "http://e.com/n/1.html", &sel, &src()).unwrap();
        assert_eq!(p.title.as_deref(), Some("医院排队三小时"));
        assert_eq!(p.text.as_deref(), Some("市第一医院挂号排队三个小时。\n收费窗口只开一个。"));
        assert_eq!(p.author.as_deref(), Some("记者 张三"));
        assert_eq!(p.published_at.unwrap().to_rfc3339(), "2024-03-05T10:20:00+08:00");
    }
}
