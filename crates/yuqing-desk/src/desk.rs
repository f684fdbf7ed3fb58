//! The incident desk's orchestration: commands from people and the clock's tick, each applied to the
//! pure incident aggregate and written — incident, timeline, audit entry and outbox messages — in
//! one transaction. Time is an argument (the server passes the wall clock, tests a fake one).
//! Invariant: no HTTP here; refusals are [`DeskError`]s the server maps to its error codes.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::Deserialize;
use yuqing_core::duty::{ack_escalation_due, on_duty, AckEscalation, DutyRole};
use yuqing_core::incident::{route, AssignmentRule};
use yuqing_core::incident::{
    spokesperson_title, ApprovalLink, Command, DeadlineKind, DeadlinePolicy, Escalation, Event, EventKind, Incident,
    Opening, RoutingFacts, StatementStatus,
};
use yuqing_core::people::{Actor, Role, Title};
use yuqing_core::{Alert, Grade};
use yuqing_store::desk::{self, User};
use yuqing_store::outbox::{self, NewMessage, RetryPolicy};
use yuqing_store::{Connection, SqliteStore, Store, Work};

use crate::error::{DeskError, DeskResult, Missing};
use crate::permission;

/// `[desk]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeskConfig {
    /// Stories reaching this grade open an incident by themselves (default III).
    pub open_grade: Grade,
    /// An alert not acknowledged in this time goes to the on-duty leader, then the coordinator.
    #[serde(deserialize_with = "span")]
    pub ack_timeout: Duration,
    /// A closed incident whose story rises again within this time is reopened.
    #[serde(deserialize_with = "span")]
    pub follow_up_window: Duration,
    /// How often open incidents record their stories' heat on the timeline.
    #[serde(deserialize_with = "span")]
    pub heat_snapshot_every: Duration,
    /// Channels that receive every alert (a duty group robot), besides each person's own.
    pub broadcast_channels: Vec<String>,
    /// Channels for people who have none of their own.
    pub default_channels: Vec<String>,
    /// Base address for links in messages, e.g. "http://10.0.0.5:8080".
    pub public_url: String,
    /// How often the server runs the desk's clock.
    #[serde(deserialize_with = "span")]
    pub tick: Duration,
    /// From `[deadlines]` (top level in the configuration file).
    #[serde(skip)]
    pub deadlines: DeadlinePolicy,
    /// From `[[routing]]` (top level in the configuration file).
    #[serde(skip)]
    pub routing: Vec<AssignmentRule>,
}

fn span<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    yuqing_core::incident::deadline::parse_span(&s).map_err(serde::de::Error::custom)
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            open_grade: Grade::III,
            ack_timeout: Duration::minutes(10),
            follow_up_window: Duration::days(7),
            heat_snapshot_every: Duration::hours(1),
            broadcast_channels: Vec::new(),
            default_channels: Vec::new(),
            public_url: "http://127.0.0.1:8080".into(),
            tick: Duration::seconds(15),
            deadlines: DeadlinePolicy::default(),
            routing: Vec::new(),
        }
    }
}

/// What one tick did (for logs and tests).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TickReport {
    pub alerts: usize,
    pub opened: Vec<i64>,
    pub reopened: Vec<i64>,
    pub ack_escalations: usize,
    pub reminders: usize,
    pub overdue: usize,
    pub heat_snapshots: usize,
}

/// The desk: configuration plus the operations. The store holds all state (the routing in force
/// and which log lines were written aside).
#[derive(Debug, Clone)]
pub struct Desk {
    pub config: DeskConfig,
    pub retry: RetryPolicy,
    /// Routing in force: `config.routing` at start, replaced when watch rules (and so their
    /// departments) are edited while the server runs.
    routing: std::sync::Arc<std::sync::RwLock<Vec<AssignmentRule>>>,
    /// People already logged as reached by no channel: the operator is told once per person
    /// and process, not at every alert and reminder.
    unreachable_logged: std::sync::Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
}

fn label(u: &User) -> String {
    match &u.department {
        Some(d) => format!("{}（{d}）", u.display_name),
        None => format!("{}（{}）", u.display_name, u.role.label_zh()),
    }
}

/// Logs when working-day limits are configured but the calendar lacks this year (those days
/// are then counted with plain weekends; the incident page says so next to each deadline).
fn warn_on_calendar_gaps(policy: &DeadlinePolicy, now: DateTime<Utc>) {
    let uses_working_days =
        [policy.first_report, policy.leadership_report, policy.verification, policy.public_response]
            .iter()
            .any(|p| [p.i, p.ii, p.iii, p.iv].iter().any(|l| l.is_working_days()));
    if !uses_working_days {
        return;
    }
    let year = now.with_timezone(&policy.offset()).year();
    let covered: Vec<i32> = policy.workdays.years().map(|a| a.year).collect();
    if !policy.workdays.covers(year) {
        tracing::warn!(year, ?covered, "the working-day calendar has no holiday notice for this year: working-day deadlines count plain weekends; add the year with [deadlines] calendar");
    } else if !policy.workdays.covers(year + 1) {
        tracing::info!(next_year = year + 1, ?covered, "the working-day calendar has no notice for next year yet; add it with [deadlines] calendar once the State Council publishes it");
    }
}

impl Desk {
    pub fn new(config: DeskConfig) -> Desk {
        // Incidents read back from storage count working days with the configured calendar.
        yuqing_core::workdays::install(config.deadlines.workdays.clone());
        warn_on_calendar_gaps(&config.deadlines, Utc::now());
        let routing = std::sync::Arc::new(std::sync::RwLock::new(config.routing.clone()));
        Desk { config, retry: RetryPolicy::default(), routing, unreachable_logged: Default::default() }
    }

    /// Replaces the routing in force (after watch-rule edits changed the rules' departments).
    pub fn set_routing(&self, routing: Vec<AssignmentRule>) {
        *self.routing.write().unwrap_or_else(std::sync::PoisonError::into_inner) = routing;
    }

    /// The routing in force.
    pub fn routing(&self) -> Vec<AssignmentRule> {
        self.routing.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn link(&self, path: &str) -> String {
        format!("{}{}", self.config.public_url.trim_end_matches('/'), path)
    }

    /// Writes one message per person and channel into the outbox; returns whom it reached.
    fn notify(
        &self,
        conn: &Connection,
        people: &[&User],
        subject: &str,
        body: &str,
        link: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> DeskResult<Vec<String>> {
        let mut reached = Vec::new();
        for p in people {
            let channels = if p.channels.is_empty() { &self.config.default_channels } else { &p.channels };
            for ch in channels {
                let msg = NewMessage {
                    channel: ch.clone(),
                    recipient: p.email.clone(),
                    mention: p.phone.iter().cloned().collect(),
                    subject: subject.to_string(),
                    body: format!("{}：{body}", p.display_name),
                    link: Some(self.link(link)),
                    dedup_key: Some(format!("{key}:{}:{ch}", p.name)),
                };
                outbox::enqueue(conn, &msg, now, &self.retry)?;
            }
            if channels.is_empty()
                && self
                    .unreachable_logged
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(p.name.clone())
            {
                tracing::warn!(person = %p.name, "no notification channel reaches this person; configure desk.default_channels (logged once per person)");
            }
            reached.push(p.name.clone());
        }
        Ok(reached)
    }

    fn broadcast(
        &self,
        conn: &Connection,
        mention: &[&User],
        subject: &str,
        body: &str,
        link: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> DeskResult<()> {
        for ch in &self.config.broadcast_channels {
            let msg = NewMessage {
                channel: ch.clone(),
                recipient: None,
                mention: mention.iter().filter_map(|u| u.phone.clone()).collect(),
                subject: subject.to_string(),
                body: body.to_string(),
                link: Some(self.link(link)),
                dedup_key: Some(format!("{key}:broadcast:{ch}")),
            };
            outbox::enqueue(conn, &msg, now, &self.retry)?;
        }
        Ok(())
    }

    fn audit(
        conn: &Connection,
        actor: &str,
        action: &str,
        target: &str,
        detail: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> DeskResult<()> {
        desk::audit_append(conn, actor, action, target, &detail.to_string(), now)?;
        Ok(())
    }

    // ------------------------------------------------------------ people

    fn on_duty<'a>(
        conn: &Connection,
        users: &'a [User],
        role: DutyRole,
        now: DateTime<Utc>,
    ) -> DeskResult<Vec<&'a User>> {
        let shifts = desk::shifts_between(conn, now, now + Duration::seconds(1))?;
        let names: Vec<&str> = on_duty(&shifts, role, now).into_iter().map(|s| s.person.as_str()).collect();
        Ok(users.iter().filter(|u| u.active && names.contains(&u.name.as_str())).collect())
    }

    fn with_role(users: &[User], role: Role) -> Vec<&User> {
        users.iter().filter(|u| u.active && u.role == role).collect()
    }

    fn department_members<'a>(users: &'a [User], dept: Option<&str>) -> Vec<&'a User> {
        users
            .iter()
            .filter(|u| {
                u.active
                    && u.department.is_some()
                    && u.department.as_deref() == dept
                    && u.role == Role::DepartmentMember
            })
            .collect()
    }

    /// Who answers for a clock: the assignee of the step.
    fn assignees<'a>(
        users: &'a [User],
        inc: &Incident,
        kind: DeadlineKind,
        conn: &Connection,
        now: DateTime<Utc>,
    ) -> DeskResult<Vec<&'a User>> {
        let people = match kind {
            DeadlineKind::FirstReport | DeadlineKind::LeadershipReport => {
                let staff = Self::on_duty(conn, users, DutyRole::Staff, now)?;
                if staff.is_empty() {
                    Self::with_role(users, Role::Officer)
                } else {
                    staff
                }
            }
            DeadlineKind::Review => Self::with_role(users, Role::Coordinator),
            DeadlineKind::Verification | DeadlineKind::PublicResponse | DeadlineKind::FollowUpNode(_) => {
                Self::department_members(users, inc.lead_department.as_deref())
            }
        };
        Ok(if people.is_empty() { Self::with_role(users, Role::Coordinator) } else { people })
    }

    /// A system alert (e.g. 信息源异常) to every active coordinator through their channels and the
    /// broadcast channels; `key` makes it once-only. Returns whom it reached.
    pub fn notify_coordinators(
        &self,
        store: &SqliteStore,
        subject: &str,
        body: &str,
        link: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> DeskResult<Vec<String>> {
        let conn = store.connection();
        let users = desk::users(conn)?;
        let mut people = Self::with_role(&users, Role::Coordinator);
        if people.is_empty() {
            people = Self::with_role(&users, Role::Admin);
        }
        let tx = Work::begin(conn)?;
        let reached = self.notify(&tx, &people, subject, body, link, key, now)?;
        self.broadcast(&tx, &people, subject, body, link, key, now)?;
        Self::audit(&tx, "system", "system.alert", key, &serde_json::json!({"subject": subject, "to": reached}), now)?;
        tx.commit()?;
        Ok(reached)
    }

    // ------------------------------------------------------------ commands

    /// Loads an incident `user` may see: a department member sees only its departments' incidents.
    pub fn visible_incident(&self, store: &SqliteStore, user: &User, id: i64) -> DeskResult<Incident> {
        let inc = desk::incident(store.connection(), id)?
            .ok_or_else(|| DeskError::NotFound(Missing::Incident, format!("没有编号为 {id} 的处置工单")))?;
        let actor = user.actor();
        if actor.sees_only_own_department() && !inc.involves(&actor) {
            return Err(DeskError::Forbidden(format!("{} 只能查看本单位承办的工单", label(user))));
        }
        Ok(inc)
    }

    /// Applies a person's command to an incident, with its notifications and audit entry.
    pub fn act(
        &self,
        store: &SqliteStore,
        user: &User,
        id: i64,
        mut cmd: Command,
        now: DateTime<Utc>,
    ) -> DeskResult<(Incident, Vec<Event>)> {
        let conn = store.connection();
        let mut inc = self.visible_incident(store, user, id)?;
        let users = desk::users(conn)?;
        if let Command::Publish { spokesperson, .. } = &mut cmd {
            if spokesperson.trim().is_empty() {
                *spokesperson = default_spokesperson(&users, &inc).ok_or_else(|| {
                    DeskError::Invalid(format!(
                        "未指定发言人，且没有{}可作默认发言人；请填写发言人",
                        spokesperson_title(inc.grade).label_zh()
                    ))
                })?;
            }
        }
        let actor = user.actor();
        let events = inc.apply(&actor, cmd.clone(), now)?;
        let tx = Work::begin(conn)?;
        desk::save_incident(&tx, &inc, &events, now)?;
        let detail = serde_json::to_value(&cmd).unwrap_or_default();
        let action = detail.get("action").and_then(|a| a.as_str()).unwrap_or("command").to_string();
        Self::audit(&tx, &user.name, &format!("incident.{action}"), &format!("incident:{id}"), &detail, now)?;
        self.notify_after(&tx, &users, &inc, &events, now)?;
        tx.commit()?;
        Ok((inc, events))
    }

    /// Tells the next person in line what the events ask of them.
    fn notify_after(
        &self,
        conn: &Connection,
        users: &[User],
        inc: &Incident,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> DeskResult<()> {
        let link = format!("/incidents/{}", inc.id);
        let lead = inc.lead_department.as_deref();
        let next_signers = |statement: u32| -> Vec<&User> {
            let Some(s) = inc.statements.iter().find(|s| s.id == statement) else { return vec![] };
            let Some(next) = s.next_link() else { return vec![] };
            users.iter().filter(|u| u.active && next.qualifies(&u.actor(), lead)).collect()
        };
        for (i, e) in events.iter().enumerate() {
            // Who is asked what: (people, subject, text).
            let (people, subject, text): (Vec<&User>, &str, String) = match &e.kind {
                EventKind::StateChanged { to, .. } if *to == yuqing_core::incident::IncidentState::Reported => (
                    Self::department_members(users, lead),
                    "请核查",
                    format!("“{}”已交由贵单位牵头核查处置。", inc.title),
                ),
                EventKind::Assigned { department, lead: false, .. } => (
                    Self::department_members(users, Some(department)),
                    "请配合",
                    format!("“{}”需要贵单位配合处置。", inc.title),
                ),
                EventKind::StatementSubmitted { statement, .. }
                | EventKind::StatementApproved { statement, last: false, .. } => {
                    (next_signers(*statement), "口径待审批", format!("“{}”的口径 {statement} 等待您审批。", inc.title))
                }
                EventKind::StatementApproved { statement, last: true, .. } => (
                    Self::with_role(users, Role::Coordinator),
                    "口径已审定",
                    format!("“{}”的口径 {statement} 已审定，可以发布。", inc.title),
                ),
                EventKind::StatementRejected { statement, comment, .. } => {
                    let author = inc.statements.iter().find(|s| s.id == *statement).map(|s| s.latest().author.clone());
                    (
                        users.iter().filter(|u| Some(&u.name) == author.as_ref()).collect(),
                        "口径被退回",
                        format!("口径 {statement} 被退回：{comment}"),
                    )
                }
                _ => continue,
            };
            let key = format!("incident:{}:{}:{}", inc.id, e.at.timestamp(), i);
            let subject = format!("【处置工单 #{}】{subject}", inc.id);
            self.notify(conn, &people, &subject, &text, &link, &key, now)?;
        }
        Ok(())
    }

    /// A story was marked 误报: its open incident closes as 误报 too, when every story of the
    /// incident is marked and the incident has not gone to approval. Returns the incident and
    /// what became of it (the person reads why it stayed open).
    pub fn close_false_alarm(
        &self,
        store: &SqliteStore,
        user: &User,
        story: i64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> DeskResult<Option<(i64, Result<(), String>)>> {
        let conn = store.connection();
        let Some(id) = desk::incident_for_story(conn, story)? else { return Ok(None) };
        let Some(inc) = desk::incident(conn, id)? else { return Ok(None) };
        if !inc.state.is_open() {
            return Ok(None);
        }
        let marked = yuqing_store::false_alarm::among(conn, &inc.stories)?;
        let unmarked: Vec<String> =
            inc.stories.iter().filter(|s| !marked.contains_key(s)).map(|s| format!("#{s}")).collect();
        if !unmarked.is_empty() {
            return Ok(Some((
                id,
                Err(format!("处置工单 #{id} 还关联未标记误报的事件 {}，未关闭", unmarked.join("、"))),
            )));
        }
        match self.act(store, user, id, Command::MarkFalseAlarm { reason: reason.to_string() }, now) {
            Ok(_) => Ok(Some((id, Ok(())))),
            Err(
                e @ (DeskError::Incident(_) | DeskError::Forbidden(_) | DeskError::Invalid(_) | DeskError::Conflict(_)),
            ) => Ok(Some((id, Err(format!("处置工单 #{id} 未关闭：{e}"))))),
            Err(e) => Err(e),
        }
    }

    /// Opens an incident by hand from a story (or the story of a post).
    pub fn open_by_hand(
        &self,
        store: &SqliteStore,
        user: &User,
        story_id: i64,
        title: Option<String>,
        now: DateTime<Utc>,
    ) -> DeskResult<Incident> {
        if !permission::may_open_incidents(user.role) {
            return Err(DeskError::Forbidden(format!("{} 无权开启处置工单", label(user))));
        }
        let conn = store.connection();
        if let Some(existing) = desk::incident_for_story(conn, story_id)? {
            if let Some(inc) = desk::incident(conn, existing)? {
                if inc.state.is_open() {
                    return Err(DeskError::Conflict(format!("事件 #{story_id} 已在处置工单 #{existing} 中")));
                }
            }
        }
        let story = store
            .story(story_id)?
            .ok_or_else(|| DeskError::NotFound(Missing::Story, format!("没有编号为 {story_id} 的舆情事件")))?;
        let grade = story.manual.as_ref().map(|m| m.0).or(story.grade).unwrap_or(Grade::IV);
        let reason = match (&story.manual, story.reasons.first()) {
            (Some((_, why)), _) => format!("人工定级：{why}"),
            (None, Some(r)) => r.detail.clone(),
            (None, None) => format!("由 {} 人工开启", label(user)),
        };
        let tx = Work::begin(conn)?;
        let users = desk::users(&tx)?;
        let inc = self.open_for(&tx, store, &story, grade, reason, None, &user.actor(), title, &users, now)?;
        Self::audit(
            &tx,
            &user.name,
            "incident.open",
            &format!("incident:{}", inc.id),
            &serde_json::json!({"story": story_id}),
            now,
        )?;
        tx.commit()?;
        Ok(inc)
    }

    #[allow(clippy::too_many_arguments)]
    fn open_for(
        &self,
        conn: &Connection,
        store: &SqliteStore,
        story: &yuqing_store::StoryRecord,
        grade: Grade,
        reason: String,
        alert: Option<&Alert>,
        actor: &Actor,
        title: Option<String>,
        users: &[User],
        now: DateTime<Utc>,
    ) -> DeskResult<Incident> {
        let routes = self.route_story(store, story)?;
        let id = desk::next_incident_id(conn)?;
        let opening = Opening {
            id,
            title: title.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| story.title.clone()),
            stories: vec![story.id],
            grade,
            grade_reason: reason,
            first_post_at: Some(story.first_at),
            alert: alert.map(|a| (a.id, a.at)),
            routes,
        };
        let (inc, mut events) = Incident::open(opening, &self.config.deadlines, actor, now);
        if let Some(a) = alert {
            events.push(alert_event(a, now));
        }
        desk::save_incident(conn, &inc, &events, now)?;
        self.notify_after(conn, users, &inc, &events, now)?;
        if let Some(lead) = &inc.lead_department {
            let people = Self::department_members(users, Some(lead));
            self.notify(
                conn,
                &people,
                &format!("【处置工单 #{}】{}级 {}", inc.id, inc.grade.as_str(), inc.title),
                &format!("已开启处置工单，贵单位为牵头单位。级别依据：{}", inc.grade_reason),
                &format!("/incidents/{}", inc.id),
                &format!("incident:{}:opened", inc.id),
                now,
            )?;
        }
        Ok(inc)
    }

    /// The departments the routing in force sends a story to, lead first (what an incident opened
    /// for it now would have as lead and cooperating departments).
    fn route_story(
        &self,
        store: &SqliteStore,
        story: &yuqing_store::StoryRecord,
    ) -> DeskResult<Vec<yuqing_core::incident::RouteMatch>> {
        let posts = store.story_posts(story.id, 200, 0)?;
        let sources: Vec<String> = posts.items.iter().map(|p| p.source.clone()).collect();
        // Most posts first: the rule carrying the matter decides the lead department.
        let mut hits: Vec<&(String, u64)> = story.rule_hits.iter().collect();
        hits.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let rules: Vec<String> = hits.into_iter().map(|r| r.0.clone()).collect();
        let topics: Vec<String> = story.topics.iter().map(|t| t.0.clone()).collect();
        let mut text = format!("{} {}", story.title, story.keywords.join(" "));
        for p in &posts.items {
            if let Some(pl) = &p.place {
                text.push(' ');
                text.push_str(pl);
            }
        }
        // The places the story's posts name, with their ancestors: a rule for 武汉市 takes a story
        // about 江夏区 (属地管理).
        let places = yuqing_store::places::of_story(store.connection(), story.id)?;
        text.push(' ');
        text.push_str(&routing_text(&places));
        Ok(route(&self.routing(), &RoutingFacts { rules: &rules, topics: &topics, sources: &sources, text: &text }))
    }

    /// Whether `user` may acknowledge `alert` — the incident visibility rule applied through the
    /// alert's story. People who see every incident may acknowledge every alert. A department
    /// member, or an officer of a department (`Actor::sees_only_own_department`), may acknowledge
    /// an alert only for their own department's matter: when an incident has been opened for the
    /// story, the newest such incident (the one the acknowledgement is recorded on) must involve
    /// their department, as lead or cooperating, exactly as `visible_incident` decides; when none
    /// has, the routing in force must send the story to their department. An alert that routes
    /// nowhere is the office's to acknowledge.
    pub fn may_acknowledge(&self, store: &SqliteStore, user: &User, alert: &Alert) -> DeskResult<()> {
        let actor = user.actor();
        if !actor.sees_only_own_department() {
            return Ok(());
        }
        let refused =
            || DeskError::Forbidden(format!("{} 只能确认本单位承办事项的预警（预警 #{}）", label(user), alert.id));
        let conn = store.connection();
        if let Some(iid) = desk::incident_for_story(conn, alert.story_id)? {
            return match self.visible_incident(store, user, iid) {
                Ok(_) => Ok(()),
                Err(DeskError::Forbidden(_) | DeskError::NotFound(..)) => Err(refused()),
                Err(e) => Err(e),
            };
        }
        let Some(story) = store.story(alert.story_id)? else { return Err(refused()) };
        let mine = actor.department.as_deref().filter(|d| !d.trim().is_empty());
        if self.route_story(store, &story)?.iter().any(|r| Some(r.department.as_str()) == mine) {
            Ok(())
        } else {
            Err(refused())
        }
    }

    /// A person acknowledges an alert (it stops escalating); see `may_acknowledge` for whose.
    pub fn acknowledge(&self, store: &SqliteStore, user: &User, alert_id: i64, now: DateTime<Utc>) -> DeskResult<bool> {
        if !permission::may_work(user.role) {
            return Err(DeskError::Forbidden(format!("{} 无权确认预警", label(user))));
        }
        let conn = store.connection();
        let alert = desk::alert(conn, alert_id)?
            .ok_or_else(|| DeskError::NotFound(Missing::Alert, format!("没有编号为 {alert_id} 的预警")))?;
        self.may_acknowledge(store, user, &alert)?;
        let tx = Work::begin(conn)?;
        let fresh = desk::ack_alert(&tx, alert_id, &user.name, now)?;
        if fresh {
            if let Some(iid) = desk::incident_for_story(&tx, alert.story_id)? {
                if let Some(mut inc) = desk::incident(&tx, iid)? {
                    let ev = inc.acknowledge(alert_id, &user.actor(), now);
                    desk::save_incident(&tx, &inc, &ev, now)?;
                }
            }
            Self::audit(&tx, &user.name, "alert.ack", &format!("alert:{alert_id}"), &serde_json::json!({}), now)?;
        }
        tx.commit()?;
        Ok(fresh)
    }

    /// Adds a story to an incident (one matter reported under several stories).
    pub fn add_story(
        &self,
        store: &SqliteStore,
        user: &User,
        id: i64,
        story_id: i64,
        now: DateTime<Utc>,
    ) -> DeskResult<Incident> {
        if !permission::may_open_incidents(user.role) {
            return Err(DeskError::Forbidden(format!("{} 无权合并事件", label(user))));
        }
        let conn = store.connection();
        let mut inc = self.visible_incident(store, user, id)?;
        let story = store
            .story(story_id)?
            .ok_or_else(|| DeskError::NotFound(Missing::Story, format!("没有编号为 {story_id} 的舆情事件")))?;
        let mut ev = inc.add_story(story_id, Some(story.first_at), now);
        if let Some(g) = story.manual.as_ref().map(|m| m.0).or(story.grade) {
            if g > inc.grade {
                ev.extend(inc.regrade(g, format!("并入事件 #{story_id}（{}级）", g.as_str()), now));
            }
        }
        let tx = Work::begin(conn)?;
        desk::save_incident(&tx, &inc, &ev, now)?;
        Self::audit(
            &tx,
            &user.name,
            "incident.add_story",
            &format!("incident:{id}"),
            &serde_json::json!({"story": story_id}),
            now,
        )?;
        tx.commit()?;
        Ok(inc)
    }

    // ------------------------------------------------------------ the clock

    /// One pass of the desk's clock: new alerts, unacknowledged alerts, deadlines, heat. Alert
    /// messages carry no brief (see [`Desk::tick_data`]).
    pub fn tick(&self, store: &SqliteStore, now: DateTime<Utc>) -> DeskResult<TickReport> {
        self.tick_inner(store, None, now)
    }

    /// [`Desk::tick`] on a data directory: alert messages also carry the story's brief (what
    /// happened, first seen, where), made with the directory's segmenter.
    pub fn tick_data(&self, data: &yuqing_store::DataDir, now: DateTime<Utc>) -> DeskResult<TickReport> {
        self.tick_inner(&data.store, Some(data.fts.segmenter()), now)
    }

    fn tick_inner(
        &self,
        store: &SqliteStore,
        seg: Option<&yuqing_text::Segmenter>,
        now: DateTime<Utc>,
    ) -> DeskResult<TickReport> {
        let mut report = TickReport::default();
        let conn = store.connection();
        // Who can be told is read once per pass: alerts, escalations and clocks all ask.
        let users = desk::users(conn)?;
        loop {
            let after = desk::cursor(conn, "alerts")?;
            let batch = desk::alerts_after(conn, after, 200)?;
            if batch.is_empty() {
                break;
            }
            for alert in batch {
                let tx = Work::begin(conn)?;
                self.on_alert(&tx, store, seg, &alert, &users, now, &mut report)?;
                desk::set_cursor(&tx, "alerts", alert.id)?;
                tx.commit()?;
                report.alerts += 1;
            }
        }
        self.escalate_unacknowledged(store, &users, now, &mut report)?;
        for id in desk::open_incident_ids(conn)? {
            self.run_clocks(store, id, &users, now, &mut report)?;
        }
        Ok(report)
    }

    #[allow(clippy::too_many_arguments)]
    fn on_alert(
        &self,
        conn: &Connection,
        store: &SqliteStore,
        seg: Option<&yuqing_text::Segmenter>,
        alert: &Alert,
        users: &[User],
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> DeskResult<()> {
        let Some(story) = store.story(alert.story_id)? else {
            tracing::warn!(alert = alert.id, story = alert.story_id, "alert for a story that does not exist; skipped");
            return Ok(());
        };
        // Raised before the story was marked 误报 and not handled yet: nobody is woken for it.
        if yuqing_store::false_alarm::of_story(conn, story.id)?.is_some() {
            tracing::info!(alert = alert.id, story = story.id, "alert for a story marked as a false alarm; not sent");
            return Ok(());
        }
        let reasons = alert.reasons.iter().map(|r| r.detail.clone()).collect::<Vec<_>>().join("；");
        let mut staff = Self::on_duty(conn, users, DutyRole::Staff, now)?;
        if staff.is_empty() {
            staff = Self::with_role(users, Role::Coordinator);
        }
        let subject = format!("【舆情预警】{}级（{}）{}", alert.to.as_str(), alert.to.label_zh(), story.title);
        let mut body = format!(
            "事件 #{} 定为 {}级。依据：{reasons}。请在 {} 内确认。",
            story.id,
            alert.to.as_str(),
            yuqing_core::incident::deadline::describe_span(self.config.ack_timeout)
        );
        // What happened, first seen and where, from the posts; an alert goes out without it rather
        // than not at all.
        if let Some(seg) = seg {
            match yuqing_store::brief::story_brief(store, seg, story.id) {
                Ok(b) => {
                    let lines = crate::notify::format::brief_lines(&b);
                    if !lines.is_empty() {
                        body.push('\n');
                        body.push_str(&lines);
                    }
                }
                Err(e) => {
                    tracing::warn!(story = story.id, error = %e, "brief for the alert message failed; sent without it")
                }
            }
        }
        let key = format!("alert:{}", alert.id);
        self.notify(conn, &staff, &subject, &body, &format!("/stories/{}", story.id), &key, now)?;
        self.broadcast(conn, &staff, &subject, &body, &format!("/stories/{}", story.id), &key, now)?;

        let existing =
            desk::incident_for_story(conn, story.id)?.map(|id| desk::incident(conn, id)).transpose()?.flatten();
        match existing {
            Some(mut inc)
                if inc.state.is_open()
                    || inc.closed_at.is_some_and(|c| alert.at <= c + self.config.follow_up_window) =>
            {
                let mut events = Vec::new();
                if !inc.state.is_open() {
                    events.extend(inc.apply(
                        &Actor::system(),
                        Command::Reopen { reason: format!("跟踪期内舆情再起：{reasons}") },
                        now,
                    )?);
                    report.reopened.push(inc.id);
                }
                events.push(alert_event(alert, now));
                if alert.to > inc.grade {
                    events.extend(inc.regrade(alert.to, reasons.clone(), now));
                }
                desk::save_incident(conn, &inc, &events, now)?;
                Self::audit(
                    conn,
                    "system",
                    "incident.alert",
                    &format!("incident:{}", inc.id),
                    &serde_json::json!({"alert": alert.id}),
                    now,
                )?;
            }
            _ if alert.to >= self.config.open_grade => {
                let inc = self.open_for(
                    conn,
                    store,
                    &story,
                    alert.to,
                    reasons,
                    Some(alert),
                    &Actor::system(),
                    None,
                    users,
                    now,
                )?;
                Self::audit(
                    conn,
                    "system",
                    "incident.open",
                    &format!("incident:{}", inc.id),
                    &serde_json::json!({"alert": alert.id, "story": story.id}),
                    now,
                )?;
                report.opened.push(inc.id);
            }
            _ => {}
        }
        Ok(())
    }

    fn escalate_unacknowledged(
        &self,
        store: &SqliteStore,
        users: &[User],
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> DeskResult<()> {
        let conn = store.connection();
        // Alerts older than a day are history, not something to wake a leader for.
        let pending = desk::unacked_alerts(conn, now - Duration::days(1))?;
        for (alert, steps) in pending {
            let Some(step) = ack_escalation_due(alert.at, steps, self.config.ack_timeout, now) else { continue };
            let mut people = match step {
                AckEscalation::OnDutyLeader => Self::on_duty(conn, users, DutyRole::Leader, now)?,
                AckEscalation::Coordinator => Self::with_role(users, Role::Coordinator),
            };
            if people.is_empty() {
                people = Self::with_role(
                    users,
                    if step == AckEscalation::OnDutyLeader { Role::Approver } else { Role::Admin },
                );
            }
            let tx = Work::begin(conn)?;
            let names = self.notify(
                &tx,
                &people,
                &format!("【预警未确认·升级】事件 #{}（{}级）", alert.story_id, alert.to.as_str()),
                &format!(
                    "预警 #{} 已 {} 无人确认，现升级通知{}。",
                    alert.id,
                    yuqing_core::incident::deadline::describe_span(now - alert.at),
                    step.label_zh()
                ),
                &format!("/stories/{}", alert.story_id),
                &format!("alert:{}:escalation:{}", alert.id, step.step()),
                now,
            )?;
            desk::record_ack_escalation(&tx, alert.id, step.step(), &names.join(","), now)?;
            if let Some(iid) = desk::incident_for_story(&tx, alert.story_id)? {
                if let Some(inc) = desk::incident(&tx, iid)? {
                    let ev = vec![Event {
                        at: now,
                        actor: "system".into(),
                        kind: EventKind::AckEscalated {
                            alert: alert.id,
                            to: if names.is_empty() {
                                format!("{}（没有可通知的人员，请为相应角色建立用户）", step.label_zh())
                            } else {
                                format!("{}：{}", step.label_zh(), names.join("、"))
                            },
                        },
                    }];
                    desk::save_incident(&tx, &inc, &ev, now)?;
                }
            }
            Self::audit(
                &tx,
                "system",
                "alert.escalate",
                &format!("alert:{}", alert.id),
                &serde_json::json!({"step": step.step(), "to": names}),
                now,
            )?;
            tx.commit()?;
            report.ack_escalations += 1;
        }
        Ok(())
    }

    fn run_clocks(
        &self,
        store: &SqliteStore,
        id: i64,
        users: &[User],
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> DeskResult<()> {
        let conn = store.connection();
        let Some(mut inc) = desk::incident(conn, id)? else { return Ok(()) };
        let due = inc.due_escalations(now);
        let snapshot_due =
            desk::last_event_at(conn, id, "heat_snapshot")?.is_none_or(|t| now - t >= self.config.heat_snapshot_every);
        if due.is_empty() && !snapshot_due {
            return Ok(());
        }
        let tx = Work::begin(conn)?;
        let mut events = Vec::new();
        for (i, what) in due {
            let d = inc.deadlines[i].clone();
            let link = format!("/incidents/{id}");
            let key = format!("incident:{id}:deadline:{}:{}:{:?}", d.kind.key(), d.due_at.timestamp(), what);
            let names = match what {
                Escalation::Remind => {
                    let people = Self::assignees(users, &inc, d.kind, &tx, now)?;
                    report.reminders += 1;
                    self.notify(
                        &tx,
                        &people,
                        &format!("【时限提醒】工单 #{id}：{}", d.label),
                        &format!("“{}”的“{}”将于 {} 到期。", inc.title, d.label, fmt_local(d.due_at)),
                        &link,
                        &key,
                        now,
                    )?
                }
                Escalation::Overdue => {
                    let assignees = Self::assignees(users, &inc, d.kind, &tx, now)?;
                    let mut people: Vec<&User> = users
                        .iter()
                        .filter(|u| u.active && matches!(u.role, Role::Approver | Role::Coordinator))
                        .collect();
                    people.retain(|u| {
                        u.role != Role::Approver || !u.titles.contains(&Title::GroupLeader) || inc.grade >= Grade::II
                    });
                    report.overdue += 1;
                    let assignee = assignees.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(",");
                    desk::record_overdue(
                        &tx,
                        id,
                        &d.kind.key(),
                        inc.lead_department.as_deref(),
                        Some(&assignee),
                        d.due_at,
                        now,
                    )?;
                    self.notify(
                        &tx,
                        &people,
                        &format!("【超时】工单 #{id}：{}", d.label),
                        &format!(
                            "“{}”的“{}”已于 {} 到期未完成（承办：{}）。",
                            inc.title,
                            d.label,
                            fmt_local(d.due_at),
                            inc.lead_department.as_deref().unwrap_or("未指派")
                        ),
                        &link,
                        &key,
                        now,
                    )?
                }
            };
            events.extend(inc.record_escalation(i, what, names, now));
        }
        if snapshot_due {
            for sid in inc.stories.clone() {
                if let Some(s) = store.story(sid)? {
                    // The story's headline follows its posts; the incident keeps its title, and
                    // the timeline keeps the headline's history.
                    let known = desk::last_story_title(&tx, id, sid)?.unwrap_or_else(|| inc.title.clone());
                    if s.title != known {
                        events.push(Event {
                            at: now,
                            actor: "system".into(),
                            kind: EventKind::StoryRetitled { story: sid, title: s.title.clone() },
                        });
                    }
                    let heat = EventKind::HeatSnapshot {
                        story: sid,
                        posts: s.posts,
                        sites: s.sites,
                        interactions: s.interactions,
                        negative_share: s.negative_share,
                        grade: s.manual.as_ref().map(|m| m.0).or(s.grade),
                    };
                    // A matter gone quiet is not recorded again every hour: the timeline keeps
                    // the moments its heat changed.
                    if desk::last_heat_snapshot(&tx, id, sid)?.as_ref() != Some(&heat) {
                        events.push(Event { at: now, actor: "system".into(), kind: heat });
                        report.heat_snapshots += 1;
                    }
                }
            }
        }
        if events.is_empty() {
            return Ok(());
        }
        desk::save_incident(&tx, &inc, &events, now)?;
        if events.iter().any(|e| !matches!(e.kind, EventKind::HeatSnapshot { .. } | EventKind::StoryRetitled { .. })) {
            Self::audit(
                &tx,
                "system",
                "incident.clock",
                &format!("incident:{id}"),
                &serde_json::json!({"events": events.iter().map(|e| e.kind.name()).collect::<Vec<_>>()}),
                now,
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Reads a roster CSV (UTF-8 or GBK); every bad line is named in one message.
pub fn parse_roster(bytes: &[u8]) -> DeskResult<Vec<yuqing_core::duty::DutyShift>> {
    yuqing_core::duty::parse_roster_csv(bytes, yuqing_core::china())
        .map_err(|errs| DeskError::Invalid(errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("；")))
}

/// Stores shifts (a shift with the same person and start replaces the old one) with an audit
/// entry, in one transaction; `source` names the file they came from, if any.
pub fn import_roster(
    store: &SqliteStore,
    actor: &str,
    shifts: &[yuqing_core::duty::DutyShift],
    source: Option<&str>,
    now: DateTime<Utc>,
) -> DeskResult<usize> {
    let conn = store.connection();
    let tx = Work::begin(conn)?;
    let n = desk::put_shifts(&tx, shifts)?;
    let detail = match source {
        Some(file) => serde_json::json!({"shifts": n, "file": file}),
        None => serde_json::json!({"shifts": n}),
    };
    desk::audit_append(&tx, actor, "duty.import", "duty", &detail.to_string(), now)?;
    tx.commit()?;
    Ok(n)
}

/// Writes a shift handover note with its audit entry.
pub fn add_handover(store: &SqliteStore, actor: &str, text: &str, now: DateTime<Utc>) -> DeskResult<i64> {
    if text.trim().is_empty() {
        return Err(DeskError::Invalid("交接内容为空".into()));
    }
    let conn = store.connection();
    let tx = Work::begin(conn)?;
    let id = desk::add_handover(&tx, actor, text, now)?;
    desk::audit_append(&tx, actor, "duty.handover", &format!("handover:{id}"), "{}", now)?;
    tx.commit()?;
    Ok(id)
}

/// The story's place names with their ancestors (湖北省武汉市江夏区), for routing by place.
pub fn routing_text(pairs: &[(i64, u32)]) -> String {
    let g = yuqing_text::places::Gazetteer::builtin();
    let codes: std::collections::BTreeSet<u32> = pairs.iter().map(|(_, c)| *c).collect();
    codes.into_iter().filter_map(|c| g.by_code(c)).map(|p| g.path_name(p)).collect::<Vec<_>>().join(" ")
}

fn alert_event(a: &Alert, now: DateTime<Utc>) -> Event {
    Event {
        at: now,
        actor: "system".into(),
        kind: EventKind::Alert {
            alert: a.id,
            story: a.story_id,
            from: a.from,
            to: a.to,
            reasons: a.reasons.iter().map(|r| r.detail.clone()).collect::<Vec<_>>().join("；"),
        },
    }
}

fn fmt_local(t: DateTime<Utc>) -> String {
    t.with_timezone(&yuqing_core::china()).format("%m月%d日 %H:%M").to_string()
}

/// The default spokesperson's display name for the incident's grade.
pub fn default_spokesperson(users: &[User], inc: &Incident) -> Option<String> {
    let title = spokesperson_title(inc.grade);
    users
        .iter()
        .filter(|u| u.active && u.titles.contains(&title))
        .find(|u| title != Title::DepartmentHead || u.department == inc.lead_department)
        .map(|u| u.display_name.clone())
}

/// Whether a statement still waits for `link` (for pages that show approval buttons).
pub fn waiting_for(inc: &Incident, statement: u32) -> Option<ApprovalLink> {
    inc.statements
        .iter()
        .find(|s| s.id == statement && s.status == StatementStatus::InApproval)
        .and_then(|s| s.next_link())
}

/// Where the desk, the outbox worker, the report scheduler and the server read the time (the wall
/// clock; tests may fix it). The one clock type of yuqing's running parts.
pub type Clock = std::sync::Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Runs the desk's clock every `every` until the process ends: new alerts, unacknowledged alerts,
/// deadlines and heat snapshots. A failing pass is logged and retried on the next one.
pub fn spawn_desk_ticker(
    data: std::sync::Arc<std::sync::Mutex<yuqing_store::DataDir>>,
    desk: std::sync::Arc<Desk>,
    clock: Clock,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    let pass = move |d: &yuqing_store::DataDir, now: DateTime<Utc>| desk.tick_data(d, now);
    crate::periodic::spawn_every(data, clock, every, "desk tick", pass, |rep| *rep != TickReport::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_text_names_each_place_with_its_ancestors() {
        // Post 1 names 江夏区 and 洪山区; post 2 武汉市; post 3 郑州市; post 4 韩国.
        let pairs = [(1, 420115), (1, 420111), (2, 420100), (3, 410100), (4, 1_000_410)];
        let text = routing_text(&pairs);
        assert!(text.contains("湖北省武汉市江夏区") && text.contains("河南省郑州市"), "{text}");
    }
}
