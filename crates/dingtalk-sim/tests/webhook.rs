mod common;

use std::time::Duration;

use common::*;
use dingtalk_sim::{InjectMessage, Sim, SimConfig};
use serde_json::{Value, json};

/// Deliver a message and return (sessionWebhook URL, conversationId).
async fn session(sim: &Sim, c: &mut Client, msg: InjectMessage) -> (String, String) {
    sim.inject(msg);
    let f = c.next_callback(WAIT).await.unwrap();
    c.ack(&f).await;
    let p = payload(&f);
    (
        p["sessionWebhook"].as_str().unwrap().to_owned(),
        p["conversationId"].as_str().unwrap().to_owned(),
    )
}

async fn post(url: &str, body: &Value) -> (u16, Value) {
    let resp = http().post(url).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

fn text(s: &str) -> Value {
    json!({"msgtype": "text", "text": {"content": s}})
}

#[tokio::test]
async fn webhook_accepts_text_and_markdown_and_records_them() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let (hook, conv) = session(&sim, &mut c, InjectMessage::text_1to1("u", "U", "q")).await;
    assert_eq!(
        post(&hook, &text("answer")).await,
        (200, json!({"errcode": 0, "errmsg": "ok"}))
    );
    let md = json!({"msgtype": "markdown", "markdown": {"title": "Result", "text": "**done**"}});
    assert_eq!(post(&hook, &md).await.1["errcode"], 0);
    let got = sim.received(&conv);
    assert_eq!(got.len(), 2);
    assert_eq!(
        (
            got[0].channel.as_str(),
            got[0].msgtype.as_str(),
            got[0].text.as_str()
        ),
        ("webhook", "text", "answer")
    );
    assert_eq!(got[1].title.as_deref(), Some("Result"));
    assert_eq!(got[1].text, "**done**");
    assert_eq!(got[1].body, md);
}

#[tokio::test]
async fn markdown_without_title_is_refused() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let (hook, conv) = session(&sim, &mut c, InjectMessage::text_1to1("u", "U", "q")).await;
    let (status, v) = post(
        &hook,
        &json!({"msgtype": "markdown", "markdown": {"text": "x"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["errcode"], dingtalk_sim::ERR_BAD_BODY);
    assert!(sim.received(&conv).is_empty());
}

#[tokio::test]
async fn webhook_rejects_bodies_over_20000_bytes() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let (hook, conv) = session(&sim, &mut c, InjectMessage::text_1to1("u", "U", "q")).await;
    let (status, v) = post(&hook, &text(&"x".repeat(20_001))).await;
    assert_eq!(status, 200);
    assert_eq!(
        v,
        json!({"errcode": 460101, "errmsg": "message too long, exceed 20000 bytes"})
    );
    // Just under the limit is fine (the limit is on the whole body in bytes).
    let ok = text(&"x".repeat(19_900));
    assert!(ok.to_string().len() <= 20_000);
    assert_eq!(post(&hook, &ok).await.1["errcode"], 0);
    assert_eq!(sim.received(&conv).len(), 1);
}

#[tokio::test]
async fn webhook_rate_limit_is_per_conversation() {
    let sim = start(SimConfig {
        webhook_rate_per_min: 3,
        ..fast_config()
    })
    .await;
    let mut c = Client::connect(&sim).await;
    let (hook_a, conv_a) = session(&sim, &mut c, InjectMessage::text_1to1("a", "A", "q")).await;
    let (hook_b, conv_b) = session(&sim, &mut c, InjectMessage::text_1to1("b", "B", "q")).await;
    for i in 0..3 {
        assert_eq!(post(&hook_a, &text(&format!("a{i}"))).await.1["errcode"], 0);
    }
    let (status, v) = post(&hook_a, &text("a3")).await;
    assert_eq!(status, 200);
    assert_eq!(v["errcode"], 130101);
    assert!(v["errmsg"].as_str().unwrap().starts_with("send too fast"));
    assert_eq!(
        post(&hook_b, &text("b0")).await.1["errcode"],
        0,
        "other conversation unaffected"
    );
    assert_eq!(
        sim.received(&conv_a).len(),
        3,
        "throttled message not recorded"
    );
    assert_eq!(sim.received(&conv_b).len(), 1);
}

#[tokio::test]
async fn expired_webhook_fails() {
    let sim = start(SimConfig {
        webhook_ttl: Duration::from_millis(100),
        ..fast_config()
    })
    .await;
    let mut c = Client::connect(&sim).await;
    let (hook, conv) = session(&sim, &mut c, InjectMessage::text_1to1("u", "U", "q")).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (status, v) = post(&hook, &text("late")).await;
    assert_eq!(status, 500);
    assert_eq!(v["errcode"], dingtalk_sim::ERR_SESSION);
    assert!(sim.received(&conv).is_empty());
}

#[tokio::test]
async fn unknown_session_is_refused() {
    let sim = start(fast_config()).await;
    let url = format!("{}/robot/sendBySession?session=deadbeef", sim.base_url());
    let (status, v) = post(&url, &text("x")).await;
    assert_eq!(status, 200);
    assert_eq!(v["errcode"], 300001);
    assert_eq!(sim.stats().webhook_rejected, 1);
}

#[tokio::test]
async fn each_documented_errcode_can_be_armed_with_dingtalks_errmsg() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let (hook, conv) = session(&sim, &mut c, InjectMessage::text_1to1("u", "U", "q")).await;
    for errcode in dingtalk_sim::DOCUMENTED_ERRCODES {
        sim.faults().webhook_answers(errcode, 1);
        let (status, v) = post(&hook, &text("x")).await;
        assert_eq!(status, 200, "{errcode}");
        assert_eq!(
            v,
            json!({"errcode": errcode, "errmsg": dingtalk_sim::documented_errmsg(errcode)})
        );
    }
    assert!(
        sim.received(&conv).is_empty(),
        "armed answers deliver nothing"
    );
    assert_eq!(post(&hook, &text("now")).await.1["errcode"], 0);
    assert_eq!(sim.received(&conv).len(), 1);
}

#[tokio::test]
async fn control_api_arms_webhook_answers_and_raw_pages() {
    let sim = start(fast_config()).await;
    let mut c = Client::connect(&sim).await;
    let (hook, _) = session(&sim, &mut c, InjectMessage::text_1to1("u", "U", "q")).await;
    let faults = format!("{}/_sim/faults", sim.base_url());
    let arm = |body: Value| {
        let faults = faults.clone();
        async move {
            let resp = http().post(faults).json(&body).send().await.unwrap();
            assert_eq!(resp.status().as_u16(), 200);
        }
    };
    arm(json!({"webhook_answer": {"errcode": 400013}})).await;
    assert_eq!(post(&hook, &text("x")).await.1["errmsg"], "群已被解散");
    arm(json!({"webhook_answer": {"status": 502, "body": "<html>gateway</html>", "count": 2}}))
        .await;
    for _ in 0..2 {
        let resp = http().post(&hook).json(&text("x")).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 502);
        assert_eq!(resp.text().await.unwrap(), "<html>gateway</html>");
    }
    assert_eq!(post(&hook, &text("x")).await.1["errcode"], 0);
    assert_eq!(sim.webhook_calls(), 4);
}
