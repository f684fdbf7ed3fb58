//! Charts drawn as inline SVG on the server: a story's hourly posts (negative part in red) and a
//! small sparkline for lists.

use std::fmt::Write;

use yuqing_core::HeatBucket;

use crate::html::china;

/// Posts per hour as bars over the whole life of the story (gaps are empty hours).
pub fn heat_bars(buckets: &[HeatBucket], width: u32, height: u32) -> String {
    if buckets.is_empty() {
        return String::new();
    }
    let first = buckets[0].hour.timestamp() / 3600;
    let last = buckets[buckets.len() - 1].hour.timestamp() / 3600;
    let hours = (last - first + 1).clamp(1, 24 * 60) as usize;
    let mut posts = vec![0u32; hours];
    let mut neg = vec![0u32; hours];
    for b in buckets {
        let i = (b.hour.timestamp() / 3600 - first) as usize;
        if i < hours {
            posts[i] = b.posts;
            neg[i] = b.negative;
        }
    }
    let max = posts.iter().copied().max().unwrap_or(1).max(1) as f32;
    let (pad_l, pad_b, pad_t) = (40.0, 22.0, 10.0);
    let plot_w = width as f32 - pad_l - 10.0;
    let plot_h = height as f32 - pad_b - pad_t;
    let bw = plot_w / hours as f32;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"每小时帖文数\">"
    );
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\" fill=\"#667085\">{}</text>", pad_t + 8.0, max as u32);
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\" fill=\"#667085\">0</text>", pad_t + plot_h);
    for i in 0..hours {
        let x = pad_l + i as f32 * bw;
        let h = posts[i] as f32 / max * plot_h;
        let hn = neg[i] as f32 / max * plot_h;
        if posts[i] > 0 {
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#84adea\"><title>{} 帖文 {} 条，负面 {} 条</title></rect>",
                pad_t + plot_h - h,
                (bw * 0.85).max(0.5),
                china(&buckets[0].hour).checked_add_signed(chrono::Duration::hours(i as i64)).map(|t| t.format("%m-%d %H:00").to_string()).unwrap_or_default(),
                posts[i],
                neg[i]
            );
            if neg[i] > 0 {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hn:.1}\" fill=\"#f04438\" opacity=\"0.8\"/>",
                    pad_t + plot_h - hn,
                    (bw * 0.85).max(0.5)
                );
            }
        }
    }
    let _ = write!(
        s,
        "<line x1=\"{pad_l}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#98a2b3\"/>",
        y = pad_t + plot_h,
        x2 = pad_l + plot_w
    );
    let label = |i: usize| {
        china(&buckets[0].hour)
            .checked_add_signed(chrono::Duration::hours(i as i64))
            .map(|t| t.format("%m-%d %H:00").to_string())
            .unwrap_or_default()
    };
    let _ = write!(
        s,
        "<text x=\"{pad_l}\" y=\"{}\" font-size=\"11\" fill=\"#667085\">{}</text>",
        height as f32 - 6.0,
        label(0)
    );
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#667085\" text-anchor=\"end\">{}</text>",
        pad_l + plot_w,
        height as f32 - 6.0,
        label(hours - 1)
    );
    s.push_str("</svg>");
    s
}

/// A tiny line of posts per hour for list rows.
pub fn sparkline(buckets: &[HeatBucket], width: u32, height: u32) -> String {
    if buckets.len() < 2 {
        return String::new();
    }
    let max = buckets.iter().map(|b| b.posts).max().unwrap_or(1).max(1) as f32;
    let n = buckets.len() as f32 - 1.0;
    let points: Vec<String> = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| {
            format!(
                "{:.1},{:.1}",
                i as f32 / n * width as f32,
                height as f32 - b.posts as f32 / max * (height as f32 - 2.0) - 1.0
            )
        })
        .collect();
    format!(
        "<svg width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" aria-hidden=\"true\"><polyline fill=\"none\" stroke=\"#1570ef\" stroke-width=\"1.5\" points=\"{}\"/></svg>",
        points.join(" ")
    )
}

/// Posts per day as bars, from the first day to the last (days without posts are empty), at most
/// the last 180 days.
pub fn daily_bars(days: &[(chrono::NaiveDate, u64)], width: u32, height: u32) -> String {
    let (Some(&(first, _)), Some(&(last, _))) = (days.first(), days.last()) else {
        return String::new();
    };
    let first = first.max(last - chrono::Duration::days(179));
    let n = ((last - first).num_days() + 1).clamp(1, 180) as usize;
    let mut counts = vec![0u64; n];
    for &(d, c) in days {
        if let Ok(i) = usize::try_from((d - first).num_days()) {
            if let Some(slot) = counts.get_mut(i) {
                *slot = c;
            }
        }
    }
    let max = counts.iter().copied().max().unwrap_or(1).max(1) as f32;
    let (pad_l, pad_b, pad_t) = (48.0, 22.0, 10.0);
    let plot_w = width as f32 - pad_l - 10.0;
    let plot_h = height as f32 - pad_b - pad_t;
    let bw = plot_w / n as f32;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"每日帖文数\">"
    );
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\" fill=\"#667085\">{}</text>", pad_t + 8.0, max as u64);
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\" fill=\"#667085\">0</text>", pad_t + plot_h);
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let h = c as f32 / max * plot_h;
        let day = first + chrono::Duration::days(i as i64);
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"#84adea\"><title>{} 帖文 {c} 条</title></rect>",
            pad_l + i as f32 * bw,
            pad_t + plot_h - h,
            (bw * 0.85).max(0.5),
            day.format("%m-%d")
        );
    }
    let y = pad_t + plot_h;
    let _ = write!(s, "<line x1=\"{pad_l}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#98a2b3\"/>", pad_l + plot_w);
    let _ = write!(
        s,
        "<text x=\"{pad_l}\" y=\"{}\" font-size=\"11\" fill=\"#667085\">{}</text>",
        height as f32 - 6.0,
        first.format("%m-%d")
    );
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" fill=\"#667085\" text-anchor=\"end\">{}</text>",
        pad_l + plot_w,
        height as f32 - 6.0,
        last.format("%m-%d")
    );
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod daily_tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn daily_bars_leave_quiet_days_empty_and_keep_at_most_180_days() {
        let d = |m, day| NaiveDate::from_ymd_opt(2020, m, day).expect("date");
        assert_eq!(daily_bars(&[], 600, 160), "");
        let svg = daily_bars(&[(d(2, 9), 10), (d(2, 12), 5)], 600, 160);
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("02-09 帖文 10 条") && svg.contains("02-12 帖文 5 条") && svg.contains(">02-12</text>"));
        let long = daily_bars(&[(d(1, 1), 1), (d(12, 31), 2)], 600, 160);
        assert_eq!(long.matches("<rect").count(), 1, "the first day is more than 180 days before the last");
    }
}
