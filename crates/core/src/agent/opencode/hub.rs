//! One shared `GET /event` reader per backend. OpenCode publishes every session's events on one stream,
//! so instead of a connection per turn the hub reads it once and routes each event to the turn that
//! subscribed to its session. It reconnects with backoff when the stream drops (or goes silent past the
//! heartbeat allowance), and tells running turns about the gap so they can re-check their session.
//!
//! Bounded: each subscription queues at most [`SUBSCRIPTION_CAPACITY`] messages. The reader never waits for
//! a slow turn (it serves every session): an event that finds the queue full is dropped and the turn is told
//! it missed events ([`HubMsg::Gap`], as soon as there is room again: with its session's next event or the
//! next heartbeat). A gap is handled like a reconnect: the turn looks its outcome up in OpenCode's record, so
//! a dropped event costs a history read, never the answer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::{debug, info, warn};

use super::client::{ClientError, OpenCodeClient};
use super::events::{OcEvent, SseParser, decode};

/// What a turn receives.
#[derive(Debug)]
pub enum HubMsg {
    Event(OcEvent),
    /// Events of this session may have been missed: the stream was down and is back, or the subscription's
    /// queue was full and events were dropped.
    Gap,
}

#[derive(Clone, Debug, Default)]
pub struct HubState {
    pub connected: bool,
    /// Failed connects / lost streams so far; lets a waiter notice "the attempt after mine failed".
    pub failures: u64,
    pub last_error: Option<String>,
}

/// One turn's subscription as the reader sees it.
struct Sub {
    token: u64,
    tx: mpsc::Sender<HubMsg>,
    /// Events were dropped (queue full) and the turn has not been told yet.
    missed: bool,
}

struct Shared {
    client: OpenCodeClient,
    subs: Mutex<HashMap<String, Sub>>,
    /// Queue bound per subscription ([`SUBSCRIPTION_CAPACITY`]; smaller in tests).
    capacity: usize,
    next_token: AtomicU64,
    /// messageID → sessionID, for deltas that do not name their session.
    message_sessions: Mutex<HashMap<String, String>>,
    state: watch::Sender<HubState>,
    kick: Notify,
    started: AtomicBool,
    cancel: CancellationToken,
    idle_timeout: Duration,
}

pub struct EventHub {
    shared: Arc<Shared>,
    /// Stops the reader task when the backend goes away.
    _stop: DropGuard,
}

/// A turn's view of its session's events; unsubscribes on drop.
pub struct Subscription {
    shared: Arc<Shared>,
    session_id: String,
    token: u64,
    pub rx: mpsc::Receiver<HubMsg>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut subs) = self.shared.subs.lock()
            && subs.get(&self.session_id).map(|sub| sub.token) == Some(self.token)
        {
            subs.remove(&self.session_id);
        }
    }
}

const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
const MAX_REMEMBERED_MESSAGES: usize = 10_000;
/// Messages queued per subscription. A turn reads its events as they come; a thousand pending ones means
/// it is stuck (e.g. waiting on a slow card update), not that it needs more room.
pub const SUBSCRIPTION_CAPACITY: usize = 1024;

impl EventHub {
    pub fn new(client: OpenCodeClient, idle_timeout: Duration) -> Self {
        Self::with_capacity(client, idle_timeout, SUBSCRIPTION_CAPACITY)
    }

    fn with_capacity(client: OpenCodeClient, idle_timeout: Duration, capacity: usize) -> Self {
        let cancel = CancellationToken::new();
        let (state, _) = watch::channel(HubState::default());
        Self {
            shared: Arc::new(Shared {
                client,
                subs: Mutex::new(HashMap::new()),
                capacity: capacity.max(1),
                next_token: AtomicU64::new(1),
                message_sessions: Mutex::new(HashMap::new()),
                state,
                kick: Notify::new(),
                started: AtomicBool::new(false),
                cancel: cancel.clone(),
                idle_timeout,
            }),
            _stop: cancel.drop_guard(),
        }
    }

    pub fn state(&self) -> watch::Receiver<HubState> {
        self.shared.state.subscribe()
    }

    /// Starts the reader if needed and waits (up to `wait`) until the stream is live, so a prompt posted
    /// afterwards cannot outrun its events. Fails fast with the connect error when an attempt fails.
    pub async fn ensure_live(&self, wait: Duration) -> Result<(), ClientError> {
        let mut state = self.shared.state.subscribe();
        if state.borrow().connected {
            return Ok(());
        }
        let failures_before = state.borrow().failures;
        if !self.shared.started.swap(true, Ordering::SeqCst) {
            tokio::spawn(run(self.shared.clone()));
        }
        // Cut a reconnect backoff short: someone is waiting.
        self.shared.kick.notify_one();
        let outcome = tokio::time::timeout(
            wait,
            state.wait_for(|s| s.connected || s.failures > failures_before),
        )
        .await;
        let snapshot = self.shared.state.borrow().clone();
        if snapshot.connected {
            return Ok(());
        }
        let detail = match outcome {
            Err(_) => snapshot
                .last_error
                .unwrap_or_else(|| "the event stream did not open in time".to_owned()),
            Ok(_) => snapshot
                .last_error
                .unwrap_or_else(|| "the event stream failed".to_owned()),
        };
        Err(ClientError::Unreachable {
            url: self.shared.client.base_url().to_owned(),
            detail: strip_prefix_detail(&detail),
        })
    }

    pub fn subscribe(&self, session_id: &str) -> Subscription {
        let (tx, rx) = mpsc::channel(self.shared.capacity);
        let token = self.shared.next_token.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut subs) = self.shared.subs.lock() {
            let sub = Sub {
                token,
                tx,
                missed: false,
            };
            subs.insert(session_id.to_owned(), sub);
        }
        Subscription {
            shared: self.shared.clone(),
            session_id: session_id.to_owned(),
            token,
            rx,
        }
    }
}

/// `last_error` holds a full `ClientError` text; the Unreachable wrapper adds the URL again.
fn strip_prefix_detail(detail: &str) -> String {
    match detail.split_once(": ") {
        Some((head, rest)) if head.starts_with("[OPENCODE_UNREACHABLE]") => rest.to_owned(),
        _ => detail.to_owned(),
    }
}

async fn run(shared: Arc<Shared>) {
    let mut backoff = MIN_BACKOFF;
    let mut ever_connected = false;
    loop {
        let opened = tokio::select! {
            _ = shared.cancel.cancelled() => break,
            opened = shared.client.open_events() => opened,
        };
        match opened {
            Ok(response) => {
                let (reason, saw_events) =
                    read_stream(&shared, response, &mut ever_connected).await;
                if shared.cancel.is_cancelled() {
                    break;
                }
                if saw_events {
                    backoff = MIN_BACKOFF;
                }
                warn!(target: "dingbridge::agent", reason = %reason, "OpenCode event stream lost; reconnecting");
                mark_down(&shared, reason);
            }
            Err(error) => {
                debug!(target: "dingbridge::agent", code = error.code(), "OpenCode event stream connect failed");
                mark_down(&shared, error.to_string());
            }
        }
        tokio::select! {
            _ = shared.cancel.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
            _ = shared.kick.notified() => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    shared.state.send_modify(|s| s.connected = false);
    debug!(target: "dingbridge::agent", "OpenCode event reader stopped");
}

fn mark_down(shared: &Shared, reason: String) {
    shared.state.send_modify(|s| {
        s.connected = false;
        s.failures += 1;
        s.last_error = Some(reason);
    });
}

/// Reads until the stream ends, errors, goes silent, or the hub stops. Returns why, and whether any event
/// arrived (a stream that dies at once should not reset the backoff).
async fn read_stream(
    shared: &Shared,
    mut response: reqwest::Response,
    ever_connected: &mut bool,
) -> (String, bool) {
    let mut parser = SseParser::default();
    let mut saw_events = false;
    loop {
        let chunk = tokio::select! {
            _ = shared.cancel.cancelled() => return ("stopped".to_owned(), saw_events),
            chunk = tokio::time::timeout(shared.idle_timeout, response.chunk()) => chunk,
        };
        let bytes = match chunk {
            Ok(Ok(Some(bytes))) => bytes,
            Ok(Ok(None)) => return ("the server closed the event stream".to_owned(), saw_events),
            Ok(Err(error)) => return (format!("event stream error: {error}"), saw_events),
            Err(_) => {
                return (
                    format!(
                        "no event or heartbeat for {}s",
                        shared.idle_timeout.as_secs()
                    ),
                    saw_events,
                );
            }
        };
        for data in parser.feed(&bytes) {
            let Some(event) = decode(&data) else {
                debug!(target: "dingbridge::agent", len = data.len(), "undecodable OpenCode event ignored");
                continue;
            };
            saw_events = true;
            handle(shared, event, ever_connected);
        }
    }
}

fn handle(shared: &Shared, event: OcEvent, ever_connected: &mut bool) {
    if !shared.state.borrow().connected {
        // `server.connected` is the first event; but any event proves the subscription is live.
        shared.state.send_modify(|s| {
            s.connected = true;
            s.last_error = None;
        });
        if *ever_connected {
            info!(target: "dingbridge::agent", "OpenCode event stream reconnected");
            broadcast_reconnected(shared);
        }
        *ever_connected = true;
    }
    let session = match &event {
        OcEvent::Connected | OcEvent::Heartbeat | OcEvent::Other(_) => {
            // A turn whose last events were dropped learns of it here at the latest.
            tell_missed(shared);
            return;
        }
        OcEvent::MessageUpdated {
            session_id,
            message_id,
            ..
        }
        | OcEvent::PartUpdated {
            session_id,
            message_id,
            ..
        } => {
            remember(shared, message_id, session_id);
            Some(session_id.clone())
        }
        OcEvent::PartDelta {
            session_id: None,
            message_id,
            ..
        } => shared
            .message_sessions
            .lock()
            .ok()
            .and_then(|m| m.get(message_id).cloned()),
        other => other.session_id().map(str::to_owned),
    };
    let Some(session) = session else {
        return;
    };
    let Ok(mut subs) = shared.subs.lock() else {
        return;
    };
    if let Some(sub) = subs.get_mut(&session)
        && deliver(sub, HubMsg::Event(event), &session).is_err()
    {
        subs.remove(&session);
    }
}

/// The turn is gone (its receiver was dropped).
struct Closed;

/// Queues `message` for one turn without waiting: a pending gap notice goes first; a full queue drops the
/// message and leaves a gap notice pending.
fn deliver(sub: &mut Sub, message: HubMsg, session: &str) -> Result<(), Closed> {
    if sub.missed {
        match sub.tx.try_send(HubMsg::Gap) {
            Ok(()) => sub.missed = false,
            Err(mpsc::error::TrySendError::Full(_)) => return Ok(()),
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(Closed),
        }
    }
    match sub.tx.try_send(message) {
        Ok(()) => Ok(()),
        Err(mpsc::error::TrySendError::Full(_)) => {
            // The Gap is sent once there is room; dropping more events meanwhile changes nothing for the turn.
            sub.missed = true;
            warn!(target: "dingbridge::agent", session, "a turn fell behind the OpenCode event stream; it will read its outcome from the session history");
            Ok(())
        }
        Err(mpsc::error::TrySendError::Closed(_)) => Err(Closed),
    }
}

/// Sends pending gap notices that find room now.
fn tell_missed(shared: &Shared) {
    if let Ok(mut subs) = shared.subs.lock() {
        for sub in subs.values_mut().filter(|sub| sub.missed) {
            if sub.tx.try_send(HubMsg::Gap).is_ok() {
                sub.missed = false;
            }
        }
    }
}

fn remember(shared: &Shared, message_id: &str, session_id: &str) {
    if message_id.is_empty() || session_id.is_empty() {
        return;
    }
    if let Ok(mut map) = shared.message_sessions.lock() {
        if map.len() >= MAX_REMEMBERED_MESSAGES && !map.contains_key(message_id) {
            // Old turns' messages are never needed again; a rare full reset keeps this bounded and simple.
            map.clear();
        }
        map.insert(message_id.to_owned(), session_id.to_owned());
    }
}

fn broadcast_reconnected(shared: &Shared) {
    if let Ok(mut subs) = shared.subs.lock() {
        for sub in subs.values_mut() {
            // A full queue keeps the notice pending (sent with the session's next event or heartbeat); a
            // closed one is removed by its Subscription's drop.
            if sub.tx.try_send(HubMsg::Gap).is_err() {
                sub.missed = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::opencode::config::OpenCodeSettings;

    fn hub(capacity: usize) -> EventHub {
        let client =
            OpenCodeClient::new(reqwest::Client::new(), &OpenCodeSettings::default(), None);
        EventHub::with_capacity(client, Duration::from_secs(60), capacity)
    }

    fn status(session: &str) -> OcEvent {
        OcEvent::Status {
            session_id: session.into(),
            status: "busy".into(),
            message: None,
        }
    }

    fn drain(subscription: &mut Subscription) -> Vec<HubMsg> {
        let mut seen = Vec::new();
        while let Ok(message) = subscription.rx.try_recv() {
            seen.push(message);
        }
        seen
    }

    fn is_event(message: &HubMsg) -> bool {
        matches!(message, HubMsg::Event(_))
    }

    #[test]
    fn a_turn_that_fell_behind_is_told_with_the_next_heartbeat() {
        let hub = hub(2);
        let mut turn = hub.subscribe("s");
        let mut ever_connected = false;
        for _ in 0..5 {
            handle(&hub.shared, status("s"), &mut ever_connected);
        }
        let queued = drain(&mut turn);
        assert_eq!(
            queued.len(),
            2,
            "the queue holds its bound, the rest is dropped"
        );
        assert!(queued.iter().all(is_event));
        handle(&hub.shared, OcEvent::Heartbeat, &mut ever_connected);
        assert!(matches!(drain(&mut turn).as_slice(), [HubMsg::Gap]));
    }

    #[test]
    fn the_gap_notice_comes_before_the_sessions_next_event() {
        let hub = hub(2);
        let mut turn = hub.subscribe("s");
        let mut ever_connected = false;
        for _ in 0..3 {
            handle(&hub.shared, status("s"), &mut ever_connected);
        }
        drain(&mut turn);
        handle(&hub.shared, status("s"), &mut ever_connected);
        let next = drain(&mut turn);
        assert!(matches!(next.as_slice(), [HubMsg::Gap, HubMsg::Event(_)]));
    }

    #[test]
    fn a_turn_that_keeps_up_is_never_told_of_a_gap() {
        let hub = hub(2);
        let mut turn = hub.subscribe("s");
        let mut ever_connected = false;
        for _ in 0..50 {
            handle(&hub.shared, status("s"), &mut ever_connected);
            handle(&hub.shared, OcEvent::Heartbeat, &mut ever_connected);
            assert!(drain(&mut turn).iter().all(is_event));
        }
    }
}
