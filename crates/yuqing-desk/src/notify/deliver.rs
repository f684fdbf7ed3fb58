//! Delivering one outbox message over its channel: HTTP robots and webhooks with reqwest, email with
//! lettre. Never panics; every failure is an outcome with its reason in Chinese. Channel URLs carry
//! access tokens, so neither outcomes nor logs contain them.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;
use yuqing_store::outbox::{AttemptOutcome, OutboxMessage};

use super::config::{validate_channels, ChannelConfig, ChannelKind, TlsMode, CONNECT_TIMEOUT};
use super::format;
use super::NotifyError;

enum Transport {
    Http { url: String },
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

struct Channel {
    config: ChannelConfig,
    transport: Transport,
}

/// The configured channels, ready to deliver. Cheap to share behind an `Arc`.
pub struct Deliverer {
    channels: HashMap<String, Channel>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the configs: they hold secrets.
        f.debug_struct("Deliverer").field("channels", &self.channels.keys().collect::<Vec<_>>()).finish()
    }
}

impl Deliverer {
    /// Validates the channels and builds their clients (no connection is made yet).
    pub fn new(channels: &[ChannelConfig]) -> Result<Deliverer, NotifyError> {
        validate_channels(channels)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("yuqing/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| NotifyError::Client(e.to_string()))?;
        let mut map = HashMap::new();
        for c in channels {
            let transport = match c.kind {
                ChannelKind::Email => Transport::Smtp(smtp_transport(c)?),
                _ => Transport::Http { url: c.url.as_deref().unwrap_or_default().trim().to_string() },
            };
            map.insert(c.name.clone(), Channel { config: c.clone(), transport });
        }
        Ok(Deliverer { channels: map, http })
    }

    /// The names of the enabled channels.
    pub fn channel_names(&self) -> Vec<&str> {
        let mut v: Vec<&str> =
            self.channels.values().filter(|c| c.config.enabled).map(|c| c.config.name.as_str()).collect();
        v.sort_unstable();
        v
    }

    /// Whether `name` is a configured, enabled channel (worth enqueueing for).
    pub fn has_channel(&self, name: &str) -> bool {
        self.channels.get(name).is_some_and(|c| c.config.enabled)
    }

    /// The longest time limit of any channel (the worker's lease must outlast it).
    pub fn longest_timeout(&self) -> Duration {
        self.channels.values().map(|c| c.config.timeout() + Duration::from_secs(1)).max().unwrap_or_default()
    }

    /// The kind of channel `name`, if configured.
    pub fn kind(&self, name: &str) -> Option<ChannelKind> {
        self.channels.get(name).map(|c| c.config.kind)
    }

    /// Tries to deliver `msg` once, at `now` (used for signatures); never panics. An unknown or
    /// disabled channel is a failed attempt with its reason, so it shows in the record and the message
    /// is tried again (after the configuration is fixed) until it expires.
    pub async fn deliver(&self, msg: &OutboxMessage, now: DateTime<Utc>) -> AttemptOutcome {
        let Some(ch) = self.channels.get(&msg.channel) else {
            return AttemptOutcome::Failed(format!("未配置名为“{}”的通知渠道", msg.channel));
        };
        if !ch.config.enabled {
            return AttemptOutcome::Failed(format!("通知渠道“{}”已停用（enabled = false）", msg.channel));
        }
        match &ch.transport {
            Transport::Http { url } => self.deliver_http(&ch.config, url, msg, now).await,
            Transport::Smtp(t) => deliver_email(&ch.config, t, msg).await,
        }
    }

    async fn deliver_http(
        &self,
        c: &ChannelConfig,
        url: &str,
        msg: &OutboxMessage,
        now: DateTime<Utc>,
    ) -> AttemptOutcome {
        let secret = c.secret.as_deref().filter(|s| !s.is_empty());
        let (url, payload): (String, Value) = match c.kind {
            ChannelKind::Wecom => (url.to_string(), format::wecom_payload(msg)),
            ChannelKind::Dingtalk => (
                match secret {
                    Some(s) => format::dingtalk_signed_url(url, s, now),
                    None => url.to_string(),
                },
                format::dingtalk_payload(msg),
            ),
            ChannelKind::Feishu => (url.to_string(), format::feishu_payload(msg, secret, now)),
            ChannelKind::Webhook | ChannelKind::Email => (url.to_string(), format::webhook_payload(msg, now)),
        };
        let body = match serde_json::to_vec(&payload) {
            Ok(b) => b,
            Err(e) => return AttemptOutcome::Failed(format!("消息无法编码为 JSON：{e}")),
        };
        let mut req = self
            .http
            .post(&url)
            .timeout(c.timeout())
            .header(reqwest::header::CONTENT_TYPE, "application/json; charset=utf-8")
            .header("X-Yuqing-Message-Id", msg.id.to_string());
        if c.kind == ChannelKind::Webhook {
            if let Some(s) = secret {
                req = req.header("X-Yuqing-Signature", format::webhook_signature(s, &body));
            }
        }
        let resp = match req.body(body).send().await {
            Ok(r) => r,
            Err(e) => return AttemptOutcome::Failed(describe_http_error(e, c.timeout())),
        };
        let status = resp.status();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) if status.is_success() && c.kind == ChannelKind::Webhook => {
                return AttemptOutcome::Delivered(format!(
                    "HTTP {}（回复读取失败：{}）",
                    status.as_u16(),
                    e.without_url()
                ))
            }
            Err(e) => {
                return AttemptOutcome::Failed(format!(
                    "HTTP {}，回复读取失败：{}",
                    status.as_u16(),
                    describe_http_error(e, c.timeout())
                ))
            }
        };
        if !status.is_success() {
            return AttemptOutcome::Failed(format!("HTTP {}：{}", status.as_u16(), format::excerpt(&text)));
        }
        if c.kind != ChannelKind::Webhook {
            if let Err(why) = format::robot_reply(&text) {
                return AttemptOutcome::Failed(why);
            }
        }
        AttemptOutcome::Delivered(format!("HTTP {}：{}", status.as_u16(), format::excerpt(&text)))
    }
}

fn describe_http_error(e: reqwest::Error, timeout: Duration) -> String {
    let e = e.without_url();
    let mut chain = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        chain.push('：');
        chain.push_str(&s.to_string());
        src = s.source();
    }
    if e.is_timeout() {
        format!("请求超时（{} 秒）：{chain}", timeout.as_secs())
    } else if e.is_connect() {
        format!("无法连接接收方：{chain}")
    } else {
        format!("请求失败：{chain}")
    }
}

fn smtp_transport(c: &ChannelConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, NotifyError> {
    let host = c.host.as_deref().unwrap_or_default().trim();
    let err = |e: lettre::transport::smtp::Error| NotifyError::Channel {
        channel: c.name.clone(),
        kind: c.kind.label(),
        detail: format!("SMTP 配置无效：{e}"),
    };
    let builder = match c.tls {
        TlsMode::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
        TlsMode::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host).map_err(err)?,
        TlsMode::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host).map_err(err)?,
    };
    let mut builder = builder.port(c.smtp_port()).timeout(Some(c.timeout()));
    if let (Some(u), Some(p)) = (c.username.as_deref(), c.password.as_deref()) {
        if !u.trim().is_empty() {
            builder = builder.credentials(Credentials::new(u.trim().to_string(), p.to_string()));
        }
    }
    Ok(builder.build())
}

/// The recipients of an email: the message's own (separated by commas, semicolons or whitespace)
/// or else the channel's `to`.
fn email_recipients(c: &ChannelConfig, msg: &OutboxMessage) -> Result<Vec<Mailbox>, String> {
    let own: Vec<&str> = msg
        .recipient
        .as_deref()
        .unwrap_or_default()
        .split([',', ';', '，', '；', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let list: Vec<&str> = if own.is_empty() { c.to.iter().map(|s| s.trim()).collect() } else { own };
    if list.is_empty() {
        return Err("没有收件人：消息未指定，渠道也未配置 to".into());
    }
    list.iter().map(|a| a.parse::<Mailbox>().map_err(|e| format!("收件人地址 {a} 无效：{e}"))).collect()
}

/// Builds the email for `msg` (plain text, UTF-8, a stable Message-ID per outbox message).
pub fn build_email(c: &ChannelConfig, msg: &OutboxMessage) -> Result<Message, String> {
    let from =
        c.from.as_deref().unwrap_or_default().trim().parse::<Mailbox>().map_err(|e| format!("发件人地址无效：{e}"))?;
    let mut b = Message::builder()
        .from(from)
        .subject(msg.subject.trim())
        .message_id(Some(format!("<yuqing-outbox-{}-{}@yuqing>", msg.id, msg.created_at.timestamp())))
        .header(ContentType::TEXT_PLAIN);
    for to in email_recipients(c, msg)? {
        b = b.to(to);
    }
    let mut body = msg.body.trim().to_string();
    if let Some(link) = msg.link.as_deref().filter(|l| !l.is_empty()) {
        body.push_str("\n\n详情：");
        body.push_str(link);
    }
    body.push_str("\n\n——本邮件由舆情监测系统自动发送，请勿直接回复。\n");
    b.body(body).map_err(|e| format!("邮件无法生成：{e}"))
}

async fn deliver_email(
    c: &ChannelConfig,
    t: &AsyncSmtpTransport<Tokio1Executor>,
    msg: &OutboxMessage,
) -> AttemptOutcome {
    let email = match build_email(c, msg) {
        Ok(m) => m,
        Err(e) => return AttemptOutcome::Failed(e),
    };
    // lettre's own timeout applies per command; bound the whole exchange too.
    match tokio::time::timeout(c.timeout() + Duration::from_secs(1), t.send(email)).await {
        Err(_) => AttemptOutcome::Failed(format!("SMTP 发送超时（{} 秒）", c.timeout().as_secs())),
        Ok(Err(e)) => AttemptOutcome::Failed(format!("SMTP 发送失败：{e}")),
        Ok(Ok(r)) => {
            let text: Vec<&str> = r.message().collect();
            AttemptOutcome::Delivered(format!("SMTP {}：{}", r.code(), format::excerpt(&text.join(" "))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use yuqing_store::outbox::OutboxStatus;

    fn email_channel() -> ChannelConfig {
        ChannelConfig {
            name: "邮件".into(),
            kind: ChannelKind::Email,
            url: None,
            secret: None,
            host: Some("127.0.0.1".into()),
            port: Some(2525),
            username: None,
            password: None,
            from: Some("舆情值班 <yuqing@example.gov.cn>".into()),
            to: vec!["duty@example.gov.cn".into()],
            tls: TlsMode::None,
            timeout_secs: Some(3),
            enabled: true,
        }
    }

    fn msg(recipient: Option<&str>) -> OutboxMessage {
        let t = Utc.timestamp_opt(1_750_000_000, 0).unwrap();
        OutboxMessage {
            id: 3,
            channel: "邮件".into(),
            recipient: recipient.map(String::from),
            mention: vec![],
            subject: "II 级预警：某地桥梁垮塌".into(),
            body: "请值班人员立即核实。".into(),
            link: Some("http://yuqing.local/stories/9".into()),
            dedup_key: None,
            created_at: t,
            next_attempt_at: t,
            expires_at: t,
            attempts: 0,
            status: OutboxStatus::Pending,
            delivered_at: None,
            last_error: None,
        }
    }

    #[test]
    fn email_uses_the_messages_recipients_or_the_channels() {
        let c = email_channel();
        let m = build_email(&c, &msg(None)).unwrap();
        let to: Vec<String> = m.envelope().to().iter().map(|a| a.to_string()).collect();
        assert_eq!(to, vec!["duty@example.gov.cn"]);
        let m = build_email(&c, &msg(Some("a@x.cn； b@x.cn"))).unwrap();
        assert_eq!(m.envelope().to().len(), 2);
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("Message-ID: <yuqing-outbox-3-1750000000@yuqing>"), "{raw}");
        assert!(raw.contains("Subject: II =?utf-8?b?"), "{raw}");
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
        assert!(build_email(&c, &msg(Some("not-an-address"))).unwrap_err().contains("收件人地址"));
        let none = ChannelConfig { to: vec![], ..email_channel() };
        assert!(build_email(&none, &msg(None)).unwrap_err().contains("没有收件人"));
    }

    #[tokio::test]
    async fn unknown_and_disabled_channels_are_failed_attempts() {
        let off = ChannelConfig { enabled: false, ..email_channel() };
        let d = Deliverer::new(&[off]).unwrap();
        assert!(!d.has_channel("邮件"));
        assert!(d.channel_names().is_empty());
        let m = msg(None);
        match d.deliver(&m, m.created_at).await {
            AttemptOutcome::Failed(why) => assert!(why.contains("已停用"), "{why}"),
            o => panic!("{o:?}"),
        }
        let other = OutboxMessage { channel: "不存在".into(), ..m };
        match d.deliver(&other, other.created_at).await {
            AttemptOutcome::Failed(why) => assert!(why.contains("未配置名为“不存在”"), "{why}"),
            o => panic!("{o:?}"),
        }
    }

    #[tokio::test]
    async fn tls_transports_build_and_fail_cleanly_against_a_plain_listener() {
        // A listener that accepts and closes: TLS handshakes fail; no panic (a crypto provider is set).
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                drop(s);
            }
        });
        let tls = ChannelConfig { name: "tls".into(), tls: TlsMode::Tls, port: Some(addr.port()), ..email_channel() };
        let starttls = ChannelConfig {
            name: "starttls".into(),
            tls: TlsMode::Starttls,
            port: Some(addr.port()),
            ..email_channel()
        };
        let https = ChannelConfig {
            name: "https".into(),
            kind: ChannelKind::Webhook,
            url: Some(format!("https://{addr}/hook")),
            host: None,
            port: None,
            from: None,
            to: vec![],
            ..email_channel()
        };
        let d = Deliverer::new(&[tls, starttls, https]).unwrap();
        for name in ["tls", "starttls", "https"] {
            let m = OutboxMessage { channel: name.into(), ..msg(None) };
            match d.deliver(&m, m.created_at).await {
                AttemptOutcome::Failed(why) => assert!(!why.is_empty(), "{name}"),
                o => panic!("{name}: {o:?}"),
            }
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let c = ChannelConfig {
            name: "钉钉".into(),
            kind: ChannelKind::Dingtalk,
            url: Some("https://oapi.dingtalk.com/robot/send?access_token=TOKEN".into()),
            secret: Some("SECRET".into()),
            host: None,
            port: None,
            username: None,
            password: None,
            from: None,
            to: vec![],
            tls: TlsMode::default(),
            timeout_secs: None,
            enabled: true,
        };
        let d = Deliverer::new(&[c]).unwrap();
        let s = format!("{d:?}");
        assert!(!s.contains("TOKEN") && !s.contains("SECRET"), "{s}");
    }
}
