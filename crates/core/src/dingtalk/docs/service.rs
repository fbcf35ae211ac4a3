//! The Docs service: who a call runs as (the operator, a user's unionId) and the single calls every tool is
//! made of. The tools themselves live in `create.rs`, `read.rs`, `update.rs` and `listing.rs`; each endpoint
//! and the public source it was checked against is listed in `docs/dingtalk-api.md`.
//!
//! Invariant: a `document_id` is the document's `dentryUuid` (= the wiki `nodeId` of the node APIs), or
//! its `docKey` when a create answer lacks the `dentryUuid`; both the node and the content endpoints take
//! it. The create answer's own `nodeId` is never used (issue 11 item 1).

use std::sync::{Arc, RwLock};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::DocsError;
use super::types::{Caller, OperatorRef};
use super::wire::{BlocksAnswer, MineAnswer, Node, NodeAnswer, Workspace};
use crate::dingtalk::contacts::ContactsService;
use crate::dingtalk::openapi::{ApiRequest, OpenApiClient};

/// `overwriteContent` limit (api-doc-updatecontent).
pub const MAX_OVERWRITE_CHARS: usize = 50_000;
/// Store key of the resolved operator (`{"source": OperatorRef, "union_id": "..."}`).
pub const OPERATOR_SETTING: &str = "docs.operator";

#[derive(Serialize, Deserialize)]
struct StoredOperator {
    source: OperatorRef,
    union_id: String,
}

#[derive(Clone)]
pub struct DocsService {
    pub(super) api: OpenApiClient,
    pub(super) contacts: ContactsService,
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

    pub(super) async fn mine_workspace(&self, op: &str) -> Result<Workspace, DocsError> {
        let answer: MineAnswer = self
            .api
            .call(
                ApiRequest::new_api(Method::GET, "/v2.0/wiki/mineWorkspaces")
                    .query("operatorId", op),
            )
            .await?;
        Ok(answer.workspace)
    }
    pub(super) async fn node(&self, id: &str, op: &str) -> Result<Node, DocsError> {
        let answer: NodeAnswer = self
            .api
            .call(
                ApiRequest::new_api(Method::GET, format!("/v2.0/wiki/nodes/{}", seg(id)))
                    .query("operatorId", op),
            )
            .await?;
        Ok(answer.node)
    }

    pub(super) async fn blocks(&self, id: &str, op: &str) -> Result<Vec<Value>, DocsError> {
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

    pub(super) async fn overwrite(
        &self,
        id: &str,
        op: &str,
        markdown: &str,
    ) -> Result<(), DocsError> {
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

    pub(super) async fn append(&self, id: &str, op: &str, markdown: &str) -> Result<(), DocsError> {
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

pub(super) fn required_id(id: &str) -> Result<&str, DocsError> {
    checked_id(
        "document_id",
        id,
        "a document id from create_doc or list_docs",
    )
}

/// Checks an id that goes into a URL path or a DingTalk call. DingTalk's document, node and workspace ids
/// are letters, digits, `-` and `_`; anything else (`/`, `.`, `..`, `%2e`, spaces, …) is refused with
/// INVALID_PARAMS rather than sent, so an id can never become a dot-segment or a second path segment.
pub(super) fn checked_id<'a>(
    field: &'static str,
    id: &'a str,
    what: &str,
) -> Result<&'a str, DocsError> {
    let id = id.trim();
    let valid = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(DocsError::invalid(
            format!("{field} must be {what} (letters, digits, `-` and `_` only)"),
            json!({"field": field, "reason": "invalid_id"}),
        ));
    }
    Ok(id)
}

/// Longer than any id DingTalk issues; keeps an absurd value out of URLs and logs.
const MAX_ID_LEN: usize = 128;

/// Ids go into URL paths: percent-encode anything outside the unreserved set.
pub(super) fn seg(id: &str) -> String {
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

pub(super) fn check_overwrite_length(content: &str) -> Result<(), DocsError> {
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
