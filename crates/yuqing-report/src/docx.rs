//! DOCX in the layout of GB/T 9704-2012 (党政机关公文格式): A4, margins top 37 mm, bottom 35 mm,
//! left 28 mm, right 26 mm; title in 小标宋 二号 (22 pt) centred; body in 仿宋_GB2312 三号 (16 pt)
//! with a fixed 28.95 pt line; 一级标题 黑体, 二级标题 楷体_GB2312; page numbers “— N —” in 宋体
//! 四号 at the foot. Fonts are declared with fallbacks (仿宋 / FangSong / STFangsong …) in the font
//! table so a machine without the GB2312 fonts still shows the right faces.
//!
//! Written by hand as WordprocessingML in a zip: the parts are few and their content is ours.

use std::io::Write;

use zip::write::SimpleFileOptions;

use crate::render::{Block, Cell, Document, Scope, Table};
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

/// A paragraph in a style; `jc` is the alignment, `indent` a two-character first-line indent.
fn para(style: &str, text: &str, east: &str, size: u32, jc: Option<&str>, indent: bool) -> String {
    let jc = jc.map(|j| format!("<w:jc w:val=\"{j}\"/>")).unwrap_or_default();
    let ind = if indent { "<w:ind w:firstLineChars=\"200\" w:firstLine=\"640\"/>" } else { "" };
    format!("<w:p><w:pPr><w:pStyle w:val=\"{style}\"/>{ind}{jc}</w:pPr>{}</w:p>", run(text, east, size, false))
}

fn body(text: &str) -> String {
    text.split('\n').map(|l| para("Normal", l, BODY_FONT, BODY_SIZE, Some("both"), true)).collect()
}

fn cell_xml(text_lines: &[String], width: u32, header: bool, alarm: bool) -> String {
    let shade = if header { "<w:shd w:val=\"clear\" w:color=\"auto\" w:fill=\"E7ECF3\"/>" } else { "" };
    let mut s =
        format!("<w:tc><w:tcPr><w:tcW w:w=\"{width}\" w:type=\"dxa\"/>{shade}<w:vAlign w:val=\"center\"/></w:tcPr>");
    for l in text_lines {
        let r = if alarm {
            format!(
                "<w:r>{}<w:t xml:space=\"preserve\">{}</w:t></w:r>",
                rpr(BODY_FONT, TABLE_SIZE, true).replace("<w:sz ", "<w:color w:val=\"C00000\"/><w:sz "),
                xml_escape(l)
            )
        } else {
            run(l, if header { HEADING1_FONT } else { BODY_FONT }, TABLE_SIZE, false)
        };
        s.push_str(&format!(
            "<w:p><w:pPr><w:pStyle w:val=\"TableText\"/>{}</w:pPr>{r}</w:p>",
            if header { "<w:jc w:val=\"center\"/>" } else { "" }
        ));
    }
    if text_lines.is_empty() {
        s.push_str("<w:p><w:pPr><w:pStyle w:val=\"TableText\"/></w:pPr></w:p>");
    }
    s.push_str("</w:tc>");
    s
}

fn col_widths(weights: &[u32], n: usize) -> Vec<u32> {
    let w: Vec<u32> = (0..n).map(|i| weights.get(i).copied().unwrap_or(1).max(1)).collect();
    let total: u32 = w.iter().sum();
    w.iter().map(|x| TEXT_W * x / total).collect()
}

/// `heights`: a minimum row height in twips per row (0: as the text needs).
fn table_xml(header: Option<&[String]>, rows: &[Vec<(Vec<String>, bool)>], widths: &[u32], heights: &[u32]) -> String {
    let border = "w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"";
    let mut s = format!(
        "<w:tbl><w:tblPr><w:tblStyle w:val=\"TableGrid\"/><w:tblW w:w=\"{TEXT_W}\" w:type=\"dxa\"/><w:jc w:val=\"center\"/><w:tblBorders><w:top {border}/><w:left {border}/><w:bottom {border}/><w:right {border}/><w:insideH {border}/><w:insideV {border}/></w:tblBorders><w:tblLayout w:type=\"fixed\"/></w:tblPr><w:tblGrid>"
    );
    for w in widths {
        s.push_str(&format!("<w:gridCol w:w=\"{w}\"/>"));
    }
    s.push_str("</w:tblGrid>");
    if let Some(h) = header {
        s.push_str("<w:tr><w:trPr><w:tblHeader/></w:trPr>");
        for (i, c) in h.iter().enumerate() {
            s.push_str(&cell_xml(std::slice::from_ref(c), widths[i], true, false));
        }
        s.push_str("</w:tr>");
    }
    for (k, r) in rows.iter().enumerate() {
        match heights.get(k).copied().unwrap_or(0) {
            0 => s.push_str("<w:tr>"),
            h => s.push_str(&format!("<w:tr><w:trPr><w:trHeight w:val=\"{h}\" w:hRule=\"atLeast\"/></w:trPr>")),
        }
        for (i, (lines, alarm)) in r.iter().enumerate() {
            s.push_str(&cell_xml(lines, widths.get(i).copied().unwrap_or(1000), false, *alarm));
        }
        s.push_str("</w:tr>");
    }
    s.push_str("</w:tbl>");
    // A table must be followed by a paragraph before the section properties.
    s.push_str("<w:p><w:pPr><w:pStyle w:val=\"Normal\"/></w:pPr></w:p>");
    s
}

fn table(t: &Table) -> String {
    let widths = col_widths(&t.widths, t.header.len());
    let rows: Vec<Vec<(Vec<String>, bool)>> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Cell::Link { text, url } => (vec![text.clone(), url.clone()], false),
                    Cell::Alarm(s) => (vec![s.clone()], true),
                    other => (other.text().split('\n').map(String::from).collect(), false),
                })
                .collect()
        })
        .collect();
    if rows.is_empty() {
        let mut empty = vec![(vec!["（无）".to_string()], false)];
        empty.extend((1..t.header.len()).map(|_| (Vec::new(), false)));
        return table_xml(Some(&t.header), &[empty], &widths, &[]);
    }
    table_xml(Some(&t.header), &rows, &widths, &[])
}

fn image_xml(rid: &str, id: usize, cx: u64, cy: u64) -> String {
    format!(
        "<w:p><w:pPr><w:jc w:val=\"center\"/></w:pPr><w:r><w:drawing><wp:inline distT=\"0\" distB=\"0\" distL=\"0\" distR=\"0\"><wp:extent cx=\"{cx}\" cy=\"{cy}\"/><wp:docPr id=\"{id}\" name=\"图表{id}\"/><wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect=\"1\"/></wp:cNvGraphicFramePr><a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"><pic:pic><pic:nvPicPr><pic:cNvPr id=\"{id}\" name=\"chart{id}.png\"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed=\"{rid}\"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"{cx}\" cy=\"{cy}\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>"
    )
}

const NS: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\" xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:pic=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"";

/// Writes the document as a .docx file's bytes.
pub fn write(doc: &Document) -> Result<Vec<u8>> {
    let mut images: Vec<Vec<u8>> = Vec::new();
    let mut b = String::new();
    b.push_str(&para("Title", &doc.title, TITLE_FONT, TITLE_SIZE, Some("center"), false));
    for m in &doc.meta {
        b.push_str(&para("Normal", m, BODY_FONT, BODY_SIZE, None, false));
    }
    for block in &doc.blocks {
        match block {
            Block::Heading(t) => b.push_str(&para("Heading1", t, HEADING1_FONT, BODY_SIZE, None, true)),
            Block::Subheading(t) => b.push_str(&para("Heading2", t, HEADING2_FONT, BODY_SIZE, None, true)),
            Block::Para(t) => b.push_str(&body(t)),
            Block::Fields(fields) => {
                let widths = col_widths(&[1, 3], 2);
                let rows: Vec<Vec<(Vec<String>, bool)>> = fields
                    .iter()
                    .map(|(k, v)| vec![(vec![k.clone()], false), (v.split('\n').map(String::from).collect(), false)])
                    .collect();
                // The narrative fields of a form get room to write in (about 2.5 cm).
                let heights: Vec<u32> = fields
                    .iter()
                    .map(|(k, _)| if ["原因", "措施", "口径", "结果"].iter().any(|w| k.contains(w)) { 1400 } else { 0 })
                    .collect();
                b.push_str(&table_xml(None, &rows, &widths, &heights));
            }
            Block::Table(t) if t.scope != Scope::Sheet => b.push_str(&table(t)),
            Block::Table(_) => {}
            Block::Chart(c) => {
                let png = c.png(1200, 520)?;
                images.push(png);
                let n = images.len();
                // 156 mm wide (the type area), 1200:520.
                let cx: u64 = 156 * 36_000;
                let cy: u64 = cx * 520 / 1200;
                b.push_str(&image_xml(&format!("rIdImg{n}"), n, cx, cy));
                b.push_str(&para("Caption", &c.caption(), HEADING2_FONT, TABLE_SIZE, Some("center"), false));
            }
        }
    }
    for s in doc.signature.iter().filter(|s| !s.is_empty()) {
        b.push_str(&para("Normal", s, BODY_FONT, BODY_SIZE, Some("right"), false));
    }
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:document {NS}><w:body>{b}<w:sectPr><w:footerReference w:type=\"default\" r:id=\"rIdFooter\"/><w:pgSz w:w=\"{PAGE_W}\" w:h=\"{PAGE_H}\"/><w:pgMar w:top=\"{MARGIN_TOP}\" w:right=\"{MARGIN_RIGHT}\" w:bottom=\"{MARGIN_BOTTOM}\" w:left=\"{MARGIN_LEFT}\" w:header=\"851\" w:footer=\"992\" w:gutter=\"0\"/><w:docGrid w:type=\"lines\" w:linePitch=\"{LINE}\"/></w:sectPr></w:body></w:document>"
    );
    let mut rels = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rIdStyles\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/><Relationship Id=\"rIdFonts\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable\" Target=\"fontTable.xml\"/><Relationship Id=\"rIdSettings\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings\" Target=\"settings.xml\"/><Relationship Id=\"rIdFooter\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer\" Target=\"footer1.xml\"/>");
    for i in 1..=images.len() {
        rels.push_str(&format!("<Relationship Id=\"rIdImg{i}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image\" Target=\"media/chart{i}.png\"/>"));
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
        put("word/footer1.xml", footer().as_bytes())?;
        for (i, img) in images.iter().enumerate() {
            put(&format!("word/media/chart{}.png", i + 1), img)?;
        }
        z.finish().map_err(err)?;
    }
    Ok(out.into_inner())
}

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Default Extension=\"png\" ContentType=\"image/png\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/><Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/><Override PartName=\"/word/fontTable.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.fontTable+xml\"/><Override PartName=\"/word/settings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml\"/><Override PartName=\"/word/footer1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/><Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/><Override PartName=\"/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.extended-properties+xml\"/></Types>";

const ROOT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/><Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/><Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties\" Target=\"docProps/app.xml\"/></Relationships>";

const APP: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\"><Application>yuqing</Application></Properties>";

const SETTINGS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:settings xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:defaultTabStop w:val=\"420\"/><w:characterSpacingControl w:val=\"compressPunctuation\"/><w:compat><w:compatSetting w:name=\"compatibilityMode\" w:uri=\"http://schemas.microsoft.com/office/word\" w:val=\"15\"/></w:compat></w:settings>";

/// Font table: each face with its fallbacks (`altName`) and the alternatives declared as fonts of
/// their own, so Word, WPS and LibreOffice each find one they have.
const FONT_TABLE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:fonts xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
<w:font w:name=\"仿宋_GB2312\"><w:altName w:val=\"仿宋\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"仿宋\"><w:altName w:val=\"FangSong\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"FangSong\"><w:altName w:val=\"STFangsong\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"STFangsong\"><w:altName w:val=\"华文仿宋\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"方正小标宋简体\"><w:altName w:val=\"方正小标宋_GBK\"/><w:charset w:val=\"86\"/><w:family w:val=\"script\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"方正小标宋_GBK\"><w:altName w:val=\"小标宋\"/><w:charset w:val=\"86\"/><w:family w:val=\"script\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"小标宋\"><w:altName w:val=\"SimSun\"/><w:charset w:val=\"86\"/><w:family w:val=\"auto\"/><w:pitch w:val=\"variable\"/></w:font>\
<w:font w:name=\"黑体\"><w:altName w:val=\"SimHei\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"SimHei\"><w:altName w:val=\"STHeiti\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"楷体_GB2312\"><w:altName w:val=\"楷体\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"楷体\"><w:altName w:val=\"KaiTi\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
<w:font w:name=\"KaiTi\"><w:altName w:val=\"STKaiti\"/><w:charset w:val=\"86\"/><w:family w:val=\"modern\"/><w:pitch w:val=\"fixed\"/></w:font>\
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
{}{}{}{}{}{}\
<w:style w:type=\"table\" w:styleId=\"TableGrid\"><w:name w:val=\"Table Grid\"/><w:tblPr><w:tblBorders><w:top w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:left w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:bottom w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:right w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:insideH w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/><w:insideV w:val=\"single\" w:sz=\"4\" w:space=\"0\" w:color=\"000000\"/></w:tblBorders></w:tblPr></w:style>\
</w:styles>",
        rpr(BODY_FONT, BODY_SIZE, false),
        style("Normal", "Normal", BODY_FONT, BODY_SIZE, &spacing, false).replacen("<w:style ", "<w:style w:default=\"1\" ", 1),
        style("Title", "Title", TITLE_FONT, TITLE_SIZE, "<w:spacing w:before=\"0\" w:after=\"579\" w:line=\"700\" w:lineRule=\"exact\"/><w:jc w:val=\"center\"/>", true),
        style("Heading1", "heading 1", HEADING1_FONT, BODY_SIZE, "<w:keepNext/><w:outlineLvl w:val=\"0\"/>", true),
        style("Heading2", "heading 2", HEADING2_FONT, BODY_SIZE, "<w:keepNext/><w:outlineLvl w:val=\"1\"/>", true),
        style("TableText", "Table Text", BODY_FONT, TABLE_SIZE, "<w:snapToGrid w:val=\"0\"/><w:spacing w:line=\"300\" w:lineRule=\"auto\"/>", false),
        style("Caption", "caption", HEADING2_FONT, TABLE_SIZE, "<w:snapToGrid w:val=\"0\"/><w:spacing w:line=\"300\" w:lineRule=\"auto\"/><w:jc w:val=\"center\"/>", false),
    )
}

fn footer() -> String {
    let r = |t: &str| format!("<w:r>{}<w:t xml:space=\"preserve\">{t}</w:t></w:r>", rpr("宋体", 28, false));
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:ftr xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:p><w:pPr><w:jc w:val=\"center\"/></w:pPr>{}<w:r>{}<w:fldChar w:fldCharType=\"begin\"/></w:r><w:r>{}<w:instrText xml:space=\"preserve\"> PAGE </w:instrText></w:r><w:r>{}<w:fldChar w:fldCharType=\"separate\"/></w:r>{}<w:r>{}<w:fldChar w:fldCharType=\"end\"/></w:r>{}</w:p></w:ftr>",
        r("— "),
        rpr("宋体", 28, false),
        rpr("宋体", 28, false),
        rpr("宋体", 28, false),
        r("1"),
        rpr("宋体", 28, false),
        r(" —")
    )
}

fn core(title: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>{}</dc:title><dc:creator>yuqing</dc:creator></cp:coreProperties>",
        xml_escape(title)
    )
}
