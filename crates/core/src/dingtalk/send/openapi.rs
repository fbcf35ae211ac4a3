//! Proactive robot sends through the OpenAPI (protocol notes §3.2): 1:1 via `oToMessages/batchSend`, groups
//! via `groupMessages/send`. Unlike the sessionWebhook these work at any time, need the access token and
//! return a `processQueryKey` (for recall / read status).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::SendError;
use crate::dingtalk::openapi::{ApiRequest, OpenApiClient};

/// `groupMessages/send` rejects a msgParam above 15,000 bytes (D-GRP).
pub const GROUP_MSG_PARAM_MAX_BYTES: usize = 15_000;
/// `oToMessages/batchSend` has `msgParam.tooLong` but no documented number: assume the group limit.
pub const OTO_MSG_PARAM_MAX_BYTES: usize = 15_000;

const OTO_PATH: &str = "/v1.0/robot/oToMessages/batchSend";
const GROUP_PATH: &str = "/v1.0/robot/groupMessages/send";

/// What to send; maps to a `msgKey` and its `msgParam` (protocol notes §3.2, msgKey catalogue).
/// Also the durable form of an outbound message in the outbox (hence serde).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageBody {
    /// `title` is what the conversation list previews.
    Markdown {
        title: String,
        text: String,
    },
    Text {
        content: String,
    },
}

impl MessageBody {
    /// The message's text (markdown or plain).
    pub fn content(&self) -> &str {
        match self {
            Self::Markdown { text, .. } => text,
            Self::Text { content } => content,
        }
    }

    pub fn markdown(title: impl Into<String>, text: impl Into<String>) -> Self {
        Self::Markdown {
            title: title.into(),
            text: text.into(),
        }
    }

    pub fn text(content: impl Into<String>) -> Self {
        Self::Text {
            content: content.into(),
        }
    }

    pub fn msg_key(&self) -> &'static str {
        match self {
            Self::Markdown { .. } => "sampleMarkdown",
            Self::Text { .. } => "sampleText",
        }
    }

    /// The `msgParam` value: a JSON object serialized into a *string* (the API rejects an object).
    pub fn msg_param(&self) -> String {
        match self {
            Self::Markdown { title, text } => json!({"title": title, "text": text}),
            Self::Text { content } => json!({"content": content}),
        }
        .to_string()
    }

    /// Bytes of `msgParam`, the quantity DingTalk's 15,000-byte limit applies to (JSON escaping included).
    pub fn msg_param_len(&self) -> usize {
        self.msg_param().len()
    }
}

/// A send DingTalk accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    /// Needed for recall and read status.
    pub process_query_key: String,
    /// Size of the msgParam that was sent.
    pub msg_param_bytes: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OtoAnswer {
    #[serde(default)]
    process_query_key: Option<String>,
    #[serde(default)]
    invalid_staff_id_list: Vec<String>,
    #[serde(default)]
    flow_controlled_staff_id_list: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupAnswer {
    #[serde(default)]
    process_query_key: Option<String>,
}

/// Sends as the robot. Cheap to clone. The client's own QPS wait (`with_throttle_retries`) still applies;
/// build it with `with_throttle_retries(0)` when the caller's pacer should see every throttle at once.
#[derive(Clone)]
pub struct OpenApiSender {
    api: OpenApiClient,
    robot_code: String,
}

impl OpenApiSender {
    /// `robot_code` is the app's clientId for an enterprise-internal robot (protocol notes §1).
    pub fn new(api: OpenApiClient, robot_code: impl Into<String>) -> Self {
        Self {
            api,
            robot_code: robot_code.into(),
        }
    }

    pub fn robot_code(&self) -> &str {
        &self.robot_code
    }

    /// 1:1 message to the robot chat of `staff_id` (the message's `senderStaffId`, not the encrypted
    /// `senderId`). A user DingTalk flow-controls is `Throttled`; an unknown user `InvalidRecipients`.
    pub async fn send_to_user(
        &self,
        staff_id: &str,
        body: &MessageBody,
    ) -> Result<SendReceipt, SendError> {
        let msg_param = checked_param(body, OTO_MSG_PARAM_MAX_BYTES)?;
        let bytes = msg_param.len();
        let request = ApiRequest::new_api(Method::POST, OTO_PATH).json(json!({
            "robotCode": self.robot_code,
            "userIds": [staff_id],
            "msgKey": body.msg_key(),
            "msgParam": msg_param,
        }));
        let answer: OtoAnswer = self
            .api
            .call(request)
            .await
            .map_err(SendError::from_openapi)?;
        if answer.invalid_staff_id_list.iter().any(|id| id == staff_id) {
            return Err(SendError::InvalidRecipients(answer.invalid_staff_id_list));
        }
        // DingTalk accepted the call but will not deliver to a flow-controlled user this time.
        if answer
            .flow_controlled_staff_id_list
            .iter()
            .any(|id| id == staff_id)
        {
            return Err(SendError::Throttled {
                reason: "flowControlledStaffIdList".to_owned(),
                retry_after: Some(super::error::SEND_TOO_FAST_RETRY_AFTER),
            });
        }
        receipt(answer.process_query_key, bytes)
    }

    /// Group message; `open_conversation_id` is the group's `conversationId` (case-sensitive). The robot
    /// must be in the group. @-mentions are not supported by this API (text "@name" stays text).
    pub async fn send_to_group(
        &self,
        open_conversation_id: &str,
        body: &MessageBody,
    ) -> Result<SendReceipt, SendError> {
        let msg_param = checked_param(body, GROUP_MSG_PARAM_MAX_BYTES)?;
        let bytes = msg_param.len();
        let request = ApiRequest::new_api(Method::POST, GROUP_PATH).json(json!({
            "robotCode": self.robot_code,
            "openConversationId": open_conversation_id,
            "msgKey": body.msg_key(),
            "msgParam": msg_param,
        }));
        let answer: GroupAnswer = self
            .api
            .call(request)
            .await
            .map_err(SendError::from_openapi)?;
        receipt(answer.process_query_key, bytes)
    }
}

/// Refuses an oversized msgParam before spending an API call (and monthly quota) on a certain failure.
fn checked_param(body: &MessageBody, limit: usize) -> Result<String, SendError> {
    let msg_param = body.msg_param();
    if msg_param.len() > limit {
        return Err(SendError::TooLong(format!(
            "msgParam is {} bytes, the limit is {limit}",
            msg_param.len()
        )));
    }
    Ok(msg_param)
}

fn receipt(key: Option<String>, bytes: usize) -> Result<SendReceipt, SendError> {
    match key {
        Some(process_query_key) if !process_query_key.is_empty() => Ok(SendReceipt {
            process_query_key,
            msg_param_bytes: bytes,
        }),
        // DingTalk's "unknown.send.result": accepted, outcome unknown. Not retried (could duplicate).
        _ => Err(SendError::Rejected {
            code: "unknown.send.result".to_owned(),
            message: "DingTalk returned no processQueryKey".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn msg_param_is_a_json_string_with_the_documented_keys() {
        let md = MessageBody::markdown("t", "# 标题\n\"q\"");
        assert_eq!(md.msg_key(), "sampleMarkdown");
        let parsed: Value = serde_json::from_str(&md.msg_param()).unwrap_or_default();
        assert_eq!(parsed["title"], "t");
        assert_eq!(parsed["text"], "# 标题\n\"q\"");
        let text = MessageBody::text("hi");
        assert_eq!(text.msg_key(), "sampleText");
        assert_eq!(text.msg_param(), r#"{"content":"hi"}"#);
    }

    #[test]
    fn msg_param_len_counts_json_escaping() {
        let body = MessageBody::text("\"\n");
        // {"content":"\"\n"} = 12 + 4 escaped bytes + 2
        assert_eq!(body.msg_param_len(), body.msg_param().len());
        assert!(body.msg_param_len() > "\"\n".len() + 14);
    }

    #[test]
    fn oversized_msg_param_is_refused_locally() {
        let body = MessageBody::text("x".repeat(GROUP_MSG_PARAM_MAX_BYTES));
        assert!(matches!(
            checked_param(&body, GROUP_MSG_PARAM_MAX_BYTES),
            Err(SendError::TooLong(_))
        ));
    }
}
