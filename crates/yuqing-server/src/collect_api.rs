//! Live collection on the server: the push API (`POST /api/v1/posts`, a batch of posts in the JSONL
//! schema for external crawlers), source health (`GET /api/v1/sources`) and the snapshots kept as
//! evidence (`GET /snapshots/{sha256}`: a page that shows what was fetched, as text, never as live
//! HTML; `?download=1` gives the bytes as fetched).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;
use yuqing_core::input::{self, Format, Item};
use yuqing_core::intake::Receipt;
use yuqing_core::url::canonical_url;
use yuqing_core::PostInput;
use yuqing_store::collect as records;

use crate::auth::CurrentUser;
use crate::html::{fmt_time, Layout};
use crate::AppState;
use maud::html;

/// The most posts one push may carry: one intake call, committed whole.
pub const MAX_PUSH: usize = yuqing_core::intake::MAX_INTAKE;

use crate::error::{AppError, AppResult, Code};
use crate::extract::Query;

#[derive(Debug, Serialize)]
struct ItemResult {
    /// 0-based position of the item in the request: its element of a JSON array, its record of JSONL.
    index: usize,
    /// 1-based line where the item starts in the request body.
    line: usize,
    /// accepted / duplicate / rejected
    status: &'static str,
    /// The post stored for this item (accepted only).
    #[serde(skip_serializing_if = "Option::is_none")]
    post_id: Option<i64>,
    /// The stored post this item repeats (duplicate only).
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of: Option<i64>,
    /// The earlier item of this request it repeats, when it repeats one (duplicate only).
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of_index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// What the URL check before the pipeline decided for one post.
enum Check {
    Fresh,
    /// Its canonical URL is stored already (as this post).
    StoredUrl(Option<i64>),
    /// Its canonical URL is that of an earlier item of the request (that item's index).
    SameUrlAs(usize),
}

/// `POST /api/v1/posts`: a JSONL body (or a JSON array) of posts. Every item gets its own answer,
/// by its index in the request, matching what was committed.
pub async fn push_posts(State(state): State<AppState>, cu: CurrentUser, body: Bytes) -> AppResult<Response> {
    let Some(intake) = state.intake.clone() else {
        return Err(AppError::refused(Code::ReadOnly, "本服务未开启写入（只读模式），无法接收推送"));
    };
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(AppError::invalid("请求体为空：应为每行一条帖文的 JSONL，或帖文对象组成的 JSON 数组"));
    }
    // The input parser's errors describe the request body (encoding, line), not the server.
    let parsed = input::parse(&body, Format::Jsonl).map_err(|e| AppError::invalid(e.to_string()))?;
    if parsed.posts.is_empty() {
        state.metrics.refused("push", "invalid", parsed.rejected.len() as u64);
        let reasons: Vec<String> =
            parsed.rejected.iter().take(5).map(|r| format!("第 {} 行：{}", r.line, r.reason)).collect();
        return Err(AppError::invalid(format!("没有一条可接收的帖文。{}", reasons.join("；"))));
    }
    if parsed.items.len() > MAX_PUSH {
        return Err(AppError::invalid(format!(
            "一次最多推送 {MAX_PUSH} 条，收到 {} 条；请分批推送",
            parsed.items.len()
        )));
    }
    // Each item by its index in the request: several elements of a JSON array share a line.
    let mut results: Vec<ItemResult> = Vec::with_capacity(parsed.items.len());
    let mut posts: Vec<(usize, PostInput)> = Vec::with_capacity(parsed.posts.len());
    let mut slots: Vec<Option<(usize, PostInput)>> = parsed.posts.into_iter().map(Some).collect();
    for (index, item) in parsed.items.iter().enumerate() {
        let (line, status, reason) = match *item {
            Item::Post(i) => match slots.get_mut(i).and_then(Option::take) {
                Some((line, post)) => {
                    posts.push((index, post));
                    (line, "accepted", None)
                }
                None => continue,
            },
            Item::Rejected(i) => match parsed.rejected.get(i) {
                Some(r) => (r.line, "rejected", Some(r.reason.clone())),
                None => continue,
            },
        };
        results.push(ItemResult {
            index,
            line,
            status,
            post_id: None,
            duplicate_of: None,
            duplicate_of_index: None,
            reason,
        });
    }
    let who = cu.user.name.clone();
    let checked = state
        .blocking(move |d, _| {
            // Canonical URLs; a post whose URL is stored already (from any source), or was given by an
            // earlier item of this request, is a duplicate.
            let conn = d.store.connection();
            let mut fresh = Vec::new();
            let mut checks: HashMap<usize, Check> = HashMap::new();
            let mut seen: HashMap<String, usize> = HashMap::new();
            for (index, mut p) in posts {
                p.url = p.url.map(|u| canonical_url(&u)).filter(|u| !u.is_empty());
                if let Some(u) = &p.url {
                    if let Some(first) = seen.get(u) {
                        checks.insert(index, Check::SameUrlAs(*first));
                        continue;
                    }
                    seen.insert(u.clone(), index);
                    let stored = records::posts_with_url(conn, u)?;
                    if !stored.is_empty() {
                        checks.insert(index, Check::StoredUrl(stored.first().copied()));
                        continue;
                    }
                }
                checks.insert(index, Check::Fresh);
                fresh.push((index, p));
            }
            Ok((fresh, checks))
        })
        .await;
    let (fresh, checks) = checked.map_err(|e| {
        AppError::internal_with(
            "push: the duplicate check",
            e.to_string(),
            "入库失败：无法查重，本批帖文均未入库，请稍后重试",
        )
    })?;
    let outcome = if fresh.is_empty() {
        Receipt::default()
    } else {
        // The intake commits a push whole or not at all: on an error nothing of it was stored.
        tokio::task::spawn_blocking(move || intake.ingest(fresh)).await?.map_err(|e| {
            AppError::internal_with(
                "push: ingest",
                format!("by {who}: {e}"),
                "入库失败，本批帖文均未入库（已入库的数据不受影响），请稍后重试",
            )
        })?
    };
    let stored: HashMap<usize, i64> = outcome.stored.iter().copied().collect();
    let stored_by_id: HashMap<i64, usize> = outcome.stored.iter().map(|(i, id)| (*id, *i)).collect();
    let repeats: HashMap<usize, i64> = outcome.duplicates.iter().copied().collect();
    let lines: HashMap<usize, usize> = results.iter().map(|r| (r.index, r.line)).collect();
    let first_of = |index: usize| stored.get(&index).or_else(|| repeats.get(&index)).copied();
    for r in results.iter_mut().filter(|r| r.status == "accepted") {
        let i = r.index;
        match checks.get(&i) {
            Some(Check::StoredUrl(id)) => {
                r.status = "duplicate";
                r.duplicate_of = *id;
                r.reason = Some("同一网址的帖文已入库".into());
            }
            Some(Check::SameUrlAs(j)) => {
                let j = *j;
                let earlier = checks.get(&j).and_then(|c| match c {
                    Check::StoredUrl(id) => *id,
                    _ => first_of(j),
                });
                r.status = "duplicate";
                r.duplicate_of = earlier;
                r.duplicate_of_index = Some(j);
                r.reason =
                    Some(format!("与本次推送的第 {j} 项（第 {} 行）网址相同", lines.get(&j).copied().unwrap_or(0)));
            }
            _ => match (stored.get(&i), repeats.get(&i)) {
                (Some(id), _) => r.post_id = Some(*id),
                (None, Some(id)) => {
                    r.status = "duplicate";
                    r.duplicate_of = Some(*id);
                    match stored_by_id.get(id) {
                        Some(j) => {
                            r.duplicate_of_index = Some(*j);
                            r.reason = Some(format!(
                                "与本次推送的第 {j} 项（第 {} 行）重复",
                                lines.get(j).copied().unwrap_or(0)
                            ));
                        }
                        None => r.reason = Some(format!("与已入库的帖文（编号 {id}）重复")),
                    }
                }
                (None, None) => {
                    tracing::warn!(index = i, "push: the pipeline reported nothing for an item");
                    r.status = "rejected";
                    r.reason = Some("未入库（请重新推送这一条）".into());
                }
            },
        }
    }
    let count = |s: &str| results.iter().filter(|r| r.status == s).count();
    tracing::info!(by = %who, accepted = count("accepted"), duplicates = count("duplicate"), rejected = count("rejected"), "posts pushed");
    state.metrics.refused("push", "invalid", count("rejected") as u64);
    state.metrics.refused("push", "duplicate", count("duplicate") as u64);
    Ok(Json(json!({
        "accepted": count("accepted"),
        "duplicates": count("duplicate"),
        "rejected": count("rejected"),
        "items": results,
    }))
    .into_response())
}

/// `GET /api/v1/sources`: every source's health.
pub async fn sources(State(state): State<AppState>) -> AppResult<Response> {
    let ids: Vec<String> =
        state.sources.read().unwrap_or_else(std::sync::PoisonError::into_inner).iter().map(|s| s.id.clone()).collect();
    let now = (state.clock)();
    let h = state
        .blocking(move |d, _| {
            Ok(ids.iter().map(|id| records::health(d.store.connection(), id, now)).collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(json!({ "sources": h })).into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SnapshotQuery {
    download: Option<String>,
}

/// `GET /snapshots/{sha256}`: what was fetched, shown as text; `?download=1` for the bytes.
pub async fn snapshot(
    State(state): State<AppState>,
    Path(sha): Path<String>,
    Query(q): Query<SnapshotQuery>,
) -> AppResult<Response> {
    if !records::is_sha256(&sha) {
        return Err(AppError::Invalid {
            code: Code::InvalidId,
            field: Some("sha256".into()),
            message: "快照编号应为 64 位小写十六进制的 sha256".into(),
        });
    }
    let key = sha.clone();
    let found = state
        .blocking(move |d, _| {
            let meta = records::snapshot(d.store.connection(), &key)?;
            let bytes = match &meta {
                Some(_) => std::fs::read(records::snapshot_path(&d.path().join("snapshots"), &key))
                    .map_err(|e| AppError::internal("reading a snapshot file", e))?,
                None => Vec::new(),
            };
            Ok(meta.map(|m| (m, bytes)))
        })
        .await?;
    let Some((meta, bytes)) = found else {
        return Err(AppError::not_found(Code::SnapshotNotFound, "没有这个快照（可能已按保留期限清理）"));
    };
    if q.download.as_deref() == Some("1") {
        let ext = match meta.content_type.as_deref().unwrap_or("") {
            t if t.contains("html") => "html",
            t if t.contains("json") => "json",
            t if t.contains("xml") || t.contains("rss") || t.contains("atom") => "xml",
            t if t.contains("csv") => "csv",
            _ => "bin",
        };
        return Ok((
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"snapshot-{}.{ext}\"", &meta.sha256[..12]),
                ),
                (header::HeaderName::from_static("x-content-type-options"), "nosniff".to_string()),
            ],
            bytes,
        )
            .into_response());
    }
    let (text, how) = snapshot_text(meta.content_type.as_deref(), &bytes);
    let body = html! {
        h2 { "快照（取证留存）" }
        table.kv {
            tr { th { "网址" } td { (meta.url) } }
            tr { th { "最终网址" } td { (meta.final_url) } }
            tr { th { "状态码" } td { (meta.status) } }
            tr { th { "抓取时间" } td { (fmt_time(&meta.fetched_at)) } }
            tr { th { "类型" } td { (meta.content_type.as_deref().unwrap_or("未知")) } }
            tr { th { "大小" } td { (meta.size) " 字节" } }
            tr { th { "sha256" } td { code { (meta.sha256) } } }
        }
        p { a href={ "/snapshots/" (meta.sha256) "?download=1" } { "下载原始文件" } "（抓取所得的原始字节，未经改动）" }
        h3 { "内容（按文本显示）" }
        p.muted { (how) }
        pre.snapshot { (text) }
    };
    Ok(Layout::of(&state, "快照").html(body).into_response())
}

/// The bytes as text for display, decided as the collector decided them when it fetched them
/// (`yuqing_core::encoding`); the note says when no encoding could be decided and the text is shown
/// as UTF-8 with replacement characters.
fn snapshot_text(content_type: Option<&str>, bytes: &[u8]) -> (String, String) {
    match yuqing_core::encoding::decode(content_type, bytes) {
        Ok((text, charset)) => (text, format!("按 {} 显示（依据：{}）", charset.name, charset.evidence.label_zh())),
        Err(e) => {
            (String::from_utf8_lossy(bytes).into_owned(), format!("{e}；以下按 UTF-8 显示，无法识别的字节显示为 �"))
        }
    }
}
