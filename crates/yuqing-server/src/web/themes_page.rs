//! 专题: the configured themes and, for each, the stories it holds (page and JSON API). A theme is a
//! long-running subject (新冠疫情, 复工复产) above stories; grades, alerts and incidents stay with
//! the stories, so a theme page is for reading, not for acting.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use maud::{html, Markup};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::json;
use yuqing_core::StoryStatus;
use yuqing_store::story_heat;
use yuqing_store::themes::{self, ThemeDef, ThemeOrder, ThemeStory, ThemeSummary};

use crate::chart;
use crate::error::{AppError, AppResult, Code};
use crate::extract::Query;
use crate::html::{fmt_time, grade_badge, Layout};
use crate::{paging, AppState};

/// Stories of fewer posts are left out of a theme's list unless asked for (`all=1`): a theme holds
/// thousands of single posts.
pub const MIN_POSTS: u64 = 3;
const PAGE_SIZE: usize = 30;

/// What is percent-encoded in a theme name placed in a path: everything but letters and digits
/// (Chinese characters are encoded as UTF-8 bytes).
const PATH: &AsciiSet = NON_ALPHANUMERIC;

/// The link to a theme's page.
pub fn theme_href(name: &str) -> String {
    format!("/themes/{}", utf8_percent_encode(name, PATH))
}

fn find<'a>(defs: &'a [ThemeDef], name: &str) -> Option<&'a ThemeDef> {
    defs.iter().find(|d| d.name == name)
}

/// A theme's page and its API: the numbers stay text so `paging`/`pages` word the 400.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ThemeQuery {
    page: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    order: Option<String>,
    all: Option<String>,
    min_posts: Option<String>,
}

fn order_of(order: Option<&str>) -> AppResult<ThemeOrder> {
    match order {
        None | Some("") | Some("grade") => Ok(ThemeOrder::Grade),
        Some("recent") => Ok(ThemeOrder::Recent),
        Some(o) => Err(AppError::invalid_field("order", format!("未知的排序方式“{o}”，可用 grade、recent"))),
    }
}

/// `/themes`: every configured theme with its counts.
pub async fn themes_page(State(state): State<AppState>) -> AppResult<Response> {
    let defs = state.themes.clone();
    let summaries = state.blocking(move |d, _| Ok(themes::summaries(d.store.connection(), &defs, MIN_POSTS)?)).await?;
    let body = html! {
        h2 { "专题" }
        p.muted {
            "专题是长期关注的主题（如疫情防控、复工复产），由多个舆情事件组成。事件中至少有设定比例的帖文命中专题表达式，\
             即归入该专题；一个事件可属于多个专题。定级、预警与处置仍针对具体事件。"
        }
        @if summaries.is_empty() {
            p.muted { "尚未配置专题。在配置文件中加入：" }
            pre { "[[themes]]\nname = \"复工复产\"\nexpr = '复工 | 复产 | 返岗'\ndescription = \"企业复工、员工返岗与防疫\"" }
            p.muted { "修改后重启服务，已入库的帖文会按新的专题重新归类。" }
        } @else {
            table {
                thead { tr {
                    th { "专题" } th { "事件（≥ " (MIN_POSTS) " 条帖文）" } th { "已定级事件" } th { "命中帖文" } th { "最近" }
                } }
                tbody { @for s in &summaries {
                    tr {
                        td {
                            a href=(theme_href(&s.name)) { (s.name) }
                            div.muted { (s.description) }
                            div.reason { code { (s.expr) } }
                        }
                        td.num { (s.stories) } td.num { (s.graded) } td.num { (s.posts) }
                        td.muted { (s.last_at.map(|t| fmt_time(&t)).unwrap_or_else(|| "—".into())) }
                    }
                } }
            }
        }
    };
    Ok(Layout::of(&state, "专题").html(body).into_response())
}

/// What a theme's page shows.
struct ThemeView {
    summary: ThemeSummary,
    stories: Vec<(ThemeStory, Vec<yuqing_core::HeatBucket>)>,
    total: u64,
    daily: Vec<(chrono::NaiveDate, u64)>,
}

/// `/themes/{name}`: a theme's daily posts and its stories, highest grade first (or latest).
pub async fn theme_page(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<ThemeQuery>,
) -> AppResult<Response> {
    let Some(def) = find(&state.themes, &name).cloned() else {
        return Err(AppError::not_found(
            Code::ThemeNotFound,
            format!("专题“{name}”不存在（专题在配置文件的 [[themes]] 中设置）"),
        ));
    };
    let page_no = crate::pages::page_value(q.page.as_deref(), PAGE_SIZE)?;
    let order = order_of(q.order.as_deref())?;
    let all = q.all.as_deref() == Some("1");
    let min_posts = if all { 1 } else { MIN_POSTS };
    let d2 = def.clone();
    let view = state
        .blocking(move |d, _| {
            let conn = d.store.connection();
            let summary = themes::summaries(conn, std::slice::from_ref(&d2), MIN_POSTS)?;
            let summary = summary
                .into_iter()
                .next()
                .ok_or_else(|| AppError::internal("theme summary", "no summary for a configured theme"))?;
            let page = themes::stories(conn, &d2, min_posts, order, PAGE_SIZE, paging::offset_of(page_no, PAGE_SIZE))?;
            let mut stories = Vec::with_capacity(page.items.len());
            for s in page.items {
                let heat = story_heat(&d.store, s.story.id)?;
                stories.push((s, heat));
            }
            let daily = themes::daily(conn, &d2.name)?;
            Ok(ThemeView { summary, stories, total: page.total, daily })
        })
        .await?;
    let href = theme_href(&def.name);
    let all_q = if all { "&all=1" } else { "" };
    let order_q = if order == ThemeOrder::Recent { "&order=recent" } else { "" };
    // A link with these query parts (each "&k=v"), the first "&" made "?".
    let link = |parts: &str| {
        if parts.is_empty() {
            href.clone()
        } else {
            format!("{href}?{}", parts.strip_prefix('&').unwrap_or(parts))
        }
    };
    let tab = |label: &str, on: bool, link: String| {
        html! { @if on { b { (label) } } @else { a href=(link) { (label) } } }
    };
    let base = format!(
        "{href}?{}{}",
        if all { "all=1&" } else { "" },
        if order == ThemeOrder::Recent { "order=recent&" } else { "" }
    );
    let s = &view.summary;
    let body = html! {
        p.muted { a href="/themes" { "专题" } " › " (def.name) }
        h2 { (def.name) }
        @if !def.description.is_empty() { p { (def.description) } }
        p.muted { "表达式 " code { (def.expr) } " · 事件中至少 " (format!("{:.0}", def.min_share * 100.0)) "% 的帖文命中即归入本专题" }
        div.cards {
            div.card { b { (s.stories) } span { "事件（≥ " (MIN_POSTS) " 条帖文）" } }
            div.card { b { (s.graded) } span { "已定级事件" } }
            div.card { b { (s.posts) } span { "命中帖文" } }
            @if let Some(t) = s.last_at { div.card { b.sm { (fmt_time(&t)) } span { "最近帖文" } } }
        }
        @if let Some(c) = chart::daily(&view.daily) {
            h3 { "每日命中帖文" }
            (c.svg(1100, 180))
        }
        h3 { "事件" }
        p.tabs {
            (tab("按级别", order == ThemeOrder::Grade, link(all_q))) "　"
            (tab("按最近", order == ThemeOrder::Recent, link(&format!("&order=recent{all_q}")))) "　｜　"
            (tab(&format!("≥ {MIN_POSTS} 条帖文"), !all, link(order_q))) "　"
            (tab("全部（含单条）", all, link(&format!("&all=1{order_q}"))))
        }
        @if view.stories.is_empty() {
            p.muted { "本专题暂无事件。" }
        } @else {
            table {
                thead { tr {
                    th { "级别" } th { "事件" } th { "帖文（命中）" } th { "负面" } th { "热度走势" } th { "时间" }
                } }
                tbody { @for (t, heat) in &view.stories {
                    @let st = &t.story;
                    tr {
                        td { (grade_badge(st.grade)) }
                        td {
                            a href={ "/stories/" (st.id) } { (st.title) }
                            @if st.status == StoryStatus::Closed { " " span.muted { "（已关闭）" } }
                            div.muted { (st.keywords.join(" · ")) }
                        }
                        td.num { (st.posts) "（" (t.matched) "）" }
                        td.num { (format!("{:.0}%", st.negative_share * 100.0)) }
                        td { (chart::sparkline(heat)) }
                        td.muted { (fmt_time(&st.first_at)) " 至 " (fmt_time(&st.last_at)) }
                    }
                } }
            }
            (paging::Pager::new(&base, page_no, view.total, PAGE_SIZE).render())
        }
    };
    let title = format!("专题：{}", def.name);
    Ok(Layout::of(&state, &title).html(body).into_response())
}

/// `GET /api/v1/themes`: every configured theme with its counts.
pub async fn themes_api(State(state): State<AppState>) -> AppResult<Response> {
    let defs = state.themes.clone();
    let s = state.blocking(move |d, _| Ok(themes::summaries(d.store.connection(), &defs, MIN_POSTS)?)).await?;
    Ok(Json(json!({"min_posts": MIN_POSTS, "themes": s})).into_response())
}

/// `GET /api/v1/themes/{name}`: a theme, its posts per day and a page of its stories.
pub async fn theme_api(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<ThemeQuery>,
) -> AppResult<Response> {
    let Some(def) = find(&state.themes, &name).cloned() else {
        return Err(AppError::not_found(Code::ThemeNotFound, format!("专题“{name}”不存在")));
    };
    let (limit, offset) = paging::window_values(q.limit.as_deref(), q.offset.as_deref(), 50, 500, paging::MAX_OFFSET)
        .map_err(AppError::invalid)?;
    let order = order_of(q.order.as_deref())?;
    let min_posts = crate::pages::usize_value(q.min_posts.as_deref(), "min_posts", MIN_POSTS as usize)
        .map_err(|m| AppError::invalid_field("min_posts", m))?
        .max(1) as u64;
    let v = state
        .blocking(move |d, _| {
            let conn = d.store.connection();
            let summary = themes::summaries(conn, std::slice::from_ref(&def), MIN_POSTS)?;
            let page = themes::stories(conn, &def, min_posts, order, limit, offset)?;
            let daily: Vec<_> = themes::daily(conn, &def.name)?.into_iter().map(|(d, n)| json!({"date": d, "posts": n})).collect();
            Ok(json!({"theme": summary.first(), "daily": daily, "min_posts": min_posts, "total": page.total, "stories": page.items}))
        })
        .await?;
    Ok(Json(v).into_response())
}

/// The story page's line naming the themes the story belongs to (nothing when none).
pub fn story_line(themes: &[(String, u64)]) -> Markup {
    html! {
        @if !themes.is_empty() {
            p {
                "专题："
                @for (i, (name, n)) in themes.iter().enumerate() {
                    @if i > 0 { "、" }
                    a href=(theme_href(name)) { (name) } "（" (n) " 条）"
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_links_encode_the_name_and_survive_hostile_names() {
        assert_eq!(theme_href("复工复产"), "/themes/%E5%A4%8D%E5%B7%A5%E5%A4%8D%E4%BA%A7");
        assert_eq!(theme_href("a b/\"<x>"), "/themes/a%20b%2F%22%3Cx%3E");
        let line = story_line(&[("<新冠>".into(), 3)]).into_string();
        assert!(line.contains("&lt;新冠&gt;</a>（3 条）") && !line.contains("<新冠>"), "{line}");
        assert_eq!(story_line(&[]).into_string(), "");
    }
}
