//! Typed extractors whose refusals are `AppError`s: a bad query string or form field answers a
//! Chinese 400 that names the parameter (axum's own rejections are English plain text).
//!
//! Forms post an empty text box as `name=`; [`empty_as_none`] reads such a field as unset, the way
//! the handlers read `HashMap<String, String>` forms before.

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

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

/// A form body (or, for GET, the query string) as `T`, or a 400 naming the field that is wrong.
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

/// Why a form was not read: a field's value ([`AppError`], a Chinese 400), or the body itself
/// (wrong content type, too large: axum's own answer and status, as before typed forms).
#[derive(Debug)]
pub enum FormRefusal {
    Field(AppError),
    Body(FormRejection),
}

impl IntoResponse for FormRefusal {
    fn into_response(self) -> Response {
        match self {
            FormRefusal::Field(e) => e.into_response(),
            FormRefusal::Body(r) => r.into_response(),
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Form<T> {
    type Rejection = FormRefusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, FormRefusal> {
        match axum::extract::Form::<T>::from_request(req, state).await {
            Ok(f) => Ok(Form(f.0)),
            Err(r @ (FormRejection::FailedToDeserializeForm(_) | FormRejection::FailedToDeserializeFormBody(_))) => {
                Err(FormRefusal::Field(form_refusal(&r.body_text())))
            }
            Err(r) => Err(FormRefusal::Body(r)),
        }
    }
}

/// A text field where an empty (or blank) value means "unset": `Some(text as given)` or `None`.
/// Use with `#[serde(default, deserialize_with = "empty_as_none")]`.
pub fn empty_as_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<String>::deserialize(d)?;
    Ok(v.filter(|s| !s.trim().is_empty()))
}

/// axum says "Failed to deserialize query string: NAME: why"; the person is told which parameter.
fn refusal(text: &str) -> AppError {
    named(text, "query string: ").unwrap_or_else(|| AppError::invalid("查询参数有误，请检查参数名称与取值"))
}

/// axum says "Failed to deserialize form[ body]: NAME: why"; the person is told which field.
fn form_refusal(text: &str) -> AppError {
    let after = if text.contains("form body: ") { "form body: " } else { "form: " };
    named(text, after).unwrap_or_else(|| AppError::invalid("表单内容有误，请检查各项填写"))
}

fn named(text: &str, after: &str) -> Option<AppError> {
    let field = text
        .split_once(after)
        .and_then(|(_, rest)| rest.split_once(':'))
        .map(|(name, _)| name.trim())
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    field.map(|name| AppError::invalid_field(name.to_string(), format!("参数 {name} 的值无效")))
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

    #[derive(Debug, serde::Deserialize)]
    struct Entry {
        count: Option<u32>,
        #[serde(default, deserialize_with = "empty_as_none")]
        note: Option<String>,
    }

    async fn post(body: &'static str) -> Result<Entry, FormRefusal> {
        let req = axum::http::Request::post("/x")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(axum::body::Body::from(body))
            .expect("request");
        Form::<Entry>::from_request(req, &()).await.map(|f| f.0)
    }

    #[tokio::test]
    async fn a_bad_form_field_is_named_in_chinese() {
        let ok = post("count=2&note=%E5%A5%BD").await.expect("parses");
        assert_eq!((ok.count, ok.note.as_deref()), (Some(2), Some("好")));
        let blank = post("count=&note=").await;
        // An empty number is not a number: refused, naming the field.
        let Err(FormRefusal::Field(e)) = blank else { panic!("refused as a field") };
        assert_eq!(e.shown().field.as_deref(), Some("count"));
        let unset = post("note=+").await.expect("parses");
        assert_eq!((unset.count, unset.note), (None, None));
        let Err(FormRefusal::Field(e)) = post("count=many").await else { panic!("refused as a field") };
        let shown = e.shown();
        assert_eq!((shown.status.as_u16(), shown.code.as_str()), (400, "invalid_field"));
        assert_eq!(shown.field.as_deref(), Some("count"));
        assert_eq!(shown.message, "参数 count 的值无效");
    }

    #[tokio::test]
    async fn a_repeated_parameter_is_refused_not_silently_dropped() {
        // A `HashMap` kept the last of `?from=1&from=2`; a typed query refuses it with a 400.
        let e = extract("/x?from=1&from=2").await.expect_err("refused");
        let shown = e.shown();
        assert_eq!((shown.status.as_u16(), shown.code.as_str()), (400, "invalid_request"));
        assert_eq!(shown.message, "查询参数有误，请检查参数名称与取值");
        let Err(FormRefusal::Field(e)) = post("note=a&note=b").await else { panic!("refused as a field") };
        assert_eq!(e.shown().message, "表单内容有误，请检查各项填写");
    }

    #[tokio::test]
    async fn a_body_that_is_not_a_form_keeps_axums_status() {
        let req = axum::http::Request::post("/x").body(axum::body::Body::from("count=1")).expect("request");
        let Err(r) = Form::<Entry>::from_request(req, &()).await else { panic!("refused") };
        assert_eq!(r.into_response().status().as_u16(), 415);
    }

    #[tokio::test]
    async fn a_get_form_reads_the_query_string() {
        let req = axum::http::Request::get("/x?count=abc").body(axum::body::Body::empty()).expect("request");
        let Err(FormRefusal::Field(e)) = Form::<Entry>::from_request(req, &()).await else { panic!("refused") };
        assert_eq!(e.shown().field.as_deref(), Some("count"));
    }
}
