//! Per-conversation FIFO queues with a global limit on concurrent agent turns. Each conversation with work
//! has exactly one worker task, so its messages are handled strictly in order, while a slow conversation only
//! ever holds one of the global permits and never stalls the others.
//!
//! A panic while processing one item is caught at the worker: that item is failed visibly
//! ([`ItemProcessor::panicked`]), its permit and counters are released, and the conversation goes on.
//!
//! Bounded: live intake asks [`ConversationQueues::has_room`] before it accepts a frame, so at most
//! [`MAX_PER_CONVERSATION`] items wait per conversation and [`MAX_WAITING`] in all. A frame refused for room
//! is neither persisted nor ACKed, and DingTalk redelivers it later (backpressure, see docs/reliability.md).
//! Only the start-up replay of the durable inbox enqueues past the bound (its size is the inbox's, already
//! on disk), so nothing persisted is ever dropped to keep the bound.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use std::panic::AssertUnwindSafe;

use async_trait::async_trait;
use futures_util::FutureExt;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::api::status::{ConversationQueue, QueueStatus, SNAPSHOT_LIST_LIMIT};
use crate::events::{Event, EventBus};
use crate::store::InboxItem;
use crate::top::top_n;

/// Items that may wait in one conversation before live intake stops accepting its frames.
pub const MAX_PER_CONVERSATION: usize = 500;
/// Items that may wait across all conversations before live intake stops accepting frames.
pub const MAX_WAITING: usize = 10_000;

#[async_trait]
pub trait ItemProcessor: Send + Sync + 'static {
    /// Handles one message to completion (including its own retries). Returning ends the item's turn.
    /// `abort` fires only when shutdown gave up waiting; the item must then stay `queued` for replay.
    async fn process(&self, item: InboxItem, cancel: CancellationToken);

    /// `process` panicked on `item` (a bug): settle it visibly so the conversation can go on.
    async fn panicked(&self, _item: InboxItem, _panic: String, _cancel: CancellationToken) {}
}

#[derive(Default)]
struct QueueState {
    queues: HashMap<String, VecDeque<InboxItem>>,
    /// Conversations that currently have a worker.
    active: HashSet<String>,
    /// Conversations whose worker is processing an item now (the agent's turn, for the dashboard).
    running: HashSet<String>,
    waiting: usize,
    in_flight: usize,
}

struct Inner {
    state: Mutex<QueueState>,
    permits: Arc<Semaphore>,
    processor: Arc<dyn ItemProcessor>,
    events: EventBus,
    /// Stops workers from starting new items (shutdown step 1).
    cancel: CancellationToken,
    /// Aborts running turns (shutdown step 2, only after the drain timeout).
    abort: CancellationToken,
    idle: Notify,
}

#[derive(Clone)]
pub struct ConversationQueues {
    inner: Arc<Inner>,
}

impl ConversationQueues {
    pub fn new(
        max_concurrent: usize,
        processor: Arc<dyn ItemProcessor>,
        events: EventBus,
        cancel: CancellationToken,
        abort: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(QueueState::default()),
                permits: Arc::new(Semaphore::new(max_concurrent.max(1))),
                processor,
                events,
                cancel,
                abort,
                idle: Notify::new(),
            }),
        }
    }

    pub fn enqueue(&self, item: InboxItem) {
        if self.inner.cancel.is_cancelled() {
            // Shutting down: the item stays `queued` in the inbox and is replayed on the next start.
            return;
        }
        let conversation = item.message.conversation_id.clone();
        let (depth, total, start_worker) = {
            let mut state = lock(&self.inner.state);
            let queue = state.queues.entry(conversation.clone()).or_default();
            queue.push_back(item);
            let depth = queue.len();
            state.waiting += 1;
            let start_worker = state.active.insert(conversation.clone());
            (depth, state.waiting, start_worker)
        };
        self.inner.events.publish(Event::QueueDepth {
            conversation_id: conversation.clone(),
            depth,
            total,
        });
        if start_worker {
            tokio::spawn(worker(self.inner.clone(), conversation));
        }
    }

    /// Whether live intake may queue one more item for `conversation` (see the module's bound), counting
    /// `arriving` items of that conversation and `arriving_total` in all that intake accepted but has not
    /// enqueued yet (they are waiting for their commit).
    pub fn has_room(&self, conversation: &str, arriving: usize, arriving_total: usize) -> bool {
        let state = lock(&self.inner.state);
        let depth = state.queues.get(conversation).map_or(0, VecDeque::len);
        depth.saturating_add(arriving) < MAX_PER_CONVERSATION
            && state.waiting.saturating_add(arriving_total) < MAX_WAITING
    }

    /// Totals, and the [`SNAPSHOT_LIST_LIMIT`] deepest queues (ties by id) chosen without sorting them all.
    pub fn status(&self) -> QueueStatus {
        let state = lock(&self.inner.state);
        let waiting: Vec<(&String, usize)> = state
            .queues
            .iter()
            .filter(|(_, queue)| !queue.is_empty())
            .map(|(id, queue)| (id, queue.len()))
            .collect();
        let conversations_total = waiting.len();
        let conversations = top_n(waiting, SNAPSHOT_LIST_LIMIT, |a, b| {
            b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0))
        })
        .into_iter()
        .map(|(id, depth)| ConversationQueue {
            conversation_id: id.clone(),
            depth,
        })
        .collect();
        QueueStatus {
            total_depth: state.waiting,
            in_flight: state.in_flight,
            conversations_total,
            conversations,
            // Filled in by the engine from the processor's waiting turns.
            waiting_for_agent: Vec::new(),
            waiting_for_agent_total: 0,
        }
    }

    /// One conversation's queue: messages waiting behind the running one, and whether one is running now.
    pub fn activity(&self, conversation_id: &str) -> (usize, bool) {
        let state = lock(&self.inner.state);
        (
            state.queues.get(conversation_id).map_or(0, VecDeque::len),
            state.running.contains(conversation_id),
        )
    }

    /// Resolves when nothing is queued or running.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            {
                let state = lock(&self.inner.state);
                if state.waiting == 0 && state.in_flight == 0 {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Resolves when no turn is running (queued items may remain: they stay `queued` in the inbox).
    pub async fn wait_no_turn_running(&self) {
        loop {
            let notified = self.inner.idle.notified();
            if lock(&self.inner.state).in_flight == 0 {
                return;
            }
            notified.await;
        }
    }
}

fn lock(state: &Mutex<QueueState>) -> MutexGuard<'_, QueueState> {
    // A panic inside a critical section leaves plain counters behind; keep serving rather than cascade.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn worker(inner: Arc<Inner>, conversation: String) {
    loop {
        let permit = tokio::select! {
            _ = inner.cancel.cancelled() => None,
            permit = inner.permits.clone().acquire_owned() => permit.ok(),
        };
        let next = {
            let mut state = lock(&inner.state);
            let item = permit
                .as_ref()
                .and_then(|_| state.queues.get_mut(&conversation))
                .and_then(VecDeque::pop_front);
            match item {
                Some(item) => {
                    state.waiting -= 1;
                    state.in_flight += 1;
                    state.running.insert(conversation.clone());
                    let depth = state.queues.get(&conversation).map_or(0, VecDeque::len);
                    Some((item, depth, state.waiting))
                }
                None => {
                    if permit.is_none() {
                        // Cancelled: forget what is left in memory; it is still `queued` on disk.
                        let dropped = state.queues.remove(&conversation).map_or(0, |q| q.len());
                        state.waiting -= dropped;
                    } else {
                        state.queues.remove(&conversation);
                    }
                    state.active.remove(&conversation);
                    if state.waiting == 0 && state.in_flight == 0 {
                        inner.idle.notify_waiters();
                    }
                    None
                }
            }
        };
        let Some((item, depth, total)) = next else {
            return;
        };
        inner.events.publish(Event::QueueDepth {
            conversation_id: conversation.clone(),
            depth,
            total,
        });
        let process = inner.processor.process(item.clone(), inner.abort.clone());
        if let Err(panic) = AssertUnwindSafe(process).catch_unwind().await {
            let panic = panic_text(panic.as_ref());
            tracing::error!(
                msg_id = item.message.msg_id,
                conversation,
                panic,
                "processing a message panicked; failing it and going on"
            );
            let settle = inner.processor.panicked(item, panic, inner.abort.clone());
            if AssertUnwindSafe(settle).catch_unwind().await.is_err() {
                tracing::error!(conversation, "settling a panicked message panicked too");
            }
        }
        drop(permit);
        let mut state = lock(&inner.state);
        state.in_flight -= 1;
        state.running.remove(&conversation);
        if state.in_flight == 0 {
            inner.idle.notify_waiters();
        }
    }
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}
