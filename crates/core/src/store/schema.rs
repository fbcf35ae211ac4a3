use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

use super::StoreError;

pub(super) fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // WAL + synchronous=FULL: a commit survives a crash or power loss before we ACK the frame;
    // group commit in the writer keeps that affordable under bursts.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Schema versions are applied in order and recorded in `user_version`.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    finished_at_ms INTEGER,
    message_json TEXT NOT NULL
);
CREATE INDEX inbox_unfinished ON inbox(state, seq);
CREATE TABLE conversations (
    conversation_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    last_message_at_ms INTEGER NOT NULL,
    last_preview TEXT NOT NULL,
    messages INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE counters (
    month TEXT NOT NULL,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (month, name)
);
"#,
    r#"
CREATE TABLE directory_groups (
    conversation_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL
);
CREATE TABLE directory_group_members (
    conversation_id TEXT NOT NULL,
    member_key TEXT NOT NULL,
    user_id TEXT,
    nick TEXT NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, member_key)
);
CREATE TABLE directory_users (
    user_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    union_id TEXT,
    title TEXT,
    department TEXT,
    last_seen_ms INTEGER NOT NULL
);
CREATE INDEX directory_users_union ON directory_users(union_id);
CREATE TABLE settings_kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
CREATE TABLE agent_sessions (
    conversation_id TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    source_msg_id TEXT,
    part INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at_ms INTEGER NOT NULL,
    sent_at_ms INTEGER,
    channel TEXT,
    message_json TEXT NOT NULL,
    UNIQUE (source_msg_id, part)
);
CREATE INDEX outbox_pending ON outbox(state, id);
CREATE INDEX outbox_conversation ON outbox(conversation_id, id);
CREATE TABLE conversation_routes (
    conversation_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    staff_id TEXT,
    sender_nick TEXT NOT NULL,
    session_webhook TEXT,
    webhook_expires_ms INTEGER,
    updated_at_ms INTEGER NOT NULL
);
"#,
    // Agent turns that reached the agent (issue 10 defect 5): written before the prompt is sent, so a restart
    // looks the turn up in the agent's own record instead of prompting again.
    r#"
CREATE TABLE agent_turns (
    msg_id TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    session_id TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);
"#,
    // The language a conversation chose with `/lang` (issue 13); absent = the `[bridge] language` setting.
    r#"
CREATE TABLE conversation_languages (
    conversation_id TEXT PRIMARY KEY,
    language TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
"#,
    // The dashboard's conversation list and view (issue 9): newest-first paging, one conversation's messages in
    // order, and small partial indexes for the "waiting / failed" filters (rows leave them as they settle, so
    // they stay small and cost little on the ingest path).
    r#"
CREATE INDEX conversations_recent ON conversations(last_message_at_ms, conversation_id);
CREATE INDEX inbox_by_conversation ON inbox(conversation_id, seq);
CREATE INDEX inbox_waiting ON inbox(conversation_id) WHERE state = 'queued';
CREATE INDEX inbox_failed ON inbox(conversation_id) WHERE state = 'failed';
CREATE INDEX outbox_waiting ON outbox(conversation_id) WHERE state = 'pending';
CREATE INDEX outbox_failed ON outbox(conversation_id) WHERE state = 'failed';
"#,
];

pub(super) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
            index + 1
        ))?;
    }
    Ok(())
}
