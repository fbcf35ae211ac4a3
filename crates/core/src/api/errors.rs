//! The settings API's error body over HTTP: `{ "code", "message", "fields"? }` with a status per code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::settings::SettingsError;

pub fn status_for(err: &SettingsError) -> StatusCode {
    match err {
        SettingsError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        SettingsError::Unauthorized => StatusCode::UNAUTHORIZED,
        SettingsError::Forbidden(_) => StatusCode::FORBIDDEN,
        SettingsError::KeychainUnavailable(_) | SettingsError::Starting => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        SettingsError::Config(crate::config::ConfigError::Io { .. }) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        // The user's file needs fixing before we can change it.
        SettingsError::Config(_) | SettingsError::OpenCodeConfig(_) => StatusCode::CONFLICT,
        SettingsError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn error_response(err: &SettingsError) -> Response {
    (status_for(err), Json(err)).into_response()
}

/// Lets handlers return `Result<Json<T>, ApiError>`.
pub struct ApiError(pub SettingsError);

impl From<SettingsError> for ApiError {
    fn from(err: SettingsError) -> Self {
        Self(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(
            self.0,
            SettingsError::Internal(_) | SettingsError::Config(_)
        ) {
            tracing::warn!(code = self.0.code(), error = %self.0, "settings API call failed");
        }
        error_response(&self.0)
    }
}
