//! Shared harness for the end-to-end tests: a simulator tuned for fast tests, an engine pointed at it and a
//! recording agent that tells which messages reached it and in which order.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dingbridge_core::agent::{AgentBackend, AgentError, AgentReply, AgentRequest, UpdateSender};
use dingbridge_core::config::Config;
use dingbridge_core::{Credentials, Engine, EngineOptions};
use dingtalk_sim::{Sim, SimConfig};

pub const CLIENT_ID: &str = "test-client-id";
pub const CLIENT_SECRET: &str = "test-client-secret";

pub fn sim_config() -> SimConfig {
    SimConfig::default()
        .with_credentials(CLIENT_ID, CLIENT_SECRET)
        .with_redelivery_after(Duration::from_secs(2))
        .with_ping_interval(Some(Duration::from_millis(200)))
        .with_disconnect_grace(Duration::from_secs(1))
        .with_webhook_rate_per_min(100_000)
}

pub async fn start_sim(config: SimConfig) -> Sim {
    Sim::start(config).await.expect("simulator starts")
}

pub fn engine_config(sim: &Sim) -> Config {
    let mut config = Config::default();
    config.dingtalk.api_base = sim.base_url();
    config.dingtalk.oapi_base = sim.base_url();
    config.stream.backoff_initial_ms = 50;
    config.stream.backoff_max_ms = 400;
    config.stream.watchdog_idle_ms = 1_500;
    config.stream.open_timeout_ms = 3_000;
    config.bridge.max_concurrent_turns = 8;
    config.bridge.retry_delay_ms = 50;
    // Everyone may talk to the agent in these tests; the allow-list has its own tests.
    config.access.allowed_staff_ids = vec!["*".into()];
    config.access.allowed_groups = vec!["*".into()];
    // These tests read the bridge's own replies in English; tests/chat_language.rs covers the zh-CN default.
    config.bridge.language = dingbridge_core::i18n::Lang::En;
    // Pacing has its own tests; here it must not slow bursts down.
    config.pacing.app_per_second = 10_000;
    config.pacing.per_conversation = 10_000;
    config.pacing.conversation_window_ms = 1_000;
    config
}

pub async fn start_engine(config: Config, data_dir: &Path, agent: Arc<RecordingAgent>) -> Engine {
    Engine::start(EngineOptions {
        mode: "test".into(),
        config,
        data_dir: data_dir.to_path_buf(),
        credentials: Some(Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: agent.into(),
    })
    .await
    .expect("engine starts")
}

/// Polls `check` every 20 ms until it holds or `timeout` passes.
pub async fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An agent that remembers every request it was given, answering after a per-conversation delay.
#[derive(Default)]
pub struct RecordingAgent {
    seen: Mutex<Vec<AgentRequest>>,
    delays: Mutex<HashMap<String, Duration>>,
    default_delay: Mutex<Duration>,
}

impl RecordingAgent {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn with_delay(delay: Duration) -> Arc<Self> {
        let agent = Self::default();
        *agent.default_delay.lock().unwrap() = delay;
        Arc::new(agent)
    }

    pub fn set_delay(&self, conversation_id: &str, delay: Duration) {
        self.delays
            .lock()
            .unwrap()
            .insert(conversation_id.into(), delay);
    }

    pub fn requests(&self) -> Vec<AgentRequest> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// How many times each msgId reached the agent.
    pub fn times_seen(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for request in self.seen.lock().unwrap().iter() {
            *counts.entry(request.msg_id.clone()).or_default() += 1;
        }
        counts
    }

    /// Texts of one conversation in the order the agent received them.
    pub fn texts_of(&self, conversation_id: &str) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.conversation_id == conversation_id)
            .map(|r| r.text.clone())
            .collect()
    }
}

#[async_trait]
impl AgentBackend for RecordingAgent {
    fn name(&self) -> &str {
        "recording"
    }

    async fn respond(
        &self,
        request: AgentRequest,
        _updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        let delay = {
            let delays = self.delays.lock().unwrap();
            delays
                .get(&request.conversation_id)
                .copied()
                .unwrap_or(*self.default_delay.lock().unwrap())
        };
        let text = format!("re: {}", request.text);
        self.seen.lock().unwrap().push(request);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Ok(AgentReply { text })
    }
}

/// p-th percentile of a list of durations.
pub fn percentile(mut values: Vec<Duration>, p: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    values.sort();
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[index.min(values.len() - 1)]
}
