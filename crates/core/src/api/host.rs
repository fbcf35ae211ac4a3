//! What the dashboard's routes need from the process serving them. `dingbridged` implements it (and
//! restarts its engine when saved settings need it); tests implement it over a single engine.

use std::sync::Arc;

use crate::config::Config;
use crate::engine::Engine;
use crate::mcp::token::McpToken;
use crate::settings::{OpenCodeIntegration, Runtime, SettingsError, SettingsService};

#[async_trait::async_trait]
pub trait DashboardHost: Send + Sync + 'static {
    /// The engine running now; `None` while it is being (re)started (routes then answer `STARTING`).
    fn engine(&self) -> Option<Engine>;
    /// What the settings view reports as runtime facts (mode, MCP URL).
    fn runtime(&self) -> Runtime;
    fn settings(&self) -> Arc<SettingsService>;
    fn opencode(&self) -> OpenCodeIntegration;
    /// The MCP bearer token, when an MCP server runs.
    fn mcp_token(&self) -> Option<Arc<McpToken>>;
    /// Makes a just-saved configuration take effect without restarting the process.
    async fn apply(&self, config: Config) -> Result<(), SettingsError>;
}
