//! Legacy HTTP+SSE transport (MCP 2024-11-05), which rmcp no longer ships: `GET /sse` opens a session whose
//! first event names the POST endpoint (`/messages?sessionId=…`); every server message then arrives as an
//! `event: message`. Clients that fall back to it (older SDKs, some IDEs) get the same handler as `/mcp`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::service::{RoleServer, ServiceExt};
use rmcp::transport::Transport;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::mcp::handler::DingBridgeMcp;

/// More concurrent legacy sessions than any real setup needs; beyond it new ones are refused (503).
pub const MAX_SESSIONS: usize = 64;
const CHANNEL: usize = 64;

#[derive(Clone)]
pub struct LegacySse {
    prototype: DingBridgeMcp,
    sessions: Arc<Mutex<HashMap<String, mpsc::Sender<ClientJsonRpcMessage>>>>,
    shutdown: CancellationToken,
}

impl LegacySse {
    pub fn new(prototype: DingBridgeMcp, shutdown: CancellationToken) -> Self {
        Self {
            prototype,
            sessions: Arc::default(),
            shutdown,
        }
    }
}

/// The rmcp side of one session: messages from POSTs in, messages for the SSE stream out.
struct ChannelTransport {
    incoming: mpsc::Receiver<ClientJsonRpcMessage>,
    outgoing: mpsc::Sender<ServerJsonRpcMessage>,
}

#[derive(Debug, thiserror::Error)]
#[error("the SSE client disconnected")]
struct Disconnected;

impl Transport<RoleServer> for ChannelTransport {
    type Error = Disconnected;

    fn name() -> Cow<'static, str> {
        "legacy-sse".into()
    }

    fn send(
        &mut self,
        item: ServerJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let outgoing = self.outgoing.clone();
        async move { outgoing.send(item).await.map_err(|_| Disconnected) }
    }

    async fn receive(&mut self) -> Option<ClientJsonRpcMessage> {
        self.incoming.recv().await
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.incoming.close();
        Ok(())
    }
}

/// Removes the session and stops its service when the SSE response is dropped (client went away).
struct SessionGuard {
    id: String,
    sessions: Arc<Mutex<HashMap<String, mpsc::Sender<ClientJsonRpcMessage>>>>,
    stop: CancellationToken,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(&self.id);
        }
        self.stop.cancel();
    }
}

pub async fn open(State(sse): State<LegacySse>) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (to_server, incoming) = mpsc::channel(CHANNEL);
    let (outgoing, from_server) = mpsc::channel(CHANNEL);
    // Count and insert under one lock, so concurrent opens cannot overshoot the cap.
    let admitted = match sse.sessions.lock() {
        Ok(mut sessions) if sessions.len() < MAX_SESSIONS => {
            sessions.insert(id.clone(), to_server);
            true
        }
        _ => false,
    };
    if !admitted {
        tracing::warn!(
            max = MAX_SESSIONS,
            "refusing a legacy SSE session: too many open"
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(axum::http::header::RETRY_AFTER, "5")],
            "too many SSE sessions",
        )
            .into_response();
    }
    let stop = sse.shutdown.child_token();
    // Counts as a connected client until the session's service ends.
    let handler = sse.prototype.for_client();
    let service_stop = stop.clone();
    tokio::spawn(async move {
        let transport = ChannelTransport { incoming, outgoing };
        let running = tokio::select! {
            _ = service_stop.cancelled() => return,
            running = handler.serve(transport) => running,
        };
        match running {
            Ok(running) => {
                let cancel = running.cancellation_token();
                tokio::select! {
                    _ = service_stop.cancelled() => cancel.cancel(),
                    _ = running.waiting() => {}
                }
            }
            Err(err) => {
                tracing::debug!(error = %err, "legacy SSE session ended before initialisation")
            }
        }
    });
    let guard = SessionGuard {
        id: id.clone(),
        sessions: sse.sessions.clone(),
        stop: stop.clone(),
    };
    let endpoint = SseEvent::default()
        .event("endpoint")
        .data(format!("/messages?sessionId={id}"));
    let stream = futures_util::stream::unfold(
        (Some(endpoint), guard, stop, from_server),
        |(first, guard, stop, mut from_server)| async move {
            if let Some(event) = first {
                return Some((Ok::<_, Infallible>(event), (None, guard, stop, from_server)));
            }
            let message = tokio::select! {
                _ = stop.cancelled() => None,
                message = from_server.recv() => message,
            }?;
            let data = serde_json::to_string(&message).ok()?;
            let event = SseEvent::default().event("message").data(data);
            Some((Ok(event), (None, guard, stop, from_server)))
        },
    );
    sse_response(stream)
}

fn sse_response(
    stream: impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static,
) -> Response {
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[derive(Deserialize)]
pub struct SessionQuery {
    #[serde(rename = "sessionId")]
    session_id: String,
}

pub async fn post_message(
    State(sse): State<LegacySse>,
    Query(query): Query<SessionQuery>,
    body: axum::body::Bytes,
) -> Response {
    let message: ClientJsonRpcMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(err) => {
            let error = serde_json::json!({
                "jsonrpc": "2.0", "id": null,
                "error": {"code": -32700, "message": format!("Parse error: {err}")},
            });
            return (StatusCode::BAD_REQUEST, Json(error)).into_response();
        }
    };
    let sender = sse
        .sessions
        .lock()
        .ok()
        .and_then(|sessions| sessions.get(&query.session_id).cloned());
    let Some(sender) = sender else {
        return (StatusCode::NOT_FOUND, "unknown or closed SSE session").into_response();
    };
    match sender.send(message).await {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(_) => (StatusCode::NOT_FOUND, "the SSE session has closed").into_response(),
    }
}
