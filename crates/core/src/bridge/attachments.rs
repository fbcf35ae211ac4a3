//! Before a turn, the files of the message (pictures, files, voice, video, rich-text pictures) are fetched
//! and handed to the agent with the text.
//!
//! Invariant: nothing is dropped silently. Every file the agent does not get (too large, download refused or
//! failed, no credentials) is named in the chat with the reason, once per message (the note's source id makes
//! a replay a no-op), and the message's text still goes to the agent. A message type the bot cannot pass on
//! at all gets a clear answer instead of a turn.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::persist;
use super::replies::{MessageFormat, Replies};
use crate::agent::AgentAttachment;
use crate::dingtalk::message_files::{
    AttachmentRef, MessageFileError, MessageFiles, StoredFile, attachments,
};
use crate::dingtalk::{BotMessage, MessageContent};
use crate::store::Route;

/// Chat texts of this module, in one place (moving them into the chat catalogue is one edit).
pub mod texts {
    use crate::dingtalk::message_files::AttachmentRef;

    /// MiB with one decimal (none when whole), rounded up so a file just over the limit never reads as equal.
    fn mb(bytes: u64) -> String {
        let tenths = bytes.saturating_mul(10).div_ceil(1024 * 1024);
        match tenths % 10 {
            0 => format!("{}", tenths / 10),
            d => format!("{}.{d}", tenths / 10),
        }
    }

    pub fn too_large(file: &AttachmentRef, size: Option<u64>, limit: u64) -> String {
        let size = size.map(|s| format!(" ({} MB)", mb(s))).unwrap_or_default();
        format!(
            "⚠️ The file {}{size} is larger than the {} MB limit, so the agent did not get it. \
             Send a smaller file, or put it where the agent can read it and send the path.",
            file.label(),
            mb(limit)
        )
    }

    pub fn failed(file: &AttachmentRef, reason: &str) -> String {
        format!(
            "⚠️ The {} could not be downloaded from DingTalk ({reason}), so the agent did not get it; \
             the rest of your message went to the agent. Send it again if the agent needs it.",
            file.label()
        )
    }

    pub fn no_credentials(file: &AttachmentRef) -> String {
        format!(
            "⚠️ The {} could not be downloaded: DingBridge has no DingTalk credentials to fetch files \
             with. The rest of your message went to the agent.",
            file.label()
        )
    }

    pub fn unsupported(note: &str) -> String {
        let said = if note.trim().is_empty() {
            String::new()
        } else {
            format!(" (DingTalk says: {})", note.trim())
        };
        format!(
            "⚠️ This kind of message cannot be passed to the agent{said}. Send text, a picture, a \
             file, a voice message or a video instead."
        )
    }
}

const NOTE_WHAT: &str = "a file note";

pub struct Attachments {
    /// `None` without DingTalk credentials.
    pub files: Option<MessageFiles>,
    pub replies: Replies,
}

impl Attachments {
    /// The agent's files for `message`, in order. `None`: shutdown cancelled (the message stays queued).
    pub async fn prepare(
        &self,
        message: &BotMessage,
        route: &Route,
        cancel: &CancellationToken,
    ) -> Option<Vec<AgentAttachment>> {
        let mut ready = Vec::new();
        for file in attachments(message) {
            let result = match &self.files {
                Some(files) => tokio::select! {
                    _ = cancel.cancelled() => return None,
                    result = files.fetch(&message.conversation_id, &message.msg_id, &file) => result,
                },
                None => {
                    self.note(message, route, &file, texts::no_credentials(&file), cancel)
                        .await?;
                    continue;
                }
            };
            match result {
                Ok(StoredFile {
                    path,
                    mime,
                    filename,
                    ..
                }) => ready.push(AgentAttachment {
                    path,
                    mime,
                    filename,
                }),
                Err(err) => {
                    tracing::warn!(msg_id = message.msg_id, file = file.index, code = err.code(), error = %err, "a file of the message did not reach the agent");
                    let text = match &err {
                        MessageFileError::TooLarge { limit, size } => {
                            texts::too_large(&file, *size, *limit)
                        }
                        other => texts::failed(&file, &reason(other)),
                    };
                    self.note(message, route, &file, text, cancel).await?;
                }
            }
        }
        Some(ready)
    }

    /// The answer to a message type the agent cannot get; `None` for every other message.
    pub fn unsupported_answer(message: &BotMessage) -> Option<String> {
        match &message.content {
            MessageContent::Unsupported { note } => Some(texts::unsupported(note)),
            _ => None,
        }
    }

    async fn note(
        &self,
        message: &BotMessage,
        route: &Route,
        file: &AttachmentRef,
        text: String,
        cancel: &CancellationToken,
    ) -> Option<()> {
        let source = format!("{}#file-{}", message.msg_id, file.index);
        persist::until_stored(NOTE_WHAT, &message.msg_id, cancel, || {
            self.replies
                .send(route, &text, MessageFormat::Markdown, source.clone(), false)
        })
        .await
        .map(|_| ())
    }

    /// Deletes stored files older than `age` now and then every `every` until `cancel`.
    pub async fn purge_periodically(
        files: MessageFiles,
        age: Duration,
        every: Duration,
        cancel: CancellationToken,
    ) {
        loop {
            let removed = files.purge_older_than(age).await;
            if removed > 0 {
                tracing::info!(removed, "old message files removed");
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}

/// A short reason for the chat (no URLs, no request ids).
fn reason(err: &MessageFileError) -> String {
    use crate::dingtalk::openapi::OpenApiError;
    match err {
        MessageFileError::Api(
            OpenApiError::InvalidParams(fault)
            | OpenApiError::NotFound(fault)
            | OpenApiError::Rejected(fault),
        ) => format!("DingTalk refused the download code: {}", fault.message),
        MessageFileError::Api(OpenApiError::PermissionDenied(_)) => {
            "the app lacks the permission to download robot message files".to_owned()
        }
        MessageFileError::Api(OpenApiError::QuotaExhausted(_)) => {
            "the organization's monthly DingTalk API quota is used up".to_owned()
        }
        MessageFileError::Api(OpenApiError::RateLimited { .. }) => {
            "DingTalk is throttling the app".to_owned()
        }
        MessageFileError::Api(_) | MessageFileError::NoUrl => "DingTalk did not answer".to_owned(),
        MessageFileError::NoCode => "the message carried no download code".to_owned(),
        MessageFileError::Fetch(detail) => format!("the download failed: {detail}"),
        MessageFileError::Io(detail) => format!("it could not be stored: {detail}"),
        MessageFileError::TooLarge { .. } => "it is too large".to_owned(),
    }
}
