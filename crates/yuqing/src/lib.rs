//! The yuqing program: the command line and its commands, over the ingest path (yuqing-ingest,
//! whose modules are re-exported here under their old names), the desk and the server.
//! The binary (`main.rs`) only parses arguments and calls into these modules.

pub mod backtest;
pub mod backup_cli;
pub mod bench;
pub mod bench_brief;
pub mod bench_collect;
pub mod bench_dashboard;
pub mod bench_extract;
pub mod bench_store;
pub mod demo;
pub mod desk_cli;
pub mod doctor;
pub mod eval;
pub mod eval_extraction;
pub mod init;
pub mod report_cli;
pub mod sentiment_baseline;
pub mod sources_cli;
pub mod train;

pub use yuqing_ingest::{config, derived, live, locality, pipeline, themes};
