//! The bot callback payload (topic `/v1.0/im/bot/messages/get`, protocol notes §2.7), decoded into what the
//! bridge needs. Decoding is lenient about extra fields and strict about the ones we rely on.

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
        text: String,
        pictures: usize,
    },
    Picture,
    Audio {
        recognition: String,
        duration_ms: u64,
    },
    Video {
        duration_ms: u64,
    },
    File {
        file_name: String,
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
        })
    }

    /// What the agent is asked: the user's words, or a description of what they sent.
    pub fn prompt_text(&self) -> String {
        match &self.content {
            MessageContent::Text { text } | MessageContent::RichText { text, .. } => text.clone(),
            MessageContent::Picture => "[the user sent a picture]".into(),
            MessageContent::Audio { recognition, .. } => recognition.clone(),
            MessageContent::Video { .. } => "[the user sent a video]".into(),
            MessageContent::File { file_name } => format!("[the user sent a file: {file_name}]"),
            MessageContent::Unsupported { note } | MessageContent::QuotaExhausted { note } => {
                note.clone()
            }
        }
    }

    /// Whether the agent should see this message at all.
    pub fn is_for_agent(&self) -> bool {
        !matches!(
            self.content,
            MessageContent::Unsupported { .. } | MessageContent::QuotaExhausted { .. }
        )
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
            let mut pictures = 0;
            for item in items {
                if let Some(t) = item.get("text").and_then(Value::as_str) {
                    text.push_str(t);
                } else if item.get("type").and_then(Value::as_str) == Some("picture") {
                    pictures += 1;
                }
            }
            MessageContent::RichText {
                text: text.trim().to_owned(),
                pictures,
            }
        }
        "picture" => MessageContent::Picture,
        "audio" => MessageContent::Audio {
            recognition: str_at(content, "recognition"),
            duration_ms: u64_at(content, "duration"),
        },
        "video" => MessageContent::Video {
            duration_ms: u64_at(content, "duration"),
        },
        "file" => MessageContent::File {
            file_name: str_at(content, "fileName"),
        },
        "unknownMsgType" => MessageContent::Unsupported {
            note: str_at(content, "unknownMsgType"),
        },
        other => return Err(DecodeError::UnknownMsgType(other.to_owned())),
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
        assert_eq!(
            m.content,
            MessageContent::RichText {
                text: "see this".into(),
                pictures: 1
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
