//! Routing (属地管理, 谁主管谁负责): assignment rules map a story's watch rules, topics, sources and
//! place words to departments. A department reached through the story's watch rule with the most posts
//! leads, then the others reached through rules, then those reached otherwise, in configuration order;
//! the others cooperate.

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
    // A department reached through a watch rule leads before one reached otherwise, and among those
    // the one whose rule comes first in `facts.rules` (the story's rules, most posts first): a
    // doctor's death with 28 posts under 医护人员感染 and 3 mentioning the Red Cross goes to health.
    let rank = |m: &RouteMatch| {
        rules
            .iter()
            .filter(|r| r.department == m.department)
            .flat_map(|r| r.rules.iter())
            .filter_map(|x| facts.rules.iter().position(|f| f == x))
            .min()
            .unwrap_or(usize::MAX)
    };
    out.sort_by_key(|m| rank(m));
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
    fn the_department_of_the_rule_with_most_posts_leads() {
        let rules = vec![
            rule("市红十字会", &["红十字会物资分配"], &[], &[]),
            rule("市卫生健康委员会", &["医护人员感染"], &[], &[]),
            rule("市教育局", &[], &["教育"], &[]),
        ];
        let facts = RoutingFacts {
            rules: &["医护人员感染".to_string(), "红十字会物资分配".to_string()],
            topics: &["教育".to_string()],
            sources: &[],
            text: "",
        };
        let got: Vec<String> = route(&rules, &facts).into_iter().map(|m| m.department).collect();
        assert_eq!(got, ["市卫生健康委员会", "市红十字会", "市教育局"]);
    }

    #[test]
    fn nothing_matches_nothing_is_routed() {
        let rules = vec![rule("环保局", &[], &["环境"], &[""])];
        assert!(route(&rules, &RoutingFacts { text: "任意文字", ..Default::default() }).is_empty());
    }
}
