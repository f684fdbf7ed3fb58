//! Sign-in and sign-out, the duty roster (值班表) and handovers, the current user, and user
//! administration.

use super::openapi::{BAD_REQUEST, CREATED, NOT_FOUND, OK};
use super::{
    Access::{Public, Roles, SignedIn},
    ApiDoc, Method, Routes,
};
use crate::auth::policy::{ADMINS, DUTY_STAFF, OFFICE};
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use serde_json::json;

pub fn routes() -> Routes {
    Routes::new()
        .get("/duty", SignedIn, "查看值班表", crate::web::duty)
        .post("/duty/import", Roles(OFFICE), "导入值班表", crate::web::duty_import)
        .post("/duty/handover", Roles(DUTY_STAFF), "写交接班记录", crate::web::duty_handover)
        .post("/system/users", Roles(ADMINS), "新增用户", crate::web::system_add_user)
        .post("/system/users/{name}/active", Roles(ADMINS), "启用或停用用户", crate::web::system_user_active)
        .post("/system/users/{name}/password", Roles(ADMINS), "设置用户密码", crate::web::system_user_password)
        .api_get(
            "/api/v1/me",
            SignedIn,
            "查看本人信息",
            ApiDoc::new("用户", "当前用户")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::me,
        )
        .api_get(
            "/api/v1/duty",
            SignedIn,
            "查看值班表",
            ApiDoc::new("值班", "值班：当前在岗、近期班次、交接记录")
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(403, "无权限")
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::duty,
        )
        .api_post(
            "/api/v1/duty",
            Roles(OFFICE),
            "导入值班表",
            ApiDoc::new("值班", "导入值班表（CSV：person,role,start,end 或 姓名,角色,开始时间,结束时间）")
                .body(json!({"required": true, "content": {"text/csv": {"schema": {"type": "string"}}}}))
                .response(200, OK)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::import_duty,
        )
        .api_post(
            "/api/v1/duty/handovers",
            Roles(DUTY_STAFF),
            "写交接班记录",
            ApiDoc::new("值班", "写交接班记录")
                .body(json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}}}}))
                .response(201, CREATED)
                .response(400, BAD_REQUEST)
                .response(404, NOT_FOUND)
            ,
            crate::desk_api::handover,
        )
        .get("/login", Public, "打开登录页", crate::auth::login_page)
        .layered(
            Method::Post,
            "/login",
            Public,
            "登录",
            post(crate::auth::login_submit).layer(DefaultBodyLimit::max(crate::auth::MAX_LOGIN_FORM_BYTES)),
        )
        .post("/logout", SignedIn, "退出登录", crate::auth::logout)
        .get("/logout", SignedIn, "退出登录", crate::auth::logout_page)
}
