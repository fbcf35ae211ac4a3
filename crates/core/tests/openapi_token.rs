//! Token manager against the simulator: caching, single-flight, background refresh, expiry mid-run,
//! refresh outage → degraded → recovery.

mod openapi_common;

use std::time::Duration;

use dingbridge_core::Event;
use dingbridge_core::dingtalk::auth::{AuthState, RefreshPolicy};
use dingtalk_sim::SimConfig;
use openapi_common::*;

#[tokio::test]
async fn a_cached_token_is_reused_across_calls() {
    let h = harness().await;
    for _ in 0..5 {
        h.tokens.token().await.expect("token");
    }
    assert_eq!(h.sim.token_requests(), 1);
}

#[tokio::test]
async fn concurrent_callers_trigger_one_refresh() {
    let h = harness().await;
    let calls = (0..32).map(|_| {
        let tokens = h.tokens.clone();
        tokio::spawn(async move { tokens.token().await.map(|_| ()) })
    });
    for call in futures_util::future::join_all(calls).await {
        call.expect("task").expect("token");
    }
    assert_eq!(h.sim.token_requests(), 1);
}

#[tokio::test]
async fn concurrent_calls_after_expiry_share_one_refresh() {
    let h = harness().await;
    h.contacts.user_detail("lisi").await.expect("first call");
    h.sim.force_token_expiry();
    let calls = (0..8).map(|_| {
        let contacts = h.contacts.clone();
        tokio::spawn(async move { contacts.user_detail("lisi").await.map(|_| ()) })
    });
    for call in futures_util::future::join_all(calls).await {
        call.expect("task").expect("call succeeds after expiry");
    }
    // One initial token + at most one refresh per stale token observed (all saw the same one).
    assert_eq!(h.sim.token_requests(), 2);
}

#[tokio::test]
async fn token_expiry_mid_run_is_invisible_to_callers() {
    let h = harness().await;
    let before = h
        .contacts
        .user_detail("alice")
        .await
        .expect("before expiry");
    h.sim.force_token_expiry();
    let after = h.contacts.user_detail("alice").await.expect("after expiry");
    assert_eq!(before, after);
    assert_eq!(h.sim.token_requests(), 2);
}

#[tokio::test]
async fn the_background_task_refreshes_before_expiry() {
    let config = SimConfig::default().with_token_ttl(Duration::from_secs(2));
    let h = harness_with(config, fast_policy(), None).await;
    let _task = h.tokens.spawn_refresher(h.cancel.clone());
    // Margin = min(5 min, ttl/2) = 1 s: refreshes at ~0 s (no token) and ~1 s, ~2 s, ...
    tokio::time::sleep(Duration::from_millis(2_600)).await;
    assert!(
        h.sim.stats().tokens_issued >= 3,
        "{:?}",
        h.sim.stats().tokens_issued
    );
    // Calls over the whole period never see an expired token.
    for _ in 0..3 {
        h.contacts.user_detail("bob").await.expect("call");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

#[tokio::test]
async fn a_refresh_outage_degrades_then_retry_recovers() {
    let h = harness().await;
    let mut rx = h.events.subscribe();
    h.sim.faults().set_token_failures(1_000);
    let _task = h.tokens.spawn_refresher(h.cancel.clone());
    let degraded = wait_event(&mut rx, |e| matches!(e, Event::AuthDegraded { .. })).await;
    assert!(
        matches!(degraded, Some(Event::AuthDegraded { failures: 5, .. })),
        "{degraded:?}"
    );
    assert_eq!(h.tokens.status().state, AuthState::Degraded);

    // Degraded by an outage: callers fail fast with a retryable error (no token request per call).
    let err = h.tokens.token().await.expect_err("degraded");
    assert_eq!(err.code(), "OPENAPI_AUTH_DEGRADED");
    assert!(err.is_transient(), "an outage is worth retrying: {err}");
    assert!(!h.tokens.status().needs_user);
    let lookup = h.contacts.user_detail("lisi").await.expect_err("degraded");
    assert_eq!(
        lookup.tool_code(),
        "DINGTALK_ERROR",
        "an outage is DingTalk's side and retryable, not the caller's credentials"
    );

    h.sim.faults().set_token_failures(0);
    h.tokens.retry().await.expect("retry succeeds");
    assert!(
        wait_event(&mut rx, |e| matches!(e, Event::AuthRecovered))
            .await
            .is_some()
    );
    assert_eq!(h.tokens.status().state, AuthState::Healthy);
    h.contacts
        .user_detail("lisi")
        .await
        .expect("calls work again");
}

#[tokio::test]
async fn an_outage_longer_than_the_retries_recovers_without_the_user() {
    let h = harness().await;
    let mut rx = h.events.subscribe();
    // Five fast retries fail (degraded), then the slow degraded timer keeps asking until the sim is back.
    h.sim.faults().set_token_failures(8);
    let _task = h.tokens.spawn_refresher(h.cancel.clone());
    assert!(
        wait_event(&mut rx, |e| matches!(e, Event::AuthDegraded { .. }))
            .await
            .is_some()
    );
    assert!(
        wait_event(&mut rx, |e| matches!(e, Event::AuthRecovered))
            .await
            .is_some(),
        "the refresher gave up after the outage: {:?}",
        h.tokens.status()
    );
    assert_eq!(h.tokens.status().state, AuthState::Healthy);
    assert_eq!(h.sim.token_requests(), 9);
    h.contacts
        .user_detail("lisi")
        .await
        .expect("calls work again without the user");
}

#[tokio::test]
async fn wrong_credentials_stop_the_refresher_until_the_user_acts() {
    let policy = RefreshPolicy {
        degrade_after: 2,
        ..fast_policy()
    };
    let h = harness_with(SimConfig::default(), policy, Some("wrong-secret")).await;
    let mut rx = h.events.subscribe();
    let _task = h.tokens.spawn_refresher(h.cancel.clone());
    assert!(
        wait_event(&mut rx, |e| matches!(e, Event::AuthDegraded { .. }))
            .await
            .is_some()
    );
    let status = h.tokens.status();
    assert_eq!(status.state, AuthState::Degraded);
    assert!(status.needs_user, "{status:?}");
    let err = h.tokens.token().await.expect_err("still refused");
    assert_eq!(err.tool_code(), "AUTH_ERROR");
    assert!(
        !err.is_transient(),
        "wrong credentials need the user: {err}"
    );
    // The slow timer does not keep asking with credentials DingTalk refused.
    let sent = h.sim.token_requests();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.sim.token_requests(), sent);
}

#[tokio::test]
async fn refresh_failures_are_retried_on_the_schedule() {
    let h = harness().await;
    h.sim.faults().set_token_failures(3);
    let _task = h.tokens.spawn_refresher(h.cancel.clone());
    // 3 failures (10 + 20 + 40 ms of pauses), then success, without any caller.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(h.sim.token_requests(), 4);
    let status = h.tokens.status();
    assert_eq!(status.state, AuthState::Healthy);
    assert_eq!(status.consecutive_failures, 0);
}

#[tokio::test]
async fn new_credentials_leave_the_degraded_state() {
    let policy = RefreshPolicy {
        degrade_after: 1,
        ..fast_policy()
    };
    let h = harness_with(SimConfig::default(), policy, Some("wrong-secret")).await;
    let err = h.tokens.token().await.expect_err("bad secret");
    assert_eq!(err.tool_code(), "AUTH_ERROR");
    assert_eq!(h.tokens.status().state, AuthState::Degraded);
    h.tokens.set_credentials(Some(dingbridge_core::Credentials {
        client_id: h.sim.config().client_id.clone(),
        client_secret: h.sim.config().client_secret.clone().into(),
    }));
    h.tokens.token().await.expect("new credentials work");
    assert_eq!(h.tokens.status().state, AuthState::Healthy);
}

#[tokio::test]
async fn wrong_credentials_are_an_auth_error() {
    let h = harness_with(SimConfig::default(), fast_policy(), Some("nope")).await;
    let err = h.contacts.find_user("李四").await.expect_err("refused");
    assert_eq!(err.tool_code(), "AUTH_ERROR");
    assert_eq!(err.details()["dingtalk_code"], "invalidClientIdOrSecret");
}

#[tokio::test]
async fn an_absurd_expire_in_from_the_token_endpoint_does_not_overflow() {
    // DingTalk's number, not ours: a token endpoint (here a one-route server) answering u64::MAX seconds.
    let app = axum::Router::new().route(
        "/v1.0/oauth2/accessToken",
        axum::routing::post(|| async {
            axum::Json(serde_json::json!({"accessToken": "tok", "expireIn": u64::MAX}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let tokens = dingbridge_core::dingtalk::auth::TokenManager::new(
        reqwest::Client::new(),
        base,
        Some(dingbridge_core::Credentials {
            client_id: "id".into(),
            client_secret: "secret".into(),
        }),
        dingbridge_core::EventBus::default(),
        fast_policy(),
    );
    tokens.token().await.expect("token");
    assert!(tokens.status().token_expires_in_ms.is_some());
}
