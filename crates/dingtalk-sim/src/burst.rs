//! `POST /_sim/burst`: many DingTalk users write to the bot, generated inside the simulator so that a
//! load test (the dashboard at 10,000 conversations) is not bound by one HTTP request per message. The
//! messages are ordinary injected messages (same payloads, same delivery and redelivery rules); the burst
//! only decides who writes what, and keeps at most `window` of them unACKed so the delivery pump (which walks
//! the pending list) stays cheap. Progress is read from `/_sim/stats` (`acks_received`).

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::message::{ConversationType, InjectContent, InjectMessage};
use crate::state::SimState;

/// The most messages one burst may ask for.
pub const MAX_BURST: u64 = 10_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BurstRequest {
    /// Messages in total; message `n` goes to conversation `n % conversations`.
    pub count: u64,
    pub conversations: u64,
    /// Every `group_every`-th conversation is a group chat (0 = only 1:1 chats).
    #[serde(default)]
    pub group_every: u64,
    /// Names the generated users, groups and texts (`<prefix>00042`, "<prefix> group 00042", ...).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Unacknowledged messages allowed in flight.
    #[serde(default = "default_window")]
    pub window: u64,
}

fn default_prefix() -> String {
    "load".to_owned()
}

fn default_window() -> u64 {
    500
}

impl BurstRequest {
    pub fn validate(&self) -> Result<(), String> {
        if self.count == 0 || self.count > MAX_BURST {
            return Err(format!("count must be 1..={MAX_BURST}"));
        }
        if self.conversations == 0 || self.conversations > self.count {
            return Err("conversations must be 1..=count".to_owned());
        }
        if self.window == 0 {
            return Err("window must be at least 1".to_owned());
        }
        Ok(())
    }

    /// Message `n` of the burst.
    pub fn message(&self, n: u64) -> InjectMessage {
        let c = n % self.conversations;
        let prefix = &self.prefix;
        let group = self.group_every > 0 && c.is_multiple_of(self.group_every);
        InjectMessage {
            conversation_id: String::new(),
            conversation_type: if group {
                ConversationType::Group
            } else {
                ConversationType::Single
            },
            conversation_title: group.then(|| format!("{prefix} group {c:05}")),
            sender_staff_id: format!("{prefix}{c:05}"),
            sender_nick: format!("{prefix} person {c:05}"),
            content: InjectContent::Text(format!("{prefix} message {n} in conversation {c:05}")),
            at_bot: true,
            quote: None,
            file_body: None,
        }
    }
}

/// Injects the burst in the background; returns at once.
pub fn start(state: Arc<SimState>, request: BurstRequest) {
    tokio::spawn(async move {
        for n in 0..request.count {
            while state.stats().pending_unacked >= request.window {
                tokio::select! {
                    _ = state.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(2)) => {}
                }
            }
            if state.shutdown.is_cancelled() {
                return;
            }
            state.inject(&request.message(n));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(count: u64, conversations: u64, group_every: u64) -> BurstRequest {
        BurstRequest {
            count,
            conversations,
            group_every,
            prefix: "load".into(),
            window: 10,
        }
    }

    #[test]
    fn messages_spread_over_the_conversations_and_every_nth_is_a_group() {
        let burst = request(100, 10, 5);
        assert_eq!(burst.message(0).conversation_type, ConversationType::Group);
        assert_eq!(
            burst.message(0).conversation_title.as_deref(),
            Some("load group 00000")
        );
        assert_eq!(burst.message(1).conversation_type, ConversationType::Single);
        assert_eq!(burst.message(11).sender_staff_id, "load00001");
        assert_eq!(
            burst.message(1).sender_staff_id,
            burst.message(21).sender_staff_id
        );
    }

    #[test]
    fn an_empty_or_oversized_burst_is_refused() {
        assert!(request(0, 1, 0).validate().is_err());
        assert!(request(10, 11, 0).validate().is_err());
        assert!(request(MAX_BURST + 1, 1, 0).validate().is_err());
        assert!(request(10, 10, 0).validate().is_ok());
    }
}
