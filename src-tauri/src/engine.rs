//! The one place that knows how the engine of `dingbridge-core` is built, started and stopped.
//! The rest of the shell sees only [`EngineHandle`]: a status snapshot, an event subscription, shutdown.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use dingbridge_cli::mcp_serve::{self, McpServing};
use dingbridge_core::config::{Config, default_config_path, default_data_dir};
use dingbridge_core::secrets::{CLIENT_SECRET, EnvSecretStore, SecretStore};
use dingbridge_core::{AgentSpec, Credentials, Engine};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use dingbridge_core::api::status::StatusSnapshot;
pub use dingbridge_core::events::{ConnectionState, Event};

use crate::demo::DemoEngine;

/// What the shell needs from a running engine.
pub trait EngineApi: Send + Sync + 'static {
    /// The snapshot the dashboard renders (`get_status`).
    fn status(&self) -> StatusSnapshot;
    /// A fresh subscription to the engine's event bus.
    fn subscribe(&self) -> broadcast::Receiver<Event>;
    /// Stops the services. Called once, from the main thread, when the app exits (outside the runtime).
    fn shutdown(&self) {}
}

/// Cheap-to-clone handle managed as Tauri state.
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

    pub fn shutdown(&self) {
        self.0.shutdown()
    }
}

impl std::fmt::Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineHandle")
    }
}

/// Managed state: the engine, installed once it has started.
///
/// The app is built (which lets the single-instance plugin end a second launch) before the engine starts,
/// so a second instance never opens the store or a DingTalk connection. Nothing reads the slot before
/// it is filled in practice (windows are created after), but commands still answer cleanly if it is empty.
#[derive(Default)]
pub struct EngineSlot(OnceLock<EngineHandle>);

impl EngineSlot {
    pub fn get(&self) -> Option<&EngineHandle> {
        self.0.get()
    }

    /// Installs the engine; `false` if one was already installed (the new one is not used).
    pub fn install(&self, engine: EngineHandle) -> bool {
        self.0.set(engine).is_ok()
    }
}

/// How the desktop app wants its engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineOptions {
    /// Run against the embedded DingTalk simulator and a fake agent.
    pub demo: bool,
}

impl EngineApi for Engine {
    fn status(&self) -> StatusSnapshot {
        Engine::status(self)
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        Engine::subscribe(self)
    }

    fn shutdown(&self) {
        tauri::async_runtime::block_on(Engine::shutdown(self));
    }
}

/// The real engine plus the MCP server OpenCode talks to (the same server `dingbridged` runs). Holding
/// `McpServing` keeps its runtime file, which `dingbridge-mcp` uses to find the app.
struct AppEngine {
    engine: Engine,
    mcp: Option<McpServing>,
    cancel: CancellationToken,
}

impl EngineApi for AppEngine {
    fn status(&self) -> StatusSnapshot {
        self.engine.status()
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.engine.subscribe()
    }

    fn shutdown(&self) {
        self.cancel.cancel();
        if let Some(mcp) = &self.mcp {
            mcp.task.abort();
        }
        tauri::async_runtime::block_on(Engine::shutdown(&self.engine));
    }
}

/// Builds and starts the engine. Runs inside Tauri's tokio runtime (`async_runtime::block_on`).
pub async fn start(options: &EngineOptions) -> anyhow::Result<EngineHandle> {
    if options.demo {
        return Ok(EngineHandle::new(DemoEngine::start().await?));
    }
    let config = Config::load(&default_config_path())?.with_env_overrides();
    // The secret comes from DINGTALK_CLIENT_SECRET for now; the keychain-backed SecretStore and the
    // settings window that fills it are tracked in the issue notes (not in the foundation issue).
    let credentials = match config.dingtalk.client_id.clone() {
        Some(client_id) => EnvSecretStore
            .get(CLIENT_SECRET)?
            .map(|client_secret| Credentials {
                client_id,
                client_secret,
            }),
        None => None,
    };
    // No account configured: show the product working against the embedded simulator rather than an
    // idle window (the same rule as `dingbridged` without a subcommand).
    let Some(credentials) = credentials else {
        eprintln!("dingbridge: no DingTalk credentials configured; starting in demo mode");
        return Ok(EngineHandle::new(DemoEngine::start().await?));
    };
    // The `[agent]` settings: the developer's OpenCode server by default.
    let agent = AgentSpec::from_settings(&config.agent, Duration::ZERO);
    let data_dir = default_data_dir();
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
            cancel.clone(),
        )
        .await
        {
            Ok(serving) => {
                eprintln!("dingbridge: MCP server at {}", serving.url);
                engine.set_mcp_url(Some(serving.url.clone()));
                Some(serving)
            }
            // Another instance (e.g. dingbridged) may hold the port: the app still works without MCP.
            Err(err) => {
                eprintln!("dingbridge: MCP server not started: {err:#}");
                None
            }
        }
    } else {
        None
    };
    Ok(EngineHandle::new(AppEngine {
        engine,
        mcp,
        cancel,
    }))
}
