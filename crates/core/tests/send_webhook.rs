//! sessionWebhook answers against the simulator over real sockets: what counts as sent, each documented
//! errcode's reaction (fall back to the OpenAPI, wait and retry, fail with the reason), and unknown answers
//! retried with backoff. Errcodes and sources: `dingtalk/send/webhook_answer.rs`, `docs/dingtalk-api.md`.

mod openapi_common;

use std::time::Duration;

use dingbridge_core::bridge::{Deliver, RouteDelivery};
use dingbridge_core::dingtalk::ConversationKind;
use dingbridge_core::dingtalk::send::{
    OpenApiSender, SendError, WEBHOOK_THROTTLED_RETRY_AFTER, WebhookRetry, WebhookSender,
};
use dingbridge_core::store::{MessageBody, OutboundMessage, Route};
use dingtalk_sim::{ArmedAnswer, DOCUMENTED_ERRCODES};
use openapi_common::*;

const GROUP: &str = "cidWebhookGroup==";

fn sender(retries: usize) -> WebhookSender {
    WebhookSender::new(reqwest::Client::new()).with_retry(WebhookRetry {
        retries,
        first_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
    })
}

async fn send(h: &Harness, retries: usize) -> Result<usize, SendError> {
    let (url, expires) = h.sim.open_webhook(GROUP);
    sender(retries)
        .send_markdown(Some(&url), Some(expires), "t", "the answer")
        .await
}

async fn answer_to(h: &Harness, errcode: i64) -> SendError {
    h.sim.faults().webhook_answers(errcode, 1);
    send(h, 0).await.expect_err("refused")
}

#[tokio::test]
async fn http_200_with_errcode_zero_is_sent() {
    let h = harness().await;
    send(&h, 0).await.expect("sent");
    let got = h.sim.received(GROUP);
    assert_eq!((got.len(), got[0].text.as_str()), (1, "the answer"));
}

#[tokio::test]
async fn http_2xx_without_an_errcode_is_sent() {
    let h = harness().await;
    h.sim.faults().arm_webhook(ArmedAnswer::raw(200, "{}"), 1);
    send(&h, 0).await.expect("an absent errcode is success");
    h.sim.faults().arm_webhook(ArmedAnswer::raw(204, ""), 1);
    send(&h, 0).await.expect("an empty 2xx is success");
}

#[tokio::test]
async fn a_session_dingtalk_does_not_know_falls_back_to_the_openapi() {
    let h = harness().await;
    for errcode in [300_001, 300_005, 400_101] {
        let err = answer_to(&h, errcode).await;
        assert_eq!(err.code(), "SEND_WEBHOOK_INVALID", "{errcode}");
        assert!(
            err.falls_back_to_openapi() && !err.is_transient(),
            "{errcode}"
        );
    }
    // The real sim answer for a session key it never issued, not an armed one.
    let url = format!("{}/robot/sendBySession?session=nope", h.sim.base_url());
    let err = sender(0)
        .send_markdown(Some(&url), None, "t", "x")
        .await
        .expect_err("unknown session");
    assert!(matches!(
        err,
        SendError::WebhookInvalid {
            errcode: 300_001,
            ..
        }
    ));
    assert!(!err.to_string().contains("nope"), "no URL in errors: {err}");
}

#[tokio::test]
async fn a_refused_request_falls_back_to_the_openapi() {
    let h = harness().await;
    for errcode in [40_035, 43_004, 400_105, 310_000] {
        let err = answer_to(&h, errcode).await;
        assert_eq!(err.code(), "SEND_WEBHOOK_REFUSED", "{errcode}");
        assert!(err.falls_back_to_openapi(), "{errcode}");
    }
}

#[tokio::test]
async fn too_fast_answers_wait_and_retry_with_the_documented_pause() {
    let h = harness().await;
    // 130101 / 660026: a rolling minute, no hint (the outbox backoff probes); 410100: "限流10分钟".
    for (errcode, pause) in [
        (130_101, None),
        (660_026, None),
        (410_100, Some(WEBHOOK_THROTTLED_RETRY_AFTER)),
    ] {
        let err = answer_to(&h, errcode).await;
        assert_eq!(err.code(), "SEND_THROTTLED", "{errcode}");
        assert!(
            err.is_transient() && !err.falls_back_to_openapi(),
            "{errcode}"
        );
        assert_eq!(err.retry_after(), pause, "{errcode}");
    }
}

#[tokio::test]
async fn answers_no_channel_can_fix_fail_with_the_reason() {
    let h = harness().await;
    for (errcode, code) in [
        (400_013, "SEND_GROUP_DISSOLVED"),
        (400_102, "SEND_ROBOT_UNAVAILABLE"),
        (400_106, "SEND_ROBOT_UNAVAILABLE"),
        (430_101, "SEND_CONTENT_REFUSED"),
        (430_102, "SEND_CONTENT_REFUSED"),
        (430_103, "SEND_CONTENT_REFUSED"),
        (430_104, "SEND_CONTENT_REFUSED"),
        (460_101, "SEND_TOO_LONG"),
    ] {
        let err = answer_to(&h, errcode).await;
        assert_eq!(err.code(), code, "{errcode}");
        assert!(
            !err.is_transient() && !err.falls_back_to_openapi(),
            "{errcode}"
        );
    }
    assert!(h.sim.received(GROUP).is_empty());
}

#[tokio::test]
async fn every_documented_errcode_has_a_reaction_other_than_unknown() {
    let h = harness().await;
    for errcode in DOCUMENTED_ERRCODES.into_iter().filter(|c| *c != -1) {
        let err = answer_to(&h, errcode).await;
        assert_ne!(err.code(), "SEND_WEBHOOK_UNAVAILABLE", "{errcode}");
    }
}

#[tokio::test]
async fn busy_and_unknown_answers_are_retried_until_sent() {
    let h = harness().await;
    h.sim.faults().webhook_answers(-1, 1);
    h.sim
        .faults()
        .arm_webhook(ArmedAnswer::raw(502, "<html>bad gateway</html>"), 1);
    h.sim.faults().webhook_answers(999_999, 1);
    send(&h, 3).await.expect("sent on the fourth call");
    assert_eq!(h.sim.webhook_calls(), 4);
    assert_eq!(h.sim.received(GROUP).len(), 1, "delivered once");
}

#[tokio::test]
async fn persistent_unknown_answers_give_up_on_the_webhook_with_a_bounded_excerpt() {
    let h = harness().await;
    let page = format!("<html>{}</html>", "x".repeat(5_000));
    h.sim.faults().arm_webhook(ArmedAnswer::raw(503, page), 3);
    let err = send(&h, 2).await.expect_err("gives up");
    assert!(matches!(
        err,
        SendError::WebhookUnavailable { attempts: 3, .. }
    ));
    assert!(err.is_transient() && err.falls_back_to_openapi());
    assert!(
        err.to_string().len() < 600,
        "bounded: {} bytes",
        err.to_string().len()
    );
    assert_eq!(h.sim.webhook_calls(), 3);
}

fn group_reply(url: String, expires: i64) -> OutboundMessage {
    OutboundMessage {
        body: MessageBody::markdown("t", "the answer"),
        route: Route {
            conversation_id: GROUP.to_owned(),
            kind: ConversationKind::Group,
            staff_id: None,
            sender_nick: "张三".to_owned(),
            session_webhook: Some(url),
            webhook_expires_ms: Some(expires),
        },
    }
}

fn delivery(h: &Harness) -> RouteDelivery {
    RouteDelivery {
        webhook: sender(0),
        openapi: Some(OpenApiSender::new(
            h.api.clone().with_throttle_retries(0),
            h.sim.config().client_id.clone(),
        )),
    }
}

#[tokio::test]
async fn the_outbox_reply_reaches_the_group_through_the_openapi_when_the_session_is_gone() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    let (url, expires) = h.sim.open_webhook(GROUP);
    h.sim.faults().webhook_answers(300_001, 1);
    let delivered = delivery(&h)
        .deliver(&group_reply(url, expires))
        .await
        .expect("delivered");
    assert_eq!(delivered.channel, "group");
    let got = h.sim.received(GROUP);
    assert_eq!((got.len(), got[0].channel.as_str()), (1, "group"));
}

#[tokio::test]
async fn the_outbox_reply_to_a_dissolved_group_fails_without_an_openapi_call() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    let (url, expires) = h.sim.open_webhook(GROUP);
    h.sim.faults().webhook_answers(400_013, 1);
    let err = delivery(&h)
        .deliver(&group_reply(url, expires))
        .await
        .expect_err("no channel reaches it");
    assert_eq!(err.code(), "SEND_GROUP_DISSOLVED");
    assert_eq!(h.sim.openapi_calls("/v1.0/robot/groupMessages/send"), 0);
}
