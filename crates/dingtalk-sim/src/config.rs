//! Simulator configuration. Defaults are the real platform's numbers (protocol
//! doc §2.1, §2.5, §2.8, §3.1, §4.1, §4.4); tests shrink them.

use std::time::Duration;

/// How the simulated DingTalk cloud behaves.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// AppKey accepted by the gateway and the token endpoint.
    pub client_id: String,
    /// AppSecret accepted by the gateway and the token endpoint.
    pub client_secret: String,
    /// A callback not ACKed within this is delivered again (field reports: ~60 s).
    pub redelivery_after: Duration,
    /// Lifetime of a gateway ticket (DP-PROTO: 90 s, single use).
    pub ticket_ttl: Duration,
    /// After a SYSTEM `disconnect` the socket is closed after this (DP-PROTO: ~10 s).
    pub disconnect_grace: Duration,
    /// Interval of server SYSTEM `ping` frames; `None` sends none.
    pub ping_interval: Option<Duration>,
    /// Interval of SYSTEM `KEEPALIVE` frames; `None` sends none.
    pub keepalive_interval: Option<Duration>,
    /// Send SYSTEM `CONNECTED` right after the socket opens.
    pub send_connected: bool,
    /// Send SYSTEM `REGISTERED` after `CONNECTED` (the real server does not always).
    pub send_registered: bool,
    /// `expireIn` of access tokens.
    pub token_ttl: Duration,
    /// `sessionWebhookExpiredTime` = `createAt` + this (samples: ~5,400 s).
    pub webhook_ttl: Duration,
    /// Accepted sessionWebhook messages per conversation per rolling `rate_window`.
    pub webhook_rate_per_min: u32,
    /// The rolling window of the per-conversation limits (DingTalk: one minute). Tests shorten it so a
    /// paced backlog of hundreds of messages takes seconds, not minutes.
    pub rate_window: Duration,
    /// Per-app, per-API calls per rolling second of the robot send and card APIs (§4.4: 20 QPS).
    pub send_qps: u32,
    /// Card streaming content above this many bytes answers `param.stream.content`.
    pub card_max_content_bytes: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            client_id: "demo-client-id".to_owned(),
            client_secret: "demo-client-secret".to_owned(),
            redelivery_after: Duration::from_secs(60),
            ticket_ttl: Duration::from_secs(90),
            disconnect_grace: Duration::from_secs(10),
            ping_interval: Some(Duration::from_secs(30)),
            keepalive_interval: None,
            send_connected: true,
            send_registered: false,
            token_ttl: Duration::from_secs(7200),
            webhook_ttl: Duration::from_secs(5400),
            webhook_rate_per_min: 20,
            rate_window: Duration::from_secs(60),
            send_qps: 20,
            card_max_content_bytes: 10_240,
        }
    }
}

impl SimConfig {
    /// Credentials the simulator accepts.
    pub fn with_credentials(mut self, id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.client_id = id.into();
        self.client_secret = secret.into();
        self
    }

    pub fn with_redelivery_after(mut self, d: Duration) -> Self {
        self.redelivery_after = d;
        self
    }

    pub fn with_ticket_ttl(mut self, d: Duration) -> Self {
        self.ticket_ttl = d;
        self
    }

    pub fn with_disconnect_grace(mut self, d: Duration) -> Self {
        self.disconnect_grace = d;
        self
    }

    pub fn with_ping_interval(mut self, d: Option<Duration>) -> Self {
        self.ping_interval = d;
        self
    }

    pub fn with_keepalive_interval(mut self, d: Option<Duration>) -> Self {
        self.keepalive_interval = d;
        self
    }

    pub fn with_send_connected(mut self, on: bool) -> Self {
        self.send_connected = on;
        self
    }

    pub fn with_send_registered(mut self, on: bool) -> Self {
        self.send_registered = on;
        self
    }

    pub fn with_token_ttl(mut self, d: Duration) -> Self {
        self.token_ttl = d;
        self
    }

    pub fn with_webhook_ttl(mut self, d: Duration) -> Self {
        self.webhook_ttl = d;
        self
    }

    pub fn with_rate_window(mut self, window: Duration) -> Self {
        self.rate_window = window;
        self
    }

    pub fn with_webhook_rate_per_min(mut self, n: u32) -> Self {
        self.webhook_rate_per_min = n;
        self
    }

    pub fn with_send_qps(mut self, n: u32) -> Self {
        self.send_qps = n;
        self
    }

    pub fn with_card_max_content_bytes(mut self, n: usize) -> Self {
        self.card_max_content_bytes = n;
        self
    }
}
