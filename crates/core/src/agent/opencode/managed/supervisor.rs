//! [`ManagedServer`]: keeps one project's `opencode serve` running. Invariants: at most one process per
//! server at any time (one supervising task owns it); a process that dies is restarted with exponential
//! backoff (reset after a healthy minute), never in a tight loop; a missing binary ends the task in
//! `not_installed` instead of retrying (the next use looks again); stopping kills the process group and
//! waits for it. The port is chosen once, so restarts keep the URL the backend talks to.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::locate::locate;
use super::process::{Launch, ServeProcess, log_path};
use super::{ManagedError, free_port};
use crate::agent::opencode::client::OpenCodeClient;
use crate::agent::opencode::config::OpenCodeSettings;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A process that ran this long healthy was not crash-looping: the next restart starts fresh.
const HEALTHY_RESET: Duration = Duration::from_secs(60);
const HEALTH_POLL: Duration = Duration::from_millis(200);

/// What one managed server runs.
#[derive(Clone)]
pub struct ServerConfig {
    /// Project name (settings `[[agent.projects]]`).
    pub project: String,
    /// The project directory: the server's working directory.
    pub directory: PathBuf,
    /// `agent.opencode_bin`; `None` searches PATH and the usual install places.
    pub bin: Option<PathBuf>,
    /// Where `opencode-<project>.log` is written.
    pub log_dir: PathBuf,
    pub username: String,
    pub password: SecretString,
    /// Extra environment for the server (tests isolate OpenCode's config and data dirs with it).
    pub env: Vec<(String, String)>,
    /// How long one start may take to answer its health check (a first start installs plugins).
    pub start_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerState {
    Stopped,
    Starting,
    Running,
    /// Died; waiting for the backoff before the next start.
    Restarting,
    /// No `opencode` binary: the error says how to install it.
    NotInstalled,
}

/// One managed server as the status API shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ServerStatus {
    pub project: String,
    pub directory: String,
    pub port: u16,
    pub state: ServerState,
    pub version: Option<String>,
    pub uptime_s: Option<u64>,
    /// Restarts after the process died (not manual restarts).
    pub restarts: u32,
    pub pid: Option<u32>,
    /// Why it is not running, when it is not.
    pub error: Option<String>,
}

struct Shared {
    state: ServerState,
    version: Option<String>,
    running_since: Option<Instant>,
    restarts: u32,
    pid: Option<u32>,
    error: Option<String>,
    /// "Not installed" was logged; it is logged again only after OpenCode was found in between.
    missing_logged: bool,
}

struct Inner {
    config: ServerConfig,
    port: u16,
    client: OpenCodeClient,
    shared: Mutex<Shared>,
    state_tx: watch::Sender<ServerState>,
    task: tokio::sync::Mutex<Option<(CancellationToken, JoinHandle<()>)>>,
}

/// Cheap to clone; clones share the process.
#[derive(Clone)]
pub struct ManagedServer {
    inner: Arc<Inner>,
}

impl ManagedServer {
    pub fn new(config: ServerConfig, http: reqwest::Client) -> Result<Self, ManagedError> {
        let port = free_port()?;
        let settings = OpenCodeSettings {
            base_url: format!("http://127.0.0.1:{port}"),
            username: config.username.clone(),
            ..OpenCodeSettings::default()
        };
        let client = OpenCodeClient::new(http, &settings, Some(config.password.clone()));
        let (state_tx, _) = watch::channel(ServerState::Stopped);
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                port,
                client,
                shared: Mutex::new(Shared {
                    state: ServerState::Stopped,
                    version: None,
                    running_since: None,
                    restarts: 0,
                    pid: None,
                    error: None,
                    missing_logged: false,
                }),
                state_tx,
                task: tokio::sync::Mutex::new(None),
            }),
        })
    }

    pub fn project(&self) -> &str {
        &self.inner.config.project
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.inner.port)
    }

    pub fn state(&self) -> ServerState {
        *self.inner.state_tx.borrow()
    }

    pub fn status(&self) -> ServerStatus {
        let shared = self.inner.lock();
        ServerStatus {
            project: self.inner.config.project.clone(),
            directory: self.inner.config.directory.display().to_string(),
            port: self.inner.port,
            state: shared.state,
            version: shared.version.clone(),
            uptime_s: shared.running_since.map(|t| t.elapsed().as_secs()),
            restarts: shared.restarts,
            pid: shared.pid,
            error: shared.error.clone(),
        }
    }

    /// Starts the supervising task unless it runs. Returns at once.
    pub async fn start(&self) {
        let mut task = self.inner.task.lock().await;
        if let Some((_, handle)) = task.as_ref()
            && !handle.is_finished()
        {
            return;
        }
        // Before the task runs: a waiter must not take an earlier run's "not installed" for this one's.
        self.inner.set_state(ServerState::Starting, None);
        let cancel = CancellationToken::new();
        let inner = self.inner.clone();
        let handle = tokio::spawn(supervise(inner, cancel.clone()));
        *task = Some((cancel, handle));
    }

    /// Stops the process (group) and waits for it.
    pub async fn stop(&self) {
        let taken = self.inner.task.lock().await.take();
        if let Some((cancel, handle)) = taken {
            cancel.cancel();
            let _ = handle.await;
        }
        self.inner.set_state(ServerState::Stopped, None);
    }

    pub async fn restart(&self) {
        self.stop().await;
        self.start().await;
    }

    /// Starts it if needed and waits until it answers, up to `wait`. `Err` says why it is not available.
    pub async fn ready(&self, wait: Duration) -> Result<(), ManagedError> {
        self.start().await;
        let mut rx = self.inner.state_tx.subscribe();
        let outcome = tokio::time::timeout(wait, async {
            loop {
                let state = *rx.borrow_and_update();
                match state {
                    ServerState::Running => return Ok(()),
                    ServerState::NotInstalled | ServerState::Stopped => {
                        // Stopped: the task ended (a missing binary) or was stopped meanwhile.
                        if state == ServerState::NotInstalled || self.task_finished().await {
                            return Err(self.not_ready());
                        }
                    }
                    ServerState::Starting | ServerState::Restarting => {}
                }
                if rx.changed().await.is_err() {
                    return Err(self.not_ready());
                }
            }
        })
        .await;
        outcome.unwrap_or_else(|_| Err(self.not_ready()))
    }

    async fn task_finished(&self) -> bool {
        self.inner
            .task
            .lock()
            .await
            .as_ref()
            .is_none_or(|(_, handle)| handle.is_finished())
    }

    fn not_ready(&self) -> ManagedError {
        let status = self.status();
        match status.state {
            ServerState::NotInstalled => ManagedError::NotInstalledReported(
                status
                    .error
                    .unwrap_or_else(|| "OpenCode is not installed".to_owned()),
            ),
            state => ManagedError::NotReady {
                project: status.project,
                state: format!("{state:?}").to_lowercase(),
                reason: status.error.unwrap_or_default(),
            },
        }
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_state(&self, state: ServerState, error: Option<String>) {
        {
            let mut shared = self.lock();
            shared.state = state;
            shared.error = error;
            if state != ServerState::Running {
                shared.running_since = None;
            }
            if matches!(state, ServerState::Stopped | ServerState::NotInstalled) {
                shared.pid = None;
            }
        }
        self.state_tx.send_replace(state);
    }

    /// Polls the health endpoint until it answers healthy, the process exits, or the start times out.
    async fn wait_healthy(&self, process: &mut ServeProcess) -> Result<Option<String>, String> {
        let deadline = Instant::now() + self.config.start_timeout;
        loop {
            if let Ok(body) = self.client.health().await
                && body.healthy
            {
                return Ok(body.version);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "not healthy after {}s",
                    self.config.start_timeout.as_secs()
                ));
            }
            tokio::select! {
                status = process.exited() => return Err(format!("exited during start ({status})")),
                () = tokio::time::sleep(HEALTH_POLL) => {}
            }
        }
    }
}

async fn supervise(inner: Arc<Inner>, cancel: CancellationToken) {
    let project = inner.config.project.clone();
    let log = log_path(&inner.config.log_dir, &project);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let bin = match locate(inner.config.bin.as_deref()) {
            Ok(bin) => bin,
            Err(err) => {
                // Each message retry looks again; the log says it once, the status always.
                if !std::mem::replace(&mut inner.lock().missing_logged, true) {
                    error!(project = %project, "{err}");
                }
                inner.set_state(ServerState::NotInstalled, Some(err.to_string()));
                return;
            }
        };
        inner.lock().missing_logged = false;
        inner.set_state(ServerState::Starting, None);
        let launch = Launch {
            bin: &bin,
            project: &inner.config.directory,
            port: inner.port,
            username: &inner.config.username,
            password: &inner.config.password,
            log: &log,
            env: &inner.config.env,
        };
        let failure = match ServeProcess::spawn(&launch) {
            Err(err) => err.to_string(),
            Ok(mut process) => {
                inner.lock().pid = process.pid();
                let started = tokio::select! {
                    result = inner.wait_healthy(&mut process) => result,
                    () = cancel.cancelled() => {
                        process.stop().await;
                        return;
                    }
                };
                match started {
                    Err(reason) => {
                        process.stop().await;
                        format!("{reason}; see {}", log.display())
                    }
                    Ok(version) => {
                        let since = Instant::now();
                        {
                            let mut shared = inner.lock();
                            shared.version = version.clone();
                            shared.running_since = Some(since);
                        }
                        inner.set_state(ServerState::Running, None);
                        info!(project = %project, port = inner.port, version = ?version, "OpenCode started");
                        tokio::select! {
                            status = process.exited() => {
                                if since.elapsed() >= HEALTHY_RESET {
                                    backoff = FIRST_BACKOFF;
                                }
                                // Kill what the dead leader left behind in its group.
                                process.stop().await;
                                format!("OpenCode exited ({status})")
                            }
                            () = cancel.cancelled() => {
                                process.stop().await;
                                info!(project = %project, "OpenCode stopped");
                                return;
                            }
                        }
                    }
                }
            }
        };
        {
            let mut shared = inner.lock();
            shared.restarts = shared.restarts.saturating_add(1);
        }
        warn!(project = %project, "{failure}; restarting in {}s", backoff.as_secs());
        inner.set_state(ServerState::Restarting, Some(failure));
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            () = cancel.cancelled() => return,
        }
        backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
    }
}
