//! One OpenCode session per DingTalk conversation, so the agent keeps each chat's context. The mapping is
//! persisted (`agent_sessions`) to survive restarts; a mapped session OpenCode no longer knows (deleted,
//! other data dir) is replaced transparently.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tracing::info;

use super::client::OpenCodeClient;
use crate::agent::{AgentError, AgentRequest};
use crate::dingtalk::ConversationKind;
use crate::store::Store;

/// The `backend` column value.
pub const BACKEND_NAME: &str = "opencode";

/// Dead entries of the per-conversation lock table are swept once it holds this many.
const LOCK_SWEEP_AT: usize = 256;

/// Invariant: OpenCode HTTP calls are made while holding only *that conversation's* async lock, never a
/// lock shared by all chats, so one slow call (a stalled session create, a slow `GET /session`) delays
/// only its own conversation. The per-conversation lock still serialises creation, so a conversation
/// never gets two sessions. The shared maps sit behind a plain mutex held for map operations only.
pub struct SessionManager {
    client: OpenCodeClient,
    store: Store,
    state: Mutex<State>,
    /// conversation → its async lock; entries die with their last holder (weak) and are swept.
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

#[derive(Default)]
struct State {
    by_conversation: HashMap<String, String>,
    verified: HashSet<String>,
}

fn guard<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only map operations run under these locks; a panic there leaves consistent maps behind.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
            locks: Mutex::new(HashMap::new()),
        }
    }

    fn conversation_lock(&self, conversation: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = guard(&self.locks);
        if let Some(lock) = locks.get(conversation).and_then(Weak::upgrade) {
            return lock;
        }
        if locks.len() >= LOCK_SWEEP_AT {
            locks.retain(|_, lock| lock.strong_count() > 0);
        }
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(conversation.to_owned(), Arc::downgrade(&lock));
        lock
    }

    /// The conversation's session, creating (and recording) one when there is none or the recorded one is
    /// gone.
    pub async fn session_for(&self, request: &AgentRequest) -> Result<String, AgentError> {
        let conversation = &request.conversation_id;
        let lock = self.conversation_lock(conversation);
        let _serialised = lock.lock().await;
        let cached = guard(&self.state)
            .by_conversation
            .get(conversation)
            .cloned();
        let known = match cached {
            Some(id) => Some(id),
            None => self
                .store
                .agent_session(conversation, BACKEND_NAME)
                .await
                .map_err(store_error)?,
        };
        if let Some(id) = known {
            if guard(&self.state).verified.contains(&id) {
                return Ok(id);
            }
            if self.client.get_session(&id).await?.is_some() {
                let mut state = guard(&self.state);
                state.verified.insert(id.clone());
                state
                    .by_conversation
                    .insert(conversation.clone(), id.clone());
                return Ok(id);
            }
            info!(target: "dingbridge::agent", conversation = %conversation, session = %id, "OpenCode session is gone; starting a new one");
        }
        self.create(request).await
    }

    /// Replaces the conversation's session with a new one (the old one vanished mid-flight).
    pub async fn replace(&self, request: &AgentRequest, gone: &str) -> Result<String, AgentError> {
        let lock = self.conversation_lock(&request.conversation_id);
        let _serialised = lock.lock().await;
        {
            let mut state = guard(&self.state);
            state.verified.remove(gone);
            if let Some(current) = state.by_conversation.get(&request.conversation_id)
                && current != gone
            {
                // Someone already replaced it.
                return Ok(current.clone());
            }
        }
        self.create(request).await
    }

    /// Creates and records a session; the caller holds the conversation's lock.
    async fn create(&self, request: &AgentRequest) -> Result<String, AgentError> {
        let session = self.client.create_session(&session_title(request)).await?;
        self.store
            .set_agent_session(&request.conversation_id, BACKEND_NAME, &session.id)
            .await
            .map_err(store_error)?;
        info!(target: "dingbridge::agent", conversation = %request.conversation_id, session = %session.id, "OpenCode session created");
        let mut state = guard(&self.state);
        state.verified.insert(session.id.clone());
        state
            .by_conversation
            .insert(request.conversation_id.clone(), session.id.clone());
        Ok(session.id)
    }

    /// Forgets the conversation's session; the next turn creates a fresh one. The old session stays in
    /// OpenCode (its history may still be useful there).
    pub async fn reset(&self, conversation_id: &str) -> Result<(), AgentError> {
        let lock = self.conversation_lock(conversation_id);
        let _serialised = lock.lock().await;
        guard(&self.state).by_conversation.remove(conversation_id);
        self.store
            .clear_agent_session(conversation_id, BACKEND_NAME)
            .await
            .map_err(store_error)
    }

    /// The recorded session without creating one (for answering permissions outside a running turn).
    pub async fn current(&self, conversation_id: &str) -> Result<Option<String>, AgentError> {
        let cached = guard(&self.state)
            .by_conversation
            .get(conversation_id)
            .cloned();
        if let Some(id) = cached {
            return Ok(Some(id));
        }
        self.store
            .agent_session(conversation_id, BACKEND_NAME)
            .await
            .map_err(store_error)
    }
}
