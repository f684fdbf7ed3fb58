//! Bounded HTML parsing: hostile markup must not take the process down.
//!
//! html5ever builds whatever tree the markup asks for. Two shapes are dangerous:
//! - **Deep nesting** (`<div>` × 100,000): every start tag makes the tree builder scan its stack of
//!   open elements ("has a `p` in button scope?"), so parsing takes time quadratic in the depth, and
//!   any recursive walk of the resulting tree overflows the stack.
//! - **Reconstructed formatting elements** (`<b id=1>` … `<b id=N>` left open, then many
//!   paragraphs): each paragraph re-opens all of them, so a small page becomes a huge tree.
//!
//! Defence, in two layers:
//! 1. [`flatten`] is a linear pre-pass over the markup (a small tokenizer that knows comments,
//!    quoted attributes and raw-text elements) that tracks the stack of open elements the way the
//!    tree builder would, closely enough, and **drops the tags** (never the text) of elements that
//!    would open deeper than [`MAX_DEPTH`], and of formatting elements beyond
//!    [`MAX_OPEN_FORMATTING`] left open. Browsers do the same in spirit (Chromium flattens the tree
//!    below depth 512). Text is kept, so a deep page still yields its words.
//! 2. [`parse_document`] / [`parse_fragment`] feed the flattened markup to html5ever in chunks and
//!    stop with [`TooComplex`] once the tree holds more than [`MAX_NODES`] nodes.
//!
//! After this, parsing is linear in the input (times the bounded depth), the tree is at most about
//! `MAX_DEPTH + MAX_OPEN_FORMATTING` deep plus the few elements the tree builder adds (tbody…), and
//! every walk over it is bounded too.

use std::borrow::Cow;
use std::collections::HashMap;

use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{local_name, ns, QualName};
use scraper::{Html, HtmlTreeSink};

/// Elements nested deeper than this lose their tags (their text stays).
pub const MAX_DEPTH: usize = 256;
/// Formatting elements (`b`, `i`, `font`, …) left open beyond this many lose their tags.
pub const MAX_OPEN_FORMATTING: usize = 16;
/// A parsed tree larger than this many nodes is refused.
pub const MAX_NODES: usize = 600_000;
/// How much markup is handed to the parser between two size checks.
const CHUNK: usize = 64 * 1024;

/// The page asks for more tree than extraction will build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("页面结构过深/过大（超过 {limit} 个节点），已跳过")]
pub struct TooComplex {
    pub limit: usize,
}

/// What [`flatten`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Flattened<'a> {
    pub html: Cow<'a, str>,
    /// Tags removed (start and end tags counted separately).
    pub dropped_tags: usize,
    /// The deepest nesting seen in the input, as tracked.
    pub max_depth_seen: usize,
}

const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    "keygen", "basefont", "bgsound", "frame",
];
/// Elements whose content is text up to their own end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"];
/// Formatting elements the tree builder keeps in its list of active formatting elements (`a` is
/// left out: a new `a` closes the previous one, so they do not pile up).
const FORMATTING: &[&str] =
    &["b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt", "u"];
/// Start tags that close an open `p`.
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "li",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
    "dd",
    "dt",
];

fn is_name_byte(b: u8) -> bool {
    !(b.is_ascii_whitespace() || b == b'/' || b == b'>')
}

/// Position of `needle` (ASCII, lower case) in `hay` from `from`, ignoring ASCII case.
fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= hay.len() {
        if hay[i].to_ascii_lowercase() == first && hay[i..i + needle.len()].eq_ignore_ascii_case(needle) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn find_byte(hay: &[u8], from: usize, b: u8) -> Option<usize> {
    hay.get(from..)?.iter().position(|x| *x == b).map(|p| from + p)
}

/// End of a start tag whose name ends at `i`: the index just past its `>` (quoted attribute
/// values may contain `>`), or the end of the input.
fn start_tag_end(b: &[u8], mut i: usize) -> usize {
    let mut after_eq = false;
    while i < b.len() {
        match b[i] {
            b'>' => return i + 1,
            b'=' => after_eq = true,
            c if c.is_ascii_whitespace() => {}
            q @ (b'"' | b'\'') if after_eq => {
                i = find_byte(b, i + 1, q).unwrap_or(b.len());
                after_eq = false;
            }
            _ => after_eq = false,
        }
        i += 1;
    }
    b.len()
}

struct Flattener {
    stack: Vec<String>,
    /// Start tags dropped and not yet matched by an end tag, by name.
    dropped_open: HashMap<String, usize>,
    dropped_open_total: usize,
    open_formatting: usize,
    dropped_tags: usize,
    max_depth_seen: usize,
}

impl Flattener {
    fn pop_to(&mut self, name: &str, stop_at: &[&str]) -> bool {
        for k in (0..self.stack.len()).rev() {
            let n = self.stack[k].as_str();
            if n == name {
                self.stack.truncate(k);
                return true;
            }
            if stop_at.contains(&n) {
                return false;
            }
        }
        false
    }

    /// Implied end tags of the common cases (`<p>`, `<li>`, table parts), so that pages written
    /// without end tags are not counted as deep.
    fn implied_ends(&mut self, name: &str) {
        let top_is = |s: &Self, n: &str| s.stack.last().is_some_and(|t| t == n);
        if CLOSES_P.contains(&name) && top_is(self, "p") {
            self.stack.pop();
        }
        match name {
            "li" => {
                self.pop_to("li", &["ul", "ol", "menu", "table", "div"]);
            }
            "dt" | "dd" if !self.pop_to("dd", &["dl", "table", "div"]) => {
                self.pop_to("dt", &["dl", "table", "div"]);
            }
            "tr" => {
                self.pop_to("tr", &["table", "tbody", "thead", "tfoot"]);
            }
            "td" | "th" if !self.pop_to("td", &["tr", "table"]) => {
                self.pop_to("th", &["tr", "table"]);
            }
            "tbody" | "thead" | "tfoot" => {
                for n in ["tbody", "thead", "tfoot"] {
                    if self.pop_to(n, &["table"]) {
                        break;
                    }
                }
            }
            "option" | "optgroup" if top_is(self, "option") => {
                self.stack.pop();
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6"
                if self.stack.last().is_some_and(|t| matches!(t.as_str(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")) =>
            {
                self.stack.pop();
            }
            "a" => {
                self.pop_to("a", &["div", "table", "td", "li", "p", "body"]);
            }
            _ => {}
        }
    }

    /// Whether the start tag is kept.
    fn start(&mut self, name: &str) -> bool {
        // Void and raw-text elements hold no elements, so they never nest (and dropping a
        // `<script>` tag would turn its code into text).
        if VOID.contains(&name) || RAW_TEXT.contains(&name) {
            return true;
        }
        self.implied_ends(name);
        // Table parts the tree builder inserts (`<table><tr>` gets a `tbody`).
        let top = self.stack.last().map(String::as_str);
        let implied: &[&str] = match (name, top) {
            ("tr", Some("table")) => &["tbody"],
            ("td" | "th", Some("table")) => &["tbody", "tr"],
            ("td" | "th", Some("tbody" | "thead" | "tfoot")) => &["tr"],
            _ => &[],
        };
        let formatting = FORMATTING.contains(&name);
        let depth = self.stack.len() + implied.len() + 1;
        self.max_depth_seen = self.max_depth_seen.max(depth + self.dropped_open_total);
        if depth > MAX_DEPTH && name == "a" {
            // Links are kept at any depth: an `a` cannot hold another (a new one closes the
            // previous), so they add one level at most, and list pages need them.
            return true;
        }
        if depth > MAX_DEPTH || (formatting && self.open_formatting >= MAX_OPEN_FORMATTING) {
            *self.dropped_open.entry(name.to_string()).or_insert(0) += 1;
            self.dropped_open_total += 1;
            return false;
        }
        if formatting {
            self.open_formatting += 1;
        }
        self.stack.extend(implied.iter().map(|n| n.to_string()));
        self.stack.push(name.to_string());
        true
    }

    /// Whether the end tag is kept.
    fn end(&mut self, name: &str) -> bool {
        if let Some(n) = self.dropped_open.get_mut(name) {
            if *n > 0 {
                *n -= 1;
                self.dropped_open_total -= 1;
                return false;
            }
        }
        if FORMATTING.contains(&name) {
            self.open_formatting = self.open_formatting.saturating_sub(1);
        }
        // Pop to the matching element, if it is open at all (a stray end tag changes nothing).
        if let Some(k) = self.stack.iter().rposition(|n| n == name) {
            self.stack.truncate(k);
        }
        true
    }
}

/// Removes the tags of elements nested deeper than [`MAX_DEPTH`] (and of formatting elements left
/// open beyond [`MAX_OPEN_FORMATTING`]); everything else, text included, is kept byte for byte.
/// Linear in the input (each tag costs at most `MAX_DEPTH` steps). Borrowed when nothing is dropped.
pub fn flatten(html: &str) -> Flattened<'_> {
    let b = html.as_bytes();
    let mut f = Flattener {
        stack: Vec::new(),
        dropped_open: HashMap::new(),
        dropped_open_total: 0,
        open_formatting: 0,
        dropped_tags: 0,
        max_depth_seen: 0,
    };
    let mut out: Option<String> = None;
    // Bytes before `copied` are already in `out` (or skipped).
    let mut copied = 0;
    let mut i = 0;
    let mut name = String::new();
    while let Some(lt) = find_byte(b, i, b'<') {
        let next = b.get(lt + 1).copied().unwrap_or(b' ');
        if b[lt + 1..].starts_with(b"!--") {
            i = find_ci(b, lt + 4, b"-->").map_or(b.len(), |e| e + 3);
            continue;
        }
        if next == b'!' || next == b'?' {
            i = find_byte(b, lt + 1, b'>').map_or(b.len(), |e| e + 1);
            continue;
        }
        let (is_end, name_start) = if next == b'/' { (true, lt + 2) } else { (false, lt + 1) };
        if !b.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            i = lt + 1;
            continue;
        }
        let mut name_end = name_start;
        while name_end < b.len() && is_name_byte(b[name_end]) {
            name_end += 1;
        }
        name.clear();
        name.push_str(&html[name_start..name_end].to_ascii_lowercase());
        let tag_end =
            if is_end { find_byte(b, name_end, b'>').map_or(b.len(), |e| e + 1) } else { start_tag_end(b, name_end) };
        let keep = if is_end { f.end(&name) } else { f.start(&name) };
        if !keep {
            let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
            o.push_str(&html[copied..lt]);
            copied = tag_end;
            f.dropped_tags += 1;
        }
        i = tag_end;
        if !is_end && RAW_TEXT.contains(&name.as_str()) {
            // The content is text up to `</name`: skip it whole.
            let mut close = String::with_capacity(name.len() + 2);
            close.push_str("</");
            close.push_str(&name);
            i = find_ci(b, i, close.as_bytes()).unwrap_or(b.len());
        } else if !is_end && name == "plaintext" {
            break;
        }
    }
    let html = match out {
        Some(mut o) => {
            o.push_str(&html[copied.min(html.len())..]);
            Cow::Owned(o)
        }
        None => Cow::Borrowed(html),
    };
    Flattened { html, dropped_tags: f.dropped_tags, max_depth_seen: f.max_depth_seen }
}

/// Nodes in the tree so far (a linear count, done once per chunk).
fn node_count(sink: &HtmlTreeSink) -> usize {
    sink.0.borrow().tree.nodes().count()
}

fn feed<P>(mut parser: P, html: &str, count: impl Fn(&P) -> usize) -> Result<P, TooComplex>
where
    P: TendrilSink<html5ever::tendril::fmt::UTF8>,
{
    let mut rest = html;
    while !rest.is_empty() {
        let mut cut = rest.len().min(CHUNK);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (chunk, tail) = rest.split_at(cut);
        parser.process(StrTendril::from_slice(chunk));
        rest = tail;
        if count(&parser) > MAX_NODES {
            return Err(TooComplex { limit: MAX_NODES });
        }
    }
    Ok(parser)
}

/// A whole page, parsed within the bounds of this module.
pub fn parse_document(html: &str) -> Result<Html, TooComplex> {
    parse_flat(&flatten(html).html)
}

/// Markup already passed through [`flatten`], parsed as a whole page with the node cap.
pub fn parse_flat(flat_html: &str) -> Result<Html, TooComplex> {
    let parser = html5ever::driver::parse_document(HtmlTreeSink::new(Html::new_document()), Default::default());
    let parser = feed(parser, flat_html, |p| node_count(&p.tokenizer.sink.sink))?;
    Ok(parser.finish())
}

/// An HTML fragment (feed content, summaries), parsed within the bounds of this module.
pub fn parse_fragment(html: &str) -> Result<Html, TooComplex> {
    let flat = flatten(html);
    let parser = html5ever::driver::parse_fragment(
        HtmlTreeSink::new(Html::new_fragment()),
        Default::default(),
        QualName::new(None, ns!(html), local_name!("body")),
        Vec::new(),
        false,
    );
    let parser = feed(parser, &flat.html, |p| node_count(&p.tokenizer.sink.sink))?;
    Ok(parser.finish())
}

/// The deepest element of a parsed tree (root = 0); iterative.
pub fn tree_depth(doc: &Html) -> usize {
    let mut max = 0;
    let mut depth = 0usize;
    for edge in doc.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(_) => {
                max = max.max(depth);
                depth += 1;
            }
            ego_tree::iter::Edge::Close(_) => depth = depth.saturating_sub(1),
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_markup_passes_unchanged() {
        let html = r#"<html><head><title>标题</title><script>if (a<b && c>"</div>") {}</script></head>
            <body><!-- <div><div> --><div class="a" title="x>y"><p>一<p>二<ul><li>三<li>四</ul></div>
            <table><tr><td>五<td>六<tr><td>七</table><svg><path d="M0"/></svg><br/><img src=x></body></html>"#;
        let f = flatten(html);
        assert!(matches!(f.html, Cow::Borrowed(_)));
        assert_eq!(f.dropped_tags, 0);
    }

    #[test]
    fn deep_nesting_loses_tags_beyond_the_limit_but_keeps_text() {
        let n = 1000;
        let html = format!("{}深处的文字{}之后", "<div>".repeat(n), "</div>".repeat(n));
        let f = flatten(&html);
        assert_eq!(f.dropped_tags, 2 * (n - MAX_DEPTH));
        assert_eq!(f.html, format!("{}深处的文字{}之后", "<div>".repeat(MAX_DEPTH), "</div>".repeat(MAX_DEPTH)));
        let doc = parse_document(&html).expect("bounded");
        assert!(tree_depth(&doc) <= MAX_DEPTH + 4, "{}", tree_depth(&doc));
        assert!(doc.root_element().text().collect::<String>().contains("深处的文字之后"));
    }

    #[test]
    fn mixed_deep_nesting_closes_in_order() {
        let n = 2000;
        let open: String = (0..n).map(|k| ["<span>", "<b>", "<i>", "<table><tr><td>"][k % 4]).collect();
        let html = format!("<body>{open}文字</body>");
        let doc = parse_document(&html).expect("bounded");
        assert!(tree_depth(&doc) <= MAX_DEPTH + MAX_OPEN_FORMATTING + 8, "{}", tree_depth(&doc));
        assert!(doc.root_element().text().collect::<String>().contains("文字"));
    }

    #[test]
    fn formatting_elements_left_open_do_not_multiply() {
        let opens: String = (0..5000).map(|k| format!("<b id={k}>")).collect();
        let html = format!("<div>{opens}</div>{}", "<p>段落</p>".repeat(2000));
        match parse_document(&html) {
            Ok(doc) => assert!(doc.tree.nodes().count() < 2000 * (MAX_OPEN_FORMATTING + 4) + 10_000),
            Err(e) => assert_eq!(e.limit, MAX_NODES),
        }
    }

    #[test]
    fn too_many_nodes_is_refused() {
        let html = "<br>".repeat(MAX_NODES + 10);
        assert_eq!(parse_document(&html).unwrap_err(), TooComplex { limit: MAX_NODES });
        assert!(parse_fragment(&html).is_err());
    }

    #[test]
    fn cut_markup_and_odd_bytes_do_not_panic() {
        for s in ["<", "<div", "<div class=\"", "</", "<!--", "<!x", "<a href='x>", "<script>", "<中>", "a<b", "<p>é<"]
        {
            let _ = flatten(s);
            let _ = parse_document(s);
        }
    }
}
