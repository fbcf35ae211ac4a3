//! One conversation as the dashboard's conversation view shows it (issue 9): its newest messages in and out,
//! in the order they happened, each reply part with its delivery record; the sends of the current pacing
//! window; and the one write the view makes, putting a failed send back in the outbox.
//!
//! Invariants:
//! - Messages come back oldest first, at most [`MAX_MESSAGES`], read through `inbox_by_conversation` and
//!   `outbox_conversation` (never a scan of all messages).
//! - A retried row goes back to `pending` only if it was `failed`: a retry can never send a row twice.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::outbox::{OutboundMessage, OutboxItem};
use super::{Store, StoreError};
use crate::dingtalk::BotMessage;

/// The most messages one view answers with.
pub const MAX_MESSAGES: usize = 500;

/// One message of the conversation, in (from DingTalk) or out (sent by DingBridge).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessageView {
    /// "in" or "out".
    pub direction: &'static str,
    /// The DingTalk msgId (in) or `out-<outbox id>` (out).
    pub id: String,
    pub outbox_id: Option<i64>,
    pub sender: String,
    pub text: String,
    /// Received (in) or written to the outbox (out).
    pub at_ms: i64,
    /// in: queued | done | failed; out: pending | sent | failed.
    pub state: String,
    /// Why it failed (the DingTalk error for a send).
    pub error: Option<String>,
    /// out: how it went — "webhook", "oto" / "group" (OpenAPI).
    pub channel: Option<String>,
    pub sent_at_ms: Option<i64>,
    /// out: part `part` of `parts` of one reply.
    pub part: Option<u32>,
    pub parts: Option<u32>,
    pub attempts: u32,
    /// out: the inbound message this part answers.
    pub reply_to: Option<String>,
}

/// A conversation's newest messages, oldest first, and whether older ones exist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MessagePage {
    pub messages: Vec<MessageView>,
    pub has_more: bool,
}

/// Sends of the conversation inside the pacing window that ends now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendWindow {
    pub sent: u64,
    pub last_sent_at_ms: Option<i64>,
}

impl Store {
    /// The conversation's newest `limit` messages in and out, oldest first.
    pub async fn conversation_messages(
        &self,
        conversation_id: &str,
        limit: usize,
    ) -> Result<MessagePage, StoreError> {
        let id = conversation_id.to_owned();
        self.read(move |conn| messages(conn, &id, limit.clamp(1, MAX_MESSAGES)))
            .await
    }

    /// Sends since `since_ms` in this conversation.
    pub async fn send_window(
        &self,
        conversation_id: &str,
        since_ms: i64,
    ) -> Result<SendWindow, StoreError> {
        let id = conversation_id.to_owned();
        self.read(move |conn| send_window(conn, &id, since_ms))
            .await
    }

    /// Puts the failed outbox row `outbox_id` of this conversation back to `pending` and returns it for the
    /// outbox to send. `None`: no such failed row (unknown, another conversation's, pending or already sent).
    pub async fn requeue_failed_send(
        &self,
        conversation_id: &str,
        outbox_id: i64,
    ) -> Result<Option<OutboxItem>, StoreError> {
        let id = conversation_id.to_owned();
        self.misc_call(move |conn| requeue_failed(conn, &id, outbox_id))
            .await
    }
}

type InRow = (String, i64, String, Option<String>, String);
type OutRow = (
    i64,
    Option<String>,
    u32,
    u32,
    String,
    u32,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
    String,
);

pub(super) fn messages(
    conn: &Connection,
    conversation_id: &str,
    limit: usize,
) -> Result<MessagePage, StoreError> {
    // One more than asked tells whether older messages exist.
    let fetch = (limit + 1) as i64;
    let mut inbound = conn.prepare_cached(
        "SELECT msg_id, received_at_ms, state, last_error, message_json FROM inbox
         WHERE conversation_id = ?1 ORDER BY seq DESC LIMIT ?2",
    )?;
    let in_rows = inbound
        .query_map(params![conversation_id, fetch], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ))
        })?
        .collect::<Result<Vec<InRow>, _>>()?;
    let mut outbound = conn.prepare_cached(
        "SELECT id, source_msg_id, part, parts, state, attempts, last_error, created_at_ms, sent_at_ms, channel,
                message_json
         FROM outbox WHERE conversation_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let out_rows = outbound
        .query_map(params![conversation_id, fetch], |row| {
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get(6)?,
                row.get(7)?,
                row.get(8)?,
                row.get(9)?,
                row.get(10)?,
            ))
        })?
        .collect::<Result<Vec<OutRow>, _>>()?;

    let mut all = Vec::with_capacity(in_rows.len() + out_rows.len());
    for (msg_id, at_ms, state, error, json) in in_rows {
        // A row that no longer decodes is still shown (as such) rather than hiding the whole conversation.
        let (sender, text) = match serde_json::from_str::<BotMessage>(&json) {
            Ok(message) => (message.sender_nick.clone(), message.prompt_text()),
            Err(_) => (String::new(), String::new()),
        };
        all.push(MessageView {
            direction: "in",
            id: msg_id,
            outbox_id: None,
            sender,
            text,
            at_ms,
            state,
            error,
            channel: None,
            sent_at_ms: None,
            part: None,
            parts: None,
            attempts: 0,
            reply_to: None,
        });
    }
    for (id, source, part, parts, state, attempts, error, created, sent, channel, json) in out_rows
    {
        let text = serde_json::from_str::<OutboundMessage>(&json)
            .map(|message| message.body.content().to_owned())
            .unwrap_or_default();
        all.push(MessageView {
            direction: "out",
            id: format!("out-{id}"),
            outbox_id: Some(id),
            sender: "DingBridge".into(),
            text,
            at_ms: created,
            state,
            error,
            channel,
            sent_at_ms: sent,
            part: Some(part),
            parts: Some(parts),
            attempts,
            reply_to: source,
        });
    }
    // Time order; at the same millisecond a question comes before its answer, and parts keep their order.
    all.sort_by(|a, b| {
        a.at_ms
            .cmp(&b.at_ms)
            .then_with(|| a.outbox_id.is_some().cmp(&b.outbox_id.is_some()))
            .then_with(|| a.outbox_id.cmp(&b.outbox_id))
    });
    let has_more = all.len() > limit;
    let skip = all.len().saturating_sub(limit);
    let messages = all.split_off(skip);
    Ok(MessagePage { messages, has_more })
}

pub(super) fn send_window(
    conn: &Connection,
    conversation_id: &str,
    since_ms: i64,
) -> Result<SendWindow, StoreError> {
    let (sent, last): (i64, Option<i64>) = conn
        .prepare_cached(
            "SELECT COUNT(*), MAX(sent_at_ms) FROM outbox
             WHERE conversation_id = ?1 AND state = 'sent' AND sent_at_ms >= ?2",
        )?
        .query_row(params![conversation_id, since_ms], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    Ok(SendWindow {
        sent: sent.max(0) as u64,
        last_sent_at_ms: last,
    })
}

pub(super) fn requeue_failed(
    conn: &Connection,
    conversation_id: &str,
    outbox_id: i64,
) -> Result<Option<OutboxItem>, StoreError> {
    let row = conn
        .query_row(
            "SELECT source_msg_id, part, parts, attempts, created_at_ms, message_json FROM outbox
             WHERE id = ?1 AND conversation_id = ?2 AND state = 'failed'",
            params![outbox_id, conversation_id],
            |row| {
                Ok((
                    row.get::<_, Option<String>>(0)?,
                    row.get::<_, u32>(1)?,
                    row.get::<_, u32>(2)?,
                    row.get::<_, u32>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, String>(5)?,
                ))
            },
        )
        .optional()?;
    let Some((source_msg_id, part, parts, attempts, created_at_ms, json)) = row else {
        return Ok(None);
    };
    // Decoded before the row changes state: a row that cannot be sent stays `failed` with its reason.
    let message: OutboundMessage =
        serde_json::from_str(&json).map_err(|err| StoreError::Decode(err.to_string()))?;
    let changed = conn.execute(
        "UPDATE outbox SET state = 'pending', last_error = NULL
         WHERE id = ?1 AND conversation_id = ?2 AND state = 'failed'",
        params![outbox_id, conversation_id],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    Ok(Some(OutboxItem {
        id: outbox_id,
        conversation_id: conversation_id.to_owned(),
        source_msg_id,
        part,
        parts,
        attempts,
        created_at_ms,
        message,
    }))
}

impl Store {
    /// The agent session serving this conversation now: `(backend, session id)`.
    pub async fn current_agent_session(
        &self,
        conversation_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let id = conversation_id.to_owned();
        self.read(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT backend, session_id FROM agent_sessions WHERE conversation_id = ?1
                     ORDER BY created_at_ms DESC LIMIT 1",
                    params![id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?)
        })
        .await
    }
}

impl Store {
    /// Conversations that have an agent session now.
    pub async fn agent_session_count(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let count: i64 =
                conn.query_row("SELECT COUNT(*) FROM agent_sessions", [], |row| row.get(0))?;
            Ok(count.max(0) as u64)
        })
        .await
    }
}
