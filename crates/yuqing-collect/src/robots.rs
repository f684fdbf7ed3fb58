//! robots.txt (RFC 9309): the group for our user agent (else `*`), longest matching rule wins,
//! `Allow` wins a tie; `*` and `$` in paths are honoured.
//!
//! Invariant: pure. An unreadable or missing robots.txt (4xx) allows everything; a server error
//! (5xx) disallows everything until it can be read (RFC 9309 §2.3.1.4), which the fetcher decides.

/// The product token yuqing identifies itself with.
pub const AGENT: &str = "yuqing";

/// One group of a robots.txt: its user agents, its (allow, pattern) rules, its crawl delay.
type Group = (Vec<String>, Vec<(bool, String)>, Option<f64>);

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Robots {
    /// (allow, path pattern)
    rules: Vec<(bool, String)>,
    /// Crawl-delay of the group, in seconds, if given.
    pub crawl_delay: Option<f64>,
}

impl Robots {
    /// Everything allowed.
    pub fn allow_all() -> Robots {
        Robots::default()
    }

    /// Nothing allowed.
    pub fn deny_all() -> Robots {
        Robots { rules: vec![(false, "/".into())], crawl_delay: None }
    }

    pub fn parse(text: &str, agent: &str) -> Robots {
        let agent = agent.to_ascii_lowercase();
        // Groups: (agents, rules, delay).
        let mut groups: Vec<Group> = Vec::new();
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else { continue };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if !in_agents || groups.is_empty() {
                        groups.push((Vec::new(), Vec::new(), None));
                    }
                    in_agents = true;
                    if let Some(g) = groups.last_mut() {
                        g.0.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if let Some(g) = groups.last_mut() {
                        if !value.is_empty() {
                            g.1.push((key == "allow", value.to_string()));
                        }
                    }
                }
                "crawl-delay" => {
                    in_agents = false;
                    if let Some(g) = groups.last_mut() {
                        g.2 = value.parse().ok();
                    }
                }
                _ => {}
            }
        }
        let mine: Vec<_> =
            groups.iter().filter(|g| g.0.iter().any(|a| a != "*" && agent.starts_with(a.as_str()))).collect();
        let chosen: Vec<_> =
            if mine.is_empty() { groups.iter().filter(|g| g.0.iter().any(|a| a == "*")).collect() } else { mine };
        let mut robots = Robots::default();
        for g in chosen {
            robots.rules.extend(g.1.iter().cloned());
            robots.crawl_delay = robots.crawl_delay.or(g.2);
        }
        robots
    }

    /// Whether `path` (path and query of the URL) may be fetched.
    pub fn allowed(&self, path: &str) -> bool {
        let path = if path.is_empty() { "/" } else { path };
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if matches(pattern, path) {
                let len = pattern.len();
                best = match best {
                    Some((l, a)) if l > len || (l == len && a) => Some((l, a)),
                    _ => Some((len, *allow)),
                };
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// Prefix match with `*` (any run) and a trailing `$` (end of path).
fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !path.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if i == parts.len() - 1 && anchored {
            return path.len() >= pos + part.len() && path.ends_with(part);
        } else {
            match path[pos..].find(part) {
                Some(at) => pos += at + part.len(),
                None => return false,
            }
        }
    }
    !anchored || pos == path.len() || parts.len() > 1 && parts.last().is_some_and(|p| p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXT: &str = "User-agent: *\nDisallow: /admin/\nDisallow: /*.pdf$\nAllow: /admin/public\n\nUser-agent: yuqing\nUser-agent: other\nDisallow: /private\nCrawl-delay: 5\n";

    #[test]
    fn our_group_wins_over_the_star_group() {
        let r = Robots::parse(TXT, AGENT);
        assert!(!r.allowed("/private/x"));
        assert!(r.allowed("/admin/"), "the * group does not apply when ours exists");
        assert_eq!(r.crawl_delay, Some(5.0));
    }

    #[test]
    fn longest_match_wins_and_wildcards_work() {
        let r = Robots::parse(TXT, "somebot");
        assert!(!r.allowed("/admin/secret"));
        assert!(r.allowed("/admin/public/list"));
        assert!(!r.allowed("/docs/a.pdf"));
        assert!(r.allowed("/docs/a.pdf?x=1"));
        assert!(r.allowed("/news/1.html"));
        assert!(Robots::parse("", AGENT).allowed("/x"));
        assert!(!Robots::deny_all().allowed("/"));
        assert!(Robots::parse("User-agent: *\nDisallow:\n", AGENT).allowed("/x"));
    }
}
