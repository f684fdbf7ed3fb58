//! Watch-rule language: `yuqing_text::rules::parse`, then `RuleSet::compile` and matching.
//!
//! Input: UTF-8; the first line is the rule expression; the next lines are a document's title, its
//! source name and its text (the rest). Invariants checked: an error position lies within the
//! expression (it may equal its length); a parsed rule prints to an expression that parses back to
//! the same rule; the set's candidate pruning in `matches` agrees with evaluating the rule alone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yuqing_text::matching_form;
use yuqing_text::rules::{parse, RuleDef, RuleDoc, RuleSet};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let (expr, doc) = input.split_once('\n').unwrap_or((input, ""));
    let rule = match parse(expr) {
        Ok(rule) => rule,
        Err(e) => {
            assert!(e.position <= expr.chars().count(), "error position {} past the end of {expr:?}", e.position);
            return;
        }
    };
    let printed = rule.to_string();
    assert_eq!(parse(&printed), Ok(rule.clone()), "{expr:?} printed as {printed:?} does not parse back");

    let Ok(set) = RuleSet::compile(&[RuleDef { name: "r".into(), expr: expr.into() }]) else { return };
    let mut lines = doc.splitn(3, '\n');
    let title = matching_form(lines.next().unwrap_or(""));
    let source = matching_form(lines.next().unwrap_or(""));
    let text = matching_form(lines.next().unwrap_or(""));
    let doc = RuleDoc { title: &title, text: &text, source: &source };
    let all = set.matches(&doc);
    let alone = set.matches_rule(0, &doc);
    assert_eq!(all.first(), alone.as_ref(), "matches and matches_rule disagree on {printed:?}");
});
