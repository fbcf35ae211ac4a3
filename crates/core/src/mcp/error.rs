//! Tool failures: what a tool returns when it ran but could not do its job. They reach the client as a
//! tool error (`isError: true`) whose structured content is `{"error", "code", "details"}`, so the model
//! can read the message and correct itself; JSON-RPC protocol errors are kept for unroutable requests.

use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::model::{CallToolResponse, CallToolResult};
use serde::Serialize;
use serde_json::{Value, json};

/// The stable, documented error codes of every DingBridge tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ToolCode {
    AuthError,
    PermissionDenied,
    InvalidParams,
    NotFound,
    ConflictError,
    RateLimited,
    DingtalkError,
}

impl ToolCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthError => "AUTH_ERROR",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::InvalidParams => "INVALID_PARAMS",
            Self::NotFound => "NOT_FOUND",
            Self::ConflictError => "CONFLICT_ERROR",
            Self::RateLimited => "RATE_LIMITED",
            Self::DingtalkError => "DINGTALK_ERROR",
        }
    }

    /// Maps the `tool_code()` strings of the engine's error types; anything unknown is a DingTalk-side error.
    pub fn parse(code: &str) -> Self {
        match code {
            "AUTH_ERROR" => Self::AuthError,
            "PERMISSION_DENIED" => Self::PermissionDenied,
            "INVALID_PARAMS" => Self::InvalidParams,
            "NOT_FOUND" => Self::NotFound,
            "CONFLICT_ERROR" => Self::ConflictError,
            "RATE_LIMITED" => Self::RateLimited,
            _ => Self::DingtalkError,
        }
    }
}

/// A tool that ran and failed. `message` is shown to the model: it never contains secrets.
#[derive(Clone, Debug, PartialEq)]
pub struct ToolFailure {
    pub code: ToolCode,
    pub message: String,
    pub details: Value,
}

impl ToolFailure {
    pub fn new(code: ToolCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ToolCode::InvalidParams, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ToolCode::NotFound, message)
    }

    /// From any engine error exposing `tool_code()` / `details()` (contacts, docs, OpenAPI, bridge).
    pub fn from_parts(tool_code: &str, message: impl std::fmt::Display, details: Value) -> Self {
        Self {
            code: ToolCode::parse(tool_code),
            message: message.to_string(),
            details,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "error": self.message,
            "code": self.code.as_str(),
            "details": self.details,
        })
    }

    pub fn into_result(self) -> CallToolResult {
        CallToolResult::structured_error(self.to_json())
    }
}

impl std::fmt::Display for ToolFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ToolFailure {}

impl IntoCallToolResult for ToolFailure {
    fn into_call_tool_result(self) -> Result<CallToolResponse, rmcp::ErrorData> {
        Ok(self.into_result().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_serialises_to_the_documented_shape() {
        let failure =
            ToolFailure::not_found("no conversation cid1").with_details(json!({"id": "cid1"}));
        let result = failure.into_result();
        assert_eq!(result.is_error, Some(true));
        let structured = result.structured_content.unwrap_or_default();
        assert_eq!(structured["code"], "NOT_FOUND");
        assert_eq!(structured["error"], "no conversation cid1");
        assert_eq!(structured["details"]["id"], "cid1");
    }

    #[test]
    fn unknown_engine_codes_become_dingtalk_errors() {
        assert_eq!(ToolCode::parse("RATE_LIMITED"), ToolCode::RateLimited);
        assert_eq!(ToolCode::parse("SOMETHING_NEW"), ToolCode::DingtalkError);
    }
}
