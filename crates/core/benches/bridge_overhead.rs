//! Bridge overhead (issue 12, #3): what DingBridge adds around the agent, one message at a time (no queueing;
//! 300 messages after 20 of warm-up).
//!
//! `cargo bench -p dingbridge-core --bench bridge_overhead [-- --smoke] [-- --json]`; `scripts/bench` runs it.
//! For each of N messages, each from its own sender (its own conversation):
//! - **in**: the simulator queues the CALLBACK frame → the agent's `respond` is entered (Stream read and
//!   decode, SQLite inbox write with `synchronous=FULL` and its fsync, ACK, allow-list, queueing, dispatch);
//! - **out**: the agent returns its reply → the simulator has accepted the sessionWebhook POST (outbox write,
//!   pacing, the HTTP request on loopback).
//!
//! The simulator runs in the same process; the arrival of a reply is observed by polling it (yield loop), so
//! **out** includes up to one poll interval (a few µs). The engine's own frame → ACK histogram is printed next
//! to it so the share of the durable write is visible.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dingbridge_core::agent::{AgentBackend, AgentError, AgentReply, AgentRequest, UpdateSender};
use dingbridge_core::config::Config;
use dingbridge_core::{Credentials, Engine, EngineOptions};
use dingtalk_sim::{InjectMessage, Sim, SimConfig};

/// One turn: its conversation, when `respond` was entered and when it returned.
type Stamp = (String, Instant, Instant);

/// Records every turn by msgId.
#[derive(Default)]
struct StampAgent {
    stamps: Mutex<HashMap<String, Stamp>>,
}

#[async_trait]
impl AgentBackend for StampAgent {
    fn name(&self) -> &str {
        "stamp"
    }

    async fn respond(
        &self,
        request: AgentRequest,
        _updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        let entered = Instant::now();
        let reply = AgentReply {
            text: format!("ok {}", request.text),
        };
        let returned = Instant::now();
        self.stamps
            .lock()
            .expect("stamps")
            .insert(request.msg_id, (request.conversation_id, entered, returned));
        Ok(reply)
    }
}

fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    let index = ((values.len() as f64 * p).ceil() as usize).clamp(1, values.len()) - 1;
    values[index]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let smoke = args.iter().any(|a| a == "--smoke");
    let json = args.iter().any(|a| a == "--json");
    let (warmup, runs) = if smoke { (5, 30) } else { (20, 300) };

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
    config.dingtalk.oapi_base = sim.base_url();
    config.access.allowed_staff_ids = vec!["*".into()];
    let agent = Arc::new(StampAgent::default());
    let backend: Arc<dyn AgentBackend> = agent.clone();
    let engine = Engine::start(EngineOptions {
        mode: "bench".into(),
        config,
        data_dir: dir.path().to_path_buf(),
        credentials: Some(Credentials {
            client_id: "bench-id".into(),
            client_secret: "bench-secret".into(),
        }),
        agent: backend.into(),
    })
    .await
    .expect("engine");
    sim.wait_until(Duration::from_secs(10), |s| s.live_connections == 1)
        .await;

    let mut inbound = Vec::with_capacity(runs);
    let mut outbound = Vec::with_capacity(runs);
    for n in 0..warmup + runs {
        let queued = Instant::now();
        let msg_id = sim.inject(InjectMessage::text_1to1(
            format!("overhead{n:05}"),
            "Bench",
            format!("message {n}"),
        ));
        let deadline = queued + Duration::from_secs(10);
        let (conversation, entered, returned) = loop {
            if let Some(stamp) = agent.stamps.lock().expect("stamps").get(&msg_id) {
                break stamp.clone();
            }
            assert!(
                Instant::now() < deadline,
                "message {n} never reached the agent"
            );
            tokio::task::yield_now().await;
        };
        let sent = loop {
            if !sim.received(&conversation).is_empty() {
                break Instant::now();
            }
            assert!(
                Instant::now() < deadline,
                "reply {n} never reached the simulator"
            );
            tokio::task::yield_now().await;
        };
        if n >= warmup {
            inbound.push(entered - queued);
            outbound.push(sent - returned);
        }
    }
    let ack = engine.status().ack_latency;
    let (in50, in99) = (
        percentile(&mut inbound, 0.5),
        percentile(&mut inbound, 0.99),
    );
    let (out50, out99) = (
        percentile(&mut outbound, 0.5),
        percentile(&mut outbound, 0.99),
    );
    if json {
        println!(
            "{{\"runs\":{runs},\"in_p50_us\":{:.1},\"in_p99_us\":{:.1},\"out_p50_us\":{:.1},\"out_p99_us\":{:.1},\"ack_p50_us\":{},\"ack_p99_us\":{}}}",
            us(in50),
            us(in99),
            us(out50),
            us(out99),
            ack.p50_us,
            ack.p99_us
        );
    } else {
        println!(
            "{runs} messages: frame → agent p50 {:.0} µs, p99 {:.0} µs; reply → DingTalk p50 {:.0} µs, p99 {:.0} µs; \
             engine frame → ACK p50 {} µs, p99 {} µs",
            us(in50),
            us(in99),
            us(out50),
            us(out99),
            ack.p50_us,
            ack.p99_us
        );
    }
    engine.shutdown().await;
}
