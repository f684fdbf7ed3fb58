//! `/metrics` in the Prometheus text format (version 0.0.4) and `/readyz`.
//!
//! Why written by hand rather than with a metrics crate: nearly every number here already lives in
//! the database, written by the crates that do the work (the collectors' fetch log, posts, alerts,
//! the outbox and its attempts, incidents' deadlines), and is read from it at scrape time
//! (`yuqing_store::ops_metrics`). A registry would need hooks in every one of those crates, and its
//! counters would restart from zero with the process while the database's do not. What only the
//! process knows — HTTP latency by route, posts the push API refused — is kept here in two small
//! maps. The text format is a few lines of code; a test parses the output.
//!
//! Who may read `/metrics`: clients whose address is in `[metrics] allow` (by default only this
//! machine), or any client that sends `Authorization: Bearer <[metrics] token>`. Behind a reverse
//! proxy the client address is the proxy's: use the token then.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use yuqing_store::{ops_metrics, DataDir};

use crate::AppState;

/// Latency buckets (seconds) of the HTTP and fetch histograms.
const HTTP_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];
const FETCH_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Observations at or below each bound (not cumulative; summed when written).
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], v: f64) {
        if self.counts.len() != bounds.len() {
            self.counts = vec![0; bounds.len()];
        }
        if let Some(i) = bounds.iter().position(|b| v <= *b) {
            self.counts[i] += 1;
        }
        self.sum += v;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let mut cumulative = 0;
        for (i, b) in bounds.iter().enumerate() {
            cumulative += self.counts.get(i).copied().unwrap_or(0);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

/// A label value, escaped as the text format wants.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Fetch results per source since the server started, from the fetch log.
#[derive(Debug, Default)]
struct Fetches {
    /// The last row of the fetch log counted (None: not started; set when the server binds).
    after: Option<i64>,
    by_source: BTreeMap<String, FetchStats>,
}

#[derive(Debug, Default)]
struct FetchStats {
    ok: u64,
    failed: u64,
    not_new: u64,
    latency: Histogram,
}

/// Who may read `/metrics`.
#[derive(Debug, Clone)]
pub struct MetricsAccess {
    pub allow: Vec<ipnet::IpNet>,
    pub token: Option<String>,
}

impl Default for MetricsAccess {
    fn default() -> Self {
        MetricsAccess {
            allow: ["127.0.0.1/32", "::1/128"].iter().filter_map(|n| n.parse().ok()).collect(),
            token: None,
        }
    }
}

impl MetricsAccess {
    /// Whether a client at `peer` sending these headers may read the metrics.
    pub fn permits(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
        if let Some(token) = &self.token {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            if given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
                return true;
            }
        }
        let peer = peer.map(|ip| match ip {
            // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d.
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        });
        peer.is_some_and(|ip| self.allow.iter().any(|n| n.contains(&ip)))
    }
}

/// Compares in time independent of where the inputs differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

type Alive = Box<dyn Fn() -> bool + Send + Sync>;

/// The process's own metrics and the background workers `/readyz` watches.
pub struct Metrics {
    pub access: MetricsAccess,
    http: Mutex<BTreeMap<(String, String, &'static str), Histogram>>,
    refused: Mutex<BTreeMap<(String, &'static str), u64>>,
    fetches: Mutex<Fetches>,
    /// Posts stored by source: the whole store counted once, then the posts after the last id
    /// seen (posts are never deleted and never change source).
    posts: Mutex<(i64, BTreeMap<String, u64>)>,
    workers: RwLock<Vec<(String, Alive)>>,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(MetricsAccess::default())
    }
}

impl Metrics {
    pub fn new(access: MetricsAccess) -> Metrics {
        Metrics {
            access,
            http: Mutex::default(),
            refused: Mutex::default(),
            fetches: Mutex::default(),
            posts: Mutex::default(),
            workers: RwLock::default(),
            started: Instant::now(),
        }
    }

    /// Starts counting fetches from now (called when the server binds).
    pub fn begin(&self, data: &DataDir) {
        let last = ops_metrics::last_fetch_id(data.store.connection()).unwrap_or(0);
        let mut f = self.fetches.lock().unwrap_or_else(|e| e.into_inner());
        if f.after.is_none() {
            f.after = Some(last);
        }
    }

    /// A background worker `/readyz` requires alive: `alive` says whether it still runs.
    pub fn watch_worker(&self, name: &str, alive: impl Fn() -> bool + Send + Sync + 'static) {
        self.workers.write().unwrap_or_else(|e| e.into_inner()).push((name.to_string(), Box::new(alive)));
    }

    /// Posts the push API (`source = "push"`) did not store: `reason` is `invalid` or `duplicate`.
    pub fn refused(&self, source: &str, reason: &'static str, n: u64) {
        if n > 0 {
            *self.refused.lock().unwrap_or_else(|e| e.into_inner()).entry((source.to_string(), reason)).or_default() +=
                n;
        }
    }

    fn observe_http(&self, method: &str, route: &str, status: StatusCode, seconds: f64) {
        let class = match status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((method.to_string(), route.to_string(), class))
            .or_default()
            .observe(&HTTP_BUCKETS, seconds);
    }

    /// The workers that have stopped.
    fn dead_workers(&self) -> Vec<String> {
        let workers = self.workers.read().unwrap_or_else(|e| e.into_inner());
        workers.iter().filter(|(_, alive)| !alive()).map(|(n, _)| n.clone()).collect()
    }

    /// Reads the fetch log rows added since the last scrape into the per-source counts.
    fn catch_up_fetches(&self, data: &DataDir) -> yuqing_store::Result<()> {
        let mut f = self.fetches.lock().unwrap_or_else(|e| e.into_inner());
        let mut after = match f.after {
            Some(a) => a,
            None => {
                let a = ops_metrics::last_fetch_id(data.store.connection())?;
                f.after = Some(a);
                a
            }
        };
        loop {
            let rows = ops_metrics::fetches_after(data.store.connection(), after, 5000)?;
            let Some(last) = rows.last() else { break };
            after = last.id;
            for r in rows {
                let s = f.by_source.entry(r.source_id).or_default();
                if r.ok {
                    s.ok += 1;
                } else {
                    s.failed += 1;
                }
                s.not_new += r.items.saturating_sub(r.stored);
                s.latency.observe(&FETCH_BUCKETS, r.millis as f64 / 1000.0);
            }
        }
        f.after = Some(after);
        Ok(())
    }

    /// The whole exposition: the database's numbers and the process's own.
    pub fn render(&self, data: &DataDir, now: DateTime<Utc>) -> yuqing_store::Result<String> {
        let conn = data.store.connection();
        let mut out = String::with_capacity(8192);

        family(&mut out, "yuqing_up", "gauge", "1 while the server answers.");
        out.push_str("yuqing_up 1\n");
        family(&mut out, "yuqing_build_info", "gauge", "The running version.");
        let _ = writeln!(out, "yuqing_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));
        family(&mut out, "yuqing_uptime_seconds", "gauge", "Seconds since the server started.");
        let _ = writeln!(out, "yuqing_uptime_seconds {}", self.started.elapsed().as_secs_f64());

        // Posts: stored (the store's whole history) and refused (since the server started).
        let by_source = {
            let mut posts = self.posts.lock().unwrap_or_else(|e| e.into_inner());
            let (new, last) = ops_metrics::posts_by_source_after(conn, posts.0)?;
            posts.0 = last;
            for (source, n) in new {
                *posts.1.entry(source).or_default() += n;
            }
            posts.1.clone()
        };
        family(&mut out, "yuqing_posts_stored_total", "counter", "Posts stored, by their source (site).");
        for (source, n) in &by_source {
            let _ = writeln!(out, "yuqing_posts_stored_total{{source=\"{}\"}} {n}", label(source));
        }
        self.catch_up_fetches(data)?;
        family(
            &mut out,
            "yuqing_posts_refused_total",
            "counter",
            "Posts not stored since the server started, by door (a source id, or push for the push API) and reason (invalid, duplicate).",
        );
        {
            let mut refused: BTreeMap<(String, &'static str), u64> =
                self.refused.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let f = self.fetches.lock().unwrap_or_else(|e| e.into_inner());
            for (source, s) in &f.by_source {
                *refused.entry((source.clone(), "duplicate")).or_default() += s.not_new;
            }
            for ((source, reason), n) in &refused {
                let _ =
                    writeln!(out, "yuqing_posts_refused_total{{source=\"{}\",reason=\"{reason}\"}} {n}", label(source));
            }

            // Fetches since the server started.
            family(&mut out, "yuqing_fetches_total", "counter", "Source runs since the server started, by result.");
            for (source, s) in &f.by_source {
                let l = label(source);
                let _ = writeln!(out, "yuqing_fetches_total{{source=\"{l}\",result=\"ok\"}} {}", s.ok);
                let _ = writeln!(out, "yuqing_fetches_total{{source=\"{l}\",result=\"error\"}} {}", s.failed);
            }
            family(&mut out, "yuqing_fetch_duration_seconds", "histogram", "Time a source run took.");
            for (source, s) in &f.by_source {
                s.latency.write(
                    &mut out,
                    "yuqing_fetch_duration_seconds",
                    &format!("source=\"{}\"", label(source)),
                    &FETCH_BUCKETS,
                );
            }
        }
        family(&mut out, "yuqing_source_consecutive_failures", "gauge", "Failed runs in a row, by source.");
        for (source, n) in ops_metrics::source_failures(conn)? {
            let _ = writeln!(out, "yuqing_source_consecutive_failures{{source=\"{}\"}} {n}", label(&source));
        }

        // The pipeline: stored posts the full-text index does not hold yet.
        let lag = ops_metrics::lag(conn, data.fts.committed_upto(), now)?;
        family(
            &mut out,
            "yuqing_pipeline_lag_seconds",
            "gauge",
            "How long the oldest stored post not yet searchable has waited (0: the index is caught up).",
        );
        let _ = writeln!(out, "yuqing_pipeline_lag_seconds {}", lag.unindexed_seconds);
        family(&mut out, "yuqing_pipeline_unindexed_posts", "gauge", "Stored posts not yet in the full-text index.");
        let _ = writeln!(out, "yuqing_pipeline_unindexed_posts {}", lag.unindexed_posts);
        family(
            &mut out,
            "yuqing_last_post_stored_timestamp_seconds",
            "gauge",
            "When the newest post was stored (Unix time; 0: none).",
        );
        let _ = writeln!(
            out,
            "yuqing_last_post_stored_timestamp_seconds {}",
            lag.last_stored_at.map_or(0, |t| t.timestamp())
        );

        family(&mut out, "yuqing_alerts_raised_total", "counter", "Alerts raised, by the grade raised to.");
        for (grade, n) in ops_metrics::alerts_by_grade(conn)? {
            let _ = writeln!(out, "yuqing_alerts_raised_total{{grade=\"{}\"}} {n}", label(&grade));
        }

        // Notifications.
        let channels = ops_metrics::outbox_channels(conn)?;
        let pending: BTreeMap<String, u64> = ops_metrics::outbox_pending_by_channel(conn)?.into_iter().collect();
        let failures: BTreeMap<String, u64> = ops_metrics::outbox_failures_by_channel(conn)?.into_iter().collect();
        family(&mut out, "yuqing_outbox_depth", "gauge", "Messages waiting to be delivered, by channel.");
        for c in &channels {
            let _ = writeln!(
                out,
                "yuqing_outbox_depth{{channel=\"{}\"}} {}",
                label(c),
                pending.get(c).copied().unwrap_or(0)
            );
        }
        family(&mut out, "yuqing_outbox_delivery_failures_total", "counter", "Failed delivery attempts, by channel.");
        for c in &channels {
            let _ = writeln!(
                out,
                "yuqing_outbox_delivery_failures_total{{channel=\"{}\"}} {}",
                label(c),
                failures.get(c).copied().unwrap_or(0)
            );
        }

        let (overdue_now, overdue_recorded) = ops_metrics::overdue(conn, now)?;
        family(&mut out, "yuqing_deadlines_overdue", "gauge", "Unmet deadlines of open incidents past due now.");
        let _ = writeln!(out, "yuqing_deadlines_overdue {overdue_now}");
        family(
            &mut out,
            "yuqing_deadlines_overdue_recorded_total",
            "counter",
            "Deadlines that went overdue (recorded).",
        );
        let _ = writeln!(out, "yuqing_deadlines_overdue_recorded_total {overdue_recorded}");

        family(
            &mut out,
            "yuqing_http_request_duration_seconds",
            "histogram",
            "HTTP requests by method, route pattern and status class.",
        );
        let http = self.http.lock().unwrap_or_else(|e| e.into_inner());
        for ((method, route, class), h) in http.iter() {
            let labels = format!("method=\"{}\",route=\"{}\",status=\"{class}\"", label(method), label(route));
            h.write(&mut out, "yuqing_http_request_duration_seconds", &labels, &HTTP_BUCKETS);
        }
        Ok(out)
    }
}

/// Middleware (inside the router, so the matched route is known): times each request by its route
/// pattern (`/stories/{id}`), never the raw path.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    if let Some(route) = route {
        metrics.observe_http(&method, &route, response.status(), started.elapsed().as_secs_f64());
    }
    response
}

/// `GET /metrics`.
pub async fn serve(State(state): State<AppState>, req: Request) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if !state.metrics.access.permits(peer, req.headers()) {
        return (
            StatusCode::FORBIDDEN,
            "无权读取 /metrics：请从 [metrics] allow 所列地址访问，或带上 Authorization: Bearer <[metrics] token>\n",
        )
            .into_response();
    }
    let metrics = state.metrics.clone();
    match state.blocking(move |d, now| Ok(metrics.render(d, now)?)).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "metrics could not be read");
            (StatusCode::SERVICE_UNAVAILABLE, "指标读取失败，请查看服务日志\n").into_response()
        }
    }
}

/// `GET /readyz`: 200 when the store is open and answers, its schema is this program's, the
/// full-text index answers a query and every background worker runs; else 503 with what is wrong.
/// (`/healthz` only says the process answers HTTP.)
pub async fn readyz(State(state): State<AppState>) -> Response {
    let dead = state.metrics.dead_workers();
    let checked = state
        .blocking(|d, _| {
            let mut problems = Vec::new();
            match ops_metrics::schema_current(d.store.connection()) {
                Ok((v, supported)) if v == supported => {}
                Ok((v, supported)) => problems.push(format!("数据库版本 {v}，应为 {supported}（迁移未完成）")),
                Err(e) => problems.push(format!("数据库无法读取：{e}")),
            }
            if let Err(e) = d.fts.search("舆情", 1, 0) {
                problems.push(format!("全文索引无法检索：{e}"));
            }
            Ok(problems)
        })
        .await;
    let mut problems = match checked {
        Ok(p) => p,
        Err(e) => vec![format!("数据目录无法访问：{e}")],
    };
    problems.extend(dead.into_iter().map(|w| format!("后台任务“{w}”已停止")));
    let body = serde_json::json!({ "ready": problems.is_empty(), "problems": problems });
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_by_network_or_token_and_mapped_ipv4() {
        let access =
            MetricsAccess { allow: vec!["10.0.0.0/8".parse().unwrap()], token: Some("s3cret-token-0123".into()) };
        let none = HeaderMap::new();
        assert!(access.permits(Some("10.1.2.3".parse().unwrap()), &none));
        assert!(access.permits(Some("::ffff:10.1.2.3".parse().unwrap()), &none));
        assert!(!access.permits(Some("192.168.1.1".parse().unwrap()), &none));
        assert!(!access.permits(None, &none));
        let mut good = HeaderMap::new();
        good.insert(header::AUTHORIZATION, "Bearer s3cret-token-0123".parse().unwrap());
        assert!(access.permits(Some("192.168.1.1".parse().unwrap()), &good));
        let mut bad = HeaderMap::new();
        bad.insert(header::AUTHORIZATION, "Bearer s3cret-token-0124".parse().unwrap());
        assert!(!access.permits(Some("192.168.1.1".parse().unwrap()), &bad));
        assert!(MetricsAccess::default().permits(Some("127.0.0.1".parse().unwrap()), &none));
        assert!(!MetricsAccess::default().permits(Some("192.0.2.1".parse().unwrap()), &none));
    }

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let mut h = Histogram::default();
        for v in [0.001, 0.02, 0.02, 100.0] {
            h.observe(&HTTP_BUCKETS, v);
        }
        let mut out = String::new();
        h.write(&mut out, "x", "route=\"/a\"", &HTTP_BUCKETS);
        assert!(out.contains("x_bucket{route=\"/a\",le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"0.025\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"30\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{route=\"/a\",le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_count{route=\"/a\"} 4\n"), "{out}");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
