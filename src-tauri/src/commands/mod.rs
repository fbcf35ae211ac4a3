//! Tauri commands: thin adapters from the webviews to the core (`docs/settings-api.md`, Tauri column).
//!
//! Invariant: every command here is also listed in `build.rs` (app manifest) and granted by exactly the
//! capabilities of the windows that use it (`capabilities/main.json`, `capabilities/settings.json`); the
//! mock-runtime tests check both windows against every command. Anything that may block (keychain, files)
//! runs on the blocking pool.

pub mod agent_servers;
pub mod app;
pub mod conversations;
pub mod error;
pub mod mcp_token;
pub mod opencode;
pub mod settings;
pub mod status;

pub use error::CommandError;

/// Runs blocking work (keychain D-Bus calls, file I/O) off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CommandError> + Send + 'static,
) -> Result<T, CommandError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|error| CommandError::internal(format!("background task failed: {error}")))?
}
