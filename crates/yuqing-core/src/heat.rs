//! 热度: a story's spread measured in hourly buckets — posts, distinct sites, highest tier,
//! interactions, negative share — and the summary the grading policy reads (growth, shares).
//!
//! Invariant: built only from post facts and an explicit `now`; adding the same facts in any
//! order gives the same series.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::model::SourceTier;

/// What one post contributes to its story's heat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeatFact {
    pub at: DateTime<Utc>,
    /// A stable hash of the site (source) name; distinct sites are counted by it.
    pub site: u64,
    pub tier: SourceTier,
    pub interactions: u64,
    pub negative: bool,
}

/// One hour of a story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeatBucket {
    /// Start of the hour (UTC).
    pub hour: DateTime<Utc>,
    pub posts: u32,
    /// Distinct sites that posted in this hour.
    pub sites: u32,
    pub max_tier: SourceTier,
    pub interactions: u64,
    pub negative: u32,
}

#[derive(Debug, Clone, Default)]
struct BucketAcc {
    posts: u32,
    sites: HashSet<u64>,
    max_tier: SourceTier,
    interactions: u64,
    negative: u32,
}

/// The hourly series of one story, kept incrementally.
#[derive(Debug, Clone, Default)]
pub struct HeatSeries {
    buckets: BTreeMap<i64, BucketAcc>,
    sites: HashSet<u64>,
    posts: u64,
    negative: u64,
    interactions: u64,
    max_tier: SourceTier,
}

/// The numbers grading reads, computed at `now`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatSummary {
    pub posts: u64,
    pub sites: u32,
    pub max_tier: SourceTier,
    pub interactions: u64,
    pub negative_share: f32,
    /// Posts in the hour that contains `now`.
    pub last_hour_posts: u32,
    /// Mean posts per hour over the 6 hours before that.
    pub prev_mean_posts: f32,
    /// `last_hour_posts / prev_mean_posts`; `None` when the 6 hours before had no posts.
    pub growth: Option<f32>,
    /// Posts in the hour before the one that contains `now` ...
    pub prev_hour_posts: u32,
    /// ... and the mean posts per hour over the 6 hours before that one (growth sustained over two
    /// hours is measured against it).
    pub before_mean_posts: f32,
    /// Negative share over the last 6 hours (including the current one) and the 6 before; `None` where empty.
    pub negative_share_recent: Option<f32>,
    pub negative_share_before: Option<f32>,
}

pub fn hour_index(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(3600)
}

fn hour_start(index: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(index * 3600, 0).single().unwrap_or_default()
}

impl HeatSeries {
    pub fn new() -> HeatSeries {
        HeatSeries::default()
    }

    pub fn add(&mut self, fact: &HeatFact) {
        let b = self.buckets.entry(hour_index(fact.at)).or_default();
        b.posts += 1;
        b.sites.insert(fact.site);
        b.max_tier = b.max_tier.max(fact.tier);
        b.interactions = b.interactions.saturating_add(fact.interactions);
        b.negative += fact.negative as u32;
        self.sites.insert(fact.site);
        self.posts += 1;
        self.negative += fact.negative as u64;
        self.interactions = self.interactions.saturating_add(fact.interactions);
        self.max_tier = self.max_tier.max(fact.tier);
    }

    pub fn posts(&self) -> u64 {
        self.posts
    }

    pub fn buckets(&self) -> Vec<HeatBucket> {
        self.buckets
            .iter()
            .map(|(h, b)| HeatBucket {
                hour: hour_start(*h),
                posts: b.posts,
                sites: b.sites.len() as u32,
                max_tier: b.max_tier,
                interactions: b.interactions,
                negative: b.negative,
            })
            .collect()
    }

    fn window(&self, from: i64, to_inclusive: i64) -> (u32, u32) {
        self.buckets.range(from..=to_inclusive).fold((0, 0), |(p, n), (_, b)| (p + b.posts, n + b.negative))
    }

    /// The summary at `now`: growth compares the hour containing `now` with the 6 hours before it.
    pub fn summary(&self, now: DateTime<Utc>) -> HeatSummary {
        let h = hour_index(now);
        let last_hour_posts = self.buckets.get(&h).map_or(0, |b| b.posts);
        let (prev_posts, _) = self.window(h - 6, h - 1);
        let prev_mean_posts = prev_posts as f32 / 6.0;
        let growth = (prev_posts > 0).then(|| last_hour_posts as f32 / prev_mean_posts);
        let prev_hour_posts = self.buckets.get(&(h - 1)).map_or(0, |b| b.posts);
        let (before_posts, _) = self.window(h - 7, h - 2);
        let share = |(p, n): (u32, u32)| (p > 0).then(|| n as f32 / p as f32);
        HeatSummary {
            posts: self.posts,
            sites: self.sites.len() as u32,
            max_tier: self.max_tier,
            interactions: self.interactions,
            negative_share: if self.posts == 0 { 0.0 } else { self.negative as f32 / self.posts as f32 },
            last_hour_posts,
            prev_mean_posts,
            growth,
            prev_hour_posts,
            before_mean_posts: before_posts as f32 / 6.0,
            negative_share_recent: share(self.window(h - 5, h)),
            negative_share_before: share(self.window(h - 11, h - 6)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact(hour: i64, site: u64, negative: bool) -> HeatFact {
        HeatFact {
            at: Utc.timestamp_opt(hour * 3600 + 60, 0).unwrap(),
            site,
            tier: SourceTier::Community,
            interactions: 2,
            negative,
        }
    }

    #[test]
    fn buckets_count_posts_sites_and_interactions_per_hour() {
        let mut s = HeatSeries::new();
        s.add(&fact(10, 1, true));
        s.add(&fact(10, 1, false));
        s.add(&fact(10, 2, false));
        s.add(&fact(12, 3, true));
        let b = s.buckets();
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].posts, b[0].sites, b[0].interactions, b[0].negative), (3, 2, 6, 1));
        let sum = s.summary(hour_start(12));
        assert_eq!(sum.sites, 3);
        assert_eq!(sum.posts, 4);
        assert!((sum.negative_share - 0.5).abs() < 1e-6);
    }

    #[test]
    fn growth_compares_the_last_hour_with_the_mean_of_the_six_before() {
        let mut s = HeatSeries::new();
        for h in 0..6 {
            for _ in 0..2 {
                s.add(&fact(100 + h, 1, false));
            }
        }
        for _ in 0..20 {
            s.add(&fact(106, 1, false));
        }
        let sum = s.summary(hour_start(106) + chrono::Duration::minutes(30));
        assert_eq!(sum.last_hour_posts, 20);
        assert!((sum.prev_mean_posts - 2.0).abs() < 1e-6);
        assert_eq!(sum.growth, Some(10.0));
        // An hour later, with 25 more: the two last hours against the 6 before them.
        for _ in 0..25 {
            s.add(&fact(107, 1, false));
        }
        let sum = s.summary(hour_start(107));
        assert_eq!((sum.last_hour_posts, sum.prev_hour_posts), (25, 20));
        assert!((sum.before_mean_posts - 2.0).abs() < 1e-6);
    }

    #[test]
    fn growth_is_unknown_without_earlier_posts() {
        let mut s = HeatSeries::new();
        s.add(&fact(5, 1, false));
        assert_eq!(s.summary(hour_start(5)).growth, None);
    }

    #[test]
    fn order_of_facts_does_not_matter() {
        let facts: Vec<_> = (0..30).map(|i| fact(i % 7, i as u64 % 4, i % 3 == 0)).collect();
        let mut a = HeatSeries::new();
        let mut b = HeatSeries::new();
        facts.iter().for_each(|f| a.add(f));
        facts.iter().rev().for_each(|f| b.add(f));
        assert_eq!(a.buckets(), b.buckets());
        assert_eq!(a.summary(hour_start(6)), b.summary(hour_start(6)));
    }
}
