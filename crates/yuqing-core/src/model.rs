//! Domain types shared by every stage (see the glossary in DESIGN.md).
//! Plain data: no behaviour beyond parsing and display of the closed enums.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

/// 源级别: how authoritative and far-reaching a source is.
/// Ordered from the least to the most far-reaching, so `max()` gives the highest tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub enum SourceTier {
    /// 论坛/社区/自媒体
    #[default]
    Community,
    /// 地方媒体
    Local,
    /// 省级媒体
    Provincial,
    /// 中央/全国性媒体与门户
    Central,
}

impl SourceTier {
    pub const ALL: [SourceTier; 4] =
        [SourceTier::Community, SourceTier::Local, SourceTier::Provincial, SourceTier::Central];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceTier::Community => "Community",
            SourceTier::Local => "Local",
            SourceTier::Provincial => "Provincial",
            SourceTier::Central => "Central",
        }
    }

    /// The label users read.
    pub fn label_zh(self) -> &'static str {
        match self {
            SourceTier::Community => "社区/自媒体",
            SourceTier::Local => "地方媒体",
            SourceTier::Provincial => "省级媒体",
            SourceTier::Central => "中央媒体",
        }
    }

    pub fn from_index(i: u8) -> Option<SourceTier> {
        SourceTier::ALL.get(i as usize).copied()
    }

    pub fn index(self) -> u8 {
        self as u8
    }
}

impl FromStr for SourceTier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "Community" | "community" | "社区" | "自媒体" | "论坛" => Ok(SourceTier::Community),
            "Local" | "local" | "地方" | "市级" | "县级" => Ok(SourceTier::Local),
            "Provincial" | "provincial" | "省级" => Ok(SourceTier::Provincial),
            "Central" | "central" | "中央" | "全国" => Ok(SourceTier::Central),
            other => Err(format!("未知的源级别“{other}”，应为 Central、Provincial、Local 或 Community")),
        }
    }
}

/// Interaction counts as published by the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Metrics {
    pub reads: u64,
    pub comments: u64,
    pub reposts: u64,
    pub likes: u64,
}

impl Metrics {
    /// Interactions that show engagement (reads are not counted: they are not an act).
    pub fn interactions(&self) -> u64 {
        self.comments.saturating_add(self.reposts).saturating_add(self.likes)
    }
}

/// A post as it arrives (帖文), before analysis. Only `text` or `title` is required.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PostInput {
    pub source: Option<String>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub text: Option<String>,
    pub author: Option<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub tier: Option<SourceTier>,
    #[serde(default)]
    pub metrics: Metrics,
    pub place: Option<String>,
}

impl PostInput {
    pub fn title_str(&self) -> &str {
        self.title.as_deref().unwrap_or("")
    }
    pub fn text_str(&self) -> &str {
        self.text.as_deref().unwrap_or("")
    }
    pub fn source_str(&self) -> &str {
        self.source.as_deref().unwrap_or("")
    }
}

/// 噪声: what kind of noise a post is (see `yuqing_text::noise`): stored, shown and searchable,
/// never a reason to grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NoiseKind {
    /// 广告: selling, with a call to buy.
    Advertising,
    /// 抽奖: follow-and-repost lotteries.
    Lottery,
    /// 星座运势: horoscopes.
    Horoscope,
    /// 营销: agents wanted, add-me-on-WeChat marketing (微商).
    Marketing,
    /// 无文字: no words of the author's own (a bare repost, emoji codes, a link).
    NoText,
    /// 搬运文案: a passage pasted under hashtags it has nothing to do with, seen earlier under
    /// others (`JoinReason::Copied`): known from the stream, not from the post alone.
    Copied,
}

impl NoiseKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            NoiseKind::Advertising => "广告",
            NoiseKind::Lottery => "抽奖",
            NoiseKind::Horoscope => "星座运势",
            NoiseKind::Marketing => "营销",
            NoiseKind::NoText => "无文字",
            NoiseKind::Copied => "搬运文案",
        }
    }

    /// Commercial noise (everything but [`NoiseKind::NoText`] and [`NoiseKind::Copied`]): a story
    /// made mostly of it is not graded. A bare repost still shows that a matter spreads; a pasted
    /// passage is told from the stream, and the volumes of rules and topics, counted from each
    /// post's text alone, count it as before.
    pub fn is_commercial(self) -> bool {
        !matches!(self, NoiseKind::NoText | NoiseKind::Copied)
    }
}

/// 情感倾向.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub const ALL: [Sentiment; 3] = [Sentiment::Negative, Sentiment::Neutral, Sentiment::Positive];

    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Negative => "Negative",
            Sentiment::Neutral => "Neutral",
            Sentiment::Positive => "Positive",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Sentiment::Negative => "负面",
            Sentiment::Neutral => "中性",
            Sentiment::Positive => "正面",
        }
    }
    pub fn index(self) -> usize {
        self as usize
    }
    pub fn from_index(i: usize) -> Option<Sentiment> {
        Sentiment::ALL.get(i).copied()
    }
}

impl FromStr for Sentiment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Negative" => Ok(Sentiment::Negative),
            "Neutral" => Ok(Sentiment::Neutral),
            "Positive" => Ok(Sentiment::Positive),
            other => Err(format!("未知的情感倾向“{other}”")),
        }
    }
}

/// 级别. `IV` 一般 is the lowest, `I` 特别重大 the highest; `Ord` follows severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Grade {
    IV,
    III,
    II,
    I,
}

impl Grade {
    pub const ALL: [Grade; 4] = [Grade::IV, Grade::III, Grade::II, Grade::I];

    pub fn as_str(self) -> &'static str {
        match self {
            Grade::IV => "IV",
            Grade::III => "III",
            Grade::II => "II",
            Grade::I => "I",
        }
    }
    /// 一般 / 较大 / 重大 / 特别重大
    pub fn label_zh(self) -> &'static str {
        match self {
            Grade::IV => "一般",
            Grade::III => "较大",
            Grade::II => "重大",
            Grade::I => "特别重大",
        }
    }
    /// One level lower (一般 stays 一般).
    pub fn lower(self) -> Grade {
        match self {
            Grade::I => Grade::II,
            Grade::II => Grade::III,
            Grade::III | Grade::IV => Grade::IV,
        }
    }
    /// The colour the response plans attach to the grade.
    pub fn color(self) -> &'static str {
        match self {
            Grade::IV => "blue",
            Grade::III => "yellow",
            Grade::II => "orange",
            Grade::I => "red",
        }
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Grade {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "IV" | "4" | "一般" | "Ⅳ" => Ok(Grade::IV),
            "III" | "3" | "较大" | "Ⅲ" => Ok(Grade::III),
            "II" | "2" | "重大" | "Ⅱ" => Ok(Grade::II),
            "I" | "1" | "特别重大" | "Ⅰ" => Ok(Grade::I),
            other => Err(format!("未知的级别“{other}”，应为 IV、III、II 或 I（一般、较大、重大、特别重大）")),
        }
    }
}

/// 定级依据: one policy rule that fired, with the numbers that made it fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeReason {
    /// The grade this rule gives.
    pub grade: Grade,
    /// Stable machine name of the rule, e.g. `post_count`, `mainstream_media`.
    pub rule: String,
    /// What a user reads: the rule and its numbers, in Chinese.
    pub detail: String,
}

/// 命中: a watch rule matched a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    pub rule: String,
    /// The phrases of the rule found in the post.
    pub terms: Vec<String>,
}

/// 预警: a story reached or rose to a grade.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    pub story_id: i64,
    pub from: Option<Grade>,
    pub to: Grade,
    pub reasons: Vec<GradeReason>,
    pub at: DateTime<Utc>,
}

/// A story's open/closed state: closed stories take no new posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoryStatus {
    Open,
    Closed,
}

impl StoryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StoryStatus::Open => "Open",
            StoryStatus::Closed => "Closed",
        }
    }
}
