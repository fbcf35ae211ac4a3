//! One OpenCode session per DingTalk conversation, so the agent keeps each chat's context. The mapping is
//! persisted (`agent_sessions`) to survive restarts; a mapped session OpenCode no longer knows (deleted,
//! other data dir) is replaced transparently.

use std::collections::{HashMap, HashSet};

use tokio::sync::Mutex;
use tracing::info;

use super::client::OpenCodeClient;
use crate::agent::{AgentError, AgentRequest};
use crate::dingtalk::ConversationKind;
use crate::store::Store;

/// The `backend` column value.
pub const BACKEND_NAME: &str = "opencode";

pub struct SessionManager {
    client: OpenCodeClient,
    store: Store,
    /// conversation → session, and which sessions were confirmed to exist since start. One async lock:
    /// session creation is rare and serialising it avoids two sessions for one conversation.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    by_conversation: HashMap<String, String>,
    verified: HashSet<String>,
}

fn store_error(error: crate::store::StoreError) -> AgentError {
    AgentError::Failed(format!("cannot read or write the session mapping: {error}"))
}

/// "DingTalk: <group title>" or "DingTalk: <nick>" — recognisable in OpenCode's session list.
pub fn session_title(request: &AgentRequest) -> String {
    let place = match (request.conversation_kind, &request.conversation_title) {
        (ConversationKind::Group, Some(title)) if !title.trim().is_empty() => {
            title.trim().to_owned()
        }
        _ => request.sender_nick.clone(),
    };
    format!("DingTalk: {place}")
}

impl SessionManager {
    pub fn new(client: OpenCodeClient, store: Store) -> Self {
        Self {
            client,
            store,
            state: Mutex::new(State::default()),
        }
    }

    /// The conversation's session, creating (and recording) one when there is none or the recorded one is
    /// gone.
    pub async fn session_for(&self, request: &AgentRequest) -> Result<String, AgentError> {
        let mut state = self.state.lock().await;
        let conversation = &request.conversation_id;
        let known = match state.by_conversation.get(conversation) {
            Some(id) => Some(id.clone()),
            None => self
                .store
                .agent_session(conversation, BACKEND_NAME)
                .await
                .map_err(store_error)?,
        };
        if let Some(id) = known {
            if state.verified.contains(&id) {
                return Ok(id);
            }
            if self.client.get_session(&id).await?.is_some() {
                state.verified.insert(id.clone());
                state
                    .by_conversation
                    .insert(conversation.clone(), id.clone());
                return Ok(id);
            }
            info!(target: "dingbridge::agent", conversation = %conversation, session = %id, "OpenCode session is gone; starting a new one");
        }
        self.create_locked(&mut state, request).await
    }

    /// Replaces the conversation's session with a new one (the old one vanished mid-flight).
    pub async fn replace(&self, request: &AgentRequest, gone: &str) -> Result<String, AgentError> {
        let mut state = self.state.lock().await;
        state.verified.remove(gone);
        if let Some(current) = state.by_conversation.get(&request.conversation_id)
            && current != gone
        {
            // Someone already replaced it.
            return Ok(current.clone());
        }
        self.create_locked(&mut state, request).await
    }

    async fn create_locked(
        &self,
        state: &mut State,
        request: &AgentRequest,
    ) -> Result<String, AgentError> {
        let session = self.client.create_session(&session_title(request)).await?;
        self.store
            .set_agent_session(&request.conversation_id, BACKEND_NAME, &session.id)
            .await
            .map_err(store_error)?;
        info!(target: "dingbridge::agent", conversation = %request.conversation_id, session = %session.id, "OpenCode session created");
        state.verified.insert(session.id.clone());
        state
            .by_conversation
            .insert(request.conversation_id.clone(), session.id.clone());
        Ok(session.id)
    }

    /// Forgets the conversation's session; the next turn creates a fresh one. The old session stays in
    /// OpenCode (its history may still be useful there).
    pub async fn reset(&self, conversation_id: &str) -> Result<(), AgentError> {
        let mut state = self.state.lock().await;
        state.by_conversation.remove(conversation_id);
        self.store
            .clear_agent_session(conversation_id, BACKEND_NAME)
            .await
            .map_err(store_error)
    }

    /// The recorded session without creating one (for answering permissions outside a running turn).
    pub async fn current(&self, conversation_id: &str) -> Result<Option<String>, AgentError> {
        if let Some(id) = self.state.lock().await.by_conversation.get(conversation_id) {
            return Ok(Some(id.clone()));
        }
        self.store
            .agent_session(conversation_id, BACKEND_NAME)
            .await
            .map_err(store_error)
    }
}
