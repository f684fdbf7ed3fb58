//! Typed extractors whose refusals are `AppError`s: a bad query string answers a Chinese 400 that
//! names the parameter (axum's own rejections are English plain text).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The query string as `T`, or a 400 naming the parameter that is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AppError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri).map(|q| Query(q.0)).map_err(|r| refusal(&r.body_text()))
    }
}

/// axum says "Failed to deserialize query string: NAME: why"; the person is told which parameter.
fn refusal(text: &str) -> AppError {
    let field = text
        .split_once("query string: ")
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(name, _)| name.trim())
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    match field {
        Some(name) => AppError::invalid_field(name.to_string(), format!("参数 {name} 的值无效")),
        None => AppError::invalid("查询参数有误，请检查参数名称与取值"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Versions {
        from: Option<u32>,
    }

    async fn extract(uri: &str) -> Result<Versions, AppError> {
        let (mut parts, ()) = axum::http::Request::get(uri).body(()).expect("request").into_parts();
        Query::<Versions>::from_request_parts(&mut parts, &()).await.map(|q| q.0)
    }

    #[tokio::test]
    async fn a_bad_parameter_is_named_in_chinese() {
        assert_eq!(extract("/x?from=3").await.expect("parses").from, Some(3));
        assert_eq!(extract("/x").await.expect("parses").from, None);
        let e = extract("/x?from=abc").await.expect_err("refused");
        let shown = e.shown();
        assert_eq!((shown.status.as_u16(), shown.code.as_str()), (400, "invalid_field"));
        assert_eq!(shown.field.as_deref(), Some("from"));
        assert_eq!(shown.message, "参数 from 的值无效");
    }
}
