//! The MCP server: one rmcp handler ([`DingBridgeMcp`]) with DingBridge's tools, resources and prompts,
//! served over Streamable HTTP, legacy HTTP+SSE and (through the `dingbridge-mcp` helper) stdio.
//!
//! - [`backend`]: what the tools need from the engine ([`McpBackend`]); [`engine_backend`] implements it.
//! - [`tools`], [`resources`], [`prompts`]: the MCP surface; [`types`]: its schemas; [`error`]: tool errors;
//!   [`arguments`]: every tool's arguments checked against its schema (one error shape for bad input).
//! - [`http`]: the axum server (`/mcp`, `/sse`, `/messages`, `/health`) with Host/Origin/bearer checks.
//! - [`token`]: the bearer token (secret store, rotation); [`runtime_file`]: how the helper finds the app.

pub mod activity;
pub mod arguments;
pub mod availability;
pub mod backend;
pub mod engine_backend;
pub mod error;
pub mod handler;
pub mod http;
mod localize;
pub mod output_schema;
pub mod prompts;
pub mod resources;
pub mod runtime_file;
pub mod token;
pub mod tools;
pub mod types;

pub use backend::{HistoryQuery, McpBackend, ToolAvailability};
pub use engine_backend::EngineBackend;
pub use error::{ToolCode, ToolFailure};
pub use handler::DingBridgeMcp;
pub use token::McpToken;
