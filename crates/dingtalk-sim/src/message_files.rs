//! Files users send to the bot (pictures, files, voice, video, rich-text pictures) and the robot
//! message-file download API (`POST /v1.0/robot/messageFiles/download`, D-MSGFILE
//! https://open.dingtalk.com/document/orgapp/download-the-file-content-of-the-robot-receiving-message):
//! `{downloadCode, robotCode}` with the access token in `x-acs-dingtalk-access-token` answers
//! `{downloadUrl}`, a short-lived link the bytes are fetched from without a token. Like the real object-store
//! link, an expired or unknown link answers 403/404 with an XML error body.
//!
//! Invariant: a downloadCode only exists after a callback carrying it was built, and it is only honoured for
//! the robot the message was sent to; the store is bounded (oldest codes are forgotten first).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::api_error::new_api_error;
use crate::ids;
use crate::message::SimFileBody;
use crate::openapi::check_new_api;
use crate::state::SimState;

pub const DOWNLOAD_PATH: &str = "/v1.0/robot/messageFiles/download";
/// Where download links point (the real links point at an object store).
pub const LINK_PREFIX: &str = "/robot-message-files";
/// At most this many downloadCodes are remembered.
const MAX_CODES: usize = 10_000;
/// Default lifetime of a download link.
const DEFAULT_LINK_TTL: Duration = Duration::from_secs(3600);

/// A 1×1 PNG: what a picture downloads as unless the test says otherwise.
pub const DEFAULT_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xc9, 0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Picture,
    File,
    Audio,
    Video,
}

/// One file behind a downloadCode.
#[derive(Debug, Clone)]
pub struct SimFile {
    kind: FileKind,
    /// The file name (files) or the video type (videos).
    name: String,
    body: Option<SimFileBody>,
    robot_code: String,
}

impl SimFile {
    pub fn new(kind: FileKind, name: &str, body: Option<SimFileBody>, robot_code: &str) -> Self {
        Self {
            kind,
            name: name.to_owned(),
            body,
            robot_code: robot_code.to_owned(),
        }
    }

    fn refused(&self) -> bool {
        matches!(self.body, Some(SimFileBody::Refused))
    }

    /// The bytes and the `Content-Type` the link serves.
    fn content(&self) -> (Vec<u8>, &'static str) {
        let bytes = match &self.body {
            Some(SimFileBody::Bytes(bytes)) => bytes.clone(),
            Some(SimFileBody::Text(text)) => text.as_bytes().to_vec(),
            Some(SimFileBody::Size(size) | SimFileBody::Chunked(size)) => {
                vec![b'x'; usize::try_from(*size).unwrap_or(0)]
            }
            Some(SimFileBody::Refused) | None => self.default_bytes(),
        };
        let content_type = match self.kind {
            FileKind::Picture => "image/png",
            FileKind::Audio => "audio/amr",
            FileKind::Video => "video/mp4",
            // The object store serves files as opaque bytes.
            FileKind::File => "application/octet-stream",
        };
        (bytes, content_type)
    }

    fn default_bytes(&self) -> Vec<u8> {
        match self.kind {
            FileKind::Picture => DEFAULT_PNG.to_vec(),
            FileKind::File => format!("contents of {}\n", self.name).into_bytes(),
            // AMR magic plus a few silent frames.
            FileKind::Audio => {
                let parts: [&[u8]; 2] = [b"#!AMR\n", &[0x3c; 32]];
                parts.concat()
            }
            // An `ftyp` box: enough for anyone sniffing the type.
            FileKind::Video => {
                let parts: [&[u8]; 4] = [&[0, 0, 0, 0x18], b"ftypmp42", &[0, 0, 0, 0], b"mp42isom"];
                parts.concat()
            }
        }
    }
}

/// Codes, live links and counters.
pub struct FileState {
    codes: HashMap<String, SimFile>,
    order: VecDeque<String>,
    /// link token → (downloadCode, expiry)
    links: HashMap<String, (String, Instant)>,
    pub(crate) link_ttl: Duration,
    pub(crate) api_calls: u64,
    pub(crate) link_fetches: u64,
}

impl Default for FileState {
    fn default() -> Self {
        Self {
            codes: HashMap::new(),
            order: VecDeque::new(),
            links: HashMap::new(),
            link_ttl: DEFAULT_LINK_TTL,
            api_calls: 0,
            link_fetches: 0,
        }
    }
}

impl FileState {
    pub fn register(&mut self, code: String, file: SimFile) {
        while self.order.len() >= MAX_CODES {
            if let Some(old) = self.order.pop_front() {
                self.codes.remove(&old);
            }
        }
        self.order.push_back(code.clone());
        self.codes.insert(code, file);
    }

    fn link(&mut self, code: &str) -> String {
        let now = Instant::now();
        self.links.retain(|_, (_, expires)| *expires > now);
        let token = ids::download_code()
            .replace(['+', '/'], "_")
            .replace('=', "");
        self.links
            .insert(token.clone(), (code.to_owned(), now + self.link_ttl));
        token
    }
}

pub fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route(DOWNLOAD_PATH, post(download))
        .route(&format!("{LINK_PREFIX}/{{token}}"), get(fetch))
}

fn bad(code: &str, message: &str) -> Response {
    new_api_error(StatusCode::BAD_REQUEST, code, message)
}

async fn download(State(state): State<Arc<SimState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(answer) = check_new_api(&state, &headers) {
        return answer;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad("invalidParameter.body.invalid", "请求体不是合法的 JSON");
    };
    let field = |name: &str| body.get(name).and_then(Value::as_str).unwrap_or_default();
    let (robot_code, code) = (field("robotCode"), field("downloadCode"));
    if robot_code.is_empty() {
        return bad("invalidParameter.robotCode.empty", "robotCode 不能为空");
    }
    if robot_code != state.config.client_id {
        return bad("invalidParameter.robotCode.notExsit", "robot 不存在");
    }
    if code.is_empty() {
        return bad(
            "MissingdownloadCode",
            "downloadCode is mandatory for this action.",
        );
    }
    let mut inner = state.lock();
    let files = &mut inner.files;
    files.api_calls += 1;
    match files.codes.get(code) {
        Some(file) if file.robot_code == robot_code && !file.refused() => {}
        // Unknown, expired, or issued for another robot: the service does not say which.
        _ => {
            return bad(
                "invalidParameter.downloadCode.invalid",
                "downloadCode 无效或已过期",
            );
        }
    }
    let token = files.link(code);
    let url = format!(
        "{}{LINK_PREFIX}/{token}?Expires={}&Signature={}",
        state.base_url,
        files.link_ttl.as_secs(),
        ids::request_id()
    );
    Json(json!({ "downloadUrl": url })).into_response()
}

/// The object store's XML error body.
fn store_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{code}</Code>\n  <Message>{message}</Message>\n  <RequestId>{}</RequestId>\n</Error>\n",
        ids::request_id()
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

async fn fetch(State(state): State<Arc<SimState>>, Path(token): Path<String>) -> Response {
    let mut inner = state.lock();
    let files = &mut inner.files;
    files.link_fetches += 1;
    let Some((code, expires)) = files.links.get(&token).cloned() else {
        return store_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    if expires <= Instant::now() {
        return store_error(
            StatusCode::FORBIDDEN,
            "AccessDenied",
            "Request has expired.",
        );
    }
    let Some(file) = files.codes.get(&code) else {
        return store_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    let (bytes, content_type) = file.content();
    if matches!(file.body, Some(SimFileBody::Chunked(_))) {
        // A stream has no length up front: the client only learns the size by reading.
        let chunks: Vec<Result<Bytes, std::io::Error>> = bytes
            .chunks(64 * 1024)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
        return (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        bytes,
    )
        .into_response()
}

impl crate::Sim {
    /// How long download links stay valid (default one hour).
    pub fn set_file_link_ttl(&self, ttl: Duration) {
        self.state().lock().files.link_ttl = ttl;
    }

    /// Calls of the download API (accepted or not) and fetches of download links so far.
    pub fn file_download_counts(&self) -> (u64, u64) {
        let inner = self.state().lock();
        (inner.files.api_calls, inner.files.link_fetches)
    }
}
