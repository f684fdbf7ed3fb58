//! 总览: the dashboard the duty room keeps open (and on the big screen). Numbers and SVG charts are
//! rendered on the server; a few lines of JavaScript (`assets/desk.js`) reload the fragment when the
//! server says something changed (server-sent events), so it updates without a reload.
//!
//! Two pictures for people who look rather than read (issue 15): where the last 24 hours' posts
//! are (provinces, each with its cities; no map, for want of a standard map with 审图号) and a
//! word cloud of the keywords of the stories active in them. Noise posts count in neither.

use std::fmt::Write;

use yuqing_core::duty::DutyShift;
use yuqing_store::dashboard::{Overview, Pictures};
use yuqing_store::StoryRecord;
use yuqing_text::places::{Gazetteer, Level};

use crate::html::{esc, fmt_time, grade_badge};
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
fn bar_row(name: &str, query: &str, n: u64, max: u64) -> String {
    format!(
        "<span><a href=\"{}\" title=\"检索含“{}”的帖文\">{}</a></span><i class=\"w{}\"></i><em>{n}</em>",
        esc(&search_href(query)),
        esc(query),
        esc(name),
        n.min(max) * 100 / max.max(1)
    )
}

/// 地域分布: provinces by posts naming them (or a place inside them), most first, each opening onto
/// its cities (a municipality's districts); foreign countries on one line below. A post counts once
/// per province and once per city however many of its places lie there.
pub fn place_ranking(counts: &PlaceCounts) -> String {
    let g = Gazetteer::builtin();
    let (countries, provinces): (Vec<_>, Vec<_>) =
        counts.top.iter().partition(|(p, _)| g.place(*p).level == Level::Country);
    if provinces.is_empty() && countries.is_empty() {
        return "<p class=\"muted\">近 24 小时帖文未提及地名</p>".to_string();
    }
    let mut b = String::from("<ol class=\"bars places\">");
    let max = provinces.first().map_or(1, |(_, n)| *n);
    for (i, (p, n)) in provinces.iter().take(PROVINCES).enumerate() {
        let place = g.place(*p);
        let row = bar_row(&place.name, &place.short, *n, max);
        match counts.below.get(p).filter(|v| !v.is_empty()) {
            None => {
                let _ = write!(b, "<li><span class=\"row\">{row}</span></li>");
            }
            Some(cities) => {
                let _ = write!(
                    b,
                    "<li><details{}><summary><span class=\"row\">{row}</span></summary><ol class=\"bars\">",
                    if i == 0 { " open" } else { "" }
                );
                for (c, m) in cities.iter().take(CITIES) {
                    let city = g.place(*c);
                    let _ = write!(b, "<li>{}</li>", bar_row(&city.name, &city.short, *m, max));
                }
                if cities.len() > CITIES {
                    let _ = write!(b, "<li class=\"more muted\">另有 {} 个地市</li>", cities.len() - CITIES);
                }
                b.push_str("</ol></details></li>");
            }
        }
    }
    b.push_str("</ol>");
    if provinces.len() > PROVINCES {
        let _ = write!(b, "<p class=\"muted\">另有 {} 个省份</p>", provinces.len() - PROVINCES);
    }
    if !countries.is_empty() {
        let abroad: Vec<String> = countries
            .iter()
            .take(COUNTRIES)
            .map(|(p, n)| {
                let c = g.place(*p);
                format!("<a href=\"{}\">{}</a> {n}", esc(&search_href(&c.short)), esc(&c.name))
            })
            .collect();
        let _ = write!(b, "<p class=\"abroad\">境外：{}</p>", abroad.join("、"));
    }
    b
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
pub fn keyword_cloud(p: &Pictures) -> String {
    let c = Canvas::default();
    let placed = wordcloud::layout(&cloud_words(p), &c);
    if placed.is_empty() {
        return "<p class=\"muted\">近 24 小时没有活跃事件</p>".to_string();
    }
    wordcloud::svg(&placed, &c, "近 24 小时事件关键词，字越大相关帖文越多", search_href)
}

/// Both pictures, with what was left out.
fn pictures_html(p: &Pictures) -> String {
    let mut b = String::from("<div class=\"pics\"><section><h3>地域分布（24 小时）</h3>");
    b.push_str(&place_ranking(&places_html::count(&p.places)));
    b.push_str("</section><section><h3>热词（24 小时事件关键词）</h3>");
    b.push_str(&keyword_cloud(p));
    b.push_str("</section></div>");
    let mut notes = vec!["字号按关键词所属事件的近 24 小时帖文数".to_string()];
    if p.noise > 0 {
        notes.push(format!("广告、抽奖等噪声帖文 {} 条不计", p.noise));
    }
    if p.capped {
        notes.push(format!("帖文较多，按最新 {} 条统计", p.posts));
    }
    let _ = write!(b, "<p class=\"muted\">{}</p>", notes.join("；"));
    b
}

/// The pictures' styles: rows that open onto their cities, and sizes for the big screen.
pub const STYLE: &str = ".pics{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,420px),1fr));gap:14px;margin-top:14px}\
ol.places>li{display:block;margin:2px 0}ol.places .row{display:inline-grid;grid-template-columns:7em 1fr 4em;gap:6px;align-items:center;width:calc(100% - 1.4em);vertical-align:middle}\
ol.places>li>.row{margin-left:1.4em}ol.places summary{cursor:pointer}ol.places ol.bars{margin:2px 0 8px 2.2em}ol.places ol.bars i{background:#b2ccf5}\
ol.places li.more{display:block}.abroad{font-size:13px;margin:6px 0}\
body.big ol.places li,body.big .abroad{font-size:20px}body.big ol.places i{height:14px}body.big ol.places ol.bars i{background:#4e6fae}";

/// The dashboard's inner part (also served alone for live updates).
pub fn render_fragment(
    o: &Overview,
    top: &[StoryRecord],
    topics: &[(String, u64)],
    on_duty: &[DutyShift],
    pictures: &Pictures,
) -> String {
    let mut b = String::new();
    let neg_share = if o.posts_today > 0 { o.negative_today as f64 * 100.0 / o.posts_today as f64 } else { 0.0 };
    let by_grade: Vec<String> = o.open_by_grade.iter().map(|(g, n)| format!("{g}级 {n}")).collect();
    b.push_str("<div class=\"cards\">");
    let _ = write!(b, "<div class=\"card\"><b data-k=\"posts_today\">{}</b><span>今日帖文</span></div>", o.posts_today);
    let _ = write!(b, "<div class=\"card\"><b>{neg_share:.0}%</b><span>今日负面占比</span></div>");
    let _ = write!(
        b,
        "<div class=\"card\"><b>{}</b><span>处置中工单{}</span></div>",
        o.open_incidents,
        if by_grade.is_empty() { String::new() } else { format!("：{}", by_grade.join("，")) }
    );
    let _ = write!(
        b,
        "<div class=\"card{}\"><b>{}</b><span>超时未办（累计超时 {}）</span></div>",
        if o.overdue_now > 0 { " alarm" } else { "" },
        o.overdue_now,
        o.overdue_recorded
    );
    let duty: Vec<String> = on_duty.iter().map(|s| format!("{} {}", s.role.label_zh(), esc(&s.person))).collect();
    let _ = write!(
        b,
        "<div class=\"card\"><b class=\"sm\">{}</b><span>当前值班</span></div>",
        if duty.is_empty() { "无人在岗".to_string() } else { duty.join("<br>") }
    );
    b.push_str("</div>");
    b.push_str("<div class=\"grid2\"><section><h3>近 24 小时帖文（负面 / 中性 / 正面）</h3>");
    b.push_str(&crate::chart::sentiments(&o.hourly, "%H:00", "近 24 小时每小时帖文数").svg(560, 180).into_string());
    b.push_str("</section><section><h3>近 7 天帖文</h3>");
    b.push_str(&crate::chart::sentiments(&o.daily, "%m-%d", "近 7 天每日帖文数").svg(560, 180).into_string());
    b.push_str("</section></div>");
    b.push_str("<div class=\"grid3\"><section><h3>热点事件</h3>");
    if top.is_empty() {
        b.push_str("<p class=\"muted\">暂无已定级事件</p>");
    } else {
        b.push_str("<table><tbody>");
        for s in top {
            let reason = s.reasons.first().map(|r| r.detail.as_str()).unwrap_or("");
            let _ = write!(
                b,
                "<tr><td>{}</td><td><a href=\"/stories/{}\">{}</a><div class=\"reason\">{}</div></td><td class=\"num\">{} 条</td><td class=\"muted\">{}</td></tr>",
                grade_badge(s.manual.as_ref().map(|m| m.0).or(s.grade)).into_string(),
                s.id,
                esc(&s.title),
                esc(reason),
                s.posts,
                fmt_time(&s.last_at)
            );
        }
        b.push_str("</tbody></table>");
    }
    b.push_str("</section><section><h3>信息来源（24 小时）</h3><ol class=\"bars\">");
    let smax = o.top_sources.first().map_or(1, |s| s.1.max(1));
    for (src, n) in &o.top_sources {
        let _ = write!(b, "<li><span>{}</span><i class=\"w{}\"></i><em>{n}</em></li>", esc(src), n * 100 / smax);
    }
    b.push_str("</ol></section><section><h3>领域</h3><ol class=\"bars\">");
    let tmax = topics.first().map_or(1, |s| s.1.max(1));
    for (t, n) in topics {
        let _ = write!(b, "<li><span>{}</span><i class=\"w{}\"></i><em>{n}</em></li>", esc(t), n * 100 / tmax);
    }
    b.push_str("</ol></section></div>");
    b.push_str(&pictures_html(pictures));
    let _ = write!(b, "<p class=\"muted\">更新于 {}</p>", fmt_time(&o.now));
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_rank_provinces_with_their_cities_and_countries_apart() {
        // Post 1 names 武汉市 and 江夏区 (one post for 湖北/武汉); 2 黄冈市; 3 郑州市; 4 and 5 韩国;
        // 6 北京市朝阳区 (a municipality's district stands under it).
        let pairs = [(1, 420100), (1, 420115), (2, 421100), (3, 410100), (4, 1_000_410), (5, 1_000_410), (6, 110105)];
        let html = place_ranking(&places_html::count(&pairs));
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
        assert!(place_ranking(&places_html::count(&[])).contains("未提及地名"));
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
        let svg = keyword_cloud(&p);
        assert_eq!(svg.matches("<a href=").count(), 3, "a word without posts is not drawn: {svg}");
        assert!(svg.contains("&lt;停水&gt;") && !svg.contains("<停水>"), "{svg}");
        assert!(keyword_cloud(&Pictures::default()).contains("没有活跃事件"));
    }
}
