//! The store's writer against a second real SQLite connection on the same WAL file: batches survive write
//! contention, and a command that fails leaves none of its rows behind.

use std::time::Duration;

use dingbridge_core::dingtalk::BotMessage;
use dingbridge_core::dingtalk::send::MessageBody;
use dingbridge_core::store::{InboxItem, InboxState, NewOutboxItem, OutboundMessage, Route, Store};
use rusqlite::Connection;
use serde_json::json;

fn message(msg_id: &str) -> BotMessage {
    BotMessage::from_value(&json!({
        "msgId": msg_id,
        "conversationId": "cidContention",
        "conversationType": "1",
        "senderNick": "Tester",
        "senderStaffId": "tester01",
        "msgtype": "text",
        "text": {"content": "hello"},
        "createAt": 1_700_000_000_000_i64,
    }))
    .expect("valid message")
}

fn other_connection(store: &Store) -> Connection {
    let conn = Connection::open(store.path()).expect("second connection");
    conn.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    conn
}

#[tokio::test]
async fn a_state_update_racing_another_connections_commit_is_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .insert_inbound(InboxItem::new(message("m-race"), 1))
        .await
        .unwrap();
    // Another connection (quota counts, card streaming, another process) holds the write lock...
    let other = other_connection(&store);
    other.execute_batch("BEGIN IMMEDIATE; INSERT INTO counters (month, name, value) VALUES ('2026-12', 'other', 1);").unwrap();
    let update = {
        let store = store.clone();
        tokio::spawn(async move { store.set_state("m-race", InboxState::Done, None).await })
    };
    // ...while the writer starts its batch, and commits while the writer waits for the lock.
    tokio::time::sleep(Duration::from_millis(300)).await;
    other.execute_batch("COMMIT").unwrap();
    update
        .await
        .unwrap()
        .expect("the update waits for the lock instead of failing with SQLITE_BUSY");
    assert_eq!(
        store.state_of("m-race").await.unwrap(),
        Some(InboxState::Done)
    );
}

fn reply_part(part: u32, parts: u32) -> NewOutboxItem {
    NewOutboxItem {
        source_msg_id: Some("m-parts".into()),
        part,
        parts,
        message: OutboundMessage {
            route: Route::from_message(&message("m-parts")),
            body: MessageBody::text(format!("part {part}")),
        },
    }
}

#[tokio::test]
async fn a_failed_command_commits_none_of_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .insert_inbound(InboxItem::new(message("m-parts"), 1))
        .await
        .unwrap();
    // The second part of the reply is refused by the database (a stand-in for any failing statement).
    other_connection(&store)
        .execute_batch(
            "CREATE TRIGGER refuse_part_two BEFORE INSERT ON outbox WHEN NEW.part = 2
             BEGIN SELECT RAISE(ABORT, 'refused by test'); END;",
        )
        .unwrap();
    let result = store
        .enqueue_outbox(
            vec![reply_part(1, 3), reply_part(2, 3), reply_part(3, 3)],
            Some("m-parts".into()),
        )
        .await;
    assert!(result.is_err(), "{result:?}");
    // A later write is committed after the failed one's batch: a barrier for what that batch kept.
    store
        .insert_inbound(InboxItem::new(message("m-barrier"), 2))
        .await
        .unwrap();
    assert!(
        store.pending_outbox().await.unwrap().is_empty(),
        "half a reply was committed"
    );
    assert_eq!(
        store.state_of("m-parts").await.unwrap(),
        Some(InboxState::Queued)
    );
}
