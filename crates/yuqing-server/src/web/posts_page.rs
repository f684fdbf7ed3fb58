//! 信息: the post stream, newest first, narrowed by time, source, tier, sentiment, topic and watch
//! rule, paged on the server. Full-text search with highlights is /search (linked from here).

use std::fmt::Write;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeZone, Utc};
use maud::{html, Markup};
use yuqing_core::{Sentiment, SourceTier};
use yuqing_store::{PostFilter, COUNT_CAP};

use crate::error::titled_page;
use crate::extract::Query;
use crate::html::{external_link, fmt_time, Layout};
use crate::AppState;

const PAGE: usize = 50;

fn day(s: &str, what: &str) -> Result<chrono::DateTime<Utc>, String> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("{what}“{s}”应为 YYYY-MM-DD"))?;
    let local = d.and_hms_opt(0, 0, 0).ok_or_else(|| format!("{what}无效"))?;
    yuqing_core::china()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("{what}无效"))
}

/// The post stream's query string, as typed: blank fields mean "any" (the filter form sends them).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PostsQuery {
    from: Option<String>,
    to: Option<String>,
    source: Option<String>,
    tier: Option<String>,
    sentiment: Option<String>,
    topic: Option<String>,
    rule: Option<String>,
    page: Option<String>,
}

impl PostsQuery {
    /// A parameter's text by its name (as given, untrimmed).
    fn field(&self, name: &str) -> Option<&str> {
        match name {
            "from" => self.from.as_deref(),
            "to" => self.to.as_deref(),
            "source" => self.source.as_deref(),
            "tier" => self.tier.as_deref(),
            "sentiment" => self.sentiment.as_deref(),
            "topic" => self.topic.as_deref(),
            "rule" => self.rule.as_deref(),
            "page" => self.page.as_deref(),
            _ => None,
        }
    }
}

/// Reads the filter from the query string; errors name the parameter.
pub fn filter_from_query(q: &PostsQuery) -> Result<(PostFilter, usize), String> {
    let get = |k: &str| q.field(k).map(str::trim).filter(|s| !s.is_empty());
    let mut f = PostFilter::default();
    if let Some(s) = get("from") {
        f.since = Some(day(s, "开始日期")?);
    }
    if let Some(s) = get("to") {
        f.until = Some(day(s, "结束日期")? + chrono::Duration::days(1));
    }
    f.source = get("source").map(str::to_string);
    if let Some(t) = get("tier") {
        f.tier = Some(t.parse::<SourceTier>()?);
    }
    if let Some(s) = get("sentiment") {
        f.sentiment = Some(
            Sentiment::ALL
                .into_iter()
                .find(|x| x.as_str() == s || x.label_zh() == s)
                .ok_or_else(|| format!("未知的情感倾向“{s}”"))?,
        );
    }
    f.topic = get("topic").map(str::to_string);
    f.rule = get("rule").map(str::to_string);
    let page_no = crate::paging::page_value(q.page.as_deref(), "page", PAGE, crate::paging::MAX_OFFSET)?;
    Ok((f, page_no))
}

fn opt(value: &str, label: &str, current: Option<&str>) -> Markup {
    html! { option value=(value) selected[current == Some(value)] { (label) } }
}

pub async fn posts(State(state): State<AppState>, Query(q): Query<PostsQuery>) -> Response {
    let (filter, page_no) = match filter_from_query(&q) {
        Ok(x) => x,
        Err(e) => {
            let layout = Layout { banner: None, ..Layout::of(&state, "信息") };
            return (StatusCode::BAD_REQUEST, layout.html(html! { p { (e) } })).into_response();
        }
    };
    let f = filter.clone();
    let result = state
        .blocking(move |d, _| {
            let posts = d.store.posts_filtered(&f, PAGE, crate::paging::offset_of(page_no, PAGE))?;
            let ids: Vec<i64> = posts.items.iter().map(|p| p.id).collect();
            let snaps = yuqing_store::collect::snapshots_of_posts(d.store.connection(), &ids)?;
            Ok((posts, snaps))
        })
        .await;
    let (posts, snaps) = match result {
        Ok(p) => p,
        Err(e) => return titled_page(&state, "信息", e),
    };
    let cur = |k: &str| q.field(k);
    let total = if posts.total > COUNT_CAP { format!("{COUNT_CAP} 条以上") } else { format!("{} 条", posts.total) };
    let mut base = String::from("/posts?");
    for k in ["from", "to", "source", "tier", "sentiment", "topic", "rule"] {
        if let Some(v) = cur(k).filter(|v| !v.is_empty()) {
            let _ = write!(base, "{k}={}&", urlencoding::encode(v));
        }
    }
    let body = html! {
        h2 { "信息" }
        form.filters method="get" action="/posts" {
            label { "自 " input type="date" name="from" value=(cur("from").unwrap_or("")); } " "
            label { "至 " input type="date" name="to" value=(cur("to").unwrap_or("")); } " "
            input name="source" placeholder="来源" value=(cur("source").unwrap_or("")); " "
            select name="tier" {
                option value="" { "全部级别" }
                @for t in SourceTier::ALL { (opt(t.as_str(), t.label_zh(), cur("tier"))) }
            }
            " "
            select name="sentiment" {
                option value="" { "全部倾向" }
                @for s in Sentiment::ALL { (opt(s.as_str(), s.label_zh(), cur("sentiment"))) }
            }
            " " input name="topic" placeholder="领域" value=(cur("topic").unwrap_or(""));
            " " input name="rule" placeholder="监测规则" value=(cur("rule").unwrap_or(""));
            " " button { "筛选" } " " a href="/search" { "全文检索" }
        }
        p.muted { "共 " (total) "，最新在前" }
        @for p in &posts.items {
            div.post {
                div.meta {
                    (fmt_time(&p.published_at)) " · " (if p.source.is_empty() { "未知来源" } else { &p.source }) " · "
                    (p.tier.label_zh()) " · "
                    @match p.sentiment {
                        Sentiment::Negative => span.neg { "负面" },
                        Sentiment::Positive => span.pos { "正面" },
                        Sentiment::Neutral => "中性",
                    }
                    " · " a href={ "/stories/" (p.story_id) } { "事件 #" (p.story_id) }
                    @if let Some(u) = p.url.as_deref() { " · " (external_link(u, Some("原文"))) }
                    @if let Some(sha) = snaps.get(&p.id) { " · " a href={ "/snapshots/" (sha) } { "快照" } }
                }
                @if !p.title.is_empty() { b { (p.title) } }
                div { (p.text.chars().take(240).collect::<String>()) }
            }
        }
        (crate::paging::Pager::new(&base, page_no, posts.total, PAGE).capped(COUNT_CAP).render())
    };
    Layout::of(&state, "信息").html(body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> PostsQuery {
        let mut q = PostsQuery::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "from" => q.from = v,
                "to" => q.to = v,
                "tier" => q.tier = v,
                "sentiment" => q.sentiment = v,
                "page" => q.page = v,
                other => panic!("no parameter {other} in this test"),
            }
        }
        q
    }

    #[test]
    fn filters_parse_in_china_days_and_name_bad_parameters() {
        let (f, p) = filter_from_query(&q(&[
            ("from", "2026-11-20"),
            ("to", "2026-11-20"),
            ("tier", "Central"),
            ("sentiment", "负面"),
            ("page", "3"),
        ]))
        .unwrap();
        assert_eq!(f.since, Some(Utc.with_ymd_and_hms(2026, 11, 19, 16, 0, 0).unwrap()));
        assert_eq!(f.until, Some(Utc.with_ymd_and_hms(2026, 11, 20, 16, 0, 0).unwrap()));
        assert_eq!(f.tier, Some(SourceTier::Central));
        assert_eq!(f.sentiment, Some(Sentiment::Negative));
        assert_eq!(p, 3);
        assert!(filter_from_query(&q(&[("from", "昨天")])).unwrap_err().contains("开始日期"));
        assert!(filter_from_query(&q(&[("page", "x")])).unwrap_err().contains("页码"));
    }
}
