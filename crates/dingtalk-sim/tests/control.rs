mod common;

use common::*;
use dingtalk_sim::{InjectMessage, SimStats};
use serde_json::{Value, json};

#[tokio::test]
async fn control_api_injects_a_message() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let resp: Value = http()
        .post(format!("{}/_sim/messages", sim.base_url()))
        .json(&json!({
            "sender_staff_id": "s9",
            "sender_nick": "Zed",
            "content": {"text": "from http"},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let msg_id = resp["msgId"].as_str().unwrap();
    let p = payload(&c.next_callback(WAIT).await.unwrap());
    assert_eq!(p["msgId"], msg_id);
    assert_eq!(p["text"]["content"], "from http");
    assert_eq!(
        p["conversationId"],
        dingtalk_sim::one_to_one_conversation_id("s9").as_str()
    );
}

#[tokio::test]
async fn control_api_round_trips_inject_message_json() {
    let sim = start(fast_config()).await;
    let msg = InjectMessage::text_group("cidG", "Team", "s1", "Bob", "hi");
    let resp = http()
        .post(format!("{}/_sim/messages", sim.base_url()))
        .json(&msg)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bad = http()
        .post(format!("{}/_sim/messages", sim.base_url()))
        .json(&json!({"nope": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn control_api_sets_faults_and_reports_stats() {
    let sim = start(fast_config()).await;
    let ok = http()
        .post(format!("{}/_sim/faults", sim.base_url()))
        .json(&json!({"gateway_failures": {"status": 500, "count": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let (status, v) = open_raw(&sim, &open_body(&sim)).await;
    assert_eq!((status, v["code"].as_str()), (500, Some("InternalError")));
    let stats: SimStats = http()
        .get(format!("{}/_sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats.gateway_rejections, 1);
}

#[tokio::test]
async fn control_api_lists_received_messages_by_encoded_id() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    sim.inject(InjectMessage::text_group("cid+a/b==", "T", "s", "S", "q"));
    let p = payload(&c.next_callback(WAIT).await.unwrap());
    let hook = p["sessionWebhook"].as_str().unwrap();
    http()
        .post(hook)
        .json(&json!({"msgtype": "text", "text": {"content": "reply"}}))
        .send()
        .await
        .unwrap();
    let got: Value = http()
        .get(format!(
            "{}/_sim/conversations/cid%2Ba%2Fb%3D%3D/received",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(got[0]["text"], "reply");
    assert_eq!(got[0]["conversation_id"], "cid+a/b==");
}
