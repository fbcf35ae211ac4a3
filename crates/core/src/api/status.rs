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
    /// Outbound messages waiting for the pacer or a retry, per conversation.
    pub outbox: crate::bridge::OutboxStatus,
    /// OpenAPI access-token health (`degraded` after repeated refresh failures).
    pub auth: crate::dingtalk::auth::AuthStatus,
    /// Managed mode: each project's OpenCode server (empty in external mode).
    pub agent_servers: Vec<crate::agent::opencode::managed::ServerStatus>,
}

/// `get_performance`: where time goes, how much flows, how much memory is used.
#[derive(Clone, Debug, Serialize)]
pub struct PerformanceSnapshot {
    pub uptime_s: u64,
    /// Frame read → ACK written (client side).
    pub frame_to_ack: LatencySummary,
    /// Agent request → final answer.
    pub agent_turn: LatencySummary,
    /// One DingTalk send call.
    pub send: LatencySummary,
    pub messages_received: u64,
    pub messages_sent: u64,
    pub received_per_minute: f64,
    pub sent_per_minute: f64,
    pub memory: MemoryUsage,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct MemoryUsage {
    pub rss_bytes: u64,
    pub peak_rss_bytes: u64,
}

impl MemoryUsage {
    /// Resident set size of this process (Linux `/proc/self/status`; zero elsewhere).
    pub fn current() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |name: &str| -> u64 {
            status
                .lines()
                .find(|line| line.starts_with(name))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|value| value.parse().ok())
                .unwrap_or(0)
        };
        Self {
            rss_bytes: kib("VmRSS:") * 1024,
            peak_rss_bytes: kib("VmHWM:") * 1024,
        }
    }
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
    /// Messages whose turn waits for the agent to be reachable again (oldest first); they are answered
    /// once it is back. Empty while the agent is up.
    pub waiting_for_agent: Vec<WaitingTurn>,
}

/// A message whose agent turn waits for the agent (OpenCode down, unreachable or restarting).
#[derive(Clone, Debug, Serialize)]
pub struct WaitingTurn {
    pub msg_id: String,
    pub conversation_id: String,
    /// When its turn first found the agent unavailable.
    pub since_ms: i64,
    /// Why, from the latest attempt.
    pub reason: String,
    /// Attempts that found the agent unavailable so far.
    pub attempts: u32,
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
    pub api_used: u64,
    pub api_budget: u64,
    /// DingTalk said so (20001 frames), or the Stream budget is used up.
    pub exhausted: bool,
}
