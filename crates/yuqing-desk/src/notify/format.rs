//! What each channel receives: payloads, signatures and the reading of robot replies. Pure.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use yuqing_store::outbox::OutboxMessage;

type HmacSha256 = Hmac<Sha256>;

/// WeCom limits: text content 2048 bytes, markdown 4096 bytes.
const WECOM_TEXT_MAX: usize = 2000;
const WECOM_MARKDOWN_MAX: usize = 4000;
/// DingTalk and Feishu accept about 20 KB; stay well below.
const ROBOT_MAX: usize = 15000;

/// Whether a mention means everyone.
fn is_all(m: &str) -> bool {
    matches!(m.trim(), "all" | "@all" | "所有人")
}

fn mobiles(msg: &OutboxMessage) -> Vec<String> {
    msg.mention.iter().map(|m| m.trim()).filter(|m| !m.is_empty() && !is_all(m)).map(String::from).collect()
}

fn mentions_all(msg: &OutboxMessage) -> bool {
    msg.mention.iter().any(|m| is_all(m))
}

/// Cuts `s` to at most `max` bytes on a char boundary, marking the cut.
pub fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    const MARK: &str = "…（已截断）";
    let mut end = max.saturating_sub(MARK.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &s[..end])
}

/// The message as plain text: subject, body and link.
pub fn plain_text(msg: &OutboxMessage) -> String {
    let mut s = format!("【{}】\n{}", msg.subject.trim(), msg.body.trim());
    if let Some(link) = msg.link.as_deref().filter(|l| !l.is_empty()) {
        s.push_str("\n详情：");
        s.push_str(link);
    }
    s
}

fn markdown(msg: &OutboxMessage, heading: &str) -> String {
    let mut s = format!("{heading} {}\n\n{}", msg.subject.trim(), msg.body.trim());
    if let Some(link) = msg.link.as_deref().filter(|l| !l.is_empty()) {
        s.push_str(&format!("\n\n[查看详情]({link})"));
    }
    s
}

/// 企业微信群机器人: markdown, or text when someone is to be @-mentioned (WeCom's markdown messages
/// cannot mention by mobile number).
pub fn wecom_payload(msg: &OutboxMessage) -> Value {
    let mut list = mobiles(msg);
    if mentions_all(msg) {
        list.push("@all".into());
    }
    if list.is_empty() {
        let mut content = format!("**{}**\n\n{}", msg.subject.trim(), msg.body.trim());
        if let Some(link) = msg.link.as_deref().filter(|l| !l.is_empty()) {
            content.push_str(&format!("\n\n[查看详情]({link})"));
        }
        json!({"msgtype": "markdown", "markdown": {"content": truncate_bytes(&content, WECOM_MARKDOWN_MAX)}})
    } else {
        json!({"msgtype": "text", "text": {"content": truncate_bytes(&plain_text(msg), WECOM_TEXT_MAX), "mentioned_mobile_list": list}})
    }
}

/// 钉钉自定义机器人: markdown with `at.atMobiles`; the mobiles are also written into the text, which
/// DingTalk needs to show the mention.
pub fn dingtalk_payload(msg: &OutboxMessage) -> Value {
    let list = mobiles(msg);
    let all = mentions_all(msg);
    let mut text = markdown(msg, "###");
    if !list.is_empty() || all {
        text.push_str("\n\n");
        let ats: Vec<String> = list.iter().map(|m| format!("@{m}")).collect();
        text.push_str(&ats.join(" "));
        if all {
            text.push_str(" @所有人");
        }
    }
    json!({
        "msgtype": "markdown",
        "markdown": {"title": msg.subject.trim(), "text": truncate_bytes(&text, ROBOT_MAX)},
        "at": {"atMobiles": list, "isAtAll": all},
    })
}

/// DingTalk's signature: base64(HmacSHA256(key = secret, message = timestamp + "\n" + secret)),
/// with the timestamp in milliseconds. Not yet URL-encoded.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// The DingTalk URL with `timestamp` and the URL-encoded `sign` appended.
pub fn dingtalk_signed_url(url: &str, secret: &str, now: DateTime<Utc>) -> String {
    let ts = now.timestamp_millis();
    let sign = dingtalk_sign(secret, ts);
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}timestamp={ts}&sign={}", urlencoding::encode(&sign))
}

/// Feishu's signature: base64(HmacSHA256(key = timestamp + "\n" + secret, message = empty)), with
/// the timestamp in seconds.
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let mac = HmacSha256::new_from_slice(format!("{timestamp_s}\n{secret}").as_bytes())
        .expect("HMAC takes a key of any length");
    BASE64.encode(mac.finalize().into_bytes())
}

/// 飞书自定义机器人: a text message; with a secret, `timestamp` and `sign` in the body. Feishu robots
/// mention by user id, not mobile number, so only "all" is honoured.
pub fn feishu_payload(msg: &OutboxMessage, secret: Option<&str>, now: DateTime<Utc>) -> Value {
    let mut text = plain_text(msg);
    if mentions_all(msg) {
        text.push_str("\n<at user_id=\"all\">所有人</at>");
    }
    let mut v = json!({"msg_type": "text", "content": {"text": truncate_bytes(&text, ROBOT_MAX)}});
    if let Some(secret) = secret {
        let ts = now.timestamp();
        v["timestamp"] = Value::String(ts.to_string());
        v["sign"] = Value::String(feishu_sign(secret, ts));
    }
    v
}

/// The generic webhook's JSON document. Receivers should deduplicate on `id`: delivery is at least
/// once.
pub fn webhook_payload(msg: &OutboxMessage, now: DateTime<Utc>) -> Value {
    json!({
        "id": msg.id,
        "channel": msg.channel,
        "subject": msg.subject,
        "body": msg.body,
        "link": msg.link,
        "recipient": msg.recipient,
        "mention": msg.mention,
        "created_at": msg.created_at.to_rfc3339(),
        "sent_at": now.to_rfc3339(),
        "attempt": msg.attempts.saturating_add(1),
    })
}

/// The generic webhook's `X-Yuqing-Signature` header value: "sha256=" + hex(HmacSHA256(secret, body)).
pub fn webhook_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Reads a robot's reply to a 2xx: `Ok` when it reports success (`errcode` for WeCom/DingTalk,
/// `code` or `StatusCode` for Feishu, zero or absent), else the reason in Chinese.
pub fn robot_reply(body: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(body).map_err(|_| format!("机器人回复无法解析为 JSON：{}", excerpt(body)))?;
    for (code_key, msg_key) in [("errcode", "errmsg"), ("code", "msg"), ("StatusCode", "StatusMessage")] {
        if let Some(code) = v.get(code_key) {
            let zero = code.as_i64() == Some(0) || code.as_str() == Some("0");
            if !zero {
                let why = v.get(msg_key).and_then(Value::as_str).unwrap_or("");
                return Err(format!("机器人返回错误 {code_key}={code}：{why}"));
            }
        }
    }
    Ok(())
}

/// The start of a reply body, for the attempt record.
pub fn excerpt(body: &str) -> String {
    let t = body.trim();
    if t.is_empty() {
        return "（空）".into();
    }
    let mut s: String = t.chars().take(200).collect();
    if t.chars().nth(200).is_some() {
        s.push('…');
    }
    s
}

/// The brief in two or three lines of plain text, for alert messages: what happened (the first
/// sentence, with its post numbers), first seen, and where.
pub fn brief_lines(b: &yuqing_text::brief::Brief) -> String {
    let mut lines = Vec::new();
    if let Some(c) = b.what.first() {
        let ids: Vec<String> = c.posts.iter().take(3).map(|id| format!("#{id}")).collect();
        lines.push(format!("概要：{}（帖文 {}）", c.text, ids.join(" ")));
    }
    if let Some(f) = &b.first_seen {
        lines.push(format!(
            "首发：{}（帖文 #{}）",
            f.describe_zh(*f.at.with_timezone(&yuqing_core::china()).offset()),
            f.post
        ));
    }
    if !b.places.is_empty() {
        let names: Vec<&str> = b.places.iter().take(4).map(|p| p.name.as_str()).collect();
        lines.push(format!("地点：{}", names.join("、")));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use yuqing_store::outbox::OutboxStatus;

    fn msg(mention: &[&str]) -> OutboxMessage {
        let t = Utc.timestamp_opt(1_750_000_000, 0).unwrap();
        OutboxMessage {
            id: 7,
            channel: "值班群".into(),
            recipient: None,
            mention: mention.iter().map(|s| s.to_string()).collect(),
            subject: "III 级预警：某地化工厂异味".into(),
            body: "30 分钟内 12 条负面帖文".into(),
            link: Some("http://yuqing.local/stories/7".into()),
            dedup_key: None,
            created_at: t,
            next_attempt_at: t,
            expires_at: t,
            attempts: 2,
            status: OutboxStatus::Pending,
            delivered_at: None,
            last_error: None,
        }
    }

    #[test]
    fn dingtalk_signature_matches_the_documented_algorithm() {
        // Computed independently: printf '1700000000000\nSECtest' | openssl dgst -sha256 -hmac SECtest -binary | base64
        assert_eq!(dingtalk_sign("SECtest", 1_700_000_000_000), "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g=");
        let now = Utc.timestamp_millis_opt(1_700_000_000_000).unwrap();
        let url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SECtest", now);
        assert_eq!(
            url,
            "https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign=aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
        );
    }

    #[test]
    fn feishu_signature_matches_the_documented_algorithm() {
        // Computed independently: printf '' | openssl dgst -sha256 -hmac "$(printf '1700000000\ntest')" -binary | base64
        assert_eq!(feishu_sign("test", 1_700_000_000), "eSJQnOl8XqPTMPHWz9e5IzeHS/tqoc68g2967ekIPmg=");
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let v = feishu_payload(&msg(&["all"]), Some("test"), now);
        assert_eq!(v["timestamp"], "1700000000");
        assert_eq!(v["sign"], "eSJQnOl8XqPTMPHWz9e5IzeHS/tqoc68g2967ekIPmg=");
        assert_eq!(v["msg_type"], "text");
        let text = v["content"]["text"].as_str().unwrap();
        assert!(text.contains("某地化工厂") && text.contains("user_id=\"all\""), "{text}");
        assert!(feishu_payload(&msg(&[]), None, now).get("sign").is_none());
    }

    #[test]
    fn wecom_markdown_without_mentions_text_with() {
        let v = wecom_payload(&msg(&[]));
        assert_eq!(v["msgtype"], "markdown");
        let content = v["markdown"]["content"].as_str().unwrap();
        assert!(content.starts_with("**III 级预警：某地化工厂异味**\n\n"), "{content}");
        assert!(content.contains("[查看详情](http://yuqing.local/stories/7)"), "{content}");
        let v = wecom_payload(&msg(&["13800000000", "all"]));
        assert_eq!(v["msgtype"], "text");
        assert_eq!(v["text"]["mentioned_mobile_list"], json!(["13800000000", "@all"]));
    }

    #[test]
    fn dingtalk_mentions_in_text_and_at() {
        let v = dingtalk_payload(&msg(&["13800000000"]));
        assert_eq!(v["msgtype"], "markdown");
        assert_eq!(v["markdown"]["title"], "III 级预警：某地化工厂异味");
        assert!(v["markdown"]["text"].as_str().unwrap().ends_with("@13800000000"));
        assert_eq!(v["at"], json!({"atMobiles": ["13800000000"], "isAtAll": false}));
    }

    #[test]
    fn webhook_document_and_signature() {
        let now = Utc.timestamp_opt(1_750_000_100, 0).unwrap();
        let v = webhook_payload(&msg(&[]), now);
        assert_eq!(v["id"], 7);
        assert_eq!(v["attempt"], 3);
        assert_eq!(v["created_at"], "2025-06-15T15:06:40+00:00");
        assert_eq!(v["link"], "http://yuqing.local/stories/7");
        // printf 'hello' | openssl dgst -sha256 -hmac key
        assert_eq!(
            webhook_signature("key", b"hello"),
            "sha256=9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b"
        );
    }

    #[test]
    fn robot_replies() {
        assert!(robot_reply(r#"{"errcode":0,"errmsg":"ok"}"#).is_ok());
        assert!(robot_reply(r#"{"code":0,"msg":"success","data":{}}"#).is_ok());
        assert!(robot_reply(r#"{"StatusCode":0,"StatusMessage":"success"}"#).is_ok());
        let e = robot_reply(r#"{"errcode":310000,"errmsg":"keywords not in content"}"#).unwrap_err();
        assert!(e.contains("310000") && e.contains("keywords"), "{e}");
        let e = robot_reply(r#"{"code":19021,"msg":"sign match fail"}"#).unwrap_err();
        assert!(e.contains("19021"), "{e}");
        assert!(robot_reply("<html>proxy</html>").unwrap_err().contains("JSON"));
    }

    #[test]
    fn truncation_keeps_char_boundaries() {
        let s = "舆情".repeat(1000);
        let t = truncate_bytes(&s, 100);
        assert!(t.len() <= 100 && t.ends_with("（已截断）"), "{t}");
        assert_eq!(truncate_bytes("短", 100), "短");
        assert_eq!(excerpt("  "), "（空）");
        assert_eq!(excerpt(&"字".repeat(300)).chars().count(), 201);
    }

    #[test]
    fn brief_lines_say_what_when_and_where_with_post_numbers() {
        use yuqing_text::brief::{Brief, Cited, FirstSeen, Place};
        let at = chrono::FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(2026, 3, 1, 9, 30, 0).unwrap();
        let b = Brief {
            posts_total: 3,
            posts_read: 3,
            what: vec![Cited { text: "某地化工厂发生爆炸。".into(), posts: vec![7, 9], more: 0 }],
            first_seen: Some(FirstSeen {
                at,
                site: "某论坛".into(),
                tier: yuqing_core::SourceTier::Community,
                post: 7,
            }),
            places: vec![Place { name: "某地".into(), posts: vec![7], count: 1 }],
            numbers: vec![],
            sentiment: None,
            representative: vec![],
            heat: None,
        };
        assert_eq!(brief_lines(&b), "概要：某地化工厂发生爆炸。（帖文 #7 #9）\n首发：2026-03-01 09:30 首见于某论坛（社区/自媒体）（帖文 #7）\n地点：某地");
    }
}
