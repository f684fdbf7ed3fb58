//! Reports (报表), disposal forms (舆情处置情况报告单) and the risk register (隐患排查表).

use super::openapi::{ParamType::Text, BAD_REQUEST, NOT_FOUND, OK};
use super::{
    Access::{Roles, SignedIn},
    ApiDoc, Routes,
};
use crate::auth::policy::{FORM_WRITERS, OFFICE, REPORT_MAKERS, REPORT_READERS, RISK_KEEPERS};
use serde_json::json;

pub fn routes() -> Routes {
    Routes::new()
        .get("/reports", SignedIn, "查看报表", crate::reports::pages::index)
        .post("/reports/generate", Roles(REPORT_MAKERS), "生成报表", crate::reports::pages::generate)
        .get("/reports/{id}", Roles(REPORT_READERS), "查看报表", crate::reports::pages::view)
        .get("/reports/disposal", SignedIn, "查看处置情况报告单", crate::reports::pages::disposal_index)
        .post("/reports/disposal", Roles(FORM_WRITERS), "新建处置情况报告单", crate::reports::pages::disposal_new)
        .get("/reports/disposal/{id}", SignedIn, "查看处置情况报告单", crate::reports::pages::disposal_view)
        .post("/reports/disposal/{id}", Roles(FORM_WRITERS), "修改或签发处置情况报告单", crate::reports::pages::disposal_act)
        .get("/reports/risks", SignedIn, "查看隐患排查表", crate::reports::pages::risks)
        .post("/reports/risks", Roles(RISK_KEEPERS), "登记隐患", crate::reports::pages::risk_add)
        .post("/reports/risks/{id}", Roles(RISK_KEEPERS), "修改隐患", crate::reports::pages::risk_update)
        .api_get(
            "/api/v1/reports",
            Roles(REPORT_READERS),
            "查看报表",
            ApiDoc::new("报表", "已生成的报表（日报、周报、专报、考评），最新在前")
                .query("kind", Text, "daily | weekly | special | stats")
                .query("limit", Text, "条数")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::reports::list,
        )
        .api_post(
            "/api/v1/reports",
            Roles(REPORT_MAKERS),
            "生成报表",
            ApiDoc::new("报表", "生成报表并存档")
                .body(json!({"content": {"application/json": {"schema": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["daily", "weekly", "special", "stats"]}, "date": {"type": "string", "description": "日报日期 YYYY-MM-DD，默认今天"}, "week_of": {"type": "string", "description": "周报：该周任一天，默认上周"}, "from": {"type": "string"}, "to": {"type": "string"}, "incident": {"type": "integer", "description": "专报的工单"}, "title": {"type": "string", "maxLength": 60, "description": "专报标题（可选，默认“关于……的舆情专报”）"}}}}}}))
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
                .response(201, "已生成")
            ,
            crate::reports::create,
        )
        .api_post(
            "/api/v1/reports/schedule",
            Roles(OFFICE),
            "触发定时报表",
            ApiDoc::new("报表", "立即执行定时报表（补发停机期间错过的日报、周报、隐患排查提醒；已生成的不重复）")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::reports::run_schedule,
        )
        .api_get(
            "/api/v1/reports/{id}",
            Roles(REPORT_READERS),
            "下载报表",
            ApiDoc::new("报表", "一份已存档的报表（JSON 或下载文件）")
                .path("id", "报表编号")
                .query("format", Text, "docx | xlsx | html | pdf：下载该格式的文件；省略时返回 JSON（pdf 需安装 LibreOffice，未安装返回 501）")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
                .response(501, "未安装 LibreOffice，无法生成 PDF")
            ,
            crate::reports::get,
        )
        .api_get(
            "/api/v1/reports/disposal",
            SignedIn,
            "查看处置情况报告单",
            ApiDoc::new("报表", "舆情处置情况报告单列表")
                .query("incident", Text, "只列该工单的")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::reports::disposal_list,
        )
        .api_post(
            "/api/v1/reports/disposal",
            Roles(FORM_WRITERS),
            "新建处置情况报告单",
            ApiDoc::new("报表", "为工单新建报告单（自动填写核查结果、处置措施、审定口径、处置结果）")
                .body(json!({"content": {"application/json": {"schema": {"type": "object", "required": ["incident"], "properties": {"incident": {"type": "integer"}}}}}}))
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
                .response(201, "已新建草稿")
            ,
            crate::reports::disposal_create,
        )
        .api_get(
            "/api/v1/reports/disposal/{id}",
            SignedIn,
            "查看处置情况报告单",
            ApiDoc::new("报表", "一份报告单（JSON 或下载文件）")
                .path("id", "报告单编号")
                .query("format", Text, "docx | xlsx | html | pdf：下载该格式的文件；省略时返回 JSON（pdf 需安装 LibreOffice，未安装返回 501）")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::reports::disposal_get,
        )
        .api_post(
            "/api/v1/reports/disposal/{id}",
            Roles(FORM_WRITERS),
            "修改处置情况报告单",
            ApiDoc::new("报表", "修改草稿的栏目（title、cause、measures、statement、result、department、leader、phone、date、recipient）；已签发的返回 409")
                .path("id", "报告单编号")
                .body(json!({"content": {"application/json": {"schema": {"type": "object", "additionalProperties": {"type": "string"}}}}}))
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
                .response(409, "已签发，不能修改")
            ,
            crate::reports::disposal_edit,
        )
        .api_post(
            "/api/v1/reports/disposal/{id}/issue",
            Roles(OFFICE),
            "签发处置情况报告单",
            ApiDoc::new("报表", "签发：按年度顺序编号 YQCZBG-YYYY-NNN 并冻结")
                .path("id", "报告单编号")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
                .response(409, "已签发")
            ,
            crate::reports::disposal_issue,
        )
        .api_get(
            "/api/v1/reports/risks",
            SignedIn,
            "查看隐患排查表",
            ApiDoc::new("报表", "网络舆情隐患排查表（含是否逾期；责任单位成员只看本单位）")
                .query("format", Text, "docx | xlsx | html | pdf：下载该格式的文件；省略时返回 JSON（pdf 需安装 LibreOffice，未安装返回 501）")
                .query("department", Text, "只看该单位")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::reports::risks,
        )
        .api_post(
            "/api/v1/reports/risks",
            Roles(RISK_KEEPERS),
            "登记隐患",
            ApiDoc::new("报表", "登记隐患")
                .body(json!({"content": {"application/json": {"schema": {"type": "object", "properties": {"department": {"type": "string"}, "content": {"type": "string"}, "offline_measures": {"type": "string"}, "online_response": {"type": "string"}, "due_date": {"type": "string"}, "status": {"type": "string"}}}}}}))
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
                .response(201, "已登记")
            ,
            crate::reports::risk_add,
        )
        .api_post(
            "/api/v1/reports/risks/{id}",
            Roles(RISK_KEEPERS),
            "修改隐患",
            ApiDoc::new("报表", "修改隐患或标记解决（修改记录保留）")
                .path("id", "隐患编号")
                .body(json!({"content": {"application/json": {"schema": {"type": "object", "properties": {"department": {"type": "string"}, "content": {"type": "string"}, "offline_measures": {"type": "string"}, "online_response": {"type": "string"}, "due_date": {"type": "string"}, "status": {"type": "string"}}}}}}))
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::reports::risk_update,
        )
        .api_get(
            "/api/v1/reports/risks/{id}/history",
            SignedIn,
            "查看隐患修改记录",
            ApiDoc::new("报表", "隐患的修改记录")
                .path("id", "隐患编号")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::reports::risk_history,
        )
}
