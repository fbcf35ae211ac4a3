//! The user-facing tool contract (what MCP tools take and return).

use serde::{Deserialize, Serialize};

/// Who a call runs as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Caller {
    /// The configured operator.
    #[default]
    Operator,
    /// A DingTalk sender (their userId): their unionId is used when it can be resolved, else the operator.
    Sender { user_id: String },
}

/// How the operator is configured; resolved to a unionId once and remembered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperatorRef {
    UserId(String),
    Mobile(String),
    UnionId(String),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocFormat {
    #[default]
    Text,
    Markdown,
    Html,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateMode {
    #[default]
    Overwrite,
    Append,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    Name,
    CreateTime,
    #[default]
    UpdateTime,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateDocParams {
    pub title: String,
    /// Markdown written into the new document.
    #[serde(default)]
    pub content: Option<String>,
    /// workspaceId; default: the operator's "my documents".
    #[serde(default)]
    pub space_id: Option<String>,
    /// nodeId of a folder in that workspace; default: its root.
    #[serde(default)]
    pub folder_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateDocResult {
    /// The document's `dentryUuid` (its `docKey` when DingTalk gave no `dentryUuid`): accepted by both the
    /// node and the content APIs. Never the create answer's `nodeId` (refused by the content APIs).
    pub document_id: String,
    pub title: String,
    pub create_time: String,
    pub url: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetDocParams {
    pub document_id: String,
    #[serde(default)]
    pub format: DocFormat,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetDocResult {
    pub title: String,
    pub content: String,
    pub format: DocFormat,
    pub update_time: String,
    /// The creator's name (their unionId when the name cannot be read).
    pub author: String,
    /// Pass back as `update_doc.base_version` to refuse overwriting someone else's newer change. The
    /// node's `modifiedTimestamp` (ms) when DingTalk gives it, else its minute-precise `modifiedTime`.
    pub version: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateDocParams {
    pub document_id: String,
    pub content: String,
    #[serde(default)]
    pub mode: UpdateMode,
    /// Kept in the log only: DingTalk documents have no revision comments.
    #[serde(default)]
    pub comment: Option<String>,
    /// Optional `version` from `get_doc`: the update is refused with CONFLICT_ERROR if the document changed since.
    #[serde(default)]
    pub base_version: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateDocResult {
    pub update_time: String,
    pub version: String,
}

fn default_page() -> u32 {
    1
}

fn default_page_size() -> u32 {
    20
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDocsParams {
    #[serde(default)]
    pub space_id: Option<String>,
    #[serde(default)]
    pub folder_id: Option<String>,
    #[serde(default)]
    pub keyword: Option<String>,
    #[serde(default = "default_page")]
    pub page: u32,
    /// 1–100.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    #[serde(default)]
    pub sort_by: SortBy,
    #[serde(default)]
    pub sort_order: SortOrder,
}

impl Default for ListDocsParams {
    fn default() -> Self {
        Self {
            space_id: None,
            folder_id: None,
            keyword: None,
            page: 1,
            page_size: 20,
            sort_by: SortBy::default(),
            sort_order: SortOrder::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocSummary {
    pub document_id: String,
    pub title: String,
    /// "doc" or "folder".
    pub kind: String,
    pub url: Option<String>,
    pub create_time: Option<String>,
    pub update_time: Option<String>,
    pub creator: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pagination {
    pub page: u32,
    pub page_size: u32,
    pub total: u64,
    pub total_pages: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListDocsResult {
    pub items: Vec<DocSummary>,
    pub pagination: Pagination,
}
