//! 地名: the places a text names — China's administrative divisions (GB/T 2260: provinces,
//! prefecture-level and county-level divisions) and foreign countries — found in one scan and
//! resolved against each other, so a story can be told apart as local (属地) or not.
//!
//! What is matched, per division:
//! - its full name (武汉市, 江夏区, 恩施土家族苗族自治州) and, for autonomous prefectures, the short
//!   name with 州 (恩施州);
//! - its short name, the full name without 省/市/区/县/自治州 … and the peoples' names
//!   (武汉, 江夏, 恩施, 内蒙古), when at least two characters are left;
//! - a province's one-character abbreviation only after a verb of movement or place
//!   (援鄂, 在京, 来沪, 返湘) or before 籍 (鄂籍).
//!
//! The traps, and what is done about them:
//! - Overlaps: the longest match wins (张家口 over 张家, 南京东路 below), then the stronger kind
//!   (full name over short name over abbreviation).
//! - Words that contain a place name but are not about it (京东, 孙中山, 中山大学, 长治久安,
//!   张家口罩, 德州扑克, 阿里巴巴 …) are matched as blockers, which win an overlap and name nothing.
//! - A place name followed by 路 / 大街 / 大道 (南京东路, 中山路) names a street, often in another
//!   city, and is dropped.
//! - A county's or district's short name (江夏, 长安, 朝阳, 通道, 互助) is often an ordinary word or
//!   shared by several counties: it counts only when the same text also names its prefecture or
//!   province ("武汉江夏", "西安长安区"). So do two-character full names (城区, 东区) and short names
//!   that are common words (安康, 来宾, 白银, 东方, 沙河, 阳春).
//! - A name shared by several divisions (吉林: province and city; 鼓楼区: four cities) is resolved by
//!   the other places the text names; failing that, to the highest level when only one division has
//!   it (吉林 → 吉林省); failing that, it names nothing.
//!
//! Invariant: pure and total — any text gives a (possibly empty) sorted set of places; the tables
//! are compiled in (data/divisions.tsv, data/countries.tsv; origin in scripts/import-divisions).

use std::collections::HashMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};

const DIVISIONS: &str = include_str!("../data/divisions.tsv");
const COUNTRIES: &str = include_str!("../data/countries.tsv");

/// Codes of countries are `COUNTRY_BASE` + the ISO 3166 numeric code, above every GB/T 2260 code.
pub const COUNTRY_BASE: u32 = 1_000_000;

/// Bumped whenever the way places are found changes (blockers, rules), so stored places are
/// found again.
const EXTRACTOR_VERSION: u32 = 1;

/// The version of the tables and the extractor: stored places found with another are stale.
pub fn version() -> String {
    let fnv = |s: &str| s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    format!("{EXTRACTOR_VERSION}:{:016x}", fnv(DIVISIONS) ^ fnv(COUNTRIES).rotate_left(1))
}

/// Index of a place in the gazetteer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlaceId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Country,
    Province,
    Prefecture,
    County,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// GB/T 2260 code (420115), or `COUNTRY_BASE` + ISO numeric for a country.
    pub code: u32,
    /// The full name: 湖北省, 武汉市, 江夏区, 韩国.
    pub name: String,
    /// The name without its suffix: 湖北, 武汉, 江夏 (the full name when nothing is left to strip).
    pub short: String,
    pub level: Level,
    pub parent: Option<PlaceId>,
}

/// Peoples' names as they appear in autonomous divisions' names (…土家族苗族自治州); 各族 too.
const PEOPLES: &[&str] = &[
    "蒙古",
    "回",
    "藏",
    "维吾尔",
    "苗",
    "彝",
    "壮",
    "布依",
    "朝鲜",
    "满",
    "侗",
    "瑶",
    "白",
    "土家",
    "哈尼",
    "哈萨克",
    "傣",
    "黎",
    "傈僳",
    "佤",
    "畲",
    "高山",
    "拉祜",
    "水",
    "东乡",
    "纳西",
    "景颇",
    "柯尔克孜",
    "土",
    "达斡尔",
    "仫佬",
    "羌",
    "布朗",
    "撒拉",
    "毛南",
    "仡佬",
    "锡伯",
    "阿昌",
    "普米",
    "塔吉克",
    "怒",
    "乌孜别克",
    "俄罗斯",
    "鄂温克",
    "德昂",
    "保安",
    "裕固",
    "京",
    "塔塔尔",
    "独龙",
    "鄂伦春",
    "赫哲",
    "门巴",
    "珞巴",
    "基诺",
    "各",
];

/// Suffixes stripped for the short name, longest first.
const SUFFIXES: &[&str] = &[
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "特区",
    "新区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
];

/// Provinces' one-character abbreviations that are safe after a verb (others, like 黑, 新, 青, 宁,
/// 云, 贵, 川, 台, are too often ordinary words: 在黑暗中, 返青).
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("京", "110000"),
    ("津", "120000"),
    ("冀", "130000"),
    ("晋", "140000"),
    ("辽", "210000"),
    ("沪", "310000"),
    ("皖", "340000"),
    ("闽", "350000"),
    ("赣", "360000"),
    ("鲁", "370000"),
    ("豫", "410000"),
    ("鄂", "420000"),
    ("湘", "430000"),
    ("粤", "440000"),
    ("桂", "450000"),
    ("琼", "460000"),
    ("渝", "500000"),
    ("黔", "520000"),
    ("滇", "530000"),
    ("陇", "620000"),
];
const ABBREVIATION_VERBS: &[&str] =
    &["援", "在", "来", "赴", "返", "离", "抵", "进", "出", "滞", "留", "驻", "入", "回", "到"];

/// Words that contain a place name without naming it; they win an overlap and name nothing.
const BLOCKERS: &[&str] = &[
    "京东",
    "京剧",
    "京腔",
    "京味",
    "孙中山",
    "中山大学",
    "中山装",
    "中山医院",
    "中山公园",
    "中山舰",
    "中山陵",
    "长治久安",
    "四平八稳",
    "玉树临风",
    "大同小异",
    "世界大同",
    "德州扑克",
    "大理石",
    "普洱茶",
    "龙井茶",
    "阿里巴巴",
    "阿里云",
    "阿里健康",
    "阿里影业",
    "阿里妈妈",
    "长安汽车",
    "长安街",
    "长安福特",
    "东方红",
    "东方卫视",
    "东方网",
    "东方财富",
    "东方明珠",
    "平安顺",
    "张家口罩",
    "蒙古族",
    "朝鲜族",
    "俄罗斯族",
    "苏丹红",
    "马里奥",
    "多哥哥",
    "加纳税",
    "通道口",
    "太平洋",
    "印度洋",
    "大西洋",
    "北冰洋",
    "江南style",
    "华山论剑",
    "泰山压顶",
    "黄山松",
    "吉林大学珠海",
    "樟树叶",
    "沙河粉",
    "阳春面",
    "阳春白雪",
    "安康码",
    "湘西赶尸",
    "宁夏路",
    "新疆菜",
    "兰州拉面",
    "沙县小吃",
    "重庆火锅",
    "北京时间",
    "北京烤鸭",
    "文山会海",
    "同济",
    "天津狗不理",
    "扬州炒饭",
    "福州鱼丸",
    "桂林米粉",
    "柳州螺蛳粉",
    "南京板鸭",
];

/// Short names (of prefectures and county-level cities) that are ordinary words; they count only
/// beside their province or prefecture, like counties' short names.
const COMMON_WORDS: &[&str] = &[
    "安康",
    "来宾",
    "白银",
    "朝阳",
    "阿里",
    "白山",
    "黑河",
    "兴安",
    "海东",
    "海西",
    "海北",
    "山南",
    "黄南",
    "红河",
    "东方",
    "安宁",
    "安达",
    "北安",
    "合作",
    "龙井",
    "临江",
    "赤水",
    "新民",
    "大安",
    "宁安",
    "永安",
    "福安",
    "和龙",
    "集安",
    "海城",
    "开平",
    "阳春",
    "安国",
    "沙河",
    "樟树",
    "共青城",
    "凭祥",
    "华阴",
    "玉树",
    "普洱",
    "中山",
    "平安",
    "太平",
    "和平",
    "新华",
    "城关",
    "长安",
    "高新",
    "开发",
    "海南",
    "江南",
    "江北",
    "河西",
    "河东",
    "城中",
    "城东",
    "城西",
    "城南",
    "城北",
    "市中",
    "郊区",
];

/// Countries' names that are ordinary words or fragments of them.
const COUNTRY_EXCLUDED: &[&str] = &[
    "多哥",
    "马里",
    "乍得",
    "加纳",
    "苏丹",
    "中非",
    "黑山",
    "圣诞岛",
    "汤加",
    "纽埃",
    "不丹",
    "关岛",
    "南极洲",
    "布维岛",
    "中国",
];
/// Common names of countries besides the table's (俄罗斯联邦 is said 俄罗斯).
const COUNTRY_ALIASES: &[(&str, &str)] =
    &[("俄罗斯", "RU"), ("澳洲", "AU"), ("印尼", "ID"), ("南韩", "KR"), ("北韩", "KP")];

/// Places that are no division but name one: 汉口 is in 武汉.
const ALIASES: &[(&str, &str)] = &[("汉口", "420100"), ("浦东", "310115"), ("雄安", "130000"), ("深港", "440300")];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Abbreviation = 1,
    Short = 2,
    Full = 3,
    Blocker = 4,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    place: PlaceId,
    /// Counts only when the text also names one of its ancestors.
    needs_context: bool,
}

#[derive(Debug, Clone)]
struct Pattern {
    kind: Kind,
    candidates: Vec<Candidate>,
}

/// The gazetteer: every place and the automaton that finds them.
pub struct Gazetteer {
    places: Vec<Place>,
    by_code: HashMap<u32, PlaceId>,
    by_name: HashMap<String, Vec<PlaceId>>,
    patterns: Vec<Pattern>,
    automaton: AhoCorasick,
}

impl std::fmt::Debug for Gazetteer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gazetteer").field("places", &self.places.len()).field("patterns", &self.patterns.len()).finish()
    }
}

/// A place name in the configuration that names no place or several.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("“{0}” 不是已知的行政区划名称或代码（GB/T 2260）")]
    Unknown(String),
    #[error("“{name}” 对应多个行政区划：{candidates}，请写全称或代码")]
    Ambiguous { name: String, candidates: String },
}

fn level_of(code: u32) -> Level {
    if code >= COUNTRY_BASE {
        Level::Country
    } else if code.is_multiple_of(10_000) {
        Level::Province
    } else if code.is_multiple_of(100) {
        Level::Prefecture
    } else {
        Level::County
    }
}

/// The name without its administrative suffix and peoples' names (恩施土家族苗族自治州 → 恩施).
fn short_name(full: &str) -> String {
    let mut s = full;
    if let Some(p) = SUFFIXES.iter().find(|x| s.ends_with(**x)) {
        s = &s[..s.len() - p.len()];
    }
    // Peoples' names before 自治…: strip them from the end, as long as two characters stay.
    if full.contains("自治") {
        loop {
            let before = s;
            for p in PEOPLES {
                let with_zu = format!("{p}族");
                let cut = if s.ends_with(&with_zu) {
                    Some(with_zu.len())
                } else if p.chars().count() >= 2 && s.ends_with(p) {
                    Some(p.len())
                } else {
                    None
                };
                if let Some(n) = cut {
                    if s[..s.len() - n].chars().count() >= 2 {
                        s = &s[..s.len() - n];
                        break;
                    }
                    // 东乡族自治县: the county is named after the people.
                    if s.ends_with('族') {
                        s = &s[..s.len() - '族'.len_utf8()];
                    }
                }
            }
            if s == before {
                break;
            }
        }
    }
    s.to_string()
}

impl Gazetteer {
    /// The gazetteer shipped with yuqing, built once.
    pub fn builtin() -> &'static Gazetteer {
        static G: OnceLock<Gazetteer> = OnceLock::new();
        G.get_or_init(|| Gazetteer::build(DIVISIONS, COUNTRIES))
    }

    fn build(divisions: &str, countries: &str) -> Gazetteer {
        let mut places: Vec<Place> = Vec::new();
        let mut by_code: HashMap<u32, PlaceId> = HashMap::new();
        for line in divisions.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let mut parts = line.split('\t');
            let (Some(code), Some(name)) = (parts.next().and_then(|c| c.trim().parse::<u32>().ok()), parts.next())
            else {
                continue;
            };
            let name = name.trim().to_string();
            if by_code.contains_key(&code) {
                continue;
            }
            let id = PlaceId(places.len() as u32);
            by_code.insert(code, id);
            places.push(Place { code, short: short_name(&name), name, level: level_of(code), parent: None });
        }
        for line in countries.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
            let parts: Vec<&str> = line.split('\t').collect();
            let [num, _alpha2, name] = parts[..] else { continue };
            let Ok(num) = num.trim().parse::<u32>() else { continue };
            let code = COUNTRY_BASE + num;
            let id = PlaceId(places.len() as u32);
            by_code.insert(code, id);
            places.push(Place {
                code,
                name: name.to_string(),
                short: name.to_string(),
                level: Level::Country,
                parent: None,
            });
        }
        // Parents: the prefecture when it exists (not for 省直辖县, municipalities' districts), else the province.
        for i in 0..places.len() {
            let code = places[i].code;
            places[i].parent = match places[i].level {
                Level::County => {
                    by_code.get(&(code / 100 * 100)).or_else(|| by_code.get(&(code / 10_000 * 10_000))).copied()
                }
                Level::Prefecture => by_code.get(&(code / 10_000 * 10_000)).copied(),
                _ => None,
            };
        }

        // Patterns: text → candidates.
        let mut table: HashMap<String, Pattern> = HashMap::new();
        let mut add = |text: &str, kind: Kind, cand: Option<Candidate>| {
            if text.chars().count() < 2 {
                return;
            }
            let p = table.entry(text.to_string()).or_insert(Pattern { kind, candidates: Vec::new() });
            if kind > p.kind {
                p.kind = kind;
            }
            if let Some(c) = cand {
                if !p.candidates.iter().any(|x| x.place == c.place) {
                    p.candidates.push(c);
                }
            }
        };
        let common = |s: &str| COMMON_WORDS.contains(&s);
        for (i, p) in places.iter().enumerate() {
            let place = PlaceId(i as u32);
            if p.level == Level::Country {
                if !COUNTRY_EXCLUDED.contains(&p.name.as_str()) {
                    add(&p.name, Kind::Full, Some(Candidate { place, needs_context: false }));
                }
                continue;
            }
            let full_needs_context = p.name.chars().count() <= 2;
            add(&p.name, Kind::Full, Some(Candidate { place, needs_context: full_needs_context }));
            if p.short != p.name {
                let county_short =
                    p.level == Level::County && !(p.name.ends_with('市') && p.short.chars().count() >= 2);
                let needs_context = match p.level {
                    Level::Province => false,
                    Level::Prefecture => common(&p.short),
                    _ => county_short && p.short.chars().count() < 3 || common(&p.short),
                };
                add(&p.short, Kind::Short, Some(Candidate { place, needs_context }));
                if p.name.ends_with("自治州") {
                    add(&format!("{}州", p.short), Kind::Full, Some(Candidate { place, needs_context: false }));
                }
            }
        }
        for (name, code) in ALIASES {
            if let Some(&place) = code.parse::<u32>().ok().and_then(|c| by_code.get(&c)) {
                add(name, Kind::Short, Some(Candidate { place, needs_context: false }));
            }
        }
        let alpha2: HashMap<&str, u32> = countries
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let parts: Vec<&str> = l.split('\t').collect();
                Some((*parts.get(1)?, parts.first()?.trim().parse::<u32>().ok()?))
            })
            .collect();
        for (name, a2) in COUNTRY_ALIASES {
            if let Some(&place) = alpha2.get(a2).and_then(|n| by_code.get(&(COUNTRY_BASE + n))) {
                add(name, Kind::Full, Some(Candidate { place, needs_context: false }));
            }
        }
        for (abbr, code) in ABBREVIATIONS {
            if let Some(&place) = code.parse::<u32>().ok().and_then(|c| by_code.get(&c)) {
                for v in ABBREVIATION_VERBS {
                    add(&format!("{v}{abbr}"), Kind::Abbreviation, Some(Candidate { place, needs_context: false }));
                }
                add(&format!("{abbr}籍"), Kind::Abbreviation, Some(Candidate { place, needs_context: false }));
            }
        }
        for b in BLOCKERS {
            add(b, Kind::Blocker, None);
        }
        // A blocker wins over a place of the same text (京东 is no place; 东方 stays a common word).
        let mut entries: Vec<(String, Pattern)> = table.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, p) in entries.iter_mut().filter(|(_, p)| p.kind == Kind::Blocker) {
            p.candidates.clear();
        }
        let (texts, patterns): (Vec<String>, Vec<Pattern>) = entries.into_iter().unzip();
        // The default (contiguous NFA): a DFA scans a third faster but takes 12 MB, and the scan
        // is about half of `find`'s 4 µs on a 130-character post.
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&texts)
            .expect("the built-in place names form a valid automaton");

        let mut by_name: HashMap<String, Vec<PlaceId>> = HashMap::new();
        for (i, p) in places.iter().enumerate() {
            by_name.entry(p.name.clone()).or_default().push(PlaceId(i as u32));
            if p.short != p.name {
                by_name.entry(p.short.clone()).or_default().push(PlaceId(i as u32));
            }
        }
        Gazetteer { places, by_code, by_name, patterns, automaton }
    }

    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    pub fn place(&self, id: PlaceId) -> &Place {
        &self.places[id.0 as usize]
    }

    pub fn by_code(&self, code: u32) -> Option<PlaceId> {
        self.by_code.get(&code).copied()
    }

    /// The place and its ancestors, the place first.
    pub fn lineage(&self, id: PlaceId) -> impl Iterator<Item = PlaceId> + '_ {
        std::iter::successors(Some(id), move |p| self.place(*p).parent)
    }

    /// Whether `id` is `area` or lies inside it.
    pub fn is_within(&self, id: PlaceId, area: PlaceId) -> bool {
        self.lineage(id).any(|p| p == area)
    }

    /// The name with its ancestors, as officers write it: 湖北省武汉市江夏区; 韩国.
    pub fn path_name(&self, id: PlaceId) -> String {
        let mut chain: Vec<PlaceId> = self.lineage(id).collect();
        chain.reverse();
        chain.iter().map(|p| self.place(*p).name.as_str()).collect()
    }

    /// The province (or the country) a place belongs to.
    pub fn top(&self, id: PlaceId) -> PlaceId {
        self.lineage(id).last().unwrap_or(id)
    }

    /// A configured place: a GB/T 2260 code (420115) or a name, full or short, that names one
    /// division (a name of several is an error listing them).
    pub fn lookup(&self, text: &str) -> Result<PlaceId, LookupError> {
        let t = text.trim();
        if let Ok(code) = t.parse::<u32>() {
            return self.by_code(code).ok_or_else(|| LookupError::Unknown(t.to_string()));
        }
        let found = self.by_name.get(t).map(Vec::as_slice).unwrap_or(&[]);
        // A full name beats short names (吉林省 vs 吉林市's short name is not an issue: 吉林 is both).
        let full: Vec<PlaceId> = found.iter().copied().filter(|p| self.place(*p).name == t).collect();
        let pick = if full.is_empty() { found.to_vec() } else { full };
        match pick.len() {
            0 => Err(LookupError::Unknown(t.to_string())),
            1 => Ok(pick[0]),
            _ => {
                let top = pick.iter().map(|p| self.place(*p).level).min().unwrap_or(Level::County);
                let highest: Vec<PlaceId> = pick.iter().copied().filter(|p| self.place(*p).level == top).collect();
                if highest.len() == 1 && top == Level::Province {
                    return Ok(highest[0]);
                }
                let candidates = pick
                    .iter()
                    .map(|p| format!("{}（{}）", self.path_name(*p), self.place(*p).code))
                    .collect::<Vec<_>>()
                    .join("、");
                Err(LookupError::Ambiguous { name: t.to_string(), candidates })
            }
        }
    }

    /// The places `text` names, each once, in gazetteer order. `text` is best in its matching
    /// form (simplified, see `normalize::matching_form`).
    pub fn find(&self, text: &str) -> Vec<PlaceId> {
        // Every match, overlapping; then the longest (and strongest) first, each kept unless it
        // overlaps one kept before.
        // (start, end, pattern, length in characters)
        let mut all: Vec<(usize, usize, usize, usize)> = self
            .automaton
            .find_overlapping_iter(text)
            .map(|m| (m.start(), m.end(), m.pattern().as_usize(), text[m.start()..m.end()].chars().count()))
            .collect();
        if all.is_empty() {
            return Vec::new();
        }
        all.sort_by(|a, b| {
            b.3.cmp(&a.3).then(self.patterns[b.2].kind.cmp(&self.patterns[a.2].kind)).then(a.0.cmp(&b.0))
        });
        let mut kept: Vec<(usize, usize, usize)> = Vec::new();
        for (start, end, pat, _) in all {
            if kept.iter().any(|k| start < k.1 && k.0 < end) {
                continue;
            }
            kept.push((start, end, pat));
        }
        kept.retain(|(_, end, pat)| self.patterns[*pat].kind != Kind::Blocker && !names_a_street(&text[*end..]));

        // Anchors: what each mention names on its own (its one candidate needing no context, or
        // the only one of the highest level), with the ancestors.
        let mut anchors: Vec<(PlaceId, usize)> = Vec::new();
        for (i, (_, _, pat)) in kept.iter().enumerate() {
            if let Some(p) = self.on_its_own(&self.patterns[*pat].candidates) {
                anchors.extend(self.lineage(p).map(|a| (a, i)));
            }
        }
        let mut out: Vec<PlaceId> = Vec::new();
        for (i, (_, _, pat)) in kept.iter().enumerate() {
            let c = &self.patterns[*pat].candidates;
            // Placed by the text's other mentions: a candidate below what another names, the
            // nearest such ancestor deciding (南京 places 鼓楼区 in 南京市, not in 徐州市 of the same
            // province).
            let nearest = |x: &Candidate| {
                self.lineage(x.place).skip(1).position(|a| anchors.iter().any(|(p, j)| *p == a && *j != i))
            };
            let best = c.iter().filter_map(nearest).min();
            let placed: Vec<PlaceId> = match best {
                Some(b) => c.iter().filter(|x| nearest(x) == Some(b)).map(|x| x.place).collect(),
                None => Vec::new(),
            };
            if let [one] = placed.as_slice() {
                out.push(*one);
            } else if let Some(p) = self.on_its_own(c) {
                out.push(p);
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// What a mention names without the rest of the text: its one candidate that needs no
    /// context, or of several the only one of the highest level (吉林 → 吉林省).
    fn on_its_own(&self, candidates: &[Candidate]) -> Option<PlaceId> {
        let free: Vec<PlaceId> = candidates.iter().filter(|x| !x.needs_context).map(|x| x.place).collect();
        let top = free.iter().map(|p| self.place(*p).level).min()?;
        let highest: Vec<PlaceId> = free.into_iter().filter(|p| self.place(*p).level == top).collect();
        match highest.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Of `places`, drops each that another one lies inside (湖北省 when 武汉市 is there too).
    pub fn most_specific(&self, places: &[PlaceId]) -> Vec<PlaceId> {
        places
            .iter()
            .copied()
            .filter(|p| !places.iter().any(|q| q != p && self.lineage(*q).skip(1).any(|a| a == *p)))
            .collect()
    }
}

/// Whether what follows a place name makes it a street name: 南京东路, 中山路, 北京大街 — but not
/// 武汉路上 (on the way to Wuhan) or 武汉街头 (Wuhan's streets).
fn names_a_street(rest: &str) -> bool {
    let mut chars = rest.chars();
    let mut c = chars.next();
    if matches!(c, Some('东' | '西' | '南' | '北' | '中')) {
        c = chars.next();
        if c == Some('街') {
            return true;
        }
    }
    match c {
        Some('路') => !matches!(chars.next(), Some('上' | '途' | '过' | '边' | '口' | '线' | '费' | '程')),
        Some('大') => matches!(chars.next(), Some('街' | '道')),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<String> {
        let g = Gazetteer::builtin();
        g.find(text).into_iter().map(|p| g.place(p).name.clone()).collect()
    }

    #[test]
    fn the_tables_load_with_parents() {
        let g = Gazetteer::builtin();
        assert!(g.len() > 3000, "{}", g.len());
        let jiangxia = g.by_code(420115).expect("江夏区");
        assert_eq!(g.path_name(jiangxia), "湖北省武汉市江夏区");
        let xiantao = g.by_code(429004).expect("仙桃市");
        assert_eq!(g.path_name(xiantao), "湖北省仙桃市", "a county-level city directly under the province");
        let chaoyang = g.by_code(110105).expect("朝阳区");
        assert_eq!(g.path_name(chaoyang), "北京市朝阳区");
        assert_eq!(g.place(g.by_code(COUNTRY_BASE + 410).expect("韩国")).name, "韩国");
    }

    #[test]
    fn short_names_drop_suffixes_and_peoples() {
        for (full, short) in [
            ("湖北省", "湖北"),
            ("武汉市", "武汉"),
            ("江夏区", "江夏"),
            ("恩施土家族苗族自治州", "恩施"),
            ("新疆维吾尔自治区", "新疆"),
            ("内蒙古自治区", "内蒙古"),
            ("广西壮族自治区", "广西"),
            ("博尔塔拉蒙古自治州", "博尔塔拉"),
            ("长阳土家族自治县", "长阳"),
            ("龙胜各族自治县", "龙胜"),
            ("东乡族自治县", "东乡"),
            ("神农架林区", "神农架"),
            ("大兴安岭地区", "大兴安岭"),
            ("香港特别行政区", "香港"),
            ("浦东新区", "浦东"),
        ] {
            assert_eq!(short_name(full), short, "{full}");
        }
    }

    /// Real sentences (Weibo, February 2020, and news headlines) with the traps the issue names.
    #[test]
    fn real_sentences_and_their_traps() {
        let cases: &[(&str, &[&str])] = &[
            ("武汉市江夏区一小区封闭管理，居民生活物资由社区统一配送", &["武汉市", "江夏区"]),
            ("湖北省新增新冠肺炎确诊病例1843例，其中武汉市1104例", &["湖北省", "武汉市"]),
            ("在京东上买的口罩三天了还没发货", &[]),
            ("张家口罩厂连夜复工赶制口罩", &[]),
            ("张家口崇礼区一酒店发生火灾", &["张家口市", "崇礼区"]),
            ("长安汽车宣布延迟复工", &[]),
            ("西安长安区一居民楼发现确诊病例", &["西安市", "长安区"]),
            ("愿国家长治久安，人民安居乐业", &[]),
            ("上海南京东路步行街人流明显减少", &["上海市"]),
            ("孙中山先生说过，天下为公", &[]),
            ("中山市新增2例确诊病例", &["中山市"]),
            ("祝大家新春快乐，平安健康，岁岁安康", &[]),
            ("陕西安康市汉滨区发布通告", &["陕西省", "安康市", "汉滨区"]),
            ("首批援鄂医疗队今天平安归来", &["湖北省"]),
            ("在京的湖北籍人员请主动登记", &["北京市", "湖北省"]),
            ("吉林新增1例确诊病例", &["吉林省"]),
            ("吉林省吉林市丰满区实行封闭管理", &["吉林省", "吉林市", "丰满区"]),
            ("韩国大邱新增确诊病例，钻石公主号邮轮乘客陆续下船", &["韩国"]),
            ("河南一村庄用土堆封路，拒绝外来车辆进入", &["河南省"]),
            ("恩施州来凤县开展全员排查", &["恩施土家族苗族自治州", "来凤县"]),
            ("朝阳群众又立功了", &[]),
            ("北京朝阳区望京街道通报一例病例", &["北京市", "朝阳区"]),
            ("江夏的志愿者给医院送去了盒饭", &[]),
            ("武汉江夏的志愿者给医院送去了盒饭", &["武汉市", "江夏区"]),
            ("汉口火车站今日关闭离汉通道", &["武汉市"]),
            ("走在回武汉的路上，看到高速路口已经封闭", &["武汉市"]),
            ("仙桃市新增确诊病例12例", &["仙桃市"]),
            ("鼓楼区开展核酸检测", &[]),
            ("南京鼓楼区开展核酸检测", &["南京市", "鼓楼区"]),
            ("美国宣布进入国家紧急状态，日本推迟东京奥运会", &["美国", "日本"]),
            ("內蒙古呼和浩特市", &["内蒙古自治区", "呼和浩特市"]),
            ("华科大同济医学院基础医学院病理学系", &[]),
        ];
        for (text, want) in cases {
            let text = crate::normalize::matching_form(text);
            let mut got = names(&text);
            got.sort();
            let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
            want.sort();
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn lookup_by_code_and_name_and_ambiguity() {
        let g = Gazetteer::builtin();
        assert_eq!(g.place(g.lookup("420100").unwrap()).name, "武汉市");
        assert_eq!(g.place(g.lookup("武汉").unwrap()).name, "武汉市");
        assert_eq!(g.place(g.lookup("湖北省").unwrap()).name, "湖北省");
        assert_eq!(g.place(g.lookup("吉林").unwrap()).name, "吉林省", "the province, the highest level of the name");
        match g.lookup("朝阳区") {
            Err(LookupError::Ambiguous { candidates, .. }) => assert!(candidates.contains("110105"), "{candidates}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(g.lookup("火星"), Err(LookupError::Unknown(_))));
        assert!(matches!(g.lookup("999999"), Err(LookupError::Unknown(_))));
    }

    #[test]
    fn within_and_most_specific() {
        let g = Gazetteer::builtin();
        let hubei = g.by_code(420000).unwrap();
        let wuhan = g.by_code(420100).unwrap();
        let jiangxia = g.by_code(420115).unwrap();
        assert!(g.is_within(jiangxia, hubei) && g.is_within(jiangxia, wuhan) && g.is_within(wuhan, wuhan));
        assert!(!g.is_within(hubei, wuhan));
        assert_eq!(g.most_specific(&[hubei, wuhan, jiangxia]), vec![jiangxia]);
    }

    #[test]
    fn any_text_is_safe() {
        let g = Gazetteer::builtin();
        for t in ["", "路", "武汉", "武汉路", "在京", "🙂湖北🙂", "\u{0}鄂", &"湖".repeat(10_000)] {
            let _ = g.find(t);
        }
    }
}
