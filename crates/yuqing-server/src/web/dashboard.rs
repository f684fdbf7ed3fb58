//! 总览: the dashboard the duty room keeps open (and on the big screen). Numbers and SVG charts are
//! rendered on the server; a few lines of JavaScript (`assets/desk.js`) reload the fragment when the
//! server says something changed (server-sent events), so it updates without a reload.
//!
//! Two pictures for people who look rather than read (issue 15): where the last 24 hours' posts
//! are (provinces, each with its cities; no map, for want of a standard map with 审图号) and a
//! word cloud of the keywords of the stories active in them. Noise posts count in neither.

use yuqing_core::duty::DutyShift;
use yuqing_store::dashboard::{Overview, Pictures};
use yuqing_store::StoryRecord;
use yuqing_text::places::{Gazetteer, Level};

use maud::{html, Markup};

use crate::html::{fmt_time, grade_badge};
use crate::web::places_html::{self, PlaceCounts};
use crate::wordcloud::{self, Canvas, Word};

/// Provinces in the ranking, cities under each, countries on the line below it.
const PROVINCES: usize = 10;
const CITIES: usize = 8;
const COUNTRIES: usize = 6;

/// The posts search for a word (full text; the ranking's counts come from the gazetteer, so the
/// search may find a few more or fewer).
fn search_href(word: &str) -> String {
    format!("/search?q={}", urlencoding::encode(word))
}

/// One bar row: the name (a link to the posts search for `query`), the bar, the count.
fn bar_row(name: &str, query: &str, n: u64, max: u64) -> Markup {
    html! {
        span { a href=(search_href(query)) title={ "检索含“" (query) "”的帖文" } { (name) } }
        i class={ "w" (n.min(max) * 100 / max.max(1)) } {}
        em { (n) }
    }
}

/// 地域分布: provinces by posts naming them (or a place inside them), most first, each opening onto
/// its cities (a municipality's districts); foreign countries on one line below. A post counts once
/// per province and once per city however many of its places lie there.
pub fn place_ranking(counts: &PlaceCounts) -> Markup {
    let g = Gazetteer::builtin();
    let (countries, provinces): (Vec<_>, Vec<_>) =
        counts.top.iter().partition(|(p, _)| g.place(*p).level == Level::Country);
    let max = provinces.first().map_or(1, |(_, n)| *n);
    html! {
        @if provinces.is_empty() && countries.is_empty() {
            p.muted { "近 24 小时帖文未提及地名" }
        } @else {
            ol.bars.places {
                @for (i, (p, n)) in provinces.iter().take(PROVINCES).enumerate() {
                    @let place = g.place(*p);
                    @let row = bar_row(&place.name, &place.short, *n, max);
                    li {
                        @match counts.below.get(p).filter(|v| !v.is_empty()) {
                            None => span.row { (row) },
                            Some(cities) => details open[i == 0] {
                                summary { span.row { (row) } }
                                ol.bars {
                                    @for (c, m) in cities.iter().take(CITIES) {
                                        @let city = g.place(*c);
                                        li { (bar_row(&city.name, &city.short, *m, max)) }
                                    }
                                    @if cities.len() > CITIES {
                                        li class="more muted" { "另有 " (cities.len() - CITIES) " 个地市" }
                                    }
                                }
                            },
                        }
                    }
                }
            }
            @if provinces.len() > PROVINCES {
                p.muted { "另有 " (provinces.len() - PROVINCES) " 个省份" }
            }
            @if !countries.is_empty() {
                p.abroad {
                    "境外："
                    @for (k, (p, n)) in countries.iter().take(COUNTRIES).enumerate() {
                        @let c = g.place(*p);
                        @if k > 0 { "、" }
                        a href=(search_href(&c.short)) { (c.name) } " " (n)
                    }
                }
            }
        }
    }
}

/// The words of the cloud: each keyword of a story active in the window, weighted by the posts those
/// stories had in the window (a keyword shared by two stories adds both). The weight reads as "how
/// many of today's posts are about matters with this word".
pub fn cloud_words(p: &Pictures) -> Vec<Word> {
    let mut m: std::collections::HashMap<&str, (u64, u64)> = std::collections::HashMap::new();
    for (_, n, keywords) in &p.stories {
        let mut seen: Vec<&str> = Vec::new();
        for k in keywords {
            let k = k.trim();
            // A bare number ("10") says nothing on its own.
            if k.is_empty() || k.chars().all(|c| !c.is_alphabetic()) || seen.contains(&k) {
                continue;
            }
            seen.push(k);
            let e = m.entry(k).or_default();
            e.0 += n;
            e.1 += 1;
        }
    }
    m.into_iter()
        .map(|(k, (posts, stories))| Word {
            text: k.to_string(),
            weight: posts,
            note: format!("{k}：{stories} 个事件，近 24 小时帖文 {posts} 条"),
        })
        .collect()
}

/// 热词: the cloud of [`cloud_words`], each word linking to the posts search for it.
pub fn keyword_cloud(p: &Pictures) -> Markup {
    let c = Canvas::default();
    let placed = wordcloud::layout(&cloud_words(p), &c);
    if placed.is_empty() {
        return html! { p.muted { "近 24 小时没有活跃事件" } };
    }
    wordcloud::svg(&placed, &c, "近 24 小时事件关键词，字越大相关帖文越多", search_href)
}

/// Both pictures, with what was left out.
fn pictures_html(p: &Pictures) -> Markup {
    let mut notes = vec!["字号按关键词所属事件的近 24 小时帖文数".to_string()];
    if p.noise > 0 {
        notes.push(format!("广告、抽奖等噪声帖文 {} 条不计", p.noise));
    }
    if p.capped {
        notes.push(format!("帖文较多，按最新 {} 条统计", p.posts));
    }
    html! {
        div.pics {
            section { h3 { "地域分布（24 小时）" } (place_ranking(&places_html::count(&p.places))) }
            section { h3 { "热词（24 小时事件关键词）" } (keyword_cloud(p)) }
        }
        p.muted { (notes.join("；")) }
    }
}

/// The pictures' styles: rows that open onto their cities, and sizes for the big screen.
pub const STYLE: &str = ".pics{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:14px;margin-top:14px}\
ol.places>li{display:block;margin:2px 0}ol.places .row{display:inline-grid;grid-template-columns:7em 1fr 4em;gap:6px;align-items:center;width:calc(100% - 1.4em);vertical-align:middle}\
ol.places>li>.row{margin-left:1.4em}ol.places summary{cursor:pointer}ol.places ol.bars{margin:2px 0 8px 2.2em}ol.places ol.bars i{background:#b2ccf5}\
ol.places li.more{display:block}.abroad{font-size:13px;margin:6px 0}\
body.big ol.places li,body.big .abroad{font-size:20px}body.big ol.places i{height:14px}body.big ol.places ol.bars i{background:#4e6fae}";

/// One bar list: a name, a bar as long as its share of the first, the count.
fn bars(rows: &[(String, u64)]) -> Markup {
    let max = rows.first().map_or(1, |s| s.1.max(1));
    html! {
        ol.bars { @for (name, n) in rows { li { span { (name) } i class={ "w" (n * 100 / max) } {} em { (n) } } } }
    }
}

/// The dashboard's inner part (also served alone for live updates).
pub fn render_fragment(
    o: &Overview,
    top: &[StoryRecord],
    topics: &[(String, u64)],
    on_duty: &[DutyShift],
    pictures: &Pictures,
) -> Markup {
    let neg_share = if o.posts_today > 0 { o.negative_today as f64 * 100.0 / o.posts_today as f64 } else { 0.0 };
    let by_grade: Vec<String> = o.open_by_grade.iter().map(|(g, n)| format!("{g}级 {n}")).collect();
    html! {
        div.cards {
            div.card { b data-k="posts_today" { (o.posts_today) } span { "今日帖文" } }
            div.card { b { (format!("{neg_share:.0}%")) } span { "今日负面占比" } }
            div.card {
                b { (o.open_incidents) }
                span { "处置中工单" @if !by_grade.is_empty() { "：" (by_grade.join("，")) } }
            }
            div.card.alarm[o.overdue_now > 0] {
                b { (o.overdue_now) } span { "超时未办（累计超时 " (o.overdue_recorded) "）" }
            }
            div.card {
                b.sm {
                    @if on_duty.is_empty() { "无人在岗" }
                    @for (i, s) in on_duty.iter().enumerate() { @if i > 0 { br; } (s.role.label_zh()) " " (s.person) }
                }
                span { "当前值班" }
            }
        }
        div.grid2 {
            section {
                h3 { "近 24 小时帖文（负面 / 中性 / 正面）" }
                (crate::chart::sentiments(&o.hourly, "%H:00", "近 24 小时每小时帖文数").svg(560, 180))
            }
            section {
                h3 { "近 7 天帖文" }
                (crate::chart::sentiments(&o.daily, "%m-%d", "近 7 天每日帖文数").svg(560, 180))
            }
        }
        div.grid3 {
            section {
                h3 { "热点事件" }
                @if top.is_empty() {
                    p.muted { "暂无已定级事件" }
                } @else {
                    table { tbody { @for s in top {
                        tr {
                            td { (grade_badge(s.manual.as_ref().map(|m| m.0).or(s.grade))) }
                            td {
                                a href={ "/stories/" (s.id) } { (s.title) }
                                div.reason { (s.reasons.first().map(|r| r.detail.as_str()).unwrap_or("")) }
                            }
                            td.num { (s.posts) " 条" }
                            td.muted { (fmt_time(&s.last_at)) }
                        }
                    } } }
                }
            }
            section { h3 { "信息来源（24 小时）" } (bars(&o.top_sources)) }
            section { h3 { "领域" } (bars(topics)) }
        }
        (pictures_html(pictures))
        p.muted { "更新于 " (fmt_time(&o.now)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_rank_provinces_with_their_cities_and_countries_apart() {
        // Post 1 names 武汉市 and 江夏区 (one post for 湖北/武汉); 2 黄冈市; 3 郑州市; 4 and 5 韩国;
        // 6 北京市朝阳区 (a municipality's district stands under it).
        let pairs = [(1, 420100), (1, 420115), (2, 421100), (3, 410100), (4, 1_000_410), (5, 1_000_410), (6, 110105)];
        let html = place_ranking(&places_html::count(&pairs)).into_string();
        let hubei = html.find("湖北省").expect("湖北");
        let henan = html.find("河南省").expect("河南");
        let beijing = html.find("北京市").expect("北京");
        assert!(hubei < henan && hubei < beijing, "{html}");
        assert!(html.contains("湖北省</a></span><i class=\"w100\"></i><em>2</em>"), "{html}");
        assert!(
            html.contains("武汉市</a></span><i class=\"w50\"></i><em>1</em>")
                && html.contains("黄冈市</a></span><i class=\"w50\"></i><em>1</em>"),
            "{html}"
        );
        assert!(html.contains("朝阳区</a></span><i class=\"w50\"></i><em>1</em>"), "{html}");
        assert!(html.contains("href=\"/search?q=%E6%B9%96%E5%8C%97\""), "links search the short name 湖北: {html}");
        assert_eq!(html.matches("<details").count(), 3, "{html}");
        assert!(html.contains("<details open>"), "the first province is open: {html}");
        // Countries are not provinces: on their own line, not in the ranking.
        let abroad = html.find("境外：").expect("abroad");
        assert!(html[abroad..].contains("韩国</a> 2") && !html[..abroad].contains("韩国"), "{html}");
        assert!(place_ranking(&places_html::count(&[])).into_string().contains("未提及地名"));
    }

    #[test]
    fn cloud_words_weigh_a_keyword_by_the_posts_of_its_stories() {
        let p = Pictures {
            stories: vec![
                (1, 30, vec!["医院".into(), "排队".into(), "医院".into()]),
                (2, 5, vec!["医院".into(), "<停水>".into(), "10".into()]),
                (3, 0, vec!["无帖".into()]),
            ],
            ..Default::default()
        };
        let mut words = cloud_words(&p);
        words.sort_by(|a, b| b.weight.cmp(&a.weight).then(a.text.cmp(&b.text)));
        let got: Vec<(&str, u64)> = words.iter().map(|w| (w.text.as_str(), w.weight)).collect();
        assert_eq!(got, vec![("医院", 35), ("排队", 30), ("<停水>", 5), ("无帖", 0)]);
        assert_eq!(words[0].note, "医院：2 个事件，近 24 小时帖文 35 条");
        let svg = keyword_cloud(&p).into_string();
        assert_eq!(svg.matches("<a href=").count(), 3, "a word without posts is not drawn: {svg}");
        assert!(svg.contains("&lt;停水&gt;") && !svg.contains("<停水>"), "{svg}");
        assert!(keyword_cloud(&Pictures::default()).into_string().contains("没有活跃事件"));
    }
}
