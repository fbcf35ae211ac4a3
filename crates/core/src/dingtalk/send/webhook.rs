//! Replies through a message's `sessionWebhook`: no token, valid ~90 min, custom-robot style answers
//! `{"errcode":0,"errmsg":"ok"}` where a non-zero errcode is a failure even with HTTP 200 (what each answer
//! means: `webhook_answer`). Invariant: the webhook URL (a bearer credential) never reaches an error or a log.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use serde_json::json;

use super::error::SendError;
use super::webhook_answer::{Verdict, judge};
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

/// How often an unknown or "busy" answer is retried before the sender gives up on the webhook. D-ERR asks
/// for at most three retries of errcode -1 ("系统繁忙，稍后再重试1次，最多重试3次").
#[derive(Clone, Copy, Debug)]
pub struct WebhookRetry {
    pub retries: usize,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for WebhookRetry {
    fn default() -> Self {
        Self {
            retries: 3,
            first_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(4),
        }
    }
}

#[derive(Clone)]
pub struct WebhookSender {
    http: reqwest::Client,
    timeout: Duration,
    retry: WebhookRetry,
}

impl WebhookSender {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            timeout: Duration::from_secs(15),
            retry: WebhookRetry::default(),
        }
    }

    pub fn with_retry(mut self, retry: WebhookRetry) -> Self {
        self.retry = retry;
        self
    }

    /// Sends markdown; returns the body size in bytes. Answers are judged by `webhook_answer::judge`; unknown
    /// ones are retried here with backoff, then reported as `WebhookUnavailable` (the outbox falls back to the
    /// OpenAPI or retries later).
    pub async fn send_markdown(
        &self,
        webhook: Option<&str>,
        expires_ms: Option<i64>,
        title: &str,
        text: &str,
    ) -> Result<usize, SendError> {
        let url = webhook.ok_or(SendError::NoWebhook)?;
        let expired = || expires_ms.is_some_and(|expiry| expiry <= now_ms());
        if expired() {
            return Err(SendError::WebhookExpired);
        }
        let body = markdown_body(title, text);
        if body.len() > WEBHOOK_MAX_BODY_BYTES {
            return Err(SendError::TooLong(format!(
                "webhook body is {} bytes, the limit is {WEBHOOK_MAX_BODY_BYTES}",
                body.len()
            )));
        }
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.first_delay)
            .with_max_delay(self.retry.max_delay)
            .with_max_times(self.retry.retries)
            .with_jitter()
            .build();
        let mut attempts = 0u32;
        loop {
            attempts = attempts.saturating_add(1);
            let (status, answer) = self.post(url, &body).await?;
            let detail = match judge(status, &answer, expired()) {
                Verdict::Sent => return Ok(body.len()),
                Verdict::Failed(err) => {
                    tracing::info!(code = err.code(), error = %err, "sessionWebhook refused the reply");
                    return Err(err);
                }
                Verdict::Unknown(detail) => detail,
            };
            let Some(delay) = backoff.next() else {
                tracing::warn!(attempts, answer = %detail, "sessionWebhook keeps failing; giving up on it");
                return Err(SendError::WebhookUnavailable {
                    attempts,
                    last: detail,
                });
            };
            // The URL is a bearer credential for the conversation: only the bounded answer is logged.
            tracing::warn!(attempts, answer = %detail, delay_ms = delay.as_millis() as u64, "unexpected sessionWebhook answer; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// One POST: the HTTP status and the raw answer. Transport failures are `Http` (transient).
    async fn post(&self, url: &str, body: &str) -> Result<(u16, Vec<u8>), SendError> {
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_owned())
            .timeout(self.timeout)
            .send()
            .await
            // The webhook URL is a bearer credential for that conversation: keep it out of errors.
            .map_err(|err| SendError::Http(err.without_url().to_string()))?;
        let status = response.status().as_u16();
        let answer = response
            .bytes()
            .await
            .map_err(|err| SendError::Http(err.without_url().to_string()))?;
        Ok((status, answer.to_vec()))
    }
}
