//! App-level commands: open the settings window (dashboard), try the demo and the autostart toggle
//! (settings window). Autostart is toggled here, in Rust, so no webview holds an `autostart:*` permission.

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_autostart::AutoLaunchManager;

use super::CommandError;
use crate::lifecycle::Shell;
use crate::profile::Want;
use crate::windows;

/// `open_settings` (dashboard window): shows the settings window, creating it if needed.
#[tauri::command]
pub fn open_settings<R: Runtime>(app: AppHandle<R>) -> Result<(), CommandError> {
    windows::open_settings(&app).map_err(|error| {
        CommandError::internal(format!("cannot open the settings window: {error}"))
    })
}

/// `start_demo` ("Try the demo", settings window): runs the demo, labelled, and shows the dashboard.
#[tauri::command]
pub async fn start_demo<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
) -> Result<(), CommandError> {
    shell.start(Want::Demo).await?;
    windows::open_main(&app)
        .map_err(|error| CommandError::internal(format!("cannot open the dashboard: {error}")))
}

/// `{ "enabled": bool }`, request and response of the autostart calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autostart {
    pub enabled: bool,
}

#[tauri::command]
pub async fn get_autostart<R: Runtime>(app: AppHandle<R>) -> Result<Autostart, CommandError> {
    super::blocking(move || {
        let manager = autostart(&app)?;
        let enabled = manager.is_enabled().map_err(autostart_error)?;
        Ok(Autostart { enabled })
    })
    .await
}

/// Starts the app at login, minimized to the tray (`--minimized`), or stops doing so.
#[tauri::command]
pub async fn set_autostart<R: Runtime>(
    app: AppHandle<R>,
    enabled: bool,
) -> Result<Autostart, CommandError> {
    super::blocking(move || {
        let manager = autostart(&app)?;
        let result = if enabled {
            manager.enable()
        } else {
            manager.disable()
        };
        result.map_err(autostart_error)?;
        let enabled = manager.is_enabled().map_err(autostart_error)?;
        Ok(Autostart { enabled })
    })
    .await
}

fn autostart<R: Runtime>(app: &AppHandle<R>) -> Result<State<'_, AutoLaunchManager>, CommandError> {
    app.try_state::<AutoLaunchManager>()
        .ok_or_else(|| CommandError::new("AUTOSTART", "autostart is not available in this build"))
}

fn autostart_error(error: tauri_plugin_autostart::Error) -> CommandError {
    CommandError::new("AUTOSTART", format!("cannot change autostart: {error}"))
}
