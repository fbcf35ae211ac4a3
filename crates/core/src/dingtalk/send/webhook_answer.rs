//! What a sessionWebhook answer means. Invariant: every answer gets exactly one verdict — sent, a failure
//! with the outbox reaction built into its `SendError` (fall back to the OpenAPI, wait and retry, or fail
//! with the reason), or "unknown" (retried with backoff by the sender) — and nothing of the body beyond a
//! bounded excerpt leaves this module.
//!
//! Sources (see also `docs/dingtalk-api.md`):
//! - Success: HTTP 2xx with `errcode` 0 or absent. The official Stream SDKs only check the HTTP status
//!   (`open-dingtalk/dingtalk-stream-sdk-go` `chatbot/chatbot_replier.go`, SDK-PY `reply_markdown`
//!   `raise_for_status`); DingTalk answers refusals with HTTP 200 and a non-zero errcode, so the errcode is
//!   checked too (D-CUSTOM "响应体" `{errcode, errmsg}`).
//! - The errcode table of the custom-robot webhook, the same `oapi` family (D-CUSTOM
//!   https://open.dingtalk.com/document/development/custom-robots-send-group-messages, "错误码"): -1 busy,
//!   40035 missing json, 43004 bad Content-Type, 400013 group dissolved, 400101 access_token does not exist,
//!   400102 robot disabled, 400105 unsupported msgtype, 400106 robot does not exist, 410100 too fast,
//!   430101–430104 unsafe content, 310000 security settings (keywords, sign, IP).
//! - 300001 is "the session / token does not exist", not only "expired": sessionWebhook
//!   `errmsg=session 不存在` (https://github.com/agentscope-ai/QwenPaw/issues/2221, a webhook used hours
//!   later) and custom-robot `token is not exist` for a wrong token
//!   (https://github.com/Long0x0/ZJU-nCov-Hitcarder-Sample/issues/9); 300005 "token is not exist" for an
//!   external group (https://github.com/timonwong/prometheus-webhook-dingtalk/issues/226). An expired
//!   webhook was also seen to answer HTTP 500 (QwenPaw issue 1932), hence errcode before status.
//! - 130101 "send too fast, exceed 20 times per minute" (https://github.com/ccfos/nightingale/issues/369),
//!   660026 (protocol notes §4.4), 460101 "message too long, exceed 20000 bytes"
//!   (https://github.com/timonwong/prometheus-webhook-dingtalk/issues/30): field answers of the same family.
//! - IP ban body `{"status":1111,"wait":5}` (minutes): D-THROTTLE
//!   https://open.dingtalk.com/document/development/how-to-process-api-throttling-on-the-dingtalk-server.

use std::time::Duration;

use serde_json::Value;

use super::error::SendError;

/// D-CUSTOM: "每个机器人每分钟最多发送20条消息到群里，如果超过20条，会限流10分钟" (410100).
pub const WEBHOOK_THROTTLED_RETRY_AFTER: Duration = Duration::from_secs(600);
/// At most this many bytes of an answer body go into errors and logs.
pub const EXCERPT_BYTES: usize = 200;

/// The meaning of one answer.
#[derive(Debug)]
pub enum Verdict {
    Sent,
    Failed(SendError),
    /// Busy or not understood: worth the same request again after a pause. The text is a bounded excerpt.
    Unknown(String),
}

/// Judges an answer. `expired_by_clock`: the message's `sessionWebhookExpiredTime` has passed, so a
/// "session does not exist" answer is the ordinary expiry.
pub fn judge(status: u16, body: &[u8], expired_by_clock: bool) -> Verdict {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let errcode = value.as_ref().and_then(|v| v.get("errcode")).and_then(|c| {
        c.as_i64()
            .or_else(|| c.as_str().and_then(|s| s.parse().ok()))
    });
    let errmsg = value
        .as_ref()
        .and_then(|v| v.get("errmsg"))
        .and_then(Value::as_str)
        .map(|m| excerpt(m.as_bytes()))
        .unwrap_or_default();
    if let Some(wait) = value
        .as_ref()
        .filter(|v| v.get("status").and_then(Value::as_i64) == Some(1111))
        .map(|v| v.get("wait").and_then(Value::as_u64).unwrap_or(5))
    {
        return Verdict::Failed(SendError::Throttled {
            reason: "ip banned (status 1111)".to_owned(),
            retry_after: Some(Duration::from_secs(wait.saturating_mul(60))),
        });
    }
    let success = (200..300).contains(&status);
    match errcode {
        None | Some(0) if success => Verdict::Sent,
        None | Some(0) => Verdict::Unknown(format!("HTTP {status}: {}", excerpt(body))),
        Some(code) => by_errcode(code, errmsg, status, expired_by_clock),
    }
}

fn by_errcode(code: i64, message: String, status: u16, expired_by_clock: bool) -> Verdict {
    let failed = Verdict::Failed;
    match code {
        -1 => Verdict::Unknown(format!("HTTP {status}: errcode -1 (busy): {message}")),
        300_001 | 300_005 | 400_101 if expired_by_clock => failed(SendError::WebhookExpired),
        300_001 | 300_005 | 400_101 => failed(SendError::WebhookInvalid {
            errcode: code,
            message,
        }),
        40_035 | 43_004 | 400_105 | 310_000 => failed(SendError::WebhookRefused {
            errcode: code,
            message,
        }),
        400_013 => failed(SendError::GroupDissolved),
        400_102 => failed(SendError::RobotUnavailable(format!(
            "the robot is disabled; an admin must enable it (400102: {message})"
        ))),
        400_106 => failed(SendError::RobotUnavailable(format!(
            "the robot is not in this conversation (400106: {message})"
        ))),
        // A rolling per-minute window with no hint: the outbox's backoff (≤ 60 s) probes for the free slot.
        130_101 | 660_026 => failed(SendError::Throttled {
            reason: format!("{code}: {message}"),
            retry_after: None,
        }),
        410_100 => failed(SendError::Throttled {
            reason: format!("{code}: {message}"),
            retry_after: Some(WEBHOOK_THROTTLED_RETRY_AFTER),
        }),
        430_101..=430_104 => failed(SendError::ContentRefused {
            code: code.to_string(),
            message,
        }),
        460_101 => failed(SendError::TooLong(message)),
        other => Verdict::Unknown(format!("HTTP {status}: errcode {other}: {message}")),
    }
}

/// At most `EXCERPT_BYTES` of `body`, cut on a char boundary, control characters flattened.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut end = text.len().min(EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let cut: String = text[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if end < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(errcode: i64) -> Vec<u8> {
        format!(r#"{{"errcode":{errcode},"errmsg":"m"}}"#).into_bytes()
    }

    #[test]
    fn success_is_2xx_with_errcode_zero_or_absent() {
        assert!(matches!(judge(200, &body(0), false), Verdict::Sent));
        assert!(matches!(
            judge(200, br#"{"errmsg":"ok"}"#, false),
            Verdict::Sent
        ));
        assert!(matches!(judge(204, b"", false), Verdict::Sent));
        assert!(matches!(
            judge(200, br#"{"errcode":"0"}"#, false),
            Verdict::Sent
        ));
    }

    #[test]
    fn a_non_zero_errcode_is_a_failure_even_with_http_200() {
        assert!(matches!(
            judge(200, &body(400_013), false),
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn session_does_not_exist_is_expiry_only_after_the_expiry_time() {
        let early = judge(200, &body(300_001), false);
        assert!(matches!(
            early,
            Verdict::Failed(SendError::WebhookInvalid {
                errcode: 300_001,
                ..
            })
        ));
        let late = judge(500, &body(300_001), true);
        assert!(matches!(late, Verdict::Failed(SendError::WebhookExpired)));
    }

    #[test]
    fn busy_server_errors_and_unknown_codes_are_unknown() {
        assert!(matches!(judge(200, &body(-1), false), Verdict::Unknown(_)));
        assert!(matches!(
            judge(502, b"<html>bad gateway</html>", false),
            Verdict::Unknown(_)
        ));
        assert!(matches!(
            judge(200, &body(999_999), false),
            Verdict::Unknown(_)
        ));
    }

    #[test]
    fn the_ip_ban_body_waits_the_minutes_it_names() {
        let Verdict::Failed(err) = judge(200, br#"{"status":1111,"wait":5}"#, false) else {
            panic!("a failure");
        };
        assert_eq!(err.retry_after(), Some(Duration::from_secs(300)));
    }

    #[test]
    fn excerpts_are_bounded_and_single_line() {
        let long = format!("{}\n{}", "x".repeat(10), "长".repeat(500));
        let cut = excerpt(long.as_bytes());
        assert!(cut.len() <= EXCERPT_BYTES + "…".len());
        assert!(!cut.contains('\n'));
    }
}
