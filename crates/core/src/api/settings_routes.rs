//! The HTTP column of `docs/settings-api.md`: the settings window's calls served by `dingbridged`.
//! Blocking work (the settings file, the keychain) runs on the blocking pool; the response shapes and error
//! bodies are the ones the Tauri commands return.

use std::sync::Arc;

use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::errors::ApiError;
use super::host::DashboardHost;
use crate::settings::{
    ConnectionReport, KnownContacts, OpenCodeSetup, SettingsChange, SettingsError, SettingsView,
};

pub type Host = Arc<dyn DashboardHost>;

pub fn routes() -> Router<Host> {
    Router::new()
        .route("/api/settings", get(read).put(save))
        .route("/api/settings/test", post(test))
        .route(
            "/api/opencode-setup",
            get(opencode_setup).post(add_to_opencode),
        )
        .route("/api/mcp-token/reveal", post(reveal_token))
        .route("/api/mcp-token/rotate", post(rotate_token))
        .route("/api/contacts/known", get(known_contacts))
}

/// `{ "change": SettingsChange }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    change: SettingsChange,
}

#[derive(Serialize)]
pub struct TokenResponse {
    token: String,
}

async fn read(State(host): State<Host>) -> Result<Json<SettingsView>, ApiError> {
    let runtime = host.runtime();
    let settings = host.settings();
    Ok(Json(blocking(move || settings.view(&runtime)).await?))
}

async fn save(
    State(host): State<Host>,
    body: Result<Json<ChangeRequest>, JsonRejection>,
) -> Result<Json<SettingsView>, ApiError> {
    let change = change_from(body)?;
    let settings = host.settings();
    let config = blocking(move || settings.save(&change)).await?;
    host.apply(config).await?;
    let runtime = host.runtime();
    let settings = host.settings();
    Ok(Json(blocking(move || settings.view(&runtime)).await?))
}

async fn test(
    State(host): State<Host>,
    body: Result<Json<ChangeRequest>, JsonRejection>,
) -> Result<Json<ConnectionReport>, ApiError> {
    let change = change_from(body)?;
    let settings = host.settings();
    let form = blocking(move || settings.form(&change)).await?;
    Ok(Json(crate::settings::test_connection(form).await))
}

async fn opencode_setup(State(host): State<Host>) -> Result<Json<OpenCodeSetup>, ApiError> {
    let url = host.runtime().mcp_url;
    let opencode = host.opencode();
    Ok(Json(
        blocking(move || opencode.state(url.as_deref())).await?,
    ))
}

async fn add_to_opencode(State(host): State<Host>) -> Result<Json<OpenCodeSetup>, ApiError> {
    let url = host.runtime().mcp_url;
    let opencode = host.opencode();
    Ok(Json(blocking(move || opencode.add(url.as_deref())).await?))
}

async fn reveal_token(State(host): State<Host>) -> Result<Json<TokenResponse>, ApiError> {
    let token = host.mcp_token().ok_or_else(no_mcp)?;
    Ok(Json(TokenResponse {
        token: token.current().expose_secret().to_string(),
    }))
}

async fn rotate_token(State(host): State<Host>) -> Result<Json<TokenResponse>, ApiError> {
    let token = host.mcp_token().ok_or_else(no_mcp)?;
    let rotated = blocking(move || token.rotate().map_err(SettingsError::from)).await?;
    Ok(Json(TokenResponse {
        token: rotated.expose_secret().to_string(),
    }))
}

async fn known_contacts(State(host): State<Host>) -> Result<Json<KnownContacts>, ApiError> {
    let engine = host.engine().ok_or(SettingsError::Starting)?;
    Ok(Json(crate::settings::known_contacts(engine.store()).await?))
}

fn change_from(
    body: Result<Json<ChangeRequest>, JsonRejection>,
) -> Result<SettingsChange, ApiError> {
    match body {
        Ok(Json(request)) => Ok(request.change),
        Err(rejection) => Err(
            SettingsError::Invalid(vec![crate::settings::FieldError::new(
                "change",
                "MALFORMED",
                without_quoted(&rejection.body_text()),
            )])
            .into(),
        ),
    }
}

/// Serde quotes the offending value (`invalid type: string "...", expected ...`), which may be a secret
/// sent in the wrong shape: keep the explanation, drop every quoted value.
fn without_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for c in text.chars() {
        if c == '"' {
            if !inside {
                out.push_str("\"…\"");
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

fn no_mcp() -> SettingsError {
    SettingsError::Forbidden("the MCP server is not running (enable it in the MCP settings)".into())
}

async fn blocking<T, F>(work: F) -> Result<T, SettingsError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, SettingsError> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| SettingsError::Internal(format!("settings task failed: {err}")))?
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_malformed_body_message_never_repeats_a_quoted_value() {
        let text = r#"invalid type: string "hunter2", expected struct Wire at line 1"#;
        let cleaned = super::without_quoted(text);
        assert!(!cleaned.contains("hunter2"));
        assert!(cleaned.contains("expected struct Wire"));
    }
}
