//! `SettingsService`: read, validate and save the settings over the settings file and the secret store.
//!
//! Invariants: a save validates everything first and writes nothing when any field is invalid; secrets go
//! to the secret store before the file is written, and never into the file, a view or an error; the file
//! keeps the user's comments and unknown keys (see `config::SettingsFile`). Runtime facts (what mode the
//! engine runs in, where MCP listens) belong to the caller and come in as a [`Runtime`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use secrecy::SecretString;

use super::error::{SettingsError, strip_code};
use super::resolve::resolve;
use super::types::{
    AgentView, BridgeView, DingTalkView, KeychainStatus, McpView, Mode, PacingView, SecretAction,
    SettingsChange, SettingsView,
};
use super::write::write_change;
use crate::config::{Config, SettingsFile};
use crate::secrets::{CLIENT_SECRET, OPENCODE_PASSWORD, SecretStore};

/// Env variables that, when set, win over the secret store for this process.
const SECRET_ENV: [&str; 3] = [
    "DINGTALK_CLIENT_SECRET",
    "OPENCODE_SERVER_PASSWORD",
    "DINGBRIDGE_TOKEN",
];

/// What the engine is doing now; supplied by the desktop shell or the daemon.
#[derive(Clone, Debug)]
pub struct Runtime {
    pub mode: Mode,
    pub mcp_url: Option<String>,
}

/// The unsaved form merged over the saved settings, with the secrets it would use.
pub struct FormSettings {
    pub config: Config,
    pub client_secret: Option<SecretString>,
    pub opencode_password: Option<SecretString>,
}

pub struct SettingsService {
    config_path: PathBuf,
    secrets: Arc<dyn SecretStore>,
    backend: String,
}

impl SettingsService {
    /// `backend` names the secret store for the user ("secret-service", "env", ...).
    pub fn new(
        config_path: impl Into<PathBuf>,
        secrets: Arc<dyn SecretStore>,
        backend: impl Into<String>,
    ) -> Self {
        Self {
            config_path: config_path.into(),
            secrets,
            backend: backend.into(),
        }
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    pub fn secrets(&self) -> &Arc<dyn SecretStore> {
        &self.secrets
    }

    /// The saved settings (the file only, without env overrides).
    pub fn load(&self) -> Result<Config, SettingsError> {
        Ok(SettingsFile::open(&self.config_path)?.to_config()?)
    }

    /// What the settings window shows. A secret store that cannot be read shows secrets as not set and says
    /// so in `keychain`.
    pub fn view(&self, runtime: &Runtime) -> Result<SettingsView, SettingsError> {
        let config = self.load()?;
        let client_secret = self.secrets.get(CLIENT_SECRET);
        let opencode_password = self.secrets.get(OPENCODE_PASSWORD);
        // The store's own check first: an env value can hide an unreachable keychain.
        let unavailable = match self.secrets.check() {
            Err(err) => Some(strip_code(&err.to_string())),
            Ok(()) => [&client_secret, &opencode_password]
                .into_iter()
                .find_map(|result| result.as_ref().err())
                .map(|err| strip_code(&err.to_string())),
        };
        Ok(SettingsView {
            config_path: self.config_path.display().to_string(),
            mode: runtime.mode,
            keychain: KeychainStatus {
                available: unavailable.is_none(),
                backend: self.backend.clone(),
                message: unavailable,
            },
            secrets_from_env: SECRET_ENV
                .iter()
                .filter(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
                .map(|name| (*name).to_string())
                .collect(),
            dingtalk: DingTalkView {
                client_id: config.dingtalk.client_id.clone(),
                client_secret_set: matches!(client_secret, Ok(Some(_))),
                robot_code: config.dingtalk.robot_code.clone(),
                card_template_id: config.cards.template_id.clone(),
                api_base: config.dingtalk.api_base.clone(),
                oapi_base: config.dingtalk.oapi_base.clone(),
            },
            access: config.access.clone(),
            agent: AgentView {
                opencode_url: config.agent.opencode_url.clone(),
                opencode_password_set: matches!(opencode_password, Ok(Some(_))),
                opencode_directory: config.agent.opencode_directory.clone(),
                opencode_bin: config.agent.opencode_bin.clone(),
                projects: config.agent.projects.clone(),
                idle_stop_minutes: config.agent.idle_stop_minutes,
            },
            bridge: BridgeView {
                language: config.bridge.language,
                attachment_max_mb: config.bridge.attachment_max_mb,
                attachment_retention_hours: config.bridge.attachment_retention_hours,
            },
            mcp: McpView {
                enabled: config.mcp.enabled,
                port: config.mcp.port,
                language: config.mcp.language,
                url: runtime.mcp_url.clone(),
            },
            docs: config.docs.clone(),
            pacing: PacingView {
                per_conversation: config.pacing.per_conversation,
                app_per_second: config.pacing.app_per_second,
            },
            quota: config.quota.clone(),
            ui: config.ui.clone(),
        })
    }

    /// The saved settings with `change` applied, or `INVALID_SETTINGS` with every field error.
    pub fn validate(&self, change: &SettingsChange) -> Result<Config, SettingsError> {
        resolve(change, &self.load()?).map_err(SettingsError::Invalid)
    }

    /// Validates, stores the secrets, writes the file atomically, and returns the configuration now saved
    /// (for the caller to apply).
    pub fn save(&self, change: &SettingsChange) -> Result<Config, SettingsError> {
        let mut file = SettingsFile::open(&self.config_path)?;
        let resolved = resolve(change, &file.to_config()?).map_err(SettingsError::Invalid)?;
        if let Some(dingtalk) = &change.dingtalk {
            self.apply_secret(CLIENT_SECRET, dingtalk.client_secret.as_ref())?;
        }
        if let Some(agent) = &change.agent {
            self.apply_secret(OPENCODE_PASSWORD, agent.opencode_password.as_ref())?;
        }
        write_change(change, &resolved, &mut file)?;
        let saved = file.to_config()?;
        file.save()?;
        tracing::info!(path = %self.config_path.display(), "settings saved");
        Ok(saved)
    }

    /// The form merged over the saved settings (env overrides included, as the engine would run), with the
    /// form's new secrets or else the stored ones. Used by "Test connection" before anything is saved.
    pub fn form(&self, change: &SettingsChange) -> Result<FormSettings, SettingsError> {
        let base = self.load()?.with_env_overrides();
        let config = resolve(change, &base).map_err(SettingsError::Invalid)?;
        let client_secret = self.effective_secret(
            CLIENT_SECRET,
            change
                .dingtalk
                .as_ref()
                .and_then(|d| d.client_secret.as_ref()),
        )?;
        let opencode_password = self.effective_secret(
            OPENCODE_PASSWORD,
            change
                .agent
                .as_ref()
                .and_then(|a| a.opencode_password.as_ref()),
        )?;
        Ok(FormSettings {
            config,
            client_secret,
            opencode_password,
        })
    }

    fn apply_secret(
        &self,
        account: &str,
        action: Option<&SecretAction>,
    ) -> Result<(), SettingsError> {
        match action {
            None => Ok(()),
            Some(SecretAction::Set(value)) => Ok(self.secrets.set(account, value.clone())?),
            Some(SecretAction::Remove) => Ok(self.secrets.delete(account)?),
        }
    }

    fn effective_secret(
        &self,
        account: &str,
        action: Option<&SecretAction>,
    ) -> Result<Option<SecretString>, SettingsError> {
        match action {
            Some(SecretAction::Set(value)) => Ok(Some(value.clone())),
            Some(SecretAction::Remove) => Ok(None),
            None => Ok(self.secrets.get(account)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::secrets::MemorySecretStore;

    fn service(dir: &Path) -> SettingsService {
        SettingsService::new(
            dir.join("settings.toml"),
            Arc::new(MemorySecretStore::default()),
            "memory",
        )
    }

    fn runtime() -> Runtime {
        Runtime {
            mode: super::super::types::Mode::Demo,
            mcp_url: None,
        }
    }

    fn change(json: &str) -> SettingsChange {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn saved_languages_are_written_to_the_file_and_shown_in_the_view() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path());
        let view = service.view(&runtime()).unwrap();
        assert_eq!(
            (view.bridge.language, view.mcp.language),
            (Lang::ZhCn, Lang::En)
        );

        service
            .save(&change(
                r#"{"bridge":{"language":"en"},"mcp":{"language":"zh-CN"}}"#,
            ))
            .unwrap();
        let file = std::fs::read_to_string(dir.path().join("settings.toml")).unwrap();
        assert!(
            file.contains("[bridge]") && file.contains("language = \"en\""),
            "{file}"
        );
        assert!(file.contains("language = \"zh-CN\""), "{file}");
        let view = service.view(&runtime()).unwrap();
        assert_eq!(
            (view.bridge.language, view.mcp.language),
            (Lang::En, Lang::ZhCn)
        );
    }

    #[test]
    fn saved_attachment_limits_are_written_to_the_file_and_shown_in_the_view() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path());
        service
            .save(&change(
                r#"{"bridge":{"attachment_max_mb":50,"attachment_retention_hours":12}}"#,
            ))
            .unwrap();
        let file = std::fs::read_to_string(dir.path().join("settings.toml")).unwrap();
        assert!(file.contains("attachment_max_mb = 50"), "{file}");
        assert!(file.contains("attachment_retention_hours = 12"), "{file}");
        let view = service.view(&runtime()).unwrap();
        assert_eq!(
            (
                view.bridge.attachment_max_mb,
                view.bridge.attachment_retention_hours
            ),
            (50, 12)
        );
    }

    #[test]
    fn out_of_range_attachment_limits_are_refused_per_field_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path());
        let err = service
            .save(&change(
                r#"{"bridge":{"attachment_max_mb":1025,"attachment_retention_hours":0}}"#,
            ))
            .unwrap_err();
        let SettingsError::Invalid(fields) = err else {
            panic!("expected field errors, got {err:?}");
        };
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|f| (f.field.as_str(), f.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("bridge.attachment_max_mb", "OUT_OF_RANGE"),
                ("bridge.attachment_retention_hours", "OUT_OF_RANGE")
            ]
        );
        assert!(!dir.path().join("settings.toml").exists());
    }

    #[test]
    fn an_unknown_language_is_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let service = service(dir.path());
        let err = service
            .save(&change(r#"{"bridge":{"language":"fr"}}"#))
            .unwrap_err();
        assert!(
            matches!(err, SettingsError::Invalid(ref fields) if fields[0].field == "bridge.language")
        );
        assert!(!dir.path().join("settings.toml").exists());
    }
}
