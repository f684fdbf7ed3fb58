//! The reports as data, and the pure functions that build them from what `gather` read. No clock,
//! no I/O: the time a report is made and the local offset are arguments, so a report is the same
//! whenever it is rebuilt from the same data.
//!
//! Reports are about the organization's own handling of matters: posts and stories appear by title
//! and link, never as lists of authors.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use yuqing_core::incident::{DeadlineKind, EventKind, Incident, IncidentState, StatementStatus};
use yuqing_core::Grade;

use crate::period::Period;

/// A post as a report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostLine {
    pub id: i64,
    pub story_id: i64,
    /// The title, or the beginning of the text when the post has none.
    pub title: String,
    pub url: Option<String>,
    pub source: String,
    pub at: DateTime<Utc>,
    pub topics: Vec<String>,
    /// A watch rule matched it.
    pub rule_hit: bool,
    pub negative: bool,
    pub interactions: u64,
}

/// A story as a report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryLine {
    pub id: i64,
    pub title: String,
    pub grade: Option<Grade>,
    /// The story's leading topic ("其他" when none).
    pub topic: String,
    pub posts: u64,
    pub sites: u32,
    pub negative_share: f32,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
}

/// 日报: the day's important posts and stories, by grade and topic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyDigest {
    pub org: String,
    pub date: NaiveDate,
    pub generated_at: DateTime<Utc>,
    pub posts_total: u64,
    pub negative_total: u64,
    pub groups: Vec<DigestGroup>,
    /// The day before, for the day-over-day change (absent in digests made before it existed).
    #[serde(default)]
    pub previous: Option<DayCounts>,
    /// 今日要情: the three to five matters a leader reads first.
    #[serde(default)]
    pub matters: Vec<Matter>,
}

/// The counts of a digest's day, to compare with the day before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    pub posts_total: u64,
    pub negative_total: u64,
    /// Stories with important posts that day.
    pub items: u64,
}

/// How the desk handles a story's matter, as the digest shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handling {
    /// The incident's state (处置中, 已办结 …).
    pub state: String,
    pub department: Option<String>,
    /// A public response was published that day.
    pub responded_today: bool,
}

/// One matter of 今日要情.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matter {
    pub story_id: i64,
    pub headline: String,
    pub grade: Option<Grade>,
    pub link: String,
    /// First seen that day.
    pub new: bool,
    /// Important posts the day before (when it rose: fewer than today).
    pub posts_before: u64,
    pub posts_today: u64,
    pub handling: Option<Handling>,
}

impl Matter {
    /// What changed that day, in words: 今日新出现 / 重要信息由 3 条增至 12 条 / 今日已公开回应.
    pub fn change_zh(&self) -> String {
        let mut parts = Vec::new();
        if self.new {
            parts.push(format!("今日新出现，重要信息 {} 条", self.posts_today));
        } else if self.posts_today > self.posts_before {
            parts.push(format!("重要信息由前一日 {} 条增至 {} 条", self.posts_before, self.posts_today));
        } else {
            parts.push(format!("今日重要信息 {} 条（前一日 {} 条）", self.posts_today, self.posts_before));
        }
        if self.handling.as_ref().is_some_and(|h| h.responded_today) {
            parts.push("今日已公开回应".into());
        }
        parts.join("，")
    }

    /// How it is handled: 已开启工单，处置中，牵头单位 卫健委 / 尚未开启处置工单.
    pub fn handling_zh(&self) -> String {
        match &self.handling {
            Some(h) => match &h.department {
                Some(d) => format!("工单{}，牵头单位{d}", h.state),
                None => format!("工单{}，尚未确定牵头单位", h.state),
            },
            None => "尚未开启处置工单".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestGroup {
    pub grade: Option<Grade>,
    pub topic: String,
    pub entries: Vec<DigestEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestEntry {
    pub story: StoryLine,
    /// The story's page in yuqing.
    pub link: String,
    /// Its important posts of the day (most interactions first).
    pub posts: Vec<PostLine>,
    /// How many important posts the story had that day in all.
    pub posts_today: u64,
}

impl DailyDigest {
    pub fn items(&self) -> usize {
        self.groups.iter().map(|g| g.entries.len()).sum()
    }
}

/// Posts of one local day by sentiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayVolume {
    pub date: NaiveDate,
    pub negative: u64,
    pub neutral: u64,
    pub positive: u64,
}

impl DayVolume {
    pub fn total(&self) -> u64 {
        self.negative + self.neutral + self.positive
    }
}

/// An incident as a report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentLine {
    pub id: i64,
    pub title: String,
    pub grade: Grade,
    pub state: String,
    pub department: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl IncidentLine {
    pub fn of(i: &Incident) -> IncidentLine {
        IncidentLine {
            id: i.id,
            title: i.title.clone(),
            grade: i.grade,
            state: i.state.label_zh().to_string(),
            department: i.lead_department.clone(),
            opened_at: i.opened_at,
            closed_at: i.closed_at,
        }
    }
}

/// 考评 by department: how its incidents went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DepartmentStats {
    pub department: String,
    pub incidents: u32,
    pub closed: u32,
    /// First-report clocks that fell due (met or past due) / met in time.
    pub report_due: u32,
    pub report_on_time: u32,
    /// Public-response clocks that fell due / met in time.
    pub response_due: u32,
    pub response_on_time: u32,
    /// Clocks missed, every kind.
    pub overdue: u32,
    /// Mean detection → first report, seconds.
    pub mean_report_secs: Option<i64>,
    /// Mean detection → first public response, seconds.
    pub mean_response_secs: Option<i64>,
}

impl DepartmentStats {
    pub fn report_rate(&self) -> Option<f64> {
        rate(self.report_on_time, self.report_due)
    }
    pub fn response_rate(&self) -> Option<f64> {
        rate(self.response_on_time, self.response_due)
    }
}

fn rate(n: u32, d: u32) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// Totals of a period: 处置舆情事件 N 起、报送信息 N 条 …
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Incidents opened in the period.
    pub incidents: u32,
    pub closed: u32,
    /// 报送信息: first reports, reports to leadership and issued disposal reports in the period.
    pub reports: u32,
    /// Statements published in the period.
    pub publications: u32,
    /// Clocks missed (recorded overdue) in the period.
    pub overdue: u32,
    /// Posts collected in the period.
    pub posts: u64,
}

/// 周报 for one week (Monday to Sunday).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeeklyBulletin {
    pub org: String,
    pub period: Period,
    pub generated_at: DateTime<Utc>,
    pub days: Vec<DayVolume>,
    pub top_stories: Vec<StoryLine>,
    pub opened: Vec<IncidentLine>,
    pub closed: Vec<IncidentLine>,
    pub departments: Vec<DepartmentStats>,
    pub totals: Totals,
}

/// 考评: period statistics by department.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodStats {
    pub org: String,
    pub period: Period,
    pub generated_at: DateTime<Utc>,
    pub departments: Vec<DepartmentStats>,
    pub totals: Totals,
}

/// One hour of a story's spread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourPoint {
    pub hour: DateTime<Utc>,
    pub posts: u32,
    pub negative: u32,
}

/// A line of the special report's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineLine {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub text: String,
}

/// 专报 for one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecialReport {
    pub org: String,
    pub incident: IncidentLine,
    pub generated_at: DateTime<Utc>,
    pub summary: String,
    pub findings: Option<String>,
    pub cooperating: Vec<String>,
    pub timeline: Vec<TimelineLine>,
    pub spread: Vec<HourPoint>,
    pub measures: Vec<String>,
    pub statement: Option<String>,
    /// 研判摘要 of the incident's stories (absent in reports made before it existed).
    #[serde(default)]
    pub brief: Option<BriefSection>,
    /// The matter's headline (its first story's), which titles the report; absent in reports made
    /// before it existed (the incident's title then).
    #[serde(default)]
    pub headline: Option<String>,
    /// The document's title as the office wrote it when it generated the report (else
    /// 关于“headline”的舆情专报).
    #[serde(default)]
    pub title: Option<String>,
}

impl SpecialReport {
    /// What the report is about: the story's headline, else the incident's title.
    pub fn subject(&self) -> &str {
        self.headline.as_deref().filter(|h| !h.trim().is_empty()).unwrap_or(&self.incident.title)
    }
}

/// The 研判摘要 of a 专报: the brief's lines, each citing its posts by their number in `sources`
/// (〔1〕〔2〕 in the text, the list printed after).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct BriefSection {
    pub lines: Vec<BriefLine>,
    pub sources: Vec<SourceLine>,
}

/// One line of the brief: what it is (事件概要, 首发 …), what it says, and its sources (1-based).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BriefLine {
    pub label: String,
    pub text: String,
    pub refs: Vec<usize>,
}

/// A post the brief cites, as the report lists it (never its author).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceLine {
    pub id: i64,
    pub title: String,
    pub source: String,
    pub at: DateTime<Utc>,
    pub url: Option<String>,
}

impl BriefSection {
    /// Adds the lines of one story's brief (`label_prefix` names the story when there are several);
    /// `post` gives the listing of a cited post id (None: a post no longer stored is not cited).
    pub fn add(
        &mut self,
        b: &yuqing_text::brief::Brief,
        label_prefix: &str,
        offset: FixedOffset,
        post: &dyn Fn(i64) -> Option<SourceLine>,
    ) {
        let line = |section: &mut BriefSection, label: &str, text: String, ids: &[i64]| {
            let mut refs = Vec::new();
            for &id in ids {
                let n = match section.sources.iter().position(|s| s.id == id) {
                    Some(k) => k + 1,
                    None => match post(id) {
                        Some(s) => {
                            section.sources.push(s);
                            section.sources.len()
                        }
                        None => continue,
                    },
                };
                if !refs.contains(&n) {
                    refs.push(n);
                }
            }
            section.lines.push(BriefLine { label: format!("{label_prefix}{label}"), text, refs });
        };
        for c in &b.what {
            line(self, "事件概要", c.text.clone(), &c.posts[..c.posts.len().min(3)]);
        }
        if let Some(f) = &b.first_seen {
            line(self, "首发", f.describe_zh(offset), &[f.post]);
        }
        if !b.places.is_empty() {
            let text = b.places.iter().map(|p| format!("{}（{} 条）", p.name, p.count)).collect::<Vec<_>>().join("、");
            let ids: Vec<i64> = b.places.iter().filter_map(|p| p.posts.first().copied()).collect();
            line(self, "涉及地点", text, &ids);
        }
        for n in b.numbers.iter().take(5) {
            line(
                self,
                "关键数字",
                format!("{}（{}）：{}", n.figure, n.kind.label_zh(), n.clause),
                &n.posts[..n.posts.len().min(2)],
            );
        }
        if let Some(s) = &b.sentiment {
            line(self, "情感倾向", s.describe_zh(), &s.posts);
        }
        if !b.representative.is_empty() {
            let text = b
                .representative
                .iter()
                .map(|r| format!("{}（{}）", r.headline, r.tier.label_zh()))
                .collect::<Vec<_>>()
                .join("；");
            let ids: Vec<i64> = b.representative.iter().map(|r| r.post).collect();
            line(self, "代表性帖文", text, &ids);
        }
        if let Some(h) = &b.heat {
            line(self, "热度", h.describe_zh(offset), &h.posts[..h.posts.len().min(3)]);
        }
    }
}

/// Where a disposal report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisposalStatus {
    /// 草稿: editable.
    Draft,
    /// 已签发: numbered and frozen.
    Issued,
}

impl DisposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DisposalStatus::Draft => "draft",
            DisposalStatus::Issued => "issued",
        }
    }
    pub fn parse(s: &str) -> Option<DisposalStatus> {
        match s {
            "draft" => Some(DisposalStatus::Draft),
            "issued" => Some(DisposalStatus::Issued),
            _ => None,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            DisposalStatus::Draft => "草稿",
            DisposalStatus::Issued => "已签发",
        }
    }
}

/// The editable fields of the 舆情处置情况报告单.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisposalFields {
    /// 标题
    pub title: String,
    /// 舆情产生原因（事实真相）
    pub cause: String,
    /// 具体处置措施及网络舆论引导措施
    pub measures: String,
    /// 应对口径
    pub statement: String,
    /// 处置结果
    pub result: String,
    /// 责任单位
    pub department: String,
    /// 分管领导
    pub leader: String,
    /// 联系电话
    pub phone: String,
    /// 日期
    pub date: NaiveDate,
}

/// The labels of the form, in order, with the field each holds.
pub const DISPOSAL_LABELS: [(&str, &str); 9] = [
    ("title", "标题"),
    ("cause", "舆情产生原因（事实真相）"),
    ("measures", "具体处置措施及网络舆论引导措施"),
    ("statement", "应对口径"),
    ("result", "处置结果"),
    ("department", "责任单位"),
    ("leader", "分管领导"),
    ("phone", "联系电话"),
    ("date", "日期"),
];

impl DisposalFields {
    /// The value of a field by its key in `DISPOSAL_LABELS`.
    pub fn get(&self, key: &str) -> String {
        match key {
            "title" => self.title.clone(),
            "cause" => self.cause.clone(),
            "measures" => self.measures.clone(),
            "statement" => self.statement.clone(),
            "result" => self.result.clone(),
            "department" => self.department.clone(),
            "leader" => self.leader.clone(),
            "phone" => self.phone.clone(),
            "date" => crate::period::zh_date(self.date),
            _ => String::new(),
        }
    }

    /// Sets a field from text; the date must be `YYYY-MM-DD`.
    pub fn set(&mut self, key: &str, value: &str) -> crate::Result<()> {
        let v = value.trim().to_string();
        match key {
            "title" => self.title = v,
            "cause" => self.cause = v,
            "measures" => self.measures = v,
            "statement" => self.statement = v,
            "result" => self.result = v,
            "department" => self.department = v,
            "leader" => self.leader = v,
            "phone" => self.phone = v,
            "date" => self.date = crate::period::parse_date(&v, "日期")?,
            other => return Err(crate::ReportError::Invalid(format!("报告单没有字段“{other}”"))),
        }
        Ok(())
    }

    /// What must be filled before the form is issued.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        for (key, label) in DISPOSAL_LABELS {
            if key != "date" && key != "phone" && self.get(key).trim().is_empty() {
                m.push(label);
            }
        }
        m
    }
}

/// 舆情处置情况报告单.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisposalReport {
    pub id: i64,
    pub incident_id: i64,
    /// `YQCZBG-YYYY-NNN`, given when issued.
    pub serial: Option<String>,
    pub status: DisposalStatus,
    /// 主送
    pub recipient: String,
    /// 报送单位
    pub issuer: String,
    pub fields: DisposalFields,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub issued_at: Option<DateTime<Utc>>,
    pub issued_by: Option<String>,
}

/// The serial of the `n`th report of `year`.
pub fn disposal_serial(year: i32, n: i64) -> String {
    format!("YQCZBG-{year}-{n:03}")
}

/// The form's fields as the incident has them: verification findings, measures taken, the approved
/// statement, the result so far. `leader` and `phone` come from the configured approver, if any.
pub fn prefill_disposal(
    inc: &Incident,
    leader: Option<(&str, &str)>,
    today: NaiveDate,
    offset: FixedOffset,
) -> DisposalFields {
    let t = |d: &DateTime<Utc>| crate::period::zh_datetime(*d, offset);
    let mut measures: Vec<String> = Vec::new();
    for task in inc.tasks.iter().filter(|t| t.done_at.is_some()) {
        let note = task.note.as_deref().map(|n| format!("：{n}")).unwrap_or_default();
        measures.push(format!("{}{note}", task.title));
    }
    for p in &inc.publications {
        measures.push(format!(
            "{}通过{}发布回应{}",
            t(&p.at),
            p.channel.label_zh(),
            p.url.as_deref().map(|u| format!("（{u}）")).unwrap_or_default()
        ));
    }
    let statement = approved_statement(inc).unwrap_or_default();
    let mut result = format!("工单状态：{}", inc.state.label_zh());
    if let Some(r) = &inc.review {
        result.push_str(&format!("。总结评估：{}", r.lessons));
    } else if inc.state == IncidentState::Closed {
        result.push_str("，已办结");
    }
    DisposalFields {
        title: inc.title.clone(),
        cause: inc.findings.clone().unwrap_or_default(),
        measures: measures.iter().enumerate().map(|(i, m)| format!("{}. {m}", i + 1)).collect::<Vec<_>>().join("\n"),
        statement,
        result,
        department: inc.lead_department.clone().unwrap_or_default(),
        leader: leader.map(|l| l.0.to_string()).unwrap_or_default(),
        phone: leader.map(|l| l.1.to_string()).unwrap_or_default(),
        date: today,
    }
}

/// The text of the newest approved statement (the approved version), if any.
pub fn approved_statement(inc: &Incident) -> Option<String> {
    inc.statements.iter().rev().filter(|s| s.status == StatementStatus::Approved).find_map(|s| {
        s.approved_version.and_then(|v| s.versions.iter().find(|x| x.number == v)).map(|v| v.text.clone())
    })
}

/// Where a risk item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RiskStatus {
    /// 排查中/未解决
    Open,
    /// 已解决
    Resolved,
}

impl RiskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskStatus::Open => "open",
            RiskStatus::Resolved => "resolved",
        }
    }
    pub fn parse(s: &str) -> Option<RiskStatus> {
        match s {
            "open" | "未解决" => Some(RiskStatus::Open),
            "resolved" | "已解决" => Some(RiskStatus::Resolved),
            _ => None,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            RiskStatus::Open => "未解决",
            RiskStatus::Resolved => "已解决",
        }
    }
}

/// The fields of a line of the 网络舆情隐患排查表.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFields {
    /// 责任单位
    pub department: String,
    /// 舆情隐患内容
    pub content: String,
    /// 线下处置措施
    pub offline_measures: String,
    /// 线上应对措施及引导口径
    pub online_response: String,
    /// 解决时限
    pub due_date: NaiveDate,
}

impl RiskFields {
    pub fn check(&self) -> crate::Result<()> {
        if self.department.trim().is_empty() {
            return Err(crate::ReportError::Invalid("请填写责任单位".into()));
        }
        if self.content.trim().is_empty() {
            return Err(crate::ReportError::Invalid("请填写舆情隐患内容".into()));
        }
        Ok(())
    }
}

/// One known risk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskItem {
    pub id: i64,
    pub fields: RiskFields,
    pub status: RiskStatus,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl RiskItem {
    /// Not resolved and past its 解决时限 (the due day itself still counts as in time).
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status == RiskStatus::Open && self.fields.due_date < today
    }
}

/// The register as of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskRegister {
    pub org: String,
    pub as_of: NaiveDate,
    pub items: Vec<RiskItem>,
}

/// Every report that can be archived and rendered again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Report {
    Daily(DailyDigest),
    Weekly(WeeklyBulletin),
    Special(SpecialReport),
    Stats(PeriodStats),
    Disposal(DisposalReport),
    Risk(RiskRegister),
}

impl Report {
    pub fn kind(&self) -> &'static str {
        match self {
            Report::Daily(_) => "daily",
            Report::Weekly(_) => "weekly",
            Report::Special(_) => "special",
            Report::Stats(_) => "stats",
            Report::Disposal(_) => "disposal",
            Report::Risk(_) => "risk",
        }
    }

    /// The title printed on the document.
    pub fn title(&self) -> String {
        match self {
            Report::Daily(d) => format!("网络舆情日报（{}）", crate::period::zh_date(d.date)),
            Report::Weekly(w) => format!("网络舆情周报（{}）", w.period.label_zh()),
            Report::Special(s) => match s.title.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                Some(t) => t.to_string(),
                None => format!("关于“{}”的舆情专报", s.subject()),
            },
            Report::Stats(s) => format!("网络舆情处置工作考评统计（{}）", s.period.label_zh()),
            Report::Disposal(_) => "舆情处置情况报告单".to_string(),
            Report::Risk(_) => "网络舆情隐患排查表".to_string(),
        }
    }

    /// A file name without extension, e.g. "日报-2026-11-20".
    pub fn file_stem(&self) -> String {
        match self {
            Report::Daily(d) => format!("日报-{}", d.date),
            Report::Weekly(w) => format!("周报-{}", w.period.key()),
            Report::Special(s) => format!("专报-工单{}", s.incident.id),
            Report::Stats(s) => format!("考评-{}", s.period.key()),
            Report::Disposal(d) => match &d.serial {
                Some(s) => format!("处置情况报告单-{s}"),
                None => format!("处置情况报告单-草稿{}", d.id),
            },
            Report::Risk(r) => format!("隐患排查表-{}", r.as_of),
        }
    }
}

// ---------------------------------------------------------------- builders (pure)

fn grade_rank(g: Option<Grade>) -> i32 {
    g.map_or(-1, |g| g as i32)
}

/// What the digest knows beyond the day's posts: the day before and how each matter is handled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayContext {
    /// The posts of the day before.
    pub previous_posts: Vec<PostLine>,
    /// The stories of those posts (their grades decide what was important then).
    pub previous_stories: Vec<StoryLine>,
    /// The incident of a story, by story id.
    pub handling: BTreeMap<i64, Handling>,
    /// The start of the digest's day (a story first seen since is new).
    pub day_start: DateTime<Utc>,
}

/// Most matters 今日要情 lists.
pub const MATTERS_MAX: usize = 5;

fn important<'a>(stories: &[StoryLine], posts: &'a [PostLine]) -> BTreeMap<i64, Vec<&'a PostLine>> {
    let graded: std::collections::BTreeSet<i64> = stories.iter().filter(|s| s.grade.is_some()).map(|s| s.id).collect();
    let mut per: BTreeMap<i64, Vec<&PostLine>> = BTreeMap::new();
    for p in posts {
        if p.rule_hit || graded.contains(&p.story_id) {
            per.entry(p.story_id).or_default().push(p);
        }
    }
    per
}

/// 日报 for local day `date`: a post is important when a watch rule matched it or its story is
/// graded; each story with important posts that day is listed under its grade and topic, with up to
/// `per_story` of those posts (most interactions first). `posts` are the day's posts. 今日要情 are
/// the graded matters first (higher grade, then new or risen, then most important posts), at most
/// [`MATTERS_MAX`].
#[allow(clippy::too_many_arguments)]
pub fn build_daily(
    org: &str,
    date: NaiveDate,
    stories: &[StoryLine],
    posts: &[PostLine],
    negative_total: u64,
    link_base: &str,
    per_story: usize,
    context: &DayContext,
    now: DateTime<Utc>,
) -> DailyDigest {
    let by_id: BTreeMap<i64, &StoryLine> = stories.iter().map(|s| (s.id, s)).collect();
    let per = important(stories, posts);
    let before = important(&context.previous_stories, &context.previous_posts);
    let base = link_base.trim_end_matches('/');
    let mut groups: BTreeMap<(i32, String), Vec<DigestEntry>> = BTreeMap::new();
    let mut matters: Vec<Matter> = Vec::new();
    for (sid, mut ps) in per {
        let Some(story) = by_id.get(&sid) else { continue };
        ps.sort_by(|a, b| b.interactions.cmp(&a.interactions).then(a.at.cmp(&b.at)).then(a.id.cmp(&b.id)));
        let posts_today = ps.len() as u64;
        let link = format!("{base}/stories/{sid}");
        let handling = context.handling.get(&sid).cloned();
        if story.grade.is_some() || handling.is_some() {
            matters.push(Matter {
                story_id: sid,
                headline: story.title.clone(),
                grade: story.grade,
                link: link.clone(),
                new: story.first_at >= context.day_start,
                posts_before: before.get(&sid).map_or(0, |v| v.len() as u64),
                posts_today,
                handling,
            });
        }
        let entry = DigestEntry {
            story: (*story).clone(),
            link,
            posts: ps.into_iter().take(per_story).cloned().collect(),
            posts_today,
        };
        groups.entry((-grade_rank(story.grade), story.topic.clone())).or_default().push(entry);
    }
    let moved = |m: &Matter| {
        (m.new || m.posts_today > m.posts_before || m.handling.as_ref().is_some_and(|h| h.responded_today)) as i32
    };
    matters.sort_by(|a, b| {
        grade_rank(b.grade)
            .cmp(&grade_rank(a.grade))
            .then(moved(b).cmp(&moved(a)))
            .then(b.posts_today.cmp(&a.posts_today))
            .then(a.story_id.cmp(&b.story_id))
    });
    matters.truncate(MATTERS_MAX);
    let groups: Vec<DigestGroup> = groups
        .into_iter()
        .map(|((_, topic), mut entries)| {
            entries.sort_by(|a, b| b.posts_today.cmp(&a.posts_today).then(a.story.id.cmp(&b.story.id)));
            DigestGroup { grade: entries[0].story.grade, topic, entries }
        })
        .collect();
    let previous = (!context.previous_posts.is_empty()).then(|| DayCounts {
        posts_total: context.previous_posts.len() as u64,
        negative_total: context.previous_posts.iter().filter(|p| p.negative).count() as u64,
        items: before.len() as u64,
    });
    DailyDigest {
        org: org.to_string(),
        date,
        generated_at: now,
        posts_total: posts.len() as u64,
        negative_total,
        groups,
        previous,
        matters,
    }
}

/// Per-department statistics of `incidents` (those opened in the period), as of `now`.
pub fn department_stats(incidents: &[Incident], now: DateTime<Utc>) -> Vec<DepartmentStats> {
    let mut m: BTreeMap<String, (DepartmentStats, Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for inc in incidents {
        let dept = inc.lead_department.clone().unwrap_or_else(|| "（未分派）".to_string());
        let e = m
            .entry(dept.clone())
            .or_insert_with(|| (DepartmentStats { department: dept, ..Default::default() }, Vec::new(), Vec::new()));
        e.0.incidents += 1;
        if inc.state == IncidentState::Closed {
            e.0.closed += 1;
        }
        for d in &inc.deadlines {
            // A clock of an incident closed before it fell due (研判后无需处置, 误报) was never owed.
            let closed_first = inc.closed_at.is_some_and(|c| c < d.due_at);
            let fell_due = d.met_at.is_some() || (d.due_at <= now && !closed_first);
            let in_time = d.met_at.is_some_and(|m| m <= d.due_at);
            match d.kind {
                DeadlineKind::FirstReport if fell_due => {
                    e.0.report_due += 1;
                    e.0.report_on_time += in_time as u32;
                }
                DeadlineKind::PublicResponse if fell_due => {
                    e.0.response_due += 1;
                    e.0.response_on_time += in_time as u32;
                }
                _ => {}
            }
        }
        let times = inc.review_times(now);
        e.0.overdue += times.overdue;
        if let Some(s) = times.report {
            e.1.push(s);
        }
        if let Some(s) = times.respond {
            e.2.push(s);
        }
    }
    let mean = |v: &[i64]| (!v.is_empty()).then(|| v.iter().sum::<i64>() / v.len() as i64);
    m.into_values()
        .map(|(mut s, r, p)| {
            s.mean_report_secs = mean(&r);
            s.mean_response_secs = mean(&p);
            s
        })
        .collect()
}

/// What `gather` counts for a period's totals beyond the incidents themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodCounts {
    pub reports: u32,
    pub publications: u32,
    pub overdue: u32,
    pub posts: u64,
    pub closed: u32,
}

/// 考评 for a period from the incidents opened in it.
pub fn build_stats(
    org: &str,
    period: Period,
    opened: &[Incident],
    counts: &PeriodCounts,
    now: DateTime<Utc>,
) -> PeriodStats {
    PeriodStats {
        org: org.to_string(),
        period,
        generated_at: now,
        departments: department_stats(opened, now),
        totals: Totals {
            incidents: opened.len() as u32,
            closed: counts.closed,
            reports: counts.reports,
            publications: counts.publications,
            overdue: counts.overdue,
            posts: counts.posts,
        },
    }
}

/// 周报 for the week `period`.
#[allow(clippy::too_many_arguments)]
pub fn build_weekly(
    org: &str,
    period: Period,
    days: Vec<DayVolume>,
    stories: &[StoryLine],
    opened: &[Incident],
    closed: &[Incident],
    counts: &PeriodCounts,
    now: DateTime<Utc>,
) -> WeeklyBulletin {
    let mut top: Vec<StoryLine> = stories.to_vec();
    top.sort_by(|a, b| grade_rank(b.grade).cmp(&grade_rank(a.grade)).then(b.posts.cmp(&a.posts)).then(a.id.cmp(&b.id)));
    top.truncate(10);
    let stats = build_stats(org, period, opened, counts, now);
    WeeklyBulletin {
        org: org.to_string(),
        period,
        generated_at: now,
        days,
        top_stories: top,
        opened: opened.iter().map(IncidentLine::of).collect(),
        closed: closed.iter().map(IncidentLine::of).collect(),
        departments: stats.departments,
        totals: stats.totals,
    }
}

/// 专报 for one incident: the summary from its stories, the timeline, the spread by hour, the
/// measures taken and the approved statement.
pub fn build_special(
    org: &str,
    inc: &Incident,
    stories: &[StoryLine],
    timeline: Vec<TimelineLine>,
    spread: Vec<HourPoint>,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> SpecialReport {
    let posts: u64 = stories.iter().map(|s| s.posts).sum();
    let sites: u32 = stories.iter().map(|s| s.sites).sum();
    let first = stories.iter().map(|s| s.first_at).min().or(inc.first_post_at);
    let neg = if posts > 0 {
        stories.iter().map(|s| s.negative_share as f64 * s.posts as f64).sum::<f64>() / posts as f64
    } else {
        0.0
    };
    let t = |d: DateTime<Utc>| crate::period::zh_datetime(d, offset);
    let headline = stories.first().map(|s| s.title.clone()).filter(|h| !h.trim().is_empty());
    let subject = headline.clone().unwrap_or_else(|| inc.title.clone());
    let mut summary = format!("{subject}，{}级（{}）舆情。", inc.grade.as_str(), inc.grade.label_zh());
    if let Some(f) = first {
        summary.push_str(&format!("首条相关信息发布于{}，", t(f)));
    }
    summary.push_str(&format!(
        "截至{}，共监测到相关信息 {posts} 条，涉及 {sites} 个站点，负面占比 {:.0}%。",
        t(now),
        neg * 100.0
    ));
    summary.push_str(&format!("{}监测发现，当前处置状态：{}。", t(inc.detected_at), inc.state.label_zh()));
    let mut measures = Vec::new();
    for task in &inc.tasks {
        let state = match task.done_at {
            Some(d) => format!("已完成（{}）", t(d)),
            None => "进行中".to_string(),
        };
        measures.push(format!(
            "{}：{state}{}",
            task.title,
            task.note.as_deref().map(|n| format!("，{n}")).unwrap_or_default()
        ));
    }
    for p in &inc.publications {
        measures.push(format!("{} 通过{}发布回应，发言人 {}", t(p.at), p.channel.label_zh(), p.spokesperson));
    }
    SpecialReport {
        org: org.to_string(),
        incident: IncidentLine::of(inc),
        generated_at: now,
        summary,
        findings: inc.findings.clone(),
        cooperating: inc.cooperating.clone(),
        timeline,
        spread,
        measures,
        statement: approved_statement(inc),
        brief: None,
        headline,
        title: None,
    }
}

/// The line a report prints for a timeline event, in words an outsider reads: no internal ids,
/// no system bookkeeping, no notes addressed to the administrator. `None` for events a report
/// leaves out (heat snapshots, reminders, retitles, acknowledgements, drafts of statements).
pub fn timeline_text(kind: &EventKind) -> Option<String> {
    Some(match kind {
        EventKind::Opened { grade, .. } => format!("开启处置工单，定为{}级（{}）", grade.as_str(), grade.label_zh()),
        EventKind::StateChanged { step, to, note, .. } => match note.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(n) => format!("{}，转为“{}”：{n}", step.label_zh(), to.label_zh()),
            None => format!("{}，转为“{}”", step.label_zh(), to.label_zh()),
        },
        EventKind::Assigned { department, lead, .. } => {
            format!("{}：{department}", if *lead { "确定牵头单位" } else { "增加配合单位" })
        }
        EventKind::LeadReassigned { to, reason, .. } => format!("牵头单位改为{to}：{reason}"),
        EventKind::TaskAdded { title, owner, .. } => match owner {
            Some(o) => format!("布置任务：{title}（{o}）"),
            None => format!("布置任务：{title}"),
        },
        EventKind::TaskDone { title, note, .. } => match note.as_deref().filter(|n| !n.trim().is_empty()) {
            Some(n) => format!("完成任务：{title}（{n}）"),
            None => format!("完成任务：{title}"),
        },
        EventKind::Alert { from, to, .. } => format!(
            "预警：级别由{}升至{}级",
            from.map(|g| format!("{}级", g.as_str())).unwrap_or_else(|| "未定级".into()),
            to.as_str()
        ),
        EventKind::GradeChanged { from, to, reason } => {
            format!("级别由{}级调整为{}级：{reason}", from.as_str(), to.as_str())
        }
        EventKind::DeadlineMet { deadline, late } => {
            format!("{}{}", deadline.label_zh(), if *late { "完成（超过时限）" } else { "按时完成" })
        }
        EventKind::Overdue { deadline, .. } => format!("{}超过时限", deadline.label_zh()),
        EventKind::StatementApproved { last: true, .. } => "回应口径审定".to_string(),
        EventKind::StatementRejected { link, .. } => format!("回应口径经{}退回修改", link.label_zh()),
        EventKind::Published { channel, spokesperson, .. } => {
            format!("通过{}发布回应，发言人{spokesperson}", channel.label_zh())
        }
        EventKind::LeadershipReported { summary } => format!("报告领导：{summary}"),
        EventKind::Verified { findings } => format!("核查结果：{findings}"),
        EventKind::Reviewed { .. } => "完成总结评估".to_string(),
        EventKind::Reopened { reason } => format!("重新打开：{reason}"),
        EventKind::Note { text } => format!("备注：{text}"),
        _ => return None,
    })
}

/// "1 小时 5 分" for a mean time; "—" when there is none.
pub fn fmt_secs(s: Option<i64>) -> String {
    match s {
        None => "—".into(),
        Some(s) if s < 60 => format!("{s} 秒"),
        Some(s) if s < 3600 => format!("{} 分钟", s / 60),
        Some(s) if s < 86_400 => format!("{} 小时 {} 分", s / 3600, s % 3600 / 60),
        Some(s) => format!("{} 天 {} 小时", s / 86_400, s % 86_400 / 3600),
    }
}

/// "87.5%"; "—" when nothing fell due.
pub fn fmt_rate(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{:.1}%", r * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn story(id: i64, grade: Option<Grade>, topic: &str) -> StoryLine {
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap();
        StoryLine {
            id,
            title: format!("事件{id}"),
            grade,
            topic: topic.into(),
            posts: 3,
            sites: 2,
            negative_share: 0.5,
            first_at: t,
            last_at: t,
        }
    }

    fn post(id: i64, story_id: i64, rule_hit: bool, interactions: u64) -> PostLine {
        PostLine {
            id,
            story_id,
            title: format!("帖文{id}"),
            url: Some(format!("https://example.org/{id}")),
            source: "微博".into(),
            at: Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap(),
            topics: vec![],
            rule_hit,
            negative: false,
            interactions,
        }
    }

    #[test]
    fn the_digest_lists_important_posts_by_grade_then_topic_and_leaves_out_the_rest() {
        let stories = [
            story(1, Some(Grade::IV), "医疗"),
            story(2, Some(Grade::II), "教育"),
            story(3, None, "交通"),
            story(4, None, "环境"),
        ];
        let posts = [
            post(1, 1, false, 5),
            post(2, 2, false, 1),
            post(3, 2, false, 9),
            post(4, 3, true, 0),
            post(5, 4, false, 100),
        ];
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        let d = build_daily(
            "某单位",
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            &stories,
            &posts,
            0,
            "http://yq/",
            1,
            &DayContext::default(),
            now,
        );
        let order: Vec<(Option<Grade>, &str)> = d.groups.iter().map(|g| (g.grade, g.topic.as_str())).collect();
        assert_eq!(order, vec![(Some(Grade::II), "教育"), (Some(Grade::IV), "医疗"), (None, "交通")]);
        assert_eq!(d.groups[0].entries[0].posts.len(), 1, "one post per story as asked");
        assert_eq!(d.groups[0].entries[0].posts[0].id, 3, "the most interacted post first");
        assert_eq!(d.groups[0].entries[0].posts_today, 2);
        assert_eq!(d.groups[0].entries[0].link, "http://yq/stories/2");
        assert_eq!(d.items(), 3, "story 4 is neither graded nor hit by a rule");
    }

    #[test]
    fn the_matters_of_the_day_come_graded_first_with_what_changed_and_how_they_are_handled() {
        let stories = [story(1, Some(Grade::IV), "医疗"), story(2, Some(Grade::II), "教育"), story(3, None, "交通")];
        let posts = [
            post(1, 1, false, 1),
            post(2, 1, false, 1),
            post(3, 1, false, 1),
            post(4, 2, false, 1),
            post(5, 3, true, 1),
        ];
        let mut handling = BTreeMap::new();
        handling
            .insert(1, Handling { state: "处置中".into(), department: Some("卫健委".into()), responded_today: true });
        let context = DayContext {
            previous_posts: vec![post(9, 1, false, 0), post(4, 2, false, 0), post(8, 2, false, 0)],
            previous_stories: stories.to_vec(),
            handling,
            // Stories begin at 10:00 of the 20th; this day began after that: none is new.
            day_start: Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap(),
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        let d = build_daily(
            "某单位",
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
            &stories,
            &posts,
            0,
            "http://yq",
            3,
            &context,
            now,
        );
        let ids: Vec<i64> = d.matters.iter().map(|m| m.story_id).collect();
        assert_eq!(
            ids,
            [2, 1],
            "graded matters, the higher grade first; the ungraded one without an incident left out"
        );
        assert_eq!(d.matters[1].change_zh(), "重要信息由前一日 1 条增至 3 条，今日已公开回应");
        assert_eq!(d.matters[1].handling_zh(), "工单处置中，牵头单位卫健委");
        assert_eq!(d.matters[0].change_zh(), "今日重要信息 1 条（前一日 2 条）");
        assert_eq!(d.matters[0].handling_zh(), "尚未开启处置工单");
        assert_eq!(d.previous, Some(DayCounts { posts_total: 3, negative_total: 0, items: 2 }));
    }

    #[test]
    fn serials_have_three_digits_at_least() {
        assert_eq!(disposal_serial(2026, 7), "YQCZBG-2026-007");
        assert_eq!(disposal_serial(2026, 1234), "YQCZBG-2026-1234");
    }

    #[test]
    fn a_risk_item_is_overdue_only_after_its_due_day_while_open() {
        let t = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        let due = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        let mut item = RiskItem {
            id: 1,
            fields: RiskFields {
                department: "教育局".into(),
                content: "c".into(),
                offline_measures: String::new(),
                online_response: String::new(),
                due_date: due,
            },
            status: RiskStatus::Open,
            created_at: t,
            created_by: "a".into(),
            updated_at: t,
            resolved_at: None,
        };
        assert!(!item.overdue(due));
        assert!(item.overdue(due.succ_opt().unwrap()));
        item.status = RiskStatus::Resolved;
        assert!(!item.overdue(due.succ_opt().unwrap()));
    }

    #[test]
    fn a_clock_of_an_incident_closed_before_it_fell_due_is_not_counted_as_missed() {
        use yuqing_core::incident::{Command, DeadlinePolicy, Opening};
        use yuqing_core::people::{Actor, Role};
        let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap();
        let opening = |id: i64| Opening {
            id,
            title: format!("工单{id}"),
            stories: vec![id],
            grade: Grade::III,
            grade_reason: "帖文 120 条".into(),
            first_post_at: Some(t0),
            alert: Some((id, t0)),
            routes: vec![],
        };
        let office = Actor {
            name: "bangong".into(),
            display_name: "办公室".into(),
            role: Role::Coordinator,
            department: None,
            titles: vec![],
        };
        let (mut false_alarm, _) = Incident::open(opening(1), &DeadlinePolicy::default(), &Actor::system(), t0);
        false_alarm
            .apply(&office, Command::MarkFalseAlarm { reason: "外地事件".into() }, t0 + chrono::Duration::minutes(10))
            .expect("marked");
        let (ignored, _) = Incident::open(opening(2), &DeadlinePolicy::default(), &Actor::system(), t0);
        let days_later = t0 + chrono::Duration::days(3);
        let stats = department_stats(&[false_alarm, ignored], days_later);
        assert_eq!(stats.len(), 1);
        let s = &stats[0];
        assert_eq!((s.incidents, s.closed), (2, 1));
        assert_eq!((s.report_due, s.report_on_time), (1, 0), "only the open incident owed a first report");
        assert_eq!((s.response_due, s.response_on_time), (1, 0));
    }
}
