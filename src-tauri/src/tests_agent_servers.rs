//! Mock-runtime tests of the managed OpenCode controls over IPC: a real core engine in managed mode (one
//! project, `app`, and an OpenCode program that does not exist, so nothing is ever spawned) behind the
//! real ACL, as the desktop dashboard sees it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dingbridge_core::agent::opencode::managed::ServerState;
use dingbridge_core::config::{Config, ProjectSettings};
use dingbridge_core::secrets::MemorySecretStore;
use dingbridge_core::settings::OpenCodeIntegration;
use dingbridge_core::{AgentSpec, Engine, EngineOptions};
use serde_json::{Value, json};
use tauri::App;
use tauri::test::{MockRuntime, mock_builder};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::engine::{BoxFuture, CoreEngine, EngineHandle, LaunchError, Launcher, Plan};
use crate::tests::{invoke, window};
use crate::windows::MAIN_WINDOW;

/// Starts a real core engine in managed mode whatever the plan says.
struct ManagedLauncher {
    dir: PathBuf,
}

impl Launcher for ManagedLauncher {
    fn launch(&self, _plan: Plan) -> BoxFuture<'static, Result<EngineHandle, LaunchError>> {
        let dir = self.dir.clone();
        Box::pin(async move {
            let project = dir.join("app");
            std::fs::create_dir_all(&project).expect("project dir");
            let mut config = Config::default();
            config.agent.projects = vec![ProjectSettings {
                name: "app".into(),
                path: project.display().to_string(),
            }];
            config.agent.opencode_bin = Some(dir.join("no-such-opencode").display().to_string());
            let agent = AgentSpec::from_settings(&config.agent, Duration::ZERO);
            let engine = Engine::start(EngineOptions {
                mode: "unconfigured".into(),
                config,
                data_dir: dir.join("data"),
                credentials: None,
                agent,
            })
            .await?;
            Ok(EngineHandle::new(CoreEngine::new(
                engine,
                None,
                CancellationToken::new(),
            )))
        })
    }
}

struct ManagedApp {
    app: App<MockRuntime>,
    shell: Shell,
    _dir: tempfile::TempDir,
}

impl Drop for ManagedApp {
    fn drop(&mut self) {
        if let Some(engine) = self.shell.supervisor.engine() {
            tauri::async_runtime::block_on(engine.shutdown());
        }
    }
}

fn managed_app() -> ManagedApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let launcher = ManagedLauncher {
        dir: dir.path().join("engine"),
    };
    let profile = Profile {
        config_path: dir.path().join("config").join("config.toml"),
        data_dir: dir.path().join("data"),
        secrets: Arc::new(MemorySecretStore::default()),
        secrets_backend: "memory".to_owned(),
        opencode: OpenCodeIntegration::new(dir.path().join("opencode"), None),
    };
    let shell = Shell::new(Supervisor::new(Arc::new(launcher)), profile);
    let app = configure(mock_builder(), shell.clone(), Texts::new(Language::En))
        .build(tauri::generate_context!())
        .expect("the app builds on the mock runtime");
    tauri::async_runtime::block_on(shell.start(Want::Auto)).expect("the engine starts");
    ManagedApp {
        app,
        shell,
        _dir: dir,
    }
}

fn act(app: &ManagedApp, project: &str, action: &str) -> Result<Value, Value> {
    invoke(
        &window(&app.app, MAIN_WINDOW),
        "agent_server_action",
        json!({ "project": project, "action": action }),
    )
}

/// The `app` server as `get_status` shows it, once `done` holds for it (or after a generous wait).
fn server_when(app: &ManagedApp, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = invoke(&window(&app.app, MAIN_WINDOW), "get_status", json!({}))
            .expect("get_status is granted to the dashboard");
        let server = status["agent_servers"][0].clone();
        if done(&server) || Instant::now() > deadline {
            return server;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_dashboard_window_starts_a_managed_server_and_sees_why_it_cannot_run() {
    let app = managed_app();
    let started = act(&app, "app", "start").expect("granted to the dashboard");
    assert_eq!(started["project"], "app", "{started}");
    let server = server_when(&app, |s| s["state"] == "not_installed");
    assert_eq!(server["state"], "not_installed", "{server}");
    let error = server["error"].as_str().unwrap_or_default();
    assert!(error.contains("npm i -g opencode-ai"), "{server}");
    assert_eq!(server["restarts"], 0, "{server}");
    // The tray's line reads the same state.
    let engine = app.shell.supervisor.engine().expect("an engine runs");
    let tray: Vec<(String, ServerState)> = engine
        .agent_servers()
        .into_iter()
        .map(|server| (server.project, server.state))
        .collect();
    assert_eq!(tray, [("app".to_owned(), ServerState::NotInstalled)]);
}

#[test]
fn stop_over_ipc_ends_the_server_and_an_unknown_action_names_its_field() {
    let app = managed_app();
    act(&app, "app", "start").expect("started");
    let stopped = act(&app, "app", "stop").expect("stopped");
    assert_eq!(stopped["state"], "stopped", "{stopped}");
    assert_eq!(stopped["pid"], Value::Null, "{stopped}");
    let error = act(&app, "app", "explode").expect_err("refused");
    assert_eq!(error["code"], "INVALID_SETTINGS", "{error}");
    assert_eq!(error["fields"][0]["field"], "action", "{error}");
    assert_eq!(error["fields"][0]["code"], "UNKNOWN_ACTION", "{error}");
    let error = act(&app, "nope", "start").expect_err("refused");
    assert_eq!(error["fields"][0]["code"], "UNKNOWN_PROJECT", "{error}");
}

#[test]
fn start_in_the_trays_project_submenu_starts_the_server() {
    let app = managed_app();
    // Never started: no port yet (a missing OpenCode shows as not installed from the start).
    assert_eq!(server_when(&app, |_| true)["port"], 0);
    crate::tray::on_menu(
        app.app.handle(),
        &crate::tray::servers::action_id("start", "app"),
    );
    // A start picks the server's port (state `starting`), then finds no OpenCode to run on it.
    let server = server_when(&app, |s| s["port"] != 0 && s["state"] == "not_installed");
    assert_ne!(server["port"], 0, "{server}");
    assert_eq!(server["state"], "not_installed", "{server}");
}
