//! The report tables (schema: migration 5 in `yuqing-store`, SQL in `yuqing_store::report_tables`):
//! the archive, serial counters, disposal reports, the risk register with its history, and the
//! scheduler's state, as typed reports. Plain functions over `&Connection`; each change is one
//! transaction with its audit entry.
//!
//! Invariant: a serial is allocated inside a `BEGIN IMMEDIATE` transaction that also marks the
//! report issued, so two writers — threads or processes — never get the same number, and a
//! failed issue leaves no gap in use. An issued report is frozen (also by a database trigger).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use serde::Serialize;
use yuqing_store::desk::audit_append;
use yuqing_store::report_tables::{self as tables, DisposalRow, NewArchived, RiskRow, RiskWrite};
use yuqing_store::{Connection, Work};

// The tables' own operations, used as they are.
pub use yuqing_store::report_tables::{
    archive_find, archive_list, next_serial, risk_departments, schedule_last, schedule_set, ArchiveEntry,
};

use crate::model::*;
use crate::{ReportError, Result};

fn corrupt(what: &str, e: impl std::fmt::Display) -> ReportError {
    ReportError::Store(yuqing_store::StoreError::Corrupt { what: what.to_string(), detail: e.to_string() })
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| corrupt("报表数据", e))
}

// ---------------------------------------------------------------- archive

/// Stores a produced report; returns its id.
pub fn archive_put(
    conn: &Connection,
    report: &Report,
    period: &str,
    trigger: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let data = json(report)?;
    let title = report.title();
    let r = NewArchived { kind: report.kind(), period, title: &title, data: &data, trigger, by };
    Ok(tables::archive_put(conn, r, now)?)
}

/// One archived report with its content.
pub fn archive_get(conn: &Connection, id: i64) -> Result<Option<(ArchiveEntry, Report)>> {
    let row = tables::archive_get(conn, id)?;
    match row {
        None => Ok(None),
        Some((e, data)) => {
            let report: Report = serde_json::from_str(&data).map_err(|err| corrupt(&format!("报表 {id}"), err))?;
            Ok(Some((e, report)))
        }
    }
}

// ---------------------------------------------------------------- disposal reports

/// What is stored in `disposal_reports.data`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct DisposalData {
    recipient: String,
    issuer: String,
    fields: DisposalFields,
    created_by: String,
    issued_by: Option<String>,
}

fn disposal_from(row: DisposalRow) -> Result<DisposalReport> {
    let DisposalRow { id, incident_id, serial, status, data, created_at, updated_at, issued_at } = row;
    let d: DisposalData = serde_json::from_str(&data).map_err(|e| corrupt(&format!("报告单 {id}"), e))?;
    Ok(DisposalReport {
        id,
        incident_id,
        serial,
        status: DisposalStatus::parse(&status).ok_or_else(|| corrupt(&format!("报告单 {id} 状态"), &status))?,
        recipient: d.recipient,
        issuer: d.issuer,
        fields: d.fields,
        created_at,
        created_by: d.created_by,
        updated_at,
        issued_at,
        issued_by: d.issued_by,
    })
}

pub fn disposal_get(conn: &Connection, id: i64) -> Result<Option<DisposalReport>> {
    tables::disposal_get(conn, id)?.map(disposal_from).transpose()
}

/// Disposal reports, newest first; of one incident when given.
pub fn disposal_list(conn: &Connection, incident: Option<i64>, limit: usize) -> Result<Vec<DisposalReport>> {
    tables::disposal_list(conn, incident, limit)?.into_iter().map(disposal_from).collect()
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
    let tx = Work::begin_immediate(conn)?;
    if !tables::incident_exists(&tx, incident_id)? {
        return Err(ReportError::NotFound(format!("工单 {incident_id} 不存在")));
    }
    let data = DisposalData {
        recipient: recipient.into(),
        issuer: issuer.into(),
        fields,
        created_by: by.into(),
        issued_by: None,
    };
    let id = tables::disposal_insert(&tx, incident_id, &json(&data)?, now)?;
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
    let tx = Work::begin_immediate(conn)?;
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
    tables::disposal_update_draft(&tx, id, &json(&data)?, now)?;
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
    let tx = Work::begin_immediate(conn)?;
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
    tables::disposal_mark_issued(&tx, id, &serial, &json(&data)?, now)?;
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

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct RiskData {
    fields: RiskFields,
    created_by: String,
    resolved_at: Option<DateTime<Utc>>,
}

fn risk_item(RiskRow { id, status, data, created_at, updated_at }: RiskRow) -> Result<RiskItem> {
    let d: RiskData = serde_json::from_str(&data).map_err(|e| corrupt(&format!("隐患 {id}"), e))?;
    Ok(RiskItem {
        id,
        fields: d.fields,
        status: RiskStatus::parse(&status).ok_or_else(|| corrupt(&format!("隐患 {id} 状态"), &status))?,
        created_at,
        created_by: d.created_by,
        updated_at,
        resolved_at: d.resolved_at,
    })
}

pub fn risk_get(conn: &Connection, id: i64) -> Result<Option<RiskItem>> {
    tables::risk_get(conn, id)?.map(risk_item).transpose()
}

/// The register (of one department when given), oldest first.
pub fn risk_list(conn: &Connection, department: Option<&str>) -> Result<Vec<RiskItem>> {
    tables::risk_list(conn, department)?.into_iter().map(risk_item).collect()
}

fn risk_write(tx: &Connection, item: &RiskItem, actor: &str, change: &str, now: DateTime<Utc>) -> Result<()> {
    let data = json(&RiskData {
        fields: item.fields.clone(),
        created_by: item.created_by.clone(),
        resolved_at: item.resolved_at,
    })?;
    let due_date = item.fields.due_date.to_string();
    let w = RiskWrite {
        id: item.id,
        department: &item.fields.department,
        status: item.status.as_str(),
        due_date: &due_date,
        data: &data,
        actor,
        change,
    };
    tables::risk_write(tx, w, now)?;
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
    let tx = Work::begin_immediate(conn)?;
    let id = tables::risk_insert(&tx, &fields.department, &fields.due_date.to_string(), now)?;
    let item = RiskItem {
        id,
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
    let tx = Work::begin_immediate(conn)?;
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
    tables::risk_history(conn, id)?
        .into_iter()
        .map(|h| {
            let d: RiskData = serde_json::from_str(&h.data).map_err(|e| corrupt(&format!("隐患 {id} 历史"), e))?;
            Ok(RiskChange { at: h.at, actor: h.actor, change: h.change, item: d.fields })
        })
        .collect()
}

/// Today's local date (helper for callers that hold a UTC time).
pub fn today(now: DateTime<Utc>, offset: FixedOffset) -> NaiveDate {
    now.with_timezone(&offset).date_naive()
}
