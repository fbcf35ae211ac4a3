//! The tray icon: its picture follows the connection state; its menu shows the dashboard or quits.

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::engine::ConnectionState;

pub const TRAY_ID: &str = "dingbridge";
pub const MAIN_WINDOW: &str = "main";
const MENU_SHOW: &str = "show";
const MENU_QUIT: &str = "quit";

/// Builds the tray icon for the current connection state. Call once from `setup`.
pub fn build<R: Runtime>(
    app: &AppHandle<R>,
    state: ConnectionState,
    reconnects: u64,
) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, MENU_SHOW, "Show dashboard", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let quit = MenuItem::with_id(app, MENU_QUIT, "Quit DingBridge", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &separator, &quit])?;

    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon_for(state))
        .tooltip(tooltip_for(state, reconnects))
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            MENU_SHOW => show_main_window(app),
            // An explicit exit code, so the run loop does not mistake it for "last window closed".
            MENU_QUIT => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                show_main_window(tray.app_handle());
            }
        })
        .build(app)?;
    Ok(())
}

/// Updates icon and tooltip after a connection change. A missing tray (tests, no tray host) is fine.
pub fn reflect<R: Runtime>(app: &AppHandle<R>, state: ConnectionState, reconnects: u64) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    if let Err(error) = tray.set_icon(Some(icon_for(state))) {
        tracing::warn!(%error, "could not update the tray icon");
    }
    if let Err(error) = tray.set_tooltip(Some(tooltip_for(state, reconnects))) {
        tracing::warn!(%error, "could not update the tray tooltip");
    }
}

/// Shows, restores and focuses the dashboard window (tray click, menu, second instance).
pub fn show_main_window<R: Runtime>(app: &AppHandle<R>) {
    let Some(window) = app.get_webview_window(MAIN_WINDOW) else {
        return;
    };
    let shown = window
        .unminimize()
        .and_then(|()| window.show())
        .and_then(|()| window.set_focus());
    if let Err(error) = shown {
        tracing::warn!(%error, "could not show the dashboard window");
    }
}

fn icon_for(state: ConnectionState) -> Image<'static> {
    match state {
        ConnectionState::Connected => tauri::include_image!("../icons/tray-connected.png"),
        ConnectionState::Connecting => tauri::include_image!("../icons/tray-connecting.png"),
        ConnectionState::Backoff | ConnectionState::Stopped => {
            tauri::include_image!("../icons/tray-error.png")
        }
    }
}

fn tooltip_for(state: ConnectionState, reconnects: u64) -> String {
    let state = match state {
        ConnectionState::Connected => "connected",
        ConnectionState::Connecting => "connecting",
        ConnectionState::Backoff => "reconnecting (backoff)",
        ConnectionState::Stopped => "stopped",
    };
    match reconnects {
        0 => format!("DingBridge: {state}"),
        1 => format!("DingBridge: {state}, 1 reconnect"),
        n => format!("DingBridge: {state}, {n} reconnects"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tooltip_names_state_and_reconnects() {
        assert_eq!(
            tooltip_for(ConnectionState::Connected, 0),
            "DingBridge: connected"
        );
        assert_eq!(
            tooltip_for(ConnectionState::Backoff, 3),
            "DingBridge: reconnecting (backoff), 3 reconnects"
        );
    }

    #[test]
    fn every_state_has_a_32px_rgba_icon() {
        for state in [
            ConnectionState::Connected,
            ConnectionState::Connecting,
            ConnectionState::Backoff,
            ConnectionState::Stopped,
        ] {
            let icon = icon_for(state);
            assert_eq!((icon.width(), icon.height()), (32, 32));
            assert_eq!(icon.rgba().len(), 32 * 32 * 4);
        }
    }
}
