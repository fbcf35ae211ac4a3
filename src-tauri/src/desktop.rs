//! The one task that carries the supervisor's events and mode changes to the webviews (`engine-event`,
//! `engine-state`), the tray and desktop notifications, plus the language those speak.
//!
//! Invariant: it subscribes once, to the supervisor (not to an engine), so engine swaps never break the
//! stream; a lagging subscription skips ahead instead of slowing the engine.

use std::sync::Arc;

use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::engine::ConnectionState;
use crate::engine::{Event, Plan};
use crate::i18n::{Catalog, Language};
use crate::lifecycle::Shell;
use crate::notify::{Context, Notice, Notifier};
use crate::tray::{self, look::TrayModel, servers::TrayServer};

/// Tauri event carrying each engine event (payload: the same JSON as one SSE message).
pub const ENGINE_EVENT: &str = "engine-event";
/// Tauri event sent when the engine is swapped or paused (payload: [`EngineState`]).
pub const ENGINE_STATE: &str = "engine-state";
/// How often the tray looks at the managed OpenCode servers (their state changes raise no engine event).
const AGENT_SERVERS_POLL: std::time::Duration = std::time::Duration::from_secs(3);

/// Managed state: the catalogue in use; replaced when `[ui] language` changes.
pub struct Texts(watch::Sender<Arc<Catalog>>);

impl Texts {
    pub fn new(language: Language) -> Self {
        Self(watch::channel(Arc::new(Catalog::new(language))).0)
    }

    pub fn current(&self) -> Arc<Catalog> {
        self.0.borrow().clone()
    }

    /// Switches the language; the tray follows at once.
    pub fn set(&self, language: Language) {
        self.0.send_replace(Arc::new(Catalog::new(language)));
    }

    fn watch(&self) -> watch::Receiver<Arc<Catalog>> {
        self.0.subscribe()
    }
}

/// Starts the forwarder. `with_tray` builds the tray first (not in the mock-runtime tests).
pub fn forward<R: Runtime>(
    app: AppHandle<R>,
    with_tray: bool,
) -> tauri::Result<tauri::async_runtime::JoinHandle<()>> {
    let shell = app.state::<Shell>().inner().clone();
    let texts = app.state::<Texts>();
    let mut catalogs = texts.watch();
    // Subscribe before reading the state, so nothing falls in between.
    let mut events = shell.supervisor.subscribe();
    let mut states = shell.supervisor.watch();
    let connection = shell
        .supervisor
        .engine()
        .map(|engine| engine.status().connection.state)
        .unwrap_or(ConnectionState::Stopped);
    let mut model = TrayModel::new(*states.borrow_and_update(), connection);
    let mut catalog = catalogs.borrow_and_update().clone();
    if with_tray {
        tray::build(&app, &catalog, &model)?;
    }
    Ok(tauri::async_runtime::spawn(async move {
        let mut notifier = Notifier::default();
        let mut look = model.look();
        let mut poll = tokio::time::interval(AGENT_SERVERS_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = poll.tick() => {
                    let servers = shell
                        .supervisor
                        .engine()
                        .map(|engine| engine.agent_servers())
                        .unwrap_or_default()
                        .into_iter()
                        .map(TrayServer::from)
                        .collect();
                    if model.on_agent_servers(servers) {
                        tray::render(&app, &catalog, &model);
                    }
                }
                changed = states.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let state = *states.borrow_and_update();
                    model.on_engine(state);
                    tray::render(&app, &catalog, &model);
                    look = model.look();
                    if let Err(error) = app.emit(ENGINE_STATE, state) {
                        tracing::warn!(%error, "could not emit the engine state");
                    }
                }
                changed = catalogs.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    catalog = catalogs.borrow_and_update().clone();
                    tray::render(&app, &catalog, &model);
                }
                event = events.recv() => match event {
                    Ok(event) => {
                        model.on_event(&event);
                        if model.look() != look {
                            look = model.look();
                            tray::render(&app, &catalog, &model);
                        }
                        if let Some(notice) = notifier.on_event(&event, &context(&shell, &event)) {
                            show(&app, &catalog, &notice);
                        }
                        if let Err(error) = app.emit(ENGINE_EVENT, &event) {
                            tracing::warn!(%error, "could not emit an engine event to the webview");
                        }
                    }
                    Err(RecvError::Lagged(skipped)) => {
                        tracing::debug!(skipped, "event forwarder lagged; skipping ahead");
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    }))
}

/// What a notice about `event` may mention; only looked up for the events that need it.
fn context(shell: &Shell, event: &Event) -> Context {
    match event {
        Event::AgentUnreachable { .. } => Context {
            opencode_url: match shell.supervisor.plan() {
                Some(Plan::Real { config, .. }) | Some(Plan::Idle { config, .. }) => {
                    config.agent.opencode_url.clone()
                }
                _ => String::new(),
            },
            titles: Vec::new(),
        },
        Event::PermissionRequested { .. } => Context {
            opencode_url: String::new(),
            titles: shell
                .supervisor
                .engine()
                .map(|engine| {
                    engine
                        .status()
                        .conversations
                        .into_iter()
                        .map(|c| (c.conversation_id, c.title))
                        .collect()
                })
                .unwrap_or_default(),
        },
        _ => Context::default(),
    }
}

/// Shows a desktop notification. Without the notification plugin (tests) nothing is shown.
pub fn show<R: Runtime>(app: &AppHandle<R>, catalog: &Catalog, notice: &Notice) {
    use tauri_plugin_notification::NotificationExt;
    if app
        .try_state::<tauri_plugin_notification::Notification<R>>()
        .is_none()
    {
        return;
    }
    let shown = app
        .notification()
        .builder()
        .title(catalog.t(notice.title, &notice.params))
        .body(catalog.t(notice.body, &notice.params))
        .show();
    if let Err(error) = shown {
        tracing::warn!(%error, "could not show a notification");
    }
}
