//! Bar charts of a report, drawn from one `ChartData`: as inline SVG for HTML (the style of the
//! server's story charts) and as a PNG for DOCX, rasterized here without fonts — the DOCX caption
//! and the table beside the chart carry the labels and numbers.

use std::fmt::Write;

use crate::html::esc;
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
}

const RED: [u8; 3] = [0xf0, 0x44, 0x38];
const BLUE: [u8; 3] = [0x84, 0xad, 0xea];
const GREEN: [u8; 3] = [0x12, 0xb7, 0x6a];
const DARK: [u8; 3] = [0x1f, 0x5f, 0xbf];

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

    /// The chart as inline SVG with a legend and axis labels.
    pub fn svg(&self, width: u32, height: u32) -> String {
        let (pl, pr, pt, pb) = (44.0, 10.0, 28.0, 34.0);
        let (w, h) = (width as f64 - pl - pr, height as f64 - pt - pb);
        let mut s = String::new();
        let _ = write!(
            s,
            "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\">",
            esc(&self.title)
        );
        let mut lx = pl;
        for ser in &self.series {
            let _ = write!(s, "<rect x=\"{lx:.0}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{:.0}\" y=\"17\" font-size=\"11\" fill=\"#344054\">{}</text>", hex(ser.color), lx + 14.0, esc(&ser.name));
            lx += 24.0 + ser.name.chars().count() as f64 * 12.0;
        }
        let top = if self.percent { "100%".to_string() } else { format!("{}", self.max().round() as i64) };
        let _ = write!(s, "<text x=\"4\" y=\"{:.0}\" font-size=\"11\" fill=\"#667085\">{top}</text>", pt + 8.0);
        let _ = write!(s, "<text x=\"4\" y=\"{:.0}\" font-size=\"11\" fill=\"#667085\">0</text>", pt + h);
        for (x, y, bw, bh, k) in self.bars(w, h) {
            if bh <= 0.0 {
                continue;
            }
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"/>",
                pl + x,
                pt + y,
                bw.max(0.5),
                hex(self.series[k].color)
            );
        }
        let _ = write!(
            s,
            "<line x1=\"{pl}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#98a2b3\"/>",
            pl + w,
            y = pt + h
        );
        let n = self.labels.len();
        let every = (n / 12).max(1);
        let slot = w / n.max(1) as f64;
        for (i, l) in self.labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.0}\" font-size=\"11\" fill=\"#667085\" text-anchor=\"middle\">{}</text>",
                pl + (i as f64 + 0.5) * slot,
                pt + h + 16.0,
                esc(l)
            );
        }
        s.push_str("</svg>");
        s
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
        assert!(c.svg(600, 240).contains("负面"));
        assert!(c.caption().contains("红色为负面"));
    }
}
