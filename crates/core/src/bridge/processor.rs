//! One inbound message to completion: ask the agent, send its reply, mark the inbox row done. Transient
//! failures are retried with backoff (the agent's answer is kept, so a failed send never re-runs the agent);
//! only permanent failures mark the row failed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backon::{BackoffBuilder, ExponentialBuilder};
use tokio_util::sync::CancellationToken;

use super::queues::ItemProcessor;
use crate::agent::{AgentBackend, AgentReply, AgentRequest};
use crate::dingtalk::send::{SendError, WebhookSender};
use crate::events::{Event, EventBus};
use crate::metrics::Metrics;
use crate::store::{InboxItem, InboxState, Store};

pub struct ReplyProcessor {
    pub agent: Arc<dyn AgentBackend>,
    pub sender: WebhookSender,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub events: EventBus,
    pub retry_delay: Duration,
}

impl ReplyProcessor {
    fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        ExponentialBuilder::default()
            .with_min_delay(self.retry_delay)
            .with_max_delay(Duration::from_secs(60))
            .with_jitter()
            .without_max_times()
            .build()
    }

    async fn ask_agent(&self, item: &InboxItem, cancel: &CancellationToken) -> Option<AgentReply> {
        let message = &item.message;
        let mut backoff = self.backoff();
        loop {
            self.events.publish(Event::AgentStarted {
                msg_id: message.msg_id.clone(),
                conversation_id: message.conversation_id.clone(),
            });
            let started = Instant::now();
            let result = tokio::select! {
                _ = cancel.cancelled() => return None,
                result = self.agent.respond(AgentRequest::from_message(message), tokio::sync::mpsc::unbounded_channel().0) => result,
            };
            match result {
                Ok(reply) => {
                    self.metrics.agent_replied.inc();
                    self.events.publish(Event::AgentReplied {
                        msg_id: message.msg_id.clone(),
                        conversation_id: message.conversation_id.clone(),
                        preview: reply.text.chars().take(80).collect(),
                        duration_ms: started.elapsed().as_millis() as u64,
                    });
                    return Some(reply);
                }
                Err(err) => {
                    self.metrics.agent_failed.inc();
                    tracing::warn!(code = err.code(), error = %err, msg_id = message.msg_id, "agent turn failed; will retry");
                    self.events.publish(Event::AgentFailed {
                        msg_id: message.msg_id.clone(),
                        conversation_id: message.conversation_id.clone(),
                        error: err.to_string(),
                    });
                    let _ = self
                        .store
                        .set_state(&message.msg_id, InboxState::Queued, Some(err.to_string()))
                        .await;
                    if !sleep_or_cancel(backoff.next(), cancel).await {
                        return None;
                    }
                }
            }
        }
    }

    async fn deliver(
        &self,
        item: &InboxItem,
        reply: &AgentReply,
        cancel: &CancellationToken,
    ) -> Result<usize, SendError> {
        let message = &item.message;
        let title: String = reply
            .text
            .lines()
            .next()
            .unwrap_or("reply")
            .chars()
            .take(40)
            .collect();
        let mut backoff = self.backoff();
        loop {
            let result = self
                .sender
                .send_markdown(
                    message.session_webhook.as_deref(),
                    message.session_webhook_expires_ms,
                    &title,
                    &reply.text,
                )
                .await;
            match result {
                Err(err) if err.is_transient() => {
                    tracing::warn!(code = err.code(), error = %err, msg_id = message.msg_id, "reply not sent yet; will retry");
                    if !sleep_or_cancel(backoff.next(), cancel).await {
                        return Err(err);
                    }
                }
                other => return other,
            }
        }
    }
}

#[async_trait]
impl ItemProcessor for ReplyProcessor {
    async fn process(&self, item: InboxItem, cancel: CancellationToken) {
        let message = &item.message;
        let Some(reply) = self.ask_agent(&item, &cancel).await else {
            return; // shutting down: stays queued, replayed next start
        };
        match self.deliver(&item, &reply, &cancel).await {
            Ok(bytes) => {
                tracing::info!(
                    msg_id = message.msg_id,
                    conversation = message.conversation_id,
                    bytes,
                    "reply sent"
                );
                self.metrics.replies_sent.inc();
                self.events.publish(Event::ReplySent {
                    msg_id: message.msg_id.clone(),
                    conversation_id: message.conversation_id.clone(),
                    bytes,
                });
                self.settle(&message.msg_id, InboxState::Done, None).await;
            }
            Err(err) if err.is_transient() => {} // cancelled mid-retry: replayed next start
            Err(err) => {
                self.metrics.replies_failed.inc();
                tracing::warn!(code = err.code(), error = %err, msg_id = message.msg_id, "reply failed permanently");
                self.events.publish(Event::ReplyFailed {
                    msg_id: message.msg_id.clone(),
                    conversation_id: message.conversation_id.clone(),
                    error: err.to_string(),
                });
                self.settle(&message.msg_id, InboxState::Failed, Some(err.to_string()))
                    .await;
            }
        }
    }
}

impl ReplyProcessor {
    async fn settle(&self, msg_id: &str, state: InboxState, error: Option<String>) {
        if let Err(err) = self.store.set_state(msg_id, state, error).await {
            tracing::error!(code = err.code(), error = %err, msg_id, "cannot record message outcome");
        }
    }
}

async fn sleep_or_cancel(delay: Option<Duration>, cancel: &CancellationToken) -> bool {
    let delay = delay.unwrap_or(Duration::from_secs(60));
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}
