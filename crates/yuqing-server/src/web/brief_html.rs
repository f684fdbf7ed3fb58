//! The 研判摘要 section of the story and incident pages: the brief's sentences and items, each
//! followed by links to the posts it came from. Pure: brief in, HTML out.
//!
//! Invariant: every sentence and item shown carries its post links; all text is escaped.

use std::fmt::Write;

use yuqing_text::brief::Brief;

use crate::html::{china, esc};

/// Styles of the section (served in the desk's style sheet; pages carry no inline styles).
pub const STYLE: &str = ".brief{background:#fff;border:1px solid #e4e7ec;border-left:4px solid #1f5fbf;border-radius:6px;padding:8px 16px;margin:12px 0}\
.brief h3{margin:6px 0}.brief dl{display:grid;grid-template-columns:6em 1fr;gap:4px 12px;margin:0}\
.brief dt{color:#475467;font-weight:700}.brief dd{margin:0}.brief ol,.brief ul{margin:0;padding-left:1.4em}\
.brief a.cite{font-size:12px;color:#1f5fbf;text-decoration:none;margin-left:2px}.brief a.cite:hover{text-decoration:underline}\
.brief .fig{font-weight:700}.brief .tier{font-size:12px;color:#475467;border:1px solid #d0d5dd;border-radius:3px;padding:0 3px}";

/// Where a cited post is shown: the page's own anchor when the post is listed on it, else the
/// post's page (which finds it in its story's list).
pub fn post_href(id: i64, on_page: &dyn Fn(i64) -> bool) -> String {
    if on_page(id) {
        format!("#p{id}")
    } else {
        format!("/posts/{id}")
    }
}

fn cites(ids: &[i64], more: usize, on_page: &dyn Fn(i64) -> bool) -> String {
    let mut s = String::new();
    for id in ids {
        let _ =
            write!(s, "<a class=\"cite\" href=\"{}\" title=\"出处：帖文 #{id}\">[#{id}]</a>", post_href(*id, on_page));
    }
    if more > 0 {
        let _ = write!(s, "<span class=\"muted\">等 {} 条</span>", ids.len() + more);
    }
    s
}

/// The section for one story's brief. `title` names it ("研判摘要" or "研判摘要：事件 #3"), `on_page`
/// says whether a post is listed on this page.
pub fn render_brief(b: &Brief, title: &str, on_page: &dyn Fn(i64) -> bool) -> String {
    let mut h = String::new();
    let _ = write!(h, "<section class=\"brief\" id=\"brief\"><h3>{}</h3>", esc(title));
    if b.posts_read == 0 {
        h.push_str("<p class=\"muted\">暂无帖文，无法形成摘要。</p></section>");
        return h;
    }
    h.push_str("<dl>");
    if !b.what.is_empty() {
        h.push_str("<dt>事件概要</dt><dd><ol class=\"brief-what\">");
        for c in &b.what {
            let _ = write!(h, "<li>{}{}</li>", esc(&c.text), cites(&c.posts, c.more, on_page));
        }
        h.push_str("</ol></dd>");
    }
    if let Some(f) = &b.first_seen {
        let offset = *china(&f.at).offset();
        let _ = write!(h, "<dt>首发</dt><dd>{}{}</dd>", esc(&f.describe_zh(offset)), cites(&[f.post], 0, on_page));
    }
    if !b.places.is_empty() {
        let items: Vec<String> = b
            .places
            .iter()
            .map(|p| format!("{}（{} 条）{}", esc(&p.name), p.count, cites(&p.posts, 0, on_page)))
            .collect();
        let _ = write!(h, "<dt>涉及地点</dt><dd>{}</dd>", items.join("、"));
    }
    if !b.numbers.is_empty() {
        h.push_str("<dt>关键数字</dt><dd><ul>");
        for n in &b.numbers {
            let _ = write!(
                h,
                "<li><span class=\"fig\">{}</span>（{}，{} 条提及）：“{}”{}</li>",
                esc(&n.figure),
                n.kind.label_zh(),
                n.count,
                esc(&n.clause),
                cites(&n.posts, 0, on_page)
            );
        }
        h.push_str("</ul></dd>");
    }
    if let Some(s) = &b.sentiment {
        let _ = write!(h, "<dt>情感倾向</dt><dd>{}", esc(&s.describe_zh()));
        if !s.posts.is_empty() {
            let _ = write!(h, "；最负面的帖文{}", cites(&s.posts, 0, on_page));
        }
        h.push_str("</dd>");
    }
    if !b.representative.is_empty() {
        h.push_str("<dt>代表性帖文</dt><dd><ol>");
        for r in &b.representative {
            let _ = write!(
                h,
                "<li><span class=\"tier\">{}</span> {} · {} · <a href=\"{}\">{}</a>{}</li>",
                r.tier.label_zh(),
                esc(if r.site.is_empty() { "未知来源" } else { &r.site }),
                crate::html::fmt_time(&r.at),
                post_href(r.post, on_page),
                esc(&r.headline),
                if r.copies > 1 {
                    format!("<span class=\"muted\">（相同内容 {} 条）</span>", r.copies)
                } else {
                    String::new()
                }
            );
        }
        h.push_str("</ol></dd>");
    }
    if let Some(heat) = &b.heat {
        let offset = *china(&heat.peak_hour).offset();
        let _ = write!(h, "<dt>热度</dt><dd>{}{}</dd>", esc(&heat.describe_zh(offset)), cites(&heat.posts, 0, on_page));
    }
    h.push_str("</dl>");
    let basis = if b.posts_read < b.posts_total {
        format!("依据本事件 {} 条帖文中最早和最新的 {} 条", b.posts_total, b.posts_read)
    } else {
        format!("依据本事件全部 {} 条帖文", b.posts_read)
    };
    let _ = write!(h, "<p class=\"muted small\">{basis}自动摘录：句子均出自帖文原文，方括号为出处帖文编号，点击可查看；不涉及发帖人。</p></section>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};
    use yuqing_core::SourceTier;
    use yuqing_text::brief::{Cited, FirstSeen, Place};

    fn sample() -> Brief {
        let at = FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap();
        Brief {
            posts_total: 3,
            posts_read: 3,
            what: vec![Cited { text: "某地<化工厂>发生爆炸。".into(), posts: vec![7, 9], more: 2 }],
            first_seen: Some(FirstSeen { at, site: "某论坛".into(), tier: SourceTier::Community, post: 7 }),
            places: vec![Place { name: "某地".into(), posts: vec![7], count: 1 }],
            numbers: vec![],
            sentiment: None,
            representative: vec![],
            heat: None,
        }
    }

    #[test]
    fn every_sentence_links_its_posts_and_text_is_escaped() {
        let html = render_brief(&sample(), "研判摘要", &|id| id == 7);
        assert!(html.contains("某地&lt;化工厂&gt;发生爆炸。"), "{html}");
        assert!(html.contains("href=\"#p7\""), "a post on the page links to its anchor");
        assert!(html.contains("href=\"/posts/9\""), "a post elsewhere links to its page");
        assert!(html.contains("等 4 条"));
        assert!(html.contains("2026-03-01 09:30 首见于某论坛（社区/自媒体）"));
        assert!(!html.contains("style=") && !html.contains("<script"));
    }

    #[test]
    fn a_story_without_posts_says_so() {
        let b = Brief {
            posts_total: 0,
            posts_read: 0,
            what: vec![],
            first_seen: None,
            places: vec![],
            numbers: vec![],
            sentiment: None,
            representative: vec![],
            heat: None,
        };
        assert!(render_brief(&b, "研判摘要", &|_| false).contains("暂无帖文"));
    }
}
