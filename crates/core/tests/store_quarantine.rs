//! Issue 10, item 9: one undecodable row (a damaged or future-format `message_json`) does not stop start-up:
//! it is set aside as `failed` with the reason, and everything else is replayed.

use dingbridge_core::dingtalk::BotMessage;
use dingbridge_core::dingtalk::send::MessageBody;
use dingbridge_core::store::{InboxItem, InboxState, NewOutboxItem, OutboundMessage, Route, Store};
use serde_json::json;

fn message(msg_id: &str) -> BotMessage {
    BotMessage::from_value(&json!({
        "msgId": msg_id,
        "conversationId": "cidQuarantine",
        "conversationType": "1",
        "senderNick": "Tester",
        "senderStaffId": "tester01",
        "msgtype": "text",
        "text": {"content": "hello"},
    }))
    .expect("valid message")
}

fn reply(source: &str) -> NewOutboxItem {
    NewOutboxItem {
        source_msg_id: Some(source.into()),
        part: 1,
        parts: 1,
        message: OutboundMessage {
            route: Route::from_message(&message(source)),
            body: MessageBody::text(format!("answer to {source}")),
        },
    }
}

fn damage(store: &Store, sql: &str) {
    rusqlite::Connection::open(store.path())
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[tokio::test]
async fn an_undecodable_inbox_row_is_set_aside_and_the_others_are_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for id in ["m-good-1", "m-bad", "m-good-2"] {
        store
            .insert_inbound(InboxItem::new(message(id), 1))
            .await
            .unwrap();
    }
    damage(
        &store,
        "UPDATE inbox SET message_json = '{\"not\": \"a message\"' WHERE msg_id = 'm-bad'",
    );
    let replay = store.unfinished().await.expect("start-up goes on");
    let ids: Vec<&str> = replay.iter().map(|i| i.message.msg_id.as_str()).collect();
    assert_eq!(ids, ["m-good-1", "m-good-2"]);
    assert_eq!(
        store.state_of("m-bad").await.unwrap(),
        Some(InboxState::Failed)
    );
}

#[tokio::test]
async fn an_undecodable_outbox_row_is_set_aside_and_the_others_are_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store
        .enqueue_outbox(vec![reply("m-1"), reply("m-2")], None)
        .await
        .unwrap();
    damage(
        &store,
        "UPDATE outbox SET message_json = 'garbage' WHERE source_msg_id = 'm-1'",
    );
    let pending = store.pending_outbox().await.expect("start-up goes on");
    let sources: Vec<Option<&str>> = pending.iter().map(|p| p.source_msg_id.as_deref()).collect();
    assert_eq!(sources, [Some("m-2")]);
    // Set aside for good: the next start does not trip over it again.
    assert_eq!(store.pending_outbox().await.unwrap().len(), 1);
}
