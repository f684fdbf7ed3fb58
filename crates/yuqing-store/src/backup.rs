//! Backup and restore of a data directory, also while a server holds it (`yuqing backup`,
//! `yuqing restore`).
//!
//! A backup is a directory:
//!
//! ```text
//! manifest.json            what is in it: counts, schema version, sha256 and size of every file
//! data/yuqing.db           the database, copied with SQLite's online backup API
//! data/fts/…               the full-text index at a commit point (when it could be copied)
//! data/snapshots/xx/…      the snapshots the copied database refers to
//! config/<name>.toml       the configuration file, when there is one
//! ```
//!
//! Consistency without the data directory's lock: the database is copied in one step of the
//! online backup API on a read-only connection, i.e. inside one read transaction, which in WAL mode
//! never blocks the server's writer. The full-text index is copied *before* the database: tantivy's
//! `meta.json` names the segment files of a commit and those files never change once written, so
//! the files it names are a commit point; and since the server commits a batch to SQLite before
//! indexing it, the copied index never holds a post the later database copy lacks (checked again:
//! an index ahead of the database is left out). The index is derived data: whatever it lacks is
//! added from SQLite the first time the restored directory is opened, and when it cannot be copied
//! (files merged away under us five times running) the backup leaves it out and the first open
//! rebuilds it — the manifest says which. Snapshots are content-addressed and immutable: the ones
//! the copied database names are copied and their hashes checked; one pruned by the server while
//! the backup ran is dropped from the copy's tables too, so the copy never points at a missing file.
//! The manifest is written last, under a temporary name and renamed, so a backup without one is
//! unfinished; restore refuses it.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// The manifest's file name in a backup.
pub const MANIFEST: &str = "manifest.json";
/// The layout version of a backup this program writes and reads.
pub const FORMAT: u32 = 1;

/// The schema version this program's migrations reach (a data directory above it is refused).
pub fn supported_schema_version() -> i64 {
    crate::migrations::MIGRATIONS.len() as i64
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("数据库错误（{path}）：{source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("无法访问 {path}：{source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Refused(String),
    #[error("备份校验未通过（{dir}）：{problems}")]
    Damaged { dir: PathBuf, problems: String },
}

type Result<T> = std::result::Result<T, BackupError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_path_buf(), source }
}

fn sql(path: &Path) -> impl FnOnce(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite { path: path.to_path_buf(), source }
}

/// Rows of the main tables in the copied database (what a restored directory must hold).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub posts: u64,
    pub stories: u64,
    pub alerts: u64,
    pub incidents: u64,
    pub audit_entries: u64,
    pub users: u64,
    pub snapshots: u64,
    /// The largest post id (0 when there are no posts).
    pub max_post_id: i64,
}

/// The full-text index as copied: the last post id its commit holds, and its documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexCopy {
    pub upto: i64,
    pub docs: u64,
}

/// One file of a backup: its path under the backup directory ('/'-separated), size and sha256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The version of yuqing that wrote the backup.
    pub yuqing_version: String,
    pub created_at: DateTime<Utc>,
    /// The data directory backed up.
    pub source: String,
    /// `PRAGMA user_version` of the copied database.
    pub schema_version: i64,
    pub counts: Counts,
    /// None: no index in the backup; the first open of the restored directory rebuilds it.
    pub index: Option<IndexCopy>,
    /// The configuration file's path in the backup (`config/…`), when one was given.
    pub config: Option<String>,
    pub files: Vec<FileEntry>,
    /// What the operator should know (snapshots pruned during the backup, an index left out).
    pub notes: Vec<String>,
}

/// Backs up `data_dir` (which a server may be serving) into `dest`, a new or empty directory, with
/// the configuration file `config` when given. Returns the manifest written.
pub fn backup(data_dir: &Path, dest: &Path, config: Option<&Path>, version: &str) -> Result<Manifest> {
    let db_path = data_dir.join("yuqing.db");
    if !db_path.is_file() {
        return Err(BackupError::Refused(format!(
            "{} 不是 yuqing 数据目录（没有 yuqing.db）；请用 --data-dir 指定数据目录",
            data_dir.display()
        )));
    }
    if dest.exists() && std::fs::read_dir(dest).map_err(io(dest))?.next().is_some() {
        return Err(BackupError::Refused(format!("备份目录 {} 已存在且不为空；请指定新目录", dest.display())));
    }
    let data_out = dest.join("data");
    std::fs::create_dir_all(&data_out).map_err(io(&data_out))?;
    let mut notes = Vec::new();

    // 1. The index first (see the module's note on order).
    let fts_out = data_out.join("fts");
    let mut index = match copy_index(&data_dir.join("fts"), &fts_out) {
        Ok(copy) => copy,
        Err(why) => {
            notes.push(format!("全文索引未能复制（{why}），恢复后首次启动时由数据库重建"));
            let _ = std::fs::remove_dir_all(&fts_out);
            None
        }
    };

    // 2. The database, in one step of the online backup API.
    let db_out = data_out.join("yuqing.db");
    copy_database(&db_path, &db_out)?;
    let out = Connection::open(&db_out).map_err(sql(&db_out))?;

    // 3. Snapshots the copy names.
    let snapshots_in = data_dir.join("snapshots");
    let snapshots_out = data_out.join("snapshots");
    let shas: Vec<String> = {
        let mut st = out.prepare("SELECT sha256 FROM snapshots ORDER BY sha256").map_err(sql(&db_out))?;
        let rows = st.query_map([], |r| r.get::<_, String>(0)).map_err(sql(&db_out))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql(&db_out))?
    };
    let mut pruned = 0;
    for sha in &shas {
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            notes.push(format!("快照记录 {sha} 的名称不是 sha256，已跳过"));
            continue;
        }
        let from = crate::collect::snapshot_path(&snapshots_in, sha);
        let to = crate::collect::snapshot_path(&snapshots_out, sha);
        match copy_file(&from, &to) {
            Ok((_, got)) if got == *sha => {}
            Ok((_, got)) => notes.push(format!("快照 {sha} 的内容与其名称不符（实为 {got}），已按原样复制")),
            Err(BackupError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                // Pruned by the server after the database was copied: drop it from the copy too.
                out.execute("DELETE FROM post_snapshots WHERE sha256 = ?1", [sha]).map_err(sql(&db_out))?;
                out.execute("DELETE FROM snapshots WHERE sha256 = ?1", [sha]).map_err(sql(&db_out))?;
                pruned += 1;
            }
            Err(e) => return Err(e),
        }
    }
    if pruned > 0 {
        notes.push(format!("备份期间服务清理了 {pruned} 个过期快照，备份中也不含其记录"));
    }

    let counts = counts(&out).map_err(sql(&db_out))?;
    let schema_version: i64 = out.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql(&db_out))?;
    let check: String = out.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(sql(&db_out))?;
    if check != "ok" {
        return Err(BackupError::Refused(format!("复制所得的数据库未通过完整性检查：{check}")));
    }
    drop(out);
    if let Some(copy) = &index {
        if copy.upto > counts.max_post_id {
            notes.push("复制的全文索引超前于数据库（不应发生），已舍弃，恢复后由数据库重建".to_string());
            std::fs::remove_dir_all(&fts_out).map_err(io(&fts_out))?;
            index = None;
        }
    }

    // 4. The configuration.
    let config_entry = match config {
        Some(path) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or("yuqing.toml".into());
            let to = dest.join("config").join(&name);
            copy_file(path, &to)?;
            Some(format!("config/{name}"))
        }
        None => None,
    };

    // 5. The manifest, last.
    let mut files = Vec::new();
    list_files(dest, dest, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        format: FORMAT,
        yuqing_version: version.to_string(),
        created_at: Utc::now(),
        source: data_dir.display().to_string(),
        schema_version,
        counts,
        index,
        config: config_entry,
        files,
        notes,
    };
    let text =
        serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Refused(format!("无法写出备份清单：{e}")))?;
    let tmp = dest.join(".manifest.json.tmp");
    write_synced(&tmp, &text)?;
    let final_path = dest.join(MANIFEST);
    std::fs::rename(&tmp, &final_path).map_err(io(&final_path))?;
    sync_dir(dest);
    Ok(manifest)
}

/// Reads a backup's manifest and checks every file it lists (present, same size, same sha256).
/// Files in the backup that the manifest does not list are not restored and not refused.
pub fn verify(src: &Path) -> Result<Manifest> {
    let path = src.join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::Refused(format!(
                "{} 中没有 {MANIFEST}：不是 yuqing 备份，或备份没有完成",
                src.display()
            )))
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| BackupError::Refused(format!("{} 无法解析（{e}）；备份清单已损坏", path.display())))?;
    if manifest.format != FORMAT {
        return Err(BackupError::Refused(format!("备份格式版本为 {}，本程序只能恢复版本 {FORMAT}", manifest.format)));
    }
    if manifest.schema_version > supported_schema_version() {
        return Err(BackupError::Refused(format!(
            "备份的数据库版本为 {}，高于本程序支持的 {}；请用 yuqing {} 或更新的版本恢复",
            manifest.schema_version,
            supported_schema_version(),
            manifest.yuqing_version
        )));
    }
    let mut problems = Vec::new();
    if !manifest.files.iter().any(|f| f.path == "data/yuqing.db") {
        problems.push("清单中没有 data/yuqing.db".to_string());
    }
    for f in &manifest.files {
        let Some(rel) = safe_relative(&f.path) else {
            problems.push(format!("{}：路径不合法", f.path));
            continue;
        };
        let p = src.join(rel);
        match hash_file(&p) {
            Ok((size, sha)) if size == f.size && sha == f.sha256 => {}
            Ok((size, _)) if size != f.size => problems.push(format!("{}：大小为 {size}，清单记为 {}", f.path, f.size)),
            Ok(_) => problems.push(format!("{}：内容已被改动（sha256 不符）", f.path)),
            Err(BackupError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                problems.push(format!("{}：文件缺失", f.path))
            }
            Err(e) => problems.push(format!("{}：{e}", f.path)),
        }
    }
    if !problems.is_empty() {
        let n = problems.len();
        let mut text = problems.into_iter().take(10).collect::<Vec<_>>().join("；");
        if n > 10 {
            text.push_str(&format!("；另有 {} 处", n - 10));
        }
        return Err(BackupError::Damaged { dir: src.to_path_buf(), problems: text });
    }
    Ok(manifest)
}

/// What [`restore`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub manifest: Manifest,
    /// Where a non-empty data directory was moved aside (with `force`).
    pub moved_aside: Option<PathBuf>,
    /// Where the backup's configuration file was written.
    pub config: Option<PathBuf>,
}

/// Restores the backup `src` into `data_dir` after checking it ([`verify`]). A data directory that
/// exists and is not empty is refused unless `force`; with `force` it is moved aside (renamed
/// `<name>.before-restore-<time>`), never deleted, and refused while a server holds its lock. The
/// backup's configuration file is written to `data_dir/config-from-backup/` for the operator to
/// compare with the one in force: a restore never overwrites the configuration in use.
pub fn restore(src: &Path, data_dir: &Path, force: bool) -> Result<Restored> {
    let manifest = verify(src)?;
    let mut replace = false;
    if data_dir.exists() {
        let non_empty = std::fs::read_dir(data_dir).map_err(io(data_dir))?.next().is_some();
        if non_empty {
            if !force {
                return Err(BackupError::Refused(format!(
                    "数据目录 {} 已存在且不为空；确认要替换时加 --force（原目录会改名保留，不会删除）",
                    data_dir.display()
                )));
            }
            let lock_path = data_dir.join("yuqing.lock");
            if lock_path.exists() {
                let lock = std::fs::File::options().write(true).open(&lock_path).map_err(io(&lock_path))?;
                if let Err(std::fs::TryLockError::WouldBlock) = lock.try_lock() {
                    return Err(StoreError::Locked(data_dir.to_path_buf()).into());
                }
            }
            replace = true;
        }
    }
    // Copied into a staging directory beside the target, then renamed into place.
    let staging = match (data_dir.parent(), data_dir.file_name()) {
        (Some(parent), Some(name)) => parent.join(format!(".{}.restoring", name.to_string_lossy())),
        _ => return Err(BackupError::Refused(format!("数据目录 {} 无效", data_dir.display()))),
    };
    if staging.exists() {
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    let mut config_out = None;
    for f in &manifest.files {
        let Some(rel) = safe_relative(&f.path) else { continue };
        let to = if let Ok(inner) = rel.strip_prefix("data") {
            staging.join(inner)
        } else if rel.starts_with("config") {
            let to = staging.join("config-from-backup").join(rel.file_name().unwrap_or_default());
            config_out = Some(data_dir.join("config-from-backup").join(rel.file_name().unwrap_or_default()));
            to
        } else {
            continue;
        };
        let (_, sha) = copy_file(&src.join(rel), &to)?;
        if sha != f.sha256 {
            return Err(BackupError::Damaged {
                dir: src.to_path_buf(),
                problems: format!("{}：复制时内容发生变化", f.path),
            });
        }
    }
    // Only now, with everything staged, is the old directory moved aside (never deleted).
    let mut moved_aside = None;
    if replace {
        let aside =
            PathBuf::from(format!("{}.before-restore-{}", data_dir.display(), Utc::now().format("%Y%m%d%H%M%S")));
        std::fs::rename(data_dir, &aside).map_err(io(data_dir))?;
        moved_aside = Some(aside);
    } else if data_dir.exists() {
        // An empty directory (checked above): replaced by the staged one.
        std::fs::remove_dir(data_dir).map_err(io(data_dir))?;
    }
    std::fs::rename(&staging, data_dir).map_err(io(data_dir))?;
    if let Some(parent) = data_dir.parent() {
        sync_dir(parent);
    }
    Ok(Restored { manifest, moved_aside, config: config_out })
}

/// The rows of the main tables (see [`Counts`]).
pub fn counts(conn: &Connection) -> rusqlite::Result<Counts> {
    let n = |table: &str| -> rusqlite::Result<u64> {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get::<_, i64>(0)).map(|n| n.max(0) as u64)
    };
    Ok(Counts {
        posts: n("posts")?,
        stories: n("stories")?,
        alerts: n("alerts")?,
        incidents: n("incidents")?,
        audit_entries: n("audit_log")?,
        users: n("users")?,
        snapshots: n("snapshots")?,
        max_post_id: conn.query_row("SELECT COALESCE(MAX(id), 0) FROM posts", [], |r| r.get(0))?,
    })
}

/// The counts of a data directory's database, read on a read-only connection (works while a
/// server runs).
pub fn counts_of(data_dir: &Path) -> Result<Counts> {
    let path = data_dir.join("yuqing.db");
    let conn = open_read_only(&path)?;
    counts(&conn).map_err(sql(&path))
}

/// A read-only connection to a database that may be in use (WAL: never blocks its writer).
pub fn open_read_only(path: &Path) -> Result<Connection> {
    if !path.is_file() {
        return Err(BackupError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "没有数据库文件"),
        });
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sql(path))?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(sql(path))?;
    Ok(conn)
}

/// The schema version of a data directory's database, read without migrating it.
pub fn schema_version_of(data_dir: &Path) -> Result<i64> {
    let path = data_dir.join("yuqing.db");
    let conn = open_read_only(&path)?;
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql(&path))
}

fn copy_database(from: &Path, to: &Path) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let src = open_read_only(from)?;
    let mut dst = Connection::open(to).map_err(sql(to))?;
    {
        let backup = Backup::new(&src, &mut dst).map_err(sql(to))?;
        // All pages in one step: one read transaction on the source, so the copy is one state of
        // it; a step of fewer pages would restart whenever the server commits in between.
        let mut tries = 0;
        loop {
            match backup.step(-1).map_err(sql(from))? {
                StepResult::Done => break,
                StepResult::More => continue,
                StepResult::Busy | StepResult::Locked if tries < 600 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                StepResult::Busy | StepResult::Locked => {
                    return Err(BackupError::Refused(format!(
                        "数据库 {} 持续忙碌，60 秒内无法读取；请稍后重试",
                        from.display()
                    )))
                }
                _ => {
                    return Err(BackupError::Refused(format!("数据库 {} 的备份返回了未知状态", from.display())));
                }
            }
        }
    }
    // One self-contained file: the restored store switches it back to WAL when it opens it.
    dst.pragma_update(None, "journal_mode", "DELETE").map_err(sql(to))?;
    drop(dst);
    Ok(())
}

/// Copies the full-text index in `from` at its current commit into `to`; None when there is no
/// index. Errors say why it could not be copied (the caller leaves it out).
fn copy_index(from: &Path, to: &Path) -> std::result::Result<Option<IndexCopy>, String> {
    let meta_path = from.join("meta.json");
    let mut last = String::new();
    for _ in 0..5 {
        let meta = match std::fs::read(&meta_path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("无法读取 {}：{e}", meta_path.display())),
        };
        let v: serde_json::Value = serde_json::from_slice(&meta).map_err(|e| format!("meta.json 无法解析：{e}"))?;
        let segments: HashSet<String> = v["segments"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s["segment_id"].as_str()).map(|s| s.replace('-', "")).collect())
            .unwrap_or_default();
        let upto = v["payload"]
            .as_str()
            .and_then(|p| p.strip_prefix("upto:"))
            .and_then(|n| n.parse::<i64>().ok())
            .unwrap_or(0);
        let _ = std::fs::remove_dir_all(to);
        std::fs::create_dir_all(to).map_err(|e| format!("无法创建 {}：{e}", to.display()))?;
        let entries = std::fs::read_dir(from).map_err(|e| format!("无法读取 {}：{e}", from.display()))?;
        let mut wanted = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.split('.').next().unwrap_or("");
            if segments.contains(stem) {
                wanted.push(name);
            }
        }
        let mut vanished = false;
        for name in &wanted {
            match copy_file(&from.join(name), &to.join(name)) {
                Ok(_) => {}
                Err(BackupError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    vanished = true;
                    break;
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        if vanished {
            last = "复制期间索引段被合并".to_string();
            continue;
        }
        write_synced(&to.join("meta.json"), &meta).map_err(|e| e.to_string())?;
        // The copy must open and load every segment, or it is not kept.
        match check_index(to) {
            Ok(docs) => return Ok(Some(IndexCopy { upto, docs })),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn check_index(dir: &Path) -> std::result::Result<u64, String> {
    let index = tantivy::Index::open_in_dir(dir).map_err(|e| format!("复制的索引无法打开：{e}"))?;
    let reader = index.reader().map_err(|e| format!("复制的索引无法读取：{e}"))?;
    Ok(reader.searcher().num_docs())
}

/// Copies a file (creating its parent), syncs it, and returns its size and sha256.
fn copy_file(from: &Path, to: &Path) -> Result<(u64, String)> {
    let mut input = std::fs::File::open(from).map_err(io(from))?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let mut output = std::fs::File::create(to).map_err(io(to))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buf).map_err(io(from))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output.write_all(&buf[..n]).map_err(io(to))?;
        size += n as u64;
    }
    output.sync_all().map_err(io(to))?;
    Ok((size, hex::encode(hasher.finalize())))
}

fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut input = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hex::encode(hasher.finalize())))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Every file under `dir` with its path relative to `root`.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<FileEntry>) -> Result<()> {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).map_err(io(dir))?.collect::<std::io::Result<_>>().map_err(io(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            list_files(root, &path, out)?;
        } else if kind.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            let rel = rel.join("/");
            if rel == MANIFEST || rel.starts_with('.') {
                continue;
            }
            let (size, sha256) = hash_file(&path)?;
            out.push(FileEntry { path: rel, size, sha256 });
        }
    }
    Ok(())
}

/// A manifest path as a relative path that stays inside the backup (no `..`, not absolute).
fn safe_relative(p: &str) -> Option<PathBuf> {
    let path = Path::new(p);
    let ok = !p.is_empty() && path.components().all(|c| matches!(c, std::path::Component::Normal(_)));
    ok.then(|| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_stay_inside_the_backup() {
        assert!(safe_relative("data/yuqing.db").is_some());
        assert!(safe_relative("data/../../etc/passwd").is_none());
        assert!(safe_relative("/etc/passwd").is_none());
        assert!(safe_relative("").is_none());
    }

    #[test]
    fn a_backup_restores_and_refuses_an_altered_or_missing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        {
            let store = crate::SqliteStore::open(&data.join("yuqing.db")).unwrap();
            store.connection().execute_batch("PRAGMA user_version").unwrap();
        }
        let cfg = tmp.path().join("yuqing.toml");
        std::fs::write(&cfg, "# 配置\n").unwrap();
        let dest = tmp.path().join("b");
        let m = backup(&data, &dest, Some(&cfg), "test").unwrap();
        assert_eq!(m.schema_version, supported_schema_version());
        assert_eq!(m.config.as_deref(), Some("config/yuqing.toml"));
        assert!(m.files.iter().any(|f| f.path == "data/yuqing.db"));
        // A second backup into the same place is refused.
        assert!(matches!(backup(&data, &dest, None, "test"), Err(BackupError::Refused(_))));

        // Restore into a fresh directory; into a non-empty one only with force (moved aside).
        let target = tmp.path().join("restored");
        let r = restore(&dest, &target, false).unwrap();
        assert!(target.join("yuqing.db").is_file());
        assert_eq!(r.config, Some(target.join("config-from-backup/yuqing.toml")));
        assert!(matches!(restore(&dest, &target, false), Err(BackupError::Refused(_))));
        let r = restore(&dest, &target, true).unwrap();
        assert!(r.moved_aside.as_ref().is_some_and(|p| p.join("yuqing.db").is_file()));

        // An altered file, then a missing one, are refused before anything is written.
        std::fs::write(dest.join("config/yuqing.toml"), "# 改过\n").unwrap();
        let err = restore(&dest, &tmp.path().join("x"), false).unwrap_err().to_string();
        assert!(err.contains("config/yuqing.toml"), "{err}");
        assert!(!tmp.path().join("x").exists());
        std::fs::remove_file(dest.join("config/yuqing.toml")).unwrap();
        let err = restore(&dest, &tmp.path().join("x"), false).unwrap_err().to_string();
        assert!(err.contains("缺失"), "{err}");
        std::fs::remove_file(dest.join(MANIFEST)).unwrap();
        let err = restore(&dest, &tmp.path().join("x"), false).unwrap_err().to_string();
        assert!(err.contains(MANIFEST), "{err}");
    }
}
