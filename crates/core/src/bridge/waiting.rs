//! Turns waiting for the agent: messages whose turn found the agent unavailable (OpenCode down,
//! unreachable, restarting) and is retried until it is back. The dashboard shows them as "waiting for the
//! agent" (`queues.waiting_for_agent` in the status snapshot).
//!
//! Invariant: an entry exists only while its turn is inside the processor's retry loop: it is added on an
//! `Unavailable` answer and removed whenever the turn ends, whichever way (answer, failure, interruption,
//! shutdown, panic). So the map is bounded by the number of turns running at once.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::api::status::WaitingTurn;
use crate::time::now_ms;

#[derive(Default)]
pub struct WaitingTurns {
    turns: Mutex<HashMap<String, WaitingTurn>>,
}

impl WaitingTurns {
    /// The agent was unavailable for `msg_id`'s turn (again): it waits and will be retried.
    pub fn waiting(&self, msg_id: &str, conversation_id: &str, reason: &str) {
        let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
        let entry = turns
            .entry(msg_id.to_owned())
            .or_insert_with(|| WaitingTurn {
                msg_id: msg_id.to_owned(),
                conversation_id: conversation_id.to_owned(),
                since_ms: now_ms(),
                reason: String::new(),
                attempts: 0,
            });
        entry.reason = reason.to_owned();
        entry.attempts = entry.attempts.saturating_add(1);
    }

    /// The turn ended (or is running again with the agent back): it no longer waits.
    pub fn done(&self, msg_id: &str) {
        self.turns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(msg_id);
    }

    /// Oldest first.
    pub fn list(&self) -> Vec<WaitingTurn> {
        let mut list: Vec<WaitingTurn> = self
            .turns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        list.sort_by(|a, b| {
            a.since_ms
                .cmp(&b.since_ms)
                .then_with(|| a.msg_id.cmp(&b.msg_id))
        });
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_waits_until_it_is_done_and_counts_its_attempts() {
        let waits = WaitingTurns::default();
        waits.waiting("m1", "c1", "refused");
        waits.waiting("m1", "c1", "still refused");
        waits.waiting("m2", "c2", "refused");
        let list = waits.list();
        assert_eq!(list.len(), 2);
        let m1 = list.iter().find(|w| w.msg_id == "m1").unwrap();
        assert_eq!((m1.attempts, m1.reason.as_str()), (2, "still refused"));
        waits.done("m1");
        waits.done("m1");
        assert_eq!(
            waits
                .list()
                .into_iter()
                .map(|w| w.msg_id)
                .collect::<Vec<_>>(),
            vec!["m2"]
        );
    }
}
