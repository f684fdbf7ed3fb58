//! yuqing-core — the domain of 舆情监测: posts, stories, heat, grades, alerts.
//!
//! Invariant: nothing in this crate does I/O or reads the clock; time is always an argument.
//! Everything here is deterministic and tested directly.

pub mod input;
pub mod model;

pub use model::*;
pub mod audit;
pub mod backtest;
pub mod docfreq;
pub mod duty;
pub mod encoding;
pub mod grade;
pub mod hamming;
pub mod hashing;
pub mod heat;
pub mod incident;
pub mod intake;
pub mod people;
pub mod relevance;
pub mod span;
pub mod spike;
pub mod story;
pub mod tracker;
pub mod url;
pub mod workdays;

/// China Standard Time's offset from UTC in seconds: the one place it is written.
pub const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

/// China Standard Time (UTC+8), the local time of the response plans: what users read and
/// schedule in, and how a time written without an offset is read.
pub fn china() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(CHINA_OFFSET_SECONDS).expect("+8 h is a valid offset")
}

pub use grade::{grade_story, GradeInputs, GradePolicy, LikeFalseAlarm, Locality};
pub use heat::{HeatBucket, HeatFact, HeatSeries, HeatSummary};
pub use relevance::{FalseAlarmExample, RelevanceModel};
pub use story::{
    combined_core, Assembler, AssemblyConfig, Assignment, JoinReason, PostFeatures, StorySeed, MAX_NEAR_DUPLICATE_BITS,
};
pub use tracker::{GradeChange, PostFacts, StoryTracker};
