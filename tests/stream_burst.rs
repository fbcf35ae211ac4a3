//! The ACK-latency acceptance check, alone in its own test binary so that the other end-to-end tests do
//! not compete for the two CPU cores while it measures.

mod support;

use std::time::Duration;

use dingtalk_sim::InjectMessage;
use support::*;

const LONG: Duration = Duration::from_secs(30);

fn user(n: usize) -> String {
    format!("staff{n:03}")
}

#[tokio::test]
async fn a_burst_of_1000_messages_across_50_conversations_is_acked_within_100ms_p99() {
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
    // Loose bounds (debug build, 2 shared cores); the benchmark measures precisely.
    eprintln!("frame→ACK p99: client {client_p99:?}, on the wire {wire_p99:?}");
    assert!(
        client_p99 < Duration::from_millis(100),
        "frame→ACK p99 {client_p99:?}"
    );
    assert!(
        wire_p99 < Duration::from_millis(250),
        "simulator-observed ACK p99 {wire_p99:?}"
    );
    assert_eq!(sim.stats().redeliveries, 0, "a slow ACK caused redelivery");
    assert!(
        eventually(LONG, || agent.count() == 1000).await,
        "agent saw {}",
        agent.count()
    );
    engine.shutdown().await;
}
