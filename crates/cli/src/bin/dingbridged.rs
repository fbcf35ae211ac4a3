//! `dingbridged`: the DingBridge engine without a GUI, serving the dashboard to a browser.
//!
//! - `dingbridged serve`: real DingTalk (credentials from `DINGTALK_CLIENT_ID` / `DINGTALK_CLIENT_SECRET`).
//! - `dingbridged demo`: embedded DingTalk simulator + echo agent + scripted traffic.
//! - `dingbridged` alone: `serve` when credentials are configured, otherwise `demo`.
//!
//! stdout carries only `KEY=value` lines for scripts (the dashboard URL); logs go to stderr and a file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dingbridge_cli::{demo, logging, mcp_serve, shutdown, ui_dir};
use dingbridge_core::agent::EchoAgent;
use dingbridge_core::config::{Config, default_config_path, default_data_dir};
use dingbridge_core::secrets::{CLIENT_SECRET, EnvSecretStore, SecretStore};
use dingbridge_core::{AgentSpec, Credentials, Engine, EngineOptions};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "dingbridged",
    version,
    about = "DingBridge headless daemon: DingTalk ⇄ your coding agent"
)]
struct Cli {
    /// Settings file (TOML). Default: the OS config dir, or DINGBRIDGE_CONFIG.
    #[arg(long, global = true, env = "DINGBRIDGE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (inbox database, logs). Default: the OS data dir, or DINGBRIDGE_DATA_DIR.
    #[arg(long, global = true, env = "DINGBRIDGE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Dashboard port on 127.0.0.1 (0 = any free port). Default: from the settings file (8765).
    #[arg(long, global = true)]
    port: Option<u16>,
    /// MCP server port on 127.0.0.1 (0 = any free port). Default: from the settings file ([mcp] port, 8766).
    #[arg(long, global = true)]
    mcp_port: Option<u16>,
    /// Directory with the dashboard's static files.
    #[arg(long, global = true)]
    ui_dir: Option<PathBuf>,
    /// Delay of the echo agent's answers, in milliseconds (demo, or `[agent] backend = "echo"`).
    #[arg(long, global = true, default_value_t = 0)]
    echo_delay_ms: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Connect to DingTalk with the configured credentials.
    Serve,
    /// Run against the embedded DingTalk simulator with scripted traffic (no account needed).
    Demo,
    /// Print the MCP bearer token (for `export DINGBRIDGE_TOKEN=$(dingbridged mcp-token)`).
    McpToken {
        /// Replace the token first (clients using the old one get 401; a running daemon switches over).
        #[arg(long)]
        rotate: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let signals = shutdown::Signals::install();
    let config_path = cli.config.clone().unwrap_or_else(default_config_path);
    let mut config = Config::load(&config_path)?.with_env_overrides();
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    if let Some(Command::McpToken { rotate }) = cli.command {
        let (token, _) = mcp_serve::token_for(&data_dir)?;
        let token = if rotate {
            token.rotate()?
        } else {
            token.current()
        };
        println!("{}", secrecy::ExposeSecret::expose_secret(&token));
        return Ok(());
    }
    let credentials = configured_credentials(&config)?;
    let command = cli.command.unwrap_or(if credentials.is_some() {
        Command::Serve
    } else {
        Command::Demo
    });

    let _log_guard = logging::init(&data_dir)?;
    let cancel = CancellationToken::new();
    let mut background = Vec::new();

    // The MCP token and runtime file stay in the top-level data dir (also in demo mode) so the helper finds them.
    let mcp_data_dir = data_dir.clone();
    let (mode, credentials, data_dir) = match command {
        Command::Serve => {
            let credentials = credentials.context(
                "no DingTalk credentials: set DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET (or run `dingbridged demo`)",
            )?;
            ("serve", credentials, data_dir)
        }
        Command::Demo => {
            let sim = demo::start_simulator().await?;
            config.dingtalk.api_base = sim.base_url();
            config.dingtalk.oapi_base = sim.base_url();
            // The simulator's made-up people and groups may all talk to the demo agent.
            config.access.allowed_staff_ids = vec!["*".into()];
            config.access.allowed_groups = vec!["*".into()];
            println!("DINGTALK_SIM_BASE_URL={}", sim.base_url());
            tracing::info!(simulator = %sim.base_url(), "demo mode: embedded DingTalk simulator");
            background.push(tokio::spawn(demo::trickle(sim, cancel.clone())));
            let credentials = Credentials {
                client_id: demo::DEMO_CLIENT_ID.into(),
                client_secret: SecretString::from(demo::DEMO_CLIENT_SECRET),
            };
            // The demo never touches the real inbox.
            ("demo", credentials, data_dir.join("demo"))
        }
        Command::McpToken { .. } => unreachable_command()?,
    };

    let echo_delay = match (command, cli.echo_delay_ms) {
        (Command::Demo, 0) => Duration::from_millis(700),
        (_, ms) => Duration::from_millis(ms),
    };
    let engine = Engine::start(EngineOptions {
        mode: mode.into(),
        config: config.clone(),
        data_dir: data_dir.clone(),
        credentials: Some(credentials),
        agent: match command {
            // The demo has no OpenCode: the echo agent answers.
            Command::Demo => Arc::new(EchoAgent::new(echo_delay)).into(),
            _ => AgentSpec::from_settings(&config.agent, echo_delay),
        },
    })
    .await?;

    let ui = ui_dir::resolve(cli.ui_dir.clone());
    if ui.is_none() {
        tracing::warn!("dashboard files not found; only /api/status and /api/events are served");
    }
    let port = cli.port.unwrap_or(config.dashboard.port);
    let router = dingbridge_core::api::http::router(engine.clone(), ui);
    let server_cancel = cancel.clone();
    let (addr, server) =
        dingbridge_core::api::http::serve(
            router,
            port,
            async move { server_cancel.cancelled().await },
        )
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port} (try --port 0)"))?;
    println!("DINGBRIDGE_DASHBOARD_URL=http://{addr}/");
    tracing::info!(mode, data_dir = %data_dir.display(), "dashboard at http://{addr}/");

    let mcp = if config.mcp.enabled {
        let port = cli.mcp_port.unwrap_or(config.mcp.port);
        // A busy MCP port must not take the bridge down with it: the dashboard says what is missing.
        match mcp_serve::start(&engine, &config.mcp, port, &mcp_data_dir, cancel.clone()).await {
            Ok(serving) => {
                println!("DINGBRIDGE_MCP_URL={}", serving.url);
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

    signals.wait().await;
    cancel.cancel();
    engine.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    if let Some(mcp) = mcp {
        let _ = tokio::time::timeout(Duration::from_secs(3), mcp.task).await;
    }
    for task in background {
        task.abort();
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

fn unreachable_command() -> anyhow::Result<(&'static str, Credentials, PathBuf)> {
    anyhow::bail!("mcp-token is handled before the engine starts")
}

fn configured_credentials(config: &Config) -> anyhow::Result<Option<Credentials>> {
    let Some(client_id) = config.dingtalk.client_id.clone() else {
        return Ok(None);
    };
    let secret = EnvSecretStore.get(CLIENT_SECRET)?;
    Ok(secret.map(|client_secret| Credentials {
        client_id,
        client_secret,
    }))
}
