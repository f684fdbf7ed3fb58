//! yuqing-store — persistence for yuqing: the `Store` interface, its embedded SQLite implementation
//! (WAL, versioned migrations) and the tantivy full-text index, both under one data directory.
//!
//! Invariant: posts and alerts are append-only; the full-text index is derived data, rebuilt from
//! SQLite when it is behind or damaged, so a crash can lose neither.

pub mod auth;
pub mod backup;
pub mod brief;
pub mod collect;
#[cfg(test)]
mod contract_tests;
pub mod dashboard;
mod datadir;
pub mod desk;
#[cfg(test)]
mod desk_contract_tests;
pub mod false_alarm;
mod fts;
pub mod guard;
mod migrations;
pub mod ops_metrics;
pub mod outbox;
pub mod pg;
pub mod places;
mod records;
pub mod replay;
pub mod report_tables;
mod rows;
pub mod rules;
mod sql;
mod sqlite;
#[cfg(test)]
mod state_contract_tests;
pub mod story_edit;
pub mod themes;
pub mod volumes;
mod work;

pub use datadir::DataDir;
pub use fts::{FullTextIndex, IndexWords, SearchHits};
pub use records::*;
/// The database handle the store's functions take (`store.connection()`, a transaction). Crates
/// above the store name it through here and never write SQL themselves, so only the store
/// depends on the SQLite driver.
pub use rusqlite::Connection;
pub use sqlite::{PostFilter, SqliteStore, COUNT_CAP};
pub use work::Work;

/// How deep any list may be read: the rows (or search hits) skipped before a page. The server
/// refuses deeper pages with a 400; the store itself never asks the full-text index for more
/// than this many hits plus one page (a top-K that large would be allocated up front).
pub const MAX_OFFSET: usize = 10_000;

use std::collections::HashMap;
use std::path::PathBuf;

use yuqing_core::{Alert, Grade};

/// Everything that can go wrong in storage; messages are in Chinese for the user, with the path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("数据库错误：{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("数据库错误：{0}")]
    Postgres(#[from] postgres::Error),
    #[error("全文索引错误：{0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("无法访问 {path}：{source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("数据目录 {0} 正被另一个 yuqing 进程使用（锁文件 yuqing.lock）；请先停止那个进程")]
    Locked(PathBuf),
    #[error("数据目录 {path} 的数据库版本为 {found}，高于本程序支持的 {supported}；请升级 yuqing")]
    TooNew { path: PathBuf, found: i64, supported: i64 },
    #[error("{0}")]
    Conflict(String),
    #[error("存储的数据无法解析（{what}）：{detail}")]
    Corrupt { what: String, detail: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// The storage interface the pipeline and the readers use. The embedded SQLite store implements
/// it; a PostgreSQL store will implement the same for deployments past one machine.
pub trait Store: Send {
    /// One past the largest post id stored.
    fn next_post_id(&self) -> Result<i64>;
    /// One past the largest story id stored.
    fn next_story_id(&self) -> Result<i64>;
    /// Which of these dedup keys are already stored, and the post stored under each.
    fn known_dedup_keys(&self, keys: &[u64]) -> Result<HashMap<u64, i64>>;
    /// The first stored post with this content hash, if any.
    fn first_with_content(&self, content_hash: u64) -> Result<Option<i64>>;
    /// Writes a batch atomically: all of it or nothing.
    fn write(&mut self, batch: &WriteBatch) -> Result<()>;

    /// Open stories, for the assembler to resume.
    fn open_stories(&self) -> Result<Vec<StoryRecord>>;
    /// The posts of the given stories, in id order, reduced to what rebuilding their state needs.
    fn restore_posts(&self, stories: &[i64]) -> Result<Vec<RestorePost>>;
    /// The latest publication time of any stored post.
    fn latest_post_time(&self) -> Result<Option<chrono::DateTime<chrono::Utc>>>;
    /// Every post published at or after `since`, in id order: the assembler's document-frequency
    /// window, analyzed again on resume.
    fn texts_since(&self, since: chrono::DateTime<chrono::Utc>) -> Result<Vec<RecentPost>>;
    /// [`Store::texts_since`] of the posts whose title or text has a `#` (half or full width): the
    /// ones that may carry hashtags, for the assembler's copy window, analyzed again on resume.
    fn tagged_texts_since(&self, since: chrono::DateTime<chrono::Utc>) -> Result<Vec<RecentPost>>;

    fn stories(&self, query: &StoryQuery) -> Result<Page<StoryRecord>>;
    fn story(&self, id: i64) -> Result<Option<StoryRecord>>;
    fn story_posts(&self, story: i64, limit: usize, offset: usize) -> Result<Page<PostRecord>>;
    fn posts_by_ids(&self, ids: &[i64]) -> Result<Vec<PostRecord>>;
    /// Posts after `after_id` in id order (to rebuild the full-text index).
    fn posts_after(&self, after_id: i64, limit: usize) -> Result<Vec<PostRecord>>;
    fn story_restore_posts(&self, story: i64) -> Result<Vec<RestorePost>> {
        self.restore_posts(&[story])
    }
    fn alerts(&self, limit: usize) -> Result<Vec<Alert>>;
    fn story_alerts(&self, story: i64) -> Result<Vec<Alert>>;
    /// Sets (or clears, with `None`) the grade given by hand; false when the story does not exist.
    fn set_manual_grade(&mut self, story: i64, grade: Option<(Grade, String)>) -> Result<bool>;
    fn stats(&self) -> Result<Stats>;
}

/// A story's hourly heat, computed from its stored posts.
pub fn story_heat(store: &dyn Store, story: i64) -> Result<Vec<yuqing_core::HeatBucket>> {
    let mut series = yuqing_core::HeatSeries::new();
    for p in store.story_restore_posts(story)? {
        series.add(&p.heat_fact());
    }
    Ok(series.buckets())
}
