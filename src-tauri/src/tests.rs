//! Mock-runtime tests: no display, no D-Bus. They use the real `tauri.conf.json` and `capabilities/`
//! (`generate_context!()`), so the ACL is the one the app ships with.

use std::sync::mpsc;
use std::time::Duration;

use dingbridge_core::api::status::{
    ConnectionStatus, ConversationSummary, Counters, LatencySummary, QueueStatus, QuotaStatus,
};
use serde_json::Value;
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, Listener, WebviewUrl, WebviewWindow, WebviewWindowBuilder};
use tokio::sync::broadcast;

use super::*;
use crate::engine::{ConnectionState, EngineApi, EngineHandle, StatusSnapshot};

/// A stand-in engine with a fixed snapshot and a bus the test publishes on.
struct FixedEngine {
    events: broadcast::Sender<Event>,
}

impl FixedEngine {
    fn handle() -> (EngineHandle, broadcast::Sender<Event>) {
        let (events, _) = broadcast::channel(16);
        (
            EngineHandle::new(Self {
                events: events.clone(),
            }),
            events,
        )
    }
}

impl EngineApi for FixedEngine {
    fn status(&self) -> StatusSnapshot {
        StatusSnapshot {
            mode: "app".to_owned(),
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
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }
}

fn app_with_real_acl() -> (App<MockRuntime>, broadcast::Sender<Event>) {
    let (engine, events) = FixedEngine::handle();
    let app = configure(mock_builder())
        .build(tauri::generate_context!())
        .expect("the app builds on the mock runtime");
    assert!(app.state::<EngineSlot>().install(engine));
    (app, events)
}

fn window(app: &App<MockRuntime>, label: &str) -> WebviewWindow<MockRuntime> {
    if let Some(window) = app.get_webview_window(label) {
        return window;
    }
    WebviewWindowBuilder::new(app, label, WebviewUrl::default())
        .build()
        .expect("a mock window")
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str) -> Result<Value, Value> {
    tauri::test::get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.to_owned(),
            callback: tauri::ipc::CallbackFn(0),
            error: tauri::ipc::CallbackFn(1),
            // The app origin on Linux/macOS; anything else counts as a remote page.
            url: "tauri://localhost".parse().expect("a valid url"),
            body: tauri::ipc::InvokeBody::default(),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_owned(),
        },
    )
    .map(|body| body.deserialize::<Value>().expect("a JSON response"))
}

#[test]
fn get_status_through_ipc_returns_the_snapshot() {
    let (app, _events) = app_with_real_acl();
    let status = invoke(&window(&app, tray::MAIN_WINDOW), "get_status").expect("granted to main");
    assert_eq!(status["mode"], "app");
    assert_eq!(status["connection"]["state"], "connected");
    assert_eq!(status["connection"]["reconnects"], 2);
    assert_eq!(status["counters"]["received"], 3);
    assert_eq!(status["conversations"][0]["title"], "Build squad");
    assert_eq!(status["quota"]["stream_budget"], 100);
    assert!(status["queues"]["conversations"].is_array());
}

#[test]
fn get_status_before_the_engine_runs_is_a_clean_error() {
    let app = configure(mock_builder())
        .build(tauri::generate_context!())
        .expect("the app builds on the mock runtime");
    let error = invoke(&window(&app, tray::MAIN_WINDOW), "get_status").expect_err("no engine yet");
    assert_eq!(error["code"], "starting", "{error}");
}

#[test]
fn the_acl_refuses_what_no_capability_grants() {
    let (app, _events) = app_with_real_acl();
    // A core command the dashboard does not need is not granted to it.
    let refused = invoke(&window(&app, tray::MAIN_WINDOW), "plugin:app|version")
        .expect_err("core:app is not granted to main");
    assert!(refused.to_string().contains("not allowed"), "{refused}");
    // A window that no capability names gets nothing, not even get_status.
    let refused = invoke(&window(&app, "intruder"), "get_status")
        .expect_err("no capability names this window");
    assert!(refused.to_string().contains("not allowed"), "{refused}");
}

#[test]
fn engine_events_reach_the_webview_as_engine_event() {
    let (app, events) = app_with_real_acl();
    let (seen_tx, seen_rx) = mpsc::channel::<String>();
    app.listen_any(ENGINE_EVENT, move |event| {
        let _ = seen_tx.send(event.payload().to_owned());
    });
    let _forwarder = forward_events(app.handle().clone(), events.subscribe());
    events
        .send(Event::Acked {
            msg_id: "msg-1".to_owned(),
            latency_us: 420,
        })
        .expect("the forwarder is subscribed");
    let payload = seen_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the event arrives within 5 s");
    let payload: Value = serde_json::from_str(&payload).expect("JSON payload");
    assert_eq!(payload["type"], "acked");
    assert_eq!(payload["msg_id"], "msg-1");
    assert_eq!(payload["latency_us"], 420);
}

#[test]
fn command_line_flags() {
    let parse = |args: &[&str]| Options::parse(args.iter().map(|arg| (*arg).to_owned()));
    assert_eq!(parse(&[]), ParseOutcome::Run(Options::default()));
    let ParseOutcome::Run(options) = parse(&["--demo", "--minimized"]) else {
        panic!("flags are accepted");
    };
    assert!(options.engine.demo && options.minimized);
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
