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
    pub(super) outgoing: mpsc::UnboundedSender<Message>,
}

impl AckSender {
    /// Returns false if that socket is already gone (the server will redeliver; dedupe catches it).
    pub fn send(&self, ack: AckFrame) -> bool {
        self.outgoing.send(Message::text(ack.to_json())).is_ok()
    }
}

pub trait CallbackHandler: Send + Sync + 'static {
    /// Called in arrival order on the socket's reader task; must not block. The handler ACKs through `ack`
    /// once the frame is safe (persisted), or never, to let the server redeliver.
    fn on_callback(&self, frame: CallbackFrame, ack: AckSender);
}
