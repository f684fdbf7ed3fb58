//! 信息源: every source the server collects from, with its health (last success, failures in a
//! row, posts stored in the last 24 hours, median fetch time, last error), failing ones first; and
//! one source's recent fetches. Rendering is pure; the handler reads the health under the data lock.

use std::fmt::Write;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use yuqing_store::collect::{self as records, FetchRecord, SourceHealth};

use crate::error::titled_page;
use crate::extract::Query;
use crate::html::{esc, fmt_time, page};
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
) -> String {
    let mut b = String::from("<h2>信息源</h2>");
    let failing = rows.iter().filter(|(s, h)| s.enabled && h.consecutive_failures >= FAILING_AFTER).count();
    let enabled = rows.iter().filter(|(s, _)| s.enabled).count();
    let _ = write!(
        b,
        "<p>共 {} 个信息源，启用 {enabled} 个{}。新增或停用：<code>yuqing sources add|disable|enable</code>，或配置文件 [[sources]]（见 docs/CONFIG.md）。</p>",
        rows.len(),
        if failing > 0 { format!("，<span class=\"late\">{failing} 个连续采集失败</span>") } else { String::new() }
    );
    let sort = |key: &str, label: &str| {
        if by == key || (key == "health" && !matches!(by, "name" | "volume")) {
            format!("<b>{label}</b>")
        } else {
            format!("<a href=\"/sources?sort={key}\">{label}</a>")
        }
    };
    let _ = write!(
        b,
        "<p class=\"muted\">排序：{} · {} · {}</p>",
        sort("health", "异常优先"),
        sort("volume", "入库量"),
        sort("name", "名称")
    );
    b.push_str("<table><thead><tr><th>信息源</th><th>类型</th><th>级别</th><th>责任单位</th><th>间隔</th><th>状态</th><th>最近成功</th><th>连续失败</th><th>24 小时入库</th><th>抓取耗时（中位）</th><th>最近错误</th></tr></thead><tbody>");
    for (s, h) in rows {
        let bad = s.enabled && h.consecutive_failures >= FAILING_AFTER;
        let _ = write!(
            b,
            "<tr{}><td><a href=\"/sources?id={}\">{}</a><div class=\"muted\">{}</div></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
            if bad { " class=\"failing\"" } else { "" },
            urlencoding::encode(&s.id),
            esc(&s.name),
            esc(&s.url),
            esc(&s.kind),
            esc(&s.tier),
            esc(s.department.as_deref().unwrap_or("")),
            esc(&s.interval),
            if s.enabled { "启用".to_string() } else { "<span class=\"muted\">停用</span>".to_string() },
            h.last_success_at.map(|t| format!("<span title=\"{}\">{}</span>", fmt_time(&t), ago(t, now))).unwrap_or_else(|| "从未".into()),
            if h.consecutive_failures > 0 { format!("<span class=\"late\">{}</span>", h.consecutive_failures) } else { "0".into() },
            h.items_per_day,
            h.median_fetch_ms.map(|m| format!("{m} 毫秒")).unwrap_or_else(|| "—".into()),
            esc(&h.last_error.as_deref().unwrap_or("").chars().take(80).collect::<String>())
        );
    }
    if rows.is_empty() {
        b.push_str("<tr><td colspan=\"11\" class=\"muted\">还没有信息源：在配置文件 [[sources]] 中列出，或用 yuqing sources add 添加；外部采集程序也可用推送接口 POST /api/v1/posts 送入帖文</td></tr>");
    }
    b.push_str("</tbody></table>");
    if let Some((s, fetches)) = selected {
        let _ = write!(b, "<h3>{}（{}）最近的抓取</h3>", esc(&s.name), esc(&s.id));
        if let Some(reason) = &s.ignore_robots {
            let _ = write!(b, "<p class=\"muted\">不受 robots.txt 限制，理由：{}</p>", esc(reason));
        }
        b.push_str("<table><thead><tr><th>时间</th><th>结果</th><th>HTTP 状态</th><th>耗时</th><th>条目</th><th>新入库</th><th>错误</th></tr></thead><tbody>");
        for f in fetches {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} 毫秒</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td></tr>",
                fmt_time(&f.at),
                if f.ok { "<span class=\"ok\">成功</span>" } else { "<span class=\"late\">失败</span>" },
                f.status.map(|s| s.to_string()).unwrap_or_default(),
                f.millis,
                f.items,
                f.stored,
                esc(f.error.as_deref().unwrap_or(""))
            );
        }
        if fetches.is_empty() {
            b.push_str("<tr><td colspan=\"7\" class=\"muted\">还没有抓取记录</td></tr>");
        }
        b.push_str("</tbody></table>");
    }
    b
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
            let body = format!(
                "<h2>信息源</h2><p class=\"late\">没有编号为“{}”的信息源</p><p><a href=\"/sources\">全部信息源</a></p>",
                esc(id)
            );
            return (StatusCode::NOT_FOUND, Html(page("信息源", &state.org_name, state.banner.as_deref(), &body)))
                .into_response();
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
    let body = render(&rows, picked, by, now);
    Html(page("信息源", &state.org_name, state.banner.as_deref(), &body)).into_response()
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
        let html = render(&rows, None, "volume", now);
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
        let html = render(&rows, Some((&rows[1].0, std::slice::from_ref(&fetch))), "health", now);
        assert!(html.contains("最近的抓取") && html.contains("HTTP 500") && html.contains("失败"), "{html}");
    }
}
