//! Live ingestion while serving: one owner of the `Pipeline` (behind a mutex) that both the
//! collectors and the push API hand posts to, through the one hand-off ([`Intake`]). The pipeline and the server share the data directory (`Arc<Mutex<DataDir>>`); the pipeline
//! takes the lock per batch, never across a network call. When a batch raises alerts the desk runs
//! at once and the outbox worker is woken, so an alert leaves within seconds rather than at the
//! next tick.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::Utc;
use yuqing_collect::source::parse_source_toml;
use yuqing_collect::{Source, SourceAlarm};
use yuqing_core::intake::{Intake, IntakeError, Receipt, MAX_INTAKE};
use yuqing_core::PostInput;
use yuqing_desk::story_edit::{EditDone, EditError, StoryEditor};
use yuqing_desk::Desk;
use yuqing_store::collect::{self as records, SourceState};
use yuqing_store::{SqliteStore, StoreError};

use crate::config::Config;
use crate::pipeline::{IngestReport, Pipeline, PipelineError, StoryEditOutcome};

pub struct Live {
    pipeline: Mutex<Pipeline>,
    desk: Arc<Desk>,
    waker: Mutex<Option<Arc<tokio::sync::Notify>>>,
}

impl Live {
    pub fn new(pipeline: Pipeline, desk: Arc<Desk>) -> Live {
        Live { pipeline: Mutex::new(pipeline), desk, waker: Mutex::new(None) }
    }

    /// The outbox worker to wake when alerts were raised.
    pub fn set_waker(&self, w: Arc<tokio::sync::Notify>) {
        *self.waker.lock().unwrap_or_else(PoisonError::into_inner) = Some(w);
    }

    fn wake(&self) {
        if let Some(w) = self.waker.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
            w.notify_one();
        }
    }

    /// Loads the watch rules again when they were edited (and hands the desk the new routing).
    fn refresh_rules(&self, p: &mut Pipeline) -> Result<(), IntakeError> {
        if let Some(routing) = p.refresh_rules().map_err(|e| IntakeError::Rules(e.to_string()))? {
            self.desk.set_routing(routing);
        }
        Ok(())
    }

    /// The phrases search sources look for: those of the watch rules in force, edits included.
    pub fn rule_phrases(&self) -> Vec<String> {
        let mut p = self.pipeline.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(e) = self.refresh_rules(&mut p) {
            tracing::error!(error = %e, "could not reload the watch rules; searching with the rules loaded before");
        }
        yuqing_collect::collector::rule_phrases(&p.config().rules)
    }

    /// Runs the desk at once on alerts just raised (by an ingest or a hand edit) and wakes the
    /// outbox, so they leave within seconds rather than at the next tick.
    fn run_desk(&self, p: &Pipeline, now: chrono::DateTime<Utc>) {
        let data = p.data();
        match self.desk.tick_data(&data, now) {
            Ok(r) => tracing::info!(alerts = r.alerts, opened = ?r.opened, "desk ran on new alerts"),
            Err(e) => tracing::error!(error = %e, "desk pass after new alerts failed; the ticker retries"),
        }
        drop(data);
        self.wake();
    }

    /// Ingests posts; `Ok` once they are committed, with what became of each. After the commit
    /// nothing turns the answer into a failure: a full-text index that cannot commit (a full disk)
    /// is logged and catches up from the database at the next flush or on restart.
    fn ingest_posts(&self, posts: Vec<(usize, PostInput)>) -> Result<IngestReport, IntakeError> {
        let now = Utc::now();
        let mut p = self.pipeline.lock().unwrap_or_else(PoisonError::into_inner);
        // Rules saved on the 监测规则 page apply from this batch on, and route to their departments.
        self.refresh_rules(&mut p)?;
        let report = p.ingest(posts, now).map_err(|e| IntakeError::Failed(e.to_string()))?;
        if let Err(e) = p.flush() {
            tracing::error!(error = %e, stored = report.stored, "posts stored, but the full-text index could not commit; it catches up at the next flush or on restart");
        }
        if !report.alerts.is_empty() {
            self.run_desk(&p, now);
        }
        Ok(report)
    }
}

impl Live {
    /// After a hand edit: the desk runs at once on grades it raised, as after an ingest.
    fn edited(&self, p: &Pipeline, done: Result<StoryEditOutcome, PipelineError>) -> Result<EditDone, EditError> {
        let done = done.map_err(edit_error)?;
        if !done.alerts.is_empty() {
            self.run_desk(p, Utc::now());
        }
        Ok(EditDone { edit: done.edit, story: done.story })
    }
}

impl StoryEditor for Live {
    fn merge(&self, into: i64, from: i64, reason: &str, actor: &str) -> Result<EditDone, EditError> {
        let mut p = self.pipeline.lock().unwrap_or_else(PoisonError::into_inner);
        let done = p.merge_stories(into, from, reason, actor, Utc::now());
        self.edited(&p, done)
    }

    fn split(&self, story: i64, posts: &[i64], reason: &str, actor: &str) -> Result<EditDone, EditError> {
        let mut p = self.pipeline.lock().unwrap_or_else(PoisonError::into_inner);
        let done = p.split_story(story, posts, reason, actor, Utc::now());
        self.edited(&p, done)
    }

    fn mark_false_alarm(&self, story: i64, reason: &str, actor: &str) -> Result<(), EditError> {
        let mut p = self.pipeline.lock().unwrap_or_else(PoisonError::into_inner);
        p.mark_false_alarm(story, reason, actor, Utc::now()).map(|_| ()).map_err(edit_error)
    }

    fn withdraw_false_alarm(&self, story: i64, reason: &str, actor: &str) -> Result<(), EditError> {
        let mut p = self.pipeline.lock().unwrap_or_else(PoisonError::into_inner);
        let done = p.withdraw_false_alarm(story, reason, actor, Utc::now()).map_err(edit_error)?;
        if !done.alerts.is_empty() {
            self.run_desk(&p, Utc::now());
        }
        Ok(())
    }

    fn reset_relevance(&self, actor: &str) -> Result<usize, EditError> {
        let mut p = self.pipeline.lock().unwrap_or_else(PoisonError::into_inner);
        p.reset_false_alarm_learning(actor, Utc::now()).map_err(edit_error)
    }
}

/// A pipeline refusal is the person's to read; anything else is the operator's.
fn edit_error(e: PipelineError) -> EditError {
    match e {
        PipelineError::Refused(m) => EditError::Refused(m),
        e @ PipelineError::NoSuchStory(_) => EditError::Refused(e.to_string()),
        e => EditError::Failed(e.to_string()),
    }
}

// One intake call is one pipeline batch, so it is committed whole or not at all (and a push's
// answer says which).
const _: () = assert!(MAX_INTAKE <= crate::pipeline::BATCH);

impl Intake for Live {
    fn ingest(&self, posts: Vec<(usize, PostInput)>) -> Result<Receipt, IntakeError> {
        let report = self.ingest_posts(posts)?;
        Ok(Receipt { stored: report.stored_ids, duplicates: report.duplicate_ids })
    }
}

impl SourceAlarm for Live {
    fn source_failing(
        &self,
        src: &Source,
        state: &SourceState,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let p = self.pipeline.lock().unwrap_or_else(PoisonError::into_inner);
        let data = p.data();
        let subject = format!("【信息源异常】{}（{}）", src.name, src.id);
        let body = format!(
            "信息源“{}”已连续 {} 次采集失败，最近一次错误：{}。{}请检查网址或联系网站。",
            src.name,
            state.consecutive_failures,
            state.last_error.as_deref().unwrap_or("未知"),
            src.department.as_deref().map(|d| format!("责任单位：{d}。")).unwrap_or_default()
        );
        let key = format!("source:{}:failing:{}", src.id, state.alerted_at.map_or(0, |t| t.timestamp()));
        self.desk.notify_coordinators(&data.store, &subject, &body, "/api/v1/sources", &key, Utc::now())?;
        drop(data);
        self.wake();
        Ok(())
    }
}

/// The sources in force: those of the configuration, then those added with `yuqing sources add`
/// (which replace a configured one of the same id), with the switches of `sources disable/enable`.
pub fn sources_from(config: &Config, store: &SqliteStore) -> Result<Vec<Source>, StoreError> {
    let mut out = config.sources.clone();
    for stored in records::sources(store.connection())? {
        if stored.config.trim().is_empty() {
            if let Some(s) = out.iter_mut().find(|s| s.id == stored.id) {
                s.enabled = stored.enabled;
            }
            continue;
        }
        match parse_source_toml(&stored.config) {
            Ok(mut s) => {
                s.enabled = stored.enabled;
                match out.iter_mut().find(|x| x.id == s.id) {
                    Some(x) => *x = s,
                    None => out.push(s),
                }
            }
            Err(e) => tracing::error!(source = %stored.id, error = %e, "a stored source no longer parses; skipped"),
        }
    }
    Ok(out)
}
