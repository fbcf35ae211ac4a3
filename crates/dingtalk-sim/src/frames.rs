//! Stream-mode wire frames (protocol doc §2.3–§2.5), written independently of
//! the client's own types on purpose.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::now_ms;

/// The bot message topic (§2.7).
pub const TOPIC_BOT_MESSAGE: &str = "/v1.0/im/bot/messages/get";
pub const TOPIC_PING: &str = "ping";
pub const TOPIC_DISCONNECT: &str = "disconnect";
pub const TOPIC_CONNECTED: &str = "CONNECTED";
pub const TOPIC_REGISTERED: &str = "REGISTERED";
pub const TOPIC_KEEPALIVE: &str = "KEEPALIVE";
pub const CONTENT_TYPE_JSON: &str = "application/json";

/// `type` of a downstream frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FrameType {
    System,
    Event,
    Callback,
}

/// Server → client frame. All header values are strings, `data` is a JSON
/// document *encoded as a string*.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DownFrame {
    pub spec_version: String,
    #[serde(rename = "type")]
    pub kind: FrameType,
    pub headers: BTreeMap<String, String>,
    pub data: String,
}

impl DownFrame {
    /// A frame with the common headers; `message_id` is omitted when `None`
    /// (the real `disconnect` sample has none).
    pub fn new(kind: FrameType, topic: &str, message_id: Option<&str>, data: &Value) -> Self {
        let mut headers = BTreeMap::new();
        headers.insert("topic".to_owned(), topic.to_owned());
        if let Some(id) = message_id {
            headers.insert("messageId".to_owned(), id.to_owned());
        }
        headers.insert("contentType".to_owned(), CONTENT_TYPE_JSON.to_owned());
        headers.insert("time".to_owned(), now_ms().to_string());
        Self {
            spec_version: "1.0".to_owned(),
            kind,
            headers,
            data: data.to_string(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Serialize for the socket. Serializing these plain types cannot fail;
    /// an empty object is a harmless fallback that keeps the path panic-free.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// How the `data` field of an upstream frame looked.
#[derive(Debug, Clone, PartialEq)]
pub enum UpData {
    /// A JSON string, as the protocol requires.
    Str(String),
    /// Present but not a string (e.g. an object): a wire error by the client.
    NotString(Value),
    Missing,
}

/// Client → server frame (ACK / ping reply), parsed leniently so that every
/// kind of client mistake can be counted rather than rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct UpFrame {
    pub code: Option<i64>,
    pub message_id: Option<String>,
    /// `headers.contentType`, a required header of every reply (§2.4).
    pub content_type: Option<String>,
    pub data: UpData,
}

/// Why an upstream text could not be understood at all.
#[derive(Debug, thiserror::Error)]
pub enum UpFrameError {
    #[error("not JSON: {0}")]
    NotJson(#[from] serde_json::Error),
    #[error("not a JSON object")]
    NotObject,
}

impl UpFrame {
    pub fn parse(text: &str) -> Result<Self, UpFrameError> {
        let v: Value = serde_json::from_str(text)?;
        let obj = v.as_object().ok_or(UpFrameError::NotObject)?;
        let code = obj.get("code").and_then(Value::as_i64);
        let message_id = obj
            .get("headers")
            .and_then(|h| h.get("messageId"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let content_type = obj
            .get("headers")
            .and_then(|h| h.get("contentType"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let data = match obj.get("data") {
            Some(Value::String(s)) => UpData::Str(s.clone()),
            Some(other) => UpData::NotString(other.clone()),
            None => UpData::Missing,
        };
        Ok(Self {
            code,
            message_id,
            content_type,
            data,
        })
    }

    /// The `opaque` echoed in a ping reply, only if `data` is a JSON string
    /// that itself holds an object with a string `opaque`.
    pub fn opaque(&self) -> Option<String> {
        let UpData::Str(s) = &self.data else {
            return None;
        };
        let v: Value = serde_json::from_str(s).ok()?;
        v.get("opaque").and_then(Value::as_str).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn down_frame_has_string_data_and_headers() {
        let f = DownFrame::new(
            FrameType::System,
            TOPIC_PING,
            Some("a_1_2_3"),
            &json!({"opaque":"x"}),
        );
        let v: Value = serde_json::from_str(&f.to_text()).unwrap();
        assert_eq!(v["specVersion"], "1.0");
        assert_eq!(v["type"], "SYSTEM");
        assert_eq!(v["headers"]["messageId"], "a_1_2_3");
        assert!(v["headers"]["time"].is_string());
        assert_eq!(v["data"], "{\"opaque\":\"x\"}");
    }

    #[test]
    fn up_frame_classifies_data() {
        let ok = UpFrame::parse(
            r#"{"code":200,"headers":{"messageId":"m"},"data":"{\"opaque\":\"o\"}"}"#,
        )
        .unwrap();
        assert_eq!(ok.opaque().as_deref(), Some("o"));
        let obj =
            UpFrame::parse(r#"{"code":200,"headers":{"messageId":"m"},"data":{"opaque":"o"}}"#)
                .unwrap();
        assert!(matches!(obj.data, UpData::NotString(_)));
        assert_eq!(obj.opaque(), None);
        assert!(UpFrame::parse("[1]").is_err());
        assert!(UpFrame::parse("nope").is_err());
    }
}
