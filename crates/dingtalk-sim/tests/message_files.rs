//! Media callbacks and the robot message-file download API: downloadCode → short-lived link → bytes, with the
//! token, robotCode and downloadCode checks and the link's expiry; quoted replies and videos on the wire.

mod common;

use std::time::Duration;

use common::*;
use dingtalk_sim::{InjectContent, InjectMessage, Sim, SimFileBody};
use serde_json::{Value, json};

const DOWNLOAD: &str = "/v1.0/robot/messageFiles/download";

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

async fn exchange(sim: &Sim, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut request = http().post(format!("{}{DOWNLOAD}", sim.base_url()));
    if let Some(token) = token {
        request = request.header("x-acs-dingtalk-access-token", token);
    }
    let response = request.json(&body).send().await.unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

/// Injects `message` and returns the callback payload the bot receives.
async fn delivered(sim: &Sim, message: InjectMessage) -> Value {
    let mut client = Client::connect(sim).await;
    sim.inject(message);
    payload(&client.next_callback(WAIT).await.unwrap())
}

fn file(name: &str) -> InjectMessage {
    InjectMessage::text_1to1("u1", "U", "").with_content(InjectContent::File {
        file_name: name.into(),
    })
}

#[tokio::test]
async fn a_download_code_exchanges_for_a_link_that_serves_the_files_bytes() {
    let sim = start(fast_config()).await;
    let p = delivered(
        &sim,
        file("a.txt").with_file_body(SimFileBody::Text("hello".into())),
    )
    .await;
    let code = p["content"]["downloadCode"].as_str().unwrap().to_owned();
    let t = token(&sim).await;
    let (status, answer) = exchange(
        &sim,
        Some(&t),
        json!({"downloadCode": code, "robotCode": "demo-client-id"}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let url = answer["downloadUrl"].as_str().unwrap();
    // The link needs no token, like the real object-store link.
    let response = http().get(url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"hello");
    assert_eq!(sim.file_download_counts(), (1, 1));
}

#[tokio::test]
async fn the_download_api_checks_the_token_the_robot_code_and_the_download_code() {
    let sim = start(fast_config()).await;
    let p = delivered(&sim, file("a.txt")).await;
    let code = p["content"]["downloadCode"].as_str().unwrap().to_owned();
    let t = token(&sim).await;
    let ok_body = json!({"downloadCode": code, "robotCode": "demo-client-id"});
    let cases = [
        (
            None,
            ok_body.clone(),
            "AuthenticationFailed.MissingParameter",
        ),
        (
            Some("not-a-token"),
            ok_body.clone(),
            "InvalidAuthentication",
        ),
        (
            Some(t.as_str()),
            json!({"downloadCode": code}),
            "invalidParameter.robotCode.empty",
        ),
        (
            Some(t.as_str()),
            json!({"downloadCode": code, "robotCode": "someone-else"}),
            "invalidParameter.robotCode.notExsit",
        ),
        (
            Some(t.as_str()),
            json!({"downloadCode": "made-up", "robotCode": "demo-client-id"}),
            "invalidParameter.downloadCode.invalid",
        ),
    ];
    for (token, body, expected) in cases {
        let (status, answer) = exchange(&sim, token, body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["code"], expected, "{answer}");
        assert!(answer["requestid"].is_string());
    }
}

#[tokio::test]
async fn a_refused_download_code_answers_like_an_expired_one() {
    let sim = start(fast_config()).await;
    let p = delivered(&sim, file("a.txt").with_file_body(SimFileBody::Refused)).await;
    let t = token(&sim).await;
    let (status, answer) = exchange(
        &sim,
        Some(&t),
        json!({"downloadCode": p["content"]["downloadCode"], "robotCode": "demo-client-id"}),
    )
    .await;
    assert_eq!(
        (status, answer["code"].as_str()),
        (400, Some("invalidParameter.downloadCode.invalid"))
    );
}

#[tokio::test]
async fn an_expired_link_answers_403_access_denied_in_xml() {
    let sim = start(fast_config()).await;
    sim.set_file_link_ttl(Duration::ZERO);
    let p = delivered(&sim, file("a.txt")).await;
    let t = token(&sim).await;
    let (_, answer) = exchange(
        &sim,
        Some(&t),
        json!({"downloadCode": p["content"]["downloadCode"], "robotCode": "demo-client-id"}),
    )
    .await;
    let response = http()
        .get(answer["downloadUrl"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("<Code>AccessDenied</Code>")
    );
}

#[tokio::test]
async fn a_video_callback_carries_its_download_code_duration_and_type() {
    let sim = start(fast_config()).await;
    let p = delivered(
        &sim,
        InjectMessage::text_1to1("u1", "U", "").with_content(InjectContent::Video {
            duration_ms: 5_000,
            video_type: "mp4".into(),
        }),
    )
    .await;
    assert_eq!(p["msgtype"], "video");
    assert_eq!(p["content"]["videoType"], "mp4");
    assert_eq!(p["content"]["duration"], 5_000);
    assert!(
        p["content"]["downloadCode"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
}

#[tokio::test]
async fn a_quoted_reply_carries_the_quoted_message_in_the_text() {
    let sim = start(fast_config()).await;
    let p = delivered(
        &sim,
        InjectMessage::text_1to1("u1", "U", "why?").quoting("build is red", "Wang"),
    )
    .await;
    assert_eq!(p["text"]["content"], "why?");
    assert_eq!(p["text"]["isReplyMsg"], true);
    assert_eq!(p["text"]["repliedMsg"]["content"]["text"], "build is red");
    assert_eq!(p["text"]["repliedMsg"]["senderNick"], "Wang");
}
