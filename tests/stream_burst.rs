//! A 1,000-message burst over 50 conversations: every frame is ACKed before DingTalk would redeliver it, and
//! every message reaches the agent exactly once. Alone in its own test binary so the other end-to-end tests do
//! not compete for the two CPU cores. Latency itself is measured by the benchmark (`scripts/bench`, row #1),
//! not asserted here: a timed assertion on a shared 2-core machine measures the neighbours, not DingBridge.

mod support;

use std::time::Duration;

use dingtalk_sim::InjectMessage;
use support::*;

const LONG: Duration = Duration::from_secs(30);

fn user(n: usize) -> String {
    format!("staff{n:03}")
}

#[tokio::test]
async fn a_1000_message_burst_is_acked_without_redelivery_and_answered_once() {
    let sim = start_sim(sim_config().with_ping_interval(None)).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = RecordingAgent::new();
    let engine = start_engine(engine_config(&sim), dir.path(), agent.clone()).await;
    assert!(
        eventually(LONG, || engine.status().connection.state
            == dingbridge_core::ConnectionState::Connected)
        .await
    );

    for n in 0..1000 {
        sim.inject(InjectMessage::text_1to1(
            user(n % 50),
            "Burst",
            format!("message {n}"),
        ));
    }
    assert!(
        sim.wait_until(Duration::from_secs(60), |s| s.acks_received >= 1000)
            .await,
        "burst not fully ACKed: {:?}",
        sim.stats()
    );
    let client_p99 = Duration::from_micros(engine.status().ack_latency.p99_us);
    let wire_p99 = percentile(sim.ack_latencies(), 0.99);
    // Printed for the reader; `scripts/bench` measures it on a release build.
    eprintln!("frame→ACK p99: client {client_p99:?}, on the wire {wire_p99:?}");
    assert_eq!(sim.stats().redeliveries, 0, "a slow ACK caused redelivery");
    assert_eq!(sim.stats().acks_received, 1000, "an ACK was sent twice");
    assert!(
        eventually(LONG, || agent.count() >= 1000).await,
        "agent saw {}",
        agent.count()
    );
    // Settle, then check nothing arrived twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(agent.count(), 1000, "a message reached the agent twice");
    engine.shutdown().await;
}
