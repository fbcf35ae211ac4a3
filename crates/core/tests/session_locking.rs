//! One slow OpenCode call must not stall other chats: the session manager locks per conversation, not
//! across all of them. Real sockets against the simulator's fake `opencode serve`, slowed for one chat.

use std::time::{Duration, Instant};

use dingbridge_core::agent::opencode::{OpenCodeBackend, OpenCodeSettings};
use dingbridge_core::agent::{AgentBackend, AgentRequest, update_channel};
use dingbridge_core::dingtalk::ConversationKind;
use dingbridge_core::store::Store;
use dingtalk_sim::{FakeOpenCode, FakeOpenCodeConfig};

fn request(conversation: &str, title: &str, msg_id: &str) -> AgentRequest {
    AgentRequest {
        msg_id: msg_id.to_owned(),
        conversation_id: conversation.to_owned(),
        conversation_kind: ConversationKind::Group,
        conversation_title: Some(title.to_owned()),
        sender_nick: "Zhang San".to_owned(),
        sender_staff_id: Some("staff42".to_owned()),
        text: "hello".to_owned(),
        attachments: Vec::new(),
    }
}

#[tokio::test]
async fn a_slow_session_create_in_one_chat_does_not_stall_another_chat() {
    let fake = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    let slow = Duration::from_secs(8);
    fake.delay_session_create("Slow Team", slow);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let backend = OpenCodeBackend::new(
        OpenCodeSettings {
            request_timeout: Duration::from_secs(30),
            turn_timeout: Duration::from_secs(60),
            ..OpenCodeSettings::default()
        }
        .with_base_url(fake.base_url()),
        None,
        store,
    )
    .unwrap();

    let slow_backend = backend.clone();
    let started = Instant::now();
    let slow_turn = tokio::spawn(async move {
        let (tx, _rx) = update_channel();
        slow_backend
            .respond(request("cid-slow", "Slow Team", "msg-slow"), tx)
            .await
    });
    // Let the slow chat's session create reach the fake first.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (tx, _rx) = update_channel();
    let fast = backend
        .respond(request("cid-fast", "Fast Team", "msg-fast"), tx)
        .await
        .expect("the other chat is answered");
    let fast_done = started.elapsed();
    assert!(!fast.text.is_empty());
    assert!(
        fast_done < slow - Duration::from_secs(2),
        "the fast chat waited {fast_done:?} behind the slow chat's {slow:?} session create"
    );

    let slow_reply = slow_turn
        .await
        .unwrap()
        .expect("the slow chat is answered too");
    assert!(!slow_reply.text.is_empty());
    assert!(started.elapsed() >= slow, "the slow chat really was slow");
}
