//! `GET /connect?ticket=…`: the Stream WebSocket (protocol doc §2.2). Each
//! connection runs a reader loop (this task), one writer task that owns the
//! sink (so frames never interleave) and a heartbeat task for SYSTEM pings.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, Interval};
use tokio_util::sync::CancellationToken;

use crate::api_error::new_api_error;
use crate::connections::{NewConnection, Outbound};
use crate::state::SimState;

pub fn routes() -> Router<Arc<SimState>> {
    Router::new().route("/connect", get(connect))
}

async fn connect(
    State(state): State<Arc<SimState>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(ticket) = state.redeem_ticket(query.get("ticket").map(String::as_str)) else {
        return new_api_error(
            StatusCode::UNAUTHORIZED,
            "InvalidTicket",
            "ticket is invalid, used or expired",
        );
    };
    ws.on_upgrade(move |socket| run(state, socket, ticket.bot_subscribed))
}

/// Serve one socket until the client leaves, a fault kills it or shutdown.
async fn run(state: Arc<SimState>, socket: WebSocket, bot_subscribed: bool) {
    let NewConnection {
        id,
        rx,
        kill,
        zombie,
    } = state.open_connection(bot_subscribed);
    tracing::debug!(conn_id = %id, bot_subscribed, "stream socket open");
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write_loop(
        state.clone(),
        sink,
        rx,
        kill.clone(),
        zombie.clone(),
    ));
    tokio::spawn(heartbeat(state.clone(), id.clone(), kill.clone()));
    state.connection_ready(&id);
    read_loop(&state, &id, stream, &kill, &zombie).await;
    state.connection_closed(&id);
    kill.cancel();
    // Dropping both halves (stream here, sink in the writer) closes the TCP
    // connection; a writer that panicked is just logged.
    if let Err(e) = writer.await {
        tracing::warn!(conn_id = %id, error = %e, "writer task failed");
    }
    tracing::debug!(conn_id = %id, "stream socket closed");
}

async fn read_loop(
    state: &SimState,
    id: &str,
    mut stream: SplitStream<WebSocket>,
    kill: &CancellationToken,
    zombie: &CancellationToken,
) {
    loop {
        tokio::select! {
            _ = kill.cancelled() => return,
            _ = zombie.cancelled() => {
                // Stop reading (so no WS pong either) but hold the TCP
                // connection open until killed or shut down.
                kill.cancelled().await;
                return;
            }
            msg = stream.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(Message::Text(text))) => state.handle_upstream(id, text.as_str()),
                Some(Ok(Message::Binary(_))) => state.lock().stats.frames_malformed += 1,
                // WS-level ping/pong is answered by the WebSocket library.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            },
        }
    }
}

async fn write_loop(
    state: Arc<SimState>,
    mut sink: SplitSink<WebSocket, Message>,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    kill: CancellationToken,
    zombie: CancellationToken,
) {
    let mut close_at: Option<Instant> = None;
    loop {
        let close_deadline = async {
            match close_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let out = tokio::select! {
            // Abrupt close: the sink is dropped without a close frame.
            _ = kill.cancelled() => return,
            _ = close_deadline => {
                if !zombie.is_cancelled() {
                    let close = Message::Close(Some(CloseFrame {
                        code: 1000,
                        reason: "connection is expired".into(),
                    }));
                    send(&mut sink, close, &kill).await;
                }
                kill.cancel();
                return;
            }
            out = rx.recv() => out,
        };
        let Some(out) = out else { return };
        if zombie.is_cancelled() {
            // A zombie swallows everything it is asked to write.
            continue;
        }
        let (text, frame_id) = match out {
            Outbound::Frame { text, frame_id } => (text, frame_id),
            Outbound::Disconnect { text, grace } => {
                close_at = Some(Instant::now() + grace);
                (text, None)
            }
        };
        if !send(&mut sink, Message::Text(text.into()), &kill).await {
            kill.cancel();
            return;
        }
        state.mark_written(frame_id.as_deref());
    }
}

/// One write, abandoned if the connection is killed meanwhile (a client that
/// stops reading must not pin the writer forever).
async fn send(
    sink: &mut SplitSink<WebSocket, Message>,
    msg: Message,
    kill: &CancellationToken,
) -> bool {
    tokio::select! {
        _ = kill.cancelled() => false,
        r = sink.send(msg) => r.is_ok(),
    }
}

/// SYSTEM `ping` and `KEEPALIVE` frames on their configured intervals.
async fn heartbeat(state: Arc<SimState>, id: String, kill: CancellationToken) {
    let mut ping = state.config.ping_interval.map(make_interval);
    let mut keepalive = state.config.keepalive_interval.map(make_interval);
    if ping.is_none() && keepalive.is_none() {
        return;
    }
    loop {
        tokio::select! {
            _ = kill.cancelled() => return,
            _ = tick(&mut ping) => if !state.send_ping(&id) { return },
            _ = tick(&mut keepalive) => if !state.send_keepalive(&id) { return },
        }
    }
}

/// First tick one period after open; a zero period is clamped because tokio
/// intervals reject it.
fn make_interval(period: Duration) -> Interval {
    let period = period.max(Duration::from_millis(1));
    let mut iv = tokio::time::interval_at(Instant::now() + period, period);
    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    iv
}

async fn tick(iv: &mut Option<Interval>) {
    match iv {
        Some(iv) => {
            iv.tick().await;
        }
        None => std::future::pending().await,
    }
}
