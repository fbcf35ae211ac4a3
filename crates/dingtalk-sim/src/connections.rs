//! Registry of open Stream sockets and the state transitions the server (or a
//! fault) can impose on them: draining after `disconnect`, zombie, killed.
//! The socket IO itself lives in `socket.rs`.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::frames::{DownFrame, FrameType, TOPIC_DISCONNECT};
use crate::state::{Inner, SimState};

/// What the per-connection writer task is asked to do. Every write to a socket
/// goes through its writer so frames never interleave.
#[derive(Debug)]
pub enum Outbound {
    /// Write one text frame; `frame_id` lets the writer stamp the write time.
    Frame {
        text: String,
        frame_id: Option<String>,
    },
    /// Write a SYSTEM `disconnect`, then close the socket after `grace`.
    Disconnect { text: String, grace: Duration },
}

/// One open socket as the rest of the simulator sees it.
pub struct ConnHandle {
    pub id: String,
    tx: mpsc::UnboundedSender<Outbound>,
    /// Cancelled to tear the socket down abruptly (no close frame).
    pub kill: CancellationToken,
    /// Cancelled to make the socket a zombie: no more reads or writes, TCP stays up.
    pub zombie: CancellationToken,
    /// Sent `disconnect`: no new deliveries, ACKs are still read.
    pub draining: bool,
    /// Subscribed to the bot message CALLBACK topic.
    pub bot_subscribed: bool,
}

impl ConnHandle {
    /// Whether the socket is still read and written.
    pub fn is_writable(&self) -> bool {
        !self.kill.is_cancelled() && !self.zombie.is_cancelled()
    }

    /// Whether new bot callbacks may be routed here.
    pub fn accepts_callbacks(&self) -> bool {
        self.bot_subscribed && !self.draining && self.is_writable()
    }

    /// Queue a frame for the writer; false if the socket is gone or silent.
    pub fn push(&self, out: Outbound) -> bool {
        self.is_writable() && self.tx.send(out).is_ok()
    }
}

/// Open sockets, in opening order, with a round-robin cursor: DingTalk picks
/// one connection per push (DP-PROTO FAQ says randomly); round robin spreads
/// the same way while keeping tests reproducible.
#[derive(Default)]
pub struct ConnRegistry {
    conns: HashMap<String, ConnHandle>,
    order: Vec<String>,
    cursor: usize,
}

impl ConnRegistry {
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&ConnHandle> {
        self.conns.get(id)
    }

    pub fn insert(&mut self, conn: ConnHandle) {
        self.order.push(conn.id.clone());
        self.conns.insert(conn.id.clone(), conn);
    }

    pub fn remove(&mut self, id: &str) -> Option<ConnHandle> {
        self.order.retain(|c| c != id);
        self.conns.remove(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConnHandle> {
        self.conns.values()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut ConnHandle> {
        self.conns.values_mut()
    }

    /// Next connection (round robin) satisfying `ok`.
    pub fn pick(&mut self, ok: impl Fn(&ConnHandle) -> bool) -> Option<String> {
        let n = self.order.len();
        for step in 0..n {
            let idx = (self.cursor + step) % n;
            let id = &self.order[idx];
            if self.conns.get(id).is_some_and(&ok) {
                self.cursor = (idx + 1) % n;
                return Some(id.clone());
            }
        }
        None
    }
}

/// The pieces the socket task needs for a freshly registered connection.
pub struct NewConnection {
    pub id: String,
    pub rx: mpsc::UnboundedReceiver<Outbound>,
    pub kill: CancellationToken,
    pub zombie: CancellationToken,
}

impl Inner {
    /// Queue a downstream frame on one connection; false if it cannot be written.
    pub fn send_frame(&mut self, conn_id: &str, frame: &DownFrame) -> bool {
        let Some(conn) = self.conns.get(conn_id) else {
            return false;
        };
        conn.push(Outbound::Frame {
            text: frame.to_text(),
            frame_id: frame.headers.get("messageId").cloned(),
        })
    }
}

impl SimState {
    /// Register an accepted socket.
    pub fn open_connection(&self, bot_subscribed: bool) -> NewConnection {
        let (tx, rx) = mpsc::unbounded_channel();
        let kill = self.shutdown.child_token();
        let zombie = CancellationToken::new();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut inner = self.lock();
        inner.stats.connections_opened += 1;
        inner.conns.insert(ConnHandle {
            id: id.clone(),
            tx,
            kill: kill.clone(),
            zombie: zombie.clone(),
            draining: false,
            bot_subscribed,
        });
        NewConnection {
            id,
            rx,
            kill,
            zombie,
        }
    }

    /// Forget a socket whose task ended. Its unACKed callbacks stay pending and
    /// are redelivered by the redelivery rule, as the real server does.
    pub fn connection_closed(&self, id: &str) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.remove(id) {
            conn.kill.cancel();
        }
        inner.delivery.forget_connection(id);
    }

    /// Abrupt TCP close of every socket, zombies included, without a close frame.
    pub fn drop_all_sockets(&self) {
        let inner = self.lock();
        for conn in inner.conns.iter() {
            conn.kill.cancel();
        }
    }

    /// SYSTEM `disconnect` on every live socket. Delivery on them stops at once
    /// (the field reading of §2.5 DISAGREE); each closes after `disconnect_grace`.
    pub fn send_disconnect(&self) {
        let data = json!({"reason": "connection is expired"});
        let grace = self.config.disconnect_grace;
        let mut inner = self.lock();
        let mut sent = 0;
        for conn in inner.conns.iter_mut() {
            if conn.draining || !conn.is_writable() {
                continue;
            }
            conn.draining = true;
            // The real disconnect sample carries no messageId header.
            let frame = DownFrame::new(FrameType::System, TOPIC_DISCONNECT, None, &data);
            if conn.push(Outbound::Disconnect {
                text: frame.to_text(),
                grace,
            }) {
                sent += 1;
            }
        }
        inner.stats.disconnects_sent += sent;
    }

    /// Every live socket goes silent but keeps its TCP connection.
    pub fn zombify_sockets(&self) {
        let inner = self.lock();
        for conn in inner.conns.iter() {
            conn.zombie.cancel();
        }
    }
}
