//! Mock-runtime tests: no display, no D-Bus. They use the real `tauri.conf.json` and `capabilities/`
//! (`generate_context!()`), so the ACL is the one the app ships with. Engines are stand-ins started by a
//! test launcher; settings, secrets and files are real (a temporary profile, an in-memory secret store).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use dingbridge_core::api::status::{
    ConnectionStatus, ConversationSummary, Counters, LatencySummary, QueueStatus, QuotaStatus,
};
use dingbridge_core::secrets::MemorySecretStore;
use dingbridge_core::settings::OpenCodeIntegration;
use serde_json::{Value, json};
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, WebviewUrl, WebviewWindow, WebviewWindowBuilder};
use tokio::sync::broadcast;

use super::*;
use crate::engine::{
    BoxFuture, ConnectionState, EngineApi, EngineHandle, Event, LaunchError, Launcher, Mode, Plan,
    StatusSnapshot,
};
use crate::windows::{MAIN_WINDOW, SETTINGS_WINDOW};

/// A stand-in engine with a fixed snapshot and a bus the test publishes on.
struct FixedEngine {
    mode: &'static str,
    events: broadcast::Sender<Event>,
}

impl EngineApi for FixedEngine {
    fn status(&self) -> StatusSnapshot {
        StatusSnapshot {
            mode: self.mode.to_owned(),
            version: "0.0.0-test".to_owned(),
            started_at_ms: 1_700_000_000_000,
            connection: ConnectionStatus {
                state: ConnectionState::Connected,
                reconnects: 2,
                last_frame_at_ms: Some(1_700_000_001_000),
                connected_since_ms: Some(1_700_000_000_500),
                last_error: None,
            },
            counters: Counters {
                received: 3,
                acked: 3,
                ..Counters::default()
            },
            queues: QueueStatus::default(),
            conversations: vec![ConversationSummary {
                conversation_id: "cid-1".to_owned(),
                title: "Build squad".to_owned(),
                kind: "group".to_owned(),
                last_message_at_ms: 1_700_000_001_000,
                last_preview: "run the tests".to_owned(),
                messages: 3,
            }],
            ack_latency: LatencySummary::default(),
            quota: QuotaStatus {
                month: "2026-11".to_owned(),
                stream_used: 10,
                stream_budget: 100,
                api_used: 5,
                api_budget: 5_000,
                exhausted: false,
            },
            outbox: Default::default(),
            auth: Default::default(),
            agent_servers: Vec::new(),
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

/// One engine the test launcher started: its mode and the bus to publish on as that engine.
type Started = (Mode, broadcast::Sender<Event>);

/// Starts a [`FixedEngine`] per plan and keeps each one's bus so tests can publish as that engine.
#[derive(Default, Clone)]
struct TestLauncher {
    started: Arc<Mutex<Vec<Started>>>,
}

impl TestLauncher {
    fn last(&self) -> Started {
        self.started
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("an engine was started")
    }

    fn modes(&self) -> Vec<Mode> {
        self.started
            .lock()
            .unwrap()
            .iter()
            .map(|(m, _)| *m)
            .collect()
    }
}

impl Launcher for TestLauncher {
    fn launch(&self, plan: Plan) -> BoxFuture<'static, Result<EngineHandle, LaunchError>> {
        let (events, _) = broadcast::channel(16);
        let mode = match plan.mode() {
            Mode::Demo => "demo",
            Mode::Real => "app",
            Mode::Unconfigured => "unconfigured",
        };
        self.started
            .lock()
            .unwrap()
            .push((plan.mode(), events.clone()));
        Box::pin(async move { Ok(EngineHandle::new(FixedEngine { mode, events })) })
    }
}

struct TestApp {
    app: App<MockRuntime>,
    shell: Shell,
    launcher: TestLauncher,
    _dir: tempfile::TempDir,
}

fn test_app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let launcher = TestLauncher::default();
    let profile = Profile {
        config_path: dir.path().join("config").join("config.toml"),
        data_dir: dir.path().join("data"),
        secrets: Arc::new(MemorySecretStore::default()),
        secrets_backend: "memory".to_owned(),
        // Never the user's OpenCode config: "Add to OpenCode" writes here.
        opencode: OpenCodeIntegration::new(dir.path().join("opencode"), None),
    };
    let shell = Shell::new(Supervisor::new(Arc::new(launcher.clone())), profile);
    let app = configure(mock_builder(), shell.clone(), Texts::new(Language::En))
        .build(tauri::generate_context!())
        .expect("the app builds on the mock runtime");
    TestApp {
        app,
        shell,
        launcher,
        _dir: dir,
    }
}

fn started(app: &TestApp, want: Want) {
    tauri::async_runtime::block_on(app.shell.start(want)).expect("the engine starts");
}

pub(crate) fn window(app: &App<MockRuntime>, label: &str) -> WebviewWindow<MockRuntime> {
    if let Some(window) = app.get_webview_window(label) {
        return window;
    }
    WebviewWindowBuilder::new(app, label, WebviewUrl::default())
        .build()
        .expect("a mock window")
}

pub(crate) fn invoke(
    window: &WebviewWindow<MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.to_owned(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            // The app origin on Linux/macOS; anything else counts as a remote page.
            url: "tauri://localhost".parse().expect("a valid url"),
            body: tauri::ipc::InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_owned(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("a JSON response"))
}

fn refused_by_acl(result: &Result<Value, Value>) -> bool {
    matches!(result, Err(error) if error.to_string().contains("not allowed"))
}

/// Which window may call which command: the contract's Tauri column (`docs/settings-api.md`).
const ACL: &[(&str, &[&str])] = &[
    ("get_status", &[MAIN_WINDOW, SETTINGS_WINDOW]),
    ("get_health", &[MAIN_WINDOW]),
    ("get_settings", &[MAIN_WINDOW, SETTINGS_WINDOW]),
    ("get_opencode_setup", &[MAIN_WINDOW, SETTINGS_WINDOW]),
    ("open_settings", &[MAIN_WINDOW]),
    ("save_settings", &[SETTINGS_WINDOW]),
    ("test_connection", &[SETTINGS_WINDOW]),
    ("known_contacts", &[SETTINGS_WINDOW]),
    ("add_to_opencode", &[SETTINGS_WINDOW]),
    ("reveal_mcp_token", &[SETTINGS_WINDOW]),
    ("rotate_mcp_token", &[SETTINGS_WINDOW]),
    ("start_demo", &[SETTINGS_WINDOW]),
    ("get_autostart", &[SETTINGS_WINDOW]),
    ("set_autostart", &[SETTINGS_WINDOW]),
    ("list_conversations", &[MAIN_WINDOW]),
    ("get_conversation", &[MAIN_WINDOW]),
    ("retry_send", &[MAIN_WINDOW]),
    ("stop_turn", &[MAIN_WINDOW]),
    ("new_session", &[MAIN_WINDOW]),
    ("agent_server_action", &[MAIN_WINDOW]),
];

/// The commands of the app manifest (`build.rs`), from the permission files tauri-build generates.
fn manifest_commands() -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("permissions/autogenerated");
    std::fs::read_dir(dir)
        .expect("tauri-build generated the permissions")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_acl_table_covers_every_command_of_the_manifest() {
    let table: BTreeSet<String> = ACL.iter().map(|(cmd, _)| (*cmd).to_owned()).collect();
    assert_eq!(table, manifest_commands());
}

#[test]
fn each_command_is_allowed_exactly_from_its_windows() {
    let app = test_app();
    started(&app, Want::Auto);
    for (cmd, windows) in ACL {
        for label in [MAIN_WINDOW, SETTINGS_WINDOW] {
            // Empty arguments: a granted command answers (or rejects its arguments) without side effects
            // worth undoing; what matters here is whether the ACL let it through.
            let result = invoke(&window(&app.app, label), cmd, json!({}));
            let allowed = windows.contains(&label);
            assert_eq!(
                !refused_by_acl(&result),
                allowed,
                "{cmd} from {label}: {result:?}"
            );
        }
    }
}

#[test]
fn a_window_no_capability_names_gets_nothing() {
    let app = test_app();
    started(&app, Want::Auto);
    let intruder = window(&app.app, "intruder");
    for (cmd, _) in ACL {
        assert!(
            refused_by_acl(&invoke(&intruder, cmd, json!({}))),
            "{cmd} from an unnamed window"
        );
    }
    // Nor a core command the dashboard does not need.
    assert!(refused_by_acl(&invoke(
        &window(&app.app, MAIN_WINDOW),
        "plugin:app|version",
        json!({})
    )));
}

#[test]
fn only_the_settings_window_may_open_the_folder_chooser() {
    let app = test_app();
    started(&app, Want::Auto);
    // No `options`: a granted call fails on its arguments before any dialog opens; a refused one at the ACL.
    let open = |label: &str| invoke(&window(&app.app, label), "plugin:dialog|open", json!({}));
    let from_settings = open(SETTINGS_WINDOW);
    assert!(!refused_by_acl(&from_settings), "{from_settings:?}");
    assert!(
        matches!(&from_settings, Err(error) if error.to_string().contains("options")),
        "{from_settings:?}"
    );
    assert!(refused_by_acl(&open(MAIN_WINDOW)));
    assert!(refused_by_acl(&open("intruder")));
    // Nor any other dialog: the settings window gets `open` only.
    assert!(refused_by_acl(&invoke(
        &window(&app.app, SETTINGS_WINDOW),
        "plugin:dialog|message",
        json!({"message": "hi"})
    )));
}

#[test]
fn get_status_through_ipc_returns_the_snapshot() {
    let app = test_app();
    started(&app, Want::Auto);
    let status =
        invoke(&window(&app.app, MAIN_WINDOW), "get_status", json!({})).expect("granted to main");
    assert_eq!(status["mode"], "unconfigured");
    assert_eq!(status["connection"]["state"], "connected");
    assert_eq!(status["connection"]["reconnects"], 2);
    assert_eq!(status["counters"]["received"], 3);
    assert_eq!(status["conversations"][0]["title"], "Build squad");
    assert_eq!(status["quota"]["stream_budget"], 100);
    assert!(status["queues"]["conversations"].is_array());
}

#[test]
fn get_status_before_the_engine_runs_is_a_clean_error() {
    let app = test_app();
    let error =
        invoke(&window(&app.app, MAIN_WINDOW), "get_status", json!({})).expect_err("no engine yet");
    assert_eq!(error["code"], "STARTING", "{error}");
}

#[test]
fn engine_events_reach_the_webview_across_an_engine_swap() {
    let app = test_app();
    started(&app, Want::Auto);
    let (seen_tx, seen_rx) = mpsc::channel::<(String, Value)>();
    for name in [ENGINE_EVENT, ENGINE_STATE] {
        let seen = seen_tx.clone();
        app.app.listen_any(name, move |event| {
            let payload = serde_json::from_str(event.payload()).expect("JSON payload");
            let _ = seen.send((name.to_owned(), payload));
        });
    }
    let _forwarder = desktop::forward(app.app.handle().clone(), false).expect("forwarder");
    let acked = |id: &str| Event::Acked {
        msg_id: id.to_owned(),
        latency_us: 420,
    };
    let wait_for = |name: &str, pred: &dyn Fn(&Value) -> bool| loop {
        let (seen, payload) = seen_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("the event arrives");
        if seen == name && pred(&payload) {
            return payload;
        }
    };

    let (_, first) = app.launcher.last();
    first.send(acked("msg-1")).expect("relayed");
    let payload = wait_for(ENGINE_EVENT, &|p| p["type"] == "acked");
    assert_eq!(payload["msg_id"], "msg-1");
    assert_eq!(payload["latency_us"], 420);

    // "Try the demo": a new engine, the same subscription.
    started(&app, Want::Demo);
    let state = wait_for(ENGINE_STATE, &|p| p["running"] == true);
    assert_eq!(state["mode"], "demo");
    let (mode, second) = app.launcher.last();
    assert_eq!(mode, Mode::Demo);
    second.send(acked("msg-2")).expect("relayed");
    let payload = wait_for(ENGINE_EVENT, &|p| p["type"] == "acked");
    assert_eq!(payload["msg_id"], "msg-2");
}

#[test]
fn start_demo_runs_the_demo_and_opens_the_dashboard() {
    let app = test_app();
    started(&app, Want::Auto);
    invoke(&window(&app.app, SETTINGS_WINDOW), "start_demo", json!({})).expect("granted");
    assert_eq!(app.shell.state().mode, Mode::Demo);
    assert!(app.app.get_webview_window(MAIN_WINDOW).is_some());
}

fn credentials_change(secret: Option<&str>) -> Value {
    let mut dingtalk = json!({ "client_id": "dingabc123" });
    if let Some(secret) = secret {
        dingtalk["client_secret"] = json!({ "set": secret });
    }
    json!({ "change": { "dingtalk": dingtalk } })
}

#[test]
fn finishing_setup_connects_for_real_and_shows_the_dashboard() {
    let app = test_app();
    started(&app, Want::Auto);
    let settings = window(&app.app, SETTINGS_WINDOW);
    let view = invoke(&settings, "get_settings", json!({})).expect("granted");
    assert_eq!(view["mode"], "unconfigured");

    let view = invoke(
        &settings,
        "save_settings",
        credentials_change(Some("app-secret-value")),
    )
    .expect("saved");
    assert_eq!(view["mode"], "real");
    assert_eq!(view["dingtalk"]["client_secret_set"], true);
    assert_eq!(app.launcher.modes(), [Mode::Unconfigured, Mode::Real]);
    assert!(app.app.get_webview_window(MAIN_WINDOW).is_some());
    let file = std::fs::read_to_string(&app.shell.profile.config_path).expect("written");
    assert!(file.contains("dingabc123"));
    assert!(!file.contains("app-secret-value"), "{file}");
    assert!(!view.to_string().contains("app-secret-value"));
}

#[test]
fn the_demo_is_left_only_once_the_credentials_are_complete() {
    let app = test_app();
    started(&app, Want::Demo);
    let settings = window(&app.app, SETTINGS_WINDOW);
    invoke(&settings, "save_settings", credentials_change(None)).expect("saved");
    assert_eq!(app.shell.state().mode, Mode::Demo);
    invoke(
        &settings,
        "save_settings",
        credentials_change(Some("s3cret")),
    )
    .expect("saved");
    assert_eq!(app.shell.state().mode, Mode::Real);
    assert_eq!(app.launcher.modes(), [Mode::Demo, Mode::Real]);
}

#[test]
fn invalid_settings_are_refused_with_their_fields_and_change_nothing() {
    let app = test_app();
    started(&app, Want::Auto);
    let error = invoke(
        &window(&app.app, SETTINGS_WINDOW),
        "save_settings",
        json!({ "change": { "mcp": { "port": 70000 } } }),
    )
    .expect_err("refused");
    assert_eq!(error["code"], "INVALID_SETTINGS");
    assert_eq!(error["fields"][0]["field"], "mcp.port");
    assert_eq!(app.launcher.modes(), [Mode::Unconfigured]);
    assert!(!app.shell.profile.config_path.exists());
}

#[test]
fn pause_and_resume_swap_the_real_engine() {
    let app = test_app();
    let settings = window(&app.app, SETTINGS_WINDOW);
    started(&app, Want::Auto);
    invoke(
        &settings,
        "save_settings",
        credentials_change(Some("s3cret")),
    )
    .expect("saved");
    tauri::async_runtime::block_on(app.shell.pause()).expect("paused");
    assert!(app.shell.state().paused);
    tauri::async_runtime::block_on(app.shell.resume()).expect("resumed");
    assert!(!app.shell.state().paused);
    assert_eq!(
        app.launcher.modes(),
        [Mode::Unconfigured, Mode::Real, Mode::Real, Mode::Real]
    );
}

#[test]
fn command_line_flags() {
    let parse = |args: &[&str]| Options::parse(args.iter().map(|arg| (*arg).to_owned()));
    assert_eq!(parse(&[]), ParseOutcome::Run(Options::default()));
    let ParseOutcome::Run(options) = parse(&["--demo", "--minimized"]) else {
        panic!("flags are accepted");
    };
    assert!(options.demo && options.minimized);
    let ParseOutcome::Exit { message, code } = parse(&["--headless"]) else {
        panic!("--headless exits");
    };
    assert_eq!(code, 2);
    assert!(message.contains("dingbridged"));
    assert!(matches!(
        parse(&["--bogus"]),
        ParseOutcome::Exit { code: 2, .. }
    ));
    assert!(matches!(
        parse(&["--help"]),
        ParseOutcome::Exit { code: 0, .. }
    ));
}
