//! Starts DingBridge's MCP HTTP server next to the dashboard and announces it in the runtime file.
//!
//! Token: `DINGBRIDGE_TOKEN` when set (for CI and servers), else the token in the OS keychain (created on
//! first run; `dingbridged mcp-token --rotate` replaces it and the running server switches over within about
//! a second, see [`McpToken::watch`]). The runtime file names where the token is, never the token.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use dingbridge_core::Engine;
use dingbridge_core::config::McpSettings;
use dingbridge_core::mcp::http::{self, McpHttpOptions};
use dingbridge_core::mcp::runtime_file::{self, RuntimeFileGuard, RuntimeInfo, TokenRef};
use dingbridge_core::mcp::{DingBridgeMcp, EngineBackend, McpToken};
use dingbridge_core::secrets::{self, MCP_TOKEN, SecretStore};
use serde_json::json;
use tokio_util::sync::CancellationToken;

pub struct McpServing {
    pub addr: SocketAddr,
    pub url: String,
    pub task: tokio::task::JoinHandle<()>,
    pub backend: EngineBackend,
    pub token: Arc<McpToken>,
    _runtime_file: RuntimeFileGuard,
}

/// The token and where a helper finds it. Blocking (keychain): async callers use `spawn_blocking`.
pub fn token_for(store: Arc<dyn SecretStore>) -> anyhow::Result<(Arc<McpToken>, TokenRef)> {
    let token_ref = match store.env_variable(MCP_TOKEN) {
        Some(variable) => TokenRef::Env {
            variable: variable.into(),
        },
        None => TokenRef::Keychain {
            service: secrets::service_name(),
            account: MCP_TOKEN.into(),
        },
    };
    let token = McpToken::load_or_create(store).context("cannot load or create the MCP token")?;
    Ok((Arc::new(token), token_ref))
}

/// `DINGBRIDGE_RUNTIME_FILE`, else `<data dir>/runtime.json`.
pub fn runtime_path(data_dir: &Path) -> PathBuf {
    std::env::var_os(runtime_file::RUNTIME_FILE_ENV)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| data_dir.join(runtime_file::FILE_NAME))
}

pub async fn start(
    engine: &Engine,
    settings: &McpSettings,
    port: u16,
    data_dir: &Path,
    store: Arc<dyn SecretStore>,
    cancel: CancellationToken,
) -> anyhow::Result<McpServing> {
    let (token, token_ref) = tokio::task::spawn_blocking(move || token_for(store))
        .await
        .context("the MCP token task failed")??;
    // Rotations by other processes revoke the old token here within about a second.
    token.watch(cancel.clone());
    let backend = EngineBackend::new(engine.clone());
    let handler =
        DingBridgeMcp::with_tools(Arc::new(backend.clone()), DingBridgeMcp::docs_router())
            .with_language(settings.language);
    let health_engine = engine.clone();
    let options = McpHttpOptions {
        token: token.clone(),
        allowed_origins: settings.allowed_origins.clone(),
        health: Some(Arc::new(move || {
            let status = health_engine.status();
            json!({ "mode": status.mode, "dingtalk": status.connection.state })
        })),
        shutdown: cancel.clone(),
    };
    let router = http::router(handler, options);
    let server_cancel = cancel.clone();
    let (addr, task) = http::serve(router, port, async move { server_cancel.cancelled().await })
        .await
        .with_context(|| {
            format!("cannot listen on 127.0.0.1:{port} for MCP (set [mcp] port, or --mcp-port 0)")
        })?;
    let url = format!("http://{addr}/mcp");
    let info = RuntimeInfo {
        url: url.clone(),
        pid: std::process::id(),
        started_at_ms: dingbridge_core::time::now_ms(),
        version: env!("CARGO_PKG_VERSION").into(),
        token: token_ref,
    };
    let guard = RuntimeFileGuard::create(runtime_path(data_dir), &info)
        .context("cannot write the MCP runtime file")?;
    Ok(McpServing {
        addr,
        url,
        task,
        backend,
        token,
        _runtime_file: guard,
    })
}
