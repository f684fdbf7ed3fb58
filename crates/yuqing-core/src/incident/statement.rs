//! 口径: a public response text, versioned, that goes through an approval chain before it may be
//! published. Invariant: an approved statement's text never changes; a rejection needs a comment
//! and a new version before it can be submitted again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::people::{Actor, Role, Title};
use crate::Grade;

/// A link of the approval chain, in the order they sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApprovalLink {
    /// 责任单位负责人 (head of the lead department).
    DepartmentHead,
    /// 分管领导
    Approver,
    /// 办公室
    Coordinator,
    /// 领导小组组长 (grades I and II).
    GroupLeader,
}

impl ApprovalLink {
    pub fn label_zh(self) -> &'static str {
        match self {
            ApprovalLink::DepartmentHead => "责任单位负责人",
            ApprovalLink::Approver => "分管领导",
            ApprovalLink::Coordinator => "办公室",
            ApprovalLink::GroupLeader => "领导小组组长",
        }
    }

    /// Whether `actor` may sign this link for a statement of `lead_department`.
    pub fn qualifies(self, actor: &Actor, lead_department: Option<&str>) -> bool {
        match self {
            ApprovalLink::DepartmentHead => {
                actor.has_title(Title::DepartmentHead)
                    && lead_department.is_some()
                    && actor.department.as_deref() == lead_department
            }
            ApprovalLink::Approver => actor.role == Role::Approver,
            ApprovalLink::Coordinator => actor.role == Role::Coordinator,
            ApprovalLink::GroupLeader => actor.has_title(Title::GroupLeader),
        }
    }
}

/// The chain a statement of this grade needs.
pub fn approval_chain(grade: Grade) -> Vec<ApprovalLink> {
    let mut chain = vec![ApprovalLink::DepartmentHead, ApprovalLink::Approver, ApprovalLink::Coordinator];
    if grade >= Grade::II {
        chain.push(ApprovalLink::GroupLeader);
    }
    chain
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatementStatus {
    /// 草稿
    Draft,
    /// 审批中
    InApproval,
    /// 已退回
    Rejected,
    /// 已审定 (locked)
    Approved,
}

impl StatementStatus {
    pub fn label_zh(self) -> &'static str {
        match self {
            StatementStatus::Draft => "草稿",
            StatementStatus::InApproval => "审批中",
            StatementStatus::Rejected => "已退回",
            StatementStatus::Approved => "已审定",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementVersion {
    /// 1, 2, 3…
    pub number: u32,
    pub text: String,
    pub author: String,
    pub at: DateTime<Utc>,
}

/// One signature or refusal on a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub link: ApprovalLink,
    pub version: u32,
    pub by: String,
    pub at: DateTime<Utc>,
    pub approved: bool,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// 1-based within the incident.
    pub id: u32,
    pub title: String,
    pub status: StatementStatus,
    pub versions: Vec<StatementVersion>,
    /// The chain in force for the current round (frozen at submission; a grade rise adds links).
    pub chain: Vec<ApprovalLink>,
    /// Every signature and refusal, all rounds, oldest first.
    pub approvals: Vec<ApprovalRecord>,
    /// Index into `approvals` where the current round starts.
    pub round_start: usize,
    pub approved_version: Option<u32>,
    pub approved_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatementError {
    #[error("口径已审定，文本已锁定；如需更新请起草新的口径")]
    Locked,
    #[error("口径正在审批中，不能修改；请先由审批人退回")]
    InApproval,
    #[error("口径内容为空")]
    Empty,
    #[error("口径没有变化：与第 {0} 版相同")]
    Unchanged(u32),
    #[error("口径状态为“{0}”，不能提交审批；被退回的口径须先修改出新版本")]
    NotSubmittable(&'static str),
    #[error("口径不在审批中（当前为“{0}”）")]
    NotInApproval(&'static str),
    #[error("当前应由“{link}”审批，{who} 无此权限")]
    NotYourTurn { link: &'static str, who: String },
    #[error("退回须写明意见")]
    CommentRequired,
}

impl Statement {
    pub fn new(
        id: u32,
        title: String,
        text: String,
        author: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Statement, StatementError> {
        if text.trim().is_empty() {
            return Err(StatementError::Empty);
        }
        Ok(Statement {
            id,
            title,
            status: StatementStatus::Draft,
            versions: vec![StatementVersion { number: 1, text, author: author.name.clone(), at: now }],
            chain: Vec::new(),
            approvals: Vec::new(),
            round_start: 0,
            approved_version: None,
            approved_at: None,
        })
    }

    pub fn latest(&self) -> &StatementVersion {
        // A statement is created with one version and versions are never removed.
        &self.versions[self.versions.len() - 1]
    }

    pub fn version(&self, n: u32) -> Option<&StatementVersion> {
        self.versions.iter().find(|v| v.number == n)
    }

    /// A new version of the text. After a rejection it makes the statement a draft again.
    pub fn revise(&mut self, text: String, author: &Actor, now: DateTime<Utc>) -> Result<u32, StatementError> {
        match self.status {
            StatementStatus::Approved => return Err(StatementError::Locked),
            StatementStatus::InApproval => return Err(StatementError::InApproval),
            StatementStatus::Draft | StatementStatus::Rejected => {}
        }
        if text.trim().is_empty() {
            return Err(StatementError::Empty);
        }
        if text == self.latest().text {
            return Err(StatementError::Unchanged(self.latest().number));
        }
        let number = self.latest().number + 1;
        self.versions.push(StatementVersion { number, text, author: author.name.clone(), at: now });
        self.status = StatementStatus::Draft;
        Ok(number)
    }

    /// Sends the latest version to the chain for `grade`.
    pub fn submit(&mut self, grade: Grade) -> Result<(), StatementError> {
        if self.status != StatementStatus::Draft {
            return Err(StatementError::NotSubmittable(self.status.label_zh()));
        }
        self.chain = approval_chain(grade);
        self.round_start = self.approvals.len();
        self.status = StatementStatus::InApproval;
        Ok(())
    }

    /// The link whose turn it is, if the statement is in approval.
    pub fn next_link(&self) -> Option<ApprovalLink> {
        if self.status != StatementStatus::InApproval {
            return None;
        }
        let signed: Vec<ApprovalLink> =
            self.approvals[self.round_start..].iter().filter(|a| a.approved).map(|a| a.link).collect();
        self.chain.iter().copied().find(|l| !signed.contains(l))
    }

    /// A grade rise while in approval adds the links the higher grade needs.
    pub fn raise_chain(&mut self, grade: Grade) {
        if self.status != StatementStatus::InApproval {
            return;
        }
        for link in approval_chain(grade) {
            if !self.chain.contains(&link) {
                self.chain.push(link);
            }
        }
    }

    fn check_turn(&self, actor: &Actor, lead: Option<&str>) -> Result<ApprovalLink, StatementError> {
        let link = self.next_link().ok_or(StatementError::NotInApproval(self.status.label_zh()))?;
        if !link.qualifies(actor, lead) {
            return Err(StatementError::NotYourTurn { link: link.label_zh(), who: actor.label() });
        }
        Ok(link)
    }

    /// Signs the current link; returns true when that was the last one (the text is now locked).
    pub fn approve(
        &mut self,
        actor: &Actor,
        lead: Option<&str>,
        comment: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(ApprovalLink, bool), StatementError> {
        let link = self.check_turn(actor, lead)?;
        let version = self.latest().number;
        self.approvals.push(ApprovalRecord { link, version, by: actor.name.clone(), at: now, approved: true, comment });
        let done = self.next_link().is_none();
        if done {
            self.status = StatementStatus::Approved;
            self.approved_version = Some(version);
            self.approved_at = Some(now);
        }
        Ok((link, done))
    }

    /// Refuses at the current link, with a comment; the drafter revises and submits again.
    pub fn reject(
        &mut self,
        actor: &Actor,
        lead: Option<&str>,
        comment: String,
        now: DateTime<Utc>,
    ) -> Result<ApprovalLink, StatementError> {
        if comment.trim().is_empty() {
            return Err(StatementError::CommentRequired);
        }
        let link = self.check_turn(actor, lead)?;
        let version = self.latest().number;
        self.approvals.push(ApprovalRecord {
            link,
            version,
            by: actor.name.clone(),
            at: now,
            approved: false,
            comment: Some(comment),
        });
        self.status = StatementStatus::Rejected;
        Ok(link)
    }

    /// The approved text, if any.
    pub fn approved_text(&self) -> Option<&str> {
        self.approved_version.and_then(|n| self.version(n)).map(|v| v.text.as_str())
    }
}

/// One piece of a character-level diff between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "text", rename_all = "lowercase")]
pub enum DiffPart {
    Same(String),
    Added(String),
    Removed(String),
}

/// Character-level diff (Chinese has no spaces, so words would be whole sentences).
pub fn diff(old: &str, new: &str) -> Vec<DiffPart> {
    use similar::{ChangeTag, TextDiff};
    let d = TextDiff::from_chars(old, new);
    let mut out: Vec<DiffPart> = Vec::new();
    for change in d.iter_all_changes() {
        let s = change.value();
        let part = match change.tag() {
            ChangeTag::Equal => DiffPart::Same(s.to_string()),
            ChangeTag::Insert => DiffPart::Added(s.to_string()),
            ChangeTag::Delete => DiffPart::Removed(s.to_string()),
        };
        match (out.last_mut(), &part) {
            (Some(DiffPart::Same(a)), DiffPart::Same(b))
            | (Some(DiffPart::Added(a)), DiffPart::Added(b))
            | (Some(DiffPart::Removed(a)), DiffPart::Removed(b)) => a.push_str(b),
            _ => out.push(part),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
    }
    fn person(name: &str, role: Role, dept: Option<&str>, titles: &[Title]) -> Actor {
        Actor {
            name: name.into(),
            display_name: name.into(),
            role,
            department: dept.map(Into::into),
            titles: titles.to_vec(),
        }
    }

    #[test]
    fn chain_is_signed_in_order_and_locks_the_text() {
        let drafter = person("li", Role::DepartmentMember, Some("卫健委"), &[]);
        let head = person("wang", Role::DepartmentMember, Some("卫健委"), &[Title::DepartmentHead]);
        let other_head = person("zhao", Role::DepartmentMember, Some("教育局"), &[Title::DepartmentHead]);
        let approver = person("chen", Role::Approver, None, &[]);
        let office = person("sun", Role::Coordinator, Some("办公室"), &[]);
        let mut s = Statement::new(1, "情况通报".into(), "经核查，情况属实。".into(), &drafter, now()).unwrap();
        s.submit(Grade::III).unwrap();
        assert_eq!(s.chain, vec![ApprovalLink::DepartmentHead, ApprovalLink::Approver, ApprovalLink::Coordinator]);
        // Out of turn, or the head of another department: refused, naming the link.
        let e = s.approve(&approver, Some("卫健委"), None, now()).unwrap_err();
        assert!(e.to_string().contains("责任单位负责人"), "{e}");
        assert!(s.approve(&other_head, Some("卫健委"), None, now()).is_err());
        assert_eq!(s.approve(&head, Some("卫健委"), None, now()).unwrap(), (ApprovalLink::DepartmentHead, false));
        assert_eq!(s.approve(&approver, Some("卫健委"), None, now()).unwrap(), (ApprovalLink::Approver, false));
        assert_eq!(s.approve(&office, Some("卫健委"), None, now()).unwrap(), (ApprovalLink::Coordinator, true));
        assert_eq!(s.status, StatementStatus::Approved);
        assert_eq!(s.approved_text(), Some("经核查，情况属实。"));
        assert_eq!(s.revise("改一下".into(), &drafter, now()), Err(StatementError::Locked));
    }

    #[test]
    fn rejection_needs_a_comment_and_a_new_version() {
        let drafter = person("li", Role::DepartmentMember, Some("卫健委"), &[]);
        let head = person("wang", Role::DepartmentMember, Some("卫健委"), &[Title::DepartmentHead]);
        let mut s = Statement::new(1, "t".into(), "初稿".into(), &drafter, now()).unwrap();
        s.submit(Grade::II).unwrap();
        assert_eq!(s.chain.last(), Some(&ApprovalLink::GroupLeader));
        assert_eq!(s.revise("改".into(), &drafter, now()), Err(StatementError::InApproval));
        assert_eq!(s.reject(&head, Some("卫健委"), " ".into(), now()), Err(StatementError::CommentRequired));
        s.reject(&head, Some("卫健委"), "措辞不当".into(), now()).unwrap();
        assert_eq!(s.status, StatementStatus::Rejected);
        assert!(matches!(s.submit(Grade::II), Err(StatementError::NotSubmittable(_))));
        assert_eq!(s.revise("初稿".into(), &drafter, now()), Err(StatementError::Unchanged(1)));
        assert_eq!(s.revise("二稿".into(), &drafter, now()), Ok(2));
        s.submit(Grade::II).unwrap();
        // The new round starts from the first link again.
        assert_eq!(s.next_link(), Some(ApprovalLink::DepartmentHead));
    }

    #[test]
    fn a_grade_rise_in_approval_adds_the_group_leader() {
        let drafter = person("li", Role::DepartmentMember, Some("卫健委"), &[]);
        let mut s = Statement::new(1, "t".into(), "初稿".into(), &drafter, now()).unwrap();
        s.submit(Grade::III).unwrap();
        s.raise_chain(Grade::I);
        assert_eq!(s.chain.last(), Some(&ApprovalLink::GroupLeader));
    }

    #[test]
    fn diff_is_by_character() {
        let d = diff("经核查，情况属实。", "经初步核查，情况基本属实。");
        assert_eq!(
            d,
            vec![
                DiffPart::Same("经".into()),
                DiffPart::Added("初步".into()),
                DiffPart::Same("核查，情况".into()),
                DiffPart::Added("基本".into()),
                DiffPart::Same("属实。".into()),
            ]
        );
    }
}
