//! 词云: words laid out on a canvas by weight, the biggest in the middle, as positioned boxes; and
//! their SVG. Pure and deterministic (no I/O, no randomness): the same words give the same picture.
//!
//! Invariants: no two boxes overlap and every box lies inside the canvas; at most [`MAX_WORDS`]
//! words, and the search for places is bounded by [`STEP_BUDGET`] steps in all, so any input is
//! laid out in bounded time (a word that finds no place is left out, never drawn over another).
//!
//! Glyphs are not measured (no fonts on the server): a CJK or other wide character is taken as a
//! square of the font size, an ASCII one as 0.6 of it; the SVG then pins each word to that width
//! (`textLength`), so whatever font the browser picks, a word stays inside its box.

use maud::{html, Markup};

/// The most words drawn.
pub const MAX_WORDS: usize = 60;
/// Candidate positions tried for all words together; bounds the work for any input.
pub const STEP_BUDGET: usize = 300_000;

/// Canvas and font sizes, in SVG user units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canvas {
    pub width: f32,
    pub height: f32,
    pub min_size: f32,
    pub max_size: f32,
}

impl Default for Canvas {
    fn default() -> Canvas {
        Canvas { width: 560.0, height: 300.0, min_size: 12.0, max_size: 46.0 }
    }
}

/// A word and its weight, with a note for its tooltip (e.g. how many stories carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub weight: u64,
    pub note: String,
}

/// A word placed: its box (top-left corner, width, height) and font size.
#[derive(Debug, Clone, PartialEq)]
pub struct Placed {
    pub word: Word,
    pub size: f32,
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Placed {
    fn overlaps(&self, x: f32, y: f32, w: f32, h: f32) -> bool {
        x < self.x + self.w && self.x < x + w && y < self.y + self.h && self.y < y + h
    }
}

/// Space around each word's box, so neighbours do not touch.
const PAD: f32 = 2.0;

/// The width of `text` in ems: wide characters 1, ASCII 0.6.
pub fn ems(text: &str) -> f32 {
    text.chars().map(|c| if c.is_ascii() { 0.6 } else { 1.0 }).sum()
}

/// Font size for `weight` when the heaviest word has `max`: the area of a word's letters grows
/// with its weight (size ∝ √weight), so a word with four times the posts looks four times as big,
/// not sixteen.
fn size_for(weight: u64, max: u64, c: &Canvas) -> f32 {
    let share = if max == 0 { 0.0 } else { (weight as f64 / max as f64).sqrt() as f32 };
    (c.max_size * share).clamp(c.min_size, c.max_size)
}

/// Lays out `words`: merged by text (weights added), heaviest first (ties by text), at most
/// [`MAX_WORDS`], each placed along an Archimedean spiral from the centre at the first position
/// where its box fits inside the canvas and overlaps no placed box; a word with no room is tried
/// smaller, then left out.
pub fn layout(words: &[Word], c: &Canvas) -> Vec<Placed> {
    let mut merged: Vec<Word> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for w in words {
        let text = w.text.trim();
        if text.is_empty() || w.weight == 0 {
            continue;
        }
        match index.get(text) {
            Some(&i) => merged[i].weight = merged[i].weight.saturating_add(w.weight),
            None => {
                index.insert(text, merged.len());
                merged.push(Word { text: text.to_string(), weight: w.weight, note: w.note.clone() });
            }
        }
    }
    merged.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.text.cmp(&b.text)));
    merged.truncate(MAX_WORDS);
    let max = merged.first().map_or(0, |w| w.weight);
    let (cx, cy) = (c.width / 2.0, c.height / 2.0);
    // Wider than tall: stretch the spiral to the canvas's shape.
    let aspect = if c.height > 0.0 { c.width / c.height } else { 1.0 };
    // The spiral is stretched by `aspect` across, so past this radius it has left every corner.
    let reach = c.height / 2.0 * std::f32::consts::SQRT_2 + c.max_size;
    let mut budget = STEP_BUDGET;
    let mut placed: Vec<Placed> = Vec::new();
    for word in merged {
        let mut size = size_for(word.weight, max, c);
        let mut spot = None;
        while spot.is_none() && budget > 0 {
            let w = ems(&word.text) * size + 2.0 * PAD;
            let h = size * 1.1 + 2.0 * PAD;
            if w <= c.width && h <= c.height {
                spot = find_spot(&placed, c, (cx, cy), aspect, reach, w, h, &mut budget).map(|(x, y)| (x, y, w, h));
            }
            if spot.is_some() || size <= c.min_size {
                break;
            }
            // Smaller once, then the smallest: a word that finds no room is not tried at every size.
            size = if size * 0.6 < c.min_size * 1.5 { c.min_size } else { size * 0.6 };
        }
        if let Some((x, y, w, h)) = spot {
            placed.push(Placed { word, size, x, y, w, h });
        }
    }
    placed
}

/// The first position along the spiral where a `w`×`h` box fits; each step costs one of `budget`.
#[allow(clippy::too_many_arguments)]
fn find_spot(
    placed: &[Placed],
    c: &Canvas,
    (cx, cy): (f32, f32),
    aspect: f32,
    reach: f32,
    w: f32,
    h: f32,
    budget: &mut usize,
) -> Option<(f32, f32)> {
    // r = B·θ (turns 10 units apart), advancing along the curve by a quarter of the box's height
    // (at least 3 units): a big word needs no finer search than that.
    const B: f32 = 1.6;
    let step = (h / 4.0).max(3.0);
    let mut theta = 0.0f32;
    let mut last_hit: Option<usize> = None;
    while *budget > 0 {
        *budget -= 1;
        let r = B * theta;
        if r > reach {
            return None;
        }
        let x = cx + r * theta.cos() * aspect - w / 2.0;
        let y = cy + r * theta.sin() - h / 2.0;
        theta += (step / r.max(1.0)).min(0.5);
        if x < 0.0 || y < 0.0 || x + w > c.width || y + h > c.height {
            continue;
        }
        // The box hit last time is the likeliest to be hit again.
        if let Some(i) = last_hit {
            if placed[i].overlaps(x, y, w, h) {
                continue;
            }
        }
        match placed.iter().position(|p| p.overlaps(x, y, w, h)) {
            Some(i) => last_hit = Some(i),
            None => return Some((x, y)),
        }
    }
    None
}

/// The cloud as SVG: each word a link made by `href` (escaped here), with a `<title>` of its note;
/// colour classes `c0`…`c4` by rank (the style sheet gives their colours, light and big screen).
pub fn svg(placed: &[Placed], c: &Canvas, aria: &str, href: impl Fn(&str) -> String) -> Markup {
    let class = |i: usize| match i {
        0..=2 => "c0",
        3..=7 => "c1",
        8..=15 => "c2",
        16..=30 => "c3",
        _ => "c4",
    };
    let n = |x: f32| format!("{x:.1}");
    html! {
        svg class="chart cloud" viewBox={ "0 0 " (c.width) " " (c.height) } width="100%" role="group" aria-label=(aria) {
            @for (i, p) in placed.iter().enumerate() {
                a href=(href(&p.word.text)) {
                    text class=(class(i)) x=(n(p.x + p.w / 2.0)) y=(n(p.y + p.h / 2.0)) font-size=(n(p.size))
                        text-anchor="middle" dominant-baseline="central" textLength=(n(p.w - 2.0 * PAD))
                        lengthAdjust="spacingAndGlyphs" {
                        title { (p.word.note) } (p.word.text)
                    }
                }
            }
        }
    }
}

/// Colours of the cloud's words, on the light desk and on the big screen.
pub const STYLE: &str = "svg.cloud a{text-decoration:none}svg.cloud text{font-weight:600}svg.cloud a:hover text,svg.cloud a:focus text{text-decoration:underline}\
svg.cloud .c0{fill:#b42318}svg.cloud .c1{fill:#1f5fbf}svg.cloud .c2{fill:#b54708}svg.cloud .c3{fill:#067647}svg.cloud .c4{fill:#475467}\
body.big svg.cloud .c0{fill:#ff8a80}body.big svg.cloud .c1{fill:#8fb8ff}body.big svg.cloud .c2{fill:#fdb022}body.big svg.cloud .c3{fill:#6ce9a6}body.big svg.cloud .c4{fill:#c9d4ea}";

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, weight: u64) -> Word {
        Word { text: text.to_string(), weight, note: format!("{text} {weight}") }
    }

    fn no_overlap_and_inside(placed: &[Placed], c: &Canvas) {
        for (i, a) in placed.iter().enumerate() {
            assert!(
                a.x >= 0.0 && a.y >= 0.0 && a.x + a.w <= c.width + 1e-3 && a.y + a.h <= c.height + 1e-3,
                "{} outside: {a:?}",
                a.word.text
            );
            for b in &placed[i + 1..] {
                assert!(!a.overlaps(b.x, b.y, b.w, b.h), "{} overlaps {}: {a:?} {b:?}", a.word.text, b.word.text);
            }
        }
    }

    #[test]
    fn the_heaviest_word_is_biggest_and_near_the_centre() {
        let c = Canvas::default();
        let placed = layout(&[word("口罩", 400), word("医院", 100), word("covid", 25), word("物资", 1)], &c);
        assert_eq!(placed.len(), 4);
        assert_eq!(placed[0].word.text, "口罩");
        assert_eq!(placed[0].size, c.max_size);
        // √(100/400) of the biggest: half the size for a quarter of the posts.
        assert!((placed[1].size - c.max_size / 2.0).abs() < 0.01, "{:?}", placed[1]);
        assert_eq!(placed[3].size, c.min_size, "a light word is still readable");
        let centre = (placed[0].x + placed[0].w / 2.0, placed[0].y + placed[0].h / 2.0);
        assert!((centre.0 - c.width / 2.0).abs() < 1.0 && (centre.1 - c.height / 2.0).abs() < 1.0, "{centre:?}");
        // Latin letters are narrower than CJK ones.
        let latin = placed.iter().find(|p| p.word.text == "covid").expect("placed");
        assert!((latin.w - 2.0 * PAD - 3.0 * latin.size).abs() < 0.01, "{latin:?}");
        no_overlap_and_inside(&placed, &c);
    }

    #[test]
    fn many_words_never_overlap_and_are_capped() {
        let c = Canvas::default();
        // Weights as keywords have them (a few heavy, a long tail): all 60 find room.
        let zipf: Vec<Word> = (1..=200u64)
            .map(|i| word(&format!("词{}", "语".repeat((i % 3) as usize) + &i.to_string()), 1000 / i))
            .collect();
        let placed = layout(&zipf, &c);
        assert_eq!(placed.len(), MAX_WORDS);
        no_overlap_and_inside(&placed, &c);
        // 500 long words all nearly as heavy as the first: the canvas fills, the rest are left out.
        let words: Vec<Word> = (0..500u64).map(|i| word(&format!("关键词{i}号"), 1000 - i)).collect();
        let placed = layout(&words, &c);
        assert!(placed.len() <= MAX_WORDS && placed.len() >= 25, "{}", placed.len());
        no_overlap_and_inside(&placed, &c);
        // Long, heavy and odd words in a small canvas: still no overlap, and what cannot fit is left out.
        let small = Canvas { width: 120.0, height: 60.0, min_size: 10.0, max_size: 40.0 };
        let odd = vec![
            word("一二三四五六七八九十一二三四五六七八九十", 9),
            word("<script>&\"", 9),
            word("x", 9),
            word("中", 3),
            word("  ", 5),
        ];
        let placed = layout(&odd, &small);
        no_overlap_and_inside(&placed, &small);
        assert!(
            placed.iter().all(|p| p.word.text != "一二三四五六七八九十一二三四五六七八九十"),
            "20 ems do not fit in 120 units"
        );
        assert!(placed.iter().all(|p| !p.word.text.trim().is_empty()));
    }

    #[test]
    fn the_same_words_give_the_same_picture_and_duplicates_merge() {
        let c = Canvas::default();
        let words = vec![word("疫情", 30), word("武汉", 20), word("疫情", 15), word("Zero", 0)];
        let a = layout(&words, &c);
        let b = layout(&words, &c);
        assert_eq!(a, b);
        assert_eq!(
            a.iter().map(|p| (p.word.text.as_str(), p.word.weight)).collect::<Vec<_>>(),
            vec![("疫情", 45), ("武汉", 20)]
        );
        assert!(layout(&[], &c).is_empty());
        let zero = Canvas { width: 0.0, height: 0.0, min_size: 12.0, max_size: 46.0 };
        assert!(layout(&words, &zero).is_empty());
    }

    #[test]
    fn svg_links_each_word_and_escapes_it() {
        let c = Canvas::default();
        let placed = layout(&[word("<b>", 5), word("医院", 9)], &c);
        let s = svg(&placed, &c, "词云", |w| format!("/search?q={w}&x=1")).into_string();
        assert_eq!(s.matches("<a href=").count(), 2);
        assert!(s.contains("&lt;b&gt;</text>") && !s.contains("<b>"), "{s}");
        assert!(s.contains("href=\"/search?q=医院&amp;x=1\""), "{s}");
        assert!(s.contains("<title>医院 9</title>"), "{s}");
    }
}
