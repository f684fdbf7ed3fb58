//! The report tables (schema: migration 5 in `yuqing-store`): the archive, serial counters,
//! disposal reports, the risk register with its history, and the scheduler's state. Plain
//! functions over `&Connection`; each change is one transaction with its audit entry.
//!
//! Invariant: a serial is allocated inside a `BEGIN IMMEDIATE` transaction that also marks the
//! report issued, so two writers — threads or processes — never get the same number, and a
//! failed issue leaves no gap in use. An issued report is frozen (also by a database trigger).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde::Serialize;
use yuqing_store::desk::audit_append;

use crate::model::*;
use crate::{ReportError, Result};

fn utc(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).single().unwrap_or_default()
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> ReportError {
    ReportError::Store(yuqing_store::StoreError::Corrupt { what: what.to_string(), detail: e.to_string() })
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| corrupt("报表数据", e))
}

/// A write transaction that takes the database's write lock at once (so the read of the counter
/// and its increment cannot interleave with another writer's).
pub fn immediate(conn: &Connection) -> Result<Transaction<'_>> {
    Ok(Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?)
}

// ---------------------------------------------------------------- archive

/// A produced report as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArchiveEntry {
    pub id: i64,
    pub kind: String,
    pub period: String,
    pub title: String,
    /// "schedule" (produced by the server's clock) or "manual".
    pub trigger: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Stores a produced report; returns its id.
pub fn archive_put(
    conn: &Connection,
    report: &Report,
    period: &str,
    trigger: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    conn.execute(
        "INSERT INTO report_archive (kind, period, title, data, trigger, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![report.kind(), period, report.title(), json(report)?, trigger, by, now.timestamp()],
    )?;
    Ok(conn.last_insert_rowid())
}

fn entry_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ArchiveEntry> {
    Ok(ArchiveEntry {
        id: r.get(0)?,
        kind: r.get(1)?,
        period: r.get(2)?,
        title: r.get(3)?,
        trigger: r.get(4)?,
        created_by: r.get(5)?,
        created_at: utc(r.get(6)?),
    })
}

/// Archived reports, newest first; `kind` narrows.
pub fn archive_list(
    conn: &Connection,
    kind: Option<&str>,
    limit: usize,
    offset: usize,
) -> Result<(Vec<ArchiveEntry>, u64)> {
    let total: i64 =
        conn.query_row("SELECT COUNT(*) FROM report_archive WHERE ?1 IS NULL OR kind = ?1", [kind], |r| r.get(0))?;
    let mut st = conn.prepare_cached(
        "SELECT id, kind, period, title, trigger, created_by, created_at FROM report_archive WHERE ?1 IS NULL OR kind = ?1 \
         ORDER BY id DESC LIMIT ?2 OFFSET ?3",
    )?;
    let items = st
        .query_map(params![kind, limit.clamp(1, 500) as i64, offset as i64], entry_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((items, total.max(0) as u64))
}

/// One archived report with its content.
pub fn archive_get(conn: &Connection, id: i64) -> Result<Option<(ArchiveEntry, Report)>> {
    let row = conn
        .query_row(
            "SELECT id, kind, period, title, trigger, created_by, created_at, data FROM report_archive WHERE id = ?1",
            [id],
            |r| Ok((entry_row(r)?, r.get::<_, String>(7)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((e, data)) => {
            let report: Report = serde_json::from_str(&data).map_err(|err| corrupt(&format!("报表 {id}"), err))?;
            Ok(Some((e, report)))
        }
    }
}

/// The newest archived report of a kind and period, if any.
pub fn archive_find(conn: &Connection, kind: &str, period: &str) -> Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MAX(id) FROM report_archive WHERE kind = ?1 AND period = ?2",
        params![kind, period],
        |r| r.get(0),
    )?)
}

// ---------------------------------------------------------------- scheduler state

/// The last period a scheduled job produced (e.g. "2026-11-20" for the digest).
pub fn schedule_last(conn: &Connection, name: &str) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT last_period FROM report_schedule WHERE name = ?1", [name], |r| r.get(0)).optional()?)
}

pub fn schedule_set(conn: &Connection, name: &str, period: &str, now: DateTime<Utc>) -> Result<()> {
    conn.execute(
        "INSERT INTO report_schedule (name, last_period, at) VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET last_period = ?2, at = ?3",
        params![name, period, now.timestamp()],
    )?;
    Ok(())
}

// ---------------------------------------------------------------- serials

/// The next number of `scope` in `year`; call inside an immediate transaction.
pub fn next_serial(tx: &Connection, scope: &str, year: i32) -> Result<i64> {
    Ok(tx.query_row(
        "INSERT INTO report_serials (scope, year, last) VALUES (?1, ?2, 1) \
         ON CONFLICT(scope, year) DO UPDATE SET last = last + 1 RETURNING last",
        params![scope, year],
        |r| r.get(0),
    )?)
}

// ---------------------------------------------------------------- disposal reports

const DISPOSAL_COLS: &str = "id, incident_id, serial, status, data, created_at, updated_at, issued_at";

/// What is stored in `disposal_reports.data`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct DisposalData {
    recipient: String,
    issuer: String,
    fields: DisposalFields,
    created_by: String,
    issued_by: Option<String>,
}

/// A `disposal_reports` row as read: id, incident, serial, status, data, created, updated, issued.
type DisposalRow = (i64, i64, Option<String>, String, String, i64, i64, Option<i64>);

fn disposal_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DisposalRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}

fn disposal_from(row: DisposalRow) -> Result<DisposalReport> {
    let (id, incident_id, serial, status, data, created, updated, issued) = row;
    let d: DisposalData = serde_json::from_str(&data).map_err(|e| corrupt(&format!("报告单 {id}"), e))?;
    Ok(DisposalReport {
        id,
        incident_id,
        serial,
        status: DisposalStatus::parse(&status).ok_or_else(|| corrupt(&format!("报告单 {id} 状态"), &status))?,
        recipient: d.recipient,
        issuer: d.issuer,
        fields: d.fields,
        created_at: utc(created),
        created_by: d.created_by,
        updated_at: utc(updated),
        issued_at: issued.map(utc),
        issued_by: d.issued_by,
    })
}

pub fn disposal_get(conn: &Connection, id: i64) -> Result<Option<DisposalReport>> {
    let row = conn
        .query_row(&format!("SELECT {DISPOSAL_COLS} FROM disposal_reports WHERE id = ?1"), [id], disposal_row)
        .optional()?;
    row.map(disposal_from).transpose()
}

/// Disposal reports, newest first; of one incident when given.
pub fn disposal_list(conn: &Connection, incident: Option<i64>, limit: usize) -> Result<Vec<DisposalReport>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {DISPOSAL_COLS} FROM disposal_reports WHERE ?1 IS NULL OR incident_id = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = st
        .query_map(params![incident, limit.clamp(1, 1000) as i64], disposal_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(disposal_from).collect()
}

/// Creates a draft for an incident with pre-filled fields; audited.
pub fn disposal_create(
    conn: &Connection,
    incident_id: i64,
    recipient: &str,
    issuer: &str,
    fields: DisposalFields,
    by: &str,
    now: DateTime<Utc>,
) -> Result<DisposalReport> {
    let tx = immediate(conn)?;
    let exists: bool =
        tx.query_row("SELECT EXISTS (SELECT 1 FROM incidents WHERE id = ?1)", [incident_id], |r| r.get(0))?;
    if !exists {
        return Err(ReportError::NotFound(format!("工单 {incident_id} 不存在")));
    }
    let data = DisposalData {
        recipient: recipient.into(),
        issuer: issuer.into(),
        fields,
        created_by: by.into(),
        issued_by: None,
    };
    tx.execute(
        "INSERT INTO disposal_reports (incident_id, serial, status, data, created_at, updated_at) VALUES (?1, NULL, 'draft', ?2, ?3, ?3)",
        params![incident_id, json(&data)?, now.timestamp()],
    )?;
    let id = tx.last_insert_rowid();
    audit_append(
        &tx,
        by,
        "report.disposal.create",
        &format!("disposal:{id}"),
        &serde_json::json!({"incident": incident_id}).to_string(),
        now,
    )?;
    tx.commit()?;
    disposal_get(conn, id)?.ok_or_else(|| corrupt("报告单", "刚写入的报告单读不出"))
}

fn frozen(r: &DisposalReport) -> ReportError {
    ReportError::Conflict(format!(
        "报告单 {} 已于 {} 签发，内容已冻结，不能修改；如需更正请新建一份报告单",
        r.serial.as_deref().unwrap_or("?"),
        r.issued_at
            .map(|t| t.with_timezone(&yuqing_core::china()).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    ))
}

/// Edits fields of a draft (`(key, value)` with keys of `DISPOSAL_LABELS`, or `recipient`);
/// refused once issued. Audited with the keys changed.
pub fn disposal_edit(
    conn: &Connection,
    id: i64,
    changes: &[(String, String)],
    by: &str,
    now: DateTime<Utc>,
) -> Result<DisposalReport> {
    let tx = immediate(conn)?;
    let Some(mut r) = disposal_get(&tx, id)? else {
        return Err(ReportError::NotFound(format!("报告单 {id} 不存在")));
    };
    if r.status == DisposalStatus::Issued {
        return Err(frozen(&r));
    }
    let mut changed = Vec::new();
    for (k, v) in changes {
        if k == "recipient" {
            r.recipient = v.trim().to_string();
        } else {
            r.fields.set(k, v)?;
        }
        changed.push(k.clone());
    }
    if changed.is_empty() {
        return Err(ReportError::Invalid("没有要修改的字段".into()));
    }
    let data = DisposalData {
        recipient: r.recipient.clone(),
        issuer: r.issuer.clone(),
        fields: r.fields.clone(),
        created_by: r.created_by.clone(),
        issued_by: None,
    };
    tx.execute(
        "UPDATE disposal_reports SET data = ?2, updated_at = ?3 WHERE id = ?1 AND status = 'draft'",
        params![id, json(&data)?, now.timestamp()],
    )?;
    audit_append(
        &tx,
        by,
        "report.disposal.edit",
        &format!("disposal:{id}"),
        &serde_json::json!({"fields": changed}).to_string(),
        now,
    )?;
    tx.commit()?;
    disposal_get(conn, id)?.ok_or_else(|| corrupt("报告单", "刚修改的报告单读不出"))
}

/// Issues a draft: gives it the next serial of the local year and freezes it; audited.
pub fn disposal_issue(
    conn: &Connection,
    id: i64,
    by: &str,
    now: DateTime<Utc>,
    offset: FixedOffset,
) -> Result<DisposalReport> {
    let tx = immediate(conn)?;
    let Some(r) = disposal_get(&tx, id)? else {
        return Err(ReportError::NotFound(format!("报告单 {id} 不存在")));
    };
    if r.status == DisposalStatus::Issued {
        return Err(frozen(&r));
    }
    let missing = r.fields.missing();
    if !missing.is_empty() {
        return Err(ReportError::Invalid(format!(
            "报告单 {id} 还有未填写的栏目：{}；填写后再签发",
            missing.join("、")
        )));
    }
    let year = now.with_timezone(&offset).year();
    let serial = disposal_serial(year, next_serial(&tx, "YQCZBG", year)?);
    let data = DisposalData {
        recipient: r.recipient.clone(),
        issuer: r.issuer.clone(),
        fields: r.fields.clone(),
        created_by: r.created_by.clone(),
        issued_by: Some(by.into()),
    };
    tx.execute(
        "UPDATE disposal_reports SET serial = ?2, status = 'issued', data = ?3, updated_at = ?4, issued_at = ?4 WHERE id = ?1 AND status = 'draft'",
        params![id, serial, json(&data)?, now.timestamp()],
    )?;
    audit_append(
        &tx,
        by,
        "report.disposal.issue",
        &format!("disposal:{id}"),
        &serde_json::json!({"serial": serial, "incident": r.incident_id}).to_string(),
        now,
    )?;
    tx.commit()?;
    disposal_get(conn, id)?.ok_or_else(|| corrupt("报告单", "刚签发的报告单读不出"))
}

// ---------------------------------------------------------------- risk register

const RISK_COLS: &str = "id, status, data, created_at, updated_at";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RiskData {
    fields: RiskFields,
    created_by: String,
    resolved_at: Option<DateTime<Utc>>,
}

fn risk_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, String, String, i64, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn risk_item((id, status, data, created, updated): (i64, String, String, i64, i64)) -> Result<RiskItem> {
    let d: RiskData = serde_json::from_str(&data).map_err(|e| corrupt(&format!("隐患 {id}"), e))?;
    Ok(RiskItem {
        id,
        fields: d.fields,
        status: RiskStatus::parse(&status).ok_or_else(|| corrupt(&format!("隐患 {id} 状态"), &status))?,
        created_at: utc(created),
        created_by: d.created_by,
        updated_at: utc(updated),
        resolved_at: d.resolved_at,
    })
}

pub fn risk_get(conn: &Connection, id: i64) -> Result<Option<RiskItem>> {
    let row =
        conn.query_row(&format!("SELECT {RISK_COLS} FROM risk_items WHERE id = ?1"), [id], risk_from).optional()?;
    row.map(risk_item).transpose()
}

/// The register (of one department when given), oldest first.
pub fn risk_list(conn: &Connection, department: Option<&str>) -> Result<Vec<RiskItem>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {RISK_COLS} FROM risk_items WHERE ?1 IS NULL OR department = ?1 ORDER BY id"
    ))?;
    let rows = st.query_map([department], risk_from)?.collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter().map(risk_item).collect()
}

fn risk_write(tx: &Connection, item: &RiskItem, actor: &str, change: &str, now: DateTime<Utc>) -> Result<()> {
    let data = json(&RiskData {
        fields: item.fields.clone(),
        created_by: item.created_by.clone(),
        resolved_at: item.resolved_at,
    })?;
    tx.execute(
        "UPDATE risk_items SET department = ?2, status = ?3, due_date = ?4, data = ?5, updated_at = ?6 WHERE id = ?1",
        params![
            item.id,
            item.fields.department,
            item.status.as_str(),
            item.fields.due_date.to_string(),
            data,
            now.timestamp()
        ],
    )?;
    tx.execute(
        "INSERT INTO risk_item_history (item_id, at, actor, change, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![item.id, now.timestamp(), actor, change, data],
    )?;
    audit_append(
        tx,
        actor,
        "report.risk",
        &format!("risk:{}", item.id),
        &serde_json::json!({"change": change}).to_string(),
        now,
    )?;
    Ok(())
}

/// Adds a line to the register; its first history entry records it.
pub fn risk_add(conn: &Connection, fields: RiskFields, by: &str, now: DateTime<Utc>) -> Result<RiskItem> {
    fields.check()?;
    let tx = immediate(conn)?;
    tx.execute(
        "INSERT INTO risk_items (department, status, due_date, data, created_at, updated_at) VALUES (?1, 'open', ?2, '{}', ?3, ?3)",
        params![fields.department, fields.due_date.to_string(), now.timestamp()],
    )?;
    let item = RiskItem {
        id: tx.last_insert_rowid(),
        fields,
        status: RiskStatus::Open,
        created_at: now,
        created_by: by.into(),
        updated_at: now,
        resolved_at: None,
    };
    risk_write(&tx, &item, by, "登记", now)?;
    tx.commit()?;
    Ok(item)
}

/// Changes a line (fields and/or status); the change and the line after it go to the history.
pub fn risk_update(
    conn: &Connection,
    id: i64,
    fields: Option<RiskFields>,
    status: Option<RiskStatus>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<RiskItem> {
    let tx = immediate(conn)?;
    let Some(mut item) = risk_get(&tx, id)? else {
        return Err(ReportError::NotFound(format!("隐患 {id} 不存在")));
    };
    let mut what = Vec::new();
    if let Some(f) = fields {
        f.check()?;
        let names = [
            (item.fields.department != f.department, "责任单位"),
            (item.fields.content != f.content, "舆情隐患内容"),
            (item.fields.offline_measures != f.offline_measures, "线下处置措施"),
            (item.fields.online_response != f.online_response, "线上应对措施及引导口径"),
            (item.fields.due_date != f.due_date, "解决时限"),
        ];
        what.extend(names.iter().filter(|(c, _)| *c).map(|(_, n)| format!("修改{n}")));
        item.fields = f;
    }
    if let Some(s) = status.filter(|s| *s != item.status) {
        what.push(format!("状态改为{}", s.label_zh()));
        item.status = s;
        item.resolved_at = (s == RiskStatus::Resolved).then_some(now);
    }
    if what.is_empty() {
        return Err(ReportError::Invalid(format!("隐患 {id} 没有变化")));
    }
    item.updated_at = now;
    risk_write(&tx, &item, by, &what.join("；"), now)?;
    tx.commit()?;
    Ok(item)
}

/// A line of an item's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskChange {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub change: String,
    pub item: RiskFields,
}

pub fn risk_history(conn: &Connection, id: i64) -> Result<Vec<RiskChange>> {
    let mut st =
        conn.prepare_cached("SELECT at, actor, change, data FROM risk_item_history WHERE item_id = ?1 ORDER BY id")?;
    let rows = st
        .query_map([id], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    rows.into_iter()
        .map(|(at, actor, change, data)| {
            let d: RiskData = serde_json::from_str(&data).map_err(|e| corrupt(&format!("隐患 {id} 历史"), e))?;
            Ok(RiskChange { at: utc(at), actor, change, item: d.fields })
        })
        .collect()
}

/// Departments with items in the register.
pub fn risk_departments(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT DISTINCT department FROM risk_items ORDER BY department")?;
    let v = st.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(v)
}

/// Today's local date (helper for callers that hold a UTC time).
pub fn today(now: DateTime<Utc>, offset: FixedOffset) -> NaiveDate {
    now.with_timezone(&offset).date_naive()
}
