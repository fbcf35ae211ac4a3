//! The HTTP subset of `opencode serve` the bridge uses (mcp-notes §3.7), with its auth rule: when a
//! password is configured, every route — health included — needs HTTP Basic, else 401 with
//! `www-authenticate: Basic realm="Secure Area"`.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::runner;
use super::state::{FakeFilePart, FakePermissionReply, FakePrompt, FakeSession, Inner, lock};

#[derive(Clone)]
pub struct AppState {
    pub inner: Arc<Inner>,
    /// Cancelled when the server goes "down": ends open event streams so their connections close.
    pub generation: CancellationToken,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/global/health", get(health))
        .route("/session", post(create_session))
        .route("/session/status", get(session_status))
        .route("/session/{id}", get(get_session).delete(delete_session))
        .route("/session/{id}/prompt_async", post(prompt_async))
        .route("/session/{id}/message", get(messages))
        .route("/session/{id}/abort", post(abort))
        .route(
            "/session/{id}/permissions/{permission_id}",
            post(legacy_permission_reply),
        )
        .route("/permission/{id}/reply", post(permission_reply))
        .route("/question/{id}/reply", post(question_reply))
        .route("/question/{id}/reject", post(question_reject))
        .route("/event", get(events))
        .layer(from_fn_with_state(state.clone(), basic_auth))
        .layer(from_fn_with_state(state.clone(), refuse_when_down))
        .with_state(state)
}

fn not_found(message: String) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "name": "NotFoundError", "data": { "message": message } })),
    )
        .into_response()
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "data": {}, "errors": [{ "message": message }], "success": false })),
    )
        .into_response()
}

/// A server going down (a crash or a stop) takes no more work: requests still arriving on open connections
/// fail like the dropped connections of a killed process would (HTTP 503 here), so nothing is accepted,
/// in particular no prompt, once a crash has begun.
async fn refuse_when_down(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.generation.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server is going down").into_response();
    }
    next.run(request).await
}

async fn basic_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(password) = &state.inner.config.password else {
        return next.run(request).await;
    };
    let expected = format!(
        "Basic {}",
        base64(format!("{}:{password}", state.inner.config.username).as_bytes())
    );
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if given == Some(expected.as_str()) {
        state
            .inner
            .authorized_requests
            .fetch_add(1, Ordering::Relaxed);
        return next.run(request).await;
    }
    state.inner.auth_rejections.fetch_add(1, Ordering::Relaxed);
    let mut response = (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"Secure Area\""),
    );
    response
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "healthy": true, "version": state.inner.config.version }))
}

async fn create_session(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => value,
            Err(_) => return bad_request("invalid JSON body"),
        }
    };
    let inner = &state.inner;
    let title = body["title"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| "New session".to_owned());
    let delay = lock(&inner.create_delays)
        .iter()
        .find(|(matcher, _)| title.contains(matcher.as_str()))
        .map(|(_, delay)| *delay);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let session = FakeSession {
        id: inner.new_id("ses"),
        title,
        directory: query.get("directory").cloned(),
    };
    lock(&inner.sessions).push(session.clone());
    let info = inner.session_json(&session);
    inner.emit("session.created", json!({ "info": info.clone() }));
    Json(info).into_response()
}

async fn get_session(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match state.inner.session(&id) {
        Some(session) => Json(state.inner.session_json(&session)).into_response(),
        None => not_found(format!("Session not found: {id}")),
    }
}

async fn delete_session(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let removed = super::forget(&state.inner, &id);
    if removed {
        Json(json!(true)).into_response()
    } else {
        not_found(format!("Session not found: {id}"))
    }
}

async fn session_status(State(state): State<AppState>) -> Response {
    if state.inner.take_status_failure() {
        // OpenCode's shape for an unexpected server error.
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "name": "UnknownError", "data": { "message": "session status unavailable" } })),
        )
            .into_response();
    }
    let busy: serde_json::Map<String, Value> = lock(&state.inner.busy)
        .keys()
        .map(|id| (id.clone(), json!({ "type": "busy" })))
        .collect();
    Json(Value::Object(busy)).into_response()
}

async fn prompt_async(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let inner = &state.inner;
    if inner.session(&id).is_none() {
        return not_found(format!("Session not found: {id}"));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("invalid JSON body");
    };
    let Some(parts) = body["parts"].as_array() else {
        return bad_request("parts is required");
    };
    let text = parts
        .iter()
        .filter(|p| p["type"] == "text")
        .filter_map(|p| p["text"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut files = Vec::new();
    for part in parts {
        match part["type"].as_str() {
            Some("text") => {}
            Some("file") => match file_part(part) {
                Some(file) => files.push(file),
                None => return bad_request("a file part needs `mime` and `url`"),
            },
            _ => return bad_request("unknown part type"),
        }
    }
    // Taken before the last look at `generation`: a crash cancels the generation before it swaps the
    // kill switch, so a prompt accepted here is either refused below or killed by that crash.
    let killed = inner.kill_switch();
    if state.generation.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "server is going down").into_response();
    }
    lock(&inner.prompts).push(FakePrompt {
        session_id: id.clone(),
        text: text.clone(),
        directory: query.get("directory").cloned(),
        files,
    });
    tokio::spawn(runner::run(inner.clone(), id, text, killed));
    StatusCode::NO_CONTENT.into_response()
}

/// OpenCode's `FilePartInput`: `mime` and `url` are required; a `file://` URL is read when the prompt is
/// taken (`SessionPrompt` resolves file parts before the turn starts).
fn file_part(part: &Value) -> Option<FakeFilePart> {
    let mime = part["mime"].as_str().filter(|m| !m.is_empty())?;
    let url = part["url"].as_str().filter(|u| !u.is_empty())?;
    let content = url
        .strip_prefix("file://")
        .and_then(percent_decode)
        .and_then(|path| std::fs::read(path).ok());
    Some(FakeFilePart {
        mime: mime.to_owned(),
        filename: part["filename"].as_str().map(str::to_owned),
        url: url.to_owned(),
        content,
    })
}

/// `%XX` escapes of a file URL's path (as `fileURLToPath` decodes them); `None` for a malformed escape.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn messages(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if state.inner.session(&id).is_none() {
        return not_found(format!("Session not found: {id}"));
    }
    let all = lock(&state.inner.history)
        .get(&id)
        .cloned()
        .unwrap_or_default();
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(all.len());
    let skip = all.len().saturating_sub(limit);
    Json(Value::Array(all.into_iter().skip(skip).collect())).into_response()
}

async fn abort(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let inner = &state.inner;
    if inner.session(&id).is_none() {
        return not_found(format!("Session not found: {id}"));
    }
    lock(&inner.aborts).push(id.clone());
    let running = lock(&inner.busy).get(&id).cloned();
    if let Some(token) = &running {
        token.cancel();
    }
    Json(json!(running.is_some())).into_response()
}

fn deliver_permission(inner: &Inner, id: &str, reply: &str, route: &'static str) -> Response {
    if !matches!(reply, "once" | "always" | "reject") {
        return bad_request("reply must be once, always or reject");
    }
    let Some((_, waiter)) = lock(&inner.permissions).remove(id) else {
        return not_found(format!("Permission request not found: {id}"));
    };
    lock(&inner.permission_replies).push(FakePermissionReply {
        permission_id: id.to_owned(),
        reply: reply.to_owned(),
        route,
    });
    let _ = waiter.send(reply.to_owned());
    Json(json!(true)).into_response()
}

async fn permission_reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if state.inner.config.legacy_permission_route_only {
        // Like an OpenCode release that predates the route: unknown path.
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("invalid JSON body");
    };
    let reply = body["reply"].as_str().unwrap_or_default();
    deliver_permission(&state.inner, &id, reply, "permission")
}

async fn legacy_permission_reply(
    State(state): State<AppState>,
    Path((session_id, permission_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("invalid JSON body");
    };
    let belongs = lock(&state.inner.permissions)
        .get(&permission_id)
        .map(|(session, _)| session == &session_id);
    if belongs == Some(false) {
        return not_found(format!("Permission request not found: {permission_id}"));
    }
    let reply = body["response"].as_str().unwrap_or_default();
    deliver_permission(&state.inner, &permission_id, reply, "session")
}

async fn question_reply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("invalid JSON body");
    };
    let Ok(answers) = serde_json::from_value::<Vec<Vec<String>>>(body["answers"].clone()) else {
        return bad_request("answers must be a list of lists of strings");
    };
    match lock(&state.inner.questions).remove(&id) {
        Some(waiter) => {
            let _ = waiter.send(Some(answers));
            Json(json!(true)).into_response()
        }
        None => not_found(format!("Question not found: {id}")),
    }
}

async fn question_reject(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match lock(&state.inner.questions).remove(&id) {
        Some(waiter) => {
            let _ = waiter.send(None);
            Json(json!(true)).into_response()
        }
        None => not_found(format!("Question not found: {id}")),
    }
}

/// `GET /event`: `server.connected` first (after subscribing, so nothing published later is missed),
/// then bus events and periodic `server.heartbeat`s, until the client leaves or the server goes down.
async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let inner = state.inner.clone();
    let mut bus = inner.events.subscribe();
    inner.event_connections.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = mpsc::channel::<String>(256);
    let generation = state.generation.clone();
    tokio::spawn(async move {
        let connected =
            json!({ "id": inner.new_id("evt"), "type": "server.connected", "properties": {} });
        if tx.send(connected.to_string()).await.is_err() {
            return;
        }
        let mut heartbeat = tokio::time::interval(inner.config.heartbeat);
        heartbeat.tick().await;
        loop {
            let next = tokio::select! {
                _ = generation.cancelled() => return,
                _ = tx.closed() => return,
                _ = heartbeat.tick() => json!({ "id": inner.new_id("evt"), "type": "server.heartbeat", "properties": {} }).to_string(),
                event = bus.recv() => match event {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if tx.send(next).await.is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let data = rx.recv().await?;
        Some((Ok(Event::default().data(data)), rx))
    });
    Sse::new(stream)
}

/// Standard base64 (the fake compares the whole `Authorization` header, so it only needs to encode).
fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(TABLE[(n >> 18) as usize & 63] as char);
        out.push(TABLE[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            TABLE[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            TABLE[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"opencode:secret"), "b3BlbmNvZGU6c2VjcmV0");
    }
}
