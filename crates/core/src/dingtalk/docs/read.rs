//! `get_doc`: `GET /v2.0/wiki/nodes/{id}` (title, author, times) + `GET …/documents/{id}/blocks`, rendered
//! locally (`render.rs`: blocks the API cannot read back become visible placeholders).
//!
//! Invariant: `version` is the node's `modifiedTimestamp` when the API gives it (see `wire.rs`), so an
//! `update_doc` with this `base_version` notices a change made within the same minute.

use serde_json::json;

use super::error::DocsError;
use super::render::{parse_blocks, render};
use super::service::{DocsService, required_id};
use super::types::{Caller, GetDocParams, GetDocResult};

impl DocsService {
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
        Ok(GetDocResult {
            content: render(&parse_blocks(&blocks), params.format),
            format: params.format,
            version: node.version(),
            update_time: node.update_time(),
            title: node.name,
            author,
        })
    }
}
