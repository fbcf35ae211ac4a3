//! SQLite store (WAL). One writer thread owns the write connection and commits whatever requests are waiting in
//! one transaction (group commit), so a burst of frames costs one fsync per batch, not per frame, and every
//! caller still learns only after its row is durable. Reads use a second connection (WAL readers never block
//! the writer).

mod agent_sessions;
mod agent_turns;
mod conversation_language;
mod conversation_list;
#[cfg(test)]
mod conversation_queries_tests;
mod conversation_view;
mod directory;
mod error;
mod inbox;
mod outbox;
mod reader;
mod schema;
mod writer;

pub use conversation_list::{
    ConversationFilter, ConversationPage, ConversationRow, ListQuery, MAX_RATE_LIMITED_IDS,
};
pub use conversation_view::{MessagePage, MessageView, SendWindow};
pub use directory::{DirectoryGroup, DirectoryMember, DirectorySighting, DirectoryUser};
pub use error::StoreError;
pub use inbox::{InboxItem, InboxState, InsertOutcome};
pub use outbox::{
    HistoryEntry, MessageBody, NewOutboxItem, OutboundMessage, OutboxItem, OutboxState, Route,
};
pub use writer::WRITER_CAPACITY;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::api::status::ConversationSummary;
use writer::{WriteCommand, WriterHandle};

/// Outcome of a submitted insert, available once its batch committed.
pub type PendingInsert = oneshot::Receiver<Result<InsertOutcome, StoreError>>;

/// Cheap-to-clone handle on the database.
#[derive(Clone)]
pub struct Store {
    writer: WriterHandle,
    reader: Arc<Mutex<Connection>>,
    /// Low-rate writes outside the inbox pipeline (contacts directory, resolved settings).
    misc: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if needed) `<data_dir>/dingbridge.db` and runs migrations.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let io = |source| StoreError::Io {
            path: data_dir.to_path_buf(),
            source,
        };
        crate::config::create_private_dir(data_dir).map_err(io)?;
        let path = data_dir.join("dingbridge.db");
        // 0600 from the first byte; SQLite gives the -wal and -shm files the database's mode.
        crate::config::precreate_private_file(&path).map_err(io)?;
        let write_conn = schema::open(&path)?;
        schema::migrate(&write_conn)?;
        let read_conn = schema::open(&path)?;
        Ok(Self {
            writer: writer::spawn(write_conn)?,
            reader: Arc::new(Mutex::new(read_conn)),
            misc: Arc::new(Mutex::new(schema::open(&path)?)),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Durably records an inbound message unless its msgId is already known.
    pub async fn insert_inbound(&self, item: InboxItem) -> Result<InsertOutcome, StoreError> {
        self.submit_inbound(item)?
            .await
            .map_err(|_| StoreError::WriterGone)?
    }

    /// Queues the insert *now* (so submission order is commit order) and returns the receiver of its outcome.
    /// Never waits: with the writer's queue full it answers `STORE_BUSY` (the caller leaves the frame un-ACKed).
    pub fn submit_inbound(&self, item: InboxItem) -> Result<PendingInsert, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer.try_send(WriteCommand::InsertInbound {
            item: Box::new(item),
            reply,
        })?;
        Ok(rx)
    }

    pub async fn set_state(
        &self,
        msg_id: &str,
        state: InboxState,
        error: Option<String>,
    ) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer.send(WriteCommand::SetState {
            msg_id: msg_id.to_owned(),
            state,
            error,
            reply,
        })?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Adds messages to the outbox and (optionally) marks the inbox item they answer as done, atomically.
    /// Returns the rows actually created (already-known `(source_msg_id, part)` pairs are skipped).
    pub async fn enqueue_outbox(
        &self,
        items: Vec<NewOutboxItem>,
        complete_inbox: Option<String>,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        self.enqueue_outbox_after(None, items, complete_inbox).await
    }

    /// Like [`Store::enqueue_outbox`], and first records `delivered` (text that already reached the chat
    /// through `channel`, e.g. an AI card) as sent, all in one transaction: a crash leaves either nothing or
    /// everything, never a delivered text waiting to be sent again.
    pub async fn enqueue_outbox_after(
        &self,
        delivered: Option<(NewOutboxItem, String)>,
        items: Vec<NewOutboxItem>,
        complete_inbox: Option<String>,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer.send(WriteCommand::EnqueueOutbox {
            delivered: delivered.map(Box::new),
            items,
            complete_inbox,
            reply,
        })?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    pub async fn set_outbox_state(
        &self,
        id: i64,
        state: OutboxState,
        error: Option<String>,
        channel: Option<String>,
    ) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer.send(WriteCommand::SetOutboxState {
            id,
            state,
            error,
            channel,
            reply,
        })?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Outbox rows not yet delivered, oldest first (resumed on start). A row that cannot be decoded is set
    /// aside as `failed` (logged with the reason) instead of stopping the start.
    pub async fn pending_outbox(&self) -> Result<Vec<OutboxItem>, StoreError> {
        let (items, bad) = self.read(outbox::pending).await?;
        for row in bad {
            tracing::error!(
                outbox_id = row.key,
                error = row.error,
                "undecodable outbox row set aside"
            );
            self.set_outbox_state(
                row.key,
                OutboxState::Failed,
                Some(format!("undecodable row set aside: {}", row.error)),
                None,
            )
            .await?;
        }
        Ok(items)
    }

    pub async fn route(&self, conversation_id: &str) -> Result<Option<Route>, StoreError> {
        let id = conversation_id.to_owned();
        self.read(move |conn| outbox::route(conn, &id)).await
    }

    /// The 1:1 conversation of a user (by staffId), if they ever wrote to the bot.
    pub async fn route_for_staff(&self, staff_id: &str) -> Result<Option<Route>, StoreError> {
        let id = staff_id.to_owned();
        self.read(move |conn| outbox::route_for_staff(conn, &id))
            .await
    }

    /// A conversation's messages in and out, newest first.
    pub async fn history(
        &self,
        conversation_id: &str,
        limit: usize,
        before_ms: Option<i64>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let id = conversation_id.to_owned();
        self.read(move |conn| outbox::history(conn, &id, limit, before_ms))
            .await
    }

    pub async fn purge_finished_before(&self, before_ms: i64) -> Result<usize, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer
            .send(WriteCommand::PurgeFinished { before_ms, reply })?;
        rx.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Items that were persisted but not finished (the daemon stopped or crashed): replayed on start. A row
    /// that cannot be decoded is set aside as `failed` (logged with the reason) instead of stopping the start.
    pub async fn unfinished(&self) -> Result<Vec<InboxItem>, StoreError> {
        let (items, bad) = self.read(reader::unfinished).await?;
        for row in bad {
            tracing::error!(
                msg_id = row.key,
                error = row.error,
                "undecodable inbox row set aside"
            );
            self.set_state(
                &row.key,
                InboxState::Failed,
                Some(format!("undecodable row set aside: {}", row.error)),
            )
            .await?;
        }
        Ok(items)
    }

    /// The conversation's newest message that ended `failed` with exactly `error` (e.g. an interrupted answer).
    pub async fn latest_failed_with(
        &self,
        conversation_id: &str,
        error: &str,
    ) -> Result<Option<InboxItem>, StoreError> {
        let (id, error) = (conversation_id.to_owned(), error.to_owned());
        self.read(move |conn| reader::latest_failed_with(conn, &id, &error))
            .await
    }

    pub async fn state_of(&self, msg_id: &str) -> Result<Option<InboxState>, StoreError> {
        let msg_id = msg_id.to_owned();
        self.read(move |conn| reader::state_of(conn, &msg_id)).await
    }

    /// Conversation directory, newest first.
    pub async fn conversations(
        &self,
        limit: usize,
    ) -> Result<Vec<ConversationSummary>, StoreError> {
        self.read(move |conn| reader::conversations(conn, limit))
            .await
    }

    /// One page of the dashboard's conversation list (search, filter, newest activity first) and its total.
    pub async fn conversation_page(
        &self,
        query: ListQuery,
    ) -> Result<ConversationPage, StoreError> {
        self.read(move |conn| conversation_list::list(conn, &query))
            .await
    }

    /// One conversation's list row, if the store knows the conversation.
    pub async fn conversation_row(
        &self,
        conversation_id: &str,
        rate_limited: bool,
    ) -> Result<Option<ConversationRow>, StoreError> {
        let id = conversation_id.to_owned();
        self.read(move |conn| conversation_list::one(conn, &id, rate_limited))
            .await
    }

    /// The conversations' current list rows (unknown ids are skipped) and how many conversations exist.
    pub async fn conversation_rows(
        &self,
        conversation_ids: Vec<String>,
        rate_limited: Vec<String>,
    ) -> Result<(u64, Vec<ConversationRow>), StoreError> {
        self.read(move |conn| conversation_list::rows(conn, &conversation_ids, &rate_limited))
            .await
    }

    /// Value of a monthly counter, e.g. ("2026-11", "stream_messages").
    pub async fn counter(&self, month: &str, name: &str) -> Result<u64, StoreError> {
        let (month, name) = (month.to_owned(), name.to_owned());
        self.read(move |conn| reader::counter(conn, &month, &name))
            .await
    }

    /// Waits until every write sent so far is committed, then stops the writer thread.
    pub async fn close(&self) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.writer.send(WriteCommand::Shutdown { reply })?;
        rx.await.map_err(|_| StoreError::WriterGone)
    }

    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().map_err(|_| StoreError::Poisoned)?;
            f(&conn)
        })
        .await
        .map_err(|_| StoreError::WriterGone)?
    }
}
