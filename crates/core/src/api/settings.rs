//! Settings data shown to the user (`GET /api/settings`): how to point OpenCode at DingBridge, with the exact
//! configs from design.md, and who may talk to the agent. Never contains a secret: the remote config refers
//! to the token through OpenCode's `{env:DINGBRIDGE_TOKEN}` substitution.

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Config;

#[derive(Clone, Debug, Serialize)]
pub struct SettingsView {
    /// Where the MCP server listens (None when it is disabled or could not start).
    pub mcp_url: Option<String>,
    /// OpenCode `mcp` entries, verbatim: `local` runs the stdio helper, `remote` talks HTTP.
    pub opencode_local: Value,
    pub opencode_remote: Option<Value>,
    pub agent_backend: String,
    pub opencode_url: String,
    pub allowed_staff_ids: Vec<String>,
    pub allowed_groups: Vec<String>,
}

impl SettingsView {
    pub fn new(config: &Config, mcp_url: Option<String>) -> Self {
        Self {
            opencode_local: json!({"type": "local", "command": ["dingbridge-mcp"]}),
            opencode_remote: mcp_url.as_ref().map(|url| {
                json!({
                    "type": "remote",
                    "url": url,
                    "oauth": false,
                    "headers": {"Authorization": "Bearer {env:DINGBRIDGE_TOKEN}"},
                })
            }),
            mcp_url,
            agent_backend: config.agent.backend.clone(),
            opencode_url: config.agent.opencode_url.clone(),
            allowed_staff_ids: config.access.allowed_staff_ids.clone(),
            allowed_groups: config.access.allowed_groups.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opencode_configs_are_exactly_the_documented_ones() {
        let view = SettingsView::new(&Config::default(), Some("http://127.0.0.1:8766/mcp".into()));
        assert_eq!(
            view.opencode_local.to_string(),
            r#"{"command":["dingbridge-mcp"],"type":"local"}"#
        );
        let remote = view.opencode_remote.unwrap();
        assert_eq!(remote["url"], "http://127.0.0.1:8766/mcp");
        assert_eq!(remote["oauth"], false);
        assert_eq!(
            remote["headers"]["Authorization"],
            "Bearer {env:DINGBRIDGE_TOKEN}"
        );
    }

    #[test]
    fn without_an_mcp_server_there_is_no_remote_config() {
        assert!(
            SettingsView::new(&Config::default(), None)
                .opencode_remote
                .is_none()
        );
    }
}
