//! "Connect OpenCode": the local and remote MCP configs and the `mcp.dingtalk` entry in OpenCode's global
//! config (`get_opencode_setup` in both windows, `add_to_opencode` in the settings window), and the tray's
//! "Copy MCP config".

use dingbridge_core::settings::{OpenCodeSetup, SERVER_NAME};
use serde_json::json;
use tauri::{AppHandle, Manager, Runtime, State};

use super::CommandError;
use super::settings::runtime;
use crate::lifecycle::Shell;

#[tauri::command]
pub async fn get_opencode_setup(shell: State<'_, Shell>) -> Result<OpenCodeSetup, CommandError> {
    let opencode = shell.profile.opencode.clone();
    let mcp_url = runtime(&shell).mcp_url;
    super::blocking(move || Ok(opencode.state(mcp_url.as_deref())?)).await
}

/// Merges `mcp.dingtalk` (the local helper with its absolute path) into OpenCode's global config, keeping
/// its comments and every other key, after writing a backup.
#[tauri::command]
pub async fn add_to_opencode(shell: State<'_, Shell>) -> Result<OpenCodeSetup, CommandError> {
    let opencode = shell.profile.opencode.clone();
    let mcp_url = runtime(&shell).mcp_url;
    super::blocking(move || Ok(opencode.add(mcp_url.as_deref())?)).await
}

/// Tray "Copy MCP config": the `mcp` snippet for `opencode.json` with the local helper, ready to paste.
pub fn copy_local_config<R: Runtime>(app: &AppHandle<R>) {
    use tauri_plugin_clipboard_manager::ClipboardExt;
    let shell = app.state::<Shell>().inner().clone();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let opencode = shell.profile.opencode.clone();
        let setup = super::blocking(move || Ok(opencode.state(None)?)).await;
        let text = match setup {
            Ok(setup) => {
                let mut servers = serde_json::Map::new();
                servers.insert(SERVER_NAME.to_owned(), setup.local);
                json!({ "mcp": servers })
            }
            Err(error) => {
                tracing::warn!(%error, "cannot build the MCP config");
                return;
            }
        };
        let text = serde_json::to_string_pretty(&text).unwrap_or_default();
        if app
            .try_state::<tauri_plugin_clipboard_manager::Clipboard<R>>()
            .is_none()
        {
            return;
        }
        match app.clipboard().write_text(text) {
            Ok(()) => crate::desktop::show(
                &app,
                &app.state::<crate::desktop::Texts>().current(),
                &crate::notify::Notice::new(
                    "notify.mcp_config_copied.title",
                    "notify.mcp_config_copied.body",
                ),
            ),
            Err(error) => tracing::warn!(%error, "cannot write the clipboard"),
        }
    });
}
