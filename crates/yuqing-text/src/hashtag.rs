//! Weibo-style hashtags (话题标签) `#…#`: the platform's own name for a matter.
//!
//! Invariant: pure; a hashtag is text between two `#` on one line, 1 to [`MAX_TAG_CHARS`]
//! characters, not only spaces.

/// Longer runs between two `#` are not a hashtag (two stray signs around a sentence).
pub const MAX_TAG_CHARS: usize = 40;

/// Every hashtag `#…#` of `text` with the byte range it occupies, in order; a repeat of an earlier
/// tag comes with an empty name (its range still counts, for stripping).
pub fn find(text: &str) -> Vec<(String, std::ops::Range<usize>)> {
    let mut out: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let mut from = 0;
    while let Some(rel) = text[from..].find('#') {
        let start = from + rel;
        let after = start + 1;
        match text[after..].find('#') {
            Some(len) => {
                let inner = &text[after..after + len];
                let tag = inner.trim();
                if !tag.is_empty() && !inner.contains('\n') && inner.chars().count() <= MAX_TAG_CHARS {
                    if !out.iter().any(|(t, _)| t == tag) {
                        out.push((tag.to_string(), start..after + len + 1));
                    } else {
                        out.push((String::new(), start..after + len + 1));
                    }
                    from = after + len + 1;
                } else {
                    // Not a hashtag: the closing sign may open the next one.
                    from = after + len;
                }
            }
            None => break,
        }
    }
    out
}

/// The distinct hashtags of `text`, in order of first appearance.
pub fn tags(text: &str) -> Vec<String> {
    find(text).into_iter().map(|(t, _)| t).filter(|t| !t.is_empty()).collect()
}

/// `text` with every hashtag replaced by a space, and its distinct hashtags sorted.
pub fn split(text: &str) -> (Vec<String>, String) {
    let found = find(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (_, range) in &found {
        out.push_str(&text[at..range.start]);
        out.push(' ');
        at = range.end;
    }
    out.push_str(&text[at..]);
    let mut tags: Vec<String> = found.into_iter().map(|(t, _)| t).filter(|t| !t.is_empty()).collect();
    tags.sort();
    tags.dedup();
    (tags, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_found_and_stripped() {
        let (tags, text) = split("#双黄连可抑制新型冠状病毒#板蓝根说 #口罩# 完");
        assert_eq!(tags, vec!["双黄连可抑制新型冠状病毒".to_string(), "口罩".to_string()]);
        assert!(!text.contains('#') && text.contains("板蓝根说"));
        let (tags, text) = split("只有一个#号");
        assert!(tags.is_empty());
        assert_eq!(text, "只有一个#号");
    }

    #[test]
    fn order_of_first_appearance_and_each_once() {
        assert_eq!(tags("#乙# 文 #甲# 又 #乙#"), vec!["乙".to_string(), "甲".to_string()]);
    }

    #[test]
    fn stray_signs_and_long_runs_are_not_hashtags() {
        assert!(tags("# #").is_empty());
        let long = format!("#{}#", "长".repeat(MAX_TAG_CHARS + 1));
        assert!(tags(&long).is_empty());
        assert!(tags("第一行#\n第二行#").is_empty());
        // The closing sign of a run that is not a tag may open the next one.
        assert_eq!(tags(&format!("#{}#话题#", "长".repeat(MAX_TAG_CHARS + 1))), vec!["话题".to_string()]);
    }
}
