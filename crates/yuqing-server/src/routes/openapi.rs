//! The OpenAPI document of the JSON API, made from the route table: each path, method and security
//! requirement comes from the route's own declaration, the roles that may call it from its
//! permission, and the rest (summary, parameters, body, answers) from the [`ApiDoc`] written beside
//! it. Served at `/api/v1/openapi.json`.

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Map, Value};

use super::{Access, Route};

/// "成功" for a 200.
pub const OK: &str = "成功";
/// "成功" for a 201.
pub const CREATED: &str = "成功";
/// The usual 400.
pub const BAD_REQUEST: &str = "请求有误（中文说明）";
/// The usual 404.
pub const NOT_FOUND: &str = "不存在";

/// The type of a query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Int,
    Text,
}

#[derive(Debug, Clone)]
struct Param {
    name: &'static str,
    in_path: bool,
    required: bool,
    ty: ParamType,
    description: &'static str,
}

/// What the document says of one API route beyond its path, method and permission.
#[derive(Debug, Clone)]
pub struct ApiDoc {
    tag: &'static str,
    summary: &'static str,
    description: Option<&'static str>,
    params: Vec<Param>,
    body: Option<Value>,
    responses: Vec<(u16, &'static str)>,
}

impl ApiDoc {
    /// `tag` groups the operation (e.g. "处置"); `summary` says what it does.
    pub fn new(tag: &'static str, summary: &'static str) -> ApiDoc {
        ApiDoc { tag, summary, description: None, params: Vec::new(), body: None, responses: Vec::new() }
    }

    /// A longer description.
    pub fn describe(mut self, text: &'static str) -> ApiDoc {
        self.description = Some(text);
        self
    }

    /// A path parameter (text; every `{name}` of the path needs one).
    pub fn path(mut self, name: &'static str, description: &'static str) -> ApiDoc {
        self.params.push(Param { name, in_path: true, required: true, ty: ParamType::Text, description });
        self
    }

    /// An optional query parameter.
    pub fn query(mut self, name: &'static str, ty: ParamType, description: &'static str) -> ApiDoc {
        self.params.push(Param { name, in_path: false, required: false, ty, description });
        self
    }

    /// `limit` and `offset` of a paged list, as `paging::window_values` reads them (default 50 a
    /// page, at most 500; an offset past 10,000 is a 400).
    pub fn paged(self) -> ApiDoc {
        self.query("limit", ParamType::Int, "每页条数，1–500，默认 50").query(
            "offset",
            ParamType::Int,
            "跳过条数，0–10000；更大返回 400",
        )
    }

    /// A required query parameter.
    pub fn query_required(mut self, name: &'static str, ty: ParamType, description: &'static str) -> ApiDoc {
        self.params.push(Param { name, in_path: false, required: true, ty, description });
        self
    }

    /// The request body (an OpenAPI `requestBody` object).
    pub fn body(mut self, body: Value) -> ApiDoc {
        self.body = Some(body);
        self
    }

    /// An answer the route gives. 401 and the role refusal's 403 are added from the permission.
    pub fn response(mut self, status: u16, description: &'static str) -> ApiDoc {
        self.responses.push((status, description));
        self
    }
}

/// The document, serialized once when the router is built.
#[derive(Debug, Clone)]
pub struct Document(pub Arc<str>);

/// `GET /api/v1/openapi.json`.
pub async fn serve(Extension(doc): Extension<Document>) -> Response {
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8")], doc.0.to_string()).into_response()
}

const INFO: &str =
    "除本说明（openapi.json）外，所有接口都需要登录：脚本用 Authorization: Bearer 令牌（yuqing user add \
创建用户时给出），浏览器用登录后的会话（写操作另需 X-CSRF-Token 请求头）。每个接口的说明写明哪些角色可以调用。\
错误返回 {\"code\": \"稳定的错误码\", \"message\": \"中文说明\", \"error\": \"同 message\"}，错误码见 docs/ERRORS.md；\
内部错误只给出请求编号。时间为 RFC 3339。";

fn role_names(roles: &[yuqing_core::people::Role]) -> String {
    roles.iter().map(|r| r.label_zh()).collect::<Vec<_>>().join("、")
}

/// Who may call a route, in the document's words.
fn who(access: Access) -> String {
    match access {
        Access::Public => "无需登录。".to_string(),
        Access::SignedIn => "需登录，任何角色均可调用。".to_string(),
        Access::Roles(roles) => format!("仅限{}调用。", role_names(roles)),
    }
}

fn operation(route: &Route, doc: &ApiDoc) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), json!(doc.summary));
    op.insert("tags".into(), json!([doc.tag]));
    let description = match doc.description {
        Some(d) => format!("{d}\n\n{}", who(route.access)),
        None => who(route.access),
    };
    op.insert("description".into(), json!(description));
    if !doc.params.is_empty() {
        let params: Vec<Value> = doc
            .params
            .iter()
            .map(|p| {
                let ty = match p.ty {
                    ParamType::Int => "integer",
                    ParamType::Text => "string",
                };
                let mut v = json!({"name": p.name, "in": if p.in_path { "path" } else { "query" },
                    "required": p.required, "schema": {"type": ty}});
                if !p.description.is_empty() {
                    v["description"] = json!(p.description);
                }
                v
            })
            .collect();
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(body) = &doc.body {
        op.insert("requestBody".into(), body.clone());
    }
    let mut responses = Map::new();
    for (status, d) in &doc.responses {
        responses.insert(status.to_string(), json!({"description": d}));
    }
    if route.access != Access::Public {
        responses.insert("401".into(), json!({"description": "未登录或令牌无效"}));
        op.insert("security".into(), json!([{"bearer": []}]));
    }
    if let Access::Roles(roles) = route.access {
        responses.insert("403".into(), json!({"description": format!("无权限：仅限{}", role_names(roles))}));
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The OpenAPI 3.1 document of every API route in `routes`.
pub fn document(routes: &[Route]) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let Some(doc) = &r.doc else { continue };
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.as_str().to_ascii_lowercase()] = operation(r, doc);
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "yuqing 舆情监测与处置 API", "version": "1", "description": INFO},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        document(&super::super::all().into_parts().1.routes)
    }

    /// Every API route is in the document under its method, and nothing else is.
    #[test]
    fn every_api_route_and_only_they_are_documented() {
        let table = super::super::all().into_parts().1;
        let d = doc();
        let paths = d["paths"].as_object().expect("paths");
        let mut documented = 0;
        for (path, ops) in paths {
            for (method, _) in ops.as_object().expect("operations") {
                documented += 1;
                let m: axum::http::Method = method.to_ascii_uppercase().parse().expect("method");
                let r = table.find(&m, path).unwrap_or_else(|| panic!("{method} {path} documented, not routed"));
                assert!(r.path.starts_with("/api/"), "{path}");
            }
        }
        let api = table.routes.iter().filter(|r| r.path.starts_with("/api/")).count();
        assert_eq!(documented, api);
    }

    /// Each `{name}` of a path has its path parameter, and no other path parameter is declared.
    #[test]
    fn path_parameters_match_the_pattern() {
        for (path, ops) in doc()["paths"].as_object().expect("paths") {
            let mut want: Vec<&str> = path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect();
            want.sort();
            for (method, op) in ops.as_object().expect("operations") {
                let mut got: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| ps.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect())
                    .unwrap_or_default();
                got.sort();
                assert_eq!(got, want, "{method} {path}");
            }
        }
    }

    /// Security and the 401/403 answers follow the permission; the roles are named.
    #[test]
    fn security_follows_the_permission() {
        let d = doc();
        let open = &d["paths"]["/api/v1/openapi.json"]["get"];
        assert!(open.get("security").is_none());
        assert!(open["responses"].get("401").is_none());
        let read = &d["paths"]["/api/v1/stories"]["get"];
        assert_eq!(read["security"], json!([{"bearer": []}]));
        assert!(read["responses"].get("401").is_some());
        assert!(read["responses"].get("403").is_none());
        let tick = &d["paths"]["/api/v1/desk/tick"]["post"];
        assert_eq!(tick["responses"]["403"]["description"], "无权限：仅限系统管理员、办公室");
        assert!(tick["description"].as_str().is_some_and(|s| s.ends_with("仅限系统管理员、办公室调用。")));
    }
}
