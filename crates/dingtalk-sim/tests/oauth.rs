mod common;

use common::*;
use serde_json::{Value, json};

async fn token(sim: &dingtalk_sim::Sim, key: &str, secret: &str) -> (u16, Value) {
    let resp = http()
        .post(format!("{}/v1.0/oauth2/accessToken", sim.base_url()))
        .json(&json!({"appKey": key, "appSecret": secret}))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn access_token_is_reused_within_validity() {
    let sim = start(fast_config()).await;
    let (status, first) = token(&sim, "demo-client-id", "demo-client-secret").await;
    assert_eq!(status, 200);
    assert_eq!(first["expireIn"], 7200);
    let (_, second) = token(&sim, "demo-client-id", "demo-client-secret").await;
    assert_eq!(first["accessToken"], second["accessToken"]);
    assert!(sim.validate_token(first["accessToken"].as_str().unwrap()));
    assert!(!sim.validate_token("forged"));
}

#[tokio::test]
async fn access_token_with_wrong_secret_is_refused() {
    let sim = start(fast_config()).await;
    let (status, v) = token(&sim, "demo-client-id", "nope").await;
    assert_eq!(status, 400);
    assert_eq!(v["code"], "invalidClientIdOrSecret");
    assert_eq!(v["message"], "无效的clientId或者clientSecret");
    assert!(v["requestid"].is_string());
}

#[tokio::test]
async fn unknown_api_path_answers_new_api_not_found() {
    let sim = start(fast_config()).await;
    let resp = http()
        .post(format!("{}/v1.0/nope", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["code"], "InvalidAction.NotFound");
}
