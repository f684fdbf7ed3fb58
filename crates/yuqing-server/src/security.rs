//! Browser security headers on every answer — pages, API, errors, assets, the sign-in form — put
//! on by one middleware layer outermost in `router()`:
//!
//! - `Content-Security-Policy`: everything from the desk itself only, nothing inline (no inline
//!   script, style or event handler is allowed: the pages have none, see `assets`), no plugins, no
//!   `<base>`, forms post only to the desk, and no page may frame the desk.
//! - `X-Frame-Options: DENY` for browsers that ignore `frame-ancestors`.
//! - `X-Content-Type-Options: nosniff`: a download or snapshot is never run as a script or page.
//! - `Referrer-Policy: same-origin`: the desk's addresses (incident numbers, search words) are not
//!   sent to the sites a post links to.
//!
//! A header a handler has set itself is kept.

use axum::extract::Request;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The policy. `default-src 'self'` covers scripts, styles, images, fonts and connections
/// (`fetch`, `EventSource`); the other directives do not fall back to it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers and their values.
pub const HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
];

/// Adds the headers to the response of every request.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (name, value) in HEADERS {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    res
}
