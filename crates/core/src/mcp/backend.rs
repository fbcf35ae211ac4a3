//! What the MCP tools need from the rest of DingBridge, as one trait. The tools are written against it, the
//! engine implements it (`engine_backend.rs`), and protocol tests can plug in a stub without a DingTalk peer.

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::watch;

use super::error::ToolFailure;
use super::types::{
    ConversationsOutput, GroupLookupOutput, MessageFormat, MessagesOutput, PerformanceOutput,
    SendOutput, StatsOutput, UserLookupOutput,
};

/// Which tool groups can work right now. Tools of an unavailable group are not listed, and a change sends
/// `notifications/tools/list_changed` to connected clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ToolAvailability {
    /// Sending needs DingTalk credentials (`send_message`, `send_to_user`, `send_to_group`).
    pub messaging: bool,
    /// Looking people up needs OpenAPI credentials (`find_user`).
    pub contacts: bool,
    /// Docs tools need credentials and a Docs operator.
    pub docs: bool,
}

impl ToolAvailability {
    pub const ALL: Self = Self {
        messaging: true,
        contacts: true,
        docs: true,
    };
    pub const LOCAL_ONLY: Self = Self {
        messaging: false,
        contacts: false,
        docs: false,
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryQuery {
    pub limit: usize,
    pub before_ms: Option<i64>,
}

#[async_trait]
pub trait McpBackend: Send + Sync + 'static {
    /// Queues a message through the same paced outbox as agent replies.
    async fn send_message(
        &self,
        conversation_id: &str,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendOutput, ToolFailure>;

    /// Conversations from the local directory, newest first; `page` is 1-based.
    async fn list_conversations(
        &self,
        keyword: Option<&str>,
        page: u32,
        page_size: u32,
    ) -> Result<ConversationsOutput, ToolFailure>;

    /// History in and out, newest first.
    async fn get_messages(
        &self,
        conversation_id: &str,
        query: HistoryQuery,
    ) -> Result<MessagesOutput, ToolFailure>;

    async fn stats(&self) -> Result<StatsOutput, ToolFailure>;

    async fn performance(&self) -> Result<PerformanceOutput, ToolFailure>;

    async fn find_user(&self, name: &str) -> Result<UserLookupOutput, ToolFailure>;

    async fn find_group(&self, name: &str) -> Result<GroupLookupOutput, ToolFailure>;

    /// Resolves `user` (a name, never guessed when ambiguous, or a userId) and sends a 1:1 message.
    async fn send_to_user(
        &self,
        user: &str,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendOutput, ToolFailure>;

    /// Resolves `group` (a title among groups seen, or a conversation id) and sends to it.
    async fn send_to_group(
        &self,
        group: &str,
        content: &str,
        format: MessageFormat,
    ) -> Result<SendOutput, ToolFailure>;

    /// Current tool availability and its changes.
    fn availability(&self) -> watch::Receiver<ToolAvailability>;
}
