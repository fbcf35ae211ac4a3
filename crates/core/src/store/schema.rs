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
const MIGRATIONS: &[&str] = &[r#"
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
"#];

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
