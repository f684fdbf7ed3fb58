//! 专题 on the pipeline's side: the configured themes compiled into one automaton (the watch-rule
//! language), the themes of a post, and bringing the stored theme tables in line with the
//! configuration when its themes changed (every stored post matched again).

use chrono::{DateTime, Utc};
use yuqing_store::themes::{ThemeDef, ThemePost};
use yuqing_store::DataDir;
use yuqing_text::matching_form;
use yuqing_text::rules::{RuleDef, RuleDoc, RuleError, RuleSet};

/// The configured themes, compiled.
#[derive(Debug, Clone)]
pub struct Themes {
    defs: Vec<ThemeDef>,
    set: RuleSet,
}

impl Themes {
    pub fn compile(defs: &[ThemeDef]) -> Result<Themes, RuleError> {
        let rules: Vec<RuleDef> = defs.iter().map(|d| RuleDef { name: d.name.clone(), expr: d.expr.clone() }).collect();
        Ok(Themes { defs: defs.to_vec(), set: RuleSet::compile(&rules)? })
    }

    pub fn is_empty(&self) -> bool {
        self.defs.is_empty()
    }

    pub fn defs(&self) -> &[ThemeDef] {
        &self.defs
    }

    /// The themes a post matches, by name, from its fields in matching form.
    pub fn of(&self, title: &str, text: &str, source: &str) -> Vec<String> {
        if self.defs.is_empty() {
            return Vec::new();
        }
        self.set.matches(&RuleDoc { title, text, source }).into_iter().map(|h| h.rule).collect()
    }

    /// [`Themes::of`] a post as stored or received (display form: mapped to the matching form here).
    pub fn of_display(&self, title: &str, text: &str, source: &str) -> Vec<String> {
        if self.defs.is_empty() {
            return Vec::new();
        }
        self.of(&matching_form(title), &matching_form(text), &matching_form(source.trim()))
    }
}

/// Matches every stored post against `themes` again and replaces the stored theme tables, when
/// they were built for other themes (or never). Returns how many matches were stored, or None
/// when the tables were current.
pub fn ensure_built(
    data: &DataDir,
    themes: &Themes,
    now: DateTime<Utc>,
) -> Result<Option<usize>, yuqing_store::StoreError> {
    let conn = data.store.connection();
    let wanted = yuqing_store::themes::fingerprint(themes.defs());
    if yuqing_store::themes::stored_fingerprint(conn)?.as_deref() == Some(wanted.as_str()) {
        return Ok(None);
    }
    let matches: Vec<ThemePost> = if themes.is_empty() {
        Vec::new()
    } else {
        crate::derived::map_stored_posts(data, |p| {
            themes
                .of_display(&p.title, &p.text, &p.source)
                .into_iter()
                .map(|theme| ThemePost { theme, post: p.id, story: p.story_id })
                .collect()
        })?
    };
    yuqing_store::themes::rebuild(conn, themes.defs(), &matches, now)?;
    tracing::info!(
        themes = themes.defs().len(),
        matches = matches.len(),
        "theme tables rebuilt for the configured themes"
    );
    Ok(Some(matches.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, expr: &str) -> ThemeDef {
        ThemeDef { name: name.into(), expr: expr.into(), description: String::new(), min_share: 0.3 }
    }

    #[test]
    fn a_post_gets_every_theme_it_matches_in_matching_form() {
        let themes = Themes::compile(&[
            def("新冠疫情", "肺炎 | 新冠"),
            def("复工复产", "复工 | 复产"),
            def("学校", "title:学校"),
        ])
        .expect("compile");
        assert_eq!(
            themes.of_display("", "企业復工后如何防控新冠？", "微博"),
            vec!["新冠疫情", "复工复产"],
            "traditional 復 folds to 复"
        );
        assert_eq!(themes.of_display("学校通知", "开学推迟", ""), vec!["学校"]);
        assert!(themes.of_display("", "今天天气很好", "").is_empty());
        assert!(Themes::compile(&[]).expect("none").of_display("", "肺炎", "").is_empty());
    }

    #[test]
    fn a_broken_expression_is_refused() {
        assert!(Themes::compile(&[def("坏", "(肺炎 &")]).is_err());
    }
}
