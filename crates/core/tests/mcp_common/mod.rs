//! Shared setup for the `mcp_*` tests: a real `dingtalk-sim`, a real `Engine` pointed at it (echo agent,
//! everyone allowed) with a little traffic already through it, and the MCP handler over that engine.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dingbridge_core::agent::EchoAgent;
use dingbridge_core::config::Config;
use dingbridge_core::mcp::http::{self, McpHttpOptions};
use dingbridge_core::mcp::{DingBridgeMcp, EngineBackend, McpToken};
use dingbridge_core::{Credentials, Engine, EngineOptions};
use dingtalk_sim::{InjectMessage, Sim, SimConfig, one_to_one_conversation_id};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use secrecy::SecretString;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

pub const TOKEN: &str = "dbm_test_token_0123456789abcdef";
pub const GROUP_ID: &str = "cidProjectA==";
pub const GROUP_TITLE: &str = "项目A群";

pub struct Fixture {
    pub sim: Sim,
    pub engine: Engine,
    pub backend: EngineBackend,
    pub handler: DingBridgeMcp,
    pub lisi_chat: String,
    _dir: tempfile::TempDir,
}

pub async fn fixture() -> Fixture {
    fixture_with(|_| {}).await
}

/// [`fixture`] with extra settings (e.g. `config.docs.operator_user_id`) applied before the engine starts.
pub async fn fixture_with(configure: impl FnOnce(&mut Config)) -> Fixture {
    let sim = Sim::start(
        SimConfig::default()
            .with_credentials("mcp-client", "mcp-secret")
            .with_ping_interval(Some(Duration::from_millis(500)))
            .with_webhook_rate_per_min(100_000),
    )
    .await
    .expect("sim starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.dingtalk.api_base = sim.base_url();
    config.dingtalk.oapi_base = sim.base_url();
    config.stream.backoff_initial_ms = 50;
    config.bridge.retry_delay_ms = 50;
    config.access.allowed_staff_ids = vec!["*".into()];
    config.access.allowed_groups = vec!["*".into()];
    configure(&mut config);
    let engine = Engine::start(EngineOptions {
        mode: "test".into(),
        config,
        data_dir: dir.path().to_path_buf(),
        credentials: Some(Credentials {
            client_id: "mcp-client".into(),
            client_secret: SecretString::from("mcp-secret"),
        }),
        agent: Arc::new(EchoAgent::new(Duration::ZERO)).into(),
    })
    .await
    .expect("engine starts");

    sim.inject(InjectMessage::text_1to1("lisi", "李四", "hello from lisi"));
    sim.inject(InjectMessage::text_group(
        GROUP_ID,
        GROUP_TITLE,
        "zhangwei01",
        "张伟",
        "group hello",
    ));
    let lisi_chat = one_to_one_conversation_id("lisi");
    let ready = wait_for(Duration::from_secs(15), || async {
        let conversations = engine.store().conversations(10).await.unwrap_or_default();
        let known = conversations.len() >= 2;
        let answered = engine
            .history(&lisi_chat, 10, None)
            .await
            .map(|h| h.iter().any(|e| e.direction == "out"))
            .unwrap_or(false);
        known && answered
    })
    .await;
    assert!(
        ready,
        "the engine received the seed traffic and answered it"
    );
    let backend = EngineBackend::new(engine.clone());
    let handler =
        DingBridgeMcp::with_tools(Arc::new(backend.clone()), DingBridgeMcp::docs_router());
    Fixture {
        sim,
        engine,
        backend,
        handler,
        lisi_chat,
        _dir: dir,
    }
}

pub async fn wait_for<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An rmcp client talking to `handler` over an in-process duplex pipe.
pub async fn in_process<C>(handler: DingBridgeMcp, client: C) -> RunningService<RoleClient, C>
where
    C: rmcp::ClientHandler,
{
    let (server_end, client_end) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        if let Ok(running) = handler.serve(server_end).await {
            let _ = running.waiting().await;
        }
    });
    client.serve(client_end).await.expect("client initialises")
}

/// The MCP HTTP server on an ephemeral loopback port.
pub async fn http_server(handler: DingBridgeMcp) -> (SocketAddr, CancellationToken) {
    let cancel = CancellationToken::new();
    let router = http::router(
        handler,
        McpHttpOptions {
            token: Arc::new(McpToken::fixed(SecretString::from(TOKEN))),
            allowed_origins: Vec::new(),
            health: None,
            shutdown: cancel.clone(),
        },
    );
    let stop = cancel.clone();
    let (addr, _task) = http::serve(router, 0, async move { stop.cancelled().await })
        .await
        .expect("server binds");
    (addr, cancel)
}

pub async fn call(
    client: &RunningService<RoleClient, impl rmcp::ClientHandler>,
    name: &'static str,
    args: Value,
) -> CallToolResult {
    let mut params = CallToolRequestParams::new(name);
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    client.call_tool(params).await.expect("tools/call answered")
}

/// `structuredContent` of a successful call.
pub fn ok(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "tool failed: {result:?}");
    result
        .structured_content
        .clone()
        .expect("structured content")
}

/// The `code` of a tool error (and checks the documented shape).
pub fn error_code(result: &CallToolResult) -> String {
    assert_eq!(
        result.is_error,
        Some(true),
        "expected a tool error: {result:?}"
    );
    let body = result.structured_content.clone().expect("structured error");
    assert!(body["error"].is_string(), "error message present: {body}");
    assert!(body.get("details").is_some(), "details present: {body}");
    body["code"].as_str().unwrap_or_default().to_owned()
}
