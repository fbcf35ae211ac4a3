//! Files users send to the bot: a picture, file, voice message, video or rich-text picture arrives as a
//! `downloadCode`; `POST /v1.0/robot/messageFiles/download` `{downloadCode, robotCode}` exchanges it for a
//! short-lived `downloadUrl` (D-MSGFILE, docs/dingtalk-api.md), which is fetched without a token.
//!
//! Invariants:
//! - a file is stored as `<data>/attachments/<conversation>/<msgId>-<n>.<ext>`, mode 0600 in 0700
//!   directories, and only appears under that name once it is complete (written as a hidden `.part` file,
//!   then renamed), so a stored file found after a restart is whole and is reused instead of downloaded again;
//! - at most `max_bytes` are ever read: a too-large announced length is refused before reading, and a body
//!   that grows past the cap is abandoned (the partial file removed); nothing is buffered in memory beyond
//!   one network chunk;
//! - the exchange call goes through the shared OpenAPI client (token, app-rate pacing, monthly quota).

mod refs;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

pub use refs::{AttachmentKind, AttachmentRef, attachments, path_safe};

use super::openapi::{ApiRequest, OpenApiClient, OpenApiError};

pub const DOWNLOAD_PATH: &str = "/v1.0/robot/messageFiles/download";
/// The default size cap, in MiB (setting `bridge.attachment_max_mb`).
pub const DEFAULT_MAX_MB: u64 = 20;
/// Transient failures (network, DingTalk 5xx, throttling) are tried this many times in all.
const ATTEMPTS: u32 = 3;
/// One file fetch may take this long (a 20 MiB file over a slow link).
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum MessageFileError {
    #[error("[FILE_NO_CODE] the message carried no download code")]
    NoCode,
    #[error("[FILE_API] DingTalk did not hand out the file: {0}")]
    Api(#[from] OpenApiError),
    #[error("[FILE_NO_URL] DingTalk's answer had no downloadUrl")]
    NoUrl,
    #[error("[FILE_TOO_LARGE] the file is larger than the {limit}-byte limit")]
    TooLarge {
        limit: u64,
        /// The announced or already-read size.
        size: Option<u64>,
    },
    #[error("[FILE_FETCH] the file could not be fetched: {0}")]
    Fetch(String),
    #[error("[FILE_IO] the file could not be stored: {0}")]
    Io(String),
}

impl MessageFileError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoCode => "FILE_NO_CODE",
            Self::Api(_) => "FILE_API",
            Self::NoUrl => "FILE_NO_URL",
            Self::TooLarge { .. } => "FILE_TOO_LARGE",
            Self::Fetch(_) => "FILE_FETCH",
            Self::Io(_) => "FILE_IO",
        }
    }

    fn is_transient(&self) -> bool {
        match self {
            Self::Api(err) => err.is_transient(),
            Self::Fetch(_) => true,
            _ => false,
        }
    }
}

fn io(err: std::io::Error) -> MessageFileError {
    MessageFileError::Io(err.to_string())
}

/// A file stored under the data dir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredFile {
    pub path: PathBuf,
    pub mime: String,
    /// The name the agent sees.
    pub filename: String,
    pub bytes: u64,
}

/// Cheap to clone.
#[derive(Clone)]
pub struct MessageFiles {
    api: OpenApiClient,
    http: reqwest::Client,
    robot_code: String,
    root: PathBuf,
    max_bytes: u64,
}

impl MessageFiles {
    /// `api` should be the paced, quota-counted client; files go to `<data_dir>/attachments`.
    pub fn new(
        api: OpenApiClient,
        http: reqwest::Client,
        robot_code: impl Into<String>,
        data_dir: &Path,
        max_bytes: u64,
    ) -> Self {
        Self {
            api,
            http,
            robot_code: robot_code.into(),
            // Absolute: the agent gets `file://` URLs of these paths.
            root: std::path::absolute(data_dir.join("attachments"))
                .unwrap_or_else(|_| data_dir.join("attachments")),
            max_bytes,
        }
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Downloads (or finds, after a restart) one file of a message.
    pub async fn fetch(
        &self,
        conversation_id: &str,
        msg_id: &str,
        attachment: &AttachmentRef,
    ) -> Result<StoredFile, MessageFileError> {
        let dir = self.root.join(path_safe(conversation_id));
        let stem = format!("{}-{}", path_safe(msg_id), attachment.index);
        if let Some(found) = self.stored(&dir, &stem, attachment).await {
            return Ok(found);
        }
        if attachment.download_code.is_empty() {
            return Err(MessageFileError::NoCode);
        }
        private_dir(&self.root).await?;
        private_dir(&dir).await?;
        let mut attempt = 1;
        loop {
            match self.download(&dir, &stem, attachment).await {
                Err(err) if err.is_transient() && attempt < ATTEMPTS => {
                    tracing::info!(code = err.code(), error = %err, attempt, "file download failed; trying again");
                    tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// A complete file from an earlier run (the download code may have expired since).
    async fn stored(
        &self,
        dir: &Path,
        stem: &str,
        attachment: &AttachmentRef,
    ) -> Option<StoredFile> {
        let mut entries = tokio::fs::read_dir(dir).await.ok()?;
        let prefix = format!("{stem}.");
        while let Ok(Some(entry)) = entries.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(&prefix) {
                continue;
            }
            let path = entry.path();
            let bytes = entry.metadata().await.ok()?.len();
            let mut head = vec![0u8; 16];
            let read = {
                use tokio::io::AsyncReadExt;
                let mut file = tokio::fs::File::open(&path).await.ok()?;
                file.read(&mut head).await.ok()?
            };
            head.truncate(read);
            let (_, mime, filename) = refs::file_type(attachment, &head, None);
            return Some(StoredFile {
                path,
                mime,
                filename,
                bytes,
            });
        }
        None
    }

    async fn download_url(&self, code: &str) -> Result<String, MessageFileError> {
        let request = ApiRequest::new_api(Method::POST, DOWNLOAD_PATH)
            .json(json!({ "downloadCode": code, "robotCode": self.robot_code }));
        let answer = self.api.call_value(&request).await?;
        answer
            .get("downloadUrl")
            .and_then(Value::as_str)
            .filter(|url| !url.is_empty())
            .map(str::to_owned)
            .ok_or(MessageFileError::NoUrl)
    }

    async fn download(
        &self,
        dir: &Path,
        stem: &str,
        attachment: &AttachmentRef,
    ) -> Result<StoredFile, MessageFileError> {
        let url = self.download_url(&attachment.download_code).await?;
        // The link is a signed URL: keep it out of errors and logs.
        let fetch_error =
            |err: reqwest::Error| MessageFileError::Fetch(err.without_url().to_string());
        let mut response = self
            .http
            .get(&url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(fetch_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(MessageFileError::Fetch(format!(
                "the download link answered HTTP {}",
                status.as_u16()
            )));
        }
        let limit = self.max_bytes;
        if let Some(size) = response.content_length()
            && size > limit
        {
            return Err(MessageFileError::TooLarge {
                limit,
                size: Some(size),
            });
        }
        let served = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let partial = dir.join(format!(".{stem}.part"));
        let mut file = create_private(&partial).await?;
        let mut head = Vec::with_capacity(16);
        let mut total: u64 = 0;
        let outcome = loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break Ok(()),
                Err(err) => break Err(fetch_error(err)),
            };
            total = total.saturating_add(chunk.len() as u64);
            if total > limit {
                // The real size is unknown (no length was announced); only that it is over the limit.
                break Err(MessageFileError::TooLarge { limit, size: None });
            }
            if head.len() < 16 {
                let take = (16 - head.len()).min(chunk.len());
                head.extend_from_slice(chunk.get(..take).unwrap_or_default());
            }
            if let Err(err) = file.write_all(&chunk).await {
                break Err(io(err));
            }
        };
        let outcome = match outcome {
            Ok(()) => file.flush().await.map_err(io),
            Err(err) => Err(err),
        };
        drop(file);
        if let Err(err) = outcome {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(err);
        }
        let (ext, mime, filename) = refs::file_type(attachment, &head, served.as_deref());
        let path = dir.join(format!("{stem}.{ext}"));
        if let Err(err) = tokio::fs::rename(&partial, &path).await {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(io(err));
        }
        Ok(StoredFile {
            path,
            mime,
            filename,
            bytes: total,
        })
    }

    /// Removes stored files older than `age` (and directories left empty); returns how many files went.
    pub async fn purge_older_than(&self, age: Duration) -> usize {
        let Some(cutoff) = SystemTime::now().checked_sub(age) else {
            return 0;
        };
        let mut removed = 0;
        let Ok(mut conversations) = tokio::fs::read_dir(&self.root).await else {
            return 0;
        };
        while let Ok(Some(conversation)) = conversations.next_entry().await {
            let dir = conversation.path();
            let Ok(mut files) = tokio::fs::read_dir(&dir).await else {
                continue;
            };
            let mut left = 0;
            while let Ok(Some(file)) = files.next_entry().await {
                let old = file
                    .metadata()
                    .await
                    .and_then(|m| m.modified())
                    .is_ok_and(|modified| modified < cutoff);
                if old && tokio::fs::remove_file(file.path()).await.is_ok() {
                    removed += 1;
                } else {
                    left += 1;
                }
            }
            if left == 0 {
                let _ = tokio::fs::remove_dir(&dir).await;
            }
        }
        removed
    }
}

async fn private_dir(dir: &Path) -> Result<(), MessageFileError> {
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .await
            .map_err(io)?;
    }
    Ok(())
}

async fn create_private(path: &Path) -> Result<tokio::fs::File, MessageFileError> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    options.open(path).await.map_err(io)
}
