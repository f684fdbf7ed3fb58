//! Search hit highlighting: finds query words in a text's matching form and marks the same
//! characters in the text users see, in a window around the first hit.
//!
//! Invariant: relies on `normalize`'s char-for-char alignment of display and matching forms.

/// A piece of the display text with the character ranges to highlight.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Snippet {
    /// The excerpt (with "…" where cut).
    pub fragment: String,
    /// Byte ranges within `fragment` that match the query.
    pub ranges: Vec<(usize, usize)>,
}

impl Snippet {
    /// HTML with matches in `<mark>`; everything escaped.
    pub fn to_html(&self) -> String {
        let mut out = String::with_capacity(self.fragment.len() + 16 * self.ranges.len());
        let mut at = 0;
        for &(s, e) in &self.ranges {
            out.push_str(&escape_html(&self.fragment[at..s]));
            out.push_str("<mark>");
            out.push_str(&escape_html(&self.fragment[s..e]));
            out.push_str("</mark>");
            at = e;
        }
        out.push_str(&escape_html(&self.fragment[at..]));
        out
    }

    /// Plain text with matches in 【】, for terminals.
    pub fn to_marked_text(&self) -> String {
        let mut out = String::with_capacity(self.fragment.len() + 6 * self.ranges.len());
        let mut at = 0;
        for &(s, e) in &self.ranges {
            out.push_str(&self.fragment[at..s]);
            out.push('【');
            out.push_str(&self.fragment[s..e]);
            out.push('】');
            at = e;
        }
        out.push_str(&self.fragment[at..]);
        out
    }
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Highlights `terms` (in matching form) in a text given in both forms, keeping at most
/// `max_chars` characters around the first match.
pub fn snippet(display: &str, matching: &str, terms: &[String], max_chars: usize) -> Snippet {
    let m_chars: Vec<char> = matching.chars().collect();
    let d_chars: Vec<(usize, char)> = display.char_indices().collect();
    if m_chars.len() != d_chars.len() {
        // Not aligned (should not happen): highlight in the matching form itself.
        return snippet(matching, matching, terms, max_chars);
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for term in terms {
        let t: Vec<char> = term.chars().collect();
        if t.is_empty() || t.len() > m_chars.len() {
            continue;
        }
        for i in 0..=m_chars.len() - t.len() {
            if m_chars[i..i + t.len()] == t[..] {
                spans.push((i, i + t.len()));
            }
        }
    }
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let n = d_chars.len();
    let first = merged.first().map_or(0, |s| s.0);
    let start = if n <= max_chars { 0 } else { first.saturating_sub(max_chars / 4).min(n - max_chars) };
    let end = (start + max_chars).min(n);
    let byte = |ci: usize| if ci >= n { display.len() } else { d_chars[ci].0 };
    let mut fragment = String::new();
    let prefix = if start > 0 { "…" } else { "" };
    fragment.push_str(prefix);
    fragment.push_str(&display[byte(start)..byte(end)]);
    let base = byte(start);
    let ranges = merged
        .into_iter()
        .filter(|(s, e)| *s >= start && *e <= end)
        .map(|(s, e)| (byte(s) - base + prefix.len(), byte(e) - base + prefix.len()))
        .collect();
    if end < n {
        fragment.push('…');
    }
    Snippet { fragment, ranges }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::normalize;

    #[test]
    fn traditional_text_is_highlighted_for_a_simplified_query() {
        let n = normalize("市醫院今日回應：醫療糾紛已處理");
        let s = snippet(&n.display, &n.matching, &["医院".into(), "纠纷".into()], 100);
        assert_eq!(s.to_marked_text(), "市【醫院】今日回應：醫療【糾紛】已處理");
        assert_eq!(s.to_html(), "市<mark>醫院</mark>今日回應：醫療<mark>糾紛</mark>已處理");
    }

    #[test]
    fn long_text_is_cut_around_the_first_hit() {
        let text = format!("{}关键词{}", "前".repeat(200), "后".repeat(200));
        let n = normalize(&text);
        let s = snippet(&n.display, &n.matching, &["关键词".into()], 40);
        assert!(s.fragment.starts_with('…') && s.fragment.ends_with('…'));
        assert!(s.to_marked_text().contains("【关键词】"));
        assert!(s.fragment.chars().count() <= 42);
    }

    #[test]
    fn html_in_text_is_escaped() {
        let s = snippet("<b>a</b>", "<b>a</b>", &["a".into()], 50);
        assert_eq!(s.to_html(), "&lt;b&gt;<mark>a</mark>&lt;/b&gt;");
    }
}
