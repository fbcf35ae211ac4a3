mod common;

use std::time::Duration;

use common::*;
use dingtalk_sim::{InjectMessage, SimConfig};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn pinging() -> SimConfig {
    SimConfig {
        ping_interval: Some(Duration::from_millis(50)),
        ..fast_config()
    }
}

fn pong(ping: &Value, data: &str) -> Value {
    json!({
        "code": 200,
        "headers": {"messageId": ping["headers"]["messageId"], "contentType": "application/json"},
        "message": "OK",
        "data": data,
    })
}

#[tokio::test]
async fn ping_pong_with_echoed_opaque_counts_as_ok() {
    let sim = start(pinging()).await;
    let mut c = Client::connect(&sim).await;
    let ping = c.next_of("SYSTEM", "ping", WAIT).await.unwrap();
    let data: Value = serde_json::from_str(ping["data"].as_str().unwrap()).unwrap();
    assert!(data["opaque"].is_string());
    c.send(&pong(&ping, ping["data"].as_str().unwrap())).await;
    assert!(sim.wait_until(WAIT, |s| s.pongs_ok == 1).await);
    assert_eq!(sim.stats().pongs_bad, 0);
}

#[tokio::test]
async fn ping_pong_with_wrong_opaque_counts_as_bad() {
    let sim = start(pinging()).await;
    let mut c = Client::connect(&sim).await;
    let ping = c.next_of("SYSTEM", "ping", WAIT).await.unwrap();
    c.send(&pong(&ping, "{\"opaque\":\"something-else\"}"))
        .await;
    assert!(sim.wait_until(WAIT, |s| s.pongs_bad == 1).await);
    assert_eq!(sim.stats().pongs_ok, 0);
}

#[tokio::test]
async fn ping_pong_with_object_data_counts_as_bad() {
    let sim = start(pinging()).await;
    let mut c = Client::connect(&sim).await;
    let ping = c.next_of("SYSTEM", "ping", WAIT).await.unwrap();
    let mut reply = pong(&ping, "");
    reply["data"] = serde_json::from_str(ping["data"].as_str().unwrap()).unwrap();
    c.send(&reply).await;
    assert!(sim.wait_until(WAIT, |s| s.pongs_bad == 1).await);
}

#[tokio::test]
async fn keepalive_and_registered_frames_are_sent_when_configured() {
    let sim = start(SimConfig {
        send_registered: true,
        keepalive_interval: Some(Duration::from_millis(50)),
        ..fast_config()
    })
    .await;
    let mut c = Client::connect(&sim).await;
    assert!(c.next_of("SYSTEM", "REGISTERED", WAIT).await.is_some());
    let ka = c.next_of("SYSTEM", "KEEPALIVE", WAIT).await.unwrap();
    assert_eq!(ka["data"], "{}");
}

#[tokio::test]
async fn disconnect_stops_delivery_on_that_socket_immediately() {
    let sim = start(SimConfig {
        disconnect_grace: Duration::from_millis(500),
        ..fast_config()
    })
    .await;
    let mut old = Client::connect(&sim).await;
    sim.faults().send_disconnect();
    let d = old.next_of("SYSTEM", "disconnect", WAIT).await.unwrap();
    assert_eq!(d["data"], "{\"reason\":\"connection is expired\"}");
    assert!(d["headers"].get("messageId").is_none());
    // Within the grace window the old socket is open but gets nothing new.
    let msg_id = sim.inject(InjectMessage::text_1to1("u", "U", "in the window"));
    assert!(
        old.next_callback(Duration::from_millis(200))
            .await
            .is_none()
    );
    let mut new = Client::connect(&sim).await;
    let f = new.next_callback(WAIT).await.unwrap();
    assert_eq!(payload(&f)["msgId"], msg_id.as_str());
    // After the grace the old socket is closed by the server.
    assert!(sim.wait_until(WAIT, |s| s.live_connections == 1).await);
    assert!(old.next_frame(WAIT).await.is_none());
}

#[tokio::test]
async fn drop_all_sockets_closes_without_close_frame() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    c.next_frame(WAIT).await.unwrap(); // CONNECTED
    sim.faults().drop_all_sockets();
    let next = tokio::time::timeout(WAIT, c.ws.next()).await.unwrap();
    match next {
        None | Some(Err(_)) => {}
        Some(Ok(Message::Close(f))) => panic!("got a close frame {f:?}"),
        Some(Ok(other)) => panic!("unexpected {other:?}"),
    }
    assert!(sim.wait_until(WAIT, |s| s.live_connections == 0).await);
}

#[tokio::test]
async fn zombie_socket_callbacks_are_redelivered_elsewhere() {
    let sim = start(fast_config()).await;
    let mut zombie = Client::connect(&sim).await;
    zombie.next_frame(WAIT).await.unwrap(); // CONNECTED
    sim.faults().zombify_sockets();
    let msg_id = sim.inject(InjectMessage::text_1to1("u", "U", "hi"));
    let mut fresh = Client::connect(&sim).await;
    let f = fresh.next_callback(WAIT).await.unwrap();
    assert_eq!(payload(&f)["msgId"], msg_id.as_str());
    assert!(
        zombie
            .next_frame(Duration::from_millis(200))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn zombie_socket_unacked_callback_moves_to_a_new_connection() {
    let sim = start(fast_config()).await;
    let mut first = Client::connect(&sim).await;
    let msg_id = sim.inject(InjectMessage::text_1to1("u", "U", "hi"));
    first.next_callback(WAIT).await.unwrap();
    sim.faults().zombify_sockets();
    let mut fresh = Client::connect(&sim).await;
    let f = fresh.next_callback(WAIT).await.unwrap();
    assert_eq!(payload(&f)["msgId"], msg_id.as_str());
    fresh.ack(&f).await;
    assert!(sim.wait_until(WAIT, |s| s.pending_unacked == 0).await);
    assert_eq!(sim.stats().redeliveries, 1);
}
