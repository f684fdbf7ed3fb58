//! `yuqing bench-extract [--depth N]`: article extraction on generated hostile pages, elements
//! nested N deep (issue 13 item 2: the old extractor overflowed the stack on such a page after
//! about 18 s). Times `article::extract` (what collection runs on a page without selectors) and
//! `html_to_text` (what feed summaries go through) on each shape.
//!
//! Invariant: the pages are generated here, the same on every run; nothing is read or written.

use std::time::Instant;

use serde::Serialize;
use yuqing_collect::{article, html_limit, html_text};

/// Shapes of nesting: the opening and closing markup repeated N times.
const SHAPES: &[(&str, &str, &str)] =
    &[("div", "<div>", "</div>"), ("span", "<span>", "</span>"), ("table", "<table><tr><td>", "</td></tr></table>")];

const BODY: &str = "深层嵌套页面的正文。这一段文字在十万层元素之内，抽取应当在有限时间内返回它，而不是耗尽栈空间。";

#[derive(Debug, Clone, Serialize)]
pub struct ShapeFigures {
    pub shape: &'static str,
    pub depth: usize,
    pub bytes: usize,
    /// The linear pre-pass of `html_limit::flatten` alone.
    pub flatten_seconds: f64,
    pub article_seconds: f64,
    /// Whether `article::extract` returned the body text (`None`: it refused the page).
    pub article_found_body: Option<bool>,
    pub html_to_text_seconds: f64,
    pub html_to_text_found_body: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct BenchExtractReport {
    pub shapes: Vec<ShapeFigures>,
}

/// A whole page with `depth` nested elements of one shape around the article text.
pub fn deep_page(open: &str, close: &str, depth: usize) -> String {
    let mut s = String::with_capacity((open.len() + close.len()) * depth + 512);
    s.push_str("<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>深层嵌套页面_测试网</title></head><body><h1>深层嵌套页面</h1>");
    for _ in 0..depth {
        s.push_str(open);
    }
    s.push_str("<p>");
    s.push_str(BODY);
    s.push_str("</p>");
    for _ in 0..depth {
        s.push_str(close);
    }
    s.push_str("</body></html>");
    s
}

pub fn run(depth: usize) -> BenchExtractReport {
    let shapes = SHAPES
        .iter()
        .map(|&(shape, open, close)| {
            let page = deep_page(open, close, depth);
            let t = Instant::now();
            let flat = html_limit::flatten(&page);
            let flatten_seconds = t.elapsed().as_secs_f64();
            drop(flat);
            let t = Instant::now();
            let a = article::extract(&page, "https://example.cn/deep.html");
            let article_seconds = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let text = html_text::html_to_text(&page);
            let html_to_text_seconds = t.elapsed().as_secs_f64();
            ShapeFigures {
                shape,
                depth,
                bytes: page.len(),
                flatten_seconds,
                article_seconds,
                article_found_body: a.ok().map(|a| a.body.is_some_and(|b| b.contains(BODY))),
                html_to_text_seconds,
                html_to_text_found_body: text.contains(BODY),
            }
        })
        .collect();
    BenchExtractReport { shapes }
}

impl BenchExtractReport {
    pub fn to_text(&self) -> String {
        let mut out = String::from("深层嵌套页面上的文章抽取（单线程）\n");
        for s in &self.shapes {
            let found = match s.article_found_body {
                Some(true) => "取到正文",
                Some(false) => "未取到正文",
                None => "页面被拒（过深/过大）",
            };
            out.push_str(&format!(
                "<{}> × {}（{:.1} MB）：预处理 {:.3} 秒；article::extract {:.3} 秒，{found}；html_to_text {:.3} 秒，{}\n",
                s.shape,
                s.depth,
                s.bytes as f64 / 1e6,
                s.flatten_seconds,
                s.article_seconds,
                s.html_to_text_seconds,
                if s.html_to_text_found_body { "取到正文" } else { "未取到正文" }
            ));
        }
        out.trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deep_page_yields_its_body_without_overflowing() {
        let r = run(20_000);
        for s in &r.shapes {
            assert_eq!(s.article_found_body, Some(true), "{}", s.shape);
            assert!(s.html_to_text_found_body, "{}", s.shape);
        }
    }
}
