//! Proactive robot sends through the OpenAPI against the simulator over real sockets.

mod openapi_common;

use dingbridge_core::dingtalk::send::{MessageBody, OpenApiSender, SendError};
use dingtalk_sim::{InjectMessage, SimConfig, one_to_one_conversation_id};
use openapi_common::*;

const GROUP: &str = "cidSendGroup+/=";

fn sender(h: &Harness) -> OpenApiSender {
    // No in-client QPS wait: the bridge's pacer handles throttling, so tests see it at once.
    OpenApiSender::new(
        h.api.clone().with_throttle_retries(0),
        h.sim.config().client_id.clone(),
    )
}

#[tokio::test]
async fn group_send_delivers_markdown_via_openapi() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    let receipt = sender(&h)
        .send_to_group(GROUP, &MessageBody::markdown("结果", "**全部通过** \"ok\""))
        .await
        .expect("sent");
    assert!(!receipt.process_query_key.is_empty());
    let got = h.sim.received(GROUP);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].channel, "group");
    assert_eq!(got[0].msgtype, "markdown");
    assert_eq!(got[0].title.as_deref(), Some("结果"));
    assert_eq!(got[0].text, "**全部通过** \"ok\"");
}

#[tokio::test]
async fn oto_send_uses_the_sender_staff_id() {
    let h = harness().await;
    // A user who is not in the seeded directory but messaged the bot.
    h.sim
        .inject(InjectMessage::text_1to1("dev042", "Dev", "hi"));
    sender(&h)
        .send_to_user("dev042", &MessageBody::text("answer"))
        .await
        .expect("sent");
    let got = h.sim.received(&one_to_one_conversation_id("dev042"));
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].channel.as_str(), got[0].msgtype.as_str()),
        ("oto", "text")
    );
    assert_eq!(got[0].body["userIds"][0], "dev042");
}

#[tokio::test]
async fn throttled_send_is_reported_as_transient_with_retry_hint() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    h.sim.faults().throttle_sends(1);
    let err = sender(&h)
        .send_to_group(GROUP, &MessageBody::text("x"))
        .await
        .expect_err("throttled");
    assert_eq!(err.code(), "SEND_THROTTLED");
    assert!(err.is_transient());
    assert!(err.retry_after().is_some());
}

#[tokio::test]
async fn gateway_qps_limit_is_reported_as_transient_with_retry_hint() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    h.sim
        .faults()
        .throttle_next("/v1.0/robot/groupMessages/send", 1);
    let err = sender(&h)
        .send_to_group(GROUP, &MessageBody::text("x"))
        .await
        .expect_err("throttled");
    assert!(
        matches!(err, SendError::Throttled { ref reason, .. } if reason == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
    );
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(1)));
}

#[tokio::test]
async fn flow_controlled_user_is_reported_as_throttled() {
    let h = harness().await;
    h.sim.faults().throttle_sends(1);
    let err = sender(&h)
        .send_to_user("lisi", &MessageBody::text("x"))
        .await
        .expect_err("flow-controlled");
    assert_eq!(err.code(), "SEND_THROTTLED");
    assert!(err.is_transient());
    assert!(
        h.sim
            .received(&one_to_one_conversation_id("lisi"))
            .is_empty()
    );
}

#[tokio::test]
async fn invalid_staff_id_is_a_permanent_error() {
    let h = harness().await;
    let err = sender(&h)
        .send_to_user("no-such-user", &MessageBody::text("x"))
        .await
        .expect_err("invalid");
    assert_eq!(err.code(), "SEND_INVALID_RECIPIENT");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn oversized_msg_param_is_too_long() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    // 5,000 CJK chars = 15,000 bytes of text, over the limit once wrapped in msgParam.
    let body = MessageBody::markdown("t", "字".repeat(5_000));
    let err = sender(&h)
        .send_to_group(GROUP, &body)
        .await
        .expect_err("too long");
    assert_eq!(err.code(), "SEND_TOO_LONG");
    assert!(!err.is_transient());
    // Refused before spending an API call.
    assert_eq!(h.sim.openapi_calls("/v1.0/robot/groupMessages/send"), 0);
}

#[tokio::test]
async fn send_to_an_unknown_group_is_a_permanent_error() {
    let h = harness().await;
    let err = sender(&h)
        .send_to_group("cidUnknown", &MessageBody::text("x"))
        .await
        .expect_err("unknown group");
    assert_eq!(err.code(), "SEND_REJECTED");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn server_errors_are_transient() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    h.sim.faults().set_http_5xx_rate(1.0);
    let err = sender(&h)
        .send_to_group(GROUP, &MessageBody::text("x"))
        .await
        .expect_err("5xx");
    h.sim.faults().clear();
    assert!(err.is_transient(), "{err}");
}

#[tokio::test]
async fn per_conversation_limit_of_the_simulator_surfaces_as_throttling() {
    let h = harness_with(
        SimConfig::default().with_webhook_rate_per_min(2),
        fast_policy(),
        None,
    )
    .await;
    h.sim.add_group(GROUP);
    let s = sender(&h);
    for _ in 0..2 {
        s.send_to_group(GROUP, &MessageBody::text("x"))
            .await
            .expect("sent");
    }
    let err = s
        .send_to_group(GROUP, &MessageBody::text("x"))
        .await
        .expect_err("too fast");
    assert_eq!(err.code(), "SEND_THROTTLED");
}

#[tokio::test]
async fn a_send_during_a_token_outage_waits_instead_of_failing() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    h.sim.faults().set_token_failures(1_000);
    // Exhaust the fast retries: the manager is degraded by an outage (503 from the token endpoint).
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            sender(&h)
                .send_to_group(GROUP, &MessageBody::text("x"))
                .await
                .expect_err("no token"),
        );
    }
    let err = last.expect("an error");
    assert!(
        err.is_transient(),
        "the outbox must keep the reply and retry: {err}"
    );
    h.sim.faults().set_token_failures(0);
    h.tokens.retry().await.expect("DingTalk is back");
    sender(&h)
        .send_to_group(GROUP, &MessageBody::text("x"))
        .await
        .expect("sent after the outage");
}
