//! Scheduled reports: the 17:00 daily digest, Monday's weekly bulletin for the previous week and
//! the monthly risk-screening reminder to every department. `due` is pure: from the time and the
//! last period each job produced it says what is owed — only the latest missed period of each
//! job, so a server down for days catches up once per job on start. `run` produces what is owed,
//! each job in one transaction with its archive row, outbox messages and new state, so running it
//! twice (or from two processes) produces nothing twice.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde::Serialize;
use yuqing_core::people::Role;
use yuqing_store::desk;
use yuqing_store::outbox::{self, NewMessage, RetryPolicy};
use yuqing_store::{Connection, SqliteStore, Work};

use crate::model::{DailyDigest, Report, RiskStatus, WeeklyBulletin};
use crate::period::{zh_date, Period};
use crate::{gather, store, ReportConfig, Result};

pub const DAILY: &str = "daily";
pub const WEEKLY: &str = "weekly";
pub const REMINDER: &str = "risk_reminder";

/// A report or reminder owed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Due {
    Daily(NaiveDate),
    Weekly(Period),
    /// The month, "YYYY-MM".
    Reminder(String),
}

/// What each job last produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Last {
    pub daily: Option<String>,
    pub weekly: Option<String>,
    pub reminder: Option<String>,
}

fn at(d: NaiveDate, t: chrono::NaiveTime, offset: FixedOffset) -> DateTime<Utc> {
    crate::period::local_midnight(d, offset) + (t - chrono::NaiveTime::MIN)
}

/// What is owed at `now`, given what was last produced. Pure.
pub fn due(now: DateTime<Utc>, cfg: &ReportConfig, last: &Last) -> Vec<Due> {
    let offset = cfg.offset();
    let today = crate::period::local_date(now, offset);
    let mut out = Vec::new();

    let daily = if now >= at(today, cfg.daily_at, offset) { today } else { today - Duration::days(1) };
    if last.daily.as_deref().is_none_or(|l| l < daily.to_string().as_str()) {
        out.push(Due::Daily(daily));
    }

    let monday = Period::week_of(today).first;
    let week = if now >= at(monday, cfg.weekly_at, offset) {
        Period::week_of(monday - Duration::days(1))
    } else {
        Period::week_of(monday - Duration::days(8))
    };
    if last.weekly.as_deref().is_none_or(|l| l < week.key().as_str()) {
        out.push(Due::Weekly(week));
    }

    let month = Period::month_of(today).first;
    let reminder_day = month + Duration::days(i64::from(cfg.reminder_day.clamp(1, 28)) - 1);
    let key_month = if now >= at(reminder_day, cfg.reminder_at, offset) {
        month
    } else {
        Period::month_of(month - Duration::days(1)).first
    };
    let key = key_month.format("%Y-%m").to_string();
    if last.reminder.as_deref().is_none_or(|l| l < key.as_str()) {
        out.push(Due::Reminder(key));
    }
    out
}

/// Who reports go to and how links are made.
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    pub org: String,
    pub config: ReportConfig,
    /// Base of links in messages, e.g. "http://10.0.0.5:8080".
    pub link_base: String,
    /// Channels the digest and bulletin go to.
    pub channels: Vec<String>,
    /// Channels for department members who have none of their own.
    pub default_channels: Vec<String>,
    /// Departments from the configuration (each gets the monthly reminder).
    pub departments: Vec<String>,
    pub retry: RetryPolicy,
}

/// What `run` produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Produced {
    pub job: &'static str,
    pub period: String,
    /// The archived report (none for the reminder).
    pub archive_id: Option<i64>,
    pub messages: usize,
}

fn state(conn: &Connection) -> Result<Last> {
    Ok(Last {
        daily: store::schedule_last(conn, DAILY)?,
        weekly: store::schedule_last(conn, WEEKLY)?,
        reminder: store::schedule_last(conn, REMINDER)?,
    })
}

/// Produces everything owed at `now`.
pub fn run(st: &SqliteStore, jobs: &Jobs, now: DateTime<Utc>) -> Result<Vec<Produced>> {
    let conn = st.connection();
    let mut done = Vec::new();
    for d in due(now, &jobs.config, &state(conn)?) {
        let tx = Work::begin_immediate(conn)?;
        // Another process may have produced it since we looked.
        if !due(now, &jobs.config, &state(&tx)?).contains(&d) {
            continue;
        }
        let p = match &d {
            Due::Daily(date) => {
                let digest = gather::daily(
                    st,
                    &jobs.org,
                    *date,
                    jobs.config.offset(),
                    &jobs.link_base,
                    jobs.config.posts_per_story,
                    now,
                )?;
                let period = date.to_string();
                let report = Report::Daily(digest.clone());
                let id = store::archive_put(&tx, &report, &period, "schedule", "system", now)?;
                let n = broadcast(
                    &tx,
                    jobs,
                    &format!("【网络舆情日报】{}", zh_date(*date)),
                    &digest_body(&digest),
                    id,
                    &format!("report:daily:{period}"),
                    now,
                )?;
                store::schedule_set(&tx, DAILY, &period, now)?;
                Produced { job: DAILY, period, archive_id: Some(id), messages: n }
            }
            Due::Weekly(week) => {
                let b = gather::weekly(st, &jobs.org, *week, jobs.config.offset(), now)?;
                let period = week.key();
                let id = store::archive_put(&tx, &Report::Weekly(b.clone()), &period, "schedule", "system", now)?;
                let n = broadcast(
                    &tx,
                    jobs,
                    &format!("【网络舆情周报】{}", week.label_zh()),
                    &weekly_body(&b),
                    id,
                    &format!("report:weekly:{period}"),
                    now,
                )?;
                store::schedule_set(&tx, WEEKLY, &period, now)?;
                Produced { job: WEEKLY, period, archive_id: Some(id), messages: n }
            }
            Due::Reminder(month) => {
                let n = remind(&tx, jobs, month, now)?;
                store::schedule_set(&tx, REMINDER, month, now)?;
                Produced { job: REMINDER, period: month.clone(), archive_id: None, messages: n }
            }
        };
        tx.commit()?;
        tracing::info!(job = p.job, period = %p.period, messages = p.messages, "scheduled report produced");
        done.push(p);
    }
    Ok(done)
}

fn link(jobs: &Jobs, path: &str) -> String {
    format!("{}{path}", jobs.link_base.trim_end_matches('/'))
}

fn broadcast(
    conn: &Connection,
    jobs: &Jobs,
    subject: &str,
    body: &str,
    archive_id: i64,
    key: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut n = 0;
    for ch in &jobs.channels {
        let msg = NewMessage {
            channel: ch.clone(),
            recipient: None,
            mention: Vec::new(),
            subject: subject.to_string(),
            body: body.to_string(),
            link: Some(link(jobs, &format!("/reports/{archive_id}"))),
            dedup_key: Some(format!("{key}:{ch}")),
        };
        n += outbox::enqueue(conn, &msg, now, &jobs.retry)?.is_some() as usize;
    }
    if jobs.channels.is_empty() {
        tracing::warn!(
            subject,
            "no channel configured for reports ([reports] channels or [desk] broadcast_channels); archived only"
        );
    }
    Ok(n)
}

/// The digest as message text: 标题 + 链接, by grade and topic (at most 40 lines).
pub fn digest_body(d: &DailyDigest) -> String {
    let mut s = format!(
        "{}，监测到相关信息 {} 条（负面 {} 条），重要舆情事件 {} 个。",
        zh_date(d.date),
        d.posts_total,
        d.negative_total,
        d.items()
    );
    let mut lines = 0;
    for g in &d.groups {
        let grade = g.grade.map_or_else(|| "未定级".to_string(), |g| format!("{}级{}", g.as_str(), g.label_zh()));
        s.push_str(&format!("\n【{grade}·{}】", g.topic));
        for e in &g.entries {
            if lines >= 40 {
                s.push_str("\n……（完整日报见链接）");
                return s;
            }
            s.push_str(&format!("\n· {} {}", e.story.title, e.link));
            lines += 1;
            for p in &e.posts {
                if let Some(u) = &p.url {
                    s.push_str(&format!("\n  - {} {u}", p.title));
                    lines += 1;
                }
            }
        }
    }
    s
}

fn weekly_body(b: &WeeklyBulletin) -> String {
    let t = &b.totals;
    let mut s = format!(
        "{}：处置舆情事件 {} 起（办结 {} 起），报送信息 {} 条，发布回应 {} 次，超时 {} 次，采集信息 {} 条。",
        b.period.label_zh(),
        t.incidents,
        t.closed,
        t.reports,
        t.publications,
        t.overdue,
        t.posts
    );
    for (i, st) in b.top_stories.iter().take(5).enumerate() {
        s.push_str(&format!("\n{}. {}（{} 条）", i + 1, st.title, st.posts));
    }
    s
}

/// The monthly screening reminder to each department's members.
fn remind(conn: &Connection, jobs: &Jobs, month: &str, now: DateTime<Utc>) -> Result<usize> {
    let today = crate::period::local_date(now, jobs.config.offset());
    let items = store::risk_list(conn, None)?;
    let mut departments = jobs.departments.clone();
    for d in store::risk_departments(conn)? {
        if !departments.contains(&d) {
            departments.push(d);
        }
    }
    let users = desk::users(conn)?;
    let mut n = 0;
    for dept in &departments {
        let mine: Vec<_> =
            items.iter().filter(|i| &i.fields.department == dept && i.status == RiskStatus::Open).collect();
        let overdue: Vec<_> = mine.iter().filter(|i| i.overdue(today)).collect();
        let mut body = format!(
            "{dept}：请于本月开展网络舆情隐患排查，更新《网络舆情隐患排查表》（新增隐患、处置进展、解决情况）。本单位现有未解决隐患 {} 项，其中逾期 {} 项。",
            mine.len(),
            overdue.len()
        );
        for i in &overdue {
            body.push_str(&format!("\n逾期：{}（解决时限 {}）", i.fields.content, i.fields.due_date));
        }
        let members: Vec<_> = users
            .iter()
            .filter(|u| u.active && u.role == Role::DepartmentMember && u.department.as_deref() == Some(dept.as_str()))
            .collect();
        if members.is_empty() {
            tracing::warn!(department = %dept, "no member of this department to remind; add users with --role department");
        }
        for u in members {
            let channels = if u.channels.is_empty() { &jobs.default_channels } else { &u.channels };
            for ch in channels {
                let msg = NewMessage {
                    channel: ch.clone(),
                    recipient: u.email.clone(),
                    mention: u.phone.iter().cloned().collect(),
                    subject: format!("【隐患排查提醒】{month} {dept}"),
                    body: format!("{}：{body}", u.display_name),
                    link: Some(link(jobs, "/reports/risks")),
                    dedup_key: Some(format!("report:risk_reminder:{month}:{dept}:{}:{ch}", u.name)),
                };
                n += outbox::enqueue(conn, &msg, now, &jobs.retry)?.is_some() as usize;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        yuqing_core::china().with_ymd_and_hms(y, m, d, h, min, 0).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn the_digest_falls_due_at_five_in_the_afternoon_local_time() {
        let cfg = ReportConfig::default();
        let last = Last {
            daily: Some("2026-11-19".into()),
            weekly: Some("2026-11-09~2026-11-15".into()),
            reminder: Some("2026-11".into()),
        };
        assert!(due(cst(2026, 11, 20, 16, 59), &cfg, &last).is_empty());
        assert_eq!(
            due(cst(2026, 11, 20, 17, 0), &cfg, &last),
            vec![Due::Daily(NaiveDate::from_ymd_opt(2026, 11, 20).unwrap())]
        );
    }

    #[test]
    fn a_long_outage_owes_each_job_once_for_its_latest_period() {
        let cfg = ReportConfig::default();
        let last = Last {
            daily: Some("2026-10-01".into()),
            weekly: Some("2026-09-28~2026-10-04".into()),
            reminder: Some("2026-10".into()),
        };
        // Monday 2026-11-23 10:00: the digest of the 22nd, the week of 16–22, November's reminder.
        let d = due(cst(2026, 11, 23, 10, 0), &cfg, &last);
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(d[0], Due::Daily(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()));
        assert_eq!(d[1], Due::Weekly(Period::week_of(NaiveDate::from_ymd_opt(2026, 11, 16).unwrap())));
        assert_eq!(d[2], Due::Reminder("2026-11".into()));
        // Monday before 09:00 the bulletin owed is still the week before last.
        let d = due(cst(2026, 11, 23, 8, 0), &cfg, &last);
        assert!(d.contains(&Due::Weekly(Period::week_of(NaiveDate::from_ymd_opt(2026, 11, 9).unwrap()))), "{d:?}");
    }
}
