//! Who may call what: the kinds of access a route declares beside it (`routes/`), and the role
//! sets they name. `auth::enforce` checks the route's access on every page and API call before the
//! handler runs; a route that is not in the table is refused (fail closed).
//!
//! Finer rules stay where the data is: which incident a department member may see
//! (`Desk::visible_incident` and the incident list), and which incident action a role may take
//! (`yuqing_core::incident`, checked again on every command).

use yuqing_core::people::Role;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No sign-in needed (health check, sign-in form, the OpenAPI document).
    Public,
    /// Any signed-in user, viewers included (reading).
    SignedIn,
    /// Only these roles.
    Roles(&'static [Role]),
}

impl Access {
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Public | Access::SignedIn => true,
            Access::Roles(roles) => roles.contains(&role),
        }
    }
}

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
