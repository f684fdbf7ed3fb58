//! yuqing-server — the HTTP side: a read-only desk of stories with their grades and reasons, full-text
//! search, alerts, and the JSON API behind them. Pages are rendered on the server; no asset is
//! fetched from elsewhere (intranets are often air-gapped).
//!
//! Invariant: the only crate that knows HTTP; handlers never panic on input — bad parameters get a
//! 400 page or JSON error in Chinese.

mod api;
mod assets;
pub mod auth;
pub mod backtest;
mod chart;
pub mod collect_api;
mod desk_api;
pub mod error;
mod extract;
mod html;
pub mod metrics;
mod pages;
mod paging;
mod recover;
mod reports;
pub mod routes;
pub mod security;
mod web;
mod wordcloud;

/// The 研判摘要 section as the story page renders it (for `yuqing bench-brief`).
pub use web::brief_html::render_brief as render_brief_html;

pub use reports::run_report_schedule;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use chrono::{DateTime, Utc};
use yuqing_desk::{Desk, DeskConfig};
use yuqing_store::DataDir;

pub use auth::{AuthConfig, CurrentUser};
pub use web::sources_page::SourceInfo;
pub use web::story_edit::{EditDone, EditError, StoryEditor};

/// Where the server reads the time: the desk's one clock type.
pub use yuqing_desk::Clock;

/// Shared state: the data directory behind a lock (SQLite connections are not shared across threads).
#[derive(Clone)]
pub struct AppState {
    pub data: Arc<Mutex<DataDir>>,
    /// Shown in the page header.
    pub org_name: String,
    /// A note shown on every page (e.g. what the demo data is).
    pub banner: Option<String>,
    /// The incident desk (its configuration and operations).
    pub desk: Arc<Desk>,
    pub clock: Clock,
    /// Department names from the configuration (for the 系统 page).
    pub departments: Vec<String>,
    /// The configured watch rules (for the 监测规则 page).
    pub rules: Arc<Vec<yuqing_store::rules::ConfiguredRule>>,
    /// The configured themes (专题, `[[themes]]`).
    pub themes: Arc<Vec<yuqing_store::themes::ThemeDef>>,
    /// Sign-in settings (sessions, lock-out, cookies).
    pub auth: Arc<AuthConfig>,
    /// Reports: configuration, recipients and links (`[reports]`).
    pub reports: Arc<yuqing_report::schedule::Jobs>,
    /// Where pushed posts go (the pipeline); None: the server only reads.
    pub intake: Option<Arc<dyn yuqing_core::intake::Intake>>,
    /// Where backtests run (the binary's replay), one at a time; None: the 回测 form is not offered.
    pub backtest: Option<Arc<backtest::Runner>>,
    /// The sources in force as the 信息源 page and `/api/v1/sources` show them (replaced when
    /// sources are added, changed, disabled or enabled while the server runs).
    pub sources: Arc<std::sync::RwLock<Vec<web::sources_page::SourceInfo>>>,
    /// The cap on password verifications in flight (`/login`).
    pub sign_in: Arc<auth::SignInGate>,
    /// Merges and splits stories (the pipeline); None: the server only reads.
    pub story_editor: Option<Arc<dyn web::story_edit::StoryEditor>>,
    /// `/metrics` (who may read it, the process's own counts) and the workers `/readyz` watches.
    pub metrics: Arc<metrics::Metrics>,
}

impl AppState {
    /// Runs `f` with the data directory (locked) and the server's time, off the async threads:
    /// the one way handlers reach the store.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&DataDir, DateTime<Utc>) -> error::AppResult<T> + Send + 'static,
    ) -> error::AppResult<T> {
        let (data, clock) = (self.data.clone(), self.clock.clone());
        // Log lines of the blocking work keep the request's id.
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _in_request = span.enter();
            let guard = yuqing_store::guard::lock(&data);
            f(&guard, clock())
        })
        .await?
    }

    /// State with the default desk and the wall clock.
    pub fn new(data: DataDir, org_name: String, banner: Option<String>) -> AppState {
        AppState::shared(Arc::new(Mutex::new(data)), org_name, banner)
    }

    /// State on a data directory shared with a writer (the pipeline ingesting collected posts).
    pub fn shared(data: Arc<Mutex<DataDir>>, org_name: String, banner: Option<String>) -> AppState {
        AppState {
            data,
            org_name,
            banner,
            desk: Arc::new(Desk::new(DeskConfig::default())),
            clock: Arc::new(Utc::now),
            departments: Vec::new(),
            rules: Arc::new(Vec::new()),
            themes: Arc::new(Vec::new()),
            auth: Arc::new(AuthConfig::default()),
            intake: None,
            backtest: None,
            reports: Arc::default(),
            sources: Arc::default(),
            sign_in: Arc::default(),
            story_editor: None,
            metrics: Arc::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("无法监听 {addr}：{source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("服务器运行出错：{0}")]
    Serve(std::io::Error),
}

pub fn router(state: AppState) -> Router {
    let (routes, table) = routes::all().into_parts();
    let document = routes::openapi::Document(format!("{:#}", routes::openapi::document(&table.routes)).into());
    let table = std::sync::Arc::new(table);
    routes
        // Sign-in, roles (the route table) and CSRF on every route above.
        .route_layer(axum::middleware::from_fn_with_state((state.clone(), table), auth::enforce))
        // HTTP latency by route pattern, refusals included (metrics.rs).
        .route_layer(axum::middleware::from_fn_with_state(state.metrics.clone(), metrics::track))
        .layer(axum::Extension(document))
        .layer(axum::extract::DefaultBodyLimit::max(desk_api::MAX_ATTACHMENT + 1024))
        .fallback(pages::not_found)
        // Request ids, and errors of page routes as pages (error.rs).
        .layer(axum::middleware::from_fn_with_state(state.clone(), error::render))
        // A handler that panics answers 500 instead of dropping the connection.
        .layer(axum::middleware::from_fn(recover::catch_panic))
        // Outermost: browser security headers on every answer, the fallback's and a panic's 500 included (security.rs).
        .layer(axum::middleware::from_fn(security::headers))
        .with_state(state)
}

/// Binds `addr` and returns the bound address and a future that serves until Ctrl-C.
pub async fn bind(
    state: AppState,
    addr: &str,
) -> Result<(SocketAddr, impl std::future::Future<Output = Result<(), ServerError>>), ServerError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| ServerError::Bind { addr: addr.to_string(), source: e })?;
    let local = listener.local_addr().map_err(|e| ServerError::Bind { addr: addr.to_string(), source: e })?;
    // Fetches are counted for `/metrics` from the server's start.
    state.metrics.begin(&yuqing_store::guard::lock(&state.data));
    let app = router(state);
    let fut = async move {
        // The peer's address reaches handlers (sign-in lock-out is counted per client address).
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(ServerError::Serve)
    };
    Ok((local, fut))
}
