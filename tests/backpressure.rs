//! Issue 10, item 7: a conversation whose queue is full stops taking live frames, visibly. Such a frame is
//! neither persisted nor ACKed (counted in `deferred`); DingTalk (the simulator) redelivers it, and once the
//! queue drains every message is answered exactly once.

mod support;

use std::time::Duration;

use dingbridge_core::bridge::MAX_PER_CONVERSATION;
use dingtalk_sim::{InjectMessage, one_to_one_conversation_id};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_conversation_queue_leaves_frames_unacked_and_redelivery_answers_them_once() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let conversation = one_to_one_conversation_id("flooder");
    // The first turn holds the conversation long enough for its queue to fill (each frame is committed with
    // fsync before its ACK, so a loaded machine takes seconds for 500).
    agent.set_delay(&conversation, Duration::from_secs(25));
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    let total = MAX_PER_CONVERSATION + 40;
    sim.inject(InjectMessage::text_1to1("flooder", "Flooder", "first"));
    assert!(eventually(Duration::from_secs(20), || agent.count() == 1).await);
    agent.set_delay(&conversation, Duration::ZERO);
    for n in 1..total {
        sim.inject(InjectMessage::text_1to1(
            "flooder",
            "Flooder",
            format!("job {n}"),
        ));
    }
    assert!(
        eventually(Duration::from_secs(40), || engine
            .status()
            .counters
            .deferred
            > 0)
        .await,
        "a full queue took every frame"
    );
    assert!(
        engine.status().queues.total_depth <= MAX_PER_CONVERSATION,
        "the queue grew past its bound: {}",
        engine.status().queues.total_depth
    );
    // Once the first turn ends, the queue drains and the redelivered frames are taken in.
    assert!(
        eventually(Duration::from_secs(120), || agent.count() >= total).await,
        "only {} of {total} messages reached the agent",
        agent.count()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = agent.times_seen();
    assert_eq!(seen.len(), total, "every message reached the agent");
    assert!(
        seen.values().all(|n| *n == 1),
        "a message reached the agent twice"
    );
    engine.shutdown().await;
}
