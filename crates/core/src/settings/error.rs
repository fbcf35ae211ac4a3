//! The one error type of the settings API. Its JSON form is the contract's error body
//! `{ "code", "message", "fields"? }`, identical over Tauri IPC and HTTP.
//!
//! Invariant: messages never contain a secret value (they name accounts and paths only).

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::types::FieldError;
use crate::config::ConfigError;
use crate::secrets::SecretError;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("[INVALID_SETTINGS] {} setting(s) are not valid", .0.len())]
    Invalid(Vec<FieldError>),
    #[error("[KEYCHAIN_UNAVAILABLE] {0}")]
    KeychainUnavailable(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("[OPENCODE_CONFIG] {0}")]
    OpenCodeConfig(String),
    #[error("[STARTING] DingBridge is still starting, try again in a moment")]
    Starting,
    #[error("[FORBIDDEN] {0}")]
    Forbidden(String),
    #[error(
        "[UNAUTHORIZED] open the login URL printed by dingbridged (DINGBRIDGE_DASHBOARD_URL=...)"
    )]
    Unauthorized,
    #[error("[INTERNAL] {0}")]
    Internal(String),
}

impl SettingsError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "INVALID_SETTINGS",
            Self::KeychainUnavailable(_) => "KEYCHAIN_UNAVAILABLE",
            // A secret found in the file is a file the user must fix, like any parse error.
            Self::Config(ConfigError::Io { .. }) => "CONFIG_IO",
            Self::Config(_) => "CONFIG_PARSE",
            Self::OpenCodeConfig(_) => "OPENCODE_CONFIG",
            Self::Starting => "STARTING",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The human message without the `[CODE]` prefix (the code travels in its own field).
    pub fn message(&self) -> String {
        strip_code(&self.to_string())
    }

    /// The per-field errors of `INVALID_SETTINGS`.
    pub fn fields(&self) -> Option<&[FieldError]> {
        match self {
            Self::Invalid(fields) => Some(fields),
            _ => None,
        }
    }
}

impl From<SecretError> for SettingsError {
    /// The secret store's own text already says what to do (unlock the keychain, unset an env variable);
    /// it never contains a secret value.
    fn from(err: SecretError) -> Self {
        Self::KeychainUnavailable(strip_code(&err.to_string()))
    }
}

/// `"[CODE] text"` → `"text"`.
pub(crate) fn strip_code(text: &str) -> String {
    match text
        .strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
    {
        Some((_, message)) => message.to_string(),
        None => text.to_string(),
    }
}

impl Serialize for SettingsError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = self.fields();
        let mut body =
            serializer.serialize_struct("SettingsError", if fields.is_some() { 3 } else { 2 })?;
        body.serialize_field("code", self.code())?;
        body.serialize_field("message", &self.message())?;
        if let Some(fields) = fields {
            body.serialize_field("fields", fields)?;
        }
        body.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_body_has_code_message_and_fields() {
        let err = SettingsError::Invalid(vec![FieldError::new("mcp.port", "OUT_OF_RANGE", "bad")]);
        let body = serde_json::to_value(&err).unwrap();
        assert_eq!(body["code"], "INVALID_SETTINGS");
        assert_eq!(body["fields"][0]["field"], "mcp.port");
        assert!(!body["message"].as_str().unwrap().starts_with('['));
    }

    #[test]
    fn other_errors_have_no_fields() {
        let body = serde_json::to_value(SettingsError::Starting).unwrap();
        assert_eq!(body["code"], "STARTING");
        assert!(body.get("fields").is_none());
    }
}
