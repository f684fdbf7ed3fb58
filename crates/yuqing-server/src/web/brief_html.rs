//! The 研判摘要 section of the story and incident pages: the brief's sentences and items, each
//! followed by links to the posts it came from. Pure: brief in, HTML out.
//!
//! Invariant: every sentence and item shown carries its post links; all text is escaped.

use yuqing_text::brief::Brief;

use maud::{html, Markup};

use crate::html::china;

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

fn cites(ids: &[i64], more: usize, on_page: &dyn Fn(i64) -> bool) -> Markup {
    html! {
        @for id in ids {
            a.cite href=(post_href(*id, on_page)) title={ "出处：帖文 #" (id) } { "[#" (id) "]" }
        }
        @if more > 0 {
            span.muted { "等 " (ids.len() + more) " 条" }
        }
    }
}

/// The section for one story's brief. `title` names it ("研判摘要" or "研判摘要：事件 #3"), `on_page`
/// says whether a post is listed on this page.
pub fn render_brief(b: &Brief, title: &str, on_page: &dyn Fn(i64) -> bool) -> Markup {
    let basis = if b.posts_read < b.posts_total {
        format!("依据本事件 {} 条帖文中最早和最新的 {} 条", b.posts_total, b.posts_read)
    } else {
        format!("依据本事件全部 {} 条帖文", b.posts_read)
    };
    html! {
        section.brief #brief {
            h3 { (title) }
            @if b.posts_read == 0 {
                p.muted { "暂无帖文，无法形成摘要。" }
            } @else {
                dl {
                    @if !b.what.is_empty() {
                        dt { "事件概要" }
                        dd { ol.brief-what { @for c in &b.what { li { (c.text) (cites(&c.posts, c.more, on_page)) } } } }
                    }
                    @if let Some(f) = &b.first_seen {
                        dt { "首发" }
                        dd { (f.describe_zh(*china(&f.at).offset())) (cites(&[f.post], 0, on_page)) }
                    }
                    @if !b.places.is_empty() {
                        dt { "涉及地点" }
                        dd {
                            @for (i, p) in b.places.iter().enumerate() {
                                @if i > 0 { "、" }
                                (p.name) "（" (p.count) " 条）" (cites(&p.posts, 0, on_page))
                            }
                        }
                    }
                    @if !b.numbers.is_empty() {
                        dt { "关键数字" }
                        dd { ul { @for n in &b.numbers {
                            li {
                                span.fig { (n.figure) } "（" (n.kind.label_zh()) "，" (n.count) " 条提及）：“" (n.clause) "”"
                                (cites(&n.posts, 0, on_page))
                            }
                        } } }
                    }
                    @if let Some(s) = &b.sentiment {
                        dt { "情感倾向" }
                        dd {
                            (s.describe_zh())
                            @if !s.posts.is_empty() { "；最负面的帖文" (cites(&s.posts, 0, on_page)) }
                        }
                    }
                    @if !b.representative.is_empty() {
                        dt { "代表性帖文" }
                        dd { ol { @for r in &b.representative {
                            li {
                                span.tier { (r.tier.label_zh()) } " "
                                (if r.site.is_empty() { "未知来源" } else { &r.site }) " · "
                                (crate::html::fmt_time(&r.at)) " · "
                                a href=(post_href(r.post, on_page)) { (r.headline) }
                                @if r.copies > 1 { span.muted { "（相同内容 " (r.copies) " 条）" } }
                            }
                        } } }
                    }
                    @if let Some(heat) = &b.heat {
                        dt { "热度" }
                        dd { (heat.describe_zh(*china(&heat.peak_hour).offset())) (cites(&heat.posts, 0, on_page)) }
                    }
                }
                p class="muted small" {
                    (basis) "自动摘录：句子均出自帖文原文，方括号为出处帖文编号，点击可查看；不涉及发帖人。"
                }
            }
        }
    }
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
        let html = render_brief(&sample(), "研判摘要", &|id| id == 7).into_string();
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
        assert!(render_brief(&b, "研判摘要", &|_| false).into_string().contains("暂无帖文"));
    }
}
