//! 处置工单: the case opened for a story, from alert to approved public answer, on the clock.
//! `Incident` is one aggregate: commands go in with the actor and the time, and come out as
//! timeline events (or a refusal that says why). Invariant: pure — no clock, no I/O; the state
//! machine in `state` decides every step, the policy frozen at opening sets every clock.

pub mod deadline;
pub mod routing;
pub mod state;
pub mod statement;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::people::{Actor, Role, Title};
use crate::Grade;
pub use deadline::{due_escalations, Deadline, DeadlineKind, DeadlinePolicy, Escalation, Limit};
pub use routing::{route, AssignmentRule, RouteMatch, RoutingFacts};
pub use state::{allowed_steps, next_state, IllegalStep, IncidentState, Step};
pub use statement::{approval_chain, diff, ApprovalLink, DiffPart, Statement, StatementError, StatementStatus};

/// Where a statement went out (发布渠道).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Channel {
    /// 官网
    Website,
    /// 政务微博
    Weibo,
    /// 微信公众号
    WeChat,
    /// 新闻发布会
    PressConference,
    /// 媒体采访
    Interview,
    /// 官方回复 (e.g. on a message board)
    OfficialReply,
    Other(String),
}

impl Channel {
    pub fn label_zh(&self) -> &str {
        match self {
            Channel::Website => "官网",
            Channel::Weibo => "政务微博",
            Channel::WeChat => "微信公众号",
            Channel::PressConference => "新闻发布会",
            Channel::Interview => "媒体采访",
            Channel::OfficialReply => "官方回复",
            Channel::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> Channel {
        match s.trim() {
            "website" | "官网" | "门户网站" => Channel::Website,
            "weibo" | "政务微博" | "微博" => Channel::Weibo,
            "wechat" | "微信公众号" | "公众号" => Channel::WeChat,
            "press" | "press-conference" | "新闻发布会" => Channel::PressConference,
            "interview" | "媒体采访" => Channel::Interview,
            "reply" | "official-reply" | "官方回复" | "留言回复" => Channel::OfficialReply,
            other => Channel::Other(other.to_string()),
        }
    }
}

/// A node of a published timetable (a matter that cannot be fixed at once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimetableNode {
    pub label: String,
    pub due_at: DateTime<Utc>,
}

/// 发布: a statement as it went out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Publication {
    pub statement: u32,
    pub version: u32,
    pub channel: Channel,
    pub url: Option<String>,
    pub at: DateTime<Utc>,
    pub spokesperson: String,
    pub recorded_by: String,
    /// The timetable node this publication answers, if any.
    pub answers_node: Option<u32>,
}

/// The kind of a task; the standard five are created when an incident opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskKind {
    Verify,
    Fix,
    Draft,
    Publish,
    FollowUp,
    Other,
}

impl TaskKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            TaskKind::Verify => "核实情况",
            TaskKind::Fix => "线下解决问题",
            TaskKind::Draft => "起草口径",
            TaskKind::Publish => "发布回应",
            TaskKind::FollowUp => "跟踪舆情",
            TaskKind::Other => "其他",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: u32,
    pub kind: TaskKind,
    pub title: String,
    /// A department or a user's login name.
    pub owner: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<String>,
    pub note: Option<String>,
}

/// An attachment reference; the bytes are stored once by sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRef {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Measured times of the response (总结评估), in seconds; `None` where the step has not happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewTimes {
    /// First post → story detected (graded).
    pub detect: Option<i64>,
    /// Detection → alert raised.
    pub alert: Option<i64>,
    /// Alert → acknowledged by a person.
    pub acknowledge: Option<i64>,
    /// Detection → first report.
    pub report: Option<i64>,
    /// Report → verification result.
    pub verify: Option<i64>,
    /// Detection → first public response.
    pub respond: Option<i64>,
    /// Detection → closed.
    pub close: Option<i64>,
    /// Clocks missed (迟报/超时).
    pub overdue: u32,
}

/// 误报: the office judged the matter not ours or not a matter; who, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FalseAlarm {
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// 总结评估: the measured times and the lessons people wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub lessons: String,
    pub by: String,
    pub at: DateTime<Utc>,
    pub times: ReviewTimes,
}

/// The case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: i64,
    pub title: String,
    pub state: IncidentState,
    pub grade: Grade,
    pub grade_reason: String,
    pub stories: Vec<i64>,
    /// The earliest post of its stories.
    pub first_post_at: Option<DateTime<Utc>>,
    /// When the matter was detected: the alert that opened it, or the moment it was opened by hand.
    pub detected_at: DateTime<Utc>,
    pub alerted_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub opened_by: String,
    pub reported_at: Option<DateTime<Utc>>,
    pub leadership_reported_at: Option<DateTime<Utc>>,
    pub verified_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub follow_up_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub lead_department: Option<String>,
    pub cooperating: Vec<String>,
    pub findings: Option<String>,
    /// The policy the clocks started with (editing the configuration later does not move them).
    pub policy: DeadlinePolicy,
    pub deadlines: Vec<Deadline>,
    pub statements: Vec<Statement>,
    pub publications: Vec<Publication>,
    pub timetable: Vec<TimetableNode>,
    pub tasks: Vec<Task>,
    pub attachments: Vec<AttachmentRef>,
    pub review: Option<Review>,
    pub reopened: u32,
    /// Set when the incident was closed as 误报 (cleared when it is reopened).
    #[serde(default)]
    pub false_alarm: Option<FalseAlarm>,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentError {
    #[error(transparent)]
    Illegal(#[from] IllegalStep),
    #[error(transparent)]
    Statement(#[from] StatementError),
    #[error("{who} 无权{what}")]
    Forbidden { who: String, what: String },
    #[error("{0}")]
    Precondition(String),
}

/// What happened, for the timeline (one row per event, in order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    Opened {
        stories: Vec<i64>,
        grade: Grade,
        reason: String,
    },
    StateChanged {
        from: IncidentState,
        to: IncidentState,
        step: Step,
        note: Option<String>,
    },
    Assigned {
        department: String,
        lead: bool,
        because: String,
    },
    LeadReassigned {
        from: Option<String>,
        to: String,
        reason: String,
    },
    Note {
        text: String,
    },
    Attachment {
        name: String,
        sha256: String,
        size: u64,
    },
    TaskAdded {
        task: u32,
        title: String,
        owner: Option<String>,
        due_at: Option<DateTime<Utc>>,
    },
    TaskDone {
        task: u32,
        title: String,
        note: Option<String>,
    },
    Alert {
        alert: i64,
        story: i64,
        from: Option<Grade>,
        to: Grade,
        reasons: String,
    },
    Acknowledged {
        alert: i64,
    },
    AckEscalated {
        alert: i64,
        to: String,
    },
    GradeChanged {
        from: Grade,
        to: Grade,
        reason: String,
    },
    DeadlineSet {
        deadline: DeadlineKind,
        label: String,
        due_at: DateTime<Utc>,
    },
    DeadlineMoved {
        deadline: DeadlineKind,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        reason: String,
    },
    DeadlineMet {
        deadline: DeadlineKind,
        late: bool,
    },
    Reminder {
        deadline: DeadlineKind,
        due_at: DateTime<Utc>,
        to: Vec<String>,
    },
    Overdue {
        deadline: DeadlineKind,
        due_at: DateTime<Utc>,
        to: Vec<String>,
    },
    StatementVersion {
        statement: u32,
        version: u32,
        title: String,
    },
    StatementSubmitted {
        statement: u32,
        version: u32,
        chain: Vec<ApprovalLink>,
    },
    StatementApproved {
        statement: u32,
        version: u32,
        link: ApprovalLink,
        last: bool,
        comment: Option<String>,
    },
    StatementRejected {
        statement: u32,
        version: u32,
        link: ApprovalLink,
        comment: String,
    },
    Published {
        statement: u32,
        version: u32,
        channel: Channel,
        url: Option<String>,
        spokesperson: String,
        answers_node: Option<u32>,
    },
    TimetableNodeAdded {
        node: u32,
        label: String,
        due_at: DateTime<Utc>,
    },
    LeadershipReported {
        summary: String,
    },
    Verified {
        findings: String,
    },
    StoryAdded {
        story: i64,
    },
    /// A story's headline changed as posts came in; the incident keeps its own title.
    StoryRetitled {
        story: i64,
        title: String,
    },
    HeatSnapshot {
        story: i64,
        posts: u64,
        sites: u32,
        interactions: u64,
        negative_share: f32,
        grade: Option<Grade>,
    },
    Reviewed {
        lessons: String,
    },
    Reopened {
        reason: String,
    },
}

impl EventKind {
    /// Stable kind name (stored in `incident_events.kind`).
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Opened { .. } => "opened",
            EventKind::StateChanged { .. } => "state_changed",
            EventKind::Assigned { .. } => "assigned",
            EventKind::LeadReassigned { .. } => "lead_reassigned",
            EventKind::Note { .. } => "note",
            EventKind::Attachment { .. } => "attachment",
            EventKind::TaskAdded { .. } => "task_added",
            EventKind::TaskDone { .. } => "task_done",
            EventKind::Alert { .. } => "alert",
            EventKind::Acknowledged { .. } => "acknowledged",
            EventKind::AckEscalated { .. } => "ack_escalated",
            EventKind::GradeChanged { .. } => "grade_changed",
            EventKind::DeadlineSet { .. } => "deadline_set",
            EventKind::DeadlineMoved { .. } => "deadline_moved",
            EventKind::DeadlineMet { .. } => "deadline_met",
            EventKind::Reminder { .. } => "reminder",
            EventKind::Overdue { .. } => "overdue",
            EventKind::StatementVersion { .. } => "statement_version",
            EventKind::StatementSubmitted { .. } => "statement_submitted",
            EventKind::StatementApproved { .. } => "statement_approved",
            EventKind::StatementRejected { .. } => "statement_rejected",
            EventKind::Published { .. } => "published",
            EventKind::TimetableNodeAdded { .. } => "timetable_node_added",
            EventKind::LeadershipReported { .. } => "leadership_reported",
            EventKind::Verified { .. } => "verified",
            EventKind::StoryAdded { .. } => "story_added",
            EventKind::StoryRetitled { .. } => "story_retitled",
            EventKind::HeatSnapshot { .. } => "heat_snapshot",
            EventKind::Reviewed { .. } => "reviewed",
            EventKind::Reopened { .. } => "reopened",
        }
    }

    /// One line a user reads on the timeline.
    pub fn summary_zh(&self) -> String {
        let t = |d: &DateTime<Utc>| d.with_timezone(&crate::china()).format("%m-%d %H:%M").to_string();
        match self {
            EventKind::Opened { stories, grade, reason } => {
                format!("开启工单（{}级 {}），关联事件 {:?}：{reason}", grade.as_str(), grade.label_zh(), stories)
            }
            EventKind::StateChanged { from, to, step, note } => match note {
                Some(n) => format!("{step}：{from} → {to}（{n}）"),
                None => format!("{step}：{from} → {to}"),
            },
            EventKind::Assigned { department, lead, because } => {
                format!("{}：{department}（{because}）", if *lead { "牵头单位" } else { "配合单位" })
            }
            EventKind::LeadReassigned { from, to, reason } => {
                format!("牵头单位由 {} 改为 {to}：{reason}", from.as_deref().unwrap_or("（无）"))
            }
            EventKind::Note { text } => format!("备注：{text}"),
            EventKind::Attachment { name, size, .. } => format!("附件：{name}（{size} 字节）"),
            EventKind::TaskAdded { title, owner, due_at, .. } => format!(
                "任务：{title}（{}{}）",
                owner.as_deref().unwrap_or("未指定"),
                due_at.map(|d| format!("，{} 前", t(&d))).unwrap_or_default()
            ),
            EventKind::TaskDone { title, .. } => format!("任务完成：{title}"),
            EventKind::Alert { story, from, to, .. } => format!(
                "预警：事件 #{story} 由 {} 升至 {}级",
                from.map(|g| format!("{}级", g.as_str())).unwrap_or_else(|| "未定级".into()),
                to.as_str()
            ),
            EventKind::Acknowledged { alert } => format!("预警 #{alert} 已确认"),
            EventKind::AckEscalated { alert, to } => format!("预警 #{alert} 未确认，已升级通知 {to}"),
            EventKind::GradeChanged { from, to, reason } => {
                format!("级别由 {}级 变为 {}级：{reason}", from.as_str(), to.as_str())
            }
            EventKind::DeadlineSet { label, due_at, .. } => format!("时限：{label} {} 前", t(due_at)),
            EventKind::DeadlineMoved { deadline, from, to, reason } => {
                format!("时限“{}”由 {} 改为 {}：{reason}", deadline.label_zh(), t(from), t(to))
            }
            EventKind::DeadlineMet { deadline, late } => {
                format!("{}{}", deadline.label_zh(), if *late { " 已完成（超时）" } else { " 已按时完成" })
            }
            EventKind::Reminder { deadline, due_at, to } => {
                format!("提醒：{} 将于 {} 到期，{}", deadline.label_zh(), t(due_at), told(to))
            }
            EventKind::Overdue { deadline, due_at, to } => {
                format!("超时：{} 已于 {} 到期，{}", deadline.label_zh(), t(due_at), told(to))
            }
            EventKind::StatementVersion { statement, version, title } => {
                format!("口径 {statement}《{title}》第 {version} 版")
            }
            EventKind::StatementSubmitted { statement, version, chain } => format!(
                "口径 {statement} 第 {version} 版提交审批：{}",
                chain.iter().map(|l| l.label_zh()).collect::<Vec<_>>().join(" → ")
            ),
            EventKind::StatementApproved { statement, version, link, last, .. } => format!(
                "口径 {statement} 第 {version} 版经{}审批通过{}",
                link.label_zh(),
                if *last { "，已审定锁定" } else { "" }
            ),
            EventKind::StatementRejected { statement, link, comment, .. } => {
                format!("口径 {statement} 被{}退回：{comment}", link.label_zh())
            }
            EventKind::Published { statement, channel, url, spokesperson, .. } => format!(
                "发布口径 {statement}：{}，发言人 {spokesperson}{}",
                channel.label_zh(),
                url.as_deref().map(|u| format!("，{u}")).unwrap_or_default()
            ),
            EventKind::TimetableNodeAdded { label, due_at, .. } => format!("承诺时间表：{label}（{} 前）", t(due_at)),
            EventKind::LeadershipReported { summary } => format!("已报告领导：{summary}"),
            EventKind::Verified { findings } => format!("核查结果：{findings}"),
            EventKind::StoryAdded { story } => format!("并入事件 #{story}"),
            EventKind::StoryRetitled { story, title } => {
                format!("事件 #{story} 的标题随新帖文更新为“{title}”（工单标题不变）")
            }
            EventKind::HeatSnapshot { story, posts, sites, interactions, negative_share, .. } => format!(
                "热度（事件 #{story}）：{posts} 条，{sites} 个站点，互动 {interactions}，负面占比 {:.0}%",
                negative_share * 100.0
            ),
            EventKind::Reviewed { .. } => "完成总结评估".to_string(),
            EventKind::Reopened { reason } => format!("重新打开：{reason}"),
        }
    }
}

/// "已通知 张三、李四", or that nobody could be told (no user holds the role).
fn told(to: &[String]) -> String {
    if to.is_empty() {
        "没有可通知的人员（请为相应角色建立用户）".to_string()
    } else {
        format!("已通知 {}", to.join("、"))
    }
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// Login name ("system" for the desk itself).
    pub actor: String,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What a person asks of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    /// 上报 (首报): with a first summary.
    Report {
        summary: String,
    },
    /// 报告领导
    ReportToLeadership {
        summary: String,
    },
    StartVerification,
    SubmitVerification {
        findings: String,
    },
    /// A department to the incident; the first department becomes lead (首问负责制).
    Assign {
        department: String,
        reason: Option<String>,
    },
    /// Only the coordinator, with a reason.
    ReassignLead {
        department: String,
        reason: String,
    },
    AddNote {
        text: String,
    },
    AddAttachment {
        name: String,
        sha256: String,
        size: u64,
    },
    AddTask {
        title: String,
        owner: Option<String>,
        due_at: Option<DateTime<Utc>>,
    },
    CompleteTask {
        task: u32,
        note: Option<String>,
    },
    /// A new statement (`statement: None`) or a new version of one.
    DraftStatement {
        statement: Option<u32>,
        title: Option<String>,
        text: String,
    },
    SubmitForApproval {
        statement: u32,
    },
    Approve {
        statement: u32,
        comment: Option<String>,
    },
    Reject {
        statement: u32,
        comment: String,
    },
    Publish {
        statement: u32,
        channel: Channel,
        url: Option<String>,
        /// When it went out; defaults to now.
        at: Option<DateTime<Utc>>,
        /// Defaults by grade (see `spokesperson_title`); the desk resolves the name.
        spokesperson: String,
        #[serde(default)]
        timetable: Vec<TimetableNode>,
        answers_node: Option<u32>,
    },
    StartFollowUp,
    SubmitReview {
        lessons: String,
    },
    Close {
        reason: Option<String>,
    },
    Reopen {
        reason: String,
    },
    /// 标记误报, with the reason (closes the incident; its stories stop being graded).
    MarkFalseAlarm {
        reason: String,
    },
}

impl Command {
    /// The state-machine step this command is, if it is one.
    pub fn step(&self) -> Option<Step> {
        Some(match self {
            Command::Report { .. } => Step::Report,
            Command::StartVerification => Step::StartVerification,
            Command::SubmitVerification { .. } => Step::SubmitVerification,
            Command::SubmitForApproval { .. } => Step::SubmitForApproval,
            Command::Approve { .. } => Step::Approve,
            Command::Reject { .. } => Step::Reject,
            Command::Publish { .. } => Step::Publish,
            Command::StartFollowUp => Step::StartFollowUp,
            Command::Close { .. } => Step::Close,
            Command::Reopen { .. } => Step::Reopen,
            Command::MarkFalseAlarm { .. } => Step::MarkFalseAlarm,
            _ => return None,
        })
    }

    /// What the command does, for refusals ("无权发布回应").
    pub fn label_zh(&self) -> &'static str {
        match self {
            Command::ReportToLeadership { .. } => "报告领导",
            Command::Assign { .. } => "指派责任单位",
            Command::ReassignLead { .. } => "改派牵头单位",
            Command::AddNote { .. } => "添加备注",
            Command::AddAttachment { .. } => "添加附件",
            Command::AddTask { .. } => "添加任务",
            Command::CompleteTask { .. } => "完成任务",
            Command::DraftStatement { .. } => "起草口径",
            Command::SubmitReview { .. } => "提交总结评估",
            other => other.step().map_or("操作", |s| s.label_zh()),
        }
    }
}

/// Who speaks for a grade by default: I 领导小组组长, II 办公室主任, III/IV 责任单位负责人.
pub fn spokesperson_title(grade: Grade) -> Title {
    match grade {
        Grade::I => Title::GroupLeader,
        Grade::II => Title::OfficeDirector,
        Grade::III | Grade::IV => Title::DepartmentHead,
    }
}

/// What opens an incident.
#[derive(Debug, Clone)]
pub struct Opening {
    pub id: i64,
    pub title: String,
    pub stories: Vec<i64>,
    pub grade: Grade,
    pub grade_reason: String,
    pub first_post_at: Option<DateTime<Utc>>,
    /// The alert that opened it, if any: its time is the detection time.
    pub alert: Option<(i64, DateTime<Utc>)>,
    pub routes: Vec<RouteMatch>,
}

impl Incident {
    /// Opens an incident at `now`, starting its clocks under `policy` and routing it.
    pub fn open(o: Opening, policy: &DeadlinePolicy, actor: &Actor, now: DateTime<Utc>) -> (Incident, Vec<Event>) {
        let detected_at = o.alert.map_or(now, |a| a.1);
        let mut inc = Incident {
            id: o.id,
            title: o.title,
            state: IncidentState::Triage,
            grade: o.grade,
            grade_reason: o.grade_reason.clone(),
            stories: o.stories.clone(),
            first_post_at: o.first_post_at,
            detected_at,
            alerted_at: o.alert.map(|a| a.1),
            acknowledged_at: None,
            opened_at: now,
            opened_by: actor.name.clone(),
            reported_at: None,
            leadership_reported_at: None,
            verified_at: None,
            responded_at: None,
            follow_up_at: None,
            closed_at: None,
            lead_department: None,
            cooperating: Vec::new(),
            findings: None,
            policy: policy.clone(),
            deadlines: Vec::new(),
            statements: Vec::new(),
            publications: Vec::new(),
            timetable: Vec::new(),
            tasks: Vec::new(),
            attachments: Vec::new(),
            review: None,
            reopened: 0,
            false_alarm: None,
        };
        let mut ev = Events::new(actor, now);
        ev.push(EventKind::Opened { stories: o.stories, grade: o.grade, reason: o.grade_reason });
        for kind in [DeadlineKind::FirstReport, DeadlineKind::LeadershipReport, DeadlineKind::PublicResponse] {
            inc.start_clock(kind, detected_at, &mut ev);
        }
        for r in o.routes {
            inc.add_department(r.department, r.because, &mut ev);
        }
        let owner = inc.lead_department.clone();
        let due = |k: DeadlineKind| inc.deadlines.iter().find(|d| d.kind == k).map(|d| d.due_at);
        let standard = [
            (TaskKind::Verify, None),
            (TaskKind::Fix, None),
            (TaskKind::Draft, due(DeadlineKind::PublicResponse)),
            (TaskKind::Publish, due(DeadlineKind::PublicResponse)),
            (TaskKind::FollowUp, None),
        ];
        for (kind, due_at) in standard {
            inc.push_task(kind, kind.label_zh().to_string(), owner.clone(), due_at, &mut ev);
        }
        (inc, ev.0)
    }

    fn push_task(
        &mut self,
        kind: TaskKind,
        title: String,
        owner: Option<String>,
        due_at: Option<DateTime<Utc>>,
        ev: &mut Events,
    ) {
        let id = self.tasks.len() as u32 + 1;
        ev.push(EventKind::TaskAdded { task: id, title: title.clone(), owner: owner.clone(), due_at });
        self.tasks.push(Task { id, kind, title, owner, due_at, done_at: None, done_by: None, note: None });
    }

    fn start_clock(&mut self, kind: DeadlineKind, start: DateTime<Utc>, ev: &mut Events) {
        let Some(limit) = self.policy.limit(kind, self.grade) else { return };
        let due = self.policy.due(limit, start);
        let label = kind.label_zh();
        ev.push(EventKind::DeadlineSet { deadline: kind, label: label.clone(), due_at: due });
        self.deadlines.push(Deadline::new(kind, label, start, due));
    }

    /// Marks the latest unmet clock of `kind` as met at `now`.
    fn meet(&mut self, kind: DeadlineKind, now: DateTime<Utc>, ev: &mut Events) {
        if let Some(d) = self.deadlines.iter_mut().rev().find(|d| d.kind == kind && !d.is_met()) {
            d.met_at = Some(now);
            ev.push(EventKind::DeadlineMet { deadline: kind, late: now > d.due_at });
        }
    }

    fn add_department(&mut self, department: String, because: String, ev: &mut Events) -> bool {
        if self.lead_department.as_deref() == Some(department.as_str()) || self.cooperating.contains(&department) {
            return false;
        }
        let lead = self.lead_department.is_none();
        ev.push(EventKind::Assigned { department: department.clone(), lead, because });
        if lead {
            // The standard tasks follow the lead department until someone else owns them.
            for t in self.tasks.iter_mut().filter(|t| t.owner.is_none()) {
                t.owner = Some(department.clone());
            }
            self.lead_department = Some(department);
        } else {
            self.cooperating.push(department);
        }
        true
    }

    /// Whether `actor` works on this incident's departments.
    pub fn involves(&self, actor: &Actor) -> bool {
        match &actor.department {
            Some(d) => self.lead_department.as_deref() == Some(d.as_str()) || self.cooperating.contains(d),
            None => false,
        }
    }

    /// Whether `actor` may take `step` on this incident (by role and department; whether the step
    /// is allowed in the current state is `state::allowed_steps`). Pages use it to offer only the
    /// buttons that would not be refused; it asks `permit`, so there is one rule.
    pub fn may_take(&self, actor: &Actor, step: Step) -> bool {
        let probe = match step {
            Step::Report => Command::Report { summary: String::new() },
            Step::StartVerification => Command::StartVerification,
            Step::SubmitVerification => Command::SubmitVerification { findings: String::new() },
            Step::SubmitForApproval => Command::SubmitForApproval { statement: 0 },
            Step::Approve => Command::Approve { statement: 0, comment: None },
            Step::Reject => Command::Reject { statement: 0, comment: String::new() },
            Step::Publish => Command::Publish {
                statement: 0,
                channel: Channel::Website,
                url: None,
                at: None,
                spokesperson: String::new(),
                timetable: Vec::new(),
                answers_node: None,
            },
            Step::StartFollowUp => Command::StartFollowUp,
            Step::Close => Command::Close { reason: None },
            Step::Reopen => Command::Reopen { reason: String::new() },
            Step::MarkFalseAlarm => Command::MarkFalseAlarm { reason: String::new() },
        };
        self.permit(actor, &probe).is_ok()
    }

    /// Who may do what (the server checks roles again on every call; this is the domain's rule).
    pub fn permit(&self, actor: &Actor, cmd: &Command) -> Result<(), IncidentError> {
        if actor.is_system() {
            return Ok(());
        }
        let forbidden = || IncidentError::Forbidden { who: actor.label(), what: cmd.label_zh().to_string() };
        if actor.sees_only_own_department() && !self.involves(actor) {
            return Err(forbidden());
        }
        let ok = match actor.role {
            Role::Coordinator | Role::Admin => true,
            Role::Viewer => false,
            Role::Officer => matches!(
                cmd,
                Command::Report { .. }
                    | Command::ReportToLeadership { .. }
                    | Command::Assign { .. }
                    | Command::AddNote { .. }
                    | Command::AddAttachment { .. }
                    | Command::AddTask { .. }
                    | Command::CompleteTask { .. }
                    | Command::SubmitReview { .. }
                    | Command::MarkFalseAlarm { .. }
            ),
            Role::Approver => matches!(
                cmd,
                Command::Approve { .. }
                    | Command::Reject { .. }
                    | Command::AddNote { .. }
                    | Command::AddAttachment { .. }
            ),
            Role::DepartmentMember => matches!(
                cmd,
                Command::StartVerification
                    | Command::SubmitVerification { .. }
                    | Command::DraftStatement { .. }
                    | Command::SubmitForApproval { .. }
                    | Command::Approve { .. }
                    | Command::Reject { .. }
                    | Command::AddNote { .. }
                    | Command::AddAttachment { .. }
                    | Command::AddTask { .. }
                    | Command::CompleteTask { .. }
            ),
        };
        if ok {
            Ok(())
        } else {
            Err(forbidden())
        }
    }

    fn statement_mut(&mut self, id: u32) -> Result<&mut Statement, IncidentError> {
        self.statements
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or_else(|| IncidentError::Precondition(format!("没有编号为 {id} 的口径")))
    }

    /// Applies a command at `now`. On refusal nothing changes.
    pub fn apply(&mut self, actor: &Actor, cmd: Command, now: DateTime<Utc>) -> Result<Vec<Event>, IncidentError> {
        self.permit(actor, &cmd)?;
        // Work on a copy so that a refusal half-way leaves the incident as it was.
        let mut next = self.clone();
        let events = next.apply_inner(actor, cmd, now)?;
        *self = next;
        Ok(events)
    }

    fn step(&mut self, step: Step, note: Option<String>, ev: &mut Events) -> Result<(), IncidentError> {
        let to = next_state(self.state, step)?;
        if to != self.state {
            ev.push(EventKind::StateChanged { from: self.state, to, step, note });
            self.state = to;
        }
        Ok(())
    }

    fn apply_inner(&mut self, actor: &Actor, cmd: Command, now: DateTime<Utc>) -> Result<Vec<Event>, IncidentError> {
        let mut ev = Events::new(actor, now);
        let pre = |m: &str| Err(IncidentError::Precondition(m.to_string()));
        // Check the state first so that the error names the state and what is allowed.
        if let Some(step) = cmd.step() {
            next_state(self.state, step)?;
        } else if self.state == IncidentState::Closed
            && !matches!(cmd, Command::AddNote { .. } | Command::AddAttachment { .. } | Command::SubmitReview { .. })
        {
            return pre("工单已办结；如舆情再起，请先重新打开");
        }
        match cmd {
            Command::Report { summary } => {
                if summary.trim().is_empty() {
                    return pre("上报须填写情况摘要");
                }
                if self.lead_department.is_none() {
                    return pre("上报前须指派牵头责任单位");
                }
                self.step(Step::Report, Some(summary), &mut ev)?;
                self.reported_at.get_or_insert(now);
                self.meet(DeadlineKind::FirstReport, now, &mut ev);
                self.start_clock(DeadlineKind::Verification, now, &mut ev);
                if let Some(d) =
                    self.deadlines.iter().rev().find(|d| d.kind == DeadlineKind::Verification).map(|d| d.due_at)
                {
                    for t in self.tasks.iter_mut().filter(|t| t.kind == TaskKind::Verify && t.done_at.is_none()) {
                        t.due_at = Some(d);
                    }
                }
            }
            Command::ReportToLeadership { summary } => {
                if summary.trim().is_empty() {
                    return pre("报告领导须填写报告内容");
                }
                ev.push(EventKind::LeadershipReported { summary });
                if self.leadership_reported_at.is_none() {
                    self.leadership_reported_at = Some(now);
                    self.meet(DeadlineKind::LeadershipReport, now, &mut ev);
                }
            }
            Command::StartVerification => self.step(Step::StartVerification, None, &mut ev)?,
            Command::SubmitVerification { findings } => {
                if findings.trim().is_empty() {
                    return pre("须填写核查结果（事实真相）");
                }
                self.step(Step::SubmitVerification, None, &mut ev)?;
                ev.push(EventKind::Verified { findings: findings.clone() });
                self.findings = Some(findings);
                self.verified_at.get_or_insert(now);
                self.meet(DeadlineKind::Verification, now, &mut ev);
                self.complete_tasks(TaskKind::Verify, &actor.name, now, &mut ev);
            }
            Command::Assign { department, reason } => {
                if department.trim().is_empty() {
                    return pre("责任单位名称为空");
                }
                let because = reason.unwrap_or_else(|| format!("由 {} 指派", actor.label()));
                if !self.add_department(department.clone(), because, &mut ev) {
                    return pre(&format!("{department} 已是本工单的责任单位"));
                }
            }
            Command::ReassignLead { department, reason } => {
                if actor.role != Role::Coordinator && !actor.is_system() {
                    return Err(IncidentError::Forbidden {
                        who: actor.label(),
                        what: "改派牵头单位（首问负责制：仅办公室可改派）".into(),
                    });
                }
                if reason.trim().is_empty() {
                    return pre("改派牵头单位须写明理由");
                }
                if self.lead_department.as_deref() == Some(department.as_str()) {
                    return pre(&format!("{department} 已是牵头单位"));
                }
                let from = self.lead_department.take();
                self.cooperating.retain(|d| d != &department);
                if let Some(f) = &from {
                    self.cooperating.push(f.clone());
                }
                for t in self.tasks.iter_mut().filter(|t| t.done_at.is_none() && t.owner == from) {
                    t.owner = Some(department.clone());
                }
                ev.push(EventKind::LeadReassigned { from, to: department.clone(), reason });
                self.lead_department = Some(department);
            }
            Command::AddNote { text } => {
                if text.trim().is_empty() {
                    return pre("备注为空");
                }
                ev.push(EventKind::Note { text });
            }
            Command::AddAttachment { name, sha256, size } => {
                if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return pre("附件的 sha256 无效");
                }
                ev.push(EventKind::Attachment { name: name.clone(), sha256: sha256.clone(), size });
                self.attachments.push(AttachmentRef { name, sha256, size, by: actor.name.clone(), at: now });
            }
            Command::AddTask { title, owner, due_at } => {
                if title.trim().is_empty() {
                    return pre("任务标题为空");
                }
                self.push_task(TaskKind::Other, title, owner, due_at, &mut ev);
            }
            Command::CompleteTask { task, note } => {
                let Some(t) = self.tasks.iter_mut().find(|t| t.id == task) else {
                    return pre(&format!("没有编号为 {task} 的任务"));
                };
                if t.done_at.is_some() {
                    return pre(&format!("任务“{}”已完成", t.title));
                }
                t.done_at = Some(now);
                t.done_by = Some(actor.name.clone());
                t.note = note.clone();
                ev.push(EventKind::TaskDone { task, title: t.title.clone(), note });
            }
            Command::DraftStatement { statement, title, text } => match statement {
                None => {
                    let id = self.statements.len() as u32 + 1;
                    let title = title
                        .filter(|t| !t.trim().is_empty())
                        .unwrap_or_else(|| format!("关于“{}”的情况通报", self.title));
                    let s = Statement::new(id, title.clone(), text, actor, now)?;
                    ev.push(EventKind::StatementVersion { statement: id, version: 1, title });
                    self.statements.push(s);
                }
                Some(id) => {
                    let s = self.statement_mut(id)?;
                    let version = s.revise(text, actor, now)?;
                    if let Some(t) = title.filter(|t| !t.trim().is_empty()) {
                        s.title = t;
                    }
                    let title = s.title.clone();
                    ev.push(EventKind::StatementVersion { statement: id, version, title });
                }
            },
            Command::SubmitForApproval { statement } => {
                if self.lead_department.is_none() {
                    return pre("提交审批前须有牵头责任单位（其负责人是第一级审批）");
                }
                let grade = self.grade;
                let s = self.statement_mut(statement)?;
                s.submit(grade)?;
                let (version, chain) = (s.latest().number, s.chain.clone());
                self.step(Step::SubmitForApproval, None, &mut ev)?;
                ev.push(EventKind::StatementSubmitted { statement, version, chain });
            }
            Command::Approve { statement, comment } => {
                let lead = self.lead_department.clone();
                let s = self.statement_mut(statement)?;
                let (link, last) = s.approve(actor, lead.as_deref(), comment.clone(), now)?;
                let version = s.latest().number;
                self.step(Step::Approve, None, &mut ev)?;
                ev.push(EventKind::StatementApproved { statement, version, link, last, comment });
                if last {
                    self.complete_tasks(TaskKind::Draft, &actor.name, now, &mut ev);
                }
            }
            Command::Reject { statement, comment } => {
                let lead = self.lead_department.clone();
                let s = self.statement_mut(statement)?;
                let link = s.reject(actor, lead.as_deref(), comment.clone(), now)?;
                let version = s.latest().number;
                // Other statements may still be in approval; the incident goes back only when none is.
                ev.push(EventKind::StatementRejected { statement, version, link, comment: comment.clone() });
                if !self.statements.iter().any(|s| s.status == StatementStatus::InApproval) {
                    self.step(Step::Reject, Some(comment), &mut ev)?;
                }
            }
            Command::Publish { statement, channel, url, at, spokesperson, timetable, answers_node } => {
                let at = at.unwrap_or(now);
                if at > now + Duration::minutes(5) {
                    return pre("发布时间不能晚于当前时间");
                }
                if spokesperson.trim().is_empty() {
                    return pre("须指明发言人");
                }
                let s = self
                    .statements
                    .iter()
                    .find(|s| s.id == statement)
                    .ok_or_else(|| IncidentError::Precondition(format!("没有编号为 {statement} 的口径")))?;
                let Some(version) = s.approved_version else {
                    return pre(&format!("口径 {statement} 尚未审定（{}），不能发布", s.status.label_zh()));
                };
                if let Some(n) = answers_node {
                    if n as usize >= self.timetable.len() {
                        return pre(&format!("时间表没有第 {} 个节点", n + 1));
                    }
                }
                let first = self.responded_at.is_none();
                self.step(Step::Publish, None, &mut ev)?;
                ev.push(EventKind::Published {
                    statement,
                    version,
                    channel: channel.clone(),
                    url: url.clone(),
                    spokesperson: spokesperson.clone(),
                    answers_node,
                });
                self.publications.push(Publication {
                    statement,
                    version,
                    channel,
                    url,
                    at,
                    spokesperson,
                    recorded_by: actor.name.clone(),
                    answers_node,
                });
                if first {
                    self.responded_at = Some(at);
                    self.meet(DeadlineKind::PublicResponse, at, &mut ev);
                    self.complete_tasks(TaskKind::Publish, &actor.name, now, &mut ev);
                }
                if let Some(n) = answers_node {
                    self.meet(DeadlineKind::FollowUpNode(n), at, &mut ev);
                }
                for node in timetable {
                    let idx = self.timetable.len() as u32;
                    ev.push(EventKind::TimetableNodeAdded {
                        node: idx,
                        label: node.label.clone(),
                        due_at: node.due_at,
                    });
                    let kind = DeadlineKind::FollowUpNode(idx);
                    self.deadlines.push(Deadline::new(kind, node.label.clone(), at, node.due_at));
                    self.timetable.push(node);
                }
            }
            Command::StartFollowUp => {
                self.step(Step::StartFollowUp, None, &mut ev)?;
                self.follow_up_at = Some(now);
                if self.policy.needs_review(self.grade) {
                    self.start_clock(DeadlineKind::Review, now, &mut ev);
                }
            }
            Command::SubmitReview { lessons } => {
                if !matches!(self.state, IncidentState::FollowUp | IncidentState::Closed) {
                    return pre(&format!("总结评估在跟踪阶段或办结后进行，当前为“{}”", self.state));
                }
                if lessons.trim().is_empty() {
                    return pre("须填写经验教训");
                }
                let times = self.review_times(now);
                ev.push(EventKind::Reviewed { lessons: lessons.clone() });
                self.review = Some(Review { lessons, by: actor.name.clone(), at: now, times });
                self.meet(DeadlineKind::Review, now, &mut ev);
            }
            Command::Close { reason } => {
                if self.policy.needs_review(self.grade) && self.review.is_none() {
                    return pre(&format!("{}级 舆情须先完成总结评估才能办结", self.grade.as_str()));
                }
                if self.state == IncidentState::Triage && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                    return pre("研判后直接办结须写明理由（如：经研判无需处置）");
                }
                let open_nodes: Vec<&str> = self
                    .deadlines
                    .iter()
                    .filter(|d| matches!(d.kind, DeadlineKind::FollowUpNode(_)) && !d.is_met())
                    .map(|d| d.label.as_str())
                    .collect();
                if !open_nodes.is_empty() {
                    return pre(&format!("承诺的时间表节点尚未回应：{}", open_nodes.join("、")));
                }
                self.step(Step::Close, reason, &mut ev)?;
                self.closed_at = Some(now);
                self.complete_tasks(TaskKind::FollowUp, &actor.name, now, &mut ev);
                if let Some(r) = self.review.as_mut() {
                    r.times.close = Some((now - self.detected_at).num_seconds());
                }
            }
            Command::MarkFalseAlarm { reason } => {
                let reason = reason.trim().to_string();
                if reason.is_empty() {
                    return pre("标记误报须写明理由（如：非本地事件、广告营销、与本单位无关）");
                }
                self.step(Step::MarkFalseAlarm, Some(format!("误报：{reason}")), &mut ev)?;
                self.closed_at = Some(now);
                self.false_alarm = Some(FalseAlarm { reason, by: actor.name.clone(), at: now });
            }
            Command::Reopen { reason } => {
                if reason.trim().is_empty() {
                    return pre("重新打开须写明理由");
                }
                self.step(Step::Reopen, Some(reason.clone()), &mut ev)?;
                ev.push(EventKind::Reopened { reason });
                self.reopened += 1;
                self.closed_at = None;
                self.false_alarm = None;
                self.start_clock(DeadlineKind::FirstReport, now, &mut ev);
                self.start_clock(DeadlineKind::PublicResponse, now, &mut ev);
            }
        }
        Ok(ev.0)
    }

    fn complete_tasks(&mut self, kind: TaskKind, by: &str, now: DateTime<Utc>, ev: &mut Events) {
        for t in self.tasks.iter_mut().filter(|t| t.kind == kind && t.done_at.is_none()) {
            t.done_at = Some(now);
            t.done_by = Some(by.to_string());
            ev.push(EventKind::TaskDone { task: t.id, title: t.title.clone(), note: None });
        }
    }

    /// A story's grade changed: the incident takes the highest grade of its stories, and unmet
    /// clocks are re-computed from their start under the new grade.
    pub fn regrade(&mut self, grade: Grade, reason: String, now: DateTime<Utc>) -> Vec<Event> {
        let mut ev = Events::new(&Actor::system(), now);
        if grade == self.grade {
            return ev.0;
        }
        ev.push(EventKind::GradeChanged { from: self.grade, to: grade, reason: reason.clone() });
        self.grade = grade;
        self.grade_reason = reason;
        if self.state.is_open() {
            for d in self.deadlines.iter_mut().filter(|d| !d.is_met()) {
                let Some(limit) = self.policy.limit(d.kind, grade) else { continue };
                let due = self.policy.due(limit, d.started_at);
                if due != d.due_at {
                    ev.push(EventKind::DeadlineMoved {
                        deadline: d.kind,
                        from: d.due_at,
                        to: due,
                        reason: format!("级别变为 {}级", grade.as_str()),
                    });
                    if due > d.due_at {
                        // More time: the reminder and the overdue notice apply to the new due time.
                        d.reminded = false;
                        d.overdue = false;
                    }
                    d.due_at = due;
                }
            }
            if self.state == IncidentState::FollowUp
                && self.policy.needs_review(grade)
                && !self.deadlines.iter().any(|d| d.kind == DeadlineKind::Review)
            {
                let start = self.follow_up_at.unwrap_or(now);
                self.start_clock(DeadlineKind::Review, start, &mut ev);
            }
            for s in &mut self.statements {
                s.raise_chain(grade);
            }
        }
        ev.0
    }

    /// A story joins the incident.
    pub fn add_story(&mut self, story: i64, first_post_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Vec<Event> {
        let mut ev = Events::new(&Actor::system(), now);
        if !self.stories.contains(&story) {
            self.stories.push(story);
            if let Some(t) = first_post_at {
                self.first_post_at = Some(self.first_post_at.map_or(t, |f| f.min(t)));
            }
            ev.push(EventKind::StoryAdded { story });
        }
        ev.0
    }

    /// A person acknowledged the alert that concerns this incident.
    pub fn acknowledge(&mut self, alert: i64, by: &Actor, now: DateTime<Utc>) -> Vec<Event> {
        let mut ev = Events::new(by, now);
        self.acknowledged_at.get_or_insert(now);
        ev.push(EventKind::Acknowledged { alert });
        ev.0
    }

    /// Marks the clock at `index` as reminded or overdue, with who was told.
    pub fn record_escalation(
        &mut self,
        index: usize,
        what: Escalation,
        to: Vec<String>,
        now: DateTime<Utc>,
    ) -> Vec<Event> {
        let mut ev = Events::new(&Actor::system(), now);
        if let Some(d) = self.deadlines.get_mut(index) {
            match what {
                Escalation::Remind => {
                    d.reminded = true;
                    ev.push(EventKind::Reminder { deadline: d.kind, due_at: d.due_at, to });
                }
                Escalation::Overdue => {
                    d.reminded = true;
                    d.overdue = true;
                    ev.push(EventKind::Overdue { deadline: d.kind, due_at: d.due_at, to });
                }
            }
        }
        ev.0
    }

    /// The escalations due at `now` (none once closed).
    pub fn due_escalations(&self, now: DateTime<Utc>) -> Vec<(usize, Escalation)> {
        if !self.state.is_open() {
            return Vec::new();
        }
        due_escalations(&self.deadlines, self.policy.remind_at, now)
    }

    /// The measured times, as of `now` for steps not yet taken.
    pub fn review_times(&self, _now: DateTime<Utc>) -> ReviewTimes {
        let secs = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
            (Some(a), Some(b)) => Some((b - a).num_seconds().max(0)),
            _ => None,
        };
        let detected = Some(self.detected_at);
        ReviewTimes {
            detect: secs(self.first_post_at, detected),
            alert: secs(detected, self.alerted_at),
            acknowledge: secs(self.alerted_at, self.acknowledged_at),
            report: secs(detected, self.reported_at),
            verify: secs(self.reported_at, self.verified_at),
            respond: secs(detected, self.responded_at),
            close: secs(detected, self.closed_at),
            overdue: self.deadlines.iter().filter(|d| d.overdue || d.met_at.is_some_and(|m| m > d.due_at)).count()
                as u32,
        }
    }
}

/// Collects events with one actor and time.
struct Events(Vec<Event>, String, DateTime<Utc>);

impl Events {
    fn new(actor: &Actor, now: DateTime<Utc>) -> Events {
        Events(Vec::new(), actor.name.clone(), now)
    }
    fn push(&mut self, kind: EventKind) {
        self.0.push(Event { at: self.2, actor: self.1.clone(), kind });
    }
}

#[cfg(test)]
mod tests;
