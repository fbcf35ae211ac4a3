use serde_json::{Value, json};

use crate::dingtalk::openapi::OpenApiError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ContactsError {
    #[error("[CONTACTS_INVALID] {0}")]
    InvalidParams(String),
    #[error("[CONTACTS_NOT_FOUND] nobody/nothing named `{query}` was found")]
    NotFound { query: String },
    #[error("[CONTACTS_AMBIGUOUS] `{query}` matches {count} candidates; pick one by id")]
    Ambiguous {
        query: String,
        count: usize,
        candidates: Value,
    },
    #[error(transparent)]
    Api(#[from] OpenApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ContactsError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidParams(_) => "CONTACTS_INVALID",
            Self::NotFound { .. } => "CONTACTS_NOT_FOUND",
            Self::Ambiguous { .. } => "CONTACTS_AMBIGUOUS",
            Self::Api(err) => err.code(),
            Self::Store(err) => err.code(),
        }
    }

    /// The MCP-facing code. An ambiguous name is a parameter problem the caller must resolve.
    pub fn tool_code(&self) -> &'static str {
        match self {
            Self::InvalidParams(_) | Self::Ambiguous { .. } => "INVALID_PARAMS",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::Api(err) => err.tool_code(),
            Self::Store(_) => "DINGTALK_ERROR",
        }
    }

    pub fn details(&self) -> Value {
        match self {
            Self::InvalidParams(message) => json!({ "reason": message }),
            Self::NotFound { query } => json!({ "query": query }),
            Self::Ambiguous {
                query, candidates, ..
            } => json!({ "query": query, "candidates": candidates }),
            Self::Api(err) => err.details(),
            Self::Store(err) => json!({ "internal": err.code() }),
        }
    }
}
