//! A turn's progress channel, from the agent backend to the bridge's relay (AI card, permission asks,
//! questions).
//!
//! Invariant: bounded by construction, and nothing the user must act on is dropped.
//! - A text update is a snapshot of the whole answer so far, so a snapshot still waiting when the next one
//!   comes is replaced by it (a slow relay, e.g. a throttled card update, skips stale snapshots instead of
//!   queueing them). Only the last queued update is replaced, so text never overtakes an ask.
//! - Permission asks and questions are kept, in order, up to [`MAX_PENDING_ASKS`] waiting. The agent blocks
//!   on each ask until it is answered, so more than that waiting means the relay is stuck: past the bound an
//!   ask is refused with [`UpdateError::Full`] (the backend logs it); the agent's ask is then ended by the
//!   turn timeout, like any unanswered ask.
//!
//! So at most `2 × MAX_PENDING_ASKS + 1` updates wait (a text snapshot before each ask and one after).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::AgentUpdate;

/// Permission asks and questions that may wait for the relay at once.
pub const MAX_PENDING_ASKS: usize = 64;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// The relay is gone (the turn's receiver was dropped); the update is not needed any more.
    #[error("[AGENT_UPDATES_CLOSED] nobody receives this turn's progress any more")]
    Closed,
    /// [`MAX_PENDING_ASKS`] asks are already waiting for the relay.
    #[error(
        "[AGENT_UPDATES_FULL] {MAX_PENDING_ASKS} asks are waiting to be relayed; this one was dropped"
    )]
    Full,
}

impl UpdateError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Closed => "AGENT_UPDATES_CLOSED",
            Self::Full => "AGENT_UPDATES_FULL",
        }
    }
}

#[derive(Default)]
struct State {
    queue: VecDeque<AgentUpdate>,
    asks: usize,
    senders: usize,
    receiver_gone: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    notify: Notify,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the queue half-updated (every change is one push/pop/replace).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sender half; clones share the channel. Sending never waits.
pub struct UpdateSender {
    shared: Arc<Shared>,
}

/// Receiver half (the bridge's relay).
pub struct UpdateReceiver {
    shared: Arc<Shared>,
}

/// A new progress channel for one turn.
pub fn update_channel() -> (UpdateSender, UpdateReceiver) {
    let shared = Arc::new(Shared::default());
    shared.state().senders = 1;
    (
        UpdateSender {
            shared: shared.clone(),
        },
        UpdateReceiver { shared },
    )
}

impl UpdateSender {
    /// Queues `update` (see the module doc for what a full channel does).
    pub fn send(&self, update: AgentUpdate) -> Result<(), UpdateError> {
        let mut state = self.shared.state();
        if state.receiver_gone {
            return Err(UpdateError::Closed);
        }
        match update {
            AgentUpdate::Text(_) => match state.queue.back_mut() {
                Some(last @ AgentUpdate::Text(_)) => *last = update,
                _ => state.queue.push_back(update),
            },
            ask => {
                if state.asks >= MAX_PENDING_ASKS {
                    return Err(UpdateError::Full);
                }
                state.asks += 1;
                state.queue.push_back(ask);
            }
        }
        drop(state);
        self.shared.notify.notify_one();
        Ok(())
    }
}

impl Clone for UpdateSender {
    fn clone(&self) -> Self {
        self.shared.state().senders += 1;
        Self {
            shared: self.shared.clone(),
        }
    }
}

impl Drop for UpdateSender {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.senders = state.senders.saturating_sub(1);
        let last = state.senders == 0;
        drop(state);
        if last {
            // Wake the receiver so it sees the end of the stream.
            self.shared.notify.notify_one();
        }
    }
}

impl std::fmt::Debug for UpdateSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateSender").finish_non_exhaustive()
    }
}

impl UpdateReceiver {
    /// The next update, or `None` once every sender is gone and nothing is left.
    pub async fn recv(&mut self) -> Option<AgentUpdate> {
        loop {
            // Registered before looking, so a send between the look and the wait still wakes us.
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.shared.state();
                if let Some(update) = pop(&mut state) {
                    return Some(update);
                }
                if state.senders == 0 {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// The next update if one is waiting.
    pub fn try_recv(&mut self) -> Option<AgentUpdate> {
        pop(&mut self.shared.state())
    }
}

fn pop(state: &mut State) -> Option<AgentUpdate> {
    let update = state.queue.pop_front()?;
    if !matches!(update, AgentUpdate::Text(_)) {
        state.asks = state.asks.saturating_sub(1);
    }
    Some(update)
}

impl Drop for UpdateReceiver {
    fn drop(&mut self) {
        let mut state = self.shared.state();
        state.receiver_gone = true;
        state.queue.clear();
        state.asks = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(n: usize) -> AgentUpdate {
        AgentUpdate::PermissionAsked {
            id: format!("per{n}"),
            summary: "run".into(),
        }
    }

    fn drain(rx: &mut UpdateReceiver) -> Vec<AgentUpdate> {
        std::iter::from_fn(|| rx.try_recv()).collect()
    }

    #[test]
    fn a_waiting_text_snapshot_is_replaced_by_the_next_one() {
        let (tx, mut rx) = update_channel();
        for text in ["a", "ab", "abc"] {
            tx.send(AgentUpdate::Text(text.into())).unwrap();
        }
        assert_eq!(drain(&mut rx), vec![AgentUpdate::Text("abc".into())]);
    }

    #[test]
    fn text_never_overtakes_an_ask() {
        let (tx, mut rx) = update_channel();
        tx.send(AgentUpdate::Text("I need to".into())).unwrap();
        tx.send(ask(1)).unwrap();
        tx.send(AgentUpdate::Text("I need to run it".into()))
            .unwrap();
        tx.send(AgentUpdate::Text("I need to run it. Done".into()))
            .unwrap();
        assert_eq!(
            drain(&mut rx),
            vec![
                AgentUpdate::Text("I need to".into()),
                ask(1),
                AgentUpdate::Text("I need to run it. Done".into()),
            ]
        );
    }

    #[test]
    fn asks_past_the_bound_are_refused_and_room_comes_back_as_they_are_read() {
        let (tx, mut rx) = update_channel();
        for n in 0..MAX_PENDING_ASKS {
            tx.send(ask(n)).unwrap();
        }
        assert_eq!(tx.send(ask(MAX_PENDING_ASKS)), Err(UpdateError::Full));
        assert_eq!(rx.try_recv(), Some(ask(0)));
        assert_eq!(tx.send(ask(MAX_PENDING_ASKS)), Ok(()));
        assert_eq!(drain(&mut rx).len(), MAX_PENDING_ASKS);
    }

    #[test]
    fn sending_to_a_dropped_receiver_is_closed() {
        let (tx, rx) = update_channel();
        drop(rx);
        assert_eq!(
            tx.send(AgentUpdate::Text("late".into())),
            Err(UpdateError::Closed)
        );
    }

    #[tokio::test]
    async fn the_receiver_gets_what_is_left_then_the_end_once_every_sender_is_gone() {
        let (tx, mut rx) = update_channel();
        let clone = tx.clone();
        tx.send(AgentUpdate::Text("last".into())).unwrap();
        drop(tx);
        let waiter = tokio::spawn(async move {
            let first = rx.recv().await;
            let end = rx.recv().await;
            (first, end)
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        drop(clone);
        let (first, end) = waiter.await.unwrap();
        assert_eq!(first, Some(AgentUpdate::Text("last".into())));
        assert_eq!(end, None);
    }
}
