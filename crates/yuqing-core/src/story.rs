//! Story assembly (舆情事件聚合): each new post joins the best-matching open story — a near-duplicate
//! of one of its posts, or similar enough within the time window — or starts a new story.
//!
//! A story is meant to be one matter, not a theme. Three things keep it so:
//! - a post's terms are weighed by the stream's own recent document frequencies ([`DocFreq`]): a
//!   word that a large share of this week's posts carry (肺炎 in February 2020) counts for little;
//! - a story is compared through its *core*, the sum of its first `core_posts` posts, which never
//!   drifts toward the theme as later posts join;
//! - a post joins by similarity only within `max_span_hours` of the story's first post (a matter
//!   does not run for weeks; a new development becomes a new story), unless it carries one of the
//!   story's hashtags.
//!
//! Hashtags (Weibo `#…#`) are terms of their own, marked by [`TAG_BIT`]: the platform's own name
//! for the matter and strong evidence both ways — a post with hashtags never joins by similarity a
//! story whose core carries other hashtags and none of its own. They are not damped unless a tag is
//! on more than a tenth of recent posts (then it is a theme, not a matter).
//!
//! Invariant: pure and incremental; the state can be rebuilt from stored stories (`StorySeed`) and
//! the stored posts of the document-frequency window ([`Assembler::observe_recent`]), so a restart
//! assigns the next post exactly as an uninterrupted run would.

use std::collections::{BTreeSet, HashMap};

use crate::docfreq::{factor_of_share, DocFreq};
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
    /// Cosine similarity to the story's core (its first posts) needed to join it.
    pub min_similarity: f32,
    /// Terms kept in a story's centroid.
    pub centroid_terms: usize,
    /// A post looks for candidate stories through this many of its heaviest terms.
    pub candidate_terms: usize,
    /// Stories listed per term (the most recently active ones stay).
    pub candidates_per_term: usize,
    /// A story's core, which posts are compared with, is the sum of its first this many posts.
    pub core_posts: usize,
    /// A post joins a story by similarity only within this many hours of the story's first post
    /// (a post carrying one of the story's hashtags, or a near-duplicate, joins later too).
    pub max_span_hours: i64,
    /// Recent document frequencies are counted over this many days.
    pub df_days: i64,
    /// Below this many posts in those days no word is damped.
    pub df_min_posts: u32,
    /// A post with fewer words than this says too little to tell its matter ("转发微博", an emoji):
    /// it joins a story only through one of its hashtags, else stands alone.
    pub min_post_words: usize,
    /// A post that quotes figures (counts of three or more digits, not years) joins a story whose
    /// core quotes figures only when they share one: 76936 confirmed cases and 77150 are two
    /// days' reports, not one matter, however alike the words.
    pub number_agreement: bool,
    /// Words carried by more than this share of recent posts (武汉, 加油, 疫情 in February 2020) do
    /// not count toward `min_post_words`: "武汉加油！中国加油！" says nothing of which matter.
    pub common_word_share: f32,
    /// A story gathers posts by their words only once one of its posts is anchored (names a
    /// figure, a place, a headline, a watch-rule or topic word: [`PostFeatures::anchored`]); until
    /// then only a shared hashtag places a post in it. Once anchored, its core takes anchored posts
    /// only: comments ("快点好起来吧") join a matter but do not define it. Copied sayings and
    /// decoration blurbs pasted under trending hashtags name nothing, and no longer make stories
    /// of hundreds of copies.
    pub anchor_required: bool,
    /// A passage pasted under a hashtag is a copy ([`JoinReason::Copied`]) when the same words
    /// were posted under other hashtags in the last this many days (whole days, as `df_days`):
    /// the same stock of sayings comes back under new trending hashtags for weeks. 0: no post is
    /// judged a copy.
    pub copy_days: i64,
}

impl Default for AssemblyConfig {
    fn default() -> Self {
        AssemblyConfig {
            window_hours: 72,
            close_after_hours: 72,
            near_duplicate_bits: 6,
            min_similarity: 0.5,
            centroid_terms: 64,
            candidate_terms: 8,
            candidates_per_term: 48,
            core_posts: 20,
            max_span_hours: 120,
            df_days: 3,
            df_min_posts: 300,
            min_post_words: 3,
            number_agreement: false,
            common_word_share: 0.03,
            anchor_required: true,
            copy_days: 14,
        }
    }
}

/// What the assembler needs to know of a post (computed by the text analysis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostFeatures {
    pub at: DateTime<Utc>,
    pub simhash: u64,
    /// Term hash → weight, L2-normalized, heaviest first. Hashtags have [`TAG_BIT`] set, words not.
    pub terms: Vec<(u64, f32)>,
    /// Whether the post names something a matter can be told by (锚点: a figure or date, a place, a
    /// 【】 headline, a hashtag, a watch-rule or topic word). See [`AssemblyConfig::anchor_required`].
    #[serde(default = "anchored_by_default")]
    pub anchored: bool,
    /// The key of the post's own words when it may be a passage pasted under hashtags
    /// (`yuqing_text::copies::copy_key`): the same key seen earlier under other hashtags makes it
    /// a copy ([`JoinReason::Copied`]).
    #[serde(default)]
    pub copy_key: Option<u64>,
}

fn anchored_by_default() -> bool {
    true
}

/// Set in the term of a hashtag, clear in the term of a word.
pub const TAG_BIT: u64 = 1 << 63;

/// Whether a term is a hashtag.
#[inline]
pub fn is_tag(term: u64) -> bool {
    term & TAG_BIT != 0
}

/// Set in the term of a figure (a count of three or more digits that is not a year), clear in the
/// term of any other word; hashtags have [`TAG_BIT`] instead. Figures sort just below hashtags.
pub const NUM_BIT: u64 = 1 << 62;

/// Whether a term is a figure.
#[inline]
pub fn is_number(term: u64) -> bool {
    term & (TAG_BIT | NUM_BIT) == NUM_BIT
}

/// The figures of a vector sorted by term (a contiguous run: they sort below hashtags only).
fn numbers_of(sorted: &[(u64, f32)]) -> &[(u64, f32)] {
    let lo = sorted.partition_point(|e| e.0 < NUM_BIT);
    let hi = sorted.partition_point(|e| e.0 < TAG_BIT);
    &sorted[lo..hi]
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
    /// A passage pasted under hashtags (搬运文案): the same words as post `of`, which carried none
    /// of this post's hashtags. It joins the story of such copies (or starts one, `started`), never
    /// the story of its hashtag: the words have nothing to do with it.
    Copied { of: i64, key: u64, started: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub story: i64,
    pub reason: JoinReason,
}

impl Assignment {
    pub fn is_new(&self) -> bool {
        matches!(self.reason, JoinReason::New | JoinReason::Copied { started: true, .. })
    }
}

/// A stored open story, to rebuild the assembler after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StorySeed {
    pub id: i64,
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub centroid: Vec<(u64, f32)>,
    /// The terms the story is found through, oldest first (see [`Assembler::index_terms`]).
    pub index_terms: Vec<u64>,
    /// (post id, simhash) of the story's posts, for near-duplicate joins (all of them: their
    /// number tells whether the core is complete).
    pub posts: Vec<(i64, u64)>,
    /// Whether one of the story's posts is anchored, and how many of its posts are in its core:
    /// [`Assembler::core_state`] of its posts' anchors in joining order.
    #[serde(default = "anchored_by_default")]
    pub anchored: bool,
    #[serde(default)]
    pub core_size: usize,
    /// For a story of copies pasted under hashtags, the key of their words (see
    /// [`JoinReason::Copied`]); such a story takes those copies only.
    #[serde(default)]
    pub copy_key: Option<u64>,
}

#[derive(Debug, Clone)]
struct OpenStory {
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    /// Posts in the core (it stops growing at `core_posts`).
    core_size: usize,
    /// Sum of the core posts' (damped) vectors, pruned to the heaviest `centroid_terms`, sorted by term: sums over it
    /// come out the same on every run, and a post's terms (also sorted) meet it in one merge.
    centroid: Vec<(u64, f32)>,
    norm: f32,
    /// Whether the core carries a hashtag (its last entry is one: tags sort last), and its
    /// hashtags when there are at most [`INLINE_TAGS`] (`core_tag_count` is `u8::MAX` when there
    /// are more). Kept beside the core so the candidate filter, which meets hundreds of stories a
    /// post, does not reach into each core (a cache miss apiece).
    core_has_tags: bool,
    core_tags: [u64; INLINE_TAGS],
    core_tag_count: u8,
    /// Terms under which `postings` lists this story, oldest first.
    index_terms: Vec<u64>,
    /// Whether a core post is anchored: only then do posts join it by their words.
    anchored: bool,
    /// The core's heaviest `candidate_terms` terms, as of its last change (None until first
    /// needed): every post that joins re-lists the story under them.
    heaviest: Option<Vec<u64>>,
    /// For a story of copies pasted under hashtags, the key of their words: it has no core, no
    /// index terms and no near-duplicates on file, so no other post finds it.
    copy_key: Option<u64>,
}

/// Hashtags of a core kept inline in its story.
const INLINE_TAGS: usize = 4;

impl OpenStory {
    fn new(
        first_at: DateTime<Utc>,
        last_at: DateTime<Utc>,
        core_size: usize,
        centroid: Vec<(u64, f32)>,
        index_terms: Vec<u64>,
        anchored: bool,
    ) -> OpenStory {
        let mut s = OpenStory {
            anchored,
            first_at,
            last_at,
            core_size,
            centroid,
            norm: 0.0,
            core_has_tags: false,
            core_tags: [0; INLINE_TAGS],
            core_tag_count: 0,
            index_terms,
            heaviest: None,
            copy_key: None,
        };
        s.core_changed();
        s
    }

    /// A story of copies pasted under hashtags: no core, no index terms.
    fn of_copies(first_at: DateTime<Utc>, last_at: DateTime<Utc>, key: u64) -> OpenStory {
        OpenStory { copy_key: Some(key), ..OpenStory::new(first_at, last_at, 0, Vec::new(), Vec::new(), false) }
    }

    fn core_changed(&mut self) {
        self.norm = norm_of(&self.centroid);
        self.core_has_tags = self.centroid.last().is_some_and(|e| is_tag(e.0));
        let tags = self.centroid.len() - self.centroid.partition_point(|e| !is_tag(e.0));
        if tags <= INLINE_TAGS {
            for (slot, e) in self.core_tags.iter_mut().zip(&self.centroid[self.centroid.len() - tags..]) {
                *slot = e.0;
            }
            self.core_tag_count = tags as u8;
        } else {
            self.core_tag_count = u8::MAX;
        }
    }

    /// Whether the core carries one of these hashtags.
    fn has_any_tag(&self, tags: &[u64]) -> bool {
        if self.core_tag_count as usize <= INLINE_TAGS {
            self.core_tags[..self.core_tag_count as usize].iter().any(|t| tags.contains(t))
        } else {
            tags.iter().any(|t| self.centroid.binary_search_by_key(t, |e| e.0).is_ok())
        }
    }
}

/// `at + delta`, saturating at the ends of the time line (where every stored time is inside).
fn bound(at: DateTime<Utc>, delta: Duration) -> DateTime<Utc> {
    at.checked_add_signed(delta).unwrap_or(if delta < Duration::zero() {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
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
    /// Recent document frequencies of the stream.
    df: DocFreq,
    /// Posts that may be copies pasted under hashtags, by the key of their words.
    copies: CopyWatch,
    /// The open story of the copies of each key.
    copy_stories: HashMap<u64, i64, Mix>,
}

/// A post seen with a copy key: when, which, and its hashtags (sorted).
#[derive(Debug, Clone)]
struct SeenCopy {
    at: DateTime<Utc>,
    post: i64,
    tags: Vec<u64>,
}

/// The posts of the copy window that may be copies, by key. Which of them count is decided by the
/// window's start at the time of asking, so an assembler rebuilt from the stored posts of the
/// window ([`Assembler::recall_copy`]) answers as an uninterrupted one.
#[derive(Debug, Clone, Default)]
struct CopyWatch {
    seen: HashMap<u64, Vec<SeenCopy>, Mix>,
    /// The window start when entries before it were last dropped.
    pruned_to: Option<DateTime<Utc>>,
}

impl CopyWatch {
    /// The first post (lowest id) of the window with this key and none of these hashtags.
    fn earlier(&self, key: u64, tags: &[u64], since: DateTime<Utc>) -> Option<i64> {
        self.seen
            .get(&key)?
            .iter()
            .filter(|s| s.at >= since && !s.tags.iter().any(|t| tags.binary_search(t).is_ok()))
            .map(|s| s.post)
            .min()
    }

    fn record(&mut self, key: u64, post: i64, at: DateTime<Utc>, tags: Vec<u64>) {
        self.seen.entry(key).or_default().push(SeenCopy { at, post, tags });
    }

    /// Drops what the window no longer holds (once its start has moved).
    fn prune(&mut self, since: DateTime<Utc>) {
        if self.pruned_to.is_some_and(|p| since <= p) {
            return;
        }
        self.pruned_to = Some(since);
        self.seen.retain(|_, v| {
            v.retain(|s| s.at >= since);
            !v.is_empty()
        });
    }
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

/// Dot product of two term vectors sorted by term (the cosine when both are L2-normalized). The merge advances without branching on the
/// comparison (which the processor cannot predict); products are summed in term order as before.
pub fn dot(a: &[(u64, f32)], b: &[(u64, f32)]) -> f32 {
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
        let df = DocFreq::new(config.df_days, config.df_min_posts);
        Assembler {
            df,
            config,
            next_id,
            clock: None,
            open: HashMap::default(),
            bands: HashMap::default(),
            postings: HashMap::default(),
            changed: BTreeSet::new(),
            copies: CopyWatch::default(),
            copy_stories: HashMap::default(),
        }
    }

    pub fn config(&self) -> &AssemblyConfig {
        &self.config
    }

    /// The latest post time seen so far.
    pub fn clock(&self) -> Option<DateTime<Utc>> {
        self.clock
    }

    /// The id the next new story gets.
    pub fn next_id(&self) -> i64 {
        self.next_id
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
        for &term in &seed.index_terms {
            let list = self.postings.entry(term).or_default();
            if !list.contains(&seed.id) {
                list.push(seed.id);
            }
        }
        if let Some(key) = seed.copy_key {
            self.open.insert(seed.id, OpenStory::of_copies(seed.first_at, seed.last_at, key));
            // Restored in id order, the first story of a key keeps it (a later one can only have
            // been split off it by hand).
            self.copy_stories.entry(key).or_insert(seed.id);
            return;
        }
        let mut posts = seed.posts;
        posts.sort_unstable();
        for (post, simhash) in posts {
            self.add_to_bands(post, simhash, seed.id);
        }
        self.open.insert(
            seed.id,
            OpenStory::new(seed.first_at, seed.last_at, seed.core_size, centroid, seed.index_terms, seed.anchored),
        );
    }

    /// Remembers a stored post with a copy key again after a restart (its key and hashtag terms as
    /// the analysis gives them, `yuqing_text::analyze::copy_evidence`). Call it for every stored
    /// post with a copy key from [`Assembler::copy_window_start`] of the latest stored post's
    /// time, in any order, before the next `assign`.
    pub fn recall_copy(&mut self, post_id: i64, at: DateTime<Utc>, key: u64, mut tags: Vec<u64>) {
        self.clock = self.clock.max(Some(at));
        tags.sort_unstable();
        self.copies.record(key, post_id, at, tags);
    }

    /// The earliest post time the copy window holds when `latest` is the latest post.
    pub fn copy_window_start(&self, latest: DateTime<Utc>) -> DateTime<Utc> {
        day_window_start(latest, self.config.copy_days)
    }

    /// Counts a stored post of the document-frequency window again after a restart (its terms as
    /// analyzed, undamped). Call it for every stored post from [`Assembler::df_window_start`] of
    /// the latest stored post's time, in any order, before the next `assign`.
    pub fn observe_recent(&mut self, at: DateTime<Utc>, terms: &[(u64, f32)]) {
        self.clock = self.clock.max(Some(at));
        self.df.observe(at, terms.iter().map(|(t, _)| *t));
    }

    /// The earliest post time the document-frequency window holds when `latest` is the latest post.
    pub fn df_window_start(&self, latest: DateTime<Utc>) -> DateTime<Utc> {
        day_window_start(latest, self.config.df_days)
    }

    /// The post's terms weighed by how common they are in the stream now, L2-normalized, heaviest
    /// first (ties by term).
    fn damped(&self, f: &PostFeatures) -> Vec<(u64, f32)> {
        let shares: Vec<f32> = f.terms.iter().map(|&(t, _)| self.df.share(t)).collect();
        self.damped_by(f, &shares)
    }

    /// [`Assembler::damped`] with each term's recent share given (in the order of `f.terms`).
    fn damped_by(&self, f: &PostFeatures, shares: &[f32]) -> Vec<(u64, f32)> {
        let mut out: Vec<(u64, f32)> = f
            .terms
            .iter()
            .zip(shares)
            .map(|(&(t, w), &share)| {
                let factor = if is_tag(t) && share <= 0.1 { 1.0 } else { factor_of_share(share) };
                (t, w * factor)
            })
            .collect();
        let norm = norm_of(&out);
        if norm > 0.0 {
            for e in &mut out {
                e.1 /= norm;
            }
        }
        out.sort_unstable_by(heavier);
        out
    }

    /// The centroid of an open story, heaviest terms first (to store it).
    pub fn centroid(&self, story: i64) -> Option<Vec<(u64, f32)>> {
        self.open.get(&story).map(|s| heaviest(&s.centroid, usize::MAX))
    }

    /// Whether an open story holds an anchored post.
    pub fn is_anchored(&self, story: i64) -> Option<bool> {
        self.open.get(&story).map(|s| s.anchored)
    }

    /// How many posts an open story's core holds.
    pub fn core_size(&self, story: i64) -> Option<usize> {
        self.open.get(&story).map(|s| s.core_size)
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
        if let Some(key) = f.copy_key.filter(|_| self.config.copy_days > 0) {
            let since = self.copy_window_start(self.clock.unwrap_or(f.at));
            self.copies.prune(since);
            let tags = post_tags_sorted(f);
            let earlier = if tags.is_empty() { None } else { self.copies.earlier(key, &tags, since) };
            self.copies.record(key, post_id, f.at, tags);
            if let Some(of) = earlier {
                self.df.observe(f.at, f.terms.iter().map(|(t, _)| *t));
                return self.gather_copy(key, of, f);
            }
        }
        let window = Duration::hours(self.config.window_hours);
        let span = Duration::hours(self.config.max_span_hours);
        // |f.at - last_at| <= window, as two comparisons (this runs for every candidate story).
        let (window_from, window_to) = (bound(f.at, -window), bound(f.at, window));
        let in_window = |s: &OpenStory| window_from <= s.last_at && s.last_at <= window_to;
        // Weighed by the stream before this post, then counted in it.
        let shares: Vec<f32> = f.terms.iter().map(|&(t, _)| self.df.share(t)).collect();
        let damped = self.damped_by(f, &shares);
        // Words that say which matter: those not on more than `common_word_share` of recent posts.
        let common = self.config.common_word_share;
        let words = f
            .terms
            .iter()
            .zip(&shares)
            .filter(|((t, _), share)| !is_tag(*t) && (common >= 1.0 || **share <= common))
            .count();
        self.df.observe(f.at, f.terms.iter().map(|(t, _)| *t));
        // The post's terms by term hash: scoring and the centroid update both merge against it.
        let mut sorted_terms = damped.clone();
        sorted_terms.sort_unstable_by_key(|e| e.0);
        let post_tags: Vec<u64> = f.terms.iter().map(|e| e.0).filter(|t| is_tag(*t)).collect();
        let shares_tag = |s: &OpenStory| s.core_has_tags && s.has_any_tag(&post_tags);
        // The core is sorted by term and tags sort last: its last entry tells whether it has any.
        let other_tags = |s: &OpenStory| !post_tags.is_empty() && s.core_has_tags && !shares_tag(s);
        // Figures quoted by the post, against those of the story's core: both quote some, none shared.
        let post_numbers: Vec<u64> = if self.config.number_agreement {
            numbers_of(&sorted_terms).iter().map(|e| e.0).collect()
        } else {
            Vec::new()
        };
        let other_numbers = |s: &OpenStory| {
            let core = numbers_of(&s.centroid);
            !post_numbers.is_empty()
                && !core.is_empty()
                && !post_numbers.iter().any(|t| core.binary_search_by_key(t, |e| e.0).is_ok())
        };
        // A story whose core names nothing takes posts only through a shared hashtag.
        let anchor_required = self.config.anchor_required;
        let founded = |s: &OpenStory| !anchor_required || s.anchored || shares_tag(s);
        // f.at - first_at <= span.
        let span_from = bound(f.at, -span);
        let in_span = |s: &OpenStory| {
            (span_from <= s.first_at || shares_tag(s)) && !other_tags(s) && !other_numbers(s) && founded(s)
        };
        // Too few words to tell the matter: only a shared hashtag can place the post.
        let says_enough = words >= self.config.min_post_words;
        let may_join = |s: &OpenStory| in_span(s) && (says_enough || shares_tag(s));

        // 1. Near-duplicate of a post in an open story within the window: the closest, then the latest.
        let mut best_dup: Option<(u32, i64, i64)> = None;
        if says_enough {
            let mut close = Vec::new();
            for key in band_keys(f.simhash) {
                if let Some(bucket) = self.bands.get(&key) {
                    close.clear();
                    hamming::within(&bucket.simhashes, f.simhash, self.config.near_duplicate_bits, &mut close);
                    for &(i, d) in &close {
                        let (post, story) = (bucket.posts[i], bucket.stories[i]);
                        if self.open.get(&story).is_some_and(|s| in_window(s) && !other_numbers(s) && founded(s))
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
            for &(term, _) in damped.iter().take(self.config.candidate_terms) {
                if let Some(list) = self.postings.get(&term) {
                    ids.extend_from_slice(list);
                }
            }
            ids.sort_unstable();
            let open = &self.open;
            // (terms in common, last activity, id) of each candidate in the window.
            let mut met: Vec<(usize, DateTime<Utc>, i64)> = Vec::new();
            for run in ids.chunk_by(|a, b| a == b) {
                if let Some(s) = open.get(&run[0]).filter(|s| in_window(s) && may_join(s) && s.norm > 0.0) {
                    met.push((run.len(), s.last_at, run[0]));
                }
            }
            met.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
            met.truncate(SCORED_CANDIDATES);
            let mut best: Option<(f32, i64)> = None;
            for &(_, _, story) in &met {
                let Some(s) = open.get(&story) else { continue };
                let score = dot(&sorted_terms, &s.centroid) / s.norm;
                if score >= self.config.min_similarity
                    && best.is_none_or(|(b, id)| score > b || (score == b && story < id))
                {
                    best = Some((score, story));
                }
            }
            match best {
                Some((score, story)) => Assignment { story, reason: JoinReason::Similar { score } },
                None => {
                    let story = self.next_id;
                    self.next_id += 1;
                    self.open.insert(story, OpenStory::new(f.at, f.at, 0, Vec::new(), Vec::new(), false));
                    Assignment { story, reason: JoinReason::New }
                }
            }
        };
        self.absorb(assignment.story, post_id, f, &damped, &sorted_terms);
        assignment
    }

    /// Files a copy pasted under hashtags with the other copies of its words (a story of its own,
    /// found by its key only).
    fn gather_copy(&mut self, key: u64, of: i64, f: &PostFeatures) -> Assignment {
        if let Some(&story) = self.copy_stories.get(&key) {
            if let Some(s) = self.open.get_mut(&story) {
                s.last_at = s.last_at.max(f.at);
                s.first_at = s.first_at.min(f.at);
                return Assignment { story, reason: JoinReason::Copied { of, key, started: false } };
            }
        }
        let story = self.next_id;
        self.next_id += 1;
        self.open.insert(story, OpenStory::of_copies(f.at, f.at, key));
        self.copy_stories.insert(key, story);
        Assignment { story, reason: JoinReason::Copied { of, key, started: true } }
    }

    fn absorb(
        &mut self,
        story: i64,
        post_id: i64,
        f: &PostFeatures,
        damped: &[(u64, f32)],
        sorted_terms: &[(u64, f32)],
    ) {
        let Some(s) = self.open.get_mut(&story) else { return };
        s.last_at = s.last_at.max(f.at);
        s.first_at = s.first_at.min(f.at);
        // The core grows with the first posts only: later posts are compared with what the story
        // was about, and cannot pull it toward the theme.
        let in_core = enters_core(&self.config, s.core_size, s.anchored, f.anchored);
        s.anchored |= f.anchored;
        if in_core {
            s.core_size += 1;
            s.centroid = add(&s.centroid, sorted_terms);
            prune(&mut s.centroid, self.config.centroid_terms);
            s.core_changed();
            s.heaviest = None;
        }
        // Found through its core's heaviest terms, and the heaviest words of its newest core post.
        // (Most posts join outside the core, which then did not change: its terms are kept.)
        let candidate_terms = self.config.candidate_terms;
        let mut terms: Vec<u64> = s
            .heaviest
            .get_or_insert_with(|| heaviest(&s.centroid, candidate_terms).into_iter().map(|(t, _)| t).collect())
            .clone();
        if in_core {
            terms.extend(damped.iter().take(2).map(|(t, _)| *t));
        }
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
            // Counted first (a plain comparison loop over the whole bucket, which is long), the
            // oldest looked for only when there is one too many.
            if bucket.stories.iter().filter(|&&s| s == story).count() <= BAND_POSTS_PER_STORY {
                continue;
            }
            let oldest =
                (0..bucket.stories.len()).filter(|&i| bucket.stories[i] == story).min_by_key(|&i| bucket.posts[i]);
            if let Some(i) = oldest {
                bucket.swap_remove(i);
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

    /// The core a story made of these posts (in the order they would have joined, at most the first
    /// `core_posts` count) would have: their terms weighed by the stream as it is now, summed and
    /// pruned as `assign` does. Heaviest first, as [`Assembler::centroid`] gives it. For a story
    /// made or remade by hand (posts moved out of a story into a new one); the caller stores it,
    /// so a restart restores it as it is rather than computing it again.
    pub fn core_of(&self, posts: &[PostFeatures]) -> Vec<(u64, f32)> {
        let mut centroid: Vec<(u64, f32)> = Vec::new();
        let (mut size, mut anchored) = (0, false);
        for f in posts {
            let in_core = enters_core(&self.config, size, anchored, f.anchored);
            anchored |= f.anchored;
            if !in_core {
                continue;
            }
            size += 1;
            let mut terms = self.damped(f);
            terms.sort_unstable_by_key(|e| e.0);
            centroid = add(&centroid, &terms);
            prune(&mut centroid, self.config.centroid_terms);
        }
        heaviest(&centroid, usize::MAX)
    }

    /// Whether a post with this anchor joining a story in this state enters its core.
    pub fn enters_core(&self, core_size: usize, story_anchored: bool, post_anchored: bool) -> bool {
        enters_core(&self.config, core_size, story_anchored, post_anchored)
    }

    /// (posts in the core, anchored) of a story whose posts, in joining order, have these anchors:
    /// what [`StorySeed`] needs besides the stored core.
    pub fn core_state(&self, anchors: impl IntoIterator<Item = bool>) -> (usize, bool) {
        let (mut size, mut anchored) = (0, false);
        for a in anchors {
            size += enters_core(&self.config, size, anchored, a) as usize;
            anchored |= a;
        }
        (size, anchored)
    }

    /// The terms a stored core is found through (its heaviest `candidate_terms`), for a core made
    /// by [`Assembler::core_of`] or [`combined_core`].
    pub fn index_terms_of(&self, centroid: &[(u64, f32)]) -> Vec<u64> {
        heaviest(centroid, self.config.candidate_terms).into_iter().map(|(t, _)| t).collect()
    }

    /// Closes stories with no post for `close_after_hours` before `now`; returns their ids.
    pub fn close_inactive(&mut self, now: DateTime<Utc>) -> Vec<i64> {
        let limit = Duration::hours(self.config.close_after_hours);
        let mut closed: Vec<i64> =
            self.open.iter().filter(|(_, s)| now - s.last_at > limit).map(|(id, _)| *id).collect();
        closed.sort_unstable();
        if closed.is_empty() {
            return closed;
        }
        for id in &closed {
            if let Some(s) = self.open.remove(id) {
                if let Some(key) = s.copy_key {
                    if self.copy_stories.get(&key) == Some(id) {
                        self.copy_stories.remove(&key);
                    }
                }
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

/// The start of the UTC day `days - 1` days before `latest`'s (at least `latest`'s own day).
fn day_window_start(latest: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    let day = latest.timestamp().div_euclid(86_400).saturating_sub(days.max(1)) + 1;
    DateTime::from_timestamp(day.saturating_mul(86_400), 0).unwrap_or(latest)
}

/// The hashtags among a post's terms, sorted.
fn post_tags_sorted(f: &PostFeatures) -> Vec<u64> {
    let mut tags: Vec<u64> = f.terms.iter().map(|e| e.0).filter(|t| is_tag(*t)).collect();
    tags.sort_unstable();
    tags
}

/// Whether a post joining a story enters its core: the core holds the first `core_posts` posts,
/// and once the story is anchored only anchored ones (see [`AssemblyConfig::anchor_required`]).
fn enters_core(config: &AssemblyConfig, core_size: usize, story_anchored: bool, post_anchored: bool) -> bool {
    core_size < config.core_posts.max(1) && (!config.anchor_required || post_anchored || !story_anchored)
}

/// Keeps the `keep` heaviest terms of a centroid sorted by term once it holds more than twice as
/// many (pruning lazily keeps the cost of a join low); stays sorted by term.
fn prune(centroid: &mut Vec<(u64, f32)>, keep: usize) {
    if centroid.len() > keep * 2 {
        if keep == 0 {
            centroid.clear();
        } else {
            centroid.select_nth_unstable_by(keep - 1, heavier);
            centroid.truncate(keep);
            centroid.sort_unstable_by_key(|e| e.0);
        }
    }
}

/// The core of two stories merged by hand: both cores (each as stored, in any order) brought to
/// the same length — their mean, so a small story counts as much as a big one and later posts
/// weigh into a still-growing core as before — summed, pruned to `keep` terms, heaviest first. A
/// post like either story's first posts then still finds the merged story: the officer said they
/// are one matter.
pub fn combined_core(a: &[(u64, f32)], b: &[(u64, f32)], keep: usize) -> Vec<(u64, f32)> {
    let (na, nb) = (norm_of(a), norm_of(b));
    let mean = match (na > 0.0, nb > 0.0) {
        (true, true) => (na + nb) / 2.0,
        _ => na.max(nb),
    };
    let scaled = |v: &[(u64, f32)], n: f32| {
        let mut v: Vec<(u64, f32)> =
            if n > 0.0 { v.iter().map(|&(t, w)| (t, w / n * mean)).collect() } else { Vec::new() };
        v.sort_unstable_by_key(|e| e.0);
        v
    };
    let sum = add(&scaled(a, na), &scaled(b, nb));
    heaviest(&sum, keep.max(1))
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
        PostFeatures {
            at: at(h),
            simhash,
            terms: terms.iter().map(|(t, w)| (*t, w / norm)).collect(),
            anchored: true,
            copy_key: None,
        }
    }

    /// The defaults, except that posts of one or two words may join (the tests' posts are short).
    fn test_config() -> AssemblyConfig {
        AssemblyConfig { min_post_words: 1, min_similarity: 0.3, ..AssemblyConfig::default() }
    }

    fn small_window() -> AssemblyConfig {
        AssemblyConfig { df_min_posts: 20, ..test_config() }
    }

    /// Once the stream knows its common words, a post made only of them ("武汉加油！中国加油！")
    /// stands alone, unless a hashtag places it.
    #[test]
    fn a_post_of_only_common_words_stands_alone() {
        let mut a = Assembler::new(small_window(), 1);
        // 40 posts about 40 things, each also carrying the common words 1, 2 and 3.
        for i in 0..40u64 {
            a.assign(
                i as i64,
                &features(0, i.wrapping_mul(0x9E37_79B9_7F4A_7C15), &[(1, 1.0), (2, 1.0), (3, 1.0), (1000 + i, 2.0)]),
            );
        }
        let cheer = |a: &mut Assembler, id: i64, simhash: u64| {
            a.assign(id, &features(1, simhash, &[(1, 1.0), (2, 1.0), (3, 1.0)]))
        };
        let first = cheer(&mut a, 100, 1 << 20);
        assert!(first.is_new());
        let second = cheer(&mut a, 101, 1 << 40);
        assert!(second.is_new(), "two posts of common words only are not one matter");
        let off = AssemblyConfig { common_word_share: 1.0, ..small_window() };
        let mut b = Assembler::new(off, 1);
        for i in 0..40u64 {
            b.assign(
                i as i64,
                &features(0, i.wrapping_mul(0x9E37_79B9_7F4A_7C15), &[(1, 1.0), (2, 1.0), (3, 1.0), (1000 + i, 2.0)]),
            );
        }
        let s = cheer(&mut b, 100, 1 << 20).story;
        assert_eq!(cheer(&mut b, 101, 1 << 40).story, s, "with every word counted they join");
    }

    /// With `number_agreement` (off by default: on the dev days it cost recall and bought no
    /// precision), two days' reports of a count are two matters; a repost quoting the story's
    /// figure joins it.
    #[test]
    fn posts_quoting_other_figures_than_the_core_do_not_join_it() {
        let n = |x: u64| NUM_BIT | x;
        let mut a = Assembler::new(AssemblyConfig { number_agreement: true, ..test_config() }, 1);
        let s = a.assign(1, &features(0, 1, &[(10, 2.0), (11, 2.0), (n(76936), 1.0)])).story;
        // Same words, another figure, even as a near-duplicate (same SimHash): a new story.
        assert_ne!(a.assign(2, &features(1, 1, &[(10, 2.0), (11, 2.0), (n(77150), 1.0)])).story, s);
        // The story's figure and another one: joins.
        assert_eq!(
            a.assign(3, &features(1, 1 << 30, &[(10, 2.0), (11, 2.0), (n(76936), 1.0), (n(500), 1.0)])).story,
            s
        );
        // No figure at all: joins on the words.
        assert_eq!(a.assign(4, &features(1, 1 << 50, &[(10, 2.0), (11, 2.0)])).story, s);
        let mut off = Assembler::new(AssemblyConfig { number_agreement: false, ..test_config() }, 1);
        let s = off.assign(1, &features(0, 1, &[(10, 2.0), (11, 2.0), (n(76936), 1.0)])).story;
        assert_eq!(
            off.assign(2, &features(1, 1, &[(10, 2.0), (11, 2.0), (n(77150), 1.0)])).story,
            s,
            "off: words decide"
        );
    }

    /// Two stories an officer merged: a later post like either one's first posts finds the merged
    /// core, whatever the two stories' sizes.
    #[test]
    fn a_combined_core_is_found_by_posts_like_either_story() {
        let big: Vec<(u64, f32)> = vec![(10, 12.0), (11, 9.0), (12, 3.0)];
        let small: Vec<(u64, f32)> = vec![(20, 1.0), (21, 1.0)];
        let merged = combined_core(&big, &small, 64);
        let mut sorted = merged.clone();
        sorted.sort_unstable_by_key(|e| e.0);
        let norm = norm_of(&sorted);
        let like_small = [(20u64, std::f32::consts::FRAC_1_SQRT_2), (21, std::f32::consts::FRAC_1_SQRT_2)];
        let like_big = [(10u64, 0.8f32), (11, 0.6)];
        assert!(dot(&like_small, &sorted) / norm > 0.5, "{merged:?}");
        assert!(dot(&like_big, &sorted) / norm > 0.5, "{merged:?}");
        assert!(merged.windows(2).all(|w| w[0].1 >= w[1].1), "heaviest first");
        assert_eq!(combined_core(&big, &[], 64).len(), 3);
        assert_eq!(combined_core(&big, &small, 2).len(), 2, "pruned to keep");
    }

    /// A core made from chosen posts is the core `assign` builds from the same posts in a quiet
    /// stream (no word is damped before the window holds enough posts).
    #[test]
    fn a_core_of_chosen_posts_is_the_core_assign_builds() {
        let config = AssemblyConfig { core_posts: 3, ..test_config() };
        let mut a = Assembler::new(config.clone(), 1);
        let posts: Vec<PostFeatures> = (0..5)
            .map(|i| features(0, (i as u64 + 1) * 0x1357_9BDF, &[(10, 2.0), (11, 1.0), (30 + i as u64, 0.5)]))
            .collect();
        let fresh = Assembler::new(config, 1);
        let core = fresh.core_of(&posts);
        let s = a.assign(1, &posts[0]).story;
        for (i, p) in posts.iter().enumerate().skip(1) {
            assert_eq!(a.assign(i as i64 + 1, p).story, s);
        }
        assert_eq!(a.centroid(s).unwrap(), core);
        assert_eq!(fresh.index_terms_of(&core)[..2], [10, 11]);
    }

    #[test]
    fn a_post_of_too_few_words_stands_alone_unless_a_hashtag_places_it() {
        let mut a = Assembler::new(AssemblyConfig::default(), 1);
        let s = a.assign(1, &features(0, 1, &[(TAG_BIT | 5, 2.0), (10, 1.0), (11, 1.0), (12, 1.0)])).story;
        // "转发微博": two words, the same as many others — not enough to join, not even as a copy.
        let short = a.assign(2, &features(0, 1, &[(10, 1.0), (11, 1.0)]));
        assert!(short.is_new());
        // Two words and the story's hashtag: placed by the hashtag.
        assert_eq!(a.assign(3, &features(0, 1 << 40, &[(TAG_BIT | 5, 2.0), (10, 1.0)])).story, s);
    }

    /// Posts that share only a word the whole stream carries are not one matter.
    #[test]
    fn a_word_every_post_carries_does_not_join_posts() {
        let mut a = Assembler::new(small_window(), 1);
        // 60 posts about 60 different things, all carrying the theme word 1.
        let stories: Vec<i64> = (0..60u64)
            .map(|i| {
                a.assign(
                    i as i64,
                    &features(i as i64 / 10, i.wrapping_mul(0x9E37_79B9_7F4A_7C15), &[(1, 3.0), (1000 + i, 1.0)]),
                )
                .story
            })
            .collect();
        let distinct: BTreeSet<i64> = stories[30..].iter().copied().collect();
        assert_eq!(distinct.len(), 30, "once the theme is known, each post is its own story: {stories:?}");
    }

    /// The core is the first posts: later posts that wander off do not move it.
    #[test]
    fn the_core_does_not_drift_toward_later_posts() {
        let config = AssemblyConfig { core_posts: 3, ..test_config() };
        let mut a = Assembler::new(config, 1);
        let s = a.assign(1, &features(0, 1, &[(10, 2.0), (11, 2.0)])).story;
        for i in 2..4 {
            assert_eq!(a.assign(i, &features(0, i as u64 * 0x1111_1111, &[(10, 2.0), (11, 2.0)])).story, s);
        }
        let core = a.centroid(s).unwrap();
        // Posts that share half their weight with the core join, but leave it as it was.
        for i in 4..20 {
            let joined = a.assign(i, &features(1, i as u64 * 0x0F0F_0F0F_1234, &[(10, 2.0), (20 + i as u64, 2.0)]));
            assert_eq!(joined.story, s);
        }
        assert_eq!(a.centroid(s).unwrap(), core);
    }

    #[test]
    fn a_similar_post_long_after_the_story_began_starts_a_new_one_unless_it_carries_its_hashtag() {
        let mut a = Assembler::new(test_config(), 1);
        let tagged = |h: i64, sim: u64| features(h, sim, &[(TAG_BIT | 77, 3.0), (10, 2.0), (11, 1.0)]);
        let s = a.assign(1, &tagged(0, 1)).story;
        // Active every day, so the window never closes it.
        for d in 1..8 {
            assert_eq!(a.assign(d + 1, &tagged(d * 24, (d as u64) << 30)).story, s);
        }
        let plain = a.assign(20, &features(8 * 24, 0xABCD_0000_0000, &[(10, 2.0), (11, 1.0)]));
        assert!(plain.is_new(), "past max_span_hours without the hashtag: a new story");
    }

    fn post_untagged(h: i64) -> PostFeatures {
        features(h, 0x0F0F_0F0F_0000_0000, &[(10, 1.0), (11, 1.0), (30, 1.0)])
    }

    #[test]
    fn a_hashtag_is_strong_evidence_both_ways() {
        let mut a = Assembler::new(test_config(), 1);
        let post = |h: i64, sim: u64, tag: u64, words: &[(u64, f32)]| {
            let mut terms = words.to_vec();
            let norm = terms.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            terms.push((TAG_BIT | tag, norm));
            features(h, sim, &terms)
        };
        let s = a.assign(1, &post(0, 1, 500, &[(10, 1.0), (11, 1.0)])).story;
        // Other words, the same hashtag: the same matter.
        assert_eq!(a.assign(2, &post(1, 0xFFFF_0000, 500, &[(30, 1.0), (31, 1.0)])).story, s);
        // Without a hashtag, the words decide.
        assert_eq!(a.assign(3, &post_untagged(2)).story, s);
        // The same words under another hashtag: another matter, however alike.
        assert!(a
            .assign(4, &post(3, 0xFFFF_0000_0000_0000, 600, &[(10, 1.0), (11, 1.0), (30, 1.0), (31, 1.0)]))
            .is_new());
    }

    #[test]
    fn near_duplicate_joins_the_story_of_its_original() {
        let mut a = Assembler::new(test_config(), 1);
        let first = a.assign(1, &features(0, 0xF0F0_0000_1234_5678, &[(1, 1.0), (2, 1.0)]));
        assert!(first.is_new());
        let copy = a.assign(2, &features(1, 0xF0F0_0000_1234_5679, &[(9, 1.0)]));
        assert_eq!(copy.story, first.story);
        assert_eq!(copy.reason, JoinReason::NearDuplicate { post: 1, distance: 1 });
    }

    #[test]
    fn similar_post_joins_and_unrelated_post_starts_a_story() {
        let mut a = Assembler::new(test_config(), 1);
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
        let mut a = Assembler::new(test_config(), 1);
        let s1 = a.assign(1, &features(0, 1, &[(10, 3.0), (11, 2.0)]));
        let s2 = a.assign(2, &features(100, 2, &[(10, 3.0), (11, 2.0)]));
        assert_ne!(s1.story, s2.story);
    }

    fn unanchored(mut f: PostFeatures) -> PostFeatures {
        f.anchored = false;
        f
    }

    /// Copies of a saying pasted under trending hashtags name nothing: each stands alone, however
    /// alike, while copies of a post that names something make one story.
    #[test]
    fn posts_that_name_nothing_do_not_gather_into_a_story() {
        let mut a = Assembler::new(test_config(), 1);
        let saying = |i: i64| unanchored(features(i, 0xAAAA_5555_0000_0000, &[(10, 2.0), (11, 1.0), (12, 1.0)]));
        let ids: Vec<i64> = (0..5).map(|i| a.assign(i + 1, &saying(i)).story).collect();
        assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 5, "{ids:?}");

        let mut b = Assembler::new(AssemblyConfig { anchor_required: false, ..test_config() }, 1);
        let ids: Vec<i64> = (0..5).map(|i| b.assign(i + 1, &saying(i)).story).collect();
        assert!(ids.iter().all(|s| *s == ids[0]), "without the rule they gather: {ids:?}");
    }

    /// A comment that names nothing joins the matter it is about, but does not enter its core: the
    /// core stays the reports' words, so later wishes about other matters do not follow it in.
    #[test]
    fn a_comment_joins_an_anchored_story_but_stays_out_of_its_core() {
        let mut a = Assembler::new(test_config(), 1);
        let report = a.assign(1, &features(0, 1, &[(10, 2.0), (11, 1.0), (12, 1.0)]));
        let comment = a.assign(2, &unanchored(features(1, 2, &[(10, 2.0), (11, 1.0), (50, 1.0)])));
        assert_eq!(comment.story, report.story);
        assert_eq!(a.core_size(report.story), Some(1));
        let next = a.assign(3, &features(2, 3, &[(10, 2.0), (12, 1.0)]));
        assert_eq!(next.story, report.story);
        assert_eq!(a.core_size(report.story), Some(2));
    }

    /// A shared hashtag still places a post that names nothing, and a post that does names the
    /// story from then on.
    #[test]
    fn a_hashtag_places_a_post_in_a_story_that_names_nothing() {
        let mut a = Assembler::new(test_config(), 1);
        let tag = 77 | TAG_BIT;
        // SimHashes far apart: no post is a near-duplicate of another.
        let first = a.assign(1, &unanchored(features(0, 0x1234_5678_9ABC_DEF0, &[(tag, 1.0), (10, 1.0)])));
        let second = a.assign(2, &unanchored(features(1, 0x0FED_CBA9_8765_4321, &[(tag, 1.0), (11, 1.0)])));
        assert_eq!(second.story, first.story);
        assert_eq!(a.is_anchored(first.story), Some(false));
        let words_only = a.assign(3, &features(2, 0xF0F0_F0F0_0F0F_0F0F, &[(10, 1.0), (11, 1.0)]));
        assert!(words_only.is_new(), "no hashtag, and the story names nothing: a story of its own");
        let named = a.assign(4, &features(3, 0x5555_AAAA_3333_CCCC, &[(tag, 1.0), (12, 1.0)]));
        assert_eq!(named.story, first.story);
        assert_eq!(a.is_anchored(first.story), Some(true));
    }

    #[test]
    fn inactive_story_closes_and_takes_no_more_posts() {
        let mut a = Assembler::new(test_config(), 7);
        let s1 = a.assign(1, &features(0, 1, &[(10, 1.0)]));
        assert_eq!(s1.story, 7);
        assert_eq!(a.close_inactive(at(100)), vec![7]);
        assert!(!a.is_open(7));
        let s2 = a.assign(2, &features(101, 1, &[(10, 1.0)]));
        assert_eq!(s2.story, 8);
    }

    /// A passage pasted under a trending hashtag joins neither that hashtag's story nor the story
    /// of its first copy: the copies gather in a story of their own.
    #[test]
    fn a_passage_pasted_under_other_hashtags_gathers_with_its_copies() {
        let mut a = Assembler::new(test_config(), 1);
        let (tag_a, tag_b, tag_c) = (TAG_BIT | 501, TAG_BIT | 502, TAG_BIT | 503);
        let post = |h: i64, sim: u64, tag: u64, words: &[(u64, f32)], key: Option<u64>| {
            // As the analysis weighs them: the hashtag as heavy as all the words.
            let mut terms = words.to_vec();
            terms.push((tag, 2.0));
            let mut f = features(h, sim, &terms);
            f.copy_key = key;
            f
        };
        // Two matters under their hashtags.
        let matter_a = a.assign(1, &post(0, 0x9E37_79B9_7F4A_7C15, tag_a, &[(10, 1.0), (11, 1.0)], None));
        let matter_b = a.assign(2, &post(1, 0x6A09_E667_F3BC_C908, tag_b, &[(20, 1.0), (21, 1.0)], None));
        // The passage first under A: nothing to compare it with yet, so the hashtag places it.
        let first = a.assign(3, &post(2, 0x3333_0000_0000_0000, tag_a, &[(40, 1.0), (41, 1.0)], Some(7)));
        assert_eq!(first.story, matter_a.story);
        // The same passage under A again (another account): still only one hashtag's copy.
        let again = a.assign(4, &post(3, 0x3333_0000_0000_0001, tag_a, &[(40, 1.0), (41, 1.0)], Some(7)));
        assert_eq!(again.story, matter_a.story);
        // Under B: a copy of post 3; a story of copies, not B's story.
        let copy_b = a.assign(5, &post(4, 0x3333_0000_0000_0003, tag_b, &[(40, 1.0), (41, 1.0)], Some(7)));
        assert_eq!(copy_b.reason, JoinReason::Copied { of: 3, key: 7, started: true });
        assert!(copy_b.is_new() && copy_b.story != matter_b.story && copy_b.story != matter_a.story);
        let copy_c = a.assign(6, &post(5, 0x3333_0000_0000_0007, tag_c, &[(40, 1.0), (41, 1.0)], Some(7)));
        assert_eq!(
            copy_c,
            Assignment { story: copy_b.story, reason: JoinReason::Copied { of: 3, key: 7, started: false } }
        );
        // Matters still gather their own posts; the story of copies takes nothing else, even a
        // near-duplicate of its posts without the key.
        let more_b = a.assign(7, &post(6, 0x6A09_E667_F3BC_C909, tag_b, &[(20, 1.0), (22, 1.0)], None));
        assert_eq!(more_b.story, matter_b.story);
        let plain = a.assign(8, &post(7, 0x3333_0000_0000_0003, tag_c, &[(40, 1.0), (41, 1.0)], None));
        assert_ne!(plain.story, copy_b.story);
        // Another passage under B is not a copy of this one.
        let other = a.assign(9, &post(8, 0xB7E1_5162_8AED_2A6B, tag_b, &[(50, 1.0), (51, 1.0)], Some(8)));
        assert_eq!(other.story, matter_b.story);
    }

    /// Copies count only within the copy window: the same passage weeks later under another
    /// hashtag is judged afresh; with `copy_days = 0` nothing is a copy.
    #[test]
    fn a_copy_is_judged_against_the_window_only() {
        let copy = |h: i64, tag: u64| {
            let mut f = features(h, 1, &[(40, 1.0), (TAG_BIT | tag, 1.0)]);
            f.copy_key = Some(7);
            f
        };
        let mut a = Assembler::new(test_config(), 1);
        a.assign(1, &copy(0, 501));
        assert!(matches!(a.assign(2, &copy(24 * 12, 502)).reason, JoinReason::Copied { of: 1, .. }));
        assert!(!matches!(a.assign(3, &copy(24 * 30, 503)).reason, JoinReason::Copied { .. }));
        let mut off = Assembler::new(AssemblyConfig { copy_days: 0, ..test_config() }, 1);
        off.assign(1, &copy(0, 501));
        assert!(!matches!(off.assign(2, &copy(1, 502)).reason, JoinReason::Copied { .. }));
    }

    #[test]
    fn restored_assembler_assigns_like_an_uninterrupted_one() {
        let posts: Vec<PostFeatures> = (0..40)
            .map(|i| {
                let t = (i % 5) as u64;
                let mut f = features(
                    i * 3,
                    (t << 40) ^ (i as u64 * 7919),
                    &[(t * 10, 2.0), (t * 10 + 1, 1.0), (100 + i as u64, 0.5)],
                );
                // Some posts name nothing: stories and cores depend on the order of anchors.
                f.anchored = i % 4 != 0;
                // Some are one passage pasted under one of two hashtags, before and after the
                // restart: the copies depend on the posts the window remembers.
                if i % 6 == 1 {
                    f.terms.push((TAG_BIT | (500 + (i % 4) as u64), 0.5));
                    f.copy_key = Some(99);
                }
                f
            })
            .collect();
        let mut whole = Assembler::new(small_window(), 1);
        let assigned: Vec<Assignment> = posts.iter().enumerate().map(|(i, f)| whole.assign(i as i64, f)).collect();
        let expected: Vec<i64> = assigned.iter().map(|a| a.story).collect();
        let copied = |r: &[Assignment]| r.iter().filter(|a| matches!(a.reason, JoinReason::Copied { .. })).count();
        assert!(copied(&assigned[..20]) >= 1 && copied(&assigned[20..]) >= 1, "copies on both sides of the restart");

        let mut first = Assembler::new(small_window(), 1);
        let early: Vec<Assignment> = posts[..20].iter().enumerate().map(|(i, f)| first.assign(i as i64, f)).collect();
        let mut got: Vec<i64> = early.iter().map(|a| a.story).collect();
        let mut seeds: Vec<StorySeed> = Vec::new();
        for id in got.iter().copied().collect::<std::collections::BTreeSet<_>>() {
            let members: Vec<(i64, u64)> =
                got.iter().enumerate().filter(|(_, s)| **s == id).map(|(i, _)| (i as i64, posts[i].simhash)).collect();
            let last_at = members.iter().map(|(i, _)| posts[*i as usize].at).max().unwrap();
            let first_at = members.iter().map(|(i, _)| posts[*i as usize].at).min().unwrap();
            let (core_size, anchored) = first.core_state(members.iter().map(|(i, _)| posts[*i as usize].anchored));
            // And from the stored reasons its posts joined for.
            let copy_key = early.iter().find_map(|a| match a.reason {
                JoinReason::Copied { key, .. } if a.story == id => Some(key),
                _ => None,
            });
            // A story of copies has no core to replay.
            if copy_key.is_none() {
                assert_eq!(
                    (core_size, anchored),
                    (first.core_size(id).unwrap(), first.is_anchored(id).unwrap()),
                    "the replayed core state is the live one"
                );
            }
            seeds.push(StorySeed {
                id,
                first_at,
                last_at,
                centroid: first.centroid(id).unwrap(),
                index_terms: first.index_terms(id).unwrap(),
                posts: members,
                // As a restart finds it: replayed from the stored posts' anchors in joining order.
                anchored,
                core_size,
                copy_key,
            });
        }
        let mut second = Assembler::new(small_window(), 1);
        for seed in seeds {
            second.restore(seed);
        }
        let start = second.df_window_start(posts[..20].iter().map(|f| f.at).max().unwrap());
        for f in posts[..20].iter().rev().filter(|f| f.at >= start) {
            second.observe_recent(f.at, &f.terms);
        }
        let start = second.copy_window_start(posts[..20].iter().map(|f| f.at).max().unwrap());
        for (i, f) in posts[..20].iter().enumerate().rev().filter(|(_, f)| f.at >= start) {
            if let Some(key) = f.copy_key {
                let tags = f.terms.iter().map(|e| e.0).filter(|t| is_tag(*t)).collect();
                second.recall_copy(i as i64, f.at, key, tags);
            }
        }
        got.extend(posts[20..].iter().enumerate().map(|(i, f)| second.assign(20 + i as i64, f).story));
        assert_eq!(got, expected);
    }
}
