//! The JSON API behind the pages. Errors are `{"error": "..."}` with a 4xx/5xx status.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use yuqing_store::{story_heat, Store, StoryOrder, StoryQuery};
use yuqing_text::highlight::snippet;
use yuqing_text::matching_form;

use crate::pages::{param_usize, with_data};
use crate::{paging, AppState};

use crate::desk_api::err;

pub async fn stats(State(state): State<AppState>) -> Response {
    match with_data(&state, |d| d.store.stats().map_err(|e| e.to_string())).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

pub async fn stories(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let (limit, offset) = match paging::window(&q, 50, 500) {
        Ok(w) => w,
        Err(e) => return err(StatusCode::BAD_REQUEST, e),
    };
    let order = match q.get("order").map(String::as_str) {
        None | Some("grade") => StoryOrder::Grade,
        Some("recent") => StoryOrder::Recent,
        Some("posts") => StoryOrder::Posts,
        Some(o) => return err(StatusCode::BAD_REQUEST, format!("未知的排序方式“{o}”，可用 grade、recent、posts")),
    };
    let graded_only = q.get("all").is_none_or(|v| v != "1");
    let query = StoryQuery { graded_only, order, limit, offset, ..Default::default() };
    match with_data(&state, move |d| d.store.stories(&query).map_err(|e| e.to_string())).await {
        Ok(page) => Json(json!({"total": page.total, "stories": page.items})).into_response(),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

pub async fn story(State(state): State<AppState>, Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Ok(id) = id.parse::<i64>() else { return err(StatusCode::BAD_REQUEST, format!("事件编号应为整数，收到“{id}”")) };
    let (limit, offset) = match paging::window(&q, 50, 500) {
        Ok(w) => w,
        Err(e) => return err(StatusCode::BAD_REQUEST, e),
    };
    let result = with_data(&state, move |d| {
        let Some(story) = d.store.story(id).map_err(|e| e.to_string())? else {
            // Merged into another by hand: say where it went.
            return Ok(Err(yuqing_store::story_edit::redirect(d.store.connection(), id).map_err(|e| e.to_string())?));
        };
        let heat = story_heat(&d.store, id).map_err(|e| e.to_string())?;
        let posts = d.store.story_posts(id, limit, offset).map_err(|e| e.to_string())?;
        let alerts = d.store.story_alerts(id).map_err(|e| e.to_string())?;
        Ok(Ok(json!({"story": story, "heat": heat, "alerts": alerts, "posts": posts.items, "posts_total": posts.total})))
    })
    .await;
    match result {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(Some(into))) => {
            (StatusCode::NOT_FOUND, Json(json!({"error": format!("舆情事件 {id} 已并入 #{into}"), "merged_into": into}))).into_response()
        }
        Ok(Err(None)) => err(StatusCode::NOT_FOUND, format!("舆情事件 {id} 不存在")),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

pub async fn search(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(query) = q.get("q").cloned().filter(|s| !s.trim().is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "缺少检索词参数 q");
    };
    let (limit, offset) = match paging::window(&q, 20, 200) {
        Ok(w) => w,
        Err(e) => return err(StatusCode::BAD_REQUEST, e),
    };
    let result = with_data(&state, move |d| {
        let hits = d.fts.search(&query, limit, offset).map_err(|e| e.to_string())?;
        let posts = d.store.posts_by_ids(&hits.ids).map_err(|e| e.to_string())?;
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
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

pub async fn alerts(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let limit = match param_usize(&q, "limit", 100) {
        Ok(l) => l.clamp(1, 1000),
        Err(e) => return err(StatusCode::BAD_REQUEST, e),
    };
    match with_data(&state, move |d| d.store.alerts(limit).map_err(|e| e.to_string())).await {
        Ok(a) => Json(json!({"alerts": a})).into_response(),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}
