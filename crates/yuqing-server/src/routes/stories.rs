//! Stories (舆情事件) and themes (专题): lists, pages, merges and splits by hand, 误报.

use super::openapi::{
    ParamType::{Int, Text},
    BAD_REQUEST, OK,
};
use super::{
    Access::{Roles, SignedIn},
    ApiDoc, Routes,
};
use crate::auth::policy::OPENERS;
use serde_json::json;

pub fn routes() -> Routes {
    Routes::new()
        .get("/stories", SignedIn, "查看舆情事件", crate::pages::index)
        .get("/stories/{id}", SignedIn, "查看舆情事件", crate::pages::story)
        .post("/stories/{id}/merge", Roles(OPENERS), "合并舆情事件", crate::web::story_edit::merge_form)
        .post("/stories/{id}/split", Roles(OPENERS), "拆分舆情事件", crate::web::story_edit::split_form)
        .post("/stories/{id}/false-alarm", Roles(OPENERS), "标记误报", crate::web::false_alarm::mark_form)
        .post("/stories/{id}/false-alarm/withdraw", Roles(OPENERS), "撤销误报标记", crate::web::false_alarm::withdraw_form)
        .get("/themes", SignedIn, "查看专题", crate::web::themes_page::themes_page)
        .get("/themes/{name}", SignedIn, "查看专题", crate::web::themes_page::theme_page)
        .api_get(
            "/api/v1/stories",
            SignedIn,
            "查看舆情事件",
            ApiDoc::new("舆情事件", "舆情事件列表")
                .paged()
                .query("order", Text, "grade | recent | posts")
                .query("all", Text, "1：含未定级事件")
                .response(200, OK)
            ,
            crate::api::stories,
        )
        .api_get(
            "/api/v1/stories/{id}",
            SignedIn,
            "查看舆情事件",
            ApiDoc::new("舆情事件", "一个舆情事件：定级依据、热度、帖文、预警")
                .path("id", "编号")
                .paged()
                .response(200, OK)
                .response(404, "不存在；已被人工合并进其他事件的，答 {\"code\": \"story_merged\", \"message\", \"merged_into\": 所并入的事件编号}")
            ,
            crate::api::story,
        )
        .api_post(
            "/api/v1/stories/{id}/merge",
            Roles(OPENERS),
            "合并舆情事件",
            ApiDoc::new("舆情事件", "人工合并：把事件 from 并入本事件（帖文、预警、关联工单归入本事件；记入审计日志）")
                .path("id", "编号")
                .body(json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["from", "reason"], "properties": {"from": {"type": "integer"}, "reason": {"type": "string", "maxLength": 500}}}}}}))
                .response(200, "成功：{\"edit\": 调整记录编号, \"story\": 结果事件编号}")
                .response(400, BAD_REQUEST)
                .response(409, "不能照此调整（中文说明：事件不存在或已并入其他事件、帖子不属于该事件、缺少原因等）")
                .response(503, "本服务只读")
            ,
            crate::web::story_edit::merge_api,
        )
        .api_post(
            "/api/v1/stories/{id}/split",
            Roles(OPENERS),
            "拆分舆情事件",
            ApiDoc::new("舆情事件", "人工拆分：把帖文移出本事件，成为一个新事件（记入审计日志）")
                .path("id", "编号")
                .body(json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["posts", "reason"], "properties": {"posts": {"type": "array", "items": {"type": "integer"}, "maxItems": 5000}, "reason": {"type": "string", "maxLength": 500}}}}}}))
                .response(200, "成功：{\"edit\": 调整记录编号, \"story\": 结果事件编号}")
                .response(400, BAD_REQUEST)
                .response(409, "不能照此调整（中文说明：事件不存在或已并入其他事件、帖子不属于该事件、缺少原因等）")
                .response(503, "本服务只读")
            ,
            crate::web::story_edit::split_api,
        )
        .api_post(
            "/api/v1/stories/{id}/false-alarm",
            Roles(OPENERS),
            "标记误报",
            ApiDoc::new("舆情事件", "标记误报：事件不再定级，作为误报学习样本；关联工单（未进入审批、且其事件都已标记）按误报关闭（记入审计日志）")
                .path("id", "编号")
                .body(json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "description": "原因（必填，不超过 500 字）"}}, "additionalProperties": false}}}}))
                .response(200, "成功：{\"story\": 事件编号, \"false_alarm\": true, \"closed_incidents\": [按误报关闭的工单], \"notes\": [说明]}")
                .response(400, BAD_REQUEST)
                .response(409, "不能照此办理（中文说明：事件不存在或已并入其他事件、已标记或未标记误报、缺少原因等）")
                .response(503, "本服务只读")
            ,
            crate::web::false_alarm::mark_api,
        )
        .api_post(
            "/api/v1/stories/{id}/false-alarm/withdraw",
            Roles(OPENERS),
            "撤销误报标记",
            ApiDoc::new("舆情事件", "撤销误报标记：事件立即重新定级（记入审计日志）")
                .path("id", "编号")
                .body(json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "description": "原因（必填，不超过 500 字）"}}, "additionalProperties": false}}}}))
                .response(200, "成功：{\"story\": 事件编号, \"false_alarm\": false}")
                .response(400, BAD_REQUEST)
                .response(409, "不能照此办理（中文说明：事件不存在或已并入其他事件、已标记或未标记误报、缺少原因等）")
                .response(503, "本服务只读")
            ,
            crate::web::false_alarm::withdraw_api,
        )
        .api_get(
            "/api/v1/themes",
            SignedIn,
            "查看专题",
            ApiDoc::new("专题", "专题列表：每个配置的专题及其事件数、已定级事件数、命中帖文数")
                .response(200, "成功：{min_posts, themes: [{name, description, expr, min_share, stories, graded, posts, last_at}]}")
            ,
            crate::web::themes_page::themes_api,
        )
        .api_get(
            "/api/v1/themes/{name}",
            SignedIn,
            "查看专题",
            ApiDoc::new("专题", "一个专题：每日命中帖文数与其事件（默认按级别，再按帖文数）")
                .path("name", "专题名称（URL 编码）")
                .query("order", Text, "排序：grade（默认，级别高的在前）或 recent（最近的在前）")
                .query("min_posts", Int, "只列出至少这么多条帖文的事件，默认 3")
                .paged()
                .response(200, "成功：{theme, daily: [{date, posts}], min_posts, total, stories: [事件字段 + matched]}")
                .response(400, "参数有误")
                .response(404, "没有这个专题")
            ,
            crate::web::themes_page::theme_api,
        )
}
