//! The bridge `dingbridged` runs behind its dashboard: the engine plus its MCP server, restartable in
//! process so that saved settings take effect without restarting the daemon.
//!
//! Invariants: at most one engine runs at a time (the old one is shut down, releasing its data dir, before
//! the new one starts); applies are serialised; while a restart is under way the dashboard answers
//! `STARTING` instead of talking to a stopped engine. Applying a save restarts the engine with the saved
//! settings and the stored secrets, which covers every setting at once (new credentials, allow-lists,
//! pacing, agent, MCP port, ...). In demo mode a save that does not complete the real credentials leaves
//! the demo running untouched; one that does leaves the demo and connects for real.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use dingbridge_core::agent::opencode::managed::keychain_password;
use dingbridge_core::api::DashboardHost;
use dingbridge_core::config::Config;
use dingbridge_core::mcp::McpToken;
use dingbridge_core::secrets::{CLIENT_SECRET, OPENCODE_PASSWORD, SecretStore};
use dingbridge_core::settings::{
    Mode, OpenCodeIntegration, Runtime, SettingsError, SettingsService,
};
use dingbridge_core::{AgentSpec, Credentials, Engine, EngineOptions};
use tokio_util::sync::CancellationToken;

use crate::mcp_serve::{self, McpServing};

/// How long shutdown waits for the MCP server task.
const MCP_STOP_WAIT: Duration = Duration::from_secs(3);

/// What one bridge start needs.
pub struct BridgeSpec {
    pub mode: Mode,
    /// Effective configuration (env overrides applied; demo mode points it at the simulator).
    pub config: Config,
    pub credentials: Option<Credentials>,
    pub agent: AgentSpec,
    /// The engine's data dir (demo mode uses its own).
    pub data_dir: PathBuf,
}

/// Process-wide facts that do not change with the settings.
pub struct BridgeEnv {
    /// The real inbox's data dir (used when leaving the demo).
    pub data_dir: PathBuf,
    /// Where the MCP token and runtime file live (the same in every mode, so the helper finds them).
    pub mcp_data_dir: PathBuf,
    /// `--mcp-port`, which wins over `[mcp] port`.
    pub mcp_port: Option<u16>,
    pub echo_delay: Duration,
    pub store: Arc<dyn SecretStore>,
    pub settings: Arc<SettingsService>,
    pub opencode: OpenCodeIntegration,
}

struct Running {
    engine: Engine,
    mode: Mode,
    mcp: Option<McpServing>,
    mcp_cancel: CancellationToken,
}

pub struct BridgeHost {
    env: BridgeEnv,
    running: RwLock<Option<Running>>,
    apply_lock: tokio::sync::Mutex<()>,
}

impl BridgeHost {
    pub async fn start(env: BridgeEnv, spec: BridgeSpec) -> anyhow::Result<Arc<Self>> {
        let running = launch(&env, spec).await?;
        Ok(Arc::new(Self {
            env,
            running: RwLock::new(Some(running)),
            apply_lock: tokio::sync::Mutex::new(()),
        }))
    }

    /// The MCP URL now, if the server runs.
    pub fn mcp_url(&self) -> Option<String> {
        self.with_running(|r| r.mcp.as_ref().map(|m| m.url.clone()))
            .flatten()
    }

    pub async fn shutdown(&self) {
        let _guard = self.apply_lock.lock().await;
        if let Some(running) = self.take() {
            stop(running).await;
        }
    }

    fn with_running<T>(&self, f: impl FnOnce(&Running) -> T) -> Option<T> {
        let guard = self.running.read().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().map(f)
    }

    fn take(&self) -> Option<Running> {
        self.running
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    fn put(&self, running: Running) {
        *self.running.write().unwrap_or_else(|e| e.into_inner()) = Some(running);
    }
}

#[async_trait::async_trait]
impl DashboardHost for BridgeHost {
    fn engine(&self) -> Option<Engine> {
        self.with_running(|r| r.engine.clone())
    }

    fn runtime(&self) -> Runtime {
        self.with_running(|r| Runtime {
            mode: r.mode,
            mcp_url: r.mcp.as_ref().map(|m| m.url.clone()),
        })
        .unwrap_or(Runtime {
            mode: Mode::Unconfigured,
            mcp_url: None,
        })
    }

    fn settings(&self) -> Arc<SettingsService> {
        self.env.settings.clone()
    }

    fn opencode(&self) -> OpenCodeIntegration {
        self.env.opencode.clone()
    }

    fn mcp_token(&self) -> Option<Arc<McpToken>> {
        self.with_running(|r| r.mcp.as_ref().map(|m| m.token.clone()))
            .flatten()
    }

    async fn apply(&self, saved: Config) -> Result<(), SettingsError> {
        let _guard = self.apply_lock.lock().await;
        let store = self.env.store.clone();
        let echo_delay = self.env.echo_delay;
        let data_dir = self.env.data_dir.clone();
        // Keychain reads block (D-Bus).
        let spec =
            tokio::task::spawn_blocking(move || spec_for(saved, &*store, echo_delay, data_dir))
                .await
                .map_err(|err| SettingsError::Internal(format!("settings task failed: {err}")))??;
        let in_demo = self.with_running(|r| r.mode == Mode::Demo).unwrap_or(false);
        if in_demo && spec.mode != Mode::Real {
            tracing::info!(
                "settings saved; the demo keeps running until the DingTalk credentials are complete"
            );
            return Ok(());
        }
        if let Some(old) = self.take() {
            stop(old).await;
        }
        tracing::info!(mode = ?spec.mode, "restarting the bridge with the saved settings");
        match launch(&self.env, spec).await {
            Ok(running) => {
                self.put(running);
                Ok(())
            }
            Err(err) => {
                tracing::error!("the bridge did not start with the saved settings: {err:#}");
                // Keep the dashboard useful: come back without DingTalk rather than not at all.
                let fallback = BridgeSpec {
                    mode: Mode::Unconfigured,
                    config: Config::default().with_env_overrides(),
                    credentials: None,
                    agent: AgentSpec::from_settings(&Config::default().agent, self.env.echo_delay),
                    data_dir: self.env.data_dir.clone(),
                };
                if let Ok(running) = launch(&self.env, fallback).await {
                    self.put(running);
                }
                Err(SettingsError::Internal(format!(
                    "the settings were saved, but the bridge did not start with them: {err:#}"
                )))
            }
        }
    }
}

/// What a saved configuration asks for: real when the credentials are complete, else unconfigured.
fn spec_for(
    saved: Config,
    store: &dyn SecretStore,
    echo_delay: Duration,
    data_dir: PathBuf,
) -> Result<BridgeSpec, SettingsError> {
    let config = saved.with_env_overrides();
    let credentials = match (config.dingtalk.client_id.clone(), store.get(CLIENT_SECRET)?) {
        (Some(client_id), Some(client_secret)) => Some(Credentials {
            client_id,
            client_secret,
        }),
        _ => None,
    };
    let mut agent = AgentSpec::from_settings(&config.agent, echo_delay);
    if let AgentSpec::OpenCode { password, .. } = &mut agent
        && password.is_none()
    {
        *password = store.get(OPENCODE_PASSWORD)?;
    }
    if let AgentSpec::Managed(options) = &mut agent {
        // Without a keychain the managed servers still start, with a password made for this run.
        match keychain_password(store) {
            Ok(password) => options.password = Some(password),
            Err(err) => tracing::warn!(
                code = err.code(),
                "no keychain for the OpenCode password; this run uses a fresh one: {err}"
            ),
        }
    }
    Ok(BridgeSpec {
        mode: if credentials.is_some() {
            Mode::Real
        } else {
            Mode::Unconfigured
        },
        config,
        credentials,
        agent,
        data_dir,
    })
}

async fn launch(env: &BridgeEnv, spec: BridgeSpec) -> anyhow::Result<Running> {
    let BridgeSpec {
        mode,
        config,
        credentials,
        agent,
        data_dir,
    } = spec;
    let engine = Engine::start(EngineOptions {
        mode: match mode {
            Mode::Demo => "demo",
            Mode::Real | Mode::Unconfigured => "serve",
        }
        .into(),
        config: config.clone(),
        data_dir,
        credentials,
        agent,
    })
    .await?;
    let mcp_cancel = CancellationToken::new();
    let mcp = if config.mcp.enabled {
        let port = env.mcp_port.unwrap_or(config.mcp.port);
        // A busy MCP port must not take the bridge down with it: the dashboard says what is missing.
        match mcp_serve::start(
            &engine,
            &config.mcp,
            port,
            &env.mcp_data_dir,
            env.store.clone(),
            mcp_cancel.clone(),
        )
        .await
        {
            Ok(serving) => {
                engine.set_mcp_url(Some(serving.url.clone()));
                tracing::info!("MCP server at {} (bearer token required)", serving.url);
                Some(serving)
            }
            Err(err) => {
                tracing::error!("MCP server not started: {err:#}");
                None
            }
        }
    } else {
        None
    };
    Ok(Running {
        engine,
        mode,
        mcp,
        mcp_cancel,
    })
}

async fn stop(running: Running) {
    running.mcp_cancel.cancel();
    running.engine.shutdown().await;
    if let Some(mcp) = running.mcp {
        let _ = tokio::time::timeout(MCP_STOP_WAIT, mcp.task).await;
    }
}
