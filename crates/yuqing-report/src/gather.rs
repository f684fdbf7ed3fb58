//! Reads what the reports need from the store and hands it to the pure builders in `model`.
//! Read-only; time and the local offset are arguments.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use yuqing_core::incident::Incident;
use yuqing_core::people::Role;
use yuqing_store::report_tables::{self as tables, IncidentMoment};
use yuqing_store::{desk, Connection, SqliteStore, Store, StoryRecord};
use yuqing_text::Segmenter;

use crate::model::*;
use crate::period::Period;
use crate::{ReportError, Result};

fn story_line(s: &StoryRecord) -> StoryLine {
    let topic = s
        .topics
        .iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map_or_else(|| "其他".to_string(), |t| t.0.clone());
    StoryLine {
        id: s.id,
        title: s.title.clone(),
        grade: s.grade,
        topic,
        posts: s.posts,
        sites: s.sites,
        negative_share: s.negative_share,
        first_at: s.first_at,
        last_at: s.last_at,
    }
}

fn stories(store: &SqliteStore, ids: impl IntoIterator<Item = i64>) -> Result<Vec<StoryLine>> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(s) = store.story(id)? {
            out.push(story_line(&s));
        }
    }
    Ok(out)
}

/// How a document names one post: its headline; for a post that is only a hashtag and a mark
/// or two ("#武汉又一位医生因感染新冠肺炎离世#？"), the hashtag's words; else its cleaned text.
fn post_headline(title: &str, text: &str) -> String {
    use yuqing_text::headline;
    headline::of_post(title, text)
        .or_else(|| text.split('#').skip(1).step_by(2).find_map(headline::of_tag))
        .unwrap_or_else(|| headline::shorten(&headline::clean(text)))
}

/// Posts published in `[start, end)`.
pub fn posts_between(conn: &Connection, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<PostLine>> {
    let posts = tables::posts_between(conn, start, end)?;
    Ok(posts
        .into_iter()
        .map(|p| {
            // The post's headline (no hashtags, emoji codes or repost chains), as the desk shows it.
            let title = post_headline(&p.title, &p.text);
            PostLine {
                id: p.id,
                story_id: p.story_id,
                title,
                url: p.url,
                source: p.source,
                at: p.published_at,
                topics: serde_json::from_str(&p.topics).unwrap_or_default(),
                rule_hit: p.hits.trim() != "[]" && !p.hits.trim().is_empty(),
                negative: p.sentiment == 0,
                interactions: p.interactions.max(0) as u64,
            }
        })
        .collect())
}

/// 日报 of local day `date`.
pub fn daily(
    store: &SqliteStore,
    org: &str,
    date: NaiveDate,
    offset: FixedOffset,
    link_base: &str,
    per_story: usize,
    now: DateTime<Utc>,
) -> Result<DailyDigest> {
    let (start, end) = Period::day(date).bounds(offset);
    let conn = store.connection();
    let posts = posts_between(conn, start, end)?;
    let negative = posts.iter().filter(|p| p.negative).count() as u64;
    let story_ids = |posts: &[PostLine]| {
        let mut ids: Vec<i64> = posts.iter().map(|p| p.story_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let lines = stories(store, story_ids(&posts))?;
    let previous_posts = posts_between(conn, start - Duration::days(1), start)?;
    let previous_stories = stories(store, story_ids(&previous_posts))?;
    let mut handling = BTreeMap::new();
    for s in &lines {
        let Some(id) = desk::incident_for_story(conn, s.id)? else { continue };
        let Some(inc) = desk::incident(conn, id)? else { continue };
        handling.insert(
            s.id,
            Handling {
                state: inc.state.label_zh().to_string(),
                department: inc.lead_department.clone(),
                responded_today: inc.publications.iter().any(|p| p.at >= start && p.at < end),
            },
        );
    }
    let context = DayContext { previous_posts, previous_stories, handling, day_start: start };
    Ok(build_daily(org, date, &lines, &posts, negative, link_base, per_story, &context, now))
}

fn incidents_where(
    conn: &Connection,
    moment: IncidentMoment,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Incident>> {
    let mut out = Vec::new();
    for (id, data) in tables::incidents_between(conn, moment, start, end)? {
        out.push(serde_json::from_str(&data).map_err(|e| {
            ReportError::Store(yuqing_store::StoreError::Corrupt {
                what: format!("工单 {id}"), detail: e.to_string()
            })
        })?);
    }
    Ok(out)
}

fn counts(conn: &Connection, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<PeriodCounts> {
    let c = tables::activity_counts(conn, start, end)?;
    Ok(PeriodCounts {
        reports: c.first_reports + c.leadership_reports + c.disposals_issued,
        publications: c.publications,
        overdue: c.overdue,
        posts: c.posts,
        closed: c.closed,
    })
}

/// 考评 for a period.
pub fn stats(
    store: &SqliteStore,
    org: &str,
    period: Period,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> Result<PeriodStats> {
    let (start, end) = period.bounds(offset);
    let conn = store.connection();
    let opened = incidents_where(conn, IncidentMoment::Opened, start, end)?;
    Ok(build_stats(org, period, &opened, &counts(conn, start, end)?, now))
}

/// 周报 for a week (any period works; the chart has one bar per day).
pub fn weekly(
    store: &SqliteStore,
    org: &str,
    period: Period,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> Result<WeeklyBulletin> {
    let (start, end) = period.bounds(offset);
    let conn = store.connection();
    let buckets = yuqing_store::dashboard::volume(
        conn,
        end - Duration::seconds(1),
        86_400,
        period.days() as usize,
        offset.local_minus_utc() as i64,
    )?;
    let days = buckets
        .iter()
        .map(|b| DayVolume {
            date: crate::period::local_date(b.start, offset),
            negative: b.counts[0],
            neutral: b.counts[1],
            positive: b.counts[2],
        })
        .collect();
    let ids = tables::stories_active_between(conn, start, end, 50)?;
    let mut lines = stories(store, ids)?;
    // A bulletin counts within its week: the posts, sites and negative share of these seven days,
    // not the story's lifetime.
    let mut week: BTreeMap<i64, (u64, u64, std::collections::BTreeSet<String>)> = BTreeMap::new();
    for p in posts_between(conn, start, end)? {
        let e = week.entry(p.story_id).or_default();
        e.0 += 1;
        e.1 += p.negative as u64;
        e.2.insert(p.source);
    }
    for l in &mut lines {
        let (posts, negative, sites) = week.remove(&l.id).unwrap_or_default();
        l.posts = posts;
        l.sites = sites.len() as u32;
        l.negative_share = if posts > 0 { negative as f32 / posts as f32 } else { 0.0 };
    }
    lines.retain(|l| l.posts > 0);
    let opened = incidents_where(conn, IncidentMoment::Opened, start, end)?;
    let closed = incidents_where(conn, IncidentMoment::Closed, start, end)?;
    Ok(build_weekly(org, period, days, &lines, &opened, &closed, &counts(conn, start, end)?, now))
}

/// 专报 for an incident, with the 研判摘要 of its stories (the first three) made with `seg`.
pub fn special(
    store: &SqliteStore,
    seg: &Segmenter,
    org: &str,
    incident_id: i64,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> Result<SpecialReport> {
    let conn = store.connection();
    let Some(inc) = desk::incident(conn, incident_id)? else {
        return Err(ReportError::NotFound(format!("工单 {incident_id} 不存在")));
    };
    let lines = stories(store, inc.stories.iter().copied())?;
    // The timeline in words for the page: people by their display names, the desk's own entries
    // with no name, and the moments the matter itself began before the desk's first entry.
    let names: BTreeMap<String, String> =
        desk::users(conn)?.into_iter().map(|u| (u.name.clone(), u.display_name.clone())).collect();
    let mut timeline: Vec<TimelineLine> = Vec::new();
    if let Some(first) = lines.iter().map(|s| s.first_at).min().or(inc.first_post_at) {
        timeline.push(TimelineLine { at: first, actor: String::new(), text: "首条相关信息发布".into() });
    }
    timeline.push(TimelineLine { at: inc.detected_at, actor: String::new(), text: "监测发现".into() });
    for e in desk::timeline(conn, incident_id)? {
        let Some(text) = timeline_text(&e.kind) else { continue };
        let actor = if e.actor == yuqing_core::people::Actor::system().name {
            String::new()
        } else {
            names.get(&e.actor).cloned().unwrap_or(e.actor)
        };
        timeline.push(TimelineLine { at: e.at, actor, text });
    }
    timeline.sort_by_key(|l| l.at);
    let mut hours: BTreeMap<DateTime<Utc>, (u32, u32)> = BTreeMap::new();
    for s in &inc.stories {
        for b in yuqing_store::story_heat(store, *s)? {
            let e = hours.entry(b.hour).or_default();
            e.0 += b.posts;
            e.1 += b.negative;
        }
    }
    let mut spread: Vec<HourPoint> = Vec::new();
    if let (Some(first), Some(last)) = (hours.keys().next().copied(), hours.keys().last().copied()) {
        // Every hour from the first post on (at most the last 7 days), empty hours as zero.
        let first = first.max(last - Duration::hours(167));
        let mut h = first;
        while h <= last {
            let (posts, negative) = hours.get(&h).copied().unwrap_or((0, 0));
            spread.push(HourPoint { hour: h, posts, negative });
            h += Duration::hours(1);
        }
    }
    let mut report = build_special(org, &inc, &lines, timeline, spread, offset, now);
    let mut section = BriefSection::default();
    let several = inc.stories.len() > 1;
    for &sid in inc.stories.iter().take(3) {
        let b = yuqing_store::brief::story_brief(store, seg, sid)?;
        let mut ids: Vec<i64> = b.what.iter().flat_map(|c| c.posts.iter().copied()).collect();
        ids.extend(b.first_seen.iter().map(|f| f.post));
        ids.extend(b.places.iter().flat_map(|p| p.posts.iter().copied()));
        ids.extend(b.numbers.iter().flat_map(|n| n.posts.iter().copied()));
        ids.extend(b.sentiment.iter().flat_map(|s| s.posts.iter().copied()));
        ids.extend(b.representative.iter().map(|r| r.post));
        ids.extend(b.heat.iter().flat_map(|h| h.posts.iter().copied()));
        ids.sort_unstable();
        ids.dedup();
        let posts: std::collections::HashMap<i64, SourceLine> = store
            .posts_by_ids(&ids)?
            .into_iter()
            .map(|p| {
                let title = post_headline(&p.title, &p.text);
                (
                    p.id,
                    SourceLine {
                        id: p.id,
                        title,
                        source: p.source,
                        at: p.published_at.with_timezone(&Utc),
                        url: p.url,
                    },
                )
            })
            .collect();
        let prefix = match lines.iter().find(|l| l.id == sid) {
            Some(l) if several => format!("“{}”", l.title),
            _ => String::new(),
        };
        section.add(&b, &prefix, offset, &|id| posts.get(&id).cloned());
    }
    if !section.lines.is_empty() {
        report.brief = Some(section);
    }
    Ok(report)
}

/// The disposal form's fields as the incident has them now; the leader is the approver of the
/// lead department's area when one is configured (the first active approver).
pub fn disposal_prefill(
    conn: &Connection,
    incident_id: i64,
    today: NaiveDate,
    offset: FixedOffset,
) -> Result<DisposalFields> {
    let Some(inc) = desk::incident(conn, incident_id)? else {
        return Err(ReportError::NotFound(format!("工单 {incident_id} 不存在")));
    };
    let users = desk::users(conn)?;
    let leader = users.iter().find(|u| u.active && u.role == Role::Approver);
    let l = leader.map(|u| (u.display_name.as_str(), u.phone.as_deref().unwrap_or("")));
    Ok(prefill_disposal(&inc, l, today, offset))
}

/// The risk register as of `today` (one department's when given).
pub fn risk_register(conn: &Connection, org: &str, department: Option<&str>, today: NaiveDate) -> Result<RiskRegister> {
    Ok(RiskRegister { org: org.to_string(), as_of: today, items: crate::store::risk_list(conn, department)? })
}

#[cfg(test)]
mod tests {
    use super::post_headline;

    #[test]
    fn a_post_that_is_only_a_hashtag_is_named_by_the_hashtag() {
        assert_eq!(post_headline("", "#武汉又一位医生因感染新冠肺炎离世#？"), "武汉又一位医生因感染新冠肺炎离世");
        assert_eq!(post_headline("", "[心] #短# #武汉再建10座方舱医院# …"), "武汉再建10座方舱医院");
        assert!(post_headline("", "#全国累计确诊#父母，这天是父母节，您辛苦了").starts_with("父母"));
        assert_eq!(post_headline("", "？？"), "？？");
    }
}
