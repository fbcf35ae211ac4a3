//! The DingBridge tools. Each validates its input, calls the backend and returns an object-shaped `Json<T>`
//! (→ `structuredContent` + `outputSchema`) or a [`ToolFailure`] (→ `isError: true`). Names stay short so
//! OpenCode's `dingtalk_<tool>` stays far under the 64-character limit of LLM providers.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::ProgressNotificationParam;
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};

use super::backend::HistoryQuery;
use super::error::ToolFailure;
use super::handler::DingBridgeMcp;
use super::types::{
    ConversationsOutput, CreateDocInput, CreateDocOutput, FindByNameParams, GetDocInput,
    GetDocOutput, GetMessagesParams, GroupLookupOutput, ListConversationsParams, ListDocsInput,
    ListDocsOutput, MessagesOutput, PerformanceOutput, SendMessageParams, SendOutput,
    SendToGroupParams, SendToUserParams, StatsOutput, UpdateDocInput, UpdateDocOutput,
    UserLookupOutput,
};

/// DingTalk rejects single messages above ~20 000 characters; the outbox chunks long content, but anything
/// this large is almost certainly a mistake worth reporting to the model.
pub const MAX_CONTENT_CHARS: usize = 50_000;
const MAX_PAGE_SIZE: u32 = 100;
const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_HISTORY: u32 = 200;
const DEFAULT_HISTORY: u32 = 50;

fn required(field: &str, value: &str) -> Result<(), ToolFailure> {
    if value.trim().is_empty() {
        return Err(ToolFailure::invalid(format!("`{field}` must not be empty"))
            .with_details(serde_json::json!({ "field": field })));
    }
    Ok(())
}

fn page_ok(page: Option<u32>, page_size: Option<u32>) -> Result<(), ToolFailure> {
    if page == Some(0) {
        return Err(ToolFailure::invalid("`page` starts at 1")
            .with_details(serde_json::json!({"field": "page"})));
    }
    if let Some(size) = page_size
        && (size == 0 || size > MAX_PAGE_SIZE)
    {
        return Err(ToolFailure::invalid(format!(
            "`page_size` must be between 1 and {MAX_PAGE_SIZE}"
        ))
        .with_details(serde_json::json!({"field": "page_size", "max": MAX_PAGE_SIZE})));
    }
    Ok(())
}

fn content_ok(content: &str) -> Result<(), ToolFailure> {
    required("content", content)?;
    let chars = content.chars().count();
    if chars > MAX_CONTENT_CHARS {
        return Err(ToolFailure::invalid(format!(
            "`content` has {chars} characters; the limit is {MAX_CONTENT_CHARS}"
        ))
        .with_details(serde_json::json!({ "field": "content", "max_chars": MAX_CONTENT_CHARS })));
    }
    Ok(())
}

/// Reports a step of a slow call when the client asked for progress (OpenCode always does; each
/// notification also resets its 60 s tool timeout).
async fn progress(ctx: &RequestContext<RoleServer>, step: u32, total: u32, message: &str) {
    if let Some(token) = ctx.meta.get_progress_token() {
        let param = ProgressNotificationParam::new(token, f64::from(step))
            .with_total(f64::from(total))
            .with_message(message);
        if let Err(err) = ctx.peer.notify_progress(param).await {
            tracing::debug!(error = %err, "progress notification not delivered");
        }
    }
}

#[tool_router(router = tool_router, vis = "pub(crate)")]
impl DingBridgeMcp {
    /// Send a message to a DingTalk conversation (1:1 or group) through DingBridge's paced outbox.
    #[tool(
        name = "send_message",
        annotations(
            title = "Send a DingTalk message",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_message(
        &self,
        Parameters(p): Parameters<SendMessageParams>,
    ) -> Result<Json<SendOutput>, ToolFailure> {
        required("conversation_id", &p.conversation_id)?;
        content_ok(&p.content)?;
        self.backend()
            .send_message(p.conversation_id.trim(), &p.content, p.format)
            .await
            .map(Json)
    }

    /// List DingTalk conversations DingBridge knows, newest first, optionally filtered by a keyword.
    #[tool(
        name = "list_conversations",
        annotations(
            title = "List conversations",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn list_conversations(
        &self,
        Parameters(p): Parameters<ListConversationsParams>,
    ) -> Result<Json<ConversationsOutput>, ToolFailure> {
        let page = p.page.unwrap_or(1);
        let page_size = p.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page == 0 {
            return Err(ToolFailure::invalid("`page` starts at 1")
                .with_details(serde_json::json!({"field": "page"})));
        }
        if page_size == 0 || page_size > MAX_PAGE_SIZE {
            return Err(ToolFailure::invalid(format!(
                "`page_size` must be between 1 and {MAX_PAGE_SIZE}"
            ))
            .with_details(serde_json::json!({"field": "page_size", "max": MAX_PAGE_SIZE})));
        }
        let keyword = p
            .keyword
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        self.backend()
            .list_conversations(keyword, page, page_size)
            .await
            .map(Json)
    }

    /// Read a conversation's message history (received and sent), newest first.
    #[tool(
        name = "get_messages",
        annotations(
            title = "Read conversation history",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_messages(
        &self,
        Parameters(p): Parameters<GetMessagesParams>,
    ) -> Result<Json<MessagesOutput>, ToolFailure> {
        required("conversation_id", &p.conversation_id)?;
        let limit = p.limit.unwrap_or(DEFAULT_HISTORY);
        if limit == 0 || limit > MAX_HISTORY {
            return Err(ToolFailure::invalid(format!(
                "`limit` must be between 1 and {MAX_HISTORY}"
            ))
            .with_details(serde_json::json!({"field": "limit", "max": MAX_HISTORY})));
        }
        let query = HistoryQuery {
            limit: limit as usize,
            before_ms: p.before,
        };
        self.backend()
            .get_messages(p.conversation_id.trim(), query)
            .await
            .map(Json)
    }

    /// DingBridge status: DingTalk connection, queues, rate limits, monthly quota and message counts.
    #[tool(
        name = "get_stats",
        annotations(
            title = "Bridge status",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_stats(&self) -> Result<Json<StatsOutput>, ToolFailure> {
        self.backend().stats().await.map(Json)
    }

    /// DingBridge performance: latency percentiles (frame→ACK, agent turn, send), throughput and memory.
    #[tool(
        name = "get_performance",
        annotations(
            title = "Bridge performance",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn get_performance(&self) -> Result<Json<PerformanceOutput>, ToolFailure> {
        self.backend().performance().await.map(Json)
    }

    /// Find an organisation member by name. An ambiguous name returns candidates (pick one by user_id);
    /// it never guesses.
    #[tool(
        name = "find_user",
        annotations(
            title = "Find a person",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn find_user(
        &self,
        Parameters(p): Parameters<FindByNameParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<UserLookupOutput>, ToolFailure> {
        required("name", &p.name)?;
        progress(&ctx, 0, 1, "searching the DingTalk contacts").await;
        let found = self.backend().find_user(p.name.trim()).await;
        progress(&ctx, 1, 1, "done").await;
        found.map(Json)
    }

    /// Find a DingTalk group the bot is in, by title. An ambiguous title returns candidates; it never guesses.
    #[tool(
        name = "find_group",
        annotations(
            title = "Find a group",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn find_group(
        &self,
        Parameters(p): Parameters<FindByNameParams>,
    ) -> Result<Json<GroupLookupOutput>, ToolFailure> {
        required("name", &p.name)?;
        self.backend().find_group(p.name.trim()).await.map(Json)
    }

    /// Send a 1:1 DingTalk message to a person, by name or userId. Ambiguous names fail with the candidates.
    #[tool(
        name = "send_to_user",
        annotations(
            title = "Message a person",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_to_user(
        &self,
        Parameters(p): Parameters<SendToUserParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SendOutput>, ToolFailure> {
        required("user", &p.user)?;
        content_ok(&p.content)?;
        progress(&ctx, 0, 2, "resolving the recipient").await;
        let sent = self
            .backend()
            .send_to_user(p.user.trim(), &p.content, p.format)
            .await;
        progress(&ctx, 2, 2, "done").await;
        sent.map(Json)
    }

    /// Send a message to a DingTalk group, by title or conversation id. Ambiguous titles fail with the
    /// candidates.
    #[tool(
        name = "send_to_group",
        annotations(
            title = "Message a group",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_to_group(
        &self,
        Parameters(p): Parameters<SendToGroupParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SendOutput>, ToolFailure> {
        required("group", &p.group)?;
        content_ok(&p.content)?;
        progress(&ctx, 0, 2, "resolving the group").await;
        let sent = self
            .backend()
            .send_to_group(p.group.trim(), &p.content, p.format)
            .await;
        progress(&ctx, 2, 2, "done").await;
        sent.map(Json)
    }
}

/// The DingTalk Docs tools, run as the configured Docs operator. Registered with
/// `DingBridgeMcp::with_tools(backend, DingBridgeMcp::docs_router())`; their `*_doc(s)` names put them in
/// the "docs" availability group (hidden without credentials or a Docs operator).
#[tool_router(router = docs_router, vis = "pub")]
impl DingBridgeMcp {
    /// Create a DingTalk document (in the operator's "my documents" unless a space/folder is given),
    /// optionally with markdown content. Returns its document_id and link.
    #[tool(
        name = "create_doc",
        annotations(
            title = "Create a DingTalk document",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn create_doc(
        &self,
        Parameters(p): Parameters<CreateDocInput>,
    ) -> Result<Json<CreateDocOutput>, ToolFailure> {
        required("title", &p.title)?;
        self.backend().create_doc(p).await.map(Json)
    }

    /// Read a DingTalk document's title, body (as text, markdown or html), author and version.
    #[tool(
        name = "get_doc",
        annotations(
            title = "Read a DingTalk document",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn get_doc(
        &self,
        Parameters(p): Parameters<GetDocInput>,
    ) -> Result<Json<GetDocOutput>, ToolFailure> {
        required("document_id", &p.document_id)?;
        self.backend().get_doc(p).await.map(Json)
    }

    /// Change a DingTalk document: `overwrite` replaces the whole body (pass `base_version` from get_doc to
    /// avoid clobbering someone else's change), `append` adds markdown after it.
    #[tool(
        name = "update_doc",
        annotations(
            title = "Update a DingTalk document",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn update_doc(
        &self,
        Parameters(p): Parameters<UpdateDocInput>,
    ) -> Result<Json<UpdateDocOutput>, ToolFailure> {
        required("document_id", &p.document_id)?;
        required("content", &p.content)?;
        self.backend().update_doc(p).await.map(Json)
    }

    /// List DingTalk documents and folders in a space/folder (default: the operator's "my documents"), or
    /// search by title keyword; paged and sortable.
    #[tool(
        name = "list_docs",
        annotations(
            title = "List DingTalk documents",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_docs(
        &self,
        Parameters(mut p): Parameters<ListDocsInput>,
    ) -> Result<Json<ListDocsOutput>, ToolFailure> {
        page_ok(p.page, p.page_size)?;
        p.keyword = p
            .keyword
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty());
        self.backend().list_docs(p).await.map(Json)
    }
}
