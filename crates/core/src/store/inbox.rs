use serde::{Deserialize, Serialize};

use crate::dingtalk::BotMessage;

/// Life of an inbound message: persisted as `Queued` before its frame is ACKed, `Done` once the agent's
/// reply was handed to DingTalk, `Failed` when it can never succeed (kept for history, not retried).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxState {
    Queued,
    Done,
    Failed,
}

impl InboxState {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        match text {
            "queued" => Some(Self::Queued),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct InboxItem {
    /// Insertion order; defines per-conversation FIFO order, also across restarts.
    pub seq: i64,
    pub message: BotMessage,
    pub received_at_ms: i64,
    pub attempts: u32,
}

impl InboxItem {
    pub fn new(message: BotMessage, received_at_ms: i64) -> Self {
        Self {
            seq: 0,
            message,
            received_at_ms,
            attempts: 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted {
        seq: i64,
    },
    /// The msgId was seen before (a redelivery or a duplicate push); nothing was written.
    Duplicate,
}
