//! yuqing-server — the HTTP side: a read-only desk of stories with their grades and reasons, full-text
//! search, alerts, and the JSON API behind them. Pages are rendered on the server; no asset is
//! fetched from elsewhere (intranets are often air-gapped).
//!
//! Invariant: the only crate that knows HTTP; handlers never panic on input — bad parameters get a
//! 400 page or JSON error in Chinese.

mod api;
mod chart;
mod html;
mod pages;
pub mod notify;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::Router;
use yuqing_store::DataDir;

/// Shared state: the data directory behind a lock (SQLite connections are not shared across threads).
#[derive(Clone)]
pub struct AppState {
    pub data: Arc<Mutex<DataDir>>,
    /// Shown in the page header.
    pub org_name: String,
    /// A note shown on every page (e.g. what the demo data is).
    pub banner: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("无法监听 {addr}：{source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("服务器运行出错：{0}")]
    Serve(std::io::Error),
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/stories/{id}", get(pages::story))
        .route("/search", get(pages::search))
        .route("/alerts", get(pages::alerts))
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/v1/stats", get(api::stats))
        .route("/api/v1/stories", get(api::stories))
        .route("/api/v1/stories/{id}", get(api::story))
        .route("/api/v1/search", get(api::search))
        .route("/api/v1/alerts", get(api::alerts))
        .fallback(pages::not_found)
        .with_state(state)
}

/// Binds `addr` and returns the bound address and a future that serves until Ctrl-C.
pub async fn bind(
    state: AppState,
    addr: &str,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<(), ServerError>>), ServerError> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.map_err(|e| ServerError::Bind { addr: addr.to_string(), source: e })?;
    let local = listener.local_addr().map_err(|e| ServerError::Bind { addr: addr.to_string(), source: e })?;
    let app = router(state);
    let fut = async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(ServerError::Serve)
    };
    Ok((local, fut))
}
