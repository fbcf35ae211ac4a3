//! One inbound message to completion: ask the agent (relaying its permission asks and questions to the chat),
//! then hand the answer to the outbox in the same transaction that marks the message answered. From then on
//! a crash resumes delivery, never the agent turn. An unreachable agent gets the user a short notice once and
//! the turn is retried with backoff; nothing is dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use tokio_util::sync::CancellationToken;

use super::attachments::Attachments;
use super::cards::CardReplies;
use super::language::ChatLanguages;
use super::permissions::PermissionBroker;
use super::persist;
use super::queues::ItemProcessor;
use super::replies::{MessageFormat, Replies};
use crate::agent::{
    AgentAttachment, AgentBackend, AgentError, AgentReply, AgentRequest, AgentUpdate,
};
use crate::dingtalk::cards::{CardError, CardStreamer};
use crate::events::{Event, EventBus};
use crate::i18n::{ChatKey, ChatText, Lang};
use crate::metrics::Metrics;
use crate::store::{InboxItem, InboxState, Route, Store};

/// How long shutdown waits for the agent to confirm an abort.
const SHUTDOWN_ABORT_WAIT: Duration = Duration::from_secs(3);

/// The inbox error that marks a message `/retry` can run again.
pub const INTERRUPTED: &str = "interrupted";

pub struct ReplyProcessor {
    pub agent: Arc<dyn AgentBackend>,
    pub replies: Replies,
    pub cards: Arc<CardReplies>,
    pub permissions: Arc<PermissionBroker>,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub events: EventBus,
    pub retry_delay: Duration,
    /// Fetches the message's files before the turn.
    pub attachments: Attachments,
    /// The language of the notes the bridge itself writes into the chat.
    pub languages: ChatLanguages,
}

enum TurnOutcome {
    Reply(AgentReply, Option<CardStreamer>),
    Failed(AgentError, Option<CardStreamer>),
    Cancelled,
}

impl ReplyProcessor {
    /// The answer went into the AI card: history, the markdown remainder and the message's state are
    /// written in one transaction (see `Replies::settle_card_answer`), retried until stored.
    async fn settle_card_answer(
        &self,
        route: &Route,
        msg_id: &str,
        text: &str,
        remainder: &str,
        cancel: &CancellationToken,
    ) {
        persist::until_stored("the card answer", msg_id, cancel, || {
            self.replies
                .settle_card_answer(route, text, remainder, msg_id)
        })
        .await;
    }

    async fn run_turn(
        &self,
        item: &InboxItem,
        route: &Route,
        cancel: &CancellationToken,
        files: &[AgentAttachment],
    ) -> TurnOutcome {
        let message = &item.message;
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry_delay)
            .with_max_delay(Duration::from_secs(60))
            .with_jitter()
            .without_max_times()
            .build();
        let mut told_unavailable = false;
        let lang = self.languages.of(&message.conversation_id).await;
        loop {
            self.events.publish(Event::AgentStarted {
                msg_id: message.msg_id.clone(),
                conversation_id: message.conversation_id.clone(),
            });
            let started = Instant::now();
            let (updates, relay_rx) = crate::agent::update_channel();
            let relay = tokio::spawn(relay_updates(
                relay_rx,
                Relay {
                    replies: self.replies.clone(),
                    cards: self.cards.clone(),
                    permissions: self.permissions.clone(),
                    route: route.clone(),
                    msg_id: message.msg_id.clone(),
                    events: self.events.clone(),
                    lang,
                },
            ));
            let request = AgentRequest::from_message(message).with_attachments(files.to_vec());
            let respond = self.agent.respond(request, updates);
            tokio::pin!(respond);
            let result = tokio::select! {
                _ = cancel.cancelled() => {
                    // Shutdown gave up waiting: stop the agent's turn too (while `respond` still knows it),
                    // so nothing runs on unobserved. The next start finds the turn in the agent's record.
                    match tokio::time::timeout(SHUTDOWN_ABORT_WAIT, self.agent.abort(&message.conversation_id)).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(err)) => tracing::warn!(code = err.code(), error = %err, "cannot abort the agent turn at shutdown"),
                        Err(_) => tracing::warn!("the agent did not confirm the abort at shutdown"),
                    }
                    None
                }
                result = &mut respond => Some(result),
            };
            // The sender was moved into `respond`; the relay ends once it is dropped.
            let card = match relay.await {
                Ok(card) => card,
                Err(err) => {
                    // The relay task panicked: the answer still goes out, as markdown.
                    tracing::error!(msg_id = message.msg_id, error = %err, "the turn's progress relay failed; answering without a card");
                    None
                }
            };
            match result {
                None => return TurnOutcome::Cancelled,
                Some(Ok(reply)) => {
                    self.metrics.agent_replied.inc();
                    self.metrics.record_turn(started.elapsed());
                    self.events.publish(Event::AgentReplied {
                        msg_id: message.msg_id.clone(),
                        conversation_id: message.conversation_id.clone(),
                        preview: reply.text.chars().take(80).collect(),
                        duration_ms: started.elapsed().as_millis() as u64,
                    });
                    return TurnOutcome::Reply(reply, card);
                }
                Some(Err(AgentError::Unavailable(reason))) => {
                    self.metrics.agent_failed.inc();
                    tracing::warn!(
                        msg_id = message.msg_id,
                        reason,
                        "agent unavailable; will retry"
                    );
                    self.events.publish(Event::AgentFailed {
                        msg_id: message.msg_id.clone(),
                        conversation_id: message.conversation_id.clone(),
                        error: reason.clone(),
                    });
                    self.metrics.waiting_for_agent.waiting(
                        &message.msg_id,
                        &message.conversation_id,
                        &reason,
                    );
                    // Only bookkeeping (attempts, last error): the item is `queued` either way.
                    if let Err(err) = self
                        .store
                        .set_state(&message.msg_id, InboxState::Queued, Some(reason.clone()))
                        .await
                    {
                        tracing::warn!(code = err.code(), error = %err, msg_id = message.msg_id, "cannot record the agent's unavailability");
                    }
                    if !told_unavailable {
                        told_unavailable = true;
                        self.events.publish(Event::AgentUnreachable {
                            conversation_id: message.conversation_id.clone(),
                            reason: reason.clone(),
                        });
                        let notice = ChatText::render(
                            lang,
                            ChatKey::AgentUnreachable,
                            &[("reason", &reason)],
                        );
                        let source = format!("{}#unavailable", message.msg_id);
                        if let Err(err) = self
                            .replies
                            .send(route, &notice, MessageFormat::Markdown, source, false)
                            .await
                        {
                            tracing::error!(code = err.code(), error = %err, "cannot queue unavailable notice");
                        }
                    }
                    let delay = backoff.next().unwrap_or(Duration::from_secs(60));
                    tokio::select! {
                        _ = cancel.cancelled() => return TurnOutcome::Cancelled,
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Some(Err(err)) => {
                    self.metrics.agent_failed.inc();
                    self.events.publish(Event::AgentFailed {
                        msg_id: message.msg_id.clone(),
                        conversation_id: message.conversation_id.clone(),
                        error: err.to_string(),
                    });
                    return TurnOutcome::Failed(err, card);
                }
            }
        }
    }
}

#[async_trait]
impl ItemProcessor for ReplyProcessor {
    async fn panicked(&self, item: InboxItem, panic: String, cancel: CancellationToken) {
        let message = &item.message;
        self.metrics.waiting_for_agent.done(&message.msg_id);
        self.metrics.agent_failed.inc();
        self.events.publish(Event::AgentFailed {
            msg_id: message.msg_id.clone(),
            conversation_id: message.conversation_id.clone(),
            error: format!("internal error: {panic}"),
        });
        let route = Route::from_message(message);
        let lang = self.languages.of(&message.conversation_id).await;
        let note = ChatText::get(lang, ChatKey::InternalError);
        let source = format!("{}#panic", message.msg_id);
        persist::until_stored("the failure note", &message.msg_id, &cancel, || {
            self.replies.send(
                &route,
                &note,
                MessageFormat::Markdown,
                source.clone(),
                false,
            )
        })
        .await;
        persist::until_stored("the message's state", &message.msg_id, &cancel, || {
            self.store.set_state(
                &message.msg_id,
                InboxState::Failed,
                Some(format!("internal error: {panic}")),
            )
        })
        .await;
    }

    async fn process(&self, item: InboxItem, cancel: CancellationToken) {
        let message = &item.message;
        let route = Route::from_message(message);
        let lang = self.languages.of(&message.conversation_id).await;
        if let Some(answer) = Attachments::unsupported_answer(message, lang) {
            persist::until_stored("the reply", &message.msg_id, &cancel, || {
                self.replies.send(
                    &route,
                    &answer,
                    MessageFormat::Markdown,
                    message.msg_id.clone(),
                    true,
                )
            })
            .await;
            return;
        }
        // Cancelled by shutdown: the message stays queued and is replayed on the next start.
        let Some(files) = self
            .attachments
            .prepare(message, &route, lang, &cancel)
            .await
        else {
            return;
        };
        let outcome = match self.run_turn(&item, &route, &cancel, &files).await {
            // A turn that only ran tools: say so in the chat's language (an empty text means "/stop" below).
            TurnOutcome::Reply(mut reply, card) if reply.text.trim().is_empty() => {
                reply.text = ChatText::get(lang, ChatKey::EmptyReply);
                TurnOutcome::Reply(reply, card)
            }
            outcome => outcome,
        };
        self.metrics.waiting_for_agent.done(&message.msg_id);
        let (text, ok) = match outcome {
            TurnOutcome::Cancelled => return, // stays queued; replayed on the next start
            TurnOutcome::Reply(reply, None) => (reply.text, true),
            TurnOutcome::Reply(reply, Some(card)) => {
                match self.cards.finish(card, &reply.text, lang).await {
                    // The card holds the answer (or its beginning); markdown carries what did not fit.
                    Ok(finish) => {
                        self.settle_card_answer(
                            &route,
                            &message.msg_id,
                            &reply.text,
                            &finish.remainder,
                            &cancel,
                        )
                        .await;
                        return;
                    }
                    Err(_) => (reply.text, true),
                }
            }
            TurnOutcome::Failed(AgentError::Aborted, card) => {
                if let Some(card) = card {
                    self.cards
                        .fail(card, &ChatText::get(lang, ChatKey::CardStopped))
                        .await;
                }
                (String::new(), false)
            }
            TurnOutcome::Failed(AgentError::Interrupted, card) => {
                if let Some(card) = card {
                    self.cards
                        .fail(card, &ChatText::get(lang, ChatKey::CardInterrupted))
                        .await;
                }
                self.settle_interrupted(&item, &route, lang, &cancel).await;
                return;
            }
            TurnOutcome::Failed(err, card) => {
                let note =
                    ChatText::render(lang, ChatKey::AgentFailed, &[("error", &err.to_string())]);
                let shown_in_card = match card {
                    Some(card) => self.cards.fail(card, &note).await,
                    None => false,
                };
                if shown_in_card {
                    (String::new(), false)
                } else {
                    (note, false)
                }
            }
        };
        if text.is_empty() {
            // Stopped with /stop: the command already answered; just settle the message.
            persist::until_stored("the message's state", &message.msg_id, &cancel, || {
                self.store
                    .set_state(&message.msg_id, InboxState::Done, None)
            })
            .await;
            return;
        }
        // The answer is in memory only: keep trying to store it rather than lose it (and re-run the turn).
        let queued = persist::until_stored("the reply", &message.msg_id, &cancel, || {
            self.replies.send(
                &route,
                &text,
                MessageFormat::Markdown,
                message.msg_id.clone(),
                true,
            )
        })
        .await;
        if queued.is_some() && !ok {
            tracing::warn!(
                msg_id = message.msg_id,
                "agent turn failed; the user was told"
            );
        }
    }
}

impl ReplyProcessor {
    /// Tells the chat once (the note's source id makes a replay a no-op) and leaves the message `failed`
    /// with [`INTERRUPTED`], where `/retry` finds it.
    async fn settle_interrupted(
        &self,
        item: &InboxItem,
        route: &Route,
        lang: Lang,
        cancel: &CancellationToken,
    ) {
        let msg_id = &item.message.msg_id;
        let note = ChatText::get(lang, ChatKey::Interrupted);
        let source = format!("{msg_id}#interrupted");
        let noted = persist::until_stored("the interrupted note", msg_id, cancel, || {
            self.replies
                .send(route, &note, MessageFormat::Markdown, source.clone(), false)
        })
        .await;
        if noted.is_none() {
            return;
        }
        persist::until_stored("the message's state", msg_id, cancel, || {
            self.store
                .set_state(msg_id, InboxState::Failed, Some(INTERRUPTED.to_owned()))
        })
        .await;
    }
}

struct Relay {
    replies: Replies,
    cards: Arc<CardReplies>,
    permissions: Arc<PermissionBroker>,
    route: Route,
    msg_id: String,
    events: EventBus,
    lang: Lang,
}

/// Relays a turn's progress while it runs: text into the AI card (created on the first text), permission
/// asks and questions into the chat. Returns the card, if one is still streaming, for the final answer.
async fn relay_updates(
    mut updates: crate::agent::UpdateReceiver,
    relay: Relay,
) -> Option<CardStreamer> {
    let Relay {
        replies,
        cards,
        permissions,
        route,
        msg_id,
        events,
        lang,
    } = relay;
    let mut card: Option<CardStreamer> = None;
    let mut card_tried = false;
    let mut card_full = false;
    while let Some(update) = updates.recv().await {
        let (text, source) = match update {
            AgentUpdate::Text(text) => {
                if !card_tried {
                    card_tried = true;
                    card = cards.start(&route, &msg_id).await;
                }
                if let Some(streamer) = &card
                    && !card_full
                {
                    match streamer.update(&text) {
                        Ok(()) => {}
                        // Past the safe size: the card stops growing; the rest goes as markdown at the end.
                        Err(CardError::TooLarge { .. }) => card_full = true,
                        Err(err) => {
                            cards.degrade(&err);
                            card = None;
                        }
                    }
                }
                continue;
            }
            AgentUpdate::PermissionAsked { id, summary } => {
                permissions.ask(&route.conversation_id, &id);
                events.publish(Event::PermissionRequested {
                    conversation_id: route.conversation_id.clone(),
                    permission_id: id.clone(),
                    summary: summary.clone(),
                });
                let minutes = permissions.timeout().as_secs().div_ceil(60);
                (
                    ChatText::render(
                        lang,
                        ChatKey::PermissionAsk,
                        &[
                            ("id", &id),
                            ("summary", &summary),
                            ("minutes", &minutes.to_string()),
                        ],
                    ),
                    format!("{msg_id}#permission-{id}"),
                )
            }
            AgentUpdate::QuestionAsked { id, question } => {
                permissions.ask_question(&route.conversation_id, &id);
                (
                    ChatText::render(lang, ChatKey::QuestionAsk, &[("question", &question)]),
                    format!("{msg_id}#question-{id}"),
                )
            }
        };
        if let Err(err) = replies
            .send(&route, &text, MessageFormat::Markdown, source, false)
            .await
        {
            tracing::error!(code = err.code(), error = %err, "cannot relay agent request");
        }
    }
    card
}
