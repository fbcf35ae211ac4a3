//! `dingbridge-mcp`: the stdio MCP server OpenCode launches (`{"type":"local","command":["dingbridge-mcp"]}`).
//! It finds the running DingBridge through its runtime file and pumps stdio ⇄ the app's `/mcp`.
//!
//! - stdout carries only JSON-RPC; diagnostics go to stderr (`DINGBRIDGE_LOG=debug` for more).
//! - App not running / token refused: every request is answered with a JSON-RPC error saying so.
//! - Exits as soon as stdin closes, or on SIGTERM / SIGINT.
//!
//! Overrides: `--url` / `DINGBRIDGE_MCP_URL` (endpoint), `DINGBRIDGE_TOKEN` (bearer token, else the keychain
//! entry the runtime file names), `--runtime-file` / `DINGBRIDGE_RUNTIME_FILE`.

use std::path::PathBuf;

use clap::Parser;
use dingbridge_cli::mcp_failsafe::answer_with_errors;
use dingbridge_cli::mcp_locate::{Problem, locate, preflight};
use dingbridge_cli::mcp_pump::{PumpEnd, http_transport, pump};
use dingbridge_cli::shutdown;
use dingbridge_core::mcp::runtime_file;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::io::BufReader;

#[derive(Parser)]
#[command(
    name = "dingbridge-mcp",
    version,
    about = "DingBridge MCP over stdio: connects an MCP client (OpenCode) to the running DingBridge app"
)]
struct Cli {
    /// The app's MCP endpoint (default: from the runtime file), e.g. http://127.0.0.1:8766/mcp.
    #[arg(long, env = "DINGBRIDGE_MCP_URL")]
    url: Option<String>,
    /// The runtime file the app writes (default: DINGBRIDGE_RUNTIME_FILE or <data dir>/runtime.json).
    #[arg(long, env = "DINGBRIDGE_RUNTIME_FILE")]
    runtime_file: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    // One worker thread is plenty for a pump and starts faster than one per core.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("dingbridge-mcp: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        tokio::select! {
            code = run(cli) => code,
            _ = shutdown::signal() => std::process::ExitCode::SUCCESS,
        }
    });
    // Don't wait for blocked stdin reads or HTTP tasks: the client is gone or we were told to stop.
    runtime.shutdown_background();
    code
}

fn init_logging() {
    let filter = std::env::var("DINGBRIDGE_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

async fn run(cli: Cli) -> std::process::ExitCode {
    let runtime_path = cli.runtime_file.unwrap_or_else(runtime_file::default_path);
    // Reading the token may ask the keychain (blocking D-Bus calls).
    let located = tokio::task::spawn_blocking(move || locate(cli.url, &runtime_path)).await;
    let target = match located {
        Ok(Ok(target)) => target,
        Ok(Err(problem)) => return fail_safe(problem).await,
        Err(err) => {
            return fail_safe(Problem::misconfigured(format!(
                "cannot look up the MCP endpoint: {err}"
            )))
            .await;
        }
    };
    if let Err(problem) = preflight(&target).await {
        return fail_safe(problem).await;
    }
    let up = match http_transport(&target) {
        Ok(up) => up,
        Err(problem) => return fail_safe(problem).await,
    };
    tracing::info!(url = %target.url, "pumping stdio to DingBridge");
    let (stdin, stdout) = rmcp::transport::stdio();
    let mut down = AsyncRwTransport::new_server(stdin, stdout);
    match pump(&mut down, up).await {
        PumpEnd::ClientClosed => std::process::ExitCode::SUCCESS,
        PumpEnd::AppLost(problem) => {
            drop(down);
            fail_safe(problem).await
        }
    }
}

async fn fail_safe(problem: Problem) -> std::process::ExitCode {
    eprintln!("dingbridge-mcp: {}", problem.message);
    let input = BufReader::new(tokio::io::stdin());
    match answer_with_errors(input, tokio::io::stdout(), &problem).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::FAILURE,
    }
}
