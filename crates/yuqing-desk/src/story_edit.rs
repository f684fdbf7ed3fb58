//! Hand edits of stories (合并 / 拆分 / 误报): the operations the pages and the API ask for. The
//! ingest path implements them, since the change must keep its assembly state in step; the server
//! only sees this trait, so it needs no link to the pipeline.

/// What a hand edit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditDone {
    /// The change's id in the edit log.
    pub edit: i64,
    /// Merge: the story kept. Split: the new story.
    pub story: i64,
}

/// Why a hand edit was not done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    /// Not done as asked; the message (Chinese) is for the person.
    Refused(String),
    /// Something failed inside; the message is for the operator's log only.
    Failed(String),
}

/// Applies merges and splits and the 误报 marks. Implemented by the ingest path (yuqing-ingest's
/// live owner, which owns the assembly state an edit must keep in step); the server calls it
/// through this trait. Blocking.
pub trait StoryEditor: Send + Sync {
    /// Merges story `from` into story `into`.
    fn merge(&self, into: i64, from: i64, reason: &str, actor: &str) -> Result<EditDone, EditError>;
    /// Moves `posts` out of `story` into a new story.
    fn split(&self, story: i64, posts: &[i64], reason: &str, actor: &str) -> Result<EditDone, EditError>;
    /// Marks `story` 误报: it stops being graded and teaches the relevance model.
    fn mark_false_alarm(&self, story: i64, reason: &str, actor: &str) -> Result<(), EditError>;
    /// Withdraws the 误报 mark: the story is graded again at once.
    fn withdraw_false_alarm(&self, story: i64, reason: &str, actor: &str) -> Result<(), EditError>;
    /// Resets the relevance model (the marks stay); how many examples it dropped.
    fn reset_relevance(&self, actor: &str) -> Result<usize, EditError>;
}
