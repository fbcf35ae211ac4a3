//! The dashboard's conversation calls over IPC (`list_conversations`, `get_conversation`, `retry_send`,
//! `stop_turn`, `new_session`): the same core functions and JSON as `GET/POST /api/conversations…` of
//! `dingbridged` (`dingbridge_core::api::conversations`). Granted to the dashboard window only.

use dingbridge_core::Engine;
use dingbridge_core::api::conversations::{
    self, ActionOutcome, ConversationDetail, ConversationError, ListParams,
};
use dingbridge_core::store::ConversationPage;
use serde::Deserialize;
use tauri::State;

use super::CommandError;
use crate::lifecycle::Shell;

impl From<ConversationError> for CommandError {
    fn from(error: ConversationError) -> Self {
        Self::new(error.code(), error.message())
    }
}

/// The running core engine; test stand-ins without one answer `UNSUPPORTED`.
fn core(shell: &Shell) -> Result<Engine, CommandError> {
    let engine = shell
        .supervisor
        .engine()
        .ok_or_else(CommandError::starting)?;
    engine
        .core()
        .cloned()
        .ok_or_else(|| CommandError::new("UNSUPPORTED", "this engine keeps no conversations"))
}

/// The page's query, as the UI's client sends it (`{ q, filter, offset, limit }`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    filter: String,
    offset: usize,
    limit: Option<usize>,
}

#[tauri::command]
pub async fn list_conversations(
    shell: State<'_, Shell>,
    query: ListQuery,
) -> Result<ConversationPage, CommandError> {
    let engine = core(&shell)?;
    let params = ListParams {
        q: query.q,
        filter: query.filter,
        offset: query.offset,
        limit: query.limit,
    };
    Ok(conversations::list(&engine, params).await?)
}

#[tauri::command]
pub async fn get_conversation(
    shell: State<'_, Shell>,
    conversation_id: String,
    limit: Option<usize>,
) -> Result<ConversationDetail, CommandError> {
    let engine = core(&shell)?;
    Ok(conversations::detail(&engine, &conversation_id, limit).await?)
}

#[tauri::command]
pub async fn retry_send(
    shell: State<'_, Shell>,
    conversation_id: String,
    outbox_id: i64,
) -> Result<ActionOutcome, CommandError> {
    let engine = core(&shell)?;
    Ok(conversations::retry_send(&engine, &conversation_id, outbox_id).await?)
}

#[tauri::command]
pub async fn stop_turn(
    shell: State<'_, Shell>,
    conversation_id: String,
) -> Result<ActionOutcome, CommandError> {
    let engine = core(&shell)?;
    Ok(conversations::stop_turn(&engine, &conversation_id).await?)
}

#[tauri::command]
pub async fn new_session(
    shell: State<'_, Shell>,
    conversation_id: String,
) -> Result<ActionOutcome, CommandError> {
    let engine = core(&shell)?;
    Ok(conversations::new_session(&engine, &conversation_id).await?)
}
