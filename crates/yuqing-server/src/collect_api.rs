//! Live collection on the server: the push API (`POST /api/v1/posts`, a batch of posts in the JSONL
//! schema for external crawlers), source health (`GET /api/v1/sources`) and the snapshots kept as
//! evidence (`GET /snapshots/{sha256}`: a page that shows what was fetched, as text, never as live
//! HTML; `?download=1` gives the bytes as fetched).

use std::collections::HashMap;
use std::fmt::Write;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;
use yuqing_core::input::{self, Format};
use yuqing_core::url::canonical_url;
use yuqing_core::PostInput;
use yuqing_store::collect as records;

use crate::auth::CurrentUser;
use crate::html::{esc, fmt_time, page};
use crate::pages::with_data;
use crate::AppState;

/// Where pushed posts go: the pipeline (analysis, stories, grades, alerts). Implemented by the binary.
pub trait PostSink: Send + Sync {
    /// Ingests posts (with their index in the batch); returns (index, post id) of those stored,
    /// once committed. Blocking.
    fn push(&self, posts: Vec<(usize, PostInput)>) -> Result<Vec<(usize, i64)>, String>;
}

/// The most posts one push may carry.
pub const MAX_PUSH: usize = 1000;

fn err(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({"error": msg.into()}))).into_response()
}

#[derive(Debug, Serialize)]
struct ItemResult {
    /// 1-based line (or array element) of the item in the request body.
    line: usize,
    /// accepted / duplicate / rejected
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    post_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// `POST /api/v1/posts`: a JSONL body (or a JSON array) of posts.
pub async fn push_posts(State(state): State<AppState>, cu: CurrentUser, body: Bytes) -> Response {
    let Some(sink) = state.ingest.clone() else {
        return err(StatusCode::SERVICE_UNAVAILABLE, "本服务未开启写入（只读模式），无法接收推送");
    };
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return err(StatusCode::BAD_REQUEST, "请求体为空：应为每行一条帖文的 JSONL，或帖文对象组成的 JSON 数组");
    }
    let parsed = match input::parse(&body, Format::Jsonl) {
        Ok(p) => p,
        Err(e) => return err(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if parsed.posts.is_empty() {
        let reasons: Vec<String> = parsed.rejected.iter().take(5).map(|r| format!("第 {} 行：{}", r.line, r.reason)).collect();
        return err(StatusCode::BAD_REQUEST, format!("没有一条可接收的帖文。{}", reasons.join("；")));
    }
    if parsed.posts.len() + parsed.rejected.len() > MAX_PUSH {
        return err(StatusCode::BAD_REQUEST, format!("一次最多推送 {MAX_PUSH} 条，收到 {} 条；请分批推送", parsed.posts.len() + parsed.rejected.len()));
    }
    let mut results: Vec<ItemResult> = parsed
        .rejected
        .iter()
        .map(|r| ItemResult { line: r.line, status: "rejected", post_id: None, reason: Some(r.reason.clone()) })
        .collect();
    let who = cu.user.name.clone();
    let outcome = with_data(&state, {
        let posts = parsed.posts;
        move |d| {
            // Canonical URLs, and posts whose URL is stored already (from any source) are duplicates.
            let conn = d.store.connection();
            let mut fresh = Vec::new();
            let mut dups = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for (line, mut p) in posts {
                p.url = p.url.map(|u| canonical_url(&u)).filter(|u| !u.is_empty());
                if let Some(u) = &p.url {
                    let stored = records::posts_with_url(conn, u).map_err(|e| e.to_string())?;
                    if !seen.insert(u.clone()) || !stored.is_empty() {
                        dups.push((line, stored.first().copied()));
                        continue;
                    }
                }
                fresh.push((line, p));
            }
            Ok((fresh, dups))
        }
    })
    .await;
    let (fresh, dups) = match outcome {
        Ok(x) => x,
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, e),
    };
    let lines: Vec<usize> = fresh.iter().map(|(l, _)| *l).collect();
    let stored = match tokio::task::spawn_blocking(move || sink.push(fresh)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return err(StatusCode::INTERNAL_SERVER_ERROR, format!("入库失败（已入库的数据不受影响）：{e}")),
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, format!("内部错误：{e}")),
    };
    let by_line: HashMap<usize, i64> = stored.into_iter().collect();
    for line in lines {
        match by_line.get(&line) {
            Some(id) => results.push(ItemResult { line, status: "accepted", post_id: Some(*id), reason: None }),
            None => results.push(ItemResult { line, status: "duplicate", post_id: None, reason: Some("与已入库的帖文重复".into()) }),
        }
    }
    for (line, id) in dups {
        results.push(ItemResult { line, status: "duplicate", post_id: id, reason: Some("同一网址的帖文已入库".into()) });
    }
    results.sort_by_key(|r| r.line);
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    tracing::info!(by = %who, accepted = count("accepted"), duplicates = count("duplicate"), rejected = count("rejected"), "posts pushed");
    Json(json!({
        "accepted": count("accepted"),
        "duplicates": count("duplicate"),
        "rejected": count("rejected"),
        "items": results,
    }))
    .into_response()
}

/// `GET /api/v1/sources`: every source's health.
pub async fn sources(State(state): State<AppState>) -> Response {
    let ids: Vec<String> = state.sources.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter().map(|s| s.id.clone()).collect();
    let now = (state.clock)();
    match with_data(&state, move |d| {
        ids.iter().map(|id| records::health(d.store.connection(), id, now).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()
    })
    .await
    {
        Ok(h) => Json(json!({ "sources": h })).into_response(),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

fn snapshot_error(state: &AppState, status: StatusCode, msg: &str) -> Response {
    (status, Html(page("快照", &state.org_name, state.banner.as_deref(), &format!("<h2>{}</h2>", esc(msg))))).into_response()
}

/// `GET /snapshots/{sha256}`: what was fetched, shown as text; `?download=1` for the bytes.
pub async fn snapshot(State(state): State<AppState>, Path(sha): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !records::is_sha256(&sha) {
        return snapshot_error(&state, StatusCode::BAD_REQUEST, "快照编号应为 64 位小写十六进制的 sha256");
    }
    let key = sha.clone();
    let found = with_data(&state, move |d| {
        let meta = records::snapshot(d.store.connection(), &key).map_err(|e| e.to_string())?;
        let bytes = match &meta {
            Some(_) => std::fs::read(records::snapshot_path(&d.path().join("snapshots"), &key)).map_err(|e| format!("快照文件无法读取：{e}"))?,
            None => Vec::new(),
        };
        Ok(meta.map(|m| (m, bytes)))
    })
    .await;
    let (meta, bytes) = match found {
        Ok(Some(x)) => x,
        Ok(None) => return snapshot_error(&state, StatusCode::NOT_FOUND, "没有这个快照（可能已按保留期限清理）"),
        Err(e) => return snapshot_error(&state, StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    if q.get("download").is_some_and(|v| v == "1") {
        let ext = match meta.content_type.as_deref().unwrap_or("") {
            t if t.contains("html") => "html",
            t if t.contains("json") => "json",
            t if t.contains("xml") || t.contains("rss") || t.contains("atom") => "xml",
            t if t.contains("csv") => "csv",
            _ => "bin",
        };
        return (
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"snapshot-{}.{ext}\"", &meta.sha256[..12])),
                (header::HeaderName::from_static("x-content-type-options"), "nosniff".to_string()),
            ],
            bytes,
        )
            .into_response();
    }
    let text = yuqing_collect_text(&meta.content_type, &bytes);
    let mut b = String::from("<h2>快照（取证留存）</h2><table class=\"kv\">");
    let _ = write!(
        b,
        "<tr><th>网址</th><td>{}</td></tr><tr><th>最终网址</th><td>{}</td></tr><tr><th>状态码</th><td>{}</td></tr><tr><th>抓取时间</th><td>{}</td></tr><tr><th>类型</th><td>{}</td></tr><tr><th>大小</th><td>{} 字节</td></tr><tr><th>sha256</th><td><code>{}</code></td></tr></table>",
        esc(&meta.url),
        esc(&meta.final_url),
        meta.status,
        fmt_time(&meta.fetched_at),
        esc(meta.content_type.as_deref().unwrap_or("未知")),
        meta.size,
        esc(&meta.sha256)
    );
    let _ = write!(b, "<p><a href=\"/snapshots/{}?download=1\">下载原始文件</a>（抓取所得的原始字节，未经改动）</p>", esc(&meta.sha256));
    let _ = write!(b, "<h3>内容（按文本显示）</h3><pre class=\"snapshot\">{}</pre>", esc(&text));
    Html(page("快照", &state.org_name, state.banner.as_deref(), &b)).into_response()
}

/// The bytes as text for display: UTF-8, else GB18030, else Big5 — whichever decodes cleanly.
fn yuqing_collect_text(content_type: &Option<String>, bytes: &[u8]) -> String {
    let declared = content_type
        .as_deref()
        .and_then(|ct| ct.split(';').skip(1).find_map(|p| p.split_once('=').filter(|(k, _)| k.trim().eq_ignore_ascii_case("charset")).map(|(_, v)| v.trim().to_string())))
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()));
    let mut tries: Vec<&'static encoding_rs::Encoding> = declared.into_iter().collect();
    tries.extend([encoding_rs::UTF_8, encoding_rs::GB18030, encoding_rs::BIG5]);
    for e in tries {
        let (t, _, bad) = e.decode(bytes);
        if !bad {
            return t.into_owned();
        }
    }
    String::from_utf8_lossy(bytes).into_owned()
}
