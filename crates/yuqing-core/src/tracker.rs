//! The running state of one story: heat, rule hits, severe words, mainstream sources, topics, and
//! its grade — fed post by post, re-graded on demand; grades only rise (the peak is the record).
//!
//! Invariant: the state is a fold over the story's posts, so it is rebuilt exactly from stored posts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::grade::{grade_story, GradeInputs, GradePolicy, LikeFalseAlarm, Locality};
use crate::heat::{HeatFact, HeatSeries};
use crate::model::{Grade, GradeReason, NoiseKind, SourceTier};
use crate::spike::{KeyKind, Spike};

/// What one post brings to its story (beyond heat).
#[derive(Debug, Clone, PartialEq)]
pub struct PostFacts<'a> {
    pub heat: HeatFact,
    pub source: &'a str,
    pub rules: &'a [String],
    pub severe_words: &'a [String],
    pub topics: &'a [String],
    /// Noise (advertising, lotteries, …, no words of its own): gives the story no rule hits and no
    /// casualty words; a story mostly of commercial noise is not graded.
    pub noise: Option<NoiseKind>,
    /// Places the post names inside the jurisdiction (display names, most specific).
    pub local_places: &'a [String],
    /// Places it names outside the jurisdiction (provinces, countries).
    pub other_places: &'a [String],
    /// Whether it names the organization, an alias or a department.
    pub names_us: bool,
}

/// A rise of a story's grade, to be recorded as an `Alert`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeChange {
    pub from: Option<Grade>,
    pub to: Grade,
    pub reasons: Vec<GradeReason>,
}

#[derive(Debug, Clone, Default)]
pub struct StoryTracker {
    pub heat: HeatSeries,
    pub first_at: Option<DateTime<Utc>>,
    pub last_at: Option<DateTime<Utc>>,
    pub rule_hits: BTreeMap<String, u64>,
    pub severe_words: BTreeSet<String>,
    pub mainstream_sources: BTreeSet<String>,
    pub topics: BTreeMap<String, u64>,
    pub manual: Option<(Grade, String)>,
    pub grade: Option<Grade>,
    pub reasons: Vec<GradeReason>,
    /// Posts that are commercial noise (advertising, lotteries, horoscopes, marketing).
    pub commercial_noise: u64,
    /// Posts that carry a severe word.
    pub severe_word_posts: u64,
    /// Posts that are not noise (the locality's denominator).
    pub plain_posts: u64,
    /// Posts naming any place or the organization, and of them those that are local.
    pub placed_posts: u64,
    pub local_posts: u64,
    pub local_places: BTreeMap<String, u64>,
    pub other_places: BTreeMap<String, u64>,
    /// Marked 误报 by the office: not graded any more (until the mark is withdrawn).
    pub false_alarm: bool,
    /// The most similar story marked 误报, set by the caller before `regrade` (the relevance
    /// model lives with the story cores, outside the tracker).
    pub like_false_alarm: Option<LikeFalseAlarm>,
    /// Posts per hour under each watch rule and topic (commercial noise left out, as in
    /// `spike::Volumes`): the story's share of a spike.
    pub rule_hours: HashMap<String, BTreeMap<i64, u32>>,
    pub topic_hours: HashMap<String, BTreeMap<i64, u32>>,
}

fn count_hour(map: &mut HashMap<String, BTreeMap<i64, u32>>, key: &str, hour: i64) {
    match map.get_mut(key) {
        Some(m) => *m.entry(hour).or_insert(0) += 1,
        None => {
            map.insert(key.to_string(), BTreeMap::from([(hour, 1)]));
        }
    }
}

impl StoryTracker {
    pub fn new() -> StoryTracker {
        StoryTracker::default()
    }

    pub fn add(&mut self, post: &PostFacts<'_>, policy: &GradePolicy) {
        self.heat.add(&post.heat);
        self.first_at = self.first_at.min(Some(post.heat.at)).or(Some(post.heat.at));
        self.last_at = self.last_at.max(Some(post.heat.at));
        if let Some(kind) = post.noise {
            self.commercial_noise += u64::from(kind.is_commercial());
        } else {
            self.plain_posts += 1;
            for r in post.rules {
                *self.rule_hits.entry(r.clone()).or_insert(0) += 1;
            }
            for w in post.severe_words {
                self.severe_words.insert(w.clone());
            }
            self.severe_word_posts += u64::from(!post.severe_words.is_empty());
            let local = post.names_us || !post.local_places.is_empty();
            self.placed_posts += u64::from(local || !post.other_places.is_empty());
            self.local_posts += u64::from(local);
            for p in post.local_places {
                *self.local_places.entry(p.clone()).or_insert(0) += 1;
            }
            for p in post.other_places {
                *self.other_places.entry(p.clone()).or_insert(0) += 1;
            }
        }
        for t in post.topics {
            *self.topics.entry(t.clone()).or_insert(0) += 1;
        }
        if !post.noise.is_some_and(NoiseKind::is_commercial) {
            let hour = crate::heat::hour_index(post.heat.at);
            for r in post.rules {
                count_hour(&mut self.rule_hours, r, hour);
            }
            for t in post.topics {
                count_hour(&mut self.topic_hours, t, hour);
            }
        }
        if policy.serious_tiers.contains(&post.heat.tier)
            && !post.source.is_empty()
            && self.mainstream_sources.len() < 20
        {
            self.mainstream_sources.insert(post.source.to_string());
        }
    }

    /// The highest-weighted topics, most posts first.
    pub fn top_topics(&self, n: usize) -> Vec<(String, u64)> {
        let mut v = ranked(&self.topics);
        v.truncate(n);
        v
    }

    /// Where the story's posts are, most-named places first.
    pub fn locality(&self) -> Locality {
        Locality {
            posts: self.plain_posts,
            placed_posts: self.placed_posts,
            local_posts: self.local_posts,
            local_places: ranked(&self.local_places),
            other_places: ranked(&self.other_places),
        }
    }

    /// The story's posts under a watch rule or topic in the `hours` hours up to `hour`.
    pub fn key_posts(&self, kind: KeyKind, name: &str, hour: i64, hours: u32) -> u64 {
        let map = match kind {
            KeyKind::Rule => &self.rule_hours,
            KeyKind::Topic => &self.topic_hours,
        };
        let from = hour.saturating_sub(i64::from(hours.max(1)) - 1);
        map.get(name).map_or(0, |m| m.range(from..=hour).map(|(_, n)| u64::from(*n)).sum())
    }

    /// Re-grades at `now`; returns the change when the grade rose (or was first reached).
    pub fn regrade(
        &mut self,
        now: DateTime<Utc>,
        policy: &GradePolicy,
        key_period: Option<&str>,
    ) -> Option<GradeChange> {
        self.regrade_with(now, policy, key_period, &[])
    }

    /// Re-grades at `now` with the spikes of the story's rules and topics (`spike::Volumes`); the
    /// story's own posts in the spiking hours are counted here.
    pub fn regrade_with(
        &mut self,
        now: DateTime<Utc>,
        policy: &GradePolicy,
        key_period: Option<&str>,
        spikes: &[Spike],
    ) -> Option<GradeChange> {
        if self.false_alarm {
            return None;
        }
        let spikes: Vec<Spike> = spikes
            .iter()
            .map(|s| Spike { story_posts: self.key_posts(s.key.kind, &s.key.name, s.hour, s.hours), ..s.clone() })
            .collect();
        let summary = self.heat.summary(now);
        // Mostly advertising and the like: no grade from the posts (one given by hand still counts).
        if self.manual.is_none() && self.commercial_noise * 2 >= summary.posts && self.commercial_noise > 0 {
            return None;
        }
        let rule_hits: Vec<(String, u64)> = self.rule_hits.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let severe: Vec<String> = self.severe_words.iter().cloned().collect();
        let mainstream: Vec<String> = self.mainstream_sources.iter().cloned().collect();
        // Built only when the policy reads it: regrading runs after every post.
        let locality = (policy.require_local && !policy.jurisdiction.is_empty()).then(|| self.locality());
        let inputs = GradeInputs {
            heat: Some(&summary),
            rule_hits: &rule_hits,
            severe_words: &severe,
            severe_word_posts: Some(self.severe_word_posts),
            mainstream_sources: &mainstream,
            manual: self.manual.as_ref().map(|(g, r)| (*g, r.as_str())),
            key_period,
            locality: locality.as_ref(),
            like_false_alarm: self.like_false_alarm.as_ref(),
            spikes: &spikes,
        };
        let (grade, reasons) = grade_story(&inputs, policy);
        match (grade, self.grade) {
            (Some(new), old) if Some(new) > old => {
                self.grade = Some(new);
                self.reasons = reasons.clone();
                Some(GradeChange { from: old, to: new, reasons })
            }
            (Some(new), Some(old)) if new == old => {
                // Same grade: keep the reasons current (numbers grow).
                self.reasons = reasons;
                None
            }
            (now_grade, Some(held)) => {
                // The posts since no longer make the grade, which is never lowered by itself: the
                // reasons stay those it was given for, and one more says so with today's count.
                self.reasons.retain(|r| r.rule != HELD_RULE);
                self.reasons.push(held_reason(held, now_grade, summary.posts));
                None
            }
            _ => None,
        }
    }
}

/// The rule name of the reason that says a grade is held above what the posts now give.
pub const HELD_RULE: &str = "held";

/// Why a story keeps a grade its posts no longer give: the reasons above it are of the posts it
/// had when it was raised.
fn held_reason(held: Grade, now: Option<Grade>, posts: u64) -> GradeReason {
    let now = match now {
        Some(g) => format!("按现有帖文为{}级（{}）", g.as_str(), g.label_zh()),
        None => "按现有帖文不再定级".to_string(),
    };
    GradeReason {
        grade: held,
        rule: HELD_RULE.into(),
        detail: format!(
            "级别不自动下调：以上为定为{}级（{}）时的依据；此后帖文增至 {posts} 条，{now}，如需下调请人工改定",
            held.as_str(),
            held.label_zh()
        ),
    }
}

/// Counts as (key, count), most first, ties by key.
fn ranked(m: &BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.iter().map(|(k, c)| (k.clone(), *c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The heat tier label for a tier index stored as an integer.
pub fn tier_from_index(i: i64) -> SourceTier {
    SourceTier::from_index(i.clamp(0, 3) as u8).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn facts<'a>(h: i64, site: u64, tier: SourceTier, rules: &'a [String], severe: &'a [String]) -> PostFacts<'a> {
        PostFacts {
            heat: HeatFact { at: Utc.timestamp_opt(h * 3600, 0).unwrap(), site, tier, interactions: 1, negative: true },
            source: "某报",
            rules,
            severe_words: severe,
            topics: &[],
            noise: None,
            local_places: &[],
            other_places: &[],
            names_us: false,
        }
    }

    #[test]
    fn noise_gives_no_rule_hits_and_a_story_mostly_of_ads_is_not_graded() {
        let policy = GradePolicy::default();
        let rules = vec!["口罩".to_string()];
        let severe = vec!["死亡".to_string()];
        let mut t = StoryTracker::new();
        for h in 0..3 {
            t.add(
                &PostFacts {
                    noise: Some(NoiseKind::Advertising),
                    ..facts(h, h as u64, SourceTier::Community, &rules, &severe)
                },
                &policy,
            );
        }
        assert!(t.rule_hits.is_empty() && t.severe_words.is_empty(), "an advertisement is no evidence");
        assert_eq!(t.regrade(Utc.timestamp_opt(4 * 3600, 0).unwrap(), &policy, None), None);
        // Real posts join: rule hits count, but while ads are half of the posts there is no grade.
        for h in 3..5 {
            t.add(&facts(h, h as u64, SourceTier::Community, &rules, &[]), &policy);
        }
        assert_eq!(t.rule_hits.get("口罩"), Some(&2));
        assert_eq!(t.regrade(Utc.timestamp_opt(6 * 3600, 0).unwrap(), &policy, None), None, "3 ads of 5 posts");
        t.add(&facts(5, 5, SourceTier::Community, &rules, &[]), &policy);
        t.add(&facts(6, 6, SourceTier::Community, &rules, &[]), &policy);
        let change =
            t.regrade(Utc.timestamp_opt(7 * 3600, 0).unwrap(), &policy, None).expect("graded once real posts are most");
        assert_eq!(change.to, Grade::IV);
        // A bare repost is noise but not commercial: it never blocks a grade.
        let mut bare = StoryTracker::new();
        bare.add(
            &PostFacts { noise: Some(NoiseKind::NoText), ..facts(0, 0, SourceTier::Community, &rules, &[]) },
            &policy,
        );
        bare.add(&facts(1, 1, SourceTier::Community, &rules, &[]), &policy);
        assert!(bare.regrade(Utc.timestamp_opt(2 * 3600, 0).unwrap(), &policy, None).is_some());
    }

    #[test]
    fn locality_counts_every_plain_post_and_leaves_noise_out() {
        let policy = GradePolicy { jurisdiction: vec!["武汉市".into()], ..GradePolicy::default() };
        let rules = vec!["r".to_string()];
        let (wuhan, henan) = (vec!["武汉市".to_string()], vec!["河南省".to_string()]);
        let mut t = StoryTracker::new();
        // Central media reports it (II); 3 posts name 武汉, 1 names 河南, 6 name nothing, 5 are ads.
        t.add(&PostFacts { local_places: &wuhan, ..facts(1, 1, SourceTier::Central, &rules, &[]) }, &policy);
        for i in 0..2 {
            t.add(&PostFacts { local_places: &wuhan, ..facts(1, 2 + i, SourceTier::Community, &[], &[]) }, &policy);
        }
        t.add(&PostFacts { other_places: &henan, ..facts(1, 4, SourceTier::Community, &[], &[]) }, &policy);
        for i in 0..6 {
            t.add(&facts(1, 5 + i, SourceTier::Community, &[], &[]), &policy);
        }
        for i in 0..5 {
            t.add(
                &PostFacts {
                    noise: Some(NoiseKind::Advertising),
                    local_places: &wuhan,
                    ..facts(1, 20 + i, SourceTier::Community, &[], &[])
                },
                &policy,
            );
        }
        let loc = t.locality();
        assert_eq!((loc.posts, loc.placed_posts, loc.local_posts), (10, 4, 3), "{loc:?}");
        // 3 of 4 placed posts, but 3 of 10 posts: named in passing, kept at IV.
        let c = t.regrade(Utc.timestamp_opt(2 * 3600, 0).unwrap(), &policy, None).expect("graded");
        assert_eq!(c.to, Grade::IV);
        assert!(c.reasons[0].detail.contains("占除 5 条噪声外的 10 条帖文的 30%"), "{}", c.reasons[0].detail);
        // Two more posts that name 武汉: 5 of 12, local, and the central report counts.
        for i in 0..2 {
            t.add(&PostFacts { local_places: &wuhan, ..facts(1, 30 + i, SourceTier::Community, &[], &[]) }, &policy);
        }
        let c = t.regrade(Utc.timestamp_opt(2 * 3600, 0).unwrap(), &policy, None).expect("raised");
        assert_eq!(c.to, Grade::II);
        assert!(c.reasons[0].detail.starts_with("涉及本地：武汉市 5 条"), "{}", c.reasons[0].detail);
        // Ten more posts that name nothing: 5 of 22 is in passing now. The grade is held, its
        // reasons are those it was raised for, and the last one says so, with the count of today.
        for i in 0..10 {
            t.add(&facts(2, 40 + i, SourceTier::Community, &[], &[]), &policy);
        }
        assert_eq!(t.regrade(Utc.timestamp_opt(3 * 3600, 0).unwrap(), &policy, None), None);
        assert_eq!(t.grade, Some(Grade::II));
        assert_eq!(&t.reasons[..c.reasons.len()], &c.reasons[..]);
        let held = t.reasons.last().expect("a held reason");
        assert_eq!(held.rule, HELD_RULE);
        assert!(
            held.detail.contains("定为II级（重大）时的依据；此后帖文增至 27 条，按现有帖文为IV级（一般）"),
            "{}",
            held.detail
        );
        // Asked again, it is replaced, not repeated.
        t.add(&facts(2, 60, SourceTier::Community, &[], &[]), &policy);
        t.regrade(Utc.timestamp_opt(3 * 3600, 0).unwrap(), &policy, None);
        assert_eq!(t.reasons.iter().filter(|r| r.rule == HELD_RULE).count(), 1);
        assert!(t.reasons.last().unwrap().detail.contains("增至 28 条"));
    }

    #[test]
    fn grade_rises_once_per_level_and_never_falls() {
        let policy = GradePolicy::default();
        let rules = vec!["r".to_string()];
        let mut t = StoryTracker::new();
        t.add(&facts(1, 1, SourceTier::Community, &rules, &[]), &policy);
        let c = t.regrade(Utc.timestamp_opt(3600, 0).unwrap(), &policy, None).unwrap();
        assert_eq!((c.from, c.to), (None, Grade::IV));
        assert!(t.regrade(Utc.timestamp_opt(3600, 0).unwrap(), &policy, None).is_none());
        t.add(&facts(2, 2, SourceTier::Central, &[], &[]), &policy);
        let c = t.regrade(Utc.timestamp_opt(7200, 0).unwrap(), &policy, None).unwrap();
        assert_eq!((c.from, c.to), (Some(Grade::IV), Grade::II));
        assert!(c.reasons[0].detail.contains("某报"));
        let severe = vec!["死亡".to_string()];
        t.add(&facts(3, 3, SourceTier::Community, &[], &severe), &policy);
        assert!(
            t.regrade(Utc.timestamp_opt(3 * 3600, 0).unwrap(), &policy, None).is_none(),
            "one post with a severe word is not enough"
        );
        t.add(&facts(3, 4, SourceTier::Community, &[], &severe), &policy);
        t.add(&facts(3, 5, SourceTier::Community, &[], &severe), &policy);
        let c = t.regrade(Utc.timestamp_opt(3 * 3600, 0).unwrap(), &policy, None).unwrap();
        assert_eq!(c.to, Grade::I);
        assert_eq!(t.grade, Some(Grade::I));
    }

    #[test]
    fn a_story_marked_false_alarm_is_not_graded_until_the_mark_is_withdrawn() {
        let policy = GradePolicy::default();
        let rules = vec!["r".to_string()];
        let mut t = StoryTracker::new();
        t.add(&facts(1, 1, SourceTier::Community, &rules, &[]), &policy);
        assert_eq!(t.regrade(Utc.timestamp_opt(3600, 0).unwrap(), &policy, None).map(|c| c.to), Some(Grade::IV));
        t.false_alarm = true;
        t.add(&facts(2, 2, SourceTier::Central, &rules, &[]), &policy);
        assert_eq!(
            t.regrade(Utc.timestamp_opt(7200, 0).unwrap(), &policy, None),
            None,
            "central media joined, but it is marked"
        );
        assert_eq!(t.grade, Some(Grade::IV));
        t.false_alarm = false;
        assert_eq!(t.regrade(Utc.timestamp_opt(7200, 0).unwrap(), &policy, None).map(|c| c.to), Some(Grade::II));
    }

    #[test]
    fn a_spike_raises_the_story_that_carries_it_and_counts_its_own_posts() {
        let policy = GradePolicy::default();
        let rules = vec!["食品安全".to_string()];
        let mut t = StoryTracker::new();
        for i in 0..30 {
            t.add(&facts(100 + i % 2, i as u64, SourceTier::Community, &rules, &[]), &policy);
        }
        assert_eq!(t.key_posts(KeyKind::Rule, "食品安全", 101, 2), 30);
        assert_eq!(t.key_posts(KeyKind::Rule, "食品安全", 101, 1), 15);
        assert_eq!(t.key_posts(KeyKind::Topic, "食品安全", 101, 2), 0);
        let spike = Spike {
            key: crate::spike::SpikeKey { kind: KeyKind::Rule, name: "食品安全".into() },
            hour: 101,
            posts: 40,
            median: 5.0,
            days: 14,
            days_with_data: 14,
            floor: None,
            level: 20,
            ratio: 8.0,
            hours: 2,
            run_posts: 80,
            story_posts: 0,
        };
        let now = Utc.timestamp_opt(101 * 3600 + 1800, 0).unwrap();
        let c = t.regrade_with(now, &policy, None, std::slice::from_ref(&spike)).expect("graded");
        assert_eq!(c.to, Grade::II);
        assert!(c.reasons[0].detail.contains("本事件占其中 30 条（38%）"), "{}", c.reasons[0].detail);
        // Another story under the same rule with 5 of the 80 posts is not raised by it.
        let mut small = StoryTracker::new();
        for _ in 0..5 {
            small.add(&facts(101, 1, SourceTier::Community, &rules, &[]), &policy);
        }
        assert_eq!(small.regrade_with(now, &policy, None, &[spike]).map(|c| c.to), Some(Grade::IV));
    }

    #[test]
    fn story_without_rule_hits_stays_ungraded() {
        let policy = GradePolicy::default();
        let mut t = StoryTracker::new();
        for i in 0..200 {
            t.add(&facts(i / 50, i as u64, SourceTier::Central, &[], &[]), &policy);
        }
        assert!(t.regrade(Utc.timestamp_opt(4 * 3600, 0).unwrap(), &policy, None).is_none());
        assert_eq!(t.grade, None);
    }
}
