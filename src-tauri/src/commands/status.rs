//! `get_status` (dashboard and settings windows): the engine's status snapshot, the same JSON as
//! `GET /api/status` of `dingbridged`.

use tauri::State;

use super::CommandError;
use crate::engine::StatusSnapshot;
use crate::lifecycle::Shell;

/// Async so it never runs on the GTK main thread; the snapshot is taken on the blocking pool because
/// building it may read the store.
#[tauri::command]
pub async fn get_status(shell: State<'_, Shell>) -> Result<StatusSnapshot, CommandError> {
    let engine = shell
        .supervisor
        .engine()
        .ok_or_else(CommandError::starting)?;
    super::blocking(move || Ok(engine.status())).await
}

/// `get_health` (dashboard): the agent's reachability and sessions, the MCP URL and the last hour by minute,
/// the same JSON as `GET /api/health` of `dingbridged`.
#[tauri::command]
pub async fn get_health(
    shell: State<'_, Shell>,
) -> Result<dingbridge_core::api::health::HealthView, CommandError> {
    let engine = shell
        .supervisor
        .engine()
        .ok_or_else(CommandError::starting)?;
    let core = engine
        .core()
        .cloned()
        .ok_or_else(|| CommandError::new("UNSUPPORTED", "this engine reports no health"))?;
    dingbridge_core::api::health::health(&core)
        .await
        .map_err(|err| CommandError::internal(err.to_string()))
}
