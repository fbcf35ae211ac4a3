//! What the MCP tools need from the rest of DingBridge, as one trait. The tools are written against it, the
//! engine implements it (`engine_backend.rs`), and protocol tests can plug in a stub without a DingTalk peer.

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::watch;

use super::error::ToolCode;
use super::error::ToolFailure;
use super::types::{
    ConversationsOutput, CreateDocInput, CreateDocOutput, GetDocInput, GetDocOutput,
    GroupLookupOutput, ListDocsInput, ListDocsOutput, MessageFormat, MessagesOutput,
    PerformanceOutput, SendOutput, StatsOutput, UpdateDocInput, UpdateDocOutput, UserLookupOutput,
};

/// What a backend without DingTalk Docs answers.
fn docs_unsupported(tool: &str) -> ToolFailure {
    ToolFailure::new(
        ToolCode::AuthError,
        format!("{tool} needs DingTalk credentials and a Docs operator, which are not configured"),
    )
    .with_details(serde_json::json!({ "tool": tool }))
}

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
    /// Where clients and calls are counted for the dashboard (none for stubs).
    fn activity(&self) -> Option<std::sync::Arc<super::activity::McpActivity>> {
        None
    }

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

    /// Creates a DingTalk document as the Docs operator.
    async fn create_doc(&self, input: CreateDocInput) -> Result<CreateDocOutput, ToolFailure> {
        let _ = input;
        Err(docs_unsupported("create_doc"))
    }

    /// Reads a document (text, markdown or html) as the Docs operator.
    async fn get_doc(&self, input: GetDocInput) -> Result<GetDocOutput, ToolFailure> {
        let _ = input;
        Err(docs_unsupported("get_doc"))
    }

    /// Overwrites or appends to a document as the Docs operator.
    async fn update_doc(&self, input: UpdateDocInput) -> Result<UpdateDocOutput, ToolFailure> {
        let _ = input;
        Err(docs_unsupported("update_doc"))
    }

    /// Lists (or searches) documents the Docs operator can see; `page`/`page_size` already validated.
    async fn list_docs(&self, input: ListDocsInput) -> Result<ListDocsOutput, ToolFailure> {
        let _ = input;
        Err(docs_unsupported("list_docs"))
    }

    /// Current tool availability and its changes.
    fn availability(&self) -> watch::Receiver<ToolAvailability>;
}
