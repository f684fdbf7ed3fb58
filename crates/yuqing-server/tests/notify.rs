//! Notifications against local receivers that fail the first tries: every message is delivered
//! exactly once, every attempt is recorded with its reason, robot signatures verify, and a restart
//! in the middle loses nothing and sends nothing twice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use yuqing_desk::notify::{
    run_outbox_once, spawn_outbox_worker, ChannelConfig, ChannelKind, Deliverer, OutboxConn, RunCounts, TlsMode,
    WorkerOptions,
};
use yuqing_store::outbox::{self, NewMessage, OutboxStatus, RetryPolicy};
use yuqing_store::pg::PgStore;
use yuqing_store::{DataDir, SqliteStore};

type HmacSha256 = Hmac<Sha256>;

fn t(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_750_000_000 + s, 0).unwrap()
}

// ---------------------------------------------------------------------------------------------
// A local receiver speaking like a webhook, WeCom, DingTalk or Feishu (by path), failing the first
// `fail_first` requests.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fail {
    /// HTTP 500.
    Http500,
    /// HTTP 200 with a robot error code.
    Errcode,
}

#[derive(Debug, Clone)]
struct Req {
    path: String,
    query: HashMap<String, String>,
    headers: HeaderMap,
    raw: Vec<u8>,
    body: Value,
    /// Whether the robot signature verified (None: nothing to verify).
    sign_ok: Option<bool>,
    /// Whether the receiver answered success.
    accepted: bool,
}

struct RxState {
    fail_first: usize,
    fail: Fail,
    secret: Option<String>,
    reqs: Vec<Req>,
}

#[derive(Clone)]
struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<RxState>>,
}

impl Receiver {
    async fn start(fail_first: usize, fail: Fail, secret: Option<&str>) -> Receiver {
        let state = Arc::new(Mutex::new(RxState { fail_first, fail, secret: secret.map(String::from), reqs: vec![] }));
        let app = Router::new().fallback(receive).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn reqs(&self) -> Vec<Req> {
        self.state.lock().unwrap().reqs.clone()
    }

    /// How many times each message id was accepted.
    fn accepted_ids(&self) -> HashMap<i64, usize> {
        let mut m = HashMap::new();
        for r in self.reqs().iter().filter(|r| r.accepted) {
            let id = r
                .headers
                .get("x-yuqing-message-id")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap();
            *m.entry(id).or_insert(0) += 1;
        }
        m
    }
}

fn b64_hmac(key: &[u8], msg: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).unwrap();
    mac.update(msg);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn receive(State(state): State<Arc<Mutex<RxState>>>, uri: Uri, headers: HeaderMap, raw: Bytes) -> Response {
    let path = uri.path().to_string();
    let query: HashMap<String, String> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), urlencoding::decode(v).unwrap().into_owned()))
        .collect();
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let mut st = state.lock().unwrap();
    // Verify signatures the way the real services document them.
    let sign_ok = match (path.as_str(), st.secret.as_deref()) {
        ("/dingtalk", Some(secret)) => {
            let ts = query.get("timestamp").cloned().unwrap_or_default();
            let want = b64_hmac(secret.as_bytes(), format!("{ts}\n{secret}").as_bytes());
            Some(query.get("sign") == Some(&want))
        }
        ("/feishu", Some(secret)) => {
            let ts = body["timestamp"].as_str().unwrap_or_default();
            let want = b64_hmac(format!("{ts}\n{secret}").as_bytes(), b"");
            Some(body["sign"].as_str() == Some(want.as_str()))
        }
        ("/webhook", Some(secret)) => {
            let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
            mac.update(&raw);
            let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            Some(headers.get("x-yuqing-signature").and_then(|v| v.to_str().ok()) == Some(want.as_str()))
        }
        _ => None,
    };
    let failing = st.reqs.len() < st.fail_first || sign_ok == Some(false);
    let fail = st.fail;
    st.reqs.push(Req { path: path.clone(), query, headers, raw: raw.to_vec(), body, sign_ok, accepted: !failing });
    drop(st);
    let robot_ok = |path: &str| match path {
        "/feishu" => json!({"code": 0, "msg": "success", "data": {}}).to_string(),
        _ => json!({"errcode": 0, "errmsg": "ok"}).to_string(),
    };
    if !failing {
        return (StatusCode::OK, robot_ok(&path)).into_response();
    }
    match fail {
        Fail::Http500 => (StatusCode::INTERNAL_SERVER_ERROR, "upstream unavailable").into_response(),
        Fail::Errcode if path == "/feishu" => (
            StatusCode::OK,
            json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour"}).to_string(),
        )
            .into_response(),
        Fail::Errcode => (StatusCode::OK, json!({"errcode": 310000, "errmsg": "keywords not in content"}).to_string())
            .into_response(),
    }
}

// ---------------------------------------------------------------------------------------------

fn http_channel(name: &str, kind: ChannelKind, url: String, secret: Option<&str>) -> ChannelConfig {
    ChannelConfig {
        name: name.into(),
        kind,
        url: Some(url),
        secret: secret.map(String::from),
        host: None,
        port: None,
        username: None,
        password: None,
        from: None,
        to: vec![],
        tls: TlsMode::default(),
        timeout_secs: Some(5),
        enabled: true,
    }
}

fn message(channel: &str, key: &str) -> NewMessage {
    NewMessage {
        channel: channel.into(),
        recipient: Some("值班员张三".into()),
        mention: vec!["13800000000".into()],
        subject: "III 级预警：某地化工厂异味".into(),
        body: "30 分钟内 12 条负面帖文，涉及 4 个站点。".into(),
        link: Some("http://yuqing.local/stories/7".into()),
        dedup_key: Some(key.into()),
    }
}

fn store() -> (tempfile::TempDir, Arc<Mutex<SqliteStore>>) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("yuqing.db")).unwrap();
    (dir, Arc::new(Mutex::new(s)))
}

fn enqueue(conn: &impl OutboxConn, m: &NewMessage, now: DateTime<Utc>) -> i64 {
    let m = m.clone();
    conn.with_outbox(move |c| c.enqueue(&m, now, &RetryPolicy::default())).unwrap().unwrap()
}

fn get(conn: &impl OutboxConn, id: i64) -> outbox::OutboxMessage {
    conn.with_outbox(move |c| c.message(id)).unwrap().unwrap()
}

fn attempts(conn: &impl OutboxConn, id: i64) -> Vec<outbox::Attempt> {
    conn.with_outbox(move |c| c.attempts(id)).unwrap()
}

async fn pass(conn: &impl OutboxConn, d: &Arc<Deliverer>, now: DateTime<Utc>) -> RunCounts {
    run_outbox_once(conn, d, now, &WorkerOptions::default()).await.unwrap()
}

#[tokio::test]
async fn webhook_failing_with_500_is_retried_with_backoff_and_delivered_once() {
    let rx = Receiver::start(2, Fail::Http500, Some("hook-secret")).await;
    let d = Arc::new(
        Deliverer::new(&[http_channel("工单系统", ChannelKind::Webhook, rx.url("/webhook"), Some("hook-secret"))])
            .unwrap(),
    );
    let (_dir, conn) = store();
    let id = enqueue(&conn, &message("工单系统", "alert:7"), t(0));
    // The same notice enqueued again by a later tick is not a second message.
    assert_eq!(
        conn.with_outbox(|c| c.enqueue(&message("工单系统", "alert:7"), t(1), &RetryPolicy::default())).unwrap(),
        None
    );

    assert_eq!(pass(&conn, &d, t(0)).await, RunCounts { claimed: 1, retrying: 1, ..Default::default() });
    // Not due again before the backoff (30 s).
    assert_eq!(pass(&conn, &d, t(29)).await.claimed, 0);
    assert_eq!(pass(&conn, &d, t(30)).await, RunCounts { claimed: 1, retrying: 1, ..Default::default() });
    // Then 60 s.
    assert_eq!(pass(&conn, &d, t(89)).await.claimed, 0);
    assert_eq!(pass(&conn, &d, t(90)).await, RunCounts { claimed: 1, delivered: 1, ..Default::default() });
    assert_eq!(pass(&conn, &d, t(100_000)).await.claimed, 0);

    let m = get(&conn, id);
    assert_eq!((m.status, m.attempts, m.delivered_at), (OutboxStatus::Delivered, 3, Some(t(90))));
    let a = attempts(&conn, id);
    assert_eq!(a.iter().map(|a| (a.at, a.ok)).collect::<Vec<_>>(), vec![(t(0), false), (t(30), false), (t(90), true)]);
    assert!(a[0].detail.contains("HTTP 500") && a[0].detail.contains("upstream unavailable"), "{}", a[0].detail);
    assert!(a[2].detail.starts_with("HTTP 200"), "{}", a[2].detail);

    let reqs = rx.reqs();
    assert_eq!(reqs.len(), 3);
    assert_eq!(rx.accepted_ids(), HashMap::from([(id, 1)]));
    assert!(reqs.iter().all(|r| r.sign_ok == Some(true)));
    let doc = &reqs[2].body;
    assert_eq!(doc["id"], id);
    assert_eq!(doc["subject"], "III 级预警：某地化工厂异味");
    assert_eq!(doc["recipient"], "值班员张三");
    assert_eq!(doc["link"], "http://yuqing.local/stories/7");
    assert_eq!(doc["created_at"], t(0).to_rfc3339());
    assert_eq!(doc["attempt"], 3);
    assert_eq!(reqs[2].headers.get("content-type").unwrap(), "application/json; charset=utf-8");
    assert!(!reqs[2].raw.is_empty());
}

#[tokio::test]
async fn wecom_errcode_in_a_200_reply_is_a_failure() {
    let rx = Receiver::start(1, Fail::Errcode, None).await;
    let d = Arc::new(Deliverer::new(&[http_channel("值班群", ChannelKind::Wecom, rx.url("/wecom"), None)]).unwrap());
    let (_dir, conn) = store();
    let id = enqueue(&conn, &message("值班群", "a"), t(0));
    assert_eq!(pass(&conn, &d, t(0)).await.retrying, 1);
    assert_eq!(pass(&conn, &d, t(30)).await.delivered, 1);
    let a = attempts(&conn, id);
    assert_eq!(a.len(), 2);
    assert!(
        !a[0].ok && a[0].detail.contains("errcode=310000") && a[0].detail.contains("keywords not in content"),
        "{}",
        a[0].detail
    );
    assert!(a[1].ok);
    let reqs = rx.reqs();
    assert!(reqs.iter().all(|r| r.path == "/wecom"));
    assert_eq!(reqs[1].body["msgtype"], "text");
    assert_eq!(reqs[1].body["text"]["mentioned_mobile_list"], json!(["13800000000"]));
    assert!(reqs[1].body["text"]["content"].as_str().unwrap().contains("某地化工厂异味"));
    assert_eq!(rx.accepted_ids(), HashMap::from([(id, 1)]));
}

#[tokio::test]
async fn dingtalk_signature_verifies_and_errcode_is_retried() {
    let secret = "SEC0123456789abcdef+/=";
    let rx = Receiver::start(1, Fail::Errcode, Some(secret)).await;
    let url = format!("{}?access_token=TOKEN", rx.url("/dingtalk"));
    let d = Arc::new(Deliverer::new(&[http_channel("钉钉值班", ChannelKind::Dingtalk, url, Some(secret))]).unwrap());
    let (_dir, conn) = store();
    let id = enqueue(&conn, &message("钉钉值班", "a"), t(0));
    assert_eq!(pass(&conn, &d, t(0)).await.retrying, 1);
    assert_eq!(pass(&conn, &d, t(30)).await.delivered, 1);
    let reqs = rx.reqs();
    assert_eq!(reqs.len(), 2);
    for (r, at) in reqs.iter().zip([t(0), t(30)]) {
        assert_eq!(r.sign_ok, Some(true), "{:?}", r.query);
        assert_eq!(r.query["access_token"], "TOKEN");
        assert_eq!(r.query["timestamp"], at.timestamp_millis().to_string());
    }
    assert_eq!(reqs[1].body["msgtype"], "markdown");
    assert_eq!(reqs[1].body["at"]["atMobiles"], json!(["13800000000"]));
    assert!(reqs[1].body["markdown"]["text"].as_str().unwrap().contains("@13800000000"));
    let a = attempts(&conn, id);
    assert!(a[0].detail.contains("310000") && !a[0].detail.contains("TOKEN"), "{}", a[0].detail);
    assert_eq!(rx.accepted_ids(), HashMap::from([(id, 1)]));

    // A wrong secret: the receiver rejects the signature, and the attempt says so.
    let bad = Arc::new(
        Deliverer::new(&[http_channel(
            "钉钉值班",
            ChannelKind::Dingtalk,
            format!("{}?access_token=TOKEN", rx.url("/dingtalk")),
            Some("wrong"),
        )])
        .unwrap(),
    );
    let id2 = enqueue(&conn, &message("钉钉值班", "b"), t(100));
    assert_eq!(pass(&conn, &bad, t(100)).await.retrying, 1);
    assert_eq!(rx.reqs().last().unwrap().sign_ok, Some(false));
    assert!(!attempts(&conn, id2)[0].ok);
}

#[tokio::test]
async fn feishu_signature_in_the_body_verifies() {
    let rx = Receiver::start(2, Fail::Errcode, Some("feishu-secret")).await;
    let d = Arc::new(
        Deliverer::new(&[http_channel("飞书", ChannelKind::Feishu, rx.url("/feishu"), Some("feishu-secret"))]).unwrap(),
    );
    let (_dir, conn) = store();
    let id = enqueue(&conn, &message("飞书", "a"), t(0));
    for now in [t(0), t(30), t(90)] {
        pass(&conn, &d, now).await;
    }
    let reqs = rx.reqs();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.sign_ok == Some(true)));
    assert_eq!(reqs[0].body["timestamp"], t(0).timestamp().to_string());
    assert_eq!(reqs[2].body["msg_type"], "text");
    let a = attempts(&conn, id);
    assert_eq!(a.iter().map(|a| a.ok).collect::<Vec<_>>(), vec![false, false, true]);
    assert!(a[0].detail.contains("code=19021"), "{}", a[0].detail);
    assert_eq!(rx.accepted_ids(), HashMap::from([(id, 1)]));
}

#[tokio::test]
async fn unknown_channel_is_a_recorded_failure_until_expiry() {
    let d = Arc::new(Deliverer::new(&[]).unwrap());
    let (_dir, conn) = store();
    let id = enqueue(&conn, &message("已删除的渠道", "a"), t(0));
    let mut now = t(0);
    let mut rounds = 0;
    loop {
        let c = pass(&conn, &d, now).await;
        assert_eq!(c.claimed, 1);
        rounds += 1;
        if c.expired == 1 {
            break;
        }
        now = get(&conn, id).next_attempt_at;
        assert!(rounds < 100);
    }
    let m = get(&conn, id);
    assert_eq!(m.status, OutboxStatus::Expired);
    assert_eq!(now, m.expires_at, "the last try is at the expiry");
    let a = attempts(&conn, id);
    assert_eq!(a.len(), rounds);
    assert!(a.iter().all(|a| !a.ok && a.detail.contains("未配置名为“已删除的渠道”的通知渠道")));
    assert_eq!(m.last_error.as_deref(), Some(a[0].detail.as_str()));
}

#[tokio::test]
async fn unreachable_and_slow_receivers_fail_within_the_timeout() {
    // Nothing listens on this port once the listener is dropped.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    // A receiver that accepts and never answers.
    let slow = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let slow_addr = slow.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((s, _)) = slow.accept().await {
            held.push(s);
        }
    });
    let mut slow_ch = http_channel("慢", ChannelKind::Webhook, format!("http://{slow_addr}/"), None);
    slow_ch.timeout_secs = Some(1);
    let d = Arc::new(
        Deliverer::new(&[http_channel("关", ChannelKind::Webhook, format!("http://{closed}/"), None), slow_ch])
            .unwrap(),
    );
    let (_dir, conn) = store();
    let a = enqueue(&conn, &message("关", "a"), t(0));
    let b = enqueue(&conn, &message("慢", "b"), t(0));
    let started = std::time::Instant::now();
    assert_eq!(pass(&conn, &d, t(0)).await.retrying, 2);
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    let da = &attempts(&conn, a)[0].detail;
    assert!(da.contains("无法连接"), "{da}");
    let db = &attempts(&conn, b)[0].detail;
    assert!(db.contains("超时"), "{db}");
}

#[tokio::test]
async fn overlapping_passes_send_each_message_once() {
    let rx = Receiver::start(0, Fail::Http500, None).await;
    let d =
        Arc::new(Deliverer::new(&[http_channel("工单系统", ChannelKind::Webhook, rx.url("/webhook"), None)]).unwrap());
    let (_dir, conn) = store();
    let ids: Vec<i64> = (0..20).map(|i| enqueue(&conn, &message("工单系统", &format!("k{i}")), t(0))).collect();
    let opts = WorkerOptions { batch: 7, ..WorkerOptions::default() };
    let (a, b, c) = tokio::join!(
        run_outbox_once(&conn, &d, t(1), &opts),
        run_outbox_once(&conn, &d, t(1), &opts),
        run_outbox_once(&conn, &d, t(1), &opts)
    );
    let delivered = a.unwrap().delivered + b.unwrap().delivered + c.unwrap().delivered;
    assert_eq!(delivered, 20);
    let accepted = rx.accepted_ids();
    assert_eq!(accepted.len(), 20);
    assert!(accepted.values().all(|&n| n == 1));
    assert!(ids.iter().all(|&id| attempts(&conn, id).len() == 1));
}

// ---------------------------------------------------------------------------------------------
// One dead channel does not delay the others.

/// A receiver that accepts connections and never answers; counts the connections.
async fn black_hole() -> (SocketAddr, Arc<AtomicI64>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let accepted = Arc::new(AtomicI64::new(0));
    let n = accepted.clone();
    tokio::spawn(async move {
        let mut held = vec![];
        while let Ok((s, _)) = l.accept().await {
            n.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    (addr, accepted)
}

/// `n` messages on `channel` that failed once at t(0): retries due at t(30).
fn backlog(conn: &impl OutboxConn, channel: &str, n: usize) -> Vec<i64> {
    (0..n)
        .map(|i| {
            let id = enqueue(conn, &message(channel, &format!("old:{i}")), t(0));
            let failed = outbox::AttemptOutcome::Failed("请求超时（1 秒）".into());
            conn.with_outbox(move |c| c.record_attempt(id, t(0), &failed, &RetryPolicy::default())).unwrap();
            id
        })
        .collect()
}

#[tokio::test]
async fn a_new_alert_is_delivered_in_the_first_pass_despite_a_dead_channels_backlog() {
    let rx = Receiver::start(0, Fail::Http500, None).await;
    let (hole, _) = black_hole().await;
    let mut dead = http_channel("旧系统", ChannelKind::Webhook, format!("http://{hole}/"), None);
    dead.timeout_secs = Some(1);
    let d = Arc::new(
        Deliverer::new(&[dead, http_channel("值班群", ChannelKind::Webhook, rx.url("/webhook"), None)]).unwrap(),
    );
    let (_dir, conn) = store();
    // More retries than a whole pass takes, all due long before the new alert.
    let old = backlog(&conn, "旧系统", 60);
    let alert = enqueue(&conn, &message("值班群", "alert:new"), t(100));

    let counts = pass(&conn, &d, t(100)).await;
    assert_eq!(get(&conn, alert).status, OutboxStatus::Delivered, "{counts:?}");
    assert_eq!(rx.accepted_ids(), HashMap::from([(alert, 1)]));
    // The dead channel was probed once; the rest of its share went back untried, due as before.
    let per_channel = WorkerOptions::default().per_channel;
    let tried: Vec<i64> = old.iter().copied().filter(|&id| attempts(&conn, id).len() == 2).collect();
    assert_eq!(tried.len(), 1, "{counts:?}");
    assert_eq!(
        counts,
        RunCounts {
            claimed: 1 + per_channel,
            delivered: 1,
            retrying: 1,
            deferred: per_channel - 1,
            ..Default::default()
        }
    );
    for id in old.iter().filter(|id| !tried.contains(id)) {
        let m = get(&conn, *id);
        assert_eq!((m.status, m.attempts, m.next_attempt_at), (OutboxStatus::Pending, 1, t(30)), "message {id}");
    }
    // Nothing is lost: the backlog keeps coming due and is worked through, one probe per pass
    // while the channel stays dead.
    let c = pass(&conn, &d, t(101)).await;
    assert_eq!((c.retrying, c.deferred), (1, per_channel - 1), "{c:?}");
}

#[tokio::test]
async fn the_worker_delivers_a_new_alert_while_a_dead_channel_is_still_timing_out() {
    let rx = Receiver::start(0, Fail::Http500, None).await;
    let (hole, connections) = black_hole().await;
    let mut dead = http_channel("旧系统", ChannelKind::Webhook, format!("http://{hole}/"), None);
    dead.timeout_secs = Some(10);
    let channels = [dead, http_channel("值班群", ChannelKind::Webhook, rx.url("/webhook"), None)];
    let (_dir, conn) = store();
    let old = backlog(&conn, "旧系统", 3);
    let clock = Arc::new(move || t(100));
    let opts = WorkerOptions { interval: Duration::from_secs(3600), clock, ..WorkerOptions::default() };
    let worker = spawn_outbox_worker(conn.clone(), Arc::new(Deliverer::new(&channels).unwrap()), opts);
    // The dead channel's lane is on the network, waiting for its timeout.
    wait_until("the dead channel is being tried", || connections.load(Ordering::SeqCst) >= 1).await;
    let alert = enqueue(&conn, &message("值班群", "alert:new"), t(100));
    worker.wake();
    let c2 = conn.clone();
    wait_until("the new alert delivered", || get(&c2, alert).status == OutboxStatus::Delivered).await;
    worker.shutdown().await;
    // The alert's attempt was recorded before the dead channel's: it did not wait for that lane.
    let alert_attempt = attempts(&conn, alert)[0].id;
    let probes: Vec<i64> =
        old.iter().flat_map(|&id| attempts(&conn, id)).filter(|a| a.at == t(100)).map(|a| a.id).collect();
    assert_eq!(probes.len(), 1, "one probe of the dead channel, its other retries given back");
    assert!(alert_attempt < probes[0], "alert attempt {alert_attempt}, dead channel's probe {}", probes[0]);
    assert_eq!(rx.accepted_ids(), HashMap::from([(alert, 1)]));
}

// ---------------------------------------------------------------------------------------------
// Restart: the background worker runs on the real data directory with a controllable clock; it is
// stopped mid-way (and one claim is left dangling, as after a crash), the directory reopened, and the
// worker started again.

async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn restart_midway_loses_nothing_and_sends_nothing_twice() {
    let rx = Receiver::start(3, Fail::Http500, None).await;
    let channels = [http_channel("工单系统", ChannelKind::Webhook, rx.url("/webhook"), None)];
    let dir = tempfile::tempdir().unwrap();
    let segmenter = Arc::new(yuqing_text::Segmenter::new::<&str>(&[]));
    let clock = Arc::new(AtomicI64::new(t(0).timestamp()));
    let opts = |clock: &Arc<AtomicI64>| {
        let c = clock.clone();
        WorkerOptions {
            interval: Duration::from_secs(3600),
            clock: Arc::new(move || Utc.timestamp_opt(c.load(Ordering::SeqCst), 0).unwrap()),
            ..WorkerOptions::default()
        }
    };

    // First life: five messages, the receiver fails the first three requests.
    let (ids, dangling) = {
        let data = Arc::new(Mutex::new(DataDir::open(dir.path(), segmenter.clone()).unwrap()));
        let ids: Vec<i64> = (0..5).map(|i| enqueue(&data, &message("工单系统", &format!("alert:{i}")), t(0))).collect();
        let worker = spawn_outbox_worker(data.clone(), Arc::new(Deliverer::new(&channels).unwrap()), opts(&clock));
        let d2 = data.clone();
        wait_until("five attempts", || {
            d2.with_outbox(|c| ids.iter().map(|&id| c.attempts(id).map(|a| a.len())).sum::<Result<usize, _>>()).unwrap()
                == 5
        })
        .await;
        worker.shutdown().await;
        // A sixth message claimed by a pass that then "crashed" before delivering it.
        let dangling = enqueue(&data, &message("工单系统", "alert:5"), t(10));
        let claimed = data.with_outbox(|c| c.claim(t(10), 10, Duration::from_secs(120))).unwrap();
        assert_eq!(claimed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![dangling]);
        let counts = data.with_outbox(|c| c.counts()).unwrap();
        assert_eq!((counts.delivered, counts.pending), (2, 4));
        (ids, dangling)
        // The data directory (and its lock) is dropped here.
    };
    assert_eq!(rx.reqs().len(), 5);

    // Second life, after the backoff but before the dangling claim's lease runs out.
    let data = Arc::new(Mutex::new(DataDir::open(dir.path(), segmenter).unwrap()));
    clock.store(t(40).timestamp(), Ordering::SeqCst);
    let worker = spawn_outbox_worker(data.clone(), Arc::new(Deliverer::new(&channels).unwrap()), opts(&clock));
    let d2 = data.clone();
    wait_until("the failed three delivered", || d2.with_outbox(|c| c.counts()).unwrap().delivered == 5).await;
    assert_eq!(get(&data, dangling).status, OutboxStatus::Pending);
    // Past the lease, the dangling claim is delivered too.
    clock.store(t(200).timestamp(), Ordering::SeqCst);
    worker.wake();
    let d2 = data.clone();
    wait_until("all six delivered", || d2.with_outbox(|c| c.counts()).unwrap().delivered == 6).await;
    worker.shutdown().await;

    // Each message reached the receiver exactly once, and every request is an attempt on record.
    let accepted = rx.accepted_ids();
    assert_eq!(accepted.len(), 6);
    assert!(accepted.values().all(|&n| n == 1), "{accepted:?}");
    let mut recorded = 0;
    for &id in ids.iter().chain([dangling].iter()) {
        let a = attempts(&data, id);
        let m = get(&data, id);
        assert_eq!(m.status, OutboxStatus::Delivered);
        assert_eq!(a.iter().filter(|a| a.ok).count(), 1);
        assert_eq!(m.attempts as usize, a.len());
        recorded += a.len();
    }
    assert_eq!(recorded, rx.reqs().len());
    assert_eq!(recorded, 9);
}

// ---------------------------------------------------------------------------------------------
// Email: a tiny SMTP listener that refuses the first message with a transient error.

#[derive(Default)]
struct SmtpState {
    refuse_first: usize,
    sessions: usize,
    /// (envelope recipients, data) of accepted messages.
    accepted: Vec<(Vec<String>, String)>,
}

async fn smtp_server(refuse_first: usize) -> (SocketAddr, Arc<Mutex<SmtpState>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(Mutex::new(SmtpState { refuse_first, ..Default::default() }));
    let st = state.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let st = st.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut r = BufReader::new(r);
                let session = {
                    let mut s = st.lock().unwrap();
                    s.sessions += 1;
                    s.sessions
                };
                w.write_all(b"220 localhost test SMTP\r\n").await.unwrap();
                let mut rcpts = vec![];
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        w.write_all(b"250-localhost\r\n250 8BITMIME\r\n").await.unwrap();
                    } else if cmd.starts_with("MAIL FROM") {
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    } else if cmd.starts_with("RCPT TO") {
                        rcpts.push(line.trim_end()[8..].trim().trim_matches(['<', '>']).to_string());
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    } else if cmd == "DATA" {
                        w.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            data.push_str(&line);
                        }
                        let refuse = session <= st.lock().unwrap().refuse_first;
                        if refuse {
                            w.write_all(b"451 4.3.0 try again later\r\n").await.unwrap();
                        } else {
                            st.lock().unwrap().accepted.push((std::mem::take(&mut rcpts), data));
                            w.write_all(b"250 2.0.0 queued as 42\r\n").await.unwrap();
                        }
                    } else if cmd == "QUIT" {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else if cmd == "RSET" || cmd == "NOOP" {
                        w.write_all(b"250 OK\r\n").await.unwrap();
                    } else {
                        w.write_all(b"502 not implemented\r\n").await.unwrap();
                    }
                }
            });
        }
    });
    (addr, state)
}

#[tokio::test]
async fn email_over_plain_smtp_is_retried_and_delivered_once() {
    let (addr, smtp) = smtp_server(1).await;
    let ch = ChannelConfig {
        name: "邮件".into(),
        kind: ChannelKind::Email,
        url: None,
        secret: None,
        host: Some(addr.ip().to_string()),
        port: Some(addr.port()),
        username: None,
        password: None,
        from: Some("舆情值班 <yuqing@example.gov.cn>".into()),
        to: vec!["duty@example.gov.cn".into()],
        tls: TlsMode::None,
        timeout_secs: Some(5),
        enabled: true,
    };
    let d = Arc::new(Deliverer::new(&[ch]).unwrap());
    let (_dir, conn) = store();
    let m =
        NewMessage { recipient: Some("leader@example.gov.cn, duty2@example.gov.cn".into()), ..message("邮件", "a") };
    let id = enqueue(&conn, &m, t(0));
    assert_eq!(pass(&conn, &d, t(0)).await.retrying, 1);
    assert_eq!(pass(&conn, &d, t(30)).await.delivered, 1);
    assert_eq!(pass(&conn, &d, t(1000)).await.claimed, 0);
    let a = attempts(&conn, id);
    assert_eq!(a.len(), 2);
    assert!(!a[0].ok && a[0].detail.contains("451"), "{}", a[0].detail);
    assert!(a[1].ok && a[1].detail.contains("250"), "{}", a[1].detail);
    let s = smtp.lock().unwrap();
    assert_eq!(s.accepted.len(), 1);
    let (rcpts, data) = &s.accepted[0];
    assert_eq!(rcpts, &vec!["leader@example.gov.cn".to_string(), "duty2@example.gov.cn".to_string()]);
    assert!(data.contains(&format!("Message-ID: <yuqing-outbox-{id}-")), "{data}");
    assert!(data.contains("From: =?utf-8?"), "{data}");
}

/// A fresh PostgreSQL schema on the machine's server (`YUQING_TEST_PG` or the local one, which
/// `scripts/test` starts), dropped at the end; a test that cannot reach the server fails.
struct PgScratch {
    url: String,
    schema: String,
}

impl PgScratch {
    fn new() -> PgScratch {
        let url = std::env::var("YUQING_TEST_PG")
            .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=postgres".into());
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
        PgScratch { url, schema: format!("yq_test_notify_{}_{nanos}", std::process::id()) }
    }

    /// One node's connection to the shared outbox.
    fn node(&self) -> Arc<Mutex<PgStore>> {
        let store = PgStore::connect(&self.url, Some(&self.schema))
            .unwrap_or_else(|e| panic!("PostgreSQL at {} (start it, or set YUQING_TEST_PG): {e}", self.url));
        Arc::new(Mutex::new(store))
    }
}

impl Drop for PgScratch {
    fn drop(&mut self) {
        let _ = yuqing_store::pg::drop_schema(&self.url, &self.schema);
    }
}

/// The blocking PostgreSQL client may not be used on an async thread (the worker calls it through
/// `spawn_blocking`): the test sets up and checks on its own thread, and runs the two nodes' passes
/// in a runtime of its own.
#[test]
fn two_nodes_delivering_from_one_postgresql_outbox_send_each_message_once() {
    let pg = PgScratch::new();
    let (a, b) = (pg.node(), pg.node());
    let ids: Vec<i64> = (0..40).map(|i| enqueue(&a, &message("值班群", &format!("alert:{i}")), t(0))).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let accepted = runtime.block_on(async {
        let rx = Receiver::start(0, Fail::Http500, None).await;
        let d =
            Arc::new(Deliverer::new(&[http_channel("值班群", ChannelKind::Webhook, rx.url("/hook"), None)]).unwrap());
        // Each node passes over the outbox at the same moments, as two servers' workers would.
        let opts = WorkerOptions { batch: 7, per_channel: 7, ..WorkerOptions::default() };
        for round in 0..10 {
            let now = t(1 + round);
            let (ra, rb) = tokio::join!(run_outbox_once(&a, &d, now, &opts), run_outbox_once(&b, &d, now, &opts));
            let (ra, rb) = (ra.unwrap(), rb.unwrap());
            assert_eq!(ra.delivered + rb.delivered, ra.claimed + rb.claimed, "round {round}: {ra:?} {rb:?}");
        }
        rx.accepted_ids()
    });
    assert_eq!(accepted.len(), ids.len(), "every message delivered");
    assert!(accepted.values().all(|&n| n == 1), "none twice: {accepted:?}");
    let counts = b.with_outbox(|c| c.counts()).unwrap();
    assert_eq!((counts.delivered, counts.pending), (40, 0));
    for id in ids {
        assert_eq!(get(&a, id).status, OutboxStatus::Delivered);
        assert_eq!(attempts(&b, id).len(), 1, "one attempt recorded for message {id}");
    }
}
