//! Thin HTTP client for `opencode serve`: Basic auth on every request when a password is set,
//! `?directory=` scoping, short per-request timeouts (the event stream has none: it is long-lived and
//! guarded by heartbeats instead), and errors that say what to fix without echoing secrets.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::debug;

use super::config::OpenCodeSettings;
use super::wire::{
    CreateSessionBody, HealthBody, MessageWithParts, PartInput, PromptBody, SessionInfo,
};
use crate::agent::{AgentAttachment, AgentError};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("[OPENCODE_UNREACHABLE] OpenCode is not reachable at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error(
        "[OPENCODE_UNAUTHORIZED] OpenCode at {url} rejected the credentials (HTTP 401): check the OpenCode server password (OPENCODE_SERVER_PASSWORD) and user name"
    )]
    Unauthorized { url: String },
    #[error("[OPENCODE_NOT_FOUND] {what} not found on the OpenCode server")]
    NotFound { what: String },
    #[error("[OPENCODE_HTTP] OpenCode answered HTTP {status} to {what}: {body}")]
    Status {
        status: u16,
        what: String,
        body: String,
    },
    #[error("[OPENCODE_DECODE] unexpected answer from OpenCode to {what}: {detail}")]
    Decode { what: String, detail: String },
    #[error("[OPENCODE_BAD_ID] refusing to use {0:?} as an OpenCode id")]
    BadId(String),
}

impl ClientError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unreachable { .. } => "OPENCODE_UNREACHABLE",
            Self::Unauthorized { .. } => "OPENCODE_UNAUTHORIZED",
            Self::NotFound { .. } => "OPENCODE_NOT_FOUND",
            Self::Status { .. } => "OPENCODE_HTTP",
            Self::Decode { .. } => "OPENCODE_DECODE",
            Self::BadId(_) => "OPENCODE_BAD_ID",
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

impl From<ClientError> for AgentError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Unreachable { url, detail } => {
                AgentError::Unavailable(format!("OpenCode is not reachable at {url}: {detail}"))
            }
            ClientError::Unauthorized { url } => AgentError::Unauthorized(format!(
                "OpenCode at {url} rejected the credentials (HTTP 401): check the OpenCode server password"
            )),
            // A server that is up but overloaded or restarting: try again later.
            ClientError::Status { status, .. } if status >= 500 => {
                AgentError::Unavailable(error.to_string())
            }
            other => AgentError::Failed(other.to_string()),
        }
    }
}

/// Cheap to clone (the pooled `reqwest::Client` is an `Arc` inside).
#[derive(Clone)]
pub struct OpenCodeClient {
    http: reqwest::Client,
    base: String,
    username: String,
    password: Option<SecretString>,
    directory: Option<String>,
    request_timeout: Duration,
    health_timeout: Duration,
}

impl std::fmt::Debug for OpenCodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenCodeClient")
            .field("base", &self.base)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("directory", &self.directory)
            .finish()
    }
}

/// Builds the pooled client used when the caller does not pass one. No overall timeout: it would cut the
/// long-lived event stream; REST calls set their own.
pub fn build_http_client(settings: &OpenCodeSettings) -> Result<reqwest::Client, AgentError> {
    reqwest::Client::builder()
        .connect_timeout(settings.connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| AgentError::Failed(format!("cannot build the HTTP client: {e}")))
}

impl OpenCodeClient {
    pub fn new(
        http: reqwest::Client,
        settings: &OpenCodeSettings,
        password: Option<SecretString>,
    ) -> Self {
        Self {
            http,
            base: settings.normalized_base(),
            username: settings.username.clone(),
            password,
            directory: settings.directory.clone(),
            request_timeout: settings.request_timeout,
            health_timeout: settings.health_timeout,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut builder = self.http.request(method, format!("{}{path}", self.base));
        if let Some(directory) = &self.directory {
            builder = builder.query(&[("directory", directory.as_str())]);
        }
        if let Some(password) = &self.password {
            builder = builder.basic_auth(&self.username, Some(password.expose_secret()));
        }
        builder
    }

    async fn send(&self, builder: RequestBuilder, what: &str) -> Result<Response, ClientError> {
        let response = builder.send().await.map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        debug!(target: "dingbridge::agent", %status, what, "OpenCode error status");
        Err(match status {
            StatusCode::UNAUTHORIZED => ClientError::Unauthorized {
                url: self.base.clone(),
            },
            StatusCode::NOT_FOUND => ClientError::NotFound {
                what: what.to_owned(),
            },
            _ => ClientError::Status {
                status: status.as_u16(),
                what: what.to_owned(),
                body: short(&response.text().await.unwrap_or_default()),
            },
        })
    }

    async fn json<T: DeserializeOwned>(
        &self,
        response: Response,
        what: &str,
    ) -> Result<T, ClientError> {
        let bytes = response.bytes().await.map_err(|e| self.unreachable(&e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode {
            what: what.to_owned(),
            detail: e.to_string(),
        })
    }

    fn unreachable(&self, error: &reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            url: self.base.clone(),
            detail: describe(error),
        }
    }

    pub async fn health(&self) -> Result<HealthBody, ClientError> {
        let request = self
            .request(Method::GET, "/global/health")
            .timeout(self.health_timeout);
        let response = self.send(request, "the health check").await?;
        self.json(response, "the health check").await
    }

    pub async fn create_session(&self, title: &str) -> Result<SessionInfo, ClientError> {
        let request = self
            .request(Method::POST, "/session")
            .timeout(self.request_timeout)
            .json(&CreateSessionBody { title });
        let response = self.send(request, "session creation").await?;
        self.json(response, "session creation").await
    }

    /// `None` when OpenCode no longer has the session (deleted, or a different data dir).
    pub async fn get_session(&self, id: &str) -> Result<Option<SessionInfo>, ClientError> {
        let path = format!("/session/{}", checked_id(id)?);
        let request = self
            .request(Method::GET, &path)
            .timeout(self.request_timeout);
        match self.send(request, &format!("session {id}")).await {
            Ok(response) => Ok(Some(self.json(response, "session lookup").await?)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Sends the prompt text and the files (as `file://` URLs of their absolute paths).
    pub async fn prompt_async(
        &self,
        session_id: &str,
        text: &str,
        files: &[AgentAttachment],
    ) -> Result<(), ClientError> {
        let path = format!("/session/{}/prompt_async", checked_id(session_id)?);
        let listing = saved_files(files);
        let mut parts = vec![PartInput::Text { text }];
        if !listing.is_empty() {
            parts.push(PartInput::Text { text: &listing });
        }
        for file in files.iter().filter(|f| model_readable(&f.mime)) {
            // A relative path has no file URL; stored attachments are always absolute.
            let Ok(url) = reqwest::Url::from_file_path(&file.path) else {
                tracing::warn!(path = %file.path.display(), "attachment path is not absolute; not sent as a file part");
                continue;
            };
            parts.push(PartInput::File {
                mime: &file.mime,
                filename: &file.filename,
                url: url.to_string(),
            });
        }
        let body = PromptBody { parts };
        let request = self
            .request(Method::POST, &path)
            .timeout(self.request_timeout)
            .json(&body);
        self.send(request, &format!("session {session_id}")).await?;
        Ok(())
    }

    pub async fn messages(
        &self,
        session_id: &str,
        limit: usize,
    ) -> Result<Vec<MessageWithParts>, ClientError> {
        let path = format!("/session/{}/message", checked_id(session_id)?);
        let request = self
            .request(Method::GET, &path)
            .query(&[("limit", limit.to_string())])
            .timeout(self.request_timeout);
        let what = format!("session {session_id}");
        let response = self.send(request, &what).await?;
        self.json(response, "the message history").await
    }

    /// `POST /session/{id}/abort`; OpenCode answers `true`/`false` (whether something was running).
    pub async fn abort(&self, session_id: &str) -> Result<bool, ClientError> {
        let path = format!("/session/{}/abort", checked_id(session_id)?);
        let request = self
            .request(Method::POST, &path)
            .timeout(self.request_timeout);
        let response = self.send(request, &format!("session {session_id}")).await?;
        Ok(self
            .json::<serde_json::Value>(response, "abort")
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true))
    }

    /// `GET /session/status`: the sessions that are busy (or retrying) right now, keyed by id.
    pub async fn busy_sessions(
        &self,
    ) -> Result<serde_json::Map<String, serde_json::Value>, ClientError> {
        let request = self
            .request(Method::GET, "/session/status")
            .timeout(self.request_timeout);
        let response = self.send(request, "session status").await?;
        let map: serde_json::Map<String, serde_json::Value> =
            self.json(response, "session status").await?;
        Ok(map
            .into_iter()
            .filter(|(_, status)| {
                status
                    .get("type")
                    .and_then(|t| t.as_str())
                    .unwrap_or("busy")
                    != "idle"
            })
            .collect())
    }

    /// Current route: `POST /permission/{requestID}/reply` `{"reply": "once"|"always"|"reject"}`.
    pub async fn reply_permission(&self, request_id: &str, reply: &str) -> Result<(), ClientError> {
        let path = format!("/permission/{}/reply", checked_id(request_id)?);
        let request = self
            .request(Method::POST, &path)
            .timeout(self.request_timeout)
            .json(&serde_json::json!({ "reply": reply }));
        self.send(request, &format!("permission request {request_id}"))
            .await?;
        Ok(())
    }

    /// Older (still served, deprecated) route: `POST /session/{id}/permissions/{permissionID}`
    /// `{"response": "once"|"always"|"reject"}`.
    pub async fn reply_permission_legacy(
        &self,
        session_id: &str,
        permission_id: &str,
        reply: &str,
    ) -> Result<(), ClientError> {
        let path = format!(
            "/session/{}/permissions/{}",
            checked_id(session_id)?,
            checked_id(permission_id)?
        );
        let request = self
            .request(Method::POST, &path)
            .timeout(self.request_timeout)
            .json(&serde_json::json!({ "response": reply }));
        self.send(request, &format!("permission request {permission_id}"))
            .await?;
        Ok(())
    }

    /// `POST /question/{requestID}/reply` `{"answers": [[label, …], …]}` (one list per asked question).
    pub async fn reply_question(
        &self,
        request_id: &str,
        answers: &[Vec<String>],
    ) -> Result<(), ClientError> {
        let path = format!("/question/{}/reply", checked_id(request_id)?);
        let request = self
            .request(Method::POST, &path)
            .timeout(self.request_timeout)
            .json(&serde_json::json!({ "answers": answers }));
        self.send(request, &format!("question {request_id}"))
            .await?;
        Ok(())
    }

    /// `POST /question/{requestID}/reject`.
    pub async fn reject_question(&self, request_id: &str) -> Result<(), ClientError> {
        let path = format!("/question/{}/reject", checked_id(request_id)?);
        let request = self
            .request(Method::POST, &path)
            .timeout(self.request_timeout);
        self.send(request, &format!("question {request_id}"))
            .await?;
        Ok(())
    }

    /// Opens `GET /event` (SSE). Only the connect is bounded; the body streams for as long as it lives.
    pub async fn open_events(&self) -> Result<Response, ClientError> {
        let request = self
            .request(Method::GET, "/event")
            .header(reqwest::header::ACCEPT, "text/event-stream");
        let request = match tokio::time::timeout(
            self.request_timeout,
            self.send(request, "the event stream"),
        )
        .await
        {
            Ok(result) => result?,
            Err(_) => {
                return Err(ClientError::Unreachable {
                    url: self.base.clone(),
                    detail: "the event stream did not answer in time".to_owned(),
                });
            }
        };
        Ok(request)
    }
}

/// Ids travel in URL paths; OpenCode's are `ses_…`/`per_…`/`que_…` (ASCII word characters). Anything else
/// (e.g. a permission id typed in chat) is refused instead of being spliced into a path.
pub fn checked_id(id: &str) -> Result<&str, ClientError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(id)
    } else {
        Err(ClientError::BadId(short(id)))
    }
}

/// A short, human explanation of a transport error: the innermost cause ("Connection refused (os error
/// 111)") is what a user can act on; reqwest's outer text repeats the URL.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "the request timed out".to_owned();
    }
    let mut source: &dyn std::error::Error = error;
    while let Some(inner) = source.source() {
        source = inner;
    }
    let detail = source.to_string();
    if error.is_connect() && !detail.to_ascii_lowercase().contains("refused") {
        format!("cannot connect ({detail})")
    } else {
        detail
    }
}

fn short(text: &str) -> String {
    const MAX: usize = 300;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// Types OpenCode hands to a model as a file (`text/plain` it reads as text; images, PDFs, audio and video go to
/// the model, which replaces a modality it lacks with a note the agent relays). Anything else would reach the
/// provider as an opaque file it may refuse, failing the turn, so it is only listed with its path.
fn model_readable(mime: &str) -> bool {
    mime == "text/plain"
        || mime == "application/pdf"
        || ["image/", "audio/", "video/"]
            .iter()
            .any(|prefix| mime.starts_with(prefix))
}

/// A second text part naming every file with its stored path, so the agent can also open them with its
/// tools. Kept out of the first text part, which must stay the same for the same message (it is how the
/// turn is found again after a break) whatever the downloads did.
fn saved_files(files: &[AgentAttachment]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let mut text = String::from("Files the user sent (saved on this machine):");
    for file in files {
        text.push_str(&format!(
            "\n- {} ({}): {}",
            file.filename,
            file.mime,
            file.path.display()
        ));
    }
    text
}
