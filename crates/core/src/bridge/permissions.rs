//! Permission asks and questions from the agent, relayed to the chat and answered with `/allow` / `/deny`
//! or `/answer …` / `/skip`.
//!
//! Invariants: every open ask of a chat is kept, oldest first, until it is answered or times out; nothing
//! overwrites another. `/allow` with no id answers the oldest, `/allow <id>` that one. An ask nobody answers
//! within the timeout is denied (a coding agent must never act on silence) and an unanswered question is
//! dismissed; each timeout settles exactly its own ask, so a turn never hangs on the chat.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::agent::{AgentBackend, AgentError};

/// Open asks (or questions) per conversation, oldest first.
#[derive(Default)]
struct OpenAsks(Mutex<HashMap<String, VecDeque<String>>>);

impl OpenAsks {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, VecDeque<String>>> {
        // The map holds plain ids; a panic elsewhere cannot leave it half-updated.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, conversation_id: &str, id: &str) {
        let mut asks = self.lock();
        let open = asks.entry(conversation_id.to_owned()).or_default();
        // OpenCode may repeat an event after a reconnect: one ask is one entry.
        if !open.iter().any(|known| known == id) {
            open.push_back(id.to_owned());
        }
    }

    /// Removes and returns `id` (or the oldest when `None`) if it is open.
    fn take(&self, conversation_id: &str, id: Option<&str>) -> Option<String> {
        let mut asks = self.lock();
        let open = asks.get_mut(conversation_id)?;
        let index = match id {
            Some(id) => open.iter().position(|known| known == id)?,
            None => 0,
        };
        let taken = open.remove(index);
        if open.is_empty() {
            asks.remove(conversation_id);
        }
        taken
    }

    fn count(&self, conversation_id: &str) -> usize {
        self.lock().get(conversation_id).map_or(0, VecDeque::len)
    }
}

pub struct PermissionBroker {
    pending: OpenAsks,
    questions: OpenAsks,
    agent: Arc<dyn AgentBackend>,
    timeout: Duration,
}

impl PermissionBroker {
    pub fn new(agent: Arc<dyn AgentBackend>, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            pending: OpenAsks::default(),
            questions: OpenAsks::default(),
            agent,
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Remembers the ask (after any already open) and arms its own deny-on-timeout.
    pub fn ask(self: &Arc<Self>, conversation_id: &str, permission_id: &str) {
        self.pending.push(conversation_id, permission_id);
        let broker = self.clone();
        let (conversation, id) = (conversation_id.to_owned(), permission_id.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(broker.timeout).await;
            if broker.pending.take(&conversation, Some(&id)).is_some() {
                tracing::info!(
                    conversation,
                    permission = id,
                    "permission ask timed out; denying"
                );
                if let Err(err) = broker
                    .agent
                    .answer_permission(&conversation, &id, false)
                    .await
                {
                    tracing::warn!(code = err.code(), error = %err, "cannot deny timed-out permission");
                }
            }
        });
    }

    /// Answers the ask `id`, or the conversation's oldest open ask when `id` is `None`.
    /// `Ok(None)` when no such ask is open.
    pub async fn answer(
        &self,
        conversation_id: &str,
        id: Option<&str>,
        allow: bool,
    ) -> Result<Option<String>, AgentError> {
        let Some(id) = self.pending.take(conversation_id, id) else {
            return Ok(None);
        };
        self.agent
            .answer_permission(conversation_id, &id, allow)
            .await?;
        Ok(Some(id))
    }

    /// Remembers a question and arms its dismissal on timeout.
    pub fn ask_question(self: &Arc<Self>, conversation_id: &str, question_id: &str) {
        self.questions.push(conversation_id, question_id);
        let broker = self.clone();
        let (conversation, id) = (conversation_id.to_owned(), question_id.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(broker.timeout).await;
            if broker.questions.take(&conversation, Some(&id)).is_some()
                && let Err(err) = broker
                    .agent
                    .reply_to_question(&conversation, &id, None)
                    .await
            {
                tracing::warn!(code = err.code(), error = %err, "cannot dismiss timed-out question");
            }
        });
    }

    /// Answers (or with `None` dismisses) the conversation's oldest open question. `Ok(None)`: none open.
    pub async fn answer_question(
        &self,
        conversation_id: &str,
        answer: Option<String>,
    ) -> Result<Option<String>, AgentError> {
        let Some(id) = self.questions.take(conversation_id, None) else {
            return Ok(None);
        };
        self.agent
            .reply_to_question(conversation_id, &id, answer)
            .await?;
        Ok(Some(id))
    }

    pub fn is_pending(&self, conversation_id: &str) -> bool {
        self.pending.count(conversation_id) > 0
    }

    /// Whether the agent's question waits for an answer in the conversation.
    pub fn question_pending(&self, conversation_id: &str) -> bool {
        self.questions.count(conversation_id) > 0
    }

    /// How many permission asks are open in the conversation.
    pub fn open_asks(&self, conversation_id: &str) -> usize {
        self.pending.count(conversation_id)
    }
}
