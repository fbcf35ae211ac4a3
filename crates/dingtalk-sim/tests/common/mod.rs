//! Test helpers: a raw Stream client built on tokio-tungstenite, written the
//! way a DingTalk client would talk to the real cloud.
#![allow(dead_code)]

use std::time::Duration;

use dingtalk_sim::{Sim, SimConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const BOT_TOPIC: &str = "/v1.0/im/bot/messages/get";
pub const WAIT: Duration = Duration::from_secs(5);

/// Short timings, no background pings unless a test asks.
pub fn fast_config() -> SimConfig {
    SimConfig {
        redelivery_after: Duration::from_millis(400),
        disconnect_grace: Duration::from_millis(300),
        ping_interval: None,
        ..SimConfig::default()
    }
}

pub async fn start(config: SimConfig) -> Sim {
    Sim::start(config).await.unwrap()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

pub fn open_body(sim: &Sim) -> Value {
    json!({
        "clientId": sim.config().client_id,
        "clientSecret": sim.config().client_secret,
        "subscriptions": [{"type": "CALLBACK", "topic": BOT_TOPIC}],
        "ua": "dingtalk-sim-tests/0.1",
    })
}

/// POST connections/open with a body; returns (status, json).
pub async fn open_raw(sim: &Sim, body: &Value) -> (u16, Value) {
    let resp = http()
        .post(format!("{}/v1.0/gateway/connections/open", sim.base_url()))
        .header("Accept", "application/json")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// (endpoint, ticket) for a bot subscriber.
pub async fn open(sim: &Sim) -> (String, String) {
    let (status, v) = open_raw(sim, &open_body(sim)).await;
    assert_eq!(status, 200, "{v}");
    (
        v["endpoint"].as_str().unwrap().to_owned(),
        v["ticket"].as_str().unwrap().to_owned(),
    )
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Client {
    pub ws: Ws,
}

impl Client {
    pub async fn connect(sim: &Sim) -> Client {
        let (endpoint, ticket) = open(sim).await;
        Self::connect_with(&endpoint, &ticket).await.unwrap()
    }

    pub async fn connect_with(
        endpoint: &str,
        ticket: &str,
    ) -> Result<Client, tokio_tungstenite::tungstenite::Error> {
        let (ws, _) =
            tokio_tungstenite::connect_async(format!("{endpoint}?ticket={ticket}")).await?;
        Ok(Client { ws })
    }

    /// Next text frame as JSON; None on timeout or close.
    pub async fn next_frame(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match msg {
                Ok(Message::Text(t)) => {
                    return Some(
                        serde_json::from_str(t.as_str()).unwrap_or(Value::String(t.to_string())),
                    );
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Next frame with this `type` and topic, skipping others.
    pub async fn next_of(&mut self, kind: &str, topic: &str, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let f = self.next_frame(left).await?;
            if f["type"] == kind && f["headers"]["topic"] == topic {
                return Some(f);
            }
        }
    }

    pub async fn next_callback(&mut self, timeout: Duration) -> Option<Value> {
        self.next_of("CALLBACK", BOT_TOPIC, timeout).await
    }

    pub async fn send(&mut self, v: &Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    /// ACK a frame the way the official SDKs do.
    pub async fn ack(&mut self, frame: &Value) {
        let id = frame["headers"]["messageId"].clone();
        self.send(&json!({
            "code": 200,
            "headers": {"messageId": id, "contentType": "application/json"},
            "message": "OK",
            "data": "{\"response\":null}",
        }))
        .await;
    }
}

/// The callback payload (`data` parsed a second time).
pub fn payload(frame: &Value) -> Value {
    serde_json::from_str(frame["data"].as_str().unwrap()).unwrap()
}

pub fn frame_id(frame: &Value) -> String {
    frame["headers"]["messageId"].as_str().unwrap().to_owned()
}
