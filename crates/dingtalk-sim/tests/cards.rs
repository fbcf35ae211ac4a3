//! AI cards (`card/instances/createAndDeliver`, `card/streaming`) over real HTTP.

mod common;

use common::*;
use dingtalk_sim::{CardStatus, Sim, one_to_one_conversation_id};
use serde_json::{Value, json};

const GROUP: &str = "cidCardGroup==";
const CREATE: &str = "/v1.0/card/instances/createAndDeliver";
const STREAM: &str = "/v1.0/card/streaming";

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

async fn call(sim: &Sim, t: &str, put: bool, path: &str, body: &Value) -> (u16, Value) {
    let url = format!("{}{path}", sim.base_url());
    let req = if put {
        http().put(url)
    } else {
        http().post(url)
    };
    let resp = req
        .header("x-acs-dingtalk-access-token", t)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn group_card(sim: &Sim, id: &str) -> Value {
    json!({
        "cardTemplateId": "tpl.schema", "outTrackId": id, "callbackType": "STREAM",
        "cardData": {"cardParamMap": {"content": ""}},
        "openSpaceId": format!("dtv1.card//IM_GROUP.{GROUP}"), "userIdType": 1,
        "imGroupOpenSpaceModel": {"supportForward": true},
        "imGroupOpenDeliverModel": {"robotCode": sim.config().client_id},
    })
}

fn update(id: &str, guid: &str, content: &str, finalize: bool) -> Value {
    json!({"outTrackId": id, "guid": guid, "key": "content", "content": content,
           "isFull": true, "isFinalize": finalize, "isError": false})
}

async fn setup() -> (Sim, String) {
    let sim = start(fast_config()).await;
    sim.add_group(GROUP);
    let t = token(&sim).await;
    (sim, t)
}

#[tokio::test]
async fn a_group_card_is_created_streamed_and_finished() {
    let (sim, t) = setup().await;
    let (status, v) = call(&sim, &t, false, CREATE, &group_card(&sim, "c1")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["result"]["deliverResults"][0]["success"], true);
    assert_eq!(sim.card("c1").unwrap().status, CardStatus::Processing);
    assert_eq!(
        call(&sim, &t, true, STREAM, &update("c1", "g1", "Hel", false))
            .await
            .0,
        200
    );
    assert_eq!(sim.card("c1").unwrap().status, CardStatus::Inputting);
    assert_eq!(
        call(&sim, &t, true, STREAM, &update("c1", "g2", "Hello", true))
            .await
            .0,
        200
    );
    let card = sim.card("c1").unwrap();
    assert_eq!(card.status, CardStatus::Finished);
    assert_eq!(card.text(), "Hello");
    assert_eq!(card.update_count(), 2);
    assert_eq!(sim.cards(GROUP).len(), 1);
    let got = sim.received(GROUP);
    assert_eq!(
        (got[0].channel.as_str(), got[0].text.as_str()),
        ("card", "Hello")
    );
}

#[tokio::test]
async fn a_user_card_uses_the_im_robot_space_of_the_user_id() {
    let (sim, t) = setup().await;
    let body = json!({
        "cardTemplateId": "tpl.schema", "outTrackId": "u1", "callbackType": "STREAM",
        "cardData": {"cardParamMap": {}}, "openSpaceId": "dtv1.card//IM_ROBOT.lisi",
        "imRobotOpenSpaceModel": {"supportForward": true},
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": sim.config().client_id},
    });
    assert_eq!(call(&sim, &t, false, CREATE, &body).await.0, 200);
    assert_eq!(sim.cards(&one_to_one_conversation_id("lisi")).len(), 1);
    let mut wrong = body.clone();
    wrong["outTrackId"] = json!("u2");
    wrong["openSpaceId"] = json!(format!(
        "dtv1.card//IM_ROBOT.{}",
        one_to_one_conversation_id("lisi")
    ));
    let (status, v) = call(&sim, &t, false, CREATE, &wrong).await;
    assert_eq!(
        (status, v["message"].as_str()),
        (400, Some("spaceId is illegal"))
    );
}

#[tokio::test]
async fn card_param_values_must_be_strings() {
    let (sim, t) = setup().await;
    let mut body = group_card(&sim, "c1");
    body["cardData"]["cardParamMap"]["flowStatus"] = json!(1);
    let (status, v) = call(&sim, &t, false, CREATE, &body).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("param.cardParamMap.invalid"))
    );
}

#[tokio::test]
async fn streaming_into_an_unknown_card_is_refused() {
    let (sim, t) = setup().await;
    let (status, _) = call(&sim, &t, true, STREAM, &update("nope", "g", "x", false)).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn oversized_stream_content_is_too_large() {
    let (sim, t) = setup().await;
    call(&sim, &t, false, CREATE, &group_card(&sim, "c1")).await;
    let big = "x".repeat(sim.config().card_max_content_bytes + 1);
    let (status, v) = call(&sim, &t, true, STREAM, &update("c1", "g", &big, false)).await;
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("param.stream.content"))
    );
    assert_eq!(v["message"], "content is too large");
}

#[tokio::test]
async fn a_repeated_guid_is_applied_once() {
    let (sim, t) = setup().await;
    call(&sim, &t, false, CREATE, &group_card(&sim, "c1")).await;
    for _ in 0..3 {
        assert_eq!(
            call(&sim, &t, true, STREAM, &update("c1", "same", "x", false))
                .await
                .0,
            200
        );
    }
    assert_eq!(sim.card("c1").unwrap().update_count(), 1);
}

#[tokio::test]
async fn fail_cards_makes_card_calls_fail() {
    let (sim, t) = setup().await;
    sim.faults().fail_cards(1);
    let (status, _) = call(&sim, &t, false, CREATE, &group_card(&sim, "c1")).await;
    assert_eq!(status, 500);
    assert!(sim.card("c1").is_none());
    assert_eq!(
        call(&sim, &t, false, CREATE, &group_card(&sim, "c1"))
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn an_error_update_marks_the_card_failed_and_later_updates_are_refused() {
    let (sim, t) = setup().await;
    call(&sim, &t, false, CREATE, &group_card(&sim, "c1")).await;
    let mut err = update("c1", "g1", "partial", false);
    err["isError"] = json!(true);
    assert_eq!(call(&sim, &t, true, STREAM, &err).await.0, 200);
    assert_eq!(sim.card("c1").unwrap().status, CardStatus::Failed);
    assert_eq!(
        call(&sim, &t, true, STREAM, &update("c1", "g2", "more", false))
            .await
            .0,
        400
    );
}
