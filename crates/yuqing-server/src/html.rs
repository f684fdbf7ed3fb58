//! The desk's one layout and its small parts: escaping, grade badges, external links, times in
//! China time.
//!
//! Pages are maud templates (`html! { … }`): every value put into a page is escaped unless it is
//! wrapped in `PreEscaped`, so a forgotten escape cannot open a hole; `PreEscaped` is the one way
//! out, used only where `escape_hatch_tests` lists it.

use axum::response::Html;
use chrono::{DateTime, FixedOffset, TimeZone};
use maud::{html, Markup, DOCTYPE};
use yuqing_core::Grade;

use crate::AppState;

/// The address of a link the desk may render: an absolute `http://` or `https://` URL, scheme in
/// any case, with a host, and without whitespace or control characters (a browser drops tabs and
/// newlines inside a URL, which is how `java\tscript:` slips past naive checks), trimmed. Anything
/// else — `javascript:`, `data:`, `vbscript:`, relative or protocol-relative addresses, entity or
/// percent tricks — is None: show it as text.
pub fn safe_url(url: &str) -> Option<&str> {
    let u = url.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    if u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (scheme, rest) = u.split_once("://")?;
    if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || host.contains('\\') {
        return None;
    }
    Some(u)
}

/// `<a href="…" rel="noopener noreferrer" target="_blank">label</a>` for an http(s) address; for any
/// other address the address itself as plain text, so it can still be read and copied. None as the
/// label shows the address.
pub fn external_link(url: &str, label: Option<&str>) -> Markup {
    match safe_url(url) {
        Some(href) => html! {
            a href=(href) rel="noopener noreferrer" target="_blank" { (label.unwrap_or(href)) }
        },
        None => html! { span.unsafe-url title="非 http(s) 地址，不作为链接" { (url) } },
    }
}

/// A search snippet with its matches in `<mark>`.
pub fn highlighted(s: &yuqing_text::highlight::Snippet) -> Markup {
    let mut parts = Vec::with_capacity(s.ranges.len());
    let mut at = 0;
    for &(from, to) in &s.ranges {
        let (Some(before), Some(hit)) = (s.fragment.get(at..from), s.fragment.get(from..to)) else { break };
        parts.push((before, hit));
        at = to;
    }
    let rest = s.fragment.get(at..).unwrap_or("");
    html! { @for (before, hit) in parts { (before) mark { (hit) } } (rest) }
}

/// The hidden field that carries a form's CSRF token.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name=(crate::auth::CSRF_FIELD) value=(token); }
}

pub fn china<Tz: TimeZone>(t: &DateTime<Tz>) -> DateTime<FixedOffset> {
    t.with_timezone(&yuqing_core::china())
}

pub fn fmt_time<Tz: TimeZone>(t: &DateTime<Tz>) -> String {
    china(t).format("%Y-%m-%d %H:%M").to_string()
}

/// A time that ends a local day (00:00 of the next) as that day's 24:00, "2026-10-09 24:00", the
/// way a deadline counted in days is written; any other time as [`fmt_time`].
pub fn fmt_day_end<Tz: TimeZone>(t: &DateTime<Tz>) -> String {
    let local = china(t);
    match local.date_naive().pred_opt() {
        Some(day) if local.time() == chrono::NaiveTime::MIN => format!("{} 24:00", day.format("%Y-%m-%d")),
        _ => fmt_time(t),
    }
}

pub fn grade_badge(g: Option<Grade>) -> Markup {
    match g {
        Some(g) => html! {
            span class={ "badge g-" (g.color()) } title={ (g.as_str()) "级" } { (g.as_str()) "级 " (g.label_zh()) }
        },
        None => html! { span.badge.g-none { "未定级" } },
    }
}

/// The desk's page styles (served in `/assets/desk.css`, see `assets`).
pub(crate) const STYLE: &str = r#"
:root{--fg:#1d2430;--muted:#667085;--line:#e4e7ec;--bg:#f6f7f9;--accent:#1f5fbf}
*{box-sizing:border-box}body{margin:0;font:15px/1.6 "PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:var(--fg);background:var(--bg)}
header{background:#12326b;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header .brand{font-weight:700;font-size:18px}
header form{margin-left:auto}header input{padding:5px 8px;border-radius:4px;border:0;width:240px}
main{max-width:1180px;margin:0 auto;padding:18px 24px}
.banner{background:#fff8e1;border:1px solid #f3d37a;padding:8px 12px;border-radius:6px;margin-bottom:14px;font-size:14px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:130px}
.card b{display:block;font-size:22px}.card span{color:var(--muted);font-size:13px}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line)}th,td{padding:8px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600;font-size:13px;color:#344054}td.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;white-space:nowrap;color:#fff}
.g-red{background:#d92d20}.g-orange{background:#ef6820}.g-yellow{background:#eaaa08;color:#3b2f00}.g-blue{background:#1570ef}.g-none{background:#98a2b3}
.reason{color:#475467;font-size:13px}.muted{color:var(--muted);font-size:13px}
mark{background:#fde272;padding:0 1px}a{color:var(--accent)}
.post{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 14px;margin-bottom:10px}
.post .meta{color:var(--muted);font-size:13px}.neg{color:#d92d20}.pos{color:#079455}.noise{color:#98a2b3;border:1px solid var(--line);border-radius:3px;padding:0 3px}
.pager{margin:14px 0;display:flex;gap:12px}
ul.reasons{padding-left:18px}ul.reasons li{margin-bottom:4px}
svg.chart{background:#fff;border:1px solid var(--line);border-radius:8px}
.tabs a{margin-right:14px}
.card.alarm{border-color:#f04438;background:#fef3f2}.card.alarm b{color:#d92d20}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:14px}
.grid3{display:grid;grid-template-columns:2fr 1fr 1fr;gap:14px}@media(max-width:900px){.grid3{grid-template-columns:1fr}}
ol.bars{list-style:none;padding:0;margin:0}ol.bars li{display:grid;grid-template-columns:7em 1fr 4em;gap:6px;align-items:center;font-size:13px;margin:3px 0}
ol.bars i{display:block;height:10px;background:#84adea;border-radius:3px}ol.bars em{font-style:normal;text-align:right;color:var(--muted)}
h2 .small{font-size:13px;font-weight:400;margin-left:12px}
.state{display:inline-block;padding:1px 8px;border-radius:4px;font-size:12px;background:#eef4ff;color:#1f5fbf}
.badge.false-alarm{display:inline-block;padding:1px 6px;border-radius:4px;font-size:12px;background:#f2f4f7;color:#475467;border:1px solid #d0d5dd}
.st-new{background:#fff6ed;color:#c4320a}.st-closed{background:#f2f4f7;color:#667085}
tr.failing td{background:#fef3f2}.countdown{font-weight:600;color:#067647}.countdown.overdue,.late{color:#d92d20;font-weight:600}.ok{color:#067647}
form.act{display:inline-flex;gap:6px;align-items:flex-start;margin:4px 8px 4px 0;flex-wrap:wrap}
form.act textarea{width:420px;min-height:60px}form.act input,form.act select,form.act textarea{padding:4px 6px;border:1px solid var(--line);border-radius:4px;font:inherit}
form.act button{padding:4px 12px;border:0;border-radius:4px;background:var(--accent);color:#fff;cursor:pointer}
.statement{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 14px;margin-bottom:10px}
blockquote{margin:6px 0;padding:6px 12px;border-left:3px solid #84adea;background:#f8f9fc}
ins{background:#d1fadf;text-decoration:none}del{background:#fee4e2}
ol.timeline{padding-left:20px}ol.timeline li{margin:3px 0}
body.big{background:#0b1220;color:#e6edf7;font-size:20px}body.big header{display:none}body.big main{max-width:none}
body.big .card,body.big table,body.big svg.chart{background:#111a2e;border-color:#23304d;color:#e6edf7}body.big th{background:#1a2540;color:#c9d4ea}
body.big td,body.big th{border-color:#23304d}body.big .card b{font-size:40px}body.big a{color:#8fb8ff}body.big .muted,body.big .reason{color:#9aa8c4}
body.big .banner{background:#2a2410;border-color:#5c4b12;color:#f3d37a}
form.filters{display:flex;gap:6px;flex-wrap:wrap;align-items:center;margin-bottom:8px}form.filters input,form.filters select{padding:4px 6px;border:1px solid var(--line);border-radius:4px}
mark.err{background:#fda29b}
.screen-bar{display:flex;gap:16px;align-items:center;font-size:24px}
"#;

/// How the layout frames a page: the desk (header with the menu), the big screen (dark, large
/// type, no header; the dashboard's `?screen=1`), or the sign-in page (no menu: nobody is signed
/// in yet; its own small style sheet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Screen {
    #[default]
    Desk,
    Big,
    SignIn,
}

/// The header's menu: address and name.
const MENU: [(&str, &str); 12] = [
    ("/", "总览"),
    ("/posts", "信息"),
    ("/stories", "舆情事件"),
    ("/themes", "专题"),
    ("/incidents", "处置"),
    ("/alerts", "预警记录"),
    ("/reports", "报表"),
    ("/rules", "监测规则"),
    ("/sources", "信息源"),
    ("/duty", "值班"),
    ("/system", "系统"),
    ("/logout", "退出"),
];

/// The desk's one layout: title, organisation and banner, and how the page is framed.
#[derive(Debug, Clone, Copy)]
pub struct Layout<'a> {
    pub title: &'a str,
    pub org: &'a str,
    pub banner: Option<&'a str>,
    pub screen: Screen,
}

impl<'a> Layout<'a> {
    /// The layout of a page of this desk (its organisation and banner) on the desk's screen.
    pub fn of(state: &'a AppState, title: &'a str) -> Self {
        Layout { title, org: &state.org_name, banner: state.banner.as_deref(), screen: Screen::Desk }
    }

    pub fn screen(self, screen: Screen) -> Self {
        Layout { screen, ..self }
    }

    /// The sign-in page's layout.
    pub fn sign_in(title: &'a str) -> Self {
        Layout { title, org: "", banner: None, screen: Screen::SignIn }
    }

    /// The whole page around `body`.
    pub fn render(&self, body: Markup) -> Markup {
        let sheet = if self.screen == Screen::SignIn { "login.css" } else { "desk.css" };
        html! {
            (DOCTYPE)
            html lang="zh-CN" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width,initial-scale=1";
                    title { (self.title) " · yuqing 舆情" }
                    link rel="stylesheet" href=(crate::assets::href(sheet));
                }
                @if self.screen == Screen::SignIn {
                    // Nobody is signed in yet: no menu.
                    body { header { "yuqing 舆情监测" } main { (body) } }
                } @else {
                    body class=[(self.screen == Screen::Big).then_some("big")] {
                        header {
                            a.brand href="/" { "yuqing 舆情监测" }
                            span { (self.org) }
                            nav aria-label="主菜单" {
                                @for (href, name) in MENU {
                                    a href=(href) { (name) }
                                }
                            }
                            form action="/search" method="get" {
                                input name="q" placeholder="全文检索帖文" aria-label="全文检索";
                            }
                        }
                        main {
                            @if let Some(b) = self.banner {
                                div.banner { (b) }
                            }
                            (body)
                        }
                    }
                }
            }
        }
    }

    /// The page as a response body.
    pub fn html(&self, body: Markup) -> Html<String> {
        Html(self.render(body).into_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_addresses_are_links() {
        assert_eq!(safe_url("https://news.example/a?x=1&y=\"2\""), Some("https://news.example/a?x=1&y=\"2\""));
        assert_eq!(safe_url("  HTTP://bbs.example/t/7\n"), Some("HTTP://bbs.example/t/7"));
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            " \tjavascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "\u{0}javascript:alert(1)",
            "&#106;avascript:alert(1)",
            "&#x6A;avascript:alert(1)",
            "%6Aavascript:alert(1)",
            "javascript://comment%0Aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "DATA:text/html;base64,PHNjcmlwdD4=",
            "vbscript:msgbox(1)",
            "VBScript:msgbox(1)",
            "file:///etc/passwd",
            "//evil.example/x",
            "/\\evil.example",
            "/relative",
            "http:/evil.example",
            "http:\\\\evil.example",
            "https://",
            "https:///x",
            "http://evil\\@good.example/",
            "http://ex ample.org/",
            "http://example.org/\u{2028}x",
            "",
        ] {
            assert_eq!(safe_url(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn other_addresses_are_shown_as_text() {
        let l = external_link("https://a.example/?q=<b>", Some("原文"));
        assert_eq!(
            l.into_string(),
            "<a href=\"https://a.example/?q=&lt;b&gt;\" rel=\"noopener noreferrer\" target=\"_blank\">原文</a>"
        );
        let t = external_link("javascript:alert(\"x\")", Some("原文")).into_string();
        assert!(!t.contains("<a") && !t.contains("href") && t.contains("javascript:alert(&quot;x&quot;)"), "{t}");
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn the_layout_escapes_what_it_is_given_and_frames_the_big_screen() {
        let l = Layout { title: "<标题>", org: "A&B", banner: Some("演示<数据>"), screen: Screen::Desk };
        let desk = l.render(html! { p { "正文" } }).into_string();
        assert!(desk.starts_with("<!DOCTYPE html><html lang=\"zh-CN\">"), "{desk}");
        assert!(desk.contains("<title>&lt;标题&gt; · yuqing 舆情</title>"), "{desk}");
        assert!(desk.contains("<span>A&amp;B</span>") && desk.contains("<div class=\"banner\">演示&lt;数据&gt;</div>"));
        assert!(desk.contains("<body><header>") && desk.contains("<a href=\"/incidents\">处置</a>"), "{desk}");
        assert!(desk.contains("<main><div class=\"banner\">") && desk.ends_with("<p>正文</p></main></body></html>"));
        assert!(!desk.contains("<style") && !desk.contains(" style="), "no inline styles (CSP)");
        let big = l.screen(Screen::Big).render(html! {}).into_string();
        assert!(big.contains("<body class=\"big\"><header>"), "{big}");
        let sign_in = Layout::sign_in("登录").render(html! { h2 { "登录" } }).into_string();
        assert!(sign_in.contains("<body><header>yuqing 舆情监测</header><main><h2>登录</h2></main>"), "{sign_in}");
        assert!(sign_in.contains("/assets/login.css?v=") && !sign_in.contains("/logout"), "{sign_in}");
        let s = yuqing_text::highlight::Snippet { fragment: "a<b>医院c".into(), ranges: vec![(4, 10)] };
        assert_eq!(highlighted(&s).into_string(), "a&lt;b&gt;<mark>医院</mark>c");
    }
}

#[cfg(test)]
mod escape_hatch_tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    fn count(dir: &Path, root: &Path, needle: &str, out: &mut BTreeMap<String, usize>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                count(&p, root, needle, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let n = std::fs::read_to_string(&p).unwrap_or_default().matches(needle).count();
                if n > 0 {
                    let name = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().replace('\\', "/");
                    out.insert(name, n);
                }
            }
        }
    }

    /// Markup goes into a page unescaped only where it is listed here, each for a reason given
    /// where it is used: a new one must be added here on purpose. Today there is none: every page
    /// of the server is a template.
    #[test]
    fn unescaped_markup_enters_pages_only_where_listed() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut found = BTreeMap::new();
        count(&root, &root, concat!("PreEscaped", "("), &mut found);
        let listed: BTreeMap<String, usize> = BTreeMap::new();
        assert_eq!(found, listed);
    }
}
