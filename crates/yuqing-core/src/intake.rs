//! The one hand-off for posts (采集入库): whatever brings posts in — a collector run, the push API,
//! a file import — hands them to an [`Intake`], and the ingest path (analysis, stories, grades,
//! alerts, the desk) takes them from there. The trait lives here, at the bottom, so that the crates
//! that bring posts in and the crate that ingests them need not know each other: a pushed post goes
//! server → intake → desk, downward only.

use crate::PostInput;

/// The most posts one [`Intake::ingest`] call may carry and still be committed whole: the ingest
/// path commits a call as one batch of at most this many (it asserts so where the batch is sized).
pub const MAX_INTAKE: usize = 1000;

/// Takes posts in. Blocking: callers on an async runtime run it on a blocking thread.
pub trait Intake: Send + Sync {
    /// Ingests posts, each with a key of the caller's (its index in a request or a batch). `Ok`
    /// means they are committed, with what became of each; `Err` means nothing of this call was
    /// stored. A call of more than [`MAX_INTAKE`] posts may be committed in parts.
    fn ingest(&self, posts: Vec<(usize, PostInput)>) -> Result<Receipt, IntakeError>;
}

/// What became of posts handed to an [`Intake`], by the key each was handed with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Receipt {
    /// (key, post id) of each post stored.
    pub stored: Vec<(usize, i64)>,
    /// (key, post id it repeats) of each exact duplicate: of a post stored before, or of another
    /// post of the same call.
    pub duplicates: Vec<(usize, i64)>,
}

/// Why an [`Intake`] stored nothing. The text is for the operator's log, never for a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// The watch rules edited on the 监测规则 page could not be loaded, so posts are not analyzed
    /// with rules other than those in force.
    #[error("the watch rules could not be reloaded: {0}")]
    Rules(String),
    /// The store or the analysis failed.
    #[error("the posts could not be ingested: {0}")]
    Failed(String),
}
