//! One axum server on 127.0.0.1:<port> for every HTTP transport:
//! - `/mcp`: Streamable HTTP (rmcp; legacy session mode on, so 2025-11-25 clients such as OpenCode get
//!   sessions and the GET stream, while 2026-07-28 clients are served statelessly on the same endpoint);
//! - `/sse` + `/messages`: the legacy HTTP+SSE transport ([`legacy_sse`]);
//! - `/health`: open JSON liveness (no token, no secrets).
//!
//! Every MCP route sits behind [`guard::mcp_guard`] (Host, Origin, bearer token).

pub mod guard;
pub mod legacy_sse;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::handler::DingBridgeMcp;
use super::token::McpToken;
use guard::GuardState;
use legacy_sse::LegacySse;

/// The documented default port of the MCP server (the dashboard uses 8765).
pub const DEFAULT_PORT: u16 = 8766;

/// Extra, non-secret facts for `/health` (e.g. the DingTalk connection state).
pub type HealthFn = Arc<dyn Fn() -> Value + Send + Sync>;

pub struct McpHttpOptions {
    pub token: Arc<McpToken>,
    /// Browser origins allowed to call (none by default: MCP clients send no Origin).
    pub allowed_origins: Vec<String>,
    pub health: Option<HealthFn>,
    /// Cancel to end every session (graceful shutdown).
    pub shutdown: CancellationToken,
}

pub fn router(prototype: DingBridgeMcp, options: McpHttpOptions) -> Router {
    let McpHttpOptions {
        token,
        allowed_origins,
        health,
        shutdown,
    } = options;
    // Origin is checked by `guard::mcp_guard` (allow-list + the server's own origin); Host by both.
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(true)
        .with_cancellation_token(shutdown.child_token())
        .disable_allowed_origins();
    let mut sessions = LocalSessionManager::default();
    // Idle sessions expire after 30 min instead of 5 (clients re-initialise on 404 anyway).
    sessions.session_config.keep_alive = Some(Duration::from_secs(30 * 60));
    let factory_prototype = prototype.clone();
    let streamable = StreamableHttpService::new(
        // One handler per session: it counts as a connected client until rmcp drops it.
        move || Ok(factory_prototype.for_client()),
        Arc::new(sessions),
        config,
    );
    let guard_state = Arc::new(GuardState {
        token,
        allowed_origins,
    });
    let legacy = LegacySse::new(prototype, shutdown);
    let mcp_routes = Router::new()
        .route_service("/mcp", streamable)
        .route("/sse", get(legacy_sse::open))
        .route("/messages", post(legacy_sse::post_message))
        .with_state(legacy)
        .layer(middleware::from_fn_with_state(
            guard_state,
            guard::mcp_guard,
        ));
    let health_routes = Router::new()
        .route(
            "/health",
            get(move || {
                let extra = health.as_ref().map(|f| f()).unwrap_or(Value::Null);
                async move { axum::Json(health_body(extra)) }
            }),
        )
        .layer(middleware::from_fn(guard::host_guard));
    mcp_routes.merge(health_routes)
}

fn health_body(extra: Value) -> Value {
    let mut body = json!({
        "status": "ok",
        "service": "dingbridge",
        "version": env!("CARGO_PKG_VERSION"),
        "mcp": {
            "endpoint": "/mcp",
            "legacy_sse": "/sse",
            "auth": "bearer",
        },
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        for (key, value) in extra {
            body.entry(key).or_insert(value);
        }
    }
    body
}

/// Binds 127.0.0.1:`port` only (0 = any free port) and serves until `shutdown` resolves.
pub async fn serve(
    router: Router,
    port: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    crate::loopback::serve("MCP server", router, port, shutdown).await
}
