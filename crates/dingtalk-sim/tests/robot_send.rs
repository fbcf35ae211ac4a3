//! Robot proactive sends (`oToMessages/batchSend`, `groupMessages/send`) over real HTTP.

mod common;

use common::*;
use dingtalk_sim::{InjectMessage, Sim, SimConfig, one_to_one_conversation_id};
use serde_json::{Value, json};

const GROUP: &str = "cidGroupRobotSend==";

async fn token(sim: &Sim) -> String {
    let v: Value = http()
        .post(format!("{}/v1.0/oauth2/accessToken", sim.base_url()))
        .json(&json!({"appKey": sim.config().client_id, "appSecret": sim.config().client_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["accessToken"].as_str().unwrap().to_owned()
}

async fn call(sim: &Sim, token: Option<&str>, path: &str, body: &Value) -> (u16, Value) {
    let mut req = http().post(format!("{}{path}", sim.base_url())).json(body);
    if let Some(t) = token {
        req = req.header("x-acs-dingtalk-access-token", t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn md_param(text: &str) -> String {
    json!({"title": "t", "text": text}).to_string()
}

fn group_body(sim: &Sim, text: &str) -> Value {
    json!({"robotCode": sim.config().client_id, "openConversationId": GROUP,
           "msgKey": "sampleMarkdown", "msgParam": md_param(text)})
}

fn oto_body(sim: &Sim, user: &str, text: &str) -> Value {
    json!({"robotCode": sim.config().client_id, "userIds": [user],
           "msgKey": "sampleMarkdown", "msgParam": md_param(text)})
}

const GROUP_PATH: &str = "/v1.0/robot/groupMessages/send";
const OTO_PATH: &str = "/v1.0/robot/oToMessages/batchSend";

async fn sim_with_group(config: SimConfig) -> (Sim, String) {
    let sim = start(config).await;
    sim.add_group(GROUP);
    let t = token(&sim).await;
    (sim, t)
}

#[tokio::test]
async fn group_send_is_recorded_with_the_group_channel() {
    let (sim, t) = sim_with_group(fast_config()).await;
    let (status, v) = call(&sim, Some(&t), GROUP_PATH, &group_body(&sim, "**hi**")).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["processQueryKey"].as_str().is_some_and(|k| !k.is_empty()));
    let got = sim.received(GROUP);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].channel, "group");
    assert_eq!(got[0].msgtype, "markdown");
    assert_eq!(got[0].text, "**hi**");
}

#[tokio::test]
async fn a_group_seen_in_an_injected_message_is_known() {
    let sim = start(fast_config()).await;
    sim.inject(InjectMessage::text_group(GROUP, "team", "u1", "U1", "hi"));
    let t = token(&sim).await;
    let (status, _) = call(&sim, Some(&t), GROUP_PATH, &group_body(&sim, "x")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_unknown_group_is_refused() {
    let sim = start(fast_config()).await;
    let t = token(&sim).await;
    let (status, v) = call(&sim, Some(&t), GROUP_PATH, &group_body(&sim, "x")).await;
    assert_eq!(status, 400);
    assert_eq!(v["code"], "invalidParameter.robotCode.empty");
}

#[tokio::test]
async fn sends_without_a_valid_token_are_refused() {
    let (sim, _) = sim_with_group(fast_config()).await;
    let (status, v) = call(&sim, None, GROUP_PATH, &group_body(&sim, "x")).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("AuthenticationFailed.MissingParameter"))
    );
    let (status, v) = call(&sim, Some("bogus"), GROUP_PATH, &group_body(&sim, "x")).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("InvalidAuthentication"))
    );
    assert!(sim.received(GROUP).is_empty());
}

#[tokio::test]
async fn a_wrong_robot_code_is_refused() {
    let (sim, t) = sim_with_group(fast_config()).await;
    let mut body = group_body(&sim, "x");
    body["robotCode"] = json!("someone-else");
    let (status, v) = call(&sim, Some(&t), GROUP_PATH, &body).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("invalidParameter.robotCode.notExsit"))
    );
}

#[tokio::test]
async fn msg_param_must_be_a_json_string() {
    let (sim, t) = sim_with_group(fast_config()).await;
    let mut body = group_body(&sim, "x");
    body["msgParam"] = json!({"title": "t", "text": "x"});
    let (status, v) = call(&sim, Some(&t), GROUP_PATH, &body).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("invalidParameter.msgParam.invalid"))
    );
    body["msgParam"] = json!("not json");
    let (_, v) = call(&sim, Some(&t), GROUP_PATH, &body).await;
    assert_eq!(v["code"], "invalidParameter.msgParam.invalid");
}

#[tokio::test]
async fn msg_param_over_15000_bytes_is_too_long() {
    let (sim, t) = sim_with_group(fast_config()).await;
    let (status, v) = call(
        &sim,
        Some(&t),
        GROUP_PATH,
        &group_body(&sim, &"字".repeat(5_000)),
    )
    .await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("invalidParameter.msgParam.tooLong"))
    );
    let (status, _) = call(
        &sim,
        Some(&t),
        OTO_PATH,
        &oto_body(&sim, "lisi", &"字".repeat(5_000)),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_unknown_msg_key_is_refused() {
    let (sim, t) = sim_with_group(fast_config()).await;
    let mut body = group_body(&sim, "x");
    body["msgKey"] = json!("sampleActionCard1");
    let (_, v) = call(&sim, Some(&t), GROUP_PATH, &body).await;
    assert_eq!(v["code"], "invalidParameter.msgKey.invalid");
}

#[tokio::test]
async fn oto_send_lands_in_the_users_one_to_one_conversation() {
    let (sim, t) = sim_with_group(fast_config()).await;
    let (status, v) = call(&sim, Some(&t), OTO_PATH, &oto_body(&sim, "lisi", "hello")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["invalidStaffIdList"], json!([]));
    assert_eq!(v["flowControlledStaffIdList"], json!([]));
    let got = sim.received(&one_to_one_conversation_id("lisi"));
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].channel, "oto");
    assert_eq!(got[0].text, "hello");
}

#[tokio::test]
async fn oto_send_to_an_unknown_user_lists_it_as_invalid() {
    let (sim, t) = sim_with_group(fast_config()).await;
    let (status, v) = call(&sim, Some(&t), OTO_PATH, &oto_body(&sim, "nobody", "x")).await;
    assert_eq!(status, 200);
    assert_eq!(v["invalidStaffIdList"], json!(["nobody"]));
}

#[tokio::test]
async fn the_per_conversation_minute_budget_throttles_group_and_oto_sends() {
    let (sim, t) = sim_with_group(fast_config().with_webhook_rate_per_min(2)).await;
    for _ in 0..2 {
        assert_eq!(
            call(&sim, Some(&t), GROUP_PATH, &group_body(&sim, "x"))
                .await
                .0,
            200
        );
        assert_eq!(
            call(&sim, Some(&t), OTO_PATH, &oto_body(&sim, "lisi", "x"))
                .await
                .0,
            200
        );
    }
    let (status, v) = call(&sim, Some(&t), GROUP_PATH, &group_body(&sim, "x")).await;
    assert_eq!((status, v["code"].as_str()), (400, Some("send.too.fast")));
    let (status, v) = call(&sim, Some(&t), OTO_PATH, &oto_body(&sim, "lisi", "x")).await;
    assert_eq!(status, 200);
    assert_eq!(v["flowControlledStaffIdList"], json!(["lisi"]));
    assert_eq!(sim.received(GROUP).len(), 2);
    assert_eq!(sim.received(&one_to_one_conversation_id("lisi")).len(), 2);
}

#[tokio::test]
async fn the_per_app_qps_limit_answers_403() {
    let (sim, t) = sim_with_group(fast_config().with_send_qps(3)).await;
    let mut codes = Vec::new();
    for i in 0..5 {
        let (status, v) = call(
            &sim,
            Some(&t),
            OTO_PATH,
            &oto_body(&sim, "lisi", &format!("{i}")),
        )
        .await;
        codes.push((status, v["code"].as_str().map(str::to_owned)));
    }
    assert_eq!(
        codes.iter().filter(|(s, _)| *s == 200).count(),
        3,
        "{codes:?}"
    );
    assert!(codes.contains(&(
        403,
        Some("Forbidden.AccessDenied.QpsLimitForAppkeyAndApi".to_owned())
    )));
}

#[tokio::test]
async fn throttle_sends_forces_robot_level_throttling() {
    let (sim, t) = sim_with_group(fast_config()).await;
    sim.faults().throttle_sends(2);
    let (_, v) = call(&sim, Some(&t), GROUP_PATH, &group_body(&sim, "x")).await;
    assert_eq!(v["code"], "send.too.fast");
    let (_, v) = call(&sim, Some(&t), OTO_PATH, &oto_body(&sim, "lisi", "x")).await;
    assert_eq!(v["flowControlledStaffIdList"], json!(["lisi"]));
    assert_eq!(
        call(&sim, Some(&t), GROUP_PATH, &group_body(&sim, "x"))
            .await
            .0,
        200
    );
}
