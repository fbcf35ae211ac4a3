use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::inbox::{InboxItem, InboxState};
use crate::api::status::ConversationSummary;
use crate::dingtalk::BotMessage;

/// A row whose stored JSON no longer decodes (damaged, or written by a newer release): set aside, not fatal.
pub(super) struct Undecodable<K> {
    pub key: K,
    pub error: String,
}

/// Queued inbox items in arrival order, and the rows among them that cannot be decoded.
pub(super) fn unfinished(
    conn: &Connection,
) -> Result<(Vec<InboxItem>, Vec<Undecodable<String>>), StoreError> {
    let mut stmt = conn.prepare(
        "SELECT seq, received_at_ms, attempts, message_json, msg_id FROM inbox WHERE state = 'queued' ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, u32>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
        ))
    })?;
    let mut items = Vec::new();
    let mut bad = Vec::new();
    for row in rows {
        let (seq, received_at_ms, attempts, json, msg_id) = row?;
        match serde_json::from_str::<BotMessage>(&json) {
            Ok(message) => items.push(InboxItem {
                seq,
                message,
                received_at_ms,
                attempts,
            }),
            Err(err) => bad.push(Undecodable {
                key: msg_id,
                error: err.to_string(),
            }),
        }
    }
    Ok((items, bad))
}

pub(super) fn state_of(conn: &Connection, msg_id: &str) -> Result<Option<InboxState>, StoreError> {
    let state: Option<String> = conn
        .query_row(
            "SELECT state FROM inbox WHERE msg_id = ?1",
            params![msg_id],
            |row| row.get(0),
        )
        .optional()?;
    Ok(state.and_then(|text| InboxState::parse(&text)))
}

pub(super) fn conversations(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<ConversationSummary>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT conversation_id, title, kind, last_message_at_ms, last_preview, messages
         FROM conversations ORDER BY last_message_at_ms DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map(params![limit as i64], |row| {
        Ok(ConversationSummary {
            conversation_id: row.get(0)?,
            title: row.get(1)?,
            kind: row.get(2)?,
            last_message_at_ms: row.get(3)?,
            last_preview: row.get(4)?,
            messages: row.get::<_, i64>(5)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(super) fn counter(conn: &Connection, month: &str, name: &str) -> Result<u64, StoreError> {
    let value: Option<i64> = conn
        .query_row(
            "SELECT value FROM counters WHERE month = ?1 AND name = ?2",
            params![month, name],
            |row| row.get(0),
        )
        .optional()?;
    Ok(value.unwrap_or(0).max(0) as u64)
}

/// The newest message of the conversation whose answer was interrupted (`failed` with `error`).
pub(super) fn latest_failed_with(
    conn: &Connection,
    conversation_id: &str,
    error: &str,
) -> Result<Option<InboxItem>, StoreError> {
    let row = conn
        .query_row(
            "SELECT seq, received_at_ms, attempts, message_json FROM inbox
             WHERE conversation_id = ?1 AND state = 'failed' AND last_error = ?2
             ORDER BY seq DESC LIMIT 1",
            rusqlite::params![conversation_id, error],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, u32>(2)?,
                    row.get::<_, String>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((seq, received_at_ms, attempts, json)) = row else {
        return Ok(None);
    };
    let message: BotMessage =
        serde_json::from_str(&json).map_err(|err| StoreError::Decode(err.to_string()))?;
    Ok(Some(InboxItem {
        seq,
        message,
        received_at_ms,
        attempts,
    }))
}
