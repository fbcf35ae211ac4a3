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

/// Creates a document and returns the create answer.
async fn create_doc(sim: &Sim, op: &str) -> Value {
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
    created
}

/// A new document's `dentryUuid`, the id the node and content endpoints take.
async fn new_doc(sim: &Sim, op: &str) -> String {
    create_doc(sim, op).await["dentryUuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn overwrite(sim: &Sim, op: &str, doc: &str, md: &str) -> (u16, Value) {
    call(
        sim,
        reqwest::Method::POST,
        &format!("/v1.0/doc/suites/documents/{doc}/overwriteContent?operatorId={op}"),
        Some(json!({"content": md, "dataType": "markdown"})),
    )
    .await
}

async fn blocks(sim: &Sim, op: &str, doc: &str) -> (u16, Value) {
    call(
        sim,
        reqwest::Method::GET,
        &format!("/v1.0/doc/suites/documents/{doc}/blocks?operatorId={op}"),
        None,
    )
    .await
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
            "unknown"
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

#[tokio::test]
async fn create_answers_three_distinct_ids() {
    let sim = start(fast_config()).await;
    let created = create_doc(&sim, &union(&sim, "lisi")).await;
    let ids: Vec<&str> = ["nodeId", "docKey", "dentryUuid"]
        .iter()
        .map(|k| created[*k].as_str().unwrap())
        .collect();
    assert!(ids.iter().all(|id| !id.is_empty()), "{created}");
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{created}"
    );
    assert!(created["url"].as_str().unwrap().ends_with(ids[2]));
}

#[tokio::test]
async fn the_create_node_id_is_doc_not_exist_on_the_content_endpoints() {
    let sim = start(fast_config()).await;
    let op = union(&sim, "lisi");
    let created = create_doc(&sim, &op).await;
    let node_id = created["nodeId"].as_str().unwrap();
    let (status, v) = overwrite(&sim, &op, node_id, "x").await;
    assert_eq!((status, v["code"].as_str()), (404, Some("docNotExist")));
    let (status, v) = call(
        &sim,
        reqwest::Method::POST,
        &format!("/v1.0/doc/suites/documents/{node_id}/content?operatorId={op}"),
        Some(json!({"content": {"type": "markdown", "content": "x"}})),
    )
    .await;
    assert_eq!((status, v["code"].as_str()), (404, Some("docNotExist")));
    let (status, v) = blocks(&sim, &op, node_id).await;
    assert_eq!((status, v["code"].as_str()), (404, Some("docNotExist")));
}

#[tokio::test]
async fn the_content_endpoints_take_the_dentry_uuid_or_the_doc_key() {
    let sim = start(fast_config()).await;
    let op = union(&sim, "lisi");
    let created = create_doc(&sim, &op).await;
    for key in ["dentryUuid", "docKey"] {
        let id = created[key].as_str().unwrap();
        let (status, v) = overwrite(&sim, &op, id, key).await;
        assert_eq!(status, 200, "{key}: {v}");
        let (status, v) = blocks(&sim, &op, id).await;
        assert_eq!(status, 200, "{key}: {v}");
        assert_eq!(v["result"]["data"][0]["paragraph"]["text"], key);
    }
}

#[tokio::test]
async fn blocks_read_back_tables_as_their_size_and_code_and_images_as_unknown() {
    let sim = start(fast_config()).await;
    let op = union(&sim, "lisi");
    let doc = new_doc(&sim, &op).await;
    let md = "intro\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```rust\nfn main() {}\n```\n\n![logo](https://e.x/l.png)";
    assert_eq!(overwrite(&sim, &op, &doc, md).await.0, 200);
    let (_, v) = blocks(&sim, &op, &doc).await;
    let data = v["result"]["data"].as_array().unwrap();
    assert_eq!(data.len(), 4);
    assert_eq!(data[0]["paragraph"]["text"], "intro");
    assert_eq!(data[1]["blockType"], "table");
    assert_eq!(data[1]["table"], json!({"rowSize": 2, "colSize": 2}));
    for unreadable in &data[2..] {
        assert_eq!(unreadable["blockType"], "unknown");
        let keys: Vec<&String> = unreadable.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 3, "only id, index, blockType: {unreadable}");
    }
}

#[tokio::test]
async fn node_times_are_minute_precise_with_millisecond_timestamps() {
    let sim = start(fast_config()).await;
    let op = union(&sim, "lisi");
    let doc = new_doc(&sim, &op).await;
    let path = format!("/v2.0/wiki/nodes/{doc}?operatorId={op}");
    let before = call(&sim, reqwest::Method::GET, &path, None).await.1["node"].clone();
    for key in ["modifiedTime", "createTime"] {
        let time = before[key].as_str().unwrap();
        // e.g. 2026-03-04T17:51Z
        assert_eq!(time.len(), 17, "{key}: {time}");
        assert!(
            time.ends_with('Z') && time.as_bytes()[13] == b':',
            "{key}: {time}"
        );
    }
    assert_eq!(overwrite(&sim, &op, &doc, "changed").await.0, 200);
    let after = call(&sim, reqwest::Method::GET, &path, None).await.1["node"].clone();
    let ms = |n: &Value| n["modifiedTimestamp"].as_i64().unwrap();
    assert!(ms(&after) > ms(&before), "{before} → {after}");
    assert!(after["createTimestamp"].is_i64());
}
