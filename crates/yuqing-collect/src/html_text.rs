//! Visible text of parsed HTML: block elements on lines of their own, whitespace tidied.
//! Every walk is iterative (no recursion), so no tree can overflow the stack.

use ego_tree::iter::Edge;
use scraper::{ElementRef, Node};

use crate::html_limit;

/// Elements that end a line.
pub const BLOCKS: &[&str] = &[
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
    "table",
    "section",
    "article",
    "blockquote",
    "pre",
    "header",
    "footer",
];
/// Elements whose content is never visible text.
pub const SKIP: &[&str] = &["script", "style", "noscript", "iframe", "svg", "template", "head"];

/// Appends the raw visible text below `el` (not `el`'s own line break) to `out`.
pub fn walk_text(el: ElementRef<'_>, out: &mut String) {
    let root = el.id();
    // Depth inside a skipped element (0: not skipping).
    let mut skipping = 0usize;
    for edge in el.traverse() {
        match edge {
            Edge::Open(n) if n.id() != root => match n.value() {
                Node::Text(t) if skipping == 0 => out.push_str(t),
                Node::Element(e) if (skipping > 0 || SKIP.contains(&e.name())) => {
                    skipping += 1;
                }
                _ => {}
            },
            Edge::Close(n) if n.id() != root => {
                if let Node::Element(e) = n.value() {
                    if skipping > 0 {
                        skipping -= 1;
                    } else if BLOCKS.contains(&e.name()) {
                        out.push('\n');
                    }
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

/// Each line with its runs of whitespace made one space and trimmed (ideographic spaces too);
/// empty lines dropped.
pub fn tidy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for line in raw.lines() {
        let mut words = line.split(|c: char| c.is_whitespace() || c == '\u{3000}').filter(|w| !w.is_empty());
        let Some(first) = words.next() else { continue };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(first);
        for w in words {
            out.push(' ');
            out.push_str(w);
        }
    }
    out
}

/// Text of an HTML fragment (feed content, summaries), within the bounds of [`html_limit`]. A
/// fragment too large to parse is reduced to its text by removing the tags.
pub fn html_to_text(html: &str) -> String {
    if !html.contains('<') && !html.contains('&') {
        return tidy(html);
    }
    match html_limit::parse_fragment(html) {
        Ok(frag) => element_text(frag.root_element()),
        Err(_) => tidy(&strip_tags(html)),
    }
}

/// Text of markup by removing tags, comments, scripts and styles, and decoding the common
/// entities. Linear; a fallback for markup too large for a tree.
pub fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..lt]));
        let after = &rest[lt..];
        let lower_head: String = after.chars().take(9).collect::<String>().to_ascii_lowercase();
        let skip_to = if after.starts_with("<!--") {
            after.find("-->").map(|e| e + 3)
        } else if lower_head.starts_with("<script") || lower_head.starts_with("<style") {
            let close = if lower_head.starts_with("<script") { "</script" } else { "</style" };
            find_ascii_case_insensitive(after, close).and_then(|e| after[e..].find('>').map(|g| e + g + 1))
        } else {
            let is_block = BLOCKS.iter().any(|b| {
                let t = after.trim_start_matches(['<', '/']);
                t.len() >= b.len()
                    && t.as_bytes()[..b.len()].eq_ignore_ascii_case(b.as_bytes())
                    && t[b.len()..].starts_with(|c: char| !c.is_ascii_alphanumeric())
            });
            if is_block {
                out.push('\n');
            }
            after.find('>').map(|e| e + 1)
        };
        rest = skip_to.map_or("", |e| &after[e..]);
    }
    out.push_str(&decode_entities(rest));
    out
}

/// Where `needle` (ASCII, lower case, starting with `<`) first occurs in `hay`, ignoring ASCII
/// case. Without copying `hay` (lower-casing the rest of the page at every `<script` made pages of
/// many scripts quadratic).
fn find_ascii_case_insensitive(hay: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    let bytes = hay.as_bytes();
    let mut from = 0;
    while let Some(i) = hay.get(from..)?.find('<') {
        let at = from + i;
        if bytes.get(at..at + needle.len()).is_some_and(|w| w.eq_ignore_ascii_case(needle)) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        // Only the next 11 bytes can hold the `;` (scanning further made runs of `&` quadratic).
        let end = after.bytes().take(11).position(|b| b == b';');
        let decoded = end.and_then(|e| {
            let name = &after[..e];
            match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => {
                    let num = name.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }
            .map(|c| (c, e))
        });
        match decoded {
            Some((c, e)) => {
                out.push(c);
                rest = &after[e + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_make_lines_and_scripts_are_skipped() {
        assert_eq!(
            html_to_text("<p>一 <b>二</b></p><script>var x;</script><div>三<br>四</div>\u{3000}五"),
            "一 二\n三\n四\n五"
        );
        assert_eq!(html_to_text("纯文本 &amp; 实体"), "纯文本 & 实体");
    }

    #[test]
    fn deep_fragments_give_their_text() {
        for (open, close) in [
            ("<div>", "</div>"),
            ("<span>", "</span>"),
            ("<b>", "</b>"),
            ("<i>", "</i>"),
            ("<table><tr><td>", "</td></tr></table>"),
        ] {
            let html = format!("{}深层正文{}", open.repeat(100_000), close.repeat(100_000));
            assert_eq!(html_to_text(&html), "深层正文", "{open}");
        }
    }

    // Found with the fuzz target `html_text` (docs/FUZZING.md): both took minutes before the fix.
    #[test]
    fn tag_stripping_is_linear_in_ampersands_and_script_tags() {
        let started = std::time::Instant::now();
        // Every `&` used to scan the rest of the text for a `;`.
        assert_eq!(strip_tags(&"&".repeat(2_000_000)).len(), 2_000_000);
        // Every `<script` used to lower-case the rest of the page.
        assert_eq!(strip_tags(&format!("{}甲", "<SCRIPT>x</Script>".repeat(200_000))), "甲");
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
    }

    #[test]
    fn the_tag_stripping_fallback_reads_text() {
        assert_eq!(
            tidy(&strip_tags("<p>甲&lt;乙&gt;</p><script>x<y</script><!-- c --><div>丙&#19969;&#x4E01;</div>")),
            "甲<乙>\n丙丁丁"
        );
        assert_eq!(strip_tags("甲<ScRiPt>x</sCrIpT >乙<style>y</STYLE>丙<script>不闭合"), "甲乙丙");
        assert_eq!(strip_tags("&amp1;&#x4E01;&#1234567890;&;"), "&amp1;丁&#1234567890;&;");
    }
}
