//! 误报 on a story: the mark (the story stops being graded), its withdrawal (graded again at once),
//! and the relevance model that learns from the marks (reset by hand).

use chrono::{DateTime, Utc};
use serde::Serialize;
use yuqing_core::{FalseAlarmExample, RelevanceModel, StoryStatus};
use yuqing_store::false_alarm::{self, NewMark};
use yuqing_store::{NewAlert, Store, WriteBatch};

use super::{edit_reason, lock, refusal, stored_story, Pipeline, PipelineError};

/// What marking or withdrawing did.
#[derive(Debug, Clone, Serialize)]
pub struct FalseAlarmOutcome {
    pub story: i64,
    /// Grades reached when a withdrawn story was graded again (the desk runs on them).
    pub alerts: Vec<NewAlert>,
}

impl Pipeline {
    /// Marks a story 误报 with the person's reason: it is not graded any more, its mark records
    /// the rules it hit (for the 监测规则 page's counts), and its core becomes an example of the
    /// relevance model. Open incidents of the story are the desk's to close.
    pub fn mark_false_alarm(
        &mut self,
        story: i64,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<FalseAlarmOutcome, PipelineError> {
        let reason = edit_reason(reason)?;
        let shared = self.data.clone();
        let data = lock(&shared);
        let record = stored_story(&data, story)?;
        // An open story's core is in memory; a closed one keeps none, so it is made again from
        // its first posts, as a split makes a new story's core.
        let core = match self.assembler.centroid(story).filter(|c| !c.is_empty()) {
            Some(c) => c,
            None => {
                let mut posts = data.store.restore_posts(&[story])?;
                posts.sort_unstable_by_key(|p| p.id);
                self.core_of_posts(&posts.iter().collect::<Vec<_>>())
            }
        };
        let rules: Vec<String> = record.rule_hits.iter().map(|(r, _)| r.clone()).collect();
        let mark = NewMark { story, reason: &reason, actor, at: now, title: &record.title, rules: &rules, core: &core };
        false_alarm::mark(data.store.connection(), &mark).map_err(refusal)?;
        if let Some(t) = self.trackers.get_mut(&story) {
            t.false_alarm = true;
        }
        if let Some(example) = FalseAlarmExample::new(story, record.title.clone(), reason, &core) {
            self.relevance.add(example);
        }
        tracing::info!(story, actor, examples = self.relevance.len(), "story marked as a false alarm");
        Ok(FalseAlarmOutcome { story, alerts: Vec::new() })
    }

    /// Withdraws a story's 误报 mark: it is no example any more, and an open story is graded again
    /// at once (an alert when that raises it).
    pub fn withdraw_false_alarm(
        &mut self,
        story: i64,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<FalseAlarmOutcome, PipelineError> {
        let reason = edit_reason(reason)?;
        let shared = self.data.clone();
        let mut data = lock(&shared);
        stored_story(&data, story)?;
        if !false_alarm::unmark(data.store.connection(), story, &reason, actor, now)? {
            return Err(PipelineError::Refused(format!("舆情事件 #{story} 没有误报标记")));
        }
        self.relevance.remove(story);
        let mut alerts = Vec::new();
        if let Some(mut tracker) = self.trackers.remove(&story) {
            tracker.false_alarm = false;
            let eval_now = self.assembler.clock().map_or(now, |c| c.min(now));
            alerts = self.regrade_edited(story, &mut tracker, eval_now);
            for a in &mut alerts {
                a.at = now;
            }
            self.trackers.insert(story, tracker);
            let mut batch = WriteBatch { alerts: alerts.clone(), ..WriteBatch::default() };
            if let Some(record) = self.story_record(story, StoryStatus::Open, eval_now) {
                batch.stories.push(record);
            }
            data.store.write(&batch)?;
        }
        tracing::info!(story, actor, alerts = alerts.len(), "false-alarm mark withdrawn");
        Ok(FalseAlarmOutcome { story, alerts })
    }

    /// Resets the relevance model: the marks stay, nothing is learned from them any more.
    /// Returns how many examples were dropped.
    pub fn reset_false_alarm_learning(&mut self, actor: &str, now: DateTime<Utc>) -> Result<usize, PipelineError> {
        let shared = self.data.clone();
        let data = lock(&shared);
        let n = false_alarm::reset_learning(data.store.connection(), actor, now)?;
        self.relevance = RelevanceModel::default();
        for t in self.trackers.values_mut() {
            t.like_false_alarm = None;
        }
        tracing::info!(actor, dropped = n, "relevance model reset");
        Ok(n)
    }

    /// How many marks the relevance model learns from now.
    pub fn false_alarm_examples(&self) -> usize {
        self.relevance.len()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::{DateTime, Duration, Utc};
    use yuqing_core::{Grade, PostInput, SourceTier};
    use yuqing_store::Store;

    use super::super::{Pipeline, PipelineError};
    use crate::config::Config;

    const CONFIG: &str = r#"
[organization]
name = "某市人民政府"

[[rules]]
name = "医院服务"
expr = "医院 & (排队 | 收费)"
"#;

    fn config() -> Config {
        Config::parse(CONFIG, Path::new("yuqing.toml")).expect("config")
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-20T08:00:00+08:00").expect("time").with_timezone(&Utc)
    }

    /// Posts of one matter at `at`, the last from central media (grade II on its own).
    fn matter(start: usize, at: DateTime<Utc>, texts: &[&str]) -> Vec<(usize, PostInput)> {
        posts(start, at, texts, true)
    }

    fn posts(start: usize, at: DateTime<Utc>, texts: &[&str], central_last: bool) -> Vec<(usize, PostInput)> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let central = central_last && i + 1 == texts.len();
                (
                    start + i,
                    PostInput {
                        source: Some(if central { "人民网" } else { "微博" }.into()),
                        url: Some(format!("https://example.cn/p/{}", start + i)),
                        text: Some((*t).into()),
                        published_at: Some((at + Duration::minutes(i as i64)).fixed_offset()),
                        tier: Some(if central { SourceTier::Central } else { SourceTier::Community }),
                        ..Default::default()
                    },
                )
            })
            .collect()
    }

    const QUEUE: [&str; 3] = [
        "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大",
        "市第一医院挂号排队三个多小时，收费窗口只开了一个，大家意见很大",
        "市第一医院挂号排队三个小时，收费窗口只开一个，群众意见很大。记者进行了调查。",
    ];
    const QUEUE_AGAIN: [&str; 3] = [
        "市第一医院挂号又排队两个小时，收费窗口还是只开一个，群众意见很大",
        "市第一医院今天挂号排队两个多小时，收费窗口只开了一个",
        "市第一医院挂号排队两个小时，收费窗口只开一个，群众意见大。记者再次调查。",
    ];
    const OTHER: [&str; 3] = [
        "区妇幼保健医院新生儿疫苗接种排队，家长凌晨排起长龙，疫苗数量不够",
        "区妇幼保健医院疫苗接种排起长队，不少家长凌晨就来了，疫苗不够打",
        "区妇幼保健医院疫苗接种排长队，家长凌晨等候，疫苗供应不足。记者进行了调查。",
    ];

    fn ingest(p: &mut Pipeline, posts: Vec<(usize, PostInput)>) -> i64 {
        let r = p.ingest(posts, Utc::now()).expect("ingest");
        let id = r.stored_ids.last().expect("stored").1;
        p.data().store.posts_by_ids(&[id]).expect("post")[0].story_id
    }

    fn grade(p: &Pipeline, story: i64) -> (Option<Grade>, Vec<String>) {
        let s = p.data().store.story(story).expect("read").expect("story");
        (s.grade, s.reasons.iter().map(|r| format!("{}|{}", r.rule, r.detail)).collect())
    }

    #[test]
    fn a_marked_story_stops_grading_and_lowers_a_similar_one_until_the_model_is_reset() {
        let dir = tempfile::tempdir().expect("dir");
        let mut p = Pipeline::open(dir.path(), config()).expect("open");
        let first = ingest(&mut p, matter(0, t0(), &QUEUE));
        assert_eq!(grade(&p, first).0, Some(Grade::II), "central media: 重大");
        assert!(
            matches!(p.mark_false_alarm(first, " ", "bangong", Utc::now()), Err(PipelineError::Refused(_))),
            "a reason is needed"
        );
        assert!(matches!(p.mark_false_alarm(999, "无", "bangong", Utc::now()), Err(PipelineError::NoSuchStory(999))));
        p.mark_false_alarm(first, "例行报道，非本单位舆情", "bangong", Utc::now()).expect("mark");
        assert!(
            matches!(p.mark_false_alarm(first, "再标", "bangong", Utc::now()), Err(PipelineError::Refused(ref m)) if m.contains("已标记"))
        );
        assert!(
            matches!(p.set_manual_grade(first, Some((Grade::I, "批示".into())), Utc::now()), Err(PipelineError::Refused(ref m)) if m.contains("误报")),
            "a marked story takes no grade by hand"
        );

        // Days later the same kind of matter comes back as a new story: one level lower, saying why.
        // A different matter at a different hospital keeps its grade.
        let later = t0() + Duration::days(5);
        let again = ingest(&mut p, matter(10, later, &QUEUE_AGAIN));
        let other = ingest(&mut p, matter(20, later + Duration::minutes(30), &OTHER));
        assert!(again != first && other != again, "new stories: {first} {again} {other}");
        let (g, reasons) = grade(&p, again);
        assert_eq!(g, Some(Grade::III), "{reasons:?}");
        assert!(
            reasons[0].starts_with("like_false_alarm|")
                && reasons[0].contains(&format!("#{first}"))
                && reasons[0].contains("例行报道"),
            "{reasons:?}"
        );
        let (g, reasons) = grade(&p, other);
        assert_eq!(g, Some(Grade::II), "another matter is not lowered: {reasons:?}");

        // A restart keeps the mark and the examples.
        drop(p);
        let mut p = Pipeline::open(dir.path(), config()).expect("reopen");
        assert_eq!(p.false_alarm_examples(), 1);
        let third = ingest(&mut p, matter(30, later + Duration::days(5), &QUEUE));
        assert_eq!(grade(&p, third).0, Some(Grade::III));

        // Reset: nothing is learned any more; the mark stays.
        assert_eq!(p.reset_false_alarm_learning("admin", Utc::now()).expect("reset"), 1);
        assert_eq!(p.false_alarm_examples(), 0);
        let fourth = ingest(&mut p, matter(40, later + Duration::days(10), &QUEUE_AGAIN));
        assert_eq!(grade(&p, fourth).0, Some(Grade::II));
        assert!(yuqing_store::false_alarm::of_story(p.data().store.connection(), first).expect("read").is_some());
        // A closed story keeps no core in the store: marking it makes one from its posts.
        assert_eq!(p.data().store.story(again).expect("read").expect("story").status, yuqing_core::StoryStatus::Closed);
        p.mark_false_alarm(again, "同类例行报道", "bangong", Utc::now()).expect("mark a closed story");
        assert_eq!(p.false_alarm_examples(), 1, "the closed story is an example");

        // Withdrawn: not marked any more, and refused a second time.
        let done = p.withdraw_false_alarm(first, "复核后确属本地", "bangong", Utc::now()).expect("withdraw");
        assert!(done.alerts.is_empty(), "a closed story is not graded again here");
        assert!(matches!(p.withdraw_false_alarm(first, "再撤", "bangong", Utc::now()), Err(PipelineError::Refused(_))));
    }

    #[test]
    fn an_open_marked_story_is_not_graded_by_new_posts_and_is_graded_at_once_when_withdrawn() {
        let dir = tempfile::tempdir().expect("dir");
        let mut p = Pipeline::open(dir.path(), config()).expect("open");
        // Two community posts: 一般.
        let story = ingest(&mut p, posts(0, t0(), &QUEUE[..2], false));
        let before = grade(&p, story).0;
        p.mark_false_alarm(story, "外地医院", "bangong", Utc::now()).expect("mark");
        // Central media joins the marked story: no grade change, no alert.
        let r = p.ingest(matter(5, t0() + Duration::minutes(10), &[QUEUE[2]]), Utc::now()).expect("ingest");
        assert!(r.alerts.is_empty(), "{:?}", r.alerts);
        assert_eq!(grade(&p, story).0, before);
        let done = p.withdraw_false_alarm(story, "本市医院", "bangong", Utc::now()).expect("withdraw");
        assert_eq!(done.alerts.iter().map(|a| a.to).collect::<Vec<_>>(), vec![Grade::II], "graded at once");
        assert_eq!(grade(&p, story).0, Some(Grade::II));
    }
}
