//! XLSX: the same document as sheets — 概要 (title, text, forms), one sheet per table (header row
//! frozen, auto-filter), and one sheet per chart with its numbers and a native Excel chart. Times
//! are real dates (yyyy-mm-dd hh:mm), shares numbers shown as 0.0%, links clickable; every sheet
//! prints on A4 fitted to the page width with its header row repeated.

use chrono::{Datelike, Timelike};
use rust_xlsxwriter::{
    Chart, ChartFormat, ChartSolidFill, ChartType, Color, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet, XlsxError,
};

use crate::render::{display_width, Block, Cell, Document, Scope, Table};
use crate::{ReportError, Result};

fn err(e: XlsxError) -> ReportError {
    ReportError::Write { what: "Excel", detail: e.to_string() }
}

const FONT: &str = "宋体";
/// Excel's paper code for A4.
const A4: u8 = 9;
/// Width of the 概要 sheet's text (columns A and B together), in Excel character units.
const SUMMARY_LABEL_W: f64 = 26.0;
const SUMMARY_TEXT_W: f64 = 74.0;

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

/// The formats of a book.
struct Formats {
    title: Format,
    head: Format,
    text: Format,
    header: Format,
    cell: Format,
    num: Format,
    alarm: Format,
    link: Format,
    time: Format,
    day: Format,
    pct: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new()
            .set_font_name(FONT)
            .set_border(FormatBorder::Thin)
            .set_text_wrap()
            .set_align(FormatAlign::Top);
        let plain = Format::new().set_font_name(FONT).set_border(FormatBorder::Thin).set_align(FormatAlign::Top);
        Formats {
            title: Format::new().set_bold().set_font_size(16).set_font_name(FONT),
            head: Format::new().set_bold().set_font_size(13).set_font_name(FONT),
            text: Format::new().set_font_name(FONT).set_text_wrap().set_align(FormatAlign::Top),
            header: Format::new()
                .set_bold()
                .set_font_name(FONT)
                .set_background_color(Color::RGB(0xE7ECF3))
                .set_border(FormatBorder::Thin)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_text_wrap(),
            num: plain.clone().set_align(FormatAlign::Right),
            alarm: cell.clone().set_bold().set_font_color(Color::RGB(0xC00000)),
            link: cell
                .clone()
                .set_font_color(Color::RGB(0x1F5FBF))
                .set_underline(rust_xlsxwriter::FormatUnderline::Single),
            time: plain.clone().set_num_format("yyyy-mm-dd hh:mm"),
            day: plain.clone().set_num_format("yyyy-mm-dd"),
            pct: plain.set_num_format("0.0%"),
            cell,
        }
    }
}

fn excel_time(t: &chrono::DateTime<chrono::FixedOffset>) -> std::result::Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)?.and_hms(
        t.hour() as u16,
        t.minute() as u8,
        t.second(),
    )
}

fn excel_day(d: &chrono::NaiveDate) -> std::result::Result<ExcelDateTime, XlsxError> {
    ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
}

/// Width of a column in Excel's units (about one Latin character; a Chinese one takes two), from
/// its longest cell, within 6–60.
fn column_width(t: &Table, c: usize) -> f64 {
    let cells = t.rows.iter().filter_map(|r| r.get(c)).map(|v| match v {
        Cell::Time(_) => 16,
        Cell::Day(_) => 10,
        Cell::Pct(_) => 7,
        Cell::Link { text, .. } => display_width(text),
        other => display_width(&other.text()),
    });
    let header = t.header.get(c).map_or(0, |h| display_width(h));
    let w = cells.chain(std::iter::once(header)).max().unwrap_or(8);
    (w as f64 * 1.1 + 2.0).clamp(6.0, 60.0)
}

/// Sets A4 printing fitted to one page wide, across the page when the sheet is wide, with
/// `header_rows` repeated on every page.
fn print_setup(
    ws: &mut Worksheet,
    rows: u32,
    cols: u16,
    width: f64,
    header_rows: bool,
) -> std::result::Result<(), XlsxError> {
    ws.set_paper_size(A4);
    if width > 110.0 {
        ws.set_landscape();
    }
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_area(0, 0, rows.max(1) - 1, cols.max(1) - 1)?;
    if header_rows {
        ws.set_repeat_rows(0, 0)?;
    }
    ws.set_footer("&C第 &P 页，共 &N 页");
    Ok(())
}

fn write_table(ws: &mut Worksheet, t: &Table, f: &Formats) -> std::result::Result<(), XlsxError> {
    let mut total = 0.0;
    for (c, h) in t.header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, h, &f.header)?;
        let w = column_width(t, c);
        total += w;
        ws.set_column_width(c as u16, w)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = (r + 1) as u32;
        for (c, v) in row.iter().enumerate() {
            let c = c as u16;
            match v {
                Cell::Num(n) => {
                    ws.write_number_with_format(r, c, *n, &f.num)?;
                }
                Cell::Text(s) => {
                    ws.write_string_with_format(r, c, s, &f.cell)?;
                }
                Cell::Alarm(s) => {
                    ws.write_string_with_format(r, c, s, &f.alarm)?;
                }
                Cell::Time(t) => {
                    ws.write_datetime_with_format(r, c, excel_time(t)?, &f.time)?;
                }
                Cell::Day(d) => {
                    ws.write_datetime_with_format(r, c, excel_day(d)?, &f.day)?;
                }
                Cell::Pct(Some(p)) => {
                    ws.write_number_with_format(r, c, *p, &f.pct)?;
                }
                Cell::Pct(None) => {
                    ws.write_string_with_format(r, c, "—", &f.num)?;
                }
                Cell::Link { text, url } if url.starts_with("http://") || url.starts_with("https://") => {
                    ws.write_url_with_format(r, c, rust_xlsxwriter::Url::new(url).set_text(text), &f.link)?;
                }
                Cell::Link { text, .. } => {
                    ws.write_string_with_format(r, c, text, &f.cell)?;
                }
            }
        }
    }
    if !t.header.is_empty() {
        ws.set_freeze_panes(1, 0)?;
        ws.autofilter(0, 0, t.rows.len() as u32, (t.header.len() - 1) as u16)?;
        print_setup(ws, t.rows.len() as u32 + 1, t.header.len() as u16, total, true)?;
    }
    Ok(())
}

/// Rows a text needs in a cell `width` units wide (its lines wrapped), at least one.
fn lines_in(text: &str, width: f64) -> u32 {
    let per = (width - 1.0).max(4.0);
    text.split('\n').map(|l| ((display_width(l) as f64 / per).ceil() as u32).max(1)).sum::<u32>().max(1)
}

/// Height of a row of `lines` lines of 11-point text.
fn row_height(lines: u32) -> f64 {
    16.0 * lines as f64
}

fn build(doc: &Document) -> std::result::Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let f = Formats::new();
    let mut used = Vec::new();

    // 概要: everything that is not a table or chart, in order; paragraphs across both columns.
    let summary = wb.add_worksheet();
    summary.set_name(sheet_name("概要", &mut used))?;
    summary.set_column_width(0, SUMMARY_LABEL_W)?;
    summary.set_column_width(1, SUMMARY_TEXT_W)?;
    let full = SUMMARY_LABEL_W + SUMMARY_TEXT_W;
    let mut r = 0u32;
    let wide = |ws: &mut Worksheet, r: u32, text: &str, fmt: &Format| -> std::result::Result<(), XlsxError> {
        ws.merge_range(r, 0, r, 1, text, fmt)?;
        ws.set_row_height(r, row_height(lines_in(text, full)))?;
        Ok(())
    };
    summary.merge_range(r, 0, r, 1, &doc.title, &f.title)?;
    summary.set_row_height(r, 24)?;
    r += 1;
    for m in &doc.meta {
        wide(summary, r, m, &f.text)?;
        r += 1;
    }
    r += 1;
    for b in &doc.blocks {
        match b {
            Block::Heading(t) | Block::Subheading(t) => {
                summary.merge_range(r, 0, r, 1, t, &f.head)?;
                summary.set_row_height(r, 20)?;
                r += 1;
            }
            Block::Para(t) => {
                wide(summary, r, t, &f.text)?;
                r += 1;
            }
            Block::Fields(fields) => {
                for (k, v) in fields {
                    summary.write_string_with_format(r, 0, k, &f.header)?;
                    summary.write_string_with_format(r, 1, v, &f.cell)?;
                    let lines = lines_in(v, SUMMARY_TEXT_W).max(lines_in(k, SUMMARY_LABEL_W));
                    summary.set_row_height(r, row_height(lines))?;
                    r += 1;
                }
            }
            Block::Table(t) if t.scope == Scope::Print => {}
            Block::Table(t) => {
                wide(summary, r, &format!("（见工作表“{}”）", t.name), &f.text)?;
                r += 1;
            }
            Block::Chart(c) => {
                wide(summary, r, &format!("（图表见工作表“{}”）", c.title), &f.text)?;
                r += 1;
            }
        }
    }
    for s in doc.signature.iter().filter(|s| !s.is_empty()) {
        summary.write_string_with_format(r, 1, s, &f.text.clone().set_align(FormatAlign::Right))?;
        r += 1;
    }
    print_setup(summary, r, 2, full, false)?;

    for b in &doc.blocks {
        match b {
            Block::Table(t) if t.scope != Scope::Print => {
                let ws = wb.add_worksheet();
                ws.set_name(sheet_name(&t.name, &mut used))?;
                write_table(ws, t, &f)?;
            }
            // A chart sheet only with a chart on it.
            Block::Chart(c) if !c.labels.is_empty() => {
                let name = sheet_name(&c.title, &mut used);
                let ws = wb.add_worksheet();
                ws.set_name(&name)?;
                ws.write_string_with_format(0, 0, "项目", &f.header)?;
                let label_w = c.labels.iter().map(|l| display_width(l)).max().unwrap_or(8) as f64 * 1.1 + 2.0;
                ws.set_column_width(0, label_w.clamp(8.0, 40.0))?;
                for (k, s) in c.series.iter().enumerate() {
                    ws.write_string_with_format(0, (k + 1) as u16, &s.name, &f.header)?;
                    ws.set_column_width((k + 1) as u16, (display_width(&s.name) as f64 * 1.1 + 4.0).max(10.0))?;
                }
                let num = if c.percent { &f.pct } else { &f.num };
                for (i, l) in c.labels.iter().enumerate() {
                    ws.write_string_with_format((i + 1) as u32, 0, l, &f.cell)?;
                    for (k, s) in c.series.iter().enumerate() {
                        ws.write_number_with_format(
                            (i + 1) as u32,
                            (k + 1) as u16,
                            s.values.get(i).copied().unwrap_or(0.0),
                            num,
                        )?;
                    }
                }
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
                ws.set_paper_size(A4);
                ws.set_landscape();
                ws.set_print_fit_to_pages(1, 1);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_text_gets_the_rows_it_needs() {
        assert_eq!(lines_in("短", 100.0), 1);
        assert_eq!(lines_in(&"字".repeat(100), 100.0), 3, "200 half-ems in 99 a line");
        assert_eq!(lines_in("一\n二\n三", 100.0), 3);
    }
}
