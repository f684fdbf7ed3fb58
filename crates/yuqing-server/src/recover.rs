//! A handler that panics must not take more than its own request down. Without this layer the
//! panic ends the connection's task: the client sees the connection drop and no answer. With it,
//! the panic is logged and the request answered 500 in Chinese (JSON under `/api/`, a page
//! elsewhere). Shared state survives too: the data directory's lock recovers from poisoning
//! (`yuqing_store::guard::lock`).

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use futures_util::FutureExt;

/// What a client is told when its request hit a bug.
pub(crate) const PANIC_MESSAGE: &str = "服务器内部错误：处理该请求时出现异常，已记录；请稍后重试或联系管理员";

/// The middleware (outermost layer of the router).
pub(crate) async fn catch_panic(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(%method, %path, panic = %what, "handler panicked; answered 500");
            let mut r = if api {
                // The API's one error shape (error.rs), code `internal`.
                let shown = crate::error::Shown {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: crate::error::Code::Internal,
                    message: PANIC_MESSAGE.to_string(),
                    field: None,
                    request_id: None,
                };
                (StatusCode::INTERNAL_SERVER_ERROR, Json(shown.json())).into_response()
            } else {
                let body = maud::html! { h2 { "出错了" } p { (PANIC_MESSAGE) } p { a href="/" { "返回总览" } } };
                let page = crate::auth::login_shell("出错了", body);
                (StatusCode::INTERNAL_SERVER_ERROR, Html(page)).into_response()
            };
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("a bug in a handler")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_chinese_and_the_router_keeps_serving() {
        let app = Router::new()
            .route("/boom", get(boom))
            .route("/api/v1/boom", get(boom))
            .route("/ok", get(|| async { "ok" }))
            .layer(axum::middleware::from_fn(catch_panic));
        for (path, api) in [("/boom", false), ("/api/v1/boom", true)] {
            let r = app.clone().oneshot(axum::http::Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
            let ct = r.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            let body = String::from_utf8(axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap();
            assert!(body.contains("服务器内部错误"), "{body}");
            assert!(!body.contains("a bug in a handler"), "no internal text reaches the client");
            assert_eq!(ct.starts_with("application/json"), api, "{ct}");
        }
        let r = app.oneshot(axum::http::Request::get("/ok").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}
