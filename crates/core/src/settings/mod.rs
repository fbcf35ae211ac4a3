//! The settings API of `docs/settings-api.md`, implemented once for both transports (Tauri commands in the
//! desktop app, HTTP routes in `dingbridged`).
//!
//! - [`SettingsService`]: view, validate and save (secrets to the secret store, the rest to the TOML file).
//! - [`test_connection`]: token, gateway, WebSocket and OpenCode checks of an unsaved form.
//! - [`OpenCodeIntegration`]: the `mcp.dingtalk` entry in OpenCode's global config ("Add to OpenCode").

mod connection_test;
mod contacts;
mod error;
mod opencode_setup;
mod resolve;
mod service;
mod types;
mod write;

pub use connection_test::test_connection;
pub use contacts::{KnownContacts, KnownGroup, KnownUser, known_contacts};
pub use error::SettingsError;
pub use opencode_setup::{OpenCodeIntegration, SERVER_NAME, local_entry, remote_entry};
pub use resolve::{LANGUAGES, MAX_APP_PER_SECOND, MAX_PER_CONVERSATION};
pub use service::{FormSettings, Runtime, SettingsService};
pub use types::{
    AccessChange, AgentChange, AgentView, BridgeChange, BridgeView, ConnectionReport,
    ConnectionStep, DingTalkChange, DingTalkView, DocsChange, EntryState, FieldError,
    KeychainStatus, McpChange, McpView, Mode, OpenCodeSetup, PacingChange, PacingView, QuotaChange,
    SecretAction, SettingsChange, SettingsView, StepKind, UiChange,
};
