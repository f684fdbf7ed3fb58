//! HTML: the document as a fragment for the server's 报表 pages, or as a standalone page (styles
//! inline, charts as SVG, nothing fetched from elsewhere) for download and printing.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::render::{Block, Cell, Document, Scope};

fn safe_url(u: &str) -> bool {
    u.starts_with("http://") || u.starts_with("https://") || u.starts_with('/')
}

/// Text with its line breaks kept.
fn lines(s: &str) -> Markup {
    html! { @for (i, l) in s.split('\n').enumerate() { @if i > 0 { br; } (l) } }
}

/// The document's body as HTML (no page shell).
pub fn fragment(doc: &Document) -> Markup {
    html! {
        article.report {
            h1.report-title { (doc.title) }
            @for m in &doc.meta { p.report-meta { (m) } }
            @for b in &doc.blocks {
                @match b {
                    Block::Heading(t) => h2 { (t) },
                    Block::Subheading(t) => h3 { (t) },
                    Block::Para(t) => p { (linkify(t)) },
                    Block::Fields(fields) => table.form {
                        @for (k, v) in fields { tr { th { (k) } td { (lines(v)) } } }
                    },
                    Block::Table(t) if t.scope == Scope::Sheet => {}
                    Block::Table(t) => table.data data-name=(t.name) {
                        thead { tr { @for h in &t.header { th { (h) } } } }
                        tbody {
                            @if t.rows.is_empty() {
                                tr { td colspan=(t.header.len().max(1)) class="muted" { "（无）" } }
                            }
                            @for r in &t.rows {
                                tr { @for c in r {
                                    @match c {
                                        Cell::Num(_) | Cell::Pct(_) => td.num { (c.text()) },
                                        Cell::Time(_) | Cell::Day(_) => td.time { (c.text()) },
                                        Cell::Text(t) => td { (lines(t)) },
                                        Cell::Alarm(t) => td.late { (t) },
                                        Cell::Link { text, url } if safe_url(url) => td {
                                            a href=(url) rel="noopener noreferrer" { (text) }
                                        },
                                        Cell::Link { text, .. } => td { (text) },
                                    }
                                } }
                            }
                        }
                    },
                    Block::Chart(c) => figure { (c.svg(760, 260)) figcaption { (c.title) } },
                }
            }
            @for sig in doc.signature.iter().filter(|s| !s.is_empty()) { p.report-sign { (sig) } }
        }
    }
}

/// Text with the http(s) addresses in it as links.
fn linkify(t: &str) -> Markup {
    html! {
        @for (i, word) in t.split(' ').enumerate() {
            @if i > 0 { " " }
            @let (core, rest) = match word.find(['（', '）', '，']) {
                Some(k) => word.split_at(k),
                None => (word, ""),
            };
            @if core.starts_with("http://") || core.starts_with("https://") {
                a href=(core) rel="noopener noreferrer" { (core) } (rest)
            } @else if let Some(k) = word.find("http://").or_else(|| word.find("https://")) {
                (word.get(..k).unwrap_or("")) (linkify(word.get(k..).unwrap_or("")))
            } @else {
                (word)
            }
        }
    }
}

/// Styles of the report fragment (also used inside the server's pages).
pub const STYLE: &str = "article.report{background:#fff;border:1px solid #e4e7ec;border-radius:8px;padding:18px 28px;max-width:900px}\
.report-title{text-align:center;font-family:'方正小标宋简体','FZXiaoBiaoSong-B05S','SimSun',serif;font-size:22pt;font-weight:400}\
article.report p,article.report td{font-family:'仿宋_GB2312','FangSong','STFangsong',serif}\
article.report h2{font-family:'黑体','SimHei',sans-serif;font-size:16pt;font-weight:400}\
article.report h3{font-family:'楷体_GB2312','KaiTi','STKaiti',serif;font-size:16pt;font-weight:400}\
.report-meta{margin:2px 0}.report-sign{text-align:right;margin:2px 4em 2px 0}\
table.form th{width:28%;background:#f0f2f5}table.form,table.data{margin:8px 0 14px}\
table.data td.num{text-align:right}table.data td.time{white-space:nowrap}td.late{color:#d92d20;font-weight:600}figure{margin:10px 0}figcaption{text-align:center;color:#667085;font-size:13px}";

/// The page styles of the standalone document (inline: the file is read on its own).
const PAGE_STYLE: &str = "body{margin:24px;background:#f6f7f9;color:#1d2430;font-size:16px;line-height:1.7}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #d0d5dd;padding:6px 8px;text-align:left;vertical-align:top}\
svg.chart{background:#fff}";

/// The document as a page of its own.
pub fn standalone(doc: &Document) -> String {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { (doc.title) }
                // Constant style sheets of this module, not text from a report.
                style { (PreEscaped(PAGE_STYLE)) (PreEscaped(STYLE)) }
            }
            body { (fragment(doc)) }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_addresses_become_links() {
        let l = linkify("见 https://a.example/?x=1&y=<2>（原文） 与 前缀https://b.example 和 <b>").into_string();
        assert_eq!(
            l,
            "见 <a href=\"https://a.example/?x=1&amp;y=&lt;2&gt;\" rel=\"noopener noreferrer\">https://a.example/?x=1&amp;y=&lt;2&gt;</a>（原文） \
             与 前缀<a href=\"https://b.example\" rel=\"noopener noreferrer\">https://b.example</a> 和 &lt;b&gt;"
        );
        assert_eq!(lines("甲<\n乙").into_string(), "甲&lt;<br>乙");
    }
}
