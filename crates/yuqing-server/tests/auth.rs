//! Sign-in and roles through the real router over a temporary data directory, on a fake clock:
//! sign-in and its cookie, lock-out after five failures, idle and absolute expiry, CSRF, and every
//! role against every API route (with a bearer token and with a session cookie).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, TimeZone, Utc};
use tower::ServiceExt;
use yuqing_core::people::Role;
use yuqing_desk::password::hash_password;
use yuqing_server::auth::policy::Access;
use yuqing_server::auth::SESSION_COOKIE;
use yuqing_server::{router, AppState};
use yuqing_store::desk::{self, NewUser};
use yuqing_store::DataDir;

const PASSWORD: &str = "Yuqing-测试-2026";

struct Desk {
    _dir: tempfile::TempDir,
    state: AppState,
    now: Arc<Mutex<DateTime<Utc>>>,
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let segmenter = Arc::new(yuqing_text::Segmenter::new::<&str>(&[]));
        let data = DataDir::open(dir.path(), segmenter).unwrap();
        let mut state = AppState::new(data, "测试单位".into(), None);
        let now = Arc::new(Mutex::new(t0()));
        let n = now.clone();
        state.clock = Arc::new(move || *n.lock().unwrap());
        Desk { _dir: dir, state, now }
    }

    fn advance(&self, d: Duration) {
        *self.now.lock().unwrap() += d;
    }

    /// Adds a user with a password and the bearer token `tok-NAME`.
    fn user(&self, name: &str, role: Role, department: Option<&str>) {
        let data = yuqing_store::guard::lock(&self.state.data);
        let c = data.store.connection();
        let u = NewUser {
            name: name.into(),
            role: Some(role),
            department: department.map(String::from),
            ..Default::default()
        };
        desk::add_user(c, &u, &desk::token_hash(&format!("tok-{name}")), t0()).unwrap();
        assert!(yuqing_store::auth::set_password_hash(c, name, &hash_password(PASSWORD).unwrap()).unwrap());
    }

    fn audit_actions(&self) -> Vec<(String, String)> {
        let data = yuqing_store::guard::lock(&self.state.data);
        desk::audit_recent(data.store.connection(), 500, 0)
            .unwrap()
            .items
            .into_iter()
            .map(|e| (e.actor, e.action))
            .collect()
    }

    fn app(&self) -> Router {
        router(self.state.clone())
    }
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    fn cookies(&self) -> Vec<String> {
        self.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect()
    }
    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().iter().find(|c| c.starts_with(&format!("{name}="))).cloned()
    }
    fn location(&self) -> &str {
        self.headers.get(header::LOCATION).map(|v| v.to_str().unwrap()).unwrap_or("")
    }
}

async fn send(app: &Router, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    send_from(app, None, method, path, headers, body).await
}

/// `send` from a client address (as `bind` hands the peer's address to the router).
async fn send_from(
    app: &Router,
    addr: Option<&str>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body.to_string())).unwrap();
    if let Some(a) = addr {
        req.extensions_mut().insert(ConnectInfo(a.parse::<SocketAddr>().unwrap()));
    }
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 64 * 1024 * 1024).await.unwrap();
    Resp { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
}

fn value_of(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap().split_once('=').unwrap().1
}

/// The login form's CSRF token and its cookie pair ("yuqing_login=…").
async fn login_form(app: &Router) -> (String, String) {
    let r = send(app, "GET", "/login?next=%2Falerts", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("用户名") && r.body.contains("密码") && r.body.contains("name=\"_csrf\""), "{}", r.body);
    let c = r.cookie("yuqing_login").expect("pre-session cookie");
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"), "{c}");
    let token = value_of(&c).to_string();
    assert!(r.body.contains(&format!("value=\"{token}\"")));
    (token.clone(), format!("yuqing_login={token}"))
}

async fn try_login(app: &Router, name: &str, password: &str, extra: &[(&str, &str)]) -> Resp {
    try_login_from(app, None, name, password, extra).await
}

async fn try_login_from(app: &Router, addr: Option<&str>, name: &str, password: &str, extra: &[(&str, &str)]) -> Resp {
    let (csrf, cookie) = login_form(app).await;
    let body = format!(
        "_csrf={csrf}&next=%2Falerts&name={}&password={}",
        urlencoding::encode(name),
        urlencoding::encode(password)
    );
    let mut h = vec![("content-type", "application/x-www-form-urlencoded"), ("cookie", cookie.as_str())];
    h.extend_from_slice(extra);
    send_from(app, addr, "POST", "/login", &h, &body).await
}

/// Signs in; returns the cookie pair "yuqing_session=…".
async fn sign_in(app: &Router, name: &str) -> String {
    let r = try_login(app, name, PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let c = r.cookie(SESSION_COOKIE).expect("session cookie");
    format!("{SESSION_COOKIE}={}", value_of(&c))
}

/// The CSRF token of a user's newest session, as the pages embed it server-side.
fn session_csrf(d: &Desk, name: &str) -> String {
    let data = d.state.data.lock().unwrap();
    data.store
        .connection()
        .query_row(
            "SELECT s.csrf FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = ?1 ORDER BY s.created_at DESC, s.rowid DESC LIMIT 1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
}

#[tokio::test]
async fn sign_in_sets_a_strict_cookie_opens_the_pages_and_signs_out() {
    let d = Desk::new();
    d.user("wang", Role::Officer, None);
    let app = d.app();

    // Anonymous: pages redirect to the form, the API says 401, public routes answer.
    let r = send(&app, "GET", "/alerts?x=1", &[], "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Falerts%3Fx%3D1");
    let r = send(&app, "GET", "/api/v1/stories", &[], "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("需要登录"), "{}", r.body);
    for p in ["/healthz", "/api/v1/openapi.json", "/login"] {
        assert_eq!(send(&app, "GET", p, &[], "").await.status, StatusCode::OK, "{p}");
    }

    // Sign in: back to `next`, cookie HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP.
    let r = try_login(&app, "wang", PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/alerts");
    let c = r.cookie(SESSION_COOKIE).unwrap();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(c.contains(flag), "{flag} in {c}");
    }
    assert!(!c.contains("Secure"), "{c}");
    let sid = value_of(&c).to_string();
    assert_eq!(sid.len(), 64);
    {
        // Only the sha256 of the session id is stored.
        let data = d.state.data.lock().unwrap();
        let stored: String =
            data.store.connection().query_row("SELECT id_hash FROM sessions", [], |r| r.get(0)).unwrap();
        assert_ne!(stored, sid);
        assert_eq!(stored, desk::token_hash(&sid));
    }
    let cookie = format!("{SESSION_COOKIE}={sid}");
    let me = send(&app, "GET", "/api/v1/me", &[("cookie", &cookie)], "").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert!(me.body.contains("\"wang\""));
    let page = send(&app, "GET", "/alerts", &[("cookie", &cookie)], "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(send(&app, "GET", "/", &[("cookie", &cookie)], "").await.status, StatusCode::OK);

    // Behind a TLS proxy the cookie is Secure.
    let r = try_login(&app, "wang", PASSWORD, &[("x-forwarded-proto", "https")]).await;
    assert!(r.cookie(SESSION_COOKIE).unwrap().contains("; Secure"), "{:?}", r.cookies());
    // So it is when configured.
    let mut st = d.state.clone();
    st.auth = Arc::new(yuqing_server::AuthConfig { secure_cookie: true, ..Default::default() });
    let r = try_login(&router(st), "wang", PASSWORD, &[]).await;
    assert!(r.cookie(SESSION_COOKIE).unwrap().contains("; Secure"));

    // The login form refuses a post without its CSRF token.
    let r = send(
        &app,
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        &format!("name=wang&password={}", urlencoding::encode(PASSWORD)),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.cookie(SESSION_COOKIE).is_none());
    // An open redirect is not possible through `next`.
    let (csrf, lc) = login_form(&app).await;
    let body = format!("_csrf={csrf}&next=%2F%2Fevil.example%2F&name=wang&password={}", urlencoding::encode(PASSWORD));
    let r =
        send(&app, "POST", "/login", &[("content-type", "application/x-www-form-urlencoded"), ("cookie", &lc)], &body)
            .await;
    assert_eq!((r.status, r.location()), (StatusCode::SEE_OTHER, "/"));

    // Sign-out needs the session's CSRF token.
    let r = send(
        &app,
        "POST",
        "/logout",
        &[("cookie", &cookie), ("content-type", "application/x-www-form-urlencoded")],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &app,
        "POST",
        "/logout",
        &[("cookie", &cookie), ("content-type", "application/x-www-form-urlencoded")],
        "_csrf=nope",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let csrf = {
        let data = d.state.data.lock().unwrap();
        data.store
            .connection()
            .query_row("SELECT csrf FROM sessions WHERE id_hash = ?1", [desk::token_hash(&sid)], |r| {
                r.get::<_, String>(0)
            })
            .unwrap()
    };
    let r = send(
        &app,
        "POST",
        "/logout",
        &[("cookie", &cookie), ("content-type", "application/x-www-form-urlencoded")],
        &format!("_csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.cookie(SESSION_COOKIE).unwrap().contains("Max-Age=0"));
    assert_eq!(send(&app, "GET", "/api/v1/me", &[("cookie", &cookie)], "").await.status, StatusCode::UNAUTHORIZED);

    let audit = d.audit_actions();
    assert!(audit.contains(&("wang".into(), "auth.login".into())), "{audit:?}");
    assert!(audit.contains(&("wang".into(), "auth.logout".into())), "{audit:?}");
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_name_without_revealing_who_exists() {
    let d = Desk::new();
    d.user("li", Role::Coordinator, None);
    let app = d.app();
    let wrong_known = try_login(&app, "li", "wrong-password", &[]).await;
    let wrong_unknown = try_login(&app, "nobody", "wrong-password", &[]).await;
    assert_eq!(wrong_known.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_unknown.status, StatusCode::UNAUTHORIZED);
    assert!(wrong_known.body.contains("用户名或密码不正确"));
    let strip =
        |s: &str| s.split("name=\"_csrf\" value=\"").map(|p| p.get(64..).unwrap_or(p).to_string()).collect::<String>();
    assert_eq!(
        strip(&wrong_known.body).replace("value=\"li\"", ""),
        strip(&wrong_unknown.body).replace("value=\"nobody\"", ""),
        "same answer"
    );

    for _ in 0..3 {
        assert_eq!(try_login(&app, "li", "wrong-password", &[]).await.status, StatusCode::UNAUTHORIZED);
    }
    d.advance(Duration::minutes(1));
    let fifth = try_login(&app, "li", "wrong-password", &[]).await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(fifth.body.contains("请 15 分钟后再试"), "{}", fifth.body);
    // Locked: even the right password is refused, for 15 minutes.
    d.advance(Duration::minutes(14));
    let r = try_login(&app, "li", PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.cookie(SESSION_COOKIE).is_none());
    d.advance(Duration::minutes(1));
    let r = try_login(&app, "li", PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Unknown names lock the same way.
    for _ in 0..4 {
        try_login(&app, "nobody", "wrong-password", &[]).await;
    }
    assert_eq!(try_login(&app, "nobody", "x", &[]).await.status, StatusCode::TOO_MANY_REQUESTS);
    let audit = d.audit_actions();
    // The lock-out is recorded against the client's address (here none is known), not the victim.
    assert!(audit.contains(&("unknown".into(), "auth.lockout".into())), "{audit:?}");
    assert!(!audit.contains(&("li".into(), "auth.lockout".into())), "{audit:?}");
    assert!(audit.contains(&("li".into(), "auth.login".into())));
}

#[tokio::test]
async fn sessions_expire_when_idle_and_after_seven_days() {
    let d = Desk::new();
    d.user("zhao", Role::Viewer, None);
    let app = d.app();
    let cookie = sign_in(&app, "zhao").await;
    let h = [("cookie", cookie.as_str())];
    d.advance(Duration::hours(7));
    assert_eq!(send(&app, "GET", "/api/v1/me", &h, "").await.status, StatusCode::OK);
    d.advance(Duration::hours(8) + Duration::minutes(1));
    let r = send(&app, "GET", "/api/v1/me", &h, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "idle for 8 hours");
    assert!(r.body.contains("登录已过期"));
    let r = send(&app, "GET", "/stories", &h, "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login?next=%2Fstories&expired=1");

    // Active every 7 hours: still ends 7 days after sign-in.
    let cookie = sign_in(&app, "zhao").await;
    let h = [("cookie", cookie.as_str())];
    let mut alive = Duration::zero();
    while alive + Duration::hours(7) < Duration::days(7) {
        d.advance(Duration::hours(7));
        alive += Duration::hours(7);
        assert_eq!(send(&app, "GET", "/api/v1/me", &h, "").await.status, StatusCode::OK, "after {alive}");
    }
    d.advance(Duration::days(7) - alive);
    assert_eq!(send(&app, "GET", "/api/v1/me", &h, "").await.status, StatusCode::UNAUTHORIZED, "absolute expiry");

    // Configurable.
    let mut st = d.state.clone();
    st.auth = Arc::new(yuqing_server::AuthConfig { idle_minutes: 30, ..Default::default() });
    let app = router(st);
    let cookie = sign_in(&app, "zhao").await;
    d.advance(Duration::minutes(31));
    assert_eq!(send(&app, "GET", "/api/v1/me", &[("cookie", &cookie)], "").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_calls_that_change_state_need_the_csrf_token_bearer_calls_do_not() {
    let d = Desk::new();
    d.user("chen", Role::Coordinator, None);
    let app = d.app();
    let cookie = sign_in(&app, "chen").await;
    let csrf = session_csrf(&d, "chen");
    let json = ("content-type", "application/json");
    let r = send(&app, "POST", "/api/v1/desk/tick", &[("cookie", &cookie), json], "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("CSRF"), "{}", r.body);
    let r = send(&app, "POST", "/api/v1/desk/tick", &[("cookie", &cookie), json, ("x-csrf-token", "0000")], "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&app, "POST", "/api/v1/desk/tick", &[("cookie", &cookie), json, ("x-csrf-token", &csrf)], "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // A form carries it as `_csrf`; the handler still reads the whole body.
    let form = ("content-type", "application/x-www-form-urlencoded");
    let r = send(&app, "POST", "/api/v1/duty/handovers", &[("cookie", &cookie), form], "text=x").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Bearer tokens carry no ambient authority: no CSRF token needed.
    let r = send(&app, "POST", "/api/v1/desk/tick", &[("authorization", "Bearer tok-chen"), json], "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &app,
        "POST",
        "/api/v1/duty/handovers",
        &[("authorization", "Bearer tok-chen"), json],
        r#"{"text":"交接：无异常"}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    // A wrong token is a 401, not a fall-back to the cookie.
    let r = send(&app, "GET", "/api/v1/me", &[("authorization", "Bearer nope"), ("cookie", &cookie)], "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Reading needs no token.
    assert_eq!(send(&app, "GET", "/api/v1/audit", &[("cookie", &cookie)], "").await.status, StatusCode::OK);
}

/// Who may call each API route, written out here independently of the route table (`routes/`):
/// A admin, C coordinator, P approver (分管领导), O officer, D department member, V viewer;
/// "*" public.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "/api/v1/openapi.json", "*"),
    ("GET", "/api/v1/stats", "ACPODV"),
    ("GET", "/api/v1/stories", "ACPODV"),
    ("GET", "/api/v1/stories/{id}", "ACPODV"),
    ("POST", "/api/v1/stories/{id}/merge", "ACO"),
    ("POST", "/api/v1/stories/{id}/split", "ACO"),
    ("POST", "/api/v1/stories/{id}/false-alarm", "ACO"),
    ("POST", "/api/v1/stories/{id}/false-alarm/withdraw", "ACO"),
    ("GET", "/api/v1/themes", "ACPODV"),
    ("GET", "/api/v1/themes/{name}", "ACPODV"),
    ("GET", "/api/v1/search", "ACPODV"),
    ("GET", "/api/v1/alerts", "ACPODV"),
    ("POST", "/api/v1/alerts/{id}/ack", "ACPOD"),
    ("GET", "/api/v1/me", "ACPODV"),
    ("GET", "/api/v1/incidents", "ACPODV"),
    ("POST", "/api/v1/incidents", "ACO"),
    ("GET", "/api/v1/incidents/{id}", "ACPODV"),
    ("POST", "/api/v1/incidents/{id}/actions", "ACPOD"),
    ("POST", "/api/v1/incidents/{id}/stories", "ACO"),
    ("GET", "/api/v1/incidents/{id}/statements/{sid}/diff", "ACPODV"),
    ("POST", "/api/v1/incidents/{id}/attachments", "ACPOD"),
    ("GET", "/api/v1/incidents/{id}/attachments/{sha}", "ACPODV"),
    ("GET", "/api/v1/duty", "ACPODV"),
    ("POST", "/api/v1/duty", "AC"),
    ("POST", "/api/v1/duty/handovers", "ACPO"),
    ("GET", "/api/v1/outbox", "AC"),
    ("GET", "/api/v1/overdue", "ACP"),
    ("GET", "/api/v1/audit", "AC"),
    ("GET", "/api/v1/audit/verify", "AC"),
    ("POST", "/api/v1/desk/tick", "AC"),
    ("GET", "/api/v1/reports", "ACPOV"),
    ("POST", "/api/v1/reports", "ACPO"),
    ("POST", "/api/v1/reports/schedule", "AC"),
    ("GET", "/api/v1/reports/{id}", "ACPOV"),
    ("GET", "/api/v1/reports/disposal", "ACPODV"),
    ("POST", "/api/v1/reports/disposal", "ACOD"),
    ("GET", "/api/v1/reports/disposal/{id}", "ACPODV"),
    ("POST", "/api/v1/reports/disposal/{id}", "ACOD"),
    ("POST", "/api/v1/reports/disposal/{id}/issue", "AC"),
    ("GET", "/api/v1/reports/risks", "ACPODV"),
    ("POST", "/api/v1/reports/risks", "ACD"),
    ("POST", "/api/v1/reports/risks/{id}", "ACD"),
    ("GET", "/api/v1/reports/risks/{id}/history", "ACPODV"),
    ("POST", "/api/v1/posts", "ACO"),
    ("GET", "/api/v1/sources", "ACPODV"),
];

const ROLES: [(char, Role, &str); 6] = [
    ('A', Role::Admin, "admin"),
    ('C', Role::Coordinator, "office"),
    ('P', Role::Approver, "leader"),
    ('O', Role::Officer, "officer"),
    ('D', Role::DepartmentMember, "dept"),
    ('V', Role::Viewer, "viewer"),
];

#[tokio::test]
async fn every_role_is_refused_exactly_what_the_policy_denies_on_every_api_route() {
    // The expectations cover the whole API part of the policy table, and agree with it.
    let table = yuqing_server::routes::table();
    let api_rules: Vec<_> = table.routes.iter().filter(|r| r.path.starts_with("/api/")).collect();
    assert_eq!(api_rules.len(), EXPECTED.len(), "every API route has a line in EXPECTED");
    for (m, p, who) in EXPECTED {
        let rule = table.find(&m.parse().unwrap(), p).unwrap_or_else(|| panic!("{m} {p} not in the route table"));
        for (c, role, _) in ROLES {
            let want = *who == "*" || who.contains(c);
            assert_eq!(rule.access.allows(role), want, "{m} {p} for {role:?}");
        }
        assert_eq!(rule.access == Access::Public, *who == "*", "{m} {p}");
    }

    let d = Desk::new();
    for (_, role, name) in ROLES {
        d.user(name, role, (role == Role::DepartmentMember).then_some("市卫健委"));
    }
    let app = d.app();
    let mut sessions = Vec::new();
    for (_, _, name) in ROLES {
        let cookie = sign_in(&app, name).await;
        sessions.push((cookie, session_csrf(&d, name)));
    }

    let mut checked = 0;
    for (m, p, who) in EXPECTED {
        // Ids that exist nowhere and bodies that are not valid: an allowed call gets past the
        // policy and fails on its input (400/404/200), a denied one stops at 403.
        let path = p.replace("{id}", "999999").replace("{sid}", "1").replace("{sha}", "00");
        let body = if *m == "POST" { "{not json" } else { "" };
        // Anonymous.
        let r = send(&app, m, &path, &[("content-type", "application/json")], body).await;
        if *who == "*" {
            assert_eq!(r.status, StatusCode::OK, "{m} {p} public");
            continue;
        }
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{m} {p} anonymous: {}", r.body);
        let r = send(&app, m, &path, &[("authorization", "Bearer wrong"), ("content-type", "application/json")], body)
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{m} {p} bad token");

        for (i, (c, role, name)) in ROLES.iter().enumerate() {
            let allowed = who.contains(*c);
            let token = format!("Bearer tok-{name}");
            let (cookie, csrf) = &sessions[i];
            let by_token = [("authorization", token.as_str()), ("content-type", "application/json")];
            let by_cookie =
                [("cookie", cookie.as_str()), ("x-csrf-token", csrf.as_str()), ("content-type", "application/json")];
            for (how, headers) in [("token", &by_token[..]), ("cookie", &by_cookie[..])] {
                let r = send(&app, m, &path, headers, body).await;
                if allowed {
                    assert!(
                        r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN,
                        "{role:?} by {how} may {m} {p}, got {}: {}",
                        r.status,
                        r.body
                    );
                } else {
                    assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?} by {how} may not {m} {p}: {}", r.body);
                    assert!(r.body.contains("无权"), "{}", r.body);
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, (EXPECTED.len() - 1) * ROLES.len() * 2);
}

#[tokio::test]
async fn pages_need_sign_in_and_viewers_read_them() {
    let d = Desk::new();
    d.user("viewer", Role::Viewer, None);
    let app = d.app();
    let cookie = sign_in(&app, "viewer").await;
    for p in ["/", "/stories", "/alerts", "/search?q=%E7%96%AB%E6%83%85", "/dashboard/fragment"] {
        let anon = send(&app, "GET", p, &[], "").await;
        assert_eq!(anon.status, StatusCode::SEE_OTHER, "{p}");
        assert!(anon.location().starts_with("/login?next=%2F"), "{p}: {}", anon.location());
        let r = send(&app, "GET", p, &[("cookie", &cookie)], "").await;
        assert_eq!(r.status, StatusCode::OK, "{p}: {}", r.body);
    }
    // Unknown pages stay a 404 (the fallback is outside the policy).
    assert_eq!(send(&app, "GET", "/no-such-page", &[], "").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn only_administrators_manage_people_on_the_system_page() {
    let d = Desk::new();
    d.user("admin", Role::Admin, None);
    d.user("office", Role::Coordinator, None);
    let app = d.app();
    let form = |cookie: &str| {
        vec![("cookie", cookie.to_string()), ("content-type", "application/x-www-form-urlencoded".to_string())]
    };
    let post = |app: &Router, path: &str, cookie: &str, body: String| {
        let h = form(cookie);
        let app = app.clone();
        let path = path.to_string();
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(&app, "POST", &path, &h, &body).await
        }
    };
    let pw = urlencoding::encode(PASSWORD).into_owned();

    // The office sees the page but cannot add, disable or reset anyone.
    let office = sign_in(&app, "office").await;
    let csrf = session_csrf(&d, "office");
    let r = send(&app, "GET", "/system", &[("cookie", &office)], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("action=\"/system/users\"") && r.body.contains("由系统管理员办理"), "{}", r.body);
    for path in ["/system/users", "/system/users/admin/active", "/system/users/admin/password"] {
        let r = post(&app, path, &office, format!("_csrf={csrf}&name=x&role=viewer&active=0&password={pw}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}: {}", r.body);
    }

    // The admin adds a viewer with a password; the new person signs in with it.
    let admin = sign_in(&app, "admin").await;
    let csrf = session_csrf(&d, "admin");
    let r = send(&app, "GET", "/system", &[("cookie", &admin)], "").await;
    assert!(r.body.contains("action=\"/system/users\""), "the admin gets the form");
    let r = post(
        &app,
        "/system/users",
        &admin,
        format!("_csrf={csrf}&name=newbie&display_name=%E5%B0%8F%E5%BC%A0&role=viewer&password={pw}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("已新增用户 newbie") && r.body.contains("yq_"), "the token is shown once: {}", r.body);
    let newbie = sign_in(&app, "newbie").await;
    assert_eq!(send(&app, "GET", "/", &[("cookie", &newbie)], "").await.status, StatusCode::OK);

    // Refusals name the problem and change nothing.
    let r = post(&app, "/system/users", &admin, format!("_csrf={csrf}&name=newbie&role=viewer&password={pw}")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = post(&app, "/system/users", &admin, format!("_csrf={csrf}&name=li&role=department&password={pw}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("所属单位"), "{}", r.body);
    let r = post(&app, "/system/users", &admin, format!("_csrf={csrf}&name=li&role=boss&password={pw}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(&app, "/system/users", &admin, format!("_csrf={csrf}&name=li&role=viewer&password=short")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = post(&app, "/system/users/admin/active", &admin, format!("_csrf={csrf}&active=0")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "nobody disables themselves");
    let r = post(&app, "/system/users", &admin, format!("name=li&role=viewer&password={pw}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a form without the CSRF token is refused");

    // Disabling ends the person's session at once; enabling and a new password let them back in.
    let r = post(&app, "/system/users/newbie/active", &admin, format!("_csrf={csrf}&active=0")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(send(&app, "GET", "/", &[("cookie", &newbie)], "").await.status, StatusCode::SEE_OTHER);
    assert_eq!(try_login(&app, "newbie", PASSWORD, &[]).await.status, StatusCode::UNAUTHORIZED);
    let r = post(&app, "/system/users/newbie/active", &admin, format!("_csrf={csrf}&active=1")).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = post(&app, "/system/users/newbie/password", &admin, format!("_csrf={csrf}&password=Another-pass-9")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(try_login(&app, "newbie", "Another-pass-9", &[]).await.status, StatusCode::SEE_OTHER);
    let r = post(&app, "/system/users/nobody/password", &admin, format!("_csrf={csrf}&password=Another-pass-9")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let actions = d.audit_actions();
    for a in ["user.add", "user.disable", "user.enable", "user.passwd"] {
        assert!(actions.iter().any(|(actor, action)| actor == "admin" && action == a), "{a} audited: {actions:?}");
    }
}

#[tokio::test]
async fn the_office_saves_switches_off_and_keeps_versions_of_watch_rules() {
    let mut d = Desk::new();
    d.state.rules = Arc::new(vec![yuqing_store::rules::ConfiguredRule {
        name: "医院投诉".into(),
        expr: "医院 & 投诉".into(),
        topic: None,
        department: Some("市卫健委".into()),
    }]);
    d.state.departments = vec!["市卫健委".into(), "市教育局".into()];
    d.user("office", Role::Coordinator, None);
    d.user("viewer", Role::Viewer, None);
    let app = d.app();
    let office = sign_in(&app, "office").await;
    let csrf = session_csrf(&d, "office");
    let h = [("cookie", office.as_str()), ("content-type", "application/x-www-form-urlencoded")];
    let enc = |s: &str| urlencoding::encode(s).into_owned();

    // A viewer reads and tests, but gets no save form and may not post one.
    let viewer = sign_in(&app, "viewer").await;
    let r = send(&app, "GET", &format!("/rules?name=x&expr={}", enc("医院")), &[("cookie", &viewer)], "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("医院投诉") && !r.body.contains("method=\"post\" action=\"/rules\""), "{}", r.body);
    let vcsrf = session_csrf(&d, "viewer");
    let r = send(
        &app,
        "POST",
        "/rules",
        &[("cookie", &viewer), ("content-type", "application/x-www-form-urlencoded")],
        &format!("_csrf={vcsrf}&name=x&expr=a"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The office tests a new rule: the page offers to save exactly what was tested.
    let r = send(
        &app,
        "GET",
        &format!("/rules?name={}&expr={}&department={}", enc("校园欺凌"), enc("学校 & 欺凌"), enc("市教育局")),
        &[("cookie", &office)],
        "",
    )
    .await;
    assert!(r.body.contains("语法正确") && r.body.contains("保存规则“校园欺凌”"), "{}", r.body);
    // A broken expression or an unknown department is refused with the reason; nothing is saved.
    let r = send(&app, "POST", "/rules", &h, &format!("_csrf={csrf}&name={}&expr={}", enc("坏"), enc("学校 &&"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("表达式有误") && r.body.contains("mark class=\"err\""), "{}", r.body);
    assert!(r.body.contains("<td>医院投诉</td>"), "the refusal still lists the rules in force: {}", r.body);
    let r =
        send(&app, "POST", "/rules", &h, &format!("_csrf={csrf}&name=x&expr=a&department={}", enc("不存在局"))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Saved: a new rule, and an edit of the configured one.
    let r = send(
        &app,
        "POST",
        "/rules",
        &h,
        &format!("_csrf={csrf}&name={}&expr={}&department={}", enc("校园欺凌"), enc("学校 & 欺凌"), enc("市教育局")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = send(
        &app,
        "POST",
        "/rules",
        &h,
        &format!(
            "_csrf={csrf}&name={}&expr={}&department={}",
            enc("医院投诉"),
            enc("医院 & (投诉 | 排队)"),
            enc("市卫健委")
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(&app, "POST", "/rules/enabled", &h, &format!("_csrf={csrf}&name={}&enabled=0", enc("校园欺凌"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(&app, "POST", "/rules/enabled", &h, &format!("_csrf={csrf}&name={}&enabled=0", enc("没有这条"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = send(&app, "GET", &format!("/rules?edit={}", enc("医院投诉")), &[("cookie", &office)], "").await;
    assert!(r.body.contains("医院 &amp; (投诉 | 排队)") && r.body.contains("网页修改"), "{}", r.body);
    assert!(r.body.contains("历次保存"), "the edit shows the rule's versions");
    assert!(r.body.contains("网页新增") && r.body.contains("停用"), "{}", r.body);
    {
        let data = d.state.data.lock().unwrap();
        let c = data.store.connection();
        let edits = yuqing_store::rules::edits(c).unwrap();
        let on: Vec<String> =
            yuqing_store::rules::enabled(&d.state.rules, &edits).into_iter().map(|r| r.expr).collect();
        assert_eq!(on, ["医院 & (投诉 | 排队)"], "the switched-off rule is not in force");
        assert_eq!(yuqing_store::rules::history(c, "校园欺凌").unwrap().len(), 2);
    }
    let actions = d.audit_actions();
    assert_eq!(actions.iter().filter(|(a, x)| a == "office" && x == "rule.save").count(), 3, "{actions:?}");

    // The audit log on the 系统 page pages on the server.
    let r = send(&app, "GET", "/system?audit_page=1", &[("cookie", &office)], "").await;
    assert!(r.body.contains("第 1 / 1 页") && r.body.contains("rule.save"), "{}", r.body);
    let r = send(&app, "GET", "/system?audit_page=x", &[("cookie", &office)], "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = send(&app, "GET", "/system?audit_page=2", &[("cookie", &office)], "").await;
    assert!(r.body.contains("第 2 / 1 页") && !r.body.contains("rule.save"), "past the end: an empty page");
}

// ---------------------------------------------------------------- issue 13: denial of service

/// Waits (without a deadline the test relies on) until `cond` holds, yielding to the server.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..20_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_sign_ins_runs_at_most_n_verifications_and_refuses_the_rest_with_429() {
    use yuqing_server::auth::MAX_CONCURRENT_VERIFICATIONS;
    let d = Desk::new();
    d.user("li", Role::Officer, None);
    let app = d.app();
    let gate = d.state.sign_in.clone();
    // Verifications that get a slot wait until released: the slots and the queue fill up.
    gate.hold(true);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            try_login_from(&app, Some("203.0.113.9:5000"), &format!("nobody{i}"), "wrong-password", &[]).await
        }));
    }
    // Every sign-in has reached the gate: it holds a slot, waits for one, or was refused (only
    // refusals can finish while verifications are held).
    until("every sign-in reached the gate", || {
        let (running, waiting) = gate.occupancy();
        running + waiting + tasks.iter().filter(|t| t.is_finished()).count() == 60
    })
    .await;
    assert_eq!(gate.occupancy().0, MAX_CONCURRENT_VERIFICATIONS);
    gate.hold(false);
    let (mut refused, mut checked) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status {
            StatusCode::TOO_MANY_REQUESTS => {
                refused += 1;
                assert!(r.body.contains("登录请求过多"), "{}", r.body);
                assert_eq!(r.headers.get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()), Some("5"));
            }
            StatusCode::UNAUTHORIZED => checked += 1,
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert!(refused >= 60 - MAX_CONCURRENT_VERIFICATIONS - 32, "refused {refused}");
    assert_eq!(checked, gate.verifications(), "every answer of 401 had its password checked");
    assert!(checked >= MAX_CONCURRENT_VERIFICATIONS, "checked {checked}");
    assert!(gate.peak() <= MAX_CONCURRENT_VERIFICATIONS, "peak {}", gate.peak());
    // A refused attempt was never checked, so it did not count towards anyone's lock-out; and the
    // server signs people in afterwards.
    let r = try_login_from(&app, Some("203.0.113.9:5000"), "li", PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_wrong_passwords_check_at_most_five_guesses_and_lock_only_that_address() {
    let mut d = Desk::new();
    d.user("admin", Role::Admin, None);
    // Sign-ins wait for a verification slot as long as needed: none is refused for being busy.
    d.state.sign_in = Arc::new(yuqing_server::auth::SignInGate::with_max_wait(std::time::Duration::from_secs(600)));
    let app = d.app();
    const ATTACKER: &str = "203.0.113.66:40000";
    const ADMIN: &str = "198.51.100.10:51000";
    let mut tasks = Vec::new();
    for i in 0..60 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            try_login_from(&app, Some(ATTACKER), "admin", &format!("guess-{i}"), &[]).await
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap().status);
    }
    assert_eq!(d.state.sign_in.verifications(), 5, "60 concurrent attempts check 5 guesses");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 56);

    // Locked for the attacker's address, even with the right password…
    let r = try_login_from(&app, Some(ATTACKER), "admin", PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("请 15 分钟后再试"), "{}", r.body);
    assert!(r.headers.get(header::RETRY_AFTER).is_some());
    assert!(r.cookie(SESSION_COOKIE).is_none());
    assert_eq!(d.state.sign_in.verifications(), 5, "not checked while locked");
    // … but the administrator signs in from another address.
    let r = try_login_from(&app, Some(ADMIN), "admin", PASSWORD, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The lock-out names the client address as its actor, the account as its target.
    let audit = {
        let data = yuqing_store::guard::lock(&d.state.data);
        desk::audit_recent(data.store.connection(), 500, 0).unwrap().items
    };
    let lockouts: Vec<_> = audit.iter().filter(|e| e.action == "auth.lockout").collect();
    assert_eq!(lockouts.len(), 1, "{audit:?}");
    assert_eq!((lockouts[0].actor.as_str(), lockouts[0].target.as_str()), ("203.0.113.66", "user:admin"));
    assert!(lockouts[0].detail.contains("203.0.113.66"));

    // Back-off: the attacker's next lock-out lasts twice as long.
    d.advance(Duration::minutes(15));
    for i in 0..4 {
        assert_eq!(
            try_login_from(&app, Some(ATTACKER), "admin", &format!("again-{i}"), &[]).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = try_login_from(&app, Some(ATTACKER), "admin", "again-4", &[]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("请 30 分钟后再试"), "{}", r.body);
    // Still only that address.
    assert_eq!(try_login_from(&app, Some(ADMIN), "admin", PASSWORD, &[]).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn behind_a_trusted_proxy_lock_out_counts_the_forwarded_client() {
    let d = Desk::new();
    d.user("li", Role::Officer, None);
    let mut st = d.state.clone();
    st.auth = Arc::new(yuqing_server::AuthConfig {
        trusted_proxies: vec!["10.0.0.1".parse().unwrap()],
        ..Default::default()
    });
    let app = router(st);
    const PROXY: Option<&str> = Some("10.0.0.1:3000");
    for i in 0..5 {
        try_login_from(&app, PROXY, "li", &format!("wrong-{i}"), &[("x-forwarded-for", "203.0.113.7")]).await;
    }
    let r = try_login_from(&app, PROXY, "li", PASSWORD, &[("x-forwarded-for", "203.0.113.7")]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // Another client through the same proxy is not locked out.
    let r = try_login_from(&app, PROXY, "li", PASSWORD, &[("x-forwarded-for", "198.51.100.20")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // A client reaching the server directly cannot choose its address with the header.
    for i in 0..5 {
        try_login_from(&app, Some("192.0.2.1:1"), "li", &format!("wrong-{i}"), &[("x-forwarded-for", "198.51.100.20")])
            .await;
    }
    let r = try_login_from(&app, PROXY, "li", PASSWORD, &[("x-forwarded-for", "198.51.100.20")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn a_session_used_every_twenty_seconds_outlives_a_one_minute_idle_limit() {
    let d = Desk::new();
    d.user("zhao", Role::Viewer, None);
    let mut st = d.state.clone();
    st.auth = Arc::new(yuqing_server::AuthConfig { idle_minutes: 1, ..Default::default() });
    let app = router(st);
    let cookie = sign_in(&app, "zhao").await;
    let h = [("cookie", cookie.as_str())];
    for k in 1..=15 {
        d.advance(Duration::seconds(20));
        assert_eq!(send(&app, "GET", "/api/v1/me", &h, "").await.status, StatusCode::OK, "after {} s", 20 * k);
    }
    d.advance(Duration::seconds(61));
    assert_eq!(send(&app, "GET", "/api/v1/me", &h, "").await.status, StatusCode::UNAUTHORIZED, "a minute idle");
}

#[tokio::test]
async fn huge_pages_and_offsets_answer_400_and_the_server_keeps_answering() {
    let d = Desk::new();
    d.user("viewer", Role::Viewer, None);
    d.user("office", Role::Coordinator, None);
    let app = d.app();
    let cookie = sign_in(&app, "viewer").await;
    let h = [("cookie", cookie.as_str())];
    const HUGE: [&str; 3] = ["18446744073709551615", "100000000", "335"];
    for page in [
        "/search?q=a&page=",
        "/search?q=%E7%96%AB%E6%83%85&page=",
        "/stories?page=",
        "/stories/1?page=",
        "/posts?page=",
    ] {
        for n in HUGE {
            let r = send(&app, "GET", &format!("{page}{n}"), &h, "").await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{page}{n}: {}", r.body);
            assert!(r.body.contains("页码") && r.body.contains("过大"), "{page}{n}: {}", r.body);
        }
    }
    let office = [("authorization", "Bearer tok-office")];
    let r = send(&app, "GET", "/incidents?page=18446744073709551615", &office, "").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    for api in [
        "/api/v1/search?q=a&offset=",
        "/api/v1/stories?offset=",
        "/api/v1/stories/1?offset=",
        "/api/v1/incidents?offset=",
    ] {
        for n in ["18446744073709551615", "100000000", "10001"] {
            let r = send(&app, "GET", &format!("{api}{n}"), &h, "").await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{api}{n}: {}", r.body);
            assert!(r.body.contains("offset 不能大于 10000"), "{api}{n}: {}", r.body);
        }
    }
    for api in [
        "/api/v1/outbox?offset=18446744073709551615",
        "/api/v1/overdue?offset=18446744073709551615",
        "/api/v1/audit?offset=18446744073709551615",
    ] {
        assert_eq!(send(&app, "GET", api, &office, "").await.status, StatusCode::BAD_REQUEST, "{api}");
    }
    // The deepest page allowed answers.
    assert_eq!(send(&app, "GET", "/search?q=a&page=334", &h, "").await.status, StatusCode::OK);
    assert_eq!(send(&app, "GET", "/api/v1/search?q=a&offset=10000", &h, "").await.status, StatusCode::OK);
    // And the server still serves: pages, the API, sign-in.
    assert_eq!(send(&app, "GET", "/search?q=a", &h, "").await.status, StatusCode::OK);
    assert_eq!(send(&app, "GET", "/stories", &h, "").await.status, StatusCode::OK);
    assert_eq!(send(&app, "GET", "/api/v1/search?q=a", &h, "").await.status, StatusCode::OK);
    assert_eq!(try_login(&app, "office", PASSWORD, &[]).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_panic_while_holding_the_data_lock_does_not_stop_requests_the_desk_clock_or_the_outbox() {
    use yuqing_desk::notify::OutboxConn;
    let d = Desk::new();
    d.user("office", Role::Coordinator, None);
    let data = d.state.data.clone();
    let r = std::thread::spawn(move || {
        let _guard = data.lock().unwrap();
        panic!("a bug while holding the data lock");
    })
    .join();
    assert!(r.is_err());
    assert!(d.state.data.is_poisoned());
    let app = d.app();
    // Sign-in, pages, the API and the desk's clock (as `spawn_desk_ticker` runs it) all work.
    let cookie = sign_in(&app, "office").await;
    assert_eq!(send(&app, "GET", "/stories", &[("cookie", &cookie)], "").await.status, StatusCode::OK);
    let office = [("authorization", "Bearer tok-office")];
    let r = send(&app, "POST", "/api/v1/desk/tick", &office, "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!r.body.contains("锁已损坏"));
    // The outbox worker's access to the store.
    let n = d.state.data.with_outbox(|c| c.messages(None, 10, 0)).expect("outbox reads");
    assert!(n.is_empty());
    assert!(!d.state.data.is_poisoned());

    // The desk's clock in the background: its next pass takes the lock (and clears the poison)
    // instead of failing on every pass.
    let data = d.state.data.clone();
    let _ = std::thread::spawn(move || {
        let _guard = data.lock().unwrap();
        panic!("again");
    })
    .join();
    assert!(d.state.data.is_poisoned());
    let ticker = yuqing_desk::spawn_desk_ticker(
        d.state.data.clone(),
        d.state.desk.clone(),
        d.state.clock.clone(),
        std::time::Duration::from_millis(10),
    );
    until("the desk ticker recovered the lock", || !d.state.data.is_poisoned()).await;
    ticker.abort();
}
