//! Who may do what, by role: one table of role sets, named by the server's route declarations
//! (`routes/` in yuqing-server), its pages (which forms to offer) and the desk's own checks.
//! Invariant: a role check anywhere in yuqing names a set or a predicate of this module.
//!
//! Finer rules stay where the data is: which incident a department member may see
//! (`Desk::visible_incident`), and which incident action a role may take (`yuqing_core::incident`,
//! checked again on every command).

use yuqing_core::people::Role;

use Role::{Admin, Approver, Coordinator, DepartmentMember, Officer};

/// Everyone but viewers: the people who work incidents.
pub const WORKERS: &[Role] = &[Admin, Coordinator, Approver, Officer, DepartmentMember];
/// Administrators only (people and their passwords).
pub const ADMINS: &[Role] = &[Admin];
/// 办公室 and administrators.
pub const OFFICE: &[Role] = &[Admin, Coordinator];
/// Who opens incidents, links stories to them, and merges or splits stories by hand.
pub const OPENERS: &[Role] = &[Admin, Coordinator, Officer];
/// Who writes shift handovers.
pub const DUTY_STAFF: &[Role] = &[Admin, Coordinator, Approver, Officer];
/// Who may push posts into the pipeline (external crawlers run under such an account).
pub const PUSHERS: &[Role] = &[Admin, Coordinator, Officer];
/// Who sees the overdue records.
pub const OVERDUE_READERS: &[Role] = &[Admin, Coordinator, Approver];
/// Who reads the archived reports (all but department members, who see their own forms only).
pub const REPORT_READERS: &[Role] = &[Admin, Coordinator, Approver, Officer, Role::Viewer];
/// Who generates reports on demand.
pub const REPORT_MAKERS: &[Role] = &[Admin, Coordinator, Approver, Officer];
/// Who drafts and edits disposal reports (department members on their own incidents).
pub const FORM_WRITERS: &[Role] = &[Admin, Coordinator, Officer, DepartmentMember];
/// Who keeps the risk register (department members their own department's lines).
pub const RISK_KEEPERS: &[Role] = &[Admin, Coordinator, DepartmentMember];
/// Who drafts statements (口径): workers but the leaders who approve them.
pub const DRAFTERS: &[Role] = &[Admin, Coordinator, Officer, DepartmentMember];

/// Whether `role` works incidents at all (acknowledges alerts, adds notes, completes tasks):
/// everyone but viewers.
pub fn may_work(role: Role) -> bool {
    WORKERS.contains(&role)
}

/// Whether `role` opens incidents, links stories to them, merges or splits stories, reports to
/// the leadership and writes an incident's review.
pub fn may_open_incidents(role: Role) -> bool {
    OPENERS.contains(&role)
}

/// Whether `role` saves, switches off and switches on watch rules (the office and administrators).
pub fn may_edit_rules(role: Role) -> bool {
    OFFICE.contains(&role)
}

/// Whether `role` imports the duty roster (the office and administrators).
pub fn may_import_duty(role: Role) -> bool {
    OFFICE.contains(&role)
}

/// Whether `role` registers an approved statement's publication (the office and administrators).
pub fn may_publish(role: Role) -> bool {
    OFFICE.contains(&role)
}

/// Whether `role` drafts statements.
pub fn may_draft_statements(role: Role) -> bool {
    DRAFTERS.contains(&role)
}

/// Whether `role` adds people, switches them on or off and sets their passwords.
pub fn may_manage_people(role: Role) -> bool {
    ADMINS.contains(&role)
}

/// Whether `role` issues disposal reports (the office and administrators).
pub fn may_issue_forms(role: Role) -> bool {
    OFFICE.contains(&role)
}

/// Whether `role` generates reports on demand.
pub fn may_make_reports(role: Role) -> bool {
    REPORT_MAKERS.contains(&role)
}

/// Whether `role` drafts and edits disposal reports.
pub fn may_write_forms(role: Role) -> bool {
    FORM_WRITERS.contains(&role)
}

/// Whether `role` keeps risk items.
pub fn may_keep_risks(role: Role) -> bool {
    RISK_KEEPERS.contains(&role)
}

/// Whether `role` sees only its own department's paperwork (risk lines, its incidents' forms).
pub fn own_department_only(role: Role) -> bool {
    role == DepartmentMember
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Role; 6] = [Admin, Coordinator, Approver, Officer, DepartmentMember, Role::Viewer];

    /// The predicates say exactly what the checks they replaced said.
    #[test]
    fn predicates_match_the_role_checks_they_replaced() {
        for r in ALL {
            assert_eq!(may_work(r), r != Role::Viewer, "{r:?}");
            assert_eq!(may_open_incidents(r), matches!(r, Officer | Coordinator | Admin), "{r:?}");
            assert_eq!(may_edit_rules(r), matches!(r, Admin | Coordinator), "{r:?}");
            assert_eq!(may_draft_statements(r), r != Role::Viewer && r != Approver, "{r:?}");
            assert_eq!(may_write_forms(r), !matches!(r, Role::Viewer | Approver), "{r:?}");
            assert_eq!(may_keep_risks(r), matches!(r, Admin | Coordinator | DepartmentMember), "{r:?}");
            assert_eq!(may_manage_people(r), r == Admin, "{r:?}");
        }
    }

    #[test]
    fn viewers_only_read() {
        for set in [WORKERS, ADMINS, OFFICE, OPENERS, DUTY_STAFF, PUSHERS, REPORT_MAKERS, FORM_WRITERS, RISK_KEEPERS] {
            assert!(!set.contains(&Role::Viewer));
        }
    }
}
