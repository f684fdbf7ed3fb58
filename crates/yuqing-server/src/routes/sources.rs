//! Collection: sources (信息源) and their health, pushed posts, page snapshots.

use super::openapi::OK;
use super::{
    Access::{Roles, SignedIn},
    ApiDoc, Routes,
};
use crate::auth::policy::PUSHERS;
use serde_json::json;

pub fn routes() -> Routes {
    Routes::new()
        .get("/sources", SignedIn, "查看信息源", crate::web::sources_page::sources_page)
        .api_post(
            "/api/v1/posts",
            Roles(PUSHERS),
            "推送帖文",
            ApiDoc::new("采集", "推送帖文（外部采集程序）：请求体为每行一条帖文的 JSONL（或帖文对象的 JSON 数组），字段同 yuqing ingest；一次最多 1000 条。逐条答复 accepted（已接收）、duplicate（重复）或 rejected（拒收及原因）")
                .body(json!({"required": true, "content": {"application/x-ndjson": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}))
                .response(200, "成功（本批已入库）：{accepted, duplicates, rejected, items: [{index, line, status, post_id?, duplicate_of?, duplicate_of_index?, reason?}]}，每项按其在请求中的序号 index（从 0 起）答复")
                .response(400, "请求有误（中文说明，指明行号）")
                .response(500, "入库失败，本批帖文均未入库（可原样重推）")
                .response(503, "服务为只读模式")
            ,
            crate::collect_api::push_posts,
        )
        .api_get(
            "/api/v1/sources",
            SignedIn,
            "查看信息源状态",
            ApiDoc::new("采集", "信息源健康状况：最近成功时间、连续失败次数、最近错误、近 24 小时入库条数、抓取耗时中位数")
                .response(200, OK)
            ,
            crate::collect_api::sources,
        )
        .get("/snapshots/{sha}", SignedIn, "查看快照", crate::collect_api::snapshot)
}
