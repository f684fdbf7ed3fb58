//! The HTTP fetcher: one client for all sources, with a global cap on concurrent requests,
//! per-host politeness (a minimum gap between requests to one host), robots.txt (cached per host),
//! conditional GET, compression, connect and total timeouts, a body size cap, retries with
//! exponential backoff, and redirects followed by hand (so loops are caught and the final URL known).
//!
//! Invariant: never holds any lock of the data directory; every failure is a `FetchError` with a
//! Chinese message, never a panic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::robots::{Robots, AGENT};
use crate::source::parse_interval;

/// `[collect]` in the configuration: how the fetcher behaves for every source.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CollectConfig {
    /// Minimum gap between two requests to one host (default "2s").
    pub politeness: String,
    /// Requests in flight at once, all sources together (default 4).
    pub max_concurrent: usize,
    /// Connect timeout (default "10s").
    pub connect_timeout: String,
    /// Retries after a network error, a timeout, 429 or 5xx (default 2).
    pub retries: u32,
    /// First retry delay, doubled each time (default "1s").
    pub backoff: String,
    /// Redirects followed (default 5).
    pub max_redirects: usize,
    /// Failures in a row that raise the 信息源异常 alert (default 5).
    pub alert_after_failures: u32,
    /// Snapshots older than this that no incident references are pruned (default "90d"; "0s" keeps all).
    pub snapshot_retention: String,
    /// The User-Agent header (default "yuqing/版本 (+舆情监测)").
    pub user_agent: String,
    /// Random delay added to each interval, as a share of it (default 0.1).
    pub jitter: f64,
    /// How often a running server reads the sources again, to start or stop collecting those added,
    /// changed, disabled or enabled with `yuqing sources` (default "30s").
    pub sources_reload: String,
}

impl Default for CollectConfig {
    fn default() -> Self {
        CollectConfig {
            politeness: "2s".into(),
            max_concurrent: 4,
            connect_timeout: "10s".into(),
            retries: 2,
            backoff: "1s".into(),
            max_redirects: 5,
            alert_after_failures: 5,
            snapshot_retention: "90d".into(),
            user_agent: format!("{AGENT}/{} (public-opinion monitoring; robots.txt honoured)", env!("CARGO_PKG_VERSION")),
            jitter: 0.1,
            sources_reload: "30s".into(),
        }
    }
}

impl CollectConfig {
    pub fn validate(&self) -> Result<(), String> {
        // Every duration is bounded (3650 days) so later time arithmetic cannot overflow; a zero
        // connect timeout would fail every request.
        for (k, v, positive) in [
            ("politeness", &self.politeness, false),
            ("connect_timeout", &self.connect_timeout, true),
            ("backoff", &self.backoff, false),
            ("snapshot_retention", &self.snapshot_retention, false),
            ("sources_reload", &self.sources_reload, true),
        ] {
            let parsed = if positive { yuqing_core::span::parse_positive(v) } else { yuqing_core::span::parse(v) };
            parsed.map_err(|e| yuqing_core::span::message(&format!("collect.{k}"), v, e))?;
        }
        if self.max_concurrent == 0 {
            return Err("[collect] max_concurrent 至少为 1".into());
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err("[collect] jitter 应在 0 到 1 之间".into());
        }
        Ok(())
    }

    fn span(s: &str, default: Duration) -> Duration {
        parse_interval(s).unwrap_or(default)
    }

    pub fn politeness(&self) -> Duration {
        Self::span(&self.politeness, Duration::from_secs(2))
    }

    pub fn sources_reload(&self) -> Duration {
        Self::span(&self.sources_reload, Duration::from_secs(30)).max(Duration::from_millis(100))
    }

    pub fn retention(&self) -> Duration {
        Self::span(&self.snapshot_retention, Duration::from_secs(90 * 86400))
    }
}

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("网址“{0}”无效")]
    BadUrl(String),
    #[error("HTTP {status}（{url}）")]
    Status { status: u16, url: String },
    #[error("请求超时（{0:?}）：{1}")]
    Timeout(Duration, String),
    #[error("内容超过 {limit} 字节的上限，已停止读取（{url}）")]
    TooLarge { limit: u64, url: String },
    #[error("重定向循环：{0}")]
    RedirectLoop(String),
    #[error("重定向超过 {0} 次：{1}")]
    TooManyRedirects(usize, String),
    #[error("robots.txt 不允许抓取 {0}（如与网站另有约定，可在信息源上设置 ignore_robots 并写明理由）")]
    RobotsDisallowed(String),
    #[error("网络错误：{0}")]
    Network(String),
}

impl FetchError {
    fn retryable(&self) -> bool {
        match self {
            FetchError::Status { status, .. } => *status == 429 || *status >= 500,
            FetchError::Timeout(..) | FetchError::Network(_) => true,
            _ => false,
        }
    }
}

/// One request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub max_bytes: u64,
    pub timeout: Duration,
    pub ignore_robots: bool,
}

/// A response read whole (or `not_modified`).
#[derive(Debug, Clone)]
pub struct Response {
    pub url: String,
    pub final_url: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// 304: nothing new since the cursors sent.
    pub not_modified: bool,
    pub body: Vec<u8>,
    pub fetched_at: DateTime<Utc>,
    pub elapsed: Duration,
}

type HostGate = Arc<tokio::sync::Mutex<Option<Instant>>>;

pub struct Fetcher {
    client: reqwest::Client,
    config: CollectConfig,
    permits: Arc<tokio::sync::Semaphore>,
    hosts: Mutex<HashMap<String, HostGate>>,
    robots: Mutex<HashMap<String, (Arc<Robots>, Instant)>>,
}

/// How long a robots.txt is kept.
const ROBOTS_TTL: Duration = Duration::from_secs(3600);

fn host_key(u: &Url) -> String {
    format!("{}://{}:{}", u.scheme(), u.host_str().unwrap_or(""), u.port_or_known_default().unwrap_or(0))
}

fn header(h: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

impl Fetcher {
    pub fn new(config: CollectConfig) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(CollectConfig::span(&config.connect_timeout, Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .brotli(true)
            .deflate(true)
            .build()
            .map_err(|e| FetchError::Network(e.to_string()))?;
        let permits = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent.max(1)));
        Ok(Fetcher { client, config, permits, hosts: Mutex::new(HashMap::new()), robots: Mutex::new(HashMap::new()) })
    }

    pub fn config(&self) -> &CollectConfig {
        &self.config
    }

    fn gate(&self, host: &str) -> HostGate {
        let mut hosts = self.hosts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        hosts.entry(host.to_string()).or_default().clone()
    }

    /// Waits for the host's turn (politeness), then for a global permit; returns the permit.
    async fn turn(&self, host: &str, extra_delay: Option<f64>) -> Result<tokio::sync::OwnedSemaphorePermit, FetchError> {
        let gate = self.gate(host);
        let mut last = gate.lock().await;
        let mut gap = self.config.politeness();
        if let Some(d) = extra_delay {
            gap = gap.max(Duration::from_secs_f64(d.clamp(0.0, 60.0)));
        }
        if let Some(t) = *last {
            let ready = t + gap;
            let now = Instant::now();
            if ready > now {
                tokio::time::sleep(ready - now).await;
            }
        }
        *last = Some(Instant::now());
        drop(last);
        self.permits.clone().acquire_owned().await.map_err(|e| FetchError::Network(e.to_string()))
    }

    async fn robots_for(&self, u: &Url) -> Arc<Robots> {
        let key = host_key(u);
        if let Some((r, at)) = self.robots.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            if at.elapsed() < ROBOTS_TTL {
                return r.clone();
            }
        }
        let mut robots_url = u.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let req = Request { url: robots_url.to_string(), max_bytes: 512 * 1024, timeout: Duration::from_secs(15), ignore_robots: true, ..Default::default() };
        let robots = match self.attempt(&req, None).await {
            Ok(r) if r.status == 200 => Robots::parse(&String::from_utf8_lossy(&r.body), AGENT),
            // 4xx: no robots.txt, everything allowed. 5xx or unreachable: nothing, until it reads.
            Err(FetchError::Status { status, .. }) if (400..500).contains(&status) => Robots::allow_all(),
            Ok(_) => Robots::allow_all(),
            Err(_) => Robots::deny_all(),
        };
        let robots = Arc::new(robots);
        self.robots.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, (robots.clone(), Instant::now()));
        robots
    }

    /// Fetches with retries (exponential backoff) on transient failures.
    pub async fn fetch(&self, req: &Request) -> Result<Response, FetchError> {
        let url = Url::parse(&req.url).map_err(|_| FetchError::BadUrl(req.url.clone()))?;
        let mut crawl_delay = None;
        if !req.ignore_robots {
            let robots = self.robots_for(&url).await;
            let path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            if !robots.allowed(&path) {
                return Err(FetchError::RobotsDisallowed(req.url.clone()));
            }
            crawl_delay = robots.crawl_delay;
        }
        let mut delay = CollectConfig::span(&self.config.backoff, Duration::from_secs(1));
        let mut tries = 0;
        loop {
            match self.attempt(req, crawl_delay).await {
                Err(e) if e.retryable() && tries < self.config.retries => {
                    tracing::debug!(url = %req.url, error = %e, tries, "fetch failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// One attempt, redirects included, within the total timeout.
    async fn attempt(&self, req: &Request, crawl_delay: Option<f64>) -> Result<Response, FetchError> {
        let total = if req.timeout.is_zero() { Duration::from_secs(30) } else { req.timeout };
        match tokio::time::timeout(total, self.attempt_inner(req, crawl_delay)).await {
            Ok(r) => r,
            Err(_) => Err(FetchError::Timeout(total, req.url.clone())),
        }
    }

    async fn attempt_inner(&self, req: &Request, crawl_delay: Option<f64>) -> Result<Response, FetchError> {
        let started = Instant::now();
        let mut url = Url::parse(&req.url).map_err(|_| FetchError::BadUrl(req.url.clone()))?;
        let mut seen = vec![url.to_string()];
        let mut redirects = 0;
        loop {
            let _permit = self.turn(&host_key(&url), crawl_delay).await?;
            let mut rb = self.client.get(url.clone());
            if let Some(e) = &req.etag {
                rb = rb.header(IF_NONE_MATCH, e);
            }
            if let Some(m) = &req.last_modified {
                rb = rb.header(IF_MODIFIED_SINCE, m);
            }
            let mut resp = rb.send().await.map_err(|e| {
                if e.is_timeout() {
                    FetchError::Timeout(req.timeout, url.to_string())
                } else {
                    FetchError::Network(format!("{}：{}", url, root_cause(&e)))
                }
            })?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let Some(loc) = header(resp.headers(), LOCATION) else {
                    return Err(FetchError::Status { status: status.as_u16(), url: url.to_string() });
                };
                let next = url.join(&loc).map_err(|_| FetchError::BadUrl(loc.clone()))?;
                if seen.contains(&next.to_string()) {
                    seen.push(next.to_string());
                    return Err(FetchError::RedirectLoop(seen.join(" → ")));
                }
                redirects += 1;
                if redirects > self.config.max_redirects {
                    return Err(FetchError::TooManyRedirects(self.config.max_redirects, req.url.clone()));
                }
                seen.push(next.to_string());
                url = next;
                continue;
            }
            let headers = resp.headers().clone();
            let base = Response {
                url: req.url.clone(),
                final_url: url.to_string(),
                status: status.as_u16(),
                content_type: header(&headers, CONTENT_TYPE),
                etag: header(&headers, ETAG),
                last_modified: header(&headers, LAST_MODIFIED),
                not_modified: status == StatusCode::NOT_MODIFIED,
                body: Vec::new(),
                fetched_at: Utc::now(),
                elapsed: Duration::ZERO,
            };
            if base.not_modified {
                return Ok(Response { elapsed: started.elapsed(), ..base });
            }
            if !status.is_success() {
                return Err(FetchError::Status { status: status.as_u16(), url: url.to_string() });
            }
            let limit = if req.max_bytes == 0 { crate::source::DEFAULT_MAX_BYTES } else { req.max_bytes };
            if header(&headers, CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok()).is_some_and(|l| l > limit) {
                return Err(FetchError::TooLarge { limit, url: url.to_string() });
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| FetchError::Network(format!("{}：{}", url, root_cause(&e))))? {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Err(FetchError::TooLarge { limit, url: url.to_string() });
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(Response { body, elapsed: started.elapsed(), ..base });
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
