//! The ingest pipeline: posts in → analysis (parallel) → exact-duplicate check → story assembly →
//! heat and grading → alerts → one atomic write to the store and the full-text index.
//!
//! Invariant: a batch is written whole or not at all, and the in-memory state (assembler, story
//! trackers) is rebuilt from the store on open, so stopping at any point loses nothing.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Serialize;
use yuqing_core::heat::{hour_index, HeatFact};
use yuqing_core::input::Rejection;
use yuqing_core::spike::{KeyKind, Spike, Volumes};
use yuqing_core::url::canonical_url;
use yuqing_core::{
    Assembler, FalseAlarmExample, Grade, JoinReason, LikeFalseAlarm, NoiseKind, PostFacts, PostInput, RelevanceModel,
    Sentiment, SourceTier, StorySeed, StoryStatus, StoryTracker,
};
use yuqing_store::false_alarm;
use yuqing_store::places::PostPlace;
use yuqing_store::story_edit::{self, EditKind, StoryEdit};
use yuqing_store::themes::ThemePost;

use crate::locality::{Locator, PostPlaces};
use yuqing_store::{
    DataDir, IndexWords, NewAlert, PostRecord, RestorePost, SqliteStore, Store, StoreError, StoryRecord, WriteBatch,
};
use yuqing_text::dedup::{fnv1a, site_key};
use yuqing_text::{headline, matching_form, Analysis, Analyzer, AnalyzerError};

use crate::config::Config;
use crate::themes::Themes;

/// Posts analyzed and written per transaction.
pub const BATCH: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Analyzer(#[from] AnalyzerError),
    #[error("专题表达式有误：{0}")]
    Theme(#[from] yuqing_text::rules::RuleError),
    #[error("舆情事件 {0} 不存在")]
    NoSuchStory(i64),
    #[error("入库线程意外终止")]
    WriterStopped,
    /// A hand edit that cannot be done as asked (the message says why, for the person).
    #[error("{0}")]
    Refused(String),
}

/// What one ingest did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    pub read: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub rejected: Vec<Rejection>,
    /// (input line, post id) of every post stored, for callers that link posts to their evidence.
    #[serde(skip)]
    pub stored_ids: Vec<(usize, i64)>,
    /// (input line, the post it repeats) of every exact duplicate: a post stored before, or one
    /// stored earlier in the same input.
    #[serde(skip)]
    pub duplicate_ids: Vec<(usize, i64)>,
    pub new_stories: usize,
    pub alerts: Vec<NewAlert>,
    pub closed_stories: usize,
}

impl IngestReport {
    pub fn merge(&mut self, other: IngestReport) {
        self.read += other.read;
        self.stored += other.stored;
        self.duplicates += other.duplicates;
        self.rejected.extend(other.rejected);
        self.stored_ids.extend(other.stored_ids);
        self.duplicate_ids.extend(other.duplicate_ids);
        self.new_stories += other.new_stories;
        self.alerts.extend(other.alerts);
        self.closed_stories += other.closed_stories;
    }
}

/// What a merge or split did.
#[derive(Debug, Clone, Serialize)]
pub struct StoryEditOutcome {
    /// The change's id in the edit log.
    pub edit: i64,
    /// Merge: the story kept. Split: the new story.
    pub story: i64,
    /// Grades reached by the change (the desk runs on them as on any alert).
    pub alerts: Vec<NewAlert>,
}

/// The most posts one split may move (a story of more is split in several steps).
pub const MAX_SPLIT_POSTS: usize = 5000;

/// The longest reason kept for a hand edit, in characters.
pub const MAX_EDIT_REASON: usize = 500;

/// A story to edit by hand; one merged away already is named as such.
fn stored_story(data: &DataDir, id: i64) -> Result<StoryRecord, PipelineError> {
    if let Some(s) = data.store.story(id)? {
        return Ok(s);
    }
    match story_edit::redirect(data.store.connection(), id)? {
        Some(into) => Err(PipelineError::Refused(format!("舆情事件 #{id} 已并入 #{into}"))),
        None => Err(PipelineError::NoSuchStory(id)),
    }
}

/// A store refusal (a story merged meanwhile, a post moved meanwhile) is the person's to read.
fn refusal(e: StoreError) -> PipelineError {
    match e {
        StoreError::Conflict(m) => PipelineError::Refused(m),
        e => PipelineError::Store(e),
    }
}

fn edit_reason(reason: &str) -> Result<String, PipelineError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(PipelineError::Refused("请写明原因".into()));
    }
    if r.chars().count() > MAX_EDIT_REASON {
        return Err(PipelineError::Refused(format!("原因不能超过 {MAX_EDIT_REASON} 字")));
    }
    Ok(r.to_string())
}

mod false_alarms;
pub use false_alarms::FalseAlarmOutcome;

/// The 误报 example nearest to an open story's core, if there are examples and the story has a core.
fn nearest_false_alarm(model: &RelevanceModel, assembler: &Assembler, story: i64) -> Option<LikeFalseAlarm> {
    if model.is_empty() {
        return None;
    }
    model.nearest(story, &assembler.centroid(story)?)
}

/// Per open story: what the tracker does not hold.
#[derive(Debug, Clone, Default)]
struct StoryMeta {
    keywords: HashMap<String, u32>,
    /// Hashtags of its posts (as written) → posts carrying each.
    tags: HashMap<String, u32>,
    /// The headline of its most central post so far, and that post's similarity to the story.
    headline: Option<(f32, String)>,
}

impl StoryMeta {
    /// Takes in what a post says of the story's headline (title and text as stored).
    fn add_post(&mut self, title: &str, text: &str, join: JoinReason) {
        // A passage pasted under hashtags says nothing of them: a story of such copies is named
        // by the passage.
        if let JoinReason::Copied { .. } = join {
            if self.headline.is_none() {
                self.headline = headline::of_post(title, text).map(|h| (0.0, h));
            }
            return;
        }
        for t in yuqing_text::hashtag::tags(title).into_iter().chain(yuqing_text::hashtag::tags(text)) {
            *self.tags.entry(t).or_insert(0) += 1;
        }
        // The first post, then any post closer to the story than the one chosen; copies add nothing.
        let score = match join {
            JoinReason::New => 0.0,
            JoinReason::Similar { score } => score,
            JoinReason::NearDuplicate { .. } | JoinReason::Copied { .. } => return,
        };
        if self.headline.as_ref().is_none_or(|(best, _)| score > *best) {
            if let Some(h) = headline::of_post(title, text) {
                self.headline = Some((score, h));
            }
        }
    }

    /// The story's title: its most common hashtag when that reads as a headline, else the headline
    /// of its most central post.
    fn title(&self) -> String {
        let top = self.tags.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)));
        if let Some(t) = top.and_then(|(t, _)| headline::of_tag(t)) {
            return t;
        }
        match &self.headline {
            Some((_, h)) => h.clone(),
            None => "（无文字内容）".to_string(),
        }
    }
}

pub struct Pipeline {
    /// The configuration in force: `base_config` with the watch-rule edits saved on the page.
    config: Config,
    base_config: Config,
    /// `yuqing_store::rules::version` when the rules in force were loaded.
    rules_version: i64,
    analyzer: Arc<Analyzer>,
    /// The configured 专题, compiled.
    themes: Arc<Themes>,
    /// Places and the jurisdiction (属地).
    locator: Arc<Locator>,
    assembler: Assembler,
    trackers: HashMap<i64, StoryTracker>,
    meta: HashMap<i64, StoryMeta>,
    /// 误报学习: the stories the office marked 误报, as examples (empty after a reset).
    relevance: RelevanceModel,
    /// Posts per hour of every watch rule and topic over the last 4 weeks (突增 baselines).
    volumes: Volumes,
    /// Shared with the server when serving (it reads while collected posts are ingested); locked
    /// only for the store work of a batch, never across analysis or I/O elsewhere.
    data: Arc<Mutex<DataDir>>,
    /// A second connection to the database, for the thread that writes batches while the next
    /// one is assembled (opened on first use; given back after each ingest).
    writer: Option<SqliteStore>,
    next_post_id: i64,
    /// The full-text index failed (a commit on a full disk, a broken writer) after the database
    /// had committed: it holds less than the database. New posts are not added to it until
    /// `flush` has rolled it back and caught it up from the database (a restart does the same).
    index_behind: bool,
}

/// What the batch being written (not yet committed) holds, for the exact-duplicate checks of the
/// batch assembled meanwhile.
#[derive(Debug, Default)]
struct InFlight {
    /// Dedup key → the post stored under it.
    keys: HashMap<u64, i64>,
    /// Content hash → the first post with it (stored earlier or in that batch).
    content: HashMap<u64, i64>,
}

fn lock(data: &Mutex<DataDir>) -> MutexGuard<'_, DataDir> {
    yuqing_store::guard::lock(data)
}

/// Identity of a post for exact duplicates: source + canonical URL when there is a URL, else
/// source + author + normalized content. The same text by another author or on another site is
/// a separate post (a copy, linked by `duplicate_of`), not a duplicate.
pub fn dedup_key(post: &PostInput, content_hash: u64) -> u64 {
    let source = matching_form(post.source_str().trim());
    match post.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => fnv1a(format!("u\u{1}{source}\u{1}{}", canonical_url(url)).as_bytes()),
        None => fnv1a(
            format!("c\u{1}{source}\u{1}{}\u{1}{content_hash:x}", post.author.as_deref().unwrap_or("").trim())
                .as_bytes(),
        ),
    }
}

/// A post's analysis, its full-text words, its themes (专题), its noise kind, its places and whether
/// it is anchored, all made in the parallel stage (the assembly stage is sequential).
type Analyzed = (Analysis, IndexWords, Vec<String>, Option<NoiseKind>, PostPlaces, bool);

fn analyze_batch(
    analyzer: &Analyzer,
    themes: &Themes,
    locator: &Locator,
    batch: &[(usize, PostInput)],
) -> Vec<Analyzed> {
    batch
        .par_iter()
        .map(|(_, p)| {
            let a = analyzer.analyze(p.title_str(), p.text_str(), p.source_str());
            let words = IndexWords::of(&a, analyzer.segmenter());
            let themes = if themes.is_empty() {
                Vec::new()
            } else {
                themes.of(&a.title.matching, &a.text.matching, &matching_form(p.source_str().trim()))
            };
            let noise = yuqing_text::noise::classify(&a.title.matching, &a.text.matching);
            let places = locator.locate(&a.title.matching, &a.text.matching);
            let anchor = anchored(a.names_something(), &places, noise);
            (a, words, themes, noise, places, anchor)
        })
        .collect()
}

/// The watch-rule edits saved on the 监测规则 page of this data directory (none in a new one), and
/// the rules' version.
pub fn saved_rule_edits(data_dir: &Path) -> Result<(Vec<yuqing_store::rules::RuleEdit>, i64), PipelineError> {
    let db = data_dir.join("yuqing.db");
    if !db.exists() {
        return Ok((Vec::new(), 0));
    }
    let store = yuqing_store::SqliteStore::open(&db)?;
    Ok((yuqing_store::rules::edits(store.connection())?, yuqing_store::rules::version(store.connection())?))
}

/// The pipeline's state in memory, as the store says it is.
struct Resumed {
    assembler: Assembler,
    trackers: HashMap<i64, StoryTracker>,
    meta: HashMap<i64, StoryMeta>,
    relevance: RelevanceModel,
    next_post_id: i64,
}

/// Rebuilds the in-memory state from the store: open stories, their trackers and the assembler
/// (with the recent document frequencies, from the posts of its window analyzed again).
fn resume(data: &DataDir, config: &Config, analyzer: &Analyzer, locator: &Locator) -> Result<Resumed, PipelineError> {
    let next_post_id = data.store.next_post_id()?;
    let mut assembler = Assembler::new(config.assembly.clone(), data.store.next_story_id()?);
    let mut trackers = HashMap::new();
    let mut meta = HashMap::new();
    let open = data.store.open_stories()?;
    let ids: Vec<i64> = open.iter().map(|s| s.id).collect();
    let marked = false_alarm::marked(data.store.connection())?;
    let edited = yuqing_store::story_edit::edited_stories(data.store.connection())?;
    let mut members: HashMap<i64, Vec<(i64, u64)>> = HashMap::new();
    // Each story's posts' anchors in id order (the order they joined): its core state.
    let mut anchors: HashMap<i64, Vec<bool>> = HashMap::new();
    // The key of a story of copies pasted under hashtags: every one of its posts joined as such.
    let mut copies: HashMap<i64, Option<u64>> = HashMap::new();
    for p in data.store.restore_posts(&ids)? {
        let key = match p.join {
            JoinReason::Copied { key, .. } => Some(key),
            _ => None,
        };
        copies.entry(p.story_id).and_modify(|k| *k = k.filter(|k| Some(*k) == key)).or_insert(key);
        members.entry(p.story_id).or_default().push((p.id, p.simhash));
        let anchor =
            take_in(trackers.entry(p.story_id).or_default(), meta.entry(p.story_id).or_default(), &p, config, locator);
        anchors.entry(p.story_id).or_default().push(anchor);
    }
    for s in open {
        let tracker = trackers.entry(s.id).or_default();
        tracker.grade = s.grade;
        tracker.reasons = s.reasons.clone();
        tracker.manual = s.manual.clone();
        tracker.false_alarm = marked.contains(&s.id);
        meta.entry(s.id).or_insert_with(StoryMeta::default);
        let (core_size, anchored) = assembler.core_state(anchors.remove(&s.id).unwrap_or_default());
        // A story made or kept by hand is one matter by the office's word.
        let anchored = anchored || edited.contains(&s.id);
        assembler.restore(StorySeed {
            id: s.id,
            first_at: s.first_at,
            last_at: s.last_at,
            centroid: s.centroid.clone(),
            index_terms: s.index_terms.clone(),
            posts: members.remove(&s.id).unwrap_or_default(),
            anchored,
            core_size,
            copy_key: copies.get(&s.id).copied().flatten(),
        });
    }
    if let Some(latest) = data.store.latest_post_time()? {
        let recent = data.store.texts_since(assembler.df_window_start(latest))?;
        let terms: Vec<(DateTime<Utc>, Vec<(u64, f32)>)> =
            recent.par_iter().map(|p| (p.at, analyzer.analyze(&p.title, &p.text, &p.source).terms)).collect();
        for (at, terms) in &terms {
            assembler.observe_recent(*at, terms);
        }
        // Posts that may be copies pasted under hashtags, over the longer copy window.
        if assembler.config().copy_days > 0 {
            let tagged = data.store.tagged_texts_since(assembler.copy_window_start(latest))?;
            let evidence: Vec<(i64, DateTime<Utc>, Option<(u64, Vec<u64>)>)> = tagged
                .par_iter()
                .map(|p| (p.id, p.at, yuqing_text::analyze::copy_evidence(&p.title, &p.text)))
                .collect();
            for (id, at, e) in evidence {
                if let Some((key, tags)) = e {
                    assembler.recall_copy(id, at, key, tags);
                }
            }
        }
    }
    let relevance = relevance_model(data)?;
    Ok(Resumed { assembler, trackers, meta, relevance, next_post_id })
}

/// The relevance model from the stored 误报 marks it learns from.
fn relevance_model(data: &DataDir) -> Result<RelevanceModel, PipelineError> {
    let examples = false_alarm::examples(data.store.connection())?
        .into_iter()
        .filter_map(|(story, title, reason, core)| FalseAlarmExample::new(story, title, reason, &core))
        .collect();
    Ok(RelevanceModel::new(examples))
}

/// Rebuilds the hourly counts of watch rules and topics from the posts of the weeks a baseline
/// reads (a changed story changes none of them: they are rebuilt only on open and after a failure).
fn restore_volumes(data: &DataDir, now: DateTime<Utc>) -> Result<Volumes, PipelineError> {
    let mut volumes = Volumes::new();
    if let Some(latest) = data.store.latest_post_time()? {
        count_volumes(&mut volumes, data.store.connection(), latest.min(now), DateTime::<Utc>::MAX_UTC, now)?;
    }
    Ok(volumes)
}

/// Counts into `volumes` the stored posts published before `until` in the weeks a baseline reads
/// up to `end`.
fn count_volumes(
    volumes: &mut Volumes,
    conn: &yuqing_store::Connection,
    end: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), PipelineError> {
    let now_hour = hour_index(now);
    let since = end
        .checked_sub_signed(chrono::Duration::hours(yuqing_core::spike::KEPT_HOURS))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    for (hour, posts) in yuqing_store::volumes::hourly_posts(conn, since, until)? {
        volumes.collected(hour, now_hour, posts);
    }
    // Advertising does not count: the noise check reads the text, in parallel, a chunk at a time.
    let mut chunk: Vec<yuqing_store::volumes::VolumePost> = Vec::with_capacity(BATCH);
    let count = |chunk: &mut Vec<yuqing_store::volumes::VolumePost>, volumes: &mut Volumes| {
        let counted: Vec<bool> = chunk
            .par_iter()
            .map(|p| {
                !yuqing_text::noise::classify(&matching_form(&p.title), &matching_form(&p.text))
                    .is_some_and(NoiseKind::is_commercial)
            })
            .collect();
        for (p, counted) in chunk.drain(..).zip(counted) {
            if counted {
                volumes.count_keys(p.at.div_euclid(3600), now_hour, &p.rules, &p.topics);
            }
        }
    };
    yuqing_store::volumes::for_each_keyed_post(conn, since, until, |p| {
        chunk.push(p);
        if chunk.len() >= BATCH {
            count(&mut chunk, &mut *volumes);
        }
    })?;
    count(&mut chunk, volumes);
    Ok(())
}

/// The spikes now of a story's watch rules and of its top topic.
fn story_spikes(
    volumes: &mut Volumes,
    tracker: &StoryTracker,
    now: DateTime<Utc>,
    policy: &yuqing_core::GradePolicy,
    key_period: bool,
) -> Vec<Spike> {
    let hour = hour_index(now);
    let mut spikes: Vec<Spike> = tracker
        .rule_hits
        .keys()
        .filter_map(|rule| volumes.spike(KeyKind::Rule, rule, hour, policy, key_period))
        .collect();
    let top = tracker.topics.iter().max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)));
    if let Some(s) = top.and_then(|(topic, _)| volumes.spike(KeyKind::Topic, topic, hour, policy, key_period)) {
        spikes.push(s);
    }
    spikes
}

/// Whether a post is anchored (锚点, see `AssemblyConfig::anchor_required`): it names a figure, a
/// headline, a hashtag, a watch-rule or topic word, or a place — and is not commercial noise (an
/// advertisement's prices and shop names found no matter).
pub fn anchored(names_something: bool, places: &PostPlaces, noise: Option<NoiseKind>) -> bool {
    !noise.is_some_and(NoiseKind::is_commercial) && (names_something || !places.codes.is_empty())
}

/// [`anchored`] for a post analyzed outside the ingest (evaluation, `yuqing cluster`): its places
/// and noise kind found as the ingest's parallel stage finds them.
pub fn post_anchor(a: &Analysis, locator: &Locator) -> bool {
    let places = locator.locate(&a.title.matching, &a.text.matching);
    anchored(a.names_something(), &places, yuqing_text::noise::classify(&a.title.matching, &a.text.matching))
}

/// [`anchored`] for a stored post, from what was stored of its analysis (its rule hits and topics
/// as at ingest), so a restart finds the same anchors.
fn restored_anchor(p: &RestorePost, title: &str, text: &str, places: &PostPlaces, noise: Option<NoiseKind>) -> bool {
    let names = !p.rules.is_empty() || !p.topics.is_empty() || yuqing_text::anchor::names_something(title, text);
    anchored(names, places, noise)
}

/// Takes a stored post into its story's tracker and headline state, as when it was ingested;
/// returns whether it is anchored.
fn take_in(
    tracker: &mut StoryTracker,
    meta: &mut StoryMeta,
    p: &RestorePost,
    config: &Config,
    locator: &Locator,
) -> bool {
    let (title, text) = (matching_form(&p.title), matching_form(&p.text));
    let places = locator.locate(&title, &text);
    let noise = yuqing_text::noise::classify(&title, &text);
    let anchor = restored_anchor(p, &title, &text, &places, noise);
    let noise = yuqing_text::noise::with_join(noise, &p.join);
    tracker.add(
        &PostFacts {
            heat: p.heat_fact(),
            source: &p.source,
            rules: &p.rules,
            severe_words: &p.severe_words,
            topics: &p.topics,
            noise,
            local_places: &places.local,
            other_places: &places.other,
            names_us: places.names_us,
        },
        &config.grading,
    );
    for k in &p.keywords {
        *meta.keywords.entry(k.clone()).or_insert(0) += 1;
    }
    meta.add_post(&p.title, &p.text, p.join);
    anchor
}

/// A story's record as stored, from its tracker, headline state and core.
fn record_of(
    story: i64,
    status: StoryStatus,
    now: DateTime<Utc>,
    tracker: &StoryTracker,
    meta: &StoryMeta,
    centroid: Vec<(u64, f32)>,
    index_terms: Vec<u64>,
) -> StoryRecord {
    let summary = tracker.heat.summary(now);
    // The 8 most frequent keywords (ties by word, a total order): selected, then sorted, since
    // a big story holds thousands of distinct keywords and is stored again after every batch.
    let mut keywords: Vec<(&String, &u32)> = meta.keywords.iter().collect();
    let order = |a: &(&String, &u32), b: &(&String, &u32)| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0));
    if keywords.len() > 8 {
        keywords.select_nth_unstable_by(7, order);
        keywords.truncate(8);
    }
    keywords.sort_unstable_by(order);
    StoryRecord {
        id: story,
        status,
        title: meta.title(),
        keywords: keywords.into_iter().take(8).map(|(k, _)| k.clone()).collect(),
        first_at: tracker.first_at.unwrap_or(now),
        last_at: tracker.last_at.unwrap_or(now),
        grade: tracker.grade,
        reasons: tracker.reasons.clone(),
        manual: tracker.manual.clone(),
        posts: summary.posts,
        sites: summary.sites,
        max_tier: summary.max_tier,
        interactions: summary.interactions,
        negative_share: summary.negative_share,
        rule_hits: tracker.rule_hits.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        topics: tracker.top_topics(5),
        severe_words: tracker.severe_words.iter().cloned().collect(),
        centroid,
        index_terms,
        updated_at: now,
    }
}

impl Pipeline {
    /// Opens the data directory and resumes: open stories and their state come back from the store.
    pub fn open(data_dir: &Path, config: Config) -> Result<Pipeline, PipelineError> {
        let (edits, rules_version) = saved_rule_edits(data_dir)?;
        let base_config = config.clone();
        let config = config.with_rule_edits(&edits);
        let analyzer = Arc::new(Analyzer::new(&config.analyzer_config())?);
        let themes = Arc::new(Themes::compile(&config.themes)?);
        let locator = Arc::new(Locator::new(&config));
        let data = DataDir::open(data_dir, analyzer.segmenter_arc())?;
        crate::themes::ensure_built(&data, &themes, Utc::now())?;
        crate::locality::ensure_built(&data, &locator, Utc::now())?;
        let Resumed { assembler, trackers, meta, relevance, next_post_id } =
            resume(&data, &config, &analyzer, &locator)?;
        let volumes = restore_volumes(&data, Utc::now())?;
        tracing::info!(
            open_stories = assembler.open_count(),
            next_post_id,
            false_alarm_examples = relevance.len(),
            "pipeline resumed"
        );
        Ok(Pipeline {
            config,
            base_config,
            rules_version,
            analyzer,
            themes,
            locator,
            assembler,
            trackers,
            meta,
            relevance,
            volumes,
            data: Arc::new(Mutex::new(data)),
            writer: None,
            next_post_id,
            index_behind: false,
        })
    }

    /// Loads the watch rules again when they were edited since they were loaded (a running server
    /// picks up the 监测规则 page's saves before its next batch). Returns the new routing then.
    pub fn refresh_rules(&mut self) -> Result<Option<Vec<yuqing_core::incident::AssignmentRule>>, PipelineError> {
        let (version, edits) = {
            let data = self.data();
            let c = data.store.connection();
            let version = yuqing_store::rules::version(c)?;
            if version == self.rules_version {
                return Ok(None);
            }
            (version, yuqing_store::rules::edits(c)?)
        };
        let config = self.base_config.clone().with_rule_edits(&edits);
        self.analyzer = Arc::new(Analyzer::new(&config.analyzer_config())?);
        tracing::info!(rules = config.rules.len(), version, "watch rules reloaded after an edit");
        let routing = config.desk.routing.clone();
        self.config = config;
        self.rules_version = version;
        Ok(Some(routing))
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The data directory, locked (do not hold the guard across a call to `ingest`).
    pub fn data(&self) -> MutexGuard<'_, DataDir> {
        lock(&self.data)
    }

    /// The data directory as shared with the server: the pipeline goes on ingesting into it while
    /// the server reads it.
    pub fn shared_data(&self) -> Arc<Mutex<DataDir>> {
        self.data.clone()
    }

    /// Gives up the pipeline, keeping the data directory (for serving).
    pub fn into_data(self) -> Arc<Mutex<DataDir>> {
        self.data
    }

    /// Ingests parsed posts (with their line numbers); `now` is the time of arrival.
    ///
    /// Three stages overlap: batches are analyzed (in parallel) one ahead of the batch being
    /// assembled, and written (on their own thread and connection) one behind it. Analysis is pure,
    /// and assembly checks exact duplicates against the store and the batch still being written,
    /// so the overlap changes nothing in the result. Returns once every batch is committed.
    pub fn ingest(
        &mut self,
        posts: Vec<(usize, PostInput)>,
        now: DateTime<Utc>,
    ) -> Result<IngestReport, PipelineError> {
        let mut report = IngestReport::default();
        if posts.is_empty() {
            return Ok(report);
        }
        let analyzer = self.analyzer.clone();
        let themes = self.themes.clone();
        let locator = self.locator.clone();
        let mut writer = match self.writer.take() {
            Some(w) => w,
            None => {
                let path = self.data().store.path().to_path_buf();
                SqliteStore::open(&path)?
            }
        };
        let result = std::thread::scope(|scope| -> Result<(), PipelineError> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(Vec<(usize, PostInput)>, Vec<Analyzed>)>(1);
            scope.spawn(move || {
                let mut rest = posts.into_iter();
                loop {
                    let batch: Vec<(usize, PostInput)> = rest.by_ref().take(BATCH).collect();
                    if batch.is_empty() {
                        break;
                    }
                    let analyzed = analyze_batch(&analyzer, &themes, &locator, &batch);
                    // The receiver is gone when a batch failed: stop.
                    if tx.send((batch, analyzed)).is_err() {
                        break;
                    }
                }
            });
            // A rendezvous: the writer takes batch N only when done with N - 1, so while batch
            // N + 1 is assembled only batch N can be uncommitted (`InFlight`).
            let (wtx, wrx) = std::sync::mpsc::sync_channel::<WriteBatch>(0);
            let written = scope.spawn(move || -> (SqliteStore, Result<(), StoreError>) {
                let mut result = Ok(());
                for batch in wrx {
                    result = writer.write(&batch);
                    if result.is_err() {
                        break;
                    }
                }
                (writer, result)
            });
            let mut in_flight = InFlight::default();
            let mut assembled = Ok(());
            for (batch, analyzed) in rx {
                match self.assemble_batch(batch, analyzed, now, &in_flight) {
                    Ok((r, write, next)) => {
                        report.merge(r);
                        in_flight = next;
                        // The writer is gone only when a write failed: its error is returned below.
                        if wtx.send(write).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        assembled = Err(e);
                        break;
                    }
                }
            }
            drop(wtx);
            match written.join() {
                Ok((w, result)) => {
                    self.writer = Some(w);
                    result?;
                }
                Err(_) => return Err(PipelineError::WriterStopped),
            }
            assembled
        });
        if let Err(e) = result {
            if let Err(r) = self.recover() {
                tracing::error!(error = %r, "could not bring the pipeline back to the stored state after a failed batch");
            }
            return Err(e);
        }
        Ok(report)
    }

    /// After a failed batch the in-memory state and the full-text index are ahead of the database
    /// (the failed batch was assembled and indexed, and the next one may have been): both are put
    /// back to what the database holds, so the next ingest goes on as it would after a restart and
    /// the index never holds a post the database does not.
    fn recover(&mut self) -> Result<(), PipelineError> {
        self.writer = None;
        let shared = self.data.clone();
        let mut data = lock(&shared);
        // The index is derived: when it cannot be put right now, memory is still rebuilt, and the
        // index catches up at the next flush (or on restart).
        self.index_behind = match data.fts.rollback().and_then(|()| data.catch_up_index()) {
            Ok(_) => false,
            Err(e) => {
                tracing::error!(error = %e, "full-text index could not catch up after a failed batch; it will at the next flush");
                true
            }
        };
        self.reload(&data)?;
        self.volumes = restore_volumes(&data, Utc::now())?;
        tracing::warn!(
            next_post_id = self.next_post_id,
            "pipeline state rebuilt from the database after a failed batch"
        );
        Ok(())
    }

    /// Assembles one analyzed batch: duplicates, stories, grades, the full-text index; returns what
    /// the writer stores, and what it holds for the next batch's duplicate checks.
    fn assemble_batch(
        &mut self,
        posts: Vec<(usize, PostInput)>,
        analyses: Vec<Analyzed>,
        now: DateTime<Utc>,
        in_flight: &InFlight,
    ) -> Result<(IngestReport, WriteBatch, InFlight), PipelineError> {
        let mut report = IngestReport { read: posts.len(), ..Default::default() };
        let keys: Vec<u64> =
            posts.iter().zip(&analyses).map(|((_, p), (a, ..))| dedup_key(p, a.content_hash)).collect();
        let shared = self.data.clone();
        let mut data = lock(&shared);
        let known = data.store.known_dedup_keys(&keys)?;
        // The first stored post of each content hash, looked up for the whole batch at once (nothing
        // of this batch is stored before its end, so the answers are what per-post lookups gave);
        // the batch still being written answers for what it holds.
        let mut hashes: Vec<u64> = analyses.iter().map(|(a, ..)| a.content_hash).collect();
        hashes.sort_unstable();
        hashes.dedup();
        let stored_content = data.store.first_with_contents(&hashes)?;

        let mut batch = WriteBatch::default();
        let mut batch_keys: HashMap<u64, i64> = HashMap::new();
        let mut batch_content: HashMap<u64, i64> = HashMap::new();
        let mut touched: BTreeSet<i64> = BTreeSet::new();
        let policy = &self.config.grading;
        for (((line, post), (analysis, words, themes, noise, places, anchor)), key) in
            posts.into_iter().zip(analyses).zip(keys)
        {
            if let Some(first) = known.get(&key).or_else(|| in_flight.keys.get(&key)).or_else(|| batch_keys.get(&key)) {
                report.duplicates += 1;
                report.duplicate_ids.push((line, *first));
                continue;
            }
            let id = self.next_post_id;
            self.next_post_id += 1;
            batch_keys.insert(key, id);
            let (published_at, time_estimated) = match post.published_at {
                Some(t) => (t, false),
                None => (now.with_timezone(&crate::config::china_tz()), true),
            };
            let at = published_at.with_timezone(&Utc);
            let assignment = self.assembler.assign(id, &analysis.features(at, anchor));
            if assignment.is_new() {
                report.new_stories += 1;
                self.meta.insert(assignment.story, StoryMeta::default());
            }
            let duplicate_of = match batch_content.get(&analysis.content_hash) {
                Some(first) => Some(*first),
                None => {
                    let first = stored_content
                        .get(&analysis.content_hash)
                        .or_else(|| in_flight.content.get(&analysis.content_hash))
                        .copied();
                    batch_content.insert(analysis.content_hash, first.unwrap_or(id));
                    first
                }
            };
            let source =
                post.source.clone().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).unwrap_or_default();
            let tier = post.tier.unwrap_or(SourceTier::Community);
            let rules: Vec<String> = analysis.hits.iter().map(|h| h.rule.clone()).collect();
            let commercial = noise.is_some_and(NoiseKind::is_commercial);
            self.volumes.add(hour_index(at), hour_index(now), &rules, &analysis.topics, !commercial);
            // A passage pasted under hashtags is known as such only now, from the stream.
            let noise = yuqing_text::noise::with_join(noise, &assignment.reason);
            let tracker = self.trackers.entry(assignment.story).or_default();
            tracker.add(
                &PostFacts {
                    heat: HeatFact {
                        at,
                        site: site_key(&source),
                        tier,
                        interactions: post.metrics.interactions(),
                        negative: analysis.sentiment == Sentiment::Negative,
                    },
                    source: &source,
                    rules: &rules,
                    severe_words: &analysis.severe_words,
                    topics: &analysis.topics,
                    noise,
                    local_places: &places.local,
                    other_places: &places.other,
                    names_us: places.names_us,
                },
                policy,
            );
            // Re-grade as the story grows, at the stream's own time (a replay of history keeps its
            // clock, never past now): grades then do not depend on how the input was batched.
            let eval_now = self.assembler.clock().map_or(now, |c| c.min(now));
            let key_period = self.config.key_period_at(eval_now);
            // The nearest 误报 example, once per story and batch (cores move little in a batch).
            if !touched.contains(&assignment.story) {
                tracker.like_false_alarm = nearest_false_alarm(&self.relevance, &self.assembler, assignment.story);
            }
            let spikes = story_spikes(&mut self.volumes, tracker, eval_now, policy, key_period.is_some());
            if let Some(change) = tracker.regrade_with(eval_now, policy, key_period, &spikes) {
                batch.alerts.push(NewAlert {
                    story_id: assignment.story,
                    from: change.from,
                    to: change.to,
                    reasons: change.reasons,
                    at: eval_now,
                });
            }
            if let Some(meta) = self.meta.get_mut(&assignment.story) {
                meta.add_post(&analysis.title.display, &analysis.text.display, assignment.reason);
                for k in &analysis.keywords {
                    match meta.keywords.get_mut(k) {
                        Some(n) => *n += 1,
                        None => {
                            meta.keywords.insert(k.clone(), 1);
                        }
                    }
                }
            }
            touched.insert(assignment.story);
            // SQLite is the truth and the index derived: an index that fails does not refuse posts;
            // it is caught up from the database at the next flush.
            if !self.index_behind {
                if let Err(e) = data.fts.add_words(id, at.timestamp(), words, &source) {
                    tracing::error!(error = %e, post = id, "full-text index refused a post; it will catch up from the database");
                    self.index_behind = true;
                }
            }
            report.stored_ids.push((line, id));
            batch.themes.extend(themes.into_iter().map(|theme| ThemePost { theme, post: id, story: assignment.story }));
            batch.places.extend(places.codes.iter().map(|&code| PostPlace { post: id, code }));
            batch.posts.push(PostRecord {
                id,
                story_id: assignment.story,
                dedup_key: key,
                content_hash: analysis.content_hash,
                duplicate_of,
                source,
                url: post.url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()),
                title: analysis.title.display,
                text: analysis.text.display,
                author: post.author.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
                place: post.place.map(|a| a.trim().to_string()).filter(|a| !a.is_empty()),
                published_at,
                time_estimated,
                ingested_at: now,
                tier,
                metrics: post.metrics,
                simhash: analysis.simhash,
                sentiment: analysis.sentiment,
                sentiment_score: analysis.sentiment_score,
                topics: analysis.topics,
                hits: analysis.hits,
                severe_words: analysis.severe_words,
                keywords: analysis.keywords,
                join: assignment.reason,
            });
            report.stored += 1;
        }

        let eval_now = self.assembler.clock().map_or(now, |c| c.min(now));
        let closed = self.assembler.close_inactive(eval_now);
        report.closed_stories = closed.len();
        // Stories that gave up an index term to another story are stored again, so a restart finds
        // the same candidates.
        touched.extend(self.assembler.take_changed());
        for &story in touched.iter().chain(closed.iter()) {
            let status = if closed.contains(&story) { StoryStatus::Closed } else { StoryStatus::Open };
            if let Some(record) = self.story_record(story, status, eval_now) {
                batch.stories.push(record);
            }
        }
        batch.closed = closed.clone();
        for story in closed {
            self.trackers.remove(&story);
            self.meta.remove(&story);
        }
        report.alerts = batch.alerts.clone();
        Ok((report, batch, InFlight { keys: batch_keys, content: batch_content }))
    }

    fn story_record(&self, story: i64, status: StoryStatus, now: DateTime<Utc>) -> Option<StoryRecord> {
        let tracker = self.trackers.get(&story)?;
        let meta = self.meta.get(&story)?;
        let centroid = self.assembler.centroid(story).unwrap_or_default();
        let index_terms = self.assembler.index_terms(story).unwrap_or_default();
        Some(record_of(story, status, now, tracker, meta, centroid, index_terms))
    }

    /// Makes everything ingested searchable (commits the full-text index).
    ///
    /// The posts are in the database already; an error here means only that the index is behind
    /// it. The index is then rolled back to its last commit and caught up from the database, here
    /// or, if that fails too (the disk is still full), at the next flush or on restart — so no post
    /// is ever missing from the index for good, and none is in it that the database lacks.
    pub fn flush(&mut self) -> Result<(), PipelineError> {
        let shared = self.data.clone();
        let mut data = lock(&shared);
        if !self.index_behind {
            match data.fts.commit() {
                Ok(()) => return Ok(()),
                Err(e) => tracing::error!(error = %e, "full-text index commit failed; catching up from the database"),
            }
        }
        let caught_up = data.fts.rollback().and_then(|()| data.catch_up_index());
        self.index_behind = caught_up.is_err();
        caught_up?;
        Ok(())
    }

    /// Whether the full-text index is known to hold less than the database (until a flush succeeds).
    pub fn index_behind(&self) -> bool {
        self.index_behind
    }

    /// Merges story `from` into story `into` by hand (合并): one matter the assembler took for two.
    /// Every post, alert and incident link of `from` moves to `into`; `into`'s core becomes both
    /// cores together, so later posts like either story's join it; its grade is the higher of the
    /// two (and rises when the merged counts call for it). Recorded with the reason and audited,
    /// in one transaction; the in-memory state is then rebuilt from the store, so it is what a
    /// restart would find.
    pub fn merge_stories(
        &mut self,
        into: i64,
        from: i64,
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StoryEditOutcome, PipelineError> {
        let reason = edit_reason(reason)?;
        if into == from {
            return Err(PipelineError::Refused("不能把舆情事件并入它自己".into()));
        }
        let shared = self.data.clone();
        let mut data = lock(&shared);
        let a = stored_story(&data, into)?;
        let b = stored_story(&data, from)?;
        let mut posts = data.store.restore_posts(&[into, from])?;
        posts.sort_unstable_by_key(|p| p.id);
        let (mut tracker, mut meta) = (StoryTracker::default(), StoryMeta::default());
        for p in &posts {
            take_in(&mut tracker, &mut meta, p, &self.config, &self.locator);
        }
        let higher = if b.grade > a.grade { &b } else { &a };
        tracker.grade = higher.grade;
        tracker.reasons = higher.reasons.clone();
        tracker.manual = match (&a.manual, &b.manual) {
            (Some(x), Some(y)) => Some(if y.0 > x.0 { y.clone() } else { x.clone() }),
            (x, y) => x.clone().or_else(|| y.clone()),
        };
        let eval_now = self.assembler.clock().map_or(now, |c| c.min(now));
        let alerts = self.regrade_edited(into, &mut tracker, eval_now);
        let centroid = yuqing_core::combined_core(&a.centroid, &b.centroid, self.config.assembly.centroid_terms);
        let index_terms = self.assembler.index_terms_of(&centroid);
        let status = if a.status == StoryStatus::Open || b.status == StoryStatus::Open {
            StoryStatus::Open
        } else {
            StoryStatus::Closed
        };
        let record = record_of(into, status, eval_now, &tracker, &meta, centroid, index_terms);
        let edit = StoryEdit {
            kind: EditKind::Merge,
            story: into,
            other: from,
            posts: Vec::new(),
            reason,
            actor: actor.to_string(),
            at: now,
        };
        let id = story_edit::apply(&mut data.store, &edit, &[record], &alerts).map_err(refusal)?;
        self.reload(&data)?;
        tracing::info!(into, from, actor, "stories merged by hand");
        Ok(StoryEditOutcome { edit: id, story: into, alerts })
    }

    /// Moves posts out of a story into a new one by hand (拆分): posts the assembler put in the
    /// wrong matter. The new story's core is made of its first moved posts; the old story's core
    /// is made again from its remaining first posts when some of them moved. The old story keeps
    /// its grade (grades are history; they never fall); the new one is graded on its own posts.
    /// Recorded with the reason and audited, in one transaction; the in-memory state is then
    /// rebuilt from the store. Returns the new story.
    pub fn split_story(
        &mut self,
        story: i64,
        post_ids: &[i64],
        reason: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StoryEditOutcome, PipelineError> {
        let reason = edit_reason(reason)?;
        let moved: BTreeSet<i64> = post_ids.iter().copied().collect();
        if moved.is_empty() {
            return Err(PipelineError::Refused("请选择要移出的帖子".into()));
        }
        if moved.len() > MAX_SPLIT_POSTS {
            return Err(PipelineError::Refused(format!("一次最多移出 {MAX_SPLIT_POSTS} 条帖子")));
        }
        let shared = self.data.clone();
        let mut data = lock(&shared);
        let a = stored_story(&data, story)?;
        let mut posts = data.store.restore_posts(&[story])?;
        posts.sort_unstable_by_key(|p| p.id);
        let present: BTreeSet<i64> = posts.iter().map(|p| p.id).collect();
        if let Some(missing) = moved.iter().find(|p| !present.contains(p)) {
            return Err(PipelineError::Refused(format!("帖子 {missing} 不属于舆情事件 #{story}")));
        }
        if moved.len() == posts.len() {
            return Err(PipelineError::Refused("不能移出全部帖子；至少留下一条，或改用合并".into()));
        }
        let (out, stay): (Vec<&RestorePost>, Vec<&RestorePost>) = posts.iter().partition(|p| moved.contains(&p.id));
        let (mut kept, mut kept_meta) = (StoryTracker::default(), StoryMeta::default());
        for p in &stay {
            take_in(&mut kept, &mut kept_meta, p, &self.config, &self.locator);
        }
        let (mut new, mut new_meta) = (StoryTracker::default(), StoryMeta::default());
        for p in &out {
            take_in(&mut new, &mut new_meta, p, &self.config, &self.locator);
        }
        kept.grade = a.grade;
        kept.reasons = a.reasons.clone();
        kept.manual = a.manual.clone();
        let new_id = data.store.next_story_id()?.max(self.assembler.next_id());
        let eval_now = self.assembler.clock().map_or(now, |c| c.min(now));
        let mut alerts = self.regrade_edited(story, &mut kept, eval_now);
        alerts.extend(self.regrade_edited(new_id, &mut new, eval_now));
        let core_posts = self.config.assembly.core_posts.max(1);
        let core_of = |ps: &[&RestorePost]| self.core_of_posts(ps);
        // The old story's core is its first posts: made again only when one of them moved.
        let (kept_core, kept_terms) = if posts.iter().take(core_posts).any(|p| moved.contains(&p.id)) {
            let c = core_of(&stay);
            let t = self.assembler.index_terms_of(&c);
            (c, t)
        } else {
            (a.centroid.clone(), a.index_terms.clone())
        };
        let new_core = core_of(&out);
        let new_terms = self.assembler.index_terms_of(&new_core);
        let records = [
            record_of(story, a.status, eval_now, &kept, &kept_meta, kept_core, kept_terms),
            record_of(new_id, a.status, eval_now, &new, &new_meta, new_core, new_terms),
        ];
        let edit = StoryEdit {
            kind: EditKind::Split,
            story,
            other: new_id,
            posts: moved.into_iter().collect(),
            reason,
            actor: actor.to_string(),
            at: now,
        };
        let id = story_edit::apply(&mut data.store, &edit, &records, &alerts).map_err(refusal)?;
        self.reload(&data)?;
        tracing::info!(
            story,
            new_story = new_id,
            moved = edit.posts.len(),
            actor,
            "posts moved out of a story by hand"
        );
        Ok(StoryEditOutcome { edit: id, story: new_id, alerts })
    }

    /// The core a story of these stored posts (in joining order) would have: its first
    /// `core_posts` analyzed again and weighed by the stream as it is now (`Assembler::core_of`).
    fn core_of_posts(&self, posts: &[&RestorePost]) -> Vec<(u64, f32)> {
        // Only the posts that enter the core are analyzed again (a split story may hold thousands).
        let (mut size, mut anchored) = (0, false);
        let mut features: Vec<yuqing_core::PostFeatures> = Vec::new();
        for p in posts {
            if size >= self.config.assembly.core_posts.max(1) {
                break;
            }
            let (title, text) = (matching_form(&p.title), matching_form(&p.text));
            let noise = yuqing_text::noise::classify(&title, &text);
            let anchor = restored_anchor(p, &title, &text, &self.locator.locate(&title, &text), noise);
            let enters = self.assembler.enters_core(size, anchored, anchor);
            anchored |= anchor;
            if enters {
                size += 1;
                features.push(self.analyzer.analyze(&p.title, &p.text, &p.source).features(p.at, anchor));
            }
        }
        self.assembler.core_of(&features)
    }

    /// Re-grades a story changed by hand; the alert when its grade rose.
    fn regrade_edited(&self, story: i64, tracker: &mut StoryTracker, eval_now: DateTime<Utc>) -> Vec<NewAlert> {
        let key_period = self.config.key_period_at(eval_now);
        tracker.like_false_alarm = nearest_false_alarm(&self.relevance, &self.assembler, story);
        tracker
            .regrade(eval_now, &self.config.grading, key_period)
            .map(|c| NewAlert { story_id: story, from: c.from, to: c.to, reasons: c.reasons, at: eval_now })
            .into_iter()
            .collect()
    }

    /// Rebuilds the in-memory state from the store, as a restart would.
    fn reload(&mut self, data: &DataDir) -> Result<(), PipelineError> {
        let Resumed { assembler, trackers, meta, relevance, next_post_id } =
            resume(data, &self.config, &self.analyzer, &self.locator)?;
        self.assembler = assembler;
        self.trackers = trackers;
        self.meta = meta;
        self.relevance = relevance;
        self.next_post_id = next_post_id;
        Ok(())
    }

    /// Counts the posts of another data directory published before `until` into the hourly
    /// volumes of watch rules and topics (a backtest starts its replay with the baselines the
    /// live pipeline had; the posts' stored rule hits are counted, not the rules in force).
    pub fn seed_volumes(
        &mut self,
        source: &yuqing_store::Connection,
        until: DateTime<Utc>,
    ) -> Result<(), PipelineError> {
        count_volumes(&mut self.volumes, source, until, until, Utc::now())
    }

    /// Raises (or clears) a story's grade by hand, with the person's reason; re-grades it now and
    /// records an alert when the grade rises.
    pub fn set_manual_grade(
        &mut self,
        story: i64,
        grade: Option<(Grade, String)>,
        now: DateTime<Utc>,
    ) -> Result<Option<NewAlert>, PipelineError> {
        let shared = self.data.clone();
        let mut data = lock(&shared);
        if grade.is_some() && false_alarm::of_story(data.store.connection(), story)?.is_some() {
            return Err(PipelineError::Refused(format!("舆情事件 #{story} 已标记为误报；如需定级，请先撤销误报标记")));
        }
        if !data.store.set_manual_grade(story, grade.clone())? {
            return Err(PipelineError::NoSuchStory(story));
        }
        let mut batch = WriteBatch::default();
        let mut alert = None;
        if let Some(tracker) = self.trackers.get_mut(&story) {
            tracker.manual = grade;
            tracker.like_false_alarm = nearest_false_alarm(&self.relevance, &self.assembler, story);
            let eval_now = self.assembler.clock().map_or(now, |c| c.min(now));
            let key_period = self.config.key_period_at(eval_now).map(str::to_string);
            if let Some(change) = tracker.regrade(eval_now, &self.config.grading, key_period.as_deref()) {
                let a =
                    NewAlert { story_id: story, from: change.from, to: change.to, reasons: change.reasons, at: now };
                batch.alerts.push(a.clone());
                alert = Some(a);
            }
            if let Some(record) = self.story_record(story, StoryStatus::Open, eval_now) {
                batch.stories.push(record);
            }
        } else if let (Some(mut record), Some((g, why))) = (data.store.story(story)?, grade) {
            // A closed story: its grade is raised on the stored record.
            if record.grade < Some(g) {
                let reason = yuqing_core::GradeReason {
                    grade: g,
                    rule: "manual".into(),
                    detail: format!("人工定级为{}级（{}）：{}", g.as_str(), g.label_zh(), why),
                };
                let a = NewAlert { story_id: story, from: record.grade, to: g, reasons: vec![reason.clone()], at: now };
                record.grade = Some(g);
                record.reasons.insert(0, reason);
                record.manual = Some((g, why));
                batch.alerts.push(a.clone());
                batch.stories.push(record);
                alert = Some(a);
            }
        }
        data.store.write(&batch)?;
        Ok(alert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(i: usize, source: &str, text: &str) -> (usize, PostInput) {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T08:00:00+08:00").expect("valid time");
        (
            i + 1,
            PostInput {
                source: Some(source.into()),
                url: Some(format!("https://example.cn/p/{i}")),
                text: Some(text.into()),
                published_at: Some(at + chrono::Duration::seconds(i as i64)),
                ..Default::default()
            },
        )
    }

    fn water(i: usize) -> String {
        [
            "滨江小区停水三天，居民生活受到严重影响，物业至今没有答复",
            "滨江小区连续停水三天，老人孩子生活困难，物业不接电话",
            "滨江小区停水第三天，居民排队接水，自来水公司说在抢修",
        ][i % 3]
            .to_string()
    }

    fn ad(i: usize) -> String {
        [
            "超市优惠券限时领取，进口零食全场五折包邮",
            "进口零食超市优惠券，全场五折，限时包邮领取",
            "限时领取超市进口零食优惠券，五折包邮",
        ][i % 3]
            .to_string()
    }

    /// One story holding two matters under one hashtag: the stoppage, and advertisements that
    /// borrowed its hashtag. Returns the pipeline, the story and the advertisements' post ids.
    fn mixed_story(dir: &Path) -> (Pipeline, i64, Vec<i64>) {
        let config = Config::parse("", Path::new("yuqing.toml")).expect("empty config");
        let mut pipeline = Pipeline::open(dir, config).expect("open");
        let posts: Vec<(usize, PostInput)> = (0..6)
            .map(|i| {
                let text = if i % 2 == 0 { water(i / 2) } else { ad(i / 2) };
                post(i, "微博", &format!("#滨江小区停水#{text}"))
            })
            .collect();
        let report = pipeline.ingest(posts, Utc::now()).expect("ingest");
        let ids: Vec<i64> = report.stored_ids.iter().map(|(_, id)| *id).collect();
        let data = pipeline.data();
        let story = data.store.posts_by_ids(&ids[..1]).expect("post")[0].story_id;
        let stories: BTreeSet<i64> = data.store.posts_by_ids(&ids).expect("posts").iter().map(|p| p.story_id).collect();
        assert_eq!(stories.len(), 1, "the hashtag holds them together");
        drop(data);
        let ads = ids.iter().skip(1).step_by(2).copied().collect();
        (pipeline, story, ads)
    }

    fn story_of(pipeline: &mut Pipeline, i: usize, text: &str) -> i64 {
        let report = pipeline.ingest(vec![post(i, "论坛", text)], Utc::now()).expect("ingest");
        let id = report.stored_ids[0].1;
        pipeline.data().store.posts_by_ids(&[id]).expect("post")[0].story_id
    }

    /// Posts moved out by hand form a new story, later posts like them join it, and a restart
    /// right after the split assigns the next post as the running pipeline does.
    #[test]
    fn a_split_story_keeps_its_new_shape_for_later_posts_and_across_a_restart() {
        let later = "超市进口零食优惠券限时领取，全场五折包邮，数量有限";
        let (running, restarted) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let mut outcomes = Vec::new();
        for (dir, restart) in [(&running, false), (&restarted, true)] {
            let (mut pipeline, story, ads) = mixed_story(dir.path());
            let done =
                pipeline.split_story(story, &ads, "广告借用话题，不是停水这件事", "office", Utc::now()).expect("split");
            assert_ne!(done.story, story);
            if restart {
                drop(pipeline);
                pipeline = Pipeline::open(dir.path(), Config::parse("", Path::new("yuqing.toml")).expect("config"))
                    .expect("reopen");
            }
            let joined = story_of(&mut pipeline, 50, later);
            assert_eq!(joined, done.story, "an advertisement like the moved posts joins the new story");
            let data = pipeline.data();
            let old = data.store.story(story).expect("read").expect("old story");
            let new = data.store.story(done.story).expect("read").expect("new story");
            assert_eq!((old.posts, new.posts), (3, 4));
            assert!(old.title.contains("停水"), "{}", old.title);
            let edits = yuqing_store::story_edit::edits_of(data.store.connection(), story).expect("edits");
            assert_eq!(edits.len(), 1);
            outcomes.push((story, done.story, joined, new.centroid.clone(), old.centroid.clone()));
        }
        assert_eq!(outcomes[0], outcomes[1], "a restart changes nothing");
    }

    /// A merge by hand: posts like either story's first posts join the merged story; the merged
    /// id leads to it; a restart changes nothing; refusals name the problem and change nothing.
    #[test]
    fn a_merged_story_takes_posts_like_either_part_and_refusals_change_nothing() {
        let (running, restarted) = (tempfile::tempdir().expect("dir"), tempfile::tempdir().expect("dir"));
        let mut outcomes = Vec::new();
        for (dir, restart) in [(&running, false), (&restarted, true)] {
            let config = Config::parse("", Path::new("yuqing.toml")).expect("empty config");
            let mut pipeline = Pipeline::open(dir.path(), config).expect("open");
            let a = story_of(&mut pipeline, 0, &water(0));
            let b = story_of(&mut pipeline, 1, "自来水公司回应滨江片区管网爆裂抢修进度，预计明晚恢复供水");
            assert_ne!(a, b, "two stories before the merge");
            assert!(matches!(
                pipeline.merge_stories(a, a, "同一件事", "office", Utc::now()),
                Err(PipelineError::Refused(_))
            ));
            assert!(matches!(pipeline.merge_stories(a, b, "  ", "office", Utc::now()), Err(PipelineError::Refused(_))));
            assert!(matches!(
                pipeline.merge_stories(a, 999, "同一件事", "office", Utc::now()),
                Err(PipelineError::NoSuchStory(999))
            ));
            let done = pipeline.merge_stories(a, b, "同一件事：停水与抢修", "office", Utc::now()).expect("merge");
            assert_eq!(done.story, a);
            if restart {
                drop(pipeline);
                pipeline = Pipeline::open(dir.path(), Config::parse("", Path::new("yuqing.toml")).expect("config"))
                    .expect("reopen");
            }
            let like_b = story_of(&mut pipeline, 2, "自来水公司：滨江片区管网爆裂抢修中，预计明晚恢复供水");
            let like_a = story_of(&mut pipeline, 3, "滨江小区停水三天了，居民生活受到严重影响，物业至今没有任何答复");
            assert_eq!((like_a, like_b), (a, a));
            let fresh = story_of(&mut pipeline, 4, "市图书馆新馆下月开放，周末延长开放时间");
            assert!(fresh != a && fresh != b, "a new story never reuses the merged id");
            let data = pipeline.data();
            assert!(data.store.story(b).expect("read").is_none());
            assert_eq!(yuqing_store::story_edit::redirect(data.store.connection(), b).expect("redirect"), Some(a));
            assert_eq!(data.store.story(a).expect("read").expect("merged").posts, 4);
            outcomes.push((a, b, fresh));
        }
        assert_eq!(outcomes[0], outcomes[1], "a restart changes nothing");
    }

    /// The writer commits a batch while the next one is assembled: duplicates of posts in the
    /// batch still being written are found all the same, by key and by content.
    #[test]
    fn duplicates_of_the_batch_still_being_written_are_found() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config::parse("", Path::new("yuqing.toml")).expect("empty config");
        let mut pipeline = Pipeline::open(dir.path(), config).expect("open");
        let mut posts: Vec<(usize, PostInput)> =
            (0..BATCH).map(|i| post(i, "论坛", &format!("第{i}号帖子：小区门口道路维修进度如何"))).collect();
        // In the second batch: the first post again (same source and URL), and the text of the
        // sixth on another site (a copy, stored and linked to its original).
        posts.push(post(0, "论坛", "第0号帖子：小区门口道路维修进度如何"));
        let mut copy = post(BATCH + 1, "微博", "第5号帖子：小区门口道路维修进度如何");
        copy.0 = BATCH + 2;
        posts.push(copy);
        let report = pipeline.ingest(posts, Utc::now()).expect("ingest");
        assert_eq!((report.read, report.stored, report.duplicates), (BATCH + 2, BATCH + 1, 1));
        let (_, copy_id) = *report.stored_ids.last().expect("the copy is stored");
        let (_, sixth_id) = report.stored_ids[5];
        let data = pipeline.data();
        let stored = data.store.posts_by_ids(&[copy_id]).expect("read back");
        assert_eq!(stored[0].duplicate_of, Some(sixth_id));
        assert_eq!(data.store.stats().expect("stats").posts, (BATCH + 1) as u64);
    }

    /// The database committed, then the full-text index could not (its meta.json cannot be
    /// replaced, as on a full disk): the posts stay stored, and the index is brought back to what
    /// the database holds instead of keeping a hole.
    #[test]
    fn an_index_that_fails_after_the_commit_catches_up_from_the_database() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config::parse("", Path::new("yuqing.toml")).expect("empty config");
        let mut pipeline = Pipeline::open(dir.path(), config).expect("open");
        pipeline.ingest(vec![post(0, "论坛", "滨江路积水严重，车辆无法通行")], Utc::now()).expect("first");
        pipeline.flush().expect("flush");
        let meta = dir.path().join("fts").join("meta.json");
        std::fs::remove_file(&meta).expect("remove meta");
        std::fs::create_dir_all(meta.join("blocked")).expect("block meta");
        let report = pipeline
            .ingest((1..6).map(|i| post(i, "论坛", &format!("第{i}号楼供暖管道漏水"))).collect(), Utc::now())
            .expect("stored");
        assert_eq!(report.stored, 5);
        // Whether this flush manages to catch up or leaves it to the next, the posts are stored
        // and no post is missing from the index for good.
        let _ = pipeline.flush();
        pipeline.ingest(vec![post(9, "微博", "供暖恢复")], Utc::now()).expect("later");
        pipeline.flush().expect("the index catches up");
        assert!(!pipeline.index_behind());
        let data = pipeline.data();
        assert_eq!(data.store.stats().expect("stats").posts, 7);
        assert_eq!(data.fts.search("漏水", 100, 0).expect("search").total, 5);
        assert_eq!(data.fts.num_docs(), 7, "each post once in the index");
    }

    /// A batch the database refuses leaves nothing behind: not in memory (the same posts are stored
    /// on the next try, under the ids the database gives next), not in the full-text index.
    #[test]
    fn a_failed_write_leaves_memory_and_index_as_the_database_says() {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config::parse("", Path::new("yuqing.toml")).expect("empty config");
        let mut pipeline = Pipeline::open(dir.path(), config.clone()).expect("open");
        let first =
            vec![post(0, "论坛", "滨江路积水严重，车辆无法通行"), post(1, "论坛", "新区学校食堂饭菜质量引发家长关注")];
        pipeline.ingest(first, Utc::now()).expect("first ingest");
        pipeline.flush().expect("flush");

        // The database refuses any post that mentions 停电 (as a full disk would refuse them all).
        let db = yuqing_store::Connection::open(dir.path().join("yuqing.db")).expect("db");
        db.execute_batch(
            "CREATE TRIGGER refuse BEFORE INSERT ON posts WHEN NEW.text LIKE '%停电%' \
             BEGIN SELECT RAISE(ABORT, 'refused'); END;",
        )
        .expect("trigger");
        let second =
            || vec![post(2, "微博", "滨江路积水严重，车辆无法通行，已经两天了"), post(3, "微博", "城东片区突然停电")];
        assert!(pipeline.ingest(second(), Utc::now()).is_err(), "the refused batch fails");
        pipeline.flush().expect("flush after the failure");

        db.execute_batch("DROP TRIGGER refuse;").expect("drop trigger");
        let report = pipeline.ingest(second(), Utc::now()).expect("the same posts again");
        pipeline.flush().expect("flush");
        assert_eq!((report.stored, report.duplicates), (2, 0), "nothing of the failed batch was kept");
        let ids: Vec<i64> = report.stored_ids.iter().map(|(_, id)| *id).collect();
        assert_eq!(ids, vec![3, 4], "ids continue from the database");

        let data = pipeline.data();
        for query in ["停电", "积水"] {
            let hits = data.fts.search(query, 100, 0).expect("search");
            let stored = data.store.posts_by_ids(&hits.ids).expect("posts");
            assert_eq!(stored.len(), hits.ids.len(), "every hit for {query} is a stored post: {:?}", hits.ids);
            assert_eq!(hits.total, hits.ids.len());
        }
        assert_eq!(data.fts.search("停电", 100, 0).expect("search").ids, vec![4]);
        // The story of the flooded road counts its posts as stored, not the failed attempt too.
        let repost = data.store.posts_by_ids(&[3]).expect("post")[0].clone();
        let story = data.store.story(repost.story_id).expect("story").expect("stored story");
        let members = data.store.story_posts(repost.story_id, 100, 0).expect("members");
        assert_eq!(story.posts as usize, members.items.len());
    }
}
