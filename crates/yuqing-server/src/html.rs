//! Page shell and small HTML helpers: escaping, grade badges, times in China time.

use chrono::{DateTime, FixedOffset, TimeZone};
use yuqing_core::Grade;

pub use yuqing_text::highlight::escape_html as esc;

/// The `href` value (escaped for an attribute) for an address the desk may render as a link: an
/// absolute `http://` or `https://` URL, scheme in any case, with a host, and without whitespace or
/// control characters (a browser drops tabs and newlines inside a URL, which is how
/// `java\tscript:` slips past naive checks). Anything else — `javascript:`, `data:`, `vbscript:`,
/// relative or protocol-relative addresses, entity or percent tricks — is None: show it as text.
pub fn safe_href(url: &str) -> Option<String> {
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
    Some(esc(u))
}

/// `<a href="…" rel="noopener noreferrer" target="_blank">label</a>` for an http(s) address; for any
/// other address the address itself as plain text (escaped), so it can still be read and copied.
/// `label` is HTML already escaped by the caller; None shows the address.
pub fn external_link(url: &str, label: Option<&str>) -> String {
    match safe_href(url) {
        Some(href) => format!(
            "<a href=\"{href}\" rel=\"noopener noreferrer\" target=\"_blank\">{}</a>",
            label.map_or_else(|| href.clone(), str::to_string)
        ),
        None => format!("<span class=\"unsafe-url\" title=\"非 http(s) 地址，不作为链接\">{}</span>", esc(url)),
    }
}

pub fn china<Tz: TimeZone>(t: &DateTime<Tz>) -> DateTime<FixedOffset> {
    t.with_timezone(&yuqing_core::china())
}

pub fn fmt_time<Tz: TimeZone>(t: &DateTime<Tz>) -> String {
    china(t).format("%Y-%m-%d %H:%M").to_string()
}

pub fn grade_badge(g: Option<Grade>) -> String {
    match g {
        Some(g) => format!(
            "<span class=\"badge g-{}\" title=\"{}级\">{}级 {}</span>",
            g.color(),
            g.as_str(),
            g.as_str(),
            g.label_zh()
        ),
        None => "<span class=\"badge g-none\">未定级</span>".to_string(),
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

pub fn page(title: &str, org: &str, banner: Option<&str>, body: &str) -> String {
    let banner = banner.map(|b| format!("<div class=\"banner\">{}</div>", esc(b))).unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title} · yuqing 舆情</title>{css}</head><body>\
<header><a class=\"brand\" href=\"/\">yuqing 舆情监测</a><span>{org}</span>\
<a href=\"/\">总览</a><a href=\"/posts\">信息</a><a href=\"/stories\">舆情事件</a><a href=\"/themes\">专题</a><a href=\"/incidents\">处置</a><a href=\"/alerts\">预警记录</a><a href=\"/reports\">报表</a><a href=\"/rules\">监测规则</a><a href=\"/sources\">信息源</a><a href=\"/duty\">值班</a><a href=\"/system\">系统</a><a href=\"/logout\">退出</a>\
<form action=\"/search\" method=\"get\"><input name=\"q\" placeholder=\"全文检索帖文\" aria-label=\"全文检索\"></form></header>\
<main>{banner}{body}</main></body></html>",
        title = esc(title),
        org = esc(org),
        css = crate::assets::desk_stylesheet(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_addresses_are_hrefs() {
        assert_eq!(
            safe_href("https://news.example/a?x=1&y=\"2\"").as_deref(),
            Some("https://news.example/a?x=1&amp;y=&quot;2&quot;")
        );
        assert_eq!(safe_href("  HTTP://bbs.example/t/7\n").as_deref(), Some("HTTP://bbs.example/t/7"));
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
            assert_eq!(safe_href(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn other_addresses_are_shown_as_text() {
        let l = external_link("https://a.example/?q=<b>", Some("原文"));
        assert_eq!(
            l,
            "<a href=\"https://a.example/?q=&lt;b&gt;\" rel=\"noopener noreferrer\" target=\"_blank\">原文</a>"
        );
        let t = external_link("javascript:alert(\"x\")", Some("原文"));
        assert!(!t.contains("<a") && !t.contains("href") && t.contains("javascript:alert(&quot;x&quot;)"), "{t}");
    }
}
