//! Shared plumbing of the `dingbridged` and `dingbridge-mcp` binaries.

pub mod demo;
pub mod logging;
pub mod shutdown;
pub mod ui_dir;
