//! Canonical URLs: the same article reached through tracking links, fragments or letter case of the
//! host is one URL, so it is stored once.
//!
//! Invariant: pure string work; a string that is not an http(s) URL is returned trimmed, unchanged.

/// Query parameters that only track where a click came from.
const TRACKING: &[&str] = &[
    "spm",
    "from",
    "source",
    "share",
    "share_source",
    "share_medium",
    "share_token",
    "shareid",
    "isappinstalled",
    "wfr",
    "scene",
    "clicktime",
    "enterid",
    "sharer_sharetime",
    "sharer_shareid",
    "fbclid",
    "gclid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "ref",
    "ref_src",
    "vd_source",
    "timestamp",
    "_t",
    "sessionid",
];

/// The canonical form: scheme and host lower-cased, default port, fragment and tracking
/// parameters (utm_*, spm, from, share*, …) removed, trailing `?` dropped.
pub fn canonical_url(url: &str) -> String {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let scheme_len = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        7
    } else {
        return url.to_string();
    };
    let without_fragment = url.split('#').next().unwrap_or(url);
    let rest = &without_fragment[scheme_len..];
    let (authority, path_query) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut authority = authority.to_ascii_lowercase();
    if (scheme_len == 8 && authority.ends_with(":443")) || (scheme_len == 7 && authority.ends_with(":80")) {
        let cut = authority.rfind(':').unwrap_or(authority.len());
        authority.truncate(cut);
    }
    let (path, query) = match path_query.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path_query, ""),
    };
    let path = if path.is_empty() { "/" } else { path };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter(|kv| {
            let key = kv.split('=').next().unwrap_or("").to_ascii_lowercase();
            !(key.starts_with("utm_") || TRACKING.contains(&key.as_str()))
        })
        .collect();
    let scheme = &lower[..scheme_len];
    if kept.is_empty() {
        format!("{scheme}{authority}{path}")
    } else {
        format!("{scheme}{authority}{path}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::canonical_url;

    #[test]
    fn tracking_parameters_and_fragments_are_removed() {
        assert_eq!(
            canonical_url("HTTPS://News.Example.com:443/a/1.html?id=7&utm_source=wx&spm=a.b#comments"),
            "https://news.example.com/a/1.html?id=7"
        );
        assert_eq!(canonical_url("http://example.com?from=timeline"), "http://example.com/");
    }

    #[test]
    fn meaningful_query_and_path_case_are_kept() {
        assert_eq!(canonical_url("https://e.com/Path/X?b=2&a=1"), "https://e.com/Path/X?b=2&a=1");
    }

    #[test]
    fn non_http_strings_are_left_alone() {
        assert_eq!(canonical_url("  weibo:12345 "), "weibo:12345");
    }
}
