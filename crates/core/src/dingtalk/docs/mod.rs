//! DingTalk Docs tools (create/get/update/list), mapped onto the documented Docs/Wiki endpoints only
//! (protocol notes §6.2; every endpoint and its public source: `docs/dingtalk-api.md`). Every call runs as
//! an *operator* (a user's unionId, `operatorId`).

mod create;
mod error;
mod listing;
mod read;
mod readback;
mod render;
mod service;
mod types;
mod update;
mod wire;

pub use error::DocsError;
pub use render::{Block, parse_blocks, render};
pub use service::{DocsService, MAX_OVERWRITE_CHARS, OPERATOR_SETTING};
pub use types::{
    Caller, CreateDocParams, CreateDocResult, DocFormat, DocSummary, GetDocParams, GetDocResult,
    ListDocsParams, ListDocsResult, OperatorRef, Pagination, SortBy, SortOrder, UpdateDocParams,
    UpdateDocResult, UpdateMode,
};
