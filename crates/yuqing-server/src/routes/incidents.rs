//! Incidents (处置工单) and alerts (预警): the desk's pages and API, overdue records, the clock.

use super::openapi::{
    ParamType::{Int, Text},
    BAD_REQUEST, CREATED, NOT_FOUND, OK,
};
use super::{
    Access::{Roles, SignedIn},
    ApiDoc, Routes,
};
use crate::auth::policy::{OFFICE, OPENERS, OVERDUE_READERS, WORKERS};
use serde_json::json;

pub fn routes() -> Routes {
    Routes::new()
        .get("/incidents", SignedIn, "查看处置工单", crate::web::incidents)
        .get("/incidents/{id}", SignedIn, "查看处置工单", crate::web::incident)
        .post("/incidents/{id}/act", Roles(WORKERS), "办理工单", crate::web::incident_act)
        .get("/alerts", SignedIn, "查看预警记录", crate::pages::alerts)
        .post("/alerts/{id}/ack", Roles(WORKERS), "确认预警", crate::web::alert_ack::alert_ack)
        .api_get(
            "/api/v1/alerts",
            SignedIn,
            "查看预警记录",
            ApiDoc::new("预警", "预警列表")
                .response(200, OK)
            ,
            crate::api::alerts,
        )
        .api_post(
            "/api/v1/alerts/{id}/ack",
            Roles(WORKERS),
            "确认预警",
            ApiDoc::new("预警", "确认预警（停止升级）")
                .path("id", "编号")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::ack_alert,
        )
        .api_get(
            "/api/v1/incidents",
            SignedIn,
            "查看处置工单",
            ApiDoc::new("处置", "处置工单列表（责任单位只见本单位）")
                .paged()
                .query("state", Text, "状态，如 Triage 或 待研判")
                .query("open", Text, "1：只看未办结")
                .query("department", Text, "牵头或配合单位")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::incidents,
        )
        .api_post(
            "/api/v1/incidents",
            Roles(OPENERS),
            "开启处置工单",
            ApiDoc::new("处置", "人工开启工单")
                .body(json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"story": {"type": "integer"}, "post": {"type": "integer"}, "title": {"type": "string"}}}}}}))
                .response(201, CREATED)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::open_incident,
        )
        .api_get(
            "/api/v1/incidents/{id}",
            SignedIn,
            "查看处置工单",
            ApiDoc::new("处置", "工单详情：状态、可执行操作、时限倒计时、时间线、总结评估用时")
                .path("id", "编号")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::incident,
        )
        .api_post(
            "/api/v1/incidents/{id}/actions",
            Roles(WORKERS),
            "办理工单",
            ApiDoc::new("处置", "执行处置操作")
                .describe("非法步骤返回 409，并说明当前状态与可执行的操作；前提不满足返回 422。")
                .path("id", "编号")
                .body(json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["action"], "description": "处置操作。action 取值：report{summary}、report_to_leadership{summary}、start_verification、submit_verification{findings}、assign{department,reason?}、reassign_lead{department,reason}、add_note{text}、add_attachment{name,sha256,size}、add_task{title,owner?,due_at?}、complete_task{task,note?}、draft_statement{statement?,title?,text}、submit_for_approval{statement}、approve{statement,comment?}、reject{statement,comment}、publish{statement,channel,url?,at?,spokesperson,timetable?,answers_node?}、start_follow_up、submit_review{lessons}、close{reason?}、reopen{reason}", "properties": {"action": {"type": "string", "enum": ["report", "report_to_leadership", "start_verification", "submit_verification", "assign", "reassign_lead", "add_note", "add_attachment", "add_task", "complete_task", "draft_statement", "submit_for_approval", "approve", "reject", "publish", "start_follow_up", "submit_review", "close", "reopen", "mark_false_alarm"]}}, "additionalProperties": true}}}}))
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::act,
        )
        .api_post(
            "/api/v1/incidents/{id}/stories",
            Roles(OPENERS),
            "合并事件",
            ApiDoc::new("处置", "并入另一个舆情事件")
                .path("id", "编号")
                .body(json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["story"], "properties": {"story": {"type": "integer"}}}}}}))
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::add_story,
        )
        .api_get(
            "/api/v1/incidents/{id}/statements/{sid}/diff",
            SignedIn,
            "查看口径修改",
            ApiDoc::new("处置", "口径两个版本的逐字差异")
                .path("id", "编号")
                .path("sid", "口径编号")
                .query("from", Int, "旧版本号，默认为 to 的前一版")
                .query("to", Int, "新版本号，默认为最新版")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::statement_diff,
        )
        .api_post(
            "/api/v1/incidents/{id}/attachments",
            Roles(WORKERS),
            "上传附件",
            ApiDoc::new("处置", "上传附件（原始字节，按 sha256 存储）")
                .path("id", "编号")
                .query_required("name", Text, "")
                .body(json!({"required": true, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}))
                .response(201, CREATED)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::add_attachment,
        )
        .api_get(
            "/api/v1/incidents/{id}/attachments/{sha}",
            SignedIn,
            "下载附件",
            ApiDoc::new("处置", "下载附件")
                .path("id", "编号")
                .path("sha", "sha256")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::attachment,
        )
        .api_get(
            "/api/v1/overdue",
            Roles(OVERDUE_READERS),
            "查看超时记录",
            ApiDoc::new("处置", "超时记录（迟报、超时未回应）")
                .paged()
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::overdue,
        )
        .api_post(
            "/api/v1/desk/tick",
            Roles(OFFICE),
            "触发时限检查",
            ApiDoc::new("处置", "立即运行一次时限检查（服务器也会定时运行）")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::tick,
        )
}
