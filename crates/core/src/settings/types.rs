//! The JSON shapes of `docs/settings-api.md`, shared by the Tauri commands and the HTTP routes.
//!
//! Invariant: no type here can carry a secret *out*. Views say `*_set: bool`; the only secret-bearing type,
//! [`SecretAction`], is deserialize-only and its `Debug` redacts the value.

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::config::{AccessSettings, DocsSettings, QuotaSettings, UiSettings};
use crate::i18n::Lang;

/// What the engine runs now (a runtime fact the caller supplies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Demo,
    Real,
    Unconfigured,
}

/// The secret store backing this process, and what to do when it is unavailable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeychainStatus {
    pub available: bool,
    /// e.g. "secret-service", "env", "memory".
    pub backend: String,
    /// What the user should do when `available` is false.
    pub message: Option<String>,
}

/// Everything the settings window shows (`get_settings` / `GET /api/settings`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SettingsView {
    pub config_path: String,
    pub mode: Mode,
    pub keychain: KeychainStatus,
    /// Env variables that override the keychain for this process, e.g. `DINGTALK_CLIENT_SECRET`.
    pub secrets_from_env: Vec<String>,
    pub dingtalk: DingTalkView,
    pub access: AccessSettings,
    pub agent: AgentView,
    pub bridge: BridgeView,
    pub mcp: McpView,
    pub docs: DocsSettings,
    pub pacing: PacingView,
    pub quota: QuotaSettings,
    pub ui: UiSettings,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DingTalkView {
    pub client_id: Option<String>,
    pub client_secret_set: bool,
    pub robot_code: Option<String>,
    /// `[cards] template_id` in the file; empty = markdown replies only.
    pub card_template_id: String,
    pub api_base: String,
    pub oapi_base: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AgentView {
    /// Empty: managed mode (DingBridge runs OpenCode itself).
    pub opencode_url: String,
    pub opencode_password_set: bool,
    pub opencode_directory: Option<String>,
    /// Managed mode: the `opencode` binary (unset: searched for).
    pub opencode_bin: Option<String>,
    /// Managed mode: the projects; the first is the default.
    pub projects: Vec<crate::config::ProjectSettings>,
    /// Managed mode: stop a project's server after this many idle minutes (0 = never).
    pub idle_stop_minutes: u64,
}

/// How the bridge speaks in chats.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BridgeView {
    /// Language of the replies the bridge writes itself; a conversation's `/lang` overrides it.
    pub language: Lang,
    /// Pictures, files, voice messages and videos larger than this (MiB) are not downloaded; the chat is told.
    pub attachment_max_mb: u64,
    /// Downloaded files are deleted after this many hours.
    pub attachment_retention_hours: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct McpView {
    pub enabled: bool,
    pub port: u16,
    /// Language of tool, parameter, resource and prompt descriptions and of error texts (codes never change).
    pub language: Lang,
    /// Where the MCP server listens now (None when disabled or not started).
    pub url: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PacingView {
    /// Sends per conversation per minute (DingTalk allows 20).
    pub per_conversation: u32,
    pub app_per_second: u32,
}

/// A partial update from the settings form. Every field is optional: absent = keep. Nullable fields are
/// `Option<Option<_>>`: `null` clears the setting back to its default.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsChange {
    pub dingtalk: Option<DingTalkChange>,
    pub access: Option<AccessChange>,
    pub agent: Option<AgentChange>,
    pub bridge: Option<BridgeChange>,
    pub mcp: Option<McpChange>,
    pub docs: Option<DocsChange>,
    pub pacing: Option<PacingChange>,
    pub quota: Option<QuotaChange>,
    pub ui: Option<UiChange>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DingTalkChange {
    #[serde(deserialize_with = "nullable")]
    pub client_id: Option<Option<String>>,
    pub client_secret: Option<SecretAction>,
    #[serde(deserialize_with = "nullable")]
    pub robot_code: Option<Option<String>>,
    pub card_template_id: Option<String>,
    pub api_base: Option<String>,
    pub oapi_base: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessChange {
    pub allowed_staff_ids: Option<Vec<String>>,
    pub allowed_groups: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentChange {
    pub opencode_url: Option<String>,
    pub opencode_password: Option<SecretAction>,
    #[serde(deserialize_with = "nullable")]
    pub opencode_directory: Option<Option<String>>,
    #[serde(deserialize_with = "nullable")]
    pub opencode_bin: Option<Option<String>>,
    pub projects: Option<Vec<crate::config::ProjectSettings>>,
    pub idle_stop_minutes: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeChange {
    /// A language tag; a string (not [`Lang`]) so an unknown one is a field error, not a malformed request.
    pub language: Option<String>,
    /// `1..=1024`; wider than the setting so an out-of-range number is a field error.
    pub attachment_max_mb: Option<i64>,
    /// At least 1.
    pub attachment_retention_hours: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpChange {
    pub enabled: Option<bool>,
    /// Wider than a port so that an out-of-range number is a field error, not a malformed request.
    pub port: Option<i64>,
    /// `"en"` or `"zh-CN"`; checked like `bridge.language`.
    pub language: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocsChange {
    #[serde(deserialize_with = "nullable")]
    pub operator_user_id: Option<Option<String>>,
    #[serde(deserialize_with = "nullable")]
    pub operator_mobile: Option<Option<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacingChange {
    pub per_conversation: Option<i64>,
    pub app_per_second: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaChange {
    pub stream_budget: Option<i64>,
    pub api_budget: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiChange {
    #[serde(deserialize_with = "nullable")]
    pub language: Option<Option<String>>,
}

/// A present JSON value (including `null`) is `Some(..)`; with `#[serde(default)]` an absent one is `None`.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// What to do with a stored secret: `{"set": "..."}` replaces it, `{"remove": true}` deletes it.
/// Deserialize-only, and `Debug` never shows the value.
pub enum SecretAction {
    Set(SecretString),
    Remove,
}

impl std::fmt::Debug for SecretAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Set(_) => f.write_str("Set([REDACTED])"),
            Self::Remove => f.write_str("Remove"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretAction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Wire {
            set: Option<SecretString>,
            remove: Option<bool>,
        }
        match Wire::deserialize(deserializer)? {
            Wire {
                set: Some(value),
                remove: None | Some(false),
            } => Ok(Self::Set(value)),
            Wire {
                set: None,
                remove: Some(true),
            } => Ok(Self::Remove),
            _ => Err(serde::de::Error::custom(
                r#"a secret action is {"set": "..."} or {"remove": true}"#,
            )),
        }
    }
}

/// One invalid field of a settings change; all of them are reported at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Dotted path as in [`SettingsView`], e.g. `dingtalk.client_id`.
    pub field: String,
    /// Stable code, e.g. `INVALID_URL`, `OUT_OF_RANGE`.
    pub code: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The result of "Test connection".
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConnectionReport {
    /// Every step that ran succeeded (skipped steps count as not ok).
    pub ok: bool,
    pub steps: Vec<ConnectionStep>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Token,
    Gateway,
    Websocket,
    Opencode,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ConnectionStep {
    pub step: StepKind,
    pub ok: bool,
    /// Not run because an earlier step it depends on failed (or nothing to test).
    pub skipped: bool,
    /// What was done and what came back; never a secret.
    pub detail: String,
    /// DingTalk's (or OpenCode's) own error code when the step failed.
    pub error_code: Option<String>,
    /// What the user should do about the failure.
    pub hint: Option<String>,
    pub elapsed_ms: u64,
}

/// State of `mcp.dingtalk` in OpenCode's global config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryState {
    Missing,
    Current,
    /// Another command, or a helper path that does not exist.
    Stale,
}

/// How OpenCode is (or can be) pointed at DingBridge.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpenCodeSetup {
    /// `{"type":"local","command":["<absolute path of dingbridge-mcp>"]}`.
    pub local: Value,
    /// `{"type":"remote","url":...,"oauth":false,"headers":{"Authorization":"Bearer {env:DINGBRIDGE_TOKEN}"}}`.
    pub remote: Option<Value>,
    /// The installed `dingbridge-mcp`, None when not found.
    pub helper_path: Option<String>,
    pub global_config_path: String,
    pub entry: EntryState,
    /// Set after "Add to OpenCode" wrote a backup.
    pub backup_path: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_keeps_and_null_clears_a_nullable_field() {
        let change: SettingsChange =
            serde_json::from_str(r#"{"dingtalk":{"robot_code":null}}"#).unwrap();
        let dingtalk = change.dingtalk.unwrap();
        assert_eq!(dingtalk.robot_code, Some(None));
        assert_eq!(dingtalk.client_id, None);
    }

    #[test]
    fn a_secret_action_never_shows_its_value_in_debug() {
        let change: SettingsChange =
            serde_json::from_str(r#"{"dingtalk":{"client_secret":{"set":"hunter2"}}}"#).unwrap();
        assert!(!format!("{change:?}").contains("hunter2"));
        assert!(matches!(
            change.dingtalk.unwrap().client_secret,
            Some(SecretAction::Set(_))
        ));
    }

    #[test]
    fn a_secret_action_is_set_or_remove_and_nothing_else() {
        let remove: SecretAction = serde_json::from_str(r#"{"remove":true}"#).unwrap();
        assert!(matches!(remove, SecretAction::Remove));
        assert!(serde_json::from_str::<SecretAction>(r#"{"remove":false}"#).is_err());
        assert!(serde_json::from_str::<SecretAction>(r#"{"set":"a","remove":true}"#).is_err());
    }

    #[test]
    fn an_unknown_field_in_a_change_is_refused() {
        assert!(serde_json::from_str::<SettingsChange>(r#"{"dingtalk":{"secret":"x"}}"#).is_err());
    }
}
