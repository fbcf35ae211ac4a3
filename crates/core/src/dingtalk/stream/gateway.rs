//! `POST /v1.0/gateway/connections/open` (protocol notes §2.1): trades the app credentials for a WebSocket
//! endpoint and a single-use ticket valid 90 s. A fresh ticket is requested for every (re)connect.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::frames::BOT_MESSAGE_TOPIC;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("[GATEWAY_HTTP] could not reach the DingTalk gateway: {0}")]
    Http(String),
    #[error("[GATEWAY_REJECTED] the gateway answered HTTP {status}: {code} {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    #[error("[GATEWAY_RESPONSE] the gateway answer lacks endpoint/ticket")]
    BadResponse,
}

impl GatewayError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Http(_) => "GATEWAY_HTTP",
            Self::Rejected { .. } => "GATEWAY_REJECTED",
            Self::BadResponse => "GATEWAY_RESPONSE",
        }
    }

    /// Wrong credentials will not fix themselves; everything else is worth retrying.
    pub fn is_credentials(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                status: 401 | 403,
                ..
            }
        ) || matches!(self, Self::Rejected { code, .. } if code.contains("ClientIdOrSecret"))
    }
}

#[derive(Clone, Debug)]
pub struct Ticket {
    pub endpoint: String,
    pub ticket: String,
}

impl Ticket {
    /// `<endpoint>?ticket=<ticket>`, the ticket URL-encoded (the endpoint host/path is opaque).
    pub fn websocket_url(&self) -> String {
        let separator = if self.endpoint.contains('?') {
            '&'
        } else {
            '?'
        };
        format!(
            "{}{}ticket={}",
            self.endpoint,
            separator,
            encode_component(&self.ticket)
        )
    }
}

#[derive(Deserialize)]
struct OpenResponse {
    endpoint: Option<String>,
    ticket: Option<String>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

pub async fn open_connection(
    http: &reqwest::Client,
    api_base: &str,
    client_id: &str,
    client_secret: &SecretString,
    timeout: Duration,
) -> Result<Ticket, GatewayError> {
    let url = format!(
        "{}/v1.0/gateway/connections/open",
        api_base.trim_end_matches('/')
    );
    let body = json!({
        "clientId": client_id,
        "clientSecret": client_secret.expose_secret(),
        "subscriptions": [{"type": "CALLBACK", "topic": BOT_MESSAGE_TOPIC}],
        "ua": concat!("dingbridge-rust/", env!("CARGO_PKG_VERSION")),
    });
    let response = http
        .post(&url)
        // Without Accept the gateway may answer in XML (Node SDK note).
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&body)
        .timeout(timeout)
        .send()
        .await
        .map_err(|err| GatewayError::Http(err.without_url().to_string()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|err| GatewayError::Http(err.without_url().to_string()))?;
    if !status.is_success() {
        let error: ErrorBody = serde_json::from_str(&text).unwrap_or_default();
        return Err(GatewayError::Rejected {
            status: status.as_u16(),
            code: error.code,
            message: error.message,
        });
    }
    let parsed: OpenResponse =
        serde_json::from_str(&text).map_err(|_| GatewayError::BadResponse)?;
    match (parsed.endpoint, parsed.ticket) {
        (Some(endpoint), Some(ticket)) if !endpoint.is_empty() && !ticket.is_empty() => {
            Ok(Ticket { endpoint, ticket })
        }
        _ => Err(GatewayError::BadResponse),
    }
}

/// Percent-encodes everything outside RFC 3986 unreserved characters.
fn encode_component(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_url_appends_the_encoded_ticket() {
        let t = Ticket {
            endpoint: "wss://h/connect".into(),
            ticket: "a b+c".into(),
        };
        assert_eq!(t.websocket_url(), "wss://h/connect?ticket=a%20b%2Bc");
    }
}
