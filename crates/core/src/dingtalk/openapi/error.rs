//! One error type for both OpenAPI families (protocol notes §4.3): the new API answers non-2xx with
//! `{code, message, requestid}`, the old API HTTP 200 with a non-zero `{errcode, errmsg}`; the anti-DDoS
//! layer answers `{"status":1111,"wait":5,...}`. Everything is mapped to a small set of stable kinds.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

/// What DingTalk said, kept verbatim for logs and for the tool's `details`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiFault {
    pub status: u16,
    /// New-API `code`, or the old-API `errcode` as text.
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl std::fmt::Display for ApiFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (requestid {id})")?;
        }
        Ok(())
    }
}

/// DingTalk asks for a 1 s pause after a QPS-limit answer (D-THROTTLE).
pub const QPS_RETRY_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum OpenApiError {
    #[error("[OPENAPI_NO_CREDENTIALS] no DingTalk client id/secret configured")]
    NoCredentials,
    #[error("[OPENAPI_AUTH] DingTalk refused the app credentials or access token: {0}")]
    Auth(ApiFault),
    /// `retry_in`: the outage is retried automatically this often (`None`: the credentials were refused and
    /// only the user can fix them).
    #[error(
        "[OPENAPI_AUTH_DEGRADED] access tokens cannot be obtained ({failures} failures in a row, last: {reason}); {}",
        if retry_in.is_some() { "retrying automatically" } else { "fix the credentials or retry" }
    )]
    AuthDegraded {
        failures: u32,
        reason: String,
        retry_in: Option<Duration>,
    },
    #[error("[OPENAPI_PERMISSION] DingTalk denied the call: {0}")]
    PermissionDenied(ApiFault),
    #[error("[OPENAPI_RATE_LIMITED] DingTalk throttled the call: {fault}")]
    RateLimited {
        fault: ApiFault,
        retry_after: Duration,
    },
    #[error("[OPENAPI_QUOTA] the organization's monthly OpenAPI quota is used up: {0}")]
    QuotaExhausted(ApiFault),
    #[error(
        "[OPENAPI_IP_BANNED] DingTalk blocked this IP for {wait_secs} min (more than 10,000 calls in 20 s)"
    )]
    IpBanned { wait_secs: u64 },
    #[error("[OPENAPI_INVALID_PARAMS] DingTalk rejected the parameters: {0}")]
    InvalidParams(ApiFault),
    #[error("[OPENAPI_NOT_FOUND] DingTalk does not know the object: {0}")]
    NotFound(ApiFault),
    #[error("[OPENAPI_SERVER] DingTalk failed: {0}")]
    Server(ApiFault),
    #[error("[OPENAPI_REJECTED] DingTalk rejected the call: {0}")]
    Rejected(ApiFault),
    #[error("[OPENAPI_HTTP] could not reach DingTalk: {0}")]
    Http(String),
    #[error("[OPENAPI_DECODE] unexpected DingTalk answer: {0}")]
    Decode(String),
}

impl OpenApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoCredentials => "OPENAPI_NO_CREDENTIALS",
            Self::Auth(_) => "OPENAPI_AUTH",
            Self::AuthDegraded { .. } => "OPENAPI_AUTH_DEGRADED",
            Self::PermissionDenied(_) => "OPENAPI_PERMISSION",
            Self::RateLimited { .. } => "OPENAPI_RATE_LIMITED",
            Self::QuotaExhausted(_) => "OPENAPI_QUOTA",
            Self::IpBanned { .. } => "OPENAPI_IP_BANNED",
            Self::InvalidParams(_) => "OPENAPI_INVALID_PARAMS",
            Self::NotFound(_) => "OPENAPI_NOT_FOUND",
            Self::Server(_) => "OPENAPI_SERVER",
            Self::Rejected(_) => "OPENAPI_REJECTED",
            Self::Http(_) => "OPENAPI_HTTP",
            Self::Decode(_) => "OPENAPI_DECODE",
        }
    }

    /// The MCP-facing code.
    pub fn tool_code(&self) -> &'static str {
        match self {
            // An outage is DingTalk's side and retryable; refused credentials are the caller's to fix.
            Self::AuthDegraded {
                retry_in: Some(_), ..
            } => "DINGTALK_ERROR",
            Self::NoCredentials | Self::Auth(_) | Self::AuthDegraded { .. } => "AUTH_ERROR",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::RateLimited { .. } | Self::QuotaExhausted(_) | Self::IpBanned { .. } => {
                "RATE_LIMITED"
            }
            Self::InvalidParams(_) => "INVALID_PARAMS",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Server(_) | Self::Rejected(_) | Self::Http(_) | Self::Decode(_) => {
                "DINGTALK_ERROR"
            }
        }
    }

    pub fn fault(&self) -> Option<&ApiFault> {
        match self {
            Self::Auth(f)
            | Self::PermissionDenied(f)
            | Self::QuotaExhausted(f)
            | Self::InvalidParams(f)
            | Self::NotFound(f)
            | Self::Server(f)
            | Self::Rejected(f)
            | Self::RateLimited { fault: f, .. } => Some(f),
            _ => None,
        }
    }

    /// DingTalk's code and requestid (and retry hints) for the tool error's `details`.
    pub fn details(&self) -> Value {
        let mut details = match self.fault() {
            Some(f) => json!({
                "dingtalk_code": f.code,
                "dingtalk_message": f.message,
                "requestid": f.request_id,
                "http_status": f.status,
            }),
            None => json!({}),
        };
        let extra = match self {
            Self::RateLimited { retry_after, .. } => {
                Some(("retry_after_ms", json!(retry_after.as_millis() as u64)))
            }
            Self::QuotaExhausted(_) => Some(("quota", json!("monthly_api_calls"))),
            Self::IpBanned { wait_secs } => {
                Some(("retry_after_ms", json!(wait_secs.saturating_mul(60_000))))
            }
            Self::AuthDegraded {
                retry_in: Some(retry_in),
                ..
            } => Some(("retry_after_ms", json!(retry_in.as_millis() as u64))),
            Self::AuthDegraded { failures, .. } => Some(("degraded_failures", json!(failures))),
            _ => None,
        };
        if let (Some((key, value)), Value::Object(map)) = (extra, &mut details) {
            map.insert(key.to_owned(), value);
        }
        details
    }

    /// The access token itself was refused (expired or revoked): worth one refresh and one retry.
    pub fn is_token_rejected(&self) -> bool {
        match self {
            Self::Auth(f) => {
                f.status == 401
                    || matches!(
                        f.code.as_str(),
                        "InvalidAuthentication" | "Unauthorized" | "40014" | "42001"
                    )
            }
            _ => false,
        }
    }

    /// Worth retrying later without changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server(_)
                | Self::Http(_)
                | Self::IpBanned { .. }
                | Self::AuthDegraded {
                    retry_in: Some(_),
                    ..
                }
        )
    }
}

/// Maps a failed answer (non-2xx, or 200 with a non-zero errcode) to an error.
pub fn classify(status: u16, body: &[u8]) -> OpenApiError {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if value.get("status").and_then(Value::as_i64) == Some(1111) {
        let wait = value.get("wait").and_then(Value::as_u64).unwrap_or(5);
        return OpenApiError::IpBanned { wait_secs: wait };
    }
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    if let Some(code) = text("code") {
        let fault = ApiFault {
            status,
            code,
            message: text("message").unwrap_or_default(),
            request_id: text("requestid").or_else(|| text("requestId")),
        };
        return classify_new(fault);
    }
    if let Some(errcode) = value.get("errcode").and_then(Value::as_i64) {
        // 88 is a generic wrapper whose sub_code carries the real reason (e.g. 40014).
        let code = match (errcode, value.get("sub_code")) {
            (88, Some(sub)) => sub
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| sub.to_string()),
            _ => errcode.to_string(),
        };
        let fault = ApiFault {
            status,
            code,
            message: text("errmsg")
                .or_else(|| text("sub_msg"))
                .unwrap_or_default(),
            request_id: text("request_id"),
        };
        return classify_old(fault);
    }
    let fault = ApiFault {
        status,
        code: format!("HTTP_{status}"),
        message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
        request_id: None,
    };
    match status {
        401 => OpenApiError::Auth(fault),
        429 => OpenApiError::RateLimited {
            fault,
            retry_after: QPS_RETRY_AFTER,
        },
        500.. => OpenApiError::Server(fault),
        _ => OpenApiError::Rejected(fault),
    }
}

fn classify_new(fault: ApiFault) -> OpenApiError {
    let code = fault.code.as_str();
    let lower = code.to_ascii_lowercase();
    if code.contains("QpsLimit")
        || code.contains("QpmLimit")
        || code == "Throttling"
        || fault.status == 429
    {
        return OpenApiError::RateLimited {
            fault,
            retry_after: QPS_RETRY_AFTER,
        };
    }
    if code.contains("ApiCountLimitForOrg") {
        return OpenApiError::QuotaExhausted(fault);
    }
    if fault.status == 401
        || code == "InvalidAuthentication"
        || code == "Unauthorized"
        || code == "invalidClientIdOrSecret"
        || code.starts_with("AuthenticationFailed")
    {
        return OpenApiError::Auth(fault);
    }
    if fault.status == 404 || lower.ends_with("notexist") || lower.ends_with("notfound") {
        return OpenApiError::NotFound(fault);
    }
    if fault.status == 403 || lower.starts_with("forbidden") {
        return OpenApiError::PermissionDenied(fault);
    }
    match fault.status {
        400 => OpenApiError::InvalidParams(fault),
        500.. => OpenApiError::Server(fault),
        _ => OpenApiError::Rejected(fault),
    }
}

fn classify_old(fault: ApiFault) -> OpenApiError {
    match fault.code.as_str() {
        "40014" | "42001" | "40001" | "40089" => OpenApiError::Auth(fault),
        "90018" | "90002" => OpenApiError::RateLimited {
            fault,
            retry_after: QPS_RETRY_AFTER,
        },
        "90020" => OpenApiError::QuotaExhausted(fault),
        // 60121 no such user, 60003 no such department, 60123 invalid user id.
        "60121" | "60003" | "60123" => OpenApiError::NotFound(fault),
        // 60011 no permission, 60020 IP not in the allow-list, 50002 user out of the app's visible range.
        "60011" | "60020" | "50002" => OpenApiError::PermissionDenied(fault),
        // -1 system busy, 15 / 88 without sub_code = timeout (retry).
        "-1" | "15" | "88" => OpenApiError::Server(fault),
        "40035" | "40003" => OpenApiError::InvalidParams(fault),
        _ => OpenApiError::Rejected(fault),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_api(status: u16, code: &str) -> OpenApiError {
        classify(
            status,
            json!({"code": code, "message": "m", "requestid": "R1"})
                .to_string()
                .as_bytes(),
        )
    }

    fn old_api(errcode: i64) -> OpenApiError {
        classify(
            200,
            json!({"errcode": errcode, "errmsg": "m"})
                .to_string()
                .as_bytes(),
        )
    }

    #[test]
    fn new_api_shapes_map_to_stable_codes() {
        assert_eq!(new_api(400, "InvalidAuthentication").code(), "OPENAPI_AUTH");
        assert!(new_api(400, "InvalidAuthentication").is_token_rejected());
        assert!(new_api(401, "Unauthorized").is_token_rejected());
        assert_eq!(
            new_api(403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi").tool_code(),
            "RATE_LIMITED"
        );
        assert_eq!(
            new_api(403, "Forbidden.AccessDenied.QpsLimitForApi").code(),
            "OPENAPI_RATE_LIMITED"
        );
        assert_eq!(
            new_api(403, "Forbidden.AccessDenied.ApiCountLimitForOrg").code(),
            "OPENAPI_QUOTA"
        );
        assert_eq!(
            new_api(403, "forbidden.accessDenied").tool_code(),
            "PERMISSION_DENIED"
        );
        assert_eq!(new_api(404, "docNotExist").tool_code(), "NOT_FOUND");
        assert_eq!(new_api(400, "paramError").tool_code(), "INVALID_PARAMS");
        assert_eq!(
            new_api(503, "operationTimeout").tool_code(),
            "DINGTALK_ERROR"
        );
        assert_eq!(new_api(400, "paramError").details()["requestid"], "R1");
    }

    #[test]
    fn old_api_shapes_map_to_stable_codes() {
        assert!(old_api(40014).is_token_rejected());
        assert_eq!(old_api(90018).code(), "OPENAPI_RATE_LIMITED");
        assert_eq!(old_api(90002).code(), "OPENAPI_RATE_LIMITED");
        assert_eq!(old_api(90020).code(), "OPENAPI_QUOTA");
        assert_eq!(old_api(60121).tool_code(), "NOT_FOUND");
        assert_eq!(old_api(-1).code(), "OPENAPI_SERVER");
    }

    #[test]
    fn the_ip_ban_body_is_recognised_whatever_the_status() {
        let body = br#"{"status":1111,"wait":5,"source":"x5","punish":"deny","uuid":"u"}"#;
        for status in [200, 403, 405] {
            assert!(matches!(
                classify(status, body),
                OpenApiError::IpBanned { wait_secs: 5 }
            ));
        }
    }
}
