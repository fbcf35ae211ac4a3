//! `reveal_mcp_token` / `rotate_mcp_token` (settings window): the only calls that hand a secret to the UI,
//! once, on the user's request. The token is the running MCP server's (so a rotation takes effect at
//! once) or, with no server running, the stored one.

use std::sync::Arc;

use dingbridge_core::mcp::McpToken;
use secrecy::ExposeSecret;
use serde::Serialize;
use tauri::State;

use super::CommandError;
use crate::lifecycle::Shell;

/// `{ "token": "dbm_…" }`. Deliberately not `Debug`: it holds the token in clear.
#[derive(Serialize)]
pub struct TokenReply {
    token: String,
}

#[tauri::command]
pub async fn reveal_mcp_token(shell: State<'_, Shell>) -> Result<TokenReply, CommandError> {
    let token = token(&shell);
    super::blocking(move || {
        let token = token()?;
        Ok(TokenReply {
            token: token.current().expose_secret().to_owned(),
        })
    })
    .await
}

/// Replaces the token: clients using the old one get 401 from then on.
#[tauri::command]
pub async fn rotate_mcp_token(shell: State<'_, Shell>) -> Result<TokenReply, CommandError> {
    let token = token(&shell);
    super::blocking(move || {
        let token = token()?.rotate()?;
        Ok(TokenReply {
            token: token.expose_secret().to_owned(),
        })
    })
    .await
}

/// The running server's token, else the stored one (created on first use), read on the blocking pool.
fn token(shell: &Shell) -> impl FnOnce() -> Result<Arc<McpToken>, CommandError> + Send + 'static {
    let running = shell.supervisor.engine().and_then(|engine| engine.mcp());
    let secrets = shell.profile.secrets.clone();
    move || match running {
        Some(mcp) => Ok(mcp.token),
        None => Ok(Arc::new(McpToken::load_or_create(secrets)?)),
    }
}
