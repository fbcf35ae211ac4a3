//! `POST /v1.0/oauth2/accessToken` (protocol doc §4.1). One app, so one
//! current token: asking again within validity returns the same token and
//! extends it, as the real endpoint does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api_error::new_api_error;
use crate::ids;
use crate::state::SimState;

#[derive(Default)]
pub struct TokenState {
    current: Option<String>,
    /// Every token ever issued with its expiry; a replaced token stays valid
    /// until it expires, like a real one handed to another process.
    expiry: HashMap<String, Instant>,
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/v1.0/oauth2/accessToken", post(access_token))
}

async fn access_token(State(state): State<Arc<SimState>>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let app_key = v.get("appKey").and_then(Value::as_str);
    let app_secret = v.get("appSecret").and_then(Value::as_str);
    if app_key != Some(state.config.client_id.as_str())
        || app_secret != Some(state.config.client_secret.as_str())
    {
        return new_api_error(
            StatusCode::BAD_REQUEST,
            "invalidClientIdOrSecret",
            "无效的clientId或者clientSecret",
        );
    }
    let token = state.issue_token();
    Json(json!({ "accessToken": token, "expireIn": state.config.token_ttl.as_secs() }))
        .into_response()
}

impl SimState {
    /// The current token (extended) or a fresh one.
    pub fn issue_token(&self) -> String {
        let now = Instant::now();
        let expires = now + self.config.token_ttl;
        let mut inner = self.lock();
        let tokens = &mut inner.tokens;
        tokens.expiry.retain(|_, e| *e > now);
        let token = match tokens.current.clone() {
            Some(t) if tokens.expiry.contains_key(&t) => t,
            _ => ids::access_token(),
        };
        tokens.expiry.insert(token.clone(), expires);
        tokens.current = Some(token.clone());
        inner.stats.tokens_issued += 1;
        token
    }

    /// Whether `token` was issued here and has not expired. For the send,
    /// contacts and docs endpoints.
    pub fn validate_token(&self, token: &str) -> bool {
        self.lock()
            .tokens
            .expiry
            .get(token)
            .is_some_and(|e| *e > Instant::now())
    }
}
