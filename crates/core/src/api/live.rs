//! The dashboard's live stream: every engine event as it happens, plus, every [`ROWS_EVERY`], the new list
//! rows of the conversations those events touched (`{"type":"conversations_updated","total","rows"}`), so
//! the page updates the rows it shows without re-fetching the list or the snapshot.
//!
//! Invariants: the set of touched conversations is bounded ([`MAX_TOUCHED`]; beyond it the oldest are
//! dropped and the page's periodic refresh catches up), and one tick reads at most [`ROWS_PER_TICK`] rows, so
//! a burst of thousands of conversations costs the store a few indexed reads per tick per open dashboard.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;

use crate::api::status::Counters;
use crate::engine::Engine;
use crate::events::Event;
use crate::store::{ConversationRow, StoreError};

pub const ROWS_EVERY: Duration = Duration::from_millis(500);
pub const ROWS_PER_TICK: usize = 100;
pub const MAX_TOUCHED: usize = 10_000;

/// One message of the live stream, as JSON text.
pub type LiveMessage = String;

#[derive(Clone, Debug, Serialize)]
pub struct RowsUpdate {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Conversations the store knows (the unfiltered list's total).
    pub total: u64,
    pub rows: Vec<ConversationRow>,
    /// The engine's counters now (what the events of this tick added up to).
    pub counters: Counters,
}

/// The conversation an event is about, if any.
pub fn conversation_of(event: &Event) -> Option<&str> {
    match event {
        Event::MessageReceived {
            conversation_id, ..
        }
        | Event::AccessRefused {
            conversation_id, ..
        }
        | Event::QuotaExhausted {
            conversation_id, ..
        }
        | Event::QueueDepth {
            conversation_id, ..
        }
        | Event::AgentStarted {
            conversation_id, ..
        }
        | Event::AgentReplied {
            conversation_id, ..
        }
        | Event::AgentFailed {
            conversation_id, ..
        }
        | Event::OutboxDepth {
            conversation_id, ..
        }
        | Event::ReplySent {
            conversation_id, ..
        }
        | Event::ReplyFailed {
            conversation_id, ..
        }
        | Event::AgentUnreachable {
            conversation_id, ..
        }
        | Event::PermissionRequested {
            conversation_id, ..
        } => Some(conversation_id.as_str()),
        _ => None,
    }
}

/// Conversations touched since the last tick, oldest first, each once.
#[derive(Default)]
pub struct Touched {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl Touched {
    pub fn add(&mut self, conversation_id: &str) {
        if self.set.contains(conversation_id) {
            return;
        }
        if self.order.len() >= MAX_TOUCHED
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        self.set.insert(conversation_id.to_owned());
        self.order.push_back(conversation_id.to_owned());
    }

    /// The next (at most) `n` conversations to refresh.
    pub fn take(&mut self, n: usize) -> Vec<String> {
        let count = n.min(self.order.len());
        let taken: Vec<String> = self.order.drain(..count).collect();
        for id in &taken {
            self.set.remove(id);
        }
        taken
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

pub async fn rows_update(engine: &Engine, ids: Vec<String>) -> Result<RowsUpdate, StoreError> {
    let limited = ids
        .iter()
        .filter(|id| engine.outbox().conversation(id).rate_limited)
        .cloned()
        .collect();
    let (total, rows) = engine.store().conversation_rows(ids, limited).await?;
    Ok(RowsUpdate {
        kind: "conversations_updated",
        total,
        rows,
        counters: engine.metrics().counters(),
    })
}

/// Feeds `send` until it reports the listener gone (returns false) or the engine's bus closes. Holds the
/// engine only weakly (between ticks): a feed must not keep a stopped engine, and its bus, alive.
pub async fn run<F, Fut>(engine: Engine, mut send: F)
where
    F: FnMut(LiveMessage) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut receiver = engine.subscribe();
    let weak = engine.downgrade();
    drop(engine);
    let mut touched = Touched::default();
    let mut tick = tokio::time::interval(ROWS_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            received = receiver.recv() => match received {
                Ok(event) => {
                    if let Some(id) = conversation_of(&event) {
                        touched.add(id);
                    }
                    let Ok(text) = serde_json::to_string(&event) else { continue };
                    if !send(text).await {
                        return;
                    }
                }
                // A slow dashboard skips ahead instead of slowing the engine down.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            },
            _ = tick.tick(), if !touched.is_empty() => {
                let ids = touched.take(ROWS_PER_TICK);
                let Some(engine) = weak.upgrade() else { return };
                let update = rows_update(&engine, ids).await;
                drop(engine);
                match update {
                    Ok(update) => {
                        let Ok(text) = serde_json::to_string(&update) else { continue };
                        if !send(text).await {
                            return;
                        }
                    }
                    Err(err) => tracing::warn!(code = err.code(), error = %err, "cannot read updated conversation rows"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_touched_twice_is_refreshed_once() {
        let mut touched = Touched::default();
        touched.add("a");
        touched.add("b");
        touched.add("a");
        assert_eq!(touched.take(10), vec!["a".to_owned(), "b".to_owned()]);
        assert!(touched.is_empty());
    }

    #[test]
    fn the_touched_set_stays_bounded() {
        let mut touched = Touched::default();
        for n in 0..(MAX_TOUCHED + 5) {
            touched.add(&format!("c{n}"));
        }
        let first = touched.take(1);
        assert_eq!(first, vec!["c5".to_owned()]);
        assert_eq!(touched.take(usize::MAX).len(), MAX_TOUCHED - 1);
    }
}
