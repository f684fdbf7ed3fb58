//! The fetcher's global cap on requests in flight, counted at a local server (no timing asserted).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use yuqing_collect::fetch::Request;
use yuqing_collect::{CollectConfig, Fetcher};

#[tokio::test(flavor = "multi_thread")]
async fn no_more_requests_in_flight_than_the_cap() {
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (n, p) = (now.clone(), peak.clone());
    let app = Router::new()
        .route("/robots.txt", get(|| async { "User-agent: *\nAllow: /\n" }))
        .route(
            "/item/{i}",
            get(move || {
                let (n, p) = (n.clone(), p.clone());
                async move {
                    let cur = n.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(cur, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(150)).await;
                    n.fetch_sub(1, Ordering::SeqCst);
                    "ok"
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let fetcher = Arc::new(Fetcher::new(CollectConfig { politeness: "0s".into(), max_concurrent: 2, ..CollectConfig::default() }).unwrap());
    let mut tasks = Vec::new();
    for i in 0..8 {
        let f = fetcher.clone();
        tasks.push(tokio::spawn(async move {
            let req = Request { url: format!("http://{addr}/item/{i}"), max_bytes: 1024, timeout: Duration::from_secs(20), ..Default::default() };
            f.fetch(&req).await
        }));
    }
    for t in tasks {
        let r = t.await.unwrap().expect("fetched");
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
    }
    assert!(peak.load(Ordering::SeqCst) <= 2, "peak in flight {}", peak.load(Ordering::SeqCst));
    assert!(peak.load(Ordering::SeqCst) >= 1);
}
