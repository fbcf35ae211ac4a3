//! Builders for realistic bot-message callback payloads (protocol doc §2.7).

use serde_json::{Map, Value, json};

use crate::clock::{duration_ms, now_ms};
use crate::ids;
use crate::message::{ConversationType, InjectContent, InjectMessage, RichItem, SimFileBody};
use crate::message_files::{FileKind, SimFile};
use crate::state::SimState;

/// Text the platform puts into `unknownMsgType` messages (DP-MSG).
pub const UNKNOWN_MSG_TEXT: &str = "用户发送了一条消息，机器人暂不支持接收";
/// Error code of callbacks that arrive without content when the org's
/// Webhook&Stream quota is exhausted (D-TYPES, D-STREAMDEV; §2.7, §2.10).
pub const QUOTA_ERROR_CODE: &str = "20001";
/// Begins with the documented "受调用量超量影响" wording; the rest is ours.
pub const QUOTA_ERROR_MESSAGE: &str =
    "受调用量超量影响，该消息内容无法推送，请联系企业管理员升级或购买资源包";

/// One callback payload and the sessionWebhook it carries.
#[derive(Debug, Clone)]
pub struct BuiltPayload {
    pub msg_id: String,
    pub conversation_id: String,
    /// The `data` document (serialized into the frame's `data` string).
    pub data: Value,
    /// Session key of `sessionWebhook`.
    pub session: String,
    /// `sessionWebhookExpiredTime`, Unix ms.
    pub session_expires_ms: i64,
    /// The files behind the payload's downloadCodes (code → file), for the download API.
    pub files: Vec<(String, SimFile)>,
}

/// Build the callback `data` for an injected message.
pub fn build_bot_payload(msg: &InjectMessage, state: &SimState) -> BuiltPayload {
    let msg_id = ids::msg_id();
    let conversation_id = msg.effective_conversation_id();
    let session = ids::session_key();
    let create_at = now_ms();
    let expires = create_at.saturating_add(duration_ms(state.config.webhook_ttl));
    let is_group = msg.conversation_type == ConversationType::Group;
    let bot_id = state.identity.chatbot_user_id.clone();

    let mut d = Map::new();
    d.insert("conversationId".into(), json!(conversation_id));
    if is_group {
        d.insert("atUsers".into(), json!([{ "dingtalkId": bot_id }]));
    }
    d.insert("chatbotCorpId".into(), json!(state.identity.corp_id));
    d.insert("chatbotUserId".into(), json!(bot_id));
    d.insert("msgId".into(), json!(msg_id));
    d.insert("senderNick".into(), json!(msg.sender_nick));
    d.insert("isAdmin".into(), json!(false));
    d.insert("senderStaffId".into(), json!(msg.sender_staff_id));
    d.insert("sessionWebhookExpiredTime".into(), json!(expires));
    d.insert("createAt".into(), json!(create_at));
    d.insert("senderCorpId".into(), json!(state.identity.corp_id));
    d.insert(
        "conversationType".into(),
        json!(msg.conversation_type.wire()),
    );
    d.insert(
        "senderId".into(),
        json!(ids::lwcp_id(&format!("user:{}", msg.sender_staff_id))),
    );
    if is_group {
        let title = msg.conversation_title.clone().unwrap_or_default();
        d.insert("conversationTitle".into(), json!(title));
    }
    d.insert("isInAtList".into(), json!(true));
    d.insert(
        "sessionWebhook".into(),
        json!(format!(
            "{}/robot/sendBySession?session={session}",
            state.base_url
        )),
    );
    d.insert("robotCode".into(), json!(state.config.client_id));
    d.insert("senderPlatform".into(), json!("Mac"));
    let mut files = Files {
        body: msg.file_body.clone(),
        robot_code: state.config.client_id.clone(),
        list: Vec::new(),
    };
    add_content(&mut d, &msg.content, is_group && msg.at_bot, &mut files);
    if let (Some(quote), Some(text)) = (&msg.quote, d.get_mut("text"))
        && let Some(text) = text.as_object_mut()
    {
        // Quoted replies are not in the published callback schema; this is the shape integrators observe
        // on the wire (see docs/dingtalk-api.md).
        text.insert("isReplyMsg".into(), json!(true));
        text.insert(
            "repliedMsg".into(),
            json!({
                "msgType": "text",
                "msgId": ids::msg_id(),
                "senderId": ids::lwcp_id(&format!("user:{}", quote.sender_nick)),
                "senderNick": quote.sender_nick,
                "createdAt": create_at.saturating_sub(60_000),
                "content": { "text": quote.text },
            }),
        );
    }

    BuiltPayload {
        msg_id,
        conversation_id,
        data: Value::Object(d),
        session,
        session_expires_ms: expires,
        files: files.list,
    }
}

/// Collects the files a payload refers to while its content is built.
struct Files {
    body: Option<SimFileBody>,
    robot_code: String,
    list: Vec<(String, SimFile)>,
}

impl Files {
    /// A new downloadCode for a file of this kind.
    fn code(&mut self, kind: FileKind, name: &str) -> String {
        let code = ids::download_code();
        let file = SimFile::new(kind, name, self.body.clone(), &self.robot_code);
        self.list.push((code.clone(), file));
        code
    }
}

/// `msgtype` plus the type's content fields. In groups the @-mention is
/// stripped from the text but the space after it stays (real samples).
fn add_content(
    d: &mut Map<String, Value>,
    content: &InjectContent,
    mentioned: bool,
    files: &mut Files,
) {
    let (msgtype, key, value) = match content {
        InjectContent::Text(t) => {
            let text = if mentioned {
                format!(" {t}")
            } else {
                t.clone()
            };
            ("text", "text", json!({ "content": text }))
        }
        InjectContent::RichText(items) => {
            let list: Vec<Value> = items
                .iter()
                .map(|item| match item {
                    RichItem::Text(t) => json!({ "text": t }),
                    RichItem::Picture => {
                        let code = files.code(FileKind::Picture, "");
                        json!({"type": "picture", "downloadCode": code, "pictureDownloadCode": code})
                    }
                })
                .collect();
            ("richText", "content", json!({ "richText": list }))
        }
        InjectContent::Picture => {
            let code = files.code(FileKind::Picture, "");
            (
                "picture",
                "content",
                json!({"downloadCode": code, "pictureDownloadCode": code}),
            )
        }
        InjectContent::Audio {
            recognition,
            duration_ms,
        } => (
            "audio",
            "content",
            json!({"downloadCode": files.code(FileKind::Audio, ""), "duration": duration_ms, "recognition": recognition}),
        ),
        InjectContent::Video {
            duration_ms,
            video_type,
        } => (
            "video",
            "content",
            json!({"downloadCode": files.code(FileKind::Video, video_type), "duration": duration_ms, "videoType": video_type}),
        ),
        InjectContent::File { file_name } => (
            "file",
            "content",
            json!({
                "downloadCode": files.code(FileKind::File, file_name),
                "fileName": file_name,
                "spaceId": rand::random_range(10_000_000u64..99_999_999).to_string(),
                "fileId": rand::random_range(100_000_000u64..999_999_999).to_string(),
            }),
        ),
        InjectContent::Unknown => (
            "unknownMsgType",
            "content",
            json!({ "unknownMsgType": UNKNOWN_MSG_TEXT }),
        ),
        InjectContent::QuotaExhausted => {
            // A text-typed message with no text/content at all.
            d.insert("msgtype".into(), json!("text"));
            d.insert("errorCode".into(), json!(QUOTA_ERROR_CODE));
            d.insert("errorMessage".into(), json!(QUOTA_ERROR_MESSAGE));
            return;
        }
    };
    d.insert("msgtype".into(), json!(msgtype));
    d.insert(key.into(), value);
}
