//! Tauri commands: thin adapters from the webview to the engine. Each one must also be listed in
//! `build.rs` (app manifest) and granted in `capabilities/` before a window may call it.

use serde::Serialize;
use tauri::State;

use crate::engine::{EngineSlot, StatusSnapshot};

/// What a failed command returns to JavaScript: a stable machine-readable `code` plus a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    pub code: &'static str,
    pub message: String,
}

impl CommandError {
    fn starting() -> Self {
        Self {
            code: "starting",
            message: "the engine is still starting".to_owned(),
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        Self {
            code: "internal",
            message: message.into(),
        }
    }
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CommandError {}

/// The dashboard's status snapshot (the same JSON as `GET /api/status` of `dingbridged`).
///
/// Async so it never runs on the GTK main thread; the snapshot is taken on the blocking pool because
/// building it may read the store.
#[tauri::command]
pub async fn get_status(engine: State<'_, EngineSlot>) -> Result<StatusSnapshot, CommandError> {
    let engine = engine.get().cloned().ok_or_else(CommandError::starting)?;
    tauri::async_runtime::spawn_blocking(move || engine.status())
        .await
        .map_err(|error| CommandError::internal(format!("status snapshot task failed: {error}")))
}
