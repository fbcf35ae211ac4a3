//! The stdio ⇄ Streamable HTTP message pump: no handler logic, just JSON-RPC messages moved between the
//! client on stdin/stdout and the app's `/mcp` (rmcp's HTTP client transport handles sessions, SSE and the
//! protocol-era headers). Requests still waiting when the app goes away are answered with an error.

use std::collections::HashSet;
use std::time::Duration;

use rmcp::model::{
    ClientJsonRpcMessage, ErrorCode, ErrorData, JsonRpcError, RequestId, ServerJsonRpcMessage,
};
use rmcp::service::{RoleClient, RoleServer};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::Transport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use secrecy::ExposeSecret;

use crate::mcp_failsafe::HELPER_ERROR_CODE;
use crate::mcp_locate::{Problem, Target};

/// How the pump stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum PumpEnd {
    /// stdin closed: the client is done.
    ClientClosed,
    /// The app went away; pending requests were answered. The caller keeps answering with this problem.
    AppLost(Problem),
}

fn problem_error(id: RequestId, problem: &Problem) -> ServerJsonRpcMessage {
    ServerJsonRpcMessage::Error(JsonRpcError::new(
        Some(id),
        ErrorData::new(
            ErrorCode(HELPER_ERROR_CODE as i32),
            problem.message.clone(),
            Some(serde_json::json!({"reason": problem.reason, "source": "dingbridge-mcp"})),
        ),
    ))
}

pub fn http_transport(target: &Target) -> Result<impl Transport<RoleClient>, Problem> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(Duration::from_secs(3))
        .build()
        .map_err(|err| Problem::misconfigured(format!("cannot create an HTTP client: {err}")))?;
    let config = StreamableHttpClientTransportConfig::with_uri(target.url.clone())
        .auth_header(target.token.expose_secret().to_owned())
        .reinit_on_expired_session(true);
    Ok(StreamableHttpClientTransport::with_client(client, config))
}

/// Pumps until stdin closes or the app is lost.
pub async fn pump<D, U>(down: &mut D, mut up: U) -> PumpEnd
where
    D: Transport<RoleServer>,
    U: Transport<RoleClient>,
{
    let mut pending: HashSet<RequestId> = HashSet::new();
    let lost = loop {
        tokio::select! {
            from_client = down.receive() => {
                let Some(message) = from_client else {
                    // Ends the HTTP session (DELETE) without letting a dead app hold up the exit.
                    let _ = tokio::time::timeout(Duration::from_millis(150), up.close()).await;
                    return PumpEnd::ClientClosed;
                };
                let request_id = request_id(&message);
                if let Some(id) = &request_id {
                    pending.insert(id.clone());
                }
                if let Err(err) = up.send(message).await {
                    let problem = Problem::connection_lost(format!(
                        "lost the connection to DingBridge: {err}; is the app still running?"
                    ));
                    break problem;
                }
            }
            from_app = up.receive() => {
                let Some(message) = from_app else {
                    break Problem::connection_lost(
                        "lost the connection to DingBridge (the app stopped or refused the session); restart it and retry",
                    );
                };
                if let Some(id) = response_id(&message) {
                    pending.remove(&id);
                }
                if down.send(message).await.is_err() {
                    return PumpEnd::ClientClosed;
                }
            }
        }
    };
    for id in pending.drain() {
        let _ = down.send(problem_error(id, &lost)).await;
    }
    PumpEnd::AppLost(lost)
}

fn request_id(message: &ClientJsonRpcMessage) -> Option<RequestId> {
    match message {
        ClientJsonRpcMessage::Request(request) => Some(request.id.clone()),
        _ => None,
    }
}

fn response_id(message: &ServerJsonRpcMessage) -> Option<RequestId> {
    match message {
        ServerJsonRpcMessage::Response(response) => Some(response.id.clone()),
        ServerJsonRpcMessage::Error(error) => error.id.clone(),
        _ => None,
    }
}
