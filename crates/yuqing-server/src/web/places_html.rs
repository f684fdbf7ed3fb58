//! 地点: where a story's posts are, province (or country) first with its cities, for the story
//! page (routing by place is `yuqing_desk::desk::routing_text`).

use std::collections::{BTreeMap, BTreeSet};

use yuqing_text::places::{Gazetteer, Level, PlaceId};

use maud::{html, Markup};

/// Posts per place, counted once per post at every level (a post naming 江夏区 and 洪山区 counts
/// once for 武汉市 and once for 湖北省).
#[derive(Debug, Default, PartialEq)]
pub struct PlaceCounts {
    /// (place, posts), most first, for provinces and countries.
    pub top: Vec<(PlaceId, u64)>,
    /// For each of those, its prefecture-level places (or a municipality's districts), most first.
    pub below: BTreeMap<PlaceId, Vec<(PlaceId, u64)>>,
}

/// Counts (post, code) pairs as stored.
pub fn count(pairs: &[(i64, u32)]) -> PlaceCounts {
    let g = Gazetteer::builtin();
    let mut seen: BTreeSet<(PlaceId, i64)> = BTreeSet::new();
    for &(post, code) in pairs {
        let Some(id) = g.by_code(code) else { continue };
        for p in g.lineage(id) {
            seen.insert((p, post));
        }
    }
    let mut per: BTreeMap<PlaceId, u64> = BTreeMap::new();
    for (p, _) in &seen {
        *per.entry(*p).or_insert(0) += 1;
    }
    let ranked = |mut v: Vec<(PlaceId, u64)>| {
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let top = ranked(per.iter().filter(|(p, _)| g.place(**p).parent.is_none()).map(|(p, n)| (*p, *n)).collect());
    let mut below: BTreeMap<PlaceId, Vec<(PlaceId, u64)>> = BTreeMap::new();
    for (p, n) in &per {
        let place = g.place(*p);
        if let Some(parent) = place.parent {
            if g.place(parent).parent.is_none() && place.level != Level::Country {
                below.entry(parent).or_default().push((*p, *n));
            }
        }
    }
    let below = below.into_iter().map(|(k, v)| (k, ranked(v))).collect();
    PlaceCounts { top, below }
}

/// "地点：湖北省 120 条（武汉市 100、黄冈市 10）、河南省 20 条、韩国 3 条" — nothing without places.
pub fn story_line(counts: &PlaceCounts) -> Markup {
    let g = Gazetteer::builtin();
    html! {
        @if !counts.top.is_empty() {
            p {
                "地点："
                @for (i, (place, n)) in counts.top.iter().take(8).enumerate() {
                    @if i > 0 { "、" }
                    (g.place(*place).name) " " (n) " 条"
                    @if let Some(below) = counts.below.get(place).filter(|b| !b.is_empty()) {
                        "（"
                        @for (k, (c, m)) in below.iter().take(4).enumerate() {
                            @if k > 0 { "、" }
                            (g.place(*c).name) " " (m)
                        }
                        "）"
                    }
                }
                @if counts.top.len() > 8 { " 等 " (counts.top.len()) " 地" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_post_once_per_level_and_shows_cities_under_provinces() {
        // Post 1 names 江夏区 and 洪山区; post 2 武汉市; post 3 郑州市; post 4 韩国.
        let pairs = [(1, 420115), (1, 420111), (2, 420100), (3, 410100), (4, 1_000_410)];
        let c = count(&pairs);
        let g = Gazetteer::builtin();
        let top: Vec<(String, u64)> = c.top.iter().map(|(p, n)| (g.place(*p).name.clone(), *n)).collect();
        assert_eq!(top, vec![("湖北省".to_string(), 2), ("河南省".to_string(), 1), ("韩国".to_string(), 1)]);
        let line = story_line(&c).into_string();
        assert!(line.contains("湖北省 2 条（武汉市 2）"), "{line}");
        assert!(line.contains("河南省 1 条（郑州市 1）") && line.contains("韩国 1 条"), "{line}");
        assert_eq!(story_line(&count(&[])).into_string(), "");
    }
}
