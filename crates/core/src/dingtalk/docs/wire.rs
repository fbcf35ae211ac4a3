//! The answers of the Docs/Wiki endpoints, as the official SDK models name their fields (aliyun/dingtalk-sdk,
//! `dingtalk/python/alibabacloud_dingtalk/{wiki_2_0,doc_1_0,storage_2_0}/models.py`). Only the fields the
//! tools use are decoded; everything else is ignored.
//!
//! Invariant: a document's version is its `modifiedTimestamp` (ms) whenever the API gives one, because
//! `modifiedTime` is only minute-precise (issue 11 item 3) and two writes in one minute would look alike.

use serde::Deserialize;
use serde_json::Value;

use super::types::DocSummary;

/// A wiki node (`GetNodeResponseBodyNode` / `ListNodesResponseBodyNodes` in wiki_2_0: `nodeId`, `name`,
/// `type`, `url`, `createTime`, `createTimestamp`, `modifiedTime`, `modifiedTimestamp`, `creatorId`, …).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Node {
    pub node_id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub create_time: Option<Value>,
    #[serde(default)]
    pub create_timestamp: Option<i64>,
    #[serde(default)]
    pub modified_time: Option<Value>,
    #[serde(default)]
    pub modified_timestamp: Option<i64>,
    #[serde(default)]
    pub creator_id: Option<String>,
}

impl Node {
    pub fn is_folder(&self) -> bool {
        self.kind.eq_ignore_ascii_case("FOLDER")
    }

    /// `modifiedTimestamp` as text when present, else `modifiedTime` as DingTalk wrote it.
    pub fn version(&self) -> String {
        match self.modified_timestamp {
            Some(ms) => ms.to_string(),
            None => time_text(&self.modified_time).unwrap_or_default(),
        }
    }

    pub fn update_time(&self) -> String {
        time_text(&self.modified_time).unwrap_or_default()
    }

    pub fn summary(&self) -> DocSummary {
        DocSummary {
            document_id: self.node_id.clone(),
            title: self.name.clone(),
            kind: if self.is_folder() { "folder" } else { "doc" }.into(),
            url: self.url.clone(),
            create_time: time_text(&self.create_time),
            update_time: time_text(&self.modified_time),
            creator: self.creator_id.clone(),
        }
    }
}

/// Times come as ISO strings (or epoch numbers on some endpoints): keep them as text.
pub(super) fn time_text(value: &Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
pub(super) struct NodeAnswer {
    pub node: Node,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NodesAnswer {
    #[serde(default)]
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Workspace {
    pub workspace_id: String,
    pub root_node_id: String,
}

#[derive(Deserialize)]
pub(super) struct MineAnswer {
    pub workspace: Workspace,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WorkspacesAnswer {
    #[serde(default)]
    pub workspaces: Vec<Workspace>,
    #[serde(default)]
    pub next_token: Option<String>,
}

/// `CreateWorkspaceDocResponseBody` (doc_1_0): `workspaceId`, `nodeId`, `docKey`, `dentryUuid`, `url`. Its
/// `nodeId` is not the document's `dentryUuid` and the content endpoints refuse it (issue 11 item 1), so it
/// is not decoded at all.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateAnswer {
    #[serde(default)]
    pub dentry_uuid: Option<String>,
    #[serde(default)]
    pub doc_key: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

impl CreateAnswer {
    /// The id handed out and used on every later call: `dentryUuid`, then `docKey`.
    pub fn document_id(&self) -> Option<String> {
        [&self.dentry_uuid, &self.doc_key]
            .into_iter()
            .flatten()
            .find(|id| !id.is_empty())
            .cloned()
    }
}

/// `DocBlocksQueryResponseBody` (doc_1_0): `{success, result: {data: [any]}}`.
#[derive(Deserialize)]
pub(super) struct BlocksAnswer {
    pub result: BlocksResult,
}

#[derive(Deserialize)]
pub(super) struct BlocksResult {
    #[serde(default)]
    pub data: Vec<Value>,
}

/// `SearchDentriesResponseBody` (storage_2_0): `items[{dentryUuid, name, creator, modifier,
/// lastModifyTime, …}]`, `nextToken`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SearchAnswer {
    #[serde(default)]
    pub items: Vec<Value>,
    #[serde(default)]
    pub next_token: Option<String>,
}
