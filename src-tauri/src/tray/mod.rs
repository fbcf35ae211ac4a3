//! The tray icon and its menu: status line, (managed mode) the OpenCode servers' submenu, Open dashboard,
//! Settings…, Pause / Resume bridge, Copy MCP config, Quit. Its look comes from [`look::TrayModel`]; its
//! strings from the UI catalogues.
//!
//! Invariant: the tray is only ever changed through [`render`], from the one forwarder task, so icon,
//! tooltip and menu always describe the same state.

pub mod look;
pub mod servers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tauri::image::Image;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem, Submenu};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::engine::Mode;
use crate::i18n::Catalog;
use crate::lifecycle::Shell;
use crate::windows::{self, MAIN_WINDOW, SETTINGS_WINDOW};
use look::{Look, TrayModel};
use servers::TrayServer;

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
    /// Shown (second entry) only while DingBridge runs OpenCode servers itself: one submenu per project.
    agent_servers: Submenu<R>,
    agent_servers_shown: AtomicBool,
    /// The projects' submenus inside `agent_servers`, in the engine's order.
    projects: Mutex<Vec<ProjectMenu<R>>>,
    dashboard: MenuItem<R>,
    settings: MenuItem<R>,
    pause: MenuItem<R>,
    copy_mcp: MenuItem<R>,
    quit: MenuItem<R>,
}

/// One managed server's submenu: titled with project and state, its facts, then Start / Stop / Restart.
struct ProjectMenu<R: Runtime> {
    project: String,
    submenu: Submenu<R>,
    facts: MenuItem<R>,
    /// Each action's catalogue key and entry ([`servers::ACTIONS`]).
    actions: Vec<(&'static str, MenuItem<R>)>,
}

impl<R: Runtime> ProjectMenu<R> {
    fn build(app: &AppHandle<R>, catalog: &Catalog, server: &TrayServer) -> tauri::Result<Self> {
        let submenu = Submenu::new(app, servers::title(catalog, server), true)?;
        let facts = MenuItem::new(app, servers::facts(catalog, server), false, None::<&str>)?;
        submenu.append(&facts)?;
        let mut actions = Vec::with_capacity(servers::ACTIONS.len());
        for (action, key) in servers::ACTIONS {
            let id = servers::action_id(action, &server.project);
            let item = MenuItem::with_id(app, id, catalog.t(key, &[]), true, None::<&str>)?;
            submenu.append(&item)?;
            actions.push((key, item));
        }
        Ok(Self {
            project: server.project.clone(),
            submenu,
            facts,
            actions,
        })
    }

    fn update(&self, catalog: &Catalog, server: &TrayServer) -> tauri::Result<()> {
        self.submenu.set_text(servers::title(catalog, server))?;
        self.facts.set_text(servers::facts(catalog, server))?;
        for (key, item) in &self.actions {
            item.set_text(catalog.t(key, &[]))?;
        }
        Ok(())
    }
}

/// Builds the tray. Call once from `setup`; [`render`] then keeps it current.
pub fn build<R: Runtime>(
    app: &AppHandle<R>,
    catalog: &Catalog,
    model: &TrayModel,
) -> tauri::Result<()> {
    let items = build_menu(app, catalog, model)?;
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
    render(app, catalog, model);
    Ok(())
}

/// The menu alone, kept as state for [`render`] (the mock-runtime tests drive it without a tray host).
fn build_menu<R: Runtime>(
    app: &AppHandle<R>,
    catalog: &Catalog,
    model: &TrayModel,
) -> tauri::Result<Menu<R>> {
    let item = |id: &str, key: &str, enabled: bool| {
        MenuItem::with_id(app, id, catalog.t(key, &[]), enabled, None::<&str>)
    };
    let status = item(MENU_STATUS, model.status_key(), false)?;
    let agent_servers = Submenu::with_id(
        app,
        MENU_AGENT_SERVERS,
        catalog.t("tray.agent_servers", &[]),
        true,
    )?;
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
        projects: Mutex::new(Vec::new()),
        dashboard,
        settings,
        pause,
        copy_mcp,
        quit,
    };
    app.manage(menu);
    Ok(items)
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
    render_agent_servers(app, &menu, catalog, model);
}

/// Shows, updates or hides the OpenCode servers' submenu (right below the status line).
fn render_agent_servers<R: Runtime>(
    app: &AppHandle<R>,
    menu: &TrayMenu<R>,
    catalog: &Catalog,
    model: &TrayModel,
) {
    let servers = model.agent_servers();
    let shown = menu.agent_servers_shown.load(Ordering::SeqCst);
    let result = match servers::line(catalog, servers) {
        Some(label) => menu
            .agent_servers
            .set_text(label)
            .and_then(|()| sync_projects(app, menu, catalog, servers))
            .and_then(|()| {
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
            .store(!servers.is_empty(), Ordering::SeqCst),
        Err(error) => tracing::warn!(%error, "could not update the OpenCode entry of the tray"),
    }
}

/// Keeps one submenu per project: rebuilt when the projects change, otherwise only their texts are
/// updated (so an open menu is not torn down every few seconds by a ticking uptime).
fn sync_projects<R: Runtime>(
    app: &AppHandle<R>,
    menu: &TrayMenu<R>,
    catalog: &Catalog,
    servers: &[TrayServer],
) -> tauri::Result<()> {
    let mut projects = lock(&menu.projects);
    let same = projects.len() == servers.len()
        && projects
            .iter()
            .zip(servers)
            .all(|(shown, server)| shown.project == server.project);
    if !same {
        for old in projects.drain(..) {
            menu.agent_servers.remove(&old.submenu)?;
        }
        for server in servers {
            let project = ProjectMenu::build(app, catalog, server)?;
            menu.agent_servers.append(&project.submenu)?;
            projects.push(project);
        }
        return Ok(());
    }
    for (project, server) in projects.iter().zip(servers) {
        project.update(catalog, server)?;
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded list is rebuilt from the engine's report on the next render; a panic elsewhere cannot
    // leave it in a state worth refusing.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Start / Stop / Restart from a project's submenu: the same core function as the dashboard's buttons. The
/// submenu shows the outcome at the next poll; a failure is logged (the dashboard's panel shows its reason).
fn act_on_server<R: Runtime>(app: &AppHandle<R>, action: &str, project: &str) {
    let Some(core) = app
        .state::<Shell>()
        .supervisor
        .engine()
        .and_then(|engine| engine.core().cloned())
    else {
        return;
    };
    let (action, project) = (action.to_owned(), project.to_owned());
    tauri::async_runtime::spawn(async move {
        if let Err(error) = dingbridge_core::api::agent_servers::act(&core, &project, &action).await
        {
            tracing::warn!(project, action, code = error.code(), %error, "tray: OpenCode server action failed");
        }
    });
}

pub(crate) fn on_menu<R: Runtime>(app: &AppHandle<R>, id: &str) {
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
        other => {
            if let Some((action, project)) = servers::parse_action_id(other) {
                act_on_server(app, action, project);
            }
        }
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

    /// The tray's menu on the mock runtime (no tray host needed): what a user sees when opening it.
    mod managed_servers_menu {
        use super::super::*;
        use dingbridge_core::agent::opencode::managed::ServerState;
        use tauri::menu::MenuItemKind;
        use tauri::test::{MockRuntime, mock_app};

        use crate::engine::ConnectionState;
        use crate::i18n::Language;
        use crate::supervisor::EngineState;

        fn server(project: &str, state: ServerState, uptime_s: Option<u64>) -> TrayServer {
            TrayServer {
                project: project.to_owned(),
                state,
                port: 41234,
                version: Some("1.18.33".to_owned()),
                uptime_s,
                restarts: 1,
            }
        }

        fn text(kind: &MenuItemKind<MockRuntime>) -> String {
            match kind {
                MenuItemKind::MenuItem(item) => item.text().unwrap_or_default(),
                MenuItemKind::Submenu(item) => item.text().unwrap_or_default(),
                _ => String::new(),
            }
        }

        /// A project's submenu as the user reads it: its title and its entries' texts.
        type ProjectEntries = (String, Vec<String>);

        /// The OpenCode submenu (second entry) as its label and its projects, if shown.
        fn opened(menu: &Menu<MockRuntime>) -> Option<(String, Vec<ProjectEntries>)> {
            let items = menu.items().ok()?;
            let MenuItemKind::Submenu(servers) = items.get(1)? else {
                return None;
            };
            let projects = servers
                .items()
                .ok()?
                .iter()
                .filter_map(|kind| match kind {
                    MenuItemKind::Submenu(project) => Some((
                        project.text().unwrap_or_default(),
                        project.items().ok()?.iter().map(text).collect(),
                    )),
                    _ => None,
                })
                .collect();
            Some((servers.text().ok()?, projects))
        }

        /// A connected real-mode app's tray menu (en), before any managed server is reported.
        fn connected_menu() -> (
            tauri::App<MockRuntime>,
            Catalog,
            TrayModel,
            Menu<MockRuntime>,
        ) {
            let app = mock_app();
            let catalog = Catalog::new(Language::En);
            let engine = EngineState {
                mode: crate::engine::Mode::Real,
                paused: false,
                running: true,
            };
            let model = TrayModel::new(engine, ConnectionState::Connected);
            let menu = build_menu(app.handle(), &catalog, &model).expect("the menu builds");
            (app, catalog, model, menu)
        }

        #[test]
        fn each_managed_server_has_a_submenu_with_its_facts_and_start_stop_restart() {
            let (app, catalog, mut model, menu) = connected_menu();
            assert_eq!(
                opened(&menu),
                None,
                "no OpenCode entry without managed servers"
            );

            model.on_agent_servers(vec![
                server("backend", ServerState::Running, Some(65)),
                server("docs", ServerState::Stopped, None),
            ]);
            render(app.handle(), &catalog, &model);
            let (label, projects) = opened(&menu).expect("the OpenCode entry is shown");
            assert_eq!(label, "OpenCode: backend running · docs stopped");
            assert_eq!(
                projects[0],
                (
                    "backend running".to_owned(),
                    vec![
                        "port 41234 · version 1.18.33 · up 1 min 5 s · 1 restarts".to_owned(),
                        "Start".to_owned(),
                        "Stop".to_owned(),
                        "Restart".to_owned(),
                    ]
                )
            );
            assert_eq!(projects[1].0, "docs stopped");

            // A ticking uptime updates the texts in place.
            model.on_agent_servers(vec![
                server("backend", ServerState::Running, Some(70)),
                server("docs", ServerState::Stopped, None),
            ]);
            render(app.handle(), &catalog, &model);
            let (_, projects) = opened(&menu).expect("still shown");
            assert_eq!(projects.len(), 2);
            assert!(projects[0].1[0].contains("up 1 min 10 s"), "{projects:?}");

            // Back to no managed server (external mode): the entry goes away.
            model.on_agent_servers(Vec::new());
            render(app.handle(), &catalog, &model);
            assert_eq!(opened(&menu), None);
        }

        #[test]
        fn the_action_entries_carry_their_action_and_project() {
            let (app, catalog, mut model, menu) = connected_menu();
            model.on_agent_servers(vec![server("team:api", ServerState::Running, Some(1))]);
            render(app.handle(), &catalog, &model);
            let items = menu.items().expect("items");
            let Some(MenuItemKind::Submenu(servers)) = items.get(1) else {
                panic!("no OpenCode entry");
            };
            let projects = servers.items().expect("projects");
            let Some(MenuItemKind::Submenu(project)) = projects.first() else {
                panic!("no project submenu");
            };
            let ids: Vec<Option<(String, String)>> = project
                .items()
                .expect("entries")
                .iter()
                .map(|kind| {
                    servers::parse_action_id(kind.id().as_ref())
                        .map(|(action, project)| (action.to_owned(), project.to_owned()))
                })
                .collect();
            let action = |a: &str| Some((a.to_owned(), "team:api".to_owned()));
            assert_eq!(
                ids,
                [None, action("start"), action("stop"), action("restart")]
            );
        }
    }
}
