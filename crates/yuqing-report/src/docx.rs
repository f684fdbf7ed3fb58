//! DOCX in the layout of GB/T 9704-2012 (党政机关公文格式): A4, margins top 37 mm, bottom 35 mm,
//! left 28 mm, right 26 mm; title in 小标宋 二号 (22 pt) centred; body in 仿宋_GB2312 三号 (16 pt)
//! with a fixed 28.95 pt line; 一级标题 黑体, 二级标题 楷体_GB2312; page numbers “— N —” in 宋体
//! 四号 on the outside edges (odd pages right, even left, one character in). Table rows never split
//! across pages and their header repeats; columns are as wide as their content needs; the signature
//! stays with the text above it. Fonts are declared with fallbacks down to the free Linux faces in
//! the font table so a machine without the GB2312 fonts still shows the roles apart.
//!
//! Written by hand as WordprocessingML in a zip: the parts are few and their content is ours.

use std::io::Write;

use zip::write::SimpleFileOptions;

use crate::render::{display_width, Block, Cell, Document, Scope, Table};
use crate::{ReportError, Result};

/// Fonts (east Asian faces) and sizes in half-points.
pub const TITLE_FONT: &str = "方正小标宋简体";
pub const BODY_FONT: &str = "仿宋_GB2312";
pub const HEADING1_FONT: &str = "黑体";
pub const HEADING2_FONT: &str = "楷体_GB2312";
pub const LATIN_FONT: &str = "Times New Roman";
pub const TITLE_SIZE: u32 = 44; // 二号 22 pt
pub const BODY_SIZE: u32 = 32; // 三号 16 pt
pub const TABLE_SIZE: u32 = 24; // 小四 12 pt

/// Page and margins in twentieths of a point (1 mm = 56.69 twips).
const PAGE_W: u32 = 11906;
const PAGE_H: u32 = 16838;
const MARGIN_TOP: u32 = 2098; // 37 mm
const MARGIN_BOTTOM: u32 = 1984; // 35 mm
const MARGIN_LEFT: u32 = 1587; // 28 mm
const MARGIN_RIGHT: u32 = 1474; // 26 mm
#[cfg(test)]
const TEXT_W: u32 = PAGE_W - MARGIN_LEFT - MARGIN_RIGHT;
/// Fixed line pitch: 22 lines on the 225 mm type area.
const LINE: u32 = 579;

fn err(e: impl std::fmt::Display) -> ReportError {
    ReportError::Write { what: "Word", detail: e.to_string() }
}

pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            // Characters XML 1.0 forbids are dropped rather than producing an unreadable file.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => o.push(c),
        }
    }
    o
}

fn rpr(east: &str, size: u32, bold: bool) -> String {
    format!(
        "<w:rPr><w:rFonts w:ascii=\"{LATIN_FONT}\" w:hAnsi=\"{LATIN_FONT}\" w:eastAsia=\"{east}\" w:cs=\"{LATIN_FONT}\"/>{}<w:sz w:val=\"{size}\"/><w:szCs w:val=\"{size}\"/></w:rPr>",
        if bold { "<w:b/>" } else { "" }
    )
}

fn run(text: &str, east: &str, size: u32, bold: bool) -> String {
    format!("<w:r>{}<w:t xml:space=\"preserve\">{}</w:t></w:r>", rpr(east, size, bold), xml_escape(text))
}

/// Paragraph options beyond style and text.
#[derive(Default, Clone, Copy)]
struct P<'a> {
    jc: Option<&'a str>,
    /// Two-character first-line indent.
    indent: bool,
    /// Kept on the page of the next paragraph.
    keep_next: bool,
    /// Right indent in twips.
    right: u32,
}

fn ppr(style: &str, o: P) -> String {
    let keep = if o.keep_next { "<w:keepNext/>" } else { "" };
    let ind = match (o.indent, o.right) {
        (true, 0) => "<w:ind w:firstLineChars=\"200\" w:firstLine=\"640\"/>".to_string(),
        (true, r) => format!("<w:ind w:right=\"{r}\" w:firstLineChars=\"200\" w:firstLine=\"640\"/>"),
        (false, 0) => String::new(),
        (false, r) => format!("<w:ind w:right=\"{r}\"/>"),
    };
    let jc = o.jc.map(|j| format!("<w:jc w:val=\"{j}\"/>")).unwrap_or_default();
    format!("<w:pPr><w:pStyle w:val=\"{style}\"/>{keep}{ind}{jc}</w:pPr>")
}

/// A paragraph in a style.
fn para(style: &str, text: &str, east: &str, size: u32, o: P) -> String {
    format!("<w:p>{}{}</w:p>", ppr(style, o), run(text, east, size, false))
}

fn body(text: &str, keep_next: bool) -> String {
    text.split('\n')
        .map(|l| para("Normal", l, BODY_FONT, BODY_SIZE, P { jc: Some("both"), indent: true, keep_next, right: 0 }))
        .collect()
}

/// Width of a character of the title (二号) in half-ems, and the title line: 156 mm of type area
/// hold twenty characters of 22 pt (8 800 of its 8 845 twips).
const TITLE_LINE_HALF_EMS: u32 = 40;

/// Whether a line may not break between `a` and `b`: inside a number or a date (2026年11月20日,
/// 11月16日—22日), before closing punctuation, after opening punctuation.
fn glued(a: char, b: char) -> bool {
    let date = |c: char| c.is_ascii_digit() || matches!(c, '年' | '月' | '日' | '—' | '-' | '.' | ':');
    (date(a) && date(b))
        || "）〕」』”’》，。、；：！？".contains(b)
        || "（〔「『“‘《".contains(a)
        || (a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric())
}

/// How good a break between `a` and `b` reads: before an opening bracket or after a closing one
/// or a comma is best, after 关于 or before 的 next, between two other characters last.
fn break_rank(prev2: &str, a: char, b: char) -> u32 {
    if "（〔“《".contains(b) || "）〕”》，、：".contains(a) {
        0
    } else if prev2.ends_with("关于") || b == '的' {
        1
    } else {
        3
    }
}

/// The lines of a title: as few as fit [`TITLE_LINE_HALF_EMS`], broken where the words allow
/// (never inside a date), the lines as even as the breaks permit.
pub fn title_lines(title: &str) -> Vec<String> {
    title_lines_in(title, TITLE_LINE_HALF_EMS)
}

/// Width of title text as set: a word processor puts a quarter em between Chinese and a run of
/// digits or Latin letters on each side, one half-em per run.
fn set_width(s: &str) -> u32 {
    let mut runs = 0;
    let mut prev_ascii = false;
    for c in s.chars() {
        let ascii = c.is_ascii_alphanumeric();
        if ascii && !prev_ascii {
            runs += 1;
        }
        prev_ascii = ascii;
    }
    display_width(s) + runs
}

fn title_lines_in(title: &str, max: u32) -> Vec<String> {
    let chars: Vec<char> = title.chars().collect();
    let width = |a: usize, b: usize| set_width(&chars[a..b].iter().collect::<String>());
    if width(0, chars.len()) <= max || chars.len() < 2 {
        return vec![title.to_string()];
    }
    // Best single break for two lines: lowest rank, then the most even lines.
    let mut best: Option<(u32, u32, usize)> = None;
    for k in 1..chars.len() {
        if glued(chars[k - 1], chars[k]) {
            continue;
        }
        let (l, r) = (width(0, k), width(k, chars.len()));
        if l > max || r > max {
            continue;
        }
        let prev2: String = chars[k.saturating_sub(2)..k].iter().collect();
        let key = (break_rank(&prev2, chars[k - 1], chars[k]), l.abs_diff(r), k);
        // A short last line (a lone 日） or 的报告) is worse than any even split.
        let key = if r * 3 < l || l * 3 < r { (key.0 + 2, key.1, k) } else { key };
        if best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
            best = Some(key);
        }
    }
    if let Some((_, _, k)) = best {
        return vec![chars[..k].iter().collect(), chars[k..].iter().collect()];
    }
    // Longer: fill each line, stepping back to the last allowed break.
    let mut lines = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let mut end = start;
        while end < chars.len() && width(start, end + 1) <= max {
            end += 1;
        }
        if end < chars.len() {
            if let Some(k) = (start + 1..=end).rev().find(|&k| !glued(chars[k - 1], chars[k])) {
                end = k;
            }
        }
        end = end.max(start + 1);
        lines.push(chars[start..end].iter().collect());
        start = end;
    }
    lines
}

fn title_xml(title: &str) -> String {
    let lines = title_lines(title);
    let mut runs = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            runs.push_str(&format!("<w:r>{}<w:br/></w:r>", rpr(TITLE_FONT, TITLE_SIZE, false)));
        }
        runs.push_str(&run(l, TITLE_FONT, TITLE_SIZE, false));
    }
    format!("<w:p>{}{runs}</w:p>", ppr("Title", P { jc: Some("center"), ..P::default() }))
}

/// Twips of one half-em of table text (小四, 12 pt) and what a cell adds around its text.
const TABLE_HALF_EM: u32 = 120;
const CELL_PAD: u32 = 240;

/// Column widths in twips fitted to the content within `avail`: every column at least as wide as
/// its header (a long header may take two lines) and its cells that must not wrap (times, numbers,
/// short words); the rest shared by what the text columns would need to stay on one line.
pub fn fit_widths(header: &[String], rows: &[Vec<Cell>], avail: u32) -> Vec<u32> {
    let cols = header.len().max(rows.iter().map(|r| r.len()).max().unwrap_or(0));
    let mut min = vec![0u32; cols];
    let mut want = vec![0u32; cols];
    for c in 0..cols {
        let hw = header.get(c).map_or(0, |h| display_width(h));
        // A header of up to four characters stays on one line; a longer one may take two, as
        // whole characters (五字 as 3 + 2), so the short headers beside it keep their one line.
        let (mut lo, mut hi) = (if hw <= 8 { hw } else { hw.div_ceil(4) * 2 }, hw);
        for r in rows {
            let Some(cell) = r.get(c) else { continue };
            let w = display_width(&cell.text());
            if cell.keeps_whole() {
                // A margin of a quarter for faces wider than Times New Roman and for the spacing
                // a word processor adds between Chinese and digits.
                lo = lo.max(w + w.div_ceil(4));
            }
            hi = hi.max(w);
        }
        min[c] = lo * TABLE_HALF_EM + CELL_PAD;
        want[c] = (hi * TABLE_HALF_EM + CELL_PAD).min(avail * 3 / 5).max(min[c]);
    }
    let total_min: u32 = min.iter().sum();
    if total_min >= avail {
        return min.iter().map(|m| (*m as u64 * avail as u64 / total_min.max(1) as u64) as u32).collect();
    }
    let extra = avail - total_min;
    let need: u32 = want.iter().zip(&min).map(|(w, m)| w - m).sum();
    let mut out: Vec<u32> = if need <= extra {
        want.clone()
    } else {
        min.iter().zip(&want).map(|(m, w)| m + ((w - m) as u64 * extra as u64 / need as u64) as u32).collect()
    };
    // What is left goes to the columns that wrap (else to all), in proportion to their width.
    let used: u32 = out.iter().sum();
    if used < avail {
        let left = avail - used;
        let wrapping: Vec<usize> = (0..cols).filter(|&c| want[c] > min[c]).collect();
        let targets: Vec<usize> = if wrapping.is_empty() { (0..cols).collect() } else { wrapping };
        let base: u32 = targets.iter().map(|&c| out[c]).sum::<u32>().max(1);
        for &c in &targets {
            out[c] += (left as u64 * out[c] as u64 / base as u64) as u32;
        }
    }
    out
}

/// The body being written: its XML, the images and the external links it refers to.
struct Writer {
    xml: String,
    images: Vec<Vec<u8>>,
    links: Vec<String>,
    /// Width of the type area in twips.
    text_w: u32,
}

impl Writer {
    fn link(&mut self, url: &str) -> String {
        let k = match self.links.iter().position(|u| u == url) {
            Some(k) => k,
            None => {
                self.links.push(url.to_string());
                self.links.len() - 1
            }
        };
        format!("rIdLink{}", k + 1)
    }

    /// The paragraphs of one table cell.
    fn cell_paras(&mut self, c: &Cell, keep_next: bool) -> String {
        let keep = if keep_next { "<w:keepNext/>" } else { "" };
        let jc = match c {
            Cell::Num(_) | Cell::Time(_) | Cell::Day(_) | Cell::Pct(_) | Cell::Alarm(_) => "<w:jc w:val=\"center\"/>",
            _ => "",
        };
        let ppr = format!("<w:pPr><w:pStyle w:val=\"TableText\"/>{keep}{jc}</w:pPr>");
        match c {
            Cell::Link { text, url } if url.starts_with("http://") || url.starts_with("https://") => {
                let rid = self.link(url);
                let rp = rpr(BODY_FONT, TABLE_SIZE, false)
                    .replace("<w:sz ", "<w:color w:val=\"1F5FBF\"/><w:u w:val=\"single\"/><w:sz ");
                format!(
                    "<w:p>{ppr}<w:hyperlink r:id=\"{rid}\" w:history=\"1\"><w:r>{rp}<w:t xml:space=\"preserve\">{}</w:t></w:r></w:hyperlink></w:p>",
                    xml_escape(text)
                )
            }
            Cell::Alarm(s) => format!(
                "<w:p>{ppr}<w:r>{}<w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
                rpr(BODY_FONT, TABLE_SIZE, true).replace("<w:sz ", "<w:color w:val=\"C00000\"/><w:sz "),
                xml_escape(s)
            ),
            other => {
                let text = other.text();
                let lines: Vec<&str> = if text.is_empty() { vec![] } else { text.split('\n').collect() };
                if lines.is_empty() {
                    return format!("<w:p>{ppr}</w:p>");
                }
                lines.iter().map(|l| format!("<w:p>{ppr}{}</w:p>", run(l, BODY_FONT, TABLE_SIZE, false))).collect()
            }
        }
    }

    /// A table: rows never split across pages, the header repeated on each page; `keep_last`
    /// keeps the last row with what follows (the signature).
    fn table(
        &mut self,
        header: Option<&[String]>,
        rows: &[Vec<Cell>],
        widths: &[u32],
        heights: &[u32],
        keep_last: bool,
    ) {
        let border = "w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"";
        let total: u32 = widths.iter().sum();
        let mut s = format!(
            "<w:tbl><w:tblPr><w:tblStyle w:val=\"TableGrid\"/><w:tblW w:w=\"{total}\" w:type=\"dxa\"/><w:jc w:val=\"center\"/><w:tblBorders><w:top {border}/><w:left {border}/><w:bottom {border}/><w:right {border}/><w:insideH {border}/><w:insideV {border}/></w:tblBorders><w:tblLayout w:type=\"fixed\"/></w:tblPr><w:tblGrid>"
        );
        for w in widths {
            s.push_str(&format!("<w:gridCol w:w=\"{w}\"/>"));
        }
        s.push_str("</w:tblGrid>");
        if let Some(h) = header {
            s.push_str("<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>");
            for (i, c) in h.iter().enumerate() {
                s.push_str(&format!(
                    "<w:tc><w:tcPr><w:tcW w:w=\"{}\" w:type=\"dxa\"/><w:shd w:val=\"clear\" w:color=\"auto\" w:fill=\"E7ECF3\"/><w:vAlign w:val=\"center\"/></w:tcPr><w:p><w:pPr><w:pStyle w:val=\"TableText\"/><w:keepNext/><w:jc w:val=\"center\"/></w:pPr>{}</w:p></w:tc>",
                    widths.get(i).copied().unwrap_or(1000),
                    run(c, HEADING1_FONT, TABLE_SIZE, false)
                ));
            }
            s.push_str("</w:tr>");
        }
        for (k, r) in rows.iter().enumerate() {
            let last = k + 1 == rows.len();
            match heights.get(k).copied().unwrap_or(0) {
                0 => s.push_str("<w:tr><w:trPr><w:cantSplit/></w:trPr>"),
                h => s.push_str(&format!(
                    "<w:tr><w:trPr><w:cantSplit/><w:trHeight w:val=\"{h}\" w:hRule=\"atLeast\"/></w:trPr>"
                )),
            }
            for (i, c) in r.iter().enumerate() {
                let nowrap = if c.keeps_whole() { "<w:noWrap/>" } else { "" };
                let paras = self.cell_paras(c, keep_last && last);
                s.push_str(&format!(
                    "<w:tc><w:tcPr><w:tcW w:w=\"{}\" w:type=\"dxa\"/>{nowrap}<w:vAlign w:val=\"center\"/></w:tcPr>{paras}</w:tc>",
                    widths.get(i).copied().unwrap_or(1000)
                ));
            }
            s.push_str("</w:tr>");
        }
        s.push_str("</w:tbl>");
        // A little space after the table (and the paragraph a table must be followed by).
        s.push_str(&format!("<w:p>{}</w:p>", ppr("Spacer", P { keep_next: keep_last, ..P::default() })));
        self.xml.push_str(&s);
    }
}

/// The column widths of a table in a type area `text_w` twips wide.
fn widths_for(t: &Table, text_w: u32) -> Vec<u32> {
    fit_widths(&t.header, &t.rows, text_w)
}

fn image_xml(rid: &str, id: usize, cx: u64, cy: u64) -> String {
    format!(
        "<w:p><w:pPr><w:keepNext/><w:jc w:val=\"center\"/></w:pPr><w:r><w:drawing><wp:inline distT=\"0\" distB=\"0\" distL=\"0\" distR=\"0\"><wp:extent cx=\"{cx}\" cy=\"{cy}\"/><wp:docPr id=\"{id}\" name=\"图表{id}\"/><wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect=\"1\"/></wp:cNvGraphicFramePr><a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"><pic:pic><pic:nvPicPr><pic:cNvPr id=\"{id}\" name=\"chart{id}.png\"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed=\"{rid}\"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"{cx}\" cy=\"{cy}\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"
    )
}

const NS: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\" xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:pic=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"";

/// Twips of one half-em of body text (三号, 16 pt).
const BODY_HALF_EM: u32 = 160;

/// Writes the document as a .docx file's bytes.
pub fn write(doc: &Document) -> Result<Vec<u8>> {
    let (page_w, page_h) = if doc.landscape { (PAGE_H, PAGE_W) } else { (PAGE_W, PAGE_H) };
    let text_w = page_w - MARGIN_LEFT - MARGIN_RIGHT;
    let mut w = Writer { xml: String::new(), images: Vec::new(), links: Vec::new(), text_w };
    w.xml.push_str(&title_xml(&doc.title));
    for m in &doc.meta {
        w.xml.push_str(&para("Normal", m, BODY_FONT, BODY_SIZE, P::default()));
    }
    let signed = doc.signature.iter().any(|s| !s.is_empty());
    // The last block on paper (the spreadsheet-only tables are not).
    let last = doc.blocks.iter().rposition(|b| !matches!(b, Block::Table(t) if t.scope == Scope::Sheet)).unwrap_or(0);
    for (bi, block) in doc.blocks.iter().enumerate() {
        // The last block stays on the page of the signature under it.
        let keep = signed && bi == last;
        match block {
            Block::Heading(t) => {
                w.xml.push_str(&para("Heading1", t, HEADING1_FONT, BODY_SIZE, P { indent: true, ..P::default() }))
            }
            Block::Subheading(t) => {
                w.xml.push_str(&para("Heading2", t, HEADING2_FONT, BODY_SIZE, P { indent: true, ..P::default() }))
            }
            Block::Para(t) => w.xml.push_str(&body(t, keep)),
            Block::Fields(fields) => {
                let widths = {
                    let label = (fields.iter().map(|(k, _)| display_width(k)).max().unwrap_or(8).min(16))
                        * TABLE_HALF_EM
                        + CELL_PAD;
                    vec![label, w.text_w - label]
                };
                let rows: Vec<Vec<Cell>> =
                    fields.iter().map(|(k, v)| vec![Cell::Text(k.clone()), Cell::Text(v.clone())]).collect();
                // The narrative fields of a form get room to write in (about two centimetres).
                let heights: Vec<u32> = fields
                    .iter()
                    .map(|(k, _)| if ["原因", "措施", "口径", "结果"].iter().any(|x| k.contains(x)) { 1250 } else { 0 })
                    .collect();
                w.table(None, &rows, &widths, &heights, keep);
            }
            Block::Table(t) if t.scope != Scope::Sheet => {
                let widths = widths_for(t, w.text_w);
                w.table(Some(&t.header), &t.rows, &widths, &[], keep);
            }
            Block::Table(_) => {}
            Block::Chart(c) => {
                let png = c.png(1200, 520)?;
                w.images.push(png);
                let n = w.images.len();
                // 156 mm wide (the portrait type area), 1200:520.
                let cx: u64 = 156 * 36_000;
                let cy: u64 = cx * 520 / 1200;
                w.xml.push_str(&image_xml(&format!("rIdImg{n}"), n, cx, cy));
                w.xml.push_str(&para(
                    "Caption",
                    &c.caption(),
                    HEADING2_FONT,
                    TABLE_SIZE,
                    P { jc: Some("center"), keep_next: keep, ..P::default() },
                ));
            }
        }
    }
    if signed {
        // 正文下空一行，发文机关署名以成文日期为准居中，成文日期右空四字 (GB/T 9704-2012 7.3.5).
        w.xml.push_str(&format!("<w:p>{}</w:p>", ppr("Normal", P { keep_next: true, ..P::default() })));
        let date = doc.signature.last().cloned().unwrap_or_default();
        let date_right = 4 * 2 * BODY_HALF_EM;
        let date_w = display_width(&date);
        let n = doc.signature.len();
        for (k, s) in doc.signature.iter().enumerate() {
            if s.is_empty() {
                continue;
            }
            let right = if k + 1 == n {
                date_right
            } else {
                let sw = display_width(s);
                (date_right as i64 + (date_w as i64 - sw as i64) * BODY_HALF_EM as i64 / 2).max(0) as u32
            };
            w.xml.push_str(&para(
                "Normal",
                s,
                BODY_FONT,
                BODY_SIZE,
                P { jc: Some("right"), keep_next: k + 1 < n, right, ..P::default() },
            ));
        }
    }
    let orient = if doc.landscape { " w:orient=\"landscape\"" } else { "" };
    let b = &w.xml;
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:document {NS}><w:body>{b}<w:sectPr><w:footerReference w:type=\"default\" r:id=\"rIdFooter\"/><w:footerReference w:type=\"even\" r:id=\"rIdFooterEven\"/><w:pgSz w:w=\"{page_w}\" w:h=\"{page_h}\"{orient}/><w:pgMar w:top=\"{MARGIN_TOP}\" w:right=\"{MARGIN_RIGHT}\" w:bottom=\"{MARGIN_BOTTOM}\" w:left=\"{MARGIN_LEFT}\" w:header=\"851\" w:footer=\"992\" w:gutter=\"0\"/><w:docGrid w:type=\"lines\" w:linePitch=\"{LINE}\"/></w:sectPr></w:body></w:document>"
    );
    let mut rels = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rIdStyles\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/><Relationship Id=\"rIdFonts\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable\" Target=\"fontTable.xml\"/><Relationship Id=\"rIdSettings\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings\" Target=\"settings.xml\"/><Relationship Id=\"rIdFooter\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer\" Target=\"footer1.xml\"/><Relationship Id=\"rIdFooterEven\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer\" Target=\"footer2.xml\"/>");
    for i in 1..=w.images.len() {
        rels.push_str(&format!("<Relationship Id=\"rIdImg{i}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image\" Target=\"media/chart{i}.png\"/>"));
    }
    for (i, url) in w.links.iter().enumerate() {
        rels.push_str(&format!(
            "<Relationship Id=\"rIdLink{}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink\" Target=\"{}\" TargetMode=\"External\"/>",
            i + 1,
            xml_escape(url)
        ));
    }
    rels.push_str("</Relationships>");

    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut out);
        let opt = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let mut put = |name: &str, bytes: &[u8]| -> Result<()> {
            z.start_file(name, opt).map_err(err)?;
            z.write_all(bytes).map_err(err)
        };
        put("[Content_Types].xml", CONTENT_TYPES.as_bytes())?;
        put("_rels/.rels", ROOT_RELS.as_bytes())?;
        put("docProps/core.xml", core(&doc.title).as_bytes())?;
        put("docProps/app.xml", APP.as_bytes())?;
        put("word/document.xml", document.as_bytes())?;
        put("word/_rels/document.xml.rels", rels.as_bytes())?;
        put("word/styles.xml", styles().as_bytes())?;
        put("word/fontTable.xml", FONT_TABLE.as_bytes())?;
        put("word/settings.xml", SETTINGS.as_bytes())?;
        put("word/footer1.xml", footer(false).as_bytes())?;
        put("word/footer2.xml", footer(true).as_bytes())?;
        for (i, img) in w.images.iter().enumerate() {
            put(&format!("word/media/chart{}.png", i + 1), img)?;
        }
        z.finish().map_err(err)?;
    }
    Ok(out.into_inner())
}

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Default Extension=\"png\" ContentType=\"image/png\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/><Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/><Override PartName=\"/word/fontTable.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml\"/><Override PartName=\"/word/settings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml\"/><Override PartName=\"/word/footer1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/><Override PartName=\"/word/footer2.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/><Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/><Override PartName=\"/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.extended-properties+xml\"/></Types>";

const ROOT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/><Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/><Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties\" Target=\"docProps/app.xml\"/></Relationships>";

const APP: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\"><Application>yuqing</Application></Properties>";

const SETTINGS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:settings xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:defaultTabStop w:val=\"420\"/><w:evenAndOddHeaders/><w:characterSpacingControl w:val=\"compressPunctuation\"/><w:compat><w:compatSetting w:name=\"compatibilityMode\" w:uri=\"http://schemas.microsoft.com/office/word\" w:val=\"15\"/></w:compat></w:settings>";

/// Font table: each face with its fallback (`altName`), the fallbacks declared as fonts of their
/// own, down to the free faces of Linux: 仿宋 → AR PL UMing → Noto Serif CJK; 小标宋 → SimSun →
/// Noto Serif CJK; 黑体 → SimHei → Noto Sans CJK → WenQuanYi Zen Hei / Micro Hei; 楷体 → KaiTi →
/// AR PL UKai. Word, WPS and LibreOffice each find one they have, and the roles stay apart.
/// (The PDF path also gives LibreOffice the Linux faces as replacements, see `pdf`.)
const FONT_TABLE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:fonts xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
<w:font w:name=\"仿宋_GB2312\"><w:altName w:val=\"仿宋\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"仿宋\"><w:altName w:val=\"FangSong\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"FangSong\"><w:altName w:val=\"STFangsong\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"STFangsong\"><w:altName w:val=\"AR PL UMing CN\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"AR PL UMing CN\"><w:altName w:val=\"Noto Serif CJK SC\"/><w:charset w:val=\"86\"/><w:family w:val=\"roman\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"方正小标宋简体\"><w:altName w:val=\"方正小标宋_GBK\"/><w:charset w:val=\"86\"/><w:family w:val=\"script\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"方正小标宋_GBK\"><w:altName w:val=\"小标宋\"/><w:charset w:val=\"86\"/><w:family w:val=\"script\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"小标宋\"><w:altName w:val=\"SimSun\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"SimSun\"><w:altName w:val=\"Noto Serif CJK SC\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"Noto Serif CJK SC\"><w:altName w:val=\"Source Han Serif SC\"/><w:charset w:val=\"86\"/><w:family w:val=\"roman\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"黑体\"><w:altName w:val=\"SimHei\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"SimHei\"><w:altName w:val=\"STHeiti\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"STHeiti\"><w:altName w:val=\"Noto Sans CJK SC\"/><w:charset w:val=\"86\"/><w:family w:val=\"swiss\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"Noto Sans CJK SC\"><w:altName w:val=\"WenQuanYi Zen Hei\"/><w:charset w:val=\"86\"/><w:family w:val=\"swiss\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"WenQuanYi Zen Hei\"><w:altName w:val=\"WenQuanYi Micro Hei\"/><w:charset w:val=\"86\"/><w:family w:val=\"swiss\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"WenQuanYi Micro Hei\"><w:charset w:val=\"86\"/><w:family w:val=\"swiss\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"楷体_GB2312\"><w:altName w:val=\"楷体\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"楷体\"><w:altName w:val=\"KaiTi\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"KaiTi\"><w:altName w:val=\"STKaiti\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"STKaiti\"><w:altName w:val=\"AR PL UKai CN\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"AR PL UKai CN\"><w:charset w:val=\"86\"/><w:family w:val=\"script\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"宋体\"><w:altName w:val=\"SimSun\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"Times New Roman\"><w:charset w:val=\"00\"/><w:family w:val=\"roman\"/><w:pitch w:val=\"variable\"/></w:font>\
</w:fonts>";

fn style(id: &str, name: &str, east: &str, size: u32, extra_ppr: &str, next: bool) -> String {
    format!(
        "<w:style w:type=\"paragraph\" w:styleId=\"{id}\"><w:name w:val=\"{name}\"/>{}{}<w:qFormat/><w:pPr>{extra_ppr}</w:pPr>{}</w:style>",
        if id == "Normal" { String::new() } else { "<w:basedOn w:val=\"Normal\"/>".to_string() },
        if next { "<w:next w:val=\"Normal\"/>" } else { "" },
        rpr(east, size, false)
    )
}

fn styles() -> String {
    let spacing = format!("<w:spacing w:line=\"{LINE}\" w:lineRule=\"exact\"/>");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
<w:docDefaults><w:rPrDefault>{}</w:rPrDefault><w:pPrDefault><w:pPr>{spacing}</w:pPr></w:pPrDefault></w:docDefaults>\
{}{}{}{}{}{}{}\
<w:style w:type=\"table\" w:styleId=\"TableGrid\"><w:name w:val=\"Table Grid\"/><w:tblPr><w:tblBorders><w:top w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:left w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:bottom w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:right w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:insideH w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:insideV w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/></w:tblBorders></w:tblPr></w:style>\
</w:styles>",
        rpr(BODY_FONT, BODY_SIZE, false),
        style("Normal", "Normal", BODY_FONT, BODY_SIZE, &spacing, false).replacen("<w:style ", "<w:style w:default=\"1\" ", 1),
        style("Title", "Title", TITLE_FONT, TITLE_SIZE, "<w:spacing w:before=\"0\" w:after=\"579\" w:line=\"700\" w:lineRule=\"exact\"/><w:jc w:val=\"center\"/>", true),
        style("Heading1", "heading 1", HEADING1_FONT, BODY_SIZE, "<w:keepNext/><w:outlineLvl w:val=\"0\"/>", true),
        style("Heading2", "heading 2", HEADING2_FONT, BODY_SIZE, "<w:keepNext/><w:outlineLvl w:val=\"1\"/>", true),
        style("TableText", "Table Text", BODY_FONT, TABLE_SIZE, "<w:snapToGrid w:val=\"0\"/><w:spacing w:line=\"300\" w:lineRule=\"auto\"/>", false),
        style("Caption", "caption", HEADING2_FONT, TABLE_SIZE, "<w:snapToGrid w:val=\"0\"/><w:spacing w:line=\"300\" w:lineRule=\"auto\"/><w:jc w:val=\"center\"/>", false),
        style("Spacer", "Spacer", BODY_FONT, TABLE_SIZE, "<w:snapToGrid w:val=\"0\"/><w:spacing w:line=\"200\" w:lineRule=\"exact\"/>", false),
    )
}

/// The page number “— N —” in 宋体 四号 on the outside edge, one character in: right on odd
/// pages, left on even ones (GB/T 9704-2012 7.5).
fn footer(even: bool) -> String {
    let r = |t: &str| format!("<w:r>{}<w:t xml:space=\"preserve\">{t}</w:t></w:r>", rpr("宋体", 28, false));
    let rp = rpr("宋体", 28, false);
    let place = if even {
        "<w:ind w:left=\"280\"/><w:jc w:val=\"left\"/>"
    } else {
        "<w:ind w:right=\"280\"/><w:jc w:val=\"right\"/>"
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:ftr xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:p><w:pPr>{place}</w:pPr>{}<w:r>{rp}<w:fldChar w:fldCharType=\"begin\"/></w:r><w:r>{rp}<w:instrText xml:space=\"preserve\"> PAGE </w:instrText></w:r><w:r>{rp}<w:fldChar w:fldCharType=\"separate\"/></w:r>{}<w:r>{rp}<w:fldChar w:fldCharType=\"end\"/></w:r>{}</w:p></w:ftr>",
        r("— "),
        r(if even { "2" } else { "1" }),
        r(" —")
    )
}

fn core(title: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>{}</dc:title><dc:creator>yuqing</dc:creator></cp:coreProperties>",
        xml_escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_title_stays_on_one_line_and_a_long_one_breaks_outside_its_date() {
        assert_eq!(title_lines("网络舆情日报（2026年11月20日）"), ["网络舆情日报（2026年11月20日）"]);
        // 37 half-ems of characters and five runs of digits, each set a quarter em apart on both
        // sides: too wide for one line of twenty characters.
        assert_eq!(title_lines("网络舆情周报（2020年2月24日至3月1日）"), ["网络舆情周报", "（2020年2月24日至3月1日）"]);
        let week = "某市舆情工作领导小组办公室网络舆情周报（2020年1月13日至1月19日）";
        let lines = title_lines(week);
        assert_eq!(lines, ["某市舆情工作领导小组办公室网络舆情周报", "（2020年1月13日至1月19日）"]);
        for l in &lines {
            assert!(set_width(l) <= TITLE_LINE_HALF_EMS, "{l}");
        }
        // Never “1月 / 19日” nor a lone “日）”.
        for t in [
            "关于“武汉市民反映定点医院床位紧张患者求助无门”的舆情专报",
            "网络舆情处置工作考评统计（2020年1月1日至2020年2月29日）",
        ] {
            let lines = title_lines(t);
            assert_eq!(lines.concat(), t);
            for pair in lines.windows(2) {
                let (a, b) = (pair[0].chars().last().unwrap(), pair[1].chars().next().unwrap());
                assert!(!glued(a, b), "{lines:?}");
                assert!(display_width(&pair[1]) >= 8, "no short last line: {lines:?}");
            }
        }
    }

    #[test]
    fn columns_fit_their_content_headers_and_times_never_wrap() {
        use chrono::TimeZone;
        let at = chrono::FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(2020, 2, 29, 23, 55, 0).unwrap();
        let header: Vec<String> = ["序号", "标题", "站点", "时间", "条数"].map(String::from).to_vec();
        let rows = vec![vec![
            Cell::Num(1.0),
            Cell::Text("武汉市民反映定点医院床位紧张，患者求助无门，希望尽快增加床位".into()),
            Cell::Text("微博".into()),
            Cell::Time(at),
            Cell::Num(120.0),
        ]];
        let w = fit_widths(&header, &rows, TEXT_W);
        assert_eq!(w.iter().sum::<u32>(), TEXT_W, "{w:?}");
        assert!(w[0] >= 4 * TABLE_HALF_EM + CELL_PAD, "序号 on one line: {w:?}");
        assert!(w[3] >= 11 * TABLE_HALF_EM + CELL_PAD, "02-29 23:55 on one line: {w:?}");
        assert!(w[1] > w[3] && w[1] > TEXT_W / 3, "the text column takes the rest: {w:?}");
    }

    #[test]
    fn eight_columns_of_the_stats_table_keep_three_character_headers_on_one_line() {
        // The 考评 table: long headers take two lines so that 工单数 and 已办结 need not wrap.
        let header: Vec<String> =
            ["责任单位", "工单数", "已办结", "首报按时率", "回应按时率", "超时次数", "平均上报用时", "平均回应用时"]
                .map(String::from)
                .to_vec();
        let rows = vec![vec![
            Cell::Text("市卫生健康委员会".into()),
            Cell::Num(12.0),
            Cell::Num(9.0),
            Cell::Pct(Some(0.75)),
            Cell::Pct(None),
            Cell::Num(3.0),
            Cell::Text("1小时20分".into()),
            Cell::Text("15小时".into()),
        ]];
        let w = fit_widths(&header, &rows, TEXT_W);
        assert_eq!(w.iter().sum::<u32>(), TEXT_W, "{w:?}");
        // Word's default cell margins are 108 twips a side; a character of 小四 is 240.
        for c in [1, 2] {
            assert!(w[c] >= 3 * 240 + 216, "{} on one line: {w:?}", header[c]);
        }
        assert!(w[5] >= 4 * 240 + 216, "超时次数 on one line: {w:?}");
        for c in [3, 4, 6, 7] {
            assert!(w[c] >= 3 * 240 + 216, "{} on two lines at most: {w:?}", header[c]);
        }
    }
}
