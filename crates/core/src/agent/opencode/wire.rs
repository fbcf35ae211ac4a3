//! The subset of OpenCode's JSON shapes the bridge reads. Every field is optional or defaulted: OpenCode
//! adds fields freely between releases, and a missing one must degrade (no text) rather than fail a turn.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /global/health`.
#[derive(Clone, Debug, Deserialize)]
pub struct HealthBody {
    #[serde(default)]
    pub healthy: bool,
    #[serde(default)]
    pub version: Option<String>,
}

/// A Session object (`POST /session`, `GET /session/{id}`).
#[derive(Clone, Debug, Deserialize)]
pub struct SessionInfo {
    pub id: String,
}

/// `POST /session` body.
#[derive(Clone, Debug, Serialize)]
pub struct CreateSessionBody<'a> {
    pub title: &'a str,
}

/// `POST /session/{id}/prompt_async` body: the same as `/message`. The first part is the prompt text (how a
/// turn is found again in the history after a break); files follow.
#[derive(Clone, Debug, Serialize)]
pub struct PromptBody<'a> {
    pub parts: Vec<PartInput<'a>>,
}

/// OpenCode's `TextPartInput` and `FilePartInput` (`{type:"file", mime, filename?, url}`; a `file://` URL is
/// read by OpenCode when the prompt is taken, images reach the model as images). Checked against
/// packages/sdk/js/src/v2/gen/types.gen.ts of OpenCode 1.x.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum PartInput<'a> {
    Text {
        text: &'a str,
    },
    File {
        mime: &'a str,
        filename: &'a str,
        url: String,
    },
}

/// One entry of `GET /session/{id}/message`.
#[derive(Clone, Debug, Deserialize)]
pub struct MessageWithParts {
    pub info: MessageInfo,
    #[serde(default)]
    pub parts: Vec<PartInfo>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct MessageInfo {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub role: String,
    /// Assistant messages: the user message they answer.
    #[serde(default, rename = "parentID")]
    pub parent_id: Option<String>,
    /// Assistant messages: why the step ended (`stop`, `tool-calls`, `length`, ...); absent while running.
    #[serde(default)]
    pub finish: Option<String>,
    #[serde(default)]
    pub time: MessageTime,
    /// Set on an assistant message that ended in an error (`{name, data:{message}}`).
    #[serde(default)]
    pub error: Option<ErrorInfo>,
}

/// `info.time`: `completed` is set once an assistant message is finished.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct MessageTime {
    #[serde(default)]
    pub completed: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PartInfo {
    #[serde(default)]
    pub id: String,
    #[serde(default, rename = "messageID")]
    pub message_id: String,
    #[serde(default, rename = "sessionID")]
    pub session_id: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub text: Option<String>,
    /// Parts OpenCode injects itself (e.g. file contents) rather than the model's answer.
    #[serde(default)]
    pub synthetic: bool,
    #[serde(default)]
    pub ignored: bool,
    /// Tool parts: the tool name.
    #[serde(default)]
    pub tool: Option<String>,
}

/// OpenCode's named error (`{name:"APIError", data:{message, isRetryable, statusCode}}`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ErrorInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub data: Value,
}

impl ErrorInfo {
    pub fn message(&self) -> String {
        let message = self
            .data
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_default();
        match (self.name.is_empty(), message.is_empty()) {
            (_, false) => message,
            (false, true) => self.name.clone(),
            (true, true) => "unknown error".to_owned(),
        }
    }

    pub fn is_abort(&self) -> bool {
        self.name == "MessageAbortedError"
    }

    /// Provider connectivity trouble (as opposed to a bad request or a refusal): worth retrying later.
    pub fn is_transient(&self) -> bool {
        if self.data.get("isRetryable").and_then(Value::as_bool) == Some(true) {
            return true;
        }
        if let Some(status) = self.data.get("statusCode").and_then(Value::as_u64)
            && (status == 429 || status >= 500)
        {
            return true;
        }
        let message = self.message().to_ascii_lowercase();
        [
            "econnrefused",
            "econnreset",
            "etimedout",
            "enotfound",
            "fetch failed",
            "unable to connect",
            "connection refused",
            "network",
            "timed out",
        ]
        .iter()
        .any(|needle| message.contains(needle))
    }
}
