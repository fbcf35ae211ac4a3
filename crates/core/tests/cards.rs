//! AI cards: create + deliver, throttled latest-wins streaming, finalize, failure and size handling, against
//! the simulator over real sockets.

mod openapi_common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dingbridge_core::dingtalk::cards::{CardClient, CardStreamer, CardTarget, StreamerConfig};
use dingtalk_sim::{CardStatus, one_to_one_conversation_id};
use openapi_common::*;

const GROUP: &str = "cidCardGroup==";
const TEMPLATE: &str = "ai-card-template.schema";

fn client(h: &Harness) -> CardClient {
    CardClient::new(
        h.api.clone().with_throttle_retries(0),
        h.sim.config().client_id.clone(),
    )
}

fn config(min_interval_ms: u64) -> StreamerConfig {
    StreamerConfig {
        min_interval: Duration::from_millis(min_interval_ms),
        ..StreamerConfig::default()
    }
}

fn params() -> BTreeMap<String, String> {
    BTreeMap::from([("content".to_owned(), String::new())])
}

async fn streamer(h: &Harness, id: &str, min_interval_ms: u64) -> CardStreamer {
    h.sim.add_group(GROUP);
    CardStreamer::create(
        client(h),
        &CardTarget::Group(GROUP.to_owned()),
        TEMPLATE,
        id,
        &params(),
        config(min_interval_ms),
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
async fn card_stream_updates_are_throttled_latest_wins() {
    let h = harness().await;
    let s = streamer(&h, "s1", 200).await;
    let started = Instant::now();
    let mut text = String::new();
    for i in 0..60 {
        text.push_str(&format!("word{i} "));
        s.update(&text).expect("accepted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    let puts = s.finish(&text).await.expect("finished");
    let card = h.sim.card("s1").expect("known");
    // ~600 ms of updates at ≥200 ms spacing: a handful of PUTs, not 60.
    let budget = (elapsed.as_millis() / 200) as usize + 3;
    assert!(
        card.update_count() <= budget,
        "{} PUTs for {elapsed:?}",
        card.update_count()
    );
    assert_eq!(card.update_count(), puts as usize);
    for pair in card.updates.windows(2) {
        assert!(
            pair[1].at_ms - pair[0].at_ms >= 180,
            "PUTs too close: {:?}",
            card.update_times_ms()
        );
        // Latest-wins: every PUT carries a newer (longer) text than the one before.
        assert!(pair[1].content.len() > pair[0].content.len() || pair[1].is_finalize);
    }
    // Only the newest text is sent after a pause: the second PUT skips the intermediate texts.
    assert!(card.updates.len() >= 2);
    assert!(card.updates[1].content.len() > card.updates[0].content.len() + "word0 ".len());
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
