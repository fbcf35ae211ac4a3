//! Runs the real `opencode serve` (npm `opencode-ai`) against a [`FakeModel`], offline: a project dir
//! whose `opencode.json` defines one `@ai-sdk/openai-compatible` provider at the fake's base URL as the
//! only model, models.dev fetch and auto-update off, and config/cache/data dirs of its own (never the
//! developer's). The process can be SIGKILLed and started again on the same port with the same data dir,
//! like a crashed agent a user restarts.
//!
//! `DINGBRIDGE_OPENCODE_BIN` names the binary. Tests call [`opencode_binary`]: unset → they skip with a
//! printed reason (plain local `cargo test`); set but missing → an error, so CI fails instead of skipping.

use std::net::{Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use super::FakeModel;

pub const OPENCODE_BIN_ENV: &str = "DINGBRIDGE_OPENCODE_BIN";

/// How long a start may take: the first start in a fresh config dir installs OpenCode's plugin package.
const START_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum RealOpenCodeError {
    #[error("{OPENCODE_BIN_ENV}={0} does not name an executable file")]
    Missing(String),
    #[error("cannot prepare the OpenCode test directory {path}: {source}")]
    Setup {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot start {bin}: {source}")]
    Spawn { bin: String, source: std::io::Error },
    #[error("opencode serve did not become healthy on port {port} within {secs}s (log: {log})")]
    NotHealthy { port: u16, secs: u64, log: String },
    #[error("no free loopback port: {0}")]
    Port(std::io::Error),
}

/// `Ok(None)` when the env var is unset (skip), `Err` when it is set to something unusable (fail).
pub fn opencode_binary() -> Result<Option<PathBuf>, RealOpenCodeError> {
    let Some(value) = std::env::var_os(OPENCODE_BIN_ENV).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(&value);
    if path.is_file() {
        Ok(Some(path))
    } else {
        Err(RealOpenCodeError::Missing(path.display().to_string()))
    }
}

/// One `opencode serve` process (restartable on the same port and data dir).
#[derive(Debug)]
pub struct RealOpenCode {
    bin: PathBuf,
    port: u16,
    project: PathBuf,
    shared: PathBuf,
    data: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    starts: u32,
}

fn setup_error(path: &Path) -> impl FnOnce(std::io::Error) -> RealOpenCodeError + '_ {
    move |source| RealOpenCodeError::Setup {
        path: path.display().to_string(),
        source,
    }
}

fn free_port() -> Result<u16, RealOpenCodeError> {
    let listener = StdListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(RealOpenCodeError::Port)?;
    Ok(listener
        .local_addr()
        .map_err(RealOpenCodeError::Port)?
        .port())
}

/// Starts are serialised within a test binary: concurrent first starts would race on installing
/// OpenCode's plugin package into the shared config dir.
static START_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl RealOpenCode {
    /// Starts `bin serve` for a project under `work` (created), answering with `model`. `shared` holds the
    /// config, cache and npm dirs reused by every instance of a test run (keeps starts fast).
    pub async fn start(
        bin: &Path,
        model: &FakeModel,
        work: &Path,
        shared: &Path,
    ) -> Result<RealOpenCode, RealOpenCodeError> {
        let project = work.join("project");
        let data = work.join("opencode-data");
        for dir in [&project, &data, &shared.to_path_buf()] {
            std::fs::create_dir_all(dir).map_err(setup_error(dir))?;
        }
        let provider = "fake";
        let config = serde_json::json!({
            "$schema": "https://opencode.ai/config.json",
            "autoupdate": false,
            "share": "disabled",
            "provider": {
                provider: {
                    "npm": "@ai-sdk/openai-compatible",
                    "name": "DingBridge test model",
                    "options": {"baseURL": model.base_url(), "apiKey": "test-key"},
                    "models": {model.model_id(): {
                        "name": "echo",
                        "attachment": true,
                        "modalities": {"input": ["text", "image"], "output": ["text"]}
                    }}
                }
            },
            "model": format!("{provider}/{}", model.model_id()),
            "small_model": format!("{provider}/{}", model.model_id()),
        });
        let config_path = project.join("opencode.json");
        std::fs::write(&config_path, config.to_string()).map_err(setup_error(&config_path))?;
        let mut oc = RealOpenCode {
            bin: bin.to_path_buf(),
            port: free_port()?,
            log: work.join("opencode.log"),
            project,
            shared: shared.to_path_buf(),
            data,
            child: None,
            starts: 0,
        };
        oc.spawn().await?;
        Ok(oc)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The project directory OpenCode runs in (its sessions' `directory`).
    pub fn project_dir(&self) -> &Path {
        &self.project
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// SIGKILL: nothing is flushed or finished; the history keeps whatever was stored so far.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }

    /// Starts it again on the same port with the same data dir (after [`RealOpenCode::kill9`]).
    pub async fn restart(&mut self) -> Result<(), RealOpenCodeError> {
        self.kill9().await;
        self.spawn().await
    }

    async fn spawn(&mut self) -> Result<(), RealOpenCodeError> {
        let _serial = START_LOCK.lock().await;
        self.starts += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(setup_error(&self.log))?;
        let log_err = log.try_clone().map_err(setup_error(&self.log))?;
        let shared = &self.shared;
        let child = Command::new(&self.bin)
            .args(["serve", "--hostname", "127.0.0.1", "--port"])
            .arg(self.port.to_string())
            .current_dir(&self.project)
            .env("HOME", shared.join("home"))
            .env("XDG_CONFIG_HOME", shared.join("config"))
            .env("XDG_CACHE_HOME", shared.join("cache"))
            .env("XDG_DATA_HOME", &self.data)
            .env("XDG_STATE_HOME", self.data.join("state"))
            .env("OPENCODE_DISABLE_AUTOUPDATE", "1")
            .env("OPENCODE_DISABLE_MODELS_FETCH", "1")
            .env("OPENCODE_DISABLE_LSP_DOWNLOAD", "1")
            .env_remove("OPENCODE_SERVER_PASSWORD")
            .env_remove("OPENCODE_CONFIG")
            .env_remove("OPENCODE_CONFIG_CONTENT")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| RealOpenCodeError::Spawn {
                bin: self.bin.display().to_string(),
                source,
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if healthy(self.port).await {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(_)) = child.try_wait()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(RealOpenCodeError::NotHealthy {
            port: self.port,
            secs: START_TIMEOUT.as_secs(),
            log: self.log.display().to_string(),
        })
    }
}

/// `GET /global/health` over a plain socket (the simulator has no HTTP client dependency).
async fn healthy(port: u16) -> bool {
    let check = async {
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await.ok()?;
        stream
            .write_all(
                b"GET /global/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            )
            .await
            .ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(String::from_utf8_lossy(&answer).contains("\"healthy\":true"))
    };
    tokio::time::timeout(Duration::from_secs(2), check)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
