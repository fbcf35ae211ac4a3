//! `agent_server_action` (dashboard window only): Start / Stop / Restart of a managed OpenCode server, the
//! same core function and JSON as `POST /api/agent-servers/{project}/{action}` of `dingbridged`.

use dingbridge_core::agent::opencode::managed::ServerStatus;
use tauri::State;

use super::CommandError;
use crate::lifecycle::Shell;

#[tauri::command]
pub async fn agent_server_action(
    shell: State<'_, Shell>,
    project: String,
    action: String,
) -> Result<ServerStatus, CommandError> {
    let engine = shell
        .supervisor
        .engine()
        .ok_or_else(CommandError::starting)?;
    let core = engine.core().cloned().ok_or_else(|| {
        CommandError::new("NOT_MANAGED", "this engine runs no OpenCode of its own")
    })?;
    Ok(dingbridge_core::api::agent_servers::act(&core, &project, &action).await?)
}
