//! What tests put into the simulated cloud (`InjectMessage`) and what they read
//! back out of it (`ReceivedMessage`). Both are serde types so the control API
//! and non-Rust tests use the same shapes.

use serde::{Deserialize, Serialize};

use crate::ids;

/// 1:1 chat or group chat (`conversationType` "1" / "2" on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConversationType {
    #[default]
    Single,
    Group,
}

impl ConversationType {
    /// The wire value: a *string*, not a number (protocol doc §2.7).
    pub fn wire(self) -> &'static str {
        match self {
            Self::Single => "1",
            Self::Group => "2",
        }
    }
}

/// One item of a `richText` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RichItem {
    Text(String),
    Picture,
}

/// The user's message content.
///
/// JSON (externally tagged): `{"text":"hi"}`, `{"rich_text":[{"text":"a"},"picture"]}`,
/// `"picture"`, `{"audio":{"recognition":"..","duration_ms":1200}}`,
/// `{"video":{"duration_ms":3000,"video_type":"mp4"}}`, `{"file":{"file_name":"a.pdf"}}`, `"unknown"`,
/// `"quota_exhausted"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InjectContent {
    Text(String),
    RichText(Vec<RichItem>),
    Picture,
    Audio {
        recognition: String,
        duration_ms: u64,
    },
    Video {
        duration_ms: u64,
        /// `videoType` on the wire (`mp4`).
        video_type: String,
    },
    File {
        file_name: String,
    },
    /// Something the bot cannot receive (`msgtype` `unknownMsgType`).
    Unknown,
    /// The org's Webhook&Stream quota is used up: the callback arrives with an
    /// error code and no content (protocol doc §2.7, §2.10).
    QuotaExhausted,
}

/// A message a DingTalk user sends to the bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectMessage {
    /// Empty means "derive it": the deterministic 1:1 id of the sender, or for
    /// a group an id derived from the title.
    #[serde(default)]
    pub conversation_id: String,
    #[serde(default)]
    pub conversation_type: ConversationType,
    #[serde(default)]
    pub conversation_title: Option<String>,
    pub sender_staff_id: String,
    pub sender_nick: String,
    pub content: InjectContent,
    /// Whether the bot is @-mentioned. Group messages that do not @ the bot are
    /// not delivered at all (real behaviour, protocol doc §2.7).
    #[serde(default = "default_true")]
    pub at_bot: bool,
    /// A text message that quotes an earlier message (`text.isReplyMsg` / `text.repliedMsg`).
    #[serde(default)]
    pub quote: Option<InjectQuote>,
    /// What the message's files (picture, file, voice, video, rich-text pictures) download as; `None`
    /// serves a small realistic default per kind.
    #[serde(default)]
    pub file_body: Option<SimFileBody>,
}

/// The quoted message of a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InjectQuote {
    pub text: String,
    #[serde(default)]
    pub sender_nick: String,
}

/// The bytes behind a message's downloadCodes.
///
/// JSON: `{"bytes":[1,2,3]}`, `{"text":"hello"}`, `{"size":1048576}` (that many `x` bytes),
/// `{"chunked":1048576}` (the same, streamed without a `Content-Length`), `"refused"` (the download API
/// refuses the downloadCode, as it does once a code has expired).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimFileBody {
    Bytes(Vec<u8>),
    Text(String),
    Size(u64),
    Chunked(u64),
    Refused,
}

fn default_true() -> bool {
    true
}

impl InjectMessage {
    /// A 1:1 text message; the conversation id is derived from the staff id.
    pub fn text_1to1(
        staff_id: impl Into<String>,
        nick: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        let staff_id = staff_id.into();
        Self {
            conversation_id: ids::one_to_one_conversation_id(&staff_id),
            conversation_type: ConversationType::Single,
            conversation_title: None,
            sender_staff_id: staff_id,
            sender_nick: nick.into(),
            content: InjectContent::Text(text.into()),
            at_bot: true,
            quote: None,
            file_body: None,
        }
    }

    /// A group text message that @-mentions the bot.
    pub fn text_group(
        conversation_id: impl Into<String>,
        title: impl Into<String>,
        staff_id: impl Into<String>,
        nick: impl Into<String>,
        text: impl Into<String>,
    ) -> Self {
        Self {
            conversation_id: conversation_id.into(),
            conversation_type: ConversationType::Group,
            conversation_title: Some(title.into()),
            sender_staff_id: staff_id.into(),
            sender_nick: nick.into(),
            content: InjectContent::Text(text.into()),
            at_bot: true,
            quote: None,
            file_body: None,
        }
    }

    /// Same sender and conversation, other content.
    pub fn with_content(mut self, content: InjectContent) -> Self {
        self.content = content;
        self
    }

    /// Whether the bot is @-mentioned.
    pub fn with_at_bot(mut self, at_bot: bool) -> Self {
        self.at_bot = at_bot;
        self
    }

    /// A reply that quotes `text` (sent by `sender_nick`).
    pub fn quoting(mut self, text: impl Into<String>, sender_nick: impl Into<String>) -> Self {
        self.quote = Some(InjectQuote {
            text: text.into(),
            sender_nick: sender_nick.into(),
        });
        self
    }

    /// What this message's files download as.
    pub fn with_file_body(mut self, body: SimFileBody) -> Self {
        self.file_body = Some(body);
        self
    }

    /// The conversation id this message lands in (derived when left empty).
    pub fn effective_conversation_id(&self) -> String {
        if !self.conversation_id.is_empty() {
            return self.conversation_id.clone();
        }
        match self.conversation_type {
            ConversationType::Single => ids::one_to_one_conversation_id(&self.sender_staff_id),
            ConversationType::Group => {
                ids::group_conversation_id(self.conversation_title.as_deref().unwrap_or(""))
            }
        }
    }
}

/// A message our client sent back into a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedMessage {
    pub conversation_id: String,
    /// How it arrived: `"webhook"` (sessionWebhook); later modules add others.
    pub channel: String,
    /// `msgtype` of the body (`text`, `markdown`, ...).
    pub msgtype: String,
    /// Title where the type has one (markdown, actionCard, link).
    pub title: Option<String>,
    /// The human-visible text (text content, markdown text, ...).
    pub text: String,
    /// The whole request body as sent.
    pub body: serde_json::Value,
    /// When the simulator accepted it (Unix ms).
    pub at_ms: i64,
}
