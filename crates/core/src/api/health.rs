//! The dashboard's health panel and charts (`GET /api/health`, Tauri `get_health`): what the status snapshot
//! does not say — whether the agent (OpenCode) answers and with which version, how many chats have a
//! session, where MCP listens and how it is used (clients, calls, recent errors) — and the last hour by minute (messages, ACK latency, agent turn time).
//! DingTalk's connection, the OpenAPI token and the quota are in the snapshot already.
//!
//! Invariant: bounded and quick — one agent health call with a short timeout, one COUNT, 60 points, at most
//! 20 MCP errors.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use super::errors::ApiError;
use super::settings_routes::Host;
use crate::engine::Engine;
use crate::mcp::activity::McpHealthView;
use crate::settings::SettingsError;
use crate::store::StoreError;
use crate::time::now_ms;
use crate::timeline::MinutePoint;

/// An agent that does not answer its health check within this is shown as unreachable.
const AGENT_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug, Serialize)]
pub struct AgentHealthView {
    pub backend: String,
    pub reachable: bool,
    pub version: Option<String>,
    pub error: Option<String>,
    /// Chats with an agent session.
    pub sessions: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct HealthView {
    pub agent: AgentHealthView,
    /// Where the MCP server listens, when it runs.
    pub mcp_url: Option<String>,
    /// Connected clients, calls in the last minute, recent errors.
    pub mcp: McpHealthView,
    /// The last 60 minutes, oldest first.
    pub timeline: Vec<MinutePoint>,
}

pub async fn health(engine: &Engine) -> Result<HealthView, StoreError> {
    let agent = engine.agent();
    let (reachable, version, error) =
        match tokio::time::timeout(AGENT_HEALTH_TIMEOUT, agent.health()).await {
            Ok(Ok(health)) => (health.healthy, health.version, None),
            Ok(Err(err)) => (false, None, Some(err.to_string())),
            Err(_) => (false, None, Some("no answer within 2 s".to_owned())),
        };
    Ok(HealthView {
        agent: AgentHealthView {
            backend: agent.name().to_owned(),
            reachable,
            version,
            error,
            sessions: engine.store().agent_session_count().await?,
        },
        mcp_url: engine.mcp_url(),
        mcp: engine.metrics().mcp.view(now_ms()),
        timeline: engine.metrics().timeline.last_hour(now_ms()),
    })
}

pub fn routes() -> Router<Host> {
    Router::new().route("/api/health", get(health_route))
}

async fn health_route(State(host): State<Host>) -> Result<Response, ApiError> {
    let engine = host.engine().ok_or(SettingsError::Starting)?;
    match health(&engine).await {
        Ok(view) => Ok(Json(view).into_response()),
        Err(err) => Err(ApiError(SettingsError::Internal(err.to_string()))),
    }
}
