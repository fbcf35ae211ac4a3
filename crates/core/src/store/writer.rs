//! The single writer thread: group commit of whatever write commands are waiting.
//!
//! Invariants:
//! - A batch is one IMMEDIATE transaction: it takes the write lock up front (waiting in SQLite's busy handler
//!   for another connection to finish) instead of reading first and failing the read→write upgrade with
//!   `SQLITE_BUSY` when another connection committed meanwhile.
//! - Each command runs in its own savepoint: a command that fails leaves none of its rows behind and only its
//!   caller hears the error; the rest of the batch commits.
//! - A caller hears `Ok` only after the batch committed; if the commit fails, every caller hears the error.
//! - Bounded: at most [`WRITER_CAPACITY`] commands wait. Live intake is refused at once when the queue is
//!   full ([`WriterHandle::try_send`], `STORE_BUSY`: the frame stays un-ACKed and DingTalk redelivers it);
//!   every other caller waits for room, so a state update is delayed, never dropped.

use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension, Savepoint, TransactionBehavior, params};
use tokio::sync::oneshot;

use super::StoreError;
use super::inbox::{InboxItem, InboxState, InsertOutcome};
use super::outbox::{self, NewOutboxItem, OutboxItem, OutboxState, Route};
use crate::time::{month_of, now_ms};

pub(super) enum WriteCommand {
    InsertInbound {
        item: Box<InboxItem>,
        reply: oneshot::Sender<Result<InsertOutcome, StoreError>>,
    },
    SetState {
        msg_id: String,
        state: InboxState,
        error: Option<String>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    EnqueueOutbox {
        /// Already delivered another way (an AI card): recorded as sent in the same transaction.
        delivered: Option<Box<(NewOutboxItem, String)>>,
        items: Vec<NewOutboxItem>,
        complete_inbox: Option<String>,
        reply: oneshot::Sender<Result<Vec<OutboxItem>, StoreError>>,
    },
    SetOutboxState {
        id: i64,
        state: OutboxState,
        error: Option<String>,
        channel: Option<String>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    PurgeFinished {
        before_ms: i64,
        reply: oneshot::Sender<Result<usize, StoreError>>,
    },
    Shutdown {
        reply: oneshot::Sender<()>,
    },
}

/// Write commands that may wait for the writer thread.
pub const WRITER_CAPACITY: usize = 8_192;

#[derive(Clone)]
pub(super) struct WriterHandle {
    sender: mpsc::SyncSender<WriteCommand>,
}

impl WriterHandle {
    /// Queues a command, waiting for room if the queue is full. The writer thread drains the queue on its
    /// own (it never waits for the caller), so the wait is bounded by one batch's commit.
    pub(super) fn send(&self, command: WriteCommand) -> Result<(), StoreError> {
        self.sender
            .send(command)
            .map_err(|_| StoreError::WriterGone)
    }

    /// Queues a command only if there is room now (`STORE_BUSY` otherwise).
    pub(super) fn try_send(&self, command: WriteCommand) -> Result<(), StoreError> {
        self.sender.try_send(command).map_err(|err| match err {
            mpsc::TrySendError::Full(_) => StoreError::Busy,
            mpsc::TrySendError::Disconnected(_) => StoreError::WriterGone,
        })
    }
}

/// Statements the writer keeps compiled: every statement of the intake, outbox and directory paths fits, so no
/// message pays for SQL parsing (it was ~10 % of the daemon's CPU under a burst, docs/performance.md #1).
const WRITER_STATEMENT_CACHE: usize = 32;

pub(super) fn spawn(conn: Connection) -> Result<WriterHandle, StoreError> {
    conn.set_prepared_statement_cache_capacity(WRITER_STATEMENT_CACHE);
    let (sender, receiver) = mpsc::sync_channel(WRITER_CAPACITY);
    std::thread::Builder::new()
        .name("dingbridge-store-writer".into())
        .spawn(move || run(conn, receiver))
        .map_err(|source| StoreError::Io {
            path: "store writer thread".into(),
            source,
        })?;
    Ok(WriterHandle { sender })
}

/// A reply that is sent only after the batch's transaction committed.
enum Pending {
    Insert(
        oneshot::Sender<Result<InsertOutcome, StoreError>>,
        InsertOutcome,
    ),
    Unit(oneshot::Sender<Result<(), StoreError>>),
    Count(oneshot::Sender<Result<usize, StoreError>>, usize),
    Outbox(
        oneshot::Sender<Result<Vec<OutboxItem>, StoreError>>,
        Vec<OutboxItem>,
    ),
}

fn run(mut conn: Connection, receiver: mpsc::Receiver<WriteCommand>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        // Group commit: take everything already waiting (bounded so one batch cannot grow forever).
        while batch.len() < 512 {
            match receiver.try_recv() {
                Ok(command) => batch.push(command),
                Err(_) => break,
            }
        }
        let mut shutdown = None;
        let result = apply_batch(&mut conn, batch, &mut shutdown);
        if let Err(err) = result {
            tracing::error!(code = err.code(), error = %err, "store batch failed");
        }
        if let Some(reply) = shutdown {
            let _ = reply.send(());
            return;
        }
    }
}

fn apply_batch(
    conn: &mut Connection,
    batch: Vec<WriteCommand>,
    shutdown: &mut Option<oneshot::Sender<()>>,
) -> Result<(), StoreError> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut pending = Vec::with_capacity(batch.len());
    for command in batch {
        match command {
            WriteCommand::InsertInbound { item, reply } => {
                match in_savepoint(&mut tx, |tx| insert_inbound(tx, &item)) {
                    Ok(outcome) => pending.push(Pending::Insert(reply, outcome)),
                    Err(err) => {
                        let _ = reply.send(Err(err));
                    }
                }
            }
            WriteCommand::SetState {
                msg_id,
                state,
                error,
                reply,
            } => match in_savepoint(&mut tx, |tx| {
                set_state(tx, &msg_id, state, error.as_deref())
            }) {
                Ok(()) => pending.push(Pending::Unit(reply)),
                Err(err) => {
                    let _ = reply.send(Err(err));
                }
            },
            WriteCommand::EnqueueOutbox {
                delivered,
                items,
                complete_inbox,
                reply,
            } => match in_savepoint(&mut tx, |tx| {
                if let Some(record) = &delivered {
                    let (item, channel) = record.as_ref();
                    outbox::record_sent(tx, item, channel)?;
                }
                outbox::enqueue(tx, &items, complete_inbox.as_deref())
            }) {
                Ok(created) => pending.push(Pending::Outbox(reply, created)),
                Err(err) => {
                    let _ = reply.send(Err(err));
                }
            },
            WriteCommand::SetOutboxState {
                id,
                state,
                error,
                channel,
                reply,
            } => match in_savepoint(&mut tx, |tx| {
                outbox::set_state(tx, id, state, error.as_deref(), channel.as_deref())
            }) {
                Ok(()) => pending.push(Pending::Unit(reply)),
                Err(err) => {
                    let _ = reply.send(Err(err));
                }
            },
            WriteCommand::PurgeFinished { before_ms, reply } => {
                match in_savepoint(&mut tx, |tx| {
                    tx.execute(
                        "DELETE FROM outbox WHERE state != 'pending' AND created_at_ms < ?1",
                        params![before_ms],
                    )?;
                    tx.execute(
                        "DELETE FROM agent_turns WHERE created_at_ms < ?1 AND msg_id NOT IN
                           (SELECT msg_id FROM inbox WHERE state = 'queued')",
                        params![before_ms],
                    )?;
                    Ok(tx.execute(
                        "DELETE FROM inbox WHERE state != 'queued' AND finished_at_ms < ?1",
                        params![before_ms],
                    )?)
                }) {
                    Ok(count) => pending.push(Pending::Count(reply, count)),
                    Err(err) => {
                        let _ = reply.send(Err(err));
                    }
                }
            }
            WriteCommand::Shutdown { reply } => *shutdown = Some(reply),
        }
    }
    match tx.commit() {
        Ok(()) => {
            for reply in pending {
                match reply {
                    Pending::Insert(tx, outcome) => {
                        let _ = tx.send(Ok(outcome));
                    }
                    Pending::Unit(tx) => {
                        let _ = tx.send(Ok(()));
                    }
                    Pending::Count(tx, count) => {
                        let _ = tx.send(Ok(count));
                    }
                    Pending::Outbox(tx, created) => {
                        let _ = tx.send(Ok(created));
                    }
                }
            }
            Ok(())
        }
        Err(err) => {
            // Nothing in this batch is durable: every caller hears so (their frames stay un-ACKed and are redelivered).
            let message = err.to_string();
            for reply in pending {
                let failure = || StoreError::Decode(format!("commit failed: {message}"));
                match reply {
                    Pending::Insert(tx, _) => {
                        let _ = tx.send(Err(failure()));
                    }
                    Pending::Unit(tx) => {
                        let _ = tx.send(Err(failure()));
                    }
                    Pending::Count(tx, _) => {
                        let _ = tx.send(Err(failure()));
                    }
                    Pending::Outbox(tx, _) => {
                        let _ = tx.send(Err(failure()));
                    }
                }
            }
            Err(err.into())
        }
    }
}

/// Runs one command in a savepoint: released on success, rolled back (none of its rows kept) on error.
fn in_savepoint<T>(
    tx: &mut rusqlite::Transaction<'_>,
    f: impl FnOnce(&Savepoint<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let savepoint = tx.savepoint()?;
    match f(&savepoint) {
        Ok(value) => {
            savepoint.commit()?;
            Ok(value)
        }
        // Dropping an uncommitted savepoint rolls it back (rusqlite's default DropBehavior::Rollback).
        Err(err) => Err(err),
    }
}

fn insert_inbound(
    tx: &rusqlite::Connection,
    item: &InboxItem,
) -> Result<InsertOutcome, StoreError> {
    let message = &item.message;
    let json = serde_json::to_string(message).map_err(|err| StoreError::Decode(err.to_string()))?;
    let changed = tx.prepare_cached("INSERT OR IGNORE INTO inbox (msg_id, conversation_id, received_at_ms, state, message_json)
         VALUES (?1, ?2, ?3, 'queued', ?4)")?.execute(
        params![
            message.msg_id,
            message.conversation_id,
            item.received_at_ms,
            json
        ],
    )?;
    if changed == 0 {
        return Ok(InsertOutcome::Duplicate);
    }
    let seq = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO conversations (conversation_id, title, kind, last_message_at_ms, last_preview, messages)
         VALUES (?1, ?2, ?3, ?4, ?5, 1)
         ON CONFLICT(conversation_id) DO UPDATE SET
            title = excluded.title, kind = excluded.kind,
            last_message_at_ms = excluded.last_message_at_ms,
            last_preview = excluded.last_preview, messages = messages + 1")?.execute(
        params![
            message.conversation_id,
            message.display_title(),
            message.conversation_kind.as_str(),
            item.received_at_ms,
            message.preview(),
        ],
    )?;
    outbox::upsert_route(
        tx,
        &Route {
            conversation_id: message.conversation_id.clone(),
            kind: message.conversation_kind,
            staff_id: message.sender_staff_id.clone(),
            sender_nick: message.sender_nick.clone(),
            session_webhook: message.session_webhook.clone(),
            webhook_expires_ms: message.session_webhook_expires_ms,
        },
        item.received_at_ms,
    )?;
    super::directory::record_sighting(
        tx,
        &super::directory::DirectorySighting::from_message(message),
    )?;
    bump_counter(tx, &month_of(item.received_at_ms), "stream_messages")?;
    Ok(InsertOutcome::Inserted { seq })
}

fn set_state(
    tx: &rusqlite::Connection,
    msg_id: &str,
    state: InboxState,
    error: Option<&str>,
) -> Result<(), StoreError> {
    let finished = (state != InboxState::Queued).then(now_ms);
    let attempts_delta = i64::from(state == InboxState::Queued);
    let exists: Option<i64> = tx
        .prepare_cached("SELECT seq FROM inbox WHERE msg_id = ?1")?
        .query_row(params![msg_id], |row| row.get(0))
        .optional()?;
    if exists.is_none() {
        return Ok(());
    }
    tx.prepare_cached("UPDATE inbox SET state = ?2, last_error = ?3, finished_at_ms = ?4, attempts = attempts + ?5
         WHERE msg_id = ?1")?.execute(
        params![msg_id, state.as_str(), error, finished, attempts_delta],
    )?;
    Ok(())
}

fn bump_counter(tx: &rusqlite::Connection, month: &str, name: &str) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO counters (month, name, value) VALUES (?1, ?2, 1)
         ON CONFLICT(month, name) DO UPDATE SET value = value + 1",
    )?
    .execute(params![month, name])?;
    Ok(())
}
