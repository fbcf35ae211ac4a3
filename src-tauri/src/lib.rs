//! DingBridge desktop shell: a tray icon, a dashboard window and a settings window over the engine of
//! `dingbridge-core`.
//!
//! Everything that matters lives in the core; this crate only wires it to Tauri:
//! - [`configure`] registers state and commands on any runtime (the real app and the mock-runtime tests);
//! - the [`supervisor`] swaps engines (demo, real, unconfigured, paused) without restarting the app;
//! - [`desktop::forward`] carries engine events to the webviews, the tray and notifications;
//! - [`run`] adds what only a desktop has: single instance, tray, autostart, notifications, windows.

pub mod commands;
mod demo;
pub mod desktop;
pub mod engine;
mod i18n;
pub mod lifecycle;
mod notify;
pub mod profile;
pub mod supervisor;
mod tray;
pub mod windows;

use std::sync::Arc;

use dingbridge_core::config::{default_config_path, default_data_dir};
use tauri::{Builder, Manager, RunEvent, Runtime};

use desktop::Texts;
use i18n::Language;
use lifecycle::Shell;
use profile::{Profile, Want};
use supervisor::Supervisor;

pub use desktop::{ENGINE_EVENT, ENGINE_STATE};

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
    /// `--demo`: run against the embedded DingTalk simulator.
    pub demo: bool,
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
                "--demo" => options.demo = true,
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
pub fn configure<R: Runtime>(builder: Builder<R>, shell: Shell, texts: Texts) -> Builder<R> {
    builder
        // In `configure` (not only `run`) so the window permission tests see its commands.
        .plugin(tauri_plugin_dialog::init())
        .manage(shell)
        .manage(texts)
        .invoke_handler(tauri::generate_handler![
            commands::status::get_status,
            commands::status::get_health,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::settings::test_connection,
            commands::settings::known_contacts,
            commands::opencode::get_opencode_setup,
            commands::opencode::add_to_opencode,
            commands::mcp_token::reveal_mcp_token,
            commands::mcp_token::rotate_mcp_token,
            commands::app::start_demo,
            commands::app::get_autostart,
            commands::app::set_autostart,
            commands::app::open_settings,
            commands::conversations::list_conversations,
            commands::conversations::get_conversation,
            commands::conversations::retry_send,
            commands::conversations::stop_turn,
            commands::conversations::new_session,
            commands::agent_servers::agent_server_action,
        ])
}

/// Runs the desktop app until the user quits.
pub fn run(options: Options) -> anyhow::Result<()> {
    init_logging();
    let minimized = options.minimized;
    let profile = Profile {
        config_path: default_config_path(),
        data_dir: default_data_dir(),
        secrets: open_secrets(),
        secrets_backend: dingbridge_core::secrets::KEYCHAIN_BACKEND.to_owned(),
        opencode: dingbridge_core::settings::OpenCodeIntegration::detect(),
    };
    let shell = Shell::new(
        Supervisor::new(Arc::new(engine::CoreLauncher)),
        profile.clone(),
    );
    let language = initial_language(&profile);

    // The single-instance plugin must be registered first: a second launch shows the dashboard here.
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            windows::open_or_log(app, windows::MAIN_WINDOW)
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec!["--minimized"]),
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_clipboard_manager::init());
    let app = configure(builder, shell.clone(), Texts::new(language))
        .setup(move |app| {
            // Runs inside `App::run`, after the engine was started below.
            desktop::forward(app.handle().clone(), true)?;
            let state = app.state::<Shell>().state();
            if !minimized {
                // First run: the setup guide, not a silent demo.
                let label = match state.mode {
                    engine::Mode::Unconfigured if !state.paused => windows::SETTINGS_WINDOW,
                    _ => windows::MAIN_WINDOW,
                };
                windows::open_or_log(app.handle(), label);
            }
            Ok(())
        })
        .build(tauri::generate_context!())?;

    // `build` initialised the plugins, so a second instance has already handed over and exited here:
    // only the single running instance opens the store and connects to DingTalk.
    let want = if options.demo { Want::Demo } else { Want::Auto };
    if let Err(error) = tauri::async_runtime::block_on(shell.start(want)) {
        // The app still runs: the tray shows "stopped" and the settings window can fix the cause.
        tracing::error!(code = error.code(), %error, "the engine did not start");
    }

    app.run(move |_app, event| match event {
        // Every window was closed without an explicit exit: the webviews are gone, the app stays in the tray.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::Exit => tauri::async_runtime::block_on(shell.supervisor.shutdown()),
        _ => {}
    });
    Ok(())
}

/// The secret store of the desktop app: environment first, then the OS keychain.
fn open_secrets() -> Arc<dyn dingbridge_core::secrets::SecretStore> {
    dingbridge_core::secrets::open_default()
}

/// `[ui] language` of the settings file, else the OS locale.
fn initial_language(profile: &Profile) -> Language {
    let setting = dingbridge_core::config::Config::load(&profile.config_path)
        .ok()
        .and_then(|config| config.ui.language);
    Language::pick(setting.as_deref(), Language::os_locale().as_deref())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DINGBRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Another subscriber may already be installed (tests); that one wins.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_agent_servers;
