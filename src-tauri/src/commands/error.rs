//! The error every command rejects with: `{ "code": "STABLE_CODE", "message": "…", "fields"?: [...] }`,
//! the same body as the HTTP transport (`docs/settings-api.md`). GitButler's pattern: one serializable
//! type, conversions from each domain error, the JSON pinned by unit tests.
//!
//! Invariant: messages come from error types that never carry a secret.

use dingbridge_core::secrets::SecretError;
use dingbridge_core::settings::{FieldError, SettingsError};
use serde::Serialize;

use crate::lifecycle::ShellError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldError>>,
}

impl CommandError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: None,
        }
    }

    pub fn starting() -> Self {
        Self::new(
            "STARTING",
            "DingBridge is still starting, try again in a moment",
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("INTERNAL", message)
    }

    /// From a domain error whose `Display` starts with `[CODE] `: the code travels in its own field.
    fn coded(code: &'static str, error: &impl std::fmt::Display) -> Self {
        let text = error.to_string();
        let message = match text
            .strip_prefix('[')
            .and_then(|rest| rest.split_once("] "))
        {
            Some((_, message)) => message.to_owned(),
            None => text,
        };
        Self::new(code, message)
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)
    }
}

impl std::error::Error for CommandError {}

impl From<SettingsError> for CommandError {
    fn from(error: SettingsError) -> Self {
        Self {
            code: error.code(),
            message: error.message(),
            fields: error.fields().map(<[FieldError]>::to_vec),
        }
    }
}

impl From<SecretError> for CommandError {
    fn from(error: SecretError) -> Self {
        SettingsError::from(error).into()
    }
}

impl From<ShellError> for CommandError {
    fn from(error: ShellError) -> Self {
        Self::coded(error.code(), &error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plain_error_is_code_and_message() {
        let body = serde_json::to_value(CommandError::starting()).unwrap();
        assert_eq!(
            body,
            json!({"code": "STARTING", "message": "DingBridge is still starting, try again in a moment"})
        );
    }

    #[test]
    fn invalid_settings_carry_their_fields() {
        let error = SettingsError::Invalid(vec![FieldError::new(
            "mcp.port",
            "OUT_OF_RANGE",
            "port must be 1024-65535",
        )]);
        let body = serde_json::to_value(CommandError::from(error)).unwrap();
        assert_eq!(body["code"], "INVALID_SETTINGS");
        assert_eq!(body["fields"][0]["field"], "mcp.port");
        assert_eq!(body["fields"][0]["code"], "OUT_OF_RANGE");
        assert!(!body["message"].as_str().unwrap().starts_with('['));
    }

    #[test]
    fn an_unreachable_keychain_says_keychain_unavailable() {
        let error = SecretError::Unavailable("no Secret Service".into());
        let body = serde_json::to_value(CommandError::from(error)).unwrap();
        assert_eq!(body["code"], "KEYCHAIN_UNAVAILABLE");
        assert!(body.get("fields").is_none());
    }

    #[test]
    fn launch_errors_keep_their_code_without_the_bracket_prefix() {
        let error = ShellError::Launch(crate::engine::LaunchError::Simulator("port busy".into()));
        let body = serde_json::to_value(CommandError::from(error)).unwrap();
        assert_eq!(body["code"], "SIMULATOR");
        assert_eq!(
            body["message"],
            "the demo's embedded DingTalk simulator did not start: port busy"
        );
    }
}
