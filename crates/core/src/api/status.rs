//! The status snapshot the dashboard renders (`GET /api/status`, Tauri command `get_status`).
//! Field names are a stable contract with `ui/`.

use serde::Serialize;

use crate::events::ConnectionState;

#[derive(Clone, Debug, Serialize)]
pub struct StatusSnapshot {
    /// "demo" or "serve" (or "app" for the desktop shell).
    pub mode: String,
    pub version: String,
    pub started_at_ms: i64,
    pub connection: ConnectionStatus,
    pub counters: Counters,
    pub queues: QueueStatus,
    /// Newest first.
    pub conversations: Vec<ConversationSummary>,
    pub ack_latency: LatencySummary,
    pub quota: QuotaStatus,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConnectionStatus {
    pub state: ConnectionState,
    pub reconnects: u64,
    pub last_frame_at_ms: Option<i64>,
    pub connected_since_ms: Option<i64>,
    pub last_error: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Counters {
    pub frames: u64,
    pub received: u64,
    pub duplicates: u64,
    pub acked: u64,
    pub rejected: u64,
    pub agent_replied: u64,
    pub agent_failed: u64,
    pub replies_sent: u64,
    pub replies_failed: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct QueueStatus {
    pub total_depth: usize,
    pub in_flight: usize,
    /// Only conversations with something queued.
    pub conversations: Vec<ConversationQueue>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConversationQueue {
    pub conversation_id: String,
    pub depth: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConversationSummary {
    pub conversation_id: String,
    pub title: String,
    /// "single" (1:1) or "group".
    pub kind: String,
    pub last_message_at_ms: i64,
    pub last_preview: String,
    pub messages: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct QuotaStatus {
    /// Calendar month, "YYYY-MM".
    pub month: String,
    pub stream_used: u64,
    pub stream_budget: u64,
    pub exhausted: bool,
}
