//! DingBridge desktop shell: a tray icon and a dashboard window over the engine of `dingbridge-core`.
//!
//! Everything that matters lives in the core; this crate only wires it to Tauri:
//! - [`configure`] registers state and commands on any runtime (the real app and the mock-runtime tests);
//! - [`forward_events`] pushes engine events to the webview (`engine-event`) and to the tray icon;
//! - [`run`] adds what only a desktop has: single instance, tray, close-to-tray.

pub mod commands;
mod demo;
pub mod engine;
mod tray;

use tauri::{AppHandle, Builder, Emitter, Manager, RunEvent, Runtime, WindowEvent};
use tokio::sync::broadcast::{self, error::RecvError};

use engine::{EngineSlot, Event};

/// Name of the Tauri event carrying each engine event (payload: the same JSON as one SSE message).
pub const ENGINE_EVENT: &str = "engine-event";

const USAGE: &str = "\
Usage: dingbridge [--demo] [--minimized]

DingBridge desktop app: bridges DingTalk bot messages to your AI coding agent.

Options:
  --demo        run against the embedded DingTalk simulator (no account needed)
  --minimized   start hidden in the tray
  --headless    (not supported here: use `dingbridged serve` or `dingbridged demo`)
  -h, --help    print this help
  -V, --version print the version";

/// Command-line options of the desktop app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    pub engine: engine::EngineOptions,
    /// Start with the dashboard hidden (autostart passes this).
    pub minimized: bool,
}

/// Result of parsing the command line.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseOutcome {
    Run(Options),
    /// Print `message` and exit with `code` (help, version, headless hint, usage errors).
    Exit {
        message: String,
        code: u8,
    },
}

impl Options {
    /// Parses the arguments (without the program name). Never touches GTK, so it works with no display.
    pub fn parse(args: impl IntoIterator<Item = String>) -> ParseOutcome {
        let mut options = Options::default();
        for arg in args {
            match arg.as_str() {
                "--demo" => options.engine.demo = true,
                "--minimized" => options.minimized = true,
                "--headless" => {
                    return ParseOutcome::Exit {
                        message: "dingbridge is the desktop tray app and needs a display.\n\
                                  For a headless engine with a browser dashboard run `dingbridged serve` \
                                  (or `dingbridged demo` to try it against the simulator)."
                            .to_owned(),
                        code: 2,
                    };
                }
                "-h" | "--help" => {
                    return ParseOutcome::Exit {
                        message: USAGE.to_owned(),
                        code: 0,
                    };
                }
                "-V" | "--version" => {
                    return ParseOutcome::Exit {
                        message: format!("dingbridge {}", env!("CARGO_PKG_VERSION")),
                        code: 0,
                    };
                }
                other => {
                    return ParseOutcome::Exit {
                        message: format!("dingbridge: unknown argument `{other}`\n\n{USAGE}"),
                        code: 2,
                    };
                }
            }
        }
        ParseOutcome::Run(options)
    }
}

/// State and commands, for any runtime. No plugins, tray or windows here: the mock-runtime tests call it.
/// The engine goes into the managed [`EngineSlot`] once it runs (see [`run`]).
pub fn configure<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .manage(EngineSlot::default())
        .invoke_handler(tauri::generate_handler![commands::get_status])
}

/// Forwards every engine event to the webview (and connection changes to the tray) from one task.
/// A slow webview never slows the engine: when this receiver lags it skips ahead to the newest events.
pub fn forward_events<R: Runtime>(
    app: AppHandle<R>,
    mut events: broadcast::Receiver<Event>,
) -> tauri::async_runtime::JoinHandle<()> {
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Event::ConnectionChanged {
                        state, reconnects, ..
                    } = &event
                    {
                        tray::reflect(&app, *state, *reconnects);
                    }
                    if let Err(error) = app.emit(ENGINE_EVENT, &event) {
                        tracing::warn!(%error, "could not emit an engine event to the webview");
                    }
                }
                Err(RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "event forwarder lagged; skipping ahead");
                }
                Err(RecvError::Closed) => break,
            }
        }
    })
}

/// Runs the desktop app until the user quits.
pub fn run(options: Options) -> anyhow::Result<()> {
    init_logging();
    let minimized = options.minimized;

    // The single-instance plugin must be registered first: a second launch just shows this window.
    let builder =
        tauri::Builder::default().plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            tray::show_main_window(app)
        }));
    let app = configure(builder)
        .setup(move |app| {
            // Runs inside `App::run`, so after the engine was installed below.
            let Some(engine) = app.state::<EngineSlot>().get().cloned() else {
                return Err("the engine was not installed".into());
            };
            // Subscribe before reading the state so no connection change falls in between.
            let events = engine.subscribe();
            let connection = engine.status().connection;
            tray::build(app.handle(), connection.state, connection.reconnects)?;
            forward_events(app.handle().clone(), events);
            if minimized && let Some(window) = app.get_webview_window(tray::MAIN_WINDOW) {
                window.hide()?;
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Close to tray: the bridge keeps running; "Quit" in the tray menu ends it.
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == tray::MAIN_WINDOW
            {
                api.prevent_close();
                if let Err(error) = window.hide() {
                    tracing::warn!(%error, "could not hide the dashboard window");
                }
            }
        })
        .build(tauri::generate_context!())?;

    // `build` initialised the plugins, so a second instance has already handed over and exited here:
    // only the single running instance opens the store and connects to DingTalk.
    let engine = tauri::async_runtime::block_on(engine::start(&options.engine))?;
    app.state::<EngineSlot>().install(engine.clone());

    app.run(move |_app, event| match event {
        // The last window went away without an explicit exit: stay alive in the tray.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::Exit => engine.shutdown(),
        _ => {}
    });
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DINGBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Another subscriber may already be installed (tests); that one wins.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

#[cfg(test)]
mod tests;
