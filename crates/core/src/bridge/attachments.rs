//! Before a turn, the files of the message (pictures, files, voice, video, rich-text pictures) are fetched
//! and handed to the agent with the text.
//!
//! Invariant: nothing is dropped silently. Every file the agent does not get (too large, download refused or
//! failed, no credentials) is named in the chat with the reason, once per message (the note's source id makes
//! a replay a no-op) in the conversation's language, and the message's text still goes to the agent. A message type the bot cannot pass on
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
use crate::i18n::Lang;
use crate::store::Route;

/// Chat texts of this module, from the chat catalogue in the conversation's language.
pub mod texts {
    use crate::dingtalk::message_files::{AttachmentKind, AttachmentRef, MessageFileError};
    use crate::dingtalk::openapi::OpenApiError;
    use crate::i18n::{ChatKey, ChatText, Lang};

    /// MiB with one decimal (none when whole), rounded up so a file just over the limit never reads as equal.
    fn mb(bytes: u64) -> String {
        let tenths = bytes.saturating_mul(10).div_ceil(1024 * 1024);
        match tenths % 10 {
            0 => format!("{}", tenths / 10),
            d => format!("{}.{d}", tenths / 10),
        }
    }

    /// What the chat calls the file: its name when it has one, else "picture 2", "the voice message", ….
    pub fn label(lang: Lang, file: &AttachmentRef) -> String {
        if let Some(name) = file.file_name.as_deref().filter(|n| !n.is_empty()) {
            return name.to_owned();
        }
        match file.kind {
            AttachmentKind::Picture => ChatText::render(
                lang,
                ChatKey::AttachmentLabelPicture,
                &[("index", &file.index.to_string())],
            ),
            AttachmentKind::Voice => ChatText::get(lang, ChatKey::AttachmentLabelVoice),
            AttachmentKind::Video => ChatText::get(lang, ChatKey::AttachmentLabelVideo),
            AttachmentKind::File => ChatText::get(lang, ChatKey::AttachmentLabelFile),
        }
    }

    pub fn too_large(lang: Lang, file: &AttachmentRef, size: Option<u64>, limit: u64) -> String {
        let file = label(lang, file);
        let limit = mb(limit);
        match size {
            Some(size) => ChatText::render(
                lang,
                ChatKey::AttachmentTooLarge,
                &[("file", &file), ("size", &mb(size)), ("limit", &limit)],
            ),
            None => ChatText::render(
                lang,
                ChatKey::AttachmentTooLargeUnknownSize,
                &[("file", &file), ("limit", &limit)],
            ),
        }
    }

    pub fn failed(lang: Lang, file: &AttachmentRef, err: &MessageFileError) -> String {
        ChatText::render(
            lang,
            ChatKey::AttachmentFailed,
            &[("file", &label(lang, file)), ("reason", &reason(lang, err))],
        )
    }

    pub fn no_credentials(lang: Lang, file: &AttachmentRef) -> String {
        ChatText::render(
            lang,
            ChatKey::AttachmentNoCredentials,
            &[("file", &label(lang, file))],
        )
    }

    pub fn unsupported(lang: Lang, note: &str) -> String {
        match note.trim() {
            "" => ChatText::get(lang, ChatKey::AttachmentUnsupported),
            note => ChatText::render(lang, ChatKey::AttachmentUnsupportedSaid, &[("note", note)]),
        }
    }

    /// A short reason for the chat (no URLs, no request ids).
    fn reason(lang: Lang, err: &MessageFileError) -> String {
        let (key, detail) = match err {
            MessageFileError::Api(
                OpenApiError::InvalidParams(fault)
                | OpenApiError::NotFound(fault)
                | OpenApiError::Rejected(fault),
            ) => (ChatKey::AttachmentReasonRefused, fault.message.as_str()),
            MessageFileError::Api(OpenApiError::PermissionDenied(_)) => {
                (ChatKey::AttachmentReasonPermission, "")
            }
            MessageFileError::Api(OpenApiError::QuotaExhausted(_)) => {
                (ChatKey::AttachmentReasonQuota, "")
            }
            MessageFileError::Api(OpenApiError::RateLimited { .. }) => {
                (ChatKey::AttachmentReasonThrottled, "")
            }
            MessageFileError::Api(_) | MessageFileError::NoUrl => {
                (ChatKey::AttachmentReasonNoAnswer, "")
            }
            MessageFileError::NoCode => (ChatKey::AttachmentReasonNoCode, ""),
            MessageFileError::Fetch(detail) => (ChatKey::AttachmentReasonFetch, detail.as_str()),
            MessageFileError::Io(detail) => (ChatKey::AttachmentReasonIo, detail.as_str()),
            MessageFileError::TooLarge { .. } => (ChatKey::AttachmentReasonTooLarge, ""),
        };
        ChatText::render(lang, key, &[("detail", detail)])
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
        lang: Lang,
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
                    self.note(
                        message,
                        route,
                        &file,
                        texts::no_credentials(lang, &file),
                        cancel,
                    )
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
                            texts::too_large(lang, &file, *size, *limit)
                        }
                        other => texts::failed(lang, &file, other),
                    };
                    self.note(message, route, &file, text, cancel).await?;
                }
            }
        }
        Some(ready)
    }

    /// The answer to a message type the agent cannot get; `None` for every other message.
    pub fn unsupported_answer(message: &BotMessage, lang: Lang) -> Option<String> {
        match &message.content {
            MessageContent::Unsupported { note } => Some(texts::unsupported(lang, note)),
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
