//! Shared state of the fake OpenCode server: sessions, message history, what it received (for test
//! assertions), pending permission asks / questions, and the bus feeding `GET /event`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;

use super::FakeOpenCodeConfig;
use super::script::Script;

/// A session as the fake knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FakeSession {
    pub id: String,
    pub title: String,
    pub directory: Option<String>,
}

/// One `prompt_async` the fake received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FakePrompt {
    pub session_id: String,
    /// The text parts joined with `\n`.
    pub text: String,
    /// `?directory=` of the request.
    pub directory: Option<String>,
    /// The file parts, in order.
    pub files: Vec<FakeFilePart>,
}

/// One `{type:"file", mime, filename?, url}` part of a prompt (OpenCode's `FilePartInput`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FakeFilePart {
    pub mime: String,
    pub filename: Option<String>,
    pub url: String,
    /// For `file://` URLs: the file's content when the prompt arrived (OpenCode reads it then), `None` if
    /// it could not be read.
    pub content: Option<Vec<u8>>,
}

/// A reply to a permission ask, as received (`route` tells which endpoint was used).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FakePermissionReply {
    pub permission_id: String,
    pub reply: String,
    pub route: &'static str,
}

/// What a question waiter receives: `Some(answers)` or `None` for a rejection.
pub type QuestionAnswer = Option<Vec<Vec<String>>>;

pub struct Inner {
    pub config: FakeOpenCodeConfig,
    pub sessions: Mutex<Vec<FakeSession>>,
    /// session id → `[{info, parts}]`, oldest first.
    pub history: Mutex<HashMap<String, Vec<Value>>>,
    pub prompts: Mutex<Vec<FakePrompt>>,
    pub aborts: Mutex<Vec<String>>,
    pub permission_replies: Mutex<Vec<FakePermissionReply>>,
    pub rules: Mutex<Vec<(String, Script)>>,
    /// `POST /session` with a title containing the matcher answers only after the delay (a slow OpenCode
    /// for one conversation).
    pub create_delays: Mutex<Vec<(String, std::time::Duration)>>,
    /// session id → the running script's cancel token.
    pub busy: Mutex<HashMap<String, CancellationToken>>,
    /// One script at a time per session (OpenCode queues prompts on a busy session).
    pub session_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    pub permissions: Mutex<HashMap<String, (String, oneshot::Sender<String>)>>,
    pub questions: Mutex<HashMap<String, oneshot::Sender<QuestionAnswer>>>,
    pub events: broadcast::Sender<String>,
    /// Cancelled by a simulated crash: every running turn stops dead (then replaced for the next life).
    pub kill: Mutex<CancellationToken>,
    pub auth_rejections: AtomicU64,
    pub authorized_requests: AtomicU64,
    pub event_connections: AtomicU64,
    /// The next this many `GET /session/status` answer HTTP 500.
    pub status_failures: AtomicU64,
    counter: AtomicU64,
}

/// Locks ignoring poisoning: a panicking test thread must not wedge the fake for the others.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Inner {
    pub fn new(config: FakeOpenCodeConfig) -> Self {
        let (events, _) = broadcast::channel(4096);
        Self {
            config,
            sessions: Mutex::default(),
            history: Mutex::default(),
            prompts: Mutex::default(),
            aborts: Mutex::default(),
            permission_replies: Mutex::default(),
            rules: Mutex::default(),
            create_delays: Mutex::default(),
            busy: Mutex::default(),
            session_locks: Mutex::default(),
            permissions: Mutex::default(),
            questions: Mutex::default(),
            events,
            kill: Mutex::new(CancellationToken::new()),
            auth_rejections: AtomicU64::new(0),
            authorized_requests: AtomicU64::new(0),
            event_connections: AtomicU64::new(0),
            status_failures: AtomicU64::new(0),
            counter: AtomicU64::new(1),
        }
    }

    /// OpenCode-style ids: prefix + ascending part + random tail.
    pub fn new_id(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let tail = uuid::Uuid::new_v4().simple().to_string();
        format!("{prefix}_{n:06x}{}", &tail[..14])
    }

    /// The token a turn started now is killed by.
    pub fn kill_switch(&self) -> CancellationToken {
        lock(&self.kill).clone()
    }

    /// A crash: running turns stop where they are and nothing is busy any more. The busy map is held
    /// across the kill, so a killed turn cannot mark its session busy afterwards (see [`Inner::mark_busy`]):
    /// a restarted OpenCode reports no session busy, its session status lives in memory only.
    pub fn kill_running_turns(&self) {
        let mut busy = lock(&self.busy);
        let old = std::mem::replace(&mut *lock(&self.kill), CancellationToken::new());
        old.cancel();
        busy.clear();
    }

    /// Marks the session busy with a turn, unless the turn was killed by a crash (`false`: stop now).
    pub fn mark_busy(
        &self,
        session_id: &str,
        cancel: CancellationToken,
        killed: &CancellationToken,
    ) -> bool {
        let mut busy = lock(&self.busy);
        if killed.is_cancelled() {
            return false;
        }
        busy.insert(session_id.to_owned(), cancel);
        true
    }

    /// Takes one of the `GET /session/status` failures set up with `FakeOpenCode::fail_status_checks`.
    pub fn take_status_failure(&self) -> bool {
        self.status_failures
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Publishes one bus event to every `/event` subscriber.
    pub fn emit(&self, kind: &str, properties: Value) {
        let id = self.new_id("evt");
        let event = json!({ "id": id, "type": kind, "properties": properties });
        // No subscriber is fine: real OpenCode drops events nobody listens to.
        let _ = self.events.send(event.to_string());
    }

    pub fn session(&self, id: &str) -> Option<FakeSession> {
        lock(&self.sessions).iter().find(|s| s.id == id).cloned()
    }

    pub fn session_json(&self, session: &FakeSession) -> Value {
        let now = now_ms();
        json!({
            "id": session.id,
            "slug": session.id.trim_start_matches("ses_"),
            "projectID": "fake-project",
            "directory": session.directory.clone().unwrap_or_else(|| "/fake/project".to_owned()),
            "title": session.title,
            "version": self.config.version,
            "time": { "created": now, "updated": now },
        })
    }

    pub fn script_for(&self, text: &str) -> Script {
        lock(&self.rules)
            .iter()
            .find(|(matcher, _)| text.contains(matcher.as_str()))
            .map(|(_, script)| script.clone())
            .unwrap_or_else(|| Script::Reply(format!("You said: {text}")))
    }

    pub fn session_lock(&self, session_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.session_locks)
            .entry(session_id.to_owned())
            .or_default()
            .clone()
    }

    pub fn push_message(&self, session_id: &str, message: Value) {
        lock(&self.history)
            .entry(session_id.to_owned())
            .or_default()
            .push(message);
    }

    /// Replaces a stored message (matched by `info.id`).
    pub fn update_message(&self, session_id: &str, message: Value) {
        let mut history = lock(&self.history);
        let list = history.entry(session_id.to_owned()).or_default();
        let id = message["info"]["id"].clone();
        match list.iter_mut().find(|m| m["info"]["id"] == id) {
            Some(slot) => *slot = message,
            None => list.push(message),
        }
    }
}
