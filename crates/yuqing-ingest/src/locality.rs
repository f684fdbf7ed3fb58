//! 属地: which places a post names and whether it is about the organization's own jurisdiction —
//! the gazetteer's places (yuqing_text::places) read against `[organization] jurisdiction`, and
//! the organization's and its departments' names.

use aho_corasick::{AhoCorasick, MatchKind};
use chrono::{DateTime, Utc};
use yuqing_store::places::PostPlace;
use yuqing_text::places::{Gazetteer, PlaceId};

use crate::config::Config;
use yuqing_store::DataDir;

/// What one post says about where it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PostPlaces {
    /// GB/T 2260 codes (countries: `COUNTRY_BASE` + ISO numeric) of the most specific places it names.
    pub codes: Vec<u32>,
    /// Those inside the jurisdiction, named from the jurisdiction down (武汉市江夏区).
    pub local: Vec<String>,
    /// Those outside, by province or country (河南省, 韩国); a place that contains the
    /// jurisdiction (湖北省 for 武汉市) is outside too.
    pub other: Vec<String>,
    /// It names the organization, an alias or a department.
    pub names_us: bool,
}

/// Finds a post's places and reads them against the jurisdiction.
#[derive(Debug)]
pub struct Locator {
    gazetteer: &'static Gazetteer,
    jurisdiction: Vec<PlaceId>,
    /// The jurisdiction's names, full and short, that may precede a relative name (武汉 + 市红十字会).
    prefixes: Vec<String>,
    /// Organization name, aliases, department names.
    ours: Option<AhoCorasick>,
    ours_names: Vec<String>,
}

impl Locator {
    pub fn new(config: &Config) -> Locator {
        let gazetteer = Gazetteer::builtin();
        let jurisdiction = config.jurisdiction.clone();
        let mut prefixes: Vec<String> = Vec::new();
        for p in &jurisdiction {
            let place = gazetteer.place(*p);
            prefixes.push(place.name.clone());
            prefixes.push(place.short.clone());
        }
        let mut names: Vec<String> = vec![config.organization.name.clone()];
        names.extend(config.organization.aliases.iter().cloned());
        names.extend(config.departments.iter().map(|d| d.name.clone()));
        let mut names: Vec<String> = names
            .into_iter()
            .map(|n| yuqing_text::matching_form(n.trim()))
            .filter(|n| n.chars().count() >= 3)
            .collect();
        names.sort();
        names.dedup();
        let ours = if names.is_empty() || jurisdiction.is_empty() {
            None
        } else {
            AhoCorasick::builder().match_kind(MatchKind::LeftmostLongest).build(&names).ok()
        };
        Locator { gazetteer, jurisdiction, prefixes, ours, ours_names: names }
    }

    /// Whether a jurisdiction is configured.
    pub fn has_jurisdiction(&self) -> bool {
        !self.jurisdiction.is_empty()
    }

    /// The places of a post, from its title and text in matching form.
    pub fn locate(&self, title: &str, text: &str) -> PostPlaces {
        let g = self.gazetteer;
        let mut found = g.find(title);
        found.extend(g.find(text));
        found.sort_unstable();
        found.dedup();
        let places = g.most_specific(&found);
        let mut out = PostPlaces { codes: places.iter().map(|p| g.place(*p).code).collect(), ..Default::default() };
        if self.jurisdiction.is_empty() {
            return out;
        }
        for p in &places {
            match self.jurisdiction.iter().find(|j| g.is_within(*p, **j)) {
                Some(j) => out.local.push(self.name_below(*j, *p)),
                None => {
                    // A place above the jurisdiction is named as itself; others by province or country.
                    let shown = if self.jurisdiction.iter().any(|j| g.is_within(*j, *p)) { *p } else { g.top(*p) };
                    out.other.push(g.place(shown).name.clone());
                }
            }
        }
        out.local.sort();
        out.local.dedup();
        out.other.sort();
        out.other.dedup();
        out.names_us = self.names_us(title) || self.names_us(text);
        out
    }

    /// `place`'s names from the jurisdiction `area` down: 武汉市江夏区 under 武汉市.
    fn name_below(&self, area: PlaceId, place: PlaceId) -> String {
        let g = self.gazetteer;
        let mut chain: Vec<PlaceId> = Vec::new();
        for p in g.lineage(place) {
            chain.push(p);
            if p == area {
                break;
            }
        }
        chain.iter().rev().map(|p| g.place(*p).name.as_str()).collect()
    }

    /// Names the organization or a department. A name written relative to the organization
    /// (市红十字会) counts only at the start of a phrase or after the jurisdiction's own name —
    /// 黄冈市红十字会 is another city's.
    fn names_us(&self, text: &str) -> bool {
        let Some(ac) = &self.ours else { return false };
        ac.find_iter(text).any(|m| {
            let name = &self.ours_names[m.pattern().as_usize()];
            let relative = name.starts_with(['市', '区', '县', '省']);
            if !relative {
                return true;
            }
            let before = &text[..m.start()];
            let prev = before.chars().next_back();
            match prev {
                None => true,
                Some(c) if !yuqing_text::normalize::is_han(c) => true,
                Some(_) => self.prefixes.iter().any(|p| {
                    before.ends_with(p.as_str()) || before.ends_with(p.trim_end_matches(['市', '省', '区', '县']))
                }),
            }
        })
    }
}

/// Finds every stored post's places again and replaces the stored table, when it was built with
/// another gazetteer (or never). Returns how many places were stored, or None when current.
pub fn ensure_built(
    data: &DataDir,
    locator: &Locator,
    now: DateTime<Utc>,
) -> Result<Option<usize>, yuqing_store::StoreError> {
    let conn = data.store.connection();
    let version = yuqing_text::places::version();
    if yuqing_store::places::stored_version(conn)?.as_deref() == Some(version.as_str()) {
        return Ok(None);
    }
    let found: Vec<PostPlace> = crate::derived::map_stored_posts(data, |p| {
        let (title, text) = (yuqing_text::matching_form(&p.title), yuqing_text::matching_form(&p.text));
        locator.locate(&title, &text).codes.into_iter().map(|code| PostPlace { post: p.id, code }).collect()
    })?;
    yuqing_store::places::rebuild(conn, &version, &found, now)?;
    tracing::info!(places = found.len(), version = %version, "post places found again with the gazetteer");
    Ok(Some(found.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(jurisdiction: &[&str]) -> Config {
        let g = Gazetteer::builtin();
        let mut c = Config::defaults();
        c.organization.name = "某市舆情工作领导小组办公室".into();
        c.organization.aliases = vec!["市舆情办".into()];
        c.departments = vec![crate::config::Department { name: "市红十字会".into(), aliases: vec![] }];
        c.jurisdiction = jurisdiction.iter().map(|j| g.lookup(j).expect("place")).collect();
        c
    }

    #[test]
    fn places_inside_outside_and_above_the_jurisdiction() {
        let l = Locator::new(&config(&["武汉市"]));
        let p = l.locate("", "湖北省武汉市江夏区一小区封闭，河南郑州、韩国大邱也有新增");
        assert_eq!(p.local, vec!["武汉市江夏区"]);
        assert_eq!(p.other, vec!["河南省", "韩国"], "郑州 counts for its province; 湖北省 is dropped beside 江夏区");
        assert!(p.codes.contains(&420115));
        let above = l.locate("", "湖北省新增确诊病例");
        assert_eq!((above.local.is_empty(), above.other.clone()), (true, vec!["湖北省".to_string()]));
    }

    #[test]
    fn the_organizations_names_count_as_local_where_they_are_ours() {
        let l = Locator::new(&config(&["武汉市"]));
        assert!(l.locate("", "市红十字会回应物资分配问题").names_us);
        assert!(l.locate("", "武汉市红十字会回应物资分配问题").names_us);
        assert!(!l.locate("", "黄冈市红十字会回应物资分配问题").names_us, "another city's");
        assert!(l.locate("市舆情办通报", "").names_us);
        let none = Locator::new(&config(&[]));
        let p = none.locate("", "武汉市红十字会");
        assert!(!p.names_us && p.local.is_empty() && p.other.is_empty() && !p.codes.is_empty());
    }
}
