//! The desk's charts as data — a story's posts per hour, a theme's posts per day, the dashboard's
//! posts by sentiment — drawn by the one chart module the reports use too
//! (`yuqing_report::chart`: SVG for pages, PNG for DOCX).

use maud::Markup;
use yuqing_core::HeatBucket;
use yuqing_report::chart::{self, ChartData, Series, BLUE, GREEN, RED};
use yuqing_store::dashboard::VolumeBucket;

use crate::html::china;

/// The grey of neutral posts on the dashboard.
const GREY: [u8; 3] = [0x98, 0xa2, 0xb3];

/// Posts per hour over the whole life of a story (empty hours included, at most 60 days), the
/// negative part in red beneath; None without posts.
pub fn hourly(buckets: &[HeatBucket]) -> Option<ChartData> {
    let (first, last) = (buckets.first()?, buckets.last()?);
    let first_hour = first.hour.timestamp() / 3600;
    let hours = (last.hour.timestamp() / 3600 - first_hour + 1).clamp(1, 24 * 60) as usize;
    let mut posts = vec![0u32; hours];
    let mut neg = vec![0u32; hours];
    for b in buckets {
        if let Ok(i) = usize::try_from(b.hour.timestamp() / 3600 - first_hour) {
            if i < hours {
                posts[i] = b.posts;
                neg[i] = b.negative;
            }
        }
    }
    let label = |i: usize| {
        china(&first.hour)
            .checked_add_signed(chrono::Duration::hours(i as i64))
            .map(|t| t.format("%m-%d %H:00").to_string())
            .unwrap_or_default()
    };
    let labels: Vec<String> = (0..hours).map(label).collect();
    let tips =
        labels.iter().enumerate().map(|(i, l)| format!("{l} 帖文 {} 条，负面 {} 条", posts[i], neg[i])).collect();
    Some(ChartData {
        title: "每小时帖文数".into(),
        labels,
        series: vec![
            Series { name: "负面".into(), color: RED, values: neg.iter().map(|&n| f64::from(n)).collect() },
            Series {
                name: "其他".into(),
                color: BLUE,
                values: posts.iter().zip(&neg).map(|(&p, &n)| f64::from(p.saturating_sub(n))).collect(),
            },
        ],
        stacked: true,
        percent: false,
        tips,
    })
}

/// Posts per day from the first day to the last (days without posts are empty), at most the last
/// 180 days; None without days.
pub fn daily(days: &[(chrono::NaiveDate, u64)]) -> Option<ChartData> {
    let (&(first, _), &(last, _)) = (days.first()?, days.last()?);
    let first = first.max(last - chrono::Duration::days(179));
    let n = ((last - first).num_days() + 1).clamp(1, 180) as usize;
    let mut counts = vec![0u64; n];
    for &(d, c) in days {
        if let Some(slot) = usize::try_from((d - first).num_days()).ok().and_then(|i| counts.get_mut(i)) {
            *slot = c;
        }
    }
    let labels: Vec<String> =
        (0..n).map(|i| (first + chrono::Duration::days(i as i64)).format("%m-%d").to_string()).collect();
    let tips = labels.iter().zip(&counts).map(|(l, c)| format!("{l} 帖文 {c} 条")).collect();
    Some(ChartData {
        title: "每日帖文数".into(),
        labels,
        series: vec![Series { name: "帖文".into(), color: BLUE, values: counts.iter().map(|&c| c as f64).collect() }],
        stacked: true,
        percent: false,
        tips,
    })
}

/// The dashboard's posts per bucket by sentiment, negative at the bottom, labelled in China time
/// with `label_fmt`.
pub fn sentiments(buckets: &[VolumeBucket], label_fmt: &str, title: &str) -> ChartData {
    let labels: Vec<String> = buckets.iter().map(|b| china(&b.start).format(label_fmt).to_string()).collect();
    let tips = buckets
        .iter()
        .zip(&labels)
        .map(|(b, l)| {
            let [neg, neu, pos] = b.counts;
            format!("{l}：共 {} 条，负面 {neg}、中性 {neu}、正面 {pos}", neg + neu + pos)
        })
        .collect();
    let series = |name: &str, color, k: usize| Series {
        name: name.into(),
        color,
        values: buckets.iter().map(|b| b.counts[k] as f64).collect(),
    };
    ChartData {
        title: title.into(),
        labels,
        series: vec![series("负面", RED, 0), series("中性", GREY, 1), series("正面", GREEN, 2)],
        stacked: true,
        percent: false,
        tips,
    }
}

/// A story's posts per hour as a sparkline for the lists.
pub fn sparkline(buckets: &[HeatBucket]) -> Markup {
    let values: Vec<f64> = buckets.iter().map(|b| f64::from(b.posts)).collect();
    chart::sparkline(&values, 120, 28)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};

    #[test]
    fn daily_charts_leave_quiet_days_empty_and_keep_at_most_180_days() {
        let d = |m, day| NaiveDate::from_ymd_opt(2020, m, day).expect("date");
        assert!(daily(&[]).is_none());
        let c = daily(&[(d(2, 9), 10), (d(2, 12), 5)]).expect("chart");
        assert_eq!(c.labels.len(), 4);
        let svg = c.svg(600, 160).into_string();
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.contains("02-09 帖文 10 条") && svg.contains("02-12 帖文 5 条") && svg.contains(">02-12</text>"));
        let long = daily(&[(d(1, 1), 1), (d(12, 31), 2)]).expect("chart");
        assert_eq!(long.labels.len(), 180);
        assert_eq!(long.svg(600, 160).into_string().matches("<rect").count(), 1, "the first day is too early");
    }

    #[test]
    fn hourly_charts_fill_empty_hours_and_stack_the_negative_part() {
        let at = |h| Utc.with_ymd_and_hms(2026, 11, 20, h, 0, 0).unwrap();
        let bucket = |hour, posts, negative| HeatBucket {
            hour,
            posts,
            sites: 1,
            max_tier: Default::default(),
            interactions: 0,
            negative,
        };
        assert!(hourly(&[]).is_none());
        let c = hourly(&[bucket(at(1), 4, 1), bucket(at(3), 2, 0)]).expect("chart");
        assert_eq!(c.labels, ["11-20 09:00", "11-20 10:00", "11-20 11:00"], "China time, the quiet hour kept");
        assert_eq!(c.series[0].values, [1.0, 0.0, 0.0]);
        assert_eq!(c.series[1].values, [3.0, 0.0, 2.0]);
        assert!(c.svg(1100, 200).into_string().contains("<title>11-20 09:00 帖文 4 条，负面 1 条</title>"));
    }

    #[test]
    fn sentiment_charts_stack_and_label_buckets_in_china_time() {
        let start = Utc.with_ymd_and_hms(2026, 11, 19, 16, 0, 0).unwrap();
        let b = vec![
            VolumeBucket { start, counts: [2, 3, 5] },
            VolumeBucket { start: start + chrono::Duration::days(1), counts: [0, 0, 0] },
        ];
        let svg = sentiments(&b, "%m-%d", "x").svg(300, 100).into_string();
        assert_eq!(svg.matches("<rect").count(), 3 + 3, "a legend of three and three bars: {svg}");
        assert!(svg.contains(">11-20</text>"), "{svg}");
        assert!(svg.contains("共 10 条，负面 2") && !svg.contains("共 0 条"), "{svg}");
    }
}
