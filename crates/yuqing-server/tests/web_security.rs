//! The desk in a browser's eyes, through the real router: security headers on every kind of
//! answer, pages without inline script or style (so the Content-Security-Policy can forbid them),
//! only http(s) addresses rendered as links, the CSRF token refused in the query string, and
//! `next` after sign-in kept on this site.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use tower::ServiceExt;
use yuqing_core::incident::{Channel, DeadlinePolicy, Incident, Opening, Publication};
use yuqing_core::people::{Actor, Role};
use yuqing_core::{Grade, JoinReason, Metrics, Sentiment, SourceTier, StoryStatus};
use yuqing_desk::password::hash_password;
use yuqing_server::auth::SESSION_COOKIE;
use yuqing_server::{router, AppState};
use yuqing_store::desk::{self, NewUser};
use yuqing_store::{DataDir, PostRecord, Store, StoryRecord, WriteBatch};

const PASSWORD: &str = "Yuqing-测试-2026";

/// Addresses a source or a person could give; only the last two may become links.
const HOSTILE_URLS: &[&str] = &[
    "javascript:alert(document.domain)",
    "JavaScript:alert(1)",
    "  javascript:alert(1)",
    "java\tscript:alert(1)",
    "\u{1}javascript:alert(1)",
    "&#106;avascript:alert(1)",
    "%6Aavascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "//evil.example/x",
    "/\\evil.example",
    "http:/evil.example",
    "https://",
    "http://ex ample.org/",
];
const GOOD_URLS: &[&str] = &["https://news.example/a?x=1&y=2", "HTTP://bbs.example/t/7"];

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

fn post(id: i64, url: &str) -> PostRecord {
    PostRecord {
        id,
        story_id: 1,
        dedup_key: id as u64,
        content_hash: id as u64,
        duplicate_of: None,
        source: "本地论坛".into(),
        url: Some(url.into()),
        title: format!("医院链接测试 {id}"),
        text: "医院排队，网民热议".into(),
        author: None,
        place: None,
        published_at: (t0() + Duration::minutes(id)).fixed_offset(),
        time_estimated: false,
        ingested_at: t0(),
        tier: SourceTier::Local,
        metrics: Metrics::default(),
        simhash: id as u64,
        sentiment: Sentiment::Negative,
        sentiment_score: 0.9,
        topics: vec![],
        hits: vec![],
        severe_words: vec![],
        keywords: vec![],
        join: JoinReason::New,
    }
}

struct Desk {
    _dir: tempfile::TempDir,
    state: AppState,
    app: Router,
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Desk {
    /// One story whose posts carry every address above, an incident on it whose statement was
    /// published with each, and a coordinator `chen` (token `tok-chen`, password PASSWORD).
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let segmenter = Arc::new(yuqing_text::Segmenter::new::<&str>(&[]));
        let mut data = DataDir::open(dir.path(), segmenter).unwrap();
        let urls: Vec<&str> = HOSTILE_URLS.iter().chain(GOOD_URLS).copied().collect();
        let story = StoryRecord {
            id: 1,
            status: StoryStatus::Open,
            title: "医院排队".into(),
            keywords: vec![],
            first_at: t0(),
            last_at: t0() + Duration::hours(1),
            grade: Some(Grade::III),
            reasons: vec![],
            manual: None,
            posts: urls.len() as u64,
            sites: 1,
            max_tier: SourceTier::Local,
            interactions: 0,
            negative_share: 1.0,
            rule_hits: vec![],
            topics: vec![],
            severe_words: vec![],
            centroid: vec![],
            index_terms: vec![],
            updated_at: t0(),
        };
        let posts = urls.iter().enumerate().map(|(i, u)| post(i as i64 + 1, u)).collect();
        data.store
            .write(&WriteBatch {
                posts,
                stories: vec![story],
                alerts: vec![],
                closed: vec![],
                themes: vec![],
                places: vec![],
            })
            .unwrap();
        data.catch_up_index().unwrap();
        let c = data.store.connection();
        let system = Actor {
            name: "system".into(),
            display_name: "系统".into(),
            role: Role::Admin,
            department: None,
            titles: vec![],
        };
        let opening = Opening {
            id: 1,
            title: "医院排队".into(),
            stories: vec![1],
            grade: Grade::III,
            grade_reason: "测试".into(),
            first_post_at: Some(t0()),
            alert: None,
            routes: vec![],
        };
        let (mut inc, events) = Incident::open(opening, &DeadlinePolicy::default(), &system, t0());
        for (i, u) in urls.iter().enumerate() {
            inc.publications.push(Publication {
                statement: 1,
                version: 1,
                channel: Channel::Website,
                url: Some(u.to_string()),
                at: t0() + Duration::minutes(i as i64),
                spokesperson: "新闻发言人".into(),
                recorded_by: "chen".into(),
                answers_node: None,
            });
        }
        desk::save_incident(c, &inc, &events, t0()).unwrap();
        let u = NewUser {
            name: "chen".into(),
            display_name: "陈".into(),
            role: Some(Role::Coordinator),
            ..Default::default()
        };
        desk::add_user(c, &u, &desk::token_hash("tok-chen"), t0()).unwrap();
        assert!(yuqing_store::auth::set_password_hash(c, "chen", &hash_password(PASSWORD).unwrap()).unwrap());
        let mut state = AppState::new(data, "测试单位".into(), None);
        state.clock = Arc::new(|| t0() + Duration::hours(2));
        let app = router(state.clone());
        Desk { _dir: dir, state, app }
    }

    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self.app.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024).await.unwrap();
        Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send("GET", path, &[("authorization", "Bearer tok-chen")], "").await
    }

    /// Signs in through the form with `next`; the answer to the form's POST.
    async fn login_with_next(&self, next_encoded: &str) -> Resp {
        let form = self.send("GET", "/login", &[], "").await;
        let cookie = form
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|c| c.starts_with("yuqing_login="))
            .unwrap();
        let token = cookie.split(';').next().unwrap().trim_start_matches("yuqing_login=").to_string();
        let body = format!("_csrf={token}&next={next_encoded}&name=chen&password={}", urlencoding::encode(PASSWORD));
        self.send(
            "POST",
            "/login",
            &[("content-type", "application/x-www-form-urlencoded"), ("cookie", &format!("yuqing_login={token}"))],
            &body,
        )
        .await
    }

    /// A cookie session and its CSRF token.
    async fn session(&self) -> (String, String) {
        let r = self.login_with_next("%2F").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let c = r
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .find(|c| c.starts_with(SESSION_COOKIE))
            .unwrap()
            .to_string();
        let cookie = c.split(';').next().unwrap().to_string();
        let data = self.state.data.lock().unwrap();
        let csrf: String = data
            .store
            .connection()
            .query_row("SELECT csrf FROM sessions ORDER BY rowid DESC LIMIT 1", [], |r| r.get(0))
            .unwrap();
        (cookie, csrf)
    }
}

fn assert_security_headers(what: &str, r: &Resp) {
    let h = |name: &str| {
        r.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{what}: no {name} header ({})", r.status))
    };
    let csp = h("content-security-policy");
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    for d in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(directives.contains(&d), "{what}: {d} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'), "{what}: {csp}");
    assert_eq!(h("x-frame-options"), "DENY", "{what}");
    assert_eq!(h("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(h("referrer-policy"), "same-origin", "{what}");
}

#[tokio::test]
async fn every_kind_of_answer_carries_the_security_headers() {
    let d = Desk::new();
    let anon: &[(&str, &str)] = &[];
    let cases = [
        ("a page", d.get("/").await),
        ("a story page", d.get("/stories/1").await),
        ("an API answer", d.get("/api/v1/stats").await),
        ("an API error", d.get("/api/v1/incidents/nope").await),
        ("a 404 page", d.get("/no/such/page").await),
        ("an anonymous 404", d.send("GET", "/no/such/page", anon, "").await),
        ("the sign-in form", d.send("GET", "/login", anon, "").await),
        ("a redirect to sign in", d.send("GET", "/alerts", anon, "").await),
        ("a 401", d.send("GET", "/api/v1/stats", anon, "").await),
        ("a style sheet", d.send("GET", "/assets/desk.css", anon, "").await),
        // A method the policy does not list is refused before any handler (fail closed).
        ("a refused method", d.send("DELETE", "/api/v1/stats", &[("authorization", "Bearer tok-chen")], "").await),
        ("the health check", d.send("GET", "/healthz", anon, "").await),
    ];
    let statuses: Vec<(&str, StatusCode)> = cases.iter().map(|(w, r)| (*w, r.status)).collect();
    assert_eq!(
        statuses.iter().map(|s| s.1.as_u16()).collect::<Vec<_>>(),
        [200, 200, 200, 400, 404, 404, 200, 303, 401, 200, 403, 200],
        "{statuses:?}"
    );
    for (what, r) in &cases {
        assert_security_headers(what, r);
    }
}

/// The start of every `<tag` in `html`, with the tag's text up to its `>`.
fn tags(html: &str) -> Vec<&str> {
    html.match_indices('<').filter_map(|(i, _)| html[i..].find('>').map(|j| &html[i..=i + j])).collect()
}

/// What a Content-Security-Policy without 'unsafe-inline' would block on a page.
fn inline_code(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for t in tags(html) {
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("<style") {
            found.push(t.to_string());
        }
        if lower.starts_with("<script") && !lower.contains(" src=") {
            found.push(t.to_string());
        }
        // Attributes: style="…", on…="…", and javascript: addresses.
        for (i, _) in lower.match_indices(' ') {
            let attr = &lower[i + 1..];
            let name: String = attr.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            if attr[name.len()..].starts_with('=') && (name == "style" || (name.starts_with("on") && name.len() > 2)) {
                found.push(t.to_string());
            }
        }
        if lower.contains("javascript:") {
            found.push(t.to_string());
        }
    }
    found
}

#[tokio::test]
async fn no_page_has_inline_script_style_or_event_handlers_and_the_assets_are_served() {
    let d = Desk::new();
    let pages = [
        "/",
        "/?screen=1",
        "/dashboard/fragment",
        "/stories",
        "/stories/1",
        "/posts",
        "/search?q=%E5%8C%BB%E9%99%A2",
        "/alerts",
        "/incidents",
        "/incidents/1",
        "/duty",
        "/system",
        "/rules",
        "/sources",
        "/reports",
        "/reports/disposal",
        "/reports/risks",
        "/reports/99",
        "/logout",
        "/no/such/page",
    ];
    for p in pages {
        let r = d.get(p).await;
        assert!(r.status.is_success() || r.status.is_client_error(), "{p}: {}", r.status);
        assert_eq!(inline_code(&r.body), Vec::<String>::new(), "{p}");
    }
    let login = d.send("GET", "/login", &[], "").await;
    assert_eq!(inline_code(&login.body), Vec::<String>::new(), "/login");
    // The check itself finds what it should.
    assert_eq!(inline_code("<p style=\"x\"><script>1</script><a onclick=\"f()\" href=\"javascript:f()\">").len(), 4);

    // The pages link the style sheets and the script, and those are served without sign-in.
    let dash = d.get("/").await.body;
    let login_body = &login.body;
    for (page, asset, kind) in [
        (&dash, "/assets/desk.css?v=", "text/css"),
        (&dash, "/assets/desk.js?v=", "text/javascript"),
        (login_body, "/assets/login.css?v=", "text/css"),
    ] {
        let at = page.find(asset).unwrap_or_else(|| panic!("{asset} linked"));
        let href: String = page[at..].chars().take_while(|c| *c != '"').collect();
        let r = d.send("GET", &href, &[], "").await;
        assert_eq!(r.status, StatusCode::OK, "{href}");
        assert!(r.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind), "{href}");
        assert!(r.body.len() > 100, "{href}");
    }
    assert_eq!(d.send("GET", "/assets/nope.js", &[], "").await.status, StatusCode::NOT_FOUND);
    assert!(
        d.send("GET", "/assets/desk.js", &[], "").await.body.contains("EventSource"),
        "the live update is in the script"
    );
}

/// Every `href` value of a page, unescaped as a browser reads it.
fn hrefs(html: &str) -> Vec<String> {
    html.match_indices("href=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            rest[..rest.find('"').unwrap()]
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
        })
        .collect()
}

/// Whether a browser would follow `href` to http(s) or this site only.
fn harmless(href: &str) -> bool {
    let lower = href.to_ascii_lowercase();
    let control = href.chars().any(|c| c.is_control() || c.is_whitespace());
    !control
        && (lower.starts_with("http://")
            || lower.starts_with("https://")
            || (href.starts_with('/') && !href.starts_with("//") && !href.starts_with("/\\"))
            || href.starts_with('?')
            || href.starts_with('#'))
}

#[tokio::test]
async fn only_http_addresses_become_links_on_any_page() {
    let d = Desk::new();
    for p in ["/incidents/1", "/stories/1", "/posts", "/search?q=%E5%8C%BB%E9%99%A2"] {
        let r = d.get(p).await;
        assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.body);
        let links = hrefs(&r.body);
        let bad: Vec<&String> = links.iter().filter(|h| !harmless(h)).collect();
        assert!(bad.is_empty(), "{p} links to {bad:?}");
        // The http(s) ones are links; the others are still shown, as text.
        for good in GOOD_URLS {
            assert!(links.iter().any(|h| h == good), "{p}: {good} is a link ({links:?})");
        }
        for hostile in HOSTILE_URLS.iter().filter(|u| !u.chars().any(char::is_control)) {
            let shown = yuqing_text::highlight::escape_html(hostile.trim());
            assert!(r.body.contains(&shown), "{p}: {hostile:?} is shown as text");
        }
    }
}

#[tokio::test]
async fn the_csrf_token_is_taken_from_the_body_or_header_never_the_query() {
    let d = Desk::new();
    let (cookie, csrf) = d.session().await;
    let json = ("content-type", "application/json");
    let form = ("content-type", "application/x-www-form-urlencoded");
    let r = d.send("POST", &format!("/api/v1/desk/tick?_csrf={csrf}"), &[("cookie", &cookie), json], "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = d
        .send("POST", &format!("/duty/handover?_csrf={csrf}"), &[("cookie", &cookie), form], "text=%E4%BA%A4%E6%8E%A5")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // The same requests with the token where it belongs.
    let r = d.send("POST", "/api/v1/desk/tick", &[("cookie", &cookie), json, ("x-csrf-token", &csrf)], "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = d
        .send("POST", "/duty/handover", &[("cookie", &cookie), form], &format!("_csrf={csrf}&text=%E4%BA%A4%E6%8E%A5"))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The roster form (a text field) posts as an ordinary form, its token in the body.
    let page = d.send("GET", "/duty", &[("cookie", &cookie)], "").await.body;
    assert!(
        page.contains("action=\"/duty/import\"") && !page.contains("multipart/form-data"),
        "the roster form is urlencoded"
    );
    let csv = urlencoding::encode("姓名,角色,开始时间,结束时间\nchen,值班员,2026-11-20 08:00,2026-11-20 20:00\n")
        .into_owned();
    let r = d.send("POST", "/duty/import", &[("cookie", &cookie), form], &format!("_csrf={csrf}&csv={csv}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn after_sign_in_next_leads_only_to_this_site_and_always_with_a_location() {
    let d = Desk::new();
    // As the form sends them (percent-encoded once more by the browser).
    let cases = [
        ("%2Falerts%3Fx%3D1", "/alerts?x=1"),
        ("%2F%2Fevil.example%2Fx", "/"),
        ("https%3A%2F%2Fevil.example%2F", "/"),
        // `/%09/evil.example/x`: a browser drops the tab of the decoded path.
        ("%2F%2509%2Fevil.example%2Fx", "/"),
        // A raw tab, CR, LF.
        ("%2F%09%2Fevil.example%2Fx", "/"),
        ("%2Falerts%0D%0ASet-Cookie%3A%20x%3D1", "/"),
        ("%2Falerts%0A", "/"),
        ("%2F%5Cevil.example", "/"),
        ("%2F%252F%2Fevil.example", "/"),
        ("%2F%E5%8C%BB%E9%99%A2", "/"),
    ];
    for (next, want) in cases {
        let r = d.login_with_next(next).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{next}: {}", r.body);
        assert_eq!(r.headers.get(header::LOCATION).map(|v| v.to_str().unwrap()), Some(want), "{next}");
    }
    // The form itself never carries such a `next` either.
    let r = d.send("GET", "/login?next=%2F%2509%2Fevil.example", &[], "").await;
    assert!(r.body.contains("name=\"next\" value=\"/\""), "{}", r.body);
}
