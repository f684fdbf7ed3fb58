//! The data directory: `yuqing.db` (SQLite), `fts/` (full-text index) and `yuqing.lock`, which
//! keeps a second process from writing the same directory.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use yuqing_text::{matching_form, Segmenter};

use crate::fts::FullTextIndex;
use crate::sqlite::SqliteStore;
use crate::{Result, Store, StoreError};

pub struct DataDir {
    pub store: SqliteStore,
    pub fts: FullTextIndex,
    path: PathBuf,
    _lock: File,
    /// Noise verdicts of the dashboard's last window (see [`crate::dashboard::NoiseCache`]).
    noise: std::sync::Mutex<crate::dashboard::NoiseCache>,
}

impl DataDir {
    /// Opens or creates the data directory, takes its lock, migrates the database and brings the
    /// full-text index up to date with it.
    pub fn open(path: &Path, segmenter: Arc<Segmenter>) -> Result<DataDir> {
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |e: std::io::Error| StoreError::Io { path: p, source: e }
        };
        std::fs::create_dir_all(path).map_err(io(path))?;
        let lock_path = path.join("yuqing.lock");
        let lock = File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(path.to_path_buf())),
            Err(std::fs::TryLockError::Error(e)) => return Err(io(&lock_path)(e)),
        }
        let store = SqliteStore::open(&path.join("yuqing.db"))?;
        let fts = FullTextIndex::open(&path.join("fts"), segmenter)?;
        let mut dir = DataDir { store, fts, path: path.to_path_buf(), _lock: lock, noise: Default::default() };
        dir.catch_up_index()?;
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The dashboard's pictures over `[since, until]` ([`crate::dashboard::pictures`]), classifying
    /// only posts this data directory has not classified for them before.
    pub fn dashboard_pictures(
        &self,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<crate::dashboard::Pictures> {
        let mut cache = self.noise.lock().unwrap_or_else(|e| e.into_inner());
        crate::dashboard::pictures_with(
            self.store.connection(),
            since,
            until,
            crate::dashboard::PICTURE_POSTS,
            &mut cache,
        )
    }

    /// Indexes posts the database has but the index does not (after a crash between the two).
    pub fn catch_up_index(&mut self) -> Result<usize> {
        let mut after = self.fts.committed_upto();
        let mut added = 0;
        loop {
            let posts = self.store.posts_after(after, 5000)?;
            if posts.is_empty() {
                break;
            }
            for p in &posts {
                self.fts.add(
                    p.id,
                    p.published_at.timestamp(),
                    &matching_form(&p.title),
                    &matching_form(&p.text),
                    &p.source,
                )?;
                after = p.id;
            }
            added += posts.len();
        }
        if added > 0 {
            tracing::info!(posts = added, "full-text index caught up with the database");
            self.fts.commit()?;
        }
        Ok(added)
    }
}
