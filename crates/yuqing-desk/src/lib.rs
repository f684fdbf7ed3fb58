//! yuqing-desk — the application layer: what people and the clock do to the data, whoever asks
//! (the server's pages and API, or the command line). The incident desk (commands, the clock's
//! tick, alerts to the people on duty), people and their passwords, notifications and the outbox
//! worker, the sign-in's writes, saving watch rules with their audit entry, reports on request and on schedule, and the
//! one permission table.
//!
//! Invariant: no HTTP. Operations take the store and the time as arguments, write each change with
//! its audit entry (and outbox messages) in one transaction, and fail with domain errors
//! ([`DeskError`], [`people::PeopleError`], [`notify::NotifyError`]) that the server maps to its
//! stable codes.
//!
//! ```no_run
//! # fn main() -> Result<(), yuqing_desk::DeskError> {
//! let store = yuqing_store::SqliteStore::open(std::path::Path::new("data/yuqing.db"))?;
//! let desk = yuqing_desk::Desk::new(yuqing_desk::DeskConfig::default());
//! let report = desk.tick(&store, chrono::Utc::now())?;
//! println!("{} alerts handled", report.alerts);
//! # Ok(())
//! # }
//! ```

pub mod desk;
pub mod error;
pub mod notify;
pub mod password;
pub mod people;
pub mod periodic;
pub mod permission;
pub mod reports;
pub mod rules;
pub mod signin;
pub mod story_edit;

pub use desk::{spawn_desk_ticker, Clock, Desk, DeskConfig, TickReport};
pub use error::{DeskError, DeskResult, Missing};
