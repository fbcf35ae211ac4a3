//! OpenCode backend: drives `opencode serve` over its HTTP API (sessions, `prompt_async`, the `/event`
//! SSE stream, abort, permission replies). Wire facts: `mcp-notes.md` §3.7.

mod backend;
mod client;
mod config;
mod events;
mod hub;
pub mod managed;
mod resume;
mod sessions;
mod turn;
mod wire;

pub use backend::{OpenCodeBackend, prompt_text};
pub use client::{ClientError, OpenCodeClient};
pub use config::{
    DEFAULT_BASE_URL, DEFAULT_USERNAME, OpenCodeSettings, PASSWORD_ENV, USERNAME_ENV,
    password_from_env,
};
pub use sessions::{BACKEND_NAME, session_title};
