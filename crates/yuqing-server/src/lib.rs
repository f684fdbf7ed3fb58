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
mod pages;
mod paging;
mod recover;
mod reports;
pub mod security;
mod web;
mod wordcloud;

/// The 研判摘要 section as the story page renders it (for `yuqing bench-brief`).
pub use web::brief_html::render_brief as render_brief_html;

pub use reports::run_report_schedule;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use yuqing_desk::{Desk, DeskConfig};
use yuqing_store::DataDir;

pub use auth::{AuthConfig, CurrentUser};
pub use web::sources_page::SourceInfo;
pub use web::story_edit::{EditDone, EditError, StoryEditor};

/// The OpenAPI document of the JSON API, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Where the server reads the time (the wall clock; tests may fix it).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

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
    pub ingest: Option<Arc<dyn collect_api::PostSink>>,
    /// Where backtests run (the binary's replay), one at a time; None: the 回测 form is not offered.
    pub backtest: Option<Arc<backtest::Runner>>,
    /// The sources in force as the 信息源 page and `/api/v1/sources` show them (replaced when
    /// sources are added, changed, disabled or enabled while the server runs).
    pub sources: Arc<std::sync::RwLock<Vec<web::sources_page::SourceInfo>>>,
    /// The cap on password verifications in flight (`/login`).
    pub sign_in: Arc<auth::SignInGate>,
    /// Merges and splits stories (the pipeline); None: the server only reads.
    pub story_editor: Option<Arc<dyn web::story_edit::StoryEditor>>,
}

impl AppState {
    /// Runs `f` with the data directory (locked) and the server's time, off the async threads:
    /// the one way handlers reach the store.
    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&DataDir, DateTime<Utc>) -> error::AppResult<T> + Send + 'static,
    ) -> error::AppResult<T> {
        let (data, clock) = (self.data.clone(), self.clock.clone());
        tokio::task::spawn_blocking(move || {
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
            ingest: None,
            backtest: None,
            reports: Arc::default(),
            sources: Arc::default(),
            sign_in: Arc::default(),
            story_editor: None,
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
    Router::new()
        .route("/", get(web::dashboard))
        .route("/dashboard/fragment", get(web::dashboard_fragment))
        .route("/events", get(web::events))
        .route("/stories", get(pages::index))
        .route("/posts", get(web::posts_page::posts))
        .route("/posts/{id}", get(pages::post))
        .route("/incidents", get(web::incidents))
        .route("/incidents/{id}", get(web::incident))
        .route("/incidents/{id}/act", post(web::incident_act))
        .route("/duty", get(web::duty))
        .route("/duty/import", post(web::duty_import))
        .route("/duty/handover", post(web::duty_handover))
        .route("/system", get(web::system))
        .route("/system/users", post(web::system_add_user))
        .route("/system/users/{name}/active", post(web::system_user_active))
        .route("/system/users/{name}/password", post(web::system_user_password))
        .route("/rules", get(web::rules_page::rules_page).post(web::rules_page::save))
        .route("/rules/enabled", post(web::rules_page::set_enabled))
        .route("/rules/backtest", post(backtest::run))
        .route("/sources", get(web::sources_page::sources_page))
        .route("/stories/{id}", get(pages::story))
        .route("/stories/{id}/merge", post(web::story_edit::merge_form))
        .route("/stories/{id}/split", post(web::story_edit::split_form))
        .route("/stories/{id}/false-alarm", post(web::false_alarm::mark_form))
        .route("/stories/{id}/false-alarm/withdraw", post(web::false_alarm::withdraw_form))
        .route("/rules/relevance/reset", post(web::false_alarm::reset_form))
        .route("/themes", get(web::themes_page::themes_page))
        .route("/themes/{name}", get(web::themes_page::theme_page))
        .route("/search", get(pages::search))
        .route("/alerts", get(pages::alerts))
        .route("/reports", get(reports::pages::index))
        .route("/reports/generate", post(reports::pages::generate))
        .route("/reports/{id}", get(reports::pages::view))
        .route("/reports/disposal", get(reports::pages::disposal_index).post(reports::pages::disposal_new))
        .route("/reports/disposal/{id}", get(reports::pages::disposal_view).post(reports::pages::disposal_act))
        .route("/reports/risks", get(reports::pages::risks).post(reports::pages::risk_add))
        .route("/reports/risks/{id}", post(reports::pages::risk_update))
        .route("/healthz", get(|| async { "ok" }))
        .route("/assets/{file}", get(assets::serve))
        .route("/api/v1/stats", get(api::stats))
        .route("/api/v1/stories", get(api::stories))
        .route("/api/v1/stories/{id}", get(api::story))
        .route("/api/v1/stories/{id}/merge", post(web::story_edit::merge_api))
        .route("/api/v1/stories/{id}/split", post(web::story_edit::split_api))
        .route("/api/v1/stories/{id}/false-alarm", post(web::false_alarm::mark_api))
        .route("/api/v1/stories/{id}/false-alarm/withdraw", post(web::false_alarm::withdraw_api))
        .route("/api/v1/themes", get(web::themes_page::themes_api))
        .route("/api/v1/themes/{name}", get(web::themes_page::theme_api))
        .route("/api/v1/search", get(api::search))
        .route("/api/v1/alerts", get(api::alerts))
        .route("/api/v1/alerts/{id}/ack", post(desk_api::ack_alert))
        .route("/api/v1/me", get(desk_api::me))
        .route("/api/v1/incidents", get(desk_api::incidents).post(desk_api::open_incident))
        .route("/api/v1/incidents/{id}", get(desk_api::incident))
        .route("/api/v1/incidents/{id}/actions", post(desk_api::act))
        .route("/api/v1/incidents/{id}/stories", post(desk_api::add_story))
        .route("/api/v1/incidents/{id}/statements/{sid}/diff", get(desk_api::statement_diff))
        .route("/api/v1/incidents/{id}/attachments", post(desk_api::add_attachment))
        .route("/api/v1/incidents/{id}/attachments/{sha}", get(desk_api::attachment))
        .route("/api/v1/duty", get(desk_api::duty).post(desk_api::import_duty))
        .route("/api/v1/duty/handovers", post(desk_api::handover))
        .route("/api/v1/outbox", get(desk_api::outbox_list))
        .route("/api/v1/overdue", get(desk_api::overdue))
        .route("/api/v1/audit", get(desk_api::audit))
        .route("/api/v1/audit/verify", get(desk_api::audit_verify))
        .route("/api/v1/desk/tick", post(desk_api::tick))
        .route("/api/v1/openapi.json", get(desk_api::openapi))
        .route("/api/v1/reports", get(reports::list).post(reports::create))
        .route("/api/v1/reports/schedule", post(reports::run_schedule))
        .route("/api/v1/reports/{id}", get(reports::get))
        .route("/api/v1/reports/disposal", get(reports::disposal_list).post(reports::disposal_create))
        .route("/api/v1/reports/disposal/{id}", get(reports::disposal_get).post(reports::disposal_edit))
        .route("/api/v1/reports/disposal/{id}/issue", post(reports::disposal_issue))
        .route("/api/v1/reports/risks", get(reports::risks).post(reports::risk_add))
        .route("/api/v1/reports/risks/{id}", post(reports::risk_update))
        .route("/api/v1/reports/risks/{id}/history", get(reports::risk_history))
        .route("/api/v1/posts", post(collect_api::push_posts))
        .route("/api/v1/sources", get(collect_api::sources))
        .route("/snapshots/{sha}", get(collect_api::snapshot))
        .merge(auth::routes())
        // Sign-in, roles (auth/policy.rs) and CSRF on every route above.
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), auth::enforce))
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

#[cfg(test)]
mod tests {
    /// Every API route in `router` is described in the OpenAPI document, and nothing else is.
    #[test]
    fn openapi_document_lists_every_api_route() {
        let src = include_str!("lib.rs");
        let mut routes: Vec<&str> = src
            .lines()
            .filter_map(|l| l.trim().strip_prefix(".route(\"/api/v1/"))
            .filter_map(|l| l.split('"').next())
            .collect();
        routes.sort();
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).expect("openapi.json is JSON");
        let mut documented: Vec<String> = doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(|k| k.trim_start_matches("/api/v1/").to_string())
            .collect();
        documented.sort();
        assert_eq!(routes, documented);
    }
}
