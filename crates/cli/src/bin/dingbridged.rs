//! `dingbridged`: the DingBridge engine without a GUI, serving the dashboard to a browser.
//!
//! - `dingbridged serve`: real DingTalk (client id from the settings file or `DINGTALK_CLIENT_ID`, secret from
//!   `DINGTALK_CLIENT_SECRET` or the OS keychain).
//! - `dingbridged demo`: embedded DingTalk simulator + echo agent + scripted traffic.
//! - `dingbridged` alone: `serve` when client id and secret are available, otherwise `demo`.
//! - `dingbridged credentials set|status|clear`, `dingbridged mcp-token [--rotate]`: the keychain entries.
//! - `dingbridged opencode add|status`: DingBridge's entry in OpenCode's global config.
//!
//! The dashboard needs the one-time login URL printed as `DINGBRIDGE_DASHBOARD_URL`; settings saved there are
//! applied by restarting the bridge (engine + MCP server) in process (`bridge_host`).
//!
//! stdout carries only `KEY=value` lines for scripts (the dashboard URL); logs go to stderr and a file.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use dingbridge_cli::bridge_host::{BridgeEnv, BridgeHost, BridgeSpec};
use dingbridge_cli::opencode_cmd::{self, OpenCodeAction};
use dingbridge_cli::{credentials, demo, logging, shutdown, ui_dir};
use dingbridge_core::agent::EchoAgent;
use dingbridge_core::api::DashboardAuth;
use dingbridge_core::config::{Config, default_config_path, default_data_dir};
use dingbridge_core::secrets::{self, CLIENT_SECRET, OPENCODE_PASSWORD, SecretError, SecretStore};
use dingbridge_core::settings::{Mode, OpenCodeIntegration, SettingsService};
use dingbridge_core::{AgentSpec, Credentials};
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

#[derive(Subcommand, Clone, PartialEq, Eq)]
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
    /// Set, inspect or remove the secrets in the OS keychain (secrets come from stdin or a hidden prompt).
    Credentials {
        #[command(subcommand)]
        action: CredentialsAction,
    },
    /// Add DingBridge to OpenCode's global config (`add`), or show whether it is there (`status`).
    Opencode {
        #[command(subcommand)]
        action: OpenCodeAction,
    },
}

#[derive(Subcommand, Clone, PartialEq, Eq)]
enum CredentialsAction {
    /// Store a secret: `--client-id ID` (DingTalk AppKey; the AppSecret is read from stdin or a hidden
    /// prompt) or `--opencode-password` (the OpenCode server password, likewise).
    Set {
        /// The DingTalk app's Client ID (AppKey); saved to the settings file, its secret to the keychain.
        #[arg(
            long,
            value_name = "ID",
            required_unless_present = "opencode_password",
            conflicts_with = "opencode_password"
        )]
        client_id: Option<String>,
        /// Store the OpenCode server password (HTTP Basic) read from stdin or a hidden prompt.
        #[arg(long)]
        opencode_password: bool,
    },
    /// Which secrets are set and where they come from (keychain or environment); never their values.
    Status,
    /// Remove the DingTalk client secret and the OpenCode password from the keychain.
    Clear {
        /// Also remove the MCP token and the dashboard secret (new ones are made on the next start).
        #[arg(long)]
        all: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Everything this process creates (logs, database, runtime file, lock) is for this user only; the log
    // appender and SQLite take no file mode, so the process-wide umask is what keeps them 0600.
    #[cfg(unix)]
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    let config_path = cli.config.clone().unwrap_or_else(default_config_path);
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let store = secrets::open_default();
    // Before anything reads a secret: an older install's plaintext secrets.json moves into the keychain.
    let migration = secrets::migrate_legacy_file(&data_dir, store.as_ref());
    // Keychain commands are blocking and short: no async runtime.
    match cli.command.clone() {
        Some(Command::McpToken { rotate }) => {
            warn_on_migration_failure(&migration);
            return credentials::mcp_token(store, rotate);
        }
        Some(Command::Credentials { action }) => {
            warn_on_migration_failure(&migration);
            return run_credentials(action, store.as_ref(), &config_path);
        }
        Some(Command::Opencode { action }) => return opencode_cmd::run(action),
        _ => {}
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(cli, config_path, data_dir, store, migration))
}

fn run_credentials(
    action: CredentialsAction,
    store: &dyn SecretStore,
    config_path: &std::path::Path,
) -> anyhow::Result<()> {
    match action {
        CredentialsAction::Set {
            client_id: Some(client_id),
            ..
        } => {
            let client_id = client_id.trim().to_owned();
            anyhow::ensure!(!client_id.is_empty(), "--client-id must not be empty");
            let secret = credentials::read_secret("DingTalk Client Secret (AppSecret): ")?;
            credentials::store_secret(store, CLIENT_SECRET, secret)?;
            credentials::save_client_id(config_path, &client_id)?;
            println!(
                "saved: client id {client_id} in {}, client secret in the keychain",
                config_path.display()
            );
            Ok(())
        }
        CredentialsAction::Set { .. } => {
            let password = credentials::read_secret("OpenCode server password: ")?;
            credentials::store_secret(store, OPENCODE_PASSWORD, password)?;
            println!("saved: OpenCode password in the keychain");
            Ok(())
        }
        CredentialsAction::Status => {
            let config = Config::load(config_path)?.with_env_overrides();
            credentials::status(store, &config, config_path)
        }
        CredentialsAction::Clear { all } => credentials::clear(store, all),
    }
}

fn warn_on_migration_failure(migration: &Result<Vec<String>, SecretError>) {
    if let Err(err) = migration {
        eprintln!("warning: the old secrets.json was not moved into the keychain: {err}");
    }
}

async fn run(
    cli: Cli,
    config_path: std::path::PathBuf,
    data_dir: std::path::PathBuf,
    store: Arc<dyn SecretStore>,
    migration: Result<Vec<String>, SecretError>,
) -> anyhow::Result<()> {
    let signals = shutdown::Signals::install();
    let mut config = Config::load(&config_path)?.with_env_overrides();
    let credentials = match &cli.command {
        Some(Command::Demo) => None,
        _ => configured_credentials(&config, store.clone()).await?,
    };
    let command = cli.command.clone().unwrap_or(if credentials.is_some() {
        Command::Serve
    } else {
        Command::Demo
    });

    let _log_guard = logging::init(&data_dir)?;
    match &migration {
        Ok(moved) if !moved.is_empty() => {
            tracing::info!(accounts = ?moved, "moved the old secrets.json into the keychain and removed it")
        }
        Ok(_) => {}
        Err(err) => tracing::warn!(
            code = err.code(),
            "the old secrets.json was not moved into the keychain (it is kept): {err}"
        ),
    }
    let cancel = CancellationToken::new();
    let mut background = Vec::new();

    // The MCP token and runtime file stay in the top-level data dir (also in demo mode) so the helper finds them.
    let mcp_data_dir = data_dir.clone();
    let (mode, credentials, data_dir) = match &command {
        Command::Serve => {
            let credentials = credentials.context(
                "no DingTalk credentials: run `dingbridged credentials set --client-id <AppKey>` (the secret \
                 from stdin), or set DINGTALK_CLIENT_ID and DINGTALK_CLIENT_SECRET (or run `dingbridged demo`)",
            )?;
            ("serve", credentials, data_dir)
        }
        Command::Demo => {
            let sim = demo::start_simulator().await?;
            config = demo::demo_config(&sim, config);
            println!("DINGTALK_SIM_BASE_URL={}", sim.base_url());
            tracing::info!(simulator = %sim.base_url(), "demo mode: embedded DingTalk simulator");
            background.push(tokio::spawn(demo::trickle(sim, cancel.clone())));
            let credentials = demo::demo_credentials();
            // The demo never touches the real inbox.
            ("demo", credentials, data_dir.join("demo"))
        }
        Command::McpToken { .. } | Command::Credentials { .. } | Command::Opencode { .. } => {
            unreachable_command()?
        }
    };

    let echo_delay = match (&command, cli.echo_delay_ms) {
        (Command::Demo, 0) => Duration::from_millis(700),
        (_, ms) => Duration::from_millis(ms),
    };
    let agent = match &command {
        // The demo has no OpenCode: the echo agent answers.
        Command::Demo => Arc::new(EchoAgent::new(echo_delay)).into(),
        _ => {
            with_stored_password(
                AgentSpec::from_settings(&config.agent, echo_delay),
                store.clone(),
            )
            .await
        }
    };
    let bridge = BridgeHost::start(
        BridgeEnv {
            data_dir: mcp_data_dir.clone(),
            mcp_data_dir: mcp_data_dir.clone(),
            mcp_port: cli.mcp_port,
            echo_delay,
            store: store.clone(),
            settings: Arc::new(SettingsService::new(
                &config_path,
                store.clone(),
                secrets::KEYCHAIN_BACKEND,
            )),
            opencode: OpenCodeIntegration::detect(),
        },
        BridgeSpec {
            mode: if command == Command::Demo {
                Mode::Demo
            } else {
                Mode::Real
            },
            config: config.clone(),
            credentials: Some(credentials),
            agent,
            data_dir: data_dir.clone(),
        },
    )
    .await?;

    let ui = ui_dir::resolve(cli.ui_dir.clone());
    if ui.is_none() {
        tracing::warn!("dashboard files not found; only /api/* is served");
    }
    let port = cli.port.unwrap_or(config.dashboard.port);
    let auth_store = store.clone();
    let auth = Arc::new(
        tokio::task::spawn_blocking(move || DashboardAuth::from_store(auth_store.as_ref())).await?,
    );
    let router = dingbridge_core::api::http::router(bridge.clone(), auth.clone(), ui);
    let server_cancel = cancel.clone();
    let (addr, server) =
        dingbridge_core::api::http::serve(
            router,
            port,
            async move { server_cancel.cancelled().await },
        )
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port} (try --port 0)"))?;
    // The one-time login URL is the only way into the dashboard: stdout only, never the log file.
    println!("DINGBRIDGE_DASHBOARD_URL={}", auth.login_url(addr));
    tracing::info!(mode, data_dir = %data_dir.display(), "dashboard at http://{addr}/ (log in with the printed URL)");
    if let Some(url) = bridge.mcp_url() {
        println!("DINGBRIDGE_MCP_URL={url}");
    }

    signals.wait().await;
    cancel.cancel();
    bridge.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(3), server).await;
    for task in background {
        task.abort();
    }
    tracing::info!("stopped cleanly");
    Ok(())
}

fn unreachable_command() -> anyhow::Result<(&'static str, Credentials, PathBuf)> {
    anyhow::bail!("mcp-token, credentials and opencode are handled before the engine starts")
}

/// Client id (settings file or `DINGTALK_CLIENT_ID`) and secret (env, else keychain). `None` without a
/// client id or without a stored secret; an unreachable keychain is an error here, not "no credentials",
/// because a configured client id means the user wants the real mode.
async fn configured_credentials(
    config: &Config,
    store: Arc<dyn SecretStore>,
) -> anyhow::Result<Option<Credentials>> {
    let Some(client_id) = config.dingtalk.client_id.clone() else {
        return Ok(None);
    };
    let secret = tokio::task::spawn_blocking(move || store.get(CLIENT_SECRET))
        .await
        .context("the keychain task failed")?
        .with_context(|| format!("cannot read the client secret of DingTalk app {client_id}"))?;
    Ok(secret.map(|client_secret| Credentials {
        client_id,
        client_secret,
    }))
}

/// Fills the OpenCode password from the store (env `OPENCODE_SERVER_PASSWORD`, else keychain) when the
/// settings did not bring one. An unreachable keychain leaves it unset (OpenCode may need none) and says so.
async fn with_stored_password(spec: AgentSpec, store: Arc<dyn SecretStore>) -> AgentSpec {
    if let AgentSpec::Managed(mut options) = spec {
        // Managed mode: the generated password of the servers DingBridge starts (made on first use).
        match tokio::task::spawn_blocking(move || {
            dingbridge_core::agent::opencode::managed::keychain_password(&*store)
        })
        .await
        {
            Ok(Ok(password)) => options.password = Some(password),
            Ok(Err(err)) => tracing::warn!(
                code = err.code(),
                "no keychain for the OpenCode password; this run uses a fresh one: {err}"
            ),
            Err(err) => tracing::warn!(error = %err, "the keychain task failed"),
        }
        return AgentSpec::Managed(options);
    }
    let AgentSpec::OpenCode {
        settings,
        password: None,
    } = spec
    else {
        return spec;
    };
    let password = match tokio::task::spawn_blocking(move || store.get(OPENCODE_PASSWORD)).await {
        Ok(Ok(password)) => password,
        Ok(Err(err)) => {
            tracing::warn!(code = err.code(), "OpenCode password not available: {err}");
            None
        }
        Err(err) => {
            tracing::warn!(error = %err, "the keychain task failed");
            None
        }
    };
    AgentSpec::OpenCode { settings, password }
}
