//! The HTTP column of the dashboard's conversation calls (`conversations`), behind the dashboard login; the
//! POST actions also need the CSRF header (`auth`). Conversation ids contain `/`, `+` and `=`: the UI
//! percent-encodes them as one path segment.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::conversations::{self, ConversationError, ListParams};
use super::errors::ApiError;
use super::settings_routes::Host;
use crate::engine::Engine;
use crate::settings::SettingsError;

pub fn routes() -> Router<Host> {
    Router::new()
        .route("/api/conversations", get(list))
        .route("/api/conversations/{id}", get(detail))
        .route("/api/conversations/{id}/retry", post(retry))
        .route("/api/conversations/{id}/stop", post(stop))
        .route("/api/conversations/{id}/new-session", post(new_session))
}

impl IntoResponse for ConversationError {
    fn into_response(self) -> Response {
        let status = match self {
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Agent(_) => StatusCode::BAD_GATEWAY,
        };
        if status.is_server_error() {
            tracing::warn!(code = self.code(), error = %self, "conversation call failed");
        }
        (status, Json(self)).into_response()
    }
}

/// Either the engine is not running yet (settings' `STARTING`) or the call failed.
enum RouteError {
    Engine(ApiError),
    Call(ConversationError),
}

impl From<ConversationError> for RouteError {
    fn from(err: ConversationError) -> Self {
        Self::Call(err)
    }
}

impl IntoResponse for RouteError {
    fn into_response(self) -> Response {
        match self {
            Self::Engine(err) => err.into_response(),
            Self::Call(err) => err.into_response(),
        }
    }
}

fn engine(host: &Host) -> Result<Engine, RouteError> {
    host.engine()
        .ok_or(RouteError::Engine(ApiError(SettingsError::Starting)))
}

async fn list(
    State(host): State<Host>,
    Query(params): Query<ListParams>,
) -> Result<Response, RouteError> {
    let engine = engine(&host)?;
    Ok(Json(conversations::list(&engine, params).await?).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DetailParams {
    limit: Option<usize>,
}

async fn detail(
    State(host): State<Host>,
    Path(id): Path<String>,
    Query(params): Query<DetailParams>,
) -> Result<Response, RouteError> {
    let engine = engine(&host)?;
    Ok(Json(conversations::detail(&engine, &id, params.limit).await?).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryRequest {
    outbox_id: i64,
}

async fn retry(
    State(host): State<Host>,
    Path(id): Path<String>,
    body: Result<Json<RetryRequest>, JsonRejection>,
) -> Result<Response, RouteError> {
    let engine = engine(&host)?;
    let Json(request) = body.map_err(|err| ConversationError::Invalid(err.body_text()))?;
    Ok(Json(conversations::retry_send(&engine, &id, request.outbox_id).await?).into_response())
}

async fn stop(State(host): State<Host>, Path(id): Path<String>) -> Result<Response, RouteError> {
    let engine = engine(&host)?;
    Ok(Json(conversations::stop_turn(&engine, &id).await?).into_response())
}

async fn new_session(
    State(host): State<Host>,
    Path(id): Path<String>,
) -> Result<Response, RouteError> {
    let engine = engine(&host)?;
    Ok(Json(conversations::new_session(&engine, &id).await?).into_response())
}
