//! yuqing-collect — live collection: an HTTP fetcher that is polite (robots.txt, per-host gaps, a
//! global concurrency cap) and careful (timeouts, size cap, conditional GET, retries), encoding
//! decisions that keep mojibake out, connectors (feeds, HTML list and article pages, search URL
//! templates, JSON APIs, drop folders), snapshots kept as evidence, and the scheduler.
//!
//! Invariants: extraction never fails — a broken feed yields what parsed plus errors; parsing and
//! extraction are pure (`encoding`, `extract`, `robots`, `source`); no lock of the data directory
//! is held across a network call; cursors move only after the posts they cover are stored.

pub mod article;
#[doc(hidden)]
pub mod article_legacy;
pub mod collector;
pub mod extract;
pub mod feed;
pub mod fetch;
pub mod html_limit;
pub mod html_text;
pub mod robots;
pub mod scheduler;
pub mod source;

pub use collector::{collect, run, Collected, Context, RunReport, SourceAlarm};
pub use fetch::{CollectConfig, FetchError, Fetcher};
pub use source::{Source, SourceKind};
