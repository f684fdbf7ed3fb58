//! 定级: the grading policy of the response plans, applied to a story's heat, rule hits and words.
//! Every grade comes with its reasons — the rule that fired and the numbers that made it fire.
//!
//! Invariant: pure and total — any inputs give a grade (or none) and never panic; the policy is data.

use serde::{Deserialize, Serialize};

use crate::heat::HeatSummary;
use crate::model::{Grade, GradeReason, SourceTier};
use crate::spike::{Spike, MAX_RUN_HOURS};

/// Thresholds of the grading policy; defaults follow the local response plans users work under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GradePolicy {
    /// A story is graded only once a post in it matched a watch rule (it can still be raised by hand).
    pub require_watch_rule: bool,
    /// III 较大: this many posts or more.
    pub major_posts: u64,
    /// III 较大: on this many sites or more, with the negative share rising.
    pub major_sites: u32,
    /// Negative share counts as rising when the last 6 hours exceed the 6 before by this margin.
    pub negative_rise_margin: f32,
    /// For a story younger than 6 hours: negative share at or above this counts as rising.
    pub young_negative_share: f32,
    /// II 重大: a post from a source of these tiers (mainstream media involved).
    pub serious_tiers: Vec<SourceTier>,
    /// II 重大: this many posts or more.
    pub serious_posts: u64,
    /// II 重大 by the story's own growth: the last two hours (the current one and the one before)
    /// each have this many times the mean posts per hour of the 6 hours before them ...
    pub serious_growth: f32,
    /// ... and each at least this many posts (so 1 → 5 posts is not a surge). One hour alone is
    /// not enough: a daily figure or an announcement reposted at once fades the next hour.
    pub serious_growth_min_posts: u32,
    /// II 重大 by a spike (突增) of a watch rule or topic of the story: far above its usual volume
    /// at that hour of day. The baseline is that hour on this many days before (at most 28) ...
    pub spike_baseline_days: u32,
    /// ... of which at least this many must have data; days when nothing at all was collected (before
    /// collection started, an outage) are left out, not counted as zeros. With fewer days there is
    /// no baseline and no spike.
    pub spike_min_days: u32,
    /// An hour is far above its baseline with at least this many times the median ...
    pub spike_ratio: f32,
    /// ... and at least the median plus this many robust standard deviations (1.4826 × the median
    /// absolute deviation), so a key that swings a lot needs more ...
    pub spike_spread: f32,
    /// ... where a median below this counts as this (a quiet key with median 0 does not spike at 3) ...
    pub spike_floor: f32,
    /// ... and at least this many posts of the key in the hour.
    pub spike_min_posts: u32,
    /// A spike lasts at least this many consecutive hours, the current one included.
    pub spike_hours: u32,
    /// The story carries at least this share of the key's posts in those hours (the spike is this
    /// story's, not another's under the same rule).
    pub spike_story_share: f32,
    /// I 特别重大: any of these words in a story already at II.
    pub severe_words: Vec<String>,
    /// I 特别重大 by severe words: at least this many posts carry them ...
    pub severe_word_posts: u64,
    /// ... and at least this share of the story's posts (one post that mentions a death in a
    /// story of a hundred is not a story about deaths).
    pub severe_word_share: f32,
    /// I 特别重大: this many posts or more.
    pub severe_posts: u64,
    /// In a key period (重点时期) count thresholds are multiplied by this (e.g. 0.5 halves them);
    /// for spikes, the minimum posts and the excess over the baseline (ratio − 1, the spread).
    pub key_period_factor: f32,
    /// 属地管理: III 较大 and above need a local story — one whose posts name places inside the
    /// jurisdiction (or the organization) — when a jurisdiction is configured.
    pub require_local: bool,
    /// A story is local when at least this share of its posts that name any place (or the
    /// organization) name one inside the jurisdiction.
    pub local_min_share: f32,
    /// ... and at least this share of all its posts (noise left out) name it: a national or
    /// world matter whose posts mention the jurisdiction in passing (全国累计确诊…, one post in
    /// five names 武汉) is not a local one.
    pub local_min_post_share: f32,
    /// The jurisdiction's names, from `[organization] jurisdiction` (not set under `[grading]`);
    /// empty: no jurisdiction, no locality check.
    #[serde(skip)]
    pub jurisdiction: Vec<String>,
    /// 误报 learning: a story whose words are at least this similar (cosine of the story cores,
    /// 0..1) to a story the office marked 误报 is graded one level lower (never below 一般, never
    /// hidden); 0 turns the learning off.
    pub false_alarm_similarity: f32,
}

impl Default for GradePolicy {
    fn default() -> Self {
        GradePolicy {
            require_watch_rule: true,
            major_posts: 100,
            major_sites: 3,
            negative_rise_margin: 0.05,
            young_negative_share: 0.5,
            serious_tiers: vec![SourceTier::Central, SourceTier::Provincial],
            serious_posts: 500,
            serious_growth: 5.0,
            serious_growth_min_posts: 20,
            spike_baseline_days: 14,
            spike_min_days: 7,
            spike_ratio: 3.0,
            spike_spread: 4.0,
            spike_floor: 2.0,
            spike_min_posts: 20,
            spike_hours: 2,
            spike_story_share: 0.25,
            severe_words: [
                "死亡",
                "死者",
                "身亡",
                "伤亡",
                "遇难",
                "罹难",
                "丧生",
                "致死",
                "重伤",
                "群体性事件",
                "冲突",
                "打砸",
                "骚乱",
                "暴力",
                "非法聚集",
                "聚众闹事",
                "围堵",
                "踩踏",
                "爆炸",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            severe_word_posts: 3,
            severe_word_share: 0.1,
            severe_posts: 5000,
            key_period_factor: 0.5,
            require_local: true,
            local_min_share: 0.5,
            local_min_post_share: 0.4,
            jurisdiction: Vec::new(),
            false_alarm_similarity: 0.6,
        }
    }
}

/// What the policy reads about one story.
#[derive(Debug, Clone, Default)]
pub struct GradeInputs<'a> {
    pub heat: Option<&'a HeatSummary>,
    /// Watch rules matched by the story's posts, with how many posts matched each.
    pub rule_hits: &'a [(String, u64)],
    /// Severe words (casualties, unrest) found in the story's posts.
    pub severe_words: &'a [String],
    /// How many of the story's posts carry a severe word (None: not counted, every word counts).
    pub severe_word_posts: Option<u64>,
    /// Names of the mainstream (serious-tier) sources that posted, for the reason text.
    pub mainstream_sources: &'a [String],
    /// A grade set by hand, with the person's reason; it is a floor.
    pub manual: Option<(Grade, &'a str)>,
    /// The key period in force, by name, if any.
    pub key_period: Option<&'a str>,
    /// Where the story's posts are, for the locality check (None: not known).
    pub locality: Option<&'a Locality>,
    /// Watch rules and topics of the story that spike now (`spike::Volumes::spike`), with the
    /// story's own posts in the spiking hours filled in.
    pub spikes: &'a [Spike],
    /// The most similar story the office marked 误报, if any is similar enough to count.
    pub like_false_alarm: Option<&'a LikeFalseAlarm>,
}

/// A story marked 误报 that a new story resembles (the relevance model's nearest example).
#[derive(Debug, Clone, PartialEq)]
pub struct LikeFalseAlarm {
    pub story: i64,
    pub title: String,
    /// Cosine similarity of the two story cores, 0..1.
    pub similarity: f32,
    /// The reason the office gave.
    pub reason: String,
}

/// Where a story's posts are, against the jurisdiction (属地).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Locality {
    /// The story's posts that are not noise.
    pub posts: u64,
    /// Posts naming any place or the organization (noise left out).
    pub placed_posts: u64,
    /// Of those, posts naming a place inside the jurisdiction or the organization.
    pub local_posts: u64,
    /// Places inside the jurisdiction, with their posts, most first.
    pub local_places: Vec<(String, u64)>,
    /// Places outside it (provinces, countries), with their posts, most first.
    pub other_places: Vec<(String, u64)>,
}

impl Locality {
    /// Local: some posts name the jurisdiction, at least `min_share` of the posts that name any
    /// place do, and at least `min_post_share` of all the story's posts do.
    pub fn is_local(&self, min_share: f32, min_post_share: f32) -> bool {
        self.local_posts > 0
            && self.share_of_placed() >= min_share as f64 - 1e-9
            && self.share_of_posts() >= min_post_share as f64 - 1e-9
    }

    /// Local posts over posts that name any place.
    pub fn share_of_placed(&self) -> f64 {
        self.local_posts as f64 / self.placed_posts.max(1) as f64
    }

    /// Local posts over all the story's posts (at most 1: a tracker that counted places without
    /// posts is read as all its posts placed).
    pub fn share_of_posts(&self) -> f64 {
        self.local_posts as f64 / self.posts.max(self.placed_posts).max(1) as f64
    }

    fn list(places: &[(String, u64)]) -> String {
        places.iter().take(4).map(|(n, c)| format!("{n} {c} 条")).collect::<Vec<_>>().join("、")
    }
}

/// "12" for a whole number, "12.5" otherwise.
fn figure(x: f32) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// The reason of a spike: "监测规则“食品安全”突增：本小时 86 条，近 14 天同时段中位数 12 条，7.2 倍，持续 2 小时…".
fn spike_detail(s: &Spike, key_period: Option<&str>) -> String {
    let days = if s.days_with_data < s.days {
        format!("近 {} 天同时段（其中 {} 天有数据）", s.days, s.days_with_data)
    } else {
        format!("近 {} 天同时段", s.days)
    };
    let floor = match s.floor {
        Some(f) => format!("（不足 {0} 条按 {0} 条计）", figure(f)),
        None => String::new(),
    };
    let period = match key_period {
        Some(name) => format!("，重点时期“{name}”阈值已降低"),
        None => String::new(),
    };
    format!(
        "{}突增：本小时 {} 条，{}中位数 {} 条{}，{:.1} 倍，持续 {} 小时（每小时阈值 {} 条{}）；本事件占其中 {} 条（{:.0}%）",
        s.key.label_zh(),
        s.posts,
        days,
        figure(s.median),
        floor,
        s.ratio,
        s.hours,
        s.level,
        period,
        s.story_posts,
        s.story_posts as f64 * 100.0 / s.run_posts.max(1) as f64
    )
}

/// The posts a locality share is of, as a reason names them: "全部 30 条帖文", or, when some of the
/// story's `all` posts are noise (which never count), "除 21 条噪声外的 30 条帖文" — so the figure
/// does not contradict the story's post count shown beside it.
fn counted_posts(all: u64, loc: &Locality) -> String {
    let counted = loc.posts.max(loc.placed_posts);
    match all.saturating_sub(counted) {
        0 => format!("全部 {counted} 条帖文"),
        noise => format!("除 {noise} 条噪声外的 {counted} 条帖文"),
    }
}

/// The grade of a story (None: not graded) and every reason that fired, highest grade first.
pub fn grade_story(inputs: &GradeInputs<'_>, policy: &GradePolicy) -> (Option<Grade>, Vec<GradeReason>) {
    let mut reasons: Vec<GradeReason> = Vec::new();
    let factor = match inputs.key_period {
        Some(_) if policy.key_period_factor > 0.0 => policy.key_period_factor,
        _ => 1.0,
    };
    let scaled = |n: u64| ((n as f64) * factor as f64).ceil().max(1.0) as u64;
    let period_note = match inputs.key_period {
        Some(name) if factor != 1.0 => format!("（重点时期“{name}”，阈值按 {:.0}% 计）", factor * 100.0),
        _ => String::new(),
    };
    let mut push =
        |grade: Grade, rule: &str, detail: String| reasons.push(GradeReason { grade, rule: rule.to_string(), detail });

    let matched_rule = !inputs.rule_hits.is_empty();
    if let Some((grade, why)) = inputs.manual {
        push(grade, "manual", format!("人工定级为{}级（{}）：{}", grade.as_str(), grade.label_zh(), why));
    }
    if !matched_rule && policy.require_watch_rule {
        let grade = inputs.manual.map(|(g, _)| g);
        return (grade, reasons);
    }
    if matched_rule {
        let list: Vec<String> = inputs.rule_hits.iter().map(|(name, n)| format!("“{name}”（{n} 条）")).collect();
        push(Grade::IV, "watch_rule", format!("命中监测规则 {}", list.join("、")));
    }

    let mut computed = if matched_rule { Some(Grade::IV) } else { None };
    if let Some(h) = inputs.heat {
        let major_posts = scaled(policy.major_posts);
        if h.posts >= major_posts {
            push(
                Grade::III,
                "post_count",
                format!("帖文 {} 条，达到较大级阈值 {} 条{}", h.posts, major_posts, period_note),
            );
            computed = computed.max(Some(Grade::III));
        }
        let major_sites = scaled(policy.major_sites as u64) as u32;
        if h.sites >= major_sites {
            let rising = match (h.negative_share_recent, h.negative_share_before) {
                (Some(r), Some(b)) if r > b + policy.negative_rise_margin => {
                    Some(format!("负面占比上升（近 6 小时 {:.0}%，此前 6 小时 {:.0}%）", r * 100.0, b * 100.0))
                }
                (Some(r), None) if r >= policy.young_negative_share => Some(format!(
                    "新近出现且负面占比 {:.0}%（≥ {:.0}%）",
                    r * 100.0,
                    policy.young_negative_share * 100.0
                )),
                _ => None,
            };
            if let Some(rise) = rising {
                push(
                    Grade::III,
                    "sites_negative_rising",
                    format!("涉及 {} 个站点（阈值 {} 个），{}{}", h.sites, major_sites, rise, period_note),
                );
                computed = computed.max(Some(Grade::III));
            }
        }
        if policy.serious_tiers.contains(&h.max_tier) {
            let who = if inputs.mainstream_sources.is_empty() {
                String::new()
            } else {
                format!("：{}", inputs.mainstream_sources.join("、"))
            };
            push(Grade::II, "mainstream_media", format!("{}参与报道，主流媒体介入{}", h.max_tier.label_zh(), who));
            computed = computed.max(Some(Grade::II));
        }
        let serious_posts = scaled(policy.serious_posts);
        if h.posts >= serious_posts {
            push(
                Grade::II,
                "post_count",
                format!("帖文 {} 条，达到重大级阈值 {} 条{}", h.posts, serious_posts, period_note),
            );
            computed = computed.max(Some(Grade::II));
        }
        let min_posts = scaled(policy.serious_growth_min_posts as u64) as u32;
        let (prev, last, base) = (h.prev_hour_posts, h.last_hour_posts, h.before_mean_posts);
        let grew = |n: u32| n >= min_posts && n as f32 >= policy.serious_growth * base;
        if base > 0.0 && grew(prev) && grew(last) {
            push(
                Grade::II,
                "growth",
                format!(
                    "连续两小时增长：上一小时 {} 条、本小时 {} 条，为此前 6 小时平均每小时 {:.1} 条的 {:.1} 倍以上（阈值 {:.1} 倍且每小时不少于 {} 条）",
                    prev,
                    last,
                    base,
                    prev.min(last) as f32 / base,
                    policy.serious_growth,
                    min_posts
                ),
            );
            computed = computed.max(Some(Grade::II));
        }
        for s in inputs.spikes.iter().take(8) {
            let share = policy.spike_story_share as f64 * s.run_posts as f64;
            if s.hours >= policy.spike_hours.clamp(1, MAX_RUN_HOURS)
                && s.story_posts > 0
                && s.story_posts as f64 >= share
            {
                push(Grade::II, "spike", spike_detail(s, inputs.key_period.filter(|_| factor != 1.0)));
                computed = computed.max(Some(Grade::II));
            }
        }
        let severe_enough = match inputs.severe_word_posts {
            None => true,
            Some(n) => {
                n >= policy.severe_word_posts && n as f64 + 1e-6 >= policy.severe_word_share as f64 * h.posts as f64
            }
        };
        if computed >= Some(Grade::II) && !inputs.severe_words.is_empty() && severe_enough {
            let how_many = match inputs.severe_word_posts {
                Some(n) => format!("，{} 条帖文（占 {:.0}%）", n, n as f64 * 100.0 / h.posts.max(1) as f64),
                None => String::new(),
            };
            push(
                Grade::I,
                "severe_words",
                format!("已达重大级，且出现伤亡或群体性事件词语{how_many}：{}", inputs.severe_words.join("、")),
            );
            computed = Some(Grade::I);
        }
        let severe_posts = scaled(policy.severe_posts);
        if h.posts >= severe_posts {
            push(
                Grade::I,
                "post_count",
                format!("帖文 {} 条，达到特别重大级阈值 {} 条{}", h.posts, severe_posts, period_note),
            );
            computed = Some(Grade::I);
        }
    }
    reasons.sort_by_key(|r| std::cmp::Reverse(r.grade));
    if let (Some(loc), true, Some(g)) =
        (inputs.locality, policy.require_local && !policy.jurisdiction.is_empty(), computed)
    {
        let jurisdiction = policy.jurisdiction.join("、");
        let all_posts = inputs.heat.map_or(0, |h| h.posts);
        if loc.is_local(policy.local_min_share, policy.local_min_post_share) {
            reasons.insert(
                0,
                GradeReason {
                    grade: g,
                    rule: "local".into(),
                    detail: format!(
                        "涉及本地：{}（{}中 {} 条涉及{}，占 {:.0}%；提及地点的 {} 条中占 {:.0}%）",
                        Locality::list(&loc.local_places),
                        counted_posts(all_posts, loc),
                        loc.local_posts,
                        jurisdiction,
                        loc.share_of_posts() * 100.0,
                        loc.placed_posts,
                        loc.share_of_placed() * 100.0
                    ),
                },
            );
        } else if g > Grade::IV {
            // 属地管理: what would have raised the story is listed, but it stays 一般.
            let raised: Vec<String> = reasons
                .iter()
                .filter(|r| r.grade > Grade::IV && r.rule != "manual")
                .map(|r| r.detail.clone())
                .collect();
            reasons.retain(|r| r.grade <= Grade::IV || r.rule == "manual");
            let mut head = "未涉及本地";
            let found = if loc.other_places.is_empty() && loc.local_posts == 0 {
                "帖文未提及本地地名".to_string()
            } else if loc.local_posts == 0 {
                format!("帖文所涉地点为{}", Locality::list(&loc.other_places))
            } else if loc.share_of_placed() < policy.local_min_share as f64 - 1e-9 {
                format!(
                    "帖文所涉地点为{}，涉及本地的仅 {} 条（提及地点的 {} 条中不足 {:.0}%）",
                    Locality::list(&loc.other_places),
                    loc.local_posts,
                    loc.placed_posts,
                    policy.local_min_share * 100.0
                )
            } else {
                head = "本地仅被顺带提及";
                let elsewhere = if loc.other_places.is_empty() {
                    String::new()
                } else {
                    format!("，另涉及{}", Locality::list(&loc.other_places))
                };
                format!(
                    "提及本地的帖文仅 {} 条，占{}的 {:.0}%（不足 {:.0}%），事件主体不在本地{}",
                    loc.local_posts,
                    counted_posts(all_posts, loc),
                    loc.share_of_posts() * 100.0,
                    policy.local_min_post_share * 100.0,
                    elsewhere
                )
            };
            reasons.insert(
                0,
                GradeReason {
                    grade: Grade::IV,
                    rule: "not_local".into(),
                    detail: format!(
                        "{head}（管辖：{jurisdiction}）：{found}。按属地管理，较大及以上级别须涉及本地，本可定为{}级（{}）的依据不计：{}",
                        g.as_str(),
                        g.label_zh(),
                        raised.join("；")
                    ),
                },
            );
            computed = Some(Grade::IV);
        }
    }
    if let (Some(like), Some(g)) = (inputs.like_false_alarm, computed) {
        let threshold = policy.false_alarm_similarity;
        if threshold > 0.0 && like.similarity >= threshold && g > Grade::IV {
            let lower = g.lower();
            reasons.insert(
                0,
                GradeReason {
                    grade: lower,
                    rule: "like_false_alarm".into(),
                    detail: format!(
                        "与已标记误报的事件 #{}“{}”相似（相似度 {:.2}，阈值 {:.2}；误报理由：{}），由{}级（{}）降为{}级（{}）",
                        like.story,
                        like.title,
                        like.similarity,
                        threshold,
                        like.reason,
                        g.as_str(),
                        g.label_zh(),
                        lower.as_str(),
                        lower.label_zh()
                    ),
                },
            );
            computed = Some(lower);
        }
    }
    let grade = computed.max(inputs.manual.map(|(g, _)| g));
    (grade, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heat(posts: u64) -> HeatSummary {
        HeatSummary {
            posts,
            sites: 1,
            max_tier: SourceTier::Community,
            interactions: 0,
            negative_share: 0.0,
            last_hour_posts: 0,
            prev_mean_posts: 0.0,
            growth: None,
            prev_hour_posts: 0,
            before_mean_posts: 0.0,
            negative_share_recent: None,
            negative_share_before: None,
        }
    }

    fn hits() -> Vec<(String, u64)> {
        vec![("医疗纠纷".to_string(), 3)]
    }

    fn grade_of(h: &HeatSummary, severe: &[String], key: Option<&str>) -> (Option<Grade>, Vec<GradeReason>) {
        let rule_hits = hits();
        let inputs = GradeInputs {
            heat: Some(h),
            rule_hits: &rule_hits,
            severe_words: severe,
            key_period: key,
            ..Default::default()
        };
        grade_story(&inputs, &GradePolicy::default())
    }

    fn rules_fired(r: &[GradeReason]) -> Vec<(Grade, &str)> {
        r.iter().map(|r| (r.grade, r.rule.as_str())).collect()
    }

    #[test]
    fn story_without_watch_rule_is_not_graded() {
        let h = heat(10_000);
        let (g, r) = grade_story(&GradeInputs { heat: Some(&h), ..Default::default() }, &GradePolicy::default());
        assert_eq!(g, None);
        assert!(r.is_empty());
    }

    #[test]
    fn story_without_watch_rule_can_be_raised_by_hand() {
        let inputs = GradeInputs { manual: Some((Grade::III, "领导批示关注")), ..Default::default() };
        let (g, r) = grade_story(&inputs, &GradePolicy::default());
        assert_eq!(g, Some(Grade::III));
        assert!(r[0].detail.contains("领导批示关注"));
    }

    #[test]
    fn watch_rule_match_gives_iv_with_rule_name() {
        let (g, r) = grade_of(&heat(3), &[], None);
        assert_eq!(g, Some(Grade::IV));
        assert_eq!(rules_fired(&r), vec![(Grade::IV, "watch_rule")]);
        assert!(r[0].detail.contains("医疗纠纷") && r[0].detail.contains("3 条"));
    }

    #[test]
    fn hundred_posts_give_iii_and_ninety_nine_do_not() {
        assert_eq!(grade_of(&heat(99), &[], None).0, Some(Grade::IV));
        let (g, r) = grade_of(&heat(100), &[], None);
        assert_eq!(g, Some(Grade::III));
        assert!(r[0].detail.contains("帖文 100 条") && r[0].detail.contains("100 条"));
    }

    #[test]
    fn three_sites_with_rising_negative_share_give_iii() {
        let mut h = heat(20);
        h.sites = 3;
        h.negative_share_recent = Some(0.6);
        h.negative_share_before = Some(0.3);
        let (g, r) = grade_of(&h, &[], None);
        assert_eq!(g, Some(Grade::III));
        assert!(r[0].detail.contains("3 个站点") && r[0].detail.contains("60%") && r[0].detail.contains("30%"));
        h.negative_share_recent = Some(0.3);
        assert_eq!(grade_of(&h, &[], None).0, Some(Grade::IV), "flat share is not rising");
        h.sites = 2;
        h.negative_share_recent = Some(0.9);
        assert_eq!(grade_of(&h, &[], None).0, Some(Grade::IV), "two sites are not enough");
    }

    #[test]
    fn young_story_with_mostly_negative_posts_counts_as_rising() {
        let mut h = heat(8);
        h.sites = 4;
        h.negative_share_recent = Some(0.75);
        let (g, r) = grade_of(&h, &[], None);
        assert_eq!(g, Some(Grade::III));
        assert_eq!(r[0].rule, "sites_negative_rising");
    }

    #[test]
    fn mainstream_source_gives_ii() {
        let mut h = heat(2);
        h.max_tier = SourceTier::Provincial;
        let rule_hits = hits();
        let sources = vec!["某省日报".to_string()];
        let inputs =
            GradeInputs { heat: Some(&h), rule_hits: &rule_hits, mainstream_sources: &sources, ..Default::default() };
        let (g, r) = grade_story(&inputs, &GradePolicy::default());
        assert_eq!(g, Some(Grade::II));
        assert_eq!(r[0].rule, "mainstream_media");
        assert!(r[0].detail.contains("某省日报"));
        h.max_tier = SourceTier::Local;
        assert_eq!(grade_of(&h, &[], None).0, Some(Grade::IV));
    }

    #[test]
    fn five_hundred_posts_give_ii() {
        let (g, r) = grade_of(&heat(500), &[], None);
        assert_eq!(g, Some(Grade::II));
        assert_eq!(rules_fired(&r)[0], (Grade::II, "post_count"));
    }

    #[test]
    fn fivefold_growth_gives_ii_only_when_it_lasts_two_hours_with_enough_posts() {
        let mut h = heat(80);
        h.before_mean_posts = 5.0;
        h.prev_hour_posts = 30;
        h.last_hour_posts = 26;
        let (g, r) = grade_of(&h, &[], None);
        assert_eq!(g, Some(Grade::II));
        assert_eq!(r[0].rule, "growth");
        for part in ["连续两小时", "上一小时 30 条", "本小时 26 条", "5.0 条的 5.2 倍"] {
            assert!(r[0].detail.contains(part), "{part} in {}", r[0].detail);
        }
        // A burst that fades the next hour (a daily figure reposted at once) is no growth.
        h.last_hour_posts = 4;
        assert_eq!(grade_of(&h, &[], None).0, Some(Grade::IV), "one hour only");
        h.prev_hour_posts = 2;
        h.last_hour_posts = 60;
        assert_eq!(grade_of(&h, &[], None).0, Some(Grade::IV), "one hour only, the other way round");
        h.before_mean_posts = 1.0;
        h.prev_hour_posts = 10;
        h.last_hour_posts = 10;
        assert_eq!(grade_of(&h, &[], None).0, Some(Grade::IV), "10 posts an hour is below the surge minimum");
        h.before_mean_posts = 10.0;
        h.prev_hour_posts = 45;
        h.last_hour_posts = 45;
        assert_eq!(grade_of(&h, &[], None).0, Some(Grade::IV), "4.5x is below 5x");
        h.before_mean_posts = 0.0;
        assert_eq!(grade_of(&h, &[], None).0, Some(Grade::IV), "nothing before: a new story, no growth to measure");
    }

    fn spike(story_posts: u64) -> Spike {
        Spike {
            key: crate::spike::SpikeKey { kind: crate::spike::KeyKind::Rule, name: "食品安全".into() },
            hour: 0,
            posts: 86,
            median: 12.0,
            days: 14,
            days_with_data: 14,
            floor: None,
            level: 36,
            ratio: 86.0 / 12.0,
            hours: 2,
            run_posts: 166,
            story_posts,
        }
    }

    fn grade_with_spikes(spikes: &[Spike], key: Option<&str>) -> (Option<Grade>, Vec<GradeReason>) {
        let h = heat(120);
        let rule_hits = hits();
        let inputs =
            GradeInputs { heat: Some(&h), rule_hits: &rule_hits, spikes, key_period: key, ..Default::default() };
        grade_story(&inputs, &GradePolicy::default())
    }

    #[test]
    fn a_spike_of_the_story_s_rule_gives_ii_with_the_numbers() {
        let (g, r) = grade_with_spikes(&[spike(100)], None);
        assert_eq!(g, Some(Grade::II));
        assert_eq!(r[0].rule, "spike");
        assert_eq!(
            r[0].detail,
            "监测规则“食品安全”突增：本小时 86 条，近 14 天同时段中位数 12 条，7.2 倍，持续 2 小时（每小时阈值 36 条）；本事件占其中 100 条（60%）"
        );
        // A key period says the threshold was lowered.
        let (_, r) = grade_with_spikes(&[spike(100)], Some("全国两会"));
        assert!(r[0].detail.contains("重点时期“全国两会”阈值已降低"), "{}", r[0].detail);
    }

    #[test]
    fn a_spike_carried_by_other_stories_or_too_short_does_not_raise_this_one() {
        assert_eq!(grade_with_spikes(&[spike(30)], None).0, Some(Grade::III), "30 of 166 is under a quarter");
        assert_eq!(grade_with_spikes(&[spike(0)], None).0, Some(Grade::III));
        let short = Spike { hours: 1, ..spike(100) };
        assert_eq!(grade_with_spikes(&[short], None).0, Some(Grade::III), "one hour is not a spike");
        assert_eq!(grade_with_spikes(&[spike(42)], None).0, Some(Grade::II), "42 of 166 is a quarter");
    }

    #[test]
    fn a_quiet_topic_s_spike_says_the_floor_and_the_days_with_data() {
        let quiet = Spike {
            key: crate::spike::SpikeKey { kind: crate::spike::KeyKind::Topic, name: "食品药品".into() },
            median: 0.5,
            floor: Some(2.0),
            posts: 30,
            ratio: 15.0,
            days_with_data: 9,
            level: 20,
            run_posts: 58,
            ..spike(50)
        };
        let (g, r) = grade_with_spikes(&[quiet], None);
        assert_eq!(g, Some(Grade::II));
        for part in [
            "领域“食品药品”突增",
            "本小时 30 条",
            "近 14 天同时段（其中 9 天有数据）中位数 0.5 条（不足 2 条按 2 条计）",
            "15.0 倍",
            "86%",
        ] {
            assert!(r[0].detail.contains(part), "{part} in {}", r[0].detail);
        }
    }

    #[test]
    fn casualty_words_raise_a_serious_story_to_i() {
        let severe = vec!["死亡".to_string()];
        let (g, r) = grade_of(&heat(600), &severe, None);
        assert_eq!(g, Some(Grade::I));
        assert_eq!(r[0].rule, "severe_words");
        assert!(r[0].detail.contains("死亡"));
    }

    #[test]
    fn casualty_words_in_one_post_of_many_do_not_raise_a_story() {
        let h = heat(600);
        let rule_hits = hits();
        let severe = vec!["死亡".to_string()];
        let inputs = |n: u64| GradeInputs {
            heat: Some(&h),
            rule_hits: &rule_hits,
            severe_words: &severe,
            severe_word_posts: Some(n),
            ..Default::default()
        };
        let (g, r) = grade_story(&inputs(1), &GradePolicy::default());
        assert_eq!(g, Some(Grade::II), "{r:?}");
        assert_eq!(grade_story(&inputs(59), &GradePolicy::default()).0, Some(Grade::II), "under a tenth of 600");
        let (g, r) = grade_story(&inputs(60), &GradePolicy::default());
        assert_eq!(g, Some(Grade::I));
        assert!(r[0].detail.contains("60 条帖文（占 10%）"), "{}", r[0].detail);
    }

    #[test]
    fn casualty_words_alone_do_not_raise_a_minor_story() {
        let severe = vec!["冲突".to_string()];
        assert_eq!(grade_of(&heat(150), &severe, None).0, Some(Grade::III));
    }

    #[test]
    fn five_thousand_posts_give_i() {
        let (g, r) = grade_of(&heat(5000), &[], None);
        assert_eq!(g, Some(Grade::I));
        assert_eq!(rules_fired(&r)[0], (Grade::I, "post_count"));
    }

    #[test]
    fn key_period_halves_count_thresholds_and_says_so() {
        let (g, r) = grade_of(&heat(50), &[], Some("高考"));
        assert_eq!(g, Some(Grade::III));
        assert!(r[0].detail.contains("高考") && r[0].detail.contains("50%"));
    }

    #[test]
    fn reasons_are_listed_highest_grade_first() {
        let mut h = heat(700);
        h.max_tier = SourceTier::Central;
        let (_, r) = grade_of(&h, &[], None);
        let grades: Vec<Grade> = r.iter().map(|r| r.grade).collect();
        let mut sorted = grades.clone();
        sorted.sort_by(|a, b| b.cmp(a));
        assert_eq!(grades, sorted);
        assert_eq!(r.len(), 4, "IV rule, III count, II tier, II count: {r:?}");
    }

    fn local_policy() -> GradePolicy {
        GradePolicy { jurisdiction: vec!["武汉市".into()], ..GradePolicy::default() }
    }

    #[test]
    fn a_story_elsewhere_stays_iv_and_says_where_it_is() {
        let h = heat(600);
        let rule_hits = hits();
        let severe = vec!["死亡".to_string()];
        let elsewhere = Locality {
            posts: 40,
            placed_posts: 40,
            local_posts: 3,
            local_places: vec![("湖北省武汉市".into(), 3)],
            other_places: vec![("河南省".into(), 35), ("韩国".into(), 4)],
        };
        let inputs = GradeInputs {
            heat: Some(&h),
            rule_hits: &rule_hits,
            severe_words: &severe,
            locality: Some(&elsewhere),
            ..Default::default()
        };
        let (g, r) = grade_story(&inputs, &local_policy());
        assert_eq!(g, Some(Grade::IV));
        assert_eq!(r[0].rule, "not_local");
        for part in ["管辖：武汉市", "河南省 35 条", "韩国 4 条", "仅 3 条", "本可定为I级", "死亡", "帖文 600 条"]
        {
            assert!(r[0].detail.contains(part), "{part} in {}", r[0].detail);
        }
        assert!(r.iter().all(|x| x.grade == Grade::IV), "{r:?}");
        // The same story where it is local keeps its grade, and says why it is local.
        let local = Locality {
            local_posts: 30,
            local_places: vec![("湖北省武汉市江夏区".into(), 12), ("湖北省武汉市".into(), 25)],
            ..elsewhere.clone()
        };
        let inputs = GradeInputs { locality: Some(&local), ..inputs };
        let (g, r) = grade_story(&inputs, &local_policy());
        assert_eq!(g, Some(Grade::I));
        assert_eq!(r[0].rule, "local");
        assert!(r[0].detail.contains("湖北省武汉市江夏区 12 条") && r[0].detail.contains("75%"), "{}", r[0].detail);
        // No jurisdiction configured, or the requirement off: no check.
        let inputs = GradeInputs { locality: Some(&elsewhere), ..inputs };
        assert_eq!(grade_story(&inputs, &GradePolicy::default()).0, Some(Grade::I));
        assert_eq!(grade_story(&inputs, &GradePolicy { require_local: false, ..local_policy() }).0, Some(Grade::I));
        // A story that names no place at all is not local either.
        let nowhere = Locality::default();
        let inputs = GradeInputs { locality: Some(&nowhere), ..inputs };
        let (g, r) = grade_story(&inputs, &local_policy());
        assert_eq!(g, Some(Grade::IV));
        assert!(r[0].detail.contains("未提及本地地名"), "{}", r[0].detail);
        // A hand grade is still a floor.
        let inputs = GradeInputs { manual: Some((Grade::II, "领导批示")), ..inputs };
        assert_eq!(grade_story(&inputs, &local_policy()).0, Some(Grade::II));
    }

    #[test]
    fn a_national_story_that_names_the_jurisdiction_in_passing_is_not_local() {
        // 全国累计确诊…: 3 of its 28 posts name 武汉, and those are most of the posts that name a place.
        let h = heat(600);
        let rule_hits = hits();
        let passing = Locality {
            posts: 28,
            placed_posts: 4,
            local_posts: 3,
            local_places: vec![("武汉市".into(), 3)],
            other_places: vec![("湖北省".into(), 1)],
        };
        assert!(passing.share_of_placed() >= 0.5 && !passing.is_local(0.5, 0.4));
        let inputs =
            GradeInputs { heat: Some(&h), rule_hits: &rule_hits, locality: Some(&passing), ..Default::default() };
        let (g, r) = grade_story(&inputs, &local_policy());
        assert_eq!(g, Some(Grade::IV));
        assert_eq!(r[0].rule, "not_local");
        for part in [
            "本地仅被顺带提及",
            "管辖：武汉市",
            "仅 3 条",
            "除 572 条噪声外的 28 条帖文的 11%",
            "不足 40%",
            "另涉及湖北省 1 条",
            "本可定为II级",
            "帖文 600 条",
        ] {
            assert!(r[0].detail.contains(part), "{part} in {}", r[0].detail);
        }
        // With 12 of its 28 posts naming 武汉 it is local, and the reason gives both shares.
        let named = Locality {
            local_posts: 12,
            local_places: vec![("武汉市".into(), 12)],
            placed_posts: 13,
            ..passing.clone()
        };
        let (g, r) = grade_story(&GradeInputs { locality: Some(&named), ..inputs.clone() }, &local_policy());
        assert_eq!(g, Some(Grade::II));
        assert_eq!(r[0].rule, "local");
        assert!(
            r[0].detail.contains("除 572 条噪声外的 28 条帖文中 12 条涉及武汉市，占 43%")
                && r[0].detail.contains("提及地点的 13 条中占 92%"),
            "{}",
            r[0].detail
        );
        // Without noise the share is of all the story's posts, named so.
        let h28 = HeatSummary { posts: 28, ..inputs.heat.cloned().expect("heat") };
        let (_, r) = grade_story(
            &GradeInputs { locality: Some(&named), heat: Some(&h28), ..inputs.clone() },
            &GradePolicy { major_posts: 20, ..local_policy() },
        );
        assert!(r[0].detail.contains("（全部 28 条帖文中 12 条涉及武汉市"), "{}", r[0].detail);
        // The post share can be turned off.
        let off = GradePolicy { local_min_post_share: 0.0, ..local_policy() };
        assert_eq!(grade_story(&inputs, &off).0, Some(Grade::II));
        // A locality counted without posts (older callers) reads its placed posts as all its posts.
        let unknown = Locality { posts: 0, ..named };
        assert!((unknown.share_of_posts() - 12.0 / 13.0).abs() < 1e-9);
    }

    #[test]
    fn manual_grade_is_a_floor_not_a_ceiling() {
        let h = heat(600);
        let rule_hits = hits();
        let inputs = GradeInputs {
            heat: Some(&h),
            rule_hits: &rule_hits,
            manual: Some((Grade::III, "复核")),
            ..Default::default()
        };
        assert_eq!(grade_story(&inputs, &GradePolicy::default()).0, Some(Grade::II));
    }

    #[test]
    fn a_story_like_a_false_alarm_is_one_level_lower_and_says_which() {
        let h = heat(600);
        let rule_hits = hits();
        let like = LikeFalseAlarm {
            story: 12,
            title: "某地通报新增病例".into(),
            similarity: 0.74,
            reason: "每日通报，非舆情".into(),
        };
        let inputs =
            GradeInputs { heat: Some(&h), rule_hits: &rule_hits, like_false_alarm: Some(&like), ..Default::default() };
        let (g, r) = grade_story(&inputs, &GradePolicy::default());
        assert_eq!(g, Some(Grade::III), "II by 600 posts, lowered one level");
        assert_eq!(r[0].rule, "like_false_alarm");
        for part in ["#12", "某地通报新增病例", "0.74", "0.60", "每日通报", "由II级（重大）降为III级（较大）"]
        {
            assert!(r[0].detail.contains(part), "{part} in {}", r[0].detail);
        }
        assert!(
            r.iter().any(|x| x.rule == "post_count" && x.grade == Grade::II),
            "what would have raised it is still listed"
        );
        // Below the threshold, or learning off: no change.
        let far = LikeFalseAlarm { similarity: 0.59, ..like.clone() };
        assert_eq!(
            grade_story(&GradeInputs { like_false_alarm: Some(&far), ..inputs.clone() }, &GradePolicy::default()).0,
            Some(Grade::II)
        );
        let off = GradePolicy { false_alarm_similarity: 0.0, ..GradePolicy::default() };
        assert_eq!(grade_story(&inputs, &off).0, Some(Grade::II));
        // Never hidden: a story at 一般 stays graded 一般.
        let small = heat(3);
        let (g, r) = grade_story(&GradeInputs { heat: Some(&small), ..inputs.clone() }, &GradePolicy::default());
        assert_eq!(g, Some(Grade::IV));
        assert!(r.iter().all(|x| x.rule != "like_false_alarm"));
        // A hand grade is still a floor.
        let manual = GradeInputs { manual: Some((Grade::II, "领导批示")), ..inputs };
        assert_eq!(grade_story(&manual, &GradePolicy::default()).0, Some(Grade::II));
    }
}
