//! One error type for every send channel (sessionWebhook and the OpenAPI robot sends), so the outbox picks
//! one of three reactions whatever channel it used: fall back to the OpenAPI (`falls_back_to_openapi`), wait
//! and retry (`is_transient`, honouring `retry_after`), or fail with the reason (everything else).

use std::time::Duration;

use crate::dingtalk::openapi::{OpenApiError, QPS_RETRY_AFTER};

/// How long to wait after a robot-level "too fast" answer (`send.too.fast`, a flow-controlled user). DingTalk
/// gives no number; the per-conversation budget is ~20/min, so one slot frees about every 3 s.
pub const SEND_TOO_FAST_RETRY_AFTER: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("[SEND_NO_WEBHOOK] the message carries no sessionWebhook")]
    NoWebhook,
    #[error("[SEND_WEBHOOK_EXPIRED] the sessionWebhook has expired")]
    WebhookExpired,
    /// DingTalk does not know the webhook's session or token (300001 "session 不存在" / "token is not
    /// exist", 300005, 400101): expired early, revoked, or never valid. The OpenAPI can still reach the chat.
    #[error(
        "[SEND_WEBHOOK_INVALID] DingTalk does not accept this sessionWebhook ({errcode}: {message})"
    )]
    WebhookInvalid { errcode: i64, message: String },
    /// The webhook refused the request itself (bad body, unsupported type, a custom-robot security check):
    /// the OpenAPI send encodes the message differently and may succeed.
    #[error("[SEND_WEBHOOK_REFUSED] the sessionWebhook refused the request ({errcode}: {message})")]
    WebhookRefused { errcode: i64, message: String },
    /// "System busy" or answers we do not understand, still failing after the sender's own retries.
    #[error(
        "[SEND_WEBHOOK_UNAVAILABLE] the sessionWebhook kept failing ({attempts} attempts, last: {last})"
    )]
    WebhookUnavailable { attempts: u32, last: String },
    /// 400013: no channel reaches a dissolved group.
    #[error("[SEND_GROUP_DISSOLVED] the group has been dissolved")]
    GroupDissolved,
    /// 400102 (robot disabled) / 400106 (robot not in the group): an admin has to act first.
    #[error("[SEND_ROBOT_UNAVAILABLE] {0}")]
    RobotUnavailable(String),
    /// Content moderation (webhook 430101–430104, OpenAPI `contain.*`): resending the same text cannot help.
    #[error("[SEND_CONTENT_REFUSED] DingTalk refused the content: {code}: {message}")]
    ContentRefused { code: String, message: String },
    #[error("[SEND_THROTTLED] DingTalk throttled the send: {reason}")]
    Throttled {
        /// DingTalk's code or message (e.g. `send.too.fast`).
        reason: String,
        /// When a retry has a chance; `None` when DingTalk gave no hint and we have no estimate.
        retry_after: Option<Duration>,
    },
    #[error("[SEND_TOO_LONG] the message is too long for DingTalk: {0}")]
    TooLong(String),
    #[error("[SEND_INVALID_RECIPIENT] DingTalk does not accept these recipients: {0:?}")]
    InvalidRecipients(Vec<String>),
    #[error("[SEND_REJECTED] DingTalk rejected the send: {code}: {message}")]
    Rejected { code: String, message: String },
    /// Auth, permission, quota and other OpenAPI failures, kept whole for their own codes and details.
    #[error("[SEND_API] {0}")]
    Api(OpenApiError),
    #[error("[SEND_HTTP] sending failed: {0}")]
    Http(String),
}

impl SendError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoWebhook => "SEND_NO_WEBHOOK",
            Self::WebhookExpired => "SEND_WEBHOOK_EXPIRED",
            Self::WebhookInvalid { .. } => "SEND_WEBHOOK_INVALID",
            Self::WebhookRefused { .. } => "SEND_WEBHOOK_REFUSED",
            Self::WebhookUnavailable { .. } => "SEND_WEBHOOK_UNAVAILABLE",
            Self::GroupDissolved => "SEND_GROUP_DISSOLVED",
            Self::RobotUnavailable(_) => "SEND_ROBOT_UNAVAILABLE",
            Self::ContentRefused { .. } => "SEND_CONTENT_REFUSED",
            Self::Throttled { .. } => "SEND_THROTTLED",
            Self::TooLong(_) => "SEND_TOO_LONG",
            Self::InvalidRecipients(_) => "SEND_INVALID_RECIPIENT",
            Self::Rejected { .. } => "SEND_REJECTED",
            Self::Api(_) => "SEND_API",
            Self::Http(_) => "SEND_HTTP",
        }
    }

    /// Worth retrying later unchanged (throttling, network, server errors).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Throttled { .. } | Self::Http(_) | Self::WebhookUnavailable { .. } => true,
            Self::Api(err) => err.is_transient(),
            _ => false,
        }
    }

    /// The sessionWebhook cannot carry this reply but the robot's OpenAPI send may: use it when configured.
    /// (Throttling, a dissolved group, a disabled robot, refused content or size are not channel problems.)
    pub fn falls_back_to_openapi(&self) -> bool {
        matches!(
            self,
            Self::NoWebhook
                | Self::WebhookExpired
                | Self::WebhookInvalid { .. }
                | Self::WebhookRefused { .. }
                | Self::WebhookUnavailable { .. }
        )
    }

    /// The pause DingTalk asked for (or our estimate), for the pacer.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } => *retry_after,
            Self::Api(OpenApiError::RateLimited { retry_after, .. }) => Some(*retry_after),
            Self::Api(OpenApiError::IpBanned { wait_secs }) => {
                Some(Duration::from_secs(wait_secs.saturating_mul(60)))
            }
            _ => None,
        }
    }

    /// Maps an OpenAPI failure of a robot send (protocol notes §3.2, §4.3). Throttling is recognised by
    /// code whatever the HTTP status (DingTalk documents 403 for QPS limits, 400 for `send.too.fast`).
    pub fn from_openapi(err: OpenApiError) -> Self {
        if let OpenApiError::RateLimited { fault, retry_after } = &err {
            return Self::Throttled {
                reason: fault.code.clone(),
                retry_after: Some(*retry_after),
            };
        }
        if let OpenApiError::IpBanned { wait_secs } = &err {
            return Self::Throttled {
                reason: "ip banned (status 1111)".to_owned(),
                retry_after: Some(Duration::from_secs(wait_secs.saturating_mul(60))),
            };
        }
        let Some(fault) = err.fault() else {
            return match err {
                OpenApiError::Http(text) => Self::Http(text),
                other => Self::Api(other),
            };
        };
        let code = fault.code.as_str();
        if let Some(retry_after) = throttle_hint(code) {
            return Self::Throttled {
                reason: code.to_owned(),
                retry_after: Some(retry_after),
            };
        }
        if code == "invalidParameter.msgParam.tooLong" {
            return Self::TooLong(fault.message.clone());
        }
        // D-OTO / D-GRP error tables: `contain.unsafe.url`, `contain.notAllowed.*`.
        if code.starts_with("contain.") {
            return Self::ContentRefused {
                code: code.to_owned(),
                message: fault.message.clone(),
            };
        }
        if fault.status >= 500 {
            return Self::Http(fault.to_string());
        }
        match err {
            OpenApiError::InvalidParams(fault)
            | OpenApiError::NotFound(fault)
            | OpenApiError::Rejected(fault) => Self::Rejected {
                code: fault.code,
                message: fault.message,
            },
            other => Self::Api(other),
        }
    }
}

/// Throttling codes of the robot send APIs and how long to back off for each; `None` = not throttling.
pub(crate) fn throttle_hint(code: &str) -> Option<Duration> {
    if code.starts_with("Forbidden.AccessDenied.Qps")
        || code.starts_with("Forbidden.AccessDenied.Qpm")
        || code == "Throttling"
        || code == "90018"
        || code == "90002"
    {
        return Some(QPS_RETRY_AFTER);
    }
    if matches!(code, "send.too.fast" | "send.byToken.tooFast") || code.starts_with("too.many.") {
        return Some(SEND_TOO_FAST_RETRY_AFTER);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dingtalk::openapi::classify;
    use serde_json::json;

    fn send_error(status: u16, code: &str) -> SendError {
        let body = json!({"code": code, "message": "m", "requestid": "R"}).to_string();
        SendError::from_openapi(classify(status, body.as_bytes()))
    }

    #[test]
    fn throttling_codes_are_transient_with_a_retry_hint_whatever_the_status() {
        for (status, code) in [
            (403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi"),
            (403, "Forbidden.AccessDenied.QpsLimitForApi"),
            (403, "send.too.fast"),
            (400, "send.too.fast"),
            (400, "send.byToken.tooFast"),
            (400, "too.many.group"),
            (400, "too.many.people"),
        ] {
            let err = send_error(status, code);
            assert_eq!(err.code(), "SEND_THROTTLED", "{status} {code}");
            assert!(err.is_transient(), "{code}");
            assert!(err.retry_after().is_some(), "{code}");
        }
    }

    #[test]
    fn old_api_qps_errcodes_are_throttling() {
        for errcode in [90018, 90002] {
            let body = json!({"errcode": errcode, "errmsg": "m"}).to_string();
            let err = SendError::from_openapi(classify(200, body.as_bytes()));
            assert_eq!(err.code(), "SEND_THROTTLED");
        }
    }

    #[test]
    fn server_errors_are_transient_and_parameter_errors_permanent() {
        assert!(send_error(500, "system.error").is_transient());
        assert!(send_error(503, "ServiceUnavailable").is_transient());
        let too_long = send_error(400, "invalidParameter.msgParam.tooLong");
        assert_eq!(too_long.code(), "SEND_TOO_LONG");
        assert!(!too_long.is_transient());
        let bad = send_error(400, "invalidParameter.robotCode.notExsit");
        assert_eq!(bad.code(), "SEND_REJECTED");
        assert!(!bad.is_transient());
        assert_eq!(
            send_error(403, "Forbidden.AccessDenied.AccessTokenPermissionDenied").code(),
            "SEND_API"
        );
        assert!(!send_error(403, "Forbidden.AccessDenied.ApiCountLimitForOrg").is_transient());
    }

    #[test]
    fn moderated_content_is_refused_for_good_on_the_openapi_too() {
        let err = send_error(400, "contain.unsafe.url");
        assert_eq!(err.code(), "SEND_CONTENT_REFUSED");
        assert!(!err.is_transient() && !err.falls_back_to_openapi());
    }
}
