//! `yuqing eval-extraction DIR...`: article extraction measured on pages whose answer is known
//! (`source.html`, `expected.html`, `expected-metadata.json` in each page directory), for yuqing's
//! extractor beside the plain Readability port (dom_smoothie, its defaults) and the old extractor.
//!
//! Invariant: every page is on a fixed side of a dev / held-out split decided by its directory
//! name alone, and every figure is reported per side; a page that breaks an extractor scores zero
//! for it and never stops the run.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, FixedOffset, NaiveDate};
use rayon::prelude::*;
use serde::Serialize;
use yuqing_collect::extract::parse_time;
use yuqing_collect::html_text::html_to_text;
use yuqing_collect::{article, article_legacy};

/// The page URL handed to the extractors (the one Readability's own test harness uses): the
/// pages are stored without theirs.
const PAGE_URL: &str = "http://fakehost/test/page.html";

/// A page is held out when the FNV-1a hash of its directory name, modulo 10, is below this.
const HELD_OUT_TENTHS: u64 = 3;

/// The three extractors compared, in the order they are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Extractor {
    /// `yuqing_collect::article::extract`, what collection uses.
    Yuqing,
    /// dom_smoothie (a Rust port of Mozilla Readability) on the raw page with its defaults.
    DomSmoothie,
    /// `yuqing_collect::article_legacy::extract`, the extractor before issue 13.
    Legacy,
}

pub const EXTRACTORS: [Extractor; 3] = [Extractor::Yuqing, Extractor::DomSmoothie, Extractor::Legacy];

impl Extractor {
    pub fn name(self) -> &'static str {
        match self {
            Extractor::Yuqing => "yuqing",
            Extractor::DomSmoothie => "dom_smoothie",
            Extractor::Legacy => "legacy",
        }
    }
}

/// Which side of the split a page is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    Dev,
    HeldOut,
}

impl Split {
    pub fn of(page_name: &str) -> Split {
        if fnv1a(page_name.as_bytes()) % 10 < HELD_OUT_TENTHS {
            Split::HeldOut
        } else {
            Split::Dev
        }
    }
}

/// FNV-1a, 64 bits: the same on every machine and Rust version (unlike `DefaultHasher`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

// ------------------------------------------------------------------------------------ measures

fn is_cjk_char(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// The tokens of a text for the body F1: every Chinese, Japanese or Korean character is a token
/// of its own; any other run of letters and digits is one token, in lower case; punctuation,
/// symbols and whitespace only separate.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if is_cjk_char(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Precision, recall and F1 of `got` against `expected` as bags (multisets) of [`tokens`]: a
/// token counts as found as many times as it occurs in both. Two empty texts agree (1.0); one
/// empty text scores 0.
pub fn bag_f1(expected: &str, got: &str) -> (f64, f64, f64) {
    let mut want: HashMap<String, usize> = HashMap::new();
    for t in tokens(expected) {
        *want.entry(t).or_default() += 1;
    }
    let want_n: usize = want.values().sum();
    let mut got_n = 0usize;
    let mut common = 0usize;
    for t in tokens(got) {
        got_n += 1;
        if let Some(k) = want.get_mut(&t) {
            if *k > 0 {
                *k -= 1;
                common += 1;
            }
        }
    }
    match (want_n, got_n) {
        (0, 0) => (1.0, 1.0, 1.0),
        (0, _) | (_, 0) => (0.0, 0.0, 0.0),
        _ => {
            let p = common as f64 / got_n as f64;
            let r = common as f64 / want_n as f64;
            let f = if common == 0 { 0.0 } else { 2.0 * p * r / (p + r) };
            (p, r, f)
        }
    }
}

/// Whether a text is Chinese: Han characters are at least half of its tokens.
pub fn is_chinese(text: &str) -> bool {
    let toks = tokens(text);
    let han = toks.iter().filter(|t| t.chars().next().is_some_and(yuqing_text::normalize::is_han)).count();
    !toks.is_empty() && han * 2 >= toks.len()
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Title equality after trimming and making every run of whitespace one space.
pub fn title_exact(expected: &str, got: Option<&str>) -> bool {
    got.is_some_and(|g| collapse(g) == collapse(expected))
}

/// Characters that separate a headline from a site's name in a `<title>`.
const SITE_SEPARATORS: &[char] =
    &['_', '＿', '|', '｜', '-', '–', '—', '·', ':', '»', '@', '/', '(', '（', '[', '【', '<', '《'];

/// Title equality that ignores a site's name before or after the headline: equal, or one is the
/// other plus a part that begins (after it) or ends (before it) with a separator (`_ | - – — · :
/// » @`…). The shorter title must keep at least 4 characters and a third of the longer, so a
/// bare site name is not a match.
pub fn title_loose(expected: &str, got: Option<&str>) -> bool {
    let Some(got) = got else { return false };
    let (a, b) = (collapse(expected), collapse(got));
    if a == b {
        return true;
    }
    let (long, short) = if a.chars().count() >= b.chars().count() { (a, b) } else { (b, a) };
    let (ls, ss) =
        (long.chars().filter(|c| !c.is_whitespace()).count(), short.chars().filter(|c| !c.is_whitespace()).count());
    if ss < 4 || ss * 3 < ls {
        return false;
    }
    if let Some(rest) = long.strip_prefix(short.as_str()) {
        return rest.trim_start().starts_with(SITE_SEPARATORS);
    }
    if let Some(rest) = long.strip_suffix(short.as_str()) {
        return rest.trim_end().ends_with(SITE_SEPARATORS);
    }
    false
}

/// The day written in an expected publication time (`2015-07-24T05:36:09+01:00`, `2024-06-25`,
/// `2019-04-28 06:01:07` …) and its offset when it has one.
pub fn expected_day(s: &str) -> Option<(NaiveDate, Option<FixedOffset>)> {
    let s = s.trim();
    let day = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    let offset = DateTime::parse_from_rfc3339(s)
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()
        .map(|t| *t.offset());
    Some((day, offset))
}

/// Whether `got` is on the expected day: its own date (as the page wrote it), or its date in
/// the expected value's offset, is the day the expected value names.
pub fn same_day(expected: &str, got: Option<DateTime<FixedOffset>>) -> bool {
    let (Some((day, offset)), Some(got)) = (expected_day(expected), got) else { return false };
    got.date_naive() == day || offset.is_some_and(|o| got.with_timezone(&o).date_naive() == day)
}

// --------------------------------------------------------------------------------------- pages

/// A page with its known answer.
#[derive(Debug, Clone)]
pub struct Page {
    pub name: String,
    pub dir: PathBuf,
    pub split: Split,
    pub chinese: bool,
    source: String,
    expected_text: String,
    expected_title: Option<String>,
    expected_time: Option<String>,
}

/// The page directories (those holding a `source.html`) at or below each of `dirs`, sorted.
pub fn page_dirs(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for d in dirs {
        if !d.is_dir() {
            bail!("{} 不是目录", d.display());
        }
        // Iterative walk; symbolic links are not followed, so a loop cannot trap it.
        let mut todo = vec![d.clone()];
        while let Some(dir) = todo.pop() {
            if dir.join("source.html").is_file() {
                out.push(dir);
                continue;
            }
            let entries = std::fs::read_dir(&dir).with_context(|| format!("无法读取目录 {}", dir.display()))?;
            for e in entries {
                let e = e.with_context(|| format!("无法读取目录 {}", dir.display()))?;
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    todo.push(e.path());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("无法读取 {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

impl Page {
    pub fn load(dir: &Path) -> Result<Page> {
        let name =
            dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| dir.display().to_string());
        let source = read_text(&dir.join("source.html"))?;
        let expected_text = html_to_text(&read_text(&dir.join("expected.html"))?);
        let meta_path = dir.join("expected-metadata.json");
        let meta: serde_json::Value = if meta_path.is_file() {
            serde_json::from_str(&read_text(&meta_path)?)
                .with_context(|| format!("{} 不是有效的 JSON", meta_path.display()))?
        } else {
            serde_json::Value::Null
        };
        let field = |k: &str| meta.get(k).and_then(|v| v.as_str()).map(str::to_string).filter(|s| !s.trim().is_empty());
        Ok(Page {
            split: Split::of(&name),
            chinese: is_chinese(&expected_text),
            name,
            dir: dir.to_path_buf(),
            source,
            expected_text,
            expected_title: field("title"),
            expected_time: field("publishedTime"),
        })
    }
}

// ------------------------------------------------------------------------------------- running

/// What one extractor returned on a page, reduced to what is measured.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub title: Option<String>,
    pub body: String,
    pub time: Option<DateTime<FixedOffset>>,
    /// The extractor refused the page or panicked on it.
    pub failed: bool,
}

/// The plain Readability port on the raw page, with its defaults.
fn dom_smoothie_plain(html: &str) -> Found {
    let Ok(mut r) = dom_smoothie::Readability::new(html, Some(PAGE_URL), None) else {
        return Found { failed: true, ..Found::default() };
    };
    match r.parse() {
        Ok(a) => Found {
            title: Some(a.title.to_string()).filter(|t| !t.trim().is_empty()),
            body: html_to_text(&a.content),
            time: a.published_time.as_deref().and_then(parse_time),
            failed: false,
        },
        Err(_) => Found { failed: true, ..Found::default() },
    }
}

pub fn run_extractor(ex: Extractor, html: &str) -> Found {
    let run = || match ex {
        Extractor::Yuqing => match article::extract(html, PAGE_URL) {
            Ok(a) => Found { title: a.title, body: a.body.unwrap_or_default(), time: a.published_at, failed: false },
            Err(_) => Found { failed: true, ..Found::default() },
        },
        Extractor::DomSmoothie => dom_smoothie_plain(html),
        Extractor::Legacy => match article_legacy::extract(html) {
            Ok(a) => Found { title: a.title, body: a.body.unwrap_or_default(), time: a.published_at, failed: false },
            Err(_) => Found { failed: true, ..Found::default() },
        },
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or(Found { failed: true, ..Found::default() })
}

/// One extractor's figures on one page.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    pub extractor: Extractor,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub title: Option<String>,
    pub title_exact: bool,
    pub title_loose: bool,
    /// The publication time found (RFC 3339).
    pub time: Option<String>,
    /// `None` when the page has no expected publication time.
    pub date_right: Option<bool>,
    pub failed: bool,
    pub seconds: f64,
    /// The body text found (shown with `--pages`, for diagnosis).
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PageResult {
    pub page: String,
    pub dir: PathBuf,
    pub split: Split,
    pub chinese: bool,
    pub expected_title: Option<String>,
    pub expected_time: Option<String>,
    pub scores: Vec<Score>,
}

pub fn score_page(page: &Page) -> PageResult {
    let scores = EXTRACTORS
        .iter()
        .map(|&ex| {
            let start = Instant::now();
            let found = run_extractor(ex, &page.source);
            let seconds = start.elapsed().as_secs_f64();
            let (precision, recall, f1) = bag_f1(&page.expected_text, &found.body);
            let title = found.title.as_deref().filter(|t| !t.trim().is_empty());
            // A page whose expected title is null has none: finding none is right.
            let no_title = page.expected_title.is_none() && title.is_none();
            let expected_title = page.expected_title.as_deref().unwrap_or("");
            Score {
                extractor: ex,
                precision,
                recall,
                f1,
                title_exact: no_title || title_exact(expected_title, title),
                title_loose: no_title || title_loose(expected_title, title),
                title: found.title.clone(),
                time: found.time.map(|t| t.to_rfc3339()),
                date_right: page.expected_time.as_deref().map(|t| same_day(t, found.time)),
                failed: found.failed,
                seconds,
                body: found.body,
            }
        })
        .collect();
    PageResult {
        page: page.name.clone(),
        dir: page.dir.clone(),
        split: page.split,
        chinese: page.chinese,
        expected_title: page.expected_title.clone(),
        expected_time: page.expected_time.clone(),
        scores,
    }
}

// ------------------------------------------------------------------------------------- summary

/// One extractor's figures over a group of pages.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub extractor: Extractor,
    pub pages: usize,
    pub mean_precision: f64,
    pub mean_recall: f64,
    pub mean_f1: f64,
    /// Share of pages whose body F1 is below 0.5.
    pub share_f1_below_half: f64,
    pub title_exact: f64,
    pub title_loose: f64,
    /// Pages with an expected publication time, and the share found right to the day.
    pub dated_pages: usize,
    pub date_right: Option<f64>,
    pub failed: usize,
    pub seconds: f64,
}

/// Figures of all extractors over one side of the split and one subset of pages.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// `held-out`, `dev` or `all`.
    pub split: &'static str,
    /// `all` or `chinese`.
    pub subset: &'static str,
    pub pages: usize,
    pub figures: Vec<Figures>,
}

fn figures(ex: Extractor, results: &[&PageResult]) -> Figures {
    let scores: Vec<&Score> = results.iter().filter_map(|r| r.scores.iter().find(|s| s.extractor == ex)).collect();
    let n = scores.len();
    let mean =
        |f: &dyn Fn(&Score) -> f64| if n == 0 { 0.0 } else { scores.iter().map(|s| f(s)).sum::<f64>() / n as f64 };
    let dated: Vec<bool> = scores.iter().filter_map(|s| s.date_right).collect();
    Figures {
        extractor: ex,
        pages: n,
        mean_precision: mean(&|s| s.precision),
        mean_recall: mean(&|s| s.recall),
        mean_f1: mean(&|s| s.f1),
        share_f1_below_half: mean(&|s| f64::from(u8::from(s.f1 < 0.5))),
        title_exact: mean(&|s| f64::from(u8::from(s.title_exact))),
        title_loose: mean(&|s| f64::from(u8::from(s.title_loose))),
        dated_pages: dated.len(),
        date_right: (!dated.is_empty()).then(|| dated.iter().filter(|d| **d).count() as f64 / dated.len() as f64),
        failed: scores.iter().filter(|s| s.failed).count(),
        seconds: scores.iter().map(|s| s.seconds).sum(),
    }
}

/// The whole evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct ExtractionReport {
    pub pages: usize,
    pub held_out_pages: usize,
    pub chinese_pages: usize,
    /// Held-out first: those are the result; dev is where the extractor was tuned.
    pub groups: Vec<Group>,
    /// Per-page results (with `--pages`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub page_results: Vec<PageResult>,
}

pub fn summarize(results: &[PageResult]) -> Vec<Group> {
    let mut groups = Vec::new();
    for split in ["held-out", "dev", "all"] {
        for subset in ["all", "chinese"] {
            let chosen: Vec<&PageResult> = results
                .iter()
                .filter(|r| match split {
                    "held-out" => r.split == Split::HeldOut,
                    "dev" => r.split == Split::Dev,
                    _ => true,
                })
                .filter(|r| subset == "all" || r.chinese)
                .collect();
            groups.push(Group {
                split,
                subset,
                pages: chosen.len(),
                figures: EXTRACTORS.iter().map(|&ex| figures(ex, &chosen)).collect(),
            });
        }
    }
    groups
}

/// Which pages' details to keep in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Details {
    None,
    Dev,
    HeldOut,
    All,
}

impl Details {
    pub fn parse(s: Option<&str>) -> Result<Details> {
        Ok(match s {
            None => Details::None,
            Some("dev") => Details::Dev,
            Some("held-out") => Details::HeldOut,
            Some("all") => Details::All,
            Some(other) => bail!("--pages 只能是 dev、held-out 或 all，而不是“{other}”"),
        })
    }
}

pub fn run(dirs: &[PathBuf], details: Details) -> Result<ExtractionReport> {
    let found = page_dirs(dirs)?;
    if found.is_empty() {
        bail!("在给出的目录下没有找到含 source.html 的页面目录");
    }
    let pages: Vec<Page> = found.iter().map(|d| Page::load(d)).collect::<Result<_>>()?;
    let results: Vec<PageResult> = pages.par_iter().map(score_page).collect();
    let groups = summarize(&results);
    let page_results = results
        .into_iter()
        .filter(|r| match details {
            Details::None => false,
            Details::Dev => r.split == Split::Dev,
            Details::HeldOut => r.split == Split::HeldOut,
            Details::All => true,
        })
        .collect();
    Ok(ExtractionReport {
        pages: pages.len(),
        held_out_pages: pages.iter().filter(|p| p.split == Split::HeldOut).count(),
        chinese_pages: pages.iter().filter(|p| p.chinese).count(),
        groups,
        page_results,
    })
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

impl ExtractionReport {
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "文章抽取评估：{} 个页面（留出集 {}，开发集 {}；中文页面 {}）\n\
             正文 F1：按词袋比较（汉字一字一词，其他文字按词），见 docs/QUALITY.md；标题：完全一致 / 忽略网站名后缀；\n\
             日期：精确到日，只计有 publishedTime 的页面。结果以留出集为准，开发集用于调优。\n",
            self.pages,
            self.held_out_pages,
            self.pages - self.held_out_pages,
            self.chinese_pages
        );
        for g in &self.groups {
            let split = match g.split {
                "held-out" => "留出集",
                "dev" => "开发集",
                _ => "全部",
            };
            let subset = if g.subset == "chinese" { "中文页面" } else { "所有页面" };
            out.push_str(&format!("\n【{split} · {subset}】{} 页\n", g.pages));
            if g.pages == 0 {
                continue;
            }
            out.push_str(
                "抽取器         正文F1  精确率  召回率  F1<0.5  标题一致  标题(忽略后缀)  日期(有日期页)  失败  耗时\n",
            );
            for f in &g.figures {
                let date = f.date_right.map_or("—".to_string(), pct);
                out.push_str(&format!(
                    "{:<13}  {:.3}   {:.3}   {:.3}   {:>6}  {:>8}  {:>13}  {:>8}（{}）  {:>4}  {:.2}秒\n",
                    f.extractor.name(),
                    f.mean_f1,
                    f.mean_precision,
                    f.mean_recall,
                    pct(f.share_f1_below_half),
                    pct(f.title_exact),
                    pct(f.title_loose),
                    date,
                    f.dated_pages,
                    f.failed,
                    f.seconds
                ));
            }
        }
        if !self.page_results.is_empty() {
            out.push_str("\n逐页（F1 / 标题一致 / 标题忽略后缀 / 日期）：\n");
            for r in &self.page_results {
                let split = if r.split == Split::HeldOut { "留出" } else { "开发" };
                out.push_str(&format!("{} [{split}{}]", r.page, if r.chinese { "·中文" } else { "" }));
                for s in &r.scores {
                    let mark = |b: bool| if b { "✓" } else { "✗" };
                    out.push_str(&format!(
                        "  {} {:.2} {}{}{}",
                        s.extractor.name(),
                        s.f1,
                        mark(s.title_exact),
                        mark(s.title_loose),
                        s.date_right.map_or("-", mark)
                    ));
                }
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_characters_are_tokens_and_other_words_are_whole() {
        assert_eq!(tokens("光明网 Hello, World-2024！"), vec!["光", "明", "网", "hello", "world", "2024"]);
        assert!(tokens(" ，。 ").is_empty());
    }

    #[test]
    fn f1_is_one_for_the_same_text_whatever_the_layout() {
        let (p, r, f) = bag_f1("正文第一段。\n第二段", "正文 第一段\n\n第二段。");
        assert_eq!((p, r, f), (1.0, 1.0, 1.0));
    }

    #[test]
    fn f1_counts_repeated_tokens_once_each() {
        // Expected 4 tokens; found 2 of them plus 2 that are not there.
        let (p, r, f) = bag_f1("甲 甲 乙 丙", "甲 甲 丁 戊");
        assert!((p - 0.5).abs() < 1e-9 && (r - 0.5).abs() < 1e-9 && (f - 0.5).abs() < 1e-9);
        // A found text that repeats a token more often than expected gains nothing by it.
        let (p, r, _) = bag_f1("甲 乙", "甲 甲 甲 甲");
        assert!((p - 0.25).abs() < 1e-9 && (r - 0.5).abs() < 1e-9);
    }

    #[test]
    fn f1_of_an_empty_answer_is_zero_and_of_two_empty_texts_one() {
        assert_eq!(bag_f1("正文", "").2, 0.0);
        assert_eq!(bag_f1("", "页脚").2, 0.0);
        assert_eq!(bag_f1("", " ").2, 1.0);
        assert_eq!(bag_f1("正文", "页脚").2, 0.0);
    }

    #[test]
    fn the_split_is_fixed_and_holds_out_about_three_tenths() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let names: Vec<String> = (0..1000).map(|i| format!("page-{i}")).collect();
        let held = names.iter().filter(|n| Split::of(n) == Split::HeldOut).count();
        assert!((250..=350).contains(&held), "{held}");
        // Fixed sides, as docs/QUALITY.md reports them.
        assert_eq!(Split::of("qq"), Split::HeldOut);
        assert_eq!(Split::of("hukumusume"), Split::HeldOut);
        assert_eq!(Split::of("gmw"), Split::Dev);
        assert_eq!(Split::of("youth"), Split::Dev);
    }

    #[test]
    fn loose_titles_ignore_a_site_suffix_but_not_a_bare_site_name() {
        let expected = "宇航员在太空中喝酒会怎么样？后果很严重 _探索者 _光明网";
        assert!(!title_exact(expected, Some("宇航员在太空中喝酒会怎么样？后果很严重")));
        assert!(title_loose(expected, Some("宇航员在太空中喝酒会怎么样？后果很严重")));
        assert!(title_loose("标题很长的一篇文章", Some("光明网 - 标题很长的一篇文章")));
        assert!(!title_loose(expected, Some("光明网")));
        assert!(!title_loose("宇航员在太空中喝酒", Some("宇航员在太空中喝酒会怎么样")));
        assert!(title_exact(" A  title\n", Some("A title")));
        assert!(!title_loose("A title", None));
    }

    #[test]
    fn dates_are_compared_by_the_day_written_or_in_the_expected_offset() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).ok();
        assert!(same_day("2015-07-24T05:36:09+01:00", t("2015-07-24T12:36:09+08:00")));
        // The same instant, written in another offset on another day.
        assert!(same_day("2015-03-17T23:27:40Z", t("2015-03-18T07:27:40+08:00")));
        assert!(same_day("2024-06-25", t("2024-06-25T00:00:00+08:00")));
        assert!(same_day("2021-11-01T10:52:50+0100", t("2021-11-01T10:52:50+01:00")));
        assert!(!same_day("2024-06-25", t("2024-06-26T09:00:00+08:00")));
        assert!(!same_day("2024-06-25", None));
        assert!(!same_day("yesterday", t("2024-06-25T00:00:00+08:00")));
    }
}
