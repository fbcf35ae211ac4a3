use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;
use super::inbox::{InboxItem, InboxState};
use crate::api::status::ConversationSummary;
use crate::dingtalk::BotMessage;

pub(super) fn unfinished(conn: &Connection) -> Result<Vec<InboxItem>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT seq, received_at_ms, attempts, message_json FROM inbox WHERE state = 'queued' ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, u32>(2)?,
            row.get::<_, String>(3)?,
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (seq, received_at_ms, attempts, json) = row?;
        let message: BotMessage =
            serde_json::from_str(&json).map_err(|err| StoreError::Decode(err.to_string()))?;
        items.push(InboxItem {
            seq,
            message,
            received_at_ms,
            attempts,
        });
    }
    Ok(items)
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
