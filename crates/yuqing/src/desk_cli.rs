//! The desk's command-line side: users (the first admin comes from here), incidents, the duty
//! roster and the audit log. These open only the SQLite database of the data directory, so they
//! work while the server runs (SQLite serializes the writers).

use std::path::Path;

use anyhow::{bail, Context, Result};
use chrono::Utc;
use yuqing_core::incident::{allowed_steps, IncidentState};
use yuqing_core::people::{Role, Title};
use yuqing_desk::people;
use yuqing_store::desk::{self, IncidentQuery, NewUser};
use yuqing_store::SqliteStore;

/// Opens the database of a data directory; `create` makes the directory when missing.
pub fn open_db(data_dir: &Path, create: bool) -> Result<SqliteStore> {
    if !data_dir.exists() {
        if create {
            std::fs::create_dir_all(data_dir).with_context(|| format!("无法创建数据目录 {}", data_dir.display()))?;
        } else {
            bail!("数据目录 {} 不存在；请先导入数据（yuqing ingest）或用 --data-dir 指定", data_dir.display());
        }
    }
    Ok(SqliteStore::open(&data_dir.join("yuqing.db"))?)
}

/// A fresh API token: the random hex of session ids, marked as a yuqing token.
pub fn new_token() -> Result<String> {
    Ok(people::new_token()?)
}

pub struct UserArgs {
    pub name: String,
    pub role: String,
    pub department: Option<String>,
    pub titles: Vec<String>,
    pub display_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub channels: Vec<String>,
}

/// Reads a password from `input` (the first line; the line end is not part of it) and checks its
/// length (at least 8 characters).
pub fn read_password(input: impl std::io::Read) -> Result<String> {
    let mut buf = Vec::new();
    use std::io::Read as _;
    input.take(64 * 1024).read_to_end(&mut buf).context("无法从标准输入读取密码")?;
    let text = String::from_utf8(buf).map_err(|_| anyhow::anyhow!("密码须为 UTF-8 文本"))?;
    let line = text.split('\n').next().unwrap_or("").trim_end_matches('\r').to_string();
    if line.is_empty() {
        bail!("标准输入中没有密码（例如：echo '密码' | yuqing user passwd NAME）");
    }
    yuqing_desk::password::check_password(&line)?;
    Ok(line)
}

/// Adds a user and returns it with its token (shown once; only its hash is stored). With a
/// password, the user can also sign in to the pages (stored as an argon2id hash).
pub fn add_user(
    store: &SqliteStore,
    a: UserArgs,
    known_channels: &[String],
    password: Option<&str>,
) -> Result<(desk::User, String)> {
    let role = Role::parse(&a.role).map_err(anyhow::Error::msg)?;
    let titles = a
        .titles
        .iter()
        .map(|t| Title::parse(t))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let u = NewUser {
        display_name: a.display_name.unwrap_or_else(|| a.name.clone()),
        name: a.name,
        role: Some(role),
        department: a.department,
        titles,
        phone: a.phone,
        email: a.email,
        channels: a.channels,
    };
    Ok(people::add_person(store, "cli", &u, password, known_channels, Utc::now())?)
}

/// Issues a new token for a user (the old one stops working).
pub fn reset_token(store: &SqliteStore, name: &str) -> Result<String> {
    Ok(people::reset_token(store, "cli", name, Utc::now())?)
}

/// Sets a user's password (argon2id) and ends the user's sessions.
pub fn set_password(store: &SqliteStore, name: &str, password: &str) -> Result<()> {
    Ok(people::set_password(store, "cli", name, password, Utc::now())?)
}

/// Enables or disables a user; disabling ends the user's sessions and stops the token.
pub fn set_active(store: &SqliteStore, name: &str, active: bool) -> Result<desk::User> {
    Ok(people::set_active(store, "cli", name, active, Utc::now())?)
}

/// The demo's account: `demo`, 系统管理员, with a fresh random password each run (printed on the
/// console so whoever runs the demo can sign in). Returns (name, password).
pub fn demo_account(store: &SqliteStore) -> Result<(String, String)> {
    const NAME: &str = "demo";
    // No 0/O, 1/l/I: read off a console and typed by hand.
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut raw = [0u8; 12];
    getrandom::fill(&mut raw).map_err(|e| anyhow::anyhow!("无法取得随机数：{e}"))?;
    let password: String = raw.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
    if desk::user_by_name(store.connection(), NAME)?.is_none() {
        let args = UserArgs {
            name: NAME.into(),
            role: "admin".into(),
            department: None,
            titles: Vec::new(),
            display_name: Some("演示管理员".into()),
            phone: None,
            email: None,
            channels: Vec::new(),
        };
        add_user(store, args, &[], Some(&password))?;
    } else {
        set_password(store, NAME, &password)?;
    }
    Ok((NAME.to_string(), password))
}

pub fn incidents_list(
    store: &SqliteStore,
    all: bool,
    state: Option<&str>,
    limit: usize,
    offset: usize,
) -> Result<serde_json::Value> {
    let state = match state {
        None => None,
        Some(s) => Some(IncidentState::parse(s).with_context(|| format!("未知的工单状态“{s}”"))?),
    };
    let page = desk::incidents(
        store.connection(),
        &IncidentQuery { state, open_only: !all && state.is_none(), department: None, limit, offset },
    )?;
    Ok(serde_json::json!({"total": page.total, "incidents": page.items}))
}

pub fn print_incidents(v: &serde_json::Value) {
    let total = v["total"].as_u64().unwrap_or(0);
    println!("共 {total} 个工单");
    for i in v["incidents"].as_array().into_iter().flatten() {
        let state = i["state"].as_str().and_then(IncidentState::parse).map_or("?", |s| s.label_zh());
        println!(
            "#{:<5} {:<4} {:<6} {:<10} {}",
            i["id"],
            i["grade"].as_str().unwrap_or(""),
            state,
            i["lead_department"].as_str().unwrap_or("（未指派）"),
            i["title"].as_str().unwrap_or("")
        );
    }
}

pub fn incident_show(store: &SqliteStore, id: i64) -> Result<serde_json::Value> {
    let conn = store.connection();
    let inc = desk::incident(conn, id)?.with_context(|| format!("没有编号为 {id} 的处置工单"))?;
    let timeline = desk::timeline(conn, id)?;
    let now = Utc::now();
    Ok(serde_json::json!({
        "incident": inc,
        "allowed_steps": allowed_steps(inc.state).iter().map(|s| s.label_zh()).collect::<Vec<_>>(),
        "review_times": inc.review_times(now),
        "timeline": timeline,
    }))
}

/// A stored UTC time as the office reads it: China time to the minute ("2020-02-21 08:05");
/// anything else as given.
fn local_time(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&yuqing_core::china()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| s.to_string())
}

pub fn print_incident(v: &serde_json::Value) {
    let i = &v["incident"];
    let state = i["state"].as_str().and_then(IncidentState::parse).map_or("?", |s| s.label_zh());
    println!("处置工单 #{} {}", i["id"], i["title"].as_str().unwrap_or(""));
    println!(
        "状态：{state}    级别：{}级（{}）",
        i["grade"].as_str().unwrap_or(""),
        i["grade_reason"].as_str().unwrap_or("")
    );
    println!(
        "牵头单位：{}    配合单位：{}",
        i["lead_department"].as_str().unwrap_or("（未指派）"),
        i["cooperating"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("、"))
            .unwrap_or_default()
    );
    let steps: Vec<&str> = v["allowed_steps"].as_array().into_iter().flatten().filter_map(|s| s.as_str()).collect();
    println!("可执行：{}", steps.join("、"));
    println!("时限（北京时间）：");
    for d in i["deadlines"].as_array().into_iter().flatten() {
        let due = local_time(d["due_at"].as_str().unwrap_or(""));
        let met = d["met_at"].as_str().map(|m| format!("已完成 {}", local_time(m))).unwrap_or_else(|| "未完成".into());
        println!("  {:<12} 截止 {due}  {met}", d["label"].as_str().unwrap_or(""));
    }
    println!("时间线（北京时间）：");
    for e in v["timeline"].as_array().into_iter().flatten() {
        println!(
            "  {} [{}] {}",
            local_time(e["at"].as_str().unwrap_or("")),
            e["actor"].as_str().unwrap_or(""),
            e["summary"].as_str().unwrap_or("")
        );
    }
}

/// Verifies the audit chain; an error names the first broken entry.
pub fn audit_verify(store: &SqliteStore) -> Result<u64> {
    match desk::audit_verify(store.connection())? {
        Ok(n) => Ok(n),
        Err(b) => bail!("审计日志第 {} 条校验失败：{}", b.id, b.reason),
    }
}

pub fn duty_import(store: &SqliteStore, file: &Path) -> Result<usize> {
    let bytes = std::fs::read(file).with_context(|| format!("无法读取 {}", file.display()))?;
    let shifts = yuqing_core::duty::parse_roster_csv(&bytes, yuqing_core::china()).map_err(|errs| {
        anyhow::anyhow!(
            "{}：\n{}",
            file.display(),
            errs.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n")
        )
    })?;
    Ok(yuqing_desk::desk::import_roster(store, "cli", &shifts, Some(&file.display().to_string()), Utc::now())?)
}

#[cfg(test)]
mod tests {
    use super::local_time;

    #[test]
    fn stored_times_print_in_china_time_and_anything_else_as_given() {
        assert_eq!(local_time("2020-02-21T00:05:24Z"), "2020-02-21 08:05");
        assert_eq!(local_time("2020-02-20T23:43:48.123+00:00"), "2020-02-21 07:43");
        assert_eq!(local_time("不是时间"), "不是时间");
        assert_eq!(local_time(""), "");
    }
}
