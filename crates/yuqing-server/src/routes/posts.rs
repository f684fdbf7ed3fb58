//! Posts (信息) and full-text search.

use super::openapi::{ParamType::Text, OK};
use super::{Access::SignedIn, ApiDoc, Routes};

pub fn routes() -> Routes {
    Routes::new()
        .get("/posts", SignedIn, "查看信息", crate::web::posts_page::posts)
        .get("/posts/{id}", SignedIn, "查看一条帖文（转到它所在事件的帖文列表）", crate::pages::post)
        .get("/search", SignedIn, "检索帖文", crate::pages::search)
        .api_get(
            "/api/v1/search",
            SignedIn,
            "检索帖文",
            ApiDoc::new("信息", "全文检索（高亮）").query("q", Text, "检索词").paged().response(200, OK),
            crate::api::search,
        )
}
