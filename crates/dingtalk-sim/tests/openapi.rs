//! The contacts and Docs endpoints: token checks, operatorId rules, documented limits and error shapes.

mod common;

use common::*;
use dingtalk_sim::Sim;
use serde_json::{Value, json};

async fn token(sim: &Sim) -> String {
    let v: Value = http()
        .post(format!("{}/v1.0/oauth2/accessToken", sim.base_url()))
        .json(&json!({"appKey": "demo-client-id", "appSecret": "demo-client-secret"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["accessToken"].as_str().unwrap().to_owned()
}

async fn call(sim: &Sim, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let t = token(sim).await;
    let mut req = http()
        .request(method, format!("{}{path}", sim.base_url()))
        .header("x-acs-dingtalk-access-token", t);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

fn union(sim: &Sim, user: &str) -> String {
    sim.user(user).unwrap().union_id
}

async fn new_doc(sim: &Sim, op: &str) -> String {
    let (_, mine) = call(
        sim,
        reqwest::Method::GET,
        &format!("/v2.0/wiki/mineWorkspaces?operatorId={op}"),
        None,
    )
    .await;
    let ws = mine["workspace"]["workspaceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, created) = call(
        sim,
        reqwest::Method::POST,
        &format!("/v1.0/doc/workspaces/{ws}/docs"),
        Some(json!({"name": "t", "docType": "DOC", "operatorId": op})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    created["nodeId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_new_api_call_without_the_token_header_is_missing_parameter() {
    let sim = start(fast_config()).await;
    let resp = http()
        .post(format!("{}/v1.0/contact/users/search", sim.base_url()))
        .json(&json!({"queryWord": "李四"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["code"], "AuthenticationFailed.MissingParameter");
}

#[tokio::test]
async fn an_expired_token_is_invalid_authentication() {
    let sim = start(fast_config()).await;
    let t = token(&sim).await;
    sim.force_token_expiry();
    let resp = http()
        .post(format!("{}/v1.0/contact/users/search", sim.base_url()))
        .header("x-acs-dingtalk-access-token", t)
        .json(&json!({"queryWord": "李四"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "InvalidAuthentication"
    );
}

#[tokio::test]
async fn an_old_api_call_with_a_bad_token_is_errcode_40014() {
    let sim = start(fast_config()).await;
    let v: Value = http()
        .post(format!(
            "{}/topapi/v2/user/get?access_token=forged",
            sim.base_url()
        ))
        .json(&json!({"userid": "lisi"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["errcode"], 40014);
}

#[tokio::test]
async fn user_search_returns_both_zhang_weis() {
    let sim = start(fast_config()).await;
    let (status, v) = call(
        &sim,
        reqwest::Method::POST,
        "/v1.0/contact/users/search",
        Some(json!({"queryWord": "张伟", "offset": 0, "size": 10})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["totalCount"], 2);
    assert_eq!(v["hasMore"], false);
}

#[tokio::test]
async fn docs_calls_without_operator_id_are_param_errors() {
    let sim = start(fast_config()).await;
    let (status, v) = call(
        &sim,
        reqwest::Method::GET,
        "/v2.0/wiki/mineWorkspaces",
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["code"], "paramError");
}

#[tokio::test]
async fn an_unknown_document_is_doc_not_exist() {
    let sim = start(fast_config()).await;
    let op = union(&sim, "lisi");
    let (status, v) = call(
        &sim,
        reqwest::Method::GET,
        &format!("/v1.0/doc/suites/documents/nope/blocks?operatorId={op}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(v["code"], "docNotExist");
}

#[tokio::test]
async fn another_users_document_is_access_denied() {
    let sim = start(fast_config()).await;
    let doc = new_doc(&sim, &union(&sim, "lisi")).await;
    let other = union(&sim, "bob");
    let (status, v) = call(
        &sim,
        reqwest::Method::GET,
        &format!("/v1.0/doc/suites/documents/{doc}/blocks?operatorId={other}"),
        None,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(v["code"], "forbidden.accessDenied");
}

#[tokio::test]
async fn overwrite_over_50000_characters_is_refused() {
    let sim = start(fast_config()).await;
    let op = union(&sim, "lisi");
    let doc = new_doc(&sim, &op).await;
    let path = format!("/v1.0/doc/suites/documents/{doc}/overwriteContent?operatorId={op}");
    let (status, v) = call(
        &sim,
        reqwest::Method::POST,
        &path,
        Some(json!({"content": "x".repeat(50_001), "dataType": "markdown"})),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(sim.doc_version(&doc), Some(0));
}

#[tokio::test]
async fn markdown_is_stored_as_typed_first_level_blocks() {
    let sim = start(fast_config()).await;
    let op = union(&sim, "lisi");
    let doc = new_doc(&sim, &op).await;
    let path = format!("/v1.0/doc/suites/documents/{doc}/overwriteContent?operatorId={op}");
    let md = "# H\n\np\n\n1. o\n- u\n> q\n```sh\nls\n```";
    let (status, _) = call(
        &sim,
        reqwest::Method::POST,
        &path,
        Some(json!({"content": md, "dataType": "markdown"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, v) = call(
        &sim,
        reqwest::Method::GET,
        &format!("/v1.0/doc/suites/documents/{doc}/blocks?operatorId={op}"),
        None,
    )
    .await;
    let types: Vec<&str> = v["result"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["blockType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "heading",
            "paragraph",
            "orderedList",
            "unorderedList",
            "blockquote",
            "code"
        ]
    );
    assert_eq!(sim.doc_version(&doc), Some(1));
}

#[tokio::test]
async fn throttling_faults_answer_the_documented_qps_error() {
    let sim = start(fast_config()).await;
    sim.faults().throttle_next("/v1.0/contact/", 1);
    let body = json!({"queryWord": "李四"});
    let (status, v) = call(
        &sim,
        reqwest::Method::POST,
        "/v1.0/contact/users/search",
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(v["code"], "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi");
    let (status, _) = call(
        &sim,
        reqwest::Method::POST,
        "/v1.0/contact/users/search",
        Some(body),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn token_failures_answer_503_then_recover() {
    let sim = start(fast_config()).await;
    sim.faults().set_token_failures(1);
    let resp = http()
        .post(format!("{}/v1.0/oauth2/accessToken", sim.base_url()))
        .json(&json!({"appKey": "demo-client-id", "appSecret": "demo-client-secret"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    token(&sim).await;
    assert_eq!(sim.token_requests(), 2);
}
