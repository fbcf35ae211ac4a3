//! `GET /event`: an SSE stream of `{id?, type, properties}` JSON objects. This module turns bytes into
//! [`OcEvent`]s; the hub (`hub.rs`) owns the connection and fans events out by session.

use serde_json::Value;

use super::wire::{ErrorInfo, PartInfo};

/// Incremental SSE decoder (WHATWG rules that matter here: `data:` lines joined by `\n`, blank line
/// dispatches, `:` comments and other fields ignored, CRLF or LF line ends, chunk boundaries anywhere).
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
}

/// A frame larger than this is dropped instead of growing without bound (a misbehaving peer).
const MAX_FRAME: usize = 8 * 1024 * 1024;

impl SseParser {
    /// Feeds a chunk; returns the data payloads of the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        for &byte in chunk {
            if byte == b'\n' {
                let mut line = std::mem::take(&mut self.line);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.line_done(&line, &mut out);
            } else if self.line.len() < MAX_FRAME {
                self.line.push(byte);
            }
        }
        out
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<String>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(data);
            }
            return;
        }
        if line.first() == Some(&b':') {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        if field == b"data" {
            let value = String::from_utf8_lossy(value);
            match &mut self.data {
                Some(data) if data.len() < MAX_FRAME => {
                    data.push('\n');
                    data.push_str(&value);
                }
                Some(_) => {}
                None => self.data = Some(value.into_owned()),
            }
        }
    }
}

/// The events the bridge acts on. Everything else is `Other` (and ignored).
#[derive(Clone, Debug, PartialEq)]
pub enum OcEvent {
    Connected,
    Heartbeat,
    /// `session.status`: `busy`, `idle` or `retry` (with OpenCode's retry message).
    Status {
        session_id: String,
        status: String,
        message: Option<String>,
    },
    Idle {
        session_id: String,
    },
    Error {
        session_id: Option<String>,
        name: String,
        message: String,
        abort: bool,
        transient: bool,
    },
    MessageUpdated {
        session_id: String,
        message_id: String,
        role: String,
        error: Option<(String, String, bool)>,
    },
    PartUpdated {
        session_id: String,
        message_id: String,
        part_id: String,
        kind: String,
        text: Option<String>,
        /// Parts that are not the model's answer (injected file contents, ignored parts).
        hidden: bool,
        tool: Option<String>,
    },
    PartDelta {
        session_id: Option<String>,
        message_id: String,
        part_id: String,
        field: String,
        delta: String,
    },
    PermissionAsked {
        session_id: String,
        id: String,
        summary: String,
    },
    QuestionAsked {
        session_id: String,
        id: String,
        question: String,
    },
    Other(String),
}

impl OcEvent {
    pub fn session_id(&self) -> Option<&str> {
        match self {
            Self::Status { session_id, .. }
            | Self::Idle { session_id }
            | Self::MessageUpdated { session_id, .. }
            | Self::PartUpdated { session_id, .. }
            | Self::PermissionAsked { session_id, .. }
            | Self::QuestionAsked { session_id, .. } => Some(session_id),
            Self::Error { session_id, .. } | Self::PartDelta { session_id, .. } => {
                session_id.as_deref()
            }
            Self::Connected | Self::Heartbeat | Self::Other(_) => None,
        }
    }
}

fn str_of<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn string_of(value: &Value, key: &str) -> String {
    str_of(value, key).unwrap_or_default().to_owned()
}

/// Decodes one SSE data payload. `None` for JSON that is not an event object (logged by the caller).
pub fn decode(data: &str) -> Option<OcEvent> {
    let value: Value = serde_json::from_str(data).ok()?;
    // Some releases wrap bus events for the global stream as `{directory, payload:{type, properties}}`.
    let value = match value.get("payload") {
        Some(payload) if value.get("type").is_none() => payload.clone(),
        _ => value,
    };
    let kind = str_of(&value, "type")?.to_owned();
    let props = value.get("properties").cloned().unwrap_or(Value::Null);
    let event = match kind.as_str() {
        "server.connected" => OcEvent::Connected,
        "server.heartbeat" => OcEvent::Heartbeat,
        "session.status" => {
            let status = props.get("status").cloned().unwrap_or(Value::Null);
            OcEvent::Status {
                session_id: string_of(&props, "sessionID"),
                status: str_of(&status, "type").unwrap_or("busy").to_owned(),
                message: str_of(&status, "message").map(str::to_owned),
            }
        }
        "session.idle" => OcEvent::Idle {
            session_id: string_of(&props, "sessionID"),
        },
        "session.error" => {
            let error: ErrorInfo = props
                .get("error")
                .cloned()
                .and_then(|e| serde_json::from_value(e).ok())
                .unwrap_or_default();
            OcEvent::Error {
                session_id: str_of(&props, "sessionID").map(str::to_owned),
                name: error.name.clone(),
                message: error.message(),
                abort: error.is_abort(),
                transient: error.is_transient(),
            }
        }
        "message.updated" => {
            let info = props.get("info").cloned().unwrap_or(Value::Null);
            let error = info
                .get("error")
                .cloned()
                .and_then(|e| serde_json::from_value::<ErrorInfo>(e).ok())
                .map(|e| (e.name.clone(), e.message(), e.is_transient()));
            OcEvent::MessageUpdated {
                session_id: string_of(&info, "sessionID"),
                message_id: string_of(&info, "id"),
                role: string_of(&info, "role"),
                error,
            }
        }
        "message.part.updated" => {
            let part: PartInfo = serde_json::from_value(props.get("part")?.clone()).ok()?;
            OcEvent::PartUpdated {
                session_id: part.session_id.unwrap_or_default(),
                message_id: part.message_id,
                part_id: part.id,
                kind: part.kind,
                text: part.text,
                hidden: part.synthetic || part.ignored,
                tool: part.tool,
            }
        }
        "message.part.delta" => OcEvent::PartDelta {
            session_id: str_of(&props, "sessionID").map(str::to_owned),
            message_id: string_of(&props, "messageID"),
            part_id: string_of(&props, "partID"),
            field: str_of(&props, "field").unwrap_or("text").to_owned(),
            delta: string_of(&props, "delta"),
        },
        "permission.asked" | "permission.updated" => OcEvent::PermissionAsked {
            session_id: string_of(&props, "sessionID"),
            id: string_of(&props, "id"),
            summary: permission_summary(&props),
        },
        "question.asked" => OcEvent::QuestionAsked {
            session_id: string_of(&props, "sessionID"),
            id: string_of(&props, "id"),
            question: question_text(&props),
        },
        _ => OcEvent::Other(kind),
    };
    Some(event)
}

/// "bash: cargo test, git push" — what is asked and for which patterns, short enough for a chat line.
/// `permission.asked` has `{permission, patterns}`; the older `permission.updated` has `{type, pattern,
/// title}`.
fn permission_summary(props: &Value) -> String {
    let what = str_of(props, "permission")
        .or_else(|| str_of(props, "type"))
        .unwrap_or("permission");
    let patterns: Vec<String> = match props.get("patterns").or_else(|| props.get("pattern")) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let mut summary = if patterns.is_empty() {
        str_of(props, "title").unwrap_or(what).to_owned()
    } else {
        format!("{what}: {}", patterns.join(", "))
    };
    if summary.chars().count() > 500 {
        summary = summary.chars().take(500).collect::<String>() + "…";
    }
    summary
}

/// `question.asked` carries `questions: [{header, question, options:[{label, description}], multiple}]`.
fn question_text(props: &Value) -> String {
    let Some(Value::Array(questions)) = props.get("questions") else {
        return str_of(props, "question").unwrap_or("(question)").to_owned();
    };
    let mut lines = Vec::new();
    for question in questions {
        let text = str_of(question, "question")
            .or_else(|| str_of(question, "header"))
            .unwrap_or_default();
        lines.push(text.to_owned());
        if let Some(Value::Array(options)) = question.get("options") {
            for option in options {
                let label = str_of(option, "label").unwrap_or_default();
                match str_of(option, "description") {
                    Some(d) if !d.is_empty() => lines.push(format!("- {label}: {d}")),
                    _ => lines.push(format!("- {label}")),
                }
            }
        }
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_handles_split_chunks_crlf_comments_and_multiline_data() {
        let mut parser = SseParser::default();
        assert!(parser.feed(b": hi\r\ndata: {\"a\"").is_empty());
        assert_eq!(
            parser.feed(b":1}\r\n\r\ndata: x\ndata: y\n"),
            vec!["{\"a\":1}"]
        );
        assert_eq!(parser.feed(b"\n"), vec!["x\ny"]);
        assert_eq!(
            parser.feed(b"event: message\nid: 3\n\n"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn decodes_the_documented_shapes() {
        let delta = decode(
            r#"{"type":"message.part.delta","properties":{"sessionID":"ses_1","messageID":"msg_2","partID":"prt_3","field":"text","delta":"Hi"}}"#,
        );
        assert_eq!(
            delta,
            Some(OcEvent::PartDelta {
                session_id: Some("ses_1".into()),
                message_id: "msg_2".into(),
                part_id: "prt_3".into(),
                field: "text".into(),
                delta: "Hi".into()
            })
        );
        let ask = decode(
            r#"{"type":"permission.asked","properties":{"id":"per_1","sessionID":"ses_1","permission":"bash","patterns":["cargo test"],"tool":{"messageID":"m","callID":"c"}}}"#,
        );
        assert_eq!(
            ask,
            Some(OcEvent::PermissionAsked {
                session_id: "ses_1".into(),
                id: "per_1".into(),
                summary: "bash: cargo test".into()
            })
        );
        let error = decode(
            r#"{"type":"session.error","properties":{"sessionID":"ses_1","error":{"name":"APIError","data":{"message":"boom","isRetryable":true}}}}"#,
        );
        assert!(
            matches!(error, Some(OcEvent::Error { transient: true, ref message, .. }) if message == "boom")
        );
        assert_eq!(decode("not json"), None);
    }
}
