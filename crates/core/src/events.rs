//! One broadcast bus of typed events. The UI (Tauri emit or HTTP SSE), the MCP stats tools and the logs
//! all subscribe to it; producers never block on slow subscribers (lagging receivers skip ahead).

use serde::Serialize;
use tokio::sync::broadcast;

/// State of the DingTalk Stream connection as the user sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Not started, or stopped on shutdown.
    Stopped,
    /// Asking the gateway for a ticket / opening the WebSocket.
    Connecting,
    /// A socket is open and frames flow.
    Connected,
    /// The last socket failed; waiting out the backoff before the next attempt.
    Backoff,
}

/// Everything that happens in the engine that someone outside it may want to show or count.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ConnectionChanged {
        state: ConnectionState,
        reconnects: u64,
        /// Why the state changed (e.g. "disconnect requested by server", "watchdog: no frame for 30s").
        reason: String,
    },
    MessageReceived {
        msg_id: String,
        conversation_id: String,
        conversation_title: Option<String>,
        sender_nick: String,
        msgtype: String,
        preview: String,
        at_ms: i64,
    },
    /// A sender not on the allow-list was refused; the message never reached the agent.
    AccessRefused {
        msg_id: String,
        conversation_id: String,
        sender_nick: String,
        sender_staff_id: Option<String>,
    },
    /// Monthly DingTalk usage crossed `percent` (80 or 100) of its budget. `kind` is "stream" or "api".
    QuotaWarning {
        kind: String,
        month: String,
        used: u64,
        budget: u64,
        percent: u64,
    },
    /// A redelivered or duplicated callback that was recognised and not passed on again.
    DuplicateDropped { msg_id: String },
    /// The frame was persisted and ACKed; `latency_us` is frame arrival → ACK written.
    Acked { msg_id: String, latency_us: u64 },
    /// A frame that could not be understood; it was ACKed (so the server stops resending) and logged.
    FrameRejected { reason: String },
    /// DingTalk delivered a bot message without content because the org's monthly quota is used up (20001).
    QuotaExhausted {
        conversation_id: String,
        message: String,
    },
    QueueDepth {
        conversation_id: String,
        depth: usize,
        total: usize,
    },
    AgentStarted {
        msg_id: String,
        conversation_id: String,
    },
    AgentReplied {
        msg_id: String,
        conversation_id: String,
        preview: String,
        duration_ms: u64,
    },
    AgentFailed {
        msg_id: String,
        conversation_id: String,
        error: String,
    },
    /// Outbox depth of a conversation and whether it is waiting for its rate limit.
    OutboxDepth {
        conversation_id: String,
        pending: usize,
        rate_limited: bool,
    },
    ReplySent {
        msg_id: String,
        conversation_id: String,
        bytes: usize,
    },
    ReplyFailed {
        msg_id: String,
        conversation_id: String,
        error: String,
    },
    /// Access tokens could not be refreshed `failures` times in a row: OpenAPI calls fail fast (no more
    /// token requests) until the credentials change or the user retries.
    AuthDegraded { reason: String, failures: u32 },
    /// A token was obtained again after a degraded period.
    AuthRecovered,
    /// DingTalk refused the app's credentials (wrong AppKey/AppSecret): retrying cannot help, the user must
    /// fix them. `code` is DingTalk's error code.
    CredentialsRejected { code: String, message: String },
    /// The agent (OpenCode) cannot be reached; the message waits and is retried.
    AgentUnreachable {
        conversation_id: String,
        reason: String,
    },
    /// The agent asks for a permission in a chat; it waits for `/allow` or `/deny` there.
    PermissionRequested {
        conversation_id: String,
        permission_id: String,
        summary: String,
    },
    /// DingTalk throttled an OpenAPI call (403 `QpsLimit*`, errcode 90018/90002, or the 1111 IP ban).
    RateLimited {
        api: String,
        code: String,
        retry_after_ms: u64,
    },
    /// The org's monthly OpenAPI quota is used up (`ApiCountLimitForOrg`, errcode 90020).
    ApiQuotaExhausted {
        api: String,
        code: String,
        message: String,
    },
}

/// Cheap-to-clone publisher/subscriber handle.
#[derive(Clone, Debug)]
pub struct EventBus {
    sender: broadcast::Sender<Event>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity);
        Self { sender }
    }

    /// Publish to every current subscriber; having none is normal (headless, no dashboard open).
    pub fn publish(&self, event: Event) {
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(4096)
    }
}
