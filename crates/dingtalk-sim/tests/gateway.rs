mod common;

use std::time::Duration;

use common::*;
use dingtalk_sim::SimConfig;
use serde_json::json;
use tokio_tungstenite::tungstenite::Error as WsError;

fn status_of(e: WsError) -> u16 {
    match e {
        WsError::Http(resp) => resp.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn open_returns_ws_endpoint_and_uuid_ticket() {
    let sim = start(fast_config()).await;
    let (endpoint, ticket) = open(&sim).await;
    assert_eq!(endpoint, format!("ws://127.0.0.1:{}/connect", sim.port()));
    assert_eq!(ticket.len(), 36);
    assert_eq!(sim.stats().gateway_opens, 1);
}

#[tokio::test]
async fn ticket_is_single_use() {
    let sim = start(fast_config()).await;
    let (endpoint, ticket) = open(&sim).await;
    let _first = Client::connect_with(&endpoint, &ticket).await.unwrap();
    let second = Client::connect_with(&endpoint, &ticket).await;
    assert_eq!(status_of(second.err().unwrap()), 401);
    assert_eq!(sim.stats().ticket_rejections, 1);
}

#[tokio::test]
async fn unknown_ticket_is_refused() {
    let sim = start(fast_config()).await;
    let (endpoint, _) = open(&sim).await;
    let r = Client::connect_with(&endpoint, "not-a-ticket").await;
    assert_eq!(status_of(r.err().unwrap()), 401);
}

#[tokio::test]
async fn expired_ticket_is_refused() {
    let sim = start(SimConfig {
        ticket_ttl: Duration::from_millis(50),
        ..fast_config()
    })
    .await;
    let (endpoint, ticket) = open(&sim).await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    let r = Client::connect_with(&endpoint, &ticket).await;
    assert_eq!(status_of(r.err().unwrap()), 401);
}

#[tokio::test]
async fn wrong_credentials_are_refused_with_new_api_error_shape() {
    let sim = start(fast_config()).await;
    let mut body = open_body(&sim);
    body["clientSecret"] = json!("wrong");
    let (status, v) = open_raw(&sim, &body).await;
    assert_eq!(status, 401);
    assert_eq!(v["code"], "invalidClientIdOrSecret");
    assert!(v["message"].is_string());
    assert!(v["requestid"].is_string());
    assert_eq!(sim.stats().gateway_rejections, 1);
}

#[tokio::test]
async fn missing_fields_are_refused_with_invalid_parameter() {
    let sim = start(fast_config()).await;
    let mut body = open_body(&sim);
    body.as_object_mut().unwrap().remove("subscriptions");
    let (status, v) = open_raw(&sim, &body).await;
    assert_eq!(status, 400);
    assert_eq!(v["code"], "InvalidParameter");
    assert!(v["message"].as_str().unwrap().contains("subscriptions"));
}

#[tokio::test]
async fn gateway_failure_injection_returns_configured_status() {
    let sim = start(fast_config()).await;
    sim.faults().set_gateway_failures(503, 2);
    for _ in 0..2 {
        let (status, v) = open_raw(&sim, &open_body(&sim)).await;
        assert_eq!(status, 503);
        assert_eq!(v["code"], "ServiceUnavailable");
        assert!(v["requestid"].is_string());
    }
    let (status, _) = open_raw(&sim, &open_body(&sim)).await;
    assert_eq!(status, 200, "failures are used up after `count` calls");
    let s = sim.stats();
    assert_eq!((s.gateway_rejections, s.gateway_opens), (2, 1));
}

#[tokio::test]
async fn missing_accept_header_is_counted() {
    let sim = start(fast_config()).await;
    let resp = http()
        .post(format!("{}/v1.0/gateway/connections/open", sim.base_url()))
        .json(&open_body(&sim))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(sim.stats().gateway_without_accept_json, 1);
}

#[tokio::test]
async fn http_latency_is_added_to_api_answers() {
    let sim = start(fast_config()).await;
    sim.faults().set_http_latency(Duration::from_millis(150));
    let t = std::time::Instant::now();
    open(&sim).await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    sim.faults().clear();
    let t = std::time::Instant::now();
    open(&sim).await;
    assert!(t.elapsed() < Duration::from_millis(150));
}

#[tokio::test]
async fn http_5xx_rate_fails_api_calls_but_not_the_control_api() {
    let sim = start(fast_config()).await;
    sim.faults().set_http_5xx_rate(1.0);
    let (status, v) = open_raw(&sim, &open_body(&sim)).await;
    assert_eq!(status, 500);
    assert_eq!(v["code"], "InternalError");
    let stats = http()
        .get(format!("{}/_sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), 200);
    assert_eq!(sim.stats().injected_5xx, 1);
}
