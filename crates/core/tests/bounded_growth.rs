//! Issue 10, item 7: nothing the engine keeps in memory grows without bound. Each test fills one structure
//! the way real traffic would and checks that it is capped or emptied, over the real store and workers.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dingbridge_core::bridge::{
    ConversationQueues, Deliver, Delivered, ItemProcessor, MAX_PER_CONVERSATION, Outbox, Pacer,
    PacingSettings,
};
use dingbridge_core::dingtalk::send::SendError;
use dingbridge_core::dingtalk::{BotMessage, ConversationKind};
use dingbridge_core::events::EventBus;
use dingbridge_core::metrics::Metrics;
use dingbridge_core::store::{
    InboxItem, MessageBody, NewOutboxItem, OutboundMessage, Route, Store, StoreError,
    WRITER_CAPACITY,
};
use tokio_util::sync::CancellationToken;

fn message(conversation: &str, n: usize) -> InboxItem {
    let data = serde_json::json!({
        "msgId": format!("msg-{conversation}-{n}"),
        "conversationId": conversation,
        "conversationType": "1",
        "senderNick": "Zhang San",
        "senderStaffId": "staff1",
        "msgtype": "text",
        "text": {"content": format!("hello {n}")},
    });
    InboxItem::new(BotMessage::decode(&data.to_string()).unwrap(), 1)
}

/// Holds every item until the test ends (a turn that never finishes).
struct Stuck;

#[async_trait]
impl ItemProcessor for Stuck {
    async fn process(&self, _item: InboxItem, cancel: CancellationToken) {
        cancel.cancelled().await;
    }
}

#[tokio::test]
async fn a_conversation_queue_takes_no_live_message_past_its_bound() {
    let abort = CancellationToken::new();
    let queues = ConversationQueues::new(
        1,
        Arc::new(Stuck),
        EventBus::default(),
        CancellationToken::new(),
        abort.clone(),
    );
    // One item runs (stuck), the rest wait.
    for n in 0..=MAX_PER_CONVERSATION {
        assert!(
            queues.has_room("busy", 0, 0),
            "room refused after {n} items"
        );
        queues.enqueue(message("busy", n));
        tokio::task::yield_now().await;
    }
    assert!(
        !queues.has_room("busy", 0, 0),
        "a full conversation still takes more"
    );
    assert!(
        queues.has_room("quiet", 0, 0),
        "another conversation is not held up"
    );
    // Items still waiting for their commit count against the bound too.
    assert!(!queues.has_room("quiet", MAX_PER_CONVERSATION, MAX_PER_CONVERSATION));
    assert_eq!(queues.status().total_depth, MAX_PER_CONVERSATION);
    abort.cancel();
}

#[tokio::test]
async fn inbound_writes_past_a_full_writer_queue_are_refused_with_store_busy() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    // Another connection holds the write lock, so the writer thread stalls and its queue fills.
    let other = rusqlite::Connection::open(dir.path().join("dingbridge.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut accepted = Vec::new();
    let mut busy = 0;
    for n in 0..WRITER_CAPACITY + 1_000 {
        match store.submit_inbound(message("flood", n)) {
            Ok(pending) => accepted.push(pending),
            Err(StoreError::Busy) => busy += 1,
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert!(busy > 0, "the writer queue took every write");
    assert!(
        accepted.len() <= WRITER_CAPACITY + 512,
        "{} queued",
        accepted.len()
    );
    other.execute_batch("COMMIT").unwrap();
    // Every write that was accepted is committed: refusing some loses none of the others.
    for pending in accepted {
        pending.await.unwrap().unwrap();
    }
}

struct AlwaysDelivers;

#[async_trait]
impl Deliver for AlwaysDelivers {
    async fn deliver(&self, _message: &OutboundMessage) -> Result<Delivered, SendError> {
        Ok(Delivered {
            channel: "webhook",
            bytes: 1,
        })
    }
}

#[tokio::test]
async fn the_outbox_forgets_a_conversation_once_its_rows_are_sent() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let outbox = Outbox::new(
        store.clone(),
        Pacer::new(&PacingSettings {
            app_per_second: 10_000,
            per_conversation: 10_000,
            conversation_window_ms: 1_000,
            safety_margin_percent: 0,
        }),
        Arc::new(AlwaysDelivers),
        Arc::new(Metrics::default()),
        EventBus::default(),
        Duration::from_millis(10),
        CancellationToken::new(),
    );
    for n in 0..200 {
        let conversation = format!("cid-{n}");
        let items = vec![NewOutboxItem {
            source_msg_id: Some(format!("src-{n}")),
            part: 1,
            parts: 1,
            message: OutboundMessage {
                body: MessageBody::Text {
                    content: "hi".into(),
                },
                route: Route {
                    conversation_id: conversation,
                    kind: ConversationKind::Single,
                    staff_id: Some("staff1".into()),
                    sender_nick: "Zhang San".into(),
                    session_webhook: None,
                    webhook_expires_ms: None,
                },
            },
        }];
        outbox.push(store.enqueue_outbox(items, None).await.unwrap());
    }
    assert!(outbox.wait_idle(Duration::from_secs(30)).await);
    // Workers remove their entries right after their last send.
    let mut tracked = outbox.tracked_conversations();
    for _ in 0..100 {
        if tracked == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        tracked = outbox.tracked_conversations();
    }
    assert_eq!(tracked, 0, "idle conversations are still tracked");
}
