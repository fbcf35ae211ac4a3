//! DingTalk Docs endpoints (protocol doc §6.2), documented paths only:
//! - `GET /v2.0/wiki/workspaces`, `GET /v2.0/wiki/mineWorkspaces`
//! - `GET /v2.0/wiki/nodes` (children of `parentNodeId`, `maxResults` ≤ 50), `GET /v2.0/wiki/nodes/{nodeId}`
//! - `POST /v1.0/doc/workspaces/{workspaceId}/docs`
//! - `GET /v1.0/doc/suites/documents/{docKey}/blocks` (first-level blocks, lossy: see `markdown.rs`)
//! - `POST /v1.0/doc/suites/documents/{docKey}/content` (append markdown)
//! - `POST /v1.0/doc/suites/documents/{docKey}/overwriteContent` (≤ 50,000 chars)
//! - `POST /v2.0/storage/dentries/search`
//!
//! Every call needs `operatorId` (a unionId; query, or body where the doc lists it): missing → 400
//! `paramError`; not a member of the org → 400 `invalidRequest.inputArgs.invalid`; a node in a workspace the
//! operator cannot access → 403 `forbidden.accessDenied`; unknown document → 404 `docNotExist`.
//!
//! Document ids: the node and content endpoints take the `dentryUuid` (or the `docKey`); the `nodeId` of
//! the create answer is a different value that every endpoint answers with `docNotExist` (`docs_model.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::OpenApiState;
use super::auth::check_new_api;
use super::docs_model::Node;
use super::markdown;
use crate::api_error::new_api_error;
use crate::state::SimState;

/// `overwriteContent` limit (api-doc-updatecontent).
pub const MAX_OVERWRITE_CHARS: usize = 50_000;
const MAX_WORKSPACES_PAGE: usize = 30;
const MAX_NODES_PAGE: usize = 50;
const MAX_SEARCH_PAGE: usize = 50;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/v2.0/wiki/workspaces", get(list_workspaces))
        .route("/v2.0/wiki/mineWorkspaces", get(mine_workspace))
        .route("/v2.0/wiki/nodes", get(list_nodes))
        .route("/v2.0/wiki/nodes/{node_id}", get(get_node))
        .route("/v1.0/doc/workspaces/{workspace_id}/docs", post(create_doc))
        .route("/v1.0/doc/suites/documents/{doc}/blocks", get(get_blocks))
        .route(
            "/v1.0/doc/suites/documents/{doc}/content",
            post(append_content),
        )
        .route(
            "/v1.0/doc/suites/documents/{doc}/overwriteContent",
            post(overwrite_content),
        )
        .route("/v2.0/storage/dentries/search", post(search_dentries))
}

type Q = Query<HashMap<String, String>>;

fn param_error(message: &str) -> Response {
    new_api_error(StatusCode::BAD_REQUEST, "paramError", message)
}

fn access_denied() -> Response {
    new_api_error(
        StatusCode::FORBIDDEN,
        "forbidden.accessDenied",
        "没有权限访问该文档",
    )
}

fn doc_not_exist() -> Response {
    new_api_error(StatusCode::NOT_FOUND, "docNotExist", "文档不存在")
}

/// Token, then `operatorId` (query first, then the JSON body), then org membership.
fn operator(
    state: &SimState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    body: Option<&Value>,
) -> Result<String, Response> {
    check_new_api(state, headers)?;
    let id = query
        .get("operatorId")
        .cloned()
        .or_else(|| {
            body.and_then(|b| b.get("operatorId"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .filter(|id| !id.is_empty())
        .ok_or_else(|| param_error("operatorId is required"))?;
    if state.lock().openapi.directory.by_union_id(&id).is_none() {
        return Err(new_api_error(
            StatusCode::BAD_REQUEST,
            "invalidRequest.inputArgs.invalid",
            "operatorId is not a user of this organization",
        ));
    }
    Ok(id)
}

fn page_args(query: &HashMap<String, String>, max: usize) -> Result<(usize, usize), Response> {
    let size = match query.get("maxResults") {
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| param_error("maxResults must be a number"))?,
        None => max,
    };
    if size == 0 || size > max {
        return Err(param_error(&format!(
            "maxResults must be between 1 and {max}"
        )));
    }
    let offset = match query.get("nextToken").filter(|t| !t.is_empty()) {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| param_error("nextToken is invalid"))?,
        None => 0,
    };
    Ok((offset, size))
}

fn next_token(offset: usize, taken: usize, total: usize) -> Value {
    if offset + taken < total {
        json!((offset + taken).to_string())
    } else {
        Value::Null
    }
}

/// A document node the operator may use, or the documented error.
fn accessible<'a>(docs: &'a OpenApiState, id: &str, operator: &str) -> Result<&'a Node, Response> {
    let node = docs.docs.resolve(id).ok_or_else(doc_not_exist)?;
    if !docs.docs.can_access(node, operator) {
        return Err(access_denied());
    }
    Ok(node)
}

async fn list_workspaces(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let op = match operator(&state, &headers, &q, None) {
        Ok(op) => op,
        Err(e) => return e,
    };
    let (offset, size) = match page_args(&q, MAX_WORKSPACES_PAGE) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let inner = state.lock();
    let all: Vec<Value> = inner
        .openapi
        .docs
        .workspaces
        .iter()
        .filter(|w| w.allows(&op))
        .map(|w| w.to_json())
        .collect();
    let page: Vec<Value> = all.iter().skip(offset).take(size).cloned().collect();
    Json(json!({"workspaces": page, "nextToken": next_token(offset, page.len(), all.len())}))
        .into_response()
}

async fn mine_workspace(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let op = match operator(&state, &headers, &q, None) {
        Ok(op) => op,
        Err(e) => return e,
    };
    let inner = state.lock();
    match inner
        .openapi
        .docs
        .workspaces
        .iter()
        .find(|w| w.kind == "PERSONAL" && w.owner.as_deref() == Some(op.as_str()))
    {
        Some(ws) => Json(json!({"workspace": ws.to_json()})).into_response(),
        None => new_api_error(StatusCode::NOT_FOUND, "workspaceNotExist", "知识库不存在"),
    }
}

async fn list_nodes(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Query(q): Q,
) -> Response {
    let op = match operator(&state, &headers, &q, None) {
        Ok(op) => op,
        Err(e) => return e,
    };
    let Some(parent) = q.get("parentNodeId").filter(|p| !p.is_empty()) else {
        return param_error("parentNodeId is required");
    };
    let (offset, size) = match page_args(&q, MAX_NODES_PAGE) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let inner = state.lock();
    let parent = match accessible(&inner.openapi, parent, &op) {
        Ok(node) => node,
        Err(e) => return e,
    };
    let docs = &inner.openapi.docs;
    let children = docs.children(&parent.node_id);
    let page: Vec<Value> = children
        .iter()
        .skip(offset)
        .take(size)
        .map(|n| n.to_json(docs.has_children(&n.node_id)))
        .collect();
    Json(json!({"nodes": page, "nextToken": next_token(offset, page.len(), children.len())}))
        .into_response()
}

async fn get_node(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let op = match operator(&state, &headers, &q, None) {
        Ok(op) => op,
        Err(e) => return e,
    };
    let inner = state.lock();
    match accessible(&inner.openapi, &id, &op) {
        Ok(node) => {
            Json(json!({"node": node.to_json(inner.openapi.docs.has_children(&node.node_id))}))
                .into_response()
        }
        Err(e) => e,
    }
}

async fn create_doc(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(workspace_id): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return param_error("body must be JSON");
    };
    let op = match operator(&state, &headers, &q, Some(&body)) {
        Ok(op) => op,
        Err(e) => return e,
    };
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
    else {
        return param_error("name is required");
    };
    let folder = match body.get("docType").and_then(Value::as_str) {
        Some("DOC" | "WORKBOOK" | "MIND") => false,
        Some("FOLDER") => true,
        _ => return param_error("docType must be DOC, WORKBOOK, MIND or FOLDER"),
    };
    let mut inner = state.lock();
    let docs = &mut inner.openapi.docs;
    let Some(ws) = docs.workspace(&workspace_id) else {
        return new_api_error(StatusCode::NOT_FOUND, "workspaceNotExist", "知识库不存在");
    };
    if !ws.allows(&op) {
        return access_denied();
    }
    let root = ws.root_node_id.clone();
    let parent = match body
        .get("parentNodeId")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        Some(parent) => match docs.resolve(parent) {
            Some(node) if node.folder && node.workspace_id == workspace_id => node.node_id.clone(),
            Some(_) => return param_error("parentNodeId is not a folder of this workspace"),
            None => return doc_not_exist(),
        },
        None => root,
    };
    let node = docs.create(&workspace_id, &parent, name.trim(), folder, &op);
    // The fields of `CreateWorkspaceDocResponseBody` (aliyun/dingtalk-sdk
    // dingtalk/java/src/main/java/com/aliyun/dingtalkdoc_1_0/models/CreateWorkspaceDocResponseBody.java),
    // three distinct ids as the real service hands out.
    Json(json!({
        "workspaceId": workspace_id,
        "nodeId": node.create_node_id,
        "docKey": node.doc_key,
        "dentryUuid": node.node_id,
        "url": format!("{}{}", super::docs_model::DOC_URL_PREFIX, node.node_id),
    }))
    .into_response()
}

async fn get_blocks(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(doc): Path<String>,
    Query(q): Q,
) -> Response {
    let op = match operator(&state, &headers, &q, None) {
        Ok(op) => op,
        Err(e) => return e,
    };
    let inner = state.lock();
    let node = match accessible(&inner.openapi, &doc, &op) {
        Ok(node) if !node.folder => node,
        Ok(_) => return param_error("the node is a folder, not a document"),
        Err(e) => return e,
    };
    let index = |name: &str| q.get(name).and_then(|v| v.parse::<usize>().ok());
    let start = index("startIndex").unwrap_or(0);
    let end = index("endIndex").unwrap_or(usize::MAX);
    let wanted = q.get("blockType").filter(|t| !t.is_empty());
    let data: Vec<Value> = node
        .blocks
        .iter()
        .enumerate()
        .filter(|(i, b)| *i >= start && *i <= end && wanted.is_none_or(|t| t == b.wire_type()))
        .map(|(i, b)| b.to_json(i))
        .collect();
    Json(json!({"success": true, "result": {"data": data}})).into_response()
}

/// Shared prologue of the two writes: parse, operator, writable document.
fn write_target(
    state: &SimState,
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    doc: &str,
    body: &Bytes,
) -> Result<(String, Value), Response> {
    let body: Value = serde_json::from_slice(body).map_err(|_| param_error("body must be JSON"))?;
    let op = operator(state, headers, q, None)?;
    let inner = state.lock();
    match accessible(&inner.openapi, doc, &op)? {
        node if node.folder => Err(param_error("the node is a folder, not a document")),
        _ => Ok((op, body)),
    }
}

async fn append_content(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(doc): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let (op, body) = match write_target(&state, &headers, &q, &doc, &body) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let content = body.get("content");
    if content.and_then(|c| c.get("type")).and_then(Value::as_str) != Some("markdown") {
        return param_error("content.type must be markdown");
    }
    let Some(text) = content
        .and_then(|c| c.get("content"))
        .and_then(Value::as_str)
    else {
        return param_error("content.content is required");
    };
    let index = body
        .get("index")
        .and_then(Value::as_u64)
        .map(|i| i as usize);
    let mut inner = state.lock();
    let docs = &mut inner.openapi.docs;
    let Some(node) = docs.resolve_mut(&doc) else {
        return doc_not_exist();
    };
    let blocks = markdown::parse(text);
    let at = index.unwrap_or(node.blocks.len()).min(node.blocks.len());
    node.blocks.splice(at..at, blocks);
    node.touch(&op);
    let node_id = node.node_id.clone();
    docs.apply_concurrent_edit(&node_id);
    Json(json!({"success": true, "result": {}})).into_response()
}

async fn overwrite_content(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Path(doc): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let (op, body) = match write_target(&state, &headers, &q, &doc, &body) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let Some(text) = body.get("content").and_then(Value::as_str) else {
        return param_error("content is required");
    };
    if body.get("dataType").and_then(Value::as_str) != Some("markdown") {
        return param_error("dataType must be markdown");
    }
    if text.chars().count() > MAX_OVERWRITE_CHARS {
        return param_error("content exceeds 50000 characters");
    }
    let mut inner = state.lock();
    let docs = &mut inner.openapi.docs;
    let Some(node) = docs.resolve_mut(&doc) else {
        return doc_not_exist();
    };
    node.blocks = markdown::parse(text);
    node.touch(&op);
    let node_id = node.node_id.clone();
    docs.apply_concurrent_edit(&node_id);
    Json(json!({"success": true, "result": {}})).into_response()
}

async fn search_dentries(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return param_error("body must be JSON");
    };
    let op = match operator(&state, &headers, &q, Some(&body)) {
        Ok(op) => op,
        Err(e) => return e,
    };
    let Some(keyword) = body
        .get("keyword")
        .and_then(Value::as_str)
        .filter(|k| !k.trim().is_empty())
    else {
        return param_error("keyword is required");
    };
    let option = body.get("option").cloned().unwrap_or(Value::Null);
    let mut page_query = HashMap::new();
    if let Some(n) = option.get("maxResults").and_then(Value::as_u64) {
        page_query.insert("maxResults".to_owned(), n.to_string());
    }
    if let Some(t) = option.get("nextToken").and_then(Value::as_str) {
        page_query.insert("nextToken".to_owned(), t.to_owned());
    }
    let (offset, size) = match page_args(&page_query, MAX_SEARCH_PAGE) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let keyword = keyword.trim().to_lowercase();
    let inner = state.lock();
    let org = &inner.openapi;
    let person = |union_id: &str| {
        let name = org
            .directory
            .by_union_id(union_id)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        json!({"name": name, "unionId": union_id})
    };
    let hits: Vec<&Node> = org
        .docs
        .nodes
        .values()
        .filter(|n| !n.folder && n.parent_id.is_some())
        .filter(|n| n.name.to_lowercase().contains(&keyword) && org.docs.can_access(n, &op))
        .collect();
    let page: Vec<Value> = hits
        .iter()
        .skip(offset)
        .take(size)
        // `SearchDentriesResponseBodyItems`: dentryUuid, name, creator, modifier, lastModifyTime (an int;
        // aliyun/dingtalk-sdk dingtalk/python/alibabacloud_dingtalk/storage_2_0/models.py).
        .map(|n| json!({"dentryUuid": n.node_id, "name": n.name, "creator": person(&n.creator), "modifier": person(&n.modifier), "lastModifyTime": n.modified_ms}))
        .collect();
    Json(json!({"items": page, "nextToken": next_token(offset, page.len(), hits.len())}))
        .into_response()
}
