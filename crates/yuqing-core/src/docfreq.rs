//! The stream's own recent document frequencies (近期文档频率): how many of the last few days'
//! posts carry each term. A word that half of this week's posts carry (肺炎 in February 2020) says
//! nothing about which matter a post is about, whatever weight it has in ordinary text; story
//! assembly scales each term of a post by [`DocFreq::factor`] before comparing it with stories.
//!
//! Invariant: pure; the counts are a function of the set of posts observed whose day lies in the
//! window ending at the latest day seen, so observing the stored posts of that window again (in any
//! order) after a restart gives exactly the same state.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::hashing::Mix;

/// Seconds in a day: buckets are UTC days (any fixed cut works; it only needs to be the same).
const DAY: i64 = 86_400;

/// Recent document frequencies over a window of whole days.
#[derive(Debug, Clone)]
pub struct DocFreq {
    days: i64,
    /// Below this many posts in the window nothing is damped (too little to judge a word by).
    min_posts: u32,
    /// Day number → (posts that day, term → posts carrying it).
    buckets: BTreeMap<i64, (u32, HashMap<u64, u32, Mix>)>,
    /// Latest day seen.
    today: Option<i64>,
    total: u32,
}

impl DocFreq {
    /// A window of `days` days (at least one); nothing is damped while it holds fewer than
    /// `min_posts` posts.
    pub fn new(days: i64, min_posts: u32) -> DocFreq {
        DocFreq { days: days.max(1), min_posts, buckets: BTreeMap::new(), today: None, total: 0 }
    }

    fn day_of(at: DateTime<Utc>) -> i64 {
        at.timestamp().div_euclid(DAY)
    }

    /// Posts counted in the window.
    pub fn posts(&self) -> u32 {
        self.total
    }

    /// Counts one post's distinct terms. A post from a day already out of the window is not counted
    /// (it would be dropped at once); a later day moves the window and drops the days left behind.
    pub fn observe(&mut self, at: DateTime<Utc>, terms: impl IntoIterator<Item = u64>) {
        let day = Self::day_of(at);
        if self.today.is_none_or(|t| day > t) {
            self.today = Some(day);
            let start = day - self.days + 1;
            while let Some((&first, _)) = self.buckets.first_key_value() {
                if first >= start {
                    break;
                }
                if let Some((_, (n, _))) = self.buckets.pop_first() {
                    self.total -= n;
                }
            }
        }
        let start = self.today.unwrap_or(day) - self.days + 1;
        if day < start {
            return;
        }
        let (n, counts) = self.buckets.entry(day).or_default();
        *n += 1;
        self.total += 1;
        for t in terms {
            *counts.entry(t).or_insert(0) += 1;
        }
    }

    /// Posts in the window carrying `term`.
    pub fn count(&self, term: u64) -> u32 {
        self.buckets.values().map(|(_, c)| c.get(&term).copied().unwrap_or(0)).sum()
    }

    /// The share of the window's posts carrying `term` (0 while the window is too small to judge).
    pub fn share(&self, term: u64) -> f32 {
        if self.total < self.min_posts.max(1) {
            return 0.0;
        }
        self.count(term) as f32 / self.total as f32
    }

    /// How much of its weight `term` keeps: 1 for a word at most 1 % of recent posts carry, falling
    /// with the logarithm of its share to 0.1 for a word in every post (a word in 10 % keeps 0.5).
    pub fn factor(&self, term: u64) -> f32 {
        factor_of_share(self.share(term))
    }
}

/// See [`DocFreq::factor`]: `ln(1/share) / ln(100)`, kept within [0.1, 1].
pub fn factor_of_share(share: f32) -> f32 {
    if share <= 0.01 {
        return 1.0;
    }
    ((1.0 / share).ln() / 100f32.ln()).clamp(0.1, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: i64, hour: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_006_400 - 1_700_006_400 % DAY + day * DAY + hour * 3600, 0).unwrap()
    }

    #[test]
    fn a_word_in_every_post_loses_its_weight_and_a_rare_one_keeps_it() {
        let mut df = DocFreq::new(3, 10);
        for i in 0..200u64 {
            df.observe(at(0, (i % 24) as i64), [1, 100 + i]);
        }
        assert!(df.factor(1) <= 0.11, "{}", df.factor(1));
        assert_eq!(df.factor(150), 1.0);
        assert_eq!(df.factor(99_999), 1.0);
        assert!((factor_of_share(0.1) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn nothing_is_damped_until_the_window_holds_enough_posts() {
        let mut df = DocFreq::new(3, 10);
        for _ in 0..9 {
            df.observe(at(0, 1), [7]);
        }
        assert_eq!(df.factor(7), 1.0);
        df.observe(at(0, 2), [7]);
        assert!(df.factor(7) < 0.2);
    }

    #[test]
    fn old_days_leave_the_window_and_late_posts_from_them_are_not_counted() {
        let mut df = DocFreq::new(2, 1);
        df.observe(at(0, 1), [1]);
        df.observe(at(1, 1), [2]);
        assert_eq!((df.count(1), df.count(2), df.posts()), (1, 1, 2));
        df.observe(at(2, 1), [3]);
        assert_eq!((df.count(1), df.count(2), df.count(3), df.posts()), (0, 1, 1, 2));
        // A post of day 0 arriving now is outside the window.
        df.observe(at(0, 5), [1]);
        assert_eq!((df.count(1), df.posts()), (0, 2));
    }

    #[test]
    fn observing_the_window_again_in_another_order_gives_the_same_counts() {
        let posts: Vec<(DateTime<Utc>, Vec<u64>)> =
            (0..300).map(|i| (at(i % 5, i % 24), vec![(i % 7) as u64, (i % 11) as u64 + 20])).collect();
        let mut live = DocFreq::new(3, 1);
        for (t, terms) in &posts {
            live.observe(*t, terms.iter().copied());
        }
        let last_day = posts.iter().map(|(t, _)| DocFreq::day_of(*t)).max().unwrap();
        let mut rebuilt = DocFreq::new(3, 1);
        for (t, terms) in posts.iter().rev().filter(|(t, _)| DocFreq::day_of(*t) > last_day - 3) {
            rebuilt.observe(*t, terms.iter().copied());
        }
        for term in 0..40 {
            assert_eq!(live.count(term), rebuilt.count(term), "term {term}");
        }
        assert_eq!(live.posts(), rebuilt.posts());
    }
}
