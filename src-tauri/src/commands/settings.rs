//! Settings commands (settings window; `get_settings` also in the dashboard): read, save and apply, test the
//! unsaved form, and the people and groups the bridge has seen. Thin adapters over
//! `dingbridge_core::settings`; saving applies at once through the supervisor (no app restart).

use dingbridge_core::settings::{
    self, ConnectionReport, KnownContacts, Runtime as SettingsRuntime, SettingsChange, SettingsView,
};
use tauri::{AppHandle, Manager, Runtime, State};

use super::CommandError;
use crate::desktop::Texts;
use crate::engine::Mode;
use crate::i18n::Language;
use crate::lifecycle::Shell;
use crate::windows;

#[tauri::command]
pub async fn get_settings(shell: State<'_, Shell>) -> Result<SettingsView, CommandError> {
    view(&shell).await
}

/// Validates (every field error at once), stores the secrets, writes the file, then applies: the engine
/// restarts with the new settings when they change what it runs, the demo is left once real credentials
/// are complete, and finishing the setup shows the dashboard.
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    change: SettingsChange,
) -> Result<SettingsView, CommandError> {
    let service = shell.profile.settings();
    let saved = super::blocking(move || Ok(service.save(&change)?)).await?;
    app.state::<Texts>().set(Language::pick(
        saved.ui.language.as_deref(),
        Language::os_locale().as_deref(),
    ));
    let before = shell.state().mode;
    let after = shell.apply_saved().await?;
    if before != Mode::Real && after == Mode::Real {
        windows::open_or_log(&app, windows::MAIN_WINDOW);
    }
    view(&shell).await
}

/// Token, gateway, WebSocket and OpenCode checks of the unsaved form merged over the saved settings.
#[tauri::command]
pub async fn test_connection(
    shell: State<'_, Shell>,
    change: SettingsChange,
) -> Result<ConnectionReport, CommandError> {
    let service = shell.profile.settings();
    let form = super::blocking(move || Ok(service.form(&change)?)).await?;
    Ok(settings::test_connection(form).await)
}

/// The people and groups the bridge has seen (for the allow-list pickers), from the running engine's store.
/// Empty for an engine without a store (none in the app; stand-ins in tests).
#[tauri::command]
pub async fn known_contacts(shell: State<'_, Shell>) -> Result<KnownContacts, CommandError> {
    let engine = shell
        .supervisor
        .engine()
        .ok_or_else(CommandError::starting)?;
    match engine.core() {
        Some(core) => Ok(settings::known_contacts(core.store()).await?),
        None => Ok(KnownContacts {
            users: Vec::new(),
            groups: Vec::new(),
        }),
    }
}

/// The settings view for what runs now.
async fn view(shell: &Shell) -> Result<SettingsView, CommandError> {
    let runtime = runtime(shell);
    let service = shell.profile.settings();
    super::blocking(move || Ok(service.view(&runtime)?)).await
}

/// The runtime facts the settings view shows: the mode and where MCP listens.
pub(crate) fn runtime(shell: &Shell) -> SettingsRuntime {
    SettingsRuntime {
        mode: shell.state().mode,
        mcp_url: shell
            .supervisor
            .engine()
            .and_then(|engine| engine.mcp())
            .map(|mcp| mcp.url),
    }
}
