//! Start / stop / restart of the managed OpenCode servers, shared by both transports:
//! `POST /api/agent-servers/{project}/{action}` (behind the login and the CSRF header like every other
//! dashboard action) and the desktop app's `agent_server_action` command. Answers the server's status after
//! the action was taken (a start is under way, not finished).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;

use super::errors::ApiError;
use super::settings_routes::Host;
use crate::Engine;
use crate::agent::opencode::managed::ServerStatus;
use crate::settings::{FieldError, SettingsError};

pub fn routes() -> Router<Host> {
    Router::new().route("/api/agent-servers/{project}/{action}", post(route))
}

fn invalid(field: &str, code: &str, message: &str) -> SettingsError {
    SettingsError::Invalid(vec![FieldError::new(field, code, message)])
}

async fn route(
    State(host): State<Host>,
    Path((project, action)): Path<(String, String)>,
) -> Result<Json<ServerStatus>, ApiError> {
    let engine = host.engine().ok_or(SettingsError::Starting)?;
    Ok(Json(act(&engine, &project, &action).await?))
}

/// Takes `action` (`start`, `stop` or `restart`) on the server of `project`. Refused with a field error
/// when DingBridge does not run OpenCode itself, the project is unknown or the action is not one of those.
pub async fn act(
    engine: &Engine,
    project: &str,
    action: &str,
) -> Result<ServerStatus, SettingsError> {
    let Some(managed) = engine.managed() else {
        return Err(invalid(
            "project",
            "NOT_MANAGED",
            "DingBridge does not run OpenCode itself (an OpenCode URL is configured)",
        ));
    };
    let server = managed
        .server(project)
        .map_err(|err| invalid("project", err.code(), &err.to_string()))?;
    match action {
        "start" => server.start().await,
        "stop" => server.stop().await,
        "restart" => server.restart().await,
        _ => {
            return Err(invalid(
                "action",
                "UNKNOWN_ACTION",
                "the action is start, stop or restart",
            ));
        }
    }
    Ok(server.status())
}
