//! 值班: the duty roster (who is on duty when, as staff or as the on-duty leader), its CSV import,
//! and the escalation policy for alerts nobody acknowledges. Pure: times are arguments.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The role on a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DutyRole {
    /// 值班员: receives alerts first.
    Staff,
    /// 值班领导: receives alerts nobody acknowledged.
    Leader,
}

impl DutyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            DutyRole::Staff => "staff",
            DutyRole::Leader => "leader",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            DutyRole::Staff => "值班员",
            DutyRole::Leader => "值班领导",
        }
    }
    pub fn parse(s: &str) -> Option<DutyRole> {
        match s.trim() {
            "staff" | "Staff" | "值班员" | "值班人员" | "值班" => Some(DutyRole::Staff),
            "leader" | "Leader" | "值班领导" | "带班领导" => Some(DutyRole::Leader),
            _ => None,
        }
    }
}

/// One shift: `person` is a user's login name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyShift {
    pub person: String,
    pub role: DutyRole,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl DutyShift {
    pub fn covers(&self, now: DateTime<Utc>) -> bool {
        self.starts_at <= now && now < self.ends_at
    }
}

/// The shifts covering `now` with the given role, in roster order.
pub fn on_duty(shifts: &[DutyShift], role: DutyRole, now: DateTime<Utc>) -> Vec<&DutyShift> {
    shifts.iter().filter(|s| s.role == role && s.covers(now)).collect()
}

/// A roster line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("值班表第 {line} 行：{message}")]
pub struct RosterError {
    pub line: usize,
    pub message: String,
}

fn parse_local(s: &str, offset: FixedOffset) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return offset.from_local_datetime(&n).single().map(|t| t.with_timezone(&Utc));
        }
    }
    None
}

/// Reads a roster CSV (UTF-8 or GBK as Excel writes it). Header names, in any order:
/// `person`/`姓名`/`值班人`, `role`/`角色`/`岗位`, `start`/`开始`/`开始时间`, `end`/`结束`/`结束时间`.
/// Times without an offset are local at `offset`. All lines are checked; every bad one is reported.
pub fn parse_roster_csv(bytes: &[u8], offset: FixedOffset) -> Result<Vec<DutyShift>, Vec<RosterError>> {
    let text = crate::input::decode_text(bytes);
    let mut rdr = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![RosterError { line: 1, message: format!("无法读取表头：{e}") }]),
    };
    let find = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim_start_matches('\u{feff}')));
    let cols = (
        find(&["person", "姓名", "值班人", "值班人员"]),
        find(&["role", "角色", "岗位"]),
        find(&["start", "开始", "开始时间"]),
        find(&["end", "结束", "结束时间"]),
    );
    let (Some(cp), Some(cr), Some(cs), Some(ce)) = cols else {
        return Err(vec![RosterError {
            line: 1,
            message: "表头须包含 person（姓名）、role（角色）、start（开始时间）、end（结束时间）四列".into(),
        }]);
    };
    let mut shifts = Vec::new();
    let mut errors = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(RosterError { line, message: format!("无法解析：{e}") });
                continue;
            }
        };
        if rec.iter().all(|f| f.is_empty()) {
            continue;
        }
        let get = |c: usize| rec.get(c).unwrap_or("");
        let person = get(cp).to_string();
        if person.is_empty() {
            errors.push(RosterError { line, message: "缺少值班人".into() });
            continue;
        }
        let Some(role) = DutyRole::parse(get(cr)) else {
            errors.push(RosterError {
                line,
                message: format!("角色“{}”应为 值班员（staff）或 值班领导（leader）", get(cr)),
            });
            continue;
        };
        let (Some(starts_at), Some(ends_at)) = (parse_local(get(cs), offset), parse_local(get(ce), offset)) else {
            errors.push(RosterError {
                line,
                message: format!("时间“{}”—“{}”无法识别，应写成 2026-11-20 08:00", get(cs), get(ce)),
            });
            continue;
        };
        if ends_at <= starts_at {
            errors.push(RosterError { line, message: "结束时间须晚于开始时间".into() });
            continue;
        }
        shifts.push(DutyShift { person, role, starts_at, ends_at });
    }
    if errors.is_empty() {
        Ok(shifts)
    } else {
        Err(errors)
    }
}

/// Who an unacknowledged alert goes to next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AckEscalation {
    /// Step 1: the on-duty leader.
    OnDutyLeader,
    /// Step 2: the coordinator (办公室).
    Coordinator,
}

impl AckEscalation {
    pub fn step(self) -> u8 {
        match self {
            AckEscalation::OnDutyLeader => 1,
            AckEscalation::Coordinator => 2,
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            AckEscalation::OnDutyLeader => "值班领导",
            AckEscalation::Coordinator => "办公室",
        }
    }
}

/// The next escalation due for an alert raised at `alert_at` that is still unacknowledged at
/// `now`, given how many steps were already taken: step k is due `k × timeout` after the alert.
pub fn ack_escalation_due(
    alert_at: DateTime<Utc>,
    steps_done: u8,
    timeout: Duration,
    now: DateTime<Utc>,
) -> Option<AckEscalation> {
    let next = match steps_done {
        0 => AckEscalation::OnDutyLeader,
        1 => AckEscalation::Coordinator,
        _ => return None,
    };
    (now >= alert_at + timeout * next.step() as i32).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cst() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap()
    }
    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn roster_csv_with_chinese_headers_and_local_times() {
        let csv = "姓名,角色,开始时间,结束时间\nzhang,值班员,2026-11-20 08:00,2026-11-20 20:00\nli,值班领导,2026-11-20 08:00,2026-11-21 08:00\n";
        let shifts = parse_roster_csv(csv.as_bytes(), cst()).unwrap();
        assert_eq!(shifts.len(), 2);
        assert_eq!(shifts[0].starts_at, t("2026-11-20T00:00:00Z"));
        let now = t("2026-11-20T19:59:00+08:00");
        assert_eq!(on_duty(&shifts, DutyRole::Staff, now)[0].person, "zhang");
        assert_eq!(on_duty(&shifts, DutyRole::Leader, now)[0].person, "li");
        // Shifts end exclusively: at 20:00 the staff shift is over.
        assert!(on_duty(&shifts, DutyRole::Staff, t("2026-11-20T20:00:00+08:00")).is_empty());
    }

    #[test]
    fn roster_errors_name_every_bad_line() {
        let csv = "person,role,start,end\n,staff,2026-11-20 08:00,2026-11-20 20:00\nwang,boss,2026-11-20 08:00,2026-11-20 20:00\nzhao,staff,明天,后天\nqian,staff,2026-11-20 20:00,2026-11-20 08:00\n";
        let errs = parse_roster_csv(csv.as_bytes(), cst()).unwrap_err();
        assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        assert!(errs[1].to_string().contains("boss"));
        assert!(parse_roster_csv(b"a,b\n1,2\n", cst()).unwrap_err()[0].message.contains("表头"));
    }

    #[test]
    fn roster_in_gbk_is_read() {
        let (bytes, _, _) =
            encoding_rs::GBK.encode("姓名,角色,开始,结束\n张三,值班员,2026-11-20 08:00,2026-11-20 20:00\n");
        let shifts = parse_roster_csv(&bytes, cst()).unwrap();
        assert_eq!(shifts[0].person, "张三");
    }

    #[test]
    fn unacknowledged_alert_goes_to_leader_then_coordinator() {
        let at = t("2026-11-20T10:00:00+08:00");
        let ten = Duration::minutes(10);
        assert_eq!(ack_escalation_due(at, 0, ten, at + Duration::minutes(9)), None);
        assert_eq!(ack_escalation_due(at, 0, ten, at + ten), Some(AckEscalation::OnDutyLeader));
        assert_eq!(ack_escalation_due(at, 1, ten, at + Duration::minutes(19)), None);
        assert_eq!(ack_escalation_due(at, 1, ten, at + Duration::minutes(20)), Some(AckEscalation::Coordinator));
        assert_eq!(ack_escalation_due(at, 2, ten, at + Duration::hours(5)), None);
    }
}
