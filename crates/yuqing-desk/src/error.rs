//! What the application's operations fail with, in domain terms. The server turns each variant
//! into its stable error code and HTTP status (`From<DeskError> for AppError` in yuqing-server);
//! the command line prints the message. Invariant: no HTTP status here, and a store failure is
//! kept whole (the server logs it and never shows it).

use yuqing_core::incident::IncidentError;
use yuqing_store::StoreError;

/// Why a desk request failed. The messages of refusals are in Chinese, for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    /// What is missing (for the server's error code) and the message.
    #[error("{1}")]
    NotFound(Missing, String),
    /// The person's role or department may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is wrong, not about one named field.
    #[error("{0}")]
    Invalid(String),
    /// The value of the field `field` is wrong.
    #[error("{message}")]
    InvalidField { field: &'static str, message: String },
    /// It clashes with what is stored (already open, already marked…).
    #[error("{0}")]
    Conflict(String),
    /// The incident's rules refused the command (an illegal step, a locked statement, an
    /// approval out of turn…).
    #[error(transparent)]
    Incident(#[from] IncidentError),
    /// A report could not be made (a bad date, an unknown kind, …); see `ReportError`.
    #[error(transparent)]
    Report(#[from] yuqing_report::ReportError),
    /// Storage failed: not the person's fault.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a `DeskError::NotFound` did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    Incident,
    Story,
    Alert,
    Post,
    Statement,
    Attachment,
    Rule,
}

pub type DeskResult<T> = Result<T, DeskError>;
