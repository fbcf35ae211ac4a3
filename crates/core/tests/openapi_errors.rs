//! Throttling, quota, IP ban and server failures surface as stable codes and events, never a crash.

mod openapi_common;

use std::time::Duration;

use dingbridge_core::Event;
use dingbridge_core::dingtalk::docs::{Caller, ListDocsParams};
use openapi_common::*;

#[tokio::test]
async fn a_single_qps_limit_answer_is_waited_out_and_reported() {
    let h = harness().await;
    let mut rx = h.events.subscribe();
    h.sim
        .faults()
        .throttle_next("/v1.0/contact/users/search", 1);
    let lookup = h
        .contacts
        .find_user("李四")
        .await
        .expect("succeeds after 1 s");
    assert!(lookup.found.is_some());
    let event = wait_event(&mut rx, |e| matches!(e, Event::RateLimited { .. })).await;
    assert!(
        matches!(event, Some(Event::RateLimited { code, .. }) if code == "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi")
    );
}

#[tokio::test]
async fn persistent_throttling_surfaces_as_rate_limited() {
    let h = harness().await;
    let mut rx = h.events.subscribe();
    h.sim
        .faults()
        .throttle_next("/v1.0/contact/users/search", 5);
    let err = h.contacts.find_user("李四").await.expect_err("throttled");
    assert_eq!(err.tool_code(), "RATE_LIMITED");
    assert_eq!(err.details()["retry_after_ms"], 1000);
    assert!(
        wait_event(&mut rx, |e| matches!(e, Event::RateLimited { .. }))
            .await
            .is_some()
    );
}

#[tokio::test]
async fn old_api_throttling_90018_surfaces_as_rate_limited() {
    let h = harness().await;
    let api = h.api.clone().with_throttle_retries(0);
    let contacts = dingbridge_core::dingtalk::contacts::ContactsService::new(
        api,
        h.contacts.directory().clone(),
    );
    h.sim.faults().throttle_next("/topapi/v2/user/get", 1);
    let err = contacts.user_detail("lisi").await.expect_err("throttled");
    assert_eq!(err.tool_code(), "RATE_LIMITED");
    assert_eq!(err.details()["dingtalk_code"], "90018");
}

#[tokio::test]
async fn an_exhausted_monthly_quota_surfaces_as_rate_limited_and_a_quota_event() {
    let h = harness().await.with_operator("zhangwei01").await;
    let mut rx = h.events.subscribe();
    h.sim.faults().quota_exhausted_next(1);
    let err = h
        .docs
        .list_docs(&Caller::Operator, ListDocsParams::default())
        .await
        .expect_err("quota");
    assert_eq!(err.tool_code(), "RATE_LIMITED");
    assert_eq!(err.details()["quota"], "monthly_api_calls");
    let event = wait_event(&mut rx, |e| matches!(e, Event::ApiQuotaExhausted { .. })).await;
    assert!(
        matches!(event, Some(Event::ApiQuotaExhausted { code, .. }) if code.contains("ApiCountLimitForOrg"))
    );
}

#[tokio::test]
async fn an_ip_ban_surfaces_as_rate_limited() {
    let h = harness().await;
    h.tokens.token().await.expect("token first");
    let mut rx = h.events.subscribe();
    h.sim.faults().ip_ban_next(1);
    let err = h.contacts.find_user("李四").await.expect_err("banned");
    assert_eq!(err.code(), "OPENAPI_IP_BANNED");
    assert_eq!(err.tool_code(), "RATE_LIMITED");
    let event = wait_event(&mut rx, |e| matches!(e, Event::RateLimited { .. })).await;
    assert!(matches!(event, Some(Event::RateLimited { code, .. }) if code == "1111"));
}

#[tokio::test]
async fn a_server_failure_is_a_dingtalk_error_with_requestid() {
    let h = harness().await;
    h.tokens.token().await.expect("token first");
    h.sim.faults().set_http_5xx_rate(1.0);
    let err = h.contacts.find_user("李四").await.expect_err("5xx");
    h.sim.faults().clear();
    assert_eq!(err.tool_code(), "DINGTALK_ERROR");
    assert_eq!(err.details()["dingtalk_code"], "InternalError");
    assert!(err.details()["requestid"].is_string());
}

#[tokio::test]
async fn an_unreachable_dingtalk_is_a_dingtalk_error_not_a_hang() {
    let h = harness().await;
    h.tokens.token().await.expect("token first");
    let api = h.api.clone().with_timeout(Duration::from_millis(200));
    h.sim.faults().set_http_latency(Duration::from_secs(2));
    let contacts = dingbridge_core::dingtalk::contacts::ContactsService::new(
        api,
        h.contacts.directory().clone(),
    );
    let err = contacts.find_user("李四").await.expect_err("timeout");
    h.sim.faults().clear();
    assert_eq!(err.tool_code(), "DINGTALK_ERROR");
}

#[test]
fn an_absurd_ip_ban_wait_does_not_overflow() {
    use dingbridge_core::dingtalk::openapi::classify;
    use dingbridge_core::dingtalk::send::SendError;
    let body = format!(r#"{{"status":1111,"wait":{},"source":"x5"}}"#, u64::MAX);
    let err = classify(403, body.as_bytes());
    assert!(err.details()["retry_after_ms"].as_u64().is_some());
    let send = SendError::from_openapi(err);
    assert!(
        send.retry_after()
            .is_some_and(|d| d >= Duration::from_secs(60))
    );
}
