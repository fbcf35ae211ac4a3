//! `POST /api/agent-servers/{project}/{action}` (`start`, `stop`, `restart`): the dashboard's controls of
//! the managed OpenCode servers. Behind the login and the CSRF header like every other dashboard action;
//! answers the server's status after the action was taken (a start is under way, not finished).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::post;

use super::errors::ApiError;
use super::settings_routes::Host;
use crate::agent::opencode::managed::ServerStatus;
use crate::settings::{FieldError, SettingsError};

pub fn routes() -> Router<Host> {
    Router::new().route("/api/agent-servers/{project}/{action}", post(act))
}

fn invalid(field: &str, code: &str, message: &str) -> ApiError {
    SettingsError::Invalid(vec![FieldError::new(field, code, message)]).into()
}

async fn act(
    State(host): State<Host>,
    Path((project, action)): Path<(String, String)>,
) -> Result<Json<ServerStatus>, ApiError> {
    let engine = host.engine().ok_or(SettingsError::Starting)?;
    let Some(managed) = engine.managed() else {
        return Err(invalid(
            "project",
            "NOT_MANAGED",
            "DingBridge does not run OpenCode itself (an OpenCode URL is configured)",
        ));
    };
    let server = managed
        .server(&project)
        .map_err(|err| invalid("project", err.code(), &err.to_string()))?;
    match action.as_str() {
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
    Ok(Json(server.status()))
}
