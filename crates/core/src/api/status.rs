//! The status snapshot the dashboard renders (`GET /api/status`, Tauri command `get_status`).
//! Field names are a stable contract with `ui/`.
//!
//! Invariant: the snapshot is bounded whatever the number of conversations ([`StatusSnapshot::bounded`]
//! keeps at most [`SNAPSHOT_LIST_LIMIT`] entries per list and says how many there were); the full list is
//! paged from the store (`GET /api/conversations`).

/// Entries kept per per-conversation list of the snapshot.
pub const SNAPSHOT_LIST_LIMIT: usize = 20;

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

impl StatusSnapshot {
    /// Cuts the per-conversation lists to their first [`SNAPSHOT_LIST_LIMIT`] entries (deepest queues, newest
    /// conversations first), recording the full counts, so the snapshot's size does not grow with the number
    /// of conversations.
    pub fn bounded(mut self) -> Self {
        // The engine's lists come already cut (with their totals); a longer list is cut here.
        self.queues.conversations_total =
            (self.queues.conversations_total).max(self.queues.conversations.len());
        self.queues.conversations.truncate(SNAPSHOT_LIST_LIMIT);
        self.queues.waiting_for_agent_total =
            (self.queues.waiting_for_agent_total).max(self.queues.waiting_for_agent.len());
        self.queues.waiting_for_agent.truncate(SNAPSHOT_LIST_LIMIT);
        self.outbox.conversations_total =
            (self.outbox.conversations_total).max(self.outbox.conversations.len());
        self.outbox.conversations.truncate(SNAPSHOT_LIST_LIMIT);
        self.conversations.truncate(SNAPSHOT_LIST_LIMIT);
        self
    }
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
    /// Frames left un-ACKed because the pipeline was full; DingTalk redelivers them (backpressure).
    pub deferred: u64,
    pub agent_replied: u64,
    pub agent_failed: u64,
    pub replies_sent: u64,
    pub replies_failed: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct QueueStatus {
    pub total_depth: usize,
    pub in_flight: usize,
    /// Only conversations with something queued, deepest first (at most [`SNAPSHOT_LIST_LIMIT`] in a snapshot).
    pub conversations: Vec<ConversationQueue>,
    /// Conversations with something queued (all of them).
    pub conversations_total: usize,
    /// Messages whose turn waits for the agent to be reachable again (oldest first); they are answered
    /// once it is back. Empty while the agent is up. At most [`SNAPSHOT_LIST_LIMIT`] in a snapshot.
    pub waiting_for_agent: Vec<WaitingTurn>,
    /// Messages waiting for the agent (all of them).
    pub waiting_for_agent_total: usize,
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

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::{OutboxConversation, OutboxStatus};

    /// 10,000 conversations each with a message waiting for the agent and a reply waiting to be sent.
    fn backlogged(conversations: usize) -> StatusSnapshot {
        let id = |n: usize| format!("cid{n:05}+long/conversation=id{}", "x".repeat(24));
        StatusSnapshot {
            mode: "serve".into(),
            version: "0.0.0".into(),
            started_at_ms: 0,
            connection: ConnectionStatus {
                state: ConnectionState::Connected,
                reconnects: 0,
                last_frame_at_ms: Some(1),
                connected_since_ms: Some(1),
                last_error: None,
            },
            counters: Counters::default(),
            queues: QueueStatus {
                total_depth: conversations,
                in_flight: 4,
                conversations: (0..conversations)
                    .map(|n| ConversationQueue {
                        conversation_id: id(n),
                        depth: 1,
                    })
                    .collect(),
                conversations_total: 0,
                waiting_for_agent: Vec::new(),
                waiting_for_agent_total: 0,
            },
            conversations: (0..200)
                .map(|n| ConversationSummary {
                    conversation_id: id(n),
                    title: format!("Conversation {n} with a reasonably long title"),
                    kind: "group".into(),
                    last_message_at_ms: 1_700_000_000_000,
                    last_preview: "p".repeat(120),
                    messages: 20,
                })
                .collect(),
            ack_latency: LatencySummary::default(),
            quota: QuotaStatus {
                month: "2026-12".into(),
                stream_used: 0,
                stream_budget: 1,
                api_used: 0,
                api_budget: 1,
                exhausted: false,
            },
            outbox: OutboxStatus {
                pending: conversations,
                throttled: 0,
                conversations: (0..conversations)
                    .map(|n| OutboxConversation {
                        conversation_id: id(n),
                        pending: 1,
                        rate_limited: true,
                    })
                    .collect(),
                conversations_total: 0,
            },
            auth: Default::default(),
            agent_servers: Vec::new(),
        }
    }

    #[test]
    fn the_snapshot_stays_under_64_kb_at_10000_backlogged_conversations() {
        let snapshot = backlogged(10_000);
        let unbounded = serde_json::to_vec(&snapshot).unwrap().len();
        let bounded = serde_json::to_vec(&snapshot.bounded()).unwrap().len();
        assert!(
            unbounded > 1_000_000,
            "the fixture is the large case ({unbounded} bytes)"
        );
        assert!(bounded < 64_000, "snapshot is {bounded} bytes");
    }

    #[test]
    fn a_bounded_snapshot_says_how_many_conversations_it_left_out() {
        let snapshot = backlogged(10_000).bounded();
        assert_eq!(snapshot.queues.conversations.len(), SNAPSHOT_LIST_LIMIT);
        assert_eq!(snapshot.queues.conversations_total, 10_000);
        assert_eq!(snapshot.outbox.conversations_total, 10_000);
        assert_eq!(snapshot.conversations.len(), SNAPSHOT_LIST_LIMIT);
    }
}
