//! The fetcher at a local server: the global cap on requests in flight (no timing asserted), and
//! what each failure (refused connection, unresolvable host, robots.txt statuses) is reported as.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod site;

use site::{Response, Site};
use yuqing_collect::fetch::Request;
use yuqing_collect::{CollectConfig, Fetcher};

#[tokio::test(flavor = "multi_thread")]
async fn no_more_requests_in_flight_than_the_cap() {
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (n, p) = (now.clone(), peak.clone());
    let addr = Site::new()
        .route("/robots.txt", |_| Response::text("User-agent: *\nAllow: /\n"))
        .route("/item/{i}", move |_| {
            let cur = n.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(cur, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(150));
            n.fetch_sub(1, Ordering::SeqCst);
            Response::text("ok")
        })
        .start();
    let fetcher = Arc::new(
        Fetcher::new(CollectConfig { politeness: "0s".into(), max_concurrent: 2, ..CollectConfig::default() }).unwrap(),
    );
    let mut tasks = Vec::new();
    for i in 0..8 {
        let f = fetcher.clone();
        tasks.push(tokio::spawn(async move {
            let req = Request {
                url: format!("http://{addr}/item/{i}"),
                max_bytes: 1024,
                timeout: Duration::from_secs(20),
                ..Default::default()
            };
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

/// A fetcher that does not wait between requests nor retry.
fn quick_fetcher() -> Fetcher {
    Fetcher::new(CollectConfig {
        politeness: "0s".into(),
        retries: 0,
        backoff: "10ms".into(),
        ..CollectConfig::default()
    })
    .unwrap()
}

fn plain(url: String) -> Request {
    Request { url, max_bytes: 64 * 1024, timeout: Duration::from_secs(20), ..Default::default() }
}

/// A host that is down is reported as the connection failure it is, naming the host — not as a
/// robots.txt refusal (the robots.txt request is the first to fail).
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_is_reported_as_such_not_as_robots() {
    // A port that was free a moment ago and has no listener now.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = quick_fetcher().fetch(&plain(format!("http://127.0.0.1:{port}/feed.xml"))).await.unwrap_err();
    let m = yuqing_collect::collector::describe(&e);
    assert!(matches!(e, yuqing_collect::FetchError::Connect { .. }), "{e:?}");
    assert!(m.contains(&format!("127.0.0.1:{port}")) && m.contains("连接被拒绝"), "{m}");
    assert!(!m.contains("robots"), "{m}");
    // The same with robots.txt ignored: the same failure, from the page itself.
    let req = Request { ignore_robots: true, ..plain(format!("http://127.0.0.1:{port}/feed.xml")) };
    let m2 = quick_fetcher().fetch(&req).await.unwrap_err().to_string();
    assert_eq!(m, m2);
}

/// A name that cannot resolve (RFC 6761 reserves `.invalid`) names the host, not robots.txt.
#[tokio::test(flavor = "multi_thread")]
async fn an_unresolvable_host_is_reported_as_such() {
    let e = quick_fetcher().fetch(&plain("http://yuqing-feeds-test.invalid/feed.xml".into())).await.unwrap_err();
    let m = e.to_string();
    assert!(m.contains("无法连接 yuqing-feeds-test.invalid"), "{m}");
    assert!(!m.contains("robots"), "{m}");
}

/// robots.txt answers per RFC 9309: 4xx allows everything, 5xx crawls nothing (and says so),
/// rules are obeyed.
#[tokio::test(flavor = "multi_thread")]
async fn robots_txt_statuses_follow_rfc_9309() {
    let serve = |robots: u16, body: &'static str| {
        Site::new()
            .route("/robots.txt", move |_| Response::status(robots, body))
            .route("/feed.xml", |_| Response::text("<rss/>"))
            .route("/private/feed.xml", |_| Response::text("<rss/>"))
            .start()
    };
    for status in [404, 403, 401, 410] {
        let addr = serve(status, "no");
        let r = quick_fetcher().fetch(&plain(format!("http://{addr}/feed.xml"))).await;
        assert_eq!(r.map(|r| r.status).ok(), Some(200), "robots.txt {status} allows everything");
    }
    for status in [500, 503] {
        let addr = serve(status, "down");
        let e = quick_fetcher().fetch(&plain(format!("http://{addr}/feed.xml"))).await.unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, yuqing_collect::FetchError::RobotsUnavailable { .. }), "{e:?}");
        assert!(
            m.contains(&addr.to_string()) && m.contains(&format!("HTTP {status}")) && m.contains("暂时无法读取"),
            "{m}"
        );
    }
    let addr = serve(200, "User-agent: *\nDisallow: /private/\n");
    let f = quick_fetcher();
    assert_eq!(f.fetch(&plain(format!("http://{addr}/feed.xml"))).await.map(|r| r.status).ok(), Some(200));
    let e = f.fetch(&plain(format!("http://{addr}/private/feed.xml"))).await.unwrap_err();
    assert!(matches!(e, yuqing_collect::FetchError::RobotsDisallowed(_)), "{e:?}");
}
