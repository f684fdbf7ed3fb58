//! The yuqing program: configuration, the ingest pipeline, the command line and its commands.
//! The binary (`main.rs`) only parses arguments and calls into these modules.

pub mod backtest;
pub mod bench;
pub mod bench_brief;
pub mod bench_collect;
pub mod bench_dashboard;
pub mod bench_extract;
pub mod config;
pub mod demo;
pub mod derived;
pub mod desk_cli;
pub mod eval;
pub mod eval_extraction;
pub mod live;
pub mod locality;
pub mod pipeline;
pub mod report_cli;
pub mod sentiment_baseline;
pub mod sources_cli;
pub mod themes;
pub mod train;
