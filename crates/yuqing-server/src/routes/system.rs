//! The overview (总览) and its live updates, the 系统 page, health, page assets, statistics, the
//! outbox, the audit log and the OpenAPI document.

use super::openapi::{
    ParamType::{Int, Text},
    BAD_REQUEST, NOT_FOUND, OK,
};
use super::{
    Access::{Public, Roles, SignedIn},
    ApiDoc, Routes,
};
use crate::auth::policy::OFFICE;

pub fn routes() -> Routes {
    Routes::new()
        .get("/", SignedIn, "查看总览", crate::web::dashboard)
        .get("/dashboard/fragment", SignedIn, "查看总览", crate::web::dashboard_fragment)
        .get("/events", SignedIn, "接收总览更新", crate::web::events)
        .get("/system", Roles(OFFICE), "查看系统设置与审计日志", crate::web::system)
        .get("/healthz", Public, "检查服务状态", || async { "ok" })
        // Readiness and metrics check their callers themselves (metrics.rs): load balancers and
        // Prometheus do not sign in.
        .get("/readyz", Public, "检查服务是否就绪", crate::metrics::readyz)
        .get("/metrics", Public, "读取运行指标", crate::metrics::serve)
        .get("/assets/{file}", Public, "读取页面样式与脚本", crate::assets::serve)
        .api_get(
            "/api/v1/stats",
            SignedIn,
            "查看统计",
            ApiDoc::new("信息", "库内统计").response(200, OK),
            crate::api::stats,
        )
        .api_get(
            "/api/v1/outbox",
            Roles(OFFICE),
            "查看通知发送记录",
            ApiDoc::new("通知", "通知发件箱与每次投递尝试")
                .paged()
                .query("status", Text, "pending | delivered | expired")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND),
            crate::desk_api::outbox_list,
        )
        .api_get(
            "/api/v1/audit",
            Roles(OFFICE),
            "查看审计日志",
            ApiDoc::new("审计", "审计日志（新的在前）")
                .query("limit", Int, "每页条数，1–500，默认 50")
                .query("offset", Int, "跳过条数，0–50000000；更大返回 400")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND),
            crate::desk_api::audit,
        )
        .api_get(
            "/api/v1/audit/verify",
            Roles(OFFICE),
            "校验审计日志",
            ApiDoc::new("审计", "校验审计日志哈希链；断裂时返回 409 与第一条断裂的条目")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND),
            crate::desk_api::audit_verify,
        )
        .api_get(
            "/api/v1/openapi.json",
            Public,
            "查看接口说明",
            ApiDoc::new("系统", "本文档").response(200, OK),
            super::openapi::serve,
        )
}
