//! Errors of the bridge's public operations (used by the MCP tools and the UI), with stable codes and the
//! MCP-facing code each maps to.

use serde_json::{Value, json};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    #[error("[BRIDGE_NOT_FOUND] {0}")]
    NotFound(String),
    #[error("[BRIDGE_INVALID] {0}")]
    InvalidParams(String),
    #[error("[BRIDGE_NO_CREDENTIALS] DingTalk credentials are not configured")]
    NoCredentials,
    #[error("[BRIDGE_SEND_FAILED] {0}")]
    SendFailed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BridgeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "BRIDGE_NOT_FOUND",
            Self::InvalidParams(_) => "BRIDGE_INVALID",
            Self::NoCredentials => "BRIDGE_NO_CREDENTIALS",
            Self::SendFailed(_) => "BRIDGE_SEND_FAILED",
            Self::Store(err) => err.code(),
        }
    }

    /// The MCP error code (`AUTH_ERROR|PERMISSION_DENIED|INVALID_PARAMS|NOT_FOUND|CONFLICT_ERROR|RATE_LIMITED|DINGTALK_ERROR`).
    pub fn tool_code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "NOT_FOUND",
            Self::InvalidParams(_) => "INVALID_PARAMS",
            Self::NoCredentials => "AUTH_ERROR",
            Self::SendFailed(_) | Self::Store(_) => "DINGTALK_ERROR",
        }
    }

    pub fn details(&self) -> Value {
        json!({ "code": self.code() })
    }
}
