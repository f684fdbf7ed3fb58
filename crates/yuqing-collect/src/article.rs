//! Article pages without selectors: title, body, publication time and author, the way a reader
//! view finds them, with the habits of Chinese news and government sites taken into account.
//!
//! - **Body**: the Mozilla Readability algorithm (the `dom_smoothie` port) on the page after
//!   [`crate::html_limit::flatten`], then lines that are site furniture (备案号, 公网安备, 版权所有,
//!   主办单位, 联系我们 …) are cut from its ends. If Readability finds nothing, the densest block
//!   of text (paragraphs or `<br>`-separated text) is taken.
//! - **Title**: a heading (`<h1>`, then `<h2>` and title-like blocks) that agrees with `<title>`
//!   (equal, or `<title>` is the heading plus a site suffix after `_ - | — ·`) wins over
//!   `og:title` (which CMSs cut at an embedded quote); otherwise `<title>` without its site suffix.
//!   Pages not in Chinese, Japanese or Korean keep Readability's title.
//! - **Time**: publication metadata (`article:published_time`, `publishdate`, `PubDate`, JSON-LD
//!   `datePublished` …), then a date just under the headline (发布时间：…), then a labelled date
//!   anywhere, then the first date after the headline; never a date inside a link (上一篇…,
//!   sidebars) when another is available.
//!
//! Every walk is iterative and the page is parsed within the bounds of [`crate::html_limit`].

use chrono::{DateTime, FixedOffset};
use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node, Selector};

use crate::extract::{find_time, parse_time};
use crate::html_limit::{self, TooComplex};
use crate::html_text::{element_text, tidy};

/// What was found on an article page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Article {
    pub title: Option<String>,
    pub body: Option<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub author: Option<String>,
}

/// Title, body, time and author of an article page.
pub fn extract(html: &str, url: &str) -> Result<Article, TooComplex> {
    let flat = html_limit::flatten(html);
    let doc = html_limit::parse_flat(&flat.html)?;
    let cjk = title::page_is_cjk(&doc);
    let cjk_title = if cjk { title::pick(&doc, None) } else { None };
    let port = readability_port(&flat.html, url, cjk.then(|| cjk_title.as_deref().unwrap_or("")));
    let lines = Lines::of(&doc);
    let title = if cjk { cjk_title } else { title::pick(&doc, port.as_ref().map(|a| a.title.as_str())) };
    let heading_line = title.as_ref().and_then(|t| lines.heading_line(t));
    let body = port
        .as_ref()
        .and_then(|a| non_empty(crate::html_text::html_to_text(&a.content)))
        .map(|b| trim_furniture(&b))
        .map(|b| without_headline(&b, title.as_deref()))
        .and_then(non_empty)
        .or_else(|| densest_block(&doc));
    let published_at = dates::pick(&doc, &lines, heading_line, port.as_ref().and_then(|a| a.published_time.as_deref()));
    let author = meta(&doc, &["author", "article:author"])
        .or_else(|| port.as_ref().and_then(|a| a.byline.clone()).and_then(non_empty));
    Ok(Article { title, body, published_at, author })
}

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Readability's threshold of an article's length (500 characters) is one of English text; the
/// same news in Chinese takes far fewer characters. Below it Readability retries with its
/// safeguards off and keeps the longest result, which on a short Chinese article is the whole
/// column with its headline, info line, tables and link lists.
const CJK_CHAR_THRESHOLD: usize = 150;

/// Readability (dom_smoothie) on markup already flattened by [`html_limit::flatten`]; on Chinese
/// pages, after the blocks that are never the article are removed (see [`drop_cjk_furniture`]).
fn readability_port(flat_html: &str, url: &str, cjk: Option<&str>) -> Option<dom_smoothie::Article> {
    let mut cfg = dom_smoothie::Config { max_elements_to_parse: html_limit::MAX_NODES, ..Default::default() };
    let doc = dom_query::Document::from(flat_html);
    if let Some(headline) = cjk {
        cfg.char_threshold = CJK_CHAR_THRESHOLD;
        drop_cjk_furniture(&doc, headline);
    }
    let url = reqwest::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https")).map(|u| u.to_string());
    let mut r = dom_smoothie::Readability::with_document(doc, url.as_deref(), Some(cfg)).ok()?;
    r.parse().ok()
}

/// Words of class names and ids of blocks that are not the article on Chinese sites: sidebars
/// and hot lists (热搜, 排行), related and recommended links, breadcrumbs (当前位置), sharing and
/// printing tools, comments, navigation, footers. A word matches a class word that starts with it.
const CJK_NOT_ARTICLE: &[&str] = &[
    "hot",
    "rank",
    "paihang",
    "phb",
    "side",
    "aside",
    "tuijian",
    "recommend",
    "related",
    "relate",
    "xgxw",
    "xgwz",
    "xglj",
    "xgyd",
    "share",
    "fenxiang",
    "bdshare",
    "crumb",
    "breadcrumb",
    "position",
    "location",
    "dqwz",
    "weizhi",
    "footer",
    "foot",
    "bottom",
    "copyright",
    "banquan",
    "nav",
    "menu",
    "toolbar",
    "print",
    "dayin",
    "comment",
    "pinglun",
    "prenext",
    "prev",
    "next",
    "sxp",
    "login",
    "search",
    "qrcode",
    "ewm",
    "erweima",
    "advert",
    "guanggao",
];
/// Class words that mark the article (a weak signal: they only keep a block from removal).
const CJK_ARTICLE: &[&str] =
    &["article", "content", "txt", "text", "zoom", "trs", "detail", "zw", "zhengwen", "main", "body", "con"];
/// Labels of a byline or info line (来源、发布时间 …), not article text.
const INFO_LABELS: &[&str] = &[
    "来源",
    "发布时间",
    "发布日期",
    "发表时间",
    "作者",
    "记者",
    "编辑",
    "浏览",
    "点击",
    "阅读",
    "字号",
    "日期：",
    "时间：",
    "【打印】",
    "分享到",
];

fn class_words(node: &dom_query::NodeRef<'_>) -> Vec<String> {
    let mut words = Vec::new();
    for a in ["class", "id"] {
        if let Some(v) = node.attr(a) {
            words.extend(
                v.to_ascii_lowercase()
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|w| !w.is_empty())
                    .map(str::to_string),
            );
        }
    }
    words
}

/// Removes, on a Chinese page, the blocks that Readability would otherwise take into the article
/// or pick instead of it: blocks named like sidebars, hot lists, related links, breadcrumbs and
/// footers; short blocks of site furniture (备案号, 版权所有 …); the byline/info line (来源、发布时间);
/// the 索引号 table of government information disclosure. The block holding the headline is kept.
fn drop_cjk_furniture(doc: &dom_query::Document, headline: &str) {
    let head = squash(headline);
    let nodes: Vec<_> = doc.root().descendants_it().filter(|n| n.is_element()).collect();
    for n in nodes {
        let Some(name) = n.node_name() else { continue };
        if matches!(&*name, "html" | "body" | "head" | "title" | "meta" | "script" | "style" | "h1") {
            continue;
        }
        let words = class_words(&n);
        let named_out = words.iter().any(|w| CJK_NOT_ARTICLE.iter().any(|x| w.starts_with(x)));
        let named_article =
            words.iter().any(|w| CJK_ARTICLE.iter().any(|x| w.starts_with(x)) && !w.starts_with("contact"));
        let text = n.text();
        let flat = squash(&text);
        if !head.is_empty() && flat.contains(&head) {
            // The headline's block (or a column around it): only its parts are judged.
            continue;
        }
        let len = flat.chars().count();
        let remove = (named_out && !named_article)
            || (len <= 200 && is_furniture(&text))
            || (len <= 400
                && flat.contains("索引号")
                && ["发文机关", "成文日期", "发布日期", "文号", "主题分类"]
                    .iter()
                    .filter(|w| flat.contains(*w))
                    .count()
                    >= 2)
            || (len <= 60
                && (flat.starts_with("当前位置") || flat.starts_with("您现在的位置") || flat.starts_with("您的位置")))
            || (len <= 100
                && !flat.contains('。')
                && find_time(&tidy(&text)).is_some()
                && INFO_LABELS.iter().any(|l| flat.contains(l)));
        if remove {
            n.remove_from_parent();
        }
    }
}

// ------------------------------------------------------------------------------- site furniture

/// Phrases that mark a line as site furniture rather than article text.
const FURNITURE: &[&str] = &[
    "公网安备",
    "ICP备",
    "ICP证",
    "备案号",
    "版权所有",
    "主办单位",
    "承办单位",
    "主办：",
    "承办：",
    "联系我们",
    "网站地图",
    "网站标识码",
    "Copyright",
    "copyright",
    "All Rights Reserved",
    "All rights reserved",
    "未经授权不得转载",
    "禁止转载",
    "违者必究",
    "互联网新闻信息服务许可证",
    "增值电信业务经营许可证",
    "举报电话",
    "建议使用",
    "分辨率",
    "免责声明",
];

fn is_furniture(line: &str) -> bool {
    let hits = FURNITURE.iter().filter(|p| line.contains(*p)).count();
    let len = line.chars().count();
    hits >= 2 || (hits == 1 && len <= 60)
}

/// The body without furniture lines at its start or end.
fn trim_furniture(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut start = 0;
    let mut end = lines.len();
    while start < end && is_furniture(lines[start]) {
        start += 1;
    }
    while end > start && is_furniture(lines[end - 1]) {
        end -= 1;
    }
    lines[start..end].join("\n")
}

/// The body without a first line that repeats the headline (Readability drops a repeated
/// `<h1>`/`<h2>`, not a title written in a `<div>`).
fn without_headline(body: &str, title: Option<&str>) -> String {
    let Some(t) = title.map(squash).filter(|t| !t.is_empty()) else { return body.to_string() };
    match body.split_once('\n') {
        Some((first, rest)) if squash(first) == t => rest.to_string(),
        _ => body.to_string(),
    }
}

// ------------------------------------------------------------------------------ fallback body

/// The block whose own text (paragraphs or `<br>`-separated lines, not in links) is largest and
/// punctuated like prose; used when Readability finds nothing.
fn densest_block(doc: &Html) -> Option<String> {
    let mut best: Option<(f64, ElementRef<'_>)> = None;
    for node in doc.tree.root().descendants() {
        let Some(el) = ElementRef::wrap(node) else { continue };
        if !matches!(el.value().name(), "div" | "td" | "article" | "section" | "main" | "font" | "span") {
            continue;
        }
        // Text of direct children: text nodes and inline/paragraph elements.
        let mut own = 0usize;
        let mut linked = 0usize;
        let mut punct = 0usize;
        for child in el.children() {
            let t: String = match child.value() {
                Node::Text(t) => t.to_string(),
                Node::Element(e) if matches!(e.name(), "p" | "span" | "font" | "b" | "strong" | "em" | "i" | "a") => {
                    let ce = ElementRef::wrap(child).map(element_text).unwrap_or_default();
                    if e.name() == "a" {
                        linked += ce.chars().count();
                    }
                    ce
                }
                _ => continue,
            };
            own += t.chars().filter(|c| !c.is_whitespace()).count();
            punct += t.matches(['，', '。', '、', '；', ',', '.']).count();
        }
        if own < 20 {
            continue;
        }
        let score = (own.saturating_sub(linked)) as f64 * (1.0 + punct as f64 / 10.0).ln().max(0.1);
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, el));
        }
    }
    let (_, el) = best?;
    non_empty(trim_furniture(&element_text(el)))
}

// ------------------------------------------------------------------------------------ metadata

/// The `content` of the first `<meta>` whose property/name/itemprop is one of `keys` (in order of
/// `keys`, case-insensitive).
pub(crate) fn meta(doc: &Html, keys: &[&str]) -> Option<String> {
    let sel = Selector::parse("meta").ok()?;
    let metas: Vec<_> = doc.select(&sel).collect();
    for key in keys {
        for m in &metas {
            let v = m.value();
            for k in [v.attr("property"), v.attr("name"), v.attr("itemprop")].into_iter().flatten() {
                if k.split_whitespace().any(|k| k.eq_ignore_ascii_case(key)) {
                    if let Some(c) = v.attr("content").map(tidy).and_then(non_empty) {
                        return Some(c);
                    }
                }
            }
        }
    }
    None
}

/// Whether a JSON-LD object describes an article (`Article`, `NewsArticle`, `BlogPosting`,
/// `Report` …), as Readability requires, rather than a video, a site or a data set on the page.
fn is_article_type(o: &serde_json::Map<String, serde_json::Value>) -> bool {
    let is = |t: &str| t.ends_with("Article") || t.ends_with("Posting") || matches!(t, "Report" | "APIReference");
    match o.get("@type") {
        Some(serde_json::Value::String(t)) => is(t),
        Some(serde_json::Value::Array(a)) => a.iter().any(|t| t.as_str().is_some_and(is)),
        _ => false,
    }
}

/// Values of `key` in the page's JSON-LD blocks (objects, arrays and `@graph`), those of
/// article objects first. A block may be wrapped in `<![CDATA[ … ]]>` (as Readability allows).
fn json_ld(doc: &Html, key: &str) -> Vec<String> {
    let Ok(sel) = Selector::parse("script[type=\"application/ld+json\"]") else { return Vec::new() };
    let mut articles = Vec::new();
    let mut out = Vec::new();
    for s in doc.select(&sel) {
        let text: String = s.text().collect();
        let text = text.trim();
        let text = text.strip_prefix("<![CDATA[").map_or(text, |t| t.trim_end().strip_suffix("]]>").unwrap_or(t));
        let Ok(v) = serde_json::from_str::<serde_json::Value>(text.trim()) else { continue };
        // Iterative walk over the JSON (bounded by serde_json's own nesting limit).
        let mut todo = vec![&v];
        while let Some(v) = todo.pop() {
            match v {
                serde_json::Value::Array(a) => todo.extend(a.iter().rev()),
                serde_json::Value::Object(o) => {
                    if let Some(serde_json::Value::String(s)) = o.get(key) {
                        if is_article_type(o) {
                            articles.push(s.clone());
                        } else {
                            out.push(s.clone());
                        }
                    }
                    if let Some(g) = o.get("@graph") {
                        todo.push(g);
                    }
                }
                _ => {}
            }
        }
    }
    articles.extend(out);
    articles
}

// --------------------------------------------------------------------------------------- lines

/// The visible text of a page as lines (block elements end lines), with what each line is.
struct Lines {
    lines: Vec<Line>,
}

#[derive(Debug, Default)]
struct Line {
    text: String,
    /// Characters inside links.
    linked: usize,
    /// Characters in `<h1>`–`<h3>` or a title-like element.
    heading: usize,
}

const LINE_BREAKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "td",
    "th",
    "table",
    "section",
    "article",
    "blockquote",
    "pre",
    "header",
    "footer",
    "dd",
    "dt",
    "dl",
    "aside",
    "nav",
    "main",
    "form",
    "center",
    "address",
    "hr",
    "figcaption",
    "title",
];
const NOT_SHOWN: &[&str] =
    &["script", "style", "noscript", "iframe", "svg", "template", "head", "textarea", "select", "option", "button"];

impl Lines {
    fn of(doc: &Html) -> Lines {
        let mut lines = vec![Line::default()];
        let mut skipping = 0usize;
        let mut in_link = 0usize;
        let mut in_heading = 0usize;
        let Some(body) =
            doc.tree.root().descendants().find(|n| n.value().as_element().is_some_and(|e| e.name() == "body"))
        else {
            return Lines { lines: Vec::new() };
        };
        for edge in body.traverse() {
            match edge {
                Edge::Open(n) => match n.value() {
                    Node::Text(t) if skipping == 0 => {
                        let Some(cur) = lines.last_mut() else { continue };
                        let chars = t.chars().filter(|c| !c.is_whitespace()).count();
                        cur.text.push_str(t);
                        if in_link > 0 {
                            cur.linked += chars;
                        }
                        if in_heading > 0 {
                            cur.heading += chars;
                        }
                    }
                    Node::Element(e) => {
                        if skipping > 0 || NOT_SHOWN.contains(&e.name()) {
                            skipping += 1;
                        } else {
                            if e.name() == "a" {
                                in_link += 1;
                            }
                            if is_heading(e) {
                                in_heading += 1;
                            }
                            if LINE_BREAKS.contains(&e.name()) {
                                lines.push(Line::default());
                            }
                        }
                    }
                    _ => {}
                },
                Edge::Close(n) => {
                    if let Node::Element(e) = n.value() {
                        if skipping > 0 {
                            skipping -= 1;
                        } else {
                            if e.name() == "a" {
                                in_link = in_link.saturating_sub(1);
                            }
                            if is_heading(e) {
                                in_heading = in_heading.saturating_sub(1);
                            }
                            if LINE_BREAKS.contains(&e.name()) {
                                lines.push(Line::default());
                            }
                        }
                    }
                }
            }
        }
        for l in &mut lines {
            l.text = tidy(&l.text).replace('\n', " ");
        }
        lines.retain(|l| !l.text.is_empty());
        Lines { lines }
    }

    /// The line that shows the headline `title`.
    fn heading_line(&self, title: &str) -> Option<usize> {
        let want = squash(title);
        if want.is_empty() {
            return None;
        }
        let pos = |strict: bool| {
            self.lines.iter().position(|l| {
                let got = squash(&l.text);
                (!strict || l.heading > 0)
                    && (got == want || (got.contains(&want) && got.chars().count() <= want.chars().count() + 10))
            })
        };
        pos(true).or_else(|| pos(false))
    }
}

fn is_heading(e: &scraper::node::Element) -> bool {
    matches!(e.name(), "h1" | "h2" | "h3") || title::is_title_like(e)
}

/// Text without whitespace, for comparisons.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && *c != '\u{3000}').collect()
}

// --------------------------------------------------------------------------------------- title

mod title {
    use super::*;

    const SEPARATORS: &[&str] =
        &["_", "｜", "|", " - ", " – ", " — ", "--", "——", "-", "—", "·", "::", " :: ", "»", "＿"];

    /// An element whose class or id says it holds the title (`news_title`, `art-title`, `tit` …).
    pub(super) fn is_title_like(e: &scraper::node::Element) -> bool {
        if !matches!(e.name(), "div" | "p" | "span" | "td" | "strong" | "b" | "font" | "h4" | "h5") {
            return false;
        }
        let attrs = [e.attr("class").unwrap_or(""), e.attr("id").unwrap_or("")];
        attrs.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            (a.contains("title")
                || a.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == "tit" || w == "bt" || w == "biaoti"))
                && !a.contains("subtitle")
                && !a.contains("sub-title")
                && !a.contains("list")
        })
    }

    /// Whether the page is written in Chinese (or Japanese, Korean): its `<html lang>`, else its
    /// `<title>`.
    pub(super) fn page_is_cjk(doc: &Html) -> bool {
        let lang = doc.root_element().value().attr("lang").unwrap_or("").to_ascii_lowercase();
        if ["zh", "ja", "ko"].iter().any(|l| lang.starts_with(l)) {
            return true;
        }
        let title = Selector::parse("title")
            .ok()
            .and_then(|s| doc.select(&s).next())
            .map(|t| t.text().collect::<String>())
            .unwrap_or_default();
        let (cjk, all) = title
            .chars()
            .filter(|c| c.is_alphanumeric())
            .fold((0, 0), |(c, a), ch| (c + usize::from(has_cjk(&ch.to_string())), a + 1));
        all > 0 && cjk * 2 >= all
    }

    pub(super) fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF))
    }

    fn norm(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// `<title>` split at site separators, in order.
    fn segments(title: &str) -> Vec<String> {
        let mut parts = vec![title.to_string()];
        for sep in SEPARATORS {
            parts = parts.iter().flat_map(|p| p.split(sep).map(str::to_string).collect::<Vec<_>>()).collect();
        }
        parts.into_iter().map(|p| norm(&p)).filter(|p| !p.is_empty()).collect()
    }

    /// Whether `title` is `head` followed by a site suffix (or is `head`).
    fn title_agrees(title: &str, head: &str) -> bool {
        let (t, h) = (squash(title), squash(head));
        if h.chars().count() < 4 {
            return false;
        }
        if t == h {
            return true;
        }
        if let Some(rest) = t.strip_prefix(&h) {
            return SEPARATORS.iter().any(|s| rest.starts_with(s.trim()))
                || rest.starts_with(['-', '—', '–', '_', '|', '｜', '·', '(', '（', '[', '【']);
        }
        if let Some(rest) = t.strip_suffix(&h) {
            return SEPARATORS.iter().any(|s| rest.ends_with(s.trim()));
        }
        false
    }

    /// Headings in document order: `h1`, then `h2`/`h3` and title-like blocks.
    fn headings(doc: &Html) -> Vec<(u8, String)> {
        let mut out = Vec::new();
        for node in doc.tree.root().descendants() {
            let Some(el) = ElementRef::wrap(node) else { continue };
            let rank = match el.value().name() {
                "h1" => 1,
                "h2" => 2,
                "h3" => 3,
                _ if is_title_like(el.value()) => 2,
                _ => continue,
            };
            let t = norm(&element_text(el).replace('\n', " "));
            let n = t.chars().count();
            if (4..=200).contains(&n) {
                out.push((rank, t));
            }
        }
        out
    }

    /// The `<title>` without a site suffix (or prefix): the longest segment when it is clearly
    /// the headline, else the first.
    fn strip_site(title: &str) -> String {
        let segs = segments(title);
        if segs.len() <= 1 {
            return norm(title);
        }
        let first = &segs[0];
        let longest = segs.iter().max_by_key(|s| s.chars().count()).unwrap_or(first);
        if first.chars().count() >= 6 || first == longest {
            first.clone()
        } else {
            longest.clone()
        }
    }

    pub(super) fn pick(doc: &Html, port_title: Option<&str>) -> Option<String> {
        let page_title = Selector::parse("title")
            .ok()
            .and_then(|s| doc.select(&s).next())
            .map(|t| norm(&t.text().collect::<String>()))
            .filter(|t| !t.is_empty());
        let metas = [
            meta(doc, &["og:title", "twitter:title", "ArticleTitle", "dc.title", "headline"]),
            json_ld(doc, "headline").into_iter().next(),
        ];
        // The habits below are those of Chinese (and Japanese, Korean) sites: decided by the
        // language of the headline part of <title> (its first segment), else of the metadata.
        let any_cjk = match &page_title {
            Some(t) => segments(t).first().is_some_and(|s| has_cjk(s)),
            None => metas.iter().flatten().any(|m| has_cjk(m)),
        };
        if !any_cjk {
            return port_title
                .map(norm)
                .filter(|t| !t.is_empty())
                .or(page_title)
                .or_else(|| metas.into_iter().flatten().next());
        }
        let heads = headings(doc);
        // 1. A heading that agrees with <title> (or with a metadata title).
        for rank in 1..=3 {
            for (r, h) in heads.iter().filter(|(r, _)| *r == rank) {
                let _ = r;
                if page_title.as_deref().is_some_and(|t| title_agrees(t, h))
                    || metas.iter().flatten().any(|m| title_agrees(m, h))
                {
                    return Some(h.clone());
                }
            }
        }
        // 2. A metadata title that is not cut short: agrees with <title>, and no heading extends it.
        for m in metas.iter().flatten() {
            let extended =
                heads.iter().any(|(_, h)| squash(h).starts_with(&squash(m)) && squash(h).len() > squash(m).len());
            if !extended && page_title.as_deref().is_none_or(|t| title_agrees(t, m)) && m.chars().count() >= 4 {
                return Some(norm(m));
            }
            if extended {
                if let Some((_, h)) = heads.iter().find(|(_, h)| squash(h).starts_with(&squash(m))) {
                    return Some(h.clone());
                }
            }
        }
        // 3. <title> without the site's name.
        if let Some(t) = &page_title {
            return Some(strip_site(t));
        }
        metas.into_iter().flatten().next().or_else(|| heads.into_iter().next().map(|(_, h)| h))
    }
}

// --------------------------------------------------------------------------------------- dates

mod dates {
    use super::*;

    const META_KEYS: &[&str] = &[
        "article:published_time",
        "og:release_date",
        "publishdate",
        "PubDate",
        "pubdate",
        "publish_date",
        "publish-date",
        "publishtime",
        "datePublished",
        "dc.date.issued",
        "dc.date",
        "dcterms.created",
        "dcterms.date",
        "parsely-pub-date",
        "sailthru.date",
        "weibo:article:create_at",
        "firstpublishedtime",
        "article:published",
        "bt:pubDate",
    ];
    /// Labels that introduce a publication date.
    const LABELS: &[&str] = &[
        "发布时间",
        "发布日期",
        "发表时间",
        "发表日期",
        "发稿时间",
        "时间：",
        "时间:",
        "日期：",
        "日期:",
        "发布于",
        "发表于",
        "更新时间",
        "Published",
        "published",
    ];
    /// Lines that lead elsewhere.
    const ELSEWHERE: &[&str] = &["上一篇", "下一篇", "上一条", "下一条", "相关", "推荐", "热门", "延伸阅读"];

    /// A date written like Xinhua's `2024 03/18 09:12:40` (year, then month/day, maybe split by
    /// spaces anywhere).
    fn spaced_year(text: &str) -> Option<DateTime<FixedOffset>> {
        let t: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        let digits = |r: std::ops::Range<usize>| t.get(r.clone()).is_some_and(|s| s.iter().all(char::is_ascii_digit));
        for i in 0..t.len() {
            if (i > 0 && t[i - 1].is_ascii_digit())
                || !digits(i..i + 6)
                || t.get(i + 6) != Some(&'/')
                || !digits(i + 7..i + 9)
            {
                continue;
            }
            let part =
                |r: std::ops::Range<usize>| t[r.start.min(t.len())..r.end.min(t.len())].iter().collect::<String>();
            let mut rebuilt = format!("{}-{}-{}", part(i..i + 4), part(i + 4..i + 6), part(i + 7..i + 9));
            if digits(i + 9..i + 11) && t.get(i + 11) == Some(&':') && digits(i + 12..i + 14) {
                rebuilt.push(' ');
                rebuilt.push_str(&part(i + 9..i + 17));
            }
            if let Some(t) = find_time(&rebuilt) {
                return Some(t);
            }
        }
        None
    }

    fn date_in(text: &str) -> Option<DateTime<FixedOffset>> {
        find_time(text).or_else(|| spaced_year(text))
    }

    /// The date that follows a publication label in `text`.
    fn labelled(text: &str) -> Option<DateTime<FixedOffset>> {
        LABELS
            .iter()
            .filter_map(|l| text.find(l).map(|i| &text[i + l.len()..]))
            .find_map(|rest| date_in(&rest.chars().take(40).collect::<String>()))
    }

    fn leads_elsewhere(l: &Line) -> bool {
        let n = l.text.chars().filter(|c| !c.is_whitespace()).count().max(1);
        l.linked * 2 > n || ELSEWHERE.iter().any(|e| l.text.starts_with(e))
    }

    pub(super) fn pick(
        doc: &Html,
        lines: &Lines,
        heading: Option<usize>,
        port_time: Option<&str>,
    ) -> Option<DateTime<FixedOffset>> {
        // 1. Publication metadata (JSON-LD first, as Readability does).
        if let Some(t) = json_ld(doc, "datePublished").iter().find_map(|t| parse_time(t)) {
            return Some(t);
        }
        if let Some(t) = meta(doc, META_KEYS).and_then(|t| parse_time(&t)) {
            return Some(t);
        }
        if let Some(t) = Selector::parse("[itemprop=datePublished], time[pubdate], time[datetime]").ok().and_then(|s| {
            doc.select(&s).find_map(|e| {
                e.value()
                    .attr("datetime")
                    .or(e.value().attr("content"))
                    .and_then(parse_time)
                    .or_else(|| parse_time(&element_text(e)))
            })
        }) {
            return Some(t);
        }
        let ls = &lines.lines;
        // 2. Just under (or beside) the headline: the lines after it, before the body gets long.
        if let Some(h) = heading {
            let near = (h..ls.len().min(h + 8)).filter(|i| !leads_elsewhere(&ls[*i]));
            let near: Vec<usize> = near.collect();
            if let Some(t) = near.iter().find_map(|i| labelled(&ls[*i].text)) {
                return Some(t);
            }
            if let Some(t) =
                near.iter().filter(|i| ls[**i].text.chars().count() <= 120).find_map(|i| date_in(&ls[*i].text))
            {
                return Some(t);
            }
            // Just above it (some sites put the date line first).
            if let Some(t) =
                (h.saturating_sub(3)..h).rev().filter(|i| !leads_elsewhere(&ls[*i])).find_map(|i| labelled(&ls[i].text))
            {
                return Some(t);
            }
        }
        // 3. A labelled date anywhere, not in a link.
        if let Some(t) = ls.iter().filter(|l| !leads_elsewhere(l)).find_map(|l| labelled(&l.text)) {
            return Some(t);
        }
        // 4. What Readability read from the page.
        if let Some(t) = port_time.and_then(parse_time) {
            return Some(t);
        }
        // 5. The first date after the headline, then anywhere; not in links.
        let from = heading.unwrap_or(0);
        ls[from.min(ls.len())..]
            .iter()
            .chain(ls.iter())
            .filter(|l| !leads_elsewhere(l) && l.text.chars().count() <= 200)
            .find_map(|l| date_in(&l.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time_of(html: &str) -> String {
        extract(html, "https://example.cn/a.html")
            .ok()
            .and_then(|a| a.published_at)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    }

    #[test]
    fn json_ld_wrapped_in_cdata_is_read() {
        let html = r#"<html><head><meta property="article:published_time" content="2015-12-11T14:28:34Z">
<script type="application/ld+json"><![CDATA[ {"@type":"NewsArticle","datePublished":"2015-10-15T02:19:15Z"} ]]></script></head>
<body><h1>标题</h1><p>正文。</p></body></html>"#;
        assert_eq!(time_of(html), "2015-10-15T02:19:15+00:00");
    }

    #[test]
    fn the_article_object_dates_the_page_not_a_video_beside_it() {
        let html = r#"<html><head>
<script type="application/ld+json">{"@type":"VideoObject","name":"视频","datePublished":"2024-12-05T10:00:00Z"}</script>
<script type="application/ld+json">{"@type":["NewsArticle"],"headline":"新闻","datePublished":"2024-12-06T22:00:40Z"}</script></head>
<body><h1>新闻</h1><p>正文。</p></body></html>"#;
        assert_eq!(time_of(html), "2024-12-06T22:00:40+00:00");
    }

    #[test]
    fn furniture_lines_are_cut_from_the_ends_only() {
        let b = "沪公网安备31010602000299号\n正文第一段，说明情况。\n文中提到版权所有的问题，这一句很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长。\n正文最后一段。\n版权所有 © 某某网\n沪ICP备14003370号";
        assert_eq!(trim_furniture(b), "正文第一段，说明情况。\n文中提到版权所有的问题，这一句很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长。\n正文最后一段。");
    }
}
