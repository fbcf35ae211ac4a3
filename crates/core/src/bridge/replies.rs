//! Everything DingBridge says in a conversation goes through here: split into readable parts, written to the
//! durable outbox (atomically with "this inbox message is answered"), then paced out by the outbox workers.

use serde::{Deserialize, Serialize};

use super::chunking::chunk_markdown_for;
use super::outbox::Outbox;
use crate::dingtalk::BotMessage;
use crate::dingtalk::send::{
    GROUP_MSG_PARAM_MAX_BYTES, OTO_MSG_PARAM_MAX_BYTES, WEBHOOK_MAX_BODY_BYTES, markdown_body_len,
};
use crate::store::{
    MessageBody, NewOutboxItem, OutboundMessage, OutboxItem, Route, Store, StoreError,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MessageFormat {
    Text,
    #[default]
    Markdown,
}

#[derive(Clone)]
pub struct Replies {
    store: Store,
    outbox: Outbox,
    chunk_chars: usize,
}

impl Route {
    pub fn from_message(message: &BotMessage) -> Self {
        Self {
            conversation_id: message.conversation_id.clone(),
            kind: message.conversation_kind,
            staff_id: message.sender_staff_id.clone(),
            sender_nick: message.sender_nick.clone(),
            session_webhook: message.session_webhook.clone(),
            webhook_expires_ms: message.session_webhook_expires_ms,
        }
    }
}

/// A worst-case title for measuring: 40 CJK characters (titles are cut to 40 characters).
const WORST_TITLE: &str =
    "标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标标";

/// Splits a reply so every part fits *both* channels it may take: the sessionWebhook JSON body
/// (≤ 20,000 bytes) and the OpenAPI msgParam (≤ 15,000 bytes), measured on the real serialisation.
/// A blank text gives no parts: DingTalk rejects an empty message, and every caller writes real text in the
/// conversation's language (an agent turn without text becomes the catalogue's `agent.empty_reply`).
fn split_for_send(text: &str, readable_chars: usize) -> Vec<String> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    let over_webhook =
        WEBHOOK_MAX_BODY_BYTES - OTO_MSG_PARAM_MAX_BYTES.min(GROUP_MSG_PARAM_MAX_BYTES);
    let limit = OTO_MSG_PARAM_MAX_BYTES.min(GROUP_MSG_PARAM_MAX_BYTES);
    let body_len = |part: &str| {
        let webhook = markdown_body_len(WORST_TITLE, part).saturating_sub(over_webhook);
        let param = MessageBody::markdown(WORST_TITLE, part).msg_param_len();
        webhook.max(param)
    };
    chunk_markdown_for(text, readable_chars.max(200), limit, body_len)
        .into_iter()
        .map(|chunk| chunk.text)
        .collect()
}

/// Title DingTalk shows in the conversation list: the first non-empty line, without markdown markers.
fn title_of(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("DingBridge");
    let clean = line.trim_start_matches(['#', '>', '*', '-', ' ', '`']);
    let title: String = clean.chars().take(40).collect();
    if title.is_empty() {
        "DingBridge".into()
    } else {
        title
    }
}

impl Replies {
    pub fn new(store: Store, outbox: Outbox, chunk_chars: usize) -> Self {
        Self {
            store,
            outbox,
            chunk_chars,
        }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Queues `text` for `route`. `source` makes the send idempotent (re-queuing the same source is a no-op);
    /// `complete_inbox` marks the inbound message `source` answered in the same transaction (also for a blank
    /// text, which queues nothing).
    pub async fn send(
        &self,
        route: &Route,
        text: &str,
        format: MessageFormat,
        source: String,
        complete_inbox: bool,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let items = self.parts(route, text, format, &source);
        let created = self
            .store
            .enqueue_outbox(items, complete_inbox.then_some(source))
            .await?;
        self.outbox.push(created.clone());
        Ok(created)
    }

    /// The outbox rows that carry `text` (split for sending).
    fn parts(
        &self,
        route: &Route,
        text: &str,
        format: MessageFormat,
        source: &str,
    ) -> Vec<NewOutboxItem> {
        let parts = split_for_send(text, self.chunk_chars);
        let count = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        parts
            .into_iter()
            .enumerate()
            .map(|(index, part)| NewOutboxItem {
                source_msg_id: Some(source.to_owned()),
                part: u32::try_from(index).map_or(u32::MAX, |i| i.saturating_add(1)),
                parts: count,
                message: OutboundMessage {
                    body: match format {
                        MessageFormat::Markdown => MessageBody::Markdown {
                            title: title_of(&part),
                            text: part,
                        },
                        MessageFormat::Text => MessageBody::Text { content: part },
                    },
                    route: route.clone(),
                },
            })
            .collect()
    }
}

impl Replies {
    /// Settles a message whose answer went into an AI card: the card's text is kept in the history as
    /// delivered (`<msg_id>#card`, channel `card`), `remainder` (what did not fit the card, may be empty) is
    /// queued as markdown, and the message is marked answered, all in one transaction. A crash can no
    /// longer leave the card's text `pending` in the outbox, to be re-sent as markdown on the next start.
    pub async fn settle_card_answer(
        &self,
        route: &Route,
        card_text: &str,
        remainder: &str,
        msg_id: &str,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let record = NewOutboxItem {
            source_msg_id: Some(format!("{msg_id}#card")),
            part: 1,
            parts: 1,
            message: OutboundMessage {
                body: MessageBody::Markdown {
                    title: title_of(card_text),
                    text: card_text.to_owned(),
                },
                route: route.clone(),
            },
        };
        let items = if remainder.is_empty() {
            Vec::new()
        } else {
            self.parts(route, remainder, MessageFormat::Markdown, msg_id)
        };
        let created = self
            .store
            .enqueue_outbox_after(
                Some((record, "card".to_owned())),
                items,
                Some(msg_id.to_owned()),
            )
            .await?;
        self.outbox.push(created.clone());
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::title_of;

    #[test]
    fn every_part_of_a_long_cjk_reply_fits_both_channels() {
        let text = "## 构建报告\n\n".to_owned() + &"测试失败：\"quoted\" line\n".repeat(4_000);
        let parts = super::split_for_send(&text, 3_800);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(
                super::markdown_body_len(super::WORST_TITLE, part) <= super::WEBHOOK_MAX_BODY_BYTES
            );
            assert!(
                super::MessageBody::markdown(super::WORST_TITLE, part).msg_param_len() <= 15_000
            );
        }
    }

    #[test]
    fn a_blank_text_gives_no_parts_to_send() {
        assert!(super::split_for_send(" \n\t", 3_800).is_empty());
    }

    #[test]
    fn title_is_the_first_meaningful_line_without_markdown() {
        assert_eq!(title_of("\n## Build failed\nbody"), "Build failed");
        assert_eq!(title_of("   "), "DingBridge");
    }
}
