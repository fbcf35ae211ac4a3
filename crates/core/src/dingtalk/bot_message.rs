//! The bot callback payload (topic `/v1.0/im/bot/messages/get`, protocol notes §2.7), decoded into what the
//! bridge needs. Decoding is lenient about extra fields and strict about the ones we rely on.
//!
//! Media (pictures, files, voice, video, rich-text pictures) arrive as `downloadCode`s, exchanged for the bytes
//! later (`message_files`); a quoted reply carries the quoted text (`text.isReplyMsg` / `text.repliedMsg`, not
//! in the published schema: read leniently). Fields added over time are `serde(default)` so inbox rows stored
//! by older versions still decode.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("[DECODE_JSON] callback data is not JSON: {0}")]
    NotJson(String),
    #[error("[DECODE_FIELD] callback data lacks `{0}`")]
    MissingField(&'static str),
    #[error("[DECODE_MSGTYPE] unsupported msgtype `{0}`")]
    UnknownMsgType(String),
}

impl DecodeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotJson(_) => "DECODE_JSON",
            Self::MissingField(_) => "DECODE_FIELD",
            Self::UnknownMsgType(_) => "DECODE_MSGTYPE",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    Single,
    Group,
}

impl ConversationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Group => "group",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MessageContent {
    Text {
        text: String,
    },
    RichText {
        /// The text items joined (what commands and previews read).
        text: String,
        pictures: usize,
        /// Text and pictures in their order.
        #[serde(default)]
        segments: Vec<RichSegment>,
    },
    Picture {
        #[serde(default)]
        download_code: String,
    },
    Audio {
        recognition: String,
        duration_ms: u64,
        #[serde(default)]
        download_code: String,
    },
    Video {
        duration_ms: u64,
        #[serde(default)]
        download_code: String,
        /// `videoType` (`mp4`).
        #[serde(default)]
        video_type: String,
    },
    File {
        file_name: String,
        #[serde(default)]
        download_code: String,
    },
    /// DingTalk's own `unknownMsgType` (a type the robot cannot receive), with its human text.
    Unsupported {
        note: String,
    },
    /// Error 20001: the org's Webhook & Stream quota is used up; the message has no content.
    QuotaExhausted {
        note: String,
    },
}

/// One item of a `richText` message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RichSegment {
    Text { text: String },
    Picture { download_code: String },
}

/// The message a reply quotes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotedMessage {
    pub text: String,
    #[serde(default)]
    pub sender_nick: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BotMessage {
    pub msg_id: String,
    pub msgtype: String,
    pub conversation_id: String,
    pub conversation_kind: ConversationKind,
    pub conversation_title: Option<String>,
    pub sender_nick: String,
    /// userId; empty for external users.
    pub sender_staff_id: Option<String>,
    pub sender_id: Option<String>,
    pub robot_code: Option<String>,
    pub session_webhook: Option<String>,
    pub session_webhook_expires_ms: Option<i64>,
    pub create_at_ms: i64,
    pub content: MessageContent,
    /// Set when the message is a reply quoting another message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<QuotedMessage>,
}

impl BotMessage {
    /// Decodes the (already string-unwrapped) `data` of a bot callback frame.
    pub fn decode(data: &str) -> Result<Self, DecodeError> {
        let value: Value =
            serde_json::from_str(data).map_err(|err| DecodeError::NotJson(err.to_string()))?;
        Self::from_value(&value)
    }

    pub fn from_value(value: &Value) -> Result<Self, DecodeError> {
        let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let msg_id = field("msgId")
            .filter(|s| !s.is_empty())
            .ok_or(DecodeError::MissingField("msgId"))?;
        let conversation_id = field("conversationId")
            .filter(|s| !s.is_empty())
            .ok_or(DecodeError::MissingField("conversationId"))?;
        let msgtype = field("msgtype").unwrap_or_else(|| "text".into());
        // conversationType is a string on the wire ("1"/"2"); tolerate a number too.
        let conversation_kind = match value.get("conversationType") {
            Some(Value::String(s)) if s == "2" => ConversationKind::Group,
            Some(Value::Number(n)) if n.as_u64() == Some(2) => ConversationKind::Group,
            _ => ConversationKind::Single,
        };
        let content = decode_content(&msgtype, value)?;
        let quoted = value.get("text").and_then(decode_quote);
        Ok(Self {
            msg_id,
            msgtype,
            conversation_id,
            conversation_kind,
            conversation_title: field("conversationTitle").filter(|s| !s.is_empty()),
            sender_nick: field("senderNick").unwrap_or_default(),
            sender_staff_id: field("senderStaffId").filter(|s| !s.is_empty()),
            sender_id: field("senderId"),
            robot_code: field("robotCode"),
            session_webhook: field("sessionWebhook").filter(|s| !s.is_empty()),
            session_webhook_expires_ms: value.get("sessionWebhookExpiredTime").and_then(as_i64),
            // createAt is documented as String but sent as a number: accept both.
            create_at_ms: value.get("createAt").and_then(as_i64).unwrap_or(0),
            content,
            quoted,
        })
    }

    /// The user's words, or a short description of what they sent (commands, previews, history). The agent
    /// gets [`BotMessage::agent_text`] plus the files themselves.
    pub fn prompt_text(&self) -> String {
        match &self.content {
            MessageContent::Text { text } | MessageContent::RichText { text, .. } => text.clone(),
            MessageContent::Picture { .. } => "[picture]".into(),
            MessageContent::Audio { recognition, .. } if !recognition.trim().is_empty() => {
                recognition.clone()
            }
            MessageContent::Audio { .. } => "[voice message]".into(),
            MessageContent::Video { .. } => "[video]".into(),
            MessageContent::File { file_name, .. } => format!("[file: {file_name}]"),
            MessageContent::Unsupported { note } | MessageContent::QuotaExhausted { note } => {
                note.clone()
            }
        }
    }

    /// What the agent reads: the quoted text (as `> ` lines) first, then the message with its media named in
    /// place (`[picture 1]`, `[voice message, 4 s, attached as file 1] transcript: …`). Attachment numbers
    /// follow [`BotMessage::attachments`].
    pub fn agent_text(&self) -> String {
        let mut out = String::new();
        if let Some(quoted) = &self.quoted {
            if !quoted.sender_nick.is_empty() {
                out.push_str(&format!("> {} wrote:\n", quoted.sender_nick));
            }
            for line in quoted.text.lines() {
                out.push_str("> ");
                out.push_str(line);
                out.push('\n');
            }
            out.push('\n');
        }
        let seconds = |ms: &u64| ms.div_ceil(1000);
        let body = match &self.content {
            MessageContent::RichText { segments, text, .. } if !segments.is_empty() => {
                let mut body = String::new();
                let mut picture = 0usize;
                let mut after_picture = false;
                for segment in segments {
                    let is_picture = matches!(segment, RichSegment::Picture { .. });
                    let piece = match segment {
                        RichSegment::Text { text } => text.clone(),
                        RichSegment::Picture { .. } => {
                            picture = picture.saturating_add(1);
                            format!("[picture {picture}]")
                        }
                    };
                    // A picture marker is set off by a space from the words around it.
                    let spaced = body.ends_with(char::is_whitespace)
                        || piece.starts_with(char::is_whitespace);
                    if !body.is_empty() && !spaced && (is_picture || after_picture) {
                        body.push(' ');
                    }
                    body.push_str(&piece);
                    after_picture = is_picture;
                }
                let body = body.trim().to_owned();
                if body.is_empty() { text.clone() } else { body }
            }
            MessageContent::Picture { .. } => "[picture 1]".into(),
            MessageContent::Audio {
                recognition,
                duration_ms,
                ..
            } => {
                let mut body = format!("[voice message, {} s, file 1]", seconds(duration_ms));
                if !recognition.trim().is_empty() {
                    body.push_str(&format!(" transcript: {}", recognition.trim()));
                }
                body
            }
            // The unit of a video's `duration` is not documented (a voice message's is ms): not shown.
            MessageContent::Video { .. } => "[video, file 1]".to_owned(),
            MessageContent::File { file_name, .. } => format!("[file 1: {file_name}]"),
            _ => self.prompt_text(),
        };
        out.push_str(&body);
        out
    }

    /// Whether the message goes through the conversation's queue (agent turn or, for a type the agent cannot
    /// get, a clear answer). Only the 20001 quota notice, which has no sender to answer, does not.
    pub fn is_for_agent(&self) -> bool {
        !matches!(self.content, MessageContent::QuotaExhausted { .. })
    }

    /// Short single-line text for lists and logs (at most 80 characters).
    pub fn preview(&self) -> String {
        let text = self.prompt_text().replace(['\n', '\r'], " ");
        let mut preview: String = text.chars().take(80).collect();
        if text.chars().count() > 80 {
            preview.push('…');
        }
        preview
    }

    pub fn display_title(&self) -> String {
        match (&self.conversation_title, self.conversation_kind) {
            (Some(title), _) => title.clone(),
            (None, _) if !self.sender_nick.is_empty() => self.sender_nick.clone(),
            _ => self.conversation_id.clone(),
        }
    }
}

fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn decode_content(msgtype: &str, value: &Value) -> Result<MessageContent, DecodeError> {
    // 20001: the quota-exhausted form carries an error message instead of content (protocol §2.7, §2.10).
    if let Some(note) = quota_exhausted_note(value) {
        return Ok(MessageContent::QuotaExhausted { note });
    }
    let content = value.get("content");
    let str_at = |v: Option<&Value>, key: &str| {
        v.and_then(|c| c.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let u64_at = |v: Option<&Value>, key: &str| {
        v.and_then(|c| c.get(key))
            .and_then(as_i64)
            .unwrap_or(0)
            .max(0) as u64
    };
    Ok(match msgtype {
        "text" => {
            let text = value
                .get("text")
                .and_then(|t| t.get("content"))
                .and_then(Value::as_str)
                .ok_or(DecodeError::MissingField("text.content"))?;
            // After an @mention DingTalk strips the mention and leaves a leading space.
            MessageContent::Text {
                text: text.trim().to_owned(),
            }
        }
        "richText" => {
            let items = content
                .and_then(|c| c.get("richText"))
                .and_then(Value::as_array)
                .ok_or(DecodeError::MissingField("content.richText"))?;
            let mut text = String::new();
            let mut pictures = 0usize;
            let mut segments = Vec::new();
            for item in items {
                if let Some(t) = item.get("text").and_then(Value::as_str) {
                    text.push_str(t);
                    segments.push(RichSegment::Text { text: t.to_owned() });
                } else if item.get("type").and_then(Value::as_str) == Some("picture") {
                    pictures = pictures.saturating_add(1);
                    segments.push(RichSegment::Picture {
                        download_code: picture_code(Some(item)),
                    });
                }
            }
            MessageContent::RichText {
                text: text.trim().to_owned(),
                pictures,
                segments,
            }
        }
        "picture" => MessageContent::Picture {
            download_code: picture_code(content),
        },
        "audio" => MessageContent::Audio {
            recognition: str_at(content, "recognition"),
            duration_ms: u64_at(content, "duration"),
            download_code: str_at(content, "downloadCode"),
        },
        "video" => MessageContent::Video {
            duration_ms: u64_at(content, "duration"),
            download_code: str_at(content, "downloadCode"),
            video_type: str_at(content, "videoType"),
        },
        "file" => MessageContent::File {
            file_name: str_at(content, "fileName"),
            download_code: str_at(content, "downloadCode"),
        },
        "unknownMsgType" => MessageContent::Unsupported {
            note: str_at(content, "unknownMsgType"),
        },
        other => return Err(DecodeError::UnknownMsgType(other.to_owned())),
    })
}

/// Pictures carry `downloadCode` and, in some payloads, only `pictureDownloadCode`.
fn picture_code(content: Option<&Value>) -> String {
    ["downloadCode", "pictureDownloadCode"]
        .iter()
        .filter_map(|key| content.and_then(|c| c.get(*key)).and_then(Value::as_str))
        .find(|code| !code.is_empty())
        .unwrap_or_default()
        .to_owned()
}

/// `text.isReplyMsg` + `text.repliedMsg.content` (`{text}` or `{richText:[…]}`, whose items are `{text}` or
/// `{msgType:"text", content}`).
fn decode_quote(text: &Value) -> Option<QuotedMessage> {
    if text.get("isReplyMsg").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    let replied = text.get("repliedMsg")?;
    let content = replied.get("content");
    let mut quoted = content
        .and_then(|c| c.get("text"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if quoted.is_empty()
        && let Some(items) = content
            .and_then(|c| c.get("richText"))
            .and_then(Value::as_array)
    {
        for item in items {
            let kind = item.get("msgType").and_then(Value::as_str);
            let piece = match item.get("text").and_then(Value::as_str) {
                Some(text) => Some(text),
                None if kind == Some("text") => item.get("content").and_then(Value::as_str),
                None => None,
            };
            match piece {
                Some(piece) => quoted.push_str(piece),
                None if item.get("type").and_then(Value::as_str) == Some("picture")
                    || kind == Some("picture") =>
                {
                    quoted.push_str("[picture]")
                }
                None => {}
            }
        }
    }
    let quoted = quoted.trim();
    if quoted.is_empty() {
        return None;
    }
    Some(QuotedMessage {
        text: quoted.to_owned(),
        sender_nick: replied
            .get("senderNick")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    })
}

fn quota_exhausted_note(value: &Value) -> Option<String> {
    let code_matches = ["errorCode", "errCode", "code"]
        .iter()
        .any(|key| match value.get(*key) {
            Some(Value::String(s)) => s == "20001",
            Some(Value::Number(n)) => n.as_i64() == Some(20001),
            _ => false,
        });
    let message = value.get("errorMessage").and_then(Value::as_str);
    match (code_matches, message) {
        (_, Some(message)) if value.get("text").is_none() && value.get("content").is_none() => {
            Some(message.to_owned())
        }
        (true, message) => Some(
            message
                .unwrap_or("DingTalk quota exhausted (20001)")
                .to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base(msgtype: &str) -> Value {
        json!({
            "msgtype": msgtype, "msgId": "msgA", "conversationId": "cidX", "conversationType": "2",
            "conversationTitle": "Team", "senderNick": "Li", "senderStaffId": "u1",
            "sessionWebhook": "http://x/robot/sendBySession?session=1", "sessionWebhookExpiredTime": 1700000000000u64,
            "createAt": 1699994600000u64
        })
    }

    #[test]
    fn text_after_a_mention_is_trimmed() {
        let mut v = base("text");
        v["text"] = json!({"content": " run the tests"});
        let m = BotMessage::from_value(&v).unwrap();
        assert_eq!(m.prompt_text(), "run the tests");
        assert_eq!(m.conversation_kind, ConversationKind::Group);
    }

    #[test]
    fn rich_text_joins_its_text_parts_and_counts_pictures() {
        let mut v = base("richText");
        v["content"] = json!({"richText": [{"text": "see "}, {"type": "picture", "downloadCode": "d"}, {"text": "this"}]});
        let m = BotMessage::from_value(&v).unwrap();
        assert!(matches!(
            &m.content,
            MessageContent::RichText { text, pictures: 1, .. } if text == "see this"
        ));
        assert_eq!(m.agent_text(), "see [picture 1] this");
    }

    #[test]
    fn a_quoted_reply_puts_the_quoted_text_before_the_message() {
        let mut v = base("text");
        v["text"] = json!({"content": " and this?", "isReplyMsg": true,
            "repliedMsg": {"msgType": "text", "msgId": "m0", "senderNick": "Wang", "content": {"text": "the build is red\nsince noon"}}});
        let m = BotMessage::from_value(&v).unwrap();
        assert_eq!(m.prompt_text(), "and this?");
        assert_eq!(
            m.agent_text(),
            "> Wang wrote:\n> the build is red\n> since noon\n\nand this?"
        );
    }

    #[test]
    fn picture_falls_back_to_picture_download_code() {
        let mut v = base("picture");
        v["content"] = json!({"pictureDownloadCode": "pc"});
        assert_eq!(
            BotMessage::from_value(&v).unwrap().content,
            MessageContent::Picture {
                download_code: "pc".into()
            }
        );
    }

    #[test]
    fn an_inbox_row_from_before_download_codes_still_decodes() {
        let old = json!({"msg_id": "m", "msgtype": "picture", "conversation_id": "c",
            "conversation_kind": "single", "conversation_title": null, "sender_nick": "n",
            "sender_staff_id": null, "sender_id": null, "robot_code": null, "session_webhook": null,
            "session_webhook_expires_ms": null, "create_at_ms": 0, "content": {"kind": "picture"}});
        let m: BotMessage = serde_json::from_value(old).unwrap();
        assert_eq!(
            m.content,
            MessageContent::Picture {
                download_code: String::new()
            }
        );
    }

    #[test]
    fn audio_uses_the_server_recognition() {
        let mut v = base("audio");
        v["content"] = json!({"downloadCode": "d", "duration": 4000, "recognition": "hello"});
        assert_eq!(BotMessage::from_value(&v).unwrap().prompt_text(), "hello");
    }

    #[test]
    fn quota_exhausted_form_is_recognised_and_kept_from_the_agent() {
        let mut v = base("text");
        v["errorCode"] = json!("20001");
        v["errorMessage"] = json!("受调用量超量影响");
        let m = BotMessage::from_value(&v).unwrap();
        assert!(matches!(m.content, MessageContent::QuotaExhausted { .. }));
        assert!(!m.is_for_agent());
    }

    #[test]
    fn unknown_msgtype_is_a_typed_error() {
        let err = BotMessage::from_value(&base("hologram")).unwrap_err();
        assert_eq!(err, DecodeError::UnknownMsgType("hologram".into()));
    }

    #[test]
    fn created_at_as_string_is_accepted() {
        let mut v = base("text");
        v["text"] = json!({"content": "x"});
        v["createAt"] = json!("1699994600000");
        assert_eq!(
            BotMessage::from_value(&v).unwrap().create_at_ms,
            1_699_994_600_000
        );
    }

    #[test]
    fn missing_msg_id_is_an_error() {
        let mut v = base("text");
        v.as_object_mut().unwrap().remove("msgId");
        assert_eq!(
            BotMessage::from_value(&v).unwrap_err(),
            DecodeError::MissingField("msgId")
        );
    }
}
