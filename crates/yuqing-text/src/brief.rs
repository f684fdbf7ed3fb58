//! 研判摘要 (the brief) of a story, told only with what its stored posts say: two or three
//! sentences extracted from the posts, when and where it was first seen (site and tier — never a
//! person), the places and figures the posts name, sentiment and its trend, the most
//! representative posts (central and provincial media first) and the heat curve in one line.
//!
//! Invariant: pure and deterministic (every tie is broken by post id); nothing is written that no
//! post says — every sentence is a substring of a cited post's [`cleaned`] text and every item
//! carries the ids of the posts it came from; authors are not an input, so they cannot be an
//! output; time is bounded on any input (posts, characters and sentences read are capped).

use std::collections::HashMap;
use std::ops::Range;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use yuqing_core::{HeatBucket, Sentiment, SourceTier};

use crate::dedup::is_alnum;
use crate::segment::{Segmenter, DEFAULT_IDF};
use crate::{hashtag, headline};

/// At most this many posts are read: the first quarter and the last three quarters in time, so the
/// first sighting and the latest turn of a very large story are both in.
pub const MAX_POSTS: usize = 2000;
/// Characters of a post's text read (a pasted book is not a post).
pub const MAX_CHARS_PER_POST: usize = 3000;
/// Sentences read per post and in all.
pub const MAX_SENTENCES_PER_POST: usize = 40;
pub const MAX_SENTENCES: usize = 8000;
/// Posts cited by one item; the rest are counted in `more`.
pub const MAX_CITED: usize = 5;
/// How many sentences tell what happened.
pub const WHAT_SENTENCES: usize = 3;
/// A sentence of the summary has this many characters at least and at most.
const MIN_SENTENCE_CHARS: usize = 10;
const MAX_SENTENCE_CHARS: usize = 120;
/// Sentences sharing this share of the shorter one's words say the same thing (the second is
/// redundant).
const REDUNDANT: f32 = 0.5;
/// Sentences sharing this share of their words are near-identical (both are cited).
const NEAR_IDENTICAL: f32 = 0.8;
const MAX_PLACES: usize = 6;
const MAX_FIGURES: usize = 8;
const MAX_REPRESENTATIVE: usize = 5;
/// Hours before the peak that its growth is measured against.
const HOURS_BEFORE_PEAK: i64 = 3;

/// One post of the story, as the brief reads it. There is no author field on purpose.
#[derive(Debug, Clone, Copy)]
pub struct BriefPost<'a> {
    pub id: i64,
    pub at: DateTime<FixedOffset>,
    /// The site or source name (新浪微博, 人民网 …).
    pub site: &'a str,
    pub tier: SourceTier,
    pub title: &'a str,
    pub text: &'a str,
    pub sentiment: Sentiment,
    /// Polarity in [-1, 1]; lower is more negative.
    pub score: f32,
}

/// The brief of one story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Brief {
    /// Posts given and posts read (fewer when the story is larger than [`MAX_POSTS`]).
    pub posts_total: usize,
    pub posts_read: usize,
    /// What happened: sentences from the posts, in the order they first appeared.
    pub what: Vec<Cited>,
    pub first_seen: Option<FirstSeen>,
    pub places: Vec<Place>,
    pub numbers: Vec<Figure>,
    pub sentiment: Option<SentimentLine>,
    pub representative: Vec<Representative>,
    pub heat: Option<HeatLine>,
}

/// A sentence and the posts that say it (or a near-identical one); the first post is the one
/// whose wording is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cited {
    pub text: String,
    pub posts: Vec<i64>,
    /// Further posts that say it, not listed.
    pub more: usize,
}

/// The first post of the story: when, on which site and tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FirstSeen {
    pub at: DateTime<FixedOffset>,
    pub site: String,
    pub tier: SourceTier,
    pub post: i64,
}

/// A place the posts name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Place {
    pub name: String,
    /// Posts that name it (first [`MAX_CITED`]) and how many do.
    pub posts: Vec<i64>,
    pub count: usize,
}

/// What a quoted figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FigureKind {
    /// 伤亡: dead, injured, missing.
    Casualties,
    /// 病例: confirmed, suspected, cured cases.
    Cases,
    /// 金额.
    Money,
    /// 人数.
    People,
    /// 数量.
    Quantity,
    /// 比例.
    Percent,
}

impl FigureKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            FigureKind::Casualties => "伤亡",
            FigureKind::Cases => "病例",
            FigureKind::Money => "金额",
            FigureKind::People => "人数",
            FigureKind::Quantity => "数量",
            FigureKind::Percent => "比例",
        }
    }
}

/// A figure quoted in the posts, with the clause it stands in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// As written, number and unit: "25.86亿元", "908例".
    pub figure: String,
    pub kind: FigureKind,
    /// The clause of the first post that quotes it (a substring of its cleaned text).
    pub clause: String,
    pub posts: Vec<i64>,
    pub count: usize,
}

/// Which way the negative share went from the first half of the posts to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Trend {
    Rising,
    Falling,
    Steady,
    /// Too few posts to tell.
    Unknown,
}

impl Trend {
    pub fn label_zh(self) -> &'static str {
        match self {
            Trend::Rising => "上升",
            Trend::Falling => "下降",
            Trend::Steady => "基本持平",
            Trend::Unknown => "帖文太少，无法判断",
        }
    }
}

/// Sentiment shares and trend; `posts` are the most negative posts (distinct content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentimentLine {
    pub negative: usize,
    pub neutral: usize,
    pub positive: usize,
    /// Negative share of the earlier and the later half of the posts, in time.
    pub first_half_negative: f32,
    pub second_half_negative: f32,
    pub trend: Trend,
    pub posts: Vec<i64>,
}

/// A representative post: how it reads in one line, and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Representative {
    pub post: i64,
    pub tier: SourceTier,
    pub site: String,
    pub at: DateTime<FixedOffset>,
    pub headline: String,
    /// Posts with the same content.
    pub copies: usize,
}

/// The heat curve in one line: the peak hour, its posts, its growth over the hours before it, and
/// the latest hour; `posts` are posts of the peak hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeatLine {
    pub peak_hour: DateTime<Utc>,
    pub peak_posts: u32,
    /// Mean posts an hour over the (up to three) hours before the peak; `None` when the peak is
    /// the first hour.
    pub before: Option<f32>,
    /// Hours from the first post to the last, and the last hour with its posts.
    pub hours: i64,
    pub last_hour: DateTime<Utc>,
    pub last_posts: u32,
    pub posts: Vec<i64>,
}

fn zh_time(t: DateTime<Utc>, offset: FixedOffset) -> String {
    t.with_timezone(&offset).format("%Y-%m-%d %H:%M").to_string()
}

impl FirstSeen {
    /// "2020-01-31 20:00 首见于新浪微博（社区/自媒体）".
    pub fn describe_zh(&self, offset: FixedOffset) -> String {
        let site = if self.site.trim().is_empty() { "未知来源" } else { self.site.trim() };
        format!("{} 首见于{}（{}）", zh_time(self.at.with_timezone(&Utc), offset), site, self.tier.label_zh())
    }
}

impl SentimentLine {
    /// "负面 30%、中性 60%、正面 10%；负面占比上升（前半 20% → 后半 40%）".
    pub fn describe_zh(&self) -> String {
        let n = (self.negative + self.neutral + self.positive).max(1) as f32;
        let pct = |k: usize| (k as f32 * 100.0 / n).round();
        let mut s =
            format!("负面 {:.0}%、中性 {:.0}%、正面 {:.0}%", pct(self.negative), pct(self.neutral), pct(self.positive));
        match self.trend {
            Trend::Unknown => {}
            t => s.push_str(&format!(
                "；负面占比{}（前半 {:.0}% → 后半 {:.0}%）",
                t.label_zh(),
                self.first_half_negative * 100.0,
                self.second_half_negative * 100.0
            )),
        }
        s
    }
}

impl HeatLine {
    /// "高峰 2020-02-01 17:00 一小时 12 条，为此前 3 小时均值的 6.0 倍；最近一小时（…）3 条".
    pub fn describe_zh(&self, offset: FixedOffset) -> String {
        let mut s = format!("高峰 {} 一小时 {} 条", zh_time(self.peak_hour, offset), self.peak_posts);
        match self.before {
            None => s.push_str("，即首个小时"),
            Some(b) if b <= 0.0 => s.push_str("，此前数小时无帖文（突发）"),
            Some(b) => s.push_str(&format!("，为此前小时均值（{b:.1} 条）的 {:.1} 倍", self.peak_posts as f32 / b)),
        }
        if self.last_hour != self.peak_hour {
            s.push_str(&format!("；最近 {} 一小时 {} 条", zh_time(self.last_hour, offset), self.last_posts));
        }
        s.push_str(&format!("；共跨 {} 小时", self.hours));
        s
    }
}

/// A post's text as the brief quotes it: [`headline::clean`] (no hashtag labels, `@names`, repost
/// chains, links, emoji codes or boilerplate), except that a hashtag standing inside a sentence
/// (`通过#红十字会#向…`) or as a bracketed headline (`【#…#】`) keeps its words.
pub fn cleaned(text: &str) -> String {
    let found = hashtag::find(text);
    if found.is_empty() {
        return headline::clean(text);
    }
    let mut s = String::with_capacity(text.len());
    let mut at = 0;
    for (_, range) in found {
        let before = text[..range.start].chars().next_back();
        let after = text[range.end..].chars().next();
        let inline = before.is_some_and(is_alnum) && after.is_some_and(is_alnum);
        let headline = before == Some('【') && after == Some('】');
        s.push_str(&text[at..range.start]);
        if inline || headline {
            s.push_str(text[range.start + 1..range.end - 1].trim());
        } else {
            s.push_str(&text[range.start..range.end]);
        }
        at = range.end;
    }
    s.push_str(&text[at..]);
    headline::clean(&s)
}

/// Up to `max` characters of `s`.
fn prefix_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A sentence's place in its cleaned text and whether it ends as a sentence does (a terminator or
/// a bracketed headline), as opposed to a fragment cut off by the end of a truncated post.
#[derive(Debug, Clone, PartialEq)]
struct Span {
    range: Range<usize>,
    complete: bool,
    /// A bracketed 【…】 headline: the post's own summary.
    headline: bool,
}

fn is_terminator(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '!' | '?' | '；' | ';' | '\n')
}

/// The sentences of a cleaned text: split at terminators, at `…` and around 【…】 headlines;
/// trimmed of spaces and of leading punctuation; only those with a letter, digit or CJK character.
fn split_sentences(s: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut push = |start: usize, end: usize, complete: bool, headline: bool| {
        let piece = &s[start..end];
        // Each step keeps a suffix (then a prefix) of the piece, so the result is a range of `s`.
        let tail = strip_list_marker(piece.trim_start_matches(|c: char| c.is_whitespace() || is_lead_junk(c)));
        let body = strip_lost_emoji(tail.trim_end()).trim_end();
        let a = start + (piece.len() - tail.len());
        let b = a + body.len();
        if a < b && s[a..b].chars().any(is_alnum) {
            out.push(Span { range: a..b, complete, headline });
        }
    };
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let next = i + c.len_utf8();
        if c == '【' {
            push(start, i, false, false);
            start = next;
        } else if c == '】' {
            push(start, i, true, true);
            start = next;
        } else if is_terminator(c) {
            // A run of terminators (？？？) stays with the sentence it ends.
            if s[next..].chars().next().is_some_and(is_terminator) {
                continue;
            }
            push(start, next, true, false);
            start = next;
        } else if c == '…' {
            if s[next..].starts_with('…') {
                continue;
            }
            push(start, next, false, false);
            start = next;
        }
    }
    push(start, s.len(), false, false);
    out
}

/// `s` without a leading list marker: "2，", "1.", "①", "（三）".
fn strip_list_marker(s: &str) -> &str {
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0 && digits <= 2 {
        let rest = &s[digits..];
        if let Some(c) = rest.chars().next() {
            if matches!(c, '，' | ',' | '、' | '.' | '．' | ')' | '）')
                && !rest[c.len_utf8()..].starts_with(|x: char| x.is_ascii_digit())
            {
                return rest[c.len_utf8()..].trim_start();
            }
        }
    }
    if let Some(c) = s.chars().next() {
        if ('①'..='⑳').contains(&c) {
            return s[c.len_utf8()..].trim_start();
        }
    }
    s
}

/// `s` without a trailing run of `?` that stands for emoji lost in decoding (the run follows a
/// space, or has three or more): "加油 ???" → "加油"; a real question mark stays.
fn strip_lost_emoji(s: &str) -> &str {
    let body = s.trim_end_matches('?');
    let run = s.len() - body.len();
    if run > 0 && (run >= 3 || body.ends_with(char::is_whitespace)) {
        body
    } else {
        s
    }
}

/// Characters a sentence does not start with: separators and closing marks left by a split.
fn is_lead_junk(c: char) -> bool {
    matches!(
        c,
        '，' | ','
            | '、'
            | '：'
            | ':'
            | '。'
            | '.'
            | '；'
            | ';'
            | '）'
            | ')'
            | '」'
            | '》'
            | '】'
            | '-'
            | '—'
            | '|'
            | '~'
            | '*'
            | '…'
            | '?'
            | '？'
            | '!'
            | '！'
    )
}

/// The matching form of a sentence: its letters, digits and CJK characters, lower-cased.
fn key_of(s: &str) -> String {
    // Only ASCII has case among the characters kept that matter here; full Unicode lowering cost a
    // sixth of the brief.
    s.chars().filter(|&c| is_alnum(c)).map(|c| c.to_ascii_lowercase()).collect()
}

/// Place names that name no place in particular.
/// Words jieba tags as places that name no place in particular (or none at all: 东西, 美丽).
const VAGUE_PLACES: &[&str] = &[
    "中国",
    "全国",
    "国内",
    "国外",
    "海外",
    "内地",
    "境外",
    "境内",
    "中华",
    "中华人民共和国",
    "各地",
    "当地",
    "本市",
    "全省",
    "全市",
    "东西",
    "美丽",
    "城市",
    "世界",
    "人间",
    "天下",
    "东方",
    "西方",
    "南方",
    "北方",
    "大陆",
    "祖国",
    "家乡",
    "故乡",
    "山区",
    "农村",
    "城乡",
    "乡村",
    "社区",
    "市区",
    "郊区",
    "全球",
    "国际",
    "地方",
    "外地",
    "异地",
    "老家",
    "一线",
    "前线",
    "后方",
    "大海",
];

/// The form places are merged under: 湖北省 and 湖北 are one place.
fn place_key(name: &str) -> &str {
    for suffix in ["省", "市"] {
        if let Some(stem) = name.strip_suffix(suffix) {
            if stem.chars().count() >= 2 {
                return stem;
            }
        }
    }
    name
}

/// One distinct content: posts whose cleaned title and text are the same.
struct Doc {
    parts: [String; 2],
    /// Indices into the posts read, in time order.
    posts: Vec<usize>,
}

/// What the brief learned of one content: its words (sorted, distinct) and how central it is.
struct DocStats {
    words: Vec<u32>,
    centrality: f32,
}

struct Sent {
    doc: usize,
    part: usize,
    span: Span,
    /// Content words, sorted and distinct.
    words: Vec<u32>,
    chars: usize,
}

/// Shared words of two sorted word lists over all their words.
fn jaccard(a: &[u32], b: &[u32]) -> f32 {
    let both = shared(a, b);
    if both == 0 {
        return 0.0;
    }
    both as f32 / (a.len() + b.len() - both) as f32
}

/// Shared words over the words of the shorter list: a short sentence inside a long one is 1.
fn overlap(a: &[u32], b: &[u32]) -> f32 {
    let both = shared(a, b);
    if both == 0 {
        return 0.0;
    }
    both as f32 / a.len().min(b.len()) as f32
}

fn shared(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both
}

/// The brief of a story from its posts (any order) and its hourly heat.
pub fn brief(seg: &Segmenter, posts: &[BriefPost<'_>], heat: &[HeatBucket]) -> Brief {
    // Posts in time order (ties by id); a very large story is read at both ends.
    let mut order: Vec<&BriefPost<'_>> = posts.iter().collect();
    order.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    let first_seen =
        order.first().map(|p| FirstSeen { at: p.at, site: p.site.trim().to_string(), tier: p.tier, post: p.id });
    if order.len() > MAX_POSTS {
        let head = MAX_POSTS / 4;
        let tail = MAX_POSTS - head;
        let cut = order.len() - tail;
        order.drain(head..cut);
    }
    let read: Vec<BriefPost<'_>> = order.into_iter().copied().collect();
    let n = read.len();

    // Distinct contents, in order of their first post.
    let mut docs: Vec<Doc> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, p) in read.iter().enumerate() {
        let title = cleaned(prefix_chars(p.title, MAX_CHARS_PER_POST));
        let text = cleaned(prefix_chars(p.text, MAX_CHARS_PER_POST));
        let key = format!("{}\u{1}{}", key_of(&title), key_of(&text));
        match by_key.get(&key) {
            Some(&d) => docs[d].posts.push(i),
            None => {
                by_key.insert(key, docs.len());
                docs.push(Doc { parts: [title, text], posts: vec![i] });
            }
        }
    }
    drop(by_key);

    // Sentences, their words and the places and figures in them.
    let mut sents: Vec<Sent> = Vec::new();
    let mut vocab: HashMap<&str, u32, yuqing_core::hashing::Mix> = HashMap::default();
    let mut tagged_at: HashMap<&str, usize> = HashMap::new();
    let mut tagged: Vec<(Vec<u32>, Vec<&str>)> = Vec::new();
    let mut words: Vec<&str> = Vec::new();
    let mut places: HashMap<&str, (Vec<usize>, HashMap<&str, usize>)> = HashMap::new();
    let mut figures: HashMap<String, FigureAcc> = HashMap::new();
    let mut doc_words: Vec<Vec<u32>> = vec![Vec::new(); docs.len()];
    'docs: for (d, doc) in docs.iter().enumerate() {
        let mut doc_places: Vec<&str> = Vec::new();
        let mut per_post = 0;
        for part in 0..2 {
            let s = doc.parts[part].as_str();
            for span in split_sentences(s) {
                if per_post >= MAX_SENTENCES_PER_POST {
                    break;
                }
                if sents.len() >= MAX_SENTENCES {
                    break 'docs;
                }
                per_post += 1;
                let text = &s[span.range.clone()];
                // A sentence repeated in another content (a repost with a line changed) is cut once.
                let k = match tagged_at.get(text) {
                    Some(&k) => k,
                    None => {
                        let mut ws: Vec<u32> = Vec::new();
                        let mut ps: Vec<&str> = Vec::new();
                        for (w, tag) in seg.tag(text) {
                            if !crate::segment::is_word(w) {
                                continue;
                            }
                            let chars = w.chars().count();
                            if tag == "ns" && chars >= 2 && !VAGUE_PLACES.contains(&w) {
                                ps.push(w);
                            }
                            if chars < 2 {
                                continue;
                            }
                            let id = *vocab.entry(w).or_insert_with(|| {
                                words.push(w);
                                (words.len() - 1) as u32
                            });
                            ws.push(id);
                        }
                        ws.sort_unstable();
                        ws.dedup();
                        tagged_at.insert(text, tagged.len());
                        tagged.push((ws, ps));
                        tagged.len() - 1
                    }
                };
                let ws = tagged[k].0.clone();
                doc_places.extend_from_slice(&tagged[k].1);
                doc_words[d].extend_from_slice(&ws);
                for (figure, kind, clause) in find_figures(text) {
                    let acc = figures.entry(figure).or_insert_with(|| FigureAcc {
                        kind,
                        clause: clause.to_string(),
                        first: doc.posts[0],
                        posts: Vec::new(),
                    });
                    acc.posts.extend_from_slice(&doc.posts);
                }
                sents.push(Sent { doc: d, part, chars: text.chars().count(), span, words: ws });
            }
        }
        doc_places.sort_unstable();
        doc_places.dedup();
        for name in doc_places {
            let e = places.entry(place_key(name)).or_default();
            e.0.extend_from_slice(&doc.posts);
            *e.1.entry(name).or_default() += doc.posts.len();
        }
    }
    for ws in doc_words.iter_mut() {
        ws.sort_unstable();
        ws.dedup();
    }

    // In-story document frequency (posts, copies included) and a weight that lowers common words.
    let mut df = vec![0u32; words.len()];
    for (doc, ws) in docs.iter().zip(&doc_words) {
        for &w in ws {
            df[w as usize] += doc.posts.len() as u32;
        }
    }
    let weight: Vec<f32> = words
        .iter()
        .zip(&df)
        .map(|(w, &f)| (f as f32 / n.max(1) as f32) * (seg.idf(w) / DEFAULT_IDF).clamp(0.1, 1.0))
        .collect();
    let centrality = |ws: &[u32]| -> f32 {
        if ws.is_empty() {
            return 0.0;
        }
        ws.iter().map(|&w| weight[w as usize]).sum::<f32>() / (ws.len() as f32).sqrt()
    };
    let stats: Vec<DocStats> =
        doc_words.into_iter().map(|words| DocStats { centrality: centrality(&words), words }).collect();

    let what = pick_what(&docs, &sents, &read, &weight);
    Brief {
        posts_total: posts.len(),
        posts_read: n,
        what,
        first_seen,
        places: pick_places(places, &read),
        numbers: pick_figures(figures, &read),
        sentiment: sentiment_line(&docs, &read),
        representative: pick_representative(&docs, &stats, &read),
        heat: heat_line(heat, &read),
    }
}

/// Cited posts: `first` (whose wording is shown), then the rest by tier (highest first), time and
/// id; at most [`MAX_CITED`], and how many more there are.
fn cite(read: &[BriefPost<'_>], first: Option<usize>, mut others: Vec<usize>) -> (Vec<i64>, usize) {
    others.sort_unstable();
    others.dedup();
    if let Some(f) = first {
        others.retain(|&i| i != f);
    }
    others.sort_by(|&a, &b| {
        read[b].tier.cmp(&read[a].tier).then(read[a].at.cmp(&read[b].at)).then(read[a].id.cmp(&read[b].id))
    });
    let total = others.len() + usize::from(first.is_some());
    let ids: Vec<i64> = first.into_iter().chain(others).take(MAX_CITED).map(|i| read[i].id).collect();
    let more = total - ids.len();
    (ids, more)
}

fn pick_what(docs: &[Doc], sents: &[Sent], read: &[BriefPost<'_>], weight: &[f32]) -> Vec<Cited> {
    let text_of = |s: &Sent| &docs[s.doc].parts[s.part][s.span.range.clone()];
    // Identical sentences (same matching form) are one; the first seen keeps its wording.
    let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, s) in sents.iter().enumerate() {
        let key = key_of(text_of(s));
        match by_key.get(&key) {
            Some(&g) => groups[g].1.push(s.doc),
            None => {
                by_key.insert(key, groups.len());
                groups.push((i, vec![s.doc]));
            }
        }
    }
    let support = |g: &(usize, Vec<usize>)| g.1.iter().map(|&d| docs[d].posts.len()).sum::<usize>();
    // How central a sentence is: the in-story frequency of its words, over a power of its length
    // below one (a longer sentence may say more, not everything); more for a sentence many posts
    // say, for a post's own 【…】 headline, and less past 80 characters (a summary is short).
    let score = |g: &(usize, Vec<usize>)| -> f32 {
        let s = &sents[g.0];
        let sum: f32 = s.words.iter().map(|&w| weight[w as usize]).sum();
        let mut v = sum / (s.words.len().max(1) as f32).powf(0.75) * (1.0 + 0.25 * (support(g) as f32).ln());
        if s.span.headline {
            v *= 1.2;
        }
        if s.chars > 80 {
            v *= 80.0 / s.chars as f32;
        }
        v
    };
    let candidates = |complete_only: bool| -> Vec<(usize, f32)> {
        groups
            .iter()
            .enumerate()
            .filter(|(_, g)| {
                let s = &sents[g.0];
                (s.span.complete || !complete_only)
                    && (MIN_SENTENCE_CHARS..=MAX_SENTENCE_CHARS).contains(&s.chars)
                    && s.words.len() >= 3
            })
            .map(|(k, g)| (k, score(g)))
            .collect()
    };
    let mut cands = candidates(true);
    if cands.len() < 2 {
        cands = candidates(false);
    }
    // Best first; ties by the first post's time and id.
    let first_post = |k: usize| docs[sents[groups[k].0].doc].posts[0];
    cands.sort_by(|a, b| b.1.total_cmp(&a.1).then(first_post(a.0).cmp(&first_post(b.0))).then(a.0.cmp(&b.0)));
    // Greedy, best first, skipping what an earlier pick already says; one sentence per post in a
    // first pass (a long press release should not tell the whole story alone), more if too few.
    let mut picked: Vec<usize> = Vec::new();
    for one_per_post in [true, false] {
        for &(k, _) in &cands {
            if picked.len() == WHAT_SENTENCES {
                break;
            }
            let s = &sents[groups[k].0];
            if picked.contains(&k)
                || (one_per_post && picked.iter().any(|&p| sents[groups[p].0].doc == s.doc))
                || picked.iter().any(|&p| overlap(&sents[groups[p].0].words, &s.words) >= REDUNDANT)
            {
                continue;
            }
            picked.push(k);
        }
        if picked.len() >= 2 {
            break;
        }
    }
    // Told in the order they first appeared.
    picked.sort_by_key(|&k| (first_post(k), k));
    picked
        .into_iter()
        .map(|k| {
            let s = &sents[groups[k].0];
            let origin = docs[s.doc].posts[0];
            let mut others: Vec<usize> = Vec::new();
            for g in &groups {
                let t = &sents[g.0];
                if std::ptr::eq(g, &groups[k]) || jaccard(&t.words, &s.words) >= NEAR_IDENTICAL {
                    for &d in &g.1 {
                        others.extend_from_slice(&docs[d].posts);
                    }
                }
            }
            let (posts, more) = cite(read, Some(origin), others);
            Cited { text: text_of(s).to_string(), posts, more }
        })
        .collect()
}

fn pick_places(places: HashMap<&str, (Vec<usize>, HashMap<&str, usize>)>, read: &[BriefPost<'_>]) -> Vec<Place> {
    let mut out: Vec<(usize, usize, Place)> = places
        .into_values()
        .map(|(mut posts, forms)| {
            posts.sort_unstable();
            posts.dedup();
            // The form most posts use; ties by the longer, then by the text.
            let name = forms
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(a.0.chars().count().cmp(&b.0.chars().count())).then(b.0.cmp(a.0)))
                .map(|(n, _)| n.to_string())
                .unwrap_or_default();
            let first = posts[0];
            let count = posts.len();
            let (ids, _) = cite(read, None, posts);
            (count, first, Place { name, posts: ids, count })
        })
        .collect();
    out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.name.cmp(&b.2.name)));
    // In a story of some size, a place one post names is as likely the tagger's mistake (森根比亚 →
    // 比亚) as the matter's place.
    let min_posts = if read.len() >= 10 { 2 } else { 1 };
    out.into_iter().filter(|p| p.0 >= min_posts).take(MAX_PLACES).map(|(_, _, p)| p).collect()
}

struct FigureAcc {
    kind: FigureKind,
    clause: String,
    first: usize,
    posts: Vec<usize>,
}

fn pick_figures(figures: HashMap<String, FigureAcc>, read: &[BriefPost<'_>]) -> Vec<Figure> {
    let mut out: Vec<(usize, Figure)> = figures
        .into_iter()
        .map(|(figure, mut acc)| {
            acc.posts.sort_unstable();
            acc.posts.dedup();
            let count = acc.posts.len();
            let (ids, _) = cite(read, Some(acc.first), acc.posts);
            (acc.first, Figure { figure, kind: acc.kind, clause: acc.clause, posts: ids, count })
        })
        .collect();
    out.sort_by(|a, b| {
        a.1.kind.cmp(&b.1.kind).then(b.1.count.cmp(&a.1.count)).then(a.0.cmp(&b.0)).then(a.1.figure.cmp(&b.1.figure))
    });
    out.into_iter().take(MAX_FIGURES).map(|(_, f)| f).collect()
}

/// Units a figure is counted in, longest first where one is the start of another.
const UNITS: &[&str] = &[
    "万元", "亿元", "千元", "美元", "元", "人次", "例", "人", "名", "起", "吨", "%", "％", "个", "只", "箱", "套",
    "件", "家", "辆", "户", "所", "张", "床", "台", "公斤", "千克", "斤", "剂", "份", "批", "笔", "架", "艘", "头",
    "栋", "座",
];
const CASUALTY_WORDS: &[&str] = &["死亡", "遇难", "身亡", "去世", "罹难", "受伤", "伤亡", "失踪", "殉职", "牺牲", "死"];
const CASE_WORDS: &[&str] = &["确诊", "感染", "病例", "疑似", "治愈", "出院", "重症", "隔离"];
const MONEY_WORDS: &[&str] = &["捐", "款", "资金", "元", "金额", "经费", "投入"];

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn is_clause_end(c: char) -> bool {
    matches!(c, '，' | ',' | '；' | ';' | '：' | ':' | '。' | '！' | '？' | '!' | '?' | '、' | '\n')
}

/// The figures of a sentence: a number (digits, a decimal point, thousands commas), an optional
/// 万/亿/千 with 多/余, and a unit; dates and times are not figures. Each with its kind and the
/// clause it stands in (at most about 60 characters around it).
fn find_figures(s: &str) -> Vec<(String, FigureKind, &str)> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        let after_word =
            i > 0 && (chars[i - 1].1.is_ascii_alphanumeric() || is_digit(chars[i - 1].1) || chars[i - 1].1 == '.');
        if !is_digit(c) || after_word {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i;
        while j < chars.len()
            && (is_digit(chars[j].1)
                || (matches!(chars[j].1, '.' | ',' | '．') && chars.get(j + 1).is_some_and(|x| is_digit(x.1))))
        {
            j += 1;
        }
        let mut multiplied = false;
        if j < chars.len() && matches!(chars[j].1, '万' | '亿' | '千') {
            j += 1;
            multiplied = true;
            if j < chars.len() && matches!(chars[j].1, '万' | '亿') {
                j += 1;
            }
        }
        if j < chars.len() && matches!(chars[j].1, '多' | '余') {
            j += 1;
        }
        let at = chars.get(j).map_or(s.len(), |x| x.0);
        let rest = &s[at..];
        let unit = UNITS.iter().find(|u| rest.starts_with(**u));
        let end_byte = at + unit.map_or(0, |u| u.len());
        if unit.is_none() && !multiplied {
            i = j.max(i + 1);
            continue;
        }
        // The clause around it.
        let mut a = start;
        while a > 0 && !is_clause_end(chars[a - 1].1) {
            a -= 1;
        }
        let mut b = j;
        while b < chars.len() && !is_clause_end(chars[b].1) {
            b += 1;
        }
        let (a, b) = (a.max(start.saturating_sub(30)), b.min(j + 30));
        let clause_start = chars[a].0;
        let clause_end = chars.get(b).map_or(s.len(), |x| x.0);
        let clause = s[clause_start..clause_end].trim();
        let figure = &s[chars[start].0..end_byte];
        let has = |list: &[&str]| list.iter().any(|w| clause.contains(w));
        let kind = match unit.copied() {
            Some("%") | Some("％") => FigureKind::Percent,
            Some(u) if u.ends_with('元') => FigureKind::Money,
            Some("例") | Some("人") | Some("名") | Some("人次") => {
                if has(CASUALTY_WORDS) {
                    FigureKind::Casualties
                } else if has(CASE_WORDS) || unit == Some(&"例") {
                    FigureKind::Cases
                } else {
                    FigureKind::People
                }
            }
            None if has(MONEY_WORDS) || MONEY_WORDS.iter().any(|w| s.contains(w)) => FigureKind::Money,
            _ => FigureKind::Quantity,
        };
        out.push((figure.to_string(), kind, clause));
        i = j.max(i + 1);
    }
    out
}

fn sentiment_line(docs: &[Doc], read: &[BriefPost<'_>]) -> Option<SentimentLine> {
    let n = read.len();
    if n == 0 {
        return None;
    }
    let count = |ps: &[BriefPost<'_>], s: Sentiment| ps.iter().filter(|p| p.sentiment == s).count();
    let half = n / 2;
    let share = |ps: &[BriefPost<'_>]| {
        if ps.is_empty() {
            0.0
        } else {
            count(ps, Sentiment::Negative) as f32 / ps.len() as f32
        }
    };
    let (first, second) = (share(&read[..half]), share(&read[half..]));
    let trend = if n < 4 {
        Trend::Unknown
    } else if second - first >= 0.1 {
        Trend::Rising
    } else if first - second >= 0.1 {
        Trend::Falling
    } else {
        Trend::Steady
    };
    // The most negative post of each content, most negative first.
    let mut neg: Vec<usize> = docs
        .iter()
        .filter_map(|d| {
            d.posts
                .iter()
                .copied()
                .filter(|&i| read[i].sentiment == Sentiment::Negative)
                .min_by(|&a, &b| read[a].score.total_cmp(&read[b].score).then(read[a].id.cmp(&read[b].id)))
        })
        .collect();
    neg.sort_by(|&a, &b| read[a].score.total_cmp(&read[b].score).then(read[a].id.cmp(&read[b].id)));
    Some(SentimentLine {
        negative: count(read, Sentiment::Negative),
        neutral: count(read, Sentiment::Neutral),
        positive: count(read, Sentiment::Positive),
        first_half_negative: first,
        second_half_negative: second,
        trend,
        posts: neg.into_iter().take(3).map(|i| read[i].id).collect(),
    })
}

fn pick_representative(docs: &[Doc], stats: &[DocStats], read: &[BriefPost<'_>]) -> Vec<Representative> {
    let mut ranked: Vec<(usize, usize, f32)> = docs
        .iter()
        .enumerate()
        .filter_map(|(d, doc)| {
            // The content's voice: its highest-tier post, earliest first.
            let best = doc.posts.iter().copied().min_by(|&a, &b| {
                read[b].tier.cmp(&read[a].tier).then(read[a].at.cmp(&read[b].at)).then(read[a].id.cmp(&read[b].id))
            })?;
            let score = stats[d].centrality * (1.0 + 0.25 * (doc.posts.len() as f32).ln());
            (!stats[d].words.is_empty()).then_some((d, best, score))
        })
        .collect();
    ranked.sort_by(|a, b| {
        read[b.1].tier.cmp(&read[a.1].tier).then(b.2.total_cmp(&a.2)).then(read[a.1].id.cmp(&read[b.1].id))
    });
    // One post per matter said: no second post with the same headline or nearly the same words.
    let mut out: Vec<Representative> = Vec::new();
    let mut taken: Vec<(String, usize)> = Vec::new();
    for (d, best, _) in ranked {
        let Some(headline) = headline::of_post(&docs[d].parts[0], &docs[d].parts[1]) else { continue };
        let key = key_of(&headline);
        if taken.iter().any(|(k, t)| *k == key || jaccard(&stats[*t].words, &stats[d].words) >= 0.6) {
            continue;
        }
        let p = &read[best];
        out.push(Representative {
            post: p.id,
            tier: p.tier,
            site: p.site.trim().to_string(),
            at: p.at,
            headline,
            copies: docs[d].posts.len(),
        });
        taken.push((key, d));
        if out.len() == MAX_REPRESENTATIVE {
            break;
        }
    }
    out
}

fn hour_of(t: DateTime<FixedOffset>) -> DateTime<Utc> {
    let u = t.with_timezone(&Utc);
    u - Duration::seconds(u.timestamp().rem_euclid(3600))
}

fn heat_line(heat: &[HeatBucket], read: &[BriefPost<'_>]) -> Option<HeatLine> {
    let mut buckets: Vec<&HeatBucket> = heat.iter().collect();
    buckets.sort_by_key(|b| b.hour);
    let first = buckets.first()?;
    let last = buckets.last()?;
    let peak = buckets.iter().max_by(|a, b| a.posts.cmp(&b.posts).then(b.hour.cmp(&a.hour)))?;
    let by_hour: HashMap<DateTime<Utc>, u32> = buckets.iter().map(|b| (b.hour, b.posts)).collect();
    let hours_before = ((peak.hour - first.hour).num_hours()).min(HOURS_BEFORE_PEAK);
    let before = (hours_before > 0).then(|| {
        (1..=hours_before).map(|k| by_hour.get(&(peak.hour - Duration::hours(k))).copied().unwrap_or(0)).sum::<u32>()
            as f32
            / hours_before as f32
    });
    let in_peak: Vec<usize> = (0..read.len()).filter(|&i| hour_of(read[i].at) == peak.hour).collect();
    let (posts, _) = cite(read, None, in_peak);
    Some(HeatLine {
        peak_hour: peak.hour,
        peak_posts: peak.posts,
        before,
        hours: (last.hour - first.hour).num_hours() + 1,
        last_hour: last.hour,
        last_posts: last.posts,
        posts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::sync::OnceLock;

    fn seg() -> &'static Segmenter {
        static SEG: OnceLock<Segmenter> = OnceLock::new();
        SEG.get_or_init(Segmenter::default)
    }

    /// A fixture's posts, owned: (id, time, source, text, author).
    struct Fixture {
        rows: Vec<(i64, DateTime<FixedOffset>, String, String, String)>,
    }

    fn fixture(jsonl: &str) -> Fixture {
        let rows = jsonl
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
            .map(|(i, l)| {
                let v: serde_json::Value = serde_json::from_str(l).expect("fixture line is JSON");
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                let at = DateTime::parse_from_rfc3339(&s("published_at")).expect("fixture time");
                (i as i64 + 1, at, s("source"), s("text"), s("author"))
            })
            .collect();
        Fixture { rows }
    }

    impl Fixture {
        fn posts(&self) -> Vec<BriefPost<'_>> {
            self.rows
                .iter()
                .map(|(id, at, source, text, _)| BriefPost {
                    id: *id,
                    at: *at,
                    site: source,
                    tier: SourceTier::Community,
                    title: "",
                    text,
                    sentiment: if text.contains("质疑") || text.contains("死亡") {
                        Sentiment::Negative
                    } else {
                        Sentiment::Neutral
                    },
                    score: if text.contains("质疑") { -0.8 } else { 0.0 },
                })
                .collect()
        }
        fn text(&self, id: i64) -> &str {
            &self.rows[(id - 1) as usize].3
        }
    }

    fn heat_of(posts: &[BriefPost<'_>]) -> Vec<HeatBucket> {
        let mut m: std::collections::BTreeMap<DateTime<Utc>, u32> = Default::default();
        for p in posts {
            *m.entry(hour_of(p.at)).or_default() += 1;
        }
        m.into_iter()
            .map(|(hour, posts)| HeatBucket {
                hour,
                posts,
                sites: 1,
                max_tier: SourceTier::Community,
                interactions: 0,
                negative: 0,
            })
            .collect()
    }

    const REDCROSS: &str = include_str!("../testdata/brief-redcross.jsonl");
    const CASES: &str = include_str!("../testdata/brief-cases.jsonl");

    fn all_ids(b: &Brief) -> Vec<i64> {
        let mut ids: Vec<i64> = b.what.iter().flat_map(|c| c.posts.clone()).collect();
        ids.extend(b.places.iter().flat_map(|p| p.posts.clone()));
        ids.extend(b.numbers.iter().flat_map(|f| f.posts.clone()));
        ids.extend(b.representative.iter().map(|r| r.post));
        ids.extend(b.sentiment.iter().flat_map(|s| s.posts.clone()));
        ids.extend(b.heat.iter().flat_map(|h| h.posts.clone()));
        ids.extend(b.first_seen.iter().map(|f| f.post));
        ids
    }

    #[test]
    fn every_sentence_is_said_by_the_first_post_it_cites() {
        for data in [REDCROSS, CASES] {
            let f = fixture(data);
            let posts = f.posts();
            let b = brief(seg(), &posts, &heat_of(&posts));
            assert!((2..=3).contains(&b.what.len()), "{:#?}", b.what);
            for c in &b.what {
                assert!(!c.posts.is_empty() && c.posts.len() <= MAX_CITED);
                assert!(cleaned(f.text(c.posts[0])).contains(&c.text), "{:?} not in post {}", c.text, c.posts[0]);
                // Every cited post says it or a near-identical sentence: its words are in the post.
                for &id in &c.posts {
                    let key = key_of(&cleaned(f.text(id)));
                    let mine = key_of(&c.text);
                    let shared = mine.chars().filter(|ch| key.contains(*ch)).count();
                    assert!(shared * 10 >= mine.chars().count() * 8, "post {id} does not say {:?}", c.text);
                }
            }
            for id in all_ids(&b) {
                assert!((1..=posts.len() as i64).contains(&id), "cited id {id} is not a post");
            }
        }
    }

    #[test]
    fn the_redcross_story_reads_as_the_matter_with_places_and_figures() {
        let f = fixture(REDCROSS);
        let posts = f.posts();
        let b = brief(seg(), &posts, &heat_of(&posts));
        let what: String = b.what.iter().map(|c| c.text.as_str()).collect();
        assert!(what.contains("红十字会") || what.contains("红会"), "{what}");
        let names: Vec<&str> = b.places.iter().map(|p| p.name.as_str()).collect();
        assert!(names.contains(&"武汉") || names.contains(&"武汉市"), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("湖北")), "{names:?}");
        let figs: Vec<&str> = b.numbers.iter().map(|n| n.figure.as_str()).collect();
        assert!(figs.contains(&"25.86亿元"), "{figs:?}");
        let money = b.numbers.iter().find(|n| n.figure == "25.86亿元").expect("found");
        assert_eq!(money.kind, FigureKind::Money);
        assert!(money.clause.contains("25.86亿元") && money.count >= 2);
        for n in &b.numbers {
            assert!(n.posts.iter().any(|&id| cleaned(f.text(id)).contains(&n.clause)), "{n:?}");
        }
        let first = b.first_seen.as_ref().expect("first seen");
        assert_eq!((first.post, first.site.as_str(), first.tier), (1, "新浪微博", SourceTier::Community));
        let heat = b.heat.as_ref().expect("heat");
        assert!(heat.peak_posts >= 2 && !heat.posts.is_empty());
        assert!(!b.representative.is_empty() && b.representative.len() <= MAX_REPRESENTATIVE);
    }

    #[test]
    fn casualties_come_first_among_the_figures() {
        let f = fixture(CASES);
        let posts = f.posts();
        let b = brief(seg(), &posts, &heat_of(&posts));
        let dead = b.numbers.iter().find(|n| n.figure == "908例").expect("908例 found");
        assert_eq!(dead.kind, FigureKind::Casualties);
        assert_eq!(b.numbers[0].kind, FigureKind::Casualties, "{:?}", b.numbers);
        assert!(b.numbers.iter().all(|n| !n.figure.ends_with('日') && !n.figure.ends_with('时')));
    }

    #[test]
    fn no_author_appears_anywhere_in_the_brief() {
        for data in [REDCROSS, CASES] {
            let f = fixture(data);
            let posts = f.posts();
            let b = brief(seg(), &posts, &heat_of(&posts));
            let json = serde_json::to_string(&b).expect("serializes");
            for (_, _, _, _, author) in &f.rows {
                assert!(!json.contains(author.as_str()), "author {author} in the brief");
            }
            // Nor a mention: @names are cleaned away.
            for c in &b.what {
                assert!(!c.text.contains('@'), "{}", c.text);
            }
        }
    }

    #[test]
    fn the_brief_does_not_depend_on_the_order_of_the_posts() {
        let f = fixture(REDCROSS);
        let posts = f.posts();
        let heat = heat_of(&posts);
        let a = brief(seg(), &posts, &heat);
        let mut reversed = posts.clone();
        reversed.reverse();
        let mut hr = heat.clone();
        hr.reverse();
        let b = brief(seg(), &reversed, &hr);
        assert_eq!(a, b);
        assert_eq!(a, brief(seg(), &posts, &heat));
    }

    #[test]
    fn inline_hashtags_keep_their_words_and_label_hashtags_go() {
        assert_eq!(
            cleaned("#红十字会#【杭州红十字会公布明细】通过#红十字会#向医院捐赠"),
            "【杭州红十字会公布明细】通过红十字会向医院捐赠"
        );
        assert_eq!(cleaned("【#武汉红十字会存在调拨不及时问题#】李强说"), "【武汉红十字会存在调拨不及时问题】李强说");
        assert_eq!(cleaned("转发 @人民日报 看看O网页链接//@某人:原文"), "转发 看看");
    }

    #[test]
    fn sentences_split_at_terminators_and_headlines() {
        let s = "【标题一句话】第一句。第二句！？ 第三句没有结尾";
        let parts: Vec<(&str, bool)> = split_sentences(s).iter().map(|p| (&s[p.range.clone()], p.complete)).collect();
        assert_eq!(
            parts,
            vec![("标题一句话", true), ("第一句。", true), ("第二句！？", true), ("第三句没有结尾", false)]
        );
    }

    #[test]
    fn figures_have_units_and_dates_are_not_figures() {
        let f = |s: &str| find_figures(s).into_iter().map(|(f, k, _)| (f, k)).collect::<Vec<_>>();
        assert_eq!(
            f("截至2月9日24时，累计死亡908例，治愈3281例"),
            vec![("908例".to_string(), FigureKind::Casualties), ("3281例".to_string(), FigureKind::Cases)]
        );
        assert_eq!(
            f("收到捐款近4亿，拨付5000万"),
            vec![("4亿".to_string(), FigureKind::Money), ("5000万".to_string(), FigureKind::Money)]
        );
        assert_eq!(
            f("口罩9316箱，占比17.8%"),
            vec![("9316箱".to_string(), FigureKind::Quantity), ("17.8%".to_string(), FigureKind::Percent)]
        );
        assert!(f("2020年1月25日20时许，编号A123").is_empty());
    }

    #[test]
    fn heat_line_names_the_peak_and_its_growth() {
        let h = |hour: u32, posts: u32| HeatBucket {
            hour: Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0).unwrap(),
            posts,
            sites: 1,
            max_tier: SourceTier::Community,
            interactions: 0,
            negative: 0,
        };
        let line = heat_line(&[h(1, 1), h(3, 2), h(4, 12), h(6, 3)], &[]).expect("line");
        assert_eq!(line.peak_posts, 12);
        assert_eq!(line.before, Some(1.0));
        assert_eq!(line.hours, 6);
        let text = line.describe_zh(FixedOffset::east_opt(8 * 3600).unwrap());
        assert!(text.contains("2026-01-01 12:00") && text.contains("12.0 倍"), "{text}");
        assert!(heat_line(&[], &[]).is_none());
    }

    #[test]
    fn an_empty_or_hostile_story_gives_a_bounded_brief() {
        assert_eq!(brief(seg(), &[], &[]).what, vec![]);
        let huge = "这是一句很长的话，没有终点，".repeat(20_000) + &"。".repeat(50_000) + &"123456789".repeat(1000);
        let at = FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap();
        let posts: Vec<BriefPost<'_>> = (0..3000)
            .map(|i| BriefPost {
                id: i,
                at,
                site: "论坛",
                tier: SourceTier::Community,
                title: "",
                text: &huge,
                sentiment: Sentiment::Neutral,
                score: 0.0,
            })
            .collect();
        let started = std::time::Instant::now();
        let b = brief(seg(), &posts, &[]);
        assert_eq!((b.posts_total, b.posts_read), (3000, MAX_POSTS));
        // Not a timing test: a generous bound that only an unbounded loop would miss.
        assert!(started.elapsed() < std::time::Duration::from_secs(60));
    }
}
