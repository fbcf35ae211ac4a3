//! [`ManagedBackend`]: the agent in managed mode. Invariants: one [`ManagedServer`] (and one
//! [`OpenCodeBackend`] talking to it) per project, created and started on the first turn in that project;
//! a turn waits for its server to be ready (a start, or a restart after a crash) and otherwise fails with
//! `Unavailable`, so the bridge keeps the message queued and retries; a server with no running turn that
//! has been idle for `idle_stop` is stopped; [`ManagedBackend::shutdown`] stops every server.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::ManagedError;
use super::projects::{self, Project, ProjectChoice};
use super::supervisor::{ManagedServer, ServerConfig, ServerState, ServerStatus};
use crate::agent::opencode::backend::OpenCodeBackend;
use crate::agent::opencode::config::OpenCodeSettings;
use crate::agent::opencode::sessions::BACKEND_NAME;
use crate::agent::{AgentBackend, AgentError, AgentHealth, AgentReply, AgentRequest, UpdateSender};
use crate::store::Store;

/// Everything managed mode needs besides the store.
#[derive(Clone)]
pub struct ManagedOptions {
    /// In order; the first is the default project.
    pub projects: Vec<Project>,
    pub bin: Option<PathBuf>,
    /// Where the servers' output goes; `None`: the engine's `<data dir>/logs`.
    pub log_dir: Option<PathBuf>,
    /// From the keychain; `None` generates one for this run (headless setups without a keychain).
    pub password: Option<SecretString>,
    /// Timeouts and user name for talking to the servers (the URL and directory are set per project).
    pub settings: OpenCodeSettings,
    pub env: Vec<(String, String)>,
    pub start_timeout: Duration,
    /// `None`: never stop an idle server.
    pub idle_stop: Option<Duration>,
}

struct Entry {
    server: ManagedServer,
    backend: OpenCodeBackend,
    last_use: Mutex<Instant>,
    active: AtomicUsize,
}

impl Entry {
    fn touch(&self) {
        *self.last_use.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_use
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .elapsed()
    }
}

/// Counts a running turn so the idle reaper leaves its server alone.
struct Active<'a>(&'a Entry);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}

struct Inner {
    options: ManagedOptions,
    log_dir: PathBuf,
    password: SecretString,
    store: Store,
    http: reqwest::Client,
    entries: Mutex<HashMap<String, Arc<Entry>>>,
    reaper: CancellationToken,
}

/// Cheap to clone; clones share the servers.
#[derive(Clone)]
pub struct ManagedBackend {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ManagedBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedBackend")
            .field("projects", &self.inner.options.projects)
            .finish_non_exhaustive()
    }
}

impl ManagedBackend {
    /// Starts no process yet (the first turn does), only the idle reaper.
    pub fn new(
        options: ManagedOptions,
        default_log_dir: PathBuf,
        store: Store,
        http: reqwest::Client,
    ) -> Self {
        let reaper = CancellationToken::new();
        let password = options
            .password
            .clone()
            .unwrap_or_else(|| SecretString::from(super::generate_password()));
        let backend = Self {
            inner: Arc::new(Inner {
                log_dir: options.log_dir.clone().unwrap_or(default_log_dir),
                password,
                options,
                store,
                http,
                entries: Mutex::new(HashMap::new()),
                reaper: reaper.clone(),
            }),
        };
        if let Some(idle) = backend.inner.options.idle_stop {
            let weak = Arc::downgrade(&backend.inner);
            tokio::spawn(async move {
                let tick = (idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
                loop {
                    tokio::select! {
                        () = reaper.cancelled() => return,
                        () = tokio::time::sleep(tick) => {}
                    }
                    let Some(inner) = weak.upgrade() else { return };
                    ManagedBackend { inner }.stop_idle(idle).await;
                }
            });
        }
        backend
    }

    pub fn projects(&self) -> &[Project] {
        &self.inner.options.projects
    }

    /// Every project's server as the status API shows it. Projects never started show as stopped; a
    /// stopped one shows as `not_installed` (with the install command) while no `opencode` can be found,
    /// so the dashboard says so before the first message fails.
    pub fn statuses(&self) -> Vec<ServerStatus> {
        let mut statuses: Vec<ServerStatus> = {
            let entries = self.inner.entries();
            self.projects()
                .iter()
                .map(|project| match entries.get(&project.name) {
                    Some(entry) => entry.server.status(),
                    None => ServerStatus {
                        project: project.name.clone(),
                        directory: project.path.display().to_string(),
                        port: 0,
                        state: ServerState::Stopped,
                        version: None,
                        uptime_s: None,
                        restarts: 0,
                        pid: None,
                        error: None,
                    },
                })
                .collect()
        };
        if statuses.iter().any(|s| s.state == ServerState::Stopped)
            && let Err(missing) = super::locate(self.inner.options.bin.as_deref())
        {
            for status in statuses
                .iter_mut()
                .filter(|s| s.state == ServerState::Stopped)
            {
                status.state = ServerState::NotInstalled;
                status.error = Some(missing.to_string());
            }
        }
        statuses
    }

    /// The server of a project (created, not started, if new).
    pub fn server(&self, project: &str) -> Result<ManagedServer, ManagedError> {
        Ok(self.entry(project)?.server.clone())
    }

    /// The projects, marking the conversation's current one.
    pub async fn choices(&self, conversation_id: &str) -> Result<Vec<ProjectChoice>, AgentError> {
        let current = self
            .project_of(conversation_id)
            .await?
            .map(|p| p.name.clone());
        Ok(self
            .projects()
            .iter()
            .map(|project| ProjectChoice {
                current: current.as_deref() == Some(project.name.as_str()),
                project: project.clone(),
            })
            .collect())
    }

    /// Binds the conversation to `name`; its next turn starts a fresh session in that project.
    pub async fn switch(&self, conversation_id: &str, name: &str) -> Result<Project, AgentError> {
        let Some(project) = self.projects().iter().find(|p| p.name == name).cloned() else {
            return Err(AgentError::Failed(
                ManagedError::UnknownProject(name.to_owned()).to_string(),
            ));
        };
        projects::bind(&self.inner.store, conversation_id, &project.name)
            .await
            .map_err(store_error)?;
        self.clear_sessions(conversation_id).await?;
        Ok(project)
    }

    /// Forgets the conversation's session in every project's backend (each caches it) and the store.
    async fn clear_sessions(&self, conversation_id: &str) -> Result<(), AgentError> {
        let entries = self.inner.all();
        for entry in entries {
            entry.backend.reset_session(conversation_id).await?;
        }
        self.inner
            .store
            .clear_agent_session(conversation_id, BACKEND_NAME)
            .await
            .map_err(store_error)
    }

    /// Stops every server and the idle reaper; returns when the processes are gone.
    pub async fn shutdown(&self) {
        self.inner.reaper.cancel();
        let entries = self.inner.all();
        for entry in entries {
            entry.server.stop().await;
        }
    }

    async fn stop_idle(&self, idle: Duration) {
        let entries = self.inner.all();
        for entry in entries {
            if entry.active.load(Ordering::SeqCst) == 0
                && entry.idle_for() >= idle
                && entry.server.state() != ServerState::Stopped
            {
                info!(project = %entry.server.project(), "stopping idle OpenCode");
                entry.server.stop().await;
            }
        }
    }

    async fn project_of(&self, conversation_id: &str) -> Result<Option<&Project>, AgentError> {
        projects::bound(&self.inner.store, self.projects(), conversation_id)
            .await
            .map_err(store_error)
    }

    fn entry(&self, name: &str) -> Result<Arc<Entry>, ManagedError> {
        let mut entries = self.inner.entries();
        if let Some(entry) = entries.get(name) {
            return Ok(entry.clone());
        }
        let project = self
            .projects()
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ManagedError::UnknownProject(name.to_owned()))?;
        let options = &self.inner.options;
        let server = ManagedServer::new(
            ServerConfig {
                project: project.name.clone(),
                directory: project.path.clone(),
                bin: options.bin.clone(),
                log_dir: self.inner.log_dir.clone(),
                username: options.settings.username.clone(),
                password: self.inner.password.clone(),
                env: options.env.clone(),
                start_timeout: options.start_timeout,
            },
            self.inner.http.clone(),
        )?;
        let settings = OpenCodeSettings {
            base_url: server.base_url(),
            directory: Some(project.path.display().to_string()),
            ..options.settings.clone()
        };
        let backend = OpenCodeBackend::with_http_client(
            settings,
            Some(self.inner.password.clone()),
            self.inner.store.clone(),
            self.inner.http.clone(),
        );
        let entry = Arc::new(Entry {
            server,
            backend,
            last_use: Mutex::new(Instant::now()),
            active: AtomicUsize::new(0),
        });
        entries.insert(name.to_owned(), entry.clone());
        Ok(entry)
    }

    /// The conversation's project entry, if the conversation has one and it was ever used.
    async fn existing_entry(
        &self,
        conversation_id: &str,
    ) -> Result<Option<Arc<Entry>>, AgentError> {
        let Some(project) = self.project_of(conversation_id).await? else {
            return Ok(None);
        };
        Ok(self.inner.entries().get(&project.name).cloned())
    }
}

impl Inner {
    fn all(&self) -> Vec<Arc<Entry>> {
        self.entries().values().cloned().collect()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Entry>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn store_error(error: crate::store::StoreError) -> AgentError {
    AgentError::Unavailable(format!("cannot read the chat's project: {error}"))
}

fn unavailable(error: ManagedError) -> AgentError {
    AgentError::Unavailable(error.to_string())
}

#[async_trait]
impl AgentBackend for ManagedBackend {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    /// The default project's server, without starting it.
    async fn health(&self) -> Result<AgentHealth, AgentError> {
        let Some(project) = self.projects().first() else {
            return Err(unavailable(ManagedError::NoProject));
        };
        let entry = self.entry(&project.name).map_err(unavailable)?;
        let status = entry.server.status();
        match status.state {
            ServerState::Running => entry.backend.health().await,
            ServerState::Stopped => Ok(AgentHealth {
                // Not started yet (or stopped when idle): the next message starts it.
                healthy: true,
                version: status.version,
            }),
            _ => Err(AgentError::Unavailable(
                status
                    .error
                    .unwrap_or_else(|| "OpenCode is starting".to_owned()),
            )),
        }
    }

    async fn respond(
        &self,
        request: AgentRequest,
        updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        let Some(project) = self.project_of(&request.conversation_id).await? else {
            return Err(unavailable(ManagedError::NoProject));
        };
        let entry = self.entry(&project.name).map_err(unavailable)?;
        entry.active.fetch_add(1, Ordering::SeqCst);
        let _active = Active(&entry);
        entry.touch();
        entry
            .server
            .ready(self.inner.options.start_timeout)
            .await
            .map_err(unavailable)?;
        entry.backend.respond(request, updates).await
    }

    async fn abort(&self, conversation_id: &str) -> Result<bool, AgentError> {
        match self.existing_entry(conversation_id).await? {
            Some(entry) => entry.backend.abort(conversation_id).await,
            None => Ok(false),
        }
    }

    async fn reset_session(&self, conversation_id: &str) -> Result<(), AgentError> {
        self.clear_sessions(conversation_id).await
    }

    async fn reply_to_question(
        &self,
        conversation_id: &str,
        question_id: &str,
        answer: Option<String>,
    ) -> Result<(), AgentError> {
        match self.existing_entry(conversation_id).await? {
            Some(entry) => {
                entry
                    .backend
                    .reply_to_question(conversation_id, question_id, answer)
                    .await
            }
            None => Ok(()),
        }
    }

    async fn answer_permission(
        &self,
        conversation_id: &str,
        permission_id: &str,
        allow: bool,
    ) -> Result<(), AgentError> {
        match self.existing_entry(conversation_id).await? {
            Some(entry) => {
                entry
                    .backend
                    .answer_permission(conversation_id, permission_id, allow)
                    .await
            }
            None => Ok(()),
        }
    }
}
