//! The JSON API behind the pages. Errors are `AppError`s: `{"code", "message"}` with a 4xx/5xx
//! status (error.rs).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use yuqing_store::{story_heat, Store, StoryOrder, StoryQuery};
use yuqing_text::highlight::snippet;
use yuqing_text::matching_form;

use serde::Deserialize;

use crate::error::{AppError, AppResult, Code};
use crate::extract::Query;
use crate::pages::usize_value;
use crate::{paging, AppState};

/// `limit`/`offset` stay text here: [`paging::window_values`] words the 400 and clamps.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StoriesQuery {
    limit: Option<String>,
    offset: Option<String>,
    order: Option<String>,
    all: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WindowQuery {
    limit: Option<String>,
    offset: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    q: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LimitQuery {
    limit: Option<String>,
}

pub async fn stats(State(state): State<AppState>) -> AppResult<Response> {
    let s = state.blocking(|d, _| Ok(d.store.stats()?)).await?;
    Ok(Json(s).into_response())
}

pub async fn stories(State(state): State<AppState>, Query(q): Query<StoriesQuery>) -> AppResult<Response> {
    let (limit, offset) = paging::window_values(q.limit.as_deref(), q.offset.as_deref(), 50, 500, paging::MAX_OFFSET)
        .map_err(AppError::invalid)?;
    let order = match q.order.as_deref() {
        None | Some("grade") => StoryOrder::Grade,
        Some("recent") => StoryOrder::Recent,
        Some("posts") => StoryOrder::Posts,
        Some(o) => {
            return Err(AppError::invalid_field("order", format!("未知的排序方式“{o}”，可用 grade、recent、posts")))
        }
    };
    let graded_only = q.all.as_deref().is_none_or(|v| v != "1");
    let query = StoryQuery { graded_only, order, limit, offset, ..Default::default() };
    let page = state.blocking(move |d, _| Ok(d.store.stories(&query)?)).await?;
    Ok(Json(json!({"total": page.total, "stories": page.items})).into_response())
}

pub async fn story(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<WindowQuery>,
) -> AppResult<Response> {
    let id = id.parse::<i64>().map_err(|_| AppError::invalid_id("事件", &id))?;
    let (limit, offset) = paging::window_values(q.limit.as_deref(), q.offset.as_deref(), 50, 500, paging::MAX_OFFSET)
        .map_err(AppError::invalid)?;
    let found = state
        .blocking(move |d, _| {
            let Some(story) = d.store.story(id)? else {
                // Merged into another by hand: say where it went.
                return Ok(Err(yuqing_store::story_edit::redirect(d.store.connection(), id)?));
            };
            let heat = story_heat(&d.store, id)?;
            let posts = d.store.story_posts(id, limit, offset)?;
            let alerts = d.store.story_alerts(id)?;
            Ok(Ok(json!({"story": story, "heat": heat, "alerts": alerts, "posts": posts.items, "posts_total": posts.total})))
        })
        .await?;
    match found {
        Ok(v) => Ok(Json(v).into_response()),
        Err(Some(into)) => {
            let mut body =
                AppError::not_found(Code::StoryMerged, format!("舆情事件 {id} 已并入 #{into}")).shown().json();
            body["merged_into"] = json!(into);
            Ok((StatusCode::NOT_FOUND, Json(body)).into_response())
        }
        Err(None) => Err(AppError::not_found(Code::StoryNotFound, format!("舆情事件 {id} 不存在"))),
    }
}

pub async fn search(State(state): State<AppState>, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    let Some(query) = q.q.filter(|s| !s.trim().is_empty()) else {
        return Err(AppError::invalid_field("q", "缺少检索词参数 q"));
    };
    let (limit, offset) = paging::window_values(q.limit.as_deref(), q.offset.as_deref(), 20, 200, paging::MAX_OFFSET)
        .map_err(AppError::invalid)?;
    let v = state
        .blocking(move |d, _| {
            let hits = d.fts.search(&query, limit, offset)?;
            let posts = d.store.posts_by_ids(&hits.ids)?;
            let results: Vec<_> = posts
                .iter()
                .map(|p| {
                    let s = snippet(&p.text, &matching_form(&p.text), &hits.terms, 160);
                    json!({"post": p.id, "story": p.story_id, "source": p.source, "url": p.url, "published_at": p.published_at,
                           "title": p.title, "snippet": s.fragment, "highlights": s.ranges, "snippet_html": s.to_html()})
                })
                .collect();
            Ok(json!({"query": query, "terms": hits.terms, "total": hits.total, "results": results}))
        })
        .await?;
    Ok(Json(v).into_response())
}

pub async fn alerts(State(state): State<AppState>, Query(q): Query<LimitQuery>) -> AppResult<Response> {
    let limit =
        usize_value(q.limit.as_deref(), "limit", 100).map_err(|m| AppError::invalid_field("limit", m))?.clamp(1, 1000);
    let a = state.blocking(move |d, _| Ok(d.store.alerts(limit)?)).await?;
    Ok(Json(json!({"alerts": a})).into_response())
}
