//! The tool contract: input parameter structs (their field docs become each tool's `inputSchema`) and the
//! object-shaped outputs (their schemas become `outputSchema`; the TS SDK used by OpenCode and the Inspector
//! requires the root to be an object). Field names are a stable public contract.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------- inputs

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageFormat {
    /// Plain text.
    #[default]
    Text,
    /// DingTalk markdown (headings, lists, bold, links, code).
    Markdown,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageParams {
    /// The conversation to post to (a `conversation_id` from `list_conversations`).
    pub conversation_id: String,
    /// The message text. Long messages are split into several DingTalk messages.
    pub content: String,
    /// `text` (default) or `markdown`.
    #[serde(default)]
    pub format: MessageFormat,
}

#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListConversationsParams {
    /// Only conversations whose title or id contains this text (case-insensitive).
    #[serde(default)]
    pub keyword: Option<String>,
    /// 1-based page number (default 1).
    #[serde(default)]
    pub page: Option<u32>,
    /// Conversations per page, 1-100 (default 20).
    #[serde(default)]
    pub page_size: Option<u32>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetMessagesParams {
    /// The conversation whose history to read.
    pub conversation_id: String,
    /// How many messages, 1-200 (default 50). Newest first.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Only messages strictly older than this time (Unix epoch milliseconds); pass a previous page's
    /// `next_before` to page back.
    #[serde(default)]
    pub before: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindByNameParams {
    /// The name to look up (exact, prefix or fuzzy match; ambiguous names return candidates).
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendToUserParams {
    /// The person's name (resolved through the contacts directory) or their DingTalk userId.
    pub user: String,
    /// The message text.
    pub content: String,
    /// `text` (default) or `markdown`.
    #[serde(default)]
    pub format: MessageFormat,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendToGroupParams {
    /// The group's title (resolved among groups the bot has seen) or its conversation id.
    pub group: String,
    /// The message text.
    pub content: String,
    /// `text` (default) or `markdown`.
    #[serde(default)]
    pub format: MessageFormat,
}

/// Prompt arguments are strings on the wire.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
pub struct ConversationPromptArgs {
    /// The conversation (a `conversation_id` from `list_conversations`).
    pub conversation_id: String,
    /// Optional guidance, e.g. the tone of the reply or what to focus on.
    #[serde(default)]
    pub instructions: Option<String>,
}

// ---------------------------------------------------------------- outputs

/// Who a `send_to_user` / `send_to_group` resolved to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResolvedRecipient {
    /// "user" or "group".
    pub kind: String,
    pub name: String,
    /// userId for users, conversation id for groups.
    pub id: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendOutput {
    /// The conversation the message went to (`user:<userId>` for a first 1:1 message to someone).
    pub conversation_id: String,
    /// "sent" (DingTalk accepted every part) or "queued" (still pacing or retrying; it will be delivered).
    pub status: String,
    /// How many DingTalk messages the content was split into.
    pub parts: u32,
    /// Outbox ids of the parts (stable across retries).
    pub outbox_ids: Vec<i64>,
    /// How each sent part went out: "webhook", "oto" or "group".
    pub channels: Vec<String>,
    /// Set by `send_to_user` / `send_to_group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<ResolvedRecipient>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationItem {
    pub conversation_id: String,
    pub title: String,
    /// "single" (1:1) or "group".
    pub kind: String,
    pub last_message_at_ms: i64,
    pub last_preview: String,
    pub messages: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConversationsOutput {
    /// Newest first.
    pub items: Vec<ConversationItem>,
    pub page: u32,
    pub page_size: u32,
    pub total: u64,
    pub has_more: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageItem {
    pub id: String,
    /// "in" (from DingTalk) or "out" (sent by DingBridge).
    pub direction: String,
    /// Sender nick for inbound messages, "dingbridge" for outbound ones.
    pub sender: String,
    pub content: String,
    pub at_ms: i64,
    /// Delivery/processing state, e.g. "done", "queued", "sent", "failed".
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessagesOutput {
    pub conversation_id: String,
    /// Newest first.
    pub items: Vec<MessageItem>,
    pub has_more: bool,
    /// Pass as `before` to read the next (older) page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LatencyOutput {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RateLimitOutput {
    /// Throttling answers DingTalk gave since start (403 QpsLimit, send.too.fast, ...).
    pub throttled: u64,
    /// The most recent one, if any: `{api, code, retry_after_ms, at_ms}`.
    pub last: Option<Value>,
    /// Per-conversation webhook budget DingTalk enforces (messages per minute).
    pub webhook_per_minute: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatsOutput {
    /// "demo", "serve" or "app".
    pub mode: String,
    pub version: String,
    pub uptime_s: u64,
    /// `{state, reconnects, last_frame_at_ms, connected_since_ms, last_error}`.
    pub connection: Value,
    /// `{total_depth, in_flight, conversations: [{conversation_id, depth}]}`.
    pub queues: Value,
    /// Message counters since start (frames, received, duplicates, acked, replies, ...).
    pub counts: Value,
    pub rate_limits: RateLimitOutput,
    /// `{month, stream_used, stream_budget, exhausted}`: DingTalk's monthly message quota.
    pub quota: Value,
    pub conversations: u64,
    /// Which tool groups are available right now (credentials present, services reachable).
    pub tools_available: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThroughputOutput {
    pub received_per_min: f64,
    pub sent_per_min: f64,
    pub received_total: u64,
    pub sent_total: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MemoryOutput {
    /// Resident set size of the DingBridge process (0 where the OS does not report it).
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PerformanceOutput {
    pub uptime_s: u64,
    /// Stream frame arrival → ACK written.
    pub frame_to_ack: LatencyOutput,
    /// One agent turn (prompt → final answer); absent until measured.
    pub agent_turn: Option<LatencyOutput>,
    /// One DingTalk send (queued → delivered); absent until measured.
    pub send: Option<LatencyOutput>,
    pub throughput: ThroughputOutput,
    pub memory: MemoryOutput,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserOutput {
    pub name: String,
    pub user_id: String,
    pub union_id: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GroupOutput {
    pub conversation_id: String,
    pub title: String,
    /// Nicks of members seen speaking in the group, most recent first.
    pub members_seen: Vec<String>,
    pub last_seen_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UserLookupOutput {
    /// "unique", "ambiguous" or "not_found". Ambiguous names never pick one: choose from `candidates`.
    pub status: String,
    pub query: String,
    /// "exact", "prefix" or "fuzzy".
    pub matched_by: Option<String>,
    pub user: Option<UserOutput>,
    pub candidates: Vec<UserOutput>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GroupLookupOutput {
    /// "unique", "ambiguous" or "not_found". Ambiguous names never pick one: choose from `candidates`.
    pub status: String,
    pub query: String,
    /// "exact", "prefix" or "fuzzy".
    pub matched_by: Option<String>,
    pub group: Option<GroupOutput>,
    pub candidates: Vec<GroupOutput>,
}

// ---------------------------------------------------------------- docs (inputs and outputs)

/// How `get_doc` renders a document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocFormatParam {
    /// Plain text (default).
    #[default]
    Text,
    /// Markdown (headings, lists, tables, code).
    Markdown,
    /// HTML.
    Html,
}

/// How `update_doc` writes `content`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocUpdateMode {
    /// Replace the whole document body (default; destructive).
    #[default]
    Overwrite,
    /// Add `content` after the existing body.
    Append,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocSortBy {
    Name,
    CreateTime,
    /// Default.
    #[default]
    UpdateTime,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocSortOrder {
    Asc,
    /// Default.
    #[default]
    Desc,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDocInput {
    /// Title of the new DingTalk document.
    pub title: String,
    /// Initial body, as markdown (optional; at most 50 000 characters).
    #[serde(default)]
    pub content: Option<String>,
    /// Workspace (space) id to create it in; default: the operator's "my documents".
    #[serde(default)]
    pub space_id: Option<String>,
    /// Folder id (a `document_id` of kind "folder" from `list_docs`) in that workspace; default: its root.
    #[serde(default)]
    pub folder_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetDocInput {
    /// The document to read (a `document_id` from `create_doc` or `list_docs`).
    pub document_id: String,
    /// `text` (default), `markdown` or `html`.
    #[serde(default)]
    pub format: DocFormatParam,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDocInput {
    /// The document to change.
    pub document_id: String,
    /// The new content, as markdown (an overwrite takes at most 50 000 characters).
    pub content: String,
    /// `overwrite` (default: replaces the whole body) or `append` (adds after it).
    #[serde(default)]
    pub mode: DocUpdateMode,
    /// Why the document changed (kept in DingBridge's log; DingTalk documents have no revision comments).
    #[serde(default)]
    pub comment: Option<String>,
    /// Optional `version` from `get_doc`: the update is refused with CONFLICT_ERROR if the document changed
    /// since.
    #[serde(default)]
    pub base_version: Option<String>,
}

#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListDocsInput {
    /// Workspace (space) id to list; default: the operator's "my documents".
    #[serde(default)]
    pub space_id: Option<String>,
    /// Folder id inside that workspace; default: its root.
    #[serde(default)]
    pub folder_id: Option<String>,
    /// Only documents whose title matches this text (searches everything the operator can see).
    #[serde(default)]
    pub keyword: Option<String>,
    /// 1-based page number (default 1).
    #[serde(default)]
    pub page: Option<u32>,
    /// Documents per page, 1-100 (default 20).
    #[serde(default)]
    pub page_size: Option<u32>,
    /// `name`, `create_time` or `update_time` (default).
    #[serde(default)]
    pub sort_by: DocSortBy,
    /// `asc` or `desc` (default).
    #[serde(default)]
    pub sort_order: DocSortOrder,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CreateDocOutput {
    /// The new document's id (use it with `get_doc` / `update_doc`).
    pub document_id: String,
    pub title: String,
    pub create_time: String,
    /// Link that opens the document in DingTalk.
    pub url: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GetDocOutput {
    pub document_id: String,
    pub title: String,
    /// The body, rendered in `format`.
    pub content: String,
    pub format: DocFormatParam,
    pub update_time: String,
    /// The creator's name (their unionId when the name cannot be read).
    pub author: String,
    /// Pass back as `update_doc.base_version` to refuse overwriting someone else's newer change.
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateDocOutput {
    pub document_id: String,
    /// "overwrite" or "append".
    pub mode: DocUpdateMode,
    pub update_time: String,
    /// The document's new version.
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocItem {
    pub document_id: String,
    pub title: String,
    /// "doc" or "folder".
    pub kind: String,
    pub url: Option<String>,
    pub create_time: Option<String>,
    pub update_time: Option<String>,
    pub creator: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DocsPagination {
    pub page: u32,
    pub page_size: u32,
    pub total: u64,
    pub total_pages: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListDocsOutput {
    pub items: Vec<DocItem>,
    pub pagination: DocsPagination,
}
