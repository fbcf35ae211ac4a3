//! A fake `opencode serve` on its own loopback listener, for the OpenCode agent backend's tests and the
//! demo. It speaks the HTTP subset the bridge uses (health, sessions, `prompt_async`, history, abort,
//! `GET /event` SSE, permission and question replies) with the real JSON shapes and event order
//! (mcp-notes §3.7), optional Basic auth, and scripted answers. Written from the notes, not from the
//! client, so it checks the client's wire format.

mod routes;
mod runner;
mod script;
mod state;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::debug;

pub use script::{Script, long_markdown};
pub use state::{FakeFilePart, FakePermissionReply, FakePrompt, FakeSession};

use crate::SimError;
use routes::AppState;
use state::{Inner, lock};

#[derive(Clone, Debug)]
pub struct FakeOpenCodeConfig {
    /// When set, every route requires HTTP Basic `username:password` (like `OPENCODE_SERVER_PASSWORD`).
    pub password: Option<String>,
    pub username: String,
    /// Reported by `GET /global/health`.
    pub version: String,
    /// Interval of `server.heartbeat` events.
    pub heartbeat: Duration,
    /// Pause before each streamed delta of the default scripts.
    pub delta_delay: Duration,
    /// 0 = an ephemeral port.
    pub port: u16,
    /// Serve only the older `POST /session/{id}/permissions/{permissionID}` reply route (the newer
    /// `/permission/{id}/reply` answers 404), like an OpenCode release that predates it.
    pub legacy_permission_route_only: bool,
}

impl Default for FakeOpenCodeConfig {
    fn default() -> Self {
        Self {
            password: None,
            username: "opencode".to_owned(),
            version: "1.18.33-fake".to_owned(),
            heartbeat: Duration::from_secs(10),
            delta_delay: Duration::from_millis(5),
            port: 0,
            legacy_permission_route_only: false,
        }
    }
}

impl FakeOpenCodeConfig {
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }
}

#[derive(Default)]
struct ServerSlot {
    generation: Option<CancellationToken>,
    task: Option<JoinHandle<()>>,
}

/// Handle on a running fake; clones share it.
#[derive(Clone)]
pub struct FakeOpenCode {
    inner: Arc<Inner>,
    server: Arc<tokio::sync::Mutex<ServerSlot>>,
    port: u16,
    down: Arc<Mutex<bool>>,
}

impl std::fmt::Debug for FakeOpenCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOpenCode")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

fn bind(port: u16) -> Result<TcpListener, SimError> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let bind_error = |source| SimError::Bind { port, source };
    let socket = TcpSocket::new_v4().map_err(bind_error)?;
    // Coming back "up" rebinds the same port right after closing it.
    socket.set_reuseaddr(true).map_err(bind_error)?;
    socket.bind(addr).map_err(bind_error)?;
    socket.listen(1024).map_err(bind_error)
}

/// Removes a session and everything about it (the "session is gone" case).
pub(crate) fn forget(inner: &Inner, id: &str) -> bool {
    let mut sessions = lock(&inner.sessions);
    let before = sessions.len();
    sessions.retain(|s| s.id != id);
    let removed = sessions.len() != before;
    drop(sessions);
    lock(&inner.history).remove(id);
    if let Some(token) = lock(&inner.busy).remove(id) {
        token.cancel();
    }
    removed
}

/// Waits for the server task after its generation was cancelled.
async fn stop_task(slot: &mut ServerSlot) {
    if let Some(mut task) = slot.task.take() {
        // Graceful shutdown waits for in-flight requests; they are all short, but never hang a test.
        if tokio::time::timeout(Duration::from_secs(3), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

impl FakeOpenCode {
    pub async fn start(config: FakeOpenCodeConfig) -> Result<FakeOpenCode, SimError> {
        let listener = bind(config.port)?;
        let port = listener.local_addr().map_err(SimError::LocalAddr)?.port();
        let fake = FakeOpenCode {
            inner: Arc::new(Inner::new(config)),
            server: Arc::new(tokio::sync::Mutex::new(ServerSlot::default())),
            port,
            down: Arc::new(Mutex::new(false)),
        };
        fake.serve(listener).await;
        Ok(fake)
    }

    async fn serve(&self, listener: TcpListener) {
        let generation = CancellationToken::new();
        let app = routes::router(AppState {
            inner: self.inner.clone(),
            generation: generation.clone(),
        });
        let stop = generation.clone();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(error) = serve.await {
                debug!(target: "dingtalk_sim::opencode", %error, "fake OpenCode server stopped");
            }
        });
        let mut slot = self.server.lock().await;
        slot.generation = Some(generation);
        slot.task = Some(task);
    }

    /// `http://127.0.0.1:<port>` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Takes the server down (closes the listener — connects are refused — and ends open event
    /// streams) or brings it back on the same port. Sessions and history survive, like a restarted
    /// OpenCode with the same data dir.
    pub async fn set_down(&self, down: bool) -> Result<(), SimError> {
        {
            let mut current = lock(&self.down);
            if *current == down {
                return Ok(());
            }
            *current = down;
        }
        if down {
            self.stop_listener().await;
            Ok(())
        } else {
            let listener = bind(self.port)?;
            self.serve(listener).await;
            Ok(())
        }
    }

    async fn stop_listener(&self) {
        let mut slot = self.server.lock().await;
        if let Some(generation) = slot.generation.take() {
            generation.cancel();
        }
        stop_task(&mut slot).await;
    }

    /// Like `kill -9` of `opencode serve`: running turns stop mid-answer and the server goes down.
    /// `set_down(false)` restarts it with the same sessions and history. Real OpenCode stores messages and
    /// parts as they stream and sets an assistant message's `time.completed` only when its step ends or is
    /// halted (`SessionProcessor`, packages/opencode/src/session/processor.ts in anomalyco/opencode); after a
    /// kill nothing completes it, so the history keeps the user message and an unfinished answer.
    ///
    /// In that order: the server stops taking requests (a prompt arriving during the crash is refused, not
    /// run by a process that is dead), then every turn it accepted is killed, then the listener closes.
    pub async fn crash(&self) -> Result<(), SimError> {
        let was_down = std::mem::replace(&mut *lock(&self.down), true);
        let mut slot = self.server.lock().await;
        if let Some(generation) = slot.generation.take() {
            generation.cancel();
        }
        self.inner.kill_running_turns();
        if !was_down {
            stop_task(&mut slot).await;
        }
        Ok(())
    }

    /// The next `count` `GET /session/status` requests answer HTTP 500 (an OpenCode that cannot answer
    /// right after it came back).
    pub fn fail_status_checks(&self, count: u64) {
        self.inner.status_failures.store(count, Ordering::Relaxed);
    }

    /// Stops the server for good.
    pub async fn shutdown(&self) {
        *lock(&self.down) = true;
        self.stop_listener().await;
    }

    /// Prompts whose text contains `matcher` play `script` (first matching rule wins; later calls with
    /// the same matcher replace it).
    pub fn script_for(&self, matcher: &str, script: Script) {
        let mut rules = lock(&self.inner.rules);
        match rules.iter_mut().find(|(m, _)| m == matcher) {
            Some(rule) => rule.1 = script,
            None => rules.push((matcher.to_owned(), script)),
        }
    }

    /// Creating a session whose title contains `matcher` takes `delay` (OpenCode slow for one chat).
    pub fn delay_session_create(&self, matcher: &str, delay: Duration) {
        lock(&self.inner.create_delays).push((matcher.to_owned(), delay));
    }

    pub fn sessions(&self) -> Vec<FakeSession> {
        lock(&self.inner.sessions).clone()
    }

    pub fn prompts(&self) -> Vec<FakePrompt> {
        lock(&self.inner.prompts).clone()
    }

    /// Session ids `POST /session/{id}/abort` was called for, in order.
    pub fn aborts(&self) -> Vec<String> {
        lock(&self.inner.aborts).clone()
    }

    pub fn permission_replies(&self) -> Vec<FakePermissionReply> {
        lock(&self.inner.permission_replies).clone()
    }

    /// Sessions running a script right now.
    pub fn busy_sessions(&self) -> Vec<String> {
        lock(&self.inner.busy).keys().cloned().collect()
    }

    /// Deletes a session as if it was removed in OpenCode (the bridge must create a new one).
    pub fn forget_session(&self, id: &str) -> bool {
        forget(&self.inner, id)
    }

    /// Requests refused with 401 (missing or wrong Basic credentials).
    pub fn auth_rejections(&self) -> u64 {
        self.inner.auth_rejections.load(Ordering::Relaxed)
    }

    /// Requests that passed the Basic-auth check (0 when no password is configured).
    pub fn authorized_requests(&self) -> u64 {
        self.inner.authorized_requests.load(Ordering::Relaxed)
    }

    /// `GET /event` connections accepted so far.
    pub fn event_connections(&self) -> u64 {
        self.inner.event_connections.load(Ordering::Relaxed)
    }
}
