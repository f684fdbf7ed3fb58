//! yuqing-core — the domain of 舆情监测: posts, stories, heat, grades, alerts.
//!
//! Invariant: nothing in this crate does I/O or reads the clock; time is always an argument.
//! Everything here is deterministic and tested directly.

pub mod input;
pub mod model;

pub use model::*;
pub mod grade;
pub mod spike;
pub mod hamming;
pub mod hashing;
pub mod heat;
pub mod docfreq;
pub mod story;
pub mod relevance;
pub mod tracker;
pub mod url;
pub mod audit;
pub mod backtest;
pub mod duty;
pub mod incident;
pub mod people;
pub mod span;

/// China Standard Time's offset from UTC in seconds: the one place it is written.
pub const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

/// China Standard Time (UTC+8), the local time of the response plans: what users read and
/// schedule in, and how a time written without an offset is read.
pub fn china() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(CHINA_OFFSET_SECONDS).expect("+8 h is a valid offset")
}

pub use grade::{grade_story, GradeInputs, GradePolicy, LikeFalseAlarm, Locality};
pub use heat::{HeatBucket, HeatFact, HeatSeries, HeatSummary};
pub use story::{combined_core, Assembler, MAX_NEAR_DUPLICATE_BITS, AssemblyConfig, Assignment, JoinReason, PostFeatures, StorySeed};
pub use relevance::{FalseAlarmExample, RelevanceModel};
pub use tracker::{GradeChange, PostFacts, StoryTracker};
