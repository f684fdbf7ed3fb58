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
use reqwest::header::{
    HeaderMap, CONTENT_LENGTH, CONTENT_LOCATION, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
    LOCATION,
};
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
            user_agent: format!(
                "{AGENT}/{} (public-opinion monitoring; robots.txt honoured)",
                env!("CARGO_PKG_VERSION")
            ),
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

/// Why a fetch failed. Each message says in Chinese what happened and where (the URL or host), so
/// a source's 最近错误 tells an operator whether the site refused, is down, or is misconfigured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("网址“{0}”无效")]
    BadUrl(String),
    #[error("服务器返回 HTTP {status}（{}）：{url}", status_zh(*.status))]
    Status { status: u16, url: String },
    #[error("请求超时（{secs} 秒内未完成）：{url}", secs = .0.as_secs_f64(), url = .1)]
    Timeout(Duration, String),
    #[error("内容超过 {limit} 字节的上限，已停止读取（{url}）")]
    TooLarge { limit: u64, url: String },
    #[error("重定向循环：{0}")]
    RedirectLoop(String),
    #[error("重定向超过 {0} 次：{1}")]
    TooManyRedirects(usize, String),
    /// robots.txt was read and its rules for us disallow the URL.
    #[error("robots.txt 不允许抓取 {0}（如与网站另有约定，可在信息源上设置 ignore_robots 并写明理由）")]
    RobotsDisallowed(String),
    /// robots.txt answered a server error (5xx): RFC 9309 §2.3.1.4 says to crawl nothing of the
    /// site until it can be read again.
    #[error("{host} 的 robots.txt 暂时无法读取（服务器返回 HTTP {status}），按 RFC 9309 在其恢复前暂不抓取该站点")]
    RobotsUnavailable { host: String, status: u16 },
    /// No connection to the host (refused, name not resolved, TLS failed, reset, no route).
    #[error("无法连接 {host}：{reason}")]
    Connect { host: String, reason: String },
    /// The connection broke while the answer was read, or another transport failure.
    #[error("网络错误（{host}）：{reason}")]
    Network { host: String, reason: String },
}

/// A short Chinese gloss of an HTTP status.
fn status_zh(status: u16) -> &'static str {
    match status {
        400 => "请求有误",
        401 => "需要登录",
        403 => "拒绝访问",
        404 => "页面不存在",
        410 => "页面已删除",
        429 => "请求过于频繁",
        s if (300..400).contains(&s) => "重定向缺少目标地址",
        500 => "服务器内部错误",
        502 => "网关错误",
        503 => "服务暂不可用",
        504 => "网关超时",
        s if (400..500).contains(&s) => "请求被拒绝",
        s if (500..600).contains(&s) => "服务器错误",
        _ => "非预期的状态",
    }
}

impl FetchError {
    fn retryable(&self) -> bool {
        match self {
            FetchError::Status { status, .. } | FetchError::RobotsUnavailable { status, .. } => {
                *status == 429 || *status >= 500
            }
            FetchError::Timeout(..) | FetchError::Connect { .. } | FetchError::Network { .. } => true,
            _ => false,
        }
    }
}

/// `host` or `host:port` of a URL, as shown in messages.
fn host_label(u: &Url) -> String {
    let host = u.host_str().unwrap_or("");
    match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// What a transport error of reqwest means, in Chinese (the English chain goes to the log only).
fn transport_reason(e: &reqwest::Error) -> String {
    let mut chain = String::new();
    let mut kind = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            kind = kind.or(Some(io.kind()));
        }
        chain.push_str(&err.to_string().to_ascii_lowercase());
        chain.push_str(" | ");
        cur = err.source();
    }
    use std::io::ErrorKind as K;
    let reason = if chain.contains("dns error")
        || chain.contains("lookup address")
        || chain.contains("name or service not known")
        || chain.contains("no address")
    {
        "域名无法解析（DNS 查询失败，请检查网址中的主机名）"
    } else if matches!(kind, Some(K::ConnectionRefused)) || chain.contains("connection refused") {
        "连接被拒绝（对方主机未在该端口提供服务，站点可能已停止或端口有误）"
    } else if chain.contains("certificate")
        || chain.contains("tls")
        || chain.contains("handshake")
        || chain.contains("ssl")
    {
        "TLS 握手失败（HTTPS 证书无效、过期或与主机名不符，或协议不兼容）"
    } else if matches!(kind, Some(K::TimedOut)) || e.is_timeout() || chain.contains("timed out") {
        "连接超时（主机无响应）"
    } else if matches!(
        kind,
        Some(K::ConnectionReset) | Some(K::ConnectionAborted) | Some(K::BrokenPipe) | Some(K::UnexpectedEof)
    ) || chain.contains("reset")
        || chain.contains("closed")
    {
        "连接被对方中断"
    } else if chain.contains("unreachable") || chain.contains("no route") {
        "网络不可达（无法路由到该主机）"
    } else if e.is_decode() || e.is_body() {
        "读取响应内容失败（内容压缩格式有误或连接中断）"
    } else {
        "网络传输失败"
    };
    tracing::debug!(error = %chain, "transport error");
    reason.to_string()
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
    /// The `Content-Location` header: the base of relative links in the body when it has none.
    pub content_location: Option<String>,
    /// 304: nothing new since the cursors sent.
    pub not_modified: bool,
    pub body: Vec<u8>,
    pub fetched_at: DateTime<Utc>,
    pub elapsed: Duration,
}

impl Response {
    /// What relative links in the body resolve against: `Content-Location` (itself resolved against
    /// the final URL, RFC 9110 §8.7) when given, else the final URL.
    pub fn base_url(&self) -> String {
        self.content_location
            .as_deref()
            .and_then(|l| Url::parse(&self.final_url).ok()?.join(l.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map_or_else(|| self.final_url.clone(), |u| u.to_string())
    }
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
            .map_err(|e| {
                tracing::error!(error = %e, "could not build the HTTP client");
                FetchError::Network { host: "本机".into(), reason: "无法创建 HTTP 客户端".into() }
            })?;
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
    async fn turn(
        &self,
        host: &str,
        extra_delay: Option<f64>,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, FetchError> {
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
        self.permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| FetchError::Network { host: host.to_string(), reason: "采集已停止".into() })
    }

    /// The robots.txt rules of the URL's host (RFC 9309 §2.3.1): read rules (2xx), allow-all when
    /// there is none (4xx, or more redirects than followed), and an error when it cannot be read: a
    /// server error (5xx) is [`FetchError::RobotsUnavailable`] (crawl nothing until it reads), and a
    /// host that cannot be reached at all is reported as what it is (connection refused, DNS, TLS,
    /// timeout), not as a robots.txt refusal. Only read answers are cached.
    async fn robots_for(&self, u: &Url) -> Result<Arc<Robots>, FetchError> {
        let key = host_key(u);
        if let Some((r, at)) = self.robots.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            if at.elapsed() < ROBOTS_TTL {
                return Ok(r.clone());
            }
        }
        let mut robots_url = u.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let req = Request {
            url: robots_url.to_string(),
            max_bytes: 512 * 1024,
            timeout: Duration::from_secs(15),
            ignore_robots: true,
            ..Default::default()
        };
        let robots = match self.attempt(&req, None).await {
            Ok(r) => robots_from_answer(r.status, &r.body),
            Err(FetchError::Status { status, .. }) => match robots_from_status(status) {
                Some(r) => r,
                None => return Err(FetchError::RobotsUnavailable { host: host_label(u), status }),
            },
            // RFC 9309 §2.3.1.2: past the redirects followed, robots.txt counts as unavailable (4xx).
            Err(FetchError::TooManyRedirects(..) | FetchError::RedirectLoop(_)) => Robots::allow_all(),
            // The first 512 KiB are read by `attempt` only whole; a larger file is an error of the site.
            Err(FetchError::TooLarge { .. }) => {
                return Err(FetchError::RobotsUnavailable { host: host_label(u), status: 200 })
            }
            // Unreachable (refused, DNS, TLS, timeout): say so.
            Err(e) => return Err(e),
        };
        let robots = Arc::new(robots);
        self.robots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key, (robots.clone(), Instant::now()));
        Ok(robots)
    }

    /// Fetches with retries (exponential backoff) on transient failures, robots.txt first.
    pub async fn fetch(&self, req: &Request) -> Result<Response, FetchError> {
        let url = Url::parse(&req.url).map_err(|_| FetchError::BadUrl(req.url.clone()))?;
        let mut delay = CollectConfig::span(&self.config.backoff, Duration::from_secs(1));
        let mut tries = 0;
        loop {
            match self.robots_then_attempt(req, &url).await {
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

    async fn robots_then_attempt(&self, req: &Request, url: &Url) -> Result<Response, FetchError> {
        let mut crawl_delay = None;
        if !req.ignore_robots {
            let robots = self.robots_for(url).await?;
            let path = match url.query() {
                Some(q) => format!("{}?{q}", url.path()),
                None => url.path().to_string(),
            };
            if !robots.allowed(&path) {
                return Err(FetchError::RobotsDisallowed(req.url.clone()));
            }
            crawl_delay = robots.crawl_delay;
        }
        self.attempt(req, crawl_delay).await
    }

    /// One attempt, redirects included, within the total timeout.
    async fn attempt(&self, req: &Request, crawl_delay: Option<f64>) -> Result<Response, FetchError> {
        let total = total_timeout(req);
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
                if e.is_timeout() && !e.is_connect() {
                    FetchError::Timeout(total_timeout(req), url.to_string())
                } else {
                    FetchError::Connect { host: host_label(&url), reason: transport_reason(&e) }
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
                content_location: header(&headers, CONTENT_LOCATION),
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
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| FetchError::Network { host: host_label(&url), reason: transport_reason(&e) })?
            {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Err(FetchError::TooLarge { limit, url: url.to_string() });
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(Response { body, elapsed: started.elapsed(), ..base });
        }
    }
}

/// The whole-request time limit of a request (30 s when unset).
fn total_timeout(req: &Request) -> Duration {
    if req.timeout.is_zero() {
        Duration::from_secs(30)
    } else {
        req.timeout
    }
}

/// What a read robots.txt answer (after redirects) means: 2xx rules, 3xx without a target and 4xx
/// allow everything (RFC 9309 §2.3.1.3).
fn robots_from_answer(status: u16, body: &[u8]) -> Robots {
    if (200..300).contains(&status) {
        Robots::parse(&String::from_utf8_lossy(body), AGENT)
    } else {
        Robots::allow_all()
    }
}

/// A robots.txt error status: 4xx (and other non-5xx) allow everything; 5xx is `None`, nothing
/// may be fetched until it reads (RFC 9309 §2.3.1.4).
fn robots_from_status(status: u16) -> Option<Robots> {
    (status < 500).then(Robots::allow_all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robots_status_follows_rfc_9309() {
        assert!(robots_from_status(404).is_some_and(|r| r.allowed("/feed.xml")));
        assert!(robots_from_status(403).is_some_and(|r| r.allowed("/feed.xml")), "4xx, even 401/403, is allow-all");
        assert!(robots_from_status(500).is_none());
        assert!(robots_from_status(503).is_none());
        assert!(!robots_from_answer(200, b"User-agent: *\nDisallow: /\n").allowed("/x"));
    }

    /// Every failure names what happened and where, in Chinese, and only a real disallow mentions
    /// a robots.txt refusal.
    #[test]
    fn every_fetch_error_says_what_happened() {
        let url = "http://news.example.cn/feed.xml".to_string();
        let host = "news.example.cn".to_string();
        let cases = [
            (FetchError::BadUrl("ht!tp:/x".into()), vec!["无效", "ht!tp:/x"]),
            (FetchError::Status { status: 404, url: url.clone() }, vec!["HTTP 404", "不存在", &url]),
            (FetchError::Status { status: 503, url: url.clone() }, vec!["HTTP 503", "暂不可用"]),
            (FetchError::Timeout(Duration::from_secs(30), url.clone()), vec!["超时", "30 秒", &url]),
            (FetchError::TooLarge { limit: 10, url: url.clone() }, vec!["上限", &url]),
            (FetchError::RedirectLoop(format!("{url} → {url}")), vec!["重定向循环"]),
            (FetchError::TooManyRedirects(5, url.clone()), vec!["重定向超过 5 次"]),
            (FetchError::RobotsDisallowed(url.clone()), vec!["robots.txt 不允许抓取", &url]),
            (
                FetchError::RobotsUnavailable { host: host.clone(), status: 503 },
                vec!["暂时无法读取", "HTTP 503", &host],
            ),
            (
                FetchError::Connect { host: host.clone(), reason: "连接被拒绝".into() },
                vec!["无法连接", "连接被拒绝", &host],
            ),
            (FetchError::Network { host: host.clone(), reason: "连接被对方中断".into() }, vec!["网络错误", &host]),
        ];
        for (e, wants) in cases {
            let m = crate::collector::describe(&e);
            for w in wants {
                assert!(m.contains(w), "{e:?} → {m}: lacks {w}");
            }
            let robots_refusal = matches!(e, FetchError::RobotsDisallowed(_));
            assert_eq!(m.contains("不允许抓取"), robots_refusal, "{m}");
        }
    }
}
