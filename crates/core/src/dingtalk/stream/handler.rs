//! The seam between the socket and the durable pipeline.

use std::collections::HashMap;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::frames::AckFrame;

/// A bot/other CALLBACK frame handed to the pipeline.
#[derive(Debug)]
pub struct CallbackFrame {
    pub message_id: String,
    pub topic: String,
    pub headers: HashMap<String, String>,
    pub data: String,
    /// When the frame was read off the socket (for frame → ACK latency).
    pub arrived: Instant,
}

/// Writes an ACK on the socket that delivered the frame (protocol notes §2.4: ACK on the same connection).
#[derive(Clone, Debug)]
pub struct AckSender {
    pub(super) outgoing: mpsc::Sender<Message>,
}

impl AckSender {
    /// Returns false if that socket is already gone or its writer is stalled with a full queue (bounded):
    /// the server will redeliver the frame and the inbox dedupe catches it.
    pub fn send(&self, ack: AckFrame) -> bool {
        match self.outgoing.try_send(Message::text(ack.to_json())) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    message_id = ack.headers.message_id,
                    "ACK not queued: socket writer stalled; DingTalk will redeliver"
                );
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

pub trait CallbackHandler: Send + Sync + 'static {
    /// Called in arrival order on the socket's reader task; must not block. The handler ACKs through `ack`
    /// once the frame is safe (persisted), or never, to let the server redeliver.
    fn on_callback(&self, frame: CallbackFrame, ack: AckSender);
}
