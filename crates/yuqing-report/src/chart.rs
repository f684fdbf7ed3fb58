//! The one chart module of the reports and the desk's pages: a bar chart drawn from one
//! `ChartData`, as inline SVG (a maud template; the report's HTML and the desk's story, theme and
//! dashboard pages) and as a PNG for DOCX, rasterized here without fonts — the DOCX caption and the
//! table beside the chart carry the labels and numbers; and the sparkline of the desk's lists.
//! Text in the SVG is drawn in `currentColor`, so the charts follow the page (the big screen is dark).

use maud::{html, Markup};

use crate::model::{DayVolume, DepartmentStats, HourPoint};
use crate::{ReportError, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: [u8; 3],
    pub values: Vec<f64>,
}

/// A bar chart: one bar group per label; series stacked or side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    pub title: String,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
    pub stacked: bool,
    /// Values are shares (0–1), printed as percentages.
    pub percent: bool,
    /// What a pointer over each bar group shows (one per label), or nothing when empty.
    pub tips: Vec<String>,
}

/// The colours of the charts: negative, other or neutral, positive, and the desk's blue.
pub const RED: [u8; 3] = [0xf0, 0x44, 0x38];
pub const BLUE: [u8; 3] = [0x84, 0xad, 0xea];
pub const GREEN: [u8; 3] = [0x12, 0xb7, 0x6a];
pub const DARK: [u8; 3] = [0x1f, 0x5f, 0xbf];

impl ChartData {
    /// Posts per day by sentiment, stacked.
    pub fn volume(days: &[DayVolume]) -> ChartData {
        ChartData {
            title: "每日信息量与情感倾向".into(),
            labels: days.iter().map(|d| d.date.format("%m-%d").to_string()).collect(),
            series: vec![
                Series { name: "负面".into(), color: RED, values: days.iter().map(|d| d.negative as f64).collect() },
                Series { name: "中性".into(), color: BLUE, values: days.iter().map(|d| d.neutral as f64).collect() },
                Series {
                    name: "正面".into(), color: GREEN, values: days.iter().map(|d| d.positive as f64).collect()
                },
            ],
            stacked: true,
            percent: false,
            tips: Vec::new(),
        }
    }

    /// On-time rates by department, side by side.
    pub fn rates(depts: &[DepartmentStats]) -> ChartData {
        ChartData {
            title: "各单位首报、回应按时率".into(),
            labels: depts.iter().map(|d| d.department.clone()).collect(),
            series: vec![
                Series {
                    name: "首报按时率".into(),
                    color: DARK,
                    values: depts.iter().map(|d| d.report_rate().unwrap_or(0.0)).collect(),
                },
                Series {
                    name: "回应按时率".into(),
                    color: GREEN,
                    values: depts.iter().map(|d| d.response_rate().unwrap_or(0.0)).collect(),
                },
            ],
            stacked: false,
            percent: true,
            tips: Vec::new(),
        }
    }

    /// A story's spread: posts per hour, the negative part stacked beneath.
    pub fn spread(points: &[HourPoint], offset: chrono::FixedOffset) -> ChartData {
        ChartData {
            title: "传播态势（每小时信息量）".into(),
            labels: points.iter().map(|p| p.hour.with_timezone(&offset).format("%m-%d %H时").to_string()).collect(),
            series: vec![
                Series {
                    name: "负面".into(), color: RED, values: points.iter().map(|p| p.negative as f64).collect()
                },
                Series {
                    name: "其他".into(),
                    color: BLUE,
                    values: points.iter().map(|p| p.posts.saturating_sub(p.negative) as f64).collect(),
                },
            ],
            stacked: true,
            percent: false,
            tips: Vec::new(),
        }
    }

    fn max(&self) -> f64 {
        if self.percent {
            return 1.0;
        }
        let n = self.labels.len();
        let m = (0..n)
            .map(|i| {
                let vals = self.series.iter().map(|s| s.values.get(i).copied().unwrap_or(0.0));
                if self.stacked {
                    vals.sum::<f64>()
                } else {
                    vals.fold(0.0, f64::max)
                }
            })
            .fold(0.0, f64::max);
        if m <= 0.0 {
            1.0
        } else {
            m
        }
    }

    /// Bars as rectangles in a `width × height` plot area: (x, y, w, h, series index).
    fn bars(&self, width: f64, height: f64) -> Vec<(f64, f64, f64, f64, usize)> {
        let n = self.labels.len().max(1);
        let max = self.max();
        let slot = width / n as f64;
        let mut out = Vec::new();
        for i in 0..self.labels.len() {
            let x0 = i as f64 * slot + slot * 0.1;
            let bw = slot * 0.8;
            let mut base = 0.0;
            for (k, s) in self.series.iter().enumerate() {
                let v = s.values.get(i).copied().unwrap_or(0.0).max(0.0);
                let h = v / max * height;
                if self.stacked {
                    out.push((x0, height - base - h, bw, h, k));
                    base += h;
                } else {
                    let w = bw / self.series.len().max(1) as f64;
                    out.push((x0 + k as f64 * w, height - h, w, h, k));
                }
            }
        }
        out
    }

    /// The chart as inline SVG: a legend when there is more than one series, the top of the scale
    /// and zero, at most about 12 labels under the bars, and the tip of each bar group.
    pub fn svg(&self, width: u32, height: u32) -> Markup {
        let legend = self.series.len() > 1;
        let (pl, pr, pt, pb) = (44.0, 10.0, if legend { 28.0 } else { 10.0 }, 24.0);
        let (w, h) = (width as f64 - pl - pr, height as f64 - pt - pb);
        let n = self.labels.len();
        let every = (n / 12).max(1);
        let slot = w / n.max(1) as f64;
        let top = if self.percent { "100%".to_string() } else { format!("{}", self.max().round() as i64) };
        let mut swatches = Vec::new();
        let mut lx = pl;
        for ser in self.series.iter().filter(|_| legend) {
            swatches.push((lx, ser));
            lx += 24.0 + ser.name.chars().count() as f64 * 12.0;
        }
        let mut groups: Vec<Vec<(f64, f64, f64, f64, usize)>> = vec![Vec::new(); n];
        for (i, bar) in self.bars(w, h).into_iter().enumerate() {
            if bar.3 > 0.0 {
                if let Some(g) = groups.get_mut(i / self.series.len().max(1)) {
                    g.push(bar);
                }
            }
        }
        html! {
            svg.chart viewBox={ "0 0 " (width) " " (height) } width="100%" role="img" aria-label=(self.title) {
                @for (x, ser) in &swatches {
                    rect x=(f0(*x)) y="8" width="10" height="10" fill=(hex(ser.color)) {}
                    text x=(f0(x + 14.0)) y="17" font-size="11" fill="currentColor" { (ser.name) }
                }
                text x="4" y=(f0(pt + 8.0)) font-size="11" fill="currentColor" { (top) }
                text x="4" y=(f0(pt + h)) font-size="11" fill="currentColor" { "0" }
                @for (i, bars) in groups.iter().enumerate().filter(|(_, g)| !g.is_empty()) {
                    g {
                        @if let Some(tip) = self.tips.get(i) {
                            title { (tip) }
                        }
                        @for (x, y, bw, bh, k) in bars {
                            rect x=(f1(pl + x)) y=(f1(pt + y)) width=(f1(bw.max(0.5))) height=(f1(*bh))
                                fill=(hex(self.series[*k].color)) {}
                        }
                    }
                }
                line x1=(pl) y1=(f1(pt + h)) x2=(f1(pl + w)) y2=(f1(pt + h)) stroke="#98a2b3" {}
                @for (i, l) in self.labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
                    text x=(f1(pl + (i as f64 + 0.5) * slot)) y=(f0(pt + h + 16.0)) font-size="11" fill="currentColor"
                        text-anchor="middle" { (l) }
                }
            }
        }
    }

    /// The chart as a PNG (bars, axis and a light grid; no text).
    pub fn png(&self, width: u32, height: u32) -> Result<Vec<u8>> {
        let (pl, pr, pt, pb) = (20.0, 12.0, 12.0, 20.0);
        let (w, h) = (width as f64 - pl - pr, height as f64 - pt - pb);
        let mut img = vec![255u8; (width * height * 3) as usize];
        let mut fill = |x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3]| {
            let (xa, xb) = (x0.round().max(0.0) as u32, (x1.round() as u32).min(width));
            let (ya, yb) = (y0.round().max(0.0) as u32, (y1.round() as u32).min(height));
            for y in ya..yb {
                for x in xa..xb {
                    let i = ((y * width + x) * 3) as usize;
                    img[i..i + 3].copy_from_slice(&c);
                }
            }
        };
        for k in 0..=4 {
            let y = pt + h * k as f64 / 4.0;
            fill(pl, y, pl + w, y + 1.0, [0xe4, 0xe7, 0xec]);
        }
        for (x, y, bw, bh, k) in self.bars(w, h) {
            if bh > 0.0 {
                fill(pl + x, pt + y, pl + x + bw.max(1.0), pt + y + bh, self.series[k].color);
            }
        }
        fill(pl, pt + h, pl + w, pt + h + 2.0, [0x98, 0xa2, 0xb3]);
        fill(pl - 2.0, pt, pl, pt + h + 2.0, [0x98, 0xa2, 0xb3]);
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, width, height);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut wr =
                enc.write_header().map_err(|e| ReportError::Write { what: "图表 PNG", detail: e.to_string() })?;
            wr.write_image_data(&img).map_err(|e| ReportError::Write { what: "图表 PNG", detail: e.to_string() })?;
        }
        Ok(out)
    }

    /// What the PNG shows, in words (its caption in DOCX).
    pub fn caption(&self) -> String {
        let legend: Vec<String> = self.series.iter().map(|s| format!("{}为{}", color_name(s.color), s.name)).collect();
        let range = match (self.labels.first(), self.labels.last()) {
            (Some(a), Some(b)) if a != b => format!("，{a} 至 {b}"),
            (Some(a), _) => format!("，{a}"),
            _ => String::new(),
        };
        let top = if self.percent {
            "纵轴满格为 100%".to_string()
        } else {
            format!("纵轴最大值 {}", self.max().round() as i64)
        };
        format!("图：{}（{}{}；{}）", self.title, legend.join("，"), range, top)
    }
}

fn color_name(c: [u8; 3]) -> &'static str {
    match c {
        RED => "红色",
        BLUE => "浅蓝色",
        GREEN => "绿色",
        DARK => "深蓝色",
        _ => "彩色",
    }
}

fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

fn f0(x: f64) -> String {
    format!("{x:.0}")
}

fn f1(x: f64) -> String {
    format!("{x:.1}")
}

/// A tiny line of `values` (posts per hour of a story, oldest first) for a row of a list; nothing
/// for fewer than two values.
pub fn sparkline(values: &[f64], width: u32, height: u32) -> Markup {
    if values.len() < 2 {
        return html! {};
    }
    let max = values.iter().copied().fold(1.0, f64::max);
    let n = values.len() as f64 - 1.0;
    let (w, h) = (f64::from(width), f64::from(height));
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 / n * w, h - v.max(0.0) / max * (h - 2.0) - 1.0))
        .collect();
    html! {
        svg width=(width) height=(height) viewBox={ "0 0 " (width) " " (height) } aria-hidden="true" {
            polyline fill="none" stroke="#1570ef" stroke-width="1.5" points=(points.join(" ")) {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn stacked_bars_reach_the_top_for_the_largest_day_and_the_png_decodes() {
        let d = |day: u32, n: u64| DayVolume {
            date: NaiveDate::from_ymd_opt(2026, 11, day).unwrap(),
            negative: n,
            neutral: n,
            positive: 0,
        };
        let c = ChartData::volume(&[d(16, 1), d(17, 5)]);
        let bars = c.bars(100.0, 50.0);
        let top = bars.iter().map(|b| b.1).fold(f64::MAX, f64::min);
        assert!(top.abs() < 1e-9, "the largest stack fills the plot: {bars:?}");
        let png = c.png(400, 200).unwrap();
        let dec = png::Decoder::new(std::io::Cursor::new(png)).read_info().unwrap();
        assert_eq!((dec.info().width, dec.info().height), (400, 200));
        let svg = c.svg(600, 240).into_string();
        assert!(svg.contains(">负面</text>") && svg.contains(">11-17</text>"), "{svg}");
        assert!(c.caption().contains("红色为负面"));
    }

    #[test]
    fn the_svg_escapes_its_text_skips_empty_bars_and_carries_tips() {
        let c = ChartData {
            title: "<标题>".into(),
            labels: vec!["a&b".into(), "空".into(), "c".into()],
            series: vec![Series { name: "帖文".into(), color: BLUE, values: vec![2.0, 0.0, 4.0] }],
            stacked: true,
            percent: false,
            tips: vec!["a&b 帖文 2 条".into(), "空".into(), "c 帖文 4 条".into()],
        };
        let svg = c.svg(300, 120).into_string();
        assert!(svg.contains("aria-label=\"&lt;标题&gt;\"") && svg.contains(">a&amp;b</text>"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2, "one series: no legend, no bar for zero: {svg}");
        assert!(svg.contains("<g><title>c 帖文 4 条</title><rect") && !svg.contains("<title>空"), "{svg}");
        assert!(svg.contains(">4</text>"), "the top of the scale: {svg}");
    }

    #[test]
    fn the_sparkline_spans_its_width_and_needs_two_points() {
        assert_eq!(sparkline(&[3.0], 120, 28).into_string(), "");
        let s = sparkline(&[0.0, 4.0, 2.0], 120, 28).into_string();
        assert!(s.contains("points=\"0.0,27.0 60.0,1.0 120.0,14.0\""), "{s}");
    }
}
