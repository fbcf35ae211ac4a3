//! Agent turns that were (or were about to be) sent to the agent (`agent_turns`, migration 4).
//!
//! Invariant: a row is written *before* the prompt leaves DingBridge and names the agent session that got
//! it. A message with no row never reached the agent (prompting it is safe); a message with a row may have,
//! so a restart must look the turn up in that session instead of prompting again (at most once per msgId).
//! Rows go with their inbox item when finished items are purged.

use rusqlite::{OptionalExtension, params};

use super::{Store, StoreError};

impl Store {
    /// Records that the prompt for `msg_id` is being sent to `session_id` (replacing an earlier record).
    pub async fn record_agent_turn(
        &self,
        msg_id: &str,
        backend: &str,
        session_id: &str,
    ) -> Result<(), StoreError> {
        let (msg_id, backend, session_id) =
            (msg_id.to_owned(), backend.to_owned(), session_id.to_owned());
        let now = crate::time::now_ms();
        self.misc_call(move |conn| {
            conn.execute(
                "INSERT INTO agent_turns (msg_id, backend, session_id, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(msg_id) DO UPDATE SET
                   backend = excluded.backend,
                   session_id = excluded.session_id,
                   created_at_ms = excluded.created_at_ms",
                params![msg_id, backend, session_id, now],
            )?;
            Ok(())
        })
        .await
    }

    /// The session the prompt for `msg_id` was sent to, if it ever was.
    pub async fn agent_turn(
        &self,
        msg_id: &str,
        backend: &str,
    ) -> Result<Option<String>, StoreError> {
        let (msg_id, backend) = (msg_id.to_owned(), backend.to_owned());
        self.misc_call(move |conn| {
            Ok(conn
                .query_row(
                    "SELECT session_id FROM agent_turns WHERE msg_id = ?1 AND backend = ?2",
                    params![msg_id, backend],
                    |row| row.get::<_, String>(0),
                )
                .optional()?)
        })
        .await
    }

    /// Forgets the record (`/retry`: the user asked for a fresh prompt).
    pub async fn forget_agent_turn(&self, msg_id: &str) -> Result<(), StoreError> {
        let msg_id = msg_id.to_owned();
        self.misc_call(move |conn| {
            conn.execute("DELETE FROM agent_turns WHERE msg_id = ?1", params![msg_id])?;
            Ok(())
        })
        .await
    }
}
