//! 信息源: every source the server collects from, with its health (last success, failures in a
//! row, posts stored in the last 24 hours, median fetch time, last error), failing ones first; and
//! one source's recent fetches. Rendering is pure; the handler reads the health under the data lock.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use yuqing_store::collect::{self as records, FetchRecord, SourceHealth};

use crate::error::titled_page;
use crate::extract::Query;
use crate::html::{fmt_time, Layout};
use crate::AppState;

/// What the page shows of a source's configuration (the binary fills it from `[[sources]]` and
/// `yuqing sources add`).
#[derive(Debug, Clone, Default)]
pub struct SourceInfo {
    pub id: String,
    pub name: String,
    /// 订阅源, 网页列表, 站内搜索, JSON 接口, 投放目录
    pub kind: String,
    pub url: String,
    /// 中央, 省级, 地方, 社区
    pub tier: String,
    pub department: Option<String>,
    /// e.g. "5m"
    pub interval: String,
    pub enabled: bool,
    /// Fetched despite robots.txt, with this written reason.
    pub ignore_robots: Option<String>,
}

/// Failures in a row at which a source counts as failing (the 信息源异常 alert's threshold).
pub const FAILING_AFTER: u32 = 5;

fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - t).num_seconds().max(0);
    match s {
        0..=59 => format!("{s} 秒前"),
        60..=3599 => format!("{} 分钟前", s / 60),
        3600..=86_399 => format!("{} 小时前", s / 3600),
        _ => format!("{} 天前", s / 86_400),
    }
}

/// The order of the list: failing first (most failures in a row), then the quietest.
pub fn order(rows: &mut [(SourceInfo, SourceHealth)], by: &str) {
    match by {
        "name" => rows.sort_by(|a, b| a.0.name.cmp(&b.0.name).then_with(|| a.0.id.cmp(&b.0.id))),
        "volume" => rows.sort_by(|a, b| b.1.items_per_day.cmp(&a.1.items_per_day).then_with(|| a.0.id.cmp(&b.0.id))),
        _ => rows.sort_by(|a, b| {
            b.1.consecutive_failures
                .cmp(&a.1.consecutive_failures)
                .then_with(|| b.0.enabled.cmp(&a.0.enabled))
                .then_with(|| a.1.last_success_at.cmp(&b.1.last_success_at))
                .then_with(|| a.0.id.cmp(&b.0.id))
        }),
    }
}

pub fn render(
    rows: &[(SourceInfo, SourceHealth)],
    selected: Option<(&SourceInfo, &[FetchRecord])>,
    by: &str,
    now: DateTime<Utc>,
) -> Markup {
    let failing = rows.iter().filter(|(s, h)| s.enabled && h.consecutive_failures >= FAILING_AFTER).count();
    let enabled = rows.iter().filter(|(s, _)| s.enabled).count();
    let sort = |key: &str, label: &str| {
        let on = by == key || (key == "health" && !matches!(by, "name" | "volume"));
        html! { @if on { b { (label) } } @else { a href={ "/sources?sort=" (key) } { (label) } } }
    };
    html! {
        h2 { "信息源" }
        p {
            "共 " (rows.len()) " 个信息源，启用 " (enabled) " 个"
            @if failing > 0 { "，" span.late { (failing) " 个连续采集失败" } }
            "。新增或停用：" code { "yuqing sources add|disable|enable" } "，或配置文件 [[sources]]（见 docs/CONFIG.md）。"
        }
        p.muted { "排序：" (sort("health", "异常优先")) " · " (sort("volume", "入库量")) " · " (sort("name", "名称")) }
        table {
            thead { tr {
                th { "信息源" } th { "类型" } th { "级别" } th { "责任单位" } th { "间隔" } th { "状态" } th { "最近成功" }
                th { "连续失败" } th { "24 小时入库" } th { "抓取耗时（中位）" } th { "最近错误" }
            } }
            tbody {
                @for (s, h) in rows {
                    tr class=[(s.enabled && h.consecutive_failures >= FAILING_AFTER).then_some("failing")] {
                        td { a href={ "/sources?id=" (urlencoding::encode(&s.id)) } { (s.name) } div.muted { (s.url) } }
                        td { (s.kind) }
                        td { (s.tier) }
                        td { (s.department.as_deref().unwrap_or("")) }
                        td { (s.interval) }
                        td { @if s.enabled { "启用" } @else { span.muted { "停用" } } }
                        td { @match h.last_success_at {
                            Some(t) => span title=(fmt_time(&t)) { (ago(t, now)) },
                            None => "从未",
                        } }
                        td { @if h.consecutive_failures > 0 { span.late { (h.consecutive_failures) } } @else { "0" } }
                        td { (h.items_per_day) }
                        td { (h.median_fetch_ms.map(|m| format!("{m} 毫秒")).unwrap_or_else(|| "—".into())) }
                        td.muted { (h.last_error.as_deref().unwrap_or("").chars().take(80).collect::<String>()) }
                    }
                }
                @if rows.is_empty() {
                    tr { td colspan="11" class="muted" {
                        "还没有信息源：在配置文件 [[sources]] 中列出，或用 yuqing sources add 添加；外部采集程序也可用推送接口 POST /api/v1/posts 送入帖文"
                    } }
                }
            }
        }
        @if let Some((s, fetches)) = selected {
            h3 { (s.name) "（" (s.id) "）最近的抓取" }
            @if let Some(reason) = &s.ignore_robots {
                p.muted { "不受 robots.txt 限制，理由：" (reason) }
            }
            table {
                thead { tr {
                    th { "时间" } th { "结果" } th { "HTTP 状态" } th { "耗时" } th { "条目" } th { "新入库" } th { "错误" }
                } }
                tbody {
                    @for f in fetches {
                        tr {
                            td { (fmt_time(&f.at)) }
                            td { @if f.ok { span.ok { "成功" } } @else { span.late { "失败" } } }
                            td { (f.status.map(|s| s.to_string()).unwrap_or_default()) }
                            td { (f.millis) " 毫秒" }
                            td { (f.items) }
                            td { (f.stored) }
                            td.muted { (f.error.as_deref().unwrap_or("")) }
                        }
                    }
                    @if fetches.is_empty() {
                        tr { td colspan="7" class="muted" { "还没有抓取记录" } }
                    }
                }
            }
        }
    }
}

/// `/sources?id=…&sort=…`: the source shown in detail and the table's order.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct SourcesQuery {
    id: Option<String>,
    sort: Option<String>,
}

pub async fn sources_page(State(state): State<AppState>, Query(q): Query<SourcesQuery>) -> Response {
    let now = (state.clock)();
    let infos: Vec<SourceInfo> = state.sources.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let selected = q.id.clone();
    if let Some(id) = &selected {
        if !infos.iter().any(|s| &s.id == id) {
            let body = html! {
                h2 { "信息源" }
                p.late { "没有编号为“" (id) "”的信息源" }
                p { a href="/sources" { "全部信息源" } }
            };
            return (StatusCode::NOT_FOUND, Layout::of(&state, "信息源").html(body)).into_response();
        }
    }
    let sel = selected.clone();
    let r = state
        .blocking(move |d, _| {
            let c = d.store.connection();
            let mut rows = Vec::with_capacity(infos.len());
            for s in infos.iter() {
                rows.push((s.clone(), records::health(c, &s.id, now)?));
            }
            let fetches = match &sel {
                Some(id) => records::fetches(c, id, 20)?,
                None => Vec::new(),
            };
            Ok((rows, fetches))
        })
        .await;
    let (mut rows, fetches) = match r {
        Ok(v) => v,
        Err(e) => return titled_page(&state, "信息源", e),
    };
    let by = q.sort.as_deref().unwrap_or("health");
    order(&mut rows, by);
    let picked =
        selected.as_ref().and_then(|id| rows.iter().find(|(s, _)| &s.id == id)).map(|(s, _)| (s, fetches.as_slice()));
    Layout::of(&state, "信息源").html(render(&rows, picked, by, now)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row(id: &str, failures: u32, per_day: u64) -> (SourceInfo, SourceHealth) {
        (
            SourceInfo {
                id: id.into(),
                name: format!("源{id}"),
                kind: "订阅源".into(),
                enabled: true,
                ..Default::default()
            },
            SourceHealth {
                source_id: id.into(),
                consecutive_failures: failures,
                items_per_day: per_day,
                ..Default::default()
            },
        )
    }

    #[test]
    fn failing_sources_come_first_and_are_marked() {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
        let mut rows = vec![row("a", 0, 50), row("b", 7, 0), row("c", 2, 10)];
        order(&mut rows, "health");
        let ids: Vec<&str> = rows.iter().map(|r| r.0.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        order(&mut rows, "volume");
        assert_eq!(rows[0].0.id, "a");
        let html = render(&rows, None, "volume", now).into_string();
        assert!(html.contains("1 个连续采集失败") && html.contains("class=\"failing\""), "{html}");
        assert!(html.contains("从未"), "a source that never succeeded says so");
        let fetch = FetchRecord {
            source_id: "b".into(),
            at: now,
            ok: false,
            status: Some(500),
            millis: 120,
            items: 0,
            stored: 0,
            error: Some("HTTP 500".into()),
        };
        let html = render(&rows, Some((&rows[1].0, std::slice::from_ref(&fetch))), "health", now).into_string();
        assert!(html.contains("最近的抓取") && html.contains("HTTP 500") && html.contains("失败"), "{html}");
    }
}
