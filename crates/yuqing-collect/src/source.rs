//! `Source`: one place yuqing collects from, as configured in `[[sources]]` or added with
//! `yuqing sources add`. Validation names the source and the field in Chinese.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use yuqing_core::SourceTier;

/// The connector a source uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// RSS 0.9x/1.0/2.0, Atom or JSON Feed.
    Feed,
    /// An HTML list page: links by CSS selector, then each article page.
    Html,
    /// A URL template with `{keyword}`, filled from the watch rules' phrases; the answer is a
    /// feed (RSSHub routes), an HTML list page, or JSON (see `format`).
    Search,
    /// A JSON API, fields mapped by JSON pointer.
    Json,
    /// A local folder where external crawlers drop JSONL/CSV files.
    Folder,
}

impl SourceKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            SourceKind::Feed => "订阅源",
            SourceKind::Html => "网页列表",
            SourceKind::Search => "站内搜索",
            SourceKind::Json => "JSON 接口",
            SourceKind::Folder => "投放目录",
        }
    }
}

/// What a search URL answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SearchFormat {
    #[default]
    Feed,
    Html,
    Json,
}

/// CSS selectors for an HTML list page and its article pages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HtmlSelectors {
    /// On the list page: the item links (`a` elements, or elements containing one).
    pub links: String,
    /// On an article page; each empty one falls back to readability-style extraction.
    pub title: String,
    pub time: String,
    pub body: String,
    pub author: String,
    /// Article pages fetched per run (newest links first; default 20).
    pub max_articles: Option<usize>,
}

/// JSON pointers (RFC 6901) into a JSON API's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JsonFields {
    /// Pointer to the array of items (empty: the answer is the array).
    pub items: String,
    /// Pointers inside one item.
    pub title: String,
    pub text: String,
    pub url: String,
    pub author: String,
    pub published_at: String,
    pub place: String,
    pub reads: String,
    pub comments: String,
    pub reposts: String,
    pub likes: String,
}

fn yes() -> bool {
    true
}

/// One source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Stable id, letters, digits, `-` and `_` (health and cursors are kept under it).
    pub id: String,
    /// The site name stored as each post's source (e.g. "人民网").
    pub name: String,
    pub kind: SourceKind,
    /// The URL (for `search`, a template with `{keyword}`; for `folder`, a directory path).
    pub url: String,
    #[serde(default)]
    pub tier: SourceTier,
    /// The department that owns the source (who to ask when it breaks).
    #[serde(default)]
    pub department: Option<String>,
    /// How often to collect, e.g. "5m" (default 5 minutes; 1 minute inside a key period).
    #[serde(default)]
    pub interval: Option<String>,
    /// How often inside a key period (default 1 minute).
    #[serde(default)]
    pub key_period_interval: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Set to fetch despite robots.txt; the text is the written reason (e.g. an agreement with the site).
    #[serde(default)]
    pub ignore_robots: Option<String>,
    #[serde(default)]
    pub selectors: HtmlSelectors,
    #[serde(default)]
    pub fields: JsonFields,
    /// For `search`: what the URL answers with.
    #[serde(default)]
    pub format: SearchFormat,
    /// For `search`: keywords to use instead of the watch rules' phrases.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// For `search`: at most this many keywords per run (default 20).
    #[serde(default)]
    pub max_keywords: Option<usize>,
    /// Largest body read, in bytes (default 5 MiB).
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// Whole-request timeout, e.g. "30s" (default 30 s).
    #[serde(default)]
    pub timeout: Option<String>,
    /// For feeds: fetch the page of an item that has only a link (no title, no text) and extract the
    /// article from it (through the same fetcher: politeness, robots.txt, size cap; at most
    /// `selectors.max_articles` per run). Off by default: such items are skipped with an error.
    #[serde(default)]
    pub fetch_articles: bool,
}

/// Default interval between runs of a source.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
/// Default interval inside a key period.
pub const DEFAULT_KEY_PERIOD_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_BYTES: u64 = 5 * 1024 * 1024;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// "30s", "5m", "2h", "1m30s", "250ms" → a duration of at most 3650 days (the one parser of
/// configured durations, `yuqing_core::span`).
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    yuqing_core::span::parse(s).map_err(|e| format!("时长“{}”{e}", s.trim()))
}

impl Source {
    pub fn interval(&self) -> Duration {
        self.interval.as_deref().and_then(|s| parse_interval(s).ok()).unwrap_or(DEFAULT_INTERVAL)
    }

    pub fn key_period_interval(&self) -> Duration {
        self.key_period_interval
            .as_deref()
            .and_then(|s| parse_interval(s).ok())
            .unwrap_or(DEFAULT_KEY_PERIOD_INTERVAL)
            .min(self.interval())
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes.unwrap_or(DEFAULT_MAX_BYTES)
    }

    pub fn timeout(&self) -> Duration {
        self.timeout.as_deref().and_then(|s| parse_interval(s).ok()).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// Checks the fields; the message names the source and the field.
    pub fn validate(&self) -> Result<(), String> {
        let who = format!("信息源“{}”", self.id);
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("{who}：id 只能由字母、数字、- 和 _ 组成且不能为空"));
        }
        if self.name.trim().is_empty() {
            return Err(format!("{who}：name（站点名称）不能为空"));
        }
        for (field, v) in [
            ("interval", &self.interval),
            ("key_period_interval", &self.key_period_interval),
            ("timeout", &self.timeout),
        ] {
            if let Some(v) = v {
                yuqing_core::span::parse_positive(v)
                    .map_err(|e| format!("{who}：{}", yuqing_core::span::message(&format!("sources.{field}"), v, e)))?;
            }
        }
        if let Some(reason) = &self.ignore_robots {
            if reason.trim().chars().count() < 4 {
                return Err(format!("{who}：ignore_robots 须写明不遵守 robots.txt 的理由（例如与网站的书面约定）"));
            }
        }
        match self.kind {
            SourceKind::Folder => {
                if self.url.trim().is_empty() {
                    return Err(format!("{who}：url 应为投放目录的路径"));
                }
            }
            _ => {
                let u = reqwest::Url::parse(&self.url.replace("{keyword}", "k"))
                    .map_err(|e| format!("{who}：url“{}”不是有效网址：{e}", self.url))?;
                if !matches!(u.scheme(), "http" | "https") {
                    return Err(format!("{who}：url 只支持 http 和 https"));
                }
            }
        }
        if self.kind == SourceKind::Search && !self.url.contains("{keyword}") {
            return Err(format!("{who}：站内搜索的 url 中须含 {{keyword}}"));
        }
        let html =
            self.kind == SourceKind::Html || (self.kind == SourceKind::Search && self.format == SearchFormat::Html);
        if html && self.selectors.links.trim().is_empty() {
            return Err(format!("{who}：网页列表须在 selectors.links 中给出条目链接的 CSS 选择器"));
        }
        for (field, sel) in [
            ("links", &self.selectors.links),
            ("title", &self.selectors.title),
            ("time", &self.selectors.time),
            ("body", &self.selectors.body),
            ("author", &self.selectors.author),
        ] {
            if !sel.trim().is_empty() {
                scraper::Selector::parse(sel)
                    .map_err(|e| format!("{who}：selectors.{field}“{sel}”不是有效的 CSS 选择器：{e}"))?;
            }
        }
        if self.kind == SourceKind::Json || (self.kind == SourceKind::Search && self.format == SearchFormat::Json) {
            let f = &self.fields;
            if f.text.is_empty() && f.title.is_empty() {
                return Err(format!("{who}：JSON 接口须在 fields.text 或 fields.title 中给出正文或标题的 JSON 指针"));
            }
            for (field, p) in [
                ("items", &f.items),
                ("title", &f.title),
                ("text", &f.text),
                ("url", &f.url),
                ("author", &f.author),
                ("published_at", &f.published_at),
            ] {
                if !p.is_empty() && !p.starts_with('/') {
                    return Err(format!("{who}：fields.{field}“{p}”应为以 / 开头的 JSON 指针，例如 /data/items"));
                }
            }
        }
        Ok(())
    }

    /// The host (and port) politeness and robots.txt are kept per.
    pub fn host(&self) -> Option<String> {
        let u = reqwest::Url::parse(&self.url.replace("{keyword}", "k")).ok()?;
        Some(format!("{}:{}", u.host_str()?, u.port_or_known_default().unwrap_or(0)))
    }
}

/// Parses one source from TOML text (what `sources add` stores).
pub fn parse_source_toml(text: &str) -> Result<Source, String> {
    let s: Source = toml::from_str(text).map_err(|e| format!("信息源配置有误：{}", e.message()))?;
    s.validate()?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_interval("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_interval("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_interval("5").is_err());
        assert!(parse_interval("五分钟").is_err());
    }

    #[test]
    fn validation_names_the_source_and_field() {
        let src = "id = \"rmw\"\nname = \"人民网\"\nkind = \"html\"\nurl = \"http://example.com/list\"\n";
        let e = parse_source_toml(src).unwrap_err();
        assert!(e.contains("rmw") && e.contains("selectors.links"), "{e}");
        let ok = parse_source_toml(&format!("{src}[selectors]\nlinks = \"ul.news a\"\n")).unwrap();
        assert_eq!(ok.interval(), DEFAULT_INTERVAL);
        let e = parse_source_toml(
            "id = \"s\"\nname = \"微博\"\nkind = \"search\"\nurl = \"http://rsshub.local/weibo/keyword/\"\n",
        )
        .unwrap_err();
        assert!(e.contains("{keyword}"), "{e}");
        let e =
            parse_source_toml("id = \"f\"\nname = \"x\"\nkind = \"feed\"\nurl = \"http://a/\"\nignore_robots = \"\"\n")
                .unwrap_err();
        assert!(e.contains("理由"), "{e}");
        let e = parse_source_toml("id = \"f\"\nname = \"x\"\nkind = \"rss\"\nurl = \"http://a/\"\n").unwrap_err();
        assert!(e.contains("信息源配置有误"), "{e}");
    }
}
