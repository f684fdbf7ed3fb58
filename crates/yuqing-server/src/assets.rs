//! The desk's style sheets and its one script, served from the binary under `/assets/…` (no sign-in
//! needed: the sign-in form uses them too). Pages carry no inline `<style>`, `style="…"`,
//! `<script>` or event handler, so the Content-Security-Policy (see `security`) can forbid all
//! inline code and styles.
//!
//! Links carry `?v=` and the first hex digits of the file's sha256, so a new release's files are
//! fetched at once although browsers may keep them for a week.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// The dashboard's live update and the big-screen button.
const DESK_JS: &str = include_str!("assets/desk.js");

/// The sign-in page (and the refusal page shown before the desk's header can be drawn).
const LOGIN_CSS: &str = "body{margin:0;font:15px/1.6 \"PingFang SC\",\"Microsoft YaHei\",\"Noto Sans CJK SC\",sans-serif;color:#1d2430;background:#f6f7f9}\
header{background:#12326b;color:#fff;padding:10px 24px;font-weight:700;font-size:18px}\
main{max-width:420px;margin:48px auto;background:#fff;border:1px solid #e4e7ec;border-radius:8px;padding:20px 28px}\
label{display:block;margin:12px 0 4px}input{width:100%;padding:8px;border:1px solid #d0d5dd;border-radius:4px;font:inherit;box-sizing:border-box}\
button{margin-top:18px;width:100%;padding:9px;border:0;border-radius:4px;background:#1f5fbf;color:#fff;font:inherit;cursor:pointer}\
.error{background:#fef3f2;border:1px solid #fda29b;color:#b42318;padding:8px 12px;border-radius:6px}\
.note{background:#fff8e1;border:1px solid #f3d37a;padding:8px 12px;border-radius:6px}\
.hint{color:#667085;font-size:13px}\
@media(max-width:640px){main{margin:16px 12px;padding:16px}input,button{min-height:44px;font-size:16px}}";

/// The desk on a phone (up to 640 px wide): the menu one row that scrolls sideways on its own,
/// wide tables scroll inside themselves (never the page), and everything one taps is at least
/// 44 px tall. Last in the sheet, so it wins over the rules above.
const PHONE_CSS: &str = "header nav{display:contents}\
form.ack{display:flex;flex-wrap:wrap;align-items:center;gap:6px 12px;margin:0 0 14px}\
form.ack button{min-height:48px;padding:8px 20px;border:0;border-radius:6px;background:#d92d20;color:#fff;font:inherit;font-size:17px;font-weight:600;cursor:pointer}\
@media(max-width:640px){\
header{padding:6px 12px 8px;gap:0 12px}header .brand{min-height:44px;display:inline-flex;align-items:center}\
header nav{display:flex;overflow-x:auto;gap:0;margin:0 -12px;padding:0 4px;width:calc(100% + 24px);scrollbar-width:none}\
header nav a{flex:none;display:inline-flex;align-items:center;min-height:44px;padding:0 10px}\
header form{margin:4px 0 0;width:100%}header input{width:100%;min-height:44px;font-size:16px}\
main{padding:12px}h2{font-size:19px;line-height:1.4}\
table{display:block;overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}\
main a{display:inline-block;min-height:44px;line-height:44px}\
main button,main input,main select,main textarea,main summary{min-height:44px;font-size:16px}\
main input[type=checkbox],main input[type=radio]{min-height:0;width:22px;height:22px}\
main label{display:inline-flex;align-items:center;gap:4px;min-height:44px}\
form.act{display:flex;width:100%;margin:6px 0}form.act textarea,form.act input,form.act select,input.wide,input.q{width:100%;max-width:100%}\
form.act button{width:100%}form.ack button{width:100%}\
.grid2,.grid3{grid-template-columns:minmax(0,1fr)}svg.chart{max-width:100%;height:auto}\
pre,code{white-space:pre-wrap;word-break:break-all}.post,.statement{overflow-wrap:anywhere}\
}";

/// What used to be `style="…"` attributes on the desk's pages.
const DESK_EXTRA_CSS: &str = ".card b.sm,body.big .card b.sm{font-size:15px}\
input.wide{width:520px}input.q{width:320px;padding:6px}\
.unsafe-url{color:#667085;word-break:break-all}";

struct Asset {
    body: String,
    content_type: &'static str,
    version: String,
}

fn asset(body: String, content_type: &'static str) -> Asset {
    let version = hex::encode(Sha256::digest(body.as_bytes()))[..12].to_string();
    Asset { body, content_type, version }
}

/// The desk's style sheet: the page styles, the reports' styles (report pages show a report inside
/// the desk), the old inline attributes as classes, and the bar widths of the dashboard's lists
/// (`ol.bars i.w0` … `i.w100`, whole percent).
fn desk_css() -> &'static Asset {
    static A: OnceLock<Asset> = OnceLock::new();
    A.get_or_init(|| {
        let mut css = String::from(crate::html::STYLE);
        css.push_str(yuqing_report::html::STYLE);
        css.push_str(DESK_EXTRA_CSS);
        css.push_str(crate::web::brief_html::STYLE);
        css.push_str(crate::web::dashboard::STYLE);
        css.push_str(crate::wordcloud::STYLE);
        css.push_str(PHONE_CSS);
        for w in 0..=100 {
            css.push_str(&format!("ol.bars i.w{w}{{width:{w}%}}"));
        }
        asset(css, "text/css; charset=utf-8")
    })
}

fn login_css() -> &'static Asset {
    static A: OnceLock<Asset> = OnceLock::new();
    A.get_or_init(|| asset(LOGIN_CSS.to_string(), "text/css; charset=utf-8"))
}

fn desk_js() -> &'static Asset {
    static A: OnceLock<Asset> = OnceLock::new();
    A.get_or_init(|| asset(DESK_JS.to_string(), "text/javascript; charset=utf-8"))
}

fn by_name(name: &str) -> Option<&'static Asset> {
    match name {
        "desk.css" => Some(desk_css()),
        "login.css" => Some(login_css()),
        "desk.js" => Some(desk_js()),
        _ => None,
    }
}

/// The address of an asset with its version, e.g. `/assets/desk.css?v=…`.
pub fn href(name: &str) -> String {
    match by_name(name) {
        Some(a) => format!("/assets/{name}?v={}", a.version),
        None => format!("/assets/{name}"),
    }
}

/// `<script src>` of the desk's script.
pub fn desk_script() -> maud::Markup {
    maud::html! { script src=(href("desk.js")) {} }
}

/// `GET /assets/{file}`.
pub async fn serve(Path(file): Path<String>) -> Response {
    match by_name(&file) {
        Some(a) => (
            [(header::CONTENT_TYPE, a.content_type), (header::CACHE_CONTROL, "public, max-age=604800")],
            a.body.clone(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "没有这个文件")
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_have_versions_and_bar_widths() {
        assert!(href("desk.css").starts_with("/assets/desk.css?v="));
        assert_ne!(href("desk.css"), href("login.css"));
        let css = &desk_css().body;
        assert!(css.contains("ol.bars i.w0{width:0%}") && css.contains("ol.bars i.w100{width:100%}"));
        assert!(css.contains("article.report"), "the reports' styles are part of the desk's sheet");
        assert!(desk_js().body.contains("EventSource"));
        assert!(by_name("../lib.rs").is_none());
    }
}
