//! yuqing-text — Chinese text analysis for 舆情监测: normalize, segment, watch rules,
//! near-duplicate hashing, sentiment and topics, joined in one analysis stage.
//!
//! Invariant: pure. No I/O, no clock; models and tables are compiled in or passed in.

pub mod analyze;
pub mod anchor;
pub mod brief;
pub mod copies;
pub mod dedup;
pub mod hashtag;
pub mod headline;
pub mod highlight;
pub mod noise;
pub mod normalize;
pub mod places;
pub mod rules;
pub mod segment;
pub mod sentiment;
pub mod topics;

pub use analyze::{Analysis, Analyzer, AnalyzerConfig, AnalyzerError, Part};
pub use normalize::{matching_form, normalize, Normalized};
pub use segment::{is_word, Segmenter};
pub use topics::{default_lexicons, TopicLexicon};
