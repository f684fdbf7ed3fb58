//! Routing (属地管理, 谁主管谁负责): assignment rules map a story's watch rules, topics, sources and
//! place words to departments. The first department that matches leads; the others cooperate.

use serde::{Deserialize, Serialize};

/// One assignment rule (`[[routing]]` in the configuration). A rule matches when any of its
/// conditions matches; an empty condition list never matches.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRule {
    pub department: String,
    /// Watch-rule names.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Topic names (食品药品, 教育 …).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Source names (exact).
    #[serde(default)]
    pub sources: Vec<String>,
    /// Place words found in the story's title, keywords or the posts' place field.
    #[serde(default)]
    pub places: Vec<String>,
}

/// What routing looks at, taken from a story.
#[derive(Debug, Clone, Default)]
pub struct RoutingFacts<'a> {
    pub rules: &'a [String],
    pub topics: &'a [String],
    pub sources: &'a [String],
    /// Title, keywords and place fields joined; place words are found by substring.
    pub text: &'a str,
}

/// Why a department was chosen, for the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteMatch {
    pub department: String,
    /// e.g. "监测规则“食品安全”", "地名“城关镇”".
    pub because: String,
}

/// Departments in rule order, each once, with the first reason that matched it.
pub fn route(rules: &[AssignmentRule], facts: &RoutingFacts<'_>) -> Vec<RouteMatch> {
    let mut out: Vec<RouteMatch> = Vec::new();
    for r in rules {
        if out.iter().any(|m| m.department == r.department) {
            continue;
        }
        let because = r
            .rules
            .iter()
            .find(|x| facts.rules.contains(x))
            .map(|x| format!("监测规则“{x}”"))
            .or_else(|| r.topics.iter().find(|x| facts.topics.contains(x)).map(|x| format!("领域“{x}”")))
            .or_else(|| r.sources.iter().find(|x| facts.sources.contains(x)).map(|x| format!("信息源“{x}”")))
            .or_else(|| {
                r.places.iter().find(|x| !x.is_empty() && facts.text.contains(x.as_str())).map(|x| format!("地名“{x}”"))
            });
        if let Some(because) = because {
            out.push(RouteMatch { department: r.department.clone(), because });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(dept: &str, rules: &[&str], topics: &[&str], places: &[&str]) -> AssignmentRule {
        AssignmentRule {
            department: dept.into(),
            rules: rules.iter().map(|s| s.to_string()).collect(),
            topics: topics.iter().map(|s| s.to_string()).collect(),
            sources: vec![],
            places: places.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn first_matching_department_leads_and_reasons_are_given() {
        let rules = vec![
            rule("市场监管局", &["食品安全"], &[], &[]),
            rule("教育局", &[], &["教育"], &[]),
            rule("城关镇政府", &[], &[], &["城关镇"]),
            rule("教育局", &[], &[], &["一中"]),
        ];
        let facts = RoutingFacts {
            rules: &["食品安全".to_string()],
            topics: &["教育".to_string(), "食品药品".to_string()],
            sources: &[],
            text: "城关镇一中食堂饭菜变质",
        };
        let got = route(&rules, &facts);
        assert_eq!(
            got,
            vec![
                RouteMatch { department: "市场监管局".into(), because: "监测规则“食品安全”".into() },
                RouteMatch { department: "教育局".into(), because: "领域“教育”".into() },
                RouteMatch { department: "城关镇政府".into(), because: "地名“城关镇”".into() },
            ]
        );
    }

    #[test]
    fn nothing_matches_nothing_is_routed() {
        let rules = vec![rule("环保局", &[], &["环境"], &[""])];
        assert!(route(&rules, &RoutingFacts { text: "任意文字", ..Default::default() }).is_empty());
    }
}
