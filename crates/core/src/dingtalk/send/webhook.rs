//! Replies through a message's `sessionWebhook`: no token, valid ~90 min, custom-robot style answers
//! `{"errcode":0,"errmsg":"ok"}` where a non-zero errcode is a failure even with HTTP 200.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::time::now_ms;

/// DingTalk rejects webhook bodies above 20,000 bytes (errcode 460101).
pub const WEBHOOK_MAX_BODY_BYTES: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("[SEND_NO_WEBHOOK] the message carries no sessionWebhook")]
    NoWebhook,
    #[error("[SEND_WEBHOOK_EXPIRED] the sessionWebhook has expired")]
    WebhookExpired,
    #[error("[SEND_THROTTLED] DingTalk throttled the send: {0}")]
    Throttled(String),
    #[error("[SEND_TOO_LONG] the message is too long for DingTalk")]
    TooLong,
    #[error("[SEND_REJECTED] DingTalk rejected the send: errcode {errcode}: {errmsg}")]
    Rejected { errcode: i64, errmsg: String },
    #[error("[SEND_HTTP] sending failed: {0}")]
    Http(String),
}

impl SendError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoWebhook => "SEND_NO_WEBHOOK",
            Self::WebhookExpired => "SEND_WEBHOOK_EXPIRED",
            Self::Throttled(_) => "SEND_THROTTLED",
            Self::TooLong => "SEND_TOO_LONG",
            Self::Rejected { .. } => "SEND_REJECTED",
            Self::Http(_) => "SEND_HTTP",
        }
    }

    /// Worth retrying later (throttling, network, server errors).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled(_) | Self::Http(_))
    }
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
        let body =
            json!({"msgtype": "markdown", "markdown": {"title": title, "text": text}}).to_string();
        if body.len() > WEBHOOK_MAX_BODY_BYTES {
            return Err(SendError::TooLong);
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
                errcode: -1,
                errmsg: format!("HTTP {status} without a JSON answer"),
            }),
        }
    }
}

fn classify(errcode: i64, errmsg: String, status: u16) -> SendError {
    match errcode {
        // 130101 "send too fast, exceed 20 times per minute", 410100 and 660026 (custom-robot family).
        130101 | 410100 | 660026 => SendError::Throttled(errmsg),
        460101 => SendError::TooLong,
        // An expired/unknown session; one project saw HTTP 500 for expiry (protocol notes §3.1).
        300001 | 300004 => SendError::WebhookExpired,
        -1 if status >= 500 => SendError::Http(errmsg),
        _ if status >= 500 => SendError::Http(format!("HTTP {status}: {errmsg}")),
        _ => SendError::Rejected { errcode, errmsg },
    }
}
