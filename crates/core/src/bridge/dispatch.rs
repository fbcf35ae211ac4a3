//! Where an accepted inbound message goes: refused (allow-list), answered at once (chat command), or queued
//! for the agent in its conversation's FIFO.

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use super::access::{self, AccessDecision};
use super::commands::{self, Commands};
use super::queues::ConversationQueues;
use super::replies::{MessageFormat, Replies};
use crate::config::AccessSettings;
use crate::events::{Event, EventBus};
use crate::store::{InboxItem, InboxState, Route};

/// A refused conversation is told once per this window: a stranger who keeps writing must not burn the
/// monthly quota or the conversation's send budget.
const REFUSAL_QUIET: Duration = Duration::from_secs(10 * 60);

pub struct Dispatcher {
    access: AccessSettings,
    commands: Arc<Commands>,
    queues: ConversationQueues,
    replies: Replies,
    events: EventBus,
    recently_refused: Cache<String, ()>,
}

impl Dispatcher {
    pub fn new(
        access: AccessSettings,
        commands: Arc<Commands>,
        queues: ConversationQueues,
        replies: Replies,
        events: EventBus,
    ) -> Self {
        Self {
            access,
            commands,
            queues,
            replies,
            events,
            recently_refused: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(REFUSAL_QUIET)
                .build(),
        }
    }

    /// Whether a new live message of `conversation` can be taken now (bounded queues; the caller leaves the
    /// frame un-ACKed otherwise, so DingTalk redelivers it).
    pub fn has_room(&self, conversation: &str, arriving: usize, arriving_total: usize) -> bool {
        self.queues.has_room(conversation, arriving, arriving_total)
    }

    pub fn dispatch(self: &Arc<Self>, item: InboxItem) {
        let message = &item.message;
        let decision = access::decide(&self.access, message);
        if decision != AccessDecision::Allowed {
            tracing::warn!(
                conversation = message.conversation_id,
                sender = message.sender_staff_id.as_deref().unwrap_or("-"),
                nick = message.sender_nick,
                ?decision,
                "sender not allowed; refusing"
            );
            self.events.publish(Event::AccessRefused {
                msg_id: message.msg_id.clone(),
                conversation_id: message.conversation_id.clone(),
                sender_nick: message.sender_nick.clone(),
                sender_staff_id: message.sender_staff_id.clone(),
            });
            if self.recently_refused.contains_key(&message.conversation_id) {
                self.settle_silently(&item);
            } else {
                self.recently_refused
                    .insert(message.conversation_id.clone(), ());
                let this = self.clone();
                let item = item.clone();
                tokio::spawn(async move {
                    let message = &item.message;
                    let lang = this.commands.languages.of(&message.conversation_id).await;
                    let text = access::refusal(&decision, message, lang).unwrap_or_default();
                    this.answer(&item, text).await;
                });
            }
            return;
        }
        if let Some(command) = commands::parse(&message.prompt_text()) {
            let this = self.clone();
            let conversation = message.conversation_id.clone();
            tokio::spawn(async move {
                let answer = this.commands.run(&command, &conversation).await;
                this.answer(&item, answer).await;
            });
            return;
        }
        self.queues.enqueue(item);
    }

    /// Marks a refused message handled without answering it again.
    fn settle_silently(&self, item: &InboxItem) {
        let store = self.replies.store().clone();
        let msg_id = item.message.msg_id.clone();
        tokio::spawn(async move {
            if let Err(err) = store.set_state(&msg_id, InboxState::Done, None).await {
                tracing::error!(code = err.code(), error = %err, "cannot settle refused message");
            }
        });
    }

    async fn answer(&self, item: &InboxItem, text: String) {
        let route = Route::from_message(&item.message);
        if let Err(err) = self
            .replies
            .send(
                &route,
                &text,
                MessageFormat::Markdown,
                item.message.msg_id.clone(),
                true,
            )
            .await
        {
            tracing::error!(code = err.code(), error = %err, "cannot queue answer");
        }
    }
}
