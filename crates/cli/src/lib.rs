//! Shared plumbing of the `dingbridged` and `dingbridge-mcp` binaries.

pub mod bridge_host;
pub mod credentials;
pub mod demo;
pub mod logging;
pub mod mcp_failsafe;
pub mod mcp_locate;
pub mod mcp_pump;
pub mod mcp_serve;
pub mod opencode_cmd;
pub mod shutdown;
pub mod ui_dir;
