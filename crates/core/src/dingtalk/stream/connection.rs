//! One WebSocket to the Stream gateway: a reader loop (this task) and a writer task fed by a channel, so
//! pongs and ACKs written from other tasks never interleave.
//!
//! Bounded: at most [`OUTGOING_CAPACITY`] frames wait for the writer. If a stalled socket fills it, further
//! ACKs are not queued (logged); DingTalk redelivers un-ACKed frames and the inbox dedupes them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

use super::frames::{AckFrame, DownFrame, FrameKind};
use super::handler::{AckSender, CallbackFrame, CallbackHandler};
use crate::events::{Event, EventBus};
use crate::metrics::Metrics;

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a socket the server asked to `disconnect` is kept reading (ACKing stragglers) before we close it.
/// The server closes it itself after ~10 s (protocol notes §2.5).
const DRAIN_GRACE: Duration = Duration::from_secs(15);

/// ACKs, pongs and pings that may wait for one socket's writer.
pub(super) const OUTGOING_CAPACITY: usize = 1_024;

#[derive(Debug)]
pub(super) enum ConnectionEnd {
    /// The server closed the socket (normally, or after `disconnect`).
    Closed(String),
    /// Read/write error.
    Failed(String),
    /// No frame and no pong within the watchdog window: a zombie socket.
    Idle(Duration),
    /// Shutdown.
    Cancelled,
}

pub(super) struct ConnectionContext {
    pub id: u64,
    pub handler: Arc<dyn CallbackHandler>,
    pub metrics: Arc<Metrics>,
    pub events: EventBus,
    pub watchdog_idle: Duration,
    pub cancel: CancellationToken,
    /// Tells the supervisor that the server asked this connection to go away (make-before-break).
    pub disconnect_requested: mpsc::Sender<u64>,
}

/// Outcome of one connection's life, for the supervisor's backoff decision.
pub(super) struct ConnectionReport {
    pub end: ConnectionEnd,
    pub callbacks: u64,
    /// Text frames received (pings and system frames included): a gateway that sends frames is healthy.
    pub frames: u64,
    pub lived: Duration,
}

pub(super) async fn run(socket: Socket, ctx: ConnectionContext) -> ConnectionReport {
    let started = Instant::now();
    let (mut sink, mut stream) = socket.split();
    let (outgoing, mut queue) = mpsc::channel::<Message>(OUTGOING_CAPACITY);
    let writer = tokio::spawn(async move {
        while let Some(message) = queue.recv().await {
            let closing = matches!(message, Message::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });
    let ack = AckSender {
        outgoing: outgoing.clone(),
    };
    let mut reader = Reader {
        ctx: &ctx,
        ack,
        callbacks: 0,
        frames: 0,
        drain_deadline: None,
    };
    let mut last_rx = Instant::now();
    let mut pinged = false;
    let mut tick = tokio::time::interval((ctx.watchdog_idle / 4).max(Duration::from_millis(25)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let end = loop {
        tokio::select! {
            _ = ctx.cancel.cancelled() => {
                // Best effort: a full queue means a stalled socket, which the timeout below gives up on.
                if outgoing.try_send(Message::Close(None)).is_err() {
                    tracing::debug!(connection = ctx.id, "close frame not queued: writer stalled");
                }
                break ConnectionEnd::Cancelled;
            }
            next = stream.next() => match next {
                None => break ConnectionEnd::Closed("server closed the socket".into()),
                Some(Err(err)) => break ConnectionEnd::Failed(err.to_string()),
                Some(Ok(message)) => {
                    last_rx = Instant::now();
                    pinged = false;
                    match message {
                        Message::Text(text) => reader.on_text(text.as_str()),
                        Message::Close(frame) => {
                            let reason = frame.map(|f| f.reason.to_string()).unwrap_or_default();
                            break ConnectionEnd::Closed(format!("server sent close {reason}").trim_end().to_owned());
                        }
                        // Pings are answered by tungstenite itself; pongs only prove liveness.
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                        Message::Binary(bytes) => {
                            tracing::warn!(connection = ctx.id, len = bytes.len(), "ignoring binary frame");
                        }
                    }
                }
            },
            _ = tick.tick() => {
                let idle = last_rx.elapsed();
                if idle >= ctx.watchdog_idle {
                    break ConnectionEnd::Idle(idle);
                }
                // Half the window silent: ask the peer for a pong before declaring it dead.
                if idle >= ctx.watchdog_idle / 2 && !pinged {
                    pinged = true;
                    // A full queue is itself a sign of a dead socket: the watchdog ends it shortly.
                    if outgoing.try_send(Message::Ping(Vec::new().into())).is_err() {
                        tracing::debug!(connection = ctx.id, "liveness ping not queued: writer stalled");
                    }
                }
                if reader.drain_deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    if outgoing.try_send(Message::Close(None)).is_err() {
                        tracing::debug!(connection = ctx.id, "close frame not queued: writer stalled");
                    }
                    break ConnectionEnd::Closed("drained after disconnect".into());
                }
            }
        }
    };
    let (callbacks, frames) = (reader.callbacks, reader.frames);
    drop(reader);
    drop(outgoing);
    if matches!(end, ConnectionEnd::Cancelled) {
        // Let the close frame (and any last ACKs) go out, but never hang shutdown on a dead peer.
        if tokio::time::timeout(Duration::from_secs(1), writer)
            .await
            .is_err()
        {
            tracing::debug!(
                connection = ctx.id,
                "socket writer did not finish within 1 s at shutdown"
            );
        }
    } else {
        writer.abort();
    }
    ConnectionReport {
        end,
        callbacks,
        frames,
        lived: started.elapsed(),
    }
}

struct Reader<'a> {
    ctx: &'a ConnectionContext,
    ack: AckSender,
    callbacks: u64,
    frames: u64,
    drain_deadline: Option<Instant>,
}

impl Reader<'_> {
    fn on_text(&mut self, text: &str) {
        self.ctx.metrics.frame_seen();
        self.frames = self.frames.saturating_add(1);
        let frame = match DownFrame::parse(text) {
            Ok(frame) => frame,
            Err(err) => {
                self.reject(&err.to_string());
                // ACK what we can identify so the server stops resending a frame that will never parse.
                if let Some(message_id) = err.message_id() {
                    self.ack.send(AckFrame::callback_ok(message_id));
                }
                return;
            }
        };
        match frame.kind {
            FrameKind::System => self.on_system(&frame),
            FrameKind::Callback => self.on_callback(frame),
            FrameKind::Event => {
                if let Some(message_id) = frame.message_id() {
                    self.ack.send(AckFrame::event_ok(message_id));
                }
            }
            FrameKind::Other(ref kind) => {
                self.reject(&format!("unknown frame type `{kind}`"));
                if let Some(message_id) = frame.message_id() {
                    self.ack.send(AckFrame::not_found(message_id));
                }
            }
        }
    }

    fn on_system(&mut self, frame: &DownFrame) {
        match frame.topic() {
            "ping" => match frame.message_id() {
                Some(message_id) => {
                    self.ack.send(AckFrame::pong(message_id, &frame.data));
                }
                None => self.reject("ping without messageId"),
            },
            "disconnect" => {
                tracing::info!(connection = self.ctx.id, data = %frame.data, "server requested disconnect");
                if self.drain_deadline.is_none() {
                    self.drain_deadline = Some(Instant::now() + DRAIN_GRACE);
                    // One request per connection; a full or closed channel means the supervisor is
                    // already replacing connections or shutting down, and the drain deadline still applies.
                    if self.ctx.disconnect_requested.try_send(self.ctx.id).is_err() {
                        tracing::warn!(
                            connection = self.ctx.id,
                            "disconnect request not delivered to the supervisor"
                        );
                    }
                }
            }
            // Informational; never gate readiness on REGISTERED (it is not always sent).
            "KEEPALIVE" | "CONNECTED" | "REGISTERED" => {}
            other => tracing::debug!(
                connection = self.ctx.id,
                topic = other,
                "ignoring SYSTEM topic"
            ),
        }
    }

    fn on_callback(&mut self, frame: DownFrame) {
        let Some(message_id) = frame.message_id().map(str::to_owned) else {
            self.reject("CALLBACK without messageId");
            return;
        };
        self.callbacks += 1;
        let topic = frame.topic().to_owned();
        self.ctx.handler.on_callback(
            CallbackFrame {
                message_id,
                topic,
                headers: frame.headers,
                data: frame.data,
                arrived: Instant::now(),
            },
            self.ack.clone(),
        );
    }

    fn reject(&self, reason: &str) {
        tracing::warn!(connection = self.ctx.id, reason, "rejected frame");
        self.ctx.metrics.rejected.inc();
        self.ctx.events.publish(Event::FrameRejected {
            reason: reason.to_owned(),
        });
    }
}
