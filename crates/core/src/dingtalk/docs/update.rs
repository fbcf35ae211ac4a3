//! `update_doc`: overwrite (`POST …/documents/{id}/overwriteContent`, ≤ 50,000 chars) or append
//! (`POST …/documents/{id}/content`), with the best-effort conflict check DingTalk's API allows.
//!
//! DingTalk has no ETag/If-Match on document writes, so concurrent changes are detected around the write:
//! 1. before: the node's version (`modifiedTimestamp`, see `wire.rs`) is read; if the caller passed
//!    `base_version` (the `version` of its `get_doc`) and the document has changed since, nothing is
//!    written (CONFLICT_ERROR, `written: false`);
//! 2. after: the document is read back; if the part of its text the blocks API returns faithfully is not
//!    what this write produced (overwrite: equal; append: ends with it), someone else changed it in between
//!    (CONFLICT_ERROR, `written: true`). Tables, code blocks and images are left out on both sides
//!    (`readback.rs`), so they never cause a conflict.
//!
//! A change that lands between our write and the read-back and leaves our text intact is not detected.

use serde_json::json;

use super::error::DocsError;
use super::readback;
use super::render::parse_blocks;
use super::service::{DocsService, check_overwrite_length, required_id};
use super::types::{Caller, UpdateDocParams, UpdateDocResult, UpdateMode};

impl DocsService {
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
        let before_version = before.version();
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
        let version = after.version();
        let text = readback::read(&parse_blocks(&self.blocks(id, &op).await?));
        let ours = readback::written(&params.content);
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
            update_time: after.update_time(),
            version,
        })
    }
}
