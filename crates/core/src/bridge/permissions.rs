//! Permission asks and questions from the agent, relayed to the chat and answered with `/allow` / `/deny`
//! or `/answer …` / `/skip`. An ask nobody answers within the timeout is denied (a coding agent must never
//! act on silence) and an unanswered question is dismissed, so a turn never hangs on the chat.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::agent::{AgentBackend, AgentError};

struct PendingAsk {
    id: String,
}

pub struct PermissionBroker {
    pending: Mutex<HashMap<String, PendingAsk>>,
    questions: Mutex<HashMap<String, PendingAsk>>,
    agent: Arc<dyn AgentBackend>,
    timeout: Duration,
}

impl PermissionBroker {
    pub fn new(agent: Arc<dyn AgentBackend>, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            pending: Mutex::new(HashMap::new()),
            questions: Mutex::new(HashMap::new()),
            agent,
            timeout,
        })
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Remembers the ask and arms its deny-on-timeout.
    pub fn ask(self: &Arc<Self>, conversation_id: &str, permission_id: &str) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(
                conversation_id.to_owned(),
                PendingAsk {
                    id: permission_id.to_owned(),
                },
            );
        }
        let broker = self.clone();
        let (conversation, id) = (conversation_id.to_owned(), permission_id.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(broker.timeout).await;
            if broker.take_if(&conversation, Some(&id)).is_some() {
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

    /// Answers the conversation's pending ask. `Ok(None)` when nothing is pending.
    pub async fn answer(
        &self,
        conversation_id: &str,
        allow: bool,
    ) -> Result<Option<String>, AgentError> {
        let Some(id) = self.take_if(conversation_id, None) else {
            return Ok(None);
        };
        self.agent
            .answer_permission(conversation_id, &id, allow)
            .await?;
        Ok(Some(id))
    }

    /// Remembers a question and arms its dismissal on timeout.
    pub fn ask_question(self: &Arc<Self>, conversation_id: &str, question_id: &str) {
        if let Ok(mut questions) = self.questions.lock() {
            questions.insert(
                conversation_id.to_owned(),
                PendingAsk {
                    id: question_id.to_owned(),
                },
            );
        }
        let broker = self.clone();
        let (conversation, id) = (conversation_id.to_owned(), question_id.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(broker.timeout).await;
            if broker.take_question(&conversation, Some(&id)).is_some()
                && let Err(err) = broker
                    .agent
                    .reply_to_question(&conversation, &id, None)
                    .await
            {
                tracing::warn!(code = err.code(), error = %err, "cannot dismiss timed-out question");
            }
        });
    }

    /// Answers (or with `None` dismisses) the conversation's pending question. `Ok(None)`: none pending.
    pub async fn answer_question(
        &self,
        conversation_id: &str,
        answer: Option<String>,
    ) -> Result<Option<String>, AgentError> {
        let Some(id) = self.take_question(conversation_id, None) else {
            return Ok(None);
        };
        self.agent
            .reply_to_question(conversation_id, &id, answer)
            .await?;
        Ok(Some(id))
    }

    fn take_question(&self, conversation_id: &str, id: Option<&str>) -> Option<String> {
        let mut questions = self.questions.lock().ok()?;
        match (questions.get(conversation_id), id) {
            (Some(ask), Some(id)) if ask.id != id => None,
            (Some(_), _) => questions.remove(conversation_id).map(|ask| ask.id),
            (None, _) => None,
        }
    }

    pub fn is_pending(&self, conversation_id: &str) -> bool {
        self.pending
            .lock()
            .map(|p| p.contains_key(conversation_id))
            .unwrap_or(false)
    }

    fn take_if(&self, conversation_id: &str, id: Option<&str>) -> Option<String> {
        let mut pending = self.pending.lock().ok()?;
        match (pending.get(conversation_id), id) {
            (Some(ask), Some(id)) if ask.id != id => None,
            (Some(_), _) => pending.remove(conversation_id).map(|ask| ask.id),
            (None, _) => None,
        }
    }
}
