//! Derived tables (专题 matches, post places) are rebuilt from every stored post when what they
//! were built with changes: the posts are read page by page and each page is mapped in parallel.

use rayon::prelude::*;
use yuqing_store::{DataDir, PostRecord, Store, StoreError};

/// Posts read per page.
const PAGE: usize = 5_000;

/// `f` of every stored post, in post order, flattened.
pub fn map_stored_posts<T: Send>(
    data: &DataDir,
    f: impl Fn(&PostRecord) -> Vec<T> + Sync,
) -> Result<Vec<T>, StoreError> {
    let mut out: Vec<T> = Vec::new();
    let mut after = 0;
    loop {
        let page = data.store.posts_after(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = last.id;
        let mapped: Vec<Vec<T>> = page.par_iter().map(&f).collect();
        out.extend(mapped.into_iter().flatten());
    }
    Ok(out)
}
