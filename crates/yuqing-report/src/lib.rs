//! yuqing-report — the paperwork: 日报, 周报, 专报, 考评 statistics, the 舆情处置情况报告单
//! (`DisposalReport`) and the 网络舆情隐患排查表 (`RiskItem`), built from stored data and written
//! as DOCX in the GB/T 9704-2012 layout, XLSX, HTML or PDF (through LibreOffice when installed).
//!
//! ```text
//! store ──gather──▶ inputs ──build (pure, time is an argument)──▶ model ──write──▶ docx | xlsx | html | pdf
//! ```
//!
//! Invariant: `model` builders are pure (no clock, no I/O); `gather` only reads; `store` owns the
//! report tables (archive, serial counters, disposal reports, risk items, scheduler state) and
//! every write there happens in one transaction with its audit entry and outbox messages.

pub mod chart;
pub mod docx;
pub mod gather;
pub mod html;
pub mod model;
pub mod pdf;
pub mod period;
pub mod render;
pub mod schedule;
pub mod store;
pub mod xlsx;

use chrono::NaiveTime;
use serde::{Deserialize, Deserializer};

pub use model::{
    DailyDigest, DisposalFields, DisposalReport, DisposalStatus, PeriodStats, Report, RiskFields, RiskItem,
    SpecialReport, WeeklyBulletin,
};

/// Everything that can go wrong while building or writing a report; messages in Chinese.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] yuqing_store::StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("生成 {what} 文件失败：{detail}")]
    Write { what: &'static str, detail: String },
    #[error("{0}")]
    PdfUnavailable(String),
}

pub type Result<T> = std::result::Result<T, ReportError>;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Docx,
    Xlsx,
    Html,
    Pdf,
}

impl Format {
    pub fn parse(s: &str) -> Result<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "docx" | "word" => Ok(Format::Docx),
            "xlsx" | "excel" => Ok(Format::Xlsx),
            "html" | "htm" => Ok(Format::Html),
            "pdf" => Ok(Format::Pdf),
            other => Err(ReportError::Invalid(format!("未知的格式“{other}”，可用 docx、xlsx、html、pdf"))),
        }
    }
    pub fn ext(self) -> &'static str {
        match self {
            Format::Docx => "docx",
            Format::Xlsx => "xlsx",
            Format::Html => "html",
            Format::Pdf => "pdf",
        }
    }
    pub fn mime(self) -> &'static str {
        match self {
            Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Html => "text/html; charset=utf-8",
            Format::Pdf => "application/pdf",
        }
    }
}

/// `[reports]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    /// 主送: who the disposal report is addressed to.
    pub recipient: String,
    /// 报送单位 on the forms (empty: the organization's name).
    pub issuer: String,
    /// Local time the daily digest is produced (default 17:00).
    #[serde(deserialize_with = "hhmm")]
    pub daily_at: NaiveTime,
    /// Local time on Monday the weekly bulletin for the previous week is produced (default 09:00).
    #[serde(deserialize_with = "hhmm")]
    pub weekly_at: NaiveTime,
    /// Day of the month the risk screening reminder goes to every department (default 1).
    pub reminder_day: u32,
    /// Local time of the reminder on that day (default 09:00).
    #[serde(deserialize_with = "hhmm")]
    pub reminder_at: NaiveTime,
    /// Channels the digest and bulletin go to (empty: the desk's broadcast channels).
    pub channels: Vec<String>,
    /// Hours east of UTC of the local day (default 8, Asia/Shanghai).
    pub utc_offset_hours: i32,
    /// How many posts of one story the digest lists at most.
    pub posts_per_story: usize,
}

fn hhmm<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<NaiveTime, D::Error> {
    let s = String::deserialize(d)?;
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| serde::de::Error::custom(format!("时间“{s}”应写成 HH:MM，例如 17:00")))
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            recipient: "舆情监控调度处置中心".into(),
            issuer: String::new(),
            daily_at: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or_default(),
            weekly_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            reminder_day: 1,
            reminder_at: NaiveTime::from_hms_opt(9, 0, 0).unwrap_or_default(),
            channels: Vec::new(),
            utc_offset_hours: 8,
            posts_per_story: 3,
        }
    }
}

impl ReportConfig {
    /// The local offset of report days.
    pub fn offset(&self) -> chrono::FixedOffset {
        chrono::FixedOffset::east_opt(self.utc_offset_hours.clamp(-14, 14) * 3600).unwrap_or_else(yuqing_core::china)
    }

    /// Checks what serde cannot: the reminder day exists in every month.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if !(1..=28).contains(&self.reminder_day) {
            return Err(format!("[reports] reminder_day 应在 1 到 28 之间，收到 {}", self.reminder_day));
        }
        if !(-14..=14).contains(&self.utc_offset_hours) {
            return Err(format!("[reports] utc_offset_hours 应在 -14 到 14 之间，收到 {}", self.utc_offset_hours));
        }
        Ok(())
    }
}

/// Renders a report in a format. `offset` is the local time printed.
pub fn write(report: &Report, format: Format, offset: chrono::FixedOffset) -> Result<Vec<u8>> {
    let doc = render::document(report, offset);
    match format {
        Format::Docx => docx::write(&doc),
        Format::Xlsx => xlsx::write(&doc),
        Format::Html => Ok(html::standalone(&doc).into_bytes()),
        Format::Pdf => pdf::from_docx(&docx::write(&doc)?),
    }
}
