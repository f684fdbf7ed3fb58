//! Every route, declared once: its method and path, who may call it and what the call does (for the
//! refusal "…无权{what}"), its handler, and for the JSON API what the OpenAPI document says of it.
//! One module per area (stories, posts, incidents, rules, sources, reports, people, system) returns
//! its [`Routes`]; [`all`] merges them. The router, the permission check (`auth::enforce`, which
//! refuses a route that is not in the table) and the OpenAPI document ([`openapi::document`]) are
//! all made from this one table, so they cannot disagree.

mod incidents;
pub mod openapi;
mod people;
mod posts;
mod reports;
mod rules;
mod sources;
mod stories;
mod system;

use axum::handler::Handler;
use axum::routing::{get, post, MethodRouter};
use axum::Router;

pub use crate::auth::policy::Access;
pub use openapi::ApiDoc;

use crate::AppState;

/// The two methods the server answers (HEAD follows GET).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Route {
    pub method: Method,
    /// The route pattern as axum matches it (`/stories/{id}`).
    pub path: &'static str,
    pub access: Access,
    /// What the call does, for the refusal message: "…无权{what}".
    pub what: &'static str,
    /// What the OpenAPI document says of an API route; None for pages.
    pub doc: Option<ApiDoc>,
}

/// The table of every route, kept beside the router it was built with.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub routes: Vec<Route>,
}

impl Table {
    /// The line for a request: `path` is the matched route pattern. HEAD follows GET.
    pub fn find(&self, method: &axum::http::Method, path: &str) -> Option<&Route> {
        let m = if method == axum::http::Method::HEAD { "GET" } else { method.as_str() };
        self.routes.iter().find(|r| r.method.as_str() == m && r.path == path)
    }
}

/// Routes and their table lines, built together.
pub struct Routes {
    router: Router<AppState>,
    table: Vec<Route>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Routes {
        Routes { router: Router::new(), table: Vec::new() }
    }

    /// A page (or other non-API) GET route.
    pub fn get<H, T>(self, path: &'static str, access: Access, what: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::Get, path, access, what, None, get(handler))
    }

    /// A page (or other non-API) POST route.
    pub fn post<H, T>(self, path: &'static str, access: Access, what: &'static str, handler: H) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::Post, path, access, what, None, post(handler))
    }

    /// A GET route of the JSON API, with what its document says.
    pub fn api_get<H, T>(
        self,
        path: &'static str,
        access: Access,
        what: &'static str,
        doc: ApiDoc,
        handler: H,
    ) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::Get, path, access, what, Some(doc), get(handler))
    }

    /// A POST route of the JSON API, with what its document says.
    pub fn api_post<H, T>(
        self,
        path: &'static str,
        access: Access,
        what: &'static str,
        doc: ApiDoc,
        handler: H,
    ) -> Routes
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::Post, path, access, what, Some(doc), post(handler))
    }

    /// A route whose handler carries its own layers (e.g. a smaller body limit).
    pub fn layered(
        self,
        method: Method,
        path: &'static str,
        access: Access,
        what: &'static str,
        route: MethodRouter<AppState>,
    ) -> Routes {
        self.add(method, path, access, what, None, route)
    }

    fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        what: &'static str,
        doc: Option<ApiDoc>,
        route: MethodRouter<AppState>,
    ) -> Routes {
        // Two methods on one path are merged by axum into one method router.
        self.router = self.router.route(path, route);
        self.table.push(Route { method, path, access, what, doc });
        self
    }

    /// Adds another area's routes (areas own disjoint paths).
    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Table) {
        (self.router, Table { routes: self.table })
    }
}

/// Every route of the server, area by area.
pub fn all() -> Routes {
    Routes::new()
        .merge(system::routes())
        .merge(people::routes())
        .merge(stories::routes())
        .merge(posts::routes())
        .merge(incidents::routes())
        .merge(rules::routes())
        .merge(sources::routes())
        .merge(reports::routes())
}

/// The route table alone (for tests and tools that check permissions).
pub fn table() -> Table {
    all().into_parts().1
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_core::people::Role;

    #[test]
    fn the_table_has_one_line_per_route() {
        let t = table();
        assert!(t.routes.len() > 80, "{} routes", t.routes.len());
        for (i, a) in t.routes.iter().enumerate() {
            assert!(
                t.routes[i + 1..].iter().all(|b| (a.method, a.path) != (b.method, b.path)),
                "{} {} twice",
                a.method.as_str(),
                a.path
            );
        }
    }

    /// Viewers only read: every POST but sign-in and sign-out excludes them.
    #[test]
    fn viewers_only_read() {
        for r in table().routes.iter().filter(|r| r.method != Method::Get && !matches!(r.path, "/login" | "/logout")) {
            assert!(!r.access.allows(Role::Viewer), "viewer may {} {}", r.method.as_str(), r.path);
        }
    }

    /// The API is documented route by route, and pages are not in the API document.
    #[test]
    fn api_routes_and_only_they_have_a_document_entry() {
        for r in &table().routes {
            assert_eq!(r.path.starts_with("/api/"), r.doc.is_some(), "{} {}", r.method.as_str(), r.path);
        }
    }

    #[test]
    fn find_matches_method_and_pattern_and_head_follows_get() {
        let t = table();
        let r = t.find(&axum::http::Method::HEAD, "/stories/{id}").expect("HEAD /stories/{id}");
        assert_eq!(r.method, Method::Get);
        assert!(t.find(&axum::http::Method::POST, "/stories/{id}").is_none());
        assert!(t.find(&axum::http::Method::GET, "/stories/1").is_none(), "patterns, not paths");
        assert_eq!(t.find(&axum::http::Method::POST, "/login").map(|r| r.access), Some(Access::Public));
    }
}
