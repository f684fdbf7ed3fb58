//! `/login` (the sign-in form and its submission) and `/logout`. The form carries a CSRF token of
//! its own, matched against a short-lived `yuqing_login` cookie (there is no session yet).
//! Wrong name and wrong password get the same answer; a name is locked for a client address after
//! repeated failures from it, whether or not such a user exists.

use std::sync::OnceLock;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use yuqing_desk::password::{hash_password, random_token, verify_password};
use yuqing_desk::signin;

use super::{cookie, form_fields, same, CurrentUser, CSRF_FIELD, LOGIN_COOKIE, SESSION_COOKIE};
use crate::extract::Query;
use crate::html::Layout;
use crate::AppState;
use maud::{html, Markup};

/// A page of its own (the desk's header needs a signed-in user).
pub(crate) fn shell(title: &str, body: Markup) -> String {
    Layout::sign_in(title).render(body).into_string()
}

/// Where to go after sign-in: `next` when it is a path on this site (see [`is_local_path`]), else `/`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) && !n.starts_with("/login") => n.to_string(),
        _ => "/".to_string(),
    }
}

/// Whether `next` can only lead to a path on this site, as a browser reads a `Location` header:
/// one leading `/` (not `//host` nor `/\host`, which browsers read as another host), no
/// backslash, and only visible ASCII — no tab, CR, LF or other control character, which browsers
/// drop (`/\t/host` becomes `//host`) or which cannot be sent in a header at all. The same holds
/// after percent-decoding (`/%09/host`, `/%2F/host`), for servers and proxies that decode.
fn is_local_path(next: &str) -> bool {
    // A single leading slash, no backslash, no control character (a decoded path may hold
    // UTF-8 and spaces: `%E5%8C%BB`, `%20`).
    fn local(p: &[u8]) -> bool {
        p.first() == Some(&b'/')
            && !matches!(p.get(1), Some(b'/'))
            && p.iter().all(|&b| b >= 0x20 && b != 0x7f && b != b'\\')
    }
    let raw = next.as_bytes();
    local(raw) && raw.iter().all(|&b| (0x21..0x7f).contains(&b)) && local(&urlencoding::decode_binary(raw))
}

fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    if state.auth.secure_cookie {
        return true;
    }
    let proto = headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()).unwrap_or("");
    let fwd = headers.get("forwarded").and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    proto.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")) || fwd.contains("proto=https")
}

/// `Set-Cookie` value: always HttpOnly and SameSite=Strict; Secure behind TLS.
fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let s = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{s}")).ok()
}

fn form_html(next: &str, csrf: &str, name: &str, message: Option<(&str, &str)>) -> Markup {
    html! {
        h2 { "登录" }
        @if let Some((class, m)) = message { p class=(class) { (m) } }
        form method="post" action="/login" {
            input type="hidden" name=(CSRF_FIELD) value=(csrf);
            input type="hidden" name="next" value=(next);
            label for="name" { "用户名" }
            input #name name="name" value=(name) autocomplete="username" required autofocus;
            label for="password" { "密码" }
            input #password name="password" type="password" autocomplete="current-password" required;
            button type="submit" { "登录" }
        }
        p.hint {
            "账号由管理员用 " code { "yuqing user add" } " 建立；忘记密码请联系管理员（" code { "yuqing user passwd" } "）。"
        }
    }
}

/// The form with a fresh pre-session CSRF token (and its cookie).
fn render_form(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: &str,
    name: &str,
    message: Option<(&str, &str)>,
) -> Response {
    let Ok(token) = random_token() else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "无法取得随机数").into_response();
    };
    let mut r = (status, Layout::sign_in("登录").html(form_html(next, &token, name, message))).into_response();
    if let Some(v) = set_cookie(LOGIN_COOKIE, &token, "/login", 3600, secure(state, headers)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// `GET /login`: where to go after signing in, and why the form is shown (`expired`, `out`: present
/// or not, whatever their value).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    out: Option<String>,
}

pub async fn page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    let msg = if q.expired.is_some() {
        Some(("note", "登录已过期，请重新登录。"))
    } else if q.out.is_some() {
        Some(("note", "已退出登录。"))
    } else {
        None
    };
    render_form(&state, &headers, StatusCode::OK, &next, "", msg)
}

/// The largest sign-in form read (name, password of at most 1 KiB, tokens): the router's body
/// limit is sized for attachments, and a waiting sign-in must not hold megabytes.
pub(crate) const MAX_FORM_BYTES: usize = 16 * 1024;

/// A hash to verify against when the name is unknown, so both cases take the same time.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password("yuqing-no-such-user").unwrap_or_default())
}

/// Before the password check: the user's (id, active, hash) if it exists, or why no check.
fn minutes_until(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    ((until - now).num_seconds() + 59).max(60) / 60
}

/// A failure of storage during sign-in: logged for the operator, a plain answer for the user.
fn failed(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "sign-in failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Layout::sign_in("登录").html(html! { h2 { "登录" } p.error { "登录暂时无法完成，请稍后重试。" } }),
    )
        .into_response()
}

/// Runs `f` on the store off the async threads; storage errors become [`failed`].
async fn with_store<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&yuqing_store::SqliteStore) -> yuqing_store::Result<T> + Send + 'static,
) -> Result<T, Response> {
    let data = state.data.clone();
    match tokio::task::spawn_blocking(move || f(&yuqing_store::guard::lock(&data).store)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(failed(e)),
        Err(e) => Err(failed(e)),
    }
}

/// The sign-in: the lock-out check and the attempt counted, the password checked, the session or
/// the failure written (`yuqing_desk::signin` has the two writes and what they guarantee). Password
/// checks pass the server's [`super::SignInGate`], so a flood is
/// refused (429) instead of exhausting memory.
pub async fn submit(State(state): State<AppState>, ext: Extensions, headers: HeaderMap, body: Bytes) -> Response {
    let f = form_fields(&body);
    let next = safe_next(f.get("next").map(String::as_str));
    let name: String = f.get("name").map(|s| s.trim().chars().take(64).collect()).unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let csrf_ok = match (cookie(&headers, LOGIN_COOKIE), f.get(CSRF_FIELD)) {
        (Some(c), Some(v)) => same(c, v),
        _ => false,
    };
    if !csrf_ok {
        return render_form(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            &next,
            &name,
            Some(("error", "登录页已过期或请求来源不明，请重新输入后登录。")),
        );
    }
    if name.is_empty() || password.is_empty() {
        return render_form(
            &state,
            &headers,
            StatusCode::BAD_REQUEST,
            &next,
            &name,
            Some(("error", "请输入用户名和密码。")),
        );
    }
    let now = (state.clock)();
    let cfg = state.auth.clone();
    let addr = super::client_addr(&ext, &headers, &cfg.trusted_proxies);

    // 1. One transaction: the lock of (name, addr), this attempt counted, the stored hash.
    let (n, a, c) = (name.clone(), addr.clone(), cfg.clone());
    let first =
        with_store(&state, move |store| signin::begin(store, &n, &a, now, c.session_limits(), c.lockout())).await;
    let found = match first {
        Ok(signin::Lookup::Check(found)) => found,
        Ok(signin::Lookup::Locked(until)) => return locked(&state, &headers, &next, &name, until, now),
        Err(r) => return r,
    };

    // 2. Without the data lock, through the gate: argon2, against a dummy hash for unknown names.
    let (user_id, active, hash) = match found {
        Some((id, active, h)) => (Some(id), active, h),
        None => (None, false, None),
    };
    let verified = state
        .sign_in
        .run(move || {
            let h = hash.as_deref().unwrap_or_else(|| dummy_hash());
            verify_password(&password, h) && hash.is_some()
        })
        .await;
    let Ok(verified) = verified else {
        // Never checked: the attempt does not count against this name and address.
        let (n, a) = (name.clone(), addr.clone());
        if let Err(r) = with_store(&state, move |store| signin::release(store, &n, &a)).await {
            return r;
        }
        tracing::warn!(addr = %addr, "sign-in refused: too many at once");
        let mut r = render_form(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &name,
            Some(("error", "登录请求过多，服务器正忙，请稍后再试。")),
        );
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(super::throttle::BUSY_RETRY_AFTER_SECS));
        return r;
    };

    // 3. One transaction: the session, or the failure (and the lock-out it may cause).
    let (n, a) = (name.clone(), addr.clone());
    let user = user_id.map(|id| (id, active));
    let outcome = with_store(&state, move |store| {
        signin::finish(store, &n, &a, user, verified, now, cfg.session_limits(), cfg.lockout())
    })
    .await;
    match outcome {
        Ok(signin::Outcome::SignedIn { session, user }) => {
            tracing::info!(user = %user, addr = %addr, "signed in");
            let sec = secure(&state, &headers);
            let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
            let max_age = state.auth.session_limits().absolute.num_seconds();
            for v in [
                set_cookie(SESSION_COOKIE, &session, "/", max_age, sec),
                set_cookie(LOGIN_COOKIE, "", "/login", 0, sec),
            ]
            .into_iter()
            .flatten()
            {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
            r
        }
        Ok(signin::Outcome::Wrong) => render_form(
            &state,
            &headers,
            StatusCode::UNAUTHORIZED,
            &next,
            &name,
            Some(("error", "用户名或密码不正确。")),
        ),
        Ok(signin::Outcome::Locked(until)) => {
            tracing::warn!(user = %name, addr = %addr, until = %until, "sign-in locked for this address");
            locked(&state, &headers, &next, &name, until, now)
        }
        Err(r) => r,
    }
}

/// 429 while (name, address) is locked, with `Retry-After`.
fn locked(
    state: &AppState,
    headers: &HeaderMap,
    next: &str,
    name: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Response {
    let msg = format!("登录失败次数过多，已暂停从此地址登录该账号，请 {} 分钟后再试。", minutes_until(until, now));
    let mut r = render_form(state, headers, StatusCode::TOO_MANY_REQUESTS, next, name, Some(("error", &msg)));
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from((until - now).num_seconds().max(1)));
    r
}

/// 退出: a confirmation page whose button posts the sign-out with the session's CSRF token (the
/// header links here, so no page needs to carry a form for it).
pub async fn logout_page(State(state): State<AppState>, cu: CurrentUser) -> Response {
    let body = html! {
        h2 { "退出登录" }
        p { "当前用户：" (cu.user.display_name) "（" (cu.user.role.label_zh()) "）" }
        form method="post" action="/logout" class="act" {
            (crate::html::csrf_field(cu.csrf_token()))
            button type="submit" { "退出" }
        }
    };
    Layout::of(&state, "退出登录").html(body).into_response()
}

/// Ends the session of the cookie (the middleware has checked the CSRF token).
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, cu: CurrentUser) -> Response {
    let sid = cookie(&headers, SESSION_COOKIE).map(str::to_string);
    let name = cu.user.name.clone();
    let r = state
        .blocking(move |d, now| {
            let Some(sid) = sid else { return Ok(()) };
            yuqing_desk::people::sign_out(&d.store, &name, &sid, now)?;
            Ok(())
        })
        .await;
    match r {
        Ok(()) => {
            let mut resp = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login?out=1")]).into_response();
            if let Some(v) = set_cookie(SESSION_COOKIE, "", "/", 0, secure(&state, &headers)) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/stories/3?page=2")), "/stories/3?page=2");
        assert_eq!(safe_next(Some("/search?q=%E5%8C%BB%E9%99%A2&page=2")), "/search?q=%E5%8C%BB%E9%99%A2&page=2");
        assert_eq!(safe_next(Some("/")), "/");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "/x\\y",
            "javascript:alert(1)",
            "/login?next=/",
            "",
            "evil.example",
            // Browsers drop tabs and newlines in a URL: these would be //evil.example/x.
            "/\t/evil.example/x",
            "/\n/evil.example",
            "/\r\n/evil.example",
            // The same after percent-decoding.
            "/%09/evil.example/x",
            "/%0a/evil.example",
            "/%0D%0A/evil.example",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5C/evil.example",
            "/%5cevil.example",
            "/ok%00",
            "/a%7Fb",
            // A newline cannot be sent in a Location header at all.
            "/alerts\r\nSet-Cookie: x=1",
            "/alerts x",
            "/医院",
            " /alerts",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn every_accepted_next_is_a_valid_location_header() {
        for n in ["/", "/alerts?x=1", "/a/b#c", "/%E5%8C%BB"] {
            let next = safe_next(Some(n));
            assert_eq!(next, n);
            assert!(HeaderValue::from_str(&next).is_ok(), "{n}");
        }
    }
}
