//! [`OpenCodeBackend`]: the bridge's [`AgentBackend`] on top of `opencode serve`. A turn = make sure the
//! conversation has a session and the shared event stream is live, subscribe to the session's events,
//! `prompt_async`, then follow events until `session.idle` (or an error, `/stop`, the turn timeout, or a
//! lost event stream).
//!
//! At most once per DingTalk message: the prompt carries the msgId, and "sent to session S" is stored
//! *before* it is sent. A message with such a record (a restart, a retry after OpenCode went away) is looked
//! up in S's history instead of being prompted again ([`super::resume`]); the answer always comes from
//! OpenCode's record of *that* prompt, never from how an event stream happened to end.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::client::{OpenCodeClient, build_http_client};
use super::config::OpenCodeSettings;
use super::events::OcEvent;
use super::hub::{EventHub, HubMsg, Subscription};
use super::resume::{Recorded, recorded_turn};
use super::sessions::{BACKEND_NAME, SessionManager};
use super::turn::{Outcome, TurnState};
use crate::agent::{AgentBackend, AgentError, AgentHealth, AgentReply, AgentRequest, UpdateSender};
use crate::dingtalk::ConversationKind;
use crate::store::Store;

/// How many history entries to fetch when the answer is read back (a turn with many tool steps has many).
const HISTORY_LIMIT: usize = 100;
/// How long an aborted turn waits for OpenCode to confirm it went idle.
const ABORT_DRAIN: Duration = Duration::from_secs(3);

/// Cheap to clone; clones share sessions, the event stream and running turns.
#[derive(Clone)]
pub struct OpenCodeBackend {
    inner: Arc<Inner>,
}

struct Inner {
    settings: OpenCodeSettings,
    client: OpenCodeClient,
    hub: EventHub,
    sessions: SessionManager,
    store: Store,
    running: Mutex<HashMap<String, RunningTurn>>,
    next_turn: AtomicU64,
}

#[derive(Clone)]
struct RunningTurn {
    turn: u64,
    session_id: String,
    stop: CancellationToken,
}

/// Removes the conversation's running-turn entry when `respond` returns, whichever way.
struct RunningGuard<'a> {
    inner: &'a Inner,
    conversation_id: String,
    turn: u64,
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.inner.running.lock()
            && running.get(&self.conversation_id).map(|r| r.turn) == Some(self.turn)
        {
            running.remove(&self.conversation_id);
        }
    }
}

impl std::fmt::Debug for OpenCodeBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenCodeBackend")
            .field("base_url", &self.inner.settings.base_url)
            .finish_non_exhaustive()
    }
}

impl OpenCodeBackend {
    /// Builds its own pooled HTTP client. `password`: from the secret store or
    /// [`super::password_from_env`]; `None` for an unsecured server.
    pub fn new(
        settings: OpenCodeSettings,
        password: Option<SecretString>,
        store: Store,
    ) -> Result<Self, AgentError> {
        let http = build_http_client(&settings)?;
        Ok(Self::with_http_client(settings, password, store, http))
    }

    /// Shares the caller's pooled client. It must have no overall request timeout (that would cut the
    /// long-lived event stream); this backend sets per-request timeouts itself.
    pub fn with_http_client(
        settings: OpenCodeSettings,
        password: Option<SecretString>,
        store: Store,
        http: reqwest::Client,
    ) -> Self {
        let client = OpenCodeClient::new(http, &settings, password);
        Self {
            inner: Arc::new(Inner {
                hub: EventHub::new(client.clone(), settings.event_idle_timeout),
                sessions: SessionManager::new(client.clone(), store.clone()),
                store,
                client,
                settings,
                running: Mutex::new(HashMap::new()),
                next_turn: AtomicU64::new(1),
            }),
        }
    }

    pub fn settings(&self) -> &OpenCodeSettings {
        &self.inner.settings
    }

    /// The conversation's current OpenCode session id, if one is recorded.
    pub async fn session_of(&self, conversation_id: &str) -> Result<Option<String>, AgentError> {
        self.inner.sessions.current(conversation_id).await
    }

    /// Answers a question relayed with `AgentUpdate::QuestionAsked`: one list of chosen labels (or free
    /// text) per asked question.
    pub async fn answer_question(
        &self,
        question_id: &str,
        answers: Vec<Vec<String>>,
    ) -> Result<(), AgentError> {
        Ok(self
            .inner
            .client
            .reply_question(question_id, &answers)
            .await?)
    }

    /// Declines a relayed question; the agent continues without an answer.
    pub async fn reject_question(&self, question_id: &str) -> Result<(), AgentError> {
        Ok(self.inner.client.reject_question(question_id).await?)
    }

    fn running_turn(&self, conversation_id: &str) -> Option<RunningTurn> {
        self.inner
            .running
            .lock()
            .ok()
            .and_then(|running| running.get(conversation_id).cloned())
    }
}

/// The text sent to OpenCode: a one-line header saying who asks from where, then the message. The agent
/// serves several people and chats through one project, so it needs to know who is talking.
pub fn prompt_text(request: &AgentRequest) -> String {
    let who = match request.sender_staff_id.as_deref().filter(|s| !s.is_empty()) {
        Some(staff_id) => format!("{} ({staff_id})", request.sender_nick),
        None => request.sender_nick.clone(),
    };
    let place = match (
        request.conversation_kind,
        request.conversation_title.as_deref(),
    ) {
        (ConversationKind::Group, Some(title)) if !title.trim().is_empty() => {
            format!("group \"{}\"", title.trim())
        }
        (ConversationKind::Group, _) => "a group chat".to_owned(),
        (ConversationKind::Single, _) => "a direct chat".to_owned(),
    };
    // The msgId makes the user message OpenCode stores identifiable after a restart (see the module doc).
    format!(
        "[DingTalk] from {who} in {place} (message {}):\n{}",
        request.msg_id, request.text
    )
}

fn store_error(error: crate::store::StoreError) -> AgentError {
    AgentError::Unavailable(format!("cannot record the agent turn: {error}"))
}

#[async_trait]
impl AgentBackend for OpenCodeBackend {
    fn name(&self) -> &str {
        BACKEND_NAME
    }

    async fn health(&self) -> Result<AgentHealth, AgentError> {
        let body = self.inner.client.health().await?;
        Ok(AgentHealth {
            healthy: body.healthy,
            version: body.version,
        })
    }

    async fn respond(
        &self,
        request: AgentRequest,
        updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        let inner = &*self.inner;
        let prompt = prompt_text(&request);
        let recorded = inner
            .store
            .agent_turn(&request.msg_id, BACKEND_NAME)
            .await
            .map_err(store_error)?;
        if let Some(session_id) = recorded {
            match self
                .resume(&request, &session_id, &prompt, &updates)
                .await?
            {
                Some(reply) => return Ok(reply),
                None => {
                    info!(target: "dingbridge::agent", session = %session_id, "OpenCode never stored this prompt; sending it")
                }
            }
        }
        let mut session_id = inner.sessions.session_for(&request).await?;
        inner.hub.ensure_live(inner.settings.health_timeout).await?;

        let turn = inner.next_turn.fetch_add(1, Ordering::Relaxed);
        let stop = CancellationToken::new();
        let set_running = |session_id: &str| {
            if let Ok(mut running) = inner.running.lock() {
                running.insert(
                    request.conversation_id.clone(),
                    RunningTurn {
                        turn,
                        session_id: session_id.to_owned(),
                        stop: stop.clone(),
                    },
                );
            }
        };
        set_running(&session_id);
        let _guard = RunningGuard {
            inner,
            conversation_id: request.conversation_id.clone(),
            turn,
        };

        // Subscribe before prompting so no event of this turn can be missed; record before sending so a
        // crash after the send is looked up, not prompted again.
        let mut subscription = inner.hub.subscribe(&session_id);
        self.record_sent(&request.msg_id, &session_id).await?;
        let files = &request.attachments;
        match inner.client.prompt_async(&session_id, &prompt, files).await {
            Ok(()) => {}
            Err(error) if error.is_not_found() => {
                session_id = inner.sessions.replace(&request, &session_id).await?;
                set_running(&session_id);
                subscription = inner.hub.subscribe(&session_id);
                self.record_sent(&request.msg_id, &session_id).await?;
                inner
                    .client
                    .prompt_async(&session_id, &prompt, files)
                    .await?;
            }
            Err(error) => return Err(error.into()),
        }
        debug!(target: "dingbridge::agent", conversation = %request.conversation_id, session = %session_id, "prompt sent to OpenCode");

        let result = self
            .follow(&session_id, &prompt, &mut subscription, &stop, &updates)
            .await;
        match &result {
            Ok(reply) => {
                info!(target: "dingbridge::agent", session = %session_id, chars = reply.text.chars().count(), "OpenCode turn finished")
            }
            Err(error) => {
                info!(target: "dingbridge::agent", session = %session_id, code = error.code(), "OpenCode turn ended without a reply")
            }
        }
        result
    }

    async fn abort(&self, conversation_id: &str) -> Result<bool, AgentError> {
        let Some(running) = self.running_turn(conversation_id) else {
            return Ok(false);
        };
        if let Err(error) = self.inner.client.abort(&running.session_id).await {
            // Our side stops regardless; if OpenCode is unreachable its turn is not running anyway.
            warn!(target: "dingbridge::agent", code = error.code(), "OpenCode abort request failed");
        }
        running.stop.cancel();
        Ok(true)
    }

    async fn reset_session(&self, conversation_id: &str) -> Result<(), AgentError> {
        self.inner.sessions.reset(conversation_id).await
    }

    async fn reply_to_question(
        &self,
        _conversation_id: &str,
        question_id: &str,
        answer: Option<String>,
    ) -> Result<(), AgentError> {
        match answer {
            // OpenCode takes one list of chosen options (or free text) per question asked.
            Some(answer) => self.answer_question(question_id, vec![vec![answer]]).await,
            None => self.reject_question(question_id).await,
        }
    }

    async fn answer_permission(
        &self,
        conversation_id: &str,
        permission_id: &str,
        allow: bool,
    ) -> Result<(), AgentError> {
        let client = &self.inner.client;
        let reply = if allow { "once" } else { "reject" };
        match client.reply_permission(permission_id, reply).await {
            Ok(()) => return Ok(()),
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(error.into()),
        }
        // An OpenCode release without the `/permission` routes: use the per-session route.
        let session = match self.running_turn(conversation_id) {
            Some(running) => Some(running.session_id),
            None => self.inner.sessions.current(conversation_id).await?,
        };
        let Some(session) = session else {
            return Err(AgentError::Failed(format!(
                "no pending permission request {permission_id}"
            )));
        };
        match client
            .reply_permission_legacy(&session, permission_id, reply)
            .await
        {
            Ok(()) => Ok(()),
            Err(error) if error.is_not_found() => Err(AgentError::Failed(format!(
                "no pending permission request {permission_id} (already answered or expired)"
            ))),
            Err(error) => Err(error.into()),
        }
    }
}

impl OpenCodeBackend {
    async fn follow(
        &self,
        session_id: &str,
        prompt: &str,
        subscription: &mut Subscription,
        stop: &CancellationToken,
        updates: &UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        let inner = &*self.inner;
        let settings = &inner.settings;
        let deadline = Instant::now() + settings.turn_timeout;
        let mut hub_state = inner.hub.state();
        let mut down_since: Option<Instant> = None;
        let mut turn = TurnState::default();
        loop {
            let grace = async {
                match down_since {
                    Some(since) => sleep_until(since + settings.reconnect_grace).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    drain_until_idle(subscription).await;
                    return Err(AgentError::Aborted);
                }
                _ = sleep_until(deadline) => {
                    match inner.client.abort(session_id).await {
                        Ok(_) => drain_until_idle(subscription).await,
                        Err(error) => warn!(target: "dingbridge::agent", code = error.code(), "abort after turn timeout failed"),
                    }
                    return Err(AgentError::Failed(format!(
                        "OpenCode did not finish within {}; the turn was aborted",
                        human_duration(settings.turn_timeout)
                    )));
                }
                message = subscription.rx.recv() => match message {
                    Some(HubMsg::Event(event)) => {
                        if let Some(outcome) = turn.apply(event, updates) {
                            return self.finish(outcome, session_id, prompt, &turn).await;
                        }
                    }
                    Some(HubMsg::Gap) => {
                        down_since = None;
                        if let Some(result) = self.check_after_gap(session_id, prompt, &mut turn).await {
                            return result;
                        }
                    }
                    None => {
                        return Err(AgentError::Unavailable(
                            "the OpenCode event subscription closed".to_owned(),
                        ));
                    }
                },
                changed = hub_state.changed() => {
                    if changed.is_err() {
                        return Err(AgentError::Unavailable("the OpenCode event reader stopped".to_owned()));
                    }
                    let connected = hub_state.borrow_and_update().connected;
                    if connected {
                        down_since = None;
                    } else if down_since.is_none() {
                        down_since = Some(Instant::now());
                    }
                }
                _ = grace => {
                    let reason = inner.hub.state().borrow().last_error.clone().unwrap_or_default();
                    // Best effort: if OpenCode is still there, do not leave a turn running nobody follows.
                    let _ = tokio::time::timeout(Duration::from_secs(2), inner.client.abort(session_id)).await;
                    return Err(AgentError::Unavailable(format!(
                        "lost the event stream from OpenCode at {} during the turn: {reason}",
                        inner.client.base_url()
                    )));
                }
            }
        }
    }

    async fn finish(
        &self,
        outcome: Outcome,
        session_id: &str,
        prompt: &str,
        turn: &TurnState,
    ) -> Result<AgentReply, AgentError> {
        match outcome {
            Outcome::Aborted => Err(AgentError::Aborted),
            Outcome::Error(error) => Err(error),
            Outcome::Idle => {
                // The answer is what OpenCode recorded for this prompt (the streamed text only fills in an
                // answer without text parts in the history).
                let history = self
                    .inner
                    .client
                    .messages(session_id, HISTORY_LIMIT)
                    .await?;
                answer_from_record(recorded_turn(&history, prompt), turn.text())
            }
        }
    }

    /// After an event-stream gap: if the session went idle meanwhile, the turn is over and the answer is
    /// in the history. `None` = keep following (the session is busy with the turn, and its end is still to
    /// come on the stream). A check that fails ends the turn as `Unavailable`, never "keep following": if
    /// the turn ended during the gap, no event would ever come and the chat would wait in silence until
    /// the turn timeout. The bridge retries, and the retry resolves the turn from OpenCode's record.
    async fn check_after_gap(
        &self,
        session_id: &str,
        prompt: &str,
        turn: &mut TurnState,
    ) -> Option<Result<AgentReply, AgentError>> {
        let client = &self.inner.client;
        let busy = match client.busy_sessions().await {
            Ok(busy) => busy,
            Err(error) => return Some(Err(gap_check_failed(error))),
        };
        if busy.contains_key(session_id) {
            // Busy with our prompt (one turn per session at a time): its end may be the only event left,
            // which must not be taken for a leftover of an earlier turn.
            turn.mark_started();
            return None;
        }
        let history = match client.messages(session_id, HISTORY_LIMIT).await {
            Ok(history) => history,
            Err(error) => return Some(Err(gap_check_failed(error))),
        };
        match recorded_turn(&history, prompt) {
            // Idle and OpenCode has no such prompt: it was lost (OpenCode restarted before storing it).
            // The bridge retries the turn, which finds no user message and prompts again.
            Recorded::NotSent => Some(Err(AgentError::Unavailable(
                "OpenCode lost the prompt (it restarted before storing it)".to_owned(),
            ))),
            // Stored without output, but the event stream showed the model answering: OpenCode died
            // before storing it. Sending it again would run the model twice; tell the chat instead.
            Recorded::NeverAnswered if turn.output_seen() => Some(Err(AgentError::Interrupted)),
            // Stored but OpenCode died before the model said anything: nothing ran, send it again.
            Recorded::NeverAnswered => Some(Err(AgentError::Unavailable(
                "OpenCode restarted before answering the prompt".to_owned(),
            ))),
            recorded => Some(answer_from_record(recorded, turn.text())),
        }
    }

    /// Stores "the prompt for `msg_id` goes to `session_id`" before it is sent.
    async fn record_sent(&self, msg_id: &str, session_id: &str) -> Result<(), AgentError> {
        self.inner
            .store
            .record_agent_turn(msg_id, BACKEND_NAME, session_id)
            .await
            .map_err(store_error)
    }

    /// A turn whose prompt may already have reached OpenCode: `Ok(None)` if OpenCode has no such prompt
    /// (send it), else the recorded outcome. A turn still running in OpenCode is followed to its end first.
    async fn resume(
        &self,
        request: &AgentRequest,
        session_id: &str,
        prompt: &str,
        updates: &UpdateSender,
    ) -> Result<Option<AgentReply>, AgentError> {
        let inner = &*self.inner;
        inner.hub.ensure_live(inner.settings.health_timeout).await?;
        let turn = inner.next_turn.fetch_add(1, Ordering::Relaxed);
        let stop = CancellationToken::new();
        if let Ok(mut running) = inner.running.lock() {
            running.insert(
                request.conversation_id.clone(),
                RunningTurn {
                    turn,
                    session_id: session_id.to_owned(),
                    stop: stop.clone(),
                },
            );
        }
        let _guard = RunningGuard {
            inner,
            conversation_id: request.conversation_id.clone(),
            turn,
        };
        let mut subscription = inner.hub.subscribe(session_id);
        if inner.client.busy_sessions().await?.contains_key(session_id) {
            info!(target: "dingbridge::agent", session = %session_id, "the turn is still running in OpenCode; following it");
            self.wait_until_idle(session_id, &mut subscription, &stop, updates)
                .await?;
        }
        let history = match inner.client.messages(session_id, HISTORY_LIMIT).await {
            Ok(history) => history,
            // The session is gone (deleted, another OpenCode data dir): the prompt cannot have run there.
            Err(error) if error.is_not_found() => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        match recorded_turn(&history, prompt) {
            Recorded::NotSent | Recorded::NeverAnswered => Ok(None),
            recorded => answer_from_record(recorded, String::new()).map(Some),
        }
    }

    /// Follows a turn that was already running when we (re)subscribed, until OpenCode says it ended. Its
    /// permission asks and questions are relayed; its text is not (the answer is read from the record).
    async fn wait_until_idle(
        &self,
        session_id: &str,
        subscription: &mut Subscription,
        stop: &CancellationToken,
        updates: &UpdateSender,
    ) -> Result<(), AgentError> {
        let inner = &*self.inner;
        let deadline = Instant::now() + inner.settings.turn_timeout;
        let mut turn = TurnState::resumed();
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => {
                    drain_until_idle(subscription).await;
                    return Err(AgentError::Aborted);
                }
                _ = sleep_until(deadline) => {
                    if let Err(error) = inner.client.abort(session_id).await {
                        warn!(target: "dingbridge::agent", code = error.code(), "abort after turn timeout failed");
                    }
                    return Err(AgentError::Failed(format!(
                        "OpenCode did not finish within {}; the turn was aborted",
                        human_duration(inner.settings.turn_timeout)
                    )));
                }
                message = subscription.rx.recv() => match message {
                    Some(HubMsg::Event(event)) => {
                        if turn.apply(event, updates).is_some() {
                            return Ok(());
                        }
                    }
                    Some(HubMsg::Gap) => {
                        if !inner.client.busy_sessions().await?.contains_key(session_id) {
                            return Ok(());
                        }
                    }
                    None => {
                        return Err(AgentError::Unavailable(
                            "the OpenCode event subscription closed".to_owned(),
                        ));
                    }
                },
            }
        }
    }
}

/// The reply for a turn OpenCode recorded (`streamed`: the text seen live, used when the record has no
/// text parts). `NotSent` here means OpenCode forgot a prompt it had: retried like an outage.
fn answer_from_record(recorded: Recorded, streamed: String) -> Result<AgentReply, AgentError> {
    match recorded {
        Recorded::Answered(text) => {
            let text = if text.is_empty() { streamed } else { text };
            // Empty when the turn only ran tools; the bridge says so in the chat's language.
            Ok(AgentReply { text })
        }
        // A turn that went idle without any output (outside a break) did not run to an answer either.
        Recorded::Interrupted | Recorded::NeverAnswered => Err(AgentError::Interrupted),
        Recorded::Failed(error) => Err(error),
        Recorded::NotSent => Err(AgentError::Unavailable(
            "OpenCode has no record of the prompt".to_owned(),
        )),
    }
}

/// A failed look-up after an event-stream gap: retried by the bridge (which then resolves the turn from
/// OpenCode's record), except refused credentials, which need the user.
fn gap_check_failed(error: super::client::ClientError) -> AgentError {
    match AgentError::from(error) {
        AgentError::Unauthorized(detail) => AgentError::Unauthorized(detail),
        other => AgentError::Unavailable(format!(
            "cannot look the turn up after a gap in the OpenCode event stream: {other}"
        )),
    }
}

/// After an abort, waits (briefly) for the aborted turn's trailing `session.error` / `session.idle`, so
/// they are consumed here and cannot end the conversation's next turn early.
async fn drain_until_idle(subscription: &mut Subscription) {
    let drain = async {
        while let Some(message) = subscription.rx.recv().await {
            if let HubMsg::Event(OcEvent::Idle { .. }) = message {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(ABORT_DRAIN, drain).await;
}

fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else if secs > 0 {
        format!("{secs} s")
    } else {
        format!("{} ms", duration.as_millis())
    }
}
