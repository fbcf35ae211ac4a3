//! Permission asks from the agent, relayed to the chat and answered with `/allow` or `/deny`. An ask that
//! nobody answers within the timeout is denied: a coding agent must never act on silence.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::agent::{AgentBackend, AgentError};

struct PendingAsk {
    id: String,
}

pub struct PermissionBroker {
    pending: Mutex<HashMap<String, PendingAsk>>,
    agent: Arc<dyn AgentBackend>,
    timeout: Duration,
}

impl PermissionBroker {
    pub fn new(agent: Arc<dyn AgentBackend>, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            pending: Mutex::new(HashMap::new()),
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
