//! Delivers the durable outbox: one worker per conversation keeps parts in order, the pacer spaces sends,
//! throttling and transient failures are retried with backoff (honouring DingTalk's retry hints), permanent
//! failures are recorded. Nothing is dropped: undelivered rows stay `pending` and resume on the next start.
//!
//! Bounded: a conversation's in-memory entries (queue, worker flag, pending count) exist only while it has
//! rows to send; the worker removes them when its queue runs dry, so idle conversations cost nothing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::pacer::Pacer;
use crate::api::status::SNAPSHOT_LIST_LIMIT;
use crate::dingtalk::send::SendError;
use crate::events::{Event, EventBus};
use crate::metrics::Metrics;
use crate::store::{OutboundMessage, OutboxItem, OutboxState, Store};
use crate::top::top_n;

/// What actually talks to DingTalk (webhook or OpenAPI, chosen per message).
#[async_trait]
pub trait Deliver: Send + Sync + 'static {
    async fn deliver(&self, message: &OutboundMessage) -> Result<Delivered, SendError>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// "webhook", "oto" or "group".
    pub channel: &'static str,
    pub bytes: usize,
}

/// Final fate of one outbox row, for callers that wait (MCP `send_message`).
#[derive(Clone, Debug, Serialize)]
pub struct DeliveryOutcome {
    pub outbox_id: i64,
    pub sent: bool,
    pub channel: Option<String>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct OutboxStatus {
    pub pending: usize,
    /// Sends that DingTalk throttled and were retried.
    pub throttled: u64,
    pub conversations: Vec<OutboxConversation>,
    /// Conversations with something pending (all of them; `conversations` may be cut in a snapshot).
    pub conversations_total: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct OutboxConversation {
    pub conversation_id: String,
    pub pending: usize,
    /// Waiting for the pacer (the conversation's rate limit) right now.
    pub rate_limited: bool,
}

/// One conversation's outbox as the dashboard shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConversationOutbox {
    /// Rows not yet delivered (including the one being sent).
    pub pending: usize,
    /// Waiting for the conversation's rate limit (the pacer) now.
    pub rate_limited: bool,
    /// DingTalk throttled (or failed transiently) the last attempt: the next one is due at this time.
    pub retry_at_ms: Option<i64>,
}

#[derive(Default)]
struct State {
    /// Conversations whose last attempt failed transiently, and when the next attempt is due.
    retry_at: HashMap<String, i64>,
    queues: HashMap<String, VecDeque<OutboxItem>>,
    active: HashSet<String>,
    rate_limited: HashSet<String>,
    /// Includes the item each worker is currently sending.
    pending: HashMap<String, usize>,
    throttled: u64,
}

struct Inner {
    state: Mutex<State>,
    store: Store,
    pacer: Pacer,
    deliver: Arc<dyn Deliver>,
    metrics: Arc<Metrics>,
    events: EventBus,
    outcomes: broadcast::Sender<DeliveryOutcome>,
    retry_delay: Duration,
    cancel: CancellationToken,
}

#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

impl Outbox {
    pub fn new(
        store: Store,
        pacer: Pacer,
        deliver: Arc<dyn Deliver>,
        metrics: Arc<Metrics>,
        events: EventBus,
        retry_delay: Duration,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                store,
                pacer,
                deliver,
                metrics,
                events,
                outcomes: broadcast::channel(1024).0,
                retry_delay,
                cancel,
            }),
        }
    }

    /// Hands freshly persisted rows (in order) to their conversations' workers.
    pub fn push(&self, items: Vec<OutboxItem>) {
        for item in items {
            let conversation = item.conversation_id.clone();
            let (start, pending) = {
                let mut state = lock(&self.inner.state);
                state
                    .queues
                    .entry(conversation.clone())
                    .or_default()
                    .push_back(item);
                let pending = state.pending.entry(conversation.clone()).or_default();
                *pending += 1;
                let pending = *pending;
                (state.active.insert(conversation.clone()), pending)
            };
            publish_depth(&self.inner, &conversation, pending, false);
            if start {
                tokio::spawn(worker(self.inner.clone(), conversation));
            }
        }
    }

    pub fn subscribe_outcomes(&self) -> broadcast::Receiver<DeliveryOutcome> {
        self.inner.outcomes.subscribe()
    }

    /// Totals, and the [`SNAPSHOT_LIST_LIMIT`] conversations with the most pending sends (ties by id), chosen
    /// without sorting them all.
    pub fn status(&self) -> OutboxStatus {
        let state = lock(&self.inner.state);
        let waiting: Vec<(&String, usize)> = state
            .pending
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(id, n)| (id, *n))
            .collect();
        let conversations_total = waiting.len();
        let conversations = top_n(waiting, SNAPSHOT_LIST_LIMIT, |a, b| {
            b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0))
        })
        .into_iter()
        .map(|(id, pending)| OutboxConversation {
            conversation_id: id.clone(),
            pending,
            rate_limited: state.rate_limited.contains(id),
        })
        .collect();
        OutboxStatus {
            pending: state.pending.values().sum(),
            throttled: state.throttled,
            conversations_total,
            conversations,
        }
    }

    /// One conversation's outbox right now.
    pub fn conversation(&self, conversation_id: &str) -> ConversationOutbox {
        let state = lock(&self.inner.state);
        ConversationOutbox {
            pending: state.pending.get(conversation_id).copied().unwrap_or(0),
            rate_limited: state.rate_limited.contains(conversation_id),
            retry_at_ms: state.retry_at.get(conversation_id).copied(),
        }
    }

    /// Conversations waiting for their rate limit now, at most `limit` of them.
    pub fn rate_limited(&self, limit: usize) -> Vec<String> {
        let state = lock(&self.inner.state);
        state.rate_limited.iter().take(limit).cloned().collect()
    }

    /// Conversations the outbox keeps any in-memory state for (only those with rows to send).
    pub fn tracked_conversations(&self) -> usize {
        let state = lock(&self.inner.state);
        let mut ids: HashSet<&String> = state.queues.keys().collect();
        ids.extend(state.active.iter());
        ids.extend(state.pending.keys());
        ids.extend(state.rate_limited.iter());
        ids.len()
    }

    /// Resolves once nothing is pending (tests, graceful drain).
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if lock(&self.inner.state).pending.values().all(|n| *n == 0) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn publish_depth(inner: &Inner, conversation: &str, pending: usize, rate_limited: bool) {
    inner.events.publish(Event::OutboxDepth {
        conversation_id: conversation.to_owned(),
        pending,
        rate_limited,
    });
}

async fn worker(inner: Arc<Inner>, conversation: String) {
    loop {
        let item = {
            let mut state = lock(&inner.state);
            match state
                .queues
                .get_mut(&conversation)
                .and_then(VecDeque::pop_front)
            {
                Some(item) => item,
                None => {
                    state.queues.remove(&conversation);
                    state.active.remove(&conversation);
                    state.rate_limited.remove(&conversation);
                    if state.pending.get(&conversation).is_some_and(|n| *n == 0) {
                        state.pending.remove(&conversation);
                    }
                    return;
                }
            }
        };
        if !send_with_retries(&inner, &conversation, &item).await {
            // Cancelled: the row stays pending in the store and is resumed on the next start.
            let mut state = lock(&inner.state);
            state.queues.remove(&conversation);
            state.active.remove(&conversation);
            state.pending.remove(&conversation);
            return;
        }
        let pending = {
            let mut state = lock(&inner.state);
            let pending = state.pending.entry(conversation.clone()).or_default();
            *pending = pending.saturating_sub(1);
            *pending
        };
        publish_depth(&inner, &conversation, pending, false);
    }
}

/// Returns false when cancelled before the item reached a final state.
async fn send_with_retries(inner: &Inner, conversation: &str, item: &OutboxItem) -> bool {
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(inner.retry_delay)
        .with_max_delay(Duration::from_secs(60))
        .with_jitter()
        .without_max_times()
        .build();
    let source = item
        .source_msg_id
        .clone()
        .unwrap_or_else(|| format!("out-{}", item.id));
    loop {
        lock(&inner.state)
            .rate_limited
            .insert(conversation.to_owned());
        let pending = lock(&inner.state)
            .pending
            .get(conversation)
            .copied()
            .unwrap_or(0);
        publish_depth(inner, conversation, pending, true);
        tokio::select! {
            _ = inner.cancel.cancelled() => return false,
            _ = inner.pacer.acquire(conversation) => {}
        }
        {
            let mut state = lock(&inner.state);
            state.rate_limited.remove(conversation);
            state.retry_at.remove(conversation);
        }
        let started = Instant::now();
        let result = inner.deliver.deliver(&item.message).await;
        inner.metrics.send_latency.record(started.elapsed());
        match result {
            Ok(delivered) => {
                record(
                    inner,
                    item,
                    OutboxState::Sent,
                    None,
                    Some(delivered.channel),
                )
                .await;
                inner.metrics.replies_sent.inc();
                tracing::info!(
                    outbox_id = item.id,
                    conversation,
                    channel = delivered.channel,
                    bytes = delivered.bytes,
                    "reply sent"
                );
                inner.events.publish(Event::ReplySent {
                    msg_id: source,
                    conversation_id: conversation.to_owned(),
                    bytes: delivered.bytes,
                });
                return true;
            }
            Err(err) if err.is_transient() => {
                if matches!(err, SendError::Throttled { .. }) {
                    lock(&inner.state).throttled += 1;
                }
                let delay = backoff
                    .next()
                    .unwrap_or(Duration::from_secs(60))
                    .max(err.retry_after().unwrap_or_default());
                tracing::warn!(outbox_id = item.id, conversation, code = err.code(), error = %err, delay_ms = delay.as_millis() as u64, "send failed; retrying");
                let due = crate::time::now_ms()
                    .saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX));
                lock(&inner.state)
                    .retry_at
                    .insert(conversation.to_owned(), due);
                tokio::select! {
                    _ = inner.cancel.cancelled() => return false,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
            Err(err) => {
                record(
                    inner,
                    item,
                    OutboxState::Failed,
                    Some(err.to_string()),
                    None,
                )
                .await;
                inner.metrics.replies_failed.inc();
                tracing::warn!(outbox_id = item.id, conversation, code = err.code(), error = %err, "send failed permanently");
                inner.events.publish(Event::ReplyFailed {
                    msg_id: source,
                    conversation_id: conversation.to_owned(),
                    error: err.to_string(),
                });
                return true;
            }
        }
    }
}

async fn record(
    inner: &Inner,
    item: &OutboxItem,
    state: OutboxState,
    error: Option<String>,
    channel: Option<&str>,
) {
    // The outcome must be stored: a row left `pending` after DingTalk accepted it is sent again on the next
    // start. Retried until stored or shutdown (then the duplicate window is the documented one).
    let mut delay = Duration::from_millis(50);
    while let Err(err) = inner
        .store
        .set_outbox_state(item.id, state, error.clone(), channel.map(str::to_owned))
        .await
    {
        tracing::error!(code = err.code(), error = %err, outbox_id = item.id, delay_ms = delay.as_millis() as u64, "cannot record send outcome; retrying");
        tokio::select! {
            _ = inner.cancel.cancelled() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = delay.saturating_mul(2).min(Duration::from_secs(5));
    }
    // No subscriber (nobody waiting on this row) is the normal case, not an error.
    let _no_subscriber = inner.outcomes.send(DeliveryOutcome {
        outbox_id: item.id,
        sent: state == OutboxState::Sent,
        channel: channel.map(str::to_owned),
        error,
    });
}
