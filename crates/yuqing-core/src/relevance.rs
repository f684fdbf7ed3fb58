//! The per-organization relevance model (误报学习): the stories the office marked 误报 are its
//! examples; a new story is compared with each by the cosine of the two story cores (their
//! heaviest terms), and the nearest one above the policy's threshold lowers the new story's grade
//! by one level (`grade::LikeFalseAlarm`). Nearest-neighbour on purpose: every lowering names
//! the example it came from, so an officer can see why and undo it (withdraw the mark or reset the
//! model).
//!
//! Invariant: pure; examples are kept sorted by term and of unit length, so a comparison is one
//! merge of two short vectors.

use crate::grade::LikeFalseAlarm;
use crate::story::dot;

/// One story marked 误报, as the model keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FalseAlarmExample {
    pub story: i64,
    pub title: String,
    pub reason: String,
    /// The story core, sorted by term, unit length.
    core: Vec<(u64, f32)>,
}

impl FalseAlarmExample {
    /// `None` when the core has no weight at all (nothing to compare with).
    pub fn new(story: i64, title: String, reason: String, core: &[(u64, f32)]) -> Option<FalseAlarmExample> {
        let core = unit(core)?;
        Some(FalseAlarmExample { story, title, reason, core })
    }
}

/// The examples of one organization.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelevanceModel {
    examples: Vec<FalseAlarmExample>,
}

impl RelevanceModel {
    pub fn new(examples: Vec<FalseAlarmExample>) -> RelevanceModel {
        RelevanceModel { examples }
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Adds (or replaces, by story) an example.
    pub fn add(&mut self, example: FalseAlarmExample) {
        self.remove(example.story);
        self.examples.push(example);
    }

    /// Forgets a story's example (its mark was withdrawn).
    pub fn remove(&mut self, story: i64) {
        self.examples.retain(|e| e.story != story);
    }

    /// The most similar example to `core` (a story's core, any order), other than `story` itself;
    /// ties go to the earlier example. `None` when there are no examples or nothing overlaps.
    pub fn nearest(&self, story: i64, core: &[(u64, f32)]) -> Option<LikeFalseAlarm> {
        if self.examples.is_empty() {
            return None;
        }
        let core = unit(core)?;
        let mut best: Option<(&FalseAlarmExample, f32)> = None;
        for e in self.examples.iter().filter(|e| e.story != story) {
            let sim = dot(&core, &e.core);
            if sim > 0.0 && best.is_none_or(|(_, b)| sim > b) {
                best = Some((e, sim));
            }
        }
        best.map(|(e, sim)| LikeFalseAlarm {
            story: e.story,
            title: e.title.clone(),
            similarity: sim.clamp(0.0, 1.0),
            reason: e.reason.clone(),
        })
    }
}

/// The vector sorted by term (duplicate terms summed), scaled to unit length; `None` when it has
/// no finite positive length.
fn unit(core: &[(u64, f32)]) -> Option<Vec<(u64, f32)>> {
    let mut v: Vec<(u64, f32)> = core.iter().copied().filter(|(_, w)| w.is_finite()).collect();
    v.sort_unstable_by_key(|(t, _)| *t);
    v.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            kept.1 += later.1;
            true
        } else {
            false
        }
    });
    let norm = v.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return None;
    }
    for (_, w) in &mut v {
        *w /= norm;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(story: i64, core: &[(u64, f32)]) -> FalseAlarmExample {
        FalseAlarmExample::new(story, format!("事件 {story}"), "非本地".into(), core).expect("has weight")
    }

    #[test]
    fn the_nearest_example_is_found_by_cosine_whatever_the_order_and_scale() {
        let model =
            RelevanceModel::new(vec![ex(1, &[(10, 1.0), (20, 1.0)]), ex(2, &[(30, 2.0), (40, 2.0), (10, 0.5)])]);
        // Same direction as example 1, scaled and unordered: similarity 1.
        let like = model.nearest(99, &[(20, 3.0), (10, 3.0)]).expect("similar");
        assert_eq!(like.story, 1);
        assert!((like.similarity - 1.0).abs() < 1e-5, "{}", like.similarity);
        // Half overlap with example 2 only.
        let like = model.nearest(99, &[(30, 1.0), (50, 1.0)]).expect("similar");
        assert_eq!(like.story, 2);
        assert!(like.similarity > 0.4 && like.similarity < 0.5, "{}", like.similarity);
        assert_eq!(like.reason, "非本地");
        // Nothing shared, an empty core, or the story itself: nothing.
        assert_eq!(model.nearest(99, &[(60, 1.0)]), None);
        assert_eq!(model.nearest(99, &[]), None);
        assert_eq!(RelevanceModel::new(vec![ex(1, &[(10, 1.0)])]).nearest(1, &[(10, 1.0)]), None);
    }

    #[test]
    fn examples_are_added_replaced_and_removed_by_story() {
        let mut model = RelevanceModel::default();
        assert!(model.is_empty() && model.nearest(5, &[(1, 1.0)]).is_none());
        model.add(ex(1, &[(10, 1.0)]));
        model.add(ex(1, &[(20, 1.0)]));
        assert_eq!(model.len(), 1);
        assert_eq!(model.nearest(5, &[(20, 1.0)]).map(|l| l.story), Some(1));
        model.remove(1);
        assert!(model.is_empty());
    }

    #[test]
    fn hostile_weights_give_no_example_and_no_panic() {
        assert!(FalseAlarmExample::new(1, String::new(), String::new(), &[(1, 0.0)]).is_none());
        assert!(FalseAlarmExample::new(1, String::new(), String::new(), &[(1, f32::NAN), (2, f32::INFINITY)]).is_none());
        let model = RelevanceModel::new(vec![ex(1, &[(1, 1.0), (1, 1.0), (2, 1.0)])]);
        let like = model.nearest(2, &[(1, 2.0), (2, 1.0), (3, f32::NAN)]).expect("overlap");
        assert!(like.similarity <= 1.0 && like.similarity > 0.99, "{}", like.similarity);
    }
}
