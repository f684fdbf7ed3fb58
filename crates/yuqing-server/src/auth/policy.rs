//! Who may call what: one table of route → allowed roles, enforced by `auth::enforce` on every
//! page and API call before the handler runs. A route that is not in this table is refused
//! (fail closed), and a test keeps the table in step with `router()`.
//!
//! Finer rules stay where the data is: which incident a department member may see
//! (`Desk::visible_incident` and the incident list), and which incident action a role may take
//! (`yuqing_core::incident`, checked again on every command).

use axum::http::Method;
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

/// One line of the table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// `GET` (HEAD follows GET) or `POST`.
    pub method: &'static str,
    /// The route pattern exactly as in `router()`.
    pub path: &'static str,
    pub access: Access,
    /// What the call does, for the refusal message: "…无权{what}".
    pub what: &'static str,
}

pub use yuqing_desk::permission::{
    ADMINS, DUTY_STAFF, FORM_WRITERS, OFFICE, OPENERS, OVERDUE_READERS, PUSHERS, REPORT_MAKERS, REPORT_READERS,
    RISK_KEEPERS, WORKERS,
};

const fn r(method: &'static str, path: &'static str, access: Access, what: &'static str) -> Rule {
    Rule { method, path, access, what }
}

use Access::{Public, Roles, SignedIn};

/// The table. Viewers only read: every `POST` but sign-in and sign-out excludes them.
pub const POLICY: &[Rule] = &[
    // Public.
    r("GET", "/healthz", Public, "检查服务状态"),
    r("GET", "/login", Public, "打开登录页"),
    r("POST", "/login", Public, "登录"),
    r("GET", "/api/v1/openapi.json", Public, "查看接口说明"),
    r("GET", "/assets/{file}", Public, "读取页面样式与脚本"),
    // Any signed-in user.
    r("POST", "/logout", SignedIn, "退出登录"),
    r("GET", "/logout", SignedIn, "退出登录"),
    // Pages.
    r("GET", "/", SignedIn, "查看总览"),
    r("GET", "/dashboard/fragment", SignedIn, "查看总览"),
    r("GET", "/events", SignedIn, "接收总览更新"),
    r("GET", "/stories", SignedIn, "查看舆情事件"),
    r("GET", "/stories/{id}", SignedIn, "查看舆情事件"),
    r("GET", "/themes", SignedIn, "查看专题"),
    r("GET", "/themes/{name}", SignedIn, "查看专题"),
    r("POST", "/stories/{id}/merge", Roles(OPENERS), "合并舆情事件"),
    r("POST", "/stories/{id}/split", Roles(OPENERS), "拆分舆情事件"),
    r("POST", "/stories/{id}/false-alarm", Roles(OPENERS), "标记误报"),
    r("POST", "/stories/{id}/false-alarm/withdraw", Roles(OPENERS), "撤销误报标记"),
    r("GET", "/search", SignedIn, "检索帖文"),
    r("GET", "/alerts", SignedIn, "查看预警记录"),
    r("GET", "/incidents", SignedIn, "查看处置工单"),
    r("GET", "/incidents/{id}", SignedIn, "查看处置工单"),
    r("POST", "/incidents/{id}/act", Roles(WORKERS), "办理工单"),
    r("GET", "/posts", SignedIn, "查看信息"),
    r("GET", "/posts/{id}", SignedIn, "查看一条帖文（转到它所在事件的帖文列表）"),
    r("GET", "/rules", SignedIn, "查看与试运行监测规则"),
    r("POST", "/rules", Roles(OFFICE), "保存监测规则"),
    r("POST", "/rules/enabled", Roles(OFFICE), "启用或停用监测规则"),
    r("POST", "/rules/backtest", Roles(OFFICE), "回测监测规则"),
    r("POST", "/rules/relevance/reset", Roles(OFFICE), "重置误报学习"),
    r("GET", "/sources", SignedIn, "查看信息源"),
    r("GET", "/duty", SignedIn, "查看值班表"),
    r("POST", "/duty/import", Roles(OFFICE), "导入值班表"),
    r("POST", "/duty/handover", Roles(DUTY_STAFF), "写交接班记录"),
    r("GET", "/system", Roles(OFFICE), "查看系统设置与审计日志"),
    r("POST", "/system/users", Roles(ADMINS), "新增用户"),
    r("POST", "/system/users/{name}/active", Roles(ADMINS), "启用或停用用户"),
    r("POST", "/system/users/{name}/password", Roles(ADMINS), "设置用户密码"),
    // Read API.
    r("GET", "/api/v1/stats", SignedIn, "查看统计"),
    r("GET", "/api/v1/stories", SignedIn, "查看舆情事件"),
    r("GET", "/api/v1/stories/{id}", SignedIn, "查看舆情事件"),
    r("GET", "/api/v1/themes", SignedIn, "查看专题"),
    r("GET", "/api/v1/themes/{name}", SignedIn, "查看专题"),
    r("POST", "/api/v1/stories/{id}/merge", Roles(OPENERS), "合并舆情事件"),
    r("POST", "/api/v1/stories/{id}/split", Roles(OPENERS), "拆分舆情事件"),
    r("POST", "/api/v1/stories/{id}/false-alarm", Roles(OPENERS), "标记误报"),
    r("POST", "/api/v1/stories/{id}/false-alarm/withdraw", Roles(OPENERS), "撤销误报标记"),
    r("GET", "/api/v1/search", SignedIn, "检索帖文"),
    r("GET", "/api/v1/alerts", SignedIn, "查看预警记录"),
    // Desk API.
    r("POST", "/api/v1/alerts/{id}/ack", Roles(WORKERS), "确认预警"),
    r("GET", "/api/v1/me", SignedIn, "查看本人信息"),
    r("GET", "/api/v1/incidents", SignedIn, "查看处置工单"),
    r("POST", "/api/v1/incidents", Roles(OPENERS), "开启处置工单"),
    r("GET", "/api/v1/incidents/{id}", SignedIn, "查看处置工单"),
    r("POST", "/api/v1/incidents/{id}/actions", Roles(WORKERS), "办理工单"),
    r("POST", "/api/v1/incidents/{id}/stories", Roles(OPENERS), "合并事件"),
    r("GET", "/api/v1/incidents/{id}/statements/{sid}/diff", SignedIn, "查看口径修改"),
    r("POST", "/api/v1/incidents/{id}/attachments", Roles(WORKERS), "上传附件"),
    r("GET", "/api/v1/incidents/{id}/attachments/{sha}", SignedIn, "下载附件"),
    r("GET", "/api/v1/duty", SignedIn, "查看值班表"),
    r("POST", "/api/v1/duty", Roles(OFFICE), "导入值班表"),
    r("POST", "/api/v1/duty/handovers", Roles(DUTY_STAFF), "写交接班记录"),
    r("GET", "/api/v1/outbox", Roles(OFFICE), "查看通知发送记录"),
    r("GET", "/api/v1/overdue", Roles(OVERDUE_READERS), "查看超时记录"),
    r("GET", "/api/v1/audit", Roles(OFFICE), "查看审计日志"),
    r("GET", "/api/v1/audit/verify", Roles(OFFICE), "校验审计日志"),
    r("POST", "/api/v1/desk/tick", Roles(OFFICE), "触发时限检查"),
    // Reports and forms.
    r("GET", "/reports", SignedIn, "查看报表"),
    r("POST", "/reports/generate", Roles(REPORT_MAKERS), "生成报表"),
    r("GET", "/reports/{id}", Roles(REPORT_READERS), "查看报表"),
    r("GET", "/reports/disposal", SignedIn, "查看处置情况报告单"),
    r("POST", "/reports/disposal", Roles(FORM_WRITERS), "新建处置情况报告单"),
    r("GET", "/reports/disposal/{id}", SignedIn, "查看处置情况报告单"),
    r("POST", "/reports/disposal/{id}", Roles(FORM_WRITERS), "修改或签发处置情况报告单"),
    r("GET", "/reports/risks", SignedIn, "查看隐患排查表"),
    r("POST", "/reports/risks", Roles(RISK_KEEPERS), "登记隐患"),
    r("POST", "/reports/risks/{id}", Roles(RISK_KEEPERS), "修改隐患"),
    r("GET", "/api/v1/reports", Roles(REPORT_READERS), "查看报表"),
    r("POST", "/api/v1/reports", Roles(REPORT_MAKERS), "生成报表"),
    r("POST", "/api/v1/reports/schedule", Roles(OFFICE), "触发定时报表"),
    r("GET", "/api/v1/reports/{id}", Roles(REPORT_READERS), "下载报表"),
    r("GET", "/api/v1/reports/disposal", SignedIn, "查看处置情况报告单"),
    r("POST", "/api/v1/reports/disposal", Roles(FORM_WRITERS), "新建处置情况报告单"),
    r("GET", "/api/v1/reports/disposal/{id}", SignedIn, "查看处置情况报告单"),
    r("POST", "/api/v1/reports/disposal/{id}", Roles(FORM_WRITERS), "修改处置情况报告单"),
    r("POST", "/api/v1/reports/disposal/{id}/issue", Roles(OFFICE), "签发处置情况报告单"),
    r("GET", "/api/v1/reports/risks", SignedIn, "查看隐患排查表"),
    r("POST", "/api/v1/reports/risks", Roles(RISK_KEEPERS), "登记隐患"),
    r("POST", "/api/v1/reports/risks/{id}", Roles(RISK_KEEPERS), "修改隐患"),
    r("GET", "/api/v1/reports/risks/{id}/history", SignedIn, "查看隐患修改记录"),
    // Live collection.
    r("POST", "/api/v1/posts", Roles(PUSHERS), "推送帖文"),
    r("GET", "/api/v1/sources", SignedIn, "查看信息源状态"),
    r("GET", "/snapshots/{sha}", SignedIn, "查看快照"),
];

/// The rule for a request: `path` is the matched route pattern. HEAD follows GET.
pub fn rule(method: &Method, path: &str) -> Option<&'static Rule> {
    let m = if method == Method::HEAD { "GET" } else { method.as_str() };
    POLICY.iter().find(|r| r.method == m && r.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route in `router()` (lib.rs and the sign-in routes) has a line in the table, with each
    /// of its methods; no API line is left over.
    #[test]
    fn every_route_is_in_the_table() {
        let mut routes: Vec<(String, String)> = Vec::new();
        for src in [include_str!("../lib.rs"), include_str!("mod.rs")] {
            for line in src.lines() {
                let Some(rest) = line.trim().strip_prefix(".route(\"") else { continue };
                let Some((path, handlers)) = rest.split_once('"') else { continue };
                for (needle, method) in [("get(", "GET"), ("post(", "POST")] {
                    if handlers.contains(needle) {
                        routes.push((method.to_string(), path.to_string()));
                    }
                }
            }
        }
        assert!(routes.len() > 30, "routes found: {routes:?}");
        for (m, p) in &routes {
            assert!(rule(&m.parse().unwrap(), p).is_some(), "{m} {p} is not in auth/policy.rs");
        }
        // Page routes may be listed ahead of their handlers; API lines must all be routed.
        for r in POLICY.iter().filter(|r| r.path.starts_with("/api/")) {
            assert!(
                routes.iter().any(|(m, p)| m == r.method && p == r.path),
                "{} {} is in the table but not routed",
                r.method,
                r.path
            );
        }
    }

    #[test]
    fn viewers_only_read() {
        for r in POLICY.iter().filter(|r| r.method != "GET" && !matches!(r.path, "/login" | "/logout")) {
            assert!(!r.access.allows(Role::Viewer), "viewer may {} {}", r.method, r.path);
        }
    }

    #[test]
    fn the_table_has_one_line_per_route() {
        for (i, a) in POLICY.iter().enumerate() {
            assert!(
                POLICY[i + 1..].iter().all(|b| (a.method, a.path) != (b.method, b.path)),
                "{} {} twice",
                a.method,
                a.path
            );
        }
    }
}
