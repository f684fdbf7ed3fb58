//! `yuqing doctor`: checks an installation the way an operator would before calling for help — the
//! configuration, the data directory (writable, lock, schema version), free disk, the clock, each
//! notification channel (a test message only with `--send-test`) and each source (one fetch with a
//! short timeout) — and says in Chinese what to fix. Reads the data directory without its lock, so
//! it runs beside the server; it never migrates or writes the database.

use std::path::Path;
use std::time::Duration;

use crate::config::Config;
use anyhow::{bail, Result};
use chrono::{Datelike, Utc};
use serde::Serialize;
use serde_json::json;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub area: String,
    pub level: Level,
    pub message: String,
    /// What to do about it (empty when nothing).
    pub fix: String,
}

fn check(area: &str, level: Level, message: impl Into<String>, fix: impl Into<String>) -> Check {
    Check { area: area.to_string(), level, message: message.into(), fix: fix.into() }
}

/// Free space below which the data directory's disk fails the check, and below which it warns.
const DISK_FAIL: u64 = 512 * 1024 * 1024;
const DISK_WARN: u64 = 2 * 1024 * 1024 * 1024;
/// How long one source or channel may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs every check; prints them; fails (non-zero exit) when any check failed.
pub fn run(data_dir: &Path, config_arg: Option<&Path>, send_test: bool, as_json: bool) -> Result<()> {
    let mut checks = Vec::new();
    let config = check_config(config_arg, &mut checks);
    check_data_dir(data_dir, &mut checks);
    check_disk(data_dir, &mut checks);
    check_clock(&mut checks);
    if let Some(config) = &config {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        check_channels(config, send_test, &rt, &mut checks);
        check_sources(config, data_dir, &rt, &mut checks);
    }
    let failed = checks.iter().filter(|c| c.level == Level::Fail).count();
    let warned = checks.iter().filter(|c| c.level == Level::Warn).count();
    if as_json {
        crate::backup_cli::print_json(
            &json!({"ok": failed == 0, "failed": failed, "warnings": warned, "checks": checks}),
        )?;
    } else {
        for c in &checks {
            let mark = match c.level {
                Level::Ok => "✓",
                Level::Warn => "!",
                Level::Fail => "✗",
            };
            println!("{mark} {}：{}", c.area, c.message);
            if !c.fix.is_empty() {
                println!("    处理：{}", c.fix);
            }
        }
        println!("共 {} 项检查：{failed} 项失败，{warned} 项提醒", checks.len());
    }
    if failed > 0 {
        bail!("{failed} 项检查未通过，请按上面的“处理”修正后再运行 yuqing doctor");
    }
    Ok(())
}

fn check_config(given: Option<&Path>, checks: &mut Vec<Check>) -> Option<Config> {
    let path = crate::backup_cli::config_path(given);
    match path {
        None => {
            checks.push(check(
                "配置",
                Level::Warn,
                "未指定配置文件（--config），当前目录也没有 yuqing.toml，使用内置默认值：没有监测规则，不会定级",
                "用 yuqing init（系统服务用 yuqing init --system）写出示例配置，按本单位修改后以 --config 指定",
            ));
            Some(Config::defaults())
        }
        Some(p) => match Config::load(&p) {
            Ok(c) => {
                checks.push(check(
                    "配置",
                    Level::Ok,
                    format!(
                        "{} 有效：监测规则 {} 条，信息源 {} 个，通知渠道 {} 个",
                        p.display(),
                        c.rules.len(),
                        c.sources.len(),
                        c.channels.len()
                    ),
                    "",
                ));
                if c.rules.is_empty() {
                    checks.push(check(
                        "配置",
                        Level::Warn,
                        "没有监测规则：帖文照常入库，但不会定级、不会预警",
                        "在配置中加入 [[rules]]（见 docs/yuqing.example.toml）或在“监测规则”页添加",
                    ));
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let secret = !c.channels.is_empty() || c.metrics.token.is_some();
                    if let Ok(meta) = std::fs::metadata(&p) {
                        if secret && meta.permissions().mode() & 0o004 != 0 {
                            checks.push(check(
                                "配置",
                                Level::Warn,
                                format!("{} 所有用户可读，而其中有通知渠道的密钥或 [metrics] token", p.display()),
                                format!("sudo chmod 640 {}（属组 yuqing）", p.display()),
                            ));
                        }
                    }
                }
                Some(c)
            }
            Err(e) => {
                checks.push(check("配置", Level::Fail, e.to_string(), "按提示的行列修改配置文件"));
                None
            }
        },
    }
}

fn check_data_dir(dir: &Path, checks: &mut Vec<Check>) {
    const AREA: &str = "数据目录";
    if !dir.exists() {
        checks.push(check(
            AREA,
            Level::Warn,
            format!("{} 不存在（首次启动时建立）", dir.display()),
            "确认 --data-dir 指向正确的目录（系统服务为 /var/lib/yuqing）",
        ));
        return;
    }
    if !dir.is_dir() {
        checks.push(check(AREA, Level::Fail, format!("{} 不是目录", dir.display()), "用 --data-dir 指定一个目录"));
        return;
    }
    // Writable: a file made and removed again.
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"yuqing doctor").and_then(|_| std::fs::remove_file(&probe)) {
        Ok(()) => checks.push(check(AREA, Level::Ok, format!("{} 可写", dir.display()), "")),
        Err(e) => checks.push(check(
            AREA,
            Level::Fail,
            format!("{} 不可写：{e}", dir.display()),
            "以服务的用户运行（sudo -u yuqing yuqing doctor …），或修正目录的属主与权限",
        )),
    }
    let lock_path = dir.join("yuqing.lock");
    if lock_path.exists() {
        match std::fs::File::options().write(true).open(&lock_path) {
            Ok(f) => match f.try_lock() {
                Ok(()) => checks.push(check(AREA, Level::Ok, "没有 yuqing 进程占用（锁文件未被持有）", "")),
                Err(std::fs::TryLockError::WouldBlock) => {
                    checks.push(check(AREA, Level::Ok, "正被运行中的 yuqing 服务使用（锁文件 yuqing.lock 已持有）", ""))
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    checks.push(check(AREA, Level::Warn, format!("无法检查锁文件：{e}"), "检查 yuqing.lock 的权限"))
                }
            },
            Err(e) => checks.push(check(
                AREA,
                Level::Warn,
                format!("无法打开锁文件 {}：{e}", lock_path.display()),
                "以服务的用户运行（sudo -u yuqing yuqing doctor …）",
            )),
        }
    }
    if !dir.join("yuqing.db").exists() {
        checks.push(check(AREA, Level::Warn, "还没有数据库（yuqing.db）", "首次启动或导入数据时自动建立"));
        return;
    }
    let supported = yuqing_store::backup::supported_schema_version();
    match yuqing_store::backup::schema_version_of(dir) {
        Ok(v) if v == supported => {
            checks.push(check(AREA, Level::Ok, format!("数据库版本 {v}，与本程序一致"), ""));
            if let Ok(c) = yuqing_store::backup::counts_of(dir) {
                checks.push(check(
                    AREA,
                    Level::Ok,
                    format!(
                        "帖文 {} 条，舆情事件 {} 个，处置工单 {} 个，用户 {} 个",
                        c.posts, c.stories, c.incidents, c.users
                    ),
                    if c.users == 0 {
                        "还没有用户：yuqing user add NAME --role admin --password-stdin"
                    } else {
                        ""
                    },
                ));
            }
        }
        Ok(v) if v < supported => checks.push(check(
            AREA,
            Level::Warn,
            format!("数据库版本 {v}，本程序为 {supported}：需要迁移"),
            "停止服务后运行 yuqing migrate --backup-to 备份目录（或直接启动服务，启动时自动迁移）",
        )),
        Ok(v) => checks.push(check(
            AREA,
            Level::Fail,
            format!("数据库版本 {v} 高于本程序支持的 {supported}"),
            "安装与数据一致或更新的 yuqing",
        )),
        Err(e) => checks.push(check(
            AREA,
            Level::Fail,
            format!("数据库无法读取：{e}"),
            "从备份恢复：yuqing restore 备份目录 新数据目录",
        )),
    }
}

fn human(bytes: u64) -> String {
    let gib = bytes as f64 / (1024.0 * 1024.0 * 1024.0);
    if gib >= 1.0 {
        format!("{gib:.1} GiB")
    } else {
        format!("{:.0} MiB", bytes as f64 / (1024.0 * 1024.0))
    }
}

fn check_disk(dir: &Path, checks: &mut Vec<Check>) {
    // The nearest existing directory (the data directory may not exist yet).
    let mut at = dir.to_path_buf();
    while !at.exists() {
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p.to_path_buf(),
            _ => {
                at = std::path::PathBuf::from(".");
                break;
            }
        }
    }
    match fs4::available_space(&at) {
        Ok(free) if free < DISK_FAIL => checks.push(check(
            "磁盘",
            Level::Fail,
            format!("{} 所在磁盘只剩 {}", at.display(), human(free)),
            "清理磁盘或扩容；空间不足时帖文无法入库",
        )),
        Ok(free) if free < DISK_WARN => checks.push(check(
            "磁盘",
            Level::Warn,
            format!("{} 所在磁盘剩余 {}", at.display(), human(free)),
            "尽快清理或扩容（少于 512 MiB 时视为故障）",
        )),
        Ok(free) => checks.push(check("磁盘", Level::Ok, format!("{} 所在磁盘剩余 {}", at.display(), human(free)), "")),
        Err(e) => checks.push(check("磁盘", Level::Warn, format!("无法读取剩余空间：{e}"), "")),
    }
}

fn check_clock(checks: &mut Vec<Check>) {
    let now = Utc::now();
    let year = now.year();
    if !(2024..=2100).contains(&year) {
        checks.push(check(
            "时钟",
            Level::Fail,
            format!("系统时间为 {}，不可信", now.format("%Y-%m-%d %H:%M:%S UTC")),
            "校准系统时间（timedatectl set-ntp true，或在内网配置 NTP 服务器）；时限、报表与预警都依赖时钟",
        ));
    } else {
        let china = now.with_timezone(&yuqing_core::china());
        let local = chrono::Local::now();
        checks.push(check(
            "时钟",
            Level::Ok,
            format!(
                "北京时间 {}（系统时区 UTC{}；yuqing 一律按北京时间显示与排程）",
                china.format("%Y-%m-%d %H:%M:%S"),
                local.format("%:z")
            ),
            "",
        ));
    }
    // Synchronized? Asked of systemd when it is there; says nothing otherwise.
    if let Ok(out) =
        std::process::Command::new("timedatectl").args(["show", "-p", "NTPSynchronized", "--value"]).output()
    {
        if out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "no" {
            checks.push(check(
                "时钟",
                Level::Warn,
                "系统时间未与 NTP 同步",
                "timedatectl set-ntp true；内网请在 /etc/systemd/timesyncd.conf 配置本单位的 NTP 服务器",
            ));
        }
    }
}

fn check_channels(config: &Config, send_test: bool, rt: &tokio::runtime::Runtime, checks: &mut Vec<Check>) {
    const AREA: &str = "通知渠道";
    if config.channels.is_empty() {
        checks.push(check(
            AREA,
            Level::Warn,
            "没有配置通知渠道：预警只显示在页面上，不会送达值班人员",
            "在配置中加入 [[channels]]（企业微信、钉钉、飞书、邮件或 webhook，见 docs/DESK.md）",
        ));
        return;
    }
    let deliverer = match yuqing_desk::notify::Deliverer::new(&config.channels) {
        Ok(d) => d,
        Err(e) => {
            checks.push(check(AREA, Level::Fail, format!("通知渠道无法建立：{e}"), "按提示修正 [[channels]]"));
            return;
        }
    };
    for c in &config.channels {
        if !c.enabled {
            checks.push(check(AREA, Level::Warn, format!("“{}”已停用（enabled = false）", c.name), ""));
            continue;
        }
        if !send_test {
            checks.push(check(
                AREA,
                Level::Ok,
                format!("“{}”配置有效；未发送测试消息", c.name),
                "加 --send-test 向每个渠道发送一条测试消息",
            ));
            continue;
        }
        let now = Utc::now();
        let msg = yuqing_store::outbox::OutboxMessage {
            id: 0,
            channel: c.name.clone(),
            recipient: None,
            mention: Vec::new(),
            subject: "yuqing 测试消息".to_string(),
            body: format!(
                "这是 yuqing doctor 于北京时间 {} 发送的测试消息，收到即说明本渠道可用，无需处理。",
                now.with_timezone(&yuqing_core::china()).format("%Y-%m-%d %H:%M")
            ),
            link: None,
            dedup_key: None,
            created_at: now,
            next_attempt_at: now,
            expires_at: now,
            attempts: 0,
            status: yuqing_store::outbox::OutboxStatus::Pending,
            delivered_at: None,
            last_error: None,
        };
        let outcome =
            rt.block_on(async { tokio::time::timeout(PROBE_TIMEOUT * 3, deliverer.deliver(&msg, now)).await });
        match outcome {
            Ok(yuqing_store::outbox::AttemptOutcome::Delivered(detail)) => {
                checks.push(check(AREA, Level::Ok, format!("“{}”测试消息已送达（{detail}）", c.name), ""))
            }
            Ok(yuqing_store::outbox::AttemptOutcome::Failed(why)) => checks.push(check(
                AREA,
                Level::Fail,
                format!("“{}”测试消息发送失败：{why}", c.name),
                "检查地址、密钥与网络（内网须能访问该渠道的服务器）",
            )),
            Err(_) => checks.push(check(
                AREA,
                Level::Fail,
                format!("“{}”测试消息 {} 秒内没有结果", c.name, (PROBE_TIMEOUT * 3).as_secs()),
                "检查网络与防火墙",
            )),
        }
    }
}

fn check_sources(config: &Config, data_dir: &Path, rt: &tokio::runtime::Runtime, checks: &mut Vec<Check>) {
    const AREA: &str = "信息源";
    // Sources added with `yuqing sources add` live in the database; read them only when its schema
    // is current (opening an older one would migrate it).
    let current = yuqing_store::backup::schema_version_of(data_dir).ok()
        == Some(yuqing_store::backup::supported_schema_version());
    let sources = if current {
        match crate::desk_cli::open_db(data_dir, false).and_then(|s| Ok(crate::live::sources_from(config, &s)?)) {
            Ok(s) => s,
            Err(_) => config.sources.clone(),
        }
    } else {
        config.sources.clone()
    };
    let enabled: Vec<_> = sources.into_iter().filter(|s| s.enabled).collect();
    if enabled.is_empty() {
        checks.push(check(
            AREA,
            Level::Ok,
            "没有启用的信息源（只接收推送与导入）",
            "需要自动采集时在配置中加入 [[sources]]，或 yuqing sources add",
        ));
        return;
    }
    let fetcher = match yuqing_collect::Fetcher::new(config.collect.clone()) {
        Ok(f) => f,
        Err(e) => {
            checks.push(check(AREA, Level::Fail, format!("无法建立采集客户端：{e}"), "检查 [collect]"));
            return;
        }
    };
    for s in enabled {
        let started = std::time::Instant::now();
        let result = if s.kind == yuqing_collect::source::SourceKind::Folder {
            yuqing_collect::collector::collect_folder(&s, |_| false).map_err(|e| e.to_string())
        } else {
            rt.block_on(async {
                match tokio::time::timeout(
                    PROBE_TIMEOUT,
                    yuqing_collect::collector::collect(&fetcher, &s, None, &[], &|_| false),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => Err(format!("{} 秒内没有完成", PROBE_TIMEOUT.as_secs())),
                }
            })
        };
        let ms = started.elapsed().as_millis();
        match result {
            Ok(c) if c.errors.is_empty() => {
                checks.push(check(AREA, Level::Ok, format!("{}：可以访问，{ms} 毫秒，{} 条", s.id, c.items.len()), ""))
            }
            Ok(c) => checks.push(check(
                AREA,
                Level::Warn,
                format!(
                    "{}：可以访问，但有 {} 处错误：{}",
                    s.id,
                    c.errors.len(),
                    c.errors.first().cloned().unwrap_or_default()
                ),
                format!("yuqing sources test {} 查看详情", s.id),
            )),
            Err(e) => checks.push(check(
                AREA,
                Level::Fail,
                format!("{}（{}）无法访问：{e}", s.id, s.url),
                "检查网址、网络与代理；暂时不用的信息源可 yuqing sources disable ID",
            )),
        }
    }
}
