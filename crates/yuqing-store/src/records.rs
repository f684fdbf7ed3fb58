//! The shapes that cross the storage interface: what the pipeline writes and what readers get.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use yuqing_core::{Grade, GradeReason, Hit, JoinReason, Metrics, Sentiment, SourceTier, StoryStatus};

/// A post with its analysis and its story, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostRecord {
    pub id: i64,
    pub story_id: i64,
    /// Identity for exact duplicates: source + canonical URL, or source + author + content.
    #[serde(skip)]
    pub dedup_key: u64,
    #[serde(skip)]
    pub content_hash: u64,
    /// An earlier post with the same content (a copy on another site or by another author).
    pub duplicate_of: Option<i64>,
    pub source: String,
    pub url: Option<String>,
    /// Display forms: HTML removed, white space collapsed, original characters kept.
    pub title: String,
    pub text: String,
    pub author: Option<String>,
    pub place: Option<String>,
    pub published_at: DateTime<FixedOffset>,
    /// True when the input had no time and ingestion time was used.
    pub time_estimated: bool,
    pub ingested_at: DateTime<Utc>,
    pub tier: SourceTier,
    pub metrics: Metrics,
    #[serde(skip)]
    pub simhash: u64,
    pub sentiment: Sentiment,
    pub sentiment_score: f32,
    pub topics: Vec<String>,
    pub hits: Vec<Hit>,
    pub severe_words: Vec<String>,
    pub keywords: Vec<String>,
    pub join: JoinReason,
}

/// A story as stored: its identity, its grade with reasons and a summary of its heat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryRecord {
    pub id: i64,
    pub status: StoryStatus,
    /// A label: the first post's title, or the beginning of its text.
    pub title: String,
    pub keywords: Vec<String>,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub grade: Option<Grade>,
    pub reasons: Vec<GradeReason>,
    pub manual: Option<(Grade, String)>,
    pub posts: u64,
    pub sites: u32,
    pub max_tier: SourceTier,
    pub interactions: u64,
    pub negative_share: f32,
    pub rule_hits: Vec<(String, u64)>,
    pub topics: Vec<(String, u64)>,
    pub severe_words: Vec<String>,
    #[serde(skip)]
    pub centroid: Vec<(u64, f32)>,
    /// Terms the assembler finds the story through (term hashes, oldest first).
    #[serde(skip)]
    pub index_terms: Vec<u64>,
    pub updated_at: DateTime<Utc>,
}

/// An alert to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAlert {
    pub story_id: i64,
    pub from: Option<Grade>,
    pub to: Grade,
    pub reasons: Vec<GradeReason>,
    pub at: DateTime<Utc>,
}

/// One atomic write of the pipeline.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub posts: Vec<PostRecord>,
    /// Stories created or changed (upserted whole).
    pub stories: Vec<StoryRecord>,
    pub alerts: Vec<NewAlert>,
    /// Stories closed for inactivity.
    pub closed: Vec<i64>,
    /// The batch's posts that match a configured theme (专题).
    pub themes: Vec<crate::themes::ThemePost>,
    /// The places the batch's posts name.
    pub places: Vec<crate::places::PostPlace>,
}

/// A stored post of the assembler's document-frequency window, analyzed again on resume.
#[derive(Debug, Clone, PartialEq)]
pub struct RecentPost {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub title: String,
    pub text: String,
    pub source: String,
}

/// What rebuilding a story's running state needs of each of its posts.
#[derive(Debug, Clone, PartialEq)]
pub struct RestorePost {
    pub id: i64,
    pub story_id: i64,
    pub at: DateTime<Utc>,
    pub source: String,
    pub tier: SourceTier,
    pub interactions: u64,
    pub sentiment: Sentiment,
    pub simhash: u64,
    pub rules: Vec<String>,
    pub severe_words: Vec<String>,
    pub topics: Vec<String>,
    /// The post's heaviest words, so a story's keyword counts come back exactly.
    pub keywords: Vec<String>,
    /// Title and text as stored, and why the post joined its story: the story's headline is
    /// chosen again from them.
    pub title: String,
    pub text: String,
    pub join: yuqing_core::JoinReason,
}

impl RestorePost {
    /// What the post contributes to its story's heat.
    pub fn heat_fact(&self) -> yuqing_core::HeatFact {
        yuqing_core::HeatFact {
            at: self.at,
            site: yuqing_text::dedup::site_key(&self.source),
            tier: self.tier,
            interactions: self.interactions,
            negative: self.sentiment == Sentiment::Negative,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum StoryOrder {
    /// Highest grade first, then most posts.
    #[default]
    Grade,
    /// Most recent activity first.
    Recent,
    /// Most posts first.
    Posts,
}

#[derive(Debug, Clone, Default)]
pub struct StoryQuery {
    pub status: Option<StoryStatus>,
    /// Only stories graded at least this.
    pub min_grade: Option<Grade>,
    /// Only graded stories.
    pub graded_only: bool,
    /// Only stories with at least this many posts.
    pub min_posts: u64,
    pub order: StoryOrder,
    pub limit: usize,
    pub offset: usize,
}

/// One page of a listing and the total count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub posts: u64,
    pub stories: u64,
    pub open_stories: u64,
    pub graded: Vec<(Grade, u64)>,
    pub alerts: u64,
    pub negative_posts: u64,
    pub first_post_at: Option<DateTime<Utc>>,
    pub last_post_at: Option<DateTime<Utc>>,
}
