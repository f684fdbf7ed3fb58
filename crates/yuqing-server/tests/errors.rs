//! Errors through the real router: a refusal answers its stable code and its Chinese message (JSON
//! under `/api/`, a page elsewhere); an internal failure answers `internal` with a request id and
//! never the database's own text.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use tower::ServiceExt;
use yuqing_core::people::Role;
use yuqing_server::{router, AppState};
use yuqing_store::desk::{self, NewUser};
use yuqing_store::DataDir;

const TOKEN: &str = "tok-chen";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

struct Server {
    _dir: tempfile::TempDir,
    state: AppState,
    app: Router,
}

struct Answer {
    status: StatusCode,
    content_type: String,
    request_id: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Server {
    fn new() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let segmenter = Arc::new(yuqing_text::Segmenter::new::<&str>(&[]));
        let data = DataDir::open(dir.path(), segmenter).unwrap();
        let u = NewUser {
            name: "chen".into(),
            display_name: "陈".into(),
            role: Some(Role::Coordinator),
            ..Default::default()
        };
        desk::add_user(data.store.connection(), &u, &desk::token_hash(TOKEN), t0()).unwrap();
        let mut state = AppState::new(data, "测试单位".into(), None);
        state.clock = Arc::new(t0);
        let app = router(state.clone());
        Server { _dir: dir, state, app }
    }

    async fn get(&self, path: &str) -> Answer {
        let req =
            Request::get(path).header(header::AUTHORIZATION, format!("Bearer {TOKEN}")).body(Body::empty()).unwrap();
        let r = self.app.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let content_type =
            r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let request_id = r.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 24).await.unwrap();
        Answer { status, content_type, request_id, body: String::from_utf8(bytes.to_vec()).unwrap() }
    }

    /// Breaks the store under the server: the incidents table is gone.
    fn break_incidents(&self) {
        let d = yuqing_store::guard::lock(&self.state.data);
        d.store.connection().execute_batch("ALTER TABLE incidents RENAME TO incidents_gone").unwrap();
    }
}

#[tokio::test]
async fn a_missing_incident_answers_its_code_and_a_chinese_message() {
    let s = Server::new();
    let a = s.get("/api/v1/incidents/999").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    let v = a.json();
    assert_eq!(v["code"], "incident_not_found", "{v}");
    assert!(v["message"].as_str().is_some_and(|m| m.contains("999") && m.contains("工单")), "{v}");
    assert_eq!(v["error"], v["message"], "kept for older clients");

    let a = s.get("/api/v1/incidents/abc").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json()["code"], "invalid_id");

    let a = s.get("/api/v1/stories/5").await;
    assert_eq!((a.status, a.json()["code"].as_str()), (StatusCode::NOT_FOUND, Some("story_not_found")));

    let a = s.get("/api/v1/stories?order=sideways").await;
    let v = a.json();
    assert_eq!(
        (a.status, v["code"].as_str(), v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_field"), Some("order"))
    );
}

#[tokio::test]
async fn a_page_route_shows_the_error_as_a_chinese_page() {
    let s = Server::new();
    let a = s.get("/stories/5").await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert!(a.content_type.starts_with("text/html"), "{}", a.content_type);
    assert!(a.body.contains("舆情事件 5 不存在") && a.body.contains("测试单位"), "in the desk's layout: {}", a.body);
    assert!(!a.body.contains("\"code\""), "{}", a.body);
}

#[tokio::test]
async fn internal_errors_name_a_request_id_and_never_the_database_text() {
    let s = Server::new();
    s.break_incidents();
    let a = s.get("/api/v1/incidents").await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    for leak in ["no such table", "incidents", "数据库错误", "SQL"] {
        assert!(!a.body.contains(leak), "internal text {leak:?} in {}", a.body);
    }
    let v = a.json();
    assert_eq!(v["code"], "internal");
    let id = a.request_id.clone().expect("x-request-id on an internal error");
    assert!(v["message"].as_str().is_some_and(|m| m.contains(&id) && m.contains("服务器内部错误")), "{v}");

    // The same on a page.
    let a = s.get("/incidents").await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(a.content_type.starts_with("text/html"));
    assert!(!a.body.contains("no such table") && !a.body.contains("数据库错误"), "{}", a.body);
    assert!(a.body.contains(&a.request_id.clone().expect("request id")), "{}", a.body);
}

/// Every table but the people's is gone: every reading route fails inside, and none of them says
/// what SQLite said.
#[tokio::test]
async fn no_route_answers_internal_text_when_the_store_fails() {
    let s = Server::new();
    {
        let d = yuqing_store::guard::lock(&s.state.data);
        let c = d.store.connection();
        let tables: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('users', 'sessions')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for t in tables {
            // Some virtual or shadow tables cannot be renamed; the others are enough.
            let _ = c.execute_batch(&format!("ALTER TABLE \"{t}\" RENAME TO \"{t}_gone\""));
        }
    }
    let api = [
        "/api/v1/stats",
        "/api/v1/stories",
        "/api/v1/stories/1",
        "/api/v1/alerts",
        "/api/v1/incidents",
        "/api/v1/incidents/1",
        "/api/v1/duty",
        "/api/v1/outbox",
        "/api/v1/overdue",
        "/api/v1/audit",
        "/api/v1/audit/verify",
        "/api/v1/reports",
        "/api/v1/reports/1",
        "/api/v1/reports/disposal",
        "/api/v1/reports/risks",
        "/api/v1/sources",
    ];
    let pages = [
        "/",
        "/dashboard/fragment",
        "/stories",
        "/stories/1",
        "/posts",
        "/posts/1",
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
    ];
    let mut failed = 0;
    for path in api.iter().chain(&pages) {
        let a = s.get(path).await;
        for leak in ["no such table", "_gone", "数据库错误", "SQL", "sqlite"] {
            assert!(!a.body.contains(leak), "{path} answered internal text {leak:?}: {}", a.body);
        }
        if a.status == StatusCode::INTERNAL_SERVER_ERROR {
            failed += 1;
            assert!(a.request_id.as_deref().is_some_and(|id| a.body.contains(id)), "{path}: {}", a.body);
            if path.starts_with("/api/") {
                assert_eq!(a.json()["code"], "internal", "{path}");
            }
        }
    }
    assert!(failed >= api.len(), "the store is broken, so most routes fail: {failed}");
}
