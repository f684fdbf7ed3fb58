//! The HTML pages: stories by grade, one story with its reasons, heat and posts, search, alerts.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use yuqing_core::{Sentiment, StoryStatus};
use yuqing_store::{story_heat, Store, StoryOrder, StoryQuery};
use yuqing_text::highlight::snippet;
use yuqing_text::matching_form;

use crate::chart;
use crate::error::{AppError, AppResult, Code};
use crate::extract::Query;
use crate::html::{esc, fmt_time, grade_badge, page};
use crate::paging::Pager;
use crate::{paging, AppState};

const PAGE_SIZE: usize = 30;
/// Posts per page on a story's page.
const STORY_POSTS_PAGE: usize = 50;

/// A non-negative integer parameter, or a 400 naming it.
pub(crate) fn usize_value(v: Option<&str>, name: &str, default: usize) -> Result<usize, String> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().map_err(|_| format!("参数 {name} 应为非负整数，收到“{v}”")),
    }
}

/// The `page` parameter of a page route (the text of a typed query's field), or a 400.
pub(crate) fn page_value(page: Option<&str>, size: usize) -> AppResult<usize> {
    paging::page_value(page, "page", size, paging::MAX_OFFSET).map_err(|m| AppError::invalid_field("page", m))
}

/// `GET /?page=N&all=1`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IndexQuery {
    page: Option<String>,
    all: Option<String>,
}

/// A story's page: its page of posts, and the notices the redirects ask for.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StoryPageQuery {
    page: Option<String>,
    merged: Option<String>,
    edited: Option<String>,
    false_alarm: Option<String>,
    closed: Option<String>,
    kept: Option<String>,
    withdrawn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchQuery {
    q: Option<String>,
    page: Option<String>,
}

pub async fn index(State(state): State<AppState>, Query(q): Query<IndexQuery>) -> AppResult<Response> {
    let page_no = page_value(q.page.as_deref(), PAGE_SIZE)?;
    let all = q.all.as_deref() == Some("1");
    let (stats, total, rows) = state
        .blocking(move |d, _| {
            let stats = d.store.stats()?;
            let query = StoryQuery {
                graded_only: !all,
                order: StoryOrder::Grade,
                limit: PAGE_SIZE,
                offset: paging::offset_of(page_no, PAGE_SIZE),
                ..Default::default()
            };
            let stories = d.store.stories(&query)?;
            let ids: Vec<i64> = stories.items.iter().map(|s| s.id).collect();
            let marks = yuqing_store::false_alarm::among(d.store.connection(), &ids)?;
            let mut rows = Vec::new();
            for s in stories.items {
                let heat = story_heat(&d.store, s.id)?;
                let marked = marks.contains_key(&s.id);
                rows.push((s, heat, marked));
            }
            Ok((stats, stories.total, rows))
        })
        .await?;
    let mut body = String::new();
    let graded: u64 = stats.graded.iter().map(|(_, n)| n).sum();
    let by_grade: Vec<String> = stats.graded.iter().map(|(g, n)| format!("{}级 {n}", g.as_str())).collect();
    body.push_str("<div class=\"cards\">");
    body.push_str(&format!("<div class=\"card\"><b>{}</b><span>帖文</span></div>", stats.posts));
    body.push_str(&format!(
        "<div class=\"card\"><b>{}</b><span>舆情事件（开放 {}）</span></div>",
        stats.stories, stats.open_stories
    ));
    body.push_str(&format!(
        "<div class=\"card\"><b>{graded}</b><span>已定级：{}</span></div>",
        esc(&by_grade.join("，"))
    ));
    body.push_str(&format!("<div class=\"card\"><b>{}</b><span>预警</span></div>", stats.alerts));
    if stats.posts > 0 {
        body.push_str(&format!(
            "<div class=\"card\"><b>{:.0}%</b><span>负面帖文占比</span></div>",
            stats.negative_posts as f64 * 100.0 / stats.posts as f64
        ));
    }
    if let (Some(a), Some(b)) = (stats.first_post_at, stats.last_post_at) {
        body.push_str(&format!(
            "<div class=\"card\"><b class=\"sm\">{}<br>{}</b><span>帖文时间范围</span></div>",
            fmt_time(&a),
            fmt_time(&b)
        ));
    }
    body.push_str("</div>");
    body.push_str(&format!(
        "<h2>舆情事件</h2><p class=\"tabs\">{}{}</p>",
        if all { "<a href=\"/stories\">只看已定级</a>" } else { "<b>已定级</b>　" },
        if all { "　<b>全部</b>" } else { "<a href=\"/stories?all=1\">全部事件（含未定级）</a>" }
    ));
    if rows.is_empty() {
        body.push_str("<p class=\"muted\">暂无事件。导入帖文：<code>yuqing ingest 文件.jsonl</code>。未命中监测规则的事件不定级，可在“全部事件”中查看。</p>");
    } else {
        body.push_str("<table><thead><tr><th>级别</th><th>事件</th><th>帖文</th><th>站点</th><th>负面</th><th>热度走势</th><th>最近</th></tr></thead><tbody>");
        for (s, heat, marked) in &rows {
            let reason = s.reasons.first().map(|r| r.detail.as_str()).unwrap_or("未命中监测规则");
            body.push_str(&format!(
                "<tr><td>{}</td><td><a href=\"/stories/{}\">{}</a>{}{}<div class=\"reason\">{}</div><div class=\"muted\">{}</div></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.0}%</td><td>{}</td><td class=\"muted\">{}</td></tr>",
                grade_badge(s.grade).into_string(),
                s.id,
                esc(&s.title),
                if s.status == StoryStatus::Closed { " <span class=\"muted\">（已关闭）</span>" } else { "" },
                crate::web::false_alarm::badge(*marked),
                esc(reason),
                esc(&s.keywords.join(" · ")),
                s.posts,
                s.sites,
                s.negative_share * 100.0,
                chart::sparkline(heat).into_string(),
                fmt_time(&s.last_at)
            ));
        }
        body.push_str("</tbody></table>");
        body.push_str(
            &Pager::new(if all { "/stories?all=1&" } else { "/stories?" }, page_no, total, PAGE_SIZE)
                .render()
                .into_string(),
        );
    }
    Ok(Html(page("舆情事件", &state.org_name, state.banner.as_deref(), &body)).into_response())
}

pub async fn story(
    State(state): State<AppState>,
    cu: crate::auth::CurrentUser,
    Path(id): Path<String>,
    Query(q): Query<StoryPageQuery>,
) -> AppResult<Response> {
    let id = id.parse::<i64>().map_err(|_| AppError::invalid_id("事件", &id))?;
    let page_no = page_value(q.page.as_deref(), STORY_POSTS_PAGE)?;
    let theme_defs = state.themes.clone();
    let found = state
        .blocking(move |d, _| {
            let Some(story) = d.store.story(id)? else {
                // A story merged into another by hand: its links lead there.
                let into = yuqing_store::story_edit::redirect(d.store.connection(), id)?;
                return Ok(Err(into));
            };
            let heat = story_heat(&d.store, id)?;
            let posts = d.store.story_posts(id, STORY_POSTS_PAGE, paging::offset_of(page_no, STORY_POSTS_PAGE))?;
            let alerts = d.store.story_alerts(id)?;
            let brief = yuqing_store::brief::story_brief(&d.store, d.fts.segmenter(), id)?;
            let edits = yuqing_store::story_edit::edits_of(d.store.connection(), id)?;
            let themes = yuqing_store::themes::of_story(d.store.connection(), &theme_defs, &story)?;
            let places = yuqing_store::places::of_story(d.store.connection(), id)?;
            let mark = yuqing_store::false_alarm::of_story(d.store.connection(), id)?;
            Ok(Ok((story, heat, posts, alerts, brief, edits, themes, places, mark)))
        })
        .await?;
    let (s, heat, posts, alerts, brief, edits, themes, places, mark) = match found {
        Ok(r) => r,
        Err(Some(into)) => {
            return Ok(axum::response::Redirect::to(&format!("/stories/{into}?merged={id}")).into_response())
        }
        Err(None) => return Err(AppError::not_found(Code::StoryNotFound, format!("舆情事件 {id} 不存在"))),
    };
    let editable = state.story_editor.is_some();
    let mut b = String::new();
    if let Some(m) = q.merged.as_deref().and_then(|m| m.parse::<i64>().ok()) {
        b.push_str(&format!("<p class=\"ok\">事件 #{m} 已并入本事件。</p>"));
    }
    if q.edited.is_some() {
        b.push_str("<p class=\"ok\">已保存人工调整，并记入审计日志。</p>");
    }
    b.push_str(&crate::web::false_alarm::notice(&crate::web::false_alarm::Flags {
        false_alarm: q.false_alarm.clone(),
        closed: q.closed.clone(),
        kept: q.kept.clone(),
        withdrawn: q.withdrawn.clone(),
    }));
    b.push_str(&format!(
        "<h2>{} {}{}</h2>",
        grade_badge(s.grade).into_string(),
        esc(&s.title),
        crate::web::false_alarm::badge(mark.is_some())
    ));
    b.push_str(&crate::web::false_alarm::banner(mark.as_ref()));
    b.push_str(&format!(
        "<p class=\"muted\">事件 #{} · {} · {} 至 {} · 关键词：{}</p>",
        s.id,
        if s.status == StoryStatus::Open { "开放中" } else { "已关闭" },
        fmt_time(&s.first_at),
        fmt_time(&s.last_at),
        esc(&s.keywords.join("、"))
    ));
    b.push_str("<div class=\"cards\">");
    for (v, l) in [
        (s.posts.to_string(), "帖文"),
        (s.sites.to_string(), "站点"),
        (s.max_tier.label_zh().to_string(), "最高源级别"),
        (s.interactions.to_string(), "互动（评论+转发+点赞）"),
        (format!("{:.0}%", s.negative_share * 100.0), "负面占比"),
    ] {
        b.push_str(&format!("<div class=\"card\"><b>{}</b><span>{}</span></div>", esc(&v), l));
    }
    b.push_str("</div>");
    let listed: std::collections::HashSet<i64> = posts.items.iter().map(|p| p.id).collect();
    b.push_str(&crate::web::brief_html::render_brief(&brief, "研判摘要", &|pid| listed.contains(&pid)));
    b.push_str("<h3>定级依据</h3>");
    if s.reasons.is_empty() && !s.rule_hits.is_empty() {
        b.push_str("<p class=\"muted\">本事件的帖文多数为广告、抽奖等噪声，因此未定级。如需处置，可人工定级：<code>yuqing grade ");
        b.push_str(&format!("{} III --reason 理由</code></p>", s.id));
    } else if s.reasons.is_empty() {
        b.push_str(
            "<p class=\"muted\">本事件未命中任何监测规则，因此未定级。如需处置，可人工定级：<code>yuqing grade ",
        );
        b.push_str(&format!("{} III --reason 理由</code></p>", s.id));
    } else {
        b.push_str("<ul class=\"reasons\">");
        for r in &s.reasons {
            b.push_str(&format!("<li>{} {}</li>", grade_badge(Some(r.grade)).into_string(), esc(&r.detail)));
        }
        b.push_str("</ul>");
    }
    if !s.rule_hits.is_empty() {
        let hits: Vec<String> = s.rule_hits.iter().map(|(r, n)| format!("{}（{} 条）", esc(r), n)).collect();
        b.push_str(&format!("<p>命中规则：{}</p>", hits.join("、")));
    }
    b.push_str(&crate::web::themes_page::story_line(&themes));
    b.push_str(&crate::web::places_html::story_line(&crate::web::places_html::count(&places)));
    if !s.topics.is_empty() {
        let t: Vec<String> = s.topics.iter().map(|(t, n)| format!("{}（{}）", esc(t), n)).collect();
        b.push_str(&format!("<p>领域：{}</p>", t.join("、")));
    }
    if !s.severe_words.is_empty() {
        b.push_str(&format!("<p>伤亡/群体性词语：{}</p>", esc(&s.severe_words.join("、"))));
    }
    if !alerts.is_empty() {
        b.push_str("<h3>预警记录</h3><ul>");
        for a in &alerts {
            b.push_str(&format!(
                "<li>{} {} → {} {}</li>",
                fmt_time(&a.at),
                a.from.map_or("未定级".to_string(), |g| format!("{}级", g.as_str())),
                grade_badge(Some(a.to)).into_string(),
                esc(a.reasons.first().map(|r| r.detail.as_str()).unwrap_or(""))
            ));
        }
        b.push_str("</ul>");
    }
    b.push_str("<h3>热度（每小时帖文，红色为负面）</h3>");
    b.push_str(&chart::hourly(&heat).map(|c| c.svg(1100, 200).into_string()).unwrap_or_default());
    b.push_str(&crate::web::false_alarm::section(s.id, mark.as_ref(), &cu, editable));
    b.push_str(&crate::web::story_edit::section(s.id, &edits, &cu, editable));
    b.push_str(&format!("<h3>帖文（共 {} 条，最新在前）</h3>", posts.total));
    for p in &posts.items {
        let (cls, label) = match p.sentiment {
            Sentiment::Negative => ("neg", "负面"),
            Sentiment::Positive => ("pos", "正面"),
            Sentiment::Neutral => ("", "中性"),
        };
        let link = p
            .url
            .as_deref()
            .map(|u| format!(" · {}", crate::html::external_link(u, Some("原文")).into_string()))
            .unwrap_or_default();
        let noise = yuqing_text::noise::classify(&matching_form(&p.title), &matching_form(&p.text))
            .map(|k| format!(" · <span class=\"noise\" title=\"不作为定级依据\">噪声：{}</span>", k.label_zh()))
            .unwrap_or_default();
        b.push_str(&format!(
            "<div class=\"post\" id=\"p{}\"><div class=\"meta\">{}#{} · {}{} · {} · {} · <span class=\"{cls}\">{label}</span>{noise}{}{}</div>{}<div>{}</div></div>",
            p.id,
            crate::web::story_edit::post_checkbox(p.id, &cu, editable),
            p.id,
            fmt_time(&p.published_at),
            if p.time_estimated { "（入库时间）" } else { "" },
            esc(if p.source.is_empty() { "未知来源" } else { &p.source }),
            p.tier.label_zh(),
            if p.hits.is_empty() { String::new() } else { format!(" · 命中：{}", esc(&p.hits.iter().map(|h| h.rule.as_str()).collect::<Vec<_>>().join("、"))) },
            link,
            if p.title.is_empty() { String::new() } else { format!("<b>{}</b>", esc(&p.title)) },
            esc(&p.text.chars().take(400).collect::<String>())
        ));
    }
    b.push_str(&Pager::new(&format!("/stories/{id}?"), page_no, posts.total, STORY_POSTS_PAGE).render().into_string());
    Ok(Html(page(&s.title, &state.org_name, state.banner.as_deref(), &b)).into_response())
}

/// One post: its place in its story's list (the page it is on, at its anchor). Every post a brief
/// cites links here, wherever the brief is shown.
pub async fn post(State(state): State<AppState>, Path(id): Path<String>) -> AppResult<Response> {
    let id = id.parse::<i64>().map_err(|_| AppError::invalid_id("帖文", &id))?;
    let place = state.blocking(move |d, _| Ok(yuqing_store::brief::post_place(d.store.connection(), id)?)).await?;
    let Some((story, before)) = place else {
        return Err(AppError::not_found(Code::PostNotFound, format!("帖文 {id} 不存在")));
    };
    let page_no = (before as usize) / STORY_POSTS_PAGE + 1;
    let query = if page_no > 1 { format!("?page={page_no}") } else { String::new() };
    Ok(axum::response::Redirect::to(&format!("/stories/{story}{query}#p{id}")).into_response())
}

pub async fn search(State(state): State<AppState>, Query(q): Query<SearchQuery>) -> AppResult<Response> {
    let page_no = page_value(q.page.as_deref(), PAGE_SIZE)?;
    let query = q.q.unwrap_or_default();
    let qq = query.clone();
    let result = state
        .blocking(move |d, _| {
            if qq.trim().is_empty() {
                return Ok(None);
            }
            let hits = d.fts.search(&qq, PAGE_SIZE, paging::offset_of(page_no, PAGE_SIZE))?;
            let posts = d.store.posts_by_ids(&hits.ids)?;
            Ok(Some((hits, posts)))
        })
        .await?;
    let mut b = format!(
        "<h2>全文检索</h2><form action=\"/search\"><input name=\"q\" value=\"{}\" class=\"q\"> <button>检索</button></form>",
        esc(&query)
    );
    match result {
        None => b.push_str("<p class=\"muted\">输入词语检索全部帖文；多个词同时出现才算命中；繁简体通查。</p>"),
        Some((hits, posts)) => {
            b.push_str(&format!(
                "<p class=\"muted\">共 {} 条，最新在前。检索词：{}</p>",
                hits.total,
                esc(&hits.terms.join(" "))
            ));
            for p in &posts {
                let t = snippet(&p.title, &matching_form(&p.title), &hits.terms, 80);
                let s = snippet(&p.text, &matching_form(&p.text), &hits.terms, 160);
                b.push_str(&format!(
                    "<div class=\"post\"><div class=\"meta\">{} · {} · <a href=\"/stories/{}\">事件 #{}</a>{}</div>{}<div>{}</div></div>",
                    fmt_time(&p.published_at),
                    esc(if p.source.is_empty() { "未知来源" } else { &p.source }),
                    p.story_id,
                    p.story_id,
                    p.url.as_deref().map(|u| format!(" · {}", crate::html::external_link(u, Some("原文")).into_string())).unwrap_or_default(),
                    if p.title.is_empty() { String::new() } else { format!("<b>{}</b>", t.to_html()) },
                    s.to_html()
                ));
            }
            let base = format!("/search?q={}&", urlencode(&query));
            b.push_str(&Pager::new(&base, page_no, hits.total as u64, PAGE_SIZE).render().into_string());
        }
    }
    Ok(Html(page("全文检索", &state.org_name, state.banner.as_deref(), &b)).into_response())
}

pub async fn alerts(State(state): State<AppState>) -> AppResult<Response> {
    let alerts = state.blocking(|d, _| Ok(d.store.alerts(200)?)).await?;
    let mut b = String::from("<h2>预警记录（最近 200 条）</h2><table><thead><tr><th>时间</th><th>事件</th><th>级别变化</th><th>依据</th></tr></thead><tbody>");
    for a in &alerts {
        b.push_str(&format!(
            "<tr><td class=\"muted\">{}</td><td><a href=\"/stories/{}\">#{}</a></td><td>{} → {}</td><td class=\"reason\">{}</td></tr>",
            fmt_time(&a.at),
            a.story_id,
            a.story_id,
            a.from.map_or("未定级".to_string(), |g| format!("{}级", g.as_str())),
            grade_badge(Some(a.to)).into_string(),
            esc(&a.reasons.iter().map(|r| r.detail.as_str()).collect::<Vec<_>>().join("；"))
        ));
    }
    b.push_str("</tbody></table>");
    Ok(Html(page("预警记录", &state.org_name, state.banner.as_deref(), &b)).into_response())
}

/// No route: a page under the desk's layout, or JSON under `/api/` (`error::render`).
pub async fn not_found() -> AppError {
    AppError::not_found(Code::PageNotFound, "页面不存在")
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
