//! One run of one source: fetch (network, no lock held), decode, extract → what would be ingested.
//! `run` then stores the evidence, hands the new posts to the intake (the ingest path), links posts to
//! their snapshots and records cursors and health — in that order, so that a crash at any point
//! loses nothing and duplicates nothing: cursors move only after the posts are stored, and a
//! re-fetch of stored items is recognised by their canonical URL (or, without one, by the
//! pipeline's own key).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use yuqing_core::input::{self, Format};
use yuqing_core::intake::Intake;
use yuqing_core::PostInput;
use yuqing_store::collect::{self as records, FetchRecord, SnapshotMeta, SourceState};
use yuqing_store::DataDir;

use crate::extract::{self, Extracted};
use crate::fetch::{FetchError, Fetcher, Request, Response};
use crate::source::{SearchFormat, Source, SourceKind};
use yuqing_core::encoding;

/// Raw evidence of one fetch.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub url: String,
    pub final_url: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub bytes: Vec<u8>,
}

impl Evidence {
    fn of(r: &Response) -> Evidence {
        Evidence {
            url: r.url.clone(),
            final_url: r.final_url.clone(),
            status: r.status,
            content_type: r.content_type.clone(),
            fetched_at: r.fetched_at,
            bytes: r.body.clone(),
        }
    }
}

/// A post with the index of the evidence it came from.
#[derive(Debug, Clone)]
pub struct Item {
    pub post: PostInput,
    pub evidence: Option<usize>,
}

/// What one run fetched and extracted.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    pub items: Vec<Item>,
    pub evidence: Vec<Evidence>,
    /// Errors that did not stop the run (a broken item, an article page that failed).
    pub errors: Vec<String>,
    /// 304 on the main URL: nothing new.
    pub not_modified: bool,
    pub status: Option<u16>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Drop-folder files read (path, sha256), to mark done once stored.
    pub files: Vec<(PathBuf, String)>,
}

/// Where the keywords of a search source come from.
pub fn search_keywords(src: &Source, rule_phrases: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let base = if src.keywords.is_empty() { rule_phrases } else { &src.keywords };
    for k in base {
        let k = k.trim();
        if !k.is_empty() && !out.iter().any(|x| x == k) {
            out.push(k.to_string());
        }
    }
    out.truncate(src.max_keywords.unwrap_or(20));
    out
}

/// The phrases a watch rule needs to be present (not under `!`, not `source:`), for search URLs.
pub fn rule_phrases(rules: &[yuqing_text::rules::RuleDef]) -> Vec<String> {
    use yuqing_text::rules::{Field, Rule};
    fn walk(r: &Rule, out: &mut Vec<String>) {
        match r {
            Rule::Phrase { field, text } if *field != Field::Source => out.push(text.clone()),
            Rule::Near { field, left, right, .. } if *field != Field::Source => out.push(format!("{left} {right}")),
            Rule::And(items) | Rule::Or(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for d in rules {
        if let Ok(r) = yuqing_text::rules::parse(&d.expr) {
            walk(&r, &mut out);
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

fn request(src: &Source, url: &str, state: Option<&SourceState>) -> Request {
    Request {
        url: url.to_string(),
        etag: state.and_then(|s| s.etag.clone()),
        last_modified: state.and_then(|s| s.last_modified.clone()),
        max_bytes: src.max_bytes(),
        timeout: src.timeout(),
        ignore_robots: src.ignore_robots.is_some(),
    }
}

fn decode(r: &Response) -> Result<String, String> {
    encoding::decode(r.content_type.as_deref(), &r.body).map(|(t, _)| t).map_err(|e| format!("{}：{e}", r.final_url))
}

fn absorb(out: &mut Collected, ex: Extracted, evidence: usize) {
    out.items.extend(ex.posts.into_iter().map(|post| Item { post, evidence: Some(evidence) }));
    out.errors.extend(ex.errors);
}

/// Fetches and extracts one source once. `known` tells whether a canonical URL is stored already
/// (article pages of stored links are not fetched again). The main URL failing is an error; the
/// rest (items, article pages, keywords) become `errors` in the result.
pub async fn collect(
    fetcher: &Fetcher,
    src: &Source,
    state: Option<&SourceState>,
    rule_phrases: &[String],
    known: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Collected, String> {
    let mut out = Collected::default();
    match src.kind {
        SourceKind::Folder => return collect_folder(src, known_file_never).map_err(|e| e.to_string()),
        SourceKind::Feed | SourceKind::Json | SourceKind::Html => {
            let r = fetcher.fetch(&request(src, &src.url, state)).await.map_err(|e| e.to_string())?;
            out.status = Some(r.status);
            out.etag = r.etag.clone();
            out.last_modified = r.last_modified.clone();
            if r.not_modified {
                out.not_modified = true;
                return Ok(out);
            }
            let text = decode(&r)?;
            let ev = out.evidence.len();
            out.evidence.push(Evidence::of(&r));
            match src.kind {
                SourceKind::Feed => feed_items(fetcher, src, &text, &r, ev, known, &mut out).await,
                SourceKind::Json => absorb(&mut out, extract::json_items(&text, &r.final_url, &src.fields, src), ev),
                _ => articles(fetcher, src, &text, &r.final_url, known, &mut out).await?,
            }
        }
        SourceKind::Search => {
            let keywords = search_keywords(src, rule_phrases);
            if keywords.is_empty() {
                return Err("站内搜索没有关键词：请配置监测规则或在信息源上设置 keywords".into());
            }
            let mut failures = Vec::new();
            for k in &keywords {
                let url = src.url.replace("{keyword}", &urlencode(k));
                let r = match fetcher.fetch(&request(src, &url, None)).await {
                    Ok(r) => r,
                    Err(e) => {
                        failures.push(format!("关键词“{k}”：{e}"));
                        continue;
                    }
                };
                out.status = Some(r.status);
                let text = match decode(&r) {
                    Ok(t) => t,
                    Err(e) => {
                        failures.push(e);
                        continue;
                    }
                };
                let ev = out.evidence.len();
                out.evidence.push(Evidence::of(&r));
                match src.format {
                    SearchFormat::Feed => feed_items(fetcher, src, &text, &r, ev, known, &mut out).await,
                    SearchFormat::Json => {
                        absorb(&mut out, extract::json_items(&text, &r.final_url, &src.fields, src), ev)
                    }
                    SearchFormat::Html => {
                        if let Err(e) = articles(fetcher, src, &text, &r.final_url, known, &mut out).await {
                            failures.push(e);
                        }
                    }
                }
            }
            if failures.len() == keywords.len() {
                return Err(failures.join("；"));
            }
            out.errors.extend(failures);
        }
    }
    Ok(out)
}

fn known_file_never(_: &str) -> bool {
    false
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The items of a feed; those with only a link are fetched as article pages when the source says
/// so (`fetch_articles`, at most `selectors.max_articles` per run, stored links not again), else
/// recorded as skipped. Links resolve against `xml:base`, else Content-Location, else the final URL.
async fn feed_items(
    fetcher: &Fetcher,
    src: &Source,
    text: &str,
    r: &Response,
    ev: usize,
    known: &(dyn Fn(&str) -> bool + Sync),
    out: &mut Collected,
) {
    let read = crate::feed::read(text, &r.base_url(), src);
    out.items.extend(read.posts.into_iter().map(|post| Item { post, evidence: Some(ev) }));
    out.errors.extend(read.errors);
    if !src.fetch_articles {
        out.errors.extend(read.link_only.iter().map(crate::feed::link_only_skipped));
        return;
    }
    let max = src.selectors.max_articles.unwrap_or(20);
    let todo: Vec<PostInput> =
        read.link_only.into_iter().filter(|p| p.url.as_deref().is_some_and(|u| !known(u))).collect();
    if todo.len() > max {
        out.errors
            .push(format!("订阅源中有 {} 个只有链接的条目，本次抓取其中 {max} 个文章页，其余留待下次", todo.len()));
    }
    for stub in todo.into_iter().take(max) {
        let Some(link) = stub.url.clone() else { continue };
        if let Some((mut post, ev)) = article_page(fetcher, src, &link, out).await {
            // What the feed said of the item stands where the page says nothing.
            post.published_at = post.published_at.or(stub.published_at);
            post.author = post.author.or(stub.author);
            out.items.push(Item { post, evidence: Some(ev) });
        }
    }
}

/// Fetches, decodes and extracts one article page; failures become errors of the run.
async fn article_page(fetcher: &Fetcher, src: &Source, link: &str, out: &mut Collected) -> Option<(PostInput, usize)> {
    let r = match fetcher.fetch(&request(src, link, None)).await {
        Ok(r) => r,
        Err(e) => {
            out.errors.push(format!("文章页 {link}：{e}"));
            return None;
        }
    };
    let text = match decode(&r) {
        Ok(t) => t,
        Err(e) => {
            out.errors.push(e);
            return None;
        }
    };
    match extract::article(&text, link, &src.selectors, src) {
        Ok(post) => {
            let ev = out.evidence.len();
            out.evidence.push(Evidence::of(&r));
            Some((post, ev))
        }
        Err(e) => {
            out.errors.push(e);
            None
        }
    }
}

/// The article pages behind a list page's links (those not stored yet, at most `max_articles`).
async fn articles(
    fetcher: &Fetcher,
    src: &Source,
    list: &str,
    base: &str,
    known: &(dyn Fn(&str) -> bool + Sync),
    out: &mut Collected,
) -> Result<(), String> {
    let links = extract::html_links(list, base, &src.selectors.links)?;
    if links.is_empty() {
        out.errors.push(format!("列表页 {base} 中没有找到与 selectors.links 匹配的链接"));
    }
    let max = src.selectors.max_articles.unwrap_or(20);
    for link in links.into_iter().filter(|l| !known(l)).take(max) {
        if let Some((post, ev)) = article_page(fetcher, src, &link, out).await {
            out.items.push(Item { post, evidence: Some(ev) });
        }
    }
    Ok(())
}

/// The files of a drop folder (JSONL/CSV; not in subfolders), oldest first. Files whose contents
/// were read already (`done`) are moved to `done/` without reading them again.
pub fn collect_folder(src: &Source, done: impl Fn(&str) -> bool) -> std::io::Result<Collected> {
    let dir = Path::new(src.url.trim());
    let mut out = Collected::default();
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type()?.is_file() || name.starts_with('.') || Format::from_path_hint(&name).is_none() {
            continue;
        }
        files.push((entry.metadata()?.modified().unwrap_or(std::time::UNIX_EPOCH), path));
    }
    files.sort();
    for (_, path) in files {
        let bytes = std::fs::read(&path)?;
        let sha = yuqing_store::collect::sha256_hex(&bytes);
        if done(&sha) {
            out.files.push((path, sha));
            continue;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let format = Format::from_path_hint(&name).unwrap_or_else(|| Format::sniff(&bytes));
        let parsed = match input::parse(&bytes, format) {
            Ok(p) => p,
            Err(e) => {
                out.errors.push(format!("{name}：{e}"));
                out.files.push((path, sha));
                continue;
            }
        };
        let ev = out.evidence.len();
        out.evidence.push(Evidence {
            url: format!("file://{}", path.display()),
            final_url: format!("file://{}", path.display()),
            status: 200,
            content_type: Some(if format == Format::Csv { "text/csv".into() } else { "application/x-ndjson".into() }),
            fetched_at: Utc::now(),
            bytes,
        });
        for r in parsed.rejected {
            out.errors.push(format!("{name} 第 {} 行：{}", r.line, r.reason));
        }
        for (_, mut post) in parsed.posts {
            if post.source.as_deref().is_none_or(|s| s.trim().is_empty()) {
                post.source = Some(src.name.clone());
            }
            if post.tier.is_none() {
                post.tier = Some(src.tier);
            }
            out.items.push(Item { post, evidence: Some(ev) });
        }
        out.files.push((path, sha));
    }
    Ok(out)
}

/// Who hears that a source keeps failing: the coordinators, through the desk (信息源异常).
pub trait SourceAlarm: Send + Sync {
    /// A source failed `state.consecutive_failures` times in a row: raise 信息源异常 to the
    /// coordinators. Blocking.
    fn source_failing(&self, src: &Source, state: &SourceState)
        -> Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// What one run did (for logs, health and `sources test`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RunReport {
    pub source: String,
    pub ok: bool,
    pub not_modified: bool,
    pub items: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub snapshots: usize,
    pub errors: Vec<String>,
    pub millis: u64,
}

fn lock(data: &Mutex<DataDir>) -> MutexGuard<'_, DataDir> {
    yuqing_store::guard::lock(data)
}

/// The phrases of the watch rules in force ([`rule_phrases`]), asked again before each run of a
/// search source, so a rule edited on the 监测规则 page changes what is searched at the next run.
pub type RulePhrases = Arc<dyn Fn() -> Vec<String> + Send + Sync>;

/// The shared context of runs.
pub struct Context {
    pub fetcher: Arc<Fetcher>,
    pub data: Arc<Mutex<DataDir>>,
    /// Where new posts go: the ingest path (analysis, stories, grades, alerts).
    pub intake: Arc<dyn Intake>,
    pub alarm: Arc<dyn SourceAlarm>,
    pub rule_phrases: RulePhrases,
}

impl Context {
    fn snapshot_dir(&self) -> PathBuf {
        lock(&self.data).path().join("snapshots")
    }

    /// Runs a blocking closure on the data directory without blocking the async runtime.
    async fn with_data<T: Send + 'static>(&self, f: impl FnOnce(&DataDir) -> T + Send + 'static) -> Result<T, String> {
        let data = self.data.clone();
        tokio::task::spawn_blocking(move || f(&lock(&data))).await.map_err(|e| e.to_string())
    }
}

/// One full run of a source: collect, store what is new, record health.
pub async fn run(ctx: &Context, src: &Source) -> RunReport {
    let started = Instant::now();
    let id = src.id.clone();
    let mut state = match ctx
        .with_data({
            let id = id.clone();
            move |d| records::state(d.store.connection(), &id)
        })
        .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return RunReport { source: id, errors: vec![e.to_string()], ..Default::default() },
        Err(e) => return RunReport { source: id, errors: vec![e], ..Default::default() },
    };
    let result = if src.kind == SourceKind::Folder {
        let data = ctx.data.clone();
        let s = src.clone();
        tokio::task::spawn_blocking(move || {
            collect_folder(&s, |sha| records::file_done(lock(&data).store.connection(), sha).unwrap_or(false))
                .map_err(|e| format!("投放目录 {}：{e}", s.url))
        })
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
    } else {
        let data = ctx.data.clone();
        // A short SQLite lookup under the data lock, told to the runtime as blocking work.
        let known = move |url: &str| {
            let query =
                || records::posts_with_url(lock(&data).store.connection(), url).map(|v| !v.is_empty()).unwrap_or(false);
            match tokio::runtime::Handle::try_current() {
                Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                    tokio::task::block_in_place(query)
                }
                _ => query(),
            }
        };
        let phrases = if src.kind == SourceKind::Search {
            let f = ctx.rule_phrases.clone();
            tokio::task::spawn_blocking(move || f()).await.unwrap_or_default()
        } else {
            Vec::new()
        };
        collect(&ctx.fetcher, src, Some(&state), &phrases, &known).await
    };
    let mut report = RunReport { source: id.clone(), ..Default::default() };
    let now = Utc::now();
    state.last_attempt_at = Some(now);
    match result {
        Ok(collected) => match store(ctx, src, collected, &mut report).await {
            Ok(c) => {
                report.ok = true;
                if !c.not_modified && (c.etag.is_some() || c.last_modified.is_some()) {
                    state.etag = c.etag;
                    state.last_modified = c.last_modified;
                }
                state.last_success_at = Some(now);
                state.consecutive_failures = 0;
                state.alerted_at = None;
                state.last_error = report.errors.first().cloned();
            }
            Err(e) => report.errors.insert(0, e),
        },
        Err(e) => report.errors.insert(0, e),
    }
    if !report.ok {
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        state.last_error = report.errors.first().cloned();
    }
    report.millis = started.elapsed().as_millis() as u64;
    let alert_after = ctx.fetcher.config().alert_after_failures.max(1);
    let must_alert = !report.ok && state.consecutive_failures >= alert_after && state.alerted_at.is_none();
    if must_alert {
        state.alerted_at = Some(now);
    }
    let fetch = FetchRecord {
        source_id: id.clone(),
        at: now,
        ok: report.ok,
        status: None,
        millis: report.millis,
        items: report.items as u32,
        stored: report.stored as u32,
        error: report.errors.first().cloned(),
    };
    let st = state.clone();
    if let Ok(Err(e)) | Err(e) = ctx
        .with_data(move |d| {
            let conn = d.store.connection();
            records::put_state(conn, &st).and_then(|_| records::record_fetch(conn, &fetch)).map_err(|e| e.to_string())
        })
        .await
        .map(|r| r.map_err(|e| e.to_string()))
    {
        tracing::error!(source = %id, error = %e, "could not record the source's state");
    }
    if must_alert {
        let (alarm, s, st) = (ctx.alarm.clone(), src.clone(), state.clone());
        match tokio::task::spawn_blocking(move || alarm.source_failing(&s, &st)).await {
            Ok(Ok(())) => {
                tracing::warn!(source = %id, failures = state.consecutive_failures, "source failing; coordinators alerted")
            }
            Ok(Err(e)) => tracing::error!(source = %id, error = %e, "could not raise the source alert"),
            Err(e) => tracing::error!(source = %id, error = %e, "source alert panicked"),
        }
    }
    report
}

/// Stores what a run collected; returns it back (for its cursors).
async fn store(ctx: &Context, src: &Source, mut c: Collected, report: &mut RunReport) -> Result<Collected, String> {
    report.not_modified = c.not_modified;
    report.items = c.items.len();
    report.errors.extend(c.errors.iter().cloned());
    let items = std::mem::take(&mut c.items);
    let evidence = std::mem::take(&mut c.evidence);
    let files = std::mem::take(&mut c.files);
    let snap_dir = ctx.snapshot_dir();
    let source_id = src.id.clone();
    let intake = ctx.intake.clone();
    let data = ctx.data.clone();
    let (stored, duplicates, snapshots) =
        tokio::task::spawn_blocking(move || -> Result<(usize, usize, usize), String> {
            // Items already stored (by canonical URL, from any source) or repeated within the run.
            let mut fresh: Vec<Item> = Vec::new();
            let mut duplicates = 0;
            let mut dup_links: Vec<(usize, i64)> = Vec::new();
            let stale = Utc::now() - chrono::Duration::days(7);
            {
                let d = lock(&data);
                let conn = d.store.connection();
                // Links noted before a crash whose posts were stored are made now.
                records::settle_pending_links(conn, stale).map_err(|e| e.to_string())?;
                let mut urls = std::collections::HashSet::new();
                for item in items {
                    if let Some(u) = item.post.url.as_deref() {
                        if !urls.insert(u.to_string()) {
                            duplicates += 1;
                            continue;
                        }
                        let existing = records::posts_with_url(conn, u).map_err(|e| e.to_string())?;
                        if let Some(first) = existing.first() {
                            duplicates += 1;
                            // Repair a link a crash may have lost between storing and linking.
                            if let Some(ev) = item.evidence {
                                dup_links.push((ev, *first));
                            }
                            continue;
                        }
                    }
                    fresh.push(item);
                }
            }
            // Evidence is stored for fetches that yield new posts (content-addressed: repeats cost nothing).
            let mut shas: Vec<Option<String>> = vec![None; evidence.len()];
            {
                let d = lock(&data);
                let conn = d.store.connection();
                // One fetch's bytes kept as a snapshot; its sha256.
                let store_evidence = |ev: usize| -> Result<String, String> {
                    let e = &evidence[ev];
                    let meta = SnapshotMeta {
                        sha256: String::new(),
                        url: e.url.clone(),
                        final_url: e.final_url.clone(),
                        status: e.status,
                        content_type: e.content_type.clone(),
                        fetched_at: e.fetched_at,
                        size: e.bytes.len() as u64,
                        source_id: Some(source_id.clone()),
                    };
                    records::put_snapshot(conn, &snap_dir, &meta, &e.bytes).map_err(|e| e.to_string())
                };
                for item in &fresh {
                    let Some(ev) = item.evidence else { continue };
                    if shas[ev].is_some() {
                        continue;
                    }
                    shas[ev] = Some(store_evidence(ev)?);
                }
                // Noted before the pipeline stores the posts: a crash after its commit and before the
                // links below leaves notes that the next run settles.
                let notes: Vec<(String, String)> =
                    fresh.iter().filter_map(|i| Some((i.post.url.clone()?, shas[i.evidence?].clone()?))).collect();
                records::note_pending_links(conn, &notes, Utc::now()).map_err(|e| e.to_string())?;
                for (ev, post) in &dup_links {
                    if let Some(sha) = &shas[*ev] {
                        records::link_posts(conn, &[*post], sha).map_err(|e| e.to_string())?;
                    } else if records::snapshots_of_posts(conn, &[*post]).map_err(|e| e.to_string())?.is_empty() {
                        let sha = store_evidence(*ev)?;
                        records::link_posts(conn, &[*post], &sha).map_err(|e| e.to_string())?;
                    }
                }
            }
            let evidence_of: Vec<Option<usize>> = fresh.iter().map(|i| i.evidence).collect();
            let posts: Vec<(usize, PostInput)> = fresh.into_iter().map(|i| i.post).enumerate().collect();
            let offered = posts.len();
            let stored_ids =
                if posts.is_empty() { Vec::new() } else { intake.ingest(posts).map_err(|e| e.to_string())?.stored };
            duplicates += offered - stored_ids.len();
            {
                let d = lock(&data);
                let conn = d.store.connection();
                for (index, post_id) in &stored_ids {
                    if let Some(Some(ev)) = evidence_of.get(*index) {
                        if let Some(sha) = &shas[*ev] {
                            records::link_posts(conn, &[*post_id], sha).map_err(|e| e.to_string())?;
                        }
                    }
                }
                records::settle_pending_links(conn, stale).map_err(|e| e.to_string())?;
                let now = Utc::now();
                for (path, sha) in &files {
                    records::mark_file_done(conn, &path.display().to_string(), sha, now).map_err(|e| e.to_string())?;
                }
            }
            // Read files leave the drop folder (into done/), so a restart never reads them again; the
            // recorded hash covers a crash between marking and moving.
            for (path, _) in &files {
                if let (Some(dir), Some(name)) = (path.parent(), path.file_name()) {
                    let done = dir.join("done");
                    if let Err(e) = std::fs::create_dir_all(&done).and_then(|_| std::fs::rename(path, done.join(name)))
                    {
                        tracing::warn!(file = %path.display(), error = %e, "could not move a read file to done/");
                    }
                }
            }
            Ok((stored_ids.len(), duplicates, shas.iter().filter(|s| s.is_some()).count()))
        })
        .await
        .map_err(|e| e.to_string())??;
    report.stored = stored;
    report.duplicates = duplicates;
    report.snapshots = snapshots;
    Ok(c)
}

/// Prunes snapshots past the retention that no incident references.
pub fn prune(data: &Mutex<DataDir>, retention: Duration, now: DateTime<Utc>) -> Result<usize, String> {
    if retention.is_zero() {
        return Ok(0);
    }
    // Computed before the lock is taken, and checked: a retention reaching before the earliest
    // representable time keeps everything (nothing is that old) instead of panicking.
    let Some(before) = chrono::Duration::from_std(retention).ok().and_then(|r| now.checked_sub_signed(r)) else {
        return Ok(0);
    };
    let d = lock(data);
    records::prune_snapshots(d.store.connection(), &d.path().join("snapshots"), before).map_err(|e| e.to_string())
}

/// `FetchError` is also what `sources test` prints.
pub fn describe(e: &FetchError) -> String {
    e.to_string()
}
