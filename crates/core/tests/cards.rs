//! AI cards: create + deliver, adaptively spaced latest-wins streaming, finalize, failure and size handling,
//! the cost of card calls in the monthly quota and the app QPS they share with sends, against the simulator
//! over real sockets.

mod openapi_common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dingbridge_core::bridge::{Pacer, PacingSettings};
use dingbridge_core::config::QuotaSettings;
use dingbridge_core::dingtalk::cards::{
    CardClient, CardStreamer, CardTarget, StreamerConfig, spacing_after,
};
use dingbridge_core::dingtalk::send::{MessageBody, OpenApiSender};
use dingbridge_core::quota::QuotaMeter;
use dingtalk_sim::{CardStatus, SimConfig, one_to_one_conversation_id};
use openapi_common::*;

const GROUP: &str = "cidCardGroup==";
const TEMPLATE: &str = "ai-card-template.schema";

fn client(h: &Harness) -> CardClient {
    CardClient::new(
        h.api.clone().with_throttle_retries(0),
        h.sim.config().client_id.clone(),
    )
}

/// Constant spacing (the ramp starts at the steady interval).
fn config(min_interval_ms: u64) -> StreamerConfig {
    ramp(min_interval_ms, min_interval_ms)
}

fn ramp(first_ms: u64, steady_ms: u64) -> StreamerConfig {
    StreamerConfig {
        first_interval: Duration::from_millis(first_ms),
        min_interval: Duration::from_millis(steady_ms),
        ..StreamerConfig::default()
    }
}

fn params() -> BTreeMap<String, String> {
    BTreeMap::from([("content".to_owned(), String::new())])
}

async fn streamer(h: &Harness, id: &str, min_interval_ms: u64) -> CardStreamer {
    streamer_with(h, id, config(min_interval_ms)).await
}

async fn streamer_with(h: &Harness, id: &str, config: StreamerConfig) -> CardStreamer {
    h.sim.add_group(GROUP);
    CardStreamer::create(
        client(h),
        &CardTarget::Group(GROUP.to_owned()),
        TEMPLATE,
        id,
        &params(),
        config,
    )
    .await
    .expect("card created")
}

#[tokio::test]
async fn group_card_is_delivered_with_the_im_group_space() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    client(&h)
        .create_and_deliver(
            &CardTarget::Group(GROUP.to_owned()),
            TEMPLATE,
            "t1",
            &params(),
        )
        .await
        .expect("delivered");
    let card = h.sim.card("t1").expect("known");
    assert_eq!(
        (card.space_type.as_str(), card.status),
        ("IM_GROUP", CardStatus::Processing)
    );
    assert_eq!(h.sim.received(GROUP)[0].channel, "card");
}

#[tokio::test]
async fn user_card_is_delivered_to_the_robot_chat_of_the_staff_id() {
    let h = harness().await;
    client(&h)
        .create_and_deliver(
            &CardTarget::User("lisi".to_owned()),
            TEMPLATE,
            "t2",
            &params(),
        )
        .await
        .expect("delivered");
    assert_eq!(h.sim.cards(&one_to_one_conversation_id("lisi")).len(), 1);
}

#[tokio::test]
async fn a_fast_token_stream_costs_a_few_updates_and_ends_with_the_full_text() {
    let h = harness().await;
    let s = streamer_with(&h, "s1", ramp(20, 200)).await;
    let started = Instant::now();
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&format!("w{i} "));
        s.update(&text).expect("accepted");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    let puts = s.finish(&text).await.expect("finished");
    let card = h.sim.card("s1").expect("known");
    assert_eq!(card.update_count(), puts as usize);
    // The ramp (20, 40, 80, 160 ms) then one update per 200 ms, plus the first and the final one.
    let bound = 4 + (elapsed.as_millis() / 200) as usize + 2;
    assert!(
        (3..=bound).contains(&card.update_count()),
        "{} updates for 300 tokens in {elapsed:?} (bound {bound})",
        card.update_count()
    );
    assert_eq!(card.status, CardStatus::Finished);
    assert_eq!(
        card.text(),
        text,
        "the final update carries the whole answer"
    );
    for pair in card.updates.windows(2) {
        // Latest-wins: every update carries a newer (longer) text than the one before.
        assert!(pair[1].content.len() > pair[0].content.len() || pair[1].is_finalize);
    }
}

#[tokio::test]
async fn updates_start_quickly_and_settle_at_the_steady_spacing() {
    let h = harness().await;
    let config = ramp(40, 320);
    let s = streamer_with(&h, "s7", config.clone()).await;
    let mut text = String::new();
    let deadline = Instant::now() + Duration::from_millis(1_500);
    while Instant::now() < deadline {
        text.push_str("x ");
        s.update(&text).expect("accepted");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    s.finish(&text).await.expect("finished");
    let card = h.sim.card("s7").expect("known");
    let times = card.update_times_ms();
    // Every gap between streaming updates (the final one is not held back) is at least the ramp's step.
    let streaming = times.len() - 1;
    for n in 1..streaming {
        let gap = times[n] - times[n - 1];
        let want = spacing_after(&config, n as u32).as_millis() as i64;
        assert!(
            gap + 25 >= want,
            "gap {n} is {gap} ms, want ≥ {want}: {times:?}"
        );
    }
    assert!(
        streaming >= 5,
        "the ramp reached the steady spacing: {times:?}"
    );
}

#[tokio::test]
async fn the_final_update_goes_at_once_with_the_latest_text() {
    let h = harness().await;
    let s = streamer_with(&h, "s8", ramp(60_000, 60_000)).await;
    s.update("a").expect("accepted");
    // The first text goes at once.
    while h.sim.card("s8").is_none_or(|c| c.update_count() == 0) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    s.update("ab").expect("accepted");
    // Spacing is a minute: only the first update and the final one can have been sent.
    let puts = s
        .finish("abc")
        .await
        .expect("finished without waiting a minute");
    let card = h.sim.card("s8").expect("known");
    assert_eq!(puts, 2);
    assert_eq!(card.text(), "abc");
    assert!(card.updates.last().is_some_and(|u| u.is_finalize));
}

#[tokio::test]
async fn card_calls_count_against_the_monthly_api_quota() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    let meter = Arc::new(
        QuotaMeter::load(h.store.clone(), h.events.clone(), QuotaSettings::default())
            .await
            .expect("meter"),
    );
    let client = CardClient::new(
        h.api.clone().with_usage(meter.clone()),
        h.sim.config().client_id.clone(),
    );
    let s = CardStreamer::create(
        client,
        &CardTarget::Group(GROUP.to_owned()),
        TEMPLATE,
        "q1",
        &params(),
        ramp(1, 1),
    )
    .await
    .expect("card created");
    s.update("one").expect("accepted");
    let puts = s.finish("one two").await.expect("finished");
    assert_eq!(meter.usage().api_used, 1 + u64::from(puts));
}

#[tokio::test]
async fn cards_and_sends_share_the_app_qps() {
    let h = harness_with(SimConfig::default().with_send_qps(5), fast_policy(), None).await;
    h.sim.add_group(GROUP);
    let pacer = Pacer::new(&PacingSettings {
        app_per_second: 5,
        // The simulator counts per 1 s window: 10 % of a 200 ms slot tolerates a loaded machine's jitter.
        safety_margin_percent: 10,
        ..PacingSettings::default()
    });
    // Without the shared rate, these parallel calls would be answered QpsLimitForAppkeyAndApi at once.
    let client = CardClient::new(
        h.api
            .clone()
            .with_throttle_retries(0)
            .with_pacing(pacer.app_rate()),
        h.sim.config().client_id.clone(),
    );
    let sender = OpenApiSender::new(
        h.api.clone().with_throttle_retries(0),
        h.sim.config().client_id.clone(),
    );
    let card = |id: &'static str| {
        let client = client.clone();
        async move {
            let s = CardStreamer::create(
                client,
                &CardTarget::Group(GROUP.to_owned()),
                TEMPLATE,
                id,
                &params(),
                ramp(1, 1),
            )
            .await?;
            for word in ["a", "a b", "a b c"] {
                s.update(word)?;
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            s.finish("a b c d").await
        }
    };
    let send = |n: u32| {
        let (pacer, sender) = (&pacer, sender.clone());
        async move {
            pacer.acquire(GROUP).await;
            sender
                .send_to_group(GROUP, &MessageBody::text(format!("send {n}")))
                .await
        }
    };
    let (a, b, c, s1, s2) = tokio::join!(card("p1"), card("p2"), card("p3"), send(1), send(2));
    for result in [a, b, c] {
        result.expect("no card call was throttled");
    }
    s1.expect("send 1");
    s2.expect("send 2");
    for id in ["p1", "p2", "p3"] {
        assert_eq!(h.sim.card(id).expect("known").text(), "a b c d");
    }
}

#[tokio::test]
async fn card_is_finalized_with_the_full_text() {
    let h = harness().await;
    let s = streamer(&h, "s2", 50).await;
    s.update("部分").expect("accepted");
    s.finish("部分回答，完整。").await.expect("finished");
    let card = h.sim.card("s2").expect("known");
    assert_eq!(card.status, CardStatus::Finished);
    assert_eq!(card.text(), "部分回答，完整。");
    assert!(card.updates.last().is_some_and(|u| u.is_finalize));
    assert_eq!(h.sim.received(GROUP)[0].text, "部分回答，完整。");
}

#[tokio::test]
async fn card_error_is_reported_so_the_caller_can_degrade() {
    let h = harness().await;
    let s = streamer(&h, "s3", 20).await;
    s.update("first").expect("accepted");
    tokio::time::sleep(Duration::from_millis(200)).await;
    h.sim.faults().fail_cards(1);
    s.update("first second").expect("queued");
    // The failed PUT becomes a sticky error on the next call.
    let mut seen = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Err(err) = s.update("first second third") {
            seen = Some(err);
            break;
        }
    }
    let err = seen.expect("the failure is reported");
    assert_eq!(err.code(), "CARD_UNAVAILABLE");
    let card = h.sim.card("s3").expect("known");
    // Marked failed (best effort) so the user does not see a card typing forever.
    assert_eq!(card.status, CardStatus::Failed);
    assert_eq!(card.text(), "first");
    assert!(s.finish("first second third").await.is_err());
}

#[tokio::test]
async fn create_failure_is_reported_with_a_code() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    h.sim.faults().fail_cards(1);
    let err = client(&h)
        .create_and_deliver(
            &CardTarget::Group(GROUP.to_owned()),
            TEMPLATE,
            "t3",
            &params(),
        )
        .await
        .expect_err("fails");
    assert_eq!(err.code(), "CARD_UNAVAILABLE");
    assert!(err.is_transient());
}

#[tokio::test]
async fn oversize_card_content_is_detected_before_sending() {
    let h = harness().await;
    let s = streamer(&h, "s4", 20).await;
    s.update("short").expect("accepted");
    let long = "长".repeat(1_001); // 3,003 bytes > 3,000
    let err = s.update(&long).expect_err("over the safe size");
    assert_eq!(err.code(), "CARD_TOO_LARGE");
    // Finishing with the long text keeps the card on what it showed and says so.
    let err = s.finish(&long).await.expect_err("too large");
    assert_eq!(err.code(), "CARD_TOO_LARGE");
    let card = h.sim.card("s4").expect("known");
    assert_eq!(card.status, CardStatus::Finished);
    assert_eq!(card.text(), "short");
    assert!(card.updates.iter().all(|u| u.content.len() <= 3_000));
}

#[tokio::test]
async fn dingtalk_content_too_large_maps_to_card_too_large() {
    let h = harness().await;
    h.sim.add_group(GROUP);
    let c = client(&h);
    c.create_and_deliver(
        &CardTarget::Group(GROUP.to_owned()),
        TEMPLATE,
        "t5",
        &params(),
    )
    .await
    .expect("delivered");
    let big = "x".repeat(h.sim.config().card_max_content_bytes + 1);
    let err = c
        .stream(&dingbridge_core::dingtalk::cards::StreamUpdate {
            out_track_id: "t5",
            key: "content",
            full_content: &big,
            is_finalize: false,
            is_error: false,
        })
        .await
        .expect_err("too large");
    assert_eq!(err.code(), "CARD_TOO_LARGE");
}

#[tokio::test]
async fn a_failed_agent_turn_marks_the_card_failed_with_a_note() {
    let h = harness().await;
    let s = streamer(&h, "s6", 20).await;
    s.update("working").expect("accepted");
    s.fail("(agent failed)").await.expect("marked");
    let card = h.sim.card("s6").expect("known");
    assert_eq!(card.status, CardStatus::Failed);
    assert!(card.text().ends_with("(agent failed)"));
}
