use serde_json::{Value, json};

use crate::dingtalk::contacts::ContactsError;
use crate::dingtalk::openapi::OpenApiError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("[DOCS_INVALID_PARAMS] {message}")]
    InvalidParams { message: String, details: Value },
    #[error("[DOCS_NOT_FOUND] {message}")]
    NotFound { message: String, details: Value },
    #[error(
        "[DOCS_NO_OPERATOR] no Docs operator is configured (a userId or mobile resolved to a unionId)"
    )]
    NoOperator,
    #[error("[DOCS_CONFLICT] document {document_id} was changed concurrently: {reason}")]
    Conflict {
        document_id: String,
        reason: String,
        details: Value,
    },
    #[error(transparent)]
    Api(#[from] OpenApiError),
    #[error(transparent)]
    Contacts(#[from] ContactsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DocsError {
    pub(crate) fn invalid(message: impl Into<String>, details: Value) -> Self {
        Self::InvalidParams {
            message: message.into(),
            details,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidParams { .. } => "DOCS_INVALID_PARAMS",
            Self::NotFound { .. } => "DOCS_NOT_FOUND",
            Self::NoOperator => "DOCS_NO_OPERATOR",
            Self::Conflict { .. } => "DOCS_CONFLICT",
            Self::Api(err) => err.code(),
            Self::Contacts(err) => err.code(),
            Self::Store(err) => err.code(),
        }
    }

    /// The MCP-facing code.
    pub fn tool_code(&self) -> &'static str {
        match self {
            Self::InvalidParams { .. } => "INVALID_PARAMS",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::NoOperator => "AUTH_ERROR",
            Self::Conflict { .. } => "CONFLICT_ERROR",
            Self::Api(err) => err.tool_code(),
            Self::Contacts(err) => err.tool_code(),
            Self::Store(_) => "DINGTALK_ERROR",
        }
    }

    pub fn details(&self) -> Value {
        match self {
            Self::InvalidParams { details, .. }
            | Self::NotFound { details, .. }
            | Self::Conflict { details, .. } => details.clone(),
            Self::NoOperator => json!({"reason": "operator_not_configured"}),
            Self::Api(err) => err.details(),
            Self::Contacts(err) => err.details(),
            Self::Store(err) => json!({"internal": err.code()}),
        }
    }
}
