//! The Docs tools on top of the documented endpoints (§6.2):
//! - create: `GET /v2.0/wiki/mineWorkspaces` (default workspace) → `POST /v1.0/doc/workspaces/{ws}/docs`
//!   → `POST …/documents/{id}/overwriteContent` (markdown) → `GET /v2.0/wiki/nodes/{id}` (times);
//! - get: `GET /v2.0/wiki/nodes/{id}` + `GET …/documents/{id}/blocks`, rendered locally;
//! - update: overwrite (`overwriteContent`, ≤ 50,000 chars) or append (`…/content`);
//! - list: `GET /v2.0/wiki/nodes` (folder listing) or `POST /v2.0/storage/dentries/search` (keyword),
//!   sorted and paged locally (DingTalk pages with opaque `nextToken`s, the tools with page numbers).
//!
//! `document_id` is the nodeId (= dentryUuid), which both the node and the content APIs accept.

use std::sync::{Arc, RwLock};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::DocsError;
use super::render::{parse_blocks, render};
use super::types::*;
use crate::dingtalk::contacts::ContactsService;
use crate::dingtalk::openapi::{ApiRequest, OpenApiClient};

/// `overwriteContent` limit (api-doc-updatecontent).
pub const MAX_OVERWRITE_CHARS: usize = 50_000;
/// Store key of the resolved operator (`{"source": OperatorRef, "union_id": "..."}`).
pub const OPERATOR_SETTING: &str = "docs.operator";
/// Listing/search walk at most this many entries before sorting (each page of 50 is one API call).
const MAX_WALK: usize = 1_000;
const NODES_PAGE: u32 = 50;
const WORKSPACES_PAGE: u32 = 30;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    node_id: String,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    create_time: Option<Value>,
    #[serde(default)]
    modified_time: Option<Value>,
    #[serde(default)]
    creator_id: Option<String>,
}

impl Node {
    fn is_folder(&self) -> bool {
        self.kind.eq_ignore_ascii_case("FOLDER")
    }

    fn summary(&self) -> DocSummary {
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
fn time_text(value: &Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
struct NodeAnswer {
    node: Node,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NodesAnswer {
    #[serde(default)]
    nodes: Vec<Node>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Workspace {
    workspace_id: String,
    root_node_id: String,
}

#[derive(Deserialize)]
struct MineAnswer {
    workspace: Workspace,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorkspacesAnswer {
    #[serde(default)]
    workspaces: Vec<Workspace>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateAnswer {
    node_id: Option<String>,
    dentry_uuid: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Deserialize)]
struct BlocksAnswer {
    result: BlocksResult,
}

#[derive(Deserialize)]
struct BlocksResult {
    #[serde(default)]
    data: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchAnswer {
    #[serde(default)]
    items: Vec<Value>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredOperator {
    source: OperatorRef,
    union_id: String,
}

#[derive(Clone)]
pub struct DocsService {
    api: OpenApiClient,
    contacts: ContactsService,
    operator: Arc<RwLock<Option<String>>>,
}

impl DocsService {
    pub fn new(api: OpenApiClient, contacts: ContactsService) -> Self {
        Self {
            api,
            contacts,
            operator: Arc::new(RwLock::new(None)),
        }
    }

    /// The configured operator's unionId, if any.
    pub fn operator_union_id(&self) -> Option<String> {
        self.operator.read().ok().and_then(|o| o.clone())
    }

    fn set_operator(&self, union_id: String) {
        if let Ok(mut slot) = self.operator.write() {
            *slot = Some(union_id);
        }
    }

    /// Resolves the configured operator (userId / mobile / unionId) to a unionId, once: the result is kept
    /// in the store and reused while the setting stays the same.
    pub async fn configure_operator(&self, source: OperatorRef) -> Result<String, DocsError> {
        let store = self.contacts.directory().store();
        if let Some(text) = store.setting_get(OPERATOR_SETTING).await?
            && let Ok(stored) = serde_json::from_str::<StoredOperator>(&text)
            && stored.source == source
        {
            self.set_operator(stored.union_id.clone());
            return Ok(stored.union_id);
        }
        let union_id = match &source {
            OperatorRef::UnionId(id) => id.clone(),
            OperatorRef::UserId(id) => self.contacts.union_id_of(id).await?,
            OperatorRef::Mobile(mobile) => {
                let user_id = self.contacts.user_id_by_mobile(mobile).await?;
                self.contacts.union_id_of(&user_id).await?
            }
        };
        let stored = StoredOperator {
            source,
            union_id: union_id.clone(),
        };
        let text = serde_json::to_string(&stored)
            .map_err(|err| DocsError::invalid(err.to_string(), json!({})))?;
        store.setting_set(OPERATOR_SETTING, &text).await?;
        self.set_operator(union_id.clone());
        Ok(union_id)
    }

    /// The unionId a call runs as: the sender's when resolvable, else the configured operator.
    pub async fn operator_for(&self, caller: &Caller) -> Result<String, DocsError> {
        if let Caller::Sender { user_id } = caller {
            match self.contacts.union_id_of(user_id).await {
                Ok(union_id) => return Ok(union_id),
                Err(err) => tracing::debug!(
                    code = err.code(),
                    "sender unionId unknown; using the operator"
                ),
            }
        }
        self.operator_union_id().ok_or(DocsError::NoOperator)
    }

    pub async fn create_doc(
        &self,
        caller: &Caller,
        params: CreateDocParams,
    ) -> Result<CreateDocResult, DocsError> {
        let title = params.title.trim();
        if title.is_empty() {
            return Err(DocsError::invalid(
                "title must not be empty",
                json!({"field": "title"}),
            ));
        }
        if let Some(content) = &params.content {
            check_overwrite_length(content)?;
        }
        let op = self.operator_for(caller).await?;
        let workspace_id = match params.space_id.as_deref().filter(|s| !s.is_empty()) {
            Some(id) => id.to_owned(),
            None => self.mine_workspace(&op).await?.workspace_id,
        };
        let mut body = json!({"name": title, "docType": "DOC", "operatorId": op});
        if let (Some(folder), Value::Object(map)) = (
            params.folder_id.as_deref().filter(|f| !f.is_empty()),
            &mut body,
        ) {
            map.insert("parentNodeId".into(), json!(folder));
        }
        let created: CreateAnswer = self
            .api
            .call(
                ApiRequest::new_api(
                    Method::POST,
                    format!("/v1.0/doc/workspaces/{}/docs", seg(&workspace_id)),
                )
                .query("operatorId", &op)
                .json(body),
            )
            .await?;
        let document_id = created.node_id.or(created.dentry_uuid).ok_or_else(|| {
            crate::dingtalk::openapi::OpenApiError::Decode("create answer lacks nodeId".into())
        })?;
        if let Some(content) = params.content.as_deref().filter(|c| !c.is_empty()) {
            self.overwrite(&document_id, &op, content).await?;
        }
        let node = self.node(&document_id, &op).await?;
        Ok(CreateDocResult {
            title: node.name.clone(),
            create_time: time_text(&node.create_time).unwrap_or_default(),
            url: node.url.or(created.url).unwrap_or_default(),
            document_id,
        })
    }

    pub async fn get_doc(
        &self,
        caller: &Caller,
        params: GetDocParams,
    ) -> Result<GetDocResult, DocsError> {
        let id = required_id(&params.document_id)?;
        let op = self.operator_for(caller).await?;
        let node = self.node(id, &op).await?;
        if node.is_folder() {
            return Err(DocsError::invalid(
                "document_id is a folder, not a document",
                json!({"field": "document_id"}),
            ));
        }
        let blocks = self.blocks(id, &op).await?;
        let author = match node.creator_id.as_deref() {
            Some(union_id) => self
                .contacts
                .name_of_union_id(union_id)
                .await
                .unwrap_or_else(|_| union_id.to_owned()),
            None => String::new(),
        };
        let update_time = time_text(&node.modified_time).unwrap_or_default();
        Ok(GetDocResult {
            title: node.name,
            content: render(&parse_blocks(&blocks), params.format),
            format: params.format,
            version: update_time.clone(),
            update_time,
            author,
        })
    }

    /// Overwrite or append. DingTalk has no ETag/If-Match on document writes, so concurrent changes are
    /// detected around the write, honestly best-effort:
    /// 1. before: the node's `modifiedTime` is read; if the caller passed `base_version` (the `version` of
    ///    its `get_doc`) and the document has changed since, nothing is written (CONFLICT_ERROR);
    /// 2. after: the document is read back; if its text (letters and digits only, so DingTalk's own
    ///    formatting cannot cause false alarms) is not what this write produced (overwrite: equal; append:
    ///    ends with it), someone else changed it in between (CONFLICT_ERROR; our write did happen).
    ///
    /// A change that lands between our write and the read-back and leaves our text intact is not detected.
    pub async fn update_doc(
        &self,
        caller: &Caller,
        params: UpdateDocParams,
    ) -> Result<UpdateDocResult, DocsError> {
        let id = required_id(&params.document_id)?;
        if params.mode == UpdateMode::Overwrite {
            check_overwrite_length(&params.content)?;
        } else if params.content.trim().is_empty() {
            return Err(DocsError::invalid(
                "content to append is empty",
                json!({"field": "content"}),
            ));
        }
        let op = self.operator_for(caller).await?;
        let before = self.node(id, &op).await?;
        if before.is_folder() {
            return Err(DocsError::invalid(
                "document_id is a folder, not a document",
                json!({"field": "document_id"}),
            ));
        }
        let before_version = time_text(&before.modified_time).unwrap_or_default();
        if let Some(base) = params.base_version.as_deref().filter(|b| !b.is_empty())
            && base != before_version
        {
            return Err(DocsError::Conflict {
                document_id: id.to_owned(),
                reason: "the document changed since the given base_version; nothing was written"
                    .into(),
                details: json!({"base_version": base, "current_version": before_version, "written": false}),
            });
        }
        if let Some(comment) = &params.comment {
            tracing::info!(
                document_id = id,
                comment,
                "update_doc comment (not stored by DingTalk)"
            );
        }
        match params.mode {
            UpdateMode::Overwrite => self.overwrite(id, &op, &params.content).await?,
            UpdateMode::Append => self.append(id, &op, &params.content).await?,
        }
        let after = self.node(id, &op).await?;
        let version = time_text(&after.modified_time).unwrap_or_default();
        let text = signature(&render(
            &parse_blocks(&self.blocks(id, &op).await?),
            DocFormat::Markdown,
        ));
        let ours = signature(&params.content);
        let intact = match params.mode {
            UpdateMode::Overwrite => text == ours,
            UpdateMode::Append => text.ends_with(&ours),
        };
        if !intact {
            return Err(DocsError::Conflict {
                document_id: id.to_owned(),
                reason: "another change interleaved with this write; re-read the document".into(),
                details: json!({"base_version": before_version, "current_version": version, "written": true}),
            });
        }
        Ok(UpdateDocResult {
            update_time: version.clone(),
            version,
        })
    }

    pub async fn list_docs(
        &self,
        caller: &Caller,
        params: ListDocsParams,
    ) -> Result<ListDocsResult, DocsError> {
        if params.page == 0 {
            return Err(DocsError::invalid(
                "page starts at 1",
                json!({"field": "page", "min": 1}),
            ));
        }
        if !(1..=100).contains(&params.page_size) {
            return Err(DocsError::invalid(
                "page_size must be between 1 and 100",
                json!({"field": "page_size", "min": 1, "max": 100, "actual": params.page_size}),
            ));
        }
        let op = self.operator_for(caller).await?;
        let keyword = params
            .keyword
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let scoped = params.space_id.is_some() || params.folder_id.is_some();
        let mut items = match keyword {
            // Search covers everything the operator can see; it cannot be scoped by documented fields.
            Some(keyword) if !scoped => self.search(&op, keyword).await?,
            _ => {
                let parent = match (params.folder_id.as_deref(), params.space_id.as_deref()) {
                    (Some(folder), _) => folder.to_owned(),
                    (None, Some(space)) => self.workspace_root(&op, space).await?,
                    (None, None) => self.mine_workspace(&op).await?.root_node_id,
                };
                let mut nodes = self.children(&op, &parent).await?;
                if let Some(keyword) = keyword {
                    let keyword = keyword.to_lowercase();
                    nodes.retain(|n| n.title.to_lowercase().contains(&keyword));
                }
                nodes
            }
        };
        sort(
            &mut items,
            params.sort_by,
            params.sort_order,
            keyword.is_some() && !scoped,
        );
        let total = items.len() as u64;
        let size = u64::from(params.page_size);
        let start = (u64::from(params.page) - 1).saturating_mul(size);
        let page: Vec<DocSummary> = items
            .into_iter()
            .skip(start.min(total) as usize)
            .take(size as usize)
            .collect();
        Ok(ListDocsResult {
            items: page,
            pagination: Pagination {
                page: params.page,
                page_size: params.page_size,
                total,
                total_pages: total.div_ceil(size),
            },
        })
    }

    async fn mine_workspace(&self, op: &str) -> Result<Workspace, DocsError> {
        let answer: MineAnswer = self
            .api
            .call(
                ApiRequest::new_api(Method::GET, "/v2.0/wiki/mineWorkspaces")
                    .query("operatorId", op),
            )
            .await?;
        Ok(answer.workspace)
    }

    async fn workspace_root(&self, op: &str, space_id: &str) -> Result<String, DocsError> {
        let mut next: Option<String> = None;
        for _ in 0..(MAX_WALK / WORKSPACES_PAGE as usize) {
            let mut request = ApiRequest::new_api(Method::GET, "/v2.0/wiki/workspaces")
                .query("operatorId", op)
                .query("maxResults", WORKSPACES_PAGE.to_string());
            if let Some(token) = &next {
                request = request.query("nextToken", token);
            }
            let answer: WorkspacesAnswer = self.api.call(request).await?;
            if let Some(ws) = answer
                .workspaces
                .into_iter()
                .find(|w| w.workspace_id == space_id)
            {
                return Ok(ws.root_node_id);
            }
            match answer.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => break,
            }
        }
        Err(DocsError::NotFound {
            message: format!("workspace {space_id} is not visible to the operator"),
            details: json!({"space_id": space_id}),
        })
    }

    async fn children(&self, op: &str, parent: &str) -> Result<Vec<DocSummary>, DocsError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        while out.len() < MAX_WALK {
            let mut request = ApiRequest::new_api(Method::GET, "/v2.0/wiki/nodes")
                .query("parentNodeId", parent)
                .query("operatorId", op)
                .query("maxResults", NODES_PAGE.to_string());
            if let Some(token) = &next {
                request = request.query("nextToken", token);
            }
            let answer: NodesAnswer = self.api.call(request).await?;
            out.extend(answer.nodes.iter().map(Node::summary));
            match answer.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => break,
            }
        }
        Ok(out)
    }

    async fn search(&self, op: &str, keyword: &str) -> Result<Vec<DocSummary>, DocsError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        while out.len() < MAX_WALK {
            let mut option = json!({"maxResults": NODES_PAGE});
            if let (Some(token), Value::Object(map)) = (&next, &mut option) {
                map.insert("nextToken".into(), json!(token));
            }
            let answer: SearchAnswer = self
                .api
                .call(
                    ApiRequest::new_api(Method::POST, "/v2.0/storage/dentries/search")
                        .query("operatorId", op)
                        .json(json!({"operatorId": op, "keyword": keyword, "option": option})),
                )
                .await?;
            out.extend(answer.items.iter().filter_map(search_item));
            match answer.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => break,
            }
        }
        Ok(out)
    }

    async fn node(&self, id: &str, op: &str) -> Result<Node, DocsError> {
        let answer: NodeAnswer = self
            .api
            .call(
                ApiRequest::new_api(Method::GET, format!("/v2.0/wiki/nodes/{}", seg(id)))
                    .query("operatorId", op),
            )
            .await?;
        Ok(answer.node)
    }

    async fn blocks(&self, id: &str, op: &str) -> Result<Vec<Value>, DocsError> {
        let answer: BlocksAnswer = self
            .api
            .call(
                ApiRequest::new_api(
                    Method::GET,
                    format!("/v1.0/doc/suites/documents/{}/blocks", seg(id)),
                )
                .query("operatorId", op),
            )
            .await?;
        Ok(answer.result.data)
    }

    async fn overwrite(&self, id: &str, op: &str, markdown: &str) -> Result<(), DocsError> {
        self.api
            .call_value(
                &ApiRequest::new_api(
                    Method::POST,
                    format!("/v1.0/doc/suites/documents/{}/overwriteContent", seg(id)),
                )
                .query("operatorId", op)
                .json(json!({"content": markdown, "dataType": "markdown"})),
            )
            .await?;
        Ok(())
    }

    async fn append(&self, id: &str, op: &str, markdown: &str) -> Result<(), DocsError> {
        self.api
            .call_value(
                &ApiRequest::new_api(
                    Method::POST,
                    format!("/v1.0/doc/suites/documents/{}/content", seg(id)),
                )
                .query("operatorId", op)
                .json(json!({"content": {"type": "markdown", "content": markdown}})),
            )
            .await?;
        Ok(())
    }
}

fn required_id(id: &str) -> Result<&str, DocsError> {
    let id = id.trim();
    if id.is_empty() || id.contains('/') {
        return Err(DocsError::invalid(
            "document_id must be a document's nodeId",
            json!({"field": "document_id"}),
        ));
    }
    Ok(id)
}

/// Ids go into URL paths: percent-encode anything outside the unreserved set.
fn seg(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn check_overwrite_length(content: &str) -> Result<(), DocsError> {
    let chars = content.chars().count();
    if chars > MAX_OVERWRITE_CHARS {
        return Err(DocsError::invalid(
            format!(
                "content has {chars} characters; DingTalk accepts at most {MAX_OVERWRITE_CHARS} per overwrite"
            ),
            json!({"field": "content", "max_chars": MAX_OVERWRITE_CHARS, "actual_chars": chars}),
        ));
    }
    Ok(())
}

/// Letters and digits only, lower-cased: the part of a text no markdown formatting can change.
fn signature(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn search_item(item: &Value) -> Option<DocSummary> {
    let id = item.get("dentryUuid").and_then(Value::as_str)?;
    let person = |key: &str| match item.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => v.get("name").and_then(Value::as_str).map(str::to_owned),
        None => None,
    };
    Some(DocSummary {
        document_id: id.to_owned(),
        title: item
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        kind: "doc".into(),
        url: None,
        create_time: None,
        update_time: None,
        creator: person("creator"),
    })
}

/// Search hits carry no times: with a time sort they keep DingTalk's relevance order.
fn sort(items: &mut [DocSummary], by: SortBy, order: SortOrder, search: bool) {
    if search && by != SortBy::Name {
        return;
    }
    items.sort_by(|a, b| {
        let ord = match by {
            SortBy::Name => a.title.to_lowercase().cmp(&b.title.to_lowercase()),
            SortBy::CreateTime => a.create_time.cmp(&b.create_time),
            SortBy::UpdateTime => a.update_time.cmp(&b.update_time),
        }
        .then_with(|| a.document_id.cmp(&b.document_id));
        match order {
            SortOrder::Asc => ord,
            SortOrder::Desc => ord.reverse(),
        }
    });
}
