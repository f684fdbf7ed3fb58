//! `yuqing backup`, `yuqing restore` and `yuqing migrate`: the operator's side of
//! `yuqing_store::backup`. Backup reads the data directory without its lock, so it runs while the
//! server serves; restore and migrate write a directory no server may hold.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::json;
use yuqing_store::backup::{self, Manifest};

/// Prints one JSON document on standard output.
pub fn print_json(v: &serde_json::Value) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

/// The configuration file in force: `--config`, else `./yuqing.toml` when there is one.
pub fn config_path(given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from("yuqing.toml")).filter(|p| p.is_file()),
    }
}

fn describe(m: &Manifest) -> String {
    let c = &m.counts;
    format!(
        "帖文 {} 条，舆情事件 {} 个，预警 {} 条，处置工单 {} 个，审计日志 {} 条，用户 {} 个，快照 {} 个；数据库版本 {}；全文索引{}",
        c.posts,
        c.stories,
        c.alerts,
        c.incidents,
        c.audit_entries,
        c.users,
        c.snapshots,
        m.schema_version,
        match &m.index {
            Some(i) => format!("已复制（至帖文 {}，{} 条）", i.upto, i.docs),
            None => "未复制（恢复后首次启动时由数据库重建）".to_string(),
        }
    )
}

pub fn backup(data_dir: &Path, dest: &Path, config: Option<&Path>, as_json: bool) -> Result<()> {
    let config = config_path(config);
    let m = backup::backup(data_dir, dest, config.as_deref(), env!("CARGO_PKG_VERSION"))
        .with_context(|| format!("备份 {} 失败", data_dir.display()))?;
    if as_json {
        return print_json(&serde_json::to_value(&m)?);
    }
    println!("已备份 {} 到 {}：{}", data_dir.display(), dest.display(), describe(&m));
    println!("共 {} 个文件，每个文件的 sha256 记在 {}", m.files.len(), dest.join(backup::MANIFEST).display());
    match &m.config {
        Some(c) => println!("配置文件：{c}"),
        None => println!("未找到配置文件（未用 --config 指定，当前目录也没有 yuqing.toml），备份中不含配置"),
    }
    for n in &m.notes {
        println!("注意：{n}");
    }
    Ok(())
}

pub fn restore(src: &Path, data_dir: &Path, force: bool, as_json: bool) -> Result<()> {
    let r = backup::restore(src, data_dir, force).with_context(|| format!("无法从 {} 恢复", src.display()))?;
    if as_json {
        return print_json(&json!({
            "restored": data_dir, "manifest": r.manifest, "moved_aside": r.moved_aside, "config": r.config,
        }));
    }
    println!("备份清单校验通过（{} 个文件的 sha256 一致）", r.manifest.files.len());
    println!(
        "已恢复到 {}：{}（备份于 {}，yuqing {}）",
        data_dir.display(),
        describe(&r.manifest),
        r.manifest.created_at.with_timezone(&yuqing_core::china()).format("%Y-%m-%d %H:%M:%S"),
        r.manifest.yuqing_version
    );
    if let Some(p) = &r.moved_aside {
        println!("原数据目录已改名保留为 {}，确认无误后可自行删除", p.display());
    }
    if let Some(c) = &r.config {
        println!("备份中的配置文件已写到 {}；请与当前使用的配置核对（恢复不会覆盖正在使用的配置）", c.display());
    }
    Ok(())
}

/// Brings the database of `data_dir` to this program's schema, backing it up first into
/// `backup_to` (a new directory) when a migration is due. Does nothing when it is current.
pub fn migrate(data_dir: &Path, backup_to: Option<&Path>, config: Option<&Path>, as_json: bool) -> Result<()> {
    let supported = backup::supported_schema_version();
    if !data_dir.join("yuqing.db").is_file() {
        bail!("数据目录 {} 中没有数据库（yuqing.db），无需迁移；首次启动时会自动建立", data_dir.display());
    }
    let before = backup::schema_version_of(data_dir)?;
    if before > supported {
        bail!(
            "数据目录 {} 的数据库版本为 {before}，高于本程序支持的 {supported}；请安装更新的 yuqing",
            data_dir.display()
        );
    }
    // No server may run on the directory meanwhile (the package's prerm stopped it).
    let lock_path = data_dir.join("yuqing.lock");
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("无法打开锁文件 {}", lock_path.display()))?;
    if let Err(std::fs::TryLockError::WouldBlock) = lock.try_lock() {
        bail!("数据目录 {} 正被运行中的 yuqing 使用；请先停止服务（systemctl stop yuqing）再迁移", data_dir.display());
    }
    let mut backed_up = None;
    if before < supported {
        if let Some(dest) = backup_to {
            backup::backup(data_dir, dest, config_path(config).as_deref(), env!("CARGO_PKG_VERSION"))
                .with_context(|| format!("迁移前的备份失败，未迁移（{}）", dest.display()))?;
            backed_up = Some(dest.to_path_buf());
        }
        // Opening the store applies the migrations, each in its own transaction.
        crate::desk_cli::open_db(data_dir, false)?;
    }
    let after = backup::schema_version_of(data_dir)?;
    drop(lock);
    if as_json {
        return print_json(&json!({"before": before, "after": after, "backup": backed_up}));
    }
    if before == after {
        println!("数据库已是最新版本（{after}），无需迁移");
    } else {
        if let Some(b) = &backed_up {
            println!("迁移前已备份到 {}", b.display());
        }
        println!("数据库已从版本 {before} 迁移到 {after}");
    }
    Ok(())
}
