//! The article extractor as it was before issue 13 (kept only so that `yuqing eval-extraction`
//! can show it beside the current one). Same code, except that the page is parsed within the
//! bounds of [`crate::html_limit`]. Not used for collection.

use chrono::{DateTime, FixedOffset};
use scraper::{ElementRef, Html, Selector};

use crate::extract::{element_text, find_time, parse_time};

fn non_empty(s: String) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn select_text(doc: &Html, selector: &str) -> Option<String> {
    let sel = Selector::parse(selector).ok()?;
    let parts: Vec<String> = doc.select(&sel).map(element_text).filter(|t| !t.is_empty()).collect();
    non_empty(parts.join("\n"))
}

fn select_attr_or_text(doc: &Html, selector: &str, attrs: &[&str]) -> Option<String> {
    let sel = Selector::parse(selector).ok()?;
    let el = doc.select(&sel).next()?;
    attrs
        .iter()
        .find_map(|a| el.value().attr(a).map(str::to_string))
        .and_then(non_empty)
        .or_else(|| non_empty(element_text(el)))
}

fn meta(doc: &Html, keys: &[&str]) -> Option<String> {
    let sel = Selector::parse("meta").ok()?;
    for key in keys {
        for m in doc.select(&sel) {
            let v = m.value();
            let k = v.attr("property").or(v.attr("name")).or(v.attr("itemprop")).unwrap_or("");
            if k.eq_ignore_ascii_case(key) {
                if let Some(c) = v.attr("content").map(str::to_string).and_then(non_empty) {
                    return Some(c);
                }
            }
        }
    }
    None
}

/// What the old extractor found on a page without selectors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegacyArticle {
    pub title: Option<String>,
    pub body: Option<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
}

/// The old extractor on a page without selectors.
pub fn extract(html: &str) -> Result<LegacyArticle, crate::html_limit::TooComplex> {
    let doc = crate::html_limit::parse_document(html)?;
    let title = meta(&doc, &["og:title"]).or_else(|| select_text(&doc, "title")).or_else(|| select_text(&doc, "h1"));
    let body = main_text(&doc);
    let time = meta(&doc, &["article:published_time", "pubdate", "publishdate", "datePublished", "og:release_date"])
        .and_then(|t| parse_time(&t))
        .or_else(|| select_attr_or_text(&doc, "time", &["datetime"]).and_then(|t| parse_time(&t)))
        .or_else(|| {
            let sel = Selector::parse("body").ok()?;
            let text: String = doc.select(&sel).next().map(element_text)?.chars().take(3000).collect();
            find_time(&text)
        });
    Ok(LegacyArticle { title, body, published_at: time })
}

/// Readability-style main text: the element whose direct paragraphs hold the most text, with few
/// links in it.
fn main_text(doc: &Html) -> Option<String> {
    let p = Selector::parse("p").ok()?;
    let a = Selector::parse("a").ok()?;
    let mut scores: Vec<(ego_id::Id, f64)> = Vec::new();
    for para in doc.select(&p) {
        let t = element_text(para);
        let len = t.chars().filter(|c| !c.is_whitespace()).count();
        if len < 10 {
            continue;
        }
        let score = 1.0 + len as f64 / 50.0 + t.matches(['，', '。', ',']).count() as f64;
        let mut weight = 1.0;
        let mut node = para.parent();
        for _ in 0..2 {
            let Some(n) = node else { break };
            if ElementRef::wrap(n).is_none() {
                break;
            }
            let id = ego_id::of(n);
            match scores.iter_mut().find(|(i, _)| *i == id) {
                Some(s) => s.1 += score * weight,
                None => scores.push((id, score * weight)),
            }
            weight /= 2.0;
            node = n.parent();
        }
    }
    let mut best: Option<(ElementRef<'_>, f64)> = None;
    for (id, score) in &scores {
        let Some(el) = doc.tree.get(id.0).and_then(ElementRef::wrap) else { continue };
        let text = element_text(el);
        let total = text.chars().count().max(1) as f64;
        let linked: usize = el.select(&a).map(|x| element_text(x).chars().count()).sum();
        let adjusted = score * (1.0 - (linked as f64 / total).min(1.0));
        if best.as_ref().is_none_or(|(_, s)| adjusted > *s) {
            best = Some((el, adjusted));
        }
    }
    let (el, _) = best?;
    // The paragraphs of the best element (skipping navigation lists and scripts within it).
    let paras: Vec<String> = el.select(&p).map(element_text).filter(|t| !t.is_empty()).collect();
    if paras.is_empty() {
        non_empty(element_text(el))
    } else {
        non_empty(paras.join("\n"))
    }
}

/// Node ids of the parsed tree, comparable.
mod ego_id {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Id(pub ego_tree::NodeId);
    pub fn of(n: ego_tree::NodeRef<'_, scraper::Node>) -> Id {
        Id(n.id())
    }
}
