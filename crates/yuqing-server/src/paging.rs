//! Paging parameters, bounded where they enter. Every list a request can page through (`page` of
//! the pages, `limit`/`offset` of the JSON API) is read here, so no request reaches the store with
//! an offset whose arithmetic overflows or a full-text top-K that would be allocated up front.
//!
//! The rule, the same everywhere: `limit` is clamped to the endpoint's range; a `page` or `offset`
//! that is not a non-negative integer, or that starts deeper than [`MAX_OFFSET`] rows, is refused
//! with a 400 naming the last page (or the largest offset). Page 0 is read as page 1. The audit
//! log alone goes deeper ([`AUDIT_MAX_OFFSET`]): reading it costs the same at any depth.

pub(crate) use yuqing_store::MAX_OFFSET;

/// How deep the audit log may be read (1,000,000 pages of 50 on the 系统 page).
pub(crate) const AUDIT_MAX_OFFSET: usize = 50_000_000;

/// The last page of pages of `size` that starts within [`MAX_OFFSET`].
pub(crate) fn last_page(size: usize, max_offset: usize) -> usize {
    max_offset / size.max(1) + 1
}

/// The page number given as the text `v` of the parameter `name` (a typed query's field; 1-based:
/// absent, blank or 0 → 1) of pages of `size`, at most [`last_page`] of `max_offset`; else a
/// message for a 400.
pub(crate) fn page_value(v: Option<&str>, name: &str, size: usize, max_offset: usize) -> Result<usize, String> {
    let Some(v) = v.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(1) };
    let last = last_page(size, max_offset);
    let Ok(n) = v.parse::<u128>() else {
        return Err(format!("页码（参数 {name}）应为正整数，收到“{}”", v.chars().take(40).collect::<String>()));
    };
    if n > last as u128 {
        return Err(format!(
            "页码 {n} 过大：每页 {size} 条，最多翻到第 {last} 页（前 {max_offset} 条之后不再分页）；请用筛选条件或更具体的检索词缩小范围"
        ));
    }
    Ok((n as usize).max(1))
}

/// The rows before page `page` of pages of `size` (a page from [`page_value`], so no overflow).
pub(crate) fn offset_of(page: usize, size: usize) -> usize {
    page.saturating_sub(1).saturating_mul(size)
}

/// The JSON API's `limit` (default `default`, clamped to 1..=`max_limit`) and `offset` (default 0,
/// at most `max_offset`, usually [`MAX_OFFSET`]) from their texts (a typed query's fields); else a
/// message for a 400.
pub(crate) fn window_values(
    limit: Option<&str>,
    offset: Option<&str>,
    default: usize,
    max_limit: usize,
    max_offset: usize,
) -> Result<(usize, usize), String> {
    let number = |name: &str, v: Option<&str>| -> Result<Option<u128>, String> {
        match v.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse::<u128>()
                .map(Some)
                .map_err(|_| format!("参数 {name} 应为非负整数，收到“{}”", v.chars().take(40).collect::<String>())),
        }
    };
    let limit = number("limit", limit)?.map_or(default, |l| l.min(max_limit as u128) as usize).clamp(1, max_limit);
    let offset = number("offset", offset)?.unwrap_or(0);
    if offset > max_offset as u128 {
        return Err(format!(
            "参数 offset 不能大于 {max_offset}（收到 {offset}）；请用筛选条件或更具体的检索词缩小范围"
        ));
    }
    Ok((limit, offset as usize))
}

/// The one pager of the pages: 上一页, where the list is (第 N / M 页，共 T 条) and 下一页, linking
/// `{base}{param}=N` (`base` ends in `?` or `&`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pager<'a> {
    base: &'a str,
    param: &'a str,
    page: usize,
    total: u64,
    size: usize,
    max_offset: usize,
    /// Counts stop here: more rows are "N 条以上" and pages are not offered past it.
    cap: Option<u64>,
}

impl<'a> Pager<'a> {
    /// Page `page` of pages of `size` over `total` rows, as `?page=`, no deeper than [`MAX_OFFSET`].
    pub(crate) fn new(base: &'a str, page: usize, total: u64, size: usize) -> Self {
        Pager { base, param: "page", page, total, size, max_offset: MAX_OFFSET, cap: None }
    }

    /// Another parameter name and depth (the audit log's `audit_page`).
    pub(crate) fn param(self, param: &'a str, max_offset: usize) -> Self {
        Pager { param, max_offset, ..self }
    }

    /// A list whose count stops at `cap`.
    pub(crate) fn capped(self, cap: u64) -> Self {
        Pager { cap: Some(cap), ..self }
    }

    /// The number of pages: at least 1, at most [`last_page`].
    pub(crate) fn pages(&self) -> usize {
        let rows = self.cap.map_or(self.total, |c| self.total.min(c));
        usize::try_from(rows)
            .unwrap_or(usize::MAX)
            .div_ceil(self.size.max(1))
            .clamp(1, last_page(self.size, self.max_offset))
    }

    pub(crate) fn render(&self) -> maud::Markup {
        let pages = self.pages();
        let total = match self.cap {
            Some(c) if self.total > c => format!("{c} 条以上"),
            _ => format!("{} 条", self.total),
        };
        maud::html! {
            div.pager {
                @if self.page > 1 {
                    a href={ (self.base) (self.param) "=" (self.page - 1) } { "上一页" }
                }
                span.muted { "第 " (self.page) " / " (pages) " 页，共 " (total) }
                @if self.page < pages {
                    a href={ (self.base) (self.param) "=" (self.page + 1) } { "下一页" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn page_within(q: &HashMap<String, String>, name: &str, size: usize, max_offset: usize) -> Result<usize, String> {
        page_value(q.get(name).map(String::as_str), name, size, max_offset)
    }

    fn page(q: &HashMap<String, String>, name: &str, size: usize) -> Result<usize, String> {
        page_within(q, name, size, MAX_OFFSET)
    }

    fn window(q: &HashMap<String, String>, default: usize, max_limit: usize) -> Result<(usize, usize), String> {
        window_within(q, default, max_limit, MAX_OFFSET)
    }

    fn window_within(
        q: &HashMap<String, String>,
        default: usize,
        max_limit: usize,
        max_offset: usize,
    ) -> Result<(usize, usize), String> {
        window_values(
            q.get("limit").map(String::as_str),
            q.get("offset").map(String::as_str),
            default,
            max_limit,
            max_offset,
        )
    }

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn pages_are_bounded_and_errors_name_the_last_page() {
        assert_eq!(page(&q(&[]), "page", 30), Ok(1));
        assert_eq!(page(&q(&[("page", "0")]), "page", 30), Ok(1));
        assert_eq!(page(&q(&[("page", " 7 ")]), "page", 30), Ok(7));
        assert_eq!(last_page(30, MAX_OFFSET), 334);
        assert_eq!(page(&q(&[("page", "334")]), "page", 30), Ok(334));
        assert!(offset_of(334, 30) <= MAX_OFFSET);
        for deep in ["335", "100000000", "18446744073709551615", "340282366920938463463374607431768211455"] {
            let e = page(&q(&[("page", deep)]), "page", 30).unwrap_err();
            assert!(e.contains("最多翻到第 334 页"), "{deep}: {e}");
        }
        for bad in ["-1", "x", "1.5", "99999999999999999999999999999999999999999"] {
            assert!(page(&q(&[("page", bad)]), "page", 30).unwrap_err().contains("应为正整数"), "{bad}");
        }
        assert_eq!(page_within(&q(&[("audit_page", "1000001")]), "audit_page", 50, AUDIT_MAX_OFFSET), Ok(1_000_001));
        assert!(page_within(&q(&[("audit_page", "1000002")]), "audit_page", 50, AUDIT_MAX_OFFSET).is_err());
        assert_eq!(offset_of(usize::MAX, usize::MAX), usize::MAX, "saturates, never overflows");
    }

    #[test]
    fn api_windows_clamp_the_limit_and_refuse_deep_offsets() {
        assert_eq!(window(&q(&[]), 50, 500), Ok((50, 0)));
        assert_eq!(window(&q(&[("limit", "0"), ("offset", "10")]), 50, 500), Ok((1, 10)));
        assert_eq!(window(&q(&[("limit", "18446744073709551616")]), 50, 500), Ok((500, 0)));
        assert_eq!(window(&q(&[("offset", "10000")]), 50, 500), Ok((50, MAX_OFFSET)));
        for deep in ["10001", "100000000", "18446744073709551615"] {
            assert!(window(&q(&[("offset", deep)]), 50, 500).unwrap_err().contains("不能大于 10000"), "{deep}");
        }
        assert!(window(&q(&[("offset", "-1")]), 50, 500).unwrap_err().contains("非负整数"));
        assert!(window(&q(&[("limit", "x")]), 50, 500).unwrap_err().contains("limit"));
        assert_eq!(window_within(&q(&[("offset", "10001")]), 50, 500, AUDIT_MAX_OFFSET), Ok((50, 10_001)));
    }

    #[test]
    fn the_pager_links_the_pages_around_and_names_where_it_is() {
        let first = Pager::new("/stories?all=1&", 1, 61, 30).render().into_string();
        assert_eq!(
            first,
            "<div class=\"pager\"><span class=\"muted\">第 1 / 3 页，共 61 条</span>\
             <a href=\"/stories?all=1&amp;page=2\">下一页</a></div>"
        );
        let last = Pager::new("/posts?", 3, 61, 30).render().into_string();
        assert!(last.contains("<a href=\"/posts?page=2\">上一页</a>") && !last.contains("下一页"), "{last}");
        let past = Pager::new("/system?", 2, 0, 50).param("audit_page", AUDIT_MAX_OFFSET).render().into_string();
        assert!(past.contains("audit_page=1\">上一页") && past.contains("第 2 / 1 页，共 0 条"), "{past}");
        let capped = Pager::new("/posts?", 1, 25_000, 50).capped(10_000);
        assert_eq!(capped.pages(), 200);
        assert!(capped.render().into_string().contains("共 10000 条以上"));
        let deep = Pager::new("/stories?", 334, u64::MAX, 30);
        assert_eq!(deep.pages(), 334, "never links past the deepest page a request may ask for");
        assert!(!deep.render().into_string().contains("下一页"));
    }
}
