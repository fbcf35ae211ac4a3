//! The two windows: the dashboard (`main`) and the settings window (`settings`), both declared in
//! `tauri.conf.json` with `"create": false` and created on demand from that declaration.
//!
//! Invariant: a closed window is destroyed, webview and all (about 260 MiB less while the app sits in the
//! tray); opening it again creates a fresh one. The app itself lives on in the tray (see `run`'s
//! `ExitRequested` handling). Each label has its own capability, so where a page is loaded decides what it
//! may call, never the page itself.

use tauri::{AppHandle, Manager, Runtime, WebviewWindow, WebviewWindowBuilder};

pub const MAIN_WINDOW: &str = "main";
pub const SETTINGS_WINDOW: &str = "settings";

/// Shows the dashboard, creating it if it was closed.
pub fn open_main<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    show(&get_or_create(app, MAIN_WINDOW)?)
}

/// Shows the settings window (the setup guide when unconfigured), creating it if needed.
pub fn open_settings<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    show(&get_or_create(app, SETTINGS_WINDOW)?)
}

/// Logs instead of failing: for tray clicks and other callers with nobody to answer.
pub fn open_or_log<R: Runtime>(app: &AppHandle<R>, label: &str) {
    let opened = match label {
        SETTINGS_WINDOW => open_settings(app),
        _ => open_main(app),
    };
    if let Err(error) = opened {
        tracing::warn!(%error, label, "could not open a window");
    }
}

fn get_or_create<R: Runtime>(app: &AppHandle<R>, label: &str) -> tauri::Result<WebviewWindow<R>> {
    if let Some(window) = app.get_webview_window(label) {
        return Ok(window);
    }
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|window| window.label == label)
        .cloned()
        // Both labels are declared in the shipped tauri.conf.json.
        .ok_or(tauri::Error::WindowNotFound)?;
    let builder = WebviewWindowBuilder::from_config(app, &config)?;
    // The title bar speaks the UI's language too (the same catalogue keys as the pages' <title>).
    let builder = match app.try_state::<crate::desktop::Texts>() {
        Some(texts) => builder.title(texts.current().t(title_key(label), &[])),
        None => builder,
    };
    builder.build()
}

/// The catalogue keys of the window titles (checked against every catalogue in `i18n`'s tests).
pub const TITLE_KEYS: [&str; 2] = ["app.name", "settings.title"];

/// The catalogue key of a window's title.
fn title_key(label: &str) -> &'static str {
    match label {
        SETTINGS_WINDOW => "settings.title",
        _ => "app.name",
    }
}

fn show<R: Runtime>(window: &WebviewWindow<R>) -> tauri::Result<()> {
    window.unminimize()?;
    window.show()?;
    window.set_focus()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::{Catalog, Language};

    #[test]
    fn the_settings_window_title_follows_the_ui_language() {
        let key = title_key(SETTINGS_WINDOW);
        assert!(TITLE_KEYS.contains(&key));
        assert_eq!(Catalog::new(Language::ZhCn).t(key, &[]), "DingBridge 设置");
        assert_eq!(
            Catalog::new(Language::En).t(key, &[]),
            "DingBridge settings"
        );
    }
}
