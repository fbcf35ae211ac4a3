mod common;

use std::time::Duration;

use common::*;
use dingtalk_sim::{InjectMessage, SimConfig};
use futures_util::SinkExt;
use serde_json::json;

#[tokio::test]
async fn connected_system_frame_is_sent_after_open() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let f = c.next_frame(WAIT).await.unwrap();
    assert_eq!(f["type"], "SYSTEM");
    assert_eq!(f["headers"]["topic"], "CONNECTED");
    assert_eq!(f["data"], "{}");
}

#[tokio::test]
async fn callback_frame_has_protocol_shape() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let msg_id = sim.inject(InjectMessage::text_1to1("staff1", "Alice", "hello"));
    let f = c.next_callback(WAIT).await.unwrap();
    assert_eq!(f["specVersion"], "1.0");
    let h = &f["headers"];
    assert_eq!(h["contentType"], "application/json");
    assert!(h["time"].as_str().unwrap().parse::<i64>().is_ok());
    assert_eq!(h["appId"].as_str().unwrap().len(), 36);
    assert!(h["connectionId"].is_string());
    assert_eq!(frame_id(&f).split('_').count(), 4);
    assert!(f["data"].is_string(), "data must be a JSON string");
    let p = payload(&f);
    assert_eq!(p["msgId"], msg_id.as_str());
    assert_eq!(p["msgtype"], "text");
    assert_eq!(p["text"]["content"], "hello");
    assert_eq!(p["conversationType"], "1");
    assert_eq!(
        p["conversationId"],
        dingtalk_sim::one_to_one_conversation_id("staff1").as_str()
    );
    assert_eq!(p["senderStaffId"], "staff1");
    assert_eq!(p["senderNick"], "Alice");
    assert_eq!(p["robotCode"], sim.config().client_id.as_str());
    assert!(p["senderId"].as_str().unwrap().starts_with("$:LWCP_v1:$"));
    assert!(p["createAt"].is_i64());
    let expires = p["sessionWebhookExpiredTime"].as_i64().unwrap();
    assert_eq!(expires - p["createAt"].as_i64().unwrap(), 5_400_000);
    let hook = p["sessionWebhook"].as_str().unwrap();
    assert!(hook.starts_with(&format!("{}/robot/sendBySession?session=", sim.base_url())));
    assert!(p.get("conversationTitle").is_none());
}

#[tokio::test]
async fn messages_wait_for_a_connection() {
    let sim = start(fast_config()).await;
    let msg_id = sim.inject(InjectMessage::text_1to1("u", "U", "early"));
    assert_eq!(sim.stats().pending_unacked, 1);
    let mut c = Client::connect(&sim).await;
    let f = c.next_callback(WAIT).await.unwrap();
    assert_eq!(payload(&f)["msgId"], msg_id.as_str());
}

#[tokio::test]
async fn acked_callback_is_not_redelivered() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    sim.inject(InjectMessage::text_1to1("u", "U", "hi"));
    let f = c.next_callback(WAIT).await.unwrap();
    c.ack(&f).await;
    assert!(sim.wait_until(WAIT, |s| s.acks_received == 1).await);
    assert!(c.next_callback(Duration::from_millis(700)).await.is_none());
    let s = sim.stats();
    assert_eq!((s.pending_unacked, s.redeliveries), (0, 0));
    assert_eq!(s.acks_missing_content_type, 0);
    assert_eq!(sim.ack_latencies().len(), 1);
}

#[tokio::test]
async fn unacked_callback_is_redelivered_with_same_msg_id_and_new_frame_id() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let msg_id = sim.inject(InjectMessage::text_1to1("u", "U", "hi"));
    let first = c.next_callback(WAIT).await.unwrap();
    let started = std::time::Instant::now();
    let second = c.next_callback(WAIT).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_ne!(frame_id(&first), frame_id(&second));
    assert_eq!(payload(&second)["msgId"], msg_id.as_str());
    assert_eq!(first["data"], second["data"], "same payload");
    assert_eq!(sim.stats().redeliveries, 1);
    c.ack(&second).await;
    assert!(sim.wait_until(WAIT, |s| s.pending_unacked == 0).await);
}

#[tokio::test]
async fn ack_on_another_connection_does_not_count() {
    let sim = start(fast_config()).await;
    let mut a = Client::connect(&sim).await;
    let mut b = Client::connect(&sim).await;
    sim.inject(InjectMessage::text_1to1("u", "U", "hi"));
    let (f, mut other) = tokio::select! {
        f = a.next_callback(WAIT) => (f.unwrap(), b),
        f = b.next_callback(WAIT) => (f.unwrap(), a),
    };
    other.ack(&f).await;
    assert!(sim.wait_until(WAIT, |s| s.acks_unknown == 1).await);
    let s = sim.stats();
    assert_eq!((s.acks_received, s.pending_unacked), (0, 1));
}

#[tokio::test]
async fn ack_with_non_200_code_is_not_an_ack() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    sim.inject(InjectMessage::text_1to1("u", "U", "hi"));
    let f = c.next_callback(WAIT).await.unwrap();
    c.send(&json!({"code": 500, "headers": {"messageId": frame_id(&f)}, "message": "err", "data": "{}"}))
        .await;
    assert!(sim.wait_until(WAIT, |s| s.acks_non_200 == 1).await);
    let s = sim.stats();
    assert_eq!(s.pending_unacked, 1);
    assert_eq!(
        s.acks_missing_content_type, 1,
        "that reply had no contentType header"
    );
}

#[tokio::test]
async fn ack_with_object_data_counts_as_bad_data_but_acks() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    sim.inject(InjectMessage::text_1to1("u", "U", "hi"));
    let f = c.next_callback(WAIT).await.unwrap();
    c.send(&json!({"code": 200, "headers": {"messageId": frame_id(&f)}, "message": "OK", "data": {"response": null}}))
        .await;
    assert!(sim.wait_until(WAIT, |s| s.acks_received == 1).await);
    assert_eq!(sim.stats().acks_bad_data, 1);
}

#[tokio::test]
async fn malformed_upstream_frame_is_counted() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    c.ws.send(tokio_tungstenite::tungstenite::Message::Text(
        "{oops".into(),
    ))
    .await
    .unwrap();
    assert!(sim.wait_until(WAIT, |s| s.frames_malformed == 1).await);
}

#[tokio::test]
async fn only_bot_subscribers_get_callbacks() {
    let sim = start(fast_config()).await;
    let mut body = open_body(&sim);
    body["subscriptions"] = json!([{"type": "EVENT", "topic": "*"}]);
    let (_, v) = open_raw(&sim, &body).await;
    let mut events_only = Client::connect_with(
        v["endpoint"].as_str().unwrap(),
        v["ticket"].as_str().unwrap(),
    )
    .await
    .unwrap();
    sim.inject(InjectMessage::text_1to1("u", "U", "hi"));
    assert!(
        events_only
            .next_callback(Duration::from_millis(300))
            .await
            .is_none()
    );
    let mut bot = Client::connect(&sim).await;
    assert!(bot.next_callback(WAIT).await.is_some());
}

#[tokio::test]
async fn inject_duplicate_uses_same_msg_id_and_new_frame_id() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let msg_id = sim.inject(InjectMessage::text_1to1("u", "U", "hi"));
    let first = c.next_callback(WAIT).await.unwrap();
    c.ack(&first).await;
    assert!(sim.wait_until(WAIT, |s| s.acks_received == 1).await);
    assert!(sim.inject_duplicate(&msg_id));
    assert!(!sim.inject_duplicate("msgUnknown"));
    let dup = c.next_callback(WAIT).await.unwrap();
    assert_ne!(frame_id(&first), frame_id(&dup));
    assert_eq!(payload(&dup)["msgId"], msg_id.as_str());
}

#[tokio::test]
async fn raw_frame_is_sent_verbatim() {
    let sim = start(SimConfig {
        send_connected: false,
        ..fast_config()
    })
    .await;
    let mut c = Client::connect(&sim).await;
    sim.inject_raw_frame("{not json".to_owned());
    let f = c.next_frame(WAIT).await.unwrap();
    assert_eq!(f, serde_json::Value::String("{not json".to_owned()));
    assert_eq!(sim.stats().raw_frames_sent, 1);
}

#[tokio::test]
async fn callbacks_are_spread_over_connections() {
    let sim = start(fast_config()).await;
    let mut a = Client::connect(&sim).await;
    let mut b = Client::connect(&sim).await;
    sim.inject(InjectMessage::text_1to1("u", "U", "1"));
    sim.inject(InjectMessage::text_1to1("u", "U", "2"));
    assert!(a.next_callback(WAIT).await.is_some());
    assert!(b.next_callback(WAIT).await.is_some());
}
