//! Channel configuration: one `[[channels]]` table per channel in the TOML file.

use std::collections::HashSet;
use std::time::Duration;

use lettre::message::Mailbox;
use serde::Deserialize;

use super::NotifyError;

/// What kind of receiver a channel is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    /// A generic JSON webhook (POST of the message as JSON).
    Webhook,
    /// 企业微信群机器人.
    Wecom,
    /// 钉钉自定义机器人 (with the optional signing secret).
    Dingtalk,
    /// 飞书自定义机器人 (with the optional signing secret).
    Feishu,
    /// Email over SMTP.
    Email,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "webhook",
            ChannelKind::Wecom => "wecom",
            ChannelKind::Dingtalk => "dingtalk",
            ChannelKind::Feishu => "feishu",
            ChannelKind::Email => "email",
        }
    }

    /// The name shown to users.
    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Webhook => "通用 Webhook",
            ChannelKind::Wecom => "企业微信群机器人",
            ChannelKind::Dingtalk => "钉钉机器人",
            ChannelKind::Feishu => "飞书机器人",
            ChannelKind::Email => "电子邮件",
        }
    }

    fn is_http(self) -> bool {
        !matches!(self, ChannelKind::Email)
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain SMTP without TLS: only for a relay on the local host or network. Default port 25.
    None,
    /// STARTTLS, required (the connection fails if the server does not offer it). Default port 587.
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS"). Default port 465.
    Tls,
}

/// One notification channel, as written in the configuration file. `Debug` hides the URL (it holds
/// the access token), the secret and the password.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    /// The name messages refer to, e.g. "值班群". Unique.
    pub name: String,
    pub kind: ChannelKind,
    /// The robot's or webhook's URL (with its access token), for every kind but email.
    #[serde(default)]
    pub url: Option<String>,
    /// DingTalk/Feishu: the robot's signing secret (加签密钥). Webhook: signs the body with
    /// HMAC-SHA256 in the `X-Yuqing-Signature` header.
    #[serde(default)]
    pub secret: Option<String>,
    /// Email: the SMTP server.
    #[serde(default)]
    pub host: Option<String>,
    /// Email: the SMTP port; by default 25, 587 or 465 by `tls`.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Email: the sender, e.g. "舆情值班 <yuqing@example.gov.cn>".
    #[serde(default)]
    pub from: Option<String>,
    /// Email: default recipients, used when a message names none.
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub tls: TlsMode,
    /// The whole attempt's time limit in seconds (default 15).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl std::fmt::Debug for ChannelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("ChannelConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &hidden(&self.url))
            .field("secret", &hidden(&self.secret))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("from", &self.from)
            .field("to", &self.to)
            .field("tls", &self.tls)
            .field("timeout_secs", &self.timeout_secs)
            .field("enabled", &self.enabled)
            .finish()
    }
}

fn yes() -> bool {
    true
}

pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// The TCP connect limit for every HTTP channel.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl ChannelConfig {
    /// The time limit of one attempt.
    pub fn timeout(&self) -> Duration {
        self.timeout_secs.map(Duration::from_secs).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The SMTP port in force.
    pub fn smtp_port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::None => 25,
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
        })
    }

    fn err(&self, detail: impl Into<String>) -> NotifyError {
        NotifyError::Channel { channel: self.name.clone(), kind: self.kind.label(), detail: detail.into() }
    }

    /// Checks one channel; the error names it and says what to fix, in Chinese.
    pub fn validate(&self) -> Result<(), NotifyError> {
        if self.name.trim().is_empty() {
            return Err(NotifyError::Unnamed(self.kind.label()));
        }
        if self.name.trim() != self.name {
            return Err(self.err("名称首尾不能有空格"));
        }
        if self.timeout_secs == Some(0) {
            return Err(self.err("timeout_secs 应大于 0"));
        }
        if self.timeout_secs.is_some_and(|t| t > 600) {
            return Err(self.err("timeout_secs 不应超过 600 秒"));
        }
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if !blank(&self.secret) && self.kind == ChannelKind::Wecom {
            return Err(self.err("企业微信群机器人不支持 secret（加签），请删除该项"));
        }
        if self.kind.is_http() {
            let Some(url) = self.url.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
                return Err(self.err("缺少 url（机器人或 Webhook 的地址）"));
            };
            let parsed = reqwest::Url::parse(url).map_err(|e| self.err(format!("url 无法解析：{e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(self.err("url 应以 http:// 或 https:// 开头并包含主机名"));
            }
            for (key, set) in
                [("host", self.host.is_some()), ("port", self.port.is_some()), ("from", self.from.is_some())]
            {
                if set {
                    return Err(self.err(format!("{key} 只用于电子邮件渠道（kind = \"email\"）")));
                }
            }
            if !self.to.is_empty() || self.username.is_some() || self.password.is_some() {
                return Err(self.err("to、username、password 只用于电子邮件渠道（kind = \"email\"）"));
            }
            return Ok(());
        }
        // Email.
        if self.url.is_some() {
            return Err(self.err("电子邮件渠道不用 url，请改用 host / port"));
        }
        if blank(&self.host) {
            return Err(self.err("缺少 host（SMTP 服务器地址）"));
        }
        if self.port == Some(0) {
            return Err(self.err("port 应在 1–65535 之间"));
        }
        let Some(from) = self.from.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
            return Err(self.err("缺少 from（发件人地址）"));
        };
        from.parse::<Mailbox>().map_err(|e| self.err(format!("发件人地址 {from} 无效：{e}")))?;
        for to in &self.to {
            to.trim().parse::<Mailbox>().map_err(|e| self.err(format!("收件人地址 {to} 无效：{e}")))?;
        }
        match (blank(&self.username), blank(&self.password)) {
            (true, true) | (false, false) => {}
            _ => return Err(self.err("username 与 password 应同时填写或同时省略")),
        }
        if !blank(&self.username) && self.tls == TlsMode::None {
            return Err(self.err("不加密（tls = \"none\"）时不能发送用户名和密码；请改用 starttls 或 tls"));
        }
        Ok(())
    }
}

/// Checks every channel and that names are unique.
pub fn validate_channels(channels: &[ChannelConfig]) -> Result<(), NotifyError> {
    let mut seen = HashSet::new();
    for c in channels {
        c.validate()?;
        if !seen.insert(c.name.as_str()) {
            return Err(NotifyError::DuplicateName(c.name.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        channels: Vec<ChannelConfig>,
    }

    fn parse(s: &str) -> Vec<ChannelConfig> {
        toml::from_str::<File>(s).expect("toml").channels
    }

    #[test]
    fn parses_every_kind() {
        let cs = parse(
            r#"
            [[channels]]
            name = "值班群"
            kind = "wecom"
            url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"

            [[channels]]
            name = "钉钉值班"
            kind = "dingtalk"
            url = "https://oapi.dingtalk.com/robot/send?access_token=abc"
            secret = "SECabc"

            [[channels]]
            name = "飞书"
            kind = "feishu"
            url = "https://open.feishu.cn/open-apis/bot/v2/hook/abc"
            secret = "s"
            enabled = false

            [[channels]]
            name = "工单系统"
            kind = "webhook"
            url = "http://10.0.0.5:8080/hooks/yuqing"
            timeout_secs = 5

            [[channels]]
            name = "邮件"
            kind = "email"
            host = "smtp.example.gov.cn"
            username = "yuqing"
            password = "p"
            from = "舆情值班 <yuqing@example.gov.cn>"
            to = ["duty@example.gov.cn"]
            tls = "tls"
            "#,
        );
        assert_eq!(cs.len(), 5);
        validate_channels(&cs).unwrap();
        assert_eq!(cs[1].secret.as_deref(), Some("SECabc"));
        assert!(!cs[2].enabled && cs[0].enabled);
        assert_eq!(cs[3].timeout(), Duration::from_secs(5));
        assert_eq!(cs[0].timeout(), DEFAULT_TIMEOUT);
        assert_eq!((cs[4].tls, cs[4].smtp_port()), (TlsMode::Tls, 465));
    }

    fn one(s: &str) -> String {
        let cs = parse(&format!("[[channels]]\n{s}"));
        validate_channels(&cs).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn errors_name_the_channel_in_chinese() {
        let e = one("name = \"值班群\"\nkind = \"wecom\"");
        assert!(e.contains("值班群") && e.contains("缺少 url"), "{e}");
        let e = one("name = \"值班群\"\nkind = \"wecom\"\nurl = \"ftp://x\"");
        assert!(e.contains("http://"), "{e}");
        let e = one("name = \"值班群\"\nkind = \"wecom\"\nurl = \"https://x\"\nsecret = \"s\"");
        assert!(e.contains("不支持 secret"), "{e}");
        let e = one("name = \"邮件\"\nkind = \"email\"\nfrom = \"a@b.cn\"");
        assert!(e.contains("邮件") && e.contains("host"), "{e}");
        let e = one("name = \"邮件\"\nkind = \"email\"\nhost = \"h\"\nfrom = \"not an address\"");
        assert!(e.contains("发件人地址"), "{e}");
        let e = one("name = \"邮件\"\nkind = \"email\"\nhost = \"h\"\nfrom = \"a@b.cn\"\nusername = \"u\"");
        assert!(e.contains("同时"), "{e}");
        let e = one("name = \"邮件\"\nkind = \"email\"\nhost = \"h\"\nfrom = \"a@b.cn\"\nusername = \"u\"\npassword = \"p\"\ntls = \"none\"");
        assert!(e.contains("不加密"), "{e}");
        let e = one("name = \"\"\nkind = \"feishu\"\nurl = \"https://x\"");
        assert!(e.contains("名称"), "{e}");
        let e = one("name = \"x\"\nkind = \"webhook\"\nurl = \"https://x\"\ntimeout_secs = 0");
        assert!(e.contains("timeout_secs"), "{e}");
        let cs = parse("[[channels]]\nname = \"a\"\nkind = \"webhook\"\nurl = \"https://x\"\n[[channels]]\nname = \"a\"\nkind = \"feishu\"\nurl = \"https://y\"");
        let e = validate_channels(&cs).unwrap_err().to_string();
        assert!(e.contains("重复") && e.contains('a'), "{e}");
        // Unknown keys and kinds are rejected by the parser.
        assert!(toml::from_str::<File>("[[channels]]\nname = \"a\"\nkind = \"sms\"").is_err());
        assert!(toml::from_str::<File>("[[channels]]\nname = \"a\"\nkind = \"webhook\"\nurll = \"x\"").is_err());
    }
}
