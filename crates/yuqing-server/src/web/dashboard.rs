//! 总览: the dashboard the duty room keeps open (and on the big screen). Numbers and SVG charts are
//! rendered on the server; a few lines of JavaScript (`assets/desk.js`) reload the fragment when the
//! server says something changed (server-sent events), so it updates without a reload.

use std::fmt::Write;

use yuqing_core::duty::DutyShift;
use yuqing_store::dashboard::{Overview, VolumeBucket};
use yuqing_store::StoryRecord;

use crate::html::{china, esc, fmt_time, grade_badge};

const COLORS: [&str; 3] = ["#f04438", "#98a2b3", "#12b76a"];

/// Stacked bars of posts per bucket, negative at the bottom.
pub fn volume_chart(buckets: &[VolumeBucket], label_fmt: &str, aria: &str, width: u32, height: u32) -> String {
    let max = buckets.iter().map(|b| b.counts.iter().sum::<u64>()).max().unwrap_or(0).max(1) as f32;
    let (pad_l, pad_b, pad_t) = (44.0f32, 22.0f32, 10.0f32);
    let plot_w = width as f32 - pad_l - 8.0;
    let plot_h = height as f32 - pad_b - pad_t;
    let bw = plot_w / buckets.len().max(1) as f32;
    let mut s = String::new();
    let _ = write!(s, "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\">", esc(aria));
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\" fill=\"currentColor\">{}</text>", pad_t + 8.0, max as u64);
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\" fill=\"currentColor\">0</text>", pad_t + plot_h);
    for (i, b) in buckets.iter().enumerate() {
        let x = pad_l + i as f32 * bw;
        let mut y = pad_t + plot_h;
        let total: u64 = b.counts.iter().sum();
        for (k, c) in b.counts.iter().enumerate() {
            if *c == 0 {
                continue;
            }
            let h = *c as f32 / max * plot_h;
            y -= h;
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{}\"><title>{}：共 {total} 条，负面 {}、中性 {}、正面 {}</title></rect>",
                (bw * 0.8).max(0.5),
                COLORS[k],
                china(&b.start).format(label_fmt),
                b.counts[0],
                b.counts[1],
                b.counts[2]
            );
        }
        if i == 0 || i + 1 == buckets.len() || (buckets.len() > 12 && i % 6 == 0) {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" fill=\"currentColor\">{}</text>",
                x,
                height as f32 - 6.0,
                china(&b.start).format(label_fmt)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The dashboard's inner part (also served alone for live updates).
pub fn render_fragment(o: &Overview, top: &[StoryRecord], topics: &[(String, u64)], on_duty: &[DutyShift]) -> String {
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
    b.push_str(&volume_chart(&o.hourly, "%H:00", "近 24 小时每小时帖文数", 560, 180));
    b.push_str("</section><section><h3>近 7 天帖文</h3>");
    b.push_str(&volume_chart(&o.daily, "%m-%d", "近 7 天每日帖文数", 560, 180));
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
                grade_badge(s.manual.as_ref().map(|m| m.0).or(s.grade)),
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
    let _ = write!(b, "<p class=\"muted\">更新于 {}</p>", fmt_time(&o.now));
    b
}


#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn chart_stacks_sentiments_and_labels_buckets_in_china_time() {
        let start = Utc.with_ymd_and_hms(2026, 11, 19, 16, 0, 0).unwrap();
        let b = vec![VolumeBucket { start, counts: [2, 3, 5] }, VolumeBucket { start: start + chrono::Duration::days(1), counts: [0, 0, 0] }];
        let svg = volume_chart(&b, "%m-%d", "x", 300, 100);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("11-20"), "{svg}");
        assert!(svg.contains("共 10 条，负面 2"));
    }
}
