//! Frame → ACK latency and intake throughput of the Stream pipeline against `dingtalk-sim` on loopback.
//!
//! `cargo bench -p dingbridge-core --bench stream_ack` (release). Each round injects a burst of
//! 1,000 bot messages across 50 conversations and waits until all are ACKed. Reported per round:
//! client-side latency (frame read → ACK queued, from the engine's histogram, cumulative), the
//! simulator's view (frame written → ACK read, what DingTalk would see) and the burst's wall time.
//! The simulator runs in the same process, so both share the CPU: figures are conservative. Every message
//! also flows on through the allow-list, the echo agent and a webhook reply, as in real use.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dingbridge_core::agent::EchoAgent;
use dingbridge_core::config::Config;
use dingbridge_core::{Credentials, Engine, EngineOptions};
use dingtalk_sim::{InjectMessage, Sim, SimConfig};

const ROUNDS: usize = 5;
const BURST: usize = 1_000;
const CONVERSATIONS: usize = 50;

fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(index).copied().unwrap_or_default()
}

fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[tokio::main]
async fn main() {
    let sim = Sim::start(
        SimConfig::default()
            .with_credentials("bench-id", "bench-secret")
            .with_ping_interval(None)
            .with_webhook_rate_per_min(u32::MAX),
    )
    .await
    .expect("simulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::default();
    config.dingtalk.api_base = sim.base_url();
    config.bridge.max_concurrent_turns = 8;
    // Realistic flow: every sender may talk to the (echo) agent; pacing is not what is measured here.
    config.access.allowed_staff_ids = vec!["*".into()];
    config.pacing.app_per_second = 100_000;
    config.pacing.per_conversation = 100_000;
    config.pacing.conversation_window_ms = 1_000;
    let engine = Engine::start(EngineOptions {
        mode: "bench".into(),
        config,
        data_dir: dir.path().to_path_buf(),
        credentials: Some(Credentials {
            client_id: "bench-id".into(),
            client_secret: "bench-secret".into(),
        }),
        agent: Arc::new(EchoAgent::default()).into(),
    })
    .await
    .expect("engine");
    sim.wait_until(Duration::from_secs(10), |s| s.live_connections == 1)
        .await;

    println!("round  burst  wall_ms  msgs_per_s  wire_p50_ms  wire_p99_ms  wire_max_ms");
    let mut acked = 0u64;
    for round in 0..ROUNDS {
        let before = sim.ack_latencies().len();
        let started = Instant::now();
        for n in 0..BURST {
            sim.inject(InjectMessage::text_1to1(
                format!("user{:03}", n % CONVERSATIONS),
                "Bench",
                format!("round {round} message {n}"),
            ));
        }
        acked += BURST as u64;
        let target = acked;
        sim.wait_until(Duration::from_secs(60), |s| s.acks_received >= target)
            .await;
        let wall = started.elapsed();
        let mut wire: Vec<Duration> = sim.ack_latencies().split_off(before);
        println!(
            "{round:>5}  {BURST:>5}  {:>7.1}  {:>10.0}  {:>11.2}  {:>11.2}  {:>11.2}",
            wall.as_secs_f64() * 1e3,
            BURST as f64 / wall.as_secs_f64(),
            percentile(&mut wire, 0.50).as_secs_f64() * 1e3,
            percentile(&mut wire, 0.99).as_secs_f64() * 1e3,
            percentile(&mut wire, 1.0).as_secs_f64() * 1e3,
        );
    }
    let client = engine.status().ack_latency;
    println!(
        "client frame→ACK over {} frames: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        client.count,
        client.p50_us as f64 / 1e3,
        client.p99_us as f64 / 1e3,
        client.max_us as f64 / 1e3
    );
    let (rss, hwm) = rss_kib();
    println!(
        "process RSS {} MiB (peak {} MiB), simulator included",
        rss / 1024,
        hwm / 1024
    );
    engine.shutdown().await;
}
