//! The HTML pages: stories by grade, one story with its reasons, heat and posts, search, alerts.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use yuqing_core::{JoinReason, Sentiment, StoryStatus};
use yuqing_store::{story_heat, Store, StoryOrder, StoryQuery};
use yuqing_text::highlight::snippet;
use yuqing_text::matching_form;

use crate::chart;
use crate::error::{AppError, AppResult, Code};
use crate::extract::Query;
use crate::html::{external_link, fmt_time, grade_badge, highlighted, Layout};
use crate::paging::Pager;
use crate::{paging, AppState};

const PAGE_SIZE: usize = 30;
/// Posts per page on a story's page.
const STORY_POSTS_PAGE: usize = 50;

/// A non-negative integer parameter, or a 400 naming it.
pub(crate) fn usize_value(v: Option<&str>, name: &str, default: usize) -> Result<usize, String> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().map_err(|_| format!("参数 {name} 应为非负整数，收到“{v}”")),
    }
}

/// The `page` parameter of a page route (the text of a typed query's field), or a 400.
pub(crate) fn page_value(page: Option<&str>, size: usize) -> AppResult<usize> {
    paging::page_value(page, "page", size, paging::MAX_OFFSET).map_err(|m| AppError::invalid_field("page", m))
}

/// `GET /?page=N&all=1`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IndexQuery {
    page: Option<String>,
    all: Option<String>,
}

/// A story's page: its page of posts, and the notices the redirects ask for.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StoryPageQuery {
    page: Option<String>,
    merged: Option<String>,
    edited: Option<String>,
    false_alarm: Option<String>,
    closed: Option<String>,
    kept: Option<String>,
    withdrawn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    q: Option<String>,
    page: Option<String>,
}

pub async fn index(State(state): State<AppState>, Query(q): Query<IndexQuery>) -> AppResult<Response> {
    let page_no = page_value(q.page.as_deref(), PAGE_SIZE)?;
    let all = q.all.as_deref() == Some("1");
    let (stats, total, rows) = state
        .blocking(move |d, _| {
            let stats = d.store.stats()?;
            let query = StoryQuery {
                graded_only: !all,
                order: StoryOrder::Grade,
                limit: PAGE_SIZE,
                offset: paging::offset_of(page_no, PAGE_SIZE),
                ..Default::default()
            };
            let stories = d.store.stories(&query)?;
            let ids: Vec<i64> = stories.items.iter().map(|s| s.id).collect();
            let marks = yuqing_store::false_alarm::among(d.store.connection(), &ids)?;
            let mut rows = Vec::new();
            for s in stories.items {
                let heat = story_heat(&d.store, s.id)?;
                let marked = marks.contains_key(&s.id);
                rows.push((s, heat, marked));
            }
            Ok((stats, stories.total, rows))
        })
        .await?;
    let graded: u64 = stats.graded.iter().map(|(_, n)| n).sum();
    let by_grade: Vec<String> = stats.graded.iter().map(|(g, n)| format!("{}级 {n}", g.as_str())).collect();
    let body = html! {
        div.cards {
            div.card { b { (stats.posts) } span { "帖文" } }
            div.card { b { (stats.stories) } span { "舆情事件（开放 " (stats.open_stories) "）" } }
            div.card { b { (graded) } span { "已定级：" (by_grade.join("，")) } }
            div.card { b { (stats.alerts) } span { "预警" } }
            @if stats.posts > 0 {
                div.card {
                    b { (format!("{:.0}%", stats.negative_posts as f64 * 100.0 / stats.posts as f64)) }
                    span { "负面帖文占比" }
                }
            }
            @if let (Some(a), Some(b)) = (stats.first_post_at, stats.last_post_at) {
                div.card { b.sm { (fmt_time(&a)) br; (fmt_time(&b)) } span { "帖文时间范围" } }
            }
        }
        h2 { "舆情事件" }
        p.tabs {
            @if all {
                a href="/stories" { "只看已定级" } "　" b { "全部" }
            } @else {
                b { "已定级" } "　" a href="/stories?all=1" { "全部事件（含未定级）" }
            }
        }
        @if rows.is_empty() {
            p.muted {
                "暂无事件。导入帖文：" code { "yuqing ingest 文件.jsonl" } "。未命中监测规则的事件不定级，可在“全部事件”中查看。"
            }
        } @else {
            table {
                thead { tr {
                    th { "级别" } th { "事件" } th { "帖文" } th { "站点" } th { "负面" } th { "热度走势" } th { "最近" }
                } }
                tbody { @for (s, heat, marked) in &rows {
                    tr {
                        td { (grade_badge(s.grade)) }
                        td {
                            a href={ "/stories/" (s.id) } { (s.title) }
                            @if s.status == StoryStatus::Closed { " " span.muted { "（已关闭）" } }
                            (crate::web::false_alarm::badge(*marked))
                            div.reason { (s.reasons.first().map(|r| r.detail.as_str()).unwrap_or("未命中监测规则")) }
                            div.muted { (s.keywords.join(" · ")) }
                        }
                        td.num { (s.posts) }
                        td.num { (s.sites) }
                        td.num { (format!("{:.0}%", s.negative_share * 100.0)) }
                        td { (chart::sparkline(heat)) }
                        td.muted { (fmt_time(&s.last_at)) }
                    }
                } }
            }
            (Pager::new(if all { "/stories?all=1&" } else { "/stories?" }, page_no, total, PAGE_SIZE).render())
        }
    };
    Ok(Layout::of(&state, "舆情事件").html(body).into_response())
}

pub async fn story(
    State(state): State<AppState>,
    cu: crate::auth::CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<StoryPageQuery>,
) -> AppResult<Response> {
    let id = id.parse::<i64>().map_err(|_| AppError::invalid_id("事件", &id))?;
    let page_no = page_value(q.page.as_deref(), STORY_POSTS_PAGE)?;
    let theme_defs = state.themes.clone();
    let found = state
        .blocking(move |d, _| {
            let Some(story) = d.store.story(id)? else {
                // A story merged into another by hand: its links lead there.
                let into = yuqing_store::story_edit::redirect(d.store.connection(), id)?;
                return Ok(Err(into));
            };
            let heat = story_heat(&d.store, id)?;
            let posts = d.store.story_posts(id, STORY_POSTS_PAGE, paging::offset_of(page_no, STORY_POSTS_PAGE))?;
            let alerts = d.store.story_alerts(id)?;
            let brief = yuqing_store::brief::story_brief(&d.store, d.fts.segmenter(), id)?;
            let edits = yuqing_store::story_edit::edits_of(d.store.connection(), id)?;
            let themes = yuqing_store::themes::of_story(d.store.connection(), &theme_defs, &story)?;
            let places = yuqing_store::places::of_story(d.store.connection(), id)?;
            let mark = yuqing_store::false_alarm::of_story(d.store.connection(), id)?;
            let acks = crate::web::alert_ack::gather(d.store.connection(), alerts.clone())?;
            Ok(Ok((story, heat, posts, alerts, brief, edits, themes, places, mark, acks)))
        })
        .await?;
    let (s, heat, posts, alerts, brief, edits, themes, places, mark, acks) = match found {
        Ok(r) => r,
        Err(Some(into)) => {
            return Ok(axum::response::Redirect::to(&format!("/stories/{into}?merged={id}")).into_response())
        }
        Err(None) => return Err(AppError::not_found(Code::StoryNotFound, format!("舆情事件 {id} 不存在"))),
    };
    let editable = state.story_editor.is_some();
    let listed: std::collections::HashSet<i64> = posts.items.iter().map(|p| p.id).collect();
    let cards = [
        (s.posts.to_string(), "帖文"),
        (s.sites.to_string(), "站点"),
        (s.max_tier.label_zh().to_string(), "最高源级别"),
        (s.interactions.to_string(), "互动（评论+转发+点赞）"),
        (format!("{:.0}%", s.negative_share * 100.0), "负面占比"),
    ];
    let body = html! {
        @if let Some(m) = q.merged.as_deref().and_then(|m| m.parse::<i64>().ok()) {
            p.ok { "事件 #" (m) " 已并入本事件。" }
        }
        @if q.edited.is_some() {
            p.ok { "已保存人工调整，并记入审计日志。" }
        }
        (crate::web::alert_ack::bar(&acks, &cu.user, cu.csrf_token(), &format!("/stories/{id}")))
        (crate::web::false_alarm::notice(&crate::web::false_alarm::Flags {
            false_alarm: q.false_alarm.clone(),
            closed: q.closed.clone(),
            kept: q.kept.clone(),
            withdrawn: q.withdrawn.clone(),
        }))
        h2 { (grade_badge(s.grade)) " " (s.title) (crate::web::false_alarm::badge(mark.is_some())) }
        (crate::web::false_alarm::banner(mark.as_ref()))
        p.muted {
            "事件 #" (s.id) " · " (if s.status == StoryStatus::Open { "开放中" } else { "已关闭" }) " · "
            (fmt_time(&s.first_at)) " 至 " (fmt_time(&s.last_at)) " · 关键词：" (s.keywords.join("、"))
        }
        div.cards { @for (v, l) in &cards { div.card { b { (v) } span { (l) } } } }
        (crate::web::brief_html::render_brief(&brief, "研判摘要", &|pid| listed.contains(&pid)))
        h3 { "定级依据" }
        @if s.reasons.is_empty() {
            p.muted {
                @if s.rule_hits.is_empty() {
                    "本事件未命中任何监测规则，因此未定级。"
                } @else {
                    "本事件的帖文多数为广告、抽奖等噪声，因此未定级。"
                }
                "如需处置，可人工定级：" code { "yuqing grade " (s.id) " III --reason 理由" }
            }
        } @else {
            ul.reasons { @for r in &s.reasons { li { (grade_badge(Some(r.grade))) " " (r.detail) } } }
        }
        @if !s.rule_hits.is_empty() {
            p {
                "命中规则："
                @for (i, (r, n)) in s.rule_hits.iter().enumerate() { @if i > 0 { "、" } (r) "（" (n) " 条）" }
            }
        }
        (crate::web::themes_page::story_line(&themes))
        (crate::web::places_html::story_line(&crate::web::places_html::count(&places)))
        @if !s.topics.is_empty() {
            p {
                "领域："
                @for (i, (t, n)) in s.topics.iter().enumerate() { @if i > 0 { "、" } (t) "（" (n) "）" }
            }
        }
        @if !s.severe_words.is_empty() {
            p { "伤亡/群体性词语：" (s.severe_words.join("、")) }
        }
        @if !alerts.is_empty() {
            h3 { "预警记录" }
            ul { @for a in &alerts {
                li {
                    (fmt_time(&a.at)) " " (grade_from(a.from)) " → " (grade_badge(Some(a.to))) " "
                    (a.reasons.first().map(|r| r.detail.as_str()).unwrap_or(""))
                }
            } }
        }
        h3 { "热度（每小时帖文，红色为负面）" }
        @if let Some(c) = chart::hourly(&heat) { (c.svg(1100, 200)) }
        (crate::web::false_alarm::section(s.id, mark.as_ref(), &cu, editable))
        (crate::web::story_edit::section(s.id, &edits, &cu, editable))
        h3 { "帖文（共 " (posts.total) " 条，最新在前）" }
        @for p in &posts.items {
            @let (cls, label) = match p.sentiment {
                Sentiment::Negative => ("neg", "负面"),
                Sentiment::Positive => ("pos", "正面"),
                Sentiment::Neutral => ("", "中性"),
            };
            @let noise = yuqing_text::noise::of_stored(&matching_form(&p.title), &matching_form(&p.text), &p.join);
            div.post id={ "p" (p.id) } {
                div.meta {
                    (crate::web::story_edit::post_checkbox(p.id, &cu, editable))
                    "#" (p.id) " · " (fmt_time(&p.published_at))
                    @if p.time_estimated { "（入库时间）" }
                    " · " (source_name(&p.source)) " · " (p.tier.label_zh()) " · "
                    span class=(cls) { (label) }
                    @if let Some(k) = noise {
                        @let why = match p.join {
                            JoinReason::Copied { of, .. } => format!("同一段文字已见于帖文 #{of}，发在其他话题标签下；不作为定级依据"),
                            _ => "不作为定级依据".to_string(),
                        };
                        " · " span.noise title=(why) { "噪声：" (k.label_zh()) }
                    }
                    @if !p.hits.is_empty() {
                        " · 命中：" (p.hits.iter().map(|h| h.rule.as_str()).collect::<Vec<_>>().join("、"))
                    }
                    @if let Some(u) = p.url.as_deref() { " · " (external_link(u, Some("原文"))) }
                }
                @if !p.title.is_empty() { b { (p.title) } }
                div { (p.text.chars().take(400).collect::<String>()) }
            }
        }
        (Pager::new(&format!("/stories/{id}?"), page_no, posts.total, STORY_POSTS_PAGE).render())
    };
    Ok(Layout::of(&state, &s.title).html(body).into_response())
}

/// A grade change's starting point: "未定级" or "Ⅲ级".
fn grade_from(g: Option<yuqing_core::Grade>) -> String {
    g.map_or("未定级".to_string(), |g| format!("{}级", g.as_str()))
}

/// A post's source, or 未知来源.
fn source_name(source: &str) -> &str {
    if source.is_empty() {
        "未知来源"
    } else {
        source
    }
}

/// One post: its place in its story's list (the page it is on, at its anchor). Every post a brief
/// cites links here, wherever the brief is shown.
pub async fn post(State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Response> {
    let id = id.parse::<i64>().map_err(|_| AppError::invalid_id("帖文", &id))?;
    let place = state.blocking(move |d, _| Ok(yuqing_store::brief::post_place(d.store.connection(), id)?)).await?;
    let Some((story, before)) = place else {
        return Err(AppError::not_found(Code::PostNotFound, format!("帖文 {id} 不存在")));
    };
    let page_no = (before as usize) / STORY_POSTS_PAGE + 1;
    let query = if page_no > 1 { format!("?page={page_no}") } else { String::new() };
    Ok(axum::response::Redirect::to(&format!("/stories/{story}{query}#p{id}")).into_response())
}

pub async fn search(State(state): State<AppState>, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    let page_no = page_value(q.page.as_deref(), PAGE_SIZE)?;
    let query = q.q.unwrap_or_default();
    let qq = query.clone();
    let result = state
        .blocking(move |d, _| {
            if qq.trim().is_empty() {
                return Ok(None);
            }
            let hits = d.fts.search(&qq, PAGE_SIZE, paging::offset_of(page_no, PAGE_SIZE))?;
            let posts = d.store.posts_by_ids(&hits.ids)?;
            Ok(Some((hits, posts)))
        })
        .await?;
    let body = html! {
        h2 { "全文检索" }
        form action="/search" { input name="q" value=(query) class="q"; " " button { "检索" } }
        @match &result {
            None => p.muted { "输入词语检索全部帖文；多个词同时出现才算命中；繁简体通查。" },
            Some((hits, posts)) => {
                p.muted { "共 " (hits.total) " 条，最新在前。检索词：" (hits.terms.join(" ")) }
                @for p in posts {
                    div.post {
                        div.meta {
                            (fmt_time(&p.published_at)) " · " (source_name(&p.source)) " · "
                            a href={ "/stories/" (p.story_id) } { "事件 #" (p.story_id) }
                            @if let Some(u) = p.url.as_deref() { " · " (external_link(u, Some("原文"))) }
                        }
                        @if !p.title.is_empty() {
                            b { (highlighted(&snippet(&p.title, &matching_form(&p.title), &hits.terms, 80))) }
                        }
                        div { (highlighted(&snippet(&p.text, &matching_form(&p.text), &hits.terms, 160))) }
                    }
                }
                (Pager::new(&format!("/search?q={}&", urlencode(&query)), page_no, hits.total as u64, PAGE_SIZE).render())
            }
        }
    };
    Ok(Layout::of(&state, "全文检索").html(body).into_response())
}

pub async fn alerts(State(state): State<AppState>) -> AppResult<Response> {
    let alerts = state.blocking(|d, _| Ok(d.store.alerts(200)?)).await?;
    let body = html! {
        h2 { "预警记录（最近 200 条）" }
        table {
            thead { tr { th { "时间" } th { "事件" } th { "级别变化" } th { "依据" } } }
            tbody { @for a in &alerts {
                tr {
                    td.muted { (fmt_time(&a.at)) }
                    td { a href={ "/stories/" (a.story_id) } { "#" (a.story_id) } }
                    td { (grade_from(a.from)) " → " (grade_badge(Some(a.to))) }
                    td.reason { (a.reasons.iter().map(|r| r.detail.as_str()).collect::<Vec<_>>().join("；")) }
                }
            } }
        }
    };
    Ok(Layout::of(&state, "预警记录").html(body).into_response())
}

/// No route: a page under the desk's layout, or JSON under `/api/` (`error::render`).
pub async fn not_found() -> AppError {
    AppError::not_found(Code::PageNotFound, "页面不存在")
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
