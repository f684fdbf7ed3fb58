//! XLSX: the same document as sheets — 概要 (title, text, forms), one sheet per table (header row
//! frozen, auto-filter), and one sheet per chart with its numbers and a native Excel chart.

use rust_xlsxwriter::{
    Chart, ChartFormat, ChartSolidFill, ChartType, Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
    XlsxError,
};

use crate::render::{Block, Cell, Document, Scope, Table};
use crate::{ReportError, Result};

fn err(e: XlsxError) -> ReportError {
    ReportError::Write { what: "Excel", detail: e.to_string() }
}

const FONT: &str = "宋体";

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique in the book.
fn sheet_name(want: &str, used: &mut Vec<String>) -> String {
    let clean: String = want.chars().filter(|c| !"[]:*?/\\'".contains(*c)).take(28).collect();
    let base = if clean.is_empty() { "表".to_string() } else { clean };
    let mut name = base.clone();
    let mut k = 2;
    while used.contains(&name) {
        name = format!("{base}{k}");
        k += 1;
    }
    used.push(name.clone());
    name
}

fn write_table(
    ws: &mut Worksheet,
    t: &Table,
    header: &Format,
    cell: &Format,
    alarm: &Format,
    link: &Format,
) -> std::result::Result<(), XlsxError> {
    for (c, h) in t.header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, header)?;
        let w = t.widths.get(c).copied().unwrap_or(2).clamp(1, 12) as f64 * 6.0;
        ws.set_column_width(c as u16, w)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = (r + 1) as u32;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match v {
                Cell::Num(n) => {
                    ws.write_number_with_format(r, c, *n, cell)?;
                }
                Cell::Text(s) => {
                    ws.write_string_with_format(r, c, s, cell)?;
                }
                Cell::Alarm(s) => {
                    ws.write_string_with_format(r, c, s, alarm)?;
                }
                Cell::Link { text, url } if url.starts_with("http://") || url.starts_with("https://") => {
                    ws.write_url_with_format(r, c, rust_xlsxwriter::Url::new(url).set_text(text), link)?;
                }
                Cell::Link { text, .. } => {
                    ws.write_string_with_format(r, c, text, cell)?;
                }
            }
        }
    }
    if !t.header.is_empty() {
        ws.set_freeze_panes(1, 0)?;
        ws.autofilter(0, 0, t.rows.len() as u32, (t.header.len() - 1) as u16)?;
    }
    Ok(())
}

fn build(doc: &Document) -> std::result::Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let title_f = Format::new().set_bold().set_font_size(16).set_font_name(FONT);
    let head_f = Format::new().set_bold().set_font_size(13).set_font_name(FONT);
    let text_f = Format::new().set_font_name(FONT).set_text_wrap().set_align(FormatAlign::Top);
    let header = Format::new()
        .set_bold()
        .set_font_name(FONT)
        .set_background_color(Color::RGB(0xE7ECF3))
        .set_border(FormatBorder::Thin)
        .set_text_wrap();
    let cell =
        Format::new().set_font_name(FONT).set_border(FormatBorder::Thin).set_text_wrap().set_align(FormatAlign::Top);
    let alarm = cell.clone().set_bold().set_font_color(Color::RGB(0xC00000));
    let link =
        cell.clone().set_font_color(Color::RGB(0x1F5FBF)).set_underline(rust_xlsxwriter::FormatUnderline::Single);
    let mut used = Vec::new();

    // 概要: everything that is not a table or chart, in order.
    let summary = wb.add_worksheet();
    summary.set_name(sheet_name("概要", &mut used))?;
    summary.set_column_width(0, 28)?;
    summary.set_column_width(1, 90)?;
    let mut r = 0u32;
    summary.write_string_with_format(r, 0, &doc.title, &title_f)?;
    r += 1;
    for m in &doc.meta {
        summary.write_string_with_format(r, 0, m, &text_f)?;
        r += 1;
    }
    r += 1;
    for b in &doc.blocks {
        match b {
            Block::Heading(t) | Block::Subheading(t) => {
                summary.write_string_with_format(r, 0, t, &head_f)?;
                r += 1;
            }
            Block::Para(t) => {
                summary.write_string_with_format(r, 0, t, &text_f)?;
                r += 1;
            }
            Block::Fields(fields) => {
                for (k, v) in fields {
                    summary.write_string_with_format(r, 0, k, &header)?;
                    summary.write_string_with_format(r, 1, v, &cell)?;
                    r += 1;
                }
            }
            Block::Table(t) if t.scope == Scope::Print => {}
            Block::Table(t) => {
                summary.write_string_with_format(r, 0, format!("（见工作表“{}”）", t.name), &text_f)?;
                r += 1;
            }
            Block::Chart(c) => {
                summary.write_string_with_format(r, 0, format!("（图表见工作表“{}”）", c.title), &text_f)?;
                r += 1;
            }
        }
    }
    for s in doc.signature.iter().filter(|s| !s.is_empty()) {
        summary.write_string_with_format(r, 1, s, &text_f)?;
        r += 1;
    }

    for b in &doc.blocks {
        match b {
            Block::Table(t) if t.scope != Scope::Print => {
                let ws = wb.add_worksheet();
                ws.set_name(sheet_name(&t.name, &mut used))?;
                write_table(ws, t, &header, &cell, &alarm, &link)?;
            }
            Block::Chart(c) => {
                let name = sheet_name(&c.title, &mut used);
                let ws = wb.add_worksheet();
                ws.set_name(&name)?;
                ws.write_string_with_format(0, 0, "项目", &header)?;
                ws.set_column_width(0, 14)?;
                for (k, s) in c.series.iter().enumerate() {
                    ws.write_string_with_format(0, (k + 1) as u16, &s.name, &header)?;
                }
                let num = if c.percent { cell.clone().set_num_format("0.0%") } else { cell.clone() };
                for (i, l) in c.labels.iter().enumerate() {
                    ws.write_string_with_format((i + 1) as u32, 0, l, &cell)?;
                    for (k, s) in c.series.iter().enumerate() {
                        ws.write_number_with_format(
                            (i + 1) as u32,
                            (k + 1) as u16,
                            s.values.get(i).copied().unwrap_or(0.0),
                            &num,
                        )?;
                    }
                }
                if !c.labels.is_empty() {
                    let mut chart = Chart::new(if c.stacked { ChartType::ColumnStacked } else { ChartType::Column });
                    chart.title().set_name(&c.title);
                    let last = c.labels.len() as u32;
                    for (k, s) in c.series.iter().enumerate() {
                        let col = (k + 1) as u16;
                        let rgb = (s.color[0] as u32) << 16 | (s.color[1] as u32) << 8 | s.color[2] as u32;
                        chart
                            .add_series()
                            .set_name((name.as_str(), 0, col))
                            .set_categories((name.as_str(), 1, 0, last, 0))
                            .set_values((name.as_str(), 1, col, last, col))
                            .set_format(
                                ChartFormat::new().set_solid_fill(ChartSolidFill::new().set_color(Color::RGB(rgb))),
                            );
                    }
                    if c.percent {
                        chart.y_axis().set_num_format("0%");
                    }
                    ws.insert_chart(1, (c.series.len() + 2) as u16, &chart)?;
                }
            }
            _ => {}
        }
    }
    wb.save_to_buffer()
}

/// Writes the document as an .xlsx file's bytes.
pub fn write(doc: &Document) -> Result<Vec<u8>> {
    build(doc).map_err(err)
}
