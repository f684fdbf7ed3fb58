//! The configuration file (one TOML file): organization names, departments, watch rules, topic
//! lexicons, grading policy, story assembly and key periods. Errors name the file, line and column.
//!
//! Invariant: a loaded `Config` is valid — every rule compiles, every date parses.

use std::path::{Path, PathBuf};
use yuqing_core::incident::{AssignmentRule, DeadlinePolicy};
use yuqing_core::workdays::WorkCalendar;
use yuqing_desk::notify::{validate_channels, ChannelConfig};
use yuqing_desk::signin::AuthConfig;
use yuqing_desk::DeskConfig;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use toml::Spanned;
use yuqing_core::{AssemblyConfig, GradePolicy};
use yuqing_store::rules::{ConfiguredRule, RuleEdit};
use yuqing_store::themes::ThemeDef;
use yuqing_text::rules::RuleDef;
use yuqing_text::topics::{default_lexicons, TopicLexicon};
use yuqing_text::AnalyzerConfig;

/// China Standard Time, the zone dates in the configuration are read in.
pub fn china_tz() -> FixedOffset {
    yuqing_core::china()
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("无法读取配置文件 {path}：{source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("配置文件 {path} 第 {line} 行第 {column} 列：{message}")]
    At { path: PathBuf, line: usize, column: usize, message: String },
    /// The built-in working-day calendar does not parse (a packaging mistake).
    #[error("{0}")]
    Calendar(String),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Place names of the organization's area, as words for the segmenter.
    #[serde(default)]
    pub places: Vec<String>,
    /// 属地: the divisions the organization answers for, by GB/T 2260 code or name (武汉市,
    /// 420115). Stories about elsewhere are not graded above 一般 (see `[grading] require_local`).
    #[serde(default)]
    pub jurisdiction: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchRule {
    pub name: Spanned<String>,
    pub expr: Spanned<String>,
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default)]
    pub department: Option<String>,
}

/// `[[themes]]`: a 专题 above stories.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTheme {
    pub name: Spanned<String>,
    pub expr: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub min_share: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topics {
    /// Keep the built-in lexicons and add these (false: use only these).
    #[serde(default = "yes")]
    pub keep_defaults: bool,
    #[serde(default)]
    pub lexicons: Vec<TopicLexicon>,
}

fn yes() -> bool {
    true
}

impl Default for Topics {
    fn default() -> Self {
        Topics { keep_defaults: true, lexicons: Vec::new() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPeriod {
    pub name: String,
    /// First day, `YYYY-MM-DD` (China time).
    pub start: Spanned<String>,
    /// Last day, inclusive.
    pub end: Spanned<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    organization: Organization,
    #[serde(default)]
    departments: Vec<Department>,
    #[serde(default)]
    rules: Vec<WatchRule>,
    #[serde(default)]
    themes: Vec<RawTheme>,
    #[serde(default)]
    topics: Topics,
    #[serde(default)]
    grading: GradePolicy,
    #[serde(default)]
    assembly: AssemblyConfig,
    #[serde(default)]
    key_periods: Vec<KeyPeriod>,
    #[serde(default)]
    desk: DeskConfig,
    #[serde(default)]
    deadlines: DeadlinePolicy,
    #[serde(default)]
    routing: Vec<AssignmentRule>,
    #[serde(default)]
    channels: Vec<ChannelConfig>,
    #[serde(default)]
    auth: AuthConfig,
    #[serde(default)]
    reports: yuqing_report::ReportConfig,
    #[serde(default)]
    sources: Vec<yuqing_collect::Source>,
    #[serde(default)]
    collect: yuqing_collect::CollectConfig,
    #[serde(default)]
    metrics: RawMetrics,
}

/// `[metrics]` as written: who may read `/metrics`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    allow: Option<Vec<String>>,
    token: Option<String>,
}

/// Who may read `/metrics` (`[metrics]`): clients from these networks, or any client that sends
/// `Authorization: Bearer <token>`. By default only this machine (127.0.0.1 and ::1), no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub allow: Vec<ipnet::IpNet>,
    pub token: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { allow: default_metrics_allow(), token: None }
    }
}

fn default_metrics_allow() -> Vec<ipnet::IpNet> {
    ["127.0.0.1/32", "::1/128"].iter().filter_map(|n| n.parse().ok()).collect()
}

/// An address or network of `[metrics] allow`: `10.0.0.0/8`, `192.168.1.5`, `::1`.
fn parse_net(s: &str) -> Option<ipnet::IpNet> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>().ok().or_else(|| s.parse::<std::net::IpAddr>().ok().map(ipnet::IpNet::from))
}

/// A validated configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub organization: Organization,
    /// `organization.jurisdiction`, resolved in the gazetteer.
    pub jurisdiction: Vec<yuqing_text::places::PlaceId>,
    pub departments: Vec<Department>,
    pub rules: Vec<RuleDef>,
    /// 专题: long-running themes above stories (`[[themes]]`).
    pub themes: Vec<ThemeDef>,
    pub topics: Vec<TopicLexicon>,
    pub grading: GradePolicy,
    pub assembly: AssemblyConfig,
    /// (name, first instant, end instant exclusive)
    pub key_periods: Vec<(String, DateTime<Utc>, DateTime<Utc>)>,
    /// The incident desk, with `[deadlines]` and `[[routing]]` folded in.
    pub desk: DeskConfig,
    /// Notification channels (`[[channels]]`).
    pub channels: Vec<ChannelConfig>,
    /// Sign-in: sessions, lock-out, cookies (`[auth]`).
    pub auth: AuthConfig,
    /// Reports and their schedule (`[reports]`).
    pub reports: yuqing_report::ReportConfig,
    /// Live collection: `[[sources]]` and `[collect]`.
    pub sources: Vec<yuqing_collect::Source>,
    pub collect: yuqing_collect::CollectConfig,
    /// Who may read `/metrics` (`[metrics]`).
    pub metrics: MetricsConfig,
    /// Where it came from (None: built-in defaults).
    pub path: Option<PathBuf>,
    /// The `[[rules]]` as the file defines them (edits on the 监测规则 page apply over these).
    pub configured_rules: Vec<ConfiguredRule>,
    /// The `[[routing]]` as the file defines them; each rule's own department is added after these,
    /// and aliases resolved, to make `desk.routing`.
    explicit_routing: Vec<AssignmentRule>,
}

/// The message of a TOML or value error, naming the key it is about (`desk.ack_timeout`) when the
/// message does not already: a duration's message reads "配置项 desk.ack_timeout 的时长“…”…".
fn with_key(e: &toml::de::Error) -> String {
    let message = e.message().trim();
    // toml names the key only in its plain rendering (without the source excerpt).
    let mut plain = e.clone();
    plain.set_input(None);
    let shown = plain.to_string();
    let key = shown.lines().rev().find_map(|l| l.strip_prefix("in `").and_then(|k| k.strip_suffix('`')));
    match key {
        Some(key) if message.starts_with("时长“") => format!("配置项 {key} 的{message}"),
        Some(key) if !message.contains(key.rsplit('.').next().unwrap_or(key)) => format!("配置项 {key}：{message}"),
        _ => message.to_string(),
    }
}

fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Config {
    /// The built-in defaults (no watch rules: nothing is graded until rules are configured).
    pub fn defaults() -> Config {
        Config { topics: default_lexicons(), ..Config::default() }
    }

    /// Routing may name a department by an alias; incidents carry the department's own name.
    fn own_name(&self, mut r: AssignmentRule) -> AssignmentRule {
        if let Some(d) = self.departments.iter().find(|d| d.aliases.contains(&r.department)) {
            r.department = d.name.clone();
        }
        r
    }

    /// `desk.routing`: the explicit `[[routing]]`, then each watch rule's owning department for
    /// that rule's matches.
    fn route_rules(&mut self, rules: &[ConfiguredRule]) {
        let implicit = rules.iter().filter_map(|r| {
            r.department.as_ref().map(|d| AssignmentRule {
                department: d.clone(),
                rules: vec![r.name.clone()],
                ..Default::default()
            })
        });
        let routing: Vec<AssignmentRule> =
            self.explicit_routing.iter().cloned().chain(implicit).map(|r| self.own_name(r)).collect();
        self.desk.routing = routing;
    }

    /// The configuration with the rule edits saved on the 监测规则 page applied: edited rules
    /// replace the configured ones of the same name, new ones are added, switched-off ones drop
    /// out, and each rule's department routes its matches. An edit that no longer parses (it was
    /// checked when saved) is skipped with a warning rather than stopping the service.
    pub fn with_rule_edits(mut self, edits: &[RuleEdit]) -> Config {
        if edits.is_empty() {
            return self;
        }
        let mut in_force = yuqing_store::rules::enabled(&self.configured_rules, edits);
        in_force.retain(|r| match yuqing_text::rules::parse(&r.expr) {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(rule = %r.name, error = %e, "saved watch rule does not parse; skipped");
                false
            }
        });
        self.rules = in_force.iter().map(|r| RuleDef { name: r.name.clone(), expr: r.expr.clone() }).collect();
        self.route_rules(&in_force);
        self
    }

    /// Reads a working-day calendar file alone (the format of `[deadlines] calendar`), for
    /// checking one before it is configured.
    pub fn load_calendar_file(file: &Path) -> Result<WorkCalendar, String> {
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("无法读取工作日日历文件 {}：{e}", file.display()))?;
        WorkCalendar::parse(&text).map_err(|e| format!("{}：{e}", file.display()))
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let src =
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read { path: path.to_path_buf(), source: e })?;
        Config::parse(&src, path)
    }

    pub fn parse(src: &str, path: &Path) -> Result<Config, ConfigError> {
        let at = |offset: usize, message: String| {
            let (line, column) = line_col(src, offset);
            ConfigError::At { path: path.to_path_buf(), line, column, message }
        };
        let raw: RawConfig = toml::from_str(src).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, with_key(&e))
        })?;

        let mut rules = Vec::new();
        for r in &raw.rules {
            let def = RuleDef { name: r.name.get_ref().clone(), expr: r.expr.get_ref().clone() };
            if let Err(e) = yuqing_text::rules::parse(&def.expr) {
                // Point into the expression: the span starts at the opening quote.
                let start = r.expr.span().start + 1;
                let inner = src.get(start..).unwrap_or("");
                let byte = inner.char_indices().nth(e.position).map_or(inner.len(), |(b, _)| b);
                return Err(at(start + byte, format!("监测规则“{}”有误：{}", def.name, e.message)));
            }
            if rules.iter().any(|x: &RuleDef| x.name == def.name) {
                return Err(at(r.name.span().start, format!("监测规则名称“{}”重复", def.name)));
            }
            rules.push(def);
        }
        let mut themes: Vec<ThemeDef> = Vec::new();
        for t in &raw.themes {
            let name = t.name.get_ref().trim().to_string();
            if name.is_empty() || name.chars().count() > 40 {
                return Err(at(t.name.span().start, "专题名称不能为空，且不超过 40 个字".into()));
            }
            if themes.iter().any(|x| x.name == name) {
                return Err(at(t.name.span().start, format!("专题名称“{name}”重复")));
            }
            let expr = t.expr.get_ref().clone();
            if let Err(e) = yuqing_text::rules::parse(&expr) {
                let start = t.expr.span().start + 1;
                let inner = src.get(start..).unwrap_or("");
                let byte = inner.char_indices().nth(e.position).map_or(inner.len(), |(b, _)| b);
                return Err(at(start + byte, format!("专题“{name}”的表达式有误：{}", e.message)));
            }
            let min_share = match &t.min_share {
                None => yuqing_store::themes::DEFAULT_MIN_SHARE,
                Some(s) if *s.get_ref() > 0.0 && *s.get_ref() <= 1.0 => *s.get_ref(),
                Some(s) => return Err(at(s.span().start, format!("专题“{name}”的 min_share 应大于 0 且不超过 1"))),
            };
            themes.push(ThemeDef { name, expr, description: t.description.trim().to_string(), min_share });
        }
        let mut topics = if raw.topics.keep_defaults { default_lexicons() } else { Vec::new() };
        for lex in raw.topics.lexicons {
            match topics.iter_mut().find(|t| t.name == lex.name) {
                Some(t) => t.words.extend(lex.words),
                None => topics.push(lex),
            }
        }
        let tz = china_tz();
        let mut key_periods = Vec::new();
        for p in &raw.key_periods {
            let day = |s: &Spanned<String>| {
                NaiveDate::parse_from_str(s.get_ref().trim(), "%Y-%m-%d").map_err(|_| {
                    at(s.span().start, format!("重点时期“{}”的日期“{}”应为 YYYY-MM-DD", p.name, s.get_ref()))
                })
            };
            let start = day(&p.start)?;
            let end = day(&p.end)?;
            if end < start {
                return Err(at(p.end.span().start, format!("重点时期“{}”的结束日期早于开始日期", p.name)));
            }
            let instant = |d: NaiveDate| {
                tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                    .single()
                    .map(|t| t.with_timezone(&Utc))
            };
            let (Some(s), Some(e)) = (instant(start), end.succ_opt().and_then(instant)) else {
                return Err(at(p.start.span().start, format!("重点时期“{}”的日期超出范围", p.name)));
            };
            key_periods.push((p.name.clone(), s, e));
        }
        if raw.assembly.window_hours <= 0 || raw.assembly.close_after_hours <= 0 || raw.assembly.max_span_hours <= 0 {
            return Err(at(
                src.find("[assembly]").unwrap_or(0),
                "window_hours、close_after_hours 与 max_span_hours 必须为正数".into(),
            ));
        }
        if !(1..=30).contains(&raw.assembly.df_days) {
            return Err(at(src.find("df_days").unwrap_or(0), "df_days 应在 1 到 30 天之间".into()));
        }
        let share = raw.assembly.common_word_share;
        if !(share > 0.0 && share <= 1.0) {
            return Err(at(
                src.find("common_word_share").unwrap_or(0),
                "common_word_share 应大于 0 且不超过 1（1 表示不区分常见词）".into(),
            ));
        }
        if !(1..=1000).contains(&raw.assembly.core_posts) {
            return Err(at(src.find("core_posts").unwrap_or(0), "core_posts 应在 1 到 1000 之间".into()));
        }
        // Every duration is bounded (3650 days) so no time arithmetic on it can overflow.
        let max_days = yuqing_core::span::MAX_DAYS;
        let bounded = [
            ("assembly.window_hours", u64::try_from(raw.assembly.window_hours).unwrap_or(0), 24),
            ("assembly.close_after_hours", u64::try_from(raw.assembly.close_after_hours).unwrap_or(0), 24),
            ("assembly.max_span_hours", u64::try_from(raw.assembly.max_span_hours).unwrap_or(0), 24),
            ("auth.idle_minutes", u64::from(raw.auth.idle_minutes), 24 * 60),
            ("auth.absolute_hours", u64::from(raw.auth.absolute_hours), 24),
            ("auth.failure_window_minutes", u64::from(raw.auth.failure_window_minutes), 24 * 60),
            ("auth.lockout_minutes", u64::from(raw.auth.lockout_minutes), 24 * 60),
        ];
        for (key, value, per_day) in bounded {
            if value > max_days * per_day {
                let name = key.rsplit('.').next().unwrap_or(key);
                return Err(at(
                    src.find(name).unwrap_or(0),
                    format!("配置项 {key} 的值 {value} 超出范围（最长 {max_days} 天，即 {}）", max_days * per_day),
                ));
            }
        }
        if raw.assembly.near_duplicate_bits > yuqing_core::MAX_NEAR_DUPLICATE_BITS {
            return Err(at(
                src.find("near_duplicate_bits").unwrap_or(0),
                format!("near_duplicate_bits 不能大于 {}", yuqing_core::MAX_NEAR_DUPLICATE_BITS),
            ));
        }
        if !(0.0..=1.0).contains(&raw.assembly.min_similarity) {
            return Err(at(src.find("min_similarity").unwrap_or(0), "min_similarity 应在 0 到 1 之间".into()));
        }
        if let Err(e) = raw.deadlines.validate() {
            return Err(at(src.find("[deadlines").unwrap_or(0), e));
        }
        let known_department = |d: &str| {
            raw.departments.is_empty()
                || raw.departments.iter().any(|x| x.name == d || x.aliases.iter().any(|a| a == d))
        };
        for r in &raw.routing {
            if !known_department(&r.department) {
                let pos = src.find(&format!("\"{}\"", r.department)).unwrap_or(0);
                return Err(at(pos, format!("分派规则中的责任单位“{}”不在 [[departments]] 中", r.department)));
            }
        }
        if let Err(e) = validate_channels(&raw.channels) {
            return Err(at(src.find("[[channels]]").unwrap_or(0), e.to_string()));
        }
        for name in raw.desk.broadcast_channels.iter().chain(&raw.desk.default_channels) {
            if !raw.channels.iter().any(|c| &c.name == name) {
                let pos = src.find(&format!("\"{name}\"")).unwrap_or(0);
                return Err(at(pos, format!("[desk] 引用的通知渠道“{name}”没有在 [[channels]] 中定义")));
            }
        }
        if let Err(e) = raw.reports.validate() {
            return Err(at(src.find("[reports]").unwrap_or(0), e));
        }
        for name in &raw.reports.channels {
            if !raw.channels.iter().any(|c| &c.name == name) {
                return Err(at(
                    src.find(&format!("\"{name}\"")).unwrap_or(0),
                    format!("[reports] 引用的通知渠道“{name}”没有在 [[channels]] 中定义"),
                ));
            }
        }
        for (i, source) in raw.sources.iter().enumerate() {
            let pos = src.find(&format!("\"{}\"", source.id)).unwrap_or(0);
            source.validate().map_err(|e| at(pos, e))?;
            if raw.sources[..i].iter().any(|s| s.id == source.id) {
                return Err(at(pos, format!("信息源 id“{}”重复", source.id)));
            }
        }
        raw.collect.validate().map_err(|e| at(src.find("[collect]").unwrap_or(0), e))?;
        let gazetteer = yuqing_text::places::Gazetteer::builtin();
        let mut jurisdiction = Vec::new();
        for name in &raw.organization.jurisdiction {
            let pos = src.find(&format!("\"{name}\"")).or_else(|| src.find("jurisdiction")).unwrap_or(0);
            let place = gazetteer.lookup(name).map_err(|e| at(pos, format!("[organization] jurisdiction：{e}")))?;
            if !jurisdiction.contains(&place) {
                jurisdiction.push(place);
            }
        }
        let mut grading = raw.grading;
        grading.jurisdiction = jurisdiction.iter().map(|p| gazetteer.place(*p).name.clone()).collect();
        if !(0.0..=1.0).contains(&grading.local_min_share) {
            return Err(at(src.find("local_min_share").unwrap_or(0), "local_min_share 应在 0 到 1 之间".into()));
        }
        if !(0.0..=1.0).contains(&grading.local_min_post_share) {
            return Err(at(
                src.find("local_min_post_share").unwrap_or(0),
                "local_min_post_share 应在 0 到 1 之间".into(),
            ));
        }
        let max_days = yuqing_core::spike::MAX_BASELINE_DAYS;
        let spike_problem = if !(0.0..=1.0).contains(&grading.spike_story_share) {
            Some(("spike_story_share", "spike_story_share 应在 0 到 1 之间".to_string()))
        } else if grading.spike_ratio.is_nan() || grading.spike_ratio < 1.0 {
            Some(("spike_ratio", "spike_ratio 应不小于 1（突增须高于基线）".to_string()))
        } else if !(1..=max_days).contains(&grading.spike_baseline_days) {
            Some(("spike_baseline_days", format!("spike_baseline_days 应在 1 到 {max_days} 之间")))
        } else if !(1..=grading.spike_baseline_days).contains(&grading.spike_min_days) {
            Some(("spike_min_days", "spike_min_days 应在 1 到 spike_baseline_days 之间".to_string()))
        } else if !(1..=yuqing_core::spike::MAX_RUN_HOURS).contains(&grading.spike_hours) {
            Some(("spike_hours", format!("spike_hours 应在 1 到 {} 之间", yuqing_core::spike::MAX_RUN_HOURS)))
        } else {
            None
        };
        if let Some((key, message)) = spike_problem {
            return Err(at(src.find(key).unwrap_or(0), message));
        }
        let mut desk = raw.desk;
        desk.deadlines = raw.deadlines;
        desk.deadlines.workdays =
            std::sync::Arc::new(load_calendar(desk.deadlines.calendar.as_deref(), path, src, &at)?);
        let configured_rules: Vec<ConfiguredRule> = raw
            .rules
            .iter()
            .map(|r| ConfiguredRule {
                name: r.name.get_ref().clone(),
                expr: r.expr.get_ref().clone(),
                topic: r.topic.clone(),
                department: r.department.clone(),
            })
            .collect();
        let mut metrics = MetricsConfig::default();
        if let Some(allow) = &raw.metrics.allow {
            metrics.allow.clear();
            for a in allow {
                let net = parse_net(a).ok_or_else(|| {
                    at(
                        src.find(&format!("\"{a}\"")).unwrap_or(0),
                        format!("[metrics] allow 中的“{a}”不是 IP 地址或网段（如 \"127.0.0.1/32\"、\"10.0.0.0/8\"）"),
                    )
                })?;
                metrics.allow.push(net);
            }
        }
        if let Some(token) = &raw.metrics.token {
            if token.trim().chars().count() < 16 {
                return Err(at(src.find("token").unwrap_or(0), "[metrics] token 至少 16 个字符".into()));
            }
            metrics.token = Some(token.trim().to_string());
        }
        let mut config = Config {
            metrics,
            desk,
            channels: raw.channels,
            auth: raw.auth,
            reports: raw.reports,
            sources: raw.sources,
            collect: raw.collect,
            organization: raw.organization,
            jurisdiction,
            departments: raw.departments,
            rules,
            themes,
            topics,
            grading,
            assembly: raw.assembly,
            key_periods,
            path: Some(path.to_path_buf()),
            configured_rules,
            explicit_routing: raw.routing,
        };
        config.route_rules(&config.configured_rules.clone());
        Ok(config)
    }

    /// The key period in force at `t`, if any.
    pub fn key_period_at(&self, t: DateTime<Utc>) -> Option<&str> {
        self.key_periods.iter().find(|(_, s, e)| *s <= t && t < *e).map(|(n, _, _)| n.as_str())
    }

    /// What the analyzer is built from.
    pub fn analyzer_config(&self) -> AnalyzerConfig {
        let mut user_words = vec![self.organization.name.clone()];
        user_words.extend(self.organization.aliases.iter().cloned());
        user_words.extend(self.organization.places.iter().cloned());
        for d in &self.departments {
            user_words.push(d.name.clone());
            user_words.extend(d.aliases.iter().cloned());
        }
        user_words.retain(|w| !w.trim().is_empty());
        AnalyzerConfig {
            user_words,
            rules: self.rules.clone(),
            topics: self.topics.clone(),
            severe_words: self.grading.severe_words.clone(),
        }
    }
}

/// The commented example `yuqing init` writes.
pub const EXAMPLE: &str = include_str!("../../../docs/yuqing.example.toml");

/// The built-in working-day calendar plus the operator's `[deadlines] calendar` file, whose years
/// replace the built-in ones. A relative path is taken from the configuration file's directory.
fn load_calendar(
    file: Option<&str>,
    config_path: &Path,
    src: &str,
    at: &dyn Fn(usize, String) -> ConfigError,
) -> Result<WorkCalendar, ConfigError> {
    let builtin = WorkCalendar::builtin().map_err(|e| ConfigError::Calendar(e.to_string()))?;
    let Some(file) = file.map(str::trim) else { return Ok(builtin) };
    let pos = src.find("calendar").unwrap_or(0);
    if file.is_empty() {
        return Err(at(pos, "deadlines.calendar 为空：应为节假日日历文件的路径".into()));
    }
    let mut full = PathBuf::from(file);
    if full.is_relative() {
        if let Some(dir) = config_path.parent() {
            full = dir.join(full);
        }
    }
    let extra = Config::load_calendar_file(&full).map_err(|e| at(pos, format!("deadlines.calendar：{e}")))?;
    Ok(builtin.merged(&extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Config, ConfigError> {
        Config::parse(src, Path::new("yuqing.toml"))
    }

    #[test]
    fn metrics_access_defaults_to_this_machine_and_takes_networks_addresses_and_a_token() {
        let c = parse("").unwrap();
        assert_eq!(c.metrics, MetricsConfig::default());
        assert_eq!(c.metrics.allow.len(), 2);
        let c = parse("[metrics]\nallow = [\"10.0.0.0/8\", \"192.168.1.5\"]\ntoken = \"0123456789abcdef\"\n").unwrap();
        assert_eq!(c.metrics.allow, vec!["10.0.0.0/8".parse().unwrap(), "192.168.1.5/32".parse().unwrap()]);
        assert_eq!(c.metrics.token.as_deref(), Some("0123456789abcdef"));
        let e = parse("[metrics]\nallow = [\"10.0.0.0/33\"]\n").unwrap_err().to_string();
        assert!(e.contains("10.0.0.0/33") && e.contains("第 2 行"), "{e}");
        assert!(parse("[metrics]\ntoken = \"short\"\n").is_err());
    }

    #[test]
    fn working_day_deadlines_and_the_operators_calendar_load() {
        use yuqing_core::incident::Limit;
        let c =
            parse("[deadlines.public_response]\nI = \"5wd\"\nII = \"5wd\"\nIII = \"15wd\"\nIV = \"24h\"\n").unwrap();
        assert_eq!(c.desk.deadlines.public_response.i, Limit::WorkingDays(5));
        assert_eq!(c.desk.deadlines.public_response.iii, Limit::WorkingDays(15));
        assert!(c.desk.deadlines.workdays.covers(2026) && !c.desk.deadlines.workdays.covers(2027));
        let e = parse("[deadlines.public_response]\nI = \"0wd\"\nII = \"5wd\"\nIII = \"5wd\"\nIV = \"5wd\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("第 2 行") && e.contains("工作日"), "{e}");

        // The operator's file, relative to the configuration file, adds 2027.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("holidays.toml"),
            "[[years]]\nyear = 2027\nsource = \"测试\"\nholidays = [{ name = \"元旦\", from = 2027-01-01, to = 2027-01-03 }]\n",
        )
        .unwrap();
        let cfg = dir.path().join("yuqing.toml");
        let c = Config::parse("[deadlines]\ncalendar = \"holidays.toml\"\n", &cfg).unwrap();
        let cal = &c.desk.deadlines.workdays;
        assert!(cal.covers(2027) && cal.covers(2024));
        assert!(!cal.is_working_day(chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()));
        // A missing or broken file is an error naming the key and the file.
        let e = Config::parse("[deadlines]\ncalendar = \"nope.toml\"\n", &cfg).unwrap_err().to_string();
        assert!(e.contains("第 2 行") && e.contains("deadlines.calendar") && e.contains("nope.toml"), "{e}");
        std::fs::write(dir.path().join("bad.toml"), "[[years]]\nyear = 2027\n").unwrap();
        let e = Config::parse("[deadlines]\ncalendar = \"bad.toml\"\n", &cfg).unwrap_err().to_string();
        assert!(e.contains("bad.toml") && e.contains("source"), "{e}");
    }

    #[test]
    fn rule_edits_from_the_page_replace_add_switch_off_and_route() {
        let c = parse(EXAMPLE).expect("the example must load");
        let explicit = c.desk.routing.len() - c.configured_rules.iter().filter(|r| r.department.is_some()).count();
        let at = Utc::now();
        let edit = |name: &str, expr: &str, dept: Option<&str>, enabled: bool| RuleEdit {
            name: name.into(),
            expr: expr.into(),
            topic: None,
            department: dept.map(String::from),
            enabled,
            by: "li".into(),
            at,
        };
        let first = c.configured_rules[0].name.clone();
        let edits = vec![
            edit(&first, "医院 & 排队", Some("市卫生健康委员会"), true),
            edit("校园欺凌", "学校 & 欺凌", Some("市教育局"), true),
            edit("食品安全", "食品", None, false),
            edit("坏规则", "学校 &&", None, true),
        ];
        let e = c.clone().with_rule_edits(&edits);
        let names: Vec<&str> = e.rules.iter().map(|r| r.name.as_str()).collect();
        assert!(names.contains(&"校园欺凌") && !names.contains(&"食品安全") && !names.contains(&"坏规则"), "{names:?}");
        assert_eq!(e.rules.iter().find(|r| r.name == first).unwrap().expr, "医院 & 排队");
        assert!(e.desk.routing.iter().any(|r| r.rules == vec!["校园欺凌".to_string()] && r.department == "市教育局"));
        assert!(
            !e.desk.routing.iter().any(|r| r.rules == vec!["食品安全".to_string()] && r.topics.is_empty()),
            "a switched-off rule routes nothing"
        );
        assert_eq!(
            e.desk.routing[..explicit],
            c.desk.routing[..explicit],
            "the explicit [[routing]] stays first and unchanged"
        );
        assert_eq!(c.clone().with_rule_edits(&[]).rules, c.rules);
    }

    #[test]
    fn desk_sections_load_and_errors_name_the_place() {
        let c = parse(EXAMPLE).expect("the example must load");
        assert_eq!(c.desk.routing[0].department, "市卫生健康委员会");
        // The rules' own departments route as well, by their full names.
        let rule_route = c
            .desk
            .routing
            .iter()
            .find(|r| r.rules == vec!["食品安全".to_string()] && r.topics.is_empty())
            .expect("implicit route");
        assert_eq!(rule_route.department, "市市场监督管理局");
        assert_eq!(c.desk.ack_timeout, chrono::Duration::minutes(10));
        let bad = "[[departments]]\nname = \"甲\"\n\n[[routing]]\ndepartment = \"乙\"\ntopics = [\"教育\"]\n";
        let e = parse(bad).unwrap_err().to_string();
        assert!(e.contains("第 5 行") && e.contains("乙"), "{e}");
        let e = parse("[desk]\nack_timeout = \"十分钟\"\n").unwrap_err().to_string();
        assert!(e.contains("第 2 行"), "{e}");
        let e = parse("[desk]\ndefault_channels = [\"值班群\"]\n").unwrap_err().to_string();
        assert!(e.contains("值班群") && e.contains("[[channels]]"), "{e}");
        let e = parse("[deadlines.first_report]\nI = \"30\"\nII = \"30m\"\nIII = \"30m\"\nIV = \"30m\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("第 2 行") && e.contains("单位"), "{e}");
    }

    #[test]
    fn sources_load_and_errors_name_the_source_and_line() {
        let src = "[[sources]]\nid = \"rmw\"\nname = \"人民网\"\nkind = \"feed\"\nurl = \"http://www.people.com.cn/rss/politics.xml\"\ntier = \"Central\"\n";
        let c = parse(src).unwrap();
        assert_eq!(c.sources[0].tier, yuqing_core::SourceTier::Central);
        let e = parse(&src.replace("feed", "html")).unwrap_err().to_string();
        assert!(e.contains("第 2 行") && e.contains("selectors.links"), "{e}");
        let e = parse(&format!("{src}\n{src}")).unwrap_err().to_string();
        assert!(e.contains("重复"), "{e}");
        let e = parse("[collect]\npoliteness = \"两秒\"\n").unwrap_err().to_string();
        assert!(e.contains("politeness"), "{e}");
        // The commented sources of the example are valid once uncommented.
        let uncommented: String = EXAMPLE
            .split("# 信息源（去掉行首的 # 启用）")
            .nth(1)
            .expect("the example has sources")
            .split("# ── ")
            .next()
            .expect("the sources' part")
            .lines()
            .filter_map(|l| l.strip_prefix("# ").or_else(|| l.strip_prefix("#")))
            .filter(|l| !l.starts_with(' ') && !l.contains("kind：") && !l.contains("search（"))
            .collect::<Vec<_>>()
            .join("\n");
        let c = parse(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert_eq!(c.sources.len(), 4);
    }

    /// Every place a duration is read refuses one past 3650 days (or zero where zero makes no
    /// sense) at load, with a message naming the key — instead of loading it and panicking later.
    #[test]
    fn durations_out_of_range_are_refused_naming_the_key() {
        let source =
            "[[sources]]\nid = \"bbs\"\nname = \"论坛\"\nkind = \"feed\"\nurl = \"http://bbs.example/feed.xml\"\n";
        let cases: Vec<(String, &str, &str)> = vec![
            (
                "[collect]\nsnapshot_retention = \"99999999999d\"\n".into(),
                "collect.snapshot_retention",
                "超出范围（最长 3650 天）",
            ),
            ("[collect]\npoliteness = \"3651d\"\n".into(), "collect.politeness", "超出范围"),
            ("[collect]\nconnect_timeout = \"0s\"\n".into(), "collect.connect_timeout", "必须大于零"),
            ("[collect]\nsources_reload = \"1000000000000d\"\n".into(), "collect.sources_reload", "超出范围"),
            (format!("{source}interval = \"99999999999d\"\n"), "sources.interval", "超出范围"),
            (format!("{source}timeout = \"0s\"\n"), "sources.timeout", "必须大于零"),
            ("[desk]\nack_timeout = \"1000000000000d\"\n".into(), "desk.ack_timeout", "超出范围"),
            ("[desk]\ntick = \"0s\"\n".into(), "desk.tick", "必须大于零"),
            ("[deadlines]\nreview = \"1000000000000d\"\n".into(), "deadlines.review", "超出范围"),
            ("[deadlines]\nreview = \"5000d\"\n".into(), "deadlines.review", "超出范围（最长 3650 天）"),
            (
                "[deadlines.first_report]\nI = \"1000000000000d\"\nII = \"30m\"\nIII = \"30m\"\nIV = \"30m\"\n".into(),
                "deadlines.first_report.I",
                "超出范围",
            ),
            ("[assembly]\nwindow_hours = 99999999999\n".into(), "assembly.window_hours", "超出范围"),
            ("[auth]\nidle_minutes = 4000000000\n".into(), "auth.idle_minutes", "超出范围"),
        ];
        for (src, key, why) in cases {
            let e = parse(&src).unwrap_err().to_string();
            assert!(e.contains(key) && e.contains(why), "{src}: {e}");
            assert!(e.contains("第 2 行") || e.contains("第 1 行") || e.contains("第 6 行"), "the place is named: {e}");
        }
        // The bound itself loads.
        let c = parse("[collect]\nsnapshot_retention = \"3650d\"\n[desk]\nfollow_up_window = \"3650d\"\n").unwrap();
        assert_eq!(c.collect.retention(), std::time::Duration::from_secs(3650 * 86_400));
    }

    #[test]
    fn example_config_is_valid() {
        let c = parse(EXAMPLE).expect("the example must load");
        assert!(!c.rules.is_empty());
        assert!(c.topics.iter().any(|t| t.name == "医疗"));
    }

    #[test]
    fn spike_settings_out_of_range_are_refused_naming_the_key() {
        let c = parse("[grading]\nspike_baseline_days = 28\nspike_min_days = 10\nspike_ratio = 2.5\n").expect("valid");
        assert_eq!((c.grading.spike_baseline_days, c.grading.spike_min_days, c.grading.spike_hours), (28, 10, 2));
        for (line, says) in [
            ("spike_story_share = 1.5", "spike_story_share 应在 0 到 1 之间"),
            ("spike_ratio = 0.5", "spike_ratio 应不小于 1"),
            ("spike_baseline_days = 60", "spike_baseline_days 应在 1 到 28 之间"),
            ("spike_min_days = 20", "spike_min_days 应在 1 到 spike_baseline_days 之间"),
            ("spike_hours = 0", "spike_hours 应在 1 到 24 之间"),
        ] {
            let err = parse(&format!("[grading]\n{line}\n")).unwrap_err().to_string();
            assert!(err.contains(says) && err.contains("第 2 行"), "{line}: {err}");
        }
    }

    #[test]
    fn toml_syntax_error_names_line_and_column() {
        let err =
            parse("[organization]\nname = \"某市\"\naliases = [\"a\",\n\n[grading]\nmajor_posts = 1\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("配置文件 yuqing.toml 第 "), "{msg}");
        let err = parse("[grading]\nmajor_posts = \"many\"\n").unwrap_err().to_string();
        assert!(err.contains("第 2 行"), "{err}");
    }

    #[test]
    fn unknown_key_is_an_error_with_its_place() {
        let err = parse("[grading]\nmajor_post = 100\n").unwrap_err().to_string();
        assert!(err.contains("第 2 行第 1 列"), "{err}");
    }

    #[test]
    fn bad_rule_points_at_the_error_inside_the_expression() {
        let src = "[[rules]]\nname = \"医疗\"\nexpr = \"(医院 & 纠纷\"\n";
        let err = parse(src).unwrap_err().to_string();
        assert!(err.contains("第 3 行") && err.contains("医疗"), "{err}");
    }

    #[test]
    fn themes_are_checked_where_they_are_written() {
        let c = parse("[[themes]]\nname = \"新冠疫情\"\nexpr = \"肺炎 | 新冠\"\ndescription = \"疫情相关\"\n\n[[themes]]\nname = \"复工\"\nexpr = \"复工\"\nmin_share = 0.5\n").unwrap();
        assert_eq!(c.themes.len(), 2);
        assert_eq!((c.themes[0].min_share, c.themes[0].description.as_str()), (0.3, "疫情相关"));
        assert_eq!(c.themes[1].min_share, 0.5);
        let bad = parse("[[themes]]\nname = \"复工\"\nexpr = \"复工 &\"\n").unwrap_err().to_string();
        assert!(bad.contains("第 3 行") && bad.contains("专题“复工”"), "{bad}");
        let twice = parse("[[themes]]\nname = \"a\"\nexpr = \"b\"\n[[themes]]\nname = \"a\"\nexpr = \"c\"\n")
            .unwrap_err()
            .to_string();
        assert!(twice.contains("第 5 行") && twice.contains("重复"), "{twice}");
        let share = parse("[[themes]]\nname = \"a\"\nexpr = \"b\"\nmin_share = 0\n").unwrap_err().to_string();
        assert!(share.contains("第 4 行") && share.contains("min_share"), "{share}");
    }

    #[test]
    fn key_periods_are_days_in_china_time() {
        let src = "[[key_periods]]\nname = \"高考\"\nstart = \"2026-06-07\"\nend = \"2026-06-08\"\n";
        let c = parse(src).unwrap();
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(c.key_period_at(t("2026-06-07T00:00:00+08:00")), Some("高考"));
        assert_eq!(c.key_period_at(t("2026-06-08T23:59:59+08:00")), Some("高考"));
        assert_eq!(c.key_period_at(t("2026-06-09T00:00:00+08:00")), None);
        assert_eq!(c.key_period_at(t("2026-06-06T23:59:59+08:00")), None);
        let bad =
            parse("[[key_periods]]\nname = \"x\"\nstart = \"6月7日\"\nend = \"2026-06-08\"\n").unwrap_err().to_string();
        assert!(bad.contains("第 3 行"), "{bad}");
    }
}
