//! The Stream client's callback handler. Frames are submitted to the store in arrival order on the socket's
//! reader task; one sequencer task then awaits the commits *in that same order*, hands new messages to the
//! conversation queues and ACKs. So per-conversation order is exactly arrival order, and no frame is ACKed
//! before it is durable.
//!
//! Bounded: the sequencer channel holds at most [`SEQUENCER_CAPACITY`] frames awaiting their commit, and a
//! conversation's queue is bounded (`queues.rs`). When either is full the frame is not persisted and not
//! ACKed (logged, counted in `deferred`): DingTalk redelivers un-ACKed frames, so backpressure costs a
//! delay, never a message.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use moka::sync::Cache;
use tokio::sync::mpsc;

use super::dispatch::Dispatcher;
use crate::api::status::ConversationSummary;
use crate::dingtalk::stream::{
    AckFrame, AckSender, BOT_MESSAGE_TOPIC, CallbackFrame, CallbackHandler,
};
use crate::dingtalk::{BotMessage, MessageContent};
use crate::events::{Event, EventBus};
use crate::metrics::Metrics;
use crate::quota::QuotaMeter;
use crate::store::{InboxItem, InboxState, InsertOutcome, PendingInsert, Store};
use crate::time::now_ms;

/// Hot dedupe window in memory; the inbox's unique msgId is the authority (and survives restarts), so an
/// evicted msgId costs one `INSERT OR IGNORE`, never a duplicate. DingTalk redelivers an un-ACKed frame within
/// seconds to minutes: 10,000 recent msgIds cover that at any realistic rate, at ~3 MiB instead of the ~30 MiB
/// a 100,000-entry window held (docs/performance.md #6).
const DEDUPE_TTL: Duration = Duration::from_secs(15 * 60);
const DEDUPE_CAPACITY: u64 = 10_000;
/// Frames persisted-but-not-yet-ACKed that may wait for their commit in arrival order.
pub const SEQUENCER_CAPACITY: usize = 4_096;

#[derive(Default)]
struct Arriving {
    by_conversation: HashMap<String, usize>,
    total: usize,
}

impl Arriving {
    fn add(&mut self, conversation: &str) {
        *self
            .by_conversation
            .entry(conversation.to_owned())
            .or_default() += 1;
        self.total = self.total.saturating_add(1);
    }

    fn remove(&mut self, conversation: &str) {
        if let Some(n) = self.by_conversation.get_mut(conversation) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_conversation.remove(conversation);
            }
        }
        self.total = self.total.saturating_sub(1);
    }
}

fn lock(arriving: &Mutex<Arriving>) -> MutexGuard<'_, Arriving> {
    // Plain counters: a panic elsewhere cannot leave them half-updated in a way that matters.
    arriving
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Submitted {
    frame: CallbackFrame,
    item: InboxItem,
    pending: PendingInsert,
    ack: AckSender,
}

pub struct Intake {
    store: Store,
    seen: Cache<String, ()>,
    sequencer: mpsc::Sender<Submitted>,
    dispatcher: Arc<Dispatcher>,
    /// Accepted frames not yet handed to their conversation's queue, per conversation (they count against
    /// the queue bound while they wait for their commit).
    arriving: Arc<Mutex<Arriving>>,
    metrics: Arc<Metrics>,
    events: EventBus,
}

impl Intake {
    /// Starts the sequencer task; it ends when the returned `Intake` (and every clone of its sender) is dropped.
    pub fn start(
        store: Store,
        dispatcher: Arc<Dispatcher>,
        quota: Arc<QuotaMeter>,
        metrics: Arc<Metrics>,
        events: EventBus,
    ) -> Arc<Self> {
        let seen = Cache::builder()
            .max_capacity(DEDUPE_CAPACITY)
            .time_to_live(DEDUPE_TTL)
            .build();
        let (sequencer, receiver) = mpsc::channel(SEQUENCER_CAPACITY);
        let arriving = Arc::new(Mutex::new(Arriving::default()));
        let intake = Arc::new(Self {
            arriving: arriving.clone(),
            store: store.clone(),
            seen: seen.clone(),
            sequencer,
            dispatcher: dispatcher.clone(),
            metrics: metrics.clone(),
            events: events.clone(),
        });
        tokio::spawn(sequence(
            receiver,
            Sequencer {
                store,
                dispatcher,
                quota,
                seen,
                metrics,
                events,
                arriving,
            },
        ));
        intake
    }

    /// Marks msgIds (e.g. replayed ones) as seen so their redeliveries are answered from memory.
    pub fn remember(&self, msg_id: &str) {
        self.seen.insert(msg_id.to_owned(), ());
    }

    fn reject(&self, reason: String) {
        tracing::warn!(reason, "callback rejected");
        self.metrics.rejected.inc();
        self.events.publish(Event::FrameRejected { reason });
    }

    /// Backpressure: the frame is left un-ACKed so DingTalk redelivers it once we have room again.
    fn defer(&self, frame: &CallbackFrame, msg_id: &str, why: &'static str) {
        self.metrics.deferred.inc();
        tracing::warn!(
            msg_id,
            frame = frame.message_id,
            why,
            "intake full; frame left un-ACKed for DingTalk to redeliver"
        );
    }

    fn ack_now(&self, ack: &AckSender, frame: &CallbackFrame, msg_id: &str) {
        if ack.send(AckFrame::callback_ok(&frame.message_id)) {
            acked(&self.metrics, &self.events, frame, msg_id);
        }
    }
}

impl CallbackHandler for Intake {
    fn on_callback(&self, frame: CallbackFrame, ack: AckSender) {
        if frame.topic != BOT_MESSAGE_TOPIC {
            self.reject(format!("unsubscribed CALLBACK topic `{}`", frame.topic));
            ack.send(AckFrame::not_found(&frame.message_id));
            return;
        }
        let message = match BotMessage::decode(&frame.data) {
            Ok(message) => message,
            Err(err) => {
                // ACK anyway: a frame that cannot be decoded now never will be; resending it helps nobody.
                self.reject(format!("{err} (frame {})", frame.message_id));
                ack.send(AckFrame::callback_ok(&frame.message_id));
                return;
            }
        };
        if self.seen.contains_key(&message.msg_id) {
            self.metrics.duplicates.inc();
            self.events.publish(Event::DuplicateDropped {
                msg_id: message.msg_id.clone(),
            });
            self.ack_now(&ack, &frame, &message.msg_id);
            return;
        }
        // Room is checked (and taken) before the message is persisted: a persisted message must always reach
        // the queues, or its redelivery would be dropped as a duplicate of a message nobody processes.
        let conversation = message.conversation_id.clone();
        {
            let mut arriving = lock(&self.arriving);
            let pending = arriving
                .by_conversation
                .get(&conversation)
                .copied()
                .unwrap_or(0);
            if message.is_for_agent()
                && !self
                    .dispatcher
                    .has_room(&conversation, pending, arriving.total)
            {
                drop(arriving);
                self.defer(&frame, &message.msg_id, "conversation queue full");
                return;
            }
            arriving.add(&conversation);
        }
        let permit = match self.sequencer.try_reserve() {
            Ok(permit) => permit,
            Err(err) => {
                lock(&self.arriving).remove(&conversation);
                match err {
                    mpsc::error::TrySendError::Full(()) => self.defer(
                        &frame,
                        &message.msg_id,
                        "too many frames awaiting their commit",
                    ),
                    mpsc::error::TrySendError::Closed(()) => tracing::error!(
                        msg_id = message.msg_id,
                        "intake sequencer stopped; frame left un-ACKed"
                    ),
                }
                return;
            }
        };
        let item = InboxItem::new(message, now_ms());
        match self.store.submit_inbound(item.clone()) {
            Ok(pending) => permit.send(Submitted {
                frame,
                item,
                pending,
                ack,
            }),
            // Not ACKed: the server redelivers and we try again.
            Err(err) => {
                lock(&self.arriving).remove(&conversation);
                self.metrics.deferred.inc();
                tracing::error!(code = err.code(), error = %err, "cannot persist inbound message; frame left un-ACKed")
            }
        }
    }
}

/// What the sequencer task works with.
struct Sequencer {
    store: Store,
    dispatcher: Arc<Dispatcher>,
    quota: Arc<QuotaMeter>,
    seen: Cache<String, ()>,
    metrics: Arc<Metrics>,
    events: EventBus,
    arriving: Arc<Mutex<Arriving>>,
}

async fn sequence(mut receiver: mpsc::Receiver<Submitted>, sequencer: Sequencer) {
    let Sequencer {
        store,
        dispatcher,
        quota,
        seen,
        metrics,
        events,
        arriving,
    } = sequencer;
    while let Some(Submitted {
        frame,
        mut item,
        pending,
        ack,
    }) = receiver.recv().await
    {
        let msg_id = item.message.msg_id.clone();
        let conversation = item.message.conversation_id.clone();
        let stored = match pending.await {
            Ok(Ok(InsertOutcome::Inserted { seq })) => {
                item.seq = seq;
                seen.insert(msg_id.clone(), ());
                accepted(&item, &metrics, &events);
                quota.stream_message(item.received_at_ms);
                if item.message.is_for_agent() {
                    dispatcher.dispatch(item);
                } else {
                    settle_without_agent(&store, &item, &metrics, &events);
                }
                true
            }
            Ok(Ok(InsertOutcome::Duplicate)) => {
                seen.insert(msg_id.clone(), ());
                metrics.duplicates.inc();
                events.publish(Event::DuplicateDropped {
                    msg_id: msg_id.clone(),
                });
                true
            }
            Ok(Err(err)) => {
                tracing::error!(code = err.code(), error = %err, msg_id, "inbound message not persisted; leaving it un-ACKed");
                false
            }
            Err(_) => {
                tracing::error!(msg_id, "store writer stopped; leaving message un-ACKed");
                false
            }
        };
        // Handed over (now counted in its queue) or given up: it no longer counts as arriving.
        lock(&arriving).remove(&conversation);
        if stored && ack.send(AckFrame::callback_ok(&frame.message_id)) {
            acked(&metrics, &events, &frame, &msg_id);
        }
    }
}

fn acked(metrics: &Metrics, events: &EventBus, frame: &CallbackFrame, msg_id: &str) {
    let latency = frame.arrived.elapsed();
    metrics.record_ack(latency);
    events.publish(Event::Acked {
        msg_id: msg_id.to_owned(),
        latency_us: latency.as_micros() as u64,
    });
}

fn accepted(item: &InboxItem, metrics: &Metrics, events: &EventBus) {
    let message = &item.message;
    metrics.received.inc();
    metrics.conversation_seen(ConversationSummary {
        conversation_id: message.conversation_id.clone(),
        title: message.display_title(),
        kind: message.conversation_kind.as_str().into(),
        last_message_at_ms: item.received_at_ms,
        last_preview: message.preview(),
        messages: 0,
    });
    tracing::info!(
        msg_id = message.msg_id,
        conversation = message.conversation_id,
        msgtype = message.msgtype,
        "message received"
    );
    events.publish(Event::MessageReceived {
        msg_id: message.msg_id.clone(),
        conversation_id: message.conversation_id.clone(),
        conversation_title: message.conversation_title.clone(),
        sender_nick: message.sender_nick.clone(),
        msgtype: message.msgtype.clone(),
        preview: message.preview(),
        at_ms: item.received_at_ms,
    });
}

/// Messages the agent must not see: a 20001 quota notice, or a type DingTalk itself could not deliver.
fn settle_without_agent(store: &Store, item: &InboxItem, metrics: &Metrics, events: &EventBus) {
    let message = &item.message;
    match &message.content {
        MessageContent::QuotaExhausted { note } => {
            tracing::warn!(
                conversation = message.conversation_id,
                note,
                "DingTalk quota exhausted (20001)"
            );
            metrics.set_quota_exhausted();
            events.publish(Event::QuotaExhausted {
                conversation_id: message.conversation_id.clone(),
                message: note.clone(),
            });
        }
        other => {
            tracing::info!(msg_id = message.msg_id, content = ?other, "message type not passed to the agent")
        }
    }
    let store = store.clone();
    let msg_id = message.msg_id.clone();
    tokio::spawn(async move {
        if let Err(err) = store.set_state(&msg_id, InboxState::Done, None).await {
            tracing::error!(code = err.code(), error = %err, "cannot settle message");
        }
    });
}
