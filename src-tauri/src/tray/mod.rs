//! The tray icon and its menu: status line, (managed mode) the OpenCode servers' line, Open dashboard,
//! Settings…, Pause / Resume bridge, Copy MCP config, Quit. Its look comes from [`look::TrayModel`]; its
//! strings from the UI catalogues.
//!
//! Invariant: the tray is only ever changed through [`render`], from the one forwarder task, so icon,
//! tooltip and menu always describe the same state.

pub mod look;
pub mod servers;

use std::sync::atomic::{AtomicBool, Ordering};

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::engine::Mode;
use crate::i18n::Catalog;
use crate::lifecycle::Shell;
use crate::windows::{self, MAIN_WINDOW, SETTINGS_WINDOW};
use look::{Look, TrayModel};

pub const TRAY_ID: &str = "dingbridge";
const MENU_STATUS: &str = "status";
const MENU_AGENT_SERVERS: &str = "agent-servers";
const MENU_DASHBOARD: &str = "dashboard";
const MENU_SETTINGS: &str = "settings";
const MENU_PAUSE: &str = "pause";
const MENU_COPY_MCP: &str = "copy-mcp";
const MENU_QUIT: &str = "quit";

/// Catalogue keys of the menu (the status lines are [`look::STATUS_KEYS`]).
#[cfg(test)]
pub const MENU_KEYS: [&str; 6] = [
    "tray.open_dashboard",
    "tray.settings",
    "tray.pause",
    "tray.resume",
    "tray.copy_mcp_config",
    "tray.quit",
];

/// The menu entries whose text or state changes, kept as Tauri state.
struct TrayMenu<R: Runtime> {
    menu: Menu<R>,
    status: MenuItem<R>,
    /// Shown (second entry) only while DingBridge runs OpenCode servers itself.
    agent_servers: MenuItem<R>,
    agent_servers_shown: AtomicBool,
    dashboard: MenuItem<R>,
    settings: MenuItem<R>,
    pause: MenuItem<R>,
    copy_mcp: MenuItem<R>,
    quit: MenuItem<R>,
}

/// Builds the tray. Call once from `setup`; [`render`] then keeps it current.
pub fn build<R: Runtime>(
    app: &AppHandle<R>,
    catalog: &Catalog,
    model: &TrayModel,
) -> tauri::Result<()> {
    let item = |id: &str, key: &str, enabled: bool| {
        MenuItem::with_id(app, id, catalog.t(key, &[]), enabled, None::<&str>)
    };
    let status = item(MENU_STATUS, model.status_key(), false)?;
    let agent_servers = item(MENU_AGENT_SERVERS, "tray.agent_servers", false)?;
    let dashboard = item(MENU_DASHBOARD, "tray.open_dashboard", true)?;
    let settings = item(MENU_SETTINGS, "tray.settings", true)?;
    let pause = item(MENU_PAUSE, "tray.pause", true)?;
    let copy_mcp = item(MENU_COPY_MCP, "tray.copy_mcp_config", true)?;
    let quit = item(MENU_QUIT, "tray.quit", true)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let separator2 = PredefinedMenuItem::separator(app)?;
    let items = Menu::with_items(
        app,
        &[
            &status,
            &separator,
            &dashboard,
            &settings,
            &pause,
            &copy_mcp,
            &separator2,
            &quit,
        ],
    )?;
    let menu = TrayMenu {
        menu: items.clone(),
        status,
        agent_servers,
        agent_servers_shown: AtomicBool::new(false),
        dashboard,
        settings,
        pause,
        copy_mcp,
        quit,
    };
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon_for(model.look()))
        .menu(&items)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| on_menu(app, event.id().as_ref()))
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                windows::open_or_log(tray.app_handle(), MAIN_WINDOW);
            }
        })
        .build(app)?;
    app.manage(menu);
    render(app, catalog, model);
    Ok(())
}

/// Brings icon, tooltip and menu in line with the model (and the language of `catalog`).
/// A missing tray (tests, no tray host) is fine.
pub fn render<R: Runtime>(app: &AppHandle<R>, catalog: &Catalog, model: &TrayModel) {
    let look = model.look();
    let status = catalog.t(model.status_key(), &[]);
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        if let Err(error) = tray.set_icon(Some(icon_for(look))) {
            tracing::warn!(%error, "could not update the tray icon");
        }
        if let Err(error) = tray.set_tooltip(Some(format!(
            "{}: {status}",
            catalog.t("tray.tooltip", &[])
        ))) {
            tracing::warn!(%error, "could not update the tray tooltip");
        }
    }
    let Some(menu) = app.try_state::<TrayMenu<R>>() else {
        return;
    };
    let engine = model.engine();
    let pause_key = if engine.paused {
        "tray.resume"
    } else {
        "tray.pause"
    };
    let updates = [
        menu.status.set_text(status),
        menu.dashboard
            .set_text(catalog.t("tray.open_dashboard", &[])),
        menu.settings.set_text(catalog.t("tray.settings", &[])),
        menu.pause.set_text(catalog.t(pause_key, &[])),
        // Only a real bridge can be paused; the demo and an unconfigured app have nothing to pause.
        menu.pause
            .set_enabled((engine.mode == Mode::Real && engine.running) || engine.paused),
        menu.copy_mcp
            .set_text(catalog.t("tray.copy_mcp_config", &[])),
        menu.quit.set_text(catalog.t("tray.quit", &[])),
    ];
    for result in updates {
        if let Err(error) = result {
            tracing::warn!(%error, "could not update the tray menu");
        }
    }
    render_agent_servers(&menu, catalog, model);
}

/// Shows, updates or hides the OpenCode servers' line (right below the status line).
fn render_agent_servers<R: Runtime>(menu: &TrayMenu<R>, catalog: &Catalog, model: &TrayModel) {
    let line = servers::line(catalog, model.agent_servers());
    let shown = menu.agent_servers_shown.load(Ordering::SeqCst);
    let result = match line {
        Some(text) => menu.agent_servers.set_text(text).and_then(|()| {
            if shown {
                Ok(())
            } else {
                menu.menu.insert(&menu.agent_servers, 1)
            }
        }),
        None if shown => menu.menu.remove(&menu.agent_servers),
        None => Ok(()),
    };
    match result {
        Ok(()) => menu
            .agent_servers_shown
            .store(!model.agent_servers().is_empty(), Ordering::SeqCst),
        Err(error) => tracing::warn!(%error, "could not update the OpenCode line of the tray"),
    }
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
    match id {
        MENU_DASHBOARD => windows::open_or_log(app, MAIN_WINDOW),
        MENU_SETTINGS => windows::open_or_log(app, SETTINGS_WINDOW),
        MENU_PAUSE => {
            let shell = app.state::<Shell>().inner().clone();
            tauri::async_runtime::spawn(async move {
                let result = if shell.state().paused {
                    shell.resume().await
                } else {
                    shell.pause().await
                };
                if let Err(error) = result {
                    tracing::error!(code = error.code(), %error, "pause / resume failed");
                }
            });
        }
        MENU_COPY_MCP => crate::commands::opencode::copy_local_config(app),
        // An explicit exit code, so the run loop does not mistake it for "last window closed".
        MENU_QUIT => app.exit(0),
        _ => {}
    }
}

fn icon_for(look: Look) -> Image<'static> {
    match look {
        Look::Connected => tauri::include_image!("../icons/tray-connected.png"),
        Look::Connecting => tauri::include_image!("../icons/tray-connecting.png"),
        Look::Reconnecting => tauri::include_image!("../icons/tray-reconnecting.png"),
        Look::Degraded => tauri::include_image!("../icons/tray-degraded.png"),
        Look::Stopped => tauri::include_image!("../icons/tray-stopped.png"),
        Look::Demo => tauri::include_image!("../icons/tray-demo.png"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_look_has_a_distinct_32px_rgba_icon() {
        let icons: Vec<Vec<u8>> = Look::ALL
            .iter()
            .map(|look| {
                let icon = icon_for(*look);
                assert_eq!((icon.width(), icon.height()), (32, 32), "{look:?}");
                assert_eq!(icon.rgba().len(), 32 * 32 * 4, "{look:?}");
                icon.rgba().to_vec()
            })
            .collect();
        for (i, a) in icons.iter().enumerate() {
            for b in &icons[i + 1..] {
                assert_ne!(a, b, "two looks share an icon");
            }
        }
    }
}
