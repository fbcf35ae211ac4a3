//! `create_doc`: `GET /v2.0/wiki/mineWorkspaces` (default workspace) → `POST /v1.0/doc/workspaces/{ws}/docs`
//! → `POST /v1.0/doc/suites/documents/{id}/overwriteContent` (markdown, when given) →
//! `GET /v2.0/wiki/nodes/{id}` (title and times as DingTalk stored them).
//!
//! Invariant: the id handed out and used for the first write is the answer's `dentryUuid` (then `docKey`),
//! never its `nodeId`, which the content endpoints refuse with `docNotExist` (issue 11 item 1).

use reqwest::Method;
use serde_json::{Value, json};

use super::error::DocsError;
use super::service::{DocsService, check_overwrite_length, checked_id, seg};
use super::types::{Caller, CreateDocParams, CreateDocResult};
use super::wire::{CreateAnswer, time_text};
use crate::dingtalk::openapi::{ApiRequest, OpenApiError};

impl DocsService {
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
        let space_id = params.space_id.as_deref().filter(|s| !s.is_empty());
        let space_id = space_id
            .map(|id| checked_id("space_id", id, "a workspace id"))
            .transpose()?;
        let folder_id = params.folder_id.as_deref().filter(|f| !f.is_empty());
        let folder_id = folder_id
            .map(|id| checked_id("folder_id", id, "a folder id from list_docs"))
            .transpose()?;
        let op = self.operator_for(caller).await?;
        let workspace_id = match space_id {
            Some(id) => id.to_owned(),
            None => self.mine_workspace(&op).await?.workspace_id,
        };
        let mut body = json!({"name": title, "docType": "DOC", "operatorId": op});
        if let (Some(folder), Value::Object(map)) = (folder_id, &mut body) {
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
        let document_id = created.document_id().ok_or_else(|| {
            OpenApiError::Decode("create answer lacks both dentryUuid and docKey".into())
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
}
