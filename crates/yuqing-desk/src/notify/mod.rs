//! Notifications: channels (generic JSON webhook, 企业微信群机器人, 钉钉机器人, 飞书机器人, email over
//! SMTP), how each is addressed and signed, and the worker that drains the store's outbox.
//!
//! Messages are written to the outbox (`yuqing_store::outbox`) first, in the transaction of the change
//! that caused them; the worker claims due ones, delivers them without holding the store's lock,
//! records every attempt, and retries failures with backoff until delivered or expired. A channel
//! being down loses nothing; a crash between sending and recording can send a message twice (after
//! the claim's lease), so delivery is at least once and webhook receivers get the message id to
//! deduplicate on. See docs/NOTIFICATIONS.md.

pub mod config;
mod deliver;
pub mod format;
mod worker;

pub use config::{validate_channels, ChannelConfig, ChannelKind, TlsMode};
pub use deliver::{build_email, Deliverer};
pub use worker::{run_outbox_once, spawn_outbox_worker, Clock, OutboxConn, OutboxWorker, RunCounts, WorkerOptions};

use yuqing_store::StoreError;

/// Errors of configuration and of the worker's access to the store (delivery failures are not
/// errors: they are recorded attempts).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("通知渠道“{channel}”（{kind}）配置有误：{detail}")]
    Channel { channel: String, kind: &'static str, detail: String },
    #[error("有一个{0}通知渠道缺少名称（name）")]
    Unnamed(&'static str),
    #[error("通知渠道名称“{0}”重复；每个渠道的 name 应唯一")]
    DuplicateName(String),
    #[error("无法创建 HTTP 客户端：{0}")]
    Client(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("数据目录锁已损坏，请重启服务")]
    LockPoisoned,
    #[error("内部错误：{0}")]
    Internal(String),
}
