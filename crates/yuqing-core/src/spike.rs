//! 突增 (spike): a watch rule's or a topic's posts per hour against its own baseline — the same hour
//! of day on the days before — and whether they stay far above it for consecutive hours.
//!
//! Invariant: pure (hours are indexes since the epoch, given by the caller); days on which nothing at
//! all was collected are missing, not zeros; a key with too few days of data has no baseline and so
//! never spikes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::grade::GradePolicy;

/// The most days a baseline looks back (`spike_baseline_days` is clamped to it).
pub const MAX_BASELINE_DAYS: u32 = 28;
/// Hours of counts kept per key: the baseline's days, half a day around the oldest sample, the
/// longest run counted back, and the current day. Rebuilding reads the posts of these hours.
pub const KEPT_HOURS: i64 = RING;
const RING: i64 = (MAX_BASELINE_DAYS as i64 + 3) * 24;
/// Consecutive hours above the baseline are counted back this far at most.
pub const MAX_RUN_HOURS: u32 = 24;
/// MAD × this estimates the standard deviation of normally spread counts.
const MAD_SCALE: f64 = 1.4826;

/// The hour index (hours since the Unix epoch) of a time in seconds.
pub fn hour_of(seconds: i64) -> i64 {
    seconds.div_euclid(3600)
}

/// What a baseline is kept for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum KeyKind {
    /// A watch rule (监测规则), by name.
    Rule,
    /// A topic (领域), by name.
    Topic,
}

/// A watch rule or a topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SpikeKey {
    pub kind: KeyKind,
    pub name: String,
}

impl SpikeKey {
    /// "监测规则“食品安全”" / "领域“食品药品”", for reasons.
    pub fn label_zh(&self) -> String {
        match self.kind {
            KeyKind::Rule => format!("监测规则“{}”", self.name),
            KeyKind::Topic => format!("领域“{}”", self.name),
        }
    }
}

/// Posts per hour of one key over the last `RING` hours: a ring whose slot is taken over by a newer
/// hour once its own is that old, so it never grows and needs no pruning.
#[derive(Debug, Clone, Default)]
pub struct HourlyCounts {
    /// (hour, posts) by `hour mod RING`; empty until the first post.
    slots: Vec<(i64, u32)>,
}

impl HourlyCounts {
    /// Adds posts to an hour; an hour older than the one its slot holds is past the window and dropped.
    pub fn add(&mut self, hour: i64, posts: u32) {
        if self.slots.is_empty() {
            self.slots = vec![(i64::MIN, 0); RING as usize];
        }
        if let Some(slot) = self.slots.get_mut(hour.rem_euclid(RING) as usize) {
            if slot.0 == hour {
                slot.1 = slot.1.saturating_add(posts);
            } else if slot.0 < hour {
                *slot = (hour, posts);
            }
        }
    }

    /// Posts in an hour (0 for an hour never counted or past the window).
    pub fn get(&self, hour: i64) -> u32 {
        self.slots.get(hour.rem_euclid(RING) as usize).filter(|s| s.0 == hour).map_or(0, |s| s.1)
    }
}

/// The usual volume of a key in one hour of the day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Median posts in that hour over the days with data.
    pub median: f64,
    /// Median absolute deviation from the median (robust spread).
    pub mad: f64,
    /// Days looked at, and of them the days with data.
    pub days: u32,
    pub days_with_data: u32,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The baseline of one sample per day (None: nothing at all was collected that day, so the day says
/// nothing), or None when fewer than `min_days` days have data.
pub fn baseline(samples: &[Option<u32>], min_days: u32) -> Option<Baseline> {
    let mut v: Vec<f64> = samples.iter().flatten().map(|&c| f64::from(c)).collect();
    if v.is_empty() || v.len() < min_days as usize {
        return None;
    }
    let m = median(&mut v);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - m).abs()).collect();
    let mad = median(&mut dev);
    Some(Baseline { median: m, mad, days: samples.len() as u32, days_with_data: v.len() as u32 })
}

/// What makes an hour far above its baseline, from the policy (a key period lowers it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// At least this many times the median (or the floor, when the median is below it) ...
    pub ratio: f64,
    /// ... and the median plus this many robust standard deviations (1.4826 × MAD) ...
    pub spread: f64,
    pub floor: f64,
    /// ... and at least this many posts.
    pub min_posts: u32,
    /// Consecutive hours needed.
    pub hours: u32,
    /// Days looked back, and days with data needed.
    pub days: u32,
    pub min_days: u32,
}

impl Thresholds {
    /// The policy's thresholds; in a key period the excess over the baseline (ratio − 1, the spread)
    /// and the minimum count are multiplied by `key_period_factor`.
    pub fn of(policy: &GradePolicy, key_period: bool) -> Thresholds {
        let f = f64::from(policy.key_period_factor);
        let f = if key_period && f.is_finite() && f > 0.0 { f } else { 1.0 };
        let finite = |x: f32, default: f64| if x.is_finite() { f64::from(x) } else { default };
        let ratio = finite(policy.spike_ratio, 3.0).max(1.0);
        let days = policy.spike_baseline_days.clamp(1, MAX_BASELINE_DAYS);
        Thresholds {
            ratio: 1.0 + (ratio - 1.0) * f,
            spread: finite(policy.spike_spread, 0.0).max(0.0) * f,
            floor: finite(policy.spike_floor, 1.0).max(0.0),
            min_posts: ((f64::from(policy.spike_min_posts) * f).ceil() as u32).max(1),
            hours: policy.spike_hours.clamp(1, MAX_RUN_HOURS),
            days,
            min_days: policy.spike_min_days.clamp(1, days),
        }
    }

    /// The posts an hour needs to be far above its baseline: always more than the median.
    pub fn level(&self, b: &Baseline) -> u32 {
        let by_ratio = self.ratio * b.median.max(self.floor);
        let by_spread = b.median + self.spread * MAD_SCALE * b.mad;
        let need = by_ratio.max(by_spread).ceil().max(f64::from(self.min_posts)).max(b.median.floor() + 1.0);
        need.min(f64::from(u32::MAX)) as u32
    }
}

/// A key far above its baseline now, for consecutive hours: the numbers of the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spike {
    pub key: SpikeKey,
    /// The current hour (index since the epoch) and the key's posts in it so far.
    pub hour: i64,
    pub posts: u32,
    /// That hour of day on the days before: the median posts, the days looked at and those with data.
    pub median: f32,
    pub days: u32,
    pub days_with_data: u32,
    /// The floor used in place of a median below it (a quiet key), if it was.
    pub floor: Option<f32>,
    /// Posts the hour needed.
    pub level: u32,
    /// Posts against the median (or the floor).
    pub ratio: f32,
    /// Consecutive hours at or above their level, ending with the current one.
    pub hours: u32,
    /// The key's posts over those hours.
    pub run_posts: u64,
    /// The story's posts with the key over those hours (the story's tracker fills it in).
    pub story_posts: u64,
}

#[derive(Debug, Clone)]
struct CachedBaseline {
    hour: i64,
    epoch: u64,
    days: u32,
    min_days: u32,
    baseline: Option<Baseline>,
}

#[derive(Debug, Clone, Default)]
struct KeyVolume {
    counts: HourlyCounts,
    /// Baselines of the last hours asked for: asked after every post, they change only when an old
    /// hour gets posts (the epoch then moves on).
    cache: Vec<CachedBaseline>,
}

/// Hourly posts of every watch rule and topic, and of everything collected (which days have data).
#[derive(Debug, Clone, Default)]
pub struct Volumes {
    all: HourlyCounts,
    rules: HashMap<String, KeyVolume>,
    topics: HashMap<String, KeyVolume>,
    /// The latest hour a baseline was cached for: a post half a day older may change it.
    cached_up_to: i64,
    epoch: u64,
}

/// Adds a post to a key's hour; the name is copied only for a key seen for the first time.
fn add_to(map: &mut HashMap<String, KeyVolume>, name: &str, hour: i64) {
    match map.get_mut(name) {
        Some(v) => v.counts.add(hour, 1),
        None => {
            let mut v = KeyVolume::default();
            v.counts.add(hour, 1);
            map.insert(name.to_string(), v);
        }
    }
}

/// One sample per day for `hour`: the key's posts at that hour of day, or None when nothing at all
/// was collected within half a day of it.
fn samples(all: &HourlyCounts, counts: &HourlyCounts, hour: i64, days: u32) -> Vec<Option<u32>> {
    (1..=i64::from(days))
        .map(|d| {
            let s = hour - 24 * d;
            (s - 12..s + 12).any(|x| all.get(x) > 0).then(|| counts.get(s))
        })
        .collect()
}

impl Volumes {
    pub fn new() -> Volumes {
        Volumes::default()
    }

    /// Counts one post at `hour`: in everything collected, and (unless `counted` is false, as for
    /// advertising) under each of its rules and topics. A post dated after `now_hour + 1` is left
    /// out: a wrong clock must not push real hours out of the window.
    pub fn add(&mut self, hour: i64, now_hour: i64, rules: &[String], topics: &[String], counted: bool) {
        self.collected(hour, now_hour, 1);
        if counted {
            self.count_keys(hour, now_hour, rules, topics);
        }
    }

    /// Counts `posts` collected at `hour` (any posts, noise too): the hours that have data.
    pub fn collected(&mut self, hour: i64, now_hour: i64, posts: u32) {
        if hour > now_hour.saturating_add(1) || posts == 0 {
            return;
        }
        self.all.add(hour, posts);
        // Baselines of hours at least half a day later may read this hour.
        if hour.saturating_add(13) <= self.cached_up_to {
            self.epoch += 1;
        }
    }

    /// Counts one post at `hour` under each of its rules and topics (call `collected` for it too).
    pub fn count_keys(&mut self, hour: i64, now_hour: i64, rules: &[String], topics: &[String]) {
        if hour > now_hour.saturating_add(1) {
            return;
        }
        if hour.saturating_add(13) <= self.cached_up_to {
            self.epoch += 1;
        }
        for r in rules {
            add_to(&mut self.rules, r, hour);
        }
        for t in topics {
            add_to(&mut self.topics, t, hour);
        }
    }

    /// Posts of a key in an hour.
    pub fn posts(&self, kind: KeyKind, name: &str, hour: i64) -> u32 {
        let map = match kind {
            KeyKind::Rule => &self.rules,
            KeyKind::Topic => &self.topics,
        };
        map.get(name).map_or(0, |v| v.counts.get(hour))
    }

    /// The baseline of a key for an hour (None: not enough days with data).
    pub fn baseline(&mut self, kind: KeyKind, name: &str, hour: i64, policy: &GradePolicy) -> Option<Baseline> {
        let t = Thresholds::of(policy, false);
        let epoch = self.epoch;
        let map = match kind {
            KeyKind::Rule => &mut self.rules,
            KeyKind::Topic => &mut self.topics,
        };
        let vol = map.get_mut(name)?;
        let (b, cached) = cached_baseline(&self.all, vol, hour, &t, epoch);
        self.cached_up_to = self.cached_up_to.max(cached);
        b
    }

    /// Whether a key spikes at `hour`: far above its baseline in this hour and the ones before it,
    /// for at least the policy's hours in a row.
    pub fn spike(
        &mut self,
        kind: KeyKind,
        name: &str,
        hour: i64,
        policy: &GradePolicy,
        key_period: bool,
    ) -> Option<Spike> {
        let t = Thresholds::of(policy, key_period);
        let epoch = self.epoch;
        let map = match kind {
            KeyKind::Rule => &mut self.rules,
            KeyKind::Topic => &mut self.topics,
        };
        let vol = map.get_mut(name)?;
        let posts = vol.counts.get(hour);
        // Called after every post: most keys are below the minimum count, and nothing else is read.
        if posts < t.min_posts {
            return None;
        }
        vol.cache.retain(|c| c.epoch == epoch && c.hour <= hour && c.hour > hour - i64::from(MAX_RUN_HOURS) - 2);
        let mut first: Option<Baseline> = None;
        let (mut hours, mut run_posts) = (0u32, 0u64);
        while hours < MAX_RUN_HOURS {
            let y = hour - i64::from(hours);
            let count = vol.counts.get(y);
            let (b, cached) = cached_baseline(&self.all, vol, y, &t, epoch);
            self.cached_up_to = self.cached_up_to.max(cached);
            match b {
                Some(b) if count >= t.level(&b) => {
                    first.get_or_insert(b);
                    hours += 1;
                    run_posts += u64::from(count);
                }
                _ => break,
            }
        }
        let b = first?;
        if hours < t.hours {
            return None;
        }
        let base = b.median.max(t.floor);
        Some(Spike {
            key: SpikeKey { kind, name: name.to_string() },
            hour,
            posts,
            median: b.median as f32,
            days: b.days,
            days_with_data: b.days_with_data,
            floor: (b.median < t.floor).then_some(t.floor as f32),
            level: t.level(&b),
            ratio: if base > 0.0 { (f64::from(posts) / base) as f32 } else { 0.0 },
            hours,
            run_posts,
            story_posts: 0,
        })
    }
}

/// The baseline of `vol` at `hour`, from the cache when it is current; also the hour cached.
fn cached_baseline(
    all: &HourlyCounts,
    vol: &mut KeyVolume,
    hour: i64,
    t: &Thresholds,
    epoch: u64,
) -> (Option<Baseline>, i64) {
    if let Some(c) =
        vol.cache.iter().find(|c| c.hour == hour && c.epoch == epoch && c.days == t.days && c.min_days == t.min_days)
    {
        return (c.baseline, hour);
    }
    let b = baseline(&samples(all, &vol.counts, hour, t.days), t.min_days);
    if vol.cache.len() >= 4 * MAX_RUN_HOURS as usize {
        vol.cache.clear();
    }
    vol.cache.push(CachedBaseline { hour, epoch, days: t.days, min_days: t.min_days, baseline: b });
    (b, hour)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> GradePolicy {
        GradePolicy::default()
    }

    /// `days` days of history: every hour has `per_hour(day, hour_of_day)` posts of rule "r",
    /// and the collector saw something every hour (`collected`).
    fn history(v: &mut Volumes, start_day: i64, days: i64, per_hour: impl Fn(i64, i64) -> u32) {
        let rules = vec!["r".to_string()];
        for d in start_day..start_day + days {
            for h in 0..24 {
                let hour = d * 24 + h;
                v.add(hour, hour, &[], &[], true);
                for _ in 0..per_hour(d, h) {
                    v.add(hour, hour, &rules, &[], true);
                }
            }
        }
    }

    fn burst(v: &mut Volumes, hour: i64, n: u32) {
        let rules = vec!["r".to_string()];
        for _ in 0..n {
            v.add(hour, hour, &rules, &[], true);
        }
    }

    #[test]
    fn baseline_is_the_median_and_mad_of_days_with_data() {
        let s = [Some(10), Some(12), None, Some(11), Some(40), None, Some(9)];
        let b = baseline(&s, 5).expect("five days with data");
        assert_eq!((b.median, b.days, b.days_with_data), (11.0, 7, 5));
        // Deviations 1, 1, 0, 29, 2 → median 1: one wild day does not widen the spread.
        assert_eq!(b.mad, 1.0);
        assert_eq!(baseline(&s, 6), None, "five days with data are fewer than six");
        assert_eq!(baseline(&[None, None], 1), None);
        assert_eq!(baseline(&[Some(2), Some(4)], 1).map(|b| b.median), Some(3.0));
    }

    #[test]
    fn ring_keeps_the_window_and_drops_what_is_older() {
        let mut c = HourlyCounts::default();
        assert_eq!(c.get(5), 0);
        c.add(5, 2);
        c.add(5, 1);
        assert_eq!(c.get(5), 3);
        c.add(5 + RING, 1);
        assert_eq!((c.get(5), c.get(5 + RING)), (0, 1), "a newer hour takes the slot over");
        c.add(5, 4);
        assert_eq!((c.get(5), c.get(5 + RING)), (0, 1), "an hour older than its slot's is dropped");
        c.add(-3, 1);
        assert_eq!(c.get(-3), 1, "hours before the epoch are indexes like any other");
    }

    #[test]
    fn a_key_at_its_usual_volume_does_not_spike_and_a_quiet_one_that_jumps_and_stays_does() {
        let mut v = Volumes::new();
        let p = policy();
        // 80 posts every hour for 14 days, give or take a few.
        history(&mut v, 100, 14, |d, h| 78 + ((d + h) % 5) as u32);
        let now = 114 * 24 + 10;
        burst(&mut v, now - 1, 82);
        burst(&mut v, now, 85);
        assert_eq!(v.spike(KeyKind::Rule, "r", now, &p, false), None, "80 an hour is its normal");

        let mut q = Volumes::new();
        history(&mut q, 100, 14, |d, _| (d % 3) as u32);
        burst(&mut q, now - 1, 30);
        burst(&mut q, now, 31);
        let s = q.spike(KeyKind::Rule, "r", now, &p, false).expect("2 → 30 for two hours is a spike");
        assert_eq!((s.posts, s.hours, s.run_posts, s.days, s.days_with_data), (31, 2, 61, 14, 14));
        assert_eq!(s.median, 1.0);
        assert_eq!(s.floor, Some(2.0), "a median of 1 is taken as 2");
        assert!((s.ratio - 15.5).abs() < 1e-4, "{}", s.ratio);
        assert_eq!(s.level, 20);
    }

    #[test]
    fn one_hour_above_is_not_a_spike() {
        let mut v = Volumes::new();
        history(&mut v, 100, 14, |_, _| 2);
        let now = 114 * 24 + 10;
        burst(&mut v, now - 1, 2);
        burst(&mut v, now, 60);
        assert_eq!(v.spike(KeyKind::Rule, "r", now, &policy(), false), None, "one hour only");
        // The next hour stays up: now it is.
        burst(&mut v, now + 1, 40);
        let s = v.spike(KeyKind::Rule, "r", now + 1, &policy(), false).expect("two hours");
        assert_eq!((s.hours, s.posts, s.run_posts), (2, 40, 100));
        // It falls back: no spike in the hour after, whatever came before.
        burst(&mut v, now + 2, 3);
        assert_eq!(v.spike(KeyKind::Rule, "r", now + 2, &policy(), false), None);
    }

    #[test]
    fn a_quiet_key_needs_the_minimum_count() {
        let mut v = Volumes::new();
        history(&mut v, 100, 14, |_, _| 0);
        let now = 114 * 24 + 10;
        burst(&mut v, now - 1, 3);
        burst(&mut v, now, 3);
        assert_eq!(v.spike(KeyKind::Rule, "r", now, &policy(), false), None, "0 → 3 is not a spike");
        burst(&mut v, now - 1, 17);
        burst(&mut v, now, 17);
        let s = v.spike(KeyKind::Rule, "r", now, &policy(), false).expect("0 → 20 is");
        assert_eq!((s.median, s.floor, s.level), (0.0, Some(2.0), 20));
        assert!((s.ratio - 10.0).abs() < 1e-4);
    }

    #[test]
    fn missing_days_are_not_zeros_and_too_few_days_give_no_baseline() {
        // Collection started 5 days ago: nothing before is known, so no baseline, no spike.
        let mut v = Volumes::new();
        history(&mut v, 109, 5, |_, _| 1);
        let now = 114 * 24 + 10;
        burst(&mut v, now - 1, 50);
        burst(&mut v, now, 50);
        assert_eq!(v.baseline(KeyKind::Rule, "r", now, &policy()), None);
        assert_eq!(v.spike(KeyKind::Rule, "r", now, &policy(), false), None);
        // 14 days with a gap of 6 days when the collector was down: the 8 days with data make the
        // baseline; the 6 missing days are not counted as zeros. (At noon the half day either side
        // of the hour is exactly its day.)
        let now = 114 * 24 + 12;
        let mut g = Volumes::new();
        history(&mut g, 100, 4, |_, _| 30);
        history(&mut g, 110, 4, |_, _| 30);
        let b = g.baseline(KeyKind::Rule, "r", now, &policy()).expect("8 days with data");
        assert_eq!((b.median, b.days, b.days_with_data), (30.0, 14, 8));
        // The same hours with zeros on those days (collected, but none of the key) are another matter.
        let mut z = Volumes::new();
        history(&mut z, 100, 14, |d, _| if (104..110).contains(&d) { 0 } else { 30 });
        let b = z.baseline(KeyKind::Rule, "r", now, &policy()).expect("14 days");
        assert_eq!((b.median, b.days_with_data), (30.0, 14));
    }

    #[test]
    fn a_key_period_lowers_the_threshold() {
        let mut v = Volumes::new();
        history(&mut v, 100, 14, |_, _| 6);
        let now = 114 * 24 + 10;
        burst(&mut v, now - 1, 14);
        burst(&mut v, now, 14);
        let p = policy();
        assert_eq!(v.spike(KeyKind::Rule, "r", now, &p, false), None, "14 is under 3 × 6 and under 20");
        let s = v.spike(KeyKind::Rule, "r", now, &p, true).expect("in a key period 2 × 6 and 10 are enough");
        assert_eq!(s.level, 12);
    }

    #[test]
    fn noisy_keys_need_more_than_the_ratio() {
        // Some days 0, some 40 at that hour: the spread, not only the ratio, sets the level.
        let mut v = Volumes::new();
        history(&mut v, 100, 14, |d, _| [0, 40, 10, 25][(d % 4) as usize]);
        let b = v.baseline(KeyKind::Rule, "r", 114 * 24 + 10, &policy()).expect("baseline");
        let t = Thresholds::of(&policy(), false);
        assert!(f64::from(t.level(&b)) > 3.0 * b.median, "level {} median {}", t.level(&b), b.median);
    }

    #[test]
    fn noise_counts_as_collected_but_not_for_the_key() {
        let mut v = Volumes::new();
        let rules = vec!["r".to_string()];
        v.add(10, 10, &rules, &[], false);
        assert_eq!(v.posts(KeyKind::Rule, "r", 10), 0);
        assert_eq!(v.all.get(10), 1);
        v.add(10_000, 10, &rules, &[], true);
        assert_eq!(
            (v.all.get(10_000), v.posts(KeyKind::Rule, "r", 10_000)),
            (0, 0),
            "a post from the future is left out"
        );
        v.add(11, 11, &[], &["医疗".to_string()], true);
        assert_eq!(v.posts(KeyKind::Topic, "医疗", 11), 1);
    }

    #[test]
    fn a_late_post_in_an_old_hour_updates_a_cached_baseline() {
        let mut v = Volumes::new();
        history(&mut v, 100, 14, |d, _| if d < 107 { 0 } else { 2 });
        let now = 114 * 24 + 10;
        let before = v.baseline(KeyKind::Rule, "r", now, &policy()).expect("baseline");
        assert_eq!(before.median, 1.0);
        // Three days at that hour get many more posts, late (a backfill).
        for d in 104..107 {
            burst(&mut v, d * 24 + 10, 10);
        }
        let after = v.baseline(KeyKind::Rule, "r", now, &policy()).expect("baseline");
        assert_eq!(after.median, 2.0, "the cache was refreshed");
    }

    #[test]
    fn any_policy_numbers_give_a_level_above_the_median() {
        let weird = GradePolicy {
            spike_ratio: f32::NAN,
            spike_spread: -3.0,
            spike_floor: f32::INFINITY,
            spike_min_posts: 0,
            spike_hours: 0,
            spike_baseline_days: 1000,
            spike_min_days: 0,
            key_period_factor: f32::NAN,
            ..GradePolicy::default()
        };
        for kp in [false, true] {
            let t = Thresholds::of(&weird, kp);
            assert!(t.hours >= 1 && t.min_days >= 1 && t.days <= MAX_BASELINE_DAYS && t.min_posts >= 1);
            for m in [0.0, 0.5, 3.0, 1e12] {
                let b = Baseline { median: m, mad: 0.0, days: 14, days_with_data: 14 };
                assert!(f64::from(t.level(&b)) > m.min(f64::from(u32::MAX) - 1.0), "{m}");
            }
        }
    }
}
