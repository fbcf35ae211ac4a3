//! The engines the desktop app can run, behind one small trait the supervisor swaps:
//! - **real**: the engine of `dingbridge-core` connected to DingTalk, plus the MCP server OpenCode talks to;
//! - **idle**: the same engine on the same data dir but without credentials (first run, or paused): the
//!   dashboard and history work, nothing connects to DingTalk;
//! - **demo** (`demo.rs`): the engine against the embedded simulator with scripted traffic.
//!
//! Invariant: an engine handed out by [`launch`] owns everything it started (tasks, MCP listener, runtime
//! file, simulator) and releases all of it in [`EngineApi::shutdown`], so the next engine can take the data
//! dir and the MCP port.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use dingbridge_cli::mcp_serve::{self, McpServing};
use dingbridge_core::agent::opencode::managed::ServerStatus;
use dingbridge_core::config::Config;
use dingbridge_core::mcp::McpToken;
use dingbridge_core::{AgentSpec, Credentials, Engine};
use secrecy::SecretString;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use dingbridge_core::api::status::StatusSnapshot;
pub use dingbridge_core::events::{ConnectionState, Event};

use crate::demo::DemoEngine;

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What the engine runs now (`SettingsView.mode` of the settings API).
pub use dingbridge_core::settings::Mode;

/// The mode as the settings API spells it.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Demo => "demo",
        Mode::Real => "real",
        Mode::Unconfigured => "unconfigured",
    }
}

/// Everything needed to start one engine. Built by `profile.rs` from the settings file and the secret store.
#[derive(Clone)]
pub enum Plan {
    Demo,
    Real {
        config: Box<Config>,
        data_dir: PathBuf,
        credentials: Credentials,
        opencode_password: Option<SecretString>,
    },
    /// The engine without credentials: `paused` tells whether the user paused a real bridge.
    Idle {
        config: Box<Config>,
        data_dir: PathBuf,
        paused: bool,
    },
}

impl Plan {
    pub fn mode(&self) -> Mode {
        match self {
            Self::Demo => Mode::Demo,
            Self::Real { .. } => Mode::Real,
            Self::Idle { paused: true, .. } => Mode::Real,
            Self::Idle { paused: false, .. } => Mode::Unconfigured,
        }
    }

    pub fn paused(&self) -> bool {
        matches!(self, Self::Idle { paused: true, .. })
    }
}

/// Why an engine could not start. Codes are stable (they reach the UI through `CommandError`).
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(transparent)]
    Engine(#[from] dingbridge_core::EngineError),
    #[error("[SIMULATOR] the demo's embedded DingTalk simulator did not start: {0}")]
    Simulator(String),
    #[error("[DATA_DIR] cannot prepare the demo data directory: {0}")]
    DataDir(String),
}

impl LaunchError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Engine(err) => err.code(),
            Self::Simulator(_) => "SIMULATOR",
            Self::DataDir(_) => "DATA_DIR",
        }
    }
}

/// The MCP server of a running engine: where it listens and its token (for reveal / rotate).
#[derive(Clone)]
pub struct McpInfo {
    pub url: String,
    pub token: Arc<McpToken>,
}

/// What the shell needs from a running engine.
pub trait EngineApi: Send + Sync + 'static {
    /// The snapshot the dashboard renders (`get_status`).
    fn status(&self) -> StatusSnapshot;
    /// A fresh subscription to the engine's event bus.
    fn subscribe(&self) -> broadcast::Receiver<Event>;
    /// The core engine, for calls beyond status (known contacts). Test engines have none.
    fn core(&self) -> Option<&Engine> {
        None
    }
    /// The MCP server this engine serves, if any.
    fn mcp(&self) -> Option<McpInfo> {
        None
    }
    /// Managed mode: each project's OpenCode server and its state (the tray's line). Cheap (no store).
    fn agent_servers(&self) -> Vec<ServerStatus> {
        Vec::new()
    }
    /// Stops everything the engine started. Called once, by the supervisor.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// Cheap-to-clone handle.
#[derive(Clone)]
pub struct EngineHandle(Arc<dyn EngineApi>);

impl EngineHandle {
    pub fn new(engine: impl EngineApi) -> Self {
        Self(Arc::new(engine))
    }

    pub fn status(&self) -> StatusSnapshot {
        self.0.status()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.0.subscribe()
    }

    pub fn core(&self) -> Option<&Engine> {
        self.0.core()
    }

    pub fn mcp(&self) -> Option<McpInfo> {
        self.0.mcp()
    }

    pub fn agent_servers(&self) -> Vec<ServerStatus> {
        self.0.agent_servers()
    }

    pub async fn shutdown(&self) {
        self.0.shutdown().await
    }
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineHandle")
    }
}

/// Starts engines from plans. The app uses [`CoreLauncher`]; tests substitute their own.
pub trait Launcher: Send + Sync + 'static {
    fn launch(&self, plan: Plan) -> BoxFuture<'static, Result<EngineHandle, LaunchError>>;
}

/// The production launcher: real, idle and demo engines of `dingbridge-core`.
pub struct CoreLauncher;

impl Launcher for CoreLauncher {
    fn launch(&self, plan: Plan) -> BoxFuture<'static, Result<EngineHandle, LaunchError>> {
        Box::pin(launch(plan))
    }
}

/// Builds and starts the engine a plan describes.
pub async fn launch(plan: Plan) -> Result<EngineHandle, LaunchError> {
    match plan {
        Plan::Demo => Ok(EngineHandle::new(DemoEngine::start().await?)),
        Plan::Idle {
            config,
            data_dir,
            paused,
        } => {
            let agent =
                with_managed_password(AgentSpec::from_settings(&config.agent, Duration::ZERO))
                    .await;
            let engine = Engine::start(dingbridge_core::EngineOptions {
                mode: if paused { "app" } else { "unconfigured" }.to_owned(),
                config: *config,
                data_dir,
                credentials: None,
                agent,
            })
            .await?;
            Ok(EngineHandle::new(CoreEngine::new(
                engine,
                None,
                CancellationToken::new(),
            )))
        }
        Plan::Real {
            config,
            data_dir,
            credentials,
            opencode_password,
        } => start_real(*config, data_dir, credentials, opencode_password).await,
    }
}

async fn start_real(
    config: Config,
    data_dir: PathBuf,
    credentials: Credentials,
    opencode_password: Option<SecretString>,
) -> Result<EngineHandle, LaunchError> {
    let mut agent =
        with_managed_password(AgentSpec::from_settings(&config.agent, Duration::ZERO)).await;
    // The password from the secret store (env first, then the keychain) wins over the env-only default.
    if let AgentSpec::OpenCode { password, .. } = &mut agent
        && opencode_password.is_some()
    {
        *password = opencode_password;
    }
    let mcp_settings = config.mcp.clone();
    let engine = Engine::start(dingbridge_core::EngineOptions {
        mode: "app".to_owned(),
        config,
        data_dir: data_dir.clone(),
        credentials: Some(credentials),
        agent,
    })
    .await?;
    let cancel = CancellationToken::new();
    let mcp = if mcp_settings.enabled {
        match mcp_serve::start(
            &engine,
            &mcp_settings,
            mcp_settings.port,
            &data_dir,
            // The same store as the profile's (`open_default`: env first, then the OS keychain).
            dingbridge_core::secrets::open_default(),
            cancel.clone(),
        )
        .await
        {
            Ok(serving) => {
                tracing::info!(url = %serving.url, "MCP server started");
                engine.set_mcp_url(Some(serving.url.clone()));
                Some(serving)
            }
            // Another process (e.g. dingbridged) may hold the port: the bridge still works without MCP.
            Err(err) => {
                tracing::warn!("MCP server not started: {err:#}");
                None
            }
        }
    } else {
        None
    };
    Ok(EngineHandle::new(CoreEngine::new(engine, mcp, cancel)))
}

/// Managed mode: the generated password of the OpenCode servers DingBridge starts, from the keychain (made
/// and stored on first use). Without a keychain the servers still start, with a password made for this run.
async fn with_managed_password(agent: AgentSpec) -> AgentSpec {
    let AgentSpec::Managed(mut options) = agent else {
        return agent;
    };
    let store = dingbridge_core::secrets::open_default();
    match tokio::task::spawn_blocking(move || {
        dingbridge_core::agent::opencode::managed::keychain_password(&*store)
    })
    .await
    {
        Ok(Ok(password)) => options.password = Some(password),
        Ok(Err(error)) => tracing::warn!(
            code = error.code(),
            "no keychain for the OpenCode password; this run uses a fresh one: {error}"
        ),
        Err(error) => tracing::warn!(%error, "the keychain task failed"),
    }
    AgentSpec::Managed(options)
}

/// The core engine plus, in real mode, the MCP server. Holding `McpServing` keeps its runtime file, which
/// `dingbridge-mcp` uses to find the app; dropping it (at shutdown) removes the file.
pub(crate) struct CoreEngine {
    engine: Engine,
    mcp_info: Option<McpInfo>,
    mcp: std::sync::Mutex<Option<McpServing>>,
    cancel: CancellationToken,
}

impl CoreEngine {
    pub(crate) fn new(engine: Engine, mcp: Option<McpServing>, cancel: CancellationToken) -> Self {
        let mcp_info = mcp.as_ref().map(|serving| McpInfo {
            url: serving.url.clone(),
            token: serving.token.clone(),
        });
        Self {
            engine,
            mcp_info,
            mcp: std::sync::Mutex::new(mcp),
            cancel,
        }
    }
}

/// How long a stopping MCP server may take to release its port before the next engine binds it.
const MCP_STOP: Duration = Duration::from_secs(3);

impl EngineApi for CoreEngine {
    fn status(&self) -> StatusSnapshot {
        self.engine.status()
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.engine.subscribe()
    }

    fn core(&self) -> Option<&Engine> {
        Some(&self.engine)
    }

    fn mcp(&self) -> Option<McpInfo> {
        self.mcp_info.clone()
    }

    fn agent_servers(&self) -> Vec<ServerStatus> {
        self.engine
            .managed()
            .map(|managed| managed.statuses())
            .unwrap_or_default()
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.cancel.cancel();
            let serving = self.mcp.lock().ok().and_then(|mut mcp| mcp.take());
            if let Some(mut serving) = serving {
                // Graceful first (open streams end), then forced, so the port is free for the next engine.
                if tokio::time::timeout(MCP_STOP, &mut serving.task)
                    .await
                    .is_err()
                {
                    serving.task.abort();
                }
            }
            self.engine.shutdown().await;
        })
    }
}
