//! The user's profile (settings file, data dir, secret store) and the decision which engine to run.
//!
//! Invariant: the decision is a pure function of what the user asked for, the current mode and whether
//! complete credentials exist ([`decide`], [`after_save`]); everything that reads files or the keychain
//! happens in [`Profile::plan`], on the blocking pool.

use std::path::PathBuf;
use std::sync::Arc;

use dingbridge_core::Credentials;
use dingbridge_core::config::{Config, ConfigError};
use dingbridge_core::secrets::{self, CLIENT_SECRET, OPENCODE_PASSWORD, SecretStore};
use dingbridge_core::settings::{OpenCodeIntegration, SettingsService};
use secrecy::{ExposeSecret, SecretString};

use crate::engine::{Mode, Plan};
use crate::supervisor::EngineState;

/// What the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    /// Real mode when the credentials are complete, else unconfigured (first run: the setup guide).
    Auto,
    /// "Try the demo" or `--demo`.
    Demo,
    /// "Pause bridge": the real engine without its DingTalk connection.
    Paused,
}

/// Where the user's settings, data and secrets live, and where OpenCode's global config is.
#[derive(Clone)]
pub struct Profile {
    pub config_path: PathBuf,
    pub data_dir: PathBuf,
    pub secrets: Arc<dyn SecretStore>,
    /// Names the secret store for the user ("secret-service", "env", "memory", ...).
    pub secrets_backend: String,
    pub opencode: OpenCodeIntegration,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("[INTERNAL] reading the settings failed: {0}")]
    Task(String),
}

impl ProfileError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(ConfigError::Io { .. }) => "CONFIG_IO",
            Self::Config(_) => "CONFIG_PARSE",
            Self::Task(_) => "INTERNAL",
        }
    }
}

/// What [`Profile::plan`] read: the settings and the secrets that exist.
#[derive(Clone)]
pub struct Loaded {
    pub config: Config,
    pub client_secret: Option<SecretString>,
    pub opencode_password: Option<SecretString>,
}

impl Profile {
    /// Reads the settings file (with env overrides) and the secrets. A secret store that cannot be read
    /// (no keychain) counts as "no secret": the app starts unconfigured and the settings window says why.
    pub async fn load(&self) -> Result<Loaded, ProfileError> {
        let profile = self.clone();
        tauri::async_runtime::spawn_blocking(move || {
            let config = Config::load(&profile.config_path)?.with_env_overrides();
            // An older install's `<data dir>/secrets.json` moves into the keychain before anything is read.
            if let Err(error) =
                secrets::migrate_legacy_file(&profile.data_dir, profile.secrets.as_ref())
            {
                tracing::warn!(code = error.code(), %error, "secrets.json was not moved into the keychain");
            }
            let read = |account: &str| match profile.secrets.get(account) {
                Ok(secret) => secret,
                Err(error) => {
                    tracing::warn!(code = error.code(), %error, account, "cannot read a secret");
                    None
                }
            };
            Ok(Loaded {
                client_secret: read(CLIENT_SECRET),
                opencode_password: read(OPENCODE_PASSWORD),
                config,
            })
        })
        .await
        .map_err(|err| ProfileError::Task(err.to_string()))?
    }

    /// The settings API over this profile's file and secret store.
    pub fn settings(&self) -> SettingsService {
        SettingsService::new(
            self.config_path.clone(),
            self.secrets.clone(),
            self.secrets_backend.clone(),
        )
    }

    pub async fn plan(&self, want: Want) -> Result<Plan, ProfileError> {
        Ok(decide(want, self.load().await?, self.data_dir.clone()))
    }
}

/// Which engine to run for `want` given what the profile holds.
pub fn decide(want: Want, loaded: Loaded, data_dir: PathBuf) -> Plan {
    let Loaded {
        config,
        client_secret,
        opencode_password,
    } = loaded;
    let credentials = match (&config.dingtalk.client_id, client_secret) {
        (Some(client_id), Some(client_secret))
            if !client_id.trim().is_empty() && !client_secret.expose_secret().is_empty() =>
        {
            Some(Credentials {
                client_id: client_id.clone(),
                client_secret,
            })
        }
        _ => None,
    };
    match (want, credentials) {
        (Want::Demo, _) => Plan::Demo,
        (Want::Paused, _) => Plan::Idle {
            config: Box::new(config),
            data_dir,
            paused: true,
        },
        (Want::Auto, Some(credentials)) => Plan::Real {
            config: Box::new(config),
            data_dir,
            credentials,
            opencode_password,
        },
        (Want::Auto, None) => Plan::Idle {
            config: Box::new(config),
            data_dir,
            paused: false,
        },
    }
}

/// After the settings were saved: the plan to switch to, or `None` to keep the running engine.
/// - the demo is left only once real credentials are complete;
/// - a paused bridge stays paused (with the new settings);
/// - otherwise the new settings apply (real, or unconfigured when credentials were removed);
/// - nothing restarts when the plan did not change (e.g. only the language changed).
pub fn after_save(
    state: EngineState,
    current: Option<&Plan>,
    auto: Plan,
    paused: Plan,
) -> Option<Plan> {
    let next = match (state.mode, state.paused) {
        (Mode::Demo, _) if auto.mode() != Mode::Real => return None,
        (_, true) => paused,
        _ => auto,
    };
    match current {
        Some(current) if same(current, &next) => None,
        _ => Some(next),
    }
}

/// Whether two plans would start the same engine. Settings the engine does not read (`[ui]`) are ignored;
/// secrets are compared in memory only.
pub fn same(a: &Plan, b: &Plan) -> bool {
    let config_eq = |a: &Config, b: &Config| {
        let strip = |config: &Config| {
            let mut value = serde_json::to_value(config).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.remove("ui");
            }
            value
        };
        strip(a) == strip(b)
    };
    let secret_eq = |a: &Option<SecretString>, b: &Option<SecretString>| match (a, b) {
        (Some(a), Some(b)) => a.expose_secret() == b.expose_secret(),
        (None, None) => true,
        _ => false,
    };
    match (a, b) {
        (Plan::Demo, Plan::Demo) => true,
        (
            Plan::Idle {
                config: ca,
                data_dir: da,
                paused: pa,
            },
            Plan::Idle {
                config: cb,
                data_dir: db,
                paused: pb,
            },
        ) => pa == pb && da == db && config_eq(ca, cb),
        (
            Plan::Real {
                config: ca,
                data_dir: da,
                credentials: ka,
                opencode_password: oa,
            },
            Plan::Real {
                config: cb,
                data_dir: db,
                credentials: kb,
                opencode_password: ob,
            },
        ) => {
            da == db
                && config_eq(ca, cb)
                && ka.client_id == kb.client_id
                && ka.client_secret.expose_secret() == kb.client_secret.expose_secret()
                && secret_eq(oa, ob)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(client_id: Option<&str>, secret: Option<&str>) -> Loaded {
        let mut config = Config::default();
        config.dingtalk.client_id = client_id.map(str::to_owned);
        Loaded {
            config,
            client_secret: secret.map(SecretString::from),
            opencode_password: None,
        }
    }

    fn plan(want: Want, client_id: Option<&str>, secret: Option<&str>) -> Plan {
        decide(want, loaded(client_id, secret), PathBuf::from("/data"))
    }

    fn state(mode: Mode, paused: bool) -> EngineState {
        EngineState {
            mode,
            paused,
            running: true,
        }
    }

    #[test]
    fn first_run_without_credentials_is_unconfigured() {
        assert_eq!(plan(Want::Auto, None, None).mode(), Mode::Unconfigured);
        assert_eq!(
            plan(Want::Auto, Some("ding123"), None).mode(),
            Mode::Unconfigured
        );
        assert_eq!(plan(Want::Auto, None, Some("s")).mode(), Mode::Unconfigured);
        assert_eq!(
            plan(Want::Auto, Some("ding123"), Some("")).mode(),
            Mode::Unconfigured
        );
    }

    #[test]
    fn complete_credentials_run_for_real() {
        assert_eq!(
            plan(Want::Auto, Some("ding123"), Some("s")).mode(),
            Mode::Real
        );
    }

    #[test]
    fn the_demo_flag_runs_the_demo_even_with_credentials() {
        assert_eq!(
            plan(Want::Demo, Some("ding123"), Some("s")).mode(),
            Mode::Demo
        );
    }

    #[test]
    fn saving_complete_credentials_leaves_the_demo() {
        let next = after_save(
            state(Mode::Demo, false),
            Some(&Plan::Demo),
            plan(Want::Auto, Some("ding123"), Some("s")),
            plan(Want::Paused, Some("ding123"), Some("s")),
        );
        assert_eq!(next.map(|p| p.mode()), Some(Mode::Real));
    }

    #[test]
    fn saving_incomplete_credentials_keeps_the_demo() {
        let next = after_save(
            state(Mode::Demo, false),
            Some(&Plan::Demo),
            plan(Want::Auto, Some("ding123"), None),
            plan(Want::Paused, Some("ding123"), None),
        );
        assert!(next.is_none());
    }

    #[test]
    fn finishing_setup_connects_for_real() {
        let current = plan(Want::Auto, None, None);
        let next = after_save(
            state(Mode::Unconfigured, false),
            Some(&current),
            plan(Want::Auto, Some("ding123"), Some("s")),
            plan(Want::Paused, Some("ding123"), Some("s")),
        );
        assert_eq!(next.map(|p| p.mode()), Some(Mode::Real));
    }

    #[test]
    fn a_new_secret_restarts_the_real_engine() {
        let current = plan(Want::Auto, Some("ding123"), Some("old"));
        let next = after_save(
            state(Mode::Real, false),
            Some(&current),
            plan(Want::Auto, Some("ding123"), Some("new")),
            plan(Want::Paused, Some("ding123"), Some("new")),
        );
        assert_eq!(next.map(|p| p.mode()), Some(Mode::Real));
    }

    #[test]
    fn unchanged_settings_restart_nothing() {
        let current = plan(Want::Auto, Some("ding123"), Some("s"));
        let next = after_save(
            state(Mode::Real, false),
            Some(&current),
            plan(Want::Auto, Some("ding123"), Some("s")),
            plan(Want::Paused, Some("ding123"), Some("s")),
        );
        assert!(next.is_none());
    }

    #[test]
    fn a_paused_bridge_stays_paused_after_a_save() {
        let current = plan(Want::Paused, Some("ding123"), Some("s"));
        let mut changed = loaded(Some("ding123"), Some("s"));
        changed.config.mcp.port = 9999;
        let paused = decide(Want::Paused, changed, PathBuf::from("/data"));
        let next = after_save(
            state(Mode::Real, true),
            Some(&current),
            plan(Want::Auto, Some("ding123"), Some("s")),
            paused,
        );
        assert!(next.is_some_and(|p| p.paused()));
    }
}
