//! What the dashboard's MCP health shows: clients connected right now, `tools/call` calls in the last
//! minute (and per minute in the shared [`Timeline`]), and the last few failed calls.
//!
//! Invariant: cheap and bounded — one atomic for the clients (a [`ClientGuard`] per open session, released
//! when the session's handler is dropped), a 60-slot ring of per-second call counts, and a ring of at most
//! [`RECENT_ERRORS`] errors that hold only the time, the tool name (a known tool, else `unknown`) and the
//! stable error code — never arguments or message text, which may carry what people wrote.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::timeline::Timeline;

/// Failed calls kept for the dashboard.
pub const RECENT_ERRORS: usize = 20;
/// The sliding window of "calls in the last minute", one slot per second.
const WINDOW_SECONDS: usize = 60;

/// One failed `tools/call`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct McpErrorView {
    pub at_ms: i64,
    pub tool: String,
    /// A tool error's stable code (`NOT_FOUND`, …) or, for protocol errors, `JSONRPC_<code>`.
    pub code: String,
}

/// The MCP part of `GET /api/health`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct McpHealthView {
    /// Open Streamable HTTP sessions plus legacy SSE streams (stdio helpers count through their HTTP session).
    pub clients: u64,
    /// `tools/call` requests in the last 60 seconds.
    pub calls_last_minute: u64,
    /// The most recent failed calls, newest first.
    pub recent_errors: Vec<McpErrorView>,
}

pub struct McpActivity {
    clients: Arc<AtomicU64>,
    /// `(second, calls)` per slot; a slot whose second is older than the window reads as empty.
    seconds: Mutex<[(i64, u64); WINDOW_SECONDS]>,
    errors: Mutex<VecDeque<McpErrorView>>,
    timeline: Arc<Timeline>,
}

/// Counts one connected client for as long as it lives.
pub struct ClientGuard(Arc<AtomicU64>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        // Only guards decrement, each once, after their own increment: this never goes below zero.
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl McpActivity {
    /// Calls are also counted per minute in `timeline` (the dashboard's charts).
    pub fn new(timeline: Arc<Timeline>) -> Self {
        Self {
            clients: Arc::default(),
            seconds: Mutex::new([(0, 0); WINDOW_SECONDS]),
            errors: Mutex::new(VecDeque::with_capacity(RECENT_ERRORS)),
            timeline,
        }
    }

    pub fn client_connected(&self) -> ClientGuard {
        self.clients.fetch_add(1, Ordering::Relaxed);
        ClientGuard(self.clients.clone())
    }

    /// Records one `tools/call` at `at_ms`; `failure` is `(tool, code)` when it failed.
    pub fn call(&self, at_ms: i64, failure: Option<(&str, &str)>) {
        self.timeline.mcp_call(at_ms, failure.is_some());
        let second = at_ms.div_euclid(1_000);
        let index = second.rem_euclid(WINDOW_SECONDS as i64) as usize;
        {
            let mut seconds = self.seconds.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(slot) = seconds.get_mut(index) {
                if slot.0 != second {
                    *slot = (second, 0);
                }
                slot.1 = slot.1.saturating_add(1);
            }
        }
        if let Some((tool, code)) = failure {
            let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
            if errors.len() >= RECENT_ERRORS {
                errors.pop_back();
            }
            errors.push_front(McpErrorView {
                at_ms,
                tool: tool.to_owned(),
                code: code.to_owned(),
            });
        }
    }

    pub fn view(&self, now_ms: i64) -> McpHealthView {
        let now_second = now_ms.div_euclid(1_000);
        let calls_last_minute = self
            .seconds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(second, _)| {
                *second <= now_second && now_second - *second < WINDOW_SECONDS as i64
            })
            .map(|(_, calls)| *calls)
            .fold(0u64, u64::saturating_add);
        McpHealthView {
            clients: self.clients.load(Ordering::Relaxed),
            calls_last_minute,
            recent_errors: self
                .errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned()
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_633_600_000;

    #[test]
    fn calls_older_than_a_minute_leave_the_count() {
        let activity = McpActivity::new(Arc::default());
        activity.call(T0, None);
        activity.call(T0 + 30_000, Some(("get_messages", "NOT_FOUND")));
        assert_eq!(activity.view(T0 + 59_000).calls_last_minute, 2);
        assert_eq!(activity.view(T0 + 61_000).calls_last_minute, 1);
        assert_eq!(activity.view(T0 + 91_000).calls_last_minute, 0);
    }

    #[test]
    fn only_the_newest_errors_are_kept_newest_first() {
        let activity = McpActivity::new(Arc::default());
        for i in 0..(RECENT_ERRORS as i64 + 5) {
            activity.call(T0 + i, Some(("send_message", "RATE_LIMITED")));
        }
        let errors = activity.view(T0 + 100).recent_errors;
        assert_eq!(errors.len(), RECENT_ERRORS);
        assert_eq!(errors[0].at_ms, T0 + RECENT_ERRORS as i64 + 4);
    }

    #[test]
    fn a_client_counts_while_its_guard_lives() {
        let activity = McpActivity::new(Arc::default());
        let first = activity.client_connected();
        let second = activity.client_connected();
        assert_eq!(activity.view(T0).clients, 2);
        drop(first);
        drop(second);
        assert_eq!(activity.view(T0).clients, 0);
    }
}
