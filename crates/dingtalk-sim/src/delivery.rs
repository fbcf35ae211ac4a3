//! Bot-callback delivery: the pending queue, ACK matching and the redelivery
//! timer (protocol doc §2.4, §2.8). A callback stays pending until an ACK with
//! code 200 for one of its frames arrives on the connection that frame went
//! out on; unACKed after `redelivery_after` it goes out again with a new frame
//! id but the same payload (same `msgId`), to any eligible connection.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::frames::{
    DownFrame, FrameType, TOPIC_BOT_MESSAGE, TOPIC_CONNECTED, TOPIC_KEEPALIVE, TOPIC_PING,
    TOPIC_REGISTERED, UpData, UpFrame,
};
use crate::ids;
use crate::message::{ConversationType, InjectMessage};
use crate::payloads::build_bot_payload;
use crate::state::{Inner, SimState};

/// A message waiting for its ACK.
struct Pending {
    /// The serialized callback `data` (identical on every redelivery).
    data: String,
    /// Frame currently awaiting an ACK; `None` = waiting for a connection.
    current: Option<String>,
    /// When the current frame counts as unACKed.
    due: Option<Instant>,
    /// Frames sent so far for this pending entry.
    attempts: u32,
}

/// One CALLBACK frame that went out.
struct FrameRecord {
    key: u64,
    conn_id: String,
    queued_at: Instant,
    written_at: Option<Instant>,
    acked: bool,
}

/// A SYSTEM frame whose reply we check or tolerate.
struct SystemRecord {
    conn_id: String,
    /// `Some` for pings: the opaque that must come back.
    opaque: Option<String>,
}

#[derive(Default)]
pub struct DeliveryState {
    next_key: u64,
    /// Keyed by injection order so queued callbacks go out first-in first-out.
    pending: BTreeMap<u64, Pending>,
    frames: HashMap<String, FrameRecord>,
    system: HashMap<String, SystemRecord>,
    /// msgId → callback data, kept for `inject_duplicate`.
    payloads: HashMap<String, String>,
    latencies: Vec<Duration>,
}

impl DeliveryState {
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Drop SYSTEM bookkeeping of a closed socket (callback frames are kept so
    /// that a late ACK can still be classified).
    pub fn forget_connection(&mut self, conn_id: &str) {
        self.system.retain(|_, r| r.conn_id != conn_id);
    }

    fn add(&mut self, data: String) {
        let key = self.next_key;
        self.next_key += 1;
        self.pending.insert(
            key,
            Pending {
                data,
                current: None,
                due: None,
                attempts: 0,
            },
        );
    }
}

impl Inner {
    /// Send every callback that waits for a connection, while one is eligible.
    pub fn pump(&mut self, state: &SimState) {
        let waiting: Vec<u64> = self
            .delivery
            .pending
            .iter()
            .filter(|(_, p)| p.current.is_none())
            .map(|(k, _)| *k)
            .collect();
        for key in waiting {
            let Some(conn_id) = self.conns.pick(|c| c.accepts_callbacks()) else {
                return;
            };
            self.deliver(state, key, &conn_id);
        }
    }

    /// Send one CALLBACK frame for pending `key` on `conn_id`.
    fn deliver(&mut self, state: &SimState, key: u64, conn_id: &str) {
        let Some(p) = self.delivery.pending.get(&key) else {
            return;
        };
        let frame_id = ids::frame_message_id();
        let mut frame = DownFrame::new(
            FrameType::Callback,
            TOPIC_BOT_MESSAGE,
            Some(&frame_id),
            &serde_json::Value::Null,
        )
        .with_header("appId", &state.identity.app_id)
        .with_header("connectionId", conn_id);
        frame.data = p.data.clone();
        let redelivery = p.attempts > 0;
        let now = Instant::now();
        // Record before queueing so that an ACK can never race its record.
        self.delivery.frames.insert(
            frame_id.clone(),
            FrameRecord {
                key,
                conn_id: conn_id.to_owned(),
                queued_at: now,
                written_at: None,
                acked: false,
            },
        );
        if !self.send_frame(conn_id, &frame) {
            self.delivery.frames.remove(&frame_id);
            return;
        }
        if let Some(p) = self.delivery.pending.get_mut(&key) {
            p.current = Some(frame_id);
            p.due = Some(now + state.config.redelivery_after);
            p.attempts += 1;
        }
        self.stats.callbacks_delivered += 1;
        if redelivery {
            self.stats.redeliveries += 1;
        }
    }

    /// Queue a SYSTEM frame whose reply we track; false if the socket is gone.
    fn send_system(&mut self, conn_id: &str, topic: &str, opaque: Option<String>) -> bool {
        if self.conns.get(conn_id).is_none() {
            return false;
        }
        let frame_id = ids::frame_message_id();
        let data = match &opaque {
            Some(o) => json!({ "opaque": o }),
            None => json!({}),
        };
        let frame = DownFrame::new(FrameType::System, topic, Some(&frame_id), &data);
        if self.send_frame(conn_id, &frame) {
            self.delivery.system.insert(
                frame_id,
                SystemRecord {
                    conn_id: conn_id.to_owned(),
                    opaque,
                },
            );
        }
        true
    }

    /// Send queued raw frames on any writable socket.
    fn flush_raw(&mut self) {
        while !self.raw_queue.is_empty() {
            let Some(conn_id) = self.conns.pick(|c| c.is_writable() && !c.draining) else {
                return;
            };
            let Some(text) = self.raw_queue.pop_front() else {
                return;
            };
            let pushed = self.conns.get(&conn_id).is_some_and(|c| {
                c.push(crate::connections::Outbound::Frame {
                    text: text.clone(),
                    frame_id: None,
                })
            });
            if pushed {
                self.stats.raw_frames_sent += 1;
            } else {
                self.raw_queue.push_front(text);
                return;
            }
        }
    }
}

impl SimState {
    /// Greet a new socket (CONNECTED / REGISTERED) and hand it waiting work.
    pub fn connection_ready(&self, conn_id: &str) {
        let mut inner = self.lock();
        if self.config.send_connected {
            inner.send_system(conn_id, TOPIC_CONNECTED, None);
        }
        if self.config.send_registered {
            inner.send_system(conn_id, TOPIC_REGISTERED, None);
        }
        inner.flush_raw();
        inner.pump(self);
    }

    /// Queue a user's message for delivery; returns its `msgId`.
    pub fn inject(&self, msg: &InjectMessage) -> String {
        let built = build_bot_payload(msg, self);
        let mut inner = self.lock();
        if msg.conversation_type == ConversationType::Group && !msg.at_bot {
            // Groups only push messages that @ the bot (§2.7).
            inner.stats.group_messages_without_at += 1;
            return built.msg_id;
        }
        inner.robot.note_inbound(
            &built.conversation_id,
            msg.conversation_type,
            &msg.sender_staff_id,
        );
        for (code, file) in built.files {
            inner.files.register(code, file);
        }
        inner.webhooks.register_session(
            built.session.clone(),
            built.conversation_id.clone(),
            built.session_expires_ms,
        );
        let data = built.data.to_string();
        inner
            .delivery
            .payloads
            .insert(built.msg_id.clone(), data.clone());
        inner.delivery.add(data);
        inner.pump(self);
        built.msg_id
    }

    /// Deliver a known message again as a fresh callback (new frame id).
    pub fn inject_duplicate(&self, msg_id: &str) -> bool {
        let mut inner = self.lock();
        let Some(data) = inner.delivery.payloads.get(msg_id).cloned() else {
            return false;
        };
        inner.delivery.add(data);
        inner.pump(self);
        true
    }

    /// Send arbitrary text on a live socket (or on the next one to open).
    pub fn inject_raw_frame(&self, text: String) {
        let mut inner = self.lock();
        inner.raw_queue.push_back(text);
        inner.flush_raw();
    }

    /// Server ping on one socket; false once the socket is gone.
    pub fn send_ping(&self, conn_id: &str) -> bool {
        let mut inner = self.lock();
        let Some(conn) = inner.conns.get(conn_id) else {
            return false;
        };
        if !conn.is_writable() || conn.draining {
            return true;
        }
        let opaque = uuid::Uuid::new_v4().to_string();
        if inner.send_system(conn_id, TOPIC_PING, Some(opaque)) {
            inner.stats.pings_sent += 1;
        }
        true
    }

    /// Server KEEPALIVE on one socket; false once the socket is gone.
    pub fn send_keepalive(&self, conn_id: &str) -> bool {
        let mut inner = self.lock();
        let Some(conn) = inner.conns.get(conn_id) else {
            return false;
        };
        if !conn.is_writable() || conn.draining {
            return true;
        }
        if inner.send_system(conn_id, TOPIC_KEEPALIVE, None) {
            inner.stats.keepalives_sent += 1;
        }
        true
    }

    /// The writer put a frame on the wire.
    pub fn mark_written(&self, frame_id: Option<&str>) {
        let mut inner = self.lock();
        inner.stats.frames_sent += 1;
        if let Some(rec) = frame_id.and_then(|id| inner.delivery.frames.get_mut(id)) {
            rec.written_at = Some(Instant::now());
        }
    }

    /// Classify one upstream text frame read on `conn_id`.
    pub fn handle_upstream(&self, conn_id: &str, text: &str) {
        let read_at = Instant::now();
        let mut inner = self.lock();
        let up = match UpFrame::parse(text) {
            Ok(up) => up,
            Err(e) => {
                tracing::debug!(conn_id, error = %e, "malformed upstream frame");
                inner.stats.frames_malformed += 1;
                return;
            }
        };
        if up.content_type.is_none() {
            inner.stats.acks_missing_content_type += 1;
        }
        let Some(frame_id) = up.message_id.clone() else {
            inner.stats.acks_without_message_id += 1;
            return;
        };
        if let Some(rec) = inner.delivery.system.get(&frame_id) {
            if rec.conn_id != conn_id {
                inner.stats.acks_unknown += 1;
                return;
            }
            let expected = rec.opaque.clone();
            inner.delivery.system.remove(&frame_id);
            match expected {
                Some(opaque) => {
                    let good = up.code == Some(200) && up.opaque().as_deref() == Some(&opaque);
                    if good {
                        inner.stats.pongs_ok += 1;
                    } else {
                        inner.stats.pongs_bad += 1;
                    }
                }
                None => inner.stats.acks_system += 1,
            }
            return;
        }
        let Some(rec) = inner.delivery.frames.get_mut(&frame_id) else {
            inner.stats.acks_unknown += 1;
            return;
        };
        if rec.conn_id != conn_id {
            inner.stats.acks_unknown += 1;
            return;
        }
        let bad_data = !matches!(up.data, UpData::Str(_));
        let code_ok = up.code == Some(200);
        let duplicate = rec.acked;
        if code_ok && !duplicate {
            rec.acked = true;
        }
        let key = rec.key;
        let latency = read_at.saturating_duration_since(rec.written_at.unwrap_or(rec.queued_at));
        if bad_data {
            inner.stats.acks_bad_data += 1;
        }
        if !code_ok {
            inner.stats.acks_non_200 += 1;
            return;
        }
        if duplicate {
            inner.stats.acks_duplicate += 1;
            return;
        }
        inner.stats.acks_received += 1;
        inner.delivery.latencies.push(latency);
        inner.delivery.pending.remove(&key);
    }

    /// Resend every callback whose frame went unACKed for `redelivery_after`.
    pub fn redeliver_due(&self) {
        let now = Instant::now();
        let mut inner = self.lock();
        let due: Vec<u64> = inner
            .delivery
            .pending
            .iter()
            .filter(|(_, p)| p.current.is_some() && p.due.is_some_and(|d| d <= now))
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            match inner.conns.pick(|c| c.accepts_callbacks()) {
                Some(conn_id) => inner.deliver(self, key, &conn_id),
                None => {
                    // No connection: hold it until one opens (`connection_ready`).
                    if let Some(p) = inner.delivery.pending.get_mut(&key) {
                        p.current = None;
                        p.due = None;
                    }
                }
            }
        }
    }

    /// Frame written → ACK read, per ACKed callback frame.
    pub fn ack_latencies(&self) -> Vec<Duration> {
        self.lock().delivery.latencies.clone()
    }
}

/// Background task driving redelivery until shutdown. The tick is a tenth of
/// the redelivery delay (bounded) so short test delays stay accurate while
/// the default 60 s costs nothing.
pub fn spawn_redelivery_ticker(state: Arc<SimState>) {
    let tick = (state.config.redelivery_after / 10)
        .clamp(Duration::from_millis(5), Duration::from_millis(250));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = state.shutdown.cancelled() => break,
                _ = interval.tick() => state.redeliver_due(),
            }
        }
    });
}
