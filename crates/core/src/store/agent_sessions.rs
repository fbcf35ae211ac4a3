//! Which agent session serves which DingTalk conversation (`agent_sessions`, created by migration 3).
//! Persisted so a restart keeps each conversation's context in the agent. Writes happen once per new
//! session, so they use the low-rate `misc` connection rather than the inbox group-commit writer.

use rusqlite::{Connection, OptionalExtension, params};

use super::{Store, StoreError};

impl Store {
    /// The session id recorded for this conversation and backend, if any.
    pub async fn agent_session(
        &self,
        conversation_id: &str,
        backend: &str,
    ) -> Result<Option<String>, StoreError> {
        let (conversation_id, backend) = (conversation_id.to_owned(), backend.to_owned());
        self.misc_call(move |conn| {
            let found = conn
                .query_row(
                    "SELECT session_id FROM agent_sessions WHERE conversation_id = ?1 AND backend = ?2",
                    params![conversation_id, backend],
                    |row| row.get::<_, String>(0),
                )
                .optional()?;
            Ok(found)
        })
        .await
    }

    /// Records (or replaces) the conversation's session; one conversation has one session at a time.
    pub async fn set_agent_session(
        &self,
        conversation_id: &str,
        backend: &str,
        session_id: &str,
    ) -> Result<(), StoreError> {
        let (conversation_id, backend, session_id) = (
            conversation_id.to_owned(),
            backend.to_owned(),
            session_id.to_owned(),
        );
        let now = crate::time::now_ms();
        self.misc_call(move |conn| {
            conn.execute(
                "INSERT INTO agent_sessions (conversation_id, backend, session_id, created_at_ms)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(conversation_id) DO UPDATE SET
                   backend = excluded.backend,
                   session_id = excluded.session_id,
                   created_at_ms = excluded.created_at_ms",
                params![conversation_id, backend, session_id, now],
            )?;
            Ok(())
        })
        .await
    }

    /// Forgets the conversation's session (chat `/new`): the next turn starts a fresh one.
    pub async fn clear_agent_session(
        &self,
        conversation_id: &str,
        backend: &str,
    ) -> Result<(), StoreError> {
        let (conversation_id, backend) = (conversation_id.to_owned(), backend.to_owned());
        self.misc_call(move |conn| {
            conn.execute(
                "DELETE FROM agent_sessions WHERE conversation_id = ?1 AND backend = ?2",
                params![conversation_id, backend],
            )?;
            Ok(())
        })
        .await
    }

    pub(super) async fn misc_call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.misc.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().map_err(|_| StoreError::Poisoned)?;
            f(&conn)
        })
        .await
        .map_err(|_| StoreError::WriterGone)?
    }
}
