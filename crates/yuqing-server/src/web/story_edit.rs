//! Merging and splitting stories by hand (合并 / 拆分), from the story page and the JSON API.
//!
//! The change itself is the pipeline's (it owns the assembly state the change must keep in step):
//! the binary hands the server a [`StoryEditor`] (yuqing-ingest's live owner). Without one (a server that only reads) the
//! forms are not shown and the calls answer 503.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use yuqing_store::story_edit::{EditKind, EditRecord};

use crate::auth::CurrentUser;
use crate::desk_api::body;
use crate::error::{titled_page, AppError, AppResult, Code};
use crate::html::{csrf_field, fmt_time};
use crate::AppState;
use maud::{html, Markup};
pub use yuqing_desk::story_edit::{EditDone, EditError, StoryEditor};

/// Who may merge and split: the people who open incidents and link stories to them.
pub fn may_edit(cu: &CurrentUser) -> bool {
    yuqing_desk::permission::may_open_incidents(cu.user.role)
}

/// The pairs of a urlencoded form body, repeated names kept (checkboxes).
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.trim())
}

/// Post ids from the form: checked boxes (`post`), and any typed in `posts` (commas, spaces).
fn post_ids(pairs: &[(String, String)]) -> AppResult<Vec<i64>> {
    let mut out = Vec::new();
    for (k, v) in pairs {
        let values: Vec<&str> = match k.as_str() {
            "post" => vec![v.trim()],
            "posts" => v.split([',', '，', ' ', '、']).map(str::trim).collect(),
            _ => continue,
        };
        for s in values.into_iter().filter(|s| !s.is_empty()) {
            out.push(
                s.trim_start_matches('#')
                    .parse::<i64>()
                    .map_err(|_| AppError::invalid_field("posts", format!("帖子编号应为整数，收到“{s}”")))?,
            );
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

pub(crate) fn story_id(s: &str) -> AppResult<i64> {
    s.trim().trim_start_matches('#').parse::<i64>().map_err(|_| AppError::invalid_id("事件", s))
}

pub(crate) async fn run<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&dyn StoryEditor) -> Result<T, EditError> + Send + 'static,
) -> AppResult<T> {
    let Some(editor): Option<Arc<dyn StoryEditor>> = state.story_editor.clone() else {
        return Err(AppError::refused(Code::ReadOnly, "本服务只读，不能调整舆情事件"));
    };
    tokio::task::spawn_blocking(move || f(editor.as_ref())).await?.map_err(|e| match e {
        EditError::Refused(m) => AppError::conflict(m),
        EditError::Failed(m) => AppError::internal("story edit", m),
    })
}

/// `POST /stories/{id}/merge` (form: `from`, `reason`): merges story `from` into this one.
pub async fn merge_form(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    let parsed = story_id(&id).and_then(|into| story_id(field(&pairs, "from")).map(|from| (into, from)));
    let (into, from) = match parsed {
        Ok(p) => p,
        Err(e) => return titled_page(&state, "合并事件", e),
    };
    let reason = field(&pairs, "reason").to_string();
    let actor = cu.user.name.clone();
    match run(&state, move |e| e.merge(into, from, &reason, &actor)).await {
        Ok(done) => Redirect::to(&format!("/stories/{}?edited={}", done.story, done.edit)).into_response(),
        Err(e) => titled_page(&state, "合并事件", e),
    }
}

/// `POST /stories/{id}/split` (form: checked `post` boxes and/or `posts`, `reason`): moves the
/// posts out into a new story.
pub async fn split_form(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let pairs = form_pairs(&body);
    let parsed = story_id(&id).and_then(|s| post_ids(&pairs).map(|p| (s, p)));
    let (story, posts) = match parsed {
        Ok(p) => p,
        Err(e) => return titled_page(&state, "拆分事件", e),
    };
    let reason = field(&pairs, "reason").to_string();
    let actor = cu.user.name.clone();
    match run(&state, move |e| e.split(story, &posts, &reason, &actor)).await {
        Ok(done) => Redirect::to(&format!("/stories/{}?edited={}", done.story, done.edit)).into_response(),
        Err(e) => titled_page(&state, "拆分事件", e),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeRequest {
    from: i64,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitRequest {
    posts: Vec<i64>,
    reason: String,
}

/// `POST /api/v1/stories/{id}/merge` `{"from": 12, "reason": "…"}`.
pub async fn merge_api(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> AppResult<Response> {
    let into = story_id(&id)?;
    let req: MergeRequest = body(&bytes)?;
    let actor = cu.user.name.clone();
    let done = run(&state, move |e| e.merge(into, req.from, &req.reason, &actor)).await?;
    Ok(Json(json!({"edit": done.edit, "story": done.story})).into_response())
}

/// `POST /api/v1/stories/{id}/split` `{"posts": [101, 102], "reason": "…"}`.
pub async fn split_api(
    State(state): State<AppState>,
    cu: CurrentUser,
    Path(id): Path<String>,
    bytes: Bytes,
) -> AppResult<Response> {
    let story = story_id(&id)?;
    let req: SplitRequest = body(&bytes)?;
    let actor = cu.user.name.clone();
    let done = run(&state, move |e| e.split(story, &req.posts, &req.reason, &actor)).await?;
    Ok(Json(json!({"edit": done.edit, "story": done.story})).into_response())
}

/// The story page's 人工调整 section: the merge form, the split form (its checkboxes sit beside
/// the posts, in `form="split"`), and the story's edit history.
pub fn section(story: i64, edits: &[EditRecord], cu: &CurrentUser, editable: bool) -> Markup {
    html! {
        section.story-edit {
            h3 { "人工调整" }
            @if editable && may_edit(cu) {
                form method="post" action={ "/stories/" (story) "/merge" } class="act" id="merge" {
                    (csrf_field(cu.csrf_token()))
                    label { "把事件 # " input name="from" size="8" required inputmode="numeric"; }
                    " 并入本事件（同一件事被分成了两个事件）；"
                    label { "原因 " input name="reason" size="30" required maxlength="500"; }
                    " " button { "合并" }
                }
                form method="post" action={ "/stories/" (story) "/split" } class="act" id="split" {
                    (csrf_field(cu.csrf_token()))
                    "勾选下方帖文（或填写编号 " input name="posts" size="16" placeholder="如 101,102";
                    "），移出为一个新事件；"
                    label { "原因 " input name="reason" size="30" required maxlength="500"; }
                    " " button { "移出为新事件" }
                }
            }
            @if edits.is_empty() {
                p.muted { "暂无人工合并或拆分。" }
            } @else {
                ul.edits {
                    @for e in edits {
                        li {
                            (fmt_time(&e.at)) " · " (e.actor) " · " (e.kind.label_zh()) "："
                            (edit_summary(story, e))
                            "；原因：" (e.reason)
                        }
                    }
                }
            }
        }
    }
}

/// One line of the edit history, as seen from `story`.
fn edit_summary(story: i64, e: &EditRecord) -> Markup {
    match e.kind {
        EditKind::Merge if e.story == story => {
            html! { "事件 #" (e.other) "（" (e.other_title) "）并入本事件，帖文 " (e.moved) " 条" }
        }
        EditKind::Merge => html! { "本事件并入 " a href={ "/stories/" (e.story) } { "事件 #" (e.story) } },
        EditKind::Split if e.story == story => {
            html! { "移出帖文 " (e.moved) " 条，成为 " a href={ "/stories/" (e.other) } { "事件 #" (e.other) } }
        }
        EditKind::Split => {
            html! { "由 " a href={ "/stories/" (e.story) } { "事件 #" (e.story) } " 拆分而来，帖文 " (e.moved) " 条" }
        }
    }
}

/// The checkbox beside a post on the story page (nothing when the person may not split).
pub fn post_checkbox(post: i64, cu: &CurrentUser, editable: bool) -> Markup {
    html! {
        @if editable && may_edit(cu) {
            // In a label, so on a phone the tap target is the label's 44 px, not the box's 22.
            label.pick {
                input type="checkbox" name="post" value=(post) form="split" aria-label={ "选择帖文 #" (post) };
            }
            " "
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_pairs_keep_repeated_checkboxes_and_decode() {
        let pairs =
            form_pairs(b"_csrf=x&post=3&post=12&posts=5%EF%BC%8C+7&reason=%E5%B9%BF%E5%91%8A+%E6%8F%92%E5%85%A5");
        assert_eq!(post_ids(&pairs).expect("ids"), vec![3, 5, 7, 12]);
        assert_eq!(field(&pairs, "reason"), "广告 插入");
        assert!(post_ids(&form_pairs(b"post=abc")).unwrap_err().to_string().contains("abc"));
        assert_eq!(story_id("#42").ok(), Some(42));
        assert!(story_id("四十二").is_err());
    }
}
