//! `list_docs`: `GET /v2.0/wiki/nodes` (a folder's children) or `POST /v2.0/storage/dentries/search`
//! (keyword), sorted and paged locally (DingTalk pages with opaque `nextToken`s, the tools with page
//! numbers). Workspaces other than "my documents" are found through `GET /v2.0/wiki/workspaces`.
//!
//! Invariant: at most [`MAX_WALK`] entries are walked per listing, so one call costs a bounded number of
//! API calls; sorting by time uses the millisecond timestamps where the API gives them.

use reqwest::Method;
use serde_json::{Value, json};

use super::error::DocsError;
use super::service::{DocsService, checked_id};
use super::types::{
    Caller, DocSummary, ListDocsParams, ListDocsResult, Pagination, SortBy, SortOrder,
};
use super::wire::{Node, NodesAnswer, SearchAnswer, WorkspacesAnswer};
use crate::dingtalk::openapi::ApiRequest;

/// Listing/search walk at most this many entries before sorting (each page of 50 is one API call).
const MAX_WALK: usize = 1_000;
const NODES_PAGE: u32 = 50;
const WORKSPACES_PAGE: u32 = 30;

/// One listed entry with the timestamps it sorts by.
struct Listed {
    summary: DocSummary,
    created_ms: Option<i64>,
    modified_ms: Option<i64>,
}

impl Listed {
    fn node(node: &Node) -> Self {
        Self {
            summary: node.summary(),
            created_ms: node.create_timestamp,
            modified_ms: node.modified_timestamp,
        }
    }
}

impl DocsService {
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
        if let Some(id) = &params.space_id {
            checked_id("space_id", id, "a workspace id")?;
        }
        if let Some(id) = &params.folder_id {
            checked_id("folder_id", id, "a folder id from list_docs")?;
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
                    nodes.retain(|n| n.summary.title.to_lowercase().contains(&keyword));
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
            .map(|listed| listed.summary)
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

    async fn children(&self, op: &str, parent: &str) -> Result<Vec<Listed>, DocsError> {
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
            out.extend(answer.nodes.iter().map(Listed::node));
            match answer.next_token.filter(|t| !t.is_empty()) {
                Some(token) => next = Some(token),
                None => break,
            }
        }
        Ok(out)
    }

    async fn search(&self, op: &str, keyword: &str) -> Result<Vec<Listed>, DocsError> {
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
}

/// A search hit (`SearchDentriesResponseBodyItems`: `dentryUuid`, `name`, `creator`, `lastModifyTime`, …).
fn search_item(item: &Value) -> Option<Listed> {
    let id = item.get("dentryUuid").and_then(Value::as_str)?;
    let person = |key: &str| match item.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => v.get("name").and_then(Value::as_str).map(str::to_owned),
        None => None,
    };
    let summary = DocSummary {
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
    };
    Some(Listed {
        summary,
        created_ms: None,
        modified_ms: item.get("lastModifyTime").and_then(Value::as_i64),
    })
}

/// Search hits carry no creation time: with a time sort they keep DingTalk's relevance order. Times sort by
/// their millisecond timestamps first: the text forms are only minute-precise.
fn sort(items: &mut [Listed], by: SortBy, order: SortOrder, search: bool) {
    if search && by != SortBy::Name {
        return;
    }
    items.sort_by(|a, b| {
        let (x, y) = (&a.summary, &b.summary);
        let ord = match by {
            SortBy::Name => x.title.to_lowercase().cmp(&y.title.to_lowercase()),
            SortBy::CreateTime => {
                (a.created_ms, &x.create_time).cmp(&(b.created_ms, &y.create_time))
            }
            SortBy::UpdateTime => {
                (a.modified_ms, &x.update_time).cmp(&(b.modified_ms, &y.update_time))
            }
        }
        .then_with(|| x.document_id.cmp(&y.document_id));
        match order {
            SortOrder::Asc => ord,
            SortOrder::Desc => ord.reverse(),
        }
    });
}
