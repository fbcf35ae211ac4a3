//! Durable outbox: every message DingBridge sends (agent replies, command answers, MCP sends) is written here
//! first, in the same transaction that marks its inbox item answered, then delivered by the paced sender.
//! A crash between the two resumes delivery instead of re-running the agent.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::dingtalk::ConversationKind;
use crate::time::now_ms;

/// The outbox stores the send layer's message body as is.
pub use crate::dingtalk::send::MessageBody;

/// Where and how a conversation can be reached, learned from its latest inbound message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub conversation_id: String,
    pub kind: ConversationKind,
    /// The 1:1 partner's userId (for `oToMessages/batchSend`).
    pub staff_id: Option<String>,
    pub sender_nick: String,
    pub session_webhook: Option<String>,
    pub webhook_expires_ms: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Pending,
    Sent,
    Failed,
}

impl OutboxState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutboundMessage {
    pub body: MessageBody,
    pub route: Route,
}

/// A message to add to the outbox. `(source_msg_id, part)` is unique, so re-enqueueing the answer to the
/// same inbound message (after a crash) is a no-op.
#[derive(Clone, Debug)]
pub struct NewOutboxItem {
    pub source_msg_id: Option<String>,
    pub part: u32,
    pub parts: u32,
    pub message: OutboundMessage,
}

#[derive(Clone, Debug)]
pub struct OutboxItem {
    pub id: i64,
    pub conversation_id: String,
    pub source_msg_id: Option<String>,
    pub part: u32,
    pub parts: u32,
    pub attempts: u32,
    pub created_at_ms: i64,
    pub message: OutboundMessage,
}

/// One line of a conversation's history, in or out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    /// "in" (from DingTalk) or "out" (sent by DingBridge).
    pub direction: String,
    pub id: String,
    pub sender: String,
    pub text: String,
    pub at_ms: i64,
    /// in: queued|done|failed; out: pending|sent|failed.
    pub state: String,
}

pub(super) fn enqueue(
    tx: &Connection,
    items: &[NewOutboxItem],
    complete_inbox: Option<&str>,
) -> Result<Vec<OutboxItem>, StoreError> {
    let now = now_ms();
    let mut created = Vec::with_capacity(items.len());
    for item in items {
        let json = serde_json::to_string(&item.message)
            .map_err(|err| StoreError::Decode(err.to_string()))?;
        let changed = tx.prepare_cached("INSERT OR IGNORE INTO outbox (conversation_id, source_msg_id, part, parts, state, created_at_ms, message_json)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?6)")?.execute(
            params![item.message.route.conversation_id, item.source_msg_id, item.part, item.parts, now, json],
        )?;
        if changed == 1 {
            created.push(OutboxItem {
                id: tx.last_insert_rowid(),
                conversation_id: item.message.route.conversation_id.clone(),
                source_msg_id: item.source_msg_id.clone(),
                part: item.part,
                parts: item.parts,
                attempts: 0,
                created_at_ms: now,
                message: item.message.clone(),
            });
        }
    }
    if let Some(msg_id) = complete_inbox {
        tx.prepare_cached("UPDATE inbox SET state = 'done', finished_at_ms = ?2, last_error = NULL WHERE msg_id = ?1")?.execute(
            params![msg_id, now],
        )?;
    }
    Ok(created)
}

/// Inserts a row that already reached the conversation another way (an AI card) as `sent`, in one
/// statement: there is no moment where it is `pending` (and would be sent again by a restart).
pub(super) fn record_sent(
    tx: &Connection,
    item: &NewOutboxItem,
    channel: &str,
) -> Result<(), StoreError> {
    let now = now_ms();
    let json =
        serde_json::to_string(&item.message).map_err(|err| StoreError::Decode(err.to_string()))?;
    tx.prepare_cached("INSERT OR IGNORE INTO outbox (conversation_id, source_msg_id, part, parts, state, created_at_ms, message_json, channel, sent_at_ms, attempts)
         VALUES (?1, ?2, ?3, ?4, 'sent', ?5, ?6, ?7, ?5, 1)")?.execute(
        params![item.message.route.conversation_id, item.source_msg_id, item.part, item.parts, now, json, channel],
    )?;
    Ok(())
}

pub(super) fn set_state(
    tx: &Connection,
    id: i64,
    state: OutboxState,
    error: Option<&str>,
    channel: Option<&str>,
) -> Result<(), StoreError> {
    let sent_at = (state == OutboxState::Sent).then(now_ms);
    tx.prepare_cached("UPDATE outbox SET state = ?2, last_error = ?3, channel = COALESCE(?4, channel), sent_at_ms = COALESCE(?5, sent_at_ms),
            attempts = attempts + 1
         WHERE id = ?1")?.execute(
        params![id, state.as_str(), error, channel, sent_at],
    )?;
    Ok(())
}

pub(super) fn upsert_route(tx: &Connection, route: &Route, at_ms: i64) -> Result<(), StoreError> {
    tx.prepare_cached("INSERT INTO conversation_routes (conversation_id, kind, staff_id, sender_nick, session_webhook, webhook_expires_ms, updated_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(conversation_id) DO UPDATE SET
            kind = excluded.kind,
            staff_id = COALESCE(excluded.staff_id, conversation_routes.staff_id),
            sender_nick = excluded.sender_nick,
            session_webhook = COALESCE(excluded.session_webhook, conversation_routes.session_webhook),
            webhook_expires_ms = COALESCE(excluded.webhook_expires_ms, conversation_routes.webhook_expires_ms),
            updated_at_ms = excluded.updated_at_ms")?.execute(
        params![
            route.conversation_id,
            route.kind.as_str(),
            // In a group the sender is not "the" recipient: only 1:1 conversations keep a staff id.
            (route.kind == ConversationKind::Single).then_some(route.staff_id.clone()).flatten(),
            route.sender_nick,
            route.session_webhook,
            route.webhook_expires_ms,
            at_ms,
        ],
    )?;
    Ok(())
}

/// Pending rows oldest first, and the ids of rows whose message no longer decodes.
pub(super) fn pending(
    conn: &Connection,
) -> Result<(Vec<OutboxItem>, Vec<super::reader::Undecodable<i64>>), StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, conversation_id, source_msg_id, part, parts, attempts, created_at_ms, message_json
         FROM outbox WHERE state = 'pending' ORDER BY id",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, u32>(3)?,
            row.get::<_, u32>(4)?,
            row.get::<_, u32>(5)?,
            row.get::<_, i64>(6)?,
            row.get::<_, String>(7)?,
        ))
    })?;
    let mut items = Vec::new();
    let mut bad = Vec::new();
    for row in rows {
        let (id, conversation_id, source_msg_id, part, parts, attempts, created_at_ms, json) = row?;
        let message = match serde_json::from_str(&json) {
            Ok(message) => message,
            Err(err) => {
                bad.push(super::reader::Undecodable {
                    key: id,
                    error: err.to_string(),
                });
                continue;
            }
        };
        items.push(OutboxItem {
            id,
            conversation_id,
            source_msg_id,
            part,
            parts,
            attempts,
            created_at_ms,
            message,
        });
    }
    Ok((items, bad))
}

pub(super) fn route(conn: &Connection, conversation_id: &str) -> Result<Option<Route>, StoreError> {
    conn.query_row(
        "SELECT conversation_id, kind, staff_id, sender_nick, session_webhook, webhook_expires_ms
         FROM conversation_routes WHERE conversation_id = ?1",
        params![conversation_id],
        |row| {
            let kind: String = row.get(1)?;
            Ok(Route {
                conversation_id: row.get(0)?,
                kind: if kind == "group" {
                    ConversationKind::Group
                } else {
                    ConversationKind::Single
                },
                staff_id: row.get(2)?,
                sender_nick: row.get(3)?,
                session_webhook: row.get(4)?,
                webhook_expires_ms: row.get(5)?,
            })
        },
    )
    .optional()
    .map_err(StoreError::from)
}

pub(super) fn route_for_staff(
    conn: &Connection,
    staff_id: &str,
) -> Result<Option<Route>, StoreError> {
    let id: Option<String> = conn
        .query_row(
            "SELECT conversation_id FROM conversation_routes WHERE staff_id = ?1 AND kind = 'single'
             ORDER BY updated_at_ms DESC LIMIT 1",
            params![staff_id],
            |row| row.get(0),
        )
        .optional()?;
    match id {
        Some(id) => route(conn, &id),
        None => Ok(None),
    }
}

/// Newest first: inbound messages (from the inbox) and outbound ones (from the outbox), merged by time.
pub(super) fn history(
    conn: &Connection,
    conversation_id: &str,
    limit: usize,
    before_ms: Option<i64>,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let before = before_ms.unwrap_or(i64::MAX);
    let mut entries = Vec::new();
    let mut inbound = conn.prepare(
        "SELECT msg_id, received_at_ms, state, message_json FROM inbox
         WHERE conversation_id = ?1 AND received_at_ms < ?2 ORDER BY received_at_ms DESC, seq DESC LIMIT ?3",
    )?;
    let rows = inbound.query_map(params![conversation_id, before, limit as i64], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (msg_id, at_ms, state, json) = row?;
        let message: crate::dingtalk::BotMessage =
            serde_json::from_str(&json).map_err(|err| StoreError::Decode(err.to_string()))?;
        entries.push(HistoryEntry {
            direction: "in".into(),
            id: msg_id,
            sender: message.sender_nick.clone(),
            text: message.prompt_text(),
            at_ms,
            state,
        });
    }
    let mut outbound = conn.prepare(
        "SELECT id, COALESCE(sent_at_ms, created_at_ms) AS at, state, message_json FROM outbox
         WHERE conversation_id = ?1 AND COALESCE(sent_at_ms, created_at_ms) < ?2 ORDER BY at DESC, id DESC LIMIT ?3",
    )?;
    let rows = outbound.query_map(params![conversation_id, before, limit as i64], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    for row in rows {
        let (id, at_ms, state, json) = row?;
        let message: OutboundMessage =
            serde_json::from_str(&json).map_err(|err| StoreError::Decode(err.to_string()))?;
        entries.push(HistoryEntry {
            direction: "out".into(),
            id: format!("out-{id}"),
            sender: "DingBridge".into(),
            text: message.body.content().to_owned(),
            at_ms,
            state,
        });
    }
    entries.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then_with(|| b.id.cmp(&a.id)));
    entries.truncate(limit);
    Ok(entries)
}
