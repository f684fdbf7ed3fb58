//! `yuqing init [FILE]` and `yuqing init --system`: the commented example configuration
//! (docs/yuqing.example.toml, compiled in), for a working directory or for the system service
//! (`/etc/yuqing/yuqing.toml`, read by packaging/yuqing.service).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::EXAMPLE;

/// Where `init --system` writes, and what the service unit reads.
pub const SYSTEM_CONFIG: &str = "/etc/yuqing/yuqing.toml";
/// The service's data directory (systemd's StateDirectory=yuqing).
pub const SYSTEM_DATA_DIR: &str = "/var/lib/yuqing";

/// The header of the system configuration: how the service runs and how to check a change.
pub fn system_header() -> String {
    format!(
        "# yuqing 系统服务配置（`yuqing init --system` 生成）。systemd 单元 yuqing.service 以用户 yuqing 运行：\n\
         #   yuqing --config {SYSTEM_CONFIG} --data-dir {SYSTEM_DATA_DIR} serve --addr 127.0.0.1:8080\n\
         # 监听地址在 /etc/default/yuqing 的 YUQING_ADDR 中修改（对外服务请放在本单位的反向代理之后）。\n\
         # 修改本文件后先检查，再重启服务：\n\
         #   sudo -u yuqing yuqing --config {SYSTEM_CONFIG} --data-dir {SYSTEM_DATA_DIR} doctor\n\
         #   sudo systemctl restart yuqing\n\
         # 本文件可能含通知渠道的密钥与 [metrics] token：权限应为 0640，属主 root，属组 yuqing。\n\
         # 运维说明（安装、升级、备份与恢复、指标）见 docs/OPERATIONS.md。\n\n"
    )
}

/// Writes the example to `path` (default `yuqing.toml`, or [`SYSTEM_CONFIG`] with `system`).
/// An existing file is kept unless `force`. With `system` the file is made 0640 and, when the
/// group `yuqing` exists, given to it (the service reads it; others may not: it holds secrets).
pub fn run(path: Option<&Path>, force: bool, system: bool) -> Result<PathBuf> {
    let path = path.map(Path::to_path_buf).unwrap_or_else(|| {
        if system {
            PathBuf::from(SYSTEM_CONFIG)
        } else {
            PathBuf::from("yuqing.toml")
        }
    });
    if path.exists() && !force {
        bail!("{} 已存在；如需覆盖请加 --force", path.display());
    }
    let text = if system { format!("{}{EXAMPLE}", system_header()) } else { EXAMPLE.to_string() };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("无法创建目录 {}", parent.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("无法写入 {}", path.display()))?;
    #[cfg(unix)]
    if system {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))
            .with_context(|| format!("无法设置 {} 的权限", path.display()))?;
        if let Some(gid) = group_id("yuqing") {
            // Only root may give a file away; as another user the file stays the caller's.
            if let Err(e) = std::os::unix::fs::chown(&path, None, Some(gid)) {
                eprintln!("提醒：无法把 {} 的属组设为 yuqing（{e}）；服务可能读不到它", path.display());
            }
        }
    }
    Ok(path)
}

/// The id of a group in /etc/group.
fn group_id(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_configuration_parses_and_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("etc/yuqing/yuqing.toml");
        run(Some(&p), false, true).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with("# yuqing 系统服务配置"));
        crate::config::Config::parse(&text, &p).expect("the written configuration loads");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o640);
        }
        assert!(run(Some(&p), false, true).is_err(), "kept without --force");
        run(Some(&p), true, true).unwrap();
    }
}
