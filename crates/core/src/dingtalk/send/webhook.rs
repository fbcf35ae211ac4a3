//! Replies through a message's `sessionWebhook`: no token, valid ~90 min, custom-robot style answers
//! `{"errcode":0,"errmsg":"ok"}` where a non-zero errcode is a failure even with HTTP 200.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use super::error::SendError;
use crate::time::now_ms;

/// DingTalk rejects webhook bodies above 20,000 bytes (errcode 460101).
pub const WEBHOOK_MAX_BODY_BYTES: usize = 20_000;

/// Size of the webhook request body `send_markdown` would send: what the 20,000-byte limit applies to.
/// The chunker measures parts with it so each part's *serialized* body fits.
pub fn markdown_body_len(title: &str, text: &str) -> usize {
    markdown_body(title, text).len()
}

fn markdown_body(title: &str, text: &str) -> String {
    json!({"msgtype": "markdown", "markdown": {"title": title, "text": text}}).to_string()
}

#[derive(Deserialize)]
struct WebhookAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Clone)]
pub struct WebhookSender {
    http: reqwest::Client,
    timeout: Duration,
}

impl WebhookSender {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            timeout: Duration::from_secs(15),
        }
    }

    /// Sends markdown; returns the body size in bytes.
    pub async fn send_markdown(
        &self,
        webhook: Option<&str>,
        expires_ms: Option<i64>,
        title: &str,
        text: &str,
    ) -> Result<usize, SendError> {
        let url = webhook.ok_or(SendError::NoWebhook)?;
        if expires_ms.is_some_and(|expiry| expiry <= now_ms()) {
            return Err(SendError::WebhookExpired);
        }
        let body = markdown_body(title, text);
        if body.len() > WEBHOOK_MAX_BODY_BYTES {
            return Err(SendError::TooLong(format!(
                "webhook body is {} bytes, the limit is {WEBHOOK_MAX_BODY_BYTES}",
                body.len()
            )));
        }
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .timeout(self.timeout)
            .send()
            .await
            // The webhook URL is a bearer credential for that conversation: keep it out of errors.
            .map_err(|err| SendError::Http(err.without_url().to_string()))?;
        let status = response.status();
        let answer: Option<WebhookAnswer> = response.json().await.ok();
        match answer {
            Some(answer) if answer.errcode == 0 && status.is_success() => Ok(body.len()),
            Some(answer) => Err(classify(answer.errcode, answer.errmsg, status.as_u16())),
            None if status.is_server_error() => Err(SendError::Http(format!("HTTP {status}"))),
            None => Err(SendError::Rejected {
                code: "-1".to_owned(),
                message: format!("HTTP {status} without a JSON answer"),
            }),
        }
    }
}

fn classify(errcode: i64, errmsg: String, status: u16) -> SendError {
    match errcode {
        // 130101 "send too fast, exceed 20 times per minute", 410100 and 660026 (custom-robot family).
        // DingTalk gives no retry hint here; the bridge's pacer decides.
        130101 | 410100 | 660026 => SendError::Throttled {
            reason: errmsg,
            retry_after: None,
        },
        460101 => SendError::TooLong(errmsg),
        // An expired/unknown session; one project saw HTTP 500 for expiry (protocol notes §3.1).
        300001 | 300004 => SendError::WebhookExpired,
        -1 if status >= 500 => SendError::Http(errmsg),
        _ if status >= 500 => SendError::Http(format!("HTTP {status}: {errmsg}")),
        _ => SendError::Rejected {
            code: errcode.to_string(),
            message: errmsg,
        },
    }
}
