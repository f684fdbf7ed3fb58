//! Sign-in and roles. Passwords are hashed with argon2id; a signed-in browser holds the cookie
//! `yuqing_session` (HttpOnly, SameSite=Strict, Path=/, Secure behind TLS) whose sha256 is the
//! session's key in SQLite; sessions end after `idle_minutes` without a request or `absolute_hours`
//! in all. Scripts use `Authorization: Bearer TOKEN` (from `yuqing user add`) instead.
//!
//! `enforce` runs before every routed handler: it looks the route up in the route table (`routes/`:
//! each route declared once with who may call it), signs the caller in (cookie or bearer), refuses what the role may not do, and
//! checks the CSRF token of every state-changing request made with the cookie (`_csrf` form field
//! or `X-CSRF-Token` header, never the query string; bearer calls carry no ambient authority and
//! are exempt). Handlers then take [`CurrentUser`].
//!
//! Unsigned page requests are redirected (303) to `/login?next=…`; API requests get a 401 JSON.

mod login;
pub mod policy;
mod throttle;

pub(crate) use login::shell as login_shell;
pub(crate) use login::{
    logout, logout_page, page as login_page, submit as login_submit, MAX_FORM_BYTES as MAX_LOGIN_FORM_BYTES,
};
pub use throttle::{client_addr, SignInGate, MAX_CONCURRENT_VERIFICATIONS};

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use yuqing_store::desk::{self, User};

use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "yuqing_session";
/// The sign-in form's own CSRF cookie (before there is a session).
pub const LOGIN_COOKIE: &str = "yuqing_login";
/// The header a script signed in by cookie sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
/// The largest form body read for its CSRF field.
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

pub use yuqing_desk::signin::AuthConfig;

/// Equal strings, compared in time independent of where they differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The signed-in user of a request, from the session cookie or a bearer token.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
    /// The session's CSRF token; None when signed in by bearer token.
    pub csrf: Option<String>,
}

impl CurrentUser {
    /// The CSRF token to put in forms (empty for bearer callers, who need none).
    pub fn csrf_token(&self) -> &str {
        self.csrf.as_deref().unwrap_or("")
    }
}

/// Handlers behind `enforce` find the user it signed in; elsewhere the extractor signs in itself.
impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(u) = parts.extensions.get::<CurrentUser>() {
            return Ok(u.clone());
        }
        let api = parts.uri.path().starts_with("/api/");
        match authenticate(state, &parts.headers).await {
            Ok(SignIn::User(u)) => Ok(u),
            Ok(other) => {
                Err(unauthenticated(api, &other, parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")))
            }
            Err(r) => Err(r),
        }
    }
}

/// The result of looking at a request's credentials.
#[allow(clippy::large_enum_variant)] // built once per request
pub(crate) enum SignIn {
    User(CurrentUser),
    /// No cookie and no token.
    Missing,
    /// A bearer token that matches no active user.
    BadToken,
    /// A session cookie that is unknown or expired.
    Expired,
}

pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer "))?.trim();
    Some(t.to_string())
}

fn internal(context: &'static str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Response {
    crate::error::AppError::internal(context, e).into_response()
}

/// Signs a request in: a bearer token when one is given, else the session cookie.
#[allow(clippy::result_large_err)] // the error is the response itself
pub(crate) async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<SignIn, Response> {
    let token = bearer(headers);
    let session = cookie(headers, SESSION_COOKIE).map(str::to_string);
    if token.is_none() && session.is_none() {
        return Ok(SignIn::Missing);
    }
    let data = state.data.clone();
    let now = (state.clock)();
    let limits = state.auth.session_limits();
    tokio::task::spawn_blocking(move || {
        let guard = yuqing_store::guard::lock(&data);
        let c = guard.store.connection();
        if let Some(token) = token {
            return match desk::user_by_token(c, &token) {
                Ok(Some(user)) if !token.is_empty() => Ok(SignIn::User(CurrentUser { user, csrf: None })),
                Ok(_) => Ok(SignIn::BadToken),
                Err(e) => Err(internal("signing in by token", e)),
            };
        }
        let Some(sid) = session else { return Ok(SignIn::Missing) };
        match yuqing_store::auth::session_user(c, &sid, now, limits) {
            Ok(Some((s, user))) => Ok(SignIn::User(CurrentUser { user, csrf: Some(s.csrf) })),
            Ok(None) => Ok(SignIn::Expired),
            Err(e) => Err(internal("signing in by session", e)),
        }
    })
    .await
    .map_err(|e| internal("signing a request in", e))?
}

/// 401 JSON for the API; for pages a 303 to the sign-in form that comes back to `back_to`.
fn unauthenticated(api: bool, why: &SignIn, back_to: &str) -> Response {
    if api {
        let msg = match why {
            SignIn::BadToken => "令牌无效或用户已停用",
            SignIn::Expired => "登录已过期，请重新登录",
            _ => "需要登录：请先登录，或在 Authorization 头中提供 Bearer 令牌（yuqing user add 时给出）",
        };
        return crate::error::AppError::refused(crate::error::Code::Unauthorized, msg).into_response();
    }
    let mut loc = format!("/login?next={}", urlencoding::encode(back_to));
    if matches!(why, SignIn::Expired) {
        loc.push_str("&expired=1");
    }
    let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, loc)]).into_response();
    if matches!(why, SignIn::Expired) {
        if let Ok(v) =
            HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"))
        {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

fn forbidden(api: bool, msg: &str) -> Response {
    if api {
        crate::error::AppError::forbidden(msg).into_response()
    } else {
        (
            StatusCode::FORBIDDEN,
            Html(login::shell(
                "无权访问",
                maud::html! { h2 { "无权访问" } p { (msg) } p { a href="/" { "返回总览" } } },
            )),
        )
            .into_response()
    }
}

/// The form fields of a urlencoded body (later duplicates win; undecodable fields are skipped).
pub(crate) fn form_fields(body: &[u8]) -> std::collections::HashMap<String, String> {
    let mut out = std::collections::HashMap::new();
    for pair in body.split(|&b| b == b'&') {
        let mut it = pair.splitn(2, |&b| b == b'=');
        let (Some(k), v) = (it.next(), it.next()) else { continue };
        let dec = |s: &[u8]| {
            let s: Vec<u8> = s.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
            urlencoding::decode_binary(&s).into_owned()
        };
        if let (Ok(k), Ok(v)) = (String::from_utf8(dec(k)), String::from_utf8(dec(v.unwrap_or_default()))) {
            if !k.is_empty() {
                out.insert(k, v);
            }
        }
    }
    out
}

/// Checks the CSRF token of a state-changing request made with the session cookie: the header,
/// else the `_csrf` field of a urlencoded form body. Never the query string: a token in an address
/// leaks through logs, history and the `Referer` header. The body read for the field is put back
/// for the handler.
async fn check_csrf(req: Request, expected: &str) -> Result<Request, Response> {
    let api = req.uri().path().starts_with("/api/");
    let refused = || {
        forbidden(
            api,
            "请求缺少有效的 CSRF 令牌（页面可能已过期，请刷新后重试；以登录会话调用接口须带 X-CSRF-Token 头）",
        )
    };
    if let Some(v) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if same(v.trim(), expected) { Ok(req) } else { Err(refused()) };
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| forbidden(api, "表单过大或读取失败"))?;
    match form_fields(&bytes).get(CSRF_FIELD) {
        Some(v) if same(v, expected) => Ok(Request::from_parts(parts, Body::from(bytes))),
        _ => Err(refused()),
    }
}

/// The middleware in front of every route: policy, sign-in, role, CSRF. See the module docs.
pub async fn enforce(
    State((state, table)): State<(AppState, std::sync::Arc<crate::routes::Table>)>,
    mut req: Request,
    next: Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let Some(pattern) = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()) else {
        return forbidden(api, "该地址未在权限表中登记");
    };
    let Some(rule) = table.find(req.method(), &pattern) else {
        tracing::error!(method = %req.method(), route = %pattern, "route missing from the route table; refused");
        return forbidden(api, "该地址未在权限表中登记，已拒绝");
    };
    if rule.access == policy::Access::Public {
        return next.run(req).await;
    }
    let back_to = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
    let cu = match authenticate(&state, req.headers()).await {
        Ok(SignIn::User(u)) => u,
        Ok(other) => return unauthenticated(api, &other, &back_to),
        Err(r) => return r,
    };
    if !rule.access.allows(cu.user.role) {
        return forbidden(api, &format!("{}（{}）无权{}", cu.user.display_name, cu.user.role.label_zh(), rule.what));
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        if let Some(expected) = cu.csrf.clone() {
            req = match check_csrf(req, &expected).await {
                Ok(r) => r,
                Err(r) => return r,
            };
        }
    }
    req.extensions_mut().insert(cu);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn forms_cookies_and_comparison() {
        let f = form_fields(b"_csrf=ab%2Bc&name=%E6%9D%8E+%E5%9B%9B&x&=bad&bad=%FF");
        assert_eq!(f.get("_csrf").map(String::as_str), Some("ab+c"));
        assert_eq!(f.get("name").map(String::as_str), Some("李 四"));
        assert_eq!(f.get("x").map(String::as_str), Some(""));
        assert!(!f.contains_key("bad"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; yuqing_session=abc ; b=2"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        let c: AuthConfig = toml::from_str("idle_minutes = 30").unwrap();
        assert_eq!(c.session_limits().idle, Duration::minutes(30));
        assert_eq!(c.lockout().max_failures, 5);
        assert!(toml::from_str::<AuthConfig>("idle = 3").is_err(), "unknown keys are refused");
    }
}
