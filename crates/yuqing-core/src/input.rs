//! Post input parsing: JSONL or CSV bytes in UTF-8, UTF-16/32 or GBK/GB18030 become `PostInput`s.
//! Invariant: one bad record never stops the rest — it becomes a `Rejection` with its line and a Chinese reason — and mojibake (U+FFFD from decoding) never reaches a post.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime};
use encoding_rs::GB18030;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Metrics, PostInput, SourceTier};

/// The two input layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (a top-level JSON array of objects is accepted too).
    Jsonl,
    /// A header row then one post per record; tab-separated files are recognised by their header.
    Csv,
}

impl Format {
    /// From a file name: `.jsonl` / `.ndjson` / `.json` → `Jsonl`, `.csv` / `.tsv` → `Csv`, else `None`.
    /// The extension is compared case-insensitively.
    pub fn from_path_hint(name: &str) -> Option<Format> {
        let ext = Path::new(name.trim()).extension()?.to_str()?;
        if ["jsonl", "ndjson", "json"].iter().any(|e| ext.eq_ignore_ascii_case(e)) {
            Some(Format::Jsonl)
        } else if ["csv", "tsv"].iter().any(|e| ext.eq_ignore_ascii_case(e)) {
            Some(Format::Csv)
        } else {
            None
        }
    }

    /// Guesses from the content: the first non-blank character after any BOM is `{` (or `[`) → `Jsonl`,
    /// anything else → `Csv`. Only the head of the input is decoded.
    pub fn sniff(bytes: &[u8]) -> Format {
        let head = bytes.get(..SNIFF_BYTES).unwrap_or(bytes);
        let decoded = decode(head);
        let first = decoded.text.chars().find(|c| !c.is_whitespace() && *c != '\u{feff}');
        match first {
            Some('{') | Some('[') => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

/// A record that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// 1-based line in the file where the record starts.
    pub line: usize,
    /// What a user reads, in Chinese; names the offending field.
    pub reason: String,
}

/// The outcome of parsing one file.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Accepted posts with the 1-based line where each starts, in file order.
    pub posts: Vec<(usize, PostInput)>,
    pub rejected: Vec<Rejection>,
    /// The encoding the file was read as: "UTF-8", "GB18030", "UTF-16LE", "UTF-16BE", "UTF-32LE" or "UTF-32BE".
    pub encoding: &'static str,
    /// Every record in input order, as an index into `posts` or `rejected`: each element of a JSON
    /// array is its own item even when several share a line (the push API answers per item).
    pub items: Vec<Item>,
}

/// Where one input record went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// `posts[i]`.
    Post(usize),
    /// `rejected[i]`.
    Rejected(usize),
}

impl Parsed {
    fn accept(&mut self, line: usize, post: PostInput) {
        self.items.push(Item::Post(self.posts.len()));
        self.posts.push((line, post));
    }
}

/// A problem with the file as a whole (record problems are `Rejection`s instead).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(
        "CSV 表头中既没有正文列（text、正文、内容、文本）也没有标题列（title、标题），至少需要其一；按 {encoding} 解码后找到的列：{}",
        .found.join("、")
    )]
    NoTextColumn { found: Vec<String>, encoding: &'static str },
}

/// Parses a whole file. Never fails on a bad record; fails only when a CSV header has no text/title column.
/// Empty input gives zero posts.
pub fn parse(bytes: &[u8], format: Format) -> Result<Parsed, InputError> {
    let decoded = decode(bytes);
    let mut out = Parsed { encoding: decoded.encoding, ..Parsed::default() };
    match format {
        Format::Jsonl => parse_jsonl(&decoded, &mut out),
        Format::Csv => parse_csv(&decoded, &mut out)?,
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// How many leading bytes `Format::sniff` looks at.
const SNIFF_BYTES: usize = 4096;
/// What a lossy decoder puts in place of bytes it cannot decode.
const REPLACEMENT: char = '\u{FFFD}';
/// A line that is not valid UTF-8 still counts as a UTF-8 line (one with a broken character) when its
/// broken sequences are at most this share of its non-ASCII characters…
const UTF8_MAX_BROKEN_PERCENT: u64 = 1;
/// …or when there are at most this many and they are at most 5% of the non-ASCII characters (a
/// UTF-8 file with a truncated tail must not be turned into GB18030 mojibake).
const UTF8_MAX_BROKEN_FEW: u64 = 8;

/// The longest record read, in bytes of decoded text (a JSON line, an array element, a CSV record):
/// no real post comes near it, and a runaway record (an unclosed quote, a file that is not text)
/// is refused with its line rather than parsed.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

struct Decoded<'a> {
    text: Cow<'a, str>,
    encoding: &'static str,
    /// 1-based lines that are not valid in the file's encoding, with why: a record touching one is
    /// rejected, every other record is read.
    bad_lines: BTreeMap<usize, String>,
    /// Byte offset in `text` where each line starts (line n at `line_starts[n - 1]`).
    line_starts: Vec<usize>,
}

impl<'a> Decoded<'a> {
    fn new(text: Cow<'a, str>, encoding: &'static str, bad_lines: BTreeMap<usize, String>) -> Decoded<'a> {
        let mut line_starts = vec![0];
        line_starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        Decoded { text, encoding, bad_lines, line_starts }
    }

    /// The 1-based line holding byte `pos` of the text.
    fn line_of(&self, pos: usize) -> usize {
        self.line_starts.partition_point(|start| *start <= pos).max(1)
    }

    /// The first line in `first..=last` that did not decode, with its reason.
    fn bad_in(&self, first: usize, last: usize) -> Option<String> {
        let (line, why) = self.bad_lines.range(first..=last.max(first)).next()?;
        Some(if first == last { why.clone() } else { format!("第 {line} 行{why}") })
    }
}

fn mojibake_reason(encoding: &str) -> String {
    format!("含有无法按 {encoding} 解码的字节（文件可能被截断或混用了编码），整条记录未导入")
}

/// Decodes by the file's BOM, else UTF-16/UTF-32 recognised by its zero bytes (both decided by
/// `encoding::wide_lossy`, the same rules as fetched pages), else line by line: the file is UTF-8
/// or GB18030 by which most of its non-ASCII lines are, and a line that is not valid in that
/// encoding (a GBK line in a UTF-8 file, a UTF-8 line in a GBK file, a truncated character) is
/// marked bad on its own, so one such line never costs the others.
fn decode(bytes: &[u8]) -> Decoded<'_> {
    if let Some(wide) = crate::encoding::wide_lossy(bytes) {
        return decode_wide(wide);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return decode_lines(rest, true);
    }
    decode_lines(bytes, false)
}

/// Decodes a small text file (a roster, a lexicon) by the same rules as post files: BOM, then UTF-8,
/// then GB18030. Undecodable bytes become U+FFFD.
pub fn decode_text(bytes: &[u8]) -> String {
    decode(bytes).text.into_owned()
}

/// UTF-16/UTF-32: decoded as a whole (their newlines are several bytes); lines with replaced units
/// are bad.
fn decode_wide<'a>(wide: crate::encoding::WideText) -> Decoded<'a> {
    let mut bad = BTreeMap::new();
    if wide.lossy {
        for (i, line) in wide.text.split('\n').enumerate() {
            if line.contains(REPLACEMENT) {
                bad.insert(i + 1, mojibake_reason(wide.name));
            }
        }
    }
    Decoded::new(Cow::Owned(wide.text), wide.name, bad)
}

fn decode_lines(bytes: &[u8], utf8_by_bom: bool) -> Decoded<'_> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Decoded::new(Cow::Borrowed(text), "UTF-8", BTreeMap::new());
    }
    // 0x0A is never part of a multi-byte character in UTF-8 or GB18030: lines split on bytes.
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let (mut utf8_lines, mut other_lines) = (0usize, 0usize);
    if !utf8_by_bom {
        for line in lines.iter().filter(|l| !l.is_ascii()) {
            if std::str::from_utf8(line).is_ok() || mostly_utf8(line) {
                utf8_lines += 1;
            } else {
                other_lines += 1;
            }
        }
    }
    let gb = other_lines > utf8_lines;
    let encoding = if gb { "GB18030" } else { "UTF-8" };
    let mut text = String::with_capacity(bytes.len() + bytes.len() / 2);
    let mut bad = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let number = i + 1;
        match (gb, std::str::from_utf8(line)) {
            (_, Ok(t)) if t.is_ascii() => text.push_str(t),
            (false, Ok(t)) => text.push_str(t),
            (false, Err(_)) => {
                text.push_str(&String::from_utf8_lossy(line));
                bad.insert(number, mojibake_reason("UTF-8"));
            }
            (true, Ok(t)) => {
                text.push_str(t);
                bad.insert(
                    number,
                    "是 UTF-8 编码，而文件的其余部分是 GB18030（GBK）编码（混用了编码），整条记录未导入".to_owned(),
                );
            }
            (true, Err(_)) => {
                let (t, lossy) = GB18030.decode_without_bom_handling(line);
                text.push_str(&t);
                if lossy {
                    bad.insert(number, mojibake_reason("GB18030"));
                }
            }
        }
    }
    Decoded::new(Cow::Owned(text), encoding, bad)
}

/// Whether bytes that are not valid UTF-8 are nevertheless UTF-8 with a few broken sequences
/// (rather than GBK/GB18030, where nearly every Chinese character is an invalid UTF-8 sequence).
fn mostly_utf8(bytes: &[u8]) -> bool {
    let mut broken: u64 = 0;
    let mut non_ascii: u64 = 0;
    for chunk in bytes.utf8_chunks() {
        // Every non-ASCII character has exactly one lead byte >= 0xC0.
        non_ascii += chunk.valid().bytes().filter(|b| *b >= 0xC0).count() as u64;
        if !chunk.invalid().is_empty() {
            broken += 1;
            non_ascii += 1;
            // A head this broken is not UTF-8; stop scanning a large GBK file early.
            if broken > 64 && broken * 100 > non_ascii * UTF8_MAX_BROKEN_PERCENT {
                return false;
            }
        }
    }
    broken * 100 <= non_ascii * UTF8_MAX_BROKEN_PERCENT || (broken <= UTF8_MAX_BROKEN_FEW && broken * 20 <= non_ascii)
}

// ---------------------------------------------------------------------------------------------
// JSONL

fn too_long_reason(bytes: usize) -> String {
    format!("记录过长（{} KiB，上限 {} KiB），未导入", bytes.div_ceil(1024), MAX_RECORD_BYTES / 1024)
}

fn parse_jsonl(d: &Decoded<'_>, out: &mut Parsed) {
    let text: &str = &d.text;
    if is_json_array(text) {
        parse_json_array(d, out);
        return;
    }
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        // CR of CRLF, and a BOM where two files were joined, are not part of the record.
        let line = raw.trim().trim_start_matches('\u{feff}').trim_start();
        if line.is_empty() {
            continue;
        }
        if let Some(why) = d.bad_in(line_no, line_no) {
            reject(out, line_no, why);
            continue;
        }
        if line.len() > MAX_RECORD_BYTES {
            reject(out, line_no, too_long_reason(line.len()));
            continue;
        }
        let result = match serde_json::from_str::<Value>(line) {
            Ok(value) => post_from_json(value),
            Err(e) => Err(json_error_reason(line, &e)),
        };
        match result {
            Ok(post) => out.accept(line_no, post),
            Err(reason) => reject(out, line_no, reason),
        }
    }
}

/// Whether the text is one JSON array rather than JSON lines: it starts with `[` and either ends
/// with `]` or opens with a line holding only `[` (an array cut short).
fn is_json_array(text: &str) -> bool {
    let trimmed = text.trim();
    trimmed.starts_with('[') && (trimmed.ends_with(']') || trimmed.split('\n').next().is_some_and(|l| l.trim() == "["))
}

/// A whole file holding one JSON array of objects (what many tools write for `.json`).
/// Elements are read one by one so a bad element is rejected alone; after a syntax error the
/// reading resumes at the next line that starts with `{`.
fn parse_json_array(d: &Decoded<'_>, out: &mut Parsed) {
    let text: &str = &d.text;
    let bytes = text.as_bytes();
    let mut pos = skip_ws(bytes, 0) + 1; // past '['
    loop {
        pos = skip_ws(bytes, pos);
        match bytes.get(pos) {
            None => {
                reject(out, d.line_of(pos), "JSON 数组没有结束（缺少右方括号 ]）".to_owned());
                return;
            }
            Some(b']') => {
                pos += 1;
                break;
            }
            // Separators are taken leniently: stray or missing commas do not lose elements.
            Some(b',') => {
                pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let start = pos;
        let rest = text.get(start..).unwrap_or_default();
        let line_no = d.line_of(start);
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                pos = start + stream.byte_offset();
                let last_line = d.line_of(pos.saturating_sub(1));
                let result = if let Some(why) = d.bad_in(line_no, last_line) {
                    Err(why)
                } else if pos - start > MAX_RECORD_BYTES {
                    Err(too_long_reason(pos - start))
                } else {
                    post_from_json(value)
                };
                match result {
                    Ok(post) => out.accept(line_no, post),
                    Err(reason) => reject(out, line_no, reason),
                }
            }
            Some(Err(e)) => {
                let at = line_no + e.line().saturating_sub(1);
                let reason = d.bad_in(line_no, at).unwrap_or_else(|| json_error_reason(rest, &e));
                reject(out, at, reason);
                match next_object_line(bytes, start) {
                    Some(next) => pos = next,
                    None => return,
                }
            }
            None => return,
        }
    }
    let after = skip_ws(bytes, pos);
    if after < bytes.len() {
        reject(out, d.line_of(after), "JSON 数组结束后还有多余的内容，已忽略".to_owned());
    }
}

/// The position of the `{` that opens the first line after `from` whose first non-blank character is `{`.
fn next_object_line(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    loop {
        at += bytes.get(at..)?.iter().position(|b| *b == b'\n')? + 1;
        let first = skip_ws(bytes, at);
        if bytes.get(first) == Some(&b'{') && !bytes.get(at..first)?.contains(&b'\n') {
            return Some(first);
        }
    }
}

fn skip_ws(bytes: &[u8], mut pos: usize) -> usize {
    while bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
        pos += 1;
    }
    pos
}

/// A Chinese reason for a JSON syntax error, with the 1-based character column.
fn json_error_reason(line: &str, e: &serde_json::Error) -> String {
    // serde_json counts columns in bytes; users count characters.
    let column = if e.line() <= 1 {
        line.char_indices().take_while(|(i, _)| *i < e.column()).count().max(1)
    } else {
        e.column().max(1)
    };
    let full = e.to_string();
    let message = full.rsplit_once(" at line ").map_or(full.as_str(), |(m, _)| m);
    let zh = match message {
        m if m.starts_with("EOF while parsing") => "内容不完整，JSON 意外结束（可能缺少右括号或引号）",
        "expected value" => "此处应为一个值",
        "expected `:`" => "此处应为冒号 :",
        "expected `,` or `}`" => "此处应为逗号 , 或右花括号 }",
        "expected `,` or `]`" => "此处应为逗号 , 或右方括号 ]",
        "expected `\"`" => "此处应为双引号 \"",
        "expected ident" => "无法识别的关键字（应为 true、false 或 null）",
        "key must be a string" => "对象的键必须是带双引号的字符串",
        "trailing characters" => "JSON 结束后还有多余的字符",
        "trailing comma" => "多余的逗号",
        "invalid escape" => "无效的转义序列",
        "invalid number" => "无效的数字",
        "number out of range" => "数字超出范围",
        "invalid unicode code point" => "无效的 Unicode 码位",
        "lone leading surrogate in hex escape" | "unexpected end of hex escape" => "无效的 \\u 转义",
        "recursion limit exceeded" => "嵌套层数过多",
        m if m.starts_with("control character") => "字符串中含有未转义的控制字符（如换行）",
        other => other,
    };
    format!("不是有效的 JSON（第 {column} 列）：{zh}")
}

fn json_type_zh(value: &Value) -> &'static str {
    match value {
        Value::Null => "空值 null",
        Value::Bool(_) => "布尔值",
        Value::Number(_) => "数字",
        Value::String(_) => "字符串",
        Value::Array(_) => "数组",
        Value::Object(_) => "对象",
    }
}

const STRING_FIELDS: [(&str, StrField); 6] = [
    ("source", StrField::Source),
    ("url", StrField::Url),
    ("title", StrField::Title),
    ("text", StrField::Text),
    ("author", StrField::Author),
    ("place", StrField::Place),
];

fn post_from_json(value: Value) -> Result<PostInput, String> {
    let mut map = match value {
        Value::Object(map) => map,
        other => return Err(format!("应为一个 JSON 对象（{{…}}），实际是{}", json_type_zh(&other))),
    };
    let mut b = Builder::default();
    for (name, field) in STRING_FIELDS {
        match map.remove(name) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => *b.slot(field) = clean_owned(s),
            // Authors and sources are often numeric ids.
            Some(Value::Number(n)) => *b.slot(field) = Some(n.to_string()),
            Some(other) => b.type_error(name, "字符串", &other),
        }
    }
    match map.remove("tier") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => b.set_tier("tier", &s),
        Some(other) => b.type_error("tier", "字符串", &other),
    }
    match map.remove("published_at") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => b.set_time("published_at", &s),
        Some(Value::Number(n)) => {
            let time = match n.as_i64() {
                Some(i) => time_from_epoch(i),
                None => n.as_f64().and_then(time_from_epoch_f64),
            };
            match time {
                Some(t) => b.post.published_at = Some(t),
                None => b.fail(time_reason("published_at", &n.to_string())),
            }
        }
        Some(other) => b.type_error("published_at", "时间字符串或时间戳", &other),
    }
    // Nested first, then the flat form, so a top-level count wins over `metrics.*`.
    match map.remove("metrics") {
        None | Some(Value::Null) => {}
        Some(Value::Object(nested)) => {
            for metric in Metric::ALL {
                b.json_count(&nested, metric.nested_name(), metric);
            }
        }
        Some(other) => b.type_error("metrics", "对象", &other),
    }
    for metric in Metric::ALL {
        b.json_count(&map, metric.name(), metric);
    }
    b.finish()
}

// ---------------------------------------------------------------------------------------------
// CSV

/// What a CSV column feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Str(StrField),
    PublishedAt,
    Tier,
    Metric(Metric),
}

fn column_for_header(header: &str) -> Option<Column> {
    let name = header.trim().trim_start_matches('\u{feff}').trim().to_lowercase();
    let column = match name.as_str() {
        "source" | "site" | "platform" | "来源" | "信息源" | "网站" | "平台" | "站点" => {
            Column::Str(StrField::Source)
        }
        "url" | "link" | "链接" | "网址" | "原文链接" => Column::Str(StrField::Url),
        "title" | "标题" => Column::Str(StrField::Title),
        "text" | "content" | "body" | "正文" | "内容" | "文本" | "微博正文" | "微博内容" => {
            Column::Str(StrField::Text)
        }
        "author" | "userid" | "user_id" | "uid" | "user" | "作者" | "发布者" | "用户" | "用户名" | "昵称" => {
            Column::Str(StrField::Author)
        }
        "published_at" | "publish_time" | "created_at" | "time" | "date" | "发布时间" | "时间" | "发表时间"
        | "日期" => Column::PublishedAt,
        "tier" | "级别" | "源级别" => Column::Tier,
        "place" | "location" | "地点" | "属地" | "地区" | "ip属地" => Column::Str(StrField::Place),
        "reads" | "metrics.reads" | "阅读" | "阅读数" | "阅读量" => Column::Metric(Metric::Reads),
        "comments" | "metrics.comments" | "评论" | "评论数" => Column::Metric(Metric::Comments),
        "reposts" | "metrics.reposts" | "转发" | "转发数" => Column::Metric(Metric::Reposts),
        "likes" | "metrics.likes" | "点赞" | "点赞数" => Column::Metric(Metric::Likes),
        _ => return None,
    };
    Some(column)
}

/// Tab-separated when the header line has more tabs than commas.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text.trim_start().split('\n').next().unwrap_or_default();
    let tabs = header.bytes().filter(|b| *b == b'\t').count();
    let commas = header.bytes().filter(|b| *b == b',').count();
    if tabs > commas {
        b'\t'
    } else {
        b','
    }
}

/// Reads CSV records from `text[base..]`, reporting where each lies in the whole text.
struct Records<'t> {
    reader: csv::Reader<&'t [u8]>,
    base: usize,
    text: &'t str,
}

/// Where a record lies: bytes `start..end` of the text, lines `first..=last`.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    first: usize,
    last: usize,
}

enum Next {
    Record(Span),
    Done,
    /// The reader reported an error for one record (its line, the reason); reading goes on.
    Failed(usize, String),
}

impl<'t> Records<'t> {
    fn new(text: &'t str, base: usize, delimiter: u8) -> Records<'t> {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(text.as_bytes().get(base..).unwrap_or_default());
        Records { reader, base, text }
    }

    /// The first byte of a record that starts at `pos`: the reader reports where it resumed, which
    /// may be the line terminator of the previous record or blank lines it skipped.
    fn content_start(&self, pos: u64) -> usize {
        let bytes = self.text.as_bytes();
        let mut at = self.base.saturating_add(usize::try_from(pos).unwrap_or(usize::MAX));
        while let Some(b'\r' | b'\n') = bytes.get(at) {
            at += 1;
        }
        at.min(bytes.len())
    }

    fn next(&mut self, d: &Decoded<'_>, record: &mut csv::StringRecord) -> Next {
        let before = self.reader.position().byte();
        match self.reader.read_record(record) {
            Ok(true) => {
                let start = self.content_start(record.position().map_or(before, csv::Position::byte));
                let end = self
                    .base
                    .saturating_add(usize::try_from(self.reader.position().byte()).unwrap_or(usize::MAX))
                    .min(self.text.len())
                    .max(start);
                let first = d.line_of(start);
                let last = d.line_of(end.saturating_sub(1)).max(first);
                Next::Record(Span { start, end, first, last })
            }
            Ok(false) => Next::Done,
            // Decoded text is valid UTF-8 and the reader is flexible, so this is not expected;
            // stop rather than loop if the reader made no progress.
            Err(_) if self.reader.position().byte() == before || self.reader.is_done() => Next::Done,
            Err(e) => {
                let at = e.position().map_or(before, csv::Position::byte);
                Next::Failed(d.line_of(self.content_start(at)), format!("CSV 记录无法读取：{e}"))
            }
        }
    }
}

/// What the quoting of one record's raw text shows.
#[derive(Debug, Default, PartialEq, Eq)]
struct Quoting {
    /// A quoted field never closed, or a field spanning lines was closed by a quote followed by
    /// something other than a delimiter or the line's end: the quote was not the field's end.
    broken: bool,
    /// Byte offset (in the raw text) of a line inside a quoted field that reads as a record of its
    /// own: as many fields as the header.
    record_like_at: Option<usize>,
}

/// Scans a record's raw text as the reader does (a quote opens a field only at its start; `""`
/// inside is a quote) to see whether a quoted field swallowed what follows.
fn quoting(raw: &str, delimiter: u8, columns: usize) -> Quoting {
    let b = raw.as_bytes();
    let mut out = Quoting::default();
    let mut at_field_start = true;
    let mut i = 0;
    while i < b.len() {
        if at_field_start && b[i] == b'"' {
            let content_start = i + 1;
            let mut j = content_start;
            let mut closed = None;
            while j < b.len() {
                if b[j] == b'"' {
                    if b.get(j + 1) == Some(&b'"') {
                        j += 2;
                        continue;
                    }
                    closed = Some(j);
                    break;
                }
                j += 1;
            }
            let content = raw.get(content_start..closed.unwrap_or(b.len())).unwrap_or_default();
            if out.record_like_at.is_none() {
                let mut offset = content_start;
                for (k, line) in content.split('\n').enumerate() {
                    let line = line.trim_end_matches('\r');
                    if k > 0 && !line.trim().is_empty() && fields_in_line(line, delimiter) == columns {
                        out.record_like_at = Some(offset);
                        break;
                    }
                    offset += line.len() + 1;
                }
            }
            match closed {
                None => {
                    out.broken = true;
                    return out;
                }
                Some(j) => {
                    i = j + 1;
                    let well_ended = match b.get(i) {
                        None | Some(b'\r' | b'\n') => true,
                        Some(c) => *c == delimiter,
                    };
                    if !well_ended && content.contains('\n') {
                        out.broken = true;
                    }
                    at_field_start = false;
                    continue;
                }
            }
        }
        at_field_start = b[i] == delimiter || b[i] == b'\n';
        i += 1;
    }
    out
}

/// How many fields one physical line holds, quotes taken into account within the line.
fn fields_in_line(line: &str, delimiter: u8) -> usize {
    let b = line.as_bytes();
    let (mut fields, mut quoted, mut at_start) = (1, false, true);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if quoted {
            if c == b'"' {
                if b.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if at_start && c == b'"' {
            quoted = true;
        } else if c == delimiter {
            fields += 1;
            at_start = true;
            i += 1;
            continue;
        }
        at_start = false;
        i += 1;
    }
    fields
}

/// "第 3 行" or "第 3–5 行".
fn lines_zh(first: usize, last: usize) -> String {
    if first == last {
        format!("第 {first} 行")
    } else {
        format!("第 {first}–{last} 行")
    }
}

fn parse_csv(d: &Decoded<'_>, out: &mut Parsed) -> Result<(), InputError> {
    let text: &str = &d.text;
    let delimiter = sniff_delimiter(text);
    let mut records = Records::new(text, 0, delimiter);
    let mut record = csv::StringRecord::new();

    // The header is the first record that is not blank; no header at all means an empty file.
    let mut names: Vec<String> = Vec::new();
    while names.is_empty() {
        match records.next(d, &mut record) {
            Next::Done => return Ok(()),
            Next::Failed(..) => continue,
            Next::Record(_) => {
                if !record.iter().all(|f| f.trim().is_empty()) {
                    names = record.iter().map(|h| h.trim().trim_start_matches('\u{feff}').to_owned()).collect();
                }
            }
        }
    }
    // The first column that maps to a field wins; later duplicates are ignored.
    let mut columns: Vec<Option<Column>> = Vec::with_capacity(names.len());
    for name in &names {
        let column = column_for_header(name).filter(|c| !columns.contains(&Some(*c)));
        columns.push(column);
    }
    let has_text = columns.iter().flatten().any(|c| matches!(c, Column::Str(StrField::Text | StrField::Title)));
    if !has_text {
        let found = names.iter().map(|n| if n.is_empty() { "（空列名）".to_owned() } else { n.clone() }).collect();
        return Err(InputError::NoTextColumn { found, encoding: d.encoding });
    }

    loop {
        let span = match records.next(d, &mut record) {
            Next::Done => break,
            Next::Failed(line, reason) => {
                reject(out, line, reason);
                continue;
            }
            Next::Record(span) => span,
        };
        let (first, last) = (span.first, span.last);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if let Some(why) = d.bad_in(first, last) {
            reject(out, first, why);
            continue;
        }
        if first < last {
            // A quoted field spans lines: legitimate for multi-line text, but an unclosed quote
            // swallows the records after it the same way. Say which, by line, and keep what can be kept.
            let raw = text.get(span.start..span.end).unwrap_or_default();
            let q = quoting(raw, delimiter, names.len());
            let lines = lines_zh(first, last);
            match (q.broken, q.record_like_at) {
                (true, Some(_)) => {
                    reject(
                        out,
                        first,
                        format!(
                            "{lines}被读成了一条记录：第 {first} 行的引号没有正确闭合，把其后的行并入了它。第 {first} 行未导入，其后的行已重新按各自的记录读取"
                        ),
                    );
                    let next_line = d.line_starts.get(first).copied().unwrap_or(text.len());
                    records = Records::new(text, next_line, delimiter);
                    continue;
                }
                (false, Some(at)) if names.len() >= 2 => {
                    let like = d.line_of(span.start + at);
                    reject(
                        out,
                        first,
                        format!(
                            "{lines}：引号内的字段跨越 {} 行，其中第 {like} 行看起来是另一条记录（可能缺少右引号），这几行都未导入；请检查引号后重新导入",
                            last - first + 1
                        ),
                    );
                    continue;
                }
                (true, _) => {
                    reject(out, first, format!("{lines}：引号没有正确闭合（或闭合的引号后紧跟其他字符），这几行都未导入；请检查引号后重新导入"));
                    continue;
                }
                _ => {}
            }
        }
        if span.end - span.start > MAX_RECORD_BYTES {
            reject(out, first, format!("{}：{}", lines_zh(first, last), too_long_reason(span.end - span.start)));
            continue;
        }
        let mut b = Builder::default();
        for ((field, column), name) in record.iter().zip(&columns).zip(&names) {
            match column {
                None => {}
                Some(Column::Str(f)) => *b.slot(*f) = clean(field),
                Some(Column::PublishedAt) => b.set_time(name, field),
                Some(Column::Tier) => b.set_tier(name, field),
                Some(Column::Metric(m)) => b.set_count(name, field, *m),
            }
        }
        match b.finish() {
            Ok(post) => out.accept(first, post),
            Err(reason) => reject(out, first, reason),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Field rules shared by both formats

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StrField {
    Source,
    Url,
    Title,
    Text,
    Author,
    Place,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    Reads,
    Comments,
    Reposts,
    Likes,
}

impl Metric {
    const ALL: [Metric; 4] = [Metric::Reads, Metric::Comments, Metric::Reposts, Metric::Likes];

    fn name(self) -> &'static str {
        match self {
            Metric::Reads => "reads",
            Metric::Comments => "comments",
            Metric::Reposts => "reposts",
            Metric::Likes => "likes",
        }
    }

    fn nested_name(self) -> &'static str {
        match self {
            Metric::Reads => "metrics.reads",
            Metric::Comments => "metrics.comments",
            Metric::Reposts => "metrics.reposts",
            Metric::Likes => "metrics.likes",
        }
    }

    fn slot(self, metrics: &mut Metrics) -> &mut u64 {
        match self {
            Metric::Reads => &mut metrics.reads,
            Metric::Comments => &mut metrics.comments,
            Metric::Reposts => &mut metrics.reposts,
            Metric::Likes => &mut metrics.likes,
        }
    }
}

/// One post under construction, with every field problem found so far.
#[derive(Default)]
struct Builder {
    post: PostInput,
    errors: Vec<String>,
}

impl Builder {
    fn fail(&mut self, reason: String) {
        self.errors.push(reason);
    }

    fn slot(&mut self, field: StrField) -> &mut Option<String> {
        let p = &mut self.post;
        match field {
            StrField::Source => &mut p.source,
            StrField::Url => &mut p.url,
            StrField::Title => &mut p.title,
            StrField::Text => &mut p.text,
            StrField::Author => &mut p.author,
            StrField::Place => &mut p.place,
        }
    }

    fn type_error(&mut self, field: &str, expected: &str, got: &Value) {
        self.fail(format!("字段 {field} 应为{expected}，实际是{}", json_type_zh(got)));
    }

    fn set_time(&mut self, field: &str, raw: &str) {
        let s = raw.trim();
        if s.is_empty() {
            return;
        }
        match parse_time(s) {
            Some(t) => self.post.published_at = Some(t),
            None => self.fail(time_reason(field, s)),
        }
    }

    fn set_tier(&mut self, field: &str, raw: &str) {
        let s = raw.trim();
        if s.is_empty() {
            return;
        }
        match SourceTier::from_str(s) {
            Ok(tier) => self.post.tier = Some(tier),
            Err(e) => self.fail(format!("字段 {field}：{e}")),
        }
    }

    fn set_count(&mut self, field: &str, raw: &str, metric: Metric) {
        match parse_count(raw) {
            Ok(None) => {}
            Ok(Some(n)) => *metric.slot(&mut self.post.metrics) = n,
            Err(e) => self.fail(count_reason(field, raw.trim(), e)),
        }
    }

    /// A count from `map[metric.name()]`, reported as `field`; absent or null leaves it unset.
    fn json_count(&mut self, map: &Map<String, Value>, field: &str, metric: Metric) {
        match map.get(metric.name()) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => self.set_count(field, s, metric),
            Some(Value::Number(n)) => match count_from_number(n) {
                Ok(v) => *metric.slot(&mut self.post.metrics) = v,
                Err(e) => self.fail(count_reason(field, &n.to_string(), e)),
            },
            Some(other) => self.type_error(field, "非负整数或数字字符串", other),
        }
    }

    fn finish(mut self) -> Result<PostInput, String> {
        // A NUL is never text: a binary file, or a broken export. Refused by field name.
        for (name, field) in STRING_FIELDS {
            if self.slot(field).as_deref().is_some_and(|v| v.contains('\0')) {
                self.fail(format!("字段 {name} 含有空字符（NUL），不是文本"));
            }
        }
        let missing = self.post.title.is_none() && self.post.text.is_none();
        if !missing && self.errors.is_empty() {
            return Ok(self.post);
        }
        let mut reasons = Vec::with_capacity(self.errors.len() + 1);
        if missing {
            reasons.push("缺少 text 或 title（两者至少要有一个非空）".to_owned());
        }
        reasons.extend(self.errors);
        Err(reasons.join("；"))
    }
}

fn reject(out: &mut Parsed, line: usize, reason: String) {
    out.items.push(Item::Rejected(out.rejected.len()));
    out.rejected.push(Rejection { line, reason });
}

/// Whitespace and byte-order marks (left inside a file where two were joined) around a value.
fn trim_value(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}')
}

/// Trimmed, or `None` when blank.
fn clean(s: &str) -> Option<String> {
    let t = trim_value(s);
    (!t.is_empty()).then(|| t.to_owned())
}

/// Like `clean`, reusing the allocation when nothing needs trimming.
fn clean_owned(s: String) -> Option<String> {
    let t = trim_value(&s);
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(t.to_owned())
    }
}

/// At most 40 characters of a value quoted in a message.
fn excerpt(s: &str) -> Cow<'_, str> {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => Cow::Owned(format!("{}…", s.get(..cut).unwrap_or_default())),
        None => Cow::Borrowed(s),
    }
}

fn time_reason(field: &str, value: &str) -> String {
    format!(
        "字段 {field} 的时间“{}”无法识别，应为 RFC 3339（如 2026-11-20T08:00:00+08:00）或 “YYYY-MM-DD HH:MM:SS”",
        excerpt(value)
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CountError {
    Negative,
    Invalid,
}

fn count_reason(field: &str, value: &str, e: CountError) -> String {
    match e {
        CountError::Negative => format!("字段 {field} 的值“{}”不能为负数", excerpt(value)),
        CountError::Invalid => {
            format!("字段 {field} 的值“{}”不是有效的数量，应为非负整数，如 1234、1,234、1.2万 或 3亿", excerpt(value))
        }
    }
}

fn count_from_number(n: &serde_json::Number) -> Result<u64, CountError> {
    if let Some(u) = n.as_u64() {
        return Ok(u);
    }
    if n.as_i64().is_some() {
        return Err(CountError::Negative); // an i64 that is not a u64 is negative
    }
    count_from_f64(n.as_f64().ok_or(CountError::Invalid)?)
}

fn count_from_f64(f: f64) -> Result<u64, CountError> {
    if !f.is_finite() {
        Err(CountError::Invalid)
    } else if f < 0.0 {
        Err(CountError::Negative)
    } else if f >= u64::MAX as f64 {
        Err(CountError::Invalid)
    } else {
        Ok(f as u64) // truncates
    }
}

/// A count as people write it: `123`, `1,234`, `12.7` (truncated), `1.2万`, `3亿`, `1.5w`, `2k`, `10万+`.
/// Blank is `None` (absent).
fn parse_count(raw: &str) -> Result<Option<u64>, CountError> {
    let s = raw.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let s = s.strip_suffix('+').unwrap_or(s).trim_end();
    let (number, multiplier) = match s.chars().next_back() {
        Some(c @ ('万' | 'w' | 'W')) => (s.strip_suffix(c).unwrap_or(s), 10_000u64),
        Some(c @ ('千' | 'k' | 'K')) => (s.strip_suffix(c).unwrap_or(s), 1_000),
        Some(c @ '亿') => (s.strip_suffix(c).unwrap_or(s), 100_000_000),
        _ => (s, 1),
    };
    let number = number.trim();
    let (negative, number) = match number.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, number.strip_prefix('+').unwrap_or(number)),
    };
    let digits: Cow<'_, str> = if number.contains([',', '，', '_', ' ']) {
        Cow::Owned(number.chars().filter(|c| !matches!(c, ',' | '，' | '_' | ' ')).collect())
    } else {
        Cow::Borrowed(number)
    };
    let value = match exact_decimal(&digits, multiplier) {
        Some(v) => v,
        // Exponent notation such as 1.5e3.
        None => {
            let f: f64 = digits.parse().map_err(|_| CountError::Invalid)?;
            if !f.is_finite() {
                return Err(CountError::Invalid);
            }
            count_from_f64(f * multiplier as f64)?
        }
    };
    if negative && value > 0 {
        return Err(CountError::Negative);
    }
    Ok(Some(value))
}

/// `digits` (`123`, `1.25`, `.5`) times `multiplier`, truncated, computed exactly; `None` when
/// not a plain decimal or out of range.
fn exact_decimal(digits: &str, multiplier: u64) -> Option<u64> {
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().chain(frac_part.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut int: u128 = 0;
    for b in int_part.bytes() {
        int = int.checked_mul(10)?.checked_add(u128::from(b - b'0'))?;
    }
    let mut value = int.checked_mul(u128::from(multiplier))?;
    // Fraction digits beyond 18 cannot change a truncated result with a multiplier <= 1e8.
    let frac_digits = frac_part.get(..frac_part.len().min(18)).unwrap_or_default();
    if !frac_digits.is_empty() {
        let mut frac: u128 = 0;
        let mut scale: u128 = 1;
        for b in frac_digits.bytes() {
            frac = frac * 10 + u128::from(b - b'0');
            scale *= 10;
        }
        value = value.checked_add(frac * u128::from(multiplier) / scale)?;
    }
    u64::try_from(value).ok()
}

// ---------------------------------------------------------------------------------------------
// Time

/// China time (+08:00), the reading of every time written without an offset.
fn china() -> Option<FixedOffset> {
    Some(crate::china())
}

/// Times with an offset that RFC 3339 parsing does not take.
const OFFSET_FORMATS: [&str; 2] = ["%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%S%.f%z"];
/// Times without an offset, read as China time.
const NAIVE_FORMATS: [&str; 9] = [
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y%m%d%H%M%S",
];
/// Dates alone, read as midnight China time.
const DATE_FORMATS: [&str; 4] = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d"];

/// A publication time from text: RFC 3339; the naive forms above as China time; epoch seconds or
/// milliseconds (more than 1e11 means milliseconds). `s` is already trimmed and non-empty.
fn parse_time(s: &str) -> Option<DateTime<FixedOffset>> {
    let all_digits = s.bytes().all(|b| b.is_ascii_digit());
    // 8 and 14 digits are compact dates (YYYYMMDD, YYYYMMDDHHMMSS), not epochs in the 1970s.
    if all_digits && s.len() != 8 && s.len() != 14 {
        return time_from_epoch(s.parse().ok()?);
    }
    if !all_digits {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(t);
        }
        for format in OFFSET_FORMATS {
            if let Ok(t) = DateTime::parse_from_str(s, format) {
                return Some(t);
            }
        }
    }
    let china = china()?;
    for format in NAIVE_FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return t.and_local_timezone(china).single();
        }
    }
    for format in DATE_FORMATS {
        if let Ok(d) = NaiveDate::parse_from_str(s, format) {
            return d.and_hms_opt(0, 0, 0)?.and_local_timezone(china).single();
        }
    }
    // A fractional epoch such as "1605830400.5".
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return time_from_epoch_f64(s.parse().ok()?);
    }
    None
}

/// Epoch seconds, or milliseconds when above 1e11; shown in China time. Negative is refused.
fn time_from_epoch(n: i64) -> Option<DateTime<FixedOffset>> {
    if n < 0 {
        return None;
    }
    let utc = if n > 100_000_000_000 { DateTime::from_timestamp_millis(n)? } else { DateTime::from_timestamp(n, 0)? };
    Some(utc.with_timezone(&china()?))
}

fn time_from_epoch_f64(f: f64) -> Option<DateTime<FixedOffset>> {
    if !f.is_finite() || f < 0.0 {
        return None;
    }
    let millis = if f > 1e11 { f } else { f * 1000.0 };
    if millis >= i64::MAX as f64 {
        return None;
    }
    let utc = DateTime::from_timestamp_millis(millis as i64)?;
    Some(utc.with_timezone(&china()?))
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn parse_str(s: &str, format: Format) -> Parsed {
        match parse(s.as_bytes(), format) {
            Ok(p) => p,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    fn china_time(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<FixedOffset> {
        FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    fn lines_of(p: &Parsed) -> Vec<usize> {
        p.posts.iter().map(|(l, _)| *l).collect()
    }

    fn rejected_lines(p: &Parsed) -> Vec<usize> {
        p.rejected.iter().map(|r| r.line).collect()
    }

    #[test]
    fn utf8_jsonl_with_all_fields_is_parsed() {
        let line = r#"{"source": "新浪微博", "url": "https://weibo.com/1", "title": "标题", "text": " 正文内容 ", "author": "张三", "published_at": "2026-11-20T08:00:00+08:00", "tier": "Provincial", "metrics": {"reads": 100, "comments": 2, "reposts": 3, "likes": 4}, "place": "杭州", "extra": [1, 2]}"#;
        let p = parse_str(line, Format::Jsonl);
        assert_eq!(p.encoding, "UTF-8");
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let (l, post) = &p.posts[0];
        assert_eq!(*l, 1);
        assert_eq!(
            post,
            &PostInput {
                source: Some("新浪微博".into()),
                url: Some("https://weibo.com/1".into()),
                title: Some("标题".into()),
                text: Some("正文内容".into()),
                author: Some("张三".into()),
                published_at: Some(china_time(2026, 11, 20, 8, 0, 0)),
                tier: Some(SourceTier::Provincial),
                metrics: Metrics { reads: 100, comments: 2, reposts: 3, likes: 4 },
                place: Some("杭州".into()),
            }
        );
    }

    #[test]
    fn flat_metrics_and_chinese_units_are_read_and_flat_wins() {
        let line = r#"{"text": "x", "reads": "1.2万", "comments": "1,234", "reposts": 5.9, "likes": "3亿", "metrics": {"reads": 7, "likes": 1}}"#;
        let p = parse_str(line, Format::Jsonl);
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let m = p.posts[0].1.metrics;
        assert_eq!(m, Metrics { reads: 12_000, comments: 1_234, reposts: 5, likes: 300_000_000 });
    }

    #[test]
    fn counts_accept_the_usual_spellings() {
        assert_eq!(parse_count("1.5w"), Ok(Some(15_000)));
        assert_eq!(parse_count("1.5W"), Ok(Some(15_000)));
        assert_eq!(parse_count("10万+"), Ok(Some(100_000)));
        assert_eq!(parse_count("2.5k"), Ok(Some(2_500)));
        assert_eq!(parse_count("12.7"), Ok(Some(12)));
        assert_eq!(parse_count("1e3"), Ok(Some(1_000)));
        assert_eq!(parse_count(" "), Ok(None));
        assert_eq!(parse_count("-3"), Err(CountError::Negative));
        assert_eq!(parse_count("很多"), Err(CountError::Invalid));
        assert_eq!(parse_count("inf"), Err(CountError::Invalid));
        assert_eq!(parse_count("99999999999999999999999"), Err(CountError::Invalid));
    }

    #[test]
    fn negative_or_unparsable_metric_is_rejected_naming_the_field() {
        let input = "{\"text\": \"a\", \"metrics\": {\"likes\": -1}}\n{\"text\": \"b\", \"reads\": \"很多\"}\n";
        let p = parse_str(input, Format::Jsonl);
        assert!(p.posts.is_empty());
        assert_eq!(rejected_lines(&p), vec![1, 2]);
        assert!(p.rejected[0].reason.contains("metrics.likes") && p.rejected[0].reason.contains("负数"));
        assert!(p.rejected[1].reason.contains("字段 reads") && p.rejected[1].reason.contains("很多"));
    }

    #[test]
    fn missing_text_and_title_is_rejected_with_its_line_while_neighbours_survive() {
        let input = "{\"text\": \"第一条\"}\n{\"author\": \"x\", \"text\": \"  \"}\n{\"title\": \"第三条\"}\n";
        let p = parse_str(input, Format::Jsonl);
        assert_eq!(lines_of(&p), vec![1, 3]);
        assert_eq!(rejected_lines(&p), vec![2]);
        assert!(p.rejected[0].reason.contains("缺少 text 或 title"));
    }

    #[test]
    fn invalid_json_line_is_rejected_with_its_column() {
        let input = "{\"text\": \"好\"}\n{\"text\": \"坏\" \"x\"}\n[1]\n{\"text\": \"好\"}\n";
        let p = parse_str(input, Format::Jsonl);
        assert_eq!(lines_of(&p), vec![1, 4]);
        assert_eq!(rejected_lines(&p), vec![2, 3]);
        let reason = &p.rejected[0].reason;
        assert!(reason.starts_with("不是有效的 JSON（第 14 列）"), "{reason}");
        assert!(p.rejected[1].reason.contains("JSON 对象") && p.rejected[1].reason.contains("数组"));
    }

    #[test]
    fn wrong_type_for_a_field_is_rejected_naming_the_field() {
        let input = "{\"text\": \"x\", \"title\": [\"a\"]}\n{\"text\": \"y\", \"author\": 12345, \"source\": null}\n";
        let p = parse_str(input, Format::Jsonl);
        assert_eq!(rejected_lines(&p), vec![1]);
        assert_eq!(p.rejected[0].reason, "字段 title 应为字符串，实际是数组");
        assert_eq!(p.posts[0].1.author.as_deref(), Some("12345"));
        assert_eq!(p.posts[0].1.source, None);
    }

    #[test]
    fn unreadable_time_is_rejected_naming_the_value() {
        let p = parse_str("{\"text\": \"x\", \"published_at\": \"昨天\"}", Format::Jsonl);
        assert_eq!(
            p.rejected[0].reason,
            "字段 published_at 的时间“昨天”无法识别，应为 RFC 3339（如 2026-11-20T08:00:00+08:00）或 “YYYY-MM-DD HH:MM:SS”"
        );
    }

    #[test]
    fn times_without_offset_are_read_as_china_time() {
        let expect = china_time(2026, 11, 20, 8, 5, 0);
        for s in [
            "2026-11-20 08:05:00",
            "2026-11-20 08:05",
            "2026/11/20 08:05:00",
            "2026/11/20 8:05",
            "2026-11-20T08:05:00",
            "2026-11-20T08:05:00.000",
            "2026-11-20 08:05:00+08:00",
            "2026-11-20 08:05:00+0800",
            "2026-11-20T00:05:00Z",
            "2026年11月20日 08:05",
            "20261120080500",
        ] {
            assert_eq!(parse_time(s), Some(expect), "{s}");
        }
        assert_eq!(parse_time("2026-11-20"), Some(china_time(2026, 11, 20, 0, 0, 0)));
        assert_eq!(parse_time("20261120"), Some(china_time(2026, 11, 20, 0, 0, 0)));
        assert_eq!(parse_time("11月20日"), None);
        assert_eq!(parse_time("2026-13-01"), None);
    }

    #[test]
    fn epoch_seconds_and_milliseconds_are_accepted() {
        let input = concat!(
            "{\"text\": \"a\", \"published_at\": 1605830400}\n",
            "{\"text\": \"b\", \"published_at\": 1605830400000}\n",
            "{\"text\": \"c\", \"published_at\": \"1605830400\"}\n",
            "{\"text\": \"d\", \"published_at\": \"1605830400000\"}\n",
            "{\"text\": \"e\", \"published_at\": -5}\n",
        );
        let p = parse_str(input, Format::Jsonl);
        let expect = china_time(2020, 11, 20, 8, 0, 0);
        assert_eq!(p.posts.len(), 4);
        for (_, post) in &p.posts {
            assert_eq!(post.published_at, Some(expect));
            assert_eq!(post.published_at.unwrap().offset().local_minus_utc(), 8 * 3600);
        }
        assert_eq!(rejected_lines(&p), vec![5]);
    }

    #[test]
    fn tier_in_chinese_is_accepted_and_unknown_tier_rejected() {
        let input = "{\"text\": \"a\", \"tier\": \"中央\"}\n{\"text\": \"b\", \"tier\": \"火星\"}\n";
        let p = parse_str(input, Format::Jsonl);
        assert_eq!(p.posts[0].1.tier, Some(SourceTier::Central));
        assert_eq!(rejected_lines(&p), vec![2]);
        assert!(p.rejected[0].reason.starts_with("字段 tier：未知的源级别“火星”"));
    }

    #[test]
    fn blank_lines_are_skipped_silently() {
        let input = "\n  \r\n{\"text\": \"a\"}\r\n\n\t\n{\"text\": \"b\"}\n\n";
        let p = parse_str(input, Format::Jsonl);
        assert_eq!(lines_of(&p), vec![3, 6]);
        assert!(p.rejected.is_empty());
        let csv = parse_str("\ntext\n\n甲\n,\n乙\n", Format::Csv);
        assert_eq!(lines_of(&csv), vec![4, 6]);
        assert!(csv.rejected.is_empty());
    }

    #[test]
    fn empty_input_gives_zero_posts() {
        for format in [Format::Jsonl, Format::Csv] {
            let p = parse_str("", format);
            assert!(p.posts.is_empty() && p.rejected.is_empty());
            let p = parse_str(" \n\n", format);
            assert!(p.posts.is_empty() && p.rejected.is_empty());
        }
    }

    #[test]
    fn gbk_csv_is_decoded_and_parsed() {
        let csv = "标题,正文,发布时间,阅读数\r\n疫情通报,今日新增病例三例,2020-02-01 10:00,1.2万\r\n,口罩到货了,2020/02/01 11:30,5\r\n";
        let (bytes, _, _) = encoding_rs::GBK.encode(csv);
        assert!(std::str::from_utf8(&bytes).is_err());
        let p = parse(&bytes, Format::Csv).unwrap();
        assert_eq!(p.encoding, "GB18030");
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(lines_of(&p), vec![2, 3]);
        let first = &p.posts[0].1;
        assert_eq!(first.title.as_deref(), Some("疫情通报"));
        assert_eq!(first.text.as_deref(), Some("今日新增病例三例"));
        assert_eq!(first.published_at, Some(china_time(2020, 2, 1, 10, 0, 0)));
        assert_eq!(first.metrics.reads, 12_000);
        assert_eq!(p.posts[1].1.title, None);
        assert_eq!(p.posts[1].1.published_at, Some(china_time(2020, 2, 1, 11, 30, 0)));
    }

    #[test]
    fn gb18030_file_with_truncated_tail_keeps_complete_records() {
        let csv = "userid,text\r\n1001,武汉加油\r\n1002,中国加油\r\n1003,最后一条";
        let mut bytes = encoding_rs::GB18030.encode(csv).0.into_owned();
        bytes.push(0xCD); // the first byte of a two-byte character, cut off
        let p = parse(&bytes, Format::Csv).unwrap();
        assert_eq!(p.encoding, "GB18030");
        assert_eq!(lines_of(&p), vec![2, 3]);
        assert_eq!(p.posts[0].1.author.as_deref(), Some("1001"));
        assert_eq!(p.posts[1].1.text.as_deref(), Some("中国加油"));
        assert_eq!(rejected_lines(&p), vec![4]);
        assert!(p.rejected[0].reason.contains("无法按 GB18030 解码"), "{}", p.rejected[0].reason);
        // The same in the middle of a file: only that record goes.
        let mut bytes = encoding_rs::GB18030.encode("text\r\n第一条\r\n").0.into_owned();
        bytes.extend_from_slice(b"\xcd\r\n");
        bytes.extend_from_slice(&encoding_rs::GB18030.encode("第三条\r\n").0);
        let p = parse(&bytes, Format::Csv).unwrap();
        assert_eq!(lines_of(&p), vec![2, 4]);
        assert_eq!(rejected_lines(&p), vec![3]);
    }

    #[test]
    fn utf8_with_a_broken_tail_stays_utf8_and_rejects_only_that_record() {
        let mut bytes = "{\"text\": \"新型冠状病毒疫情防控工作通报\"}\n".repeat(3).into_bytes();
        bytes.extend_from_slice("{\"text\": \"截断".as_bytes());
        bytes.extend_from_slice(&"的".as_bytes()[..2]);
        let p = parse(&bytes, Format::Jsonl).unwrap();
        assert_eq!(p.encoding, "UTF-8");
        assert_eq!(lines_of(&p), vec![1, 2, 3]);
        assert_eq!(rejected_lines(&p), vec![4]);
        assert!(p.rejected[0].reason.contains("无法按 UTF-8 解码"));
    }

    #[test]
    fn utf8_with_bom_is_stripped() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice("text,author\n你好,李四\n".as_bytes());
        let p = parse(&bytes, Format::Csv).unwrap();
        assert_eq!(p.encoding, "UTF-8");
        assert_eq!(p.posts[0].1.text.as_deref(), Some("你好"));
        assert_eq!(p.posts[0].1.author.as_deref(), Some("李四"));
        assert_eq!(Format::sniff(&bytes), Format::Csv);
        let mut json = vec![0xEF, 0xBB, 0xBF];
        json.extend_from_slice("{\"text\": \"你好\"}".as_bytes());
        assert_eq!(Format::sniff(&json), Format::Jsonl);
        assert_eq!(parse(&json, Format::Jsonl).unwrap().posts.len(), 1);
    }

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut bytes = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
        for unit in s.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        bytes
    }

    #[test]
    fn utf16le_with_bom_is_decoded() {
        let bytes = utf16le("{\"text\": \"湖北\", \"place\": \"武汉\"}\n{\"title\": \"二\"}\n", true);
        assert_eq!(Format::sniff(&bytes), Format::Jsonl);
        let p = parse(&bytes, Format::Jsonl).unwrap();
        assert_eq!(p.encoding, "UTF-16LE");
        assert_eq!(lines_of(&p), vec![1, 2]);
        assert_eq!(p.posts[0].1.place.as_deref(), Some("武汉"));
        // Excel's "Unicode text" is UTF-16LE and tab-separated.
        let tsv = utf16le("标题\t正文\n甲\t乙\n", true);
        let p = parse(&tsv, Format::Csv).unwrap();
        assert_eq!(p.encoding, "UTF-16LE");
        assert_eq!(p.posts[0].1.text.as_deref(), Some("乙"));
        // Without BOM it is still recognised when the text starts with ASCII.
        let bare = utf16le("text\tplace\n甲\t乙\n", false);
        let p = parse(&bare, Format::Csv).unwrap();
        assert_eq!(p.encoding, "UTF-16LE");
        assert_eq!(p.posts[0].1.place.as_deref(), Some("乙"));
    }

    #[test]
    fn utf16be_with_bom_is_decoded() {
        let mut bytes = vec![0xFE, 0xFF];
        for unit in "text\n东方\n".encode_utf16() {
            bytes.extend_from_slice(&unit.to_be_bytes());
        }
        let p = parse(&bytes, Format::Csv).unwrap();
        assert_eq!(p.encoding, "UTF-16BE");
        assert_eq!(p.posts[0].1.text.as_deref(), Some("东方"));
    }

    /// UTF-32 (rare, but some export tools write it) is recognised the way fetched pages are, by
    /// BOM or by its NUL bytes, and a malformed unit costs only its own line.
    #[test]
    fn utf32_is_decoded_with_or_without_bom_and_a_bad_unit_costs_one_line() {
        let utf32le = |s: &str, bom: bool| {
            let mut bytes = if bom { vec![0xFF, 0xFE, 0, 0] } else { Vec::new() };
            for c in s.chars() {
                bytes.extend_from_slice(&(c as u32).to_le_bytes());
            }
            bytes
        };
        let p = parse(&utf32le("text\tplace\n甲\t武汉\n", true), Format::Csv).unwrap();
        assert_eq!(p.encoding, "UTF-32LE");
        assert_eq!(p.posts[0].1.place.as_deref(), Some("武汉"));
        let p = parse(&utf32le("text\n乙\n", false), Format::Csv).unwrap();
        assert_eq!(p.encoding, "UTF-32LE");
        assert_eq!(p.posts[0].1.text.as_deref(), Some("乙"));
        // A code unit above U+10FFFF on the second record's line.
        let mut bytes = utf32le("{\"text\": \"一\"}\n{\"text\": \"", true);
        bytes.extend_from_slice(&0x0011_0000u32.to_le_bytes());
        bytes.extend_from_slice(&utf32le("\"}\n{\"text\": \"三\"}\n", false));
        let p = parse(&bytes, Format::Jsonl).unwrap();
        assert_eq!(p.encoding, "UTF-32LE");
        assert_eq!(lines_of(&p), vec![1, 3]);
        assert_eq!(p.rejected.len(), 1, "{:?}", p.rejected);
    }

    #[test]
    fn csv_with_chinese_headers_is_mapped() {
        let csv = "来源,链接,标题,正文,作者,发布时间,级别,属地,阅读,评论数,转发,点赞数,备注\n\
                   人民网,http://x.cn/1, 标题一 ,内容一,记者甲,2026-11-20 08:00:00,中央,北京,1.5w,2,3,4,忽略\n";
        let p = parse_str(csv, Format::Csv);
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        let post = &p.posts[0].1;
        assert_eq!(post.source.as_deref(), Some("人民网"));
        assert_eq!(post.url.as_deref(), Some("http://x.cn/1"));
        assert_eq!(post.title.as_deref(), Some("标题一"));
        assert_eq!(post.text.as_deref(), Some("内容一"));
        assert_eq!(post.author.as_deref(), Some("记者甲"));
        assert_eq!(post.published_at, Some(china_time(2026, 11, 20, 8, 0, 0)));
        assert_eq!(post.tier, Some(SourceTier::Central));
        assert_eq!(post.place.as_deref(), Some("北京"));
        assert_eq!(post.metrics, Metrics { reads: 15_000, comments: 2, reposts: 3, likes: 4 });
    }

    #[test]
    fn csv_headers_are_trimmed_case_insensitive_and_accept_dotted_metrics() {
        let csv = " TEXT ,Metrics.Reads,UserId\nhello,7,42\n";
        let p = parse_str(csv, Format::Csv);
        let post = &p.posts[0].1;
        assert_eq!(post.text.as_deref(), Some("hello"));
        assert_eq!(post.metrics.reads, 7);
        assert_eq!(post.author.as_deref(), Some("42"));
    }

    #[test]
    fn csv_field_errors_name_the_column_as_written() {
        let csv = "正文,发布时间,点赞\n好,昨天,-1\n好,2026-11-20,1\n";
        let p = parse_str(csv, Format::Csv);
        assert_eq!(lines_of(&p), vec![3]);
        assert_eq!(rejected_lines(&p), vec![2]);
        let reason = &p.rejected[0].reason;
        assert!(reason.contains("字段 发布时间 的时间“昨天”无法识别"), "{reason}");
        assert!(reason.contains("字段 点赞 的值“-1”不能为负数"), "{reason}");
    }

    #[test]
    fn csv_quoted_newline_keeps_line_numbers_of_following_records() {
        let csv = "text,author\n\"第一行\n第二行\n第三行\",甲\n下一条,乙\n,丙\n最后,丁\n";
        let p = parse_str(csv, Format::Csv);
        assert_eq!(lines_of(&p), vec![2, 5, 7]);
        assert_eq!(p.posts[0].1.text.as_deref(), Some("第一行\n第二行\n第三行"));
        assert_eq!(rejected_lines(&p), vec![6]);
        assert!(p.rejected[0].reason.contains("缺少 text 或 title"));
        let crlf = "\r\ntext,author\r\n\"一\r\n二\",甲\r\n\r\n下一条,乙\r\n";
        let p = parse_str(crlf, Format::Csv);
        assert_eq!(lines_of(&p), vec![3, 6]);
    }

    #[test]
    fn csv_rows_shorter_or_longer_than_the_header_are_read() {
        let csv = "author,text,source\n甲,短行\n乙,长行,微博,多余\n";
        let p = parse_str(csv, Format::Csv);
        assert_eq!(lines_of(&p), vec![2, 3]);
        assert_eq!(p.posts[0].1.source, None);
        assert_eq!(p.posts[1].1.source.as_deref(), Some("微博"));
    }

    #[test]
    fn csv_without_text_or_title_column_names_the_columns_found() {
        let err = parse("userid,content_len,时间\n1,2,3\n".as_bytes(), Format::Csv).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("userid、content_len、时间"), "{message}");
        assert!(message.contains("UTF-8"), "{message}");
        let InputError::NoTextColumn { found, .. } = err;
        assert_eq!(found, vec!["userid", "content_len", "时间"]);
    }

    #[test]
    fn json_array_files_are_read_element_by_element() {
        let input = "[\n  {\"text\": \"一\"},\n  {\"author\": \"x\"},\n  {\"text\": \"三\",\n   \"likes\": 2}\n]\n";
        let p = parse_str(input, Format::Jsonl);
        assert_eq!(lines_of(&p), vec![2, 4]);
        assert_eq!(rejected_lines(&p), vec![3]);
        assert_eq!(p.posts[1].1.metrics.likes, 2);
        let broken = parse_str("[{\"text\": \"一\"},\n{\"text\": },\n{\"text\": \"三\"}]", Format::Jsonl);
        assert_eq!(lines_of(&broken), vec![1, 3]);
        assert_eq!(rejected_lines(&broken), vec![2]);
        assert!(broken.rejected[0].reason.starts_with("不是有效的 JSON"));
        let cut_short = parse_str("[\n{\"text\": \"一\"},\n{\"text\": \"二\"},\n", Format::Jsonl);
        assert_eq!(lines_of(&cut_short), vec![2, 3]);
        assert_eq!(rejected_lines(&cut_short), vec![4]);
        // A JSON lines file whose first line happens to be an array is still read as lines.
        let lines = parse_str("[1]\n{\"text\": \"二\"}\n", Format::Jsonl);
        assert_eq!(lines_of(&lines), vec![2]);
        assert_eq!(rejected_lines(&lines), vec![1]);
    }

    #[test]
    fn csv_unclosed_quote_that_swallowed_records_rejects_its_line_and_keeps_the_rest() {
        // Unclosed to the end: it used to read as one record whose title held the next two.
        let csv = "title,text,author\n\"未闭合的标题,正文一,甲\n标题二,正文二,乙\n标题三,正文三,丙\n";
        let p = parse_str(csv, Format::Csv);
        assert_eq!(rejected_lines(&p), vec![2]);
        let why = &p.rejected[0].reason;
        assert!(why.contains("第 2–4 行") && why.contains("引号"), "{why}");
        assert_eq!(lines_of(&p), vec![3, 4]);
        assert_eq!(p.posts[0].1.title.as_deref(), Some("标题二"));
        assert_eq!(p.posts[1].1.author.as_deref(), Some("丙"));
        // Closed by the quote that opens a later record: the same, and the later record reads whole.
        let csv = "title,text,author\n\"未闭合的标题,正文一,甲\n标题二,正文二,乙\n\"标题三\",正文三,丙\n";
        let p = parse_str(csv, Format::Csv);
        assert_eq!(rejected_lines(&p), vec![2]);
        assert_eq!(lines_of(&p), vec![3, 4]);
        assert_eq!(p.posts[1].1.title.as_deref(), Some("标题三"));
        // Well-formed quoting that nevertheless holds a record-like line: refused as a range.
        let csv = "title,text,author\n\"标题一,正文一,甲\n标题二,正文二,乙\n标题三,正文三\",丙\n标题五,正文五,戊\n";
        let p = parse_str(csv, Format::Csv);
        assert_eq!(rejected_lines(&p), vec![2]);
        let why = &p.rejected[0].reason;
        assert!(why.contains("第 2–4 行") && why.contains("第 3 行看起来是另一条记录"), "{why}");
        assert_eq!(lines_of(&p), vec![5]);
        // A genuine multi-line text stays one post.
        let csv = "title,text,author\n标题,\"第一段，\n第二段, 含逗号\",甲\n";
        let p = parse_str(csv, Format::Csv);
        assert!(p.rejected.is_empty(), "{:?}", p.rejected);
        assert_eq!(p.posts[0].1.text.as_deref(), Some("第一段，\n第二段, 含逗号"));
    }

    #[test]
    fn quoting_finds_broken_quotes_and_record_like_lines() {
        assert_eq!(quoting("\"a\nb\",c\n", b',', 2), Quoting::default());
        assert!(quoting("\"a\nb", b',', 2).broken);
        assert!(quoting("\"a\nb\"x,c", b',', 2).broken);
        assert!(!quoting("\"a\"x,c", b',', 2).broken, "a stray quote on one line merges nothing");
        assert_eq!(quoting("\"a\nb,c\",d", b',', 2).record_like_at, Some(3));
        assert_eq!(fields_in_line("a,\"b,c\",d", b','), 3);
        assert_eq!(fields_in_line("a\t\"\"\"b\"\t", b'\t'), 3);
    }

    #[test]
    fn one_gbk_line_in_a_utf8_jsonl_is_rejected_alone() {
        let mut bytes = Vec::new();
        for i in 1..=10 {
            let line = format!("{{\"text\": \"第{i}条：市民反映小区停水\"}}\n");
            if i == 4 {
                bytes.extend_from_slice(&encoding_rs::GBK.encode(&line).0);
            } else {
                bytes.extend_from_slice(line.as_bytes());
            }
        }
        let p = parse(&bytes, Format::Jsonl).unwrap();
        assert_eq!(p.encoding, "UTF-8");
        assert_eq!(lines_of(&p), vec![1, 2, 3, 5, 6, 7, 8, 9, 10]);
        assert_eq!(rejected_lines(&p), vec![4]);
        assert!(p.rejected[0].reason.contains("无法按 UTF-8 解码"), "{}", p.rejected[0].reason);
        assert_eq!(p.posts[3].1.text.as_deref(), Some("第5条：市民反映小区停水"));
        // The other way round: one UTF-8 line in a GBK file is refused, never stored as mojibake.
        let mut bytes = Vec::new();
        for i in 1..=5 {
            let line = format!("{{\"text\": \"第{i}条：道路积水\"}}\r\n");
            if i == 2 {
                bytes.extend_from_slice(line.as_bytes());
            } else {
                bytes.extend_from_slice(&encoding_rs::GBK.encode(&line).0);
            }
        }
        let p = parse(&bytes, Format::Jsonl).unwrap();
        assert_eq!(p.encoding, "GB18030");
        assert_eq!(lines_of(&p), vec![1, 3, 4, 5]);
        assert_eq!(rejected_lines(&p), vec![2]);
        assert!(p.rejected[0].reason.contains("混用了编码"), "{}", p.rejected[0].reason);
        assert_eq!(p.posts[0].1.text.as_deref(), Some("第1条：道路积水"));
        // The same in a CSV and inside a JSON array element.
        let mut csv = encoding_rs::GBK.encode("text\n甲乙丙\n").0.into_owned();
        csv.extend_from_slice("丁戊己\n".as_bytes());
        csv.extend_from_slice(&encoding_rs::GBK.encode("庚辛壬\n").0);
        let p = parse(&csv, Format::Csv).unwrap();
        assert_eq!((lines_of(&p), rejected_lines(&p)), (vec![2, 4], vec![3]));
        let mut array = "[\n{\"text\": \"好\"},\n{\"text\":\n\"".as_bytes().to_vec();
        array.extend_from_slice(&encoding_rs::GBK.encode("坏").0);
        array.extend_from_slice("\"},\n{\"text\": \"也好\"}\n]".as_bytes());
        let p = parse(&array, Format::Jsonl).unwrap();
        assert_eq!((lines_of(&p), rejected_lines(&p)), (vec![2, 5], vec![3]));
        assert!(p.rejected[0].reason.contains("第 4 行"), "{}", p.rejected[0].reason);
    }

    #[test]
    fn inner_boms_nuls_and_huge_records_are_handled_per_record() {
        // Two files joined: the second one's BOM is not part of the record.
        let p = parse_str("{\"text\": \"一\"}\n\u{feff}{\"text\": \"二\"}\n", Format::Jsonl);
        assert_eq!(lines_of(&p), vec![1, 2]);
        let p = parse_str("text,author\n一,甲\n\u{feff}二,乙\n", Format::Csv);
        assert_eq!(p.posts[1].1.text.as_deref(), Some("二"));
        // A NUL is refused by field, the neighbours kept.
        let p = parse_str("{\"text\": \"a\\u0000b\"}\n{\"text\": \"好\"}\n", Format::Jsonl);
        assert_eq!((lines_of(&p), rejected_lines(&p)), (vec![2], vec![1]));
        assert!(p.rejected[0].reason.contains("字段 text") && p.rejected[0].reason.contains("NUL"));
        let p = parse_str("text,author\na\0b,甲\n好,乙\n", Format::Csv);
        assert_eq!((lines_of(&p), rejected_lines(&p)), (vec![3], vec![2]));
        // A record past the size limit is refused with its line; the rest is read.
        let huge = "很".repeat(MAX_RECORD_BYTES / 3 + 1);
        let p = parse_str(
            &format!("{{\"text\": \"好\"}}\n{{\"text\": \"{huge}\"}}\n{{\"text\": \"也好\"}}\n"),
            Format::Jsonl,
        );
        assert_eq!((lines_of(&p), rejected_lines(&p)), (vec![1, 3], vec![2]));
        assert!(p.rejected[0].reason.contains("记录过长"), "{}", p.rejected[0].reason);
        let p = parse_str(&format!("text\n好\n{huge}\n也好\n"), Format::Csv);
        assert_eq!((lines_of(&p), rejected_lines(&p)), (vec![2, 4], vec![3]));
        let p = parse_str(&format!("[{{\"text\": \"{huge}\"}}, {{\"text\": \"好\"}}]"), Format::Jsonl);
        assert_eq!(p.posts.len(), 1);
        assert_eq!(p.rejected.len(), 1);
    }

    #[test]
    fn items_keep_the_input_order_even_on_one_line() {
        let p = parse_str("[{\"text\": \"一\"}, {\"author\": \"x\"}, {\"text\": \"三\"}, 5]", Format::Jsonl);
        assert_eq!(p.items, vec![Item::Post(0), Item::Rejected(0), Item::Post(1), Item::Rejected(1)]);
        assert!(p.posts.iter().all(|(l, _)| *l == 1));
        let p = parse_str("text,author\n一,甲\n\n,乙\n三,丙\n", Format::Csv);
        assert_eq!(p.items, vec![Item::Post(0), Item::Rejected(0), Item::Post(1)]);
    }

    #[test]
    fn format_hints_come_from_the_extension() {
        assert_eq!(Format::from_path_hint("posts.jsonl"), Some(Format::Jsonl));
        assert_eq!(Format::from_path_hint("/tmp/a.NDJSON"), Some(Format::Jsonl));
        assert_eq!(Format::from_path_hint("dump.Json"), Some(Format::Jsonl));
        assert_eq!(Format::from_path_hint("2020-02-01.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_path_hint("export.tsv"), Some(Format::Csv));
        assert_eq!(Format::from_path_hint("notes.txt"), None);
        assert_eq!(Format::from_path_hint("csv"), None);
        assert_eq!(Format::from_path_hint(""), None);
    }

    #[test]
    fn sniff_looks_at_the_first_meaningful_character() {
        assert_eq!(Format::sniff(b"  \n{\"text\": 1}"), Format::Jsonl);
        assert_eq!(Format::sniff(b"[{}]"), Format::Jsonl);
        assert_eq!(Format::sniff(b"text,author\n"), Format::Csv);
        assert_eq!(Format::sniff(b""), Format::Csv);
        let (gbk, _, _) = encoding_rs::GBK.encode("正文\n你好\n");
        assert_eq!(Format::sniff(&gbk), Format::Csv);
    }

    #[test]
    fn messages_quote_long_values_briefly() {
        let long = "很".repeat(100);
        let p = parse_str(&format!("{{\"text\": \"x\", \"published_at\": \"{long}\"}}"), Format::Jsonl);
        assert!(p.rejected[0].reason.contains(&format!("{}…", "很".repeat(40))));
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&bytes, Format::Jsonl);
            let _ = parse(&bytes, Format::Csv);
            let _ = Format::sniff(&bytes);
        }

        #[test]
        fn parse_never_panics_on_json_like_text(s in "[\\[\\]{}\",:0-9a-z万亿.\\- \n\r\t\u{FFFD}中]{0,200}") {
            let _ = parse(s.as_bytes(), Format::Jsonl);
            let _ = parse(s.as_bytes(), Format::Csv);
        }

        #[test]
        fn counts_never_panic(s in "[0-9.,万亿wWkK+\\-e ]{0,30}") {
            let _ = parse_count(&s);
        }
    }
}
