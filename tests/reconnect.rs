//! Issue 10, defect 8: after a healthy connection, a socket drop followed by a short gateway blip
//! (3 × 503) costs seconds, not the long delays a gateway that keeps failing earns.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test]
async fn a_drop_and_a_short_gateway_blip_after_a_healthy_connection_reconnect_within_seconds() {
    let sim = start_sim(sim_config()).await;
    // A gateway that failed at start has grown the backoff...
    sim.faults().set_gateway_failures(503, 4);
    let dir = tempfile::tempdir().unwrap();
    let mut config = engine_config(&sim);
    config.stream.backoff_initial_ms = 250;
    config.stream.backoff_max_ms = 60_000;
    let engine = start_engine(config, dir.path(), RecordingAgent::new()).await;
    // ...then a healthy connection: it delivered frames (the simulator's pings, answered with pongs).
    assert!(
        sim.wait_until(Duration::from_secs(60), |s| s.live_connections == 1
            && s.pongs_ok >= 2)
            .await
    );
    let opened = sim.stats().connections_opened;
    sim.faults().set_gateway_failures(503, 3);
    sim.faults().drop_all_sockets();
    assert!(
        sim.wait_until(Duration::from_secs(10), |s| s.connections_opened > opened
            && s.live_connections == 1)
            .await,
        "still offline 10 s after a drop and a 3 × 503 blip: {:?}",
        sim.stats()
    );
    engine.shutdown().await;
}
