//! yuqing-ingest — the ingest path: the configuration (`yuqing.toml`), the pipeline that turns
//! posts into analyzed, assembled and graded stories with their alerts, and the live owner of the
//! pipeline ([`live::Live`]) that the collectors and the push API hand posts to through the one
//! hand-off, [`yuqing_core::intake::Intake`]. Alerts raised go straight on to the desk
//! (yuqing-desk): a post travels server or collector → intake → pipeline → desk, downward only.
//!
//! Invariant: no HTTP and no command line; the binary wires the live owner to the server and the
//! collectors.

pub mod config;
pub mod derived;
pub mod live;
pub mod locality;
pub mod pipeline;
pub mod themes;
