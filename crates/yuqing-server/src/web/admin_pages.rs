//! 值班 (the roster, who is on duty, handovers) and 系统 (users and their roles, departments, the
//! audit log with its chain check). Pure renderers; the handlers check roles before calling them.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use yuqing_core::audit::{AuditEntry, ChainBreak};
use yuqing_core::duty::DutyShift;
use yuqing_core::people::{Role, Title};
use yuqing_store::desk::{HandoverNote, User};

use crate::html::{esc, fmt_time};

pub fn render_duty(
    shifts: &[DutyShift],
    handovers: &[HandoverNote],
    now: DateTime<Utc>,
    can_import: bool,
    csrf: &str,
) -> String {
    let mut b = String::from("<h2>值班</h2>");
    let current: Vec<&DutyShift> = shifts.iter().filter(|s| s.covers(now)).collect();
    if current.is_empty() {
        b.push_str("<p class=\"late\">当前无人在岗：预警将发给办公室。</p>");
    } else {
        let names: Vec<String> = current
            .iter()
            .map(|s| format!("{} <b>{}</b>（至 {}）", s.role.label_zh(), esc(&s.person), fmt_time(&s.ends_at)))
            .collect();
        let _ = write!(b, "<p>当前在岗：{}</p>", names.join("　"));
    }
    b.push_str(
        "<h3>班次</h3><table><thead><tr><th>值班人</th><th>岗位</th><th>开始</th><th>结束</th></tr></thead><tbody>",
    );
    for s in shifts {
        let _ = write!(
            b,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if s.covers(now) { " class=\"now\"" } else { "" },
            esc(&s.person),
            s.role.label_zh(),
            fmt_time(&s.starts_at),
            fmt_time(&s.ends_at)
        );
    }
    b.push_str("</tbody></table>");
    if can_import {
        let _ = write!(
            b,
            "<form method=\"post\" action=\"/duty/import\" class=\"act\"><input type=\"hidden\" name=\"_csrf\" value=\"{}\"><textarea name=\"csv\" placeholder=\"姓名,角色,开始时间,结束时间&#10;xinxi,值班员,2026-11-20 08:00,2026-11-20 20:00\"></textarea><button>导入值班表</button></form>",
            esc(csrf)
        );
    }
    b.push_str("<h3>交接班记录</h3>");
    let _ = write!(
        b,
        "<form method=\"post\" action=\"/duty/handover\" class=\"act\"><input type=\"hidden\" name=\"_csrf\" value=\"{}\"><textarea name=\"text\" required placeholder=\"交接事项\"></textarea><button>写交接记录</button></form><ul>",
        esc(csrf)
    );
    for h in handovers {
        let _ = write!(
            b,
            "<li><span class=\"muted\">{} · {}</span> {}</li>",
            fmt_time(&h.at),
            esc(&h.author),
            esc(&h.text)
        );
    }
    b.push_str("</ul>");
    b
}

/// What the 系统 page shows besides its data: whether the viewer manages people (admins), the
/// CSRF token for the forms, and the outcome of the last change (ok?, message).
pub struct SystemView<'a> {
    pub manage: bool,
    pub csrf: &'a str,
    pub me: &'a str,
    pub notice: Option<(bool, String)>,
    /// The audit log's page (1-based; `AUDIT_PAGE` entries a page, newest first).
    pub audit_page: usize,
}

/// Audit entries on one page of the 系统 page.
pub const AUDIT_PAGE: usize = 50;

pub fn render_system(
    users: &[User],
    departments: &[String],
    audit: &[AuditEntry],
    audit_total: u64,
    chain: &Result<u64, ChainBreak>,
    v: &SystemView,
) -> String {
    let mut b = String::from("<h2>系统</h2>");
    if let Some((ok, msg)) = &v.notice {
        let _ = write!(b, "<p class=\"{} notice\">{}</p>", if *ok { "ok" } else { "late" }, esc(msg));
    }
    b.push_str("<h3>用户</h3><table><thead><tr><th>用户名</th><th>姓名</th><th>角色</th><th>单位</th><th>职务</th><th>状态</th>");
    if v.manage {
        b.push_str("<th>管理</th>");
    }
    b.push_str("</tr></thead><tbody>");
    let csrf = format!("<input type=\"hidden\" name=\"_csrf\" value=\"{}\">", esc(v.csrf));
    for u in users {
        let titles: Vec<&str> = u.titles.iter().map(|t| t.label_zh()).collect();
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            esc(&u.name),
            esc(&u.display_name),
            u.role.label_zh(),
            esc(u.department.as_deref().unwrap_or("")),
            titles.join("、"),
            if u.active { "启用" } else { "<span class=\"late\">停用</span>" }
        );
        if v.manage {
            let path = format!("/system/users/{}", urlencoding::encode(&u.name));
            b.push_str("<td>");
            if u.name != v.me {
                let _ = write!(
                    b,
                    "<form method=\"post\" action=\"{path}/active\" class=\"act inline\">{csrf}<input type=\"hidden\" name=\"active\" value=\"{}\"><button>{}</button></form>",
                    if u.active { 0 } else { 1 },
                    if u.active { "停用" } else { "启用" }
                );
            }
            let _ = write!(
                b,
                "<form method=\"post\" action=\"{path}/password\" class=\"act inline\">{csrf}<input type=\"password\" name=\"password\" required minlength=\"8\" autocomplete=\"new-password\" placeholder=\"新密码（至少 8 位）\"><button>设置密码</button></form></td>"
            );
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table>");
    if v.manage {
        let roles: String =
            Role::ALL.iter().map(|r| format!("<option value=\"{}\">{}</option>", r.as_str(), r.label_zh())).collect();
        let depts: String = departments.iter().map(|d| format!("<option>{}</option>", esc(d))).collect();
        let titles: String = Title::ALL
            .iter()
            .map(|t| {
                format!(
                    "<label><input type=\"checkbox\" name=\"title\" value=\"{}\"> {}</label>",
                    t.as_str(),
                    t.label_zh()
                )
            })
            .collect();
        let _ = write!(
            b,
            "<h3>新增用户</h3><form method=\"post\" action=\"/system/users\" class=\"act people\">{csrf}\
             <input name=\"name\" required placeholder=\"用户名（登录用，不含空格）\"><input name=\"display_name\" placeholder=\"姓名\">\
             <select name=\"role\">{roles}</select><input name=\"department\" list=\"departments\" placeholder=\"所属单位（责任单位成员必填）\">\
             <datalist id=\"departments\">{depts}</datalist>{titles}\
             <input name=\"phone\" placeholder=\"电话\"><input name=\"email\" type=\"email\" placeholder=\"邮箱\">\
             <input name=\"password\" type=\"password\" required minlength=\"8\" autocomplete=\"new-password\" placeholder=\"登录密码（至少 8 位）\">\
             <button>新增用户</button></form><p class=\"muted\">也可用命令行：<code>yuqing user add 用户名 --role 角色 --department 单位 --password-stdin</code>。新用户的 API 令牌只显示一次。</p>"
        );
    } else {
        b.push_str("<p class=\"muted\">新增、停用用户与设置密码由系统管理员办理。</p>");
    }
    let _ = write!(
        b,
        "<h3>责任单位</h3><p>{}</p>",
        if departments.is_empty() { "（配置文件中未列出）".into() } else { esc(&departments.join("、")) }
    );
    b.push_str("<h3>审计日志</h3>");
    match chain {
        Ok(n) => {
            let _ = write!(b, "<p class=\"ok\">哈希链完整：共 {n} 条</p>");
        }
        Err(e) => {
            let _ = write!(b, "<p class=\"late\">哈希链在第 {} 条断裂：{}</p>", e.id, esc(&e.reason));
        }
    }
    b.push_str("<p class=\"muted\">最新在前</p>");
    b.push_str("<table><thead><tr><th>#</th><th>时间</th><th>操作人</th><th>操作</th><th>对象</th><th>内容</th></tr></thead><tbody>");
    for e in audit {
        let at = DateTime::from_timestamp(e.at, 0).unwrap_or_default();
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            e.id,
            fmt_time(&at),
            esc(&e.actor),
            esc(&e.action),
            esc(&e.target),
            esc(&e.detail.chars().take(160).collect::<String>())
        );
    }
    b.push_str("</tbody></table>");
    b.push_str(
        &crate::paging::Pager::new("/system?", v.audit_page, audit_total, AUDIT_PAGE)
            .param("audit_page", crate::paging::AUDIT_MAX_OFFSET)
            .render()
            .into_string(),
    );
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use yuqing_core::duty::DutyRole;

    #[test]
    fn duty_page_names_who_is_on_now_and_warns_when_nobody_is() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap();
        let s = DutyShift {
            person: "xinxi".into(),
            role: DutyRole::Staff,
            starts_at: now - Duration::hours(1),
            ends_at: now + Duration::hours(1),
        };
        let html = render_duty(std::slice::from_ref(&s), &[], now, false, "t");
        assert!(html.contains("当前在岗：值班员 <b>xinxi</b>"));
        assert!(!html.contains("导入值班表"));
        assert!(render_duty(&[s], &[], now + Duration::hours(2), true, "t").contains("当前无人在岗"));
    }

    #[test]
    fn system_page_shows_a_broken_chain() {
        let html = render_system(
            &[],
            &[],
            &[],
            9,
            &Err(ChainBreak { id: 7, reason: "被改动".into() }),
            &SystemView { manage: false, csrf: "t", me: "a", notice: None, audit_page: 1 },
        );
        assert!(html.contains("第 7 条断裂"));
    }
}
