//! Feeds → posts: RSS 0.90/0.91/0.92/0.93/0.94/1.0/2.0/2.01/2.1 (with or without a `version`),
//! Atom 0.3 and 1.0 (and single Atom entry documents) are read by a reader of our own on quick-xml
//! events; JSON Feed by feed-rs.
//!
//! feed-rs (checked up to 3.0.0) refuses RSS without `version="2.0"`/`0.91`/`0.92`, reads no item
//! of an Atom 0.3 feed, fails a whole feed on one unknown `type` attribute, and loses the kind of
//! a title (plain text or markup), `dcterms:` dates, `xhtml:body`, base64 content and `xml:base`.
//! Here:
//! - a title or text of plain type is shown as it is (`&lt;b&gt;` is the text `<b>`); of type html
//!   or xhtml (Atom `type`, RSS `description`, `content:encoded`, `xhtml:body`) it is markup made
//!   text;
//! - Atom 0.3 `mode="base64"` and `mode="escaped"` are decoded; `issued`/`modified` are dates;
//! - dates come from `pubDate`, `published`/`updated`, `issued`/`modified`/`created`, `dc:date` and
//!   `dcterms:` (`issued`, `created`, `date`, `available`, `modified`), in RFC 822/2822, RFC 3339
//!   or the common `2024-01-02 10:00` forms (no zone: China time);
//! - links are resolved against `xml:base` (on any ancestor or the element itself), else the
//!   document's base (Content-Location, else the feed URL);
//! - well-known prefixes (`dc:`, `dcterms:`, `content:`, `atom:`, `xhtml:`) work undeclared.
//!
//! Invariants: pure; iterative (an element stack on the heap, no recursion); documents nested deeper
//! than [`MAX_XML_DEPTH`] stop there (quick-xml's namespace scope counter would overflow at 65,536),
//! and markup kept for a field is nested at most [`MAX_MARKUP_DEPTH`] deep, so a hostile document
//! costs time linear in its size and no stack; never fails — a broken document yields the items
//! that read, plus errors.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use reqwest::Url;
use yuqing_core::PostInput;

use crate::extract::{absolute_url, html_to_text, Extracted};
use crate::source::Source;

/// Deeper markup inside one field keeps its text but not its tags.
pub const MAX_MARKUP_DEPTH: usize = 64;
/// Elements nested deeper than this end the reading of a document (an error; the items before it
/// are kept, the others read one by one). Real feeds nest a few dozen levels.
pub const MAX_XML_DEPTH: usize = 1000;

const NS_ATOM10: &str = "http://www.w3.org/2005/Atom";
const NS_ATOM03: &str = "http://purl.org/atom/ns#";
const NS_CONTENT: &str = "http://purl.org/rss/1.0/modules/content/";
const NS_DC: &str = "http://purl.org/dc/elements/1.1/";
const NS_DCTERMS: &str = "http://purl.org/dc/terms/";
const NS_XHTML: &str = "http://www.w3.org/1999/xhtml";
const NS_RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// The namespaces a feed's fields are told apart by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    /// No namespace, or the RSS 0.90/1.0 one (their elements are RSS elements).
    Plain,
    Atom,
    Content,
    Dc,
    DcTerms,
    Xhtml,
    Rdf,
    Other,
}

fn ns_of(uri: &[u8]) -> Ns {
    match std::str::from_utf8(uri).unwrap_or("").trim_end_matches('/') {
        u if u == NS_ATOM10 || u == NS_ATOM03.trim_end_matches('/') => Ns::Atom,
        u if u == NS_CONTENT.trim_end_matches('/') => Ns::Content,
        u if u == NS_DC.trim_end_matches('/') => Ns::Dc,
        u if u == NS_DCTERMS.trim_end_matches('/') => Ns::DcTerms,
        u if u == NS_XHTML => Ns::Xhtml,
        u if u == NS_RDF => Ns::Rdf,
        "http://purl.org/rss/1.0"
        | "http://my.netscape.com/rdf/simple/0.9"
        | "http://backend.userland.com/rss2"
        | "http://backend.userland.com/rss" => Ns::Plain,
        _ => Ns::Other,
    }
}

/// Undeclared prefixes that mean one thing in every feed that uses them.
fn ns_of_prefix(prefix: &[u8]) -> Ns {
    match prefix {
        b"dc" => Ns::Dc,
        b"dcterms" => Ns::DcTerms,
        b"content" => Ns::Content,
        b"atom" => Ns::Atom,
        b"xhtml" | b"html" => Ns::Xhtml,
        b"rdf" => Ns::Rdf,
        _ => Ns::Other,
    }
}

fn resolve(r: &ResolveResult<'_>) -> Ns {
    match r {
        ResolveResult::Unbound => Ns::Plain,
        ResolveResult::Bound(ns) => ns_of(ns.as_ref()),
        ResolveResult::Unknown(prefix) => ns_of_prefix(prefix),
    }
}

/// How the text of a field is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text as it is (child elements, if any, make it markup after all).
    Plain,
    /// Escaped markup: the text is HTML source.
    Html,
    /// Inline markup: child elements are the content.
    Xhtml,
    /// Base64 of text (Atom 0.3 `mode="base64"`, Atom 1.0 non-text types).
    Base64 { html: bool },
    /// Not text (an image, say): ignored.
    Skip,
}

/// The fields of an item, by what they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    DcTitle,
    /// RSS `<link>` text, or Atom `<link href>` (handled at the start tag).
    Link,
    Guid {
        permalink: bool,
    },
    AtomId,
    /// `description`, Atom `summary`, `dc:description`.
    Summary,
    /// `content:encoded`, Atom `content`, `xhtml:body`.
    Content,
    /// A date; the rank orders the kinds (lower is preferred).
    Date(u8),
    Author,
    /// Atom `<author>`: its `<name>` is the author.
    AtomAuthor,
}

/// A field being read: its text (or markup) so far.
#[derive(Debug)]
struct Open {
    field: Field,
    kind: Kind,
    /// Depth of the element stack at the field's start tag.
    depth: usize,
    buf: String,
    /// Child elements were seen (a plain field with markup in it).
    had_elements: bool,
    /// The base in effect at the field (for `<link>` text).
    base: Option<Url>,
}

/// What one item gave.
#[derive(Debug, Default)]
struct Item {
    title: Option<(u8, String)>,
    link: Option<(u8, String)>,
    guid: Option<String>,
    summary: Option<String>,
    content: Option<String>,
    date: Option<(u8, DateTime<FixedOffset>)>,
    author: Option<String>,
    rdf_about: Option<String>,
}

/// What reading a feed gave: posts, items that have only a link (to be fetched as article pages
/// when the source says so), and errors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedRead {
    pub posts: Vec<PostInput>,
    /// Items with a link but neither title nor text: the post without text.
    pub link_only: Vec<PostInput>,
    pub errors: Vec<String>,
}

fn china() -> FixedOffset {
    yuqing_core::china()
}

/// One line: whitespace runs made one space (titles, names, links, dates).
fn tidy(s: &str) -> Option<String> {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!t.is_empty()).then_some(t)
}

/// Text with its lines kept: each line tidied, empty lines dropped (bodies).
fn tidy_lines(s: &str) -> Option<String> {
    let t = s.lines().filter_map(tidy).collect::<Vec<_>>().join("\n");
    (!t.is_empty()).then_some(t)
}

/// Parses a feed (see the module documentation). `base_url` is what relative links resolve against
/// when the document gives no `xml:base`: the Content-Location of the answer, else its final URL.
/// Items with only a link are reported as errors; see [`read`] to fetch them instead.
// The update keeps fields `extract` may add at their defaults.
#[allow(clippy::needless_update)]
pub fn feed(text: &str, base_url: &str, src: &Source) -> Extracted {
    let r = read(text, base_url, src);
    let mut errors = r.errors;
    errors.extend(r.link_only.iter().map(link_only_skipped));
    Extracted { posts: r.posts, errors, ..Extracted::default() }
}

/// The error recorded for an item with only a link when the source does not fetch articles.
pub fn link_only_skipped(p: &PostInput) -> String {
    format!(
        "条目 {} 只有链接，既无标题也无正文，已跳过（可在信息源上设置 fetch_articles = true 抓取其文章页）",
        p.url.as_deref().unwrap_or("")
    )
}

/// Reads a feed into posts, link-only items and errors.
pub fn read(text: &str, base_url: &str, src: &Source) -> FeedRead {
    let body = text.trim_start_matches('\u{feff}').trim_start();
    if body.starts_with('{') || body.starts_with('[') {
        return json_feed(body, base_url, src);
    }
    let mut out = FeedRead::default();
    let root_base = Url::parse(base_url).ok();
    match read_xml(body, root_base.as_ref(), src, &mut out) {
        Ok(()) => {}
        Err(XmlFailure::NotAFeed(root)) => out.errors.push(format!("内容不是 RSS 或 Atom 订阅源（根元素为 <{root}>）")),
        Err(XmlFailure::Empty) => out.errors.push("内容为空或不是 XML，不是订阅源".into()),
        Err(XmlFailure::Broken(why)) => {
            // Items read before the error are kept; the rest are read one by one.
            let before = out.posts.len() + out.link_only.len();
            let salvaged = salvage_items(body);
            let total = salvaged.len();
            let mut kept = FeedRead::default();
            for doc in salvaged {
                let mut one = FeedRead::default();
                if read_xml(&doc, root_base.as_ref(), src, &mut one).is_ok() {
                    kept.posts.extend(one.posts);
                    kept.link_only.extend(one.link_only);
                    kept.errors.extend(one.errors);
                }
            }
            if kept.posts.len() + kept.link_only.len() >= before {
                out = kept;
            }
            let n = out.posts.len() + out.link_only.len();
            out.errors.push(format!("订阅源 XML 格式有误（{why}）；逐条解析，{total} 个条目中保留了 {n} 个"));
        }
    }
    out
}

enum XmlFailure {
    Empty,
    NotAFeed(String),
    Broken(String),
}

/// A quick-xml error in Chinese (with the byte offset), never its English text.
fn describe_xml_error(e: &quick_xml::Error, at: u64) -> String {
    use quick_xml::errors::IllFormedError as I;
    let what = match e {
        quick_xml::Error::IllFormed(I::MismatchedEndTag { expected, found }) => {
            format!("结束标签不匹配：应为 </{expected}>，实为 </{found}>")
        }
        quick_xml::Error::IllFormed(I::MissingEndTag(t)) => format!("缺少结束标签 </{t}>"),
        quick_xml::Error::IllFormed(I::UnmatchedEndTag(t)) => format!("多余的结束标签 </{t}>"),
        quick_xml::Error::IllFormed(_) => "结构不完整".into(),
        quick_xml::Error::Syntax(_) => "语法错误（标签、注释或 CDATA 未闭合）".into(),
        quick_xml::Error::InvalidAttr(_) => "属性格式错误".into(),
        quick_xml::Error::Escape(_) => "无法识别的字符引用".into(),
        quick_xml::Error::Encoding(_) => "编码错误".into(),
        quick_xml::Error::Namespace(_) => "命名空间错误".into(),
        quick_xml::Error::Io(_) => "读取失败".into(),
    };
    format!("{what}，约第 {at} 字节处")
}

/// An element on the stack: its local name, and the base in effect inside it.
struct Frame {
    local: String,
    base: Option<Url>,
}

/// HTML named entities feeds use without declaring them (XML knows only five).
fn html_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "nbsp" => "\u{a0}",
        "ensp" => "\u{2002}",
        "emsp" => "\u{2003}",
        "thinsp" => "\u{2009}",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "mdash" => "—",
        "ndash" => "–",
        "hellip" => "…",
        "ldquo" => "“",
        "rdquo" => "”",
        "lsquo" => "‘",
        "rsquo" => "’",
        "laquo" => "«",
        "raquo" => "»",
        "middot" => "·",
        "bull" => "•",
        "times" => "×",
        "divide" => "÷",
        "yen" => "¥",
        "deg" => "°",
        "sect" => "§",
        "para" => "¶",
        "plusmn" => "±",
        _ => return None,
    })
}

/// An attribute's value, entities resolved (the XML five, character references, common HTML ones).
fn attr_value(a: &quick_xml::events::attributes::Attribute<'_>) -> Option<String> {
    a.normalized_value_with(quick_xml::XmlVersion::Implicit1_0, 1, |e| {
        quick_xml::escape::resolve_predefined_entity(e).or_else(|| html_entity(e))
    })
    .ok()
    .map(|v| v.into_owned())
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes().flatten().find(|a| a.key.as_ref() == name).and_then(|a| attr_value(&a))
}

/// An attribute by local name whatever its prefix (`rdf:about`, `about`).
fn attr_local(e: &quick_xml::events::BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes().flatten().find(|a| a.key.local_name().as_ref() == local).and_then(|a| attr_value(&a))
}

/// The kind of an Atom text construct (1.0 `type`; 0.3 MIME `type` and `mode`).
fn atom_kind(e: &quick_xml::events::BytesStart<'_>, atom03_default: bool) -> Kind {
    let ty = attr(e, b"type").map(|t| t.trim().to_ascii_lowercase());
    let mode = attr(e, b"mode").map(|m| m.trim().to_ascii_lowercase());
    let html = |t: &str| t == "html" || t == "text/html";
    let xhtml = |t: &str| t == "xhtml" || t == "application/xhtml+xml" || t.ends_with("+xml") || t.ends_with("/xml");
    let ty_html = ty.as_deref().is_some_and(|t| html(t) || xhtml(t));
    match (ty.as_deref(), mode.as_deref()) {
        (_, Some("base64")) => Kind::Base64 { html: ty_html },
        (_, Some("escaped")) => {
            if ty.as_deref().is_none_or(|t| t == "text/plain" || t == "text") {
                // Atom 0.3 escaped text of no stated type: markup as in RSS.
                Kind::Html
            } else if ty_html || ty.as_deref().is_some_and(|t| t.starts_with("text/")) {
                Kind::Html
            } else {
                Kind::Skip
            }
        }
        (None, Some("xml")) => Kind::Xhtml,
        (None, _) => {
            if atom03_default {
                Kind::Xhtml
            } else {
                Kind::Plain
            }
        }
        (Some(t), _) if t == "text" || t == "text/plain" => Kind::Plain,
        (Some(t), _) if html(t) => Kind::Html,
        (Some(t), _) if xhtml(t) => Kind::Xhtml,
        (Some(t), _) if t.starts_with("text/") => Kind::Plain,
        // Atom 1.0 §3.1.1.3: other media types are base64.
        (Some(_), _) => Kind::Base64 { html: false },
    }
}

/// The field an element of an item is, with how to read it.
fn field_of(ns: Ns, local: &str, e: &quick_xml::events::BytesStart<'_>, atom03: bool) -> Option<(Field, Kind)> {
    Some(match (ns, local) {
        (Ns::Plain | Ns::Atom, "title") => {
            let kind = if ns == Ns::Atom || attr(e, b"type").is_some() || attr(e, b"mode").is_some() {
                atom_kind(e, false)
            } else {
                Kind::Plain
            };
            (Field::Title, kind)
        }
        (Ns::Dc | Ns::DcTerms, "title") => (Field::DcTitle, Kind::Plain),
        (Ns::Plain | Ns::Atom, "link") => (Field::Link, Kind::Plain),
        (Ns::Plain, "guid") => (
            Field::Guid { permalink: attr(e, b"isPermaLink").is_none_or(|v| !v.trim().eq_ignore_ascii_case("false")) },
            Kind::Plain,
        ),
        (Ns::Atom, "id") => (Field::AtomId, Kind::Plain),
        (Ns::Plain, "description") => (Field::Summary, Kind::Html),
        (Ns::Atom, "summary") => (Field::Summary, atom_kind(e, atom03)),
        (Ns::Dc | Ns::DcTerms, "description" | "abstract") => (Field::Summary, Kind::Plain),
        (Ns::Content, "encoded") => (Field::Content, Kind::Html),
        (Ns::Atom, "content") => {
            if attr(e, b"src").is_some() {
                return None;
            }
            (Field::Content, atom_kind(e, atom03))
        }
        (Ns::Xhtml, "body" | "div") => (Field::Content, Kind::Xhtml),
        (Ns::Plain, "pubDate" | "pubdate") => (Field::Date(0), Kind::Plain),
        (Ns::Atom, "published") => (Field::Date(1), Kind::Plain),
        (Ns::Atom, "issued") => (Field::Date(2), Kind::Plain),
        (Ns::Dc, "date") => (Field::Date(3), Kind::Plain),
        (Ns::DcTerms, "issued") => (Field::Date(4), Kind::Plain),
        (Ns::DcTerms, "created") | (Ns::Atom, "created") => (Field::Date(5), Kind::Plain),
        (Ns::DcTerms, "date" | "available") => (Field::Date(6), Kind::Plain),
        (Ns::Atom, "updated" | "modified") => (Field::Date(7), Kind::Plain),
        (Ns::DcTerms, "modified") => (Field::Date(8), Kind::Plain),
        (Ns::Plain, "author") | (Ns::Dc | Ns::DcTerms, "creator") => (Field::Author, Kind::Plain),
        (Ns::Atom, "author") => (Field::AtomAuthor, Kind::Plain),
        _ => return None,
    })
}

/// Reads an XML feed document, pushing what it finds into `out`.
fn read_xml(doc: &str, root_base: Option<&Url>, src: &Source, out: &mut FeedRead) -> Result<(), XmlFailure> {
    let mut reader = NsReader::from_str(doc);
    {
        let c = reader.config_mut();
        c.check_end_names = true;
        c.allow_dangling_amp = true;
        c.expand_empty_elements = true;
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut root_seen = false;
    let mut atom03 = false;
    // An Atom document without the Atom namespace: its plain elements are Atom elements.
    let mut plain_is_atom = false;
    // The item being read (its depth in the stack), and the field inside it.
    let mut item: Option<(usize, Item)> = None;
    let mut open: Option<Open> = None;
    // Inside an Atom <author>: the depth of the author element.
    let mut in_author: Option<usize> = None;
    loop {
        let at = reader.buffer_position();
        let (res, ev) = match reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => return Err(XmlFailure::Broken(describe_xml_error(&e, at))),
        };
        let mut ns = resolve(&res);
        if plain_is_atom && ns == Ns::Plain {
            ns = Ns::Atom;
        }
        match ev {
            Event::Start(e) => {
                if stack.len() >= MAX_XML_DEPTH {
                    return Err(XmlFailure::Broken(format!("元素嵌套超过 {MAX_XML_DEPTH} 层，约第 {at} 字节处")));
                }
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let parent_base = stack.last().map_or_else(|| root_base.cloned(), |f| f.base.clone());
                let base = match attr(&e, b"xml:base") {
                    Some(b) => match &parent_base {
                        Some(p) => p.join(b.trim()).ok().or(Some(p.clone())),
                        None => Url::parse(b.trim()).ok(),
                    },
                    None => parent_base,
                };
                if !root_seen {
                    root_seen = true;
                    match local.as_str() {
                        "rss" | "RDF" | "feed" | "channel" | "entry" => {}
                        _ => return Err(XmlFailure::NotAFeed(local)),
                    }
                    if let ResolveResult::Bound(n) = &res {
                        atom03 = n.as_ref() == NS_ATOM03.as_bytes();
                    }
                    if ns == Ns::Plain && (local == "feed" || local == "entry") {
                        plain_is_atom = true;
                        ns = Ns::Atom;
                    }
                }
                let depth = stack.len();
                if let Some(o) = open.as_mut() {
                    // Markup inside a field.
                    o.had_elements = true;
                    if matches!(o.kind, Kind::Xhtml | Kind::Html | Kind::Plain) && depth - o.depth <= MAX_MARKUP_DEPTH {
                        o.buf.push('<');
                        o.buf.push_str(&local);
                        for a in e.attributes().flatten() {
                            let k = String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned();
                            if let Some(v) = attr_value(&a) {
                                o.buf.push_str(&format!(" {k}=\"{}\"", quick_xml::escape::escape(v.as_str())));
                            }
                        }
                        o.buf.push('>');
                    }
                } else if item.is_none()
                    && matches!((ns, local.as_str()), (Ns::Plain, "item") | (Ns::Atom, "entry") | (Ns::Plain, "entry"))
                {
                    let it = Item { rdf_about: attr_local(&e, b"about"), ..Item::default() };
                    item = Some((depth, it));
                } else if let Some((item_depth, it)) = item.as_mut() {
                    let direct = depth == *item_depth + 1;
                    if let Some(author_depth) = in_author {
                        if depth == author_depth + 1 && local == "name" {
                            open = Some(Open {
                                field: Field::Author,
                                kind: Kind::Plain,
                                depth,
                                buf: String::new(),
                                had_elements: false,
                                base: base.clone(),
                            });
                        }
                    } else if direct {
                        match field_of(ns, &local, &e, atom03) {
                            Some((Field::AtomAuthor, _)) => in_author = Some(depth),
                            Some((Field::Link, _)) if attr(&e, b"href").is_some() => {
                                // Atom link: rel absent or alternate is the item's page.
                                let rel = attr(&e, b"rel").unwrap_or_default();
                                let rank = match rel.trim() {
                                    "" | "alternate" => 0,
                                    "self" | "related" => 2,
                                    _ => 9,
                                };
                                let href = attr(&e, b"href").unwrap_or_default();
                                if rank < 9 && it.link.as_ref().is_none_or(|(r, _)| rank < *r) {
                                    if let Some(u) = resolve_link(base.as_ref(), &href) {
                                        it.link = Some((rank, u));
                                    }
                                }
                            }
                            Some((field, kind)) if kind != Kind::Skip => {
                                open = Some(Open {
                                    field,
                                    kind,
                                    depth,
                                    buf: String::new(),
                                    had_elements: false,
                                    base: base.clone(),
                                });
                            }
                            _ => {}
                        }
                    }
                }
                stack.push(Frame { local, base });
            }
            Event::End(_) => {
                let frame = stack.pop();
                let depth = stack.len();
                if let Some(o) = open.as_mut() {
                    if depth > o.depth {
                        if matches!(o.kind, Kind::Xhtml | Kind::Html | Kind::Plain)
                            && depth - o.depth <= MAX_MARKUP_DEPTH
                        {
                            if let Some(f) = &frame {
                                o.buf.push_str("</");
                                o.buf.push_str(&f.local);
                                o.buf.push('>');
                            }
                        }
                        continue;
                    }
                }
                if let Some(o) = open.take() {
                    if let Some((_, it)) = item.as_mut() {
                        finish_field(it, o);
                    }
                }
                if in_author == Some(depth) {
                    in_author = None;
                }
                if item.as_ref().is_some_and(|(d, _)| *d == depth) {
                    if let Some((_, it)) = item.take() {
                        push_item(out, it, root_base, src);
                    }
                }
            }
            Event::Text(t) => {
                if let Some(o) = open.as_mut() {
                    // Text of a field: for inline markup it is escaped again, being text in HTML.
                    let s = t.decode().unwrap_or_default();
                    push_text(o, &s);
                }
            }
            Event::CData(t) => {
                if let Some(o) = open.as_mut() {
                    let s = t.decode().unwrap_or_default();
                    push_text(o, &s);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(o) = open.as_mut() {
                    let name = r.decode().unwrap_or_default().into_owned();
                    let ch = r.resolve_char_ref().ok().flatten().map(String::from);
                    let text = ch.or_else(|| quick_xml::escape::resolve_predefined_entity(&name).map(String::from));
                    match text {
                        Some(t) => push_text(o, &t),
                        // An HTML entity: markup keeps it for the HTML reader; plain text decodes it.
                        None => match (o.kind, html_entity(&name)) {
                            (Kind::Html, _) => o.buf.push_str(&format!("&{name};")),
                            (_, Some(t)) => push_text(o, t),
                            _ => push_text(o, &format!("&{name};")),
                        },
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err(XmlFailure::Empty);
    }
    if let Some(open) = stack.last() {
        return Err(XmlFailure::Broken(format!("文档不完整：在 </{}> 之前就结束了", open.local)));
    }
    Ok(())
}

/// Text into a field: escaped again where the field is inline markup (it is text there).
fn push_text(o: &mut Open, s: &str) {
    if o.kind == Kind::Xhtml {
        o.buf.push_str(&quick_xml::escape::escape(s));
    } else {
        o.buf.push_str(s);
    }
}

fn resolve_link(base: Option<&Url>, href: &str) -> Option<String> {
    let href = href.trim();
    match base {
        Some(b) => absolute_url(b.as_str(), href),
        None => absolute_url("", href),
    }
}

/// The text of a finished field, by its kind; titles on one line, bodies with their lines.
fn field_text(o: &Open) -> Option<String> {
    let one_line = matches!(o.field, Field::Title | Field::DcTitle);
    let fit = |s: &str| if one_line { tidy(s) } else { tidy_lines(s) };
    match o.kind {
        Kind::Plain if o.had_elements => fit(&html_to_text(&o.buf)),
        Kind::Plain => fit(&o.buf),
        Kind::Html | Kind::Xhtml => fit(&html_to_text(&o.buf)),
        Kind::Base64 { html } => {
            let bytes = base64_decode(&o.buf)?;
            let s = String::from_utf8(bytes).ok()?;
            if html {
                fit(&html_to_text(&s))
            } else {
                fit(&s)
            }
        }
        Kind::Skip => None,
    }
}

fn finish_field(it: &mut Item, o: Open) {
    match o.field {
        Field::Title | Field::DcTitle => {
            let rank = if o.field == Field::Title { 0 } else { 1 };
            if let Some(t) = field_text(&o) {
                if it.title.as_ref().is_none_or(|(r, _)| rank < *r) {
                    it.title = Some((rank, t));
                }
            }
        }
        Field::Link => {
            if let Some(u) = tidy(&o.buf).and_then(|h| resolve_link(o.base.as_ref(), &h)) {
                if it.link.as_ref().is_none_or(|(r, _)| 1 < *r) {
                    it.link = Some((1, u));
                }
            }
        }
        Field::Guid { permalink } => {
            if permalink {
                it.guid = tidy(&o.buf)
                    .and_then(|g| g.starts_with("http").then(|| resolve_link(o.base.as_ref(), &g)).flatten());
            }
        }
        Field::AtomId => {
            if it.guid.is_none() {
                it.guid = tidy(&o.buf)
                    .filter(|g| g.starts_with("http://") || g.starts_with("https://"))
                    .and_then(|g| resolve_link(None, &g));
            }
        }
        Field::Summary => {
            if it.summary.is_none() {
                it.summary = field_text(&o);
            }
        }
        Field::Content => {
            if it.content.is_none() {
                it.content = field_text(&o);
            }
        }
        Field::Date(rank) => {
            if let Some(t) = tidy(&o.buf).and_then(|s| parse_date(&s)) {
                if it.date.as_ref().is_none_or(|(r, _)| rank < *r) {
                    it.date = Some((rank, t));
                }
            }
        }
        Field::Author => {
            if it.author.is_none() {
                it.author = tidy(&o.buf).map(|a| rss_author(&a));
            }
        }
        Field::AtomAuthor => {}
    }
}

/// RSS `author` is an e-mail address with the name in brackets: `x@y.cn (张三)` → 张三.
fn rss_author(a: &str) -> String {
    if let (Some(open), true) = (a.find('('), a.ends_with(')')) {
        if a[..open].contains('@') {
            let name = a[open + 1..a.len() - 1].trim();
            if !name.is_empty() {
                return name.to_string();
            }
        }
    }
    a.to_string()
}

fn push_item(out: &mut FeedRead, it: Item, root_base: Option<&Url>, src: &Source) {
    let url = it.link.map(|(_, u)| u).or(it.guid).or_else(|| it.rdf_about.and_then(|a| resolve_link(root_base, &a)));
    let mut p = PostInput { source: Some(src.name.clone()), tier: Some(src.tier), ..Default::default() };
    p.url = url;
    p.title = it.title.map(|(_, t)| t);
    p.text = it.content.or(it.summary);
    p.author = it.author;
    p.published_at = it.date.map(|(_, t)| t.with_timezone(&china()));
    if p.title.is_none() && p.text.is_none() {
        if p.url.is_some() {
            out.link_only.push(p);
        } else {
            out.errors.push("一个条目既无标题、正文，也无链接，已跳过".into());
        }
        return;
    }
    out.posts.push(p);
}

/// Standard base64 (whitespace ignored, padding optional); `None` if it is not base64.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let clean = clean.trim_end_matches('=');
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(clean).ok()
}

/// A feed date: RFC 3339, RFC 822/2822 (any weekday, or none), `2024-01-02 10:00[:00]`,
/// `2024/01/02`, `2024年1月2日 10:00`; without a zone, China time.
pub fn parse_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    // RFC 2822 without the weekday (often wrong or localised), and with "UTC"/"Z" zones.
    let no_day = match s.find(',') {
        Some(i) if i <= 12 => s[i + 1..].trim(),
        _ => s,
    };
    let fixed = no_day.replace(" UTC", " +0000").replace(" Z", " +0000");
    if let Ok(t) = DateTime::parse_from_rfc2822(&fixed) {
        return Some(t);
    }
    for f in [
        "%d %b %Y %H:%M:%S %z",
        "%d %b %Y %H:%M %z",
        "%d %B %Y %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(&fixed, f) {
            return Some(t);
        }
    }
    let local = s.replace(['年', '月', '/'], "-").replace(['日', 'T'], " ");
    let local = local.trim();
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(local, f) {
            return china().from_local_datetime(&t).single();
        }
    }
    let d = NaiveDate::parse_from_str(local, "%Y-%m-%d").ok()?;
    china().from_local_datetime(&d.and_hms_opt(0, 0, 0)?).single()
}

/// A JSON Feed, by feed-rs.
fn json_feed(body: &str, base_url: &str, src: &Source) -> FeedRead {
    let mut out = FeedRead::default();
    let f = match feed_rs::parser::parse(body.as_bytes()) {
        Ok(f) => f,
        Err(e) => {
            let why = match e {
                feed_rs::parser::ParseFeedError::JsonSerde(_) => "不是有效的 JSON".to_string(),
                feed_rs::parser::ParseFeedError::JsonUnsupportedVersion(v) => {
                    format!("不支持的版本 {v}")
                }
                _ => "不是 JSON Feed".to_string(),
            };
            out.errors.push(format!("JSON Feed 无法解析：{why}"));
            return out;
        }
    };
    let base = Url::parse(base_url).ok();
    for e in f.entries {
        let url = e
            .links
            .iter()
            .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
            .or(e.links.first())
            .and_then(|l| resolve_link(base.as_ref(), &l.href))
            .or_else(|| {
                (e.id.starts_with("http://") || e.id.starts_with("https://"))
                    .then(|| resolve_link(None, &e.id))
                    .flatten()
            });
        // JSON Feed `title` is plain text; `content_html` markup, `content_text` text.
        let title = e.title.and_then(|t| tidy(&t.content));
        let text = e
            .content
            .and_then(|c| {
                let html = c.content_type.to_string().starts_with("text/html");
                c.body.and_then(|b| if html { tidy_lines(&html_to_text(&b)) } else { tidy_lines(&b) })
            })
            .or_else(|| e.summary.and_then(|s| tidy_lines(&html_to_text(&s.content))));
        let mut p = PostInput { source: Some(src.name.clone()), tier: Some(src.tier), ..Default::default() };
        p.url = url;
        p.title = title;
        p.text = text;
        p.author = e.authors.first().and_then(|a| tidy(&a.name));
        p.published_at = e.published.or(e.updated).map(|t| t.with_timezone(&china()));
        if p.title.is_none() && p.text.is_none() {
            if p.url.is_some() {
                out.link_only.push(p);
            } else {
                out.errors.push("一个条目既无标题、正文，也无链接，已跳过".into());
            }
            continue;
        }
        out.posts.push(p);
    }
    out
}

/// Each `<item>` / `<entry>` of a broken document, wrapped in the document's own root element (so
/// namespaces still resolve) as a document of its own.
fn salvage_items(xml: &str) -> Vec<String> {
    let lower = xml.to_ascii_lowercase();
    let tag = if lower.contains("<entry") && !lower.contains("<item") { "entry" } else { "item" };
    // The root element's opening tag.
    let mut root_open = String::new();
    let mut root_name = String::new();
    let mut pos = 0;
    while let Some(i) = xml[pos..].find('<') {
        let at = pos + i;
        let rest = &xml[at + 1..];
        if rest.starts_with('?') || rest.starts_with('!') {
            pos = at + 1;
            continue;
        }
        let end = rest.find('>').map_or(xml.len(), |e| at + 1 + e + 1);
        root_open = xml[at..end.min(xml.len())].to_string();
        root_name = rest.split(|c: char| c.is_whitespace() || c == '>' || c == '/').next().unwrap_or("").to_string();
        break;
    }
    if root_name.is_empty() || root_open.ends_with("/>") {
        return Vec::new();
    }
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut docs = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&open) {
        let start = from + i;
        let next = lower.as_bytes().get(start + open.len()).copied().unwrap_or(b' ');
        if !(next.is_ascii_whitespace() || next == b'>') {
            from = start + open.len();
            continue;
        }
        let Some(j) = lower[start..].find(&close) else {
            break;
        };
        let end = start + j + close.len();
        let chunk = &xml[start..end];
        from = end;
        docs.push(format!("{root_open}{chunk}</{root_name}>"));
    }
    docs
}
