//! The incident state machine (处置流程): which step is allowed in which state, and where it leads.
//! Pure and total: every (state, step) pair either gives the next state or an error naming both.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an incident stands. The order is the normal path through the response plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IncidentState {
    /// 待研判: opened, not yet assessed and reported.
    Triage,
    /// 已上报: reported to the office and routed to a department.
    Reported,
    /// 核查中: the responsible department verifies the facts.
    Verifying,
    /// 处置中: the problem is being fixed offline and a statement drafted.
    Handling,
    /// 待审批: the statement waits for its approval chain.
    AwaitingApproval,
    /// 已回应: an approved statement was published.
    Responded,
    /// 跟踪中: follow-up watch after the response.
    FollowUp,
    /// 已办结: closed.
    Closed,
}

impl IncidentState {
    pub const ALL: [IncidentState; 8] = [
        IncidentState::Triage,
        IncidentState::Reported,
        IncidentState::Verifying,
        IncidentState::Handling,
        IncidentState::AwaitingApproval,
        IncidentState::Responded,
        IncidentState::FollowUp,
        IncidentState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentState::Triage => "Triage",
            IncidentState::Reported => "Reported",
            IncidentState::Verifying => "Verifying",
            IncidentState::Handling => "Handling",
            IncidentState::AwaitingApproval => "AwaitingApproval",
            IncidentState::Responded => "Responded",
            IncidentState::FollowUp => "FollowUp",
            IncidentState::Closed => "Closed",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentState> {
        IncidentState::ALL.into_iter().find(|st| st.as_str() == s || st.label_zh() == s)
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            IncidentState::Triage => "待研判",
            IncidentState::Reported => "已上报",
            IncidentState::Verifying => "核查中",
            IncidentState::Handling => "处置中",
            IncidentState::AwaitingApproval => "待审批",
            IncidentState::Responded => "已回应",
            IncidentState::FollowUp => "跟踪中",
            IncidentState::Closed => "已办结",
        }
    }

    pub fn is_open(self) -> bool {
        self != IncidentState::Closed
    }
}

impl fmt::Display for IncidentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_zh())
    }
}

/// A step that moves an incident along the path (or keeps it where it is, for approvals and
/// further publications). Steps that never change the state (notes, tasks, drafts) are not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Step {
    /// 上报: the first report, routing to a department.
    Report,
    /// 开始核查
    StartVerification,
    /// 提交核查结果
    SubmitVerification,
    /// 提交审批: the statement goes to its approval chain.
    SubmitForApproval,
    /// 审批通过 (one link of the chain).
    Approve,
    /// 退回修改
    Reject,
    /// 发布回应 (the first one moves to 已回应; later ones answer timetable nodes).
    Publish,
    /// 转入跟踪
    StartFollowUp,
    /// 办结
    Close,
    /// 重新打开
    Reopen,
    /// 标记误报: the matter is not ours or not a matter at all; closes the incident before any
    /// response was drafted, and the office's judgement teaches the relevance model.
    MarkFalseAlarm,
}

impl Step {
    pub const ALL: [Step; 11] = [
        Step::Report,
        Step::StartVerification,
        Step::SubmitVerification,
        Step::SubmitForApproval,
        Step::Approve,
        Step::Reject,
        Step::Publish,
        Step::StartFollowUp,
        Step::Close,
        Step::Reopen,
        Step::MarkFalseAlarm,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            Step::Report => "上报",
            Step::StartVerification => "开始核查",
            Step::SubmitVerification => "提交核查结果",
            Step::SubmitForApproval => "提交审批",
            Step::Approve => "审批通过",
            Step::Reject => "退回修改",
            Step::Publish => "发布回应",
            Step::StartFollowUp => "转入跟踪",
            Step::Close => "办结",
            Step::Reopen => "重新打开",
            Step::MarkFalseAlarm => "标记误报",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_zh())
    }
}

/// A step refused in the current state; the message names the state and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("当前状态为“{state}”，不能执行“{step}”；可执行的操作：{}", allowed_list(.allowed))]
pub struct IllegalStep {
    pub state: IncidentState,
    pub step: Step,
    pub allowed: Vec<Step>,
}

fn allowed_list(steps: &[Step]) -> String {
    if steps.is_empty() {
        return "无".to_string();
    }
    steps.iter().map(|s| s.label_zh()).collect::<Vec<_>>().join("、")
}

/// The transition table. `None`: the step is not allowed in that state.
pub fn transition(state: IncidentState, step: Step) -> Option<IncidentState> {
    use IncidentState::*;
    use Step::*;
    match (state, step) {
        (Triage, Report) => Some(Reported),
        // A matter judged not to need handling is closed at triage, with a reason.
        (Triage, Close) => Some(Closed),
        (Reported, StartVerification) => Some(Verifying),
        (Verifying, SubmitVerification) => Some(Handling),
        (Handling, SubmitForApproval) => Some(AwaitingApproval),
        (AwaitingApproval, Approve) => Some(AwaitingApproval),
        (AwaitingApproval, Reject) => Some(Handling),
        (AwaitingApproval, Publish) => Some(Responded),
        // After the first response, updates (progress on a timetable) go through approval too,
        // without moving the incident back.
        (Responded, SubmitForApproval | Approve | Reject | Publish) => Some(Responded),
        (Responded, StartFollowUp) => Some(FollowUp),
        (FollowUp, SubmitForApproval | Approve | Reject | Publish) => Some(FollowUp),
        (FollowUp, Close) => Some(Closed),
        (Closed, Reopen) => Some(Triage),
        // 误报: before a statement went to approval; after that the office has answered in public
        // and the matter is closed through follow-up and review.
        (Triage | Reported | Verifying | Handling, MarkFalseAlarm) => Some(Closed),
        _ => None,
    }
}

/// The steps allowed in `state`, in the order of `Step::ALL`.
pub fn allowed_steps(state: IncidentState) -> Vec<Step> {
    Step::ALL.into_iter().filter(|s| transition(state, *s).is_some()).collect()
}

/// The next state, or the error that names the current state and the allowed steps.
pub fn next_state(state: IncidentState, step: Step) -> Result<IncidentState, IllegalStep> {
    transition(state, step).ok_or_else(|| IllegalStep { state, step, allowed: allowed_steps(state) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use IncidentState::*;
    use Step::*;

    /// The response plan's path, written out independently of `transition`:
    /// (state, step, expected next state).
    const EXPECTED: &[(IncidentState, Step, IncidentState)] = &[
        (Triage, Report, Reported),
        (Triage, Close, Closed),
        (Reported, StartVerification, Verifying),
        (Verifying, SubmitVerification, Handling),
        (Handling, SubmitForApproval, AwaitingApproval),
        (AwaitingApproval, Approve, AwaitingApproval),
        (AwaitingApproval, Reject, Handling),
        (AwaitingApproval, Publish, Responded),
        (Responded, SubmitForApproval, Responded),
        (Responded, Approve, Responded),
        (Responded, Reject, Responded),
        (Responded, Publish, Responded),
        (Responded, StartFollowUp, FollowUp),
        (FollowUp, SubmitForApproval, FollowUp),
        (FollowUp, Approve, FollowUp),
        (FollowUp, Reject, FollowUp),
        (FollowUp, Publish, FollowUp),
        (FollowUp, Close, Closed),
        (Closed, Reopen, Triage),
        (Triage, MarkFalseAlarm, Closed),
        (Reported, MarkFalseAlarm, Closed),
        (Verifying, MarkFalseAlarm, Closed),
        (Handling, MarkFalseAlarm, Closed),
    ];

    #[test]
    fn every_state_and_step_is_allowed_exactly_as_the_plan_says() {
        let mut checked = 0;
        for state in IncidentState::ALL {
            for step in Step::ALL {
                let expected = EXPECTED.iter().find(|(s, st, _)| *s == state && *st == step).map(|e| e.2);
                match (next_state(state, step), expected) {
                    (Ok(next), Some(want)) => assert_eq!(next, want, "{state:?} × {step:?}"),
                    (Err(e), None) => {
                        assert_eq!(e.state, state);
                        assert_eq!(e.step, step);
                        let msg = e.to_string();
                        assert!(msg.contains(state.label_zh()), "{msg}");
                        assert!(msg.contains(step.label_zh()), "{msg}");
                        for a in allowed_steps(state) {
                            assert!(msg.contains(a.label_zh()), "{msg} lacks {a:?}");
                        }
                    }
                    (got, want) => panic!("{state:?} × {step:?}: got {got:?}, the plan says {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 88);
    }

    #[test]
    fn every_state_has_a_way_forward() {
        for state in IncidentState::ALL {
            assert!(!allowed_steps(state).is_empty(), "{state:?} is a dead end");
        }
    }

    #[test]
    fn closed_is_reached_only_by_close_or_false_alarm_and_left_only_by_reopen() {
        for state in IncidentState::ALL {
            for step in Step::ALL {
                if transition(state, step) == Some(Closed) {
                    assert!(matches!(step, Close | MarkFalseAlarm), "{state:?} × {step:?}");
                }
            }
        }
        assert_eq!(allowed_steps(Closed), vec![Reopen]);
    }

    #[test]
    fn illegal_step_message_lists_allowed_steps() {
        let e = next_state(Verifying, Publish).unwrap_err();
        assert_eq!(e.to_string(), "当前状态为“核查中”，不能执行“发布回应”；可执行的操作：提交核查结果、标记误报");
    }

    #[test]
    fn state_names_round_trip() {
        for s in IncidentState::ALL {
            assert_eq!(IncidentState::parse(s.as_str()), Some(s));
            assert_eq!(IncidentState::parse(s.label_zh()), Some(s));
        }
    }
}
