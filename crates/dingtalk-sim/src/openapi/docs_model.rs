//! The Docs data model behind the Docs endpoints: workspaces (knowledge bases) with a root folder node,
//! nodes (folders and documents) and documents stored as first-level blocks.
//!
//! Ids: a document has three distinct ids, as in the real service. The wiki `nodeId` of the node APIs is
//! the `dentryUuid` (the key of [`DocStore::nodes`], also in the `alidocs…/i/nodes/<dentryUuid>` URL); the
//! `docKey` is the document key the content endpoints also accept; and the create answer's own `nodeId`
//! (`CreateWorkspaceDocResponseBody` has `dentryUuid`, `docKey`, `nodeId`, `url`, `workspaceId`:
//! aliyun/dingtalk-sdk `dingtalk/java/src/main/java/com/aliyun/dingtalkdoc_1_0/models/
//! CreateWorkspaceDocResponseBody.java`) is a third value that the content endpoints refuse with
//! `docNotExist` (issue 11 item 1, protocol notes §6.1 correction). What else it addresses is not
//! documented, so no endpoint of the simulator accepts it.
//!
//! Versioning: DingTalk exposes no ETag / If-Match on document writes. The node APIs give `modifiedTime`
//! at minute precision and `modifiedTimestamp` in milliseconds (`GetNodeResponseBodyNode`,
//! `ListNodesResponseBodyNodes` in aliyun/dingtalk-sdk `dingtalk/python/alibabacloud_dingtalk/wiki_2_0/
//! models.py`; minute precision per issue 11 item 3). The simulator keeps a per-document write counter
//! and makes the timestamp strictly increase on every write (1 ms apart at least), so a client can compare
//! `modifiedTimestamp` before/after its own write to notice an interleaved change; that is the only version
//! signal the documented API offers.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::markdown::{self, Block};
use crate::clock::now_ms;

pub const DOC_URL_PREFIX: &str = "https://alidocs.dingtalk.com/i/nodes/";

/// A knowledge base. Personal ("my documents") workspaces have an owner; team ones a member list.
#[derive(Debug, Clone)]
pub struct SimWorkspace {
    pub workspace_id: String,
    pub name: String,
    pub root_node_id: String,
    /// "PERSONAL" or "TEAM".
    pub kind: &'static str,
    pub owner: Option<String>,
    /// unionIds with access (the owner is implied).
    pub members: Vec<String>,
    pub created_ms: i64,
}

impl SimWorkspace {
    pub fn allows(&self, union_id: &str) -> bool {
        self.owner.as_deref() == Some(union_id) || self.members.iter().any(|m| m == union_id)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "workspaceId": self.workspace_id,
            "rootNodeId": self.root_node_id,
            "name": self.name,
            "type": self.kind,
            "url": format!("https://alidocs.dingtalk.com/i/spaces/{}/overview", self.workspace_id),
            // `GetMineWorkspaceResponseBodyWorkspace` / `ListWorkspacesResponseBodyWorkspaces` carry no
            // `*Timestamp` fields (wiki_2_0 models.py).
            "createTime": minute_time(self.created_ms),
            "modifiedTime": minute_time(self.created_ms),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Node {
    /// The wiki nodeId = `dentryUuid`.
    pub node_id: String,
    pub doc_key: String,
    /// The `nodeId` of the create answer (see the module comment): accepted nowhere.
    pub create_node_id: String,
    pub workspace_id: String,
    /// None for a workspace's root folder.
    pub parent_id: Option<String>,
    pub name: String,
    pub folder: bool,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub creator: String,
    pub modifier: String,
    pub blocks: Vec<Block>,
    /// Writes so far (see the module comment).
    pub version: u64,
}

impl Node {
    pub fn to_json(&self, has_children: bool) -> Value {
        json!({
            "nodeId": self.node_id,
            "workspaceId": self.workspace_id,
            "name": self.name,
            "type": if self.folder { "FOLDER" } else { "FILE" },
            "category": if self.folder { "FOLDER" } else { "ALIDOC" },
            "extension": if self.folder { "" } else { "adoc" },
            "url": format!("{DOC_URL_PREFIX}{}", self.node_id),
            "hasChildren": has_children,
            "createTime": minute_time(self.created_ms),
            "createTimestamp": self.created_ms,
            "modifiedTime": minute_time(self.modified_ms),
            "modifiedTimestamp": self.modified_ms,
            "creatorId": self.creator,
            "modifierId": self.modifier,
        })
    }

    /// Records a write by `operator`: bumps the version and moves `modifiedTime` strictly forward.
    pub fn touch(&mut self, operator: &str) {
        self.version += 1;
        self.modified_ms = now_ms().max(self.modified_ms + 1);
        self.modifier = operator.to_owned();
    }
}

#[derive(Default)]
pub struct DocStore {
    pub workspaces: Vec<SimWorkspace>,
    pub nodes: BTreeMap<String, Node>,
    /// docKey → dentryUuid (content APIs accept either).
    pub doc_keys: HashMap<String, String>,
    /// Documents that someone else edits right after the client's next write (conflict tests).
    pub concurrent_edits: HashMap<String, String>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl DocStore {
    pub fn ensure_personal_workspace(&mut self, union_id: &str, owner_name: &str) -> String {
        if let Some(ws) = self
            .workspaces
            .iter()
            .find(|w| w.kind == "PERSONAL" && w.owner.as_deref() == Some(union_id))
        {
            return ws.workspace_id.clone();
        }
        self.add_workspace(
            &format!("{owner_name}的文档"),
            "PERSONAL",
            Some(union_id),
            Vec::new(),
        )
    }

    pub fn add_workspace(
        &mut self,
        name: &str,
        kind: &'static str,
        owner: Option<&str>,
        members: Vec<String>,
    ) -> String {
        let workspace_id = new_id();
        let root = new_id();
        let now = now_ms();
        let creator = owner
            .map(str::to_owned)
            .or_else(|| members.first().cloned())
            .unwrap_or_default();
        self.nodes.insert(
            root.clone(),
            Node {
                node_id: root.clone(),
                doc_key: new_id(),
                create_node_id: new_id(),
                workspace_id: workspace_id.clone(),
                parent_id: None,
                name: name.to_owned(),
                folder: true,
                created_ms: now,
                modified_ms: now,
                creator: creator.clone(),
                modifier: creator,
                blocks: Vec::new(),
                version: 0,
            },
        );
        self.workspaces.push(SimWorkspace {
            workspace_id: workspace_id.clone(),
            name: name.to_owned(),
            root_node_id: root,
            kind,
            owner: owner.map(str::to_owned),
            members,
            created_ms: now,
        });
        workspace_id
    }

    pub fn workspace(&self, id: &str) -> Option<&SimWorkspace> {
        self.workspaces.iter().find(|w| w.workspace_id == id)
    }

    /// A node by dentryUuid (= wiki nodeId) or docKey; never by the create answer's `nodeId`.
    pub fn resolve(&self, id: &str) -> Option<&Node> {
        self.nodes
            .get(id)
            .or_else(|| self.doc_keys.get(id).and_then(|node| self.nodes.get(node)))
    }

    pub fn resolve_mut(&mut self, id: &str) -> Option<&mut Node> {
        let key = if self.nodes.contains_key(id) {
            id.to_owned()
        } else {
            self.doc_keys.get(id)?.clone()
        };
        self.nodes.get_mut(&key)
    }

    pub fn can_access(&self, node: &Node, union_id: &str) -> bool {
        self.workspace(&node.workspace_id)
            .is_some_and(|w| w.allows(union_id))
    }

    pub fn children(&self, parent: &str) -> Vec<&Node> {
        let mut out: Vec<&Node> = self
            .nodes
            .values()
            .filter(|n| n.parent_id.as_deref() == Some(parent))
            .collect();
        // Stable listing order: creation time, then id.
        out.sort_by(|a, b| (a.created_ms, &a.node_id).cmp(&(b.created_ms, &b.node_id)));
        out
    }

    pub fn has_children(&self, id: &str) -> bool {
        self.nodes
            .values()
            .any(|n| n.parent_id.as_deref() == Some(id))
    }

    pub fn create(
        &mut self,
        workspace_id: &str,
        parent_id: &str,
        name: &str,
        folder: bool,
        operator: &str,
    ) -> Node {
        let now = now_ms();
        let node = Node {
            node_id: new_id(),
            doc_key: new_id(),
            create_node_id: new_id(),
            workspace_id: workspace_id.to_owned(),
            parent_id: Some(parent_id.to_owned()),
            name: name.to_owned(),
            folder,
            created_ms: now,
            modified_ms: now,
            creator: operator.to_owned(),
            modifier: operator.to_owned(),
            blocks: Vec::new(),
            version: 0,
        };
        self.doc_keys
            .insert(node.doc_key.clone(), node.node_id.clone());
        self.nodes.insert(node.node_id.clone(), node.clone());
        node
    }

    /// Applies a pending "someone else edits this document now" after a client write.
    pub fn apply_concurrent_edit(&mut self, node_id: &str) {
        let Some(text) = self.concurrent_edits.remove(node_id) else {
            return;
        };
        if let Some(node) = self.nodes.get_mut(node_id) {
            node.blocks.extend(markdown::parse(&text));
            node.touch("someone-else");
        }
    }
}

/// RFC 3339 UTC to the minute, e.g. `2026-11-22T10:00Z`: the precision DingTalk gives `modifiedTime` and
/// `createTime` in (issue 11 item 3).
pub fn minute_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}Z",
        rem / 3_600_000,
        rem / 60_000 % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_time_formats_utc_to_the_minute() {
        assert_eq!(minute_time(0), "1970-01-01T00:00Z");
        assert_eq!(minute_time(1_709_251_199_123), "2024-02-29T23:59Z");
    }
}
