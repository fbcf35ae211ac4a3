//! The dashboard's conversation calls (issue 9), shared by the HTTP routes (`conversation_routes`) and the
//! desktop app's Tauri commands: the paged list, one conversation's view (messages with their delivery, the
//! agent's state, the conversation's limits) and its actions (retry a failed send, stop the turn, new session).
//!
//! Invariant: everything here reads the store or the engine's live state; nothing is cached, so two
//! windows asking at the same time see the same thing.

use serde::{Deserialize, Serialize};

use crate::engine::Engine;
use crate::store::{
    ConversationFilter, ConversationPage, ConversationRow, ListQuery, MessageView, StoreError,
};
use crate::time::now_ms;

/// Default page size of the list and of a conversation's messages.
pub const DEFAULT_PAGE: usize = 50;
pub const DEFAULT_MESSAGES: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    #[error("[INVALID] {0}")]
    Invalid(String),
    #[error("[NOT_FOUND] {0}")]
    NotFound(String),
    #[error("[STORE] the message store failed: {0}")]
    Store(#[from] StoreError),
    #[error("[AGENT] the agent did not do it: {0}")]
    Agent(String),
}

impl ConversationError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "INVALID",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Store(_) => "STORE",
            Self::Agent(_) => "AGENT",
        }
    }

    /// The text without its `[CODE] ` prefix (the code travels in its own field).
    pub fn message(&self) -> String {
        let text = self.to_string();
        match text
            .strip_prefix('[')
            .and_then(|rest| rest.split_once("] "))
        {
            Some((_, message)) => message.to_owned(),
            None => text,
        }
    }
}

impl Serialize for ConversationError {
    /// The contract's error body: `{ "code", "message" }`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut body = serializer.serialize_struct("ConversationError", 2)?;
        body.serialize_field("code", self.code())?;
        body.serialize_field("message", &self.message())?;
        body.end()
    }
}

/// The list's query string: `q`, `filter`, `offset`, `limit`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListParams {
    pub q: String,
    pub filter: String,
    pub offset: usize,
    pub limit: Option<usize>,
}

pub async fn list(
    engine: &Engine,
    params: ListParams,
) -> Result<ConversationPage, ConversationError> {
    let filter = ConversationFilter::parse(params.filter.trim())
        .ok_or_else(|| ConversationError::Invalid(format!("unknown filter `{}`", params.filter)))?;
    let query = ListQuery {
        search: params.q,
        filter,
        offset: params.offset,
        limit: params.limit.unwrap_or(DEFAULT_PAGE),
        rate_limited: engine
            .outbox()
            .rate_limited(crate::store::MAX_RATE_LIMITED_IDS),
    };
    Ok(engine.store().conversation_page(query).await?)
}

/// What the agent is doing for this chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentActivity {
    Idle,
    Thinking,
    WaitingPermission,
    WaitingQuestion,
}

#[derive(Clone, Debug, Serialize)]
pub struct AgentView {
    pub state: AgentActivity,
    /// "opencode", "echo", …
    pub backend: String,
    /// The agent's session serving this chat (OpenCode's session id).
    pub session_id: Option<String>,
}

/// The conversation's limits right now.
#[derive(Clone, Debug, Serialize)]
pub struct LimitsView {
    /// Messages waiting for the agent behind the running one.
    pub queue_depth: usize,
    /// Replies not yet delivered.
    pub outbox_pending: usize,
    /// Waiting for its rate limit now.
    pub rate_limited: bool,
    /// The conversation's allowance: `per_window` sends per `window_ms`.
    pub per_window: u32,
    pub window_ms: u64,
    pub sent_in_window: u64,
    pub sends_left: u64,
    /// When the next reply may go out (only while one is waiting).
    pub next_send_at_ms: Option<i64>,
    /// DingTalk throttled the last attempt; it is retried at this time.
    pub retry_at_ms: Option<i64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConversationDetail {
    pub conversation: ConversationRow,
    /// Oldest first.
    pub messages: Vec<MessageView>,
    /// Older messages exist than the ones shown.
    pub has_more: bool,
    pub agent: AgentView,
    pub limits: LimitsView,
}

pub async fn detail(
    engine: &Engine,
    conversation_id: &str,
    limit: Option<usize>,
) -> Result<ConversationDetail, ConversationError> {
    let outbox = engine.outbox().conversation(conversation_id);
    let store = engine.store();
    let conversation = store
        .conversation_row(conversation_id, outbox.rate_limited)
        .await?
        .ok_or_else(|| not_found(conversation_id))?;
    let page = store
        .conversation_messages(conversation_id, limit.unwrap_or(DEFAULT_MESSAGES))
        .await?;
    let (queue_depth, running) = engine.queues().activity(conversation_id);
    let permissions = engine.permissions();
    let state = if permissions.is_pending(conversation_id) {
        AgentActivity::WaitingPermission
    } else if permissions.question_pending(conversation_id) {
        AgentActivity::WaitingQuestion
    } else if running {
        AgentActivity::Thinking
    } else {
        AgentActivity::Idle
    };
    let session = store.current_agent_session(conversation_id).await?;
    let agent = AgentView {
        state,
        backend: session
            .as_ref()
            .map_or_else(|| engine.agent().name().to_owned(), |(b, _)| b.clone()),
        session_id: session.map(|(_, id)| id),
    };

    let pacing = &engine.config().pacing;
    let window_ms = pacing.conversation_window_ms.max(1);
    let now = now_ms();
    let since = now.saturating_sub(i64::try_from(window_ms).unwrap_or(i64::MAX));
    let window = store.send_window(conversation_id, since).await?;
    let spacing = i64::try_from(pacing.conversation_spacing().as_millis()).unwrap_or(i64::MAX);
    let next_send_at_ms = (outbox.pending > 0).then(|| {
        window
            .last_sent_at_ms
            .map_or(now, |last| last.saturating_add(spacing).max(now))
    });
    let limits = LimitsView {
        queue_depth,
        outbox_pending: outbox.pending,
        rate_limited: outbox.rate_limited,
        per_window: pacing.per_conversation,
        window_ms,
        sent_in_window: window.sent,
        sends_left: u64::from(pacing.per_conversation).saturating_sub(window.sent),
        next_send_at_ms,
        retry_at_ms: outbox.retry_at_ms,
    };
    Ok(ConversationDetail {
        conversation,
        messages: page.messages,
        has_more: page.has_more,
        agent,
        limits,
    })
}

/// What an action did, in words the UI can show.
#[derive(Clone, Debug, Serialize)]
pub struct ActionOutcome {
    /// "retried", "stopped", "nothing_running", "new_session".
    pub outcome: &'static str,
}

/// Puts a failed send back in the outbox; the pacer sends it again.
pub async fn retry_send(
    engine: &Engine,
    conversation_id: &str,
    outbox_id: i64,
) -> Result<ActionOutcome, ConversationError> {
    let item = engine
        .store()
        .requeue_failed_send(conversation_id, outbox_id)
        .await?
        .ok_or_else(|| {
            ConversationError::NotFound(format!(
                "no failed send {outbox_id} in conversation `{conversation_id}`"
            ))
        })?;
    engine.outbox().push(vec![item]);
    Ok(ActionOutcome { outcome: "retried" })
}

/// Stops the agent's running turn in this chat (like `/stop`).
pub async fn stop_turn(
    engine: &Engine,
    conversation_id: &str,
) -> Result<ActionOutcome, ConversationError> {
    known(engine, conversation_id).await?;
    match engine.agent().abort(conversation_id).await {
        Ok(true) => Ok(ActionOutcome { outcome: "stopped" }),
        Ok(false) => Ok(ActionOutcome {
            outcome: "nothing_running",
        }),
        Err(err) => Err(ConversationError::Agent(err.to_string())),
    }
}

/// Starts a fresh agent session for this chat (like `/new`).
pub async fn new_session(
    engine: &Engine,
    conversation_id: &str,
) -> Result<ActionOutcome, ConversationError> {
    known(engine, conversation_id).await?;
    engine
        .agent()
        .reset_session(conversation_id)
        .await
        .map_err(|err| ConversationError::Agent(err.to_string()))?;
    Ok(ActionOutcome {
        outcome: "new_session",
    })
}

async fn known(engine: &Engine, conversation_id: &str) -> Result<(), ConversationError> {
    match engine
        .store()
        .conversation_row(conversation_id, false)
        .await?
    {
        Some(_) => Ok(()),
        None => Err(not_found(conversation_id)),
    }
}

fn not_found(conversation_id: &str) -> ConversationError {
    ConversationError::NotFound(format!("no conversation `{conversation_id}`"))
}
