//! The dashboard's conversation list (issue 9): one page of conversations, newest activity first, searched
//! and filtered in SQLite, with the total count of matches.
//!
//! Invariants:
//! - The SQL text is built only from fixed fragments; the user's search text reaches SQLite as a parameter.
//! - Every filter is answered by an index (`conversations_recent` for the order, the partial `*_waiting` /
//!   `*_failed` indexes for "waiting" and "failed"), so a page costs the same at 10,000 conversations.
//! - Per-row counts are computed for the page's rows only (at most [`MAX_PAGE`]).

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::api::status::ConversationSummary;

/// The largest page the list answers with.
pub const MAX_PAGE: usize = 200;
/// Rate-limited conversations passed to the query (the outbox's in-memory set; larger sets are cut here).
pub const MAX_RATE_LIMITED_IDS: usize = 1_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationFilter {
    #[default]
    All,
    /// A message waits for (or is with) the agent.
    WaitingAgent,
    /// A reply waits in the outbox.
    WaitingSend,
    /// The outbox waits for this conversation's rate limit right now.
    RateLimited,
    /// A send or an agent turn failed.
    Failed,
    Group,
    Single,
}

impl ConversationFilter {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "" | "all" => Self::All,
            "waiting_agent" => Self::WaitingAgent,
            "waiting_send" => Self::WaitingSend,
            "rate_limited" => Self::RateLimited,
            "failed" => Self::Failed,
            "group" => Self::Group,
            "single" => Self::Single,
            _ => return None,
        })
    }

    fn clause(self) -> &'static str {
        match self {
            Self::All => "1",
            Self::WaitingAgent => {
                "EXISTS (SELECT 1 FROM inbox i WHERE i.conversation_id = c.conversation_id AND i.state = 'queued')"
            }
            Self::WaitingSend => {
                "EXISTS (SELECT 1 FROM outbox o WHERE o.conversation_id = c.conversation_id AND o.state = 'pending')"
            }
            Self::RateLimited => "c.conversation_id IN (SELECT value FROM json_each(?2))",
            Self::Failed => {
                "(EXISTS (SELECT 1 FROM outbox o WHERE o.conversation_id = c.conversation_id AND o.state = 'failed')
                  OR EXISTS (SELECT 1 FROM inbox i WHERE i.conversation_id = c.conversation_id AND i.state = 'failed'))"
            }
            Self::Group => "c.kind = 'group'",
            Self::Single => "c.kind = 'single'",
        }
    }
}

/// What one page of the list asks for.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Searched in the title, the conversation id and the people in it (substring, ASCII case-insensitive).
    pub search: String,
    pub filter: ConversationFilter,
    pub offset: usize,
    pub limit: usize,
    /// Conversations the outbox is pacing right now (for [`ConversationFilter::RateLimited`]).
    pub rate_limited: Vec<String>,
}

/// One row of the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConversationRow {
    #[serde(flatten)]
    pub summary: ConversationSummary,
    /// The person who wrote last (the partner of a 1:1 chat).
    pub person: Option<String>,
    /// Messages waiting for (or with) the agent.
    pub waiting_agent: u64,
    /// Replies waiting in the outbox.
    pub waiting_send: u64,
    /// Failed sends and agent turns.
    pub failed: u64,
    /// Waiting for its rate limit right now (filled in from the outbox, not stored).
    pub rate_limited: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConversationPage {
    /// Conversations matching the search and filter (all pages).
    pub total: u64,
    pub offset: usize,
    pub items: Vec<ConversationRow>,
}

/// `%text%` for LIKE, with the wildcard characters of the user's text taken literally.
fn like_pattern(search: &str) -> String {
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for ch in search.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

const SEARCH: &str =
    "(?1 = '' OR c.title LIKE ?1 ESCAPE '\\' OR c.conversation_id LIKE ?1 ESCAPE '\\'
    OR EXISTS (SELECT 1 FROM conversation_routes r WHERE r.conversation_id = c.conversation_id
               AND (r.sender_nick LIKE ?1 ESCAPE '\\' OR r.staff_id LIKE ?1 ESCAPE '\\'))
    OR EXISTS (SELECT 1 FROM directory_group_members m WHERE m.conversation_id = c.conversation_id
               AND m.nick LIKE ?1 ESCAPE '\\'))";

pub(super) fn where_clause(filter: ConversationFilter) -> String {
    // `?2` (the rate-limited ids, always a JSON array) is named in every variant so the statement always
    // takes the same parameters, whichever filter is used.
    format!("WHERE {SEARCH} AND {} AND ?2 IS NOT NULL", filter.clause())
}

pub(super) fn list(conn: &Connection, query: &ListQuery) -> Result<ConversationPage, StoreError> {
    let search = query.search.trim();
    let pattern = if search.is_empty() {
        String::new()
    } else {
        like_pattern(search)
    };
    let ids: Vec<&str> = query
        .rate_limited
        .iter()
        .take(MAX_RATE_LIMITED_IDS)
        .map(String::as_str)
        .collect();
    let ids = serde_json::to_string(&ids).map_err(|err| StoreError::Decode(err.to_string()))?;
    let filter = where_clause(query.filter);
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM conversations c {filter}"),
        params![pattern, ids],
        |row| row.get(0),
    )?;
    let limit = query.limit.clamp(1, MAX_PAGE);
    let mut stmt = conn.prepare(&format!(
        "SELECT c.conversation_id, c.title, c.kind, c.last_message_at_ms, c.last_preview, c.messages
         FROM conversations c {filter}
         ORDER BY c.last_message_at_ms DESC, c.conversation_id DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            pattern,
            ids,
            limit as i64,
            i64::try_from(query.offset).unwrap_or(i64::MAX)
        ],
        summary_from_row,
    )?;
    let summaries = rows.collect::<Result<Vec<_>, _>>()?;
    let mut items = Vec::with_capacity(summaries.len());
    for summary in summaries {
        items.push(row_for(conn, summary, &query.rate_limited)?);
    }
    Ok(ConversationPage {
        total: total.max(0) as u64,
        offset: query.offset,
        items,
    })
}

/// One conversation's row, if the store knows it.
pub(super) fn one(
    conn: &Connection,
    conversation_id: &str,
    rate_limited: bool,
) -> Result<Option<ConversationRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT conversation_id, title, kind, last_message_at_ms, last_preview, messages
         FROM conversations WHERE conversation_id = ?1",
    )?;
    let mut rows = stmt.query_map(params![conversation_id], summary_from_row)?;
    match rows.next() {
        Some(summary) => {
            let limited = if rate_limited {
                vec![conversation_id.to_owned()]
            } else {
                Vec::new()
            };
            Ok(Some(row_for(conn, summary?, &limited)?))
        }
        None => Ok(None),
    }
}

pub(super) fn rows(
    conn: &Connection,
    conversation_ids: &[String],
    rate_limited: &[String],
) -> Result<(u64, Vec<ConversationRow>), StoreError> {
    let total: i64 = conn.query_row("SELECT COUNT(*) FROM conversations", [], |row| row.get(0))?;
    let mut rows = Vec::with_capacity(conversation_ids.len());
    for id in conversation_ids {
        let limited = rate_limited.iter().any(|limited| limited == id);
        if let Some(row) = one(conn, id, limited)? {
            rows.push(row);
        }
    }
    Ok((total.max(0) as u64, rows))
}

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConversationSummary> {
    Ok(ConversationSummary {
        conversation_id: row.get(0)?,
        title: row.get(1)?,
        kind: row.get(2)?,
        last_message_at_ms: row.get(3)?,
        last_preview: row.get(4)?,
        messages: row.get::<_, i64>(5)?.max(0) as u64,
    })
}

fn count(conn: &Connection, sql: &str, id: &str) -> Result<u64, StoreError> {
    let value: i64 = conn
        .prepare_cached(sql)?
        .query_row(params![id], |row| row.get(0))?;
    Ok(value.max(0) as u64)
}

fn row_for(
    conn: &Connection,
    summary: ConversationSummary,
    rate_limited: &[String],
) -> Result<ConversationRow, StoreError> {
    let id = summary.conversation_id.as_str();
    let person: Option<String> = conn
        .prepare_cached("SELECT sender_nick FROM conversation_routes WHERE conversation_id = ?1")?
        .query_map(params![id], |row| row.get(0))?
        .next()
        .transpose()?;
    let waiting_agent = count(
        conn,
        "SELECT COUNT(*) FROM inbox WHERE conversation_id = ?1 AND state = 'queued'",
        id,
    )?;
    let waiting_send = count(
        conn,
        "SELECT COUNT(*) FROM outbox WHERE conversation_id = ?1 AND state = 'pending'",
        id,
    )?;
    let failed = count(
        conn,
        "SELECT (SELECT COUNT(*) FROM outbox WHERE conversation_id = ?1 AND state = 'failed')
              + (SELECT COUNT(*) FROM inbox WHERE conversation_id = ?1 AND state = 'failed')",
        id,
    )?;
    let rate_limited = rate_limited.iter().any(|limited| limited == id);
    Ok(ConversationRow {
        summary,
        person,
        waiting_agent,
        waiting_send,
        failed,
        rate_limited,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_the_search_text_are_taken_literally() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    #[test]
    fn unknown_filters_are_refused() {
        assert_eq!(
            ConversationFilter::parse("waiting_send"),
            Some(ConversationFilter::WaitingSend)
        );
        assert_eq!(ConversationFilter::parse("everything"), None);
    }
}
