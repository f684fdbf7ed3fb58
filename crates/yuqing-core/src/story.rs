//! Story assembly (舆情事件聚合): each new post joins the best-matching open story — a near-duplicate
//! of one of its posts, or similar enough within the time window — or starts a new story.
//!
//! Invariant: pure and incremental; the state can be rebuilt from stored stories (`StorySeed`), so a
//! restart assigns the next post exactly as an uninterrupted run would.

use std::collections::{BTreeSet, HashMap};

use crate::hamming;
use crate::hashing::Mix;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How posts are grouped into stories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AssemblyConfig {
    /// A post joins a story only if it is within this many hours of the story's last post.
    pub window_hours: i64,
    /// A story with no post for this many hours is closed.
    pub close_after_hours: i64,
    /// Near-duplicate: SimHash distance at most this many bits (at most [`MAX_NEAR_DUPLICATE_BITS`]).
    pub near_duplicate_bits: u32,
    /// Cosine similarity to the story's centroid needed to join it.
    pub min_similarity: f32,
    /// Terms kept in a story's centroid.
    pub centroid_terms: usize,
    /// A post looks for candidate stories through this many of its heaviest terms.
    pub candidate_terms: usize,
    /// Stories listed per term (the most recently active ones stay).
    pub candidates_per_term: usize,
}

impl Default for AssemblyConfig {
    fn default() -> Self {
        AssemblyConfig {
            window_hours: 72,
            close_after_hours: 72,
            near_duplicate_bits: 6,
            min_similarity: 0.3,
            centroid_terms: 64,
            candidate_terms: 8,
            candidates_per_term: 48,
        }
    }
}

/// What the assembler needs to know of a post (computed by the text analysis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostFeatures {
    pub at: DateTime<Utc>,
    pub simhash: u64,
    /// Term hash → weight, L2-normalized, heaviest first.
    pub terms: Vec<(u64, f32)>,
}

/// Why a post joined its story.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum JoinReason {
    /// A near-duplicate (repost, copy) of this post.
    NearDuplicate { post: i64, distance: u32 },
    /// Similar to the story's centroid with this cosine.
    Similar { score: f32 },
    /// Started a new story.
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub story: i64,
    pub reason: JoinReason,
}

impl Assignment {
    pub fn is_new(&self) -> bool {
        matches!(self.reason, JoinReason::New)
    }
}

/// A stored open story, to rebuild the assembler after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorySeed {
    pub id: i64,
    pub last_at: DateTime<Utc>,
    pub centroid: Vec<(u64, f32)>,
    /// The terms the story is found through, oldest first (see [`Assembler::index_terms`]).
    pub index_terms: Vec<u64>,
    /// (post id, simhash) of the story's posts, for near-duplicate joins.
    pub posts: Vec<(i64, u64)>,
}

#[derive(Debug, Clone)]
struct OpenStory {
    last_at: DateTime<Utc>,
    /// Sum of member vectors, pruned to the heaviest `centroid_terms`, sorted by term: sums over it
    /// come out the same on every run, and a post's terms (also sorted) meet it in one merge.
    centroid: Vec<(u64, f32)>,
    norm: f32,
    /// Terms under which `postings` lists this story, oldest first.
    index_terms: Vec<u64>,
}

/// At most this many candidate stories are scored in full for one post.
const SCORED_CANDIDATES: usize = 24;

/// At most this many terms index one story; the oldest give way.
const MAX_INDEX_TERMS: usize = 48;

/// The incremental story assembler.
///
/// Candidate stories are found through `postings` (term → stories). Its content is a function of the
/// stories' `index_terms`, and candidates are scored whatever their order in a list, so a restored
/// assembler finds exactly the candidates an uninterrupted one would.
#[derive(Debug, Clone)]
pub struct Assembler {
    config: AssemblyConfig,
    next_id: i64,
    /// The latest post time seen: the assembler's clock (replays of history keep their own time).
    clock: Option<DateTime<Utc>>,
    open: HashMap<i64, OpenStory, Mix>,
    /// SimHash band (7 bands of 9–10 bits; distance ≤ 6 shares a band) → its posts.
    bands: HashMap<u64, Bucket, Mix>,
    /// Term → stories indexed under it (at most `candidates_per_term`; the least recently active give way).
    postings: HashMap<u64, Vec<i64>, Mix>,
    /// Stories whose index changed since the last `take_changed` (to be stored again).
    changed: BTreeSet<i64>,
}

/// The posts filed under one band key, as parallel columns: the lookup scans only the SimHashes
/// (8 bytes a post), and filing scans only the stories.
#[derive(Debug, Clone, Default)]
struct Bucket {
    simhashes: Vec<u64>,
    posts: Vec<i64>,
    stories: Vec<i64>,
}

impl Bucket {
    fn push(&mut self, post: i64, simhash: u64, story: i64) {
        self.simhashes.push(simhash);
        self.posts.push(post);
        self.stories.push(story);
    }

    fn swap_remove(&mut self, i: usize) {
        self.simhashes.swap_remove(i);
        self.posts.swap_remove(i);
        self.stories.swap_remove(i);
    }

    fn is_empty(&self) -> bool {
        self.simhashes.is_empty()
    }

    /// Keeps the posts of the stories `keep` accepts, in order.
    fn retain_stories(&mut self, mut keep: impl FnMut(i64) -> bool) {
        let mut w = 0;
        for r in 0..self.stories.len() {
            if keep(self.stories[r]) {
                self.simhashes[w] = self.simhashes[r];
                self.posts[w] = self.posts[r];
                self.stories[w] = self.stories[r];
                w += 1;
            }
        }
        self.simhashes.truncate(w);
        self.posts.truncate(w);
        self.stories.truncate(w);
    }
}

/// The largest near-duplicate distance the banding is guaranteed to find: 7 disjoint bands, so when
/// at most 6 bits differ one band is untouched (pigeonhole).
pub const MAX_NEAR_DUPLICATE_BITS: u32 = 6;

/// The bands: six of 9 bits and one of 10, each key tagged with its band number.
fn band_keys(simhash: u64) -> [u64; 7] {
    let mut keys = [0u64; 7];
    for (i, key) in keys.iter_mut().enumerate() {
        let width = if i == 6 { 10 } else { 9 };
        *key = ((i as u64) << 16) | ((simhash >> (i * 9)) & ((1 << width) - 1));
    }
    keys
}

fn norm_of(centroid: &[(u64, f32)]) -> f32 {
    centroid.iter().map(|(_, w)| w * w).sum::<f32>().sqrt()
}

/// Dot product of two term vectors sorted by term. The merge advances without branching on the
/// comparison (which the processor cannot predict); products are summed in term order as before.
fn dot(a: &[(u64, f32)], b: &[(u64, f32)]) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
    while i < a.len() && j < b.len() {
        let ((ta, wa), (tb, wb)) = (a[i], b[j]);
        if ta == tb {
            sum += wa * wb;
        }
        i += (ta <= tb) as usize;
        j += (tb <= ta) as usize;
    }
    sum
}

/// `a + b` for term vectors sorted by term.
fn add(a: &[(u64, f32)], b: &[(u64, f32)]) -> Vec<(u64, f32)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j >= b.len() || (i < a.len() && a[i].0 < b[j].0);
        let take_b = i >= a.len() || (j < b.len() && b[j].0 < a[i].0);
        if take_a {
            out.push(a[i]);
            i += 1;
        } else if take_b {
            out.push(b[j]);
            j += 1;
        } else {
            out.push((a[i].0, a[i].1 + b[j].1));
            i += 1;
            j += 1;
        }
    }
    out
}

/// At most this many posts of one story stay in one SimHash band bucket (its newest): a story of
/// thousands of copies would otherwise make every lookup scan them all.
const BAND_POSTS_PER_STORY: usize = 8;

impl Assembler {
    /// `next_id` is the id the next new story gets (one past the largest stored id).
    pub fn new(config: AssemblyConfig, next_id: i64) -> Assembler {
        Assembler {
            config,
            next_id,
            clock: None,
            open: HashMap::default(),
            bands: HashMap::default(),
            postings: HashMap::default(),
            changed: BTreeSet::new(),
        }
    }

    pub fn config(&self) -> &AssemblyConfig {
        &self.config
    }

    /// The latest post time seen so far.
    pub fn clock(&self) -> Option<DateTime<Utc>> {
        self.clock
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    pub fn is_open(&self, story: i64) -> bool {
        self.open.contains_key(&story)
    }

    /// Takes a stored open story back in.
    pub fn restore(&mut self, seed: StorySeed) {
        self.next_id = self.next_id.max(seed.id + 1);
        self.clock = self.clock.max(Some(seed.last_at));
        let mut centroid = seed.centroid;
        centroid.sort_unstable_by_key(|e| e.0);
        let norm = norm_of(&centroid);
        for &term in &seed.index_terms {
            let list = self.postings.entry(term).or_default();
            if !list.contains(&seed.id) {
                list.push(seed.id);
            }
        }
        let mut posts = seed.posts;
        posts.sort_unstable();
        for (post, simhash) in posts {
            self.add_to_bands(post, simhash, seed.id);
        }
        self.open.insert(seed.id, OpenStory { last_at: seed.last_at, centroid, norm, index_terms: seed.index_terms });
    }

    /// The centroid of an open story, heaviest terms first (to store it).
    pub fn centroid(&self, story: i64) -> Option<Vec<(u64, f32)>> {
        self.open.get(&story).map(|s| heaviest(&s.centroid, usize::MAX))
    }

    /// The terms an open story is found through, oldest first (to store it).
    pub fn index_terms(&self, story: i64) -> Option<Vec<u64>> {
        self.open.get(&story).map(|s| s.index_terms.clone())
    }

    /// Stories whose stored state is out of date since the last call (their index changed because
    /// another story took their place under a term); the caller stores them again.
    pub fn take_changed(&mut self) -> BTreeSet<i64> {
        std::mem::take(&mut self.changed)
    }

    /// Assigns a post (already given its id) to a story and updates the state.
    pub fn assign(&mut self, post_id: i64, f: &PostFeatures) -> Assignment {
        self.clock = self.clock.max(Some(f.at));
        let window = Duration::hours(self.config.window_hours);
        let in_window = |s: &OpenStory| (f.at - s.last_at).abs() <= window;
        // The post's terms by term hash: scoring and the centroid update both merge against it.
        let mut sorted_terms = f.terms.clone();
        sorted_terms.sort_unstable_by_key(|e| e.0);

        // 1. Near-duplicate of a post in an open story within the window: the closest, then the latest.
        let mut best_dup: Option<(u32, i64, i64)> = None;
        if !f.terms.is_empty() {
            let mut close = Vec::new();
            for key in band_keys(f.simhash) {
                if let Some(bucket) = self.bands.get(&key) {
                    close.clear();
                    hamming::within(&bucket.simhashes, f.simhash, self.config.near_duplicate_bits, &mut close);
                    for &(i, d) in &close {
                        let (post, story) = (bucket.posts[i], bucket.stories[i]);
                        if self.open.get(&story).is_some_and(|s| in_window(s))
                            && best_dup.is_none_or(|(bd, bp, _)| d < bd || (d == bd && post > bp))
                        {
                            best_dup = Some((d, post, story));
                        }
                    }
                }
            }
        }
        let assignment = if let Some((distance, post, story)) = best_dup {
            Assignment { story, reason: JoinReason::NearDuplicate { post, distance } }
        } else {
            // 2. The most similar open story reached through the post's heaviest terms. Stories met
            //    through more of those terms come first; only the best few are scored in full.
            let mut ids: Vec<i64> = Vec::new();
            for &(term, _) in f.terms.iter().take(self.config.candidate_terms) {
                if let Some(list) = self.postings.get(&term) {
                    ids.extend_from_slice(list);
                }
            }
            ids.sort_unstable();
            let open = &self.open;
            // (terms in common, last activity, id) of each candidate in the window.
            let mut met: Vec<(usize, DateTime<Utc>, i64)> = Vec::new();
            for run in ids.chunk_by(|a, b| a == b) {
                if let Some(s) = open.get(&run[0]).filter(|s| in_window(s) && s.norm > 0.0) {
                    met.push((run.len(), s.last_at, run[0]));
                }
            }
            met.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            met.truncate(SCORED_CANDIDATES);
            let mut best: Option<(f32, i64)> = None;
            for &(_, _, story) in &met {
                let Some(s) = open.get(&story) else { continue };
                let score = dot(&sorted_terms, &s.centroid) / s.norm;
                if score >= self.config.min_similarity && best.is_none_or(|(b, id)| score > b || (score == b && story < id)) {
                    best = Some((score, story));
                }
            }
            match best {
                Some((score, story)) => Assignment { story, reason: JoinReason::Similar { score } },
                None => {
                    let story = self.next_id;
                    self.next_id += 1;
                    self.open.insert(
                        story,
                        OpenStory { last_at: f.at, centroid: Vec::new(), norm: 0.0, index_terms: Vec::new() },
                    );
                    Assignment { story, reason: JoinReason::New }
                }
            }
        };
        self.absorb(assignment.story, post_id, f, &sorted_terms);
        assignment
    }

    fn absorb(&mut self, story: i64, post_id: i64, f: &PostFeatures, sorted_terms: &[(u64, f32)]) {
        let Some(s) = self.open.get_mut(&story) else { return };
        s.last_at = s.last_at.max(f.at);
        s.centroid = add(&s.centroid, sorted_terms);
        if s.centroid.len() > self.config.centroid_terms * 2 {
            let keep = self.config.centroid_terms;
            if keep == 0 {
                s.centroid.clear();
            } else {
                s.centroid.select_nth_unstable_by(keep - 1, heavier);
                s.centroid.truncate(keep);
                s.centroid.sort_unstable_by_key(|e| e.0);
            }
        }
        s.norm = norm_of(&s.centroid);
        // Found through its centroid's heaviest terms, and the heaviest words of its newest post.
        let mut terms: Vec<u64> = heaviest(&s.centroid, self.config.candidate_terms).into_iter().map(|(t, _)| t).collect();
        terms.extend(f.terms.iter().take(2).map(|(t, _)| *t));
        for term in terms {
            self.index(story, term);
        }
        if !f.terms.is_empty() {
            self.add_to_bands(post_id, f.simhash, story);
        }
    }

    /// Files a post under its band keys, keeping each story's newest posts per bucket.
    fn add_to_bands(&mut self, post: i64, simhash: u64, story: i64) {
        for key in band_keys(simhash) {
            let bucket = self.bands.entry(key).or_default();
            bucket.push(post, simhash, story);
            let mut count = 0;
            let mut oldest: Option<(i64, usize)> = None;
            for (i, &s) in bucket.stories.iter().enumerate() {
                if s == story {
                    count += 1;
                    let p = bucket.posts[i];
                    if oldest.is_none_or(|(o, _)| p < o) {
                        oldest = Some((p, i));
                    }
                }
            }
            if count > BAND_POSTS_PER_STORY {
                if let Some((_, i)) = oldest {
                    bucket.swap_remove(i);
                }
            }
        }
    }

    /// Lists `story` under `term`, evicting the least recently active story when the list is full,
    /// and the story's oldest term when it has too many.
    fn index(&mut self, story: i64, term: u64) {
        let cap = self.config.candidates_per_term.max(1);
        let list = self.postings.entry(term).or_default();
        if list.contains(&story) {
            return;
        }
        list.push(story);
        let mut evicted = None;
        if list.len() > cap {
            let open = &self.open;
            let key = |id: &i64| (open.get(id).map(|s| s.last_at), *id);
            if let Some(pos) = (0..list.len()).min_by_key(|&i| key(&list[i])) {
                evicted = Some(list.swap_remove(pos));
            }
        }
        if evicted == Some(story) {
            return;
        }
        if let Some(id) = evicted {
            if let Some(s) = self.open.get_mut(&id) {
                s.index_terms.retain(|t| *t != term);
                self.changed.insert(id);
            }
        }
        if let Some(s) = self.open.get_mut(&story) {
            s.index_terms.push(term);
            if s.index_terms.len() > MAX_INDEX_TERMS {
                let old = s.index_terms.remove(0);
                if let Some(l) = self.postings.get_mut(&old) {
                    l.retain(|id| *id != story);
                }
            }
        }
    }

    /// Closes stories with no post for `close_after_hours` before `now`; returns their ids.
    pub fn close_inactive(&mut self, now: DateTime<Utc>) -> Vec<i64> {
        let limit = Duration::hours(self.config.close_after_hours);
        let mut closed: Vec<i64> = self.open.iter().filter(|(_, s)| now - s.last_at > limit).map(|(id, _)| *id).collect();
        closed.sort_unstable();
        if closed.is_empty() {
            return closed;
        }
        for id in &closed {
            if let Some(s) = self.open.remove(id) {
                for term in s.index_terms {
                    if let Some(list) = self.postings.get_mut(&term) {
                        list.retain(|x| x != id);
                        if list.is_empty() {
                            self.postings.remove(&term);
                        }
                    }
                }
            }
            self.changed.remove(id);
        }
        let open = &self.open;
        self.bands.retain(|_, bucket| {
            bucket.retain_stories(|story| open.contains_key(&story));
            !bucket.is_empty()
        });
        closed
    }
}

/// Heavier first; ties broken by term: a total order over a centroid's distinct terms, so any
/// selection or sort by it gives the same result.
fn heavier(a: &(u64, f32), b: &(u64, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0))
}

/// The `n` heaviest entries, heaviest first; ties broken by term so the order is deterministic.
/// Selects the `n` before sorting them: stories keep up to 128 terms and ask for 8.
fn heaviest(terms: &[(u64, f32)], n: usize) -> Vec<(u64, f32)> {
    let mut v: Vec<(u64, f32)> = terms.to_vec();
    if n == 0 {
        v.clear();
    } else if n < v.len() {
        v.select_nth_unstable_by(n - 1, heavier);
        v.truncate(n);
    }
    v.sort_unstable_by(heavier);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + h * 3600, 0).unwrap()
    }

    fn features(h: i64, simhash: u64, terms: &[(u64, f32)]) -> PostFeatures {
        let norm = terms.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
        PostFeatures { at: at(h), simhash, terms: terms.iter().map(|(t, w)| (*t, w / norm)).collect() }
    }

    #[test]
    fn near_duplicate_joins_the_story_of_its_original() {
        let mut a = Assembler::new(AssemblyConfig::default(), 1);
        let first = a.assign(1, &features(0, 0xF0F0_0000_1234_5678, &[(1, 1.0), (2, 1.0)]));
        assert!(first.is_new());
        let copy = a.assign(2, &features(1, 0xF0F0_0000_1234_5679, &[(9, 1.0)]));
        assert_eq!(copy.story, first.story);
        assert_eq!(copy.reason, JoinReason::NearDuplicate { post: 1, distance: 1 });
    }

    #[test]
    fn similar_post_joins_and_unrelated_post_starts_a_story() {
        let mut a = Assembler::new(AssemblyConfig::default(), 1);
        let s1 = a.assign(1, &features(0, 1, &[(10, 3.0), (11, 2.0), (12, 1.0)]));
        let s2 = a.assign(2, &features(2, u64::MAX, &[(10, 3.0), (11, 2.0), (13, 1.0)]));
        assert_eq!(s2.story, s1.story);
        assert!(matches!(s2.reason, JoinReason::Similar { score } if score > 0.8));
        let s3 = a.assign(3, &features(3, 0x5555_5555_5555_5555, &[(20, 1.0), (21, 1.0)]));
        assert!(s3.is_new());
        assert_ne!(s3.story, s1.story);
    }

    #[test]
    fn similar_post_outside_the_window_starts_a_new_story() {
        let mut a = Assembler::new(AssemblyConfig::default(), 1);
        let s1 = a.assign(1, &features(0, 1, &[(10, 3.0), (11, 2.0)]));
        let s2 = a.assign(2, &features(100, 2, &[(10, 3.0), (11, 2.0)]));
        assert_ne!(s1.story, s2.story);
    }

    #[test]
    fn inactive_story_closes_and_takes_no_more_posts() {
        let mut a = Assembler::new(AssemblyConfig::default(), 7);
        let s1 = a.assign(1, &features(0, 1, &[(10, 1.0)]));
        assert_eq!(s1.story, 7);
        assert_eq!(a.close_inactive(at(100)), vec![7]);
        assert!(!a.is_open(7));
        let s2 = a.assign(2, &features(101, 1, &[(10, 1.0)]));
        assert_eq!(s2.story, 8);
    }

    #[test]
    fn restored_assembler_assigns_like_an_uninterrupted_one() {
        let posts: Vec<PostFeatures> = (0..40)
            .map(|i| {
                let t = (i % 5) as u64;
                features(i, (t << 40) ^ (i as u64 * 7919), &[(t * 10, 2.0), (t * 10 + 1, 1.0), (100 + i as u64, 0.5)])
            })
            .collect();
        let mut whole = Assembler::new(AssemblyConfig::default(), 1);
        let expected: Vec<i64> = posts.iter().enumerate().map(|(i, f)| whole.assign(i as i64, f).story).collect();

        let mut first = Assembler::new(AssemblyConfig::default(), 1);
        let mut got: Vec<i64> = posts[..20].iter().enumerate().map(|(i, f)| first.assign(i as i64, f).story).collect();
        let mut seeds: Vec<StorySeed> = Vec::new();
        for id in got.iter().copied().collect::<std::collections::BTreeSet<_>>() {
            let members: Vec<(i64, u64)> =
                got.iter().enumerate().filter(|(_, s)| **s == id).map(|(i, _)| (i as i64, posts[i].simhash)).collect();
            let last_at = members.iter().map(|(i, _)| posts[*i as usize].at).max().unwrap();
            seeds.push(StorySeed {
                id,
                last_at,
                centroid: first.centroid(id).unwrap(),
                index_terms: first.index_terms(id).unwrap(),
                posts: members,
            });
        }
        let mut second = Assembler::new(AssemblyConfig::default(), 1);
        for seed in seeds {
            second.restore(seed);
        }
        got.extend(posts[20..].iter().enumerate().map(|(i, f)| second.assign(20 + i as i64, f).story));
        assert_eq!(got, expected);
    }
}
