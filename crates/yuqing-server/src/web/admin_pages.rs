//! 值班 (the roster, who is on duty, handovers) and 系统 (users and their roles, departments, the
//! audit log with its chain check). Pure renderers; the handlers check roles before calling them.

use chrono::{DateTime, Utc};
use yuqing_core::audit::{AuditEntry, ChainBreak};
use yuqing_core::duty::DutyShift;
use yuqing_core::people::{Role, Title};
use yuqing_store::desk::{HandoverNote, User};

use maud::{html, Markup};

use crate::html::{csrf_field, fmt_time};

pub fn render_duty(
    shifts: &[DutyShift],
    handovers: &[HandoverNote],
    now: DateTime<Utc>,
    can_import: bool,
    csrf: &str,
) -> Markup {
    let current: Vec<&DutyShift> = shifts.iter().filter(|s| s.covers(now)).collect();
    html! {
        h2 { "值班" }
        @if current.is_empty() {
            p.late { "当前无人在岗：预警将发给办公室。" }
        } @else {
            p {
                "当前在岗："
                @for (i, s) in current.iter().enumerate() {
                    @if i > 0 { "　" }
                    (s.role.label_zh()) " " b { (s.person) } "（至 " (fmt_time(&s.ends_at)) "）"
                }
            }
        }
        h3 { "班次" }
        table {
            thead { tr { th { "值班人" } th { "岗位" } th { "开始" } th { "结束" } } }
            tbody { @for s in shifts {
                tr class=[s.covers(now).then_some("now")] {
                    td { (s.person) } td { (s.role.label_zh()) } td { (fmt_time(&s.starts_at)) } td { (fmt_time(&s.ends_at)) }
                }
            } }
        }
        @if can_import {
            form method="post" action="/duty/import" class="act" {
                (csrf_field(csrf))
                textarea name="csv" placeholder="姓名,角色,开始时间,结束时间\nxinxi,值班员,2026-11-20 08:00,2026-11-20 20:00" {}
                button { "导入值班表" }
            }
        }
        h3 { "交接班记录" }
        form method="post" action="/duty/handover" class="act" {
            (csrf_field(csrf))
            textarea name="text" required placeholder="交接事项" {}
            button { "写交接记录" }
        }
        ul { @for h in handovers { li { span.muted { (fmt_time(&h.at)) " · " (h.author) } " " (h.text) } } }
    }
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
) -> Markup {
    html! {
        h2 { "系统" }
        @if let Some((ok, msg)) = &v.notice {
            p class={ (if *ok { "ok" } else { "late" }) " notice" } { (msg) }
        }
        h3 { "用户" }
        table {
            thead { tr {
                th { "用户名" } th { "姓名" } th { "角色" } th { "单位" } th { "职务" } th { "状态" }
                @if v.manage { th { "管理" } }
            } }
            tbody { @for u in users {
                tr {
                    td { (u.name) }
                    td { (u.display_name) }
                    td { (u.role.label_zh()) }
                    td { (u.department.as_deref().unwrap_or("")) }
                    td { (u.titles.iter().map(|t| t.label_zh()).collect::<Vec<_>>().join("、")) }
                    td { @if u.active { "启用" } @else { span.late { "停用" } } }
                    @if v.manage {
                        @let path = format!("/system/users/{}", urlencoding::encode(&u.name));
                        td {
                            @if u.name != v.me {
                                form method="post" action={ (path) "/active" } class="act inline" {
                                    (csrf_field(v.csrf))
                                    input type="hidden" name="active" value=(if u.active { 0 } else { 1 });
                                    button { (if u.active { "停用" } else { "启用" }) }
                                }
                            }
                            form method="post" action={ (path) "/password" } class="act inline" {
                                (csrf_field(v.csrf))
                                input type="password" name="password" required minlength="8" autocomplete="new-password"
                                    placeholder="新密码（至少 8 位）";
                                button { "设置密码" }
                            }
                        }
                    }
                }
            } }
        }
        @if v.manage {
            h3 { "新增用户" }
            form method="post" action="/system/users" class="act people" {
                (csrf_field(v.csrf))
                input name="name" required placeholder="用户名（登录用，不含空格）";
                input name="display_name" placeholder="姓名";
                select name="role" { @for r in Role::ALL { option value=(r.as_str()) { (r.label_zh()) } } }
                input name="department" list="departments" placeholder="所属单位（责任单位成员必填）";
                datalist #departments { @for d in departments { option { (d) } } }
                @for t in Title::ALL {
                    label { input type="checkbox" name="title" value=(t.as_str()); " " (t.label_zh()) }
                }
                input name="phone" placeholder="电话";
                input name="email" type="email" placeholder="邮箱";
                input name="password" type="password" required minlength="8" autocomplete="new-password"
                    placeholder="登录密码（至少 8 位）";
                button { "新增用户" }
            }
            p.muted {
                "也可用命令行：" code { "yuqing user add 用户名 --role 角色 --department 单位 --password-stdin" }
                "。新用户的 API 令牌只显示一次。"
            }
        } @else {
            p.muted { "新增、停用用户与设置密码由系统管理员办理。" }
        }
        h3 { "责任单位" }
        p { @if departments.is_empty() { "（配置文件中未列出）" } @else { (departments.join("、")) } }
        h3 { "审计日志" }
        @match chain {
            Ok(n) => p.ok { "哈希链完整：共 " (n) " 条" },
            Err(e) => p.late { "哈希链在第 " (e.id) " 条断裂：" (e.reason) },
        }
        p.muted { "最新在前" }
        table {
            thead { tr { th { "#" } th { "时间" } th { "操作人" } th { "操作" } th { "对象" } th { "内容" } } }
            tbody { @for e in audit {
                tr {
                    td { (e.id) }
                    td { (fmt_time(&DateTime::from_timestamp(e.at, 0).unwrap_or_default())) }
                    td { (e.actor) }
                    td { (e.action) }
                    td { (e.target) }
                    td.muted { (e.detail.chars().take(160).collect::<String>()) }
                }
            } }
        }
        (crate::paging::Pager::new("/system?", v.audit_page, audit_total, AUDIT_PAGE)
            .param("audit_page", crate::paging::AUDIT_MAX_OFFSET)
            .render())
    }
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
        let html = render_duty(std::slice::from_ref(&s), &[], now, false, "t").into_string();
        assert!(html.contains("当前在岗：值班员 <b>xinxi</b>"));
        assert!(!html.contains("导入值班表"));
        assert!(render_duty(&[s], &[], now + Duration::hours(2), true, "t").into_string().contains("当前无人在岗"));
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
        )
        .into_string();
        assert!(html.contains("第 7 条断裂"));
    }
}
