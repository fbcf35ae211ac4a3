//! The org-side OpenAPI surface used by the bridge's tools (protocol doc §4, §5, §6.2): token checks on
//! every call, throttling/quota/IP-ban fault injection, contacts (user search + details) and DingTalk Docs
//! (workspaces, nodes, documents made of blocks). Everything lives in [`OpenApiState`] behind the one
//! simulator lock.

// Handlers' helpers return the ready error `Response` as `Err` so each handler is a straight line of `?`-like
// early returns; the size of `Response` does not matter on these test-only paths.
#![allow(clippy::result_large_err)]

mod auth;
mod contacts;
mod docs;
mod docs_model;
mod markdown;
mod seed;

use std::sync::Arc;

use axum::Router;

use crate::state::SimState;

pub use auth::{ApiFaults, check_new_api, middleware};
pub use contacts::{Directory, SimUser};
pub use docs_model::DocStore;

/// All org data plus the OpenAPI fault switches. `Default` is the seeded demo org.
pub struct OpenApiState {
    pub faults: ApiFaults,
    pub directory: Directory,
    pub docs: DocStore,
}

impl Default for OpenApiState {
    fn default() -> Self {
        let mut state = Self {
            faults: ApiFaults::default(),
            directory: Directory::default(),
            docs: DocStore::default(),
        };
        seed::seed(&mut state);
        state
    }
}

impl OpenApiState {
    /// Adds a user and gives them a personal "my documents" workspace, as DingTalk does.
    pub fn add_user(&mut self, user: SimUser) {
        self.docs
            .ensure_personal_workspace(&user.union_id, &user.name);
        self.directory.insert(user);
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .merge(contacts::routes())
        .merge(docs::routes())
}

impl crate::Sim {
    /// Adds (or replaces) an org member with a personal workspace.
    pub fn add_user(&self, user: SimUser) {
        self.state().lock().openapi.add_user(user);
    }

    /// An org member by userId.
    pub fn user(&self, user_id: &str) -> Option<SimUser> {
        self.state()
            .lock()
            .openapi
            .directory
            .by_user_id(user_id)
            .cloned()
    }

    /// Every issued access token stops being valid now (as if they all expired): the next OpenAPI call
    /// with a cached token gets `InvalidAuthentication`.
    pub fn force_token_expiry(&self) {
        self.state().lock().tokens = crate::oauth::TokenState::default();
    }

    /// A TEAM workspace whose members are the given userIds; returns its workspaceId.
    pub fn add_team_workspace(&self, name: &str, member_user_ids: &[&str]) -> String {
        let mut inner = self.state().lock();
        let members = member_user_ids
            .iter()
            .filter_map(|id| {
                inner
                    .openapi
                    .directory
                    .by_user_id(id)
                    .map(|u| u.union_id.clone())
            })
            .collect();
        inner
            .openapi
            .docs
            .add_workspace(name, "TEAM", None, members)
    }

    /// Someone else appends `markdown` to the document now (a human editing in the DingTalk client).
    pub fn edit_doc(&self, doc_id: &str, markdown: &str) -> bool {
        let mut inner = self.state().lock();
        let Some(node) = inner.openapi.docs.resolve_mut(doc_id) else {
            return false;
        };
        node.blocks.extend(markdown::parse(markdown));
        node.touch("someone-else");
        true
    }

    /// Someone else appends `markdown` right after the client's next write to this document.
    pub fn edit_doc_after_next_write(&self, doc_id: &str, markdown: &str) {
        let mut inner = self.state().lock();
        let id = inner
            .openapi
            .docs
            .resolve(doc_id)
            .map(|n| n.node_id.clone())
            .unwrap_or_else(|| doc_id.to_owned());
        inner
            .openapi
            .docs
            .concurrent_edits
            .insert(id, markdown.to_owned());
    }

    /// Current write counter of a document (None if unknown).
    pub fn doc_version(&self, doc_id: &str) -> Option<u64> {
        self.state()
            .lock()
            .openapi
            .docs
            .resolve(doc_id)
            .map(|n| n.version)
    }

    /// Requests that reached the token endpoint, failed ones included.
    pub fn token_requests(&self) -> u64 {
        self.state().lock().openapi.faults.token_requests
    }

    /// Requests that reached an OpenAPI path (query excluded), injected failures included.
    pub fn openapi_calls(&self, path: &str) -> u64 {
        self.state()
            .lock()
            .openapi
            .faults
            .calls
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl crate::Faults {
    /// The next `count` token requests answer 503.
    pub fn set_token_failures(&self, count: u32) {
        self.state().lock().openapi.faults.token_failures = count;
    }

    /// The next `count` calls whose path starts with `path_prefix` answer the QPS limit
    /// (403 `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi`, or errcode 90018 on the old API).
    pub fn throttle_next(&self, path_prefix: &str, count: u32) {
        self.state()
            .lock()
            .openapi
            .faults
            .throttles
            .push((path_prefix.to_owned(), count));
    }

    /// The next `count` quota-counted calls (Docs) answer 403 `Forbidden.AccessDenied.ApiCountLimitForOrg`.
    pub fn quota_exhausted_next(&self, count: u32) {
        self.state().lock().openapi.faults.quota_exhausted = count;
    }

    /// The next `count` OpenAPI calls answer the anti-DDoS ban body `{"status":1111,"wait":5,...}`.
    pub fn ip_ban_next(&self, count: u32) {
        self.state().lock().openapi.faults.ip_bans = count;
    }
}
