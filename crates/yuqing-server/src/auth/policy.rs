//! Who may call what: the kinds of access a route declares beside it (`routes/`), and the role
//! sets they name (defined in `yuqing_desk::permission`, which the desk's own checks use too). `auth::enforce` checks the route's access on every page and API call before the
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

/// The role sets routes name (one table with the domain's checks: `yuqing_desk::permission`).
pub use yuqing_desk::permission::{
    ADMINS, DUTY_STAFF, FORM_WRITERS, OFFICE, OPENERS, OVERDUE_READERS, PUSHERS, REPORT_MAKERS, REPORT_READERS,
    RISK_KEEPERS, WORKERS,
};
