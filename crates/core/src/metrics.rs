//! Live counters behind the status snapshot. Components update them directly (never through the event bus,
//! which may drop events for slow subscribers) so the numbers shown are exact.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::api::status::{ConnectionStatus, ConversationSummary, Counters, LatencySummary};
use crate::events::ConnectionState;
use crate::mcp::activity::McpActivity;
use crate::time::now_ms;

/// Conversations kept in memory for the dashboard (the store has all of them).
const MAX_CONVERSATIONS: usize = 200;

#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Microsecond latency histogram (1 µs .. 60 s, 3 significant digits).
pub struct LatencyHistogram(Mutex<Option<Histogram<u64>>>);

impl Default for LatencyHistogram {
    fn default() -> Self {
        // Valid constant bounds: creation cannot fail, but never panic if it somehow did.
        Self(Mutex::new(
            Histogram::new_with_bounds(1, 60_000_000, 3).ok(),
        ))
    }
}

impl LatencyHistogram {
    pub fn record(&self, latency: Duration) {
        if let Ok(mut guard) = self.0.lock()
            && let Some(histogram) = guard.as_mut()
        {
            let _ = histogram.record((latency.as_micros() as u64).clamp(1, 60_000_000));
        }
    }

    pub fn summary(&self) -> LatencySummary {
        let guard = self.0.lock();
        match guard.as_ref().ok().and_then(|g| g.as_ref()) {
            Some(h) if !h.is_empty() => LatencySummary {
                count: h.len(),
                p50_us: h.value_at_quantile(0.5),
                p99_us: h.value_at_quantile(0.99),
                max_us: h.max(),
            },
            _ => LatencySummary::default(),
        }
    }
}

pub struct Metrics {
    pub frames: Counter,
    pub received: Counter,
    pub duplicates: Counter,
    pub acked: Counter,
    pub rejected: Counter,
    /// Frames left un-ACKed because the pipeline was full (bounded queues); DingTalk redelivers them.
    pub deferred: Counter,
    pub agent_replied: Counter,
    pub agent_failed: Counter,
    pub replies_sent: Counter,
    pub replies_failed: Counter,
    pub reconnects: Counter,
    last_frame_at_ms: AtomicI64,
    connection: Mutex<ConnectionStatus>,
    ack_latency: LatencyHistogram,
    /// Agent turn durations (request → final answer).
    pub turn_latency: LatencyHistogram,
    /// Send durations (one DingTalk send call).
    pub send_latency: LatencyHistogram,
    conversations: Mutex<HashMap<String, ConversationSummary>>,
    quota_exhausted: std::sync::atomic::AtomicBool,
    /// The last hour by minute (the dashboard's charts).
    pub timeline: Arc<crate::timeline::Timeline>,
    /// MCP clients, calls and recent errors (the dashboard's MCP health).
    pub mcp: Arc<McpActivity>,
    /// Turns retried until the agent is reachable again (shown as "waiting for the agent").
    pub waiting_for_agent: crate::bridge::WaitingTurns,
}

impl Default for Metrics {
    fn default() -> Self {
        let timeline = Arc::new(crate::timeline::Timeline::default());
        Self {
            frames: Counter::default(),
            received: Counter::default(),
            duplicates: Counter::default(),
            acked: Counter::default(),
            rejected: Counter::default(),
            deferred: Counter::default(),
            agent_replied: Counter::default(),
            agent_failed: Counter::default(),
            replies_sent: Counter::default(),
            replies_failed: Counter::default(),
            reconnects: Counter::default(),
            last_frame_at_ms: AtomicI64::new(0),
            connection: Mutex::new(ConnectionStatus {
                state: ConnectionState::Stopped,
                reconnects: 0,
                last_frame_at_ms: None,
                connected_since_ms: None,
                last_error: None,
            }),
            ack_latency: LatencyHistogram::default(),
            turn_latency: LatencyHistogram::default(),
            send_latency: LatencyHistogram::default(),
            conversations: Mutex::new(HashMap::new()),
            quota_exhausted: std::sync::atomic::AtomicBool::new(false),
            mcp: Arc::new(McpActivity::new(timeline.clone())),
            timeline,
            waiting_for_agent: crate::bridge::WaitingTurns::default(),
        }
    }
}

impl Metrics {
    pub fn frame_seen(&self) {
        self.frames.inc();
        self.last_frame_at_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub fn record_ack(&self, latency: Duration) {
        self.acked.inc();
        self.ack_latency.record(latency);
        self.timeline.ack(
            now_ms(),
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        );
    }

    pub fn record_turn(&self, latency: Duration) {
        self.turn_latency.record(latency);
        self.timeline.turn(
            now_ms(),
            u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
        );
    }

    pub fn set_connection(&self, state: ConnectionState, error: Option<String>) {
        if let Ok(mut connection) = self.connection.lock() {
            if state == ConnectionState::Connected && connection.state != ConnectionState::Connected
            {
                connection.connected_since_ms = Some(now_ms());
            } else if state != ConnectionState::Connected {
                connection.connected_since_ms = None;
            }
            connection.state = state;
            if error.is_some() {
                connection.last_error = error;
            }
        }
    }

    pub fn connection(&self) -> ConnectionStatus {
        let mut status = self
            .connection
            .lock()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        status.reconnects = self.reconnects.get();
        let last = self.last_frame_at_ms.load(Ordering::Relaxed);
        status.last_frame_at_ms = (last > 0).then_some(last);
        status
    }

    pub fn counters(&self) -> Counters {
        Counters {
            frames: self.frames.get(),
            received: self.received.get(),
            duplicates: self.duplicates.get(),
            acked: self.acked.get(),
            rejected: self.rejected.get(),
            deferred: self.deferred.get(),
            agent_replied: self.agent_replied.get(),
            agent_failed: self.agent_failed.get(),
            replies_sent: self.replies_sent.get(),
            replies_failed: self.replies_failed.get(),
        }
    }

    pub fn ack_latency(&self) -> LatencySummary {
        self.ack_latency.summary()
    }

    /// A conversation got a new (non-duplicate) message.
    pub fn conversation_seen(&self, summary: ConversationSummary) {
        if let Ok(mut map) = self.conversations.lock() {
            let messages = map
                .get(&summary.conversation_id)
                .map(|c| c.messages)
                .unwrap_or(0);
            let mut summary = summary;
            summary.messages = summary.messages.max(messages + 1);
            map.insert(summary.conversation_id.clone(), summary);
            if map.len() > MAX_CONVERSATIONS
                && let Some(oldest) = map
                    .values()
                    .min_by_key(|c| c.last_message_at_ms)
                    .map(|c| c.conversation_id.clone())
            {
                map.remove(&oldest);
            }
        }
    }

    pub fn load_conversations(&self, list: Vec<ConversationSummary>) {
        if let Ok(mut map) = self.conversations.lock() {
            for c in list.into_iter().take(MAX_CONVERSATIONS) {
                map.insert(c.conversation_id.clone(), c);
            }
        }
    }

    pub fn conversations(&self) -> Vec<ConversationSummary> {
        let mut list: Vec<_> = self
            .conversations
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        list.sort_by_key(|c| std::cmp::Reverse(c.last_message_at_ms));
        list
    }

    pub fn set_quota_exhausted(&self) {
        self.quota_exhausted.store(true, Ordering::Relaxed);
    }

    pub fn quota_exhausted(&self) -> bool {
        self.quota_exhausted.load(Ordering::Relaxed)
    }
}
