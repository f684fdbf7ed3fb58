//! People on the desk: roles (what they may do) and titles (which approval links and spokesperson
//! defaults they fill). Accounts and sign-in live in the store and server; this is the pure part.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a user may do; checked on every incident action (and by the server on every call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// 系统管理员: users, departments, configuration.
    Admin,
    /// 办公室 (领导小组办公室): coordinates every incident.
    Coordinator,
    /// 分管领导: approves statements and receives overdue notices.
    Approver,
    /// 信息员: monitors, opens and reports incidents.
    Officer,
    /// 责任单位成员: works on its own department's incidents only.
    DepartmentMember,
    /// 只读
    Viewer,
}

impl Role {
    pub const ALL: [Role; 6] =
        [Role::Admin, Role::Coordinator, Role::Approver, Role::Officer, Role::DepartmentMember, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Coordinator => "coordinator",
            Role::Approver => "approver",
            Role::Officer => "officer",
            Role::DepartmentMember => "department",
            Role::Viewer => "viewer",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Role::Admin => "系统管理员",
            Role::Coordinator => "办公室",
            Role::Approver => "分管领导",
            Role::Officer => "信息员",
            Role::DepartmentMember => "责任单位",
            Role::Viewer => "只读用户",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        let s = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s) || r.label_zh() == s)
            .or(match s {
                "department-member" | "department_member" | "member" => Some(Role::DepartmentMember),
                _ => None,
            })
            .ok_or_else(|| format!("未知的角色“{s}”，应为 admin、coordinator、approver、officer、department 或 viewer"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_zh())
    }
}

/// A position that fills a link of the approval chain or speaks for the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Title {
    /// 部门负责人 (of the user's own department).
    DepartmentHead,
    /// 办公室主任
    OfficeDirector,
    /// 领导小组组长
    GroupLeader,
    /// 新闻发言人
    Spokesperson,
}

impl Title {
    pub const ALL: [Title; 4] = [Title::DepartmentHead, Title::OfficeDirector, Title::GroupLeader, Title::Spokesperson];

    pub fn as_str(self) -> &'static str {
        match self {
            Title::DepartmentHead => "department-head",
            Title::OfficeDirector => "office-director",
            Title::GroupLeader => "group-leader",
            Title::Spokesperson => "spokesperson",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Title::DepartmentHead => "部门负责人",
            Title::OfficeDirector => "办公室主任",
            Title::GroupLeader => "领导小组组长",
            Title::Spokesperson => "新闻发言人",
        }
    }

    pub fn parse(s: &str) -> Result<Title, String> {
        let s = s.trim();
        Title::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s) || t.label_zh() == s).ok_or_else(|| {
            format!("未知的职务“{s}”，应为 department-head、office-director、group-leader 或 spokesperson")
        })
    }
}

/// Who acts: enough of a user for the incident rules to decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Login name; recorded on every step.
    pub name: String,
    pub display_name: String,
    pub role: Role,
    pub department: Option<String>,
    #[serde(default)]
    pub titles: Vec<Title>,
}

impl Actor {
    /// The system itself (automatic opening, grade changes, clocks).
    pub fn system() -> Actor {
        Actor {
            name: "system".into(),
            display_name: "系统".into(),
            role: Role::Admin,
            department: None,
            titles: vec![],
        }
    }

    pub fn is_system(&self) -> bool {
        self.name == "system"
    }

    pub fn has_title(&self, t: Title) -> bool {
        self.titles.contains(&t)
    }

    /// Whether this person sees only incidents of their own department: every department member,
    /// and an information officer who belongs to a department (a unit's 信息员). Officers of the
    /// office itself (no department) see every incident.
    pub fn sees_only_own_department(&self) -> bool {
        match self.role {
            Role::DepartmentMember => true,
            Role::Officer => self.department.as_deref().is_some_and(|d| !d.trim().is_empty()),
            _ => false,
        }
    }

    /// "张三（办公室）" for the timeline.
    pub fn label(&self) -> String {
        match &self.department {
            Some(d) => format!("{}（{d}）", self.display_name),
            None => format!("{}（{}）", self.display_name, self.role.label_zh()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_titles_parse_from_english_and_chinese() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
            assert_eq!(Role::parse(r.label_zh()), Ok(r));
        }
        for t in Title::ALL {
            assert_eq!(Title::parse(t.as_str()), Ok(t));
            assert_eq!(Title::parse(t.label_zh()), Ok(t));
        }
        assert!(Role::parse("boss").unwrap_err().contains("boss"));
    }
}
