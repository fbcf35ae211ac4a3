//! Wire frames (protocol notes §2.3–2.6). Downstream frames are JSON objects whose `data` is itself a JSON
//! document encoded as a string; upstream ACKs echo the frame's `messageId`.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

pub const BOT_MESSAGE_TOPIC: &str = "/v1.0/im/bot/messages/get";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameKind {
    System,
    Event,
    Callback,
    Other(String),
}

#[derive(Clone, Debug)]
pub struct DownFrame {
    pub kind: FrameKind,
    pub headers: HashMap<String, String>,
    pub data: String,
}

/// A frame we cannot use. When the `messageId` could still be read, the frame is ACKed anyway so the server
/// does not keep resending something that will never parse.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("[FRAME_JSON] frame is not a JSON object: {reason}")]
    NotJson { reason: String },
    #[error("[FRAME_DATA] frame `data` is not a string")]
    DataNotString { message_id: Option<String> },
    #[error("[FRAME_TYPE] frame has no `type`")]
    MissingType { message_id: Option<String> },
}

impl FrameError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotJson { .. } => "FRAME_JSON",
            Self::DataNotString { .. } => "FRAME_DATA",
            Self::MissingType { .. } => "FRAME_TYPE",
        }
    }

    pub fn message_id(&self) -> Option<&str> {
        match self {
            Self::NotJson { .. } => None,
            Self::DataNotString { message_id } | Self::MissingType { message_id } => {
                message_id.as_deref()
            }
        }
    }
}

impl DownFrame {
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let value: Value = serde_json::from_str(text).map_err(|err| FrameError::NotJson {
            reason: err.to_string(),
        })?;
        let Value::Object(object) = value else {
            return Err(FrameError::NotJson {
                reason: "not an object".into(),
            });
        };
        // Header values are strings on the wire; tolerate numbers rather than drop the frame.
        let headers: HashMap<String, String> = object
            .get("headers")
            .and_then(Value::as_object)
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| match v {
                        Value::String(s) => Some((k.clone(), s.clone())),
                        Value::Number(n) => Some((k.clone(), n.to_string())),
                        Value::Bool(b) => Some((k.clone(), b.to_string())),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let message_id = headers.get("messageId").cloned();
        let kind = match object.get("type").and_then(Value::as_str) {
            Some("SYSTEM") => FrameKind::System,
            Some("EVENT") => FrameKind::Event,
            Some("CALLBACK") => FrameKind::Callback,
            Some(other) => FrameKind::Other(other.to_owned()),
            None => return Err(FrameError::MissingType { message_id }),
        };
        let data = match object.get("data") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => String::new(),
            Some(_) => return Err(FrameError::DataNotString { message_id }),
        };
        Ok(Self {
            kind,
            headers,
            data,
        })
    }

    pub fn topic(&self) -> &str {
        self.headers
            .get("topic")
            .map(String::as_str)
            .unwrap_or_default()
    }

    pub fn message_id(&self) -> Option<&str> {
        self.headers.get("messageId").map(String::as_str)
    }
}

/// Upstream response frame. `data` is always a JSON *string*, never an object.
#[derive(Clone, Debug, Serialize)]
pub struct AckFrame {
    pub code: u16,
    pub headers: AckHeaders,
    pub message: String,
    pub data: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AckHeaders {
    #[serde(rename = "contentType")]
    pub content_type: String,
    #[serde(rename = "messageId")]
    pub message_id: String,
}

impl AckFrame {
    pub fn new(code: u16, message_id: &str, data: String) -> Self {
        Self {
            code,
            headers: AckHeaders {
                content_type: "application/json".into(),
                message_id: message_id.to_owned(),
            },
            message: if code == 200 {
                "OK".into()
            } else {
                "error".into()
            },
            data,
        }
    }

    /// ACK of a bot callback: the server ignores the payload; `{"response":null}` is the documented form.
    pub fn callback_ok(message_id: &str) -> Self {
        Self::new(200, message_id, r#"{"response":null}"#.into())
    }

    /// Reply to SYSTEM `ping`: echo the request's data (which carries the `opaque`).
    pub fn pong(message_id: &str, data: &str) -> Self {
        Self::new(200, message_id, data.to_owned())
    }

    /// EVENT ACK: `status` SUCCESS (LATER would ask for redelivery).
    pub fn event_ok(message_id: &str) -> Self {
        Self::new(
            200,
            message_id,
            r#"{"status":"SUCCESS","message":"success"}"#.into(),
        )
    }

    /// A frame whose topic or content we do not handle: 404 is reserved for "no handler" (diagnosis only).
    pub fn not_found(message_id: &str) -> Self {
        Self::new(404, message_id, r#"{"response":null}"#.into())
    }

    pub fn to_json(&self) -> String {
        // Serialising a struct of strings and an integer cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_frame_parses_with_data_as_a_string() {
        let frame = DownFrame::parse(
            r#"{"specVersion":"1.0","type":"CALLBACK","headers":{"topic":"/v1.0/im/bot/messages/get","messageId":"m1","time":"1"},"data":"{\"msgId\":\"x\"}"}"#,
        )
        .unwrap();
        assert_eq!(frame.kind, FrameKind::Callback);
        assert_eq!(frame.topic(), BOT_MESSAGE_TOPIC);
        assert_eq!(frame.data, r#"{"msgId":"x"}"#);
    }

    #[test]
    fn non_string_data_is_an_error_that_keeps_the_message_id() {
        let err =
            DownFrame::parse(r#"{"type":"CALLBACK","headers":{"messageId":"m2"},"data":{"a":1}}"#)
                .unwrap_err();
        assert_eq!(err.message_id(), Some("m2"));
        assert_eq!(err.code(), "FRAME_DATA");
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert_eq!(
            DownFrame::parse("{not json").unwrap_err().code(),
            "FRAME_JSON"
        );
    }

    #[test]
    fn pong_echoes_the_data_string_and_message_id() {
        let json: Value =
            serde_json::from_str(&AckFrame::pong("p1", r#"{"opaque":"o"}"#).to_json()).unwrap();
        assert_eq!(json["code"], 200);
        assert_eq!(json["headers"]["messageId"], "p1");
        assert_eq!(json["headers"]["contentType"], "application/json");
        assert_eq!(json["data"], r#"{"opaque":"o"}"#);
    }
}
