//! HTML: the document as a fragment for the server's 报表 pages, or as a standalone page (styles
//! inline, charts as SVG, nothing fetched from elsewhere) for download and printing.

pub use yuqing_text::highlight::escape_html as esc;

use crate::render::{Block, Cell, Document, Scope};

fn safe_url(u: &str) -> bool {
    u.starts_with("http://") || u.starts_with("https://") || u.starts_with('/')
}

fn lines(s: &str) -> String {
    s.split('\n').map(esc).collect::<Vec<_>>().join("<br>")
}

/// The document's body as HTML (no page shell).
pub fn fragment(doc: &Document) -> String {
    let mut s = format!("<article class=\"report\"><h1 class=\"report-title\">{}</h1>", esc(&doc.title));
    for m in &doc.meta {
        s.push_str(&format!("<p class=\"report-meta\">{}</p>", esc(m)));
    }
    for b in &doc.blocks {
        match b {
            Block::Heading(t) => s.push_str(&format!("<h2>{}</h2>", esc(t))),
            Block::Subheading(t) => s.push_str(&format!("<h3>{}</h3>", esc(t))),
            Block::Para(t) => s.push_str(&format!("<p>{}</p>", linkify(t))),
            Block::Fields(fields) => {
                s.push_str("<table class=\"form\">");
                for (k, v) in fields {
                    s.push_str(&format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), lines(v)));
                }
                s.push_str("</table>");
            }
            Block::Table(t) if t.scope == Scope::Sheet => {}
            Block::Table(t) => {
                s.push_str(&format!("<table class=\"data\" data-name=\"{}\"><thead><tr>", esc(&t.name)));
                for h in &t.header {
                    s.push_str(&format!("<th>{}</th>", esc(h)));
                }
                s.push_str("</tr></thead><tbody>");
                if t.rows.is_empty() {
                    s.push_str(&format!(
                        "<tr><td colspan=\"{}\" class=\"muted\">（无）</td></tr>",
                        t.header.len().max(1)
                    ));
                }
                for r in &t.rows {
                    s.push_str("<tr>");
                    for c in r {
                        match c {
                            Cell::Num(_) => s.push_str(&format!("<td class=\"num\">{}</td>", esc(&c.text()))),
                            Cell::Text(t) => s.push_str(&format!("<td>{}</td>", lines(t))),
                            Cell::Alarm(t) => s.push_str(&format!("<td class=\"late\">{}</td>", esc(t))),
                            Cell::Link { text, url } if safe_url(url) => s.push_str(&format!(
                                "<td><a href=\"{}\" rel=\"noopener noreferrer\">{}</a></td>",
                                esc(url),
                                esc(text)
                            )),
                            Cell::Link { text, .. } => s.push_str(&format!("<td>{}</td>", esc(text))),
                        }
                    }
                    s.push_str("</tr>");
                }
                s.push_str("</tbody></table>");
            }
            Block::Chart(c) => s.push_str(&format!(
                "<figure>{}<figcaption>{}</figcaption></figure>",
                c.svg(760, 260).into_string(),
                esc(&c.title)
            )),
        }
    }
    for sig in doc.signature.iter().filter(|s| !s.is_empty()) {
        s.push_str(&format!("<p class=\"report-sign\">{}</p>", esc(sig)));
    }
    s.push_str("</article>");
    s
}

/// Escapes text and turns the http(s) addresses in it into links.
fn linkify(t: &str) -> String {
    let mut out = String::new();
    for (i, word) in t.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let (core, rest) = match word.find(['（', '）', '，']) {
            Some(k) => word.split_at(k),
            None => (word, ""),
        };
        if core.starts_with("http://") || core.starts_with("https://") {
            out.push_str(&format!(
                "<a href=\"{}\" rel=\"noopener noreferrer\">{}</a>{}",
                esc(core),
                esc(core),
                esc(rest)
            ));
        } else if let Some(k) = word.find("http://").or_else(|| word.find("https://")) {
            out.push_str(&esc(&word[..k]));
            out.push_str(&linkify(&word[k..]));
        } else {
            out.push_str(&esc(word));
        }
    }
    out
}

/// Styles of the report fragment (also used inside the server's pages).
pub const STYLE: &str = "article.report{background:#fff;border:1px solid #e4e7ec;border-radius:8px;padding:18px 28px;max-width:900px}\
.report-title{text-align:center;font-family:'方正小标宋简体','FZXiaoBiaoSong-B05S','SimSun',serif;font-size:22pt;font-weight:400}\
article.report p,article.report td{font-family:'仿宋_GB2312','FangSong','STFangsong',serif}\
article.report h2{font-family:'黑体','SimHei',sans-serif;font-size:16pt;font-weight:400}\
article.report h3{font-family:'楷体_GB2312','KaiTi','STKaiti',serif;font-size:16pt;font-weight:400}\
.report-meta{margin:2px 0}.report-sign{text-align:right;margin:2px 0}\
table.form th{width:28%;background:#f0f2f5}table.form,table.data{margin:8px 0 14px}\
table.data td.num{text-align:right}td.late{color:#d92d20;font-weight:600}figure{margin:10px 0}figcaption{text-align:center;color:#667085;font-size:13px}";

/// The document as a page of its own.
pub fn standalone(doc: &Document) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{}</title><style>body{{margin:24px;background:#f6f7f9;color:#1d2430;font-size:16px;line-height:1.7}}table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #d0d5dd;padding:6px 8px;text-align:left;vertical-align:top}}svg.chart{{background:#fff}}{STYLE}</style></head><body>{}</body></html>",
        esc(&doc.title),
        fragment(doc)
    )
}
