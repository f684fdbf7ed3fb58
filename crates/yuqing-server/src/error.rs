//! One error type for every handler: `AppError`, each carrying a stable code from one table
//! (`make_error_codes!`: code, HTTP status, kind, meaning), answered by one `IntoResponse`.
//! Invariant: internal text (SQLite, I/O, a panic's payload) is logged with a request id and
//! never shown; the client gets a generic Chinese message naming that id.
//!
//! Why `?` and not `.map_err(|e| e.to_string())`: a string loses what kind of failure it was, so
//! a database message ended up in the answer as if it were the user's fault. Handlers return
//! `AppResult<T>`; storage, desk and report errors convert with `From`, refusals keep their
//! Chinese message, and everything else becomes `Internal`.
//!
//! The same error renders two ways: `{"code", "message"}` JSON under `/api/` (plus `"error"`, the
//! message again, which API clients read before codes existed), a Chinese page elsewhere. The
//! handler does not know which: `IntoResponse` writes the JSON and records what it showed in the
//! response's extensions, and the `render` middleware turns it into a page for page routes.
//! The codes are listed in docs/ERRORS.md (a test keeps the two in step).

use std::borrow::Cow;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tracing::Instrument;

use crate::AppState;

/// The family of an error; the `AppError` variant that carries its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NotFound,
    Forbidden,
    Invalid,
    Conflict,
    /// A rule refused the request (not signed in, a step the desk's rules forbid, a missing tool).
    Refused,
    Internal,
}

/// One line per error: `Variant => "code", STATUS, Kind, "meaning";`. Codes are stable: clients may
/// match on them, so a code is never renamed or reused for another meaning.
macro_rules! make_error_codes {
    ($($variant:ident => $code:literal, $status:ident, $kind:ident, $meaning:literal;)*) => {
        /// A stable error code (the `code` of an API error).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as clients see it, e.g. `incident_not_found`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            /// The HTTP status that answers it.
            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$variant => StatusCode::$status,)*
                }
            }

            pub fn kind(self) -> Kind {
                match self {
                    $(Code::$variant => Kind::$kind,)*
                }
            }

            /// What it means, in Chinese (the docs' table).
            pub fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }
        }
    };
}

make_error_codes! {
    // 400
    InvalidRequest => "invalid_request", BAD_REQUEST, Invalid, "请求参数有误（说明见 message）";
    InvalidField => "invalid_field", BAD_REQUEST, Invalid, "某个参数或字段的值无效（field 给出其名称）";
    InvalidId => "invalid_id", BAD_REQUEST, Invalid, "路径中的编号不是整数";
    InvalidJson => "invalid_json", BAD_REQUEST, Invalid, "请求体不是有效的 JSON，或含有未知字段";
    // 401, 403
    Unauthorized => "unauthorized", UNAUTHORIZED, Refused, "需要登录，或令牌无效、登录已过期";
    Forbidden => "forbidden", FORBIDDEN, Forbidden, "当前用户的角色或所属单位无权执行此操作";
    // 404
    NotFound => "not_found", NOT_FOUND, NotFound, "所请求的对象不存在";
    PageNotFound => "page_not_found", NOT_FOUND, NotFound, "没有这个页面或接口";
    IncidentNotFound => "incident_not_found", NOT_FOUND, NotFound, "处置工单不存在";
    StoryNotFound => "story_not_found", NOT_FOUND, NotFound, "舆情事件不存在";
    StoryMerged => "story_merged", NOT_FOUND, NotFound, "舆情事件已被人工并入另一事件（merged_into 给出其编号）";
    PostNotFound => "post_not_found", NOT_FOUND, NotFound, "帖文不存在";
    AlertNotFound => "alert_not_found", NOT_FOUND, NotFound, "预警不存在";
    StatementNotFound => "statement_not_found", NOT_FOUND, NotFound, "口径或口径的某一版本不存在";
    AttachmentNotFound => "attachment_not_found", NOT_FOUND, NotFound, "工单附件不存在";
    ReportNotFound => "report_not_found", NOT_FOUND, NotFound, "报表不存在";
    DisposalReportNotFound => "disposal_report_not_found", NOT_FOUND, NotFound, "处置情况报告单不存在";
    RiskNotFound => "risk_not_found", NOT_FOUND, NotFound, "隐患不存在";
    RuleNotFound => "rule_not_found", NOT_FOUND, NotFound, "监测规则不存在";
    UserNotFound => "user_not_found", NOT_FOUND, NotFound, "用户不存在";
    ThemeNotFound => "theme_not_found", NOT_FOUND, NotFound, "专题不存在（专题在配置文件的 [[themes]] 中设置）";
    SnapshotNotFound => "snapshot_not_found", NOT_FOUND, NotFound, "证据快照不存在（可能已按保留期限清理）";
    // 409
    Conflict => "conflict", CONFLICT, Conflict, "与现有数据冲突（如已存在、已标记、已签发）";
    IllegalStep => "illegal_step", CONFLICT, Conflict, "工单当前状态下不能执行该操作（message 列出可执行的操作）";
    // 422: the incident's rules refused the command
    StatementLocked => "statement_locked", UNPROCESSABLE_ENTITY, Refused, "口径已审定，文本已锁定，须起草新的口径";
    StatementInApproval => "statement_in_approval", UNPROCESSABLE_ENTITY, Refused, "口径正在审批中，不能修改";
    StatementEmpty => "statement_empty", UNPROCESSABLE_ENTITY, Refused, "口径内容为空";
    StatementUnchanged => "statement_unchanged", UNPROCESSABLE_ENTITY, Refused, "口径与上一版相同";
    StatementNotSubmittable => "statement_not_submittable", UNPROCESSABLE_ENTITY, Refused, "口径当前状态不能提交审批";
    StatementNotInApproval => "statement_not_in_approval", UNPROCESSABLE_ENTITY, Refused, "口径不在审批中";
    ApprovalOutOfTurn => "approval_out_of_turn", UNPROCESSABLE_ENTITY, Refused, "当前审批环节不属于该用户";
    CommentRequired => "comment_required", UNPROCESSABLE_ENTITY, Refused, "退回口径须写明意见";
    PreconditionFailed => "precondition_failed", UNPROCESSABLE_ENTITY, Refused, "操作的前提条件不满足（如缺少理由、口径编号不存在）";
    // 5xx
    PdfUnavailable => "pdf_unavailable", NOT_IMPLEMENTED, Refused, "服务器未安装 LibreOffice，无法生成 PDF";
    ReadOnly => "read_only", SERVICE_UNAVAILABLE, Refused, "本服务未开启写入（只读模式）";
    Internal => "internal", INTERNAL_SERVER_ERROR, Internal, "服务器内部错误；详情只记入日志，答复中给出请求编号";
}

/// What a handler may fail with. Build refusals with the constructors (`AppError::not_found`,
/// `AppError::invalid_field`, …) and let `?` convert storage, desk and report errors.
#[derive(Debug)]
pub enum AppError {
    NotFound {
        code: Code,
        message: String,
    },
    Forbidden {
        code: Code,
        message: String,
    },
    /// Bad input; `field` names the parameter or field when there is one.
    Invalid {
        code: Code,
        field: Option<Cow<'static, str>>,
        message: String,
    },
    Conflict {
        code: Code,
        message: String,
    },
    /// Refused by a rule, with the status its code gives (401, 422, 501, 503).
    Refused {
        code: Code,
        message: String,
    },
    /// A failure that is not the client's: logged with the request id, never shown. `public`, a
    /// fixed text, may tell the client what it means for them ("本批帖文均未入库").
    Internal {
        context: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
        public: Option<&'static str>,
    },
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn not_found(code: Code, message: impl Into<String>) -> AppError {
        debug_assert_eq!(code.kind(), Kind::NotFound, "{code:?}");
        AppError::NotFound { code, message: message.into() }
    }

    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::Forbidden { code: Code::Forbidden, message: message.into() }
    }

    /// Bad input that is not about one named field.
    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::Invalid { code: Code::InvalidRequest, field: None, message: message.into() }
    }

    /// Bad value of the parameter or field `field`.
    pub fn invalid_field(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> AppError {
        AppError::Invalid { code: Code::InvalidField, field: Some(field.into()), message: message.into() }
    }

    /// A path segment that should be a number (`what`: 工单, 报表, …).
    pub fn invalid_id(what: &str, got: &str) -> AppError {
        AppError::Invalid {
            code: Code::InvalidId,
            field: Some("id".into()),
            message: format!("{what}编号应为整数，收到“{got}”"),
        }
    }

    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::Conflict { code: Code::Conflict, message: message.into() }
    }

    /// A refusal by a rule; the code says the status.
    pub fn refused(code: Code, message: impl Into<String>) -> AppError {
        debug_assert_eq!(code.kind(), Kind::Refused, "{code:?}");
        AppError::Refused { code, message: message.into() }
    }

    /// An internal failure: `context` says what was being done (for the log).
    pub fn internal(context: &'static str, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> AppError {
        AppError::Internal { context, source: source.into(), public: None }
    }

    /// An internal failure with a fixed text for the client (what it means for them).
    pub fn internal_with(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
        public: &'static str,
    ) -> AppError {
        AppError::Internal { context, source: source.into(), public: Some(public) }
    }

    pub fn code(&self) -> Code {
        match self {
            AppError::NotFound { code, .. }
            | AppError::Forbidden { code, .. }
            | AppError::Invalid { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Refused { code, .. } => *code,
            AppError::Internal { .. } => Code::Internal,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    /// What the client is told. An internal error is logged here, once, with the request id.
    pub fn shown(self) -> Shown {
        let code = self.code();
        let (message, field, request_id) = match self {
            AppError::NotFound { message, .. }
            | AppError::Forbidden { message, .. }
            | AppError::Conflict { message, .. }
            | AppError::Refused { message, .. } => (message, None, None),
            AppError::Invalid { field, message, .. } => (message, field, None),
            AppError::Internal { context, source, public } => {
                let id = request_id();
                tracing::error!(request_id = %id, context, error = %source, "internal error; answered 500");
                let message = match public {
                    Some(p) => format!("{p}（请求编号 {id}）"),
                    None => internal_message(&id),
                };
                (message, None, Some(id))
            }
        };
        Shown { status: code.status(), code, message, field, request_id }
    }
}

/// The only text an internal error shows.
pub(crate) fn internal_message(request_id: &str) -> String {
    format!("服务器内部错误，请稍后重试；如仍出错，请把请求编号 {request_id} 告诉管理员")
}

/// An error as the client sees it (also kept in the response's extensions for `render`).
#[derive(Debug, Clone)]
pub struct Shown {
    pub status: StatusCode,
    pub code: Code,
    pub message: String,
    pub field: Option<Cow<'static, str>>,
    /// Internal errors only: the id the log line carries (also sent as `x-request-id`).
    pub request_id: Option<String>,
}

impl Shown {
    /// The API's error body: `{"code", "message", "error"}` (+ `"field"`).
    pub fn json(&self) -> serde_json::Value {
        let mut v = json!({"code": self.code.as_str(), "message": self.message, "error": self.message});
        if let Some(f) = &self.field {
            v["field"] = json!(f);
        }
        v
    }

    fn add_request_id(&self, r: &mut Response) {
        if let Some(v) = self.request_id.as_deref().and_then(|id| HeaderValue::from_str(id).ok()) {
            r.headers_mut().insert("x-request-id", v);
        }
    }
}

impl IntoResponse for Shown {
    fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.json())).into_response();
        self.add_request_id(&mut r);
        r.extensions_mut().insert(self);
        r
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.shown().into_response()
    }
}

impl std::fmt::Display for AppError {
    /// For logs: the internal text is included here (never sent: the response uses `shown`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::NotFound { message, .. }
            | AppError::Forbidden { message, .. }
            | AppError::Invalid { message, .. }
            | AppError::Conflict { message, .. }
            | AppError::Refused { message, .. } => f.write_str(message),
            AppError::Internal { context, source, .. } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::Internal { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------- conversions

impl From<yuqing_store::StoreError> for AppError {
    fn from(e: yuqing_store::StoreError) -> AppError {
        match e {
            // The store's refusals are worded for people ("已标记为误报", "用户已存在").
            yuqing_store::StoreError::Conflict(m) => AppError::conflict(m),
            e => AppError::internal("storage", e),
        }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> AppError {
        AppError::internal("blocking task", e)
    }
}

/// The desk's refusals keep their message and get their code; a store failure stays internal.
impl From<yuqing_desk::DeskError> for AppError {
    fn from(e: yuqing_desk::DeskError) -> AppError {
        use yuqing_core::incident::{IncidentError, StatementError};
        use yuqing_desk::{DeskError, Missing};
        match e {
            DeskError::NotFound(what, message) => {
                let code = match what {
                    Missing::Incident => Code::IncidentNotFound,
                    Missing::Story => Code::StoryNotFound,
                    Missing::Alert => Code::AlertNotFound,
                    Missing::Post => Code::PostNotFound,
                    Missing::Statement => Code::StatementNotFound,
                    Missing::Attachment => Code::AttachmentNotFound,
                    Missing::Rule => Code::RuleNotFound,
                };
                AppError::not_found(code, message)
            }
            DeskError::Forbidden(m) => AppError::forbidden(m),
            DeskError::Invalid(m) => AppError::invalid(m),
            DeskError::InvalidField { field, message } => AppError::invalid_field(field, message),
            DeskError::Conflict(m) => AppError::conflict(m),
            DeskError::Incident(e) => {
                let message = e.to_string();
                let code = match e {
                    IncidentError::Forbidden { .. } => return AppError::forbidden(message),
                    IncidentError::Illegal(_) => return AppError::Conflict { code: Code::IllegalStep, message },
                    IncidentError::Precondition(_) => Code::PreconditionFailed,
                    IncidentError::Statement(s) => match s {
                        StatementError::Locked => Code::StatementLocked,
                        StatementError::InApproval => Code::StatementInApproval,
                        StatementError::Empty => Code::StatementEmpty,
                        StatementError::Unchanged(_) => Code::StatementUnchanged,
                        StatementError::NotSubmittable(_) => Code::StatementNotSubmittable,
                        StatementError::NotInApproval(_) => Code::StatementNotInApproval,
                        StatementError::NotYourTurn { .. } => Code::ApprovalOutOfTurn,
                        StatementError::CommentRequired => Code::CommentRequired,
                    },
                };
                AppError::refused(code, message)
            }
            DeskError::Report(e) => e.into(),
            DeskError::Store(e) => e.into(),
        }
    }
}

impl From<yuqing_report::ReportError> for AppError {
    fn from(e: yuqing_report::ReportError) -> AppError {
        use yuqing_report::ReportError;
        match e {
            ReportError::NotFound(m) => AppError::not_found(Code::NotFound, m),
            ReportError::Invalid(m) => AppError::invalid(m),
            ReportError::Conflict(m) => AppError::conflict(m),
            ReportError::PdfUnavailable(m) => AppError::refused(Code::PdfUnavailable, m),
            ReportError::Store(e) => e.into(),
            e @ ReportError::Write { .. } => AppError::internal("writing a report file", e),
        }
    }
}

impl From<yuqing_desk::people::PeopleError> for AppError {
    fn from(e: yuqing_desk::people::PeopleError) -> AppError {
        use yuqing_desk::password::PasswordError;
        use yuqing_desk::people::PeopleError;
        match e {
            PeopleError::Invalid(m) => AppError::invalid(m),
            e @ PeopleError::NotFound(_) => AppError::not_found(Code::UserNotFound, e.to_string()),
            PeopleError::Password(e @ (PasswordError::TooShort | PasswordError::TooLong)) => {
                AppError::invalid_field("password", e.to_string())
            }
            PeopleError::Password(e) => AppError::internal("password hashing", e),
            PeopleError::Store(e) => e.into(),
        }
    }
}

// ---------------------------------------------------------------- request ids and pages

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The current request's id (set by `render`); a fresh one outside a request.
pub fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| new_request_id())
}

fn new_request_id() -> String {
    let mut b = [0u8; 6];
    if getrandom::fill(&mut b).is_err() {
        // No randomness: the time still tells requests apart in the log.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        return format!("{:012x}", t & 0xffff_ffff_ffff);
    }
    hex::encode(b)
}

/// Middleware: gives every request an id (in the task, for `AppError::shown`'s log line) and
/// renders the errors of page routes as a Chinese page in the desk's layout. API routes keep the
/// JSON that `IntoResponse` wrote.
pub(crate) async fn render(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let id = new_request_id();
    // Every log line of the request carries its id (the JSON log's `span`); the path only, never
    // the query string. The span is at error level so that it is there whatever YUQING_LOG allows.
    let span = tracing::error_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    let started = std::time::Instant::now();
    let mut response = REQUEST_ID.scope(id.clone(), next.run(req).instrument(span.clone())).await;
    span.in_scope(|| {
        tracing::info!(status = response.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    });
    // Every failure inside names the id its log line carries, however the handler rendered it.
    if response.status().is_server_error() && !response.headers().contains_key("x-request-id") {
        if let Ok(v) = HeaderValue::from_str(&id) {
            response.headers_mut().insert("x-request-id", v);
        }
    }
    let Some(shown) = response.extensions_mut().remove::<Shown>() else { return response };
    if api {
        return response;
    }
    error_page(&state, &shown)
}

/// The page that shows an error (page routes).
pub(crate) fn error_page(state: &AppState, shown: &Shown) -> Response {
    titled(state, "出错了", shown)
}

/// An error on a page titled after what was being done (合并事件, 处置工单, …).
pub(crate) fn titled_page(state: &AppState, title: &str, e: AppError) -> Response {
    titled(state, title, &e.shown())
}

fn titled(state: &AppState, title: &str, shown: &Shown) -> Response {
    let body = maud::html! {
        h2 { (title) }
        p.late { (shown.message) }
        p { a href="/" { "返回总览" } }
    };
    let html = crate::html::Layout::of(state, title).html(body);
    let mut r = (shown.status, [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))], html).into_response();
    shown.add_request_id(&mut r);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_str()), "code {} twice", c.as_str());
            assert!(c.as_str().chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'), "{}", c.as_str());
            assert!(!c.meaning().is_empty());
        }
    }

    #[test]
    fn statuses_follow_the_kind() {
        for &c in Code::ALL {
            let s = c.status();
            match c.kind() {
                Kind::NotFound => assert_eq!(s, StatusCode::NOT_FOUND, "{c:?}"),
                Kind::Forbidden => assert_eq!(s, StatusCode::FORBIDDEN, "{c:?}"),
                Kind::Invalid => assert_eq!(s, StatusCode::BAD_REQUEST, "{c:?}"),
                Kind::Conflict => assert_eq!(s, StatusCode::CONFLICT, "{c:?}"),
                Kind::Internal => assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{c:?}"),
                Kind::Refused => assert!(s.is_client_error() || s.is_server_error(), "{c:?}"),
            }
        }
        assert_eq!(AppError::not_found(Code::IncidentNotFound, "x").status(), StatusCode::NOT_FOUND);
        assert_eq!(AppError::forbidden("x").status(), StatusCode::FORBIDDEN);
        assert_eq!(AppError::invalid_field("limit", "x").status(), StatusCode::BAD_REQUEST);
        assert_eq!(AppError::conflict("x").status(), StatusCode::CONFLICT);
        assert_eq!(AppError::refused(Code::StatementLocked, "x").status(), StatusCode::UNPROCESSABLE_ENTITY);
    }

    /// The statuses the desk's errors were answered with before codes existed.
    #[test]
    fn desk_errors_keep_their_statuses() {
        use yuqing_core::incident::{IncidentError, StatementError};
        use yuqing_desk::{DeskError, Missing};
        let cases: Vec<(DeskError, StatusCode, Code)> = vec![
            (DeskError::NotFound(Missing::Incident, "没有".into()), StatusCode::NOT_FOUND, Code::IncidentNotFound),
            (DeskError::Forbidden("无权".into()), StatusCode::FORBIDDEN, Code::Forbidden),
            (DeskError::Invalid("空".into()), StatusCode::BAD_REQUEST, Code::InvalidRequest),
            (DeskError::Conflict("已在".into()), StatusCode::CONFLICT, Code::Conflict),
            (
                DeskError::InvalidField { field: "expr", message: "表达式有误".into() },
                StatusCode::BAD_REQUEST,
                Code::InvalidField,
            ),
            (DeskError::NotFound(Missing::Rule, "没有".into()), StatusCode::NOT_FOUND, Code::RuleNotFound),
            (
                DeskError::Incident(IncidentError::Statement(StatementError::Locked)),
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::StatementLocked,
            ),
            (
                DeskError::Incident(IncidentError::Precondition("缺".into())),
                StatusCode::UNPROCESSABLE_ENTITY,
                Code::PreconditionFailed,
            ),
            (
                DeskError::Incident(IncidentError::Forbidden { who: "甲".into(), what: "审批".into() }),
                StatusCode::FORBIDDEN,
                Code::Forbidden,
            ),
        ];
        for (e, status, code) in cases {
            let a = AppError::from(e);
            assert_eq!((a.status(), a.code()), (status, code));
        }
    }

    #[tokio::test]
    async fn api_errors_are_code_and_message_in_json() {
        let r = AppError::invalid_field("limit", "参数 limit 应为非负整数").into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.expect("body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(v["code"], "invalid_field");
        assert_eq!(v["message"], "参数 limit 应为非负整数");
        assert_eq!(v["error"], v["message"]);
        assert_eq!(v["field"], "limit");
    }

    #[tokio::test]
    async fn internal_text_is_never_in_the_body() {
        let store =
            yuqing_store::StoreError::Corrupt { what: "incident".into(), detail: "no such table: secret_table".into() };
        let e = AppError::from(store);
        assert!(e.to_string().contains("secret_table"), "the log line keeps it: {e}");
        let r = REQUEST_ID.scope("abc123".to_string(), async move { e.into_response() }).await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.expect("body");
        let text = String::from_utf8(body.to_vec()).expect("utf-8");
        assert!(!text.contains("secret_table") && !text.contains("无法解析"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["code"], "internal");
        assert!(v["message"].as_str().is_some_and(|m| m.contains("abc123")), "{v}");
    }

    #[test]
    fn store_conflicts_are_shown_other_store_errors_are_not() {
        let e = AppError::from(yuqing_store::StoreError::Conflict("舆情事件 #3 已标记为误报".into()));
        assert_eq!(e.code(), Code::Conflict);
        assert!(e.shown().message.contains("已标记"));
    }

    /// docs/ERRORS.md lists every code with its status.
    #[test]
    fn the_docs_list_every_code() {
        let doc = include_str!("../../../docs/ERRORS.md");
        for c in Code::ALL {
            let row = format!("| `{}` | {} |", c.as_str(), c.status().as_u16());
            assert!(doc.contains(&row), "docs/ERRORS.md lacks the row starting {row}");
        }
    }
}
