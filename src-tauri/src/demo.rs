//! `dingbridge --demo`: the real engine against the embedded DingTalk simulator, an echo agent and the
//! scripted traffic of `dingbridged demo` (shared from `dingbridge_cli::demo`), so a newcomer sees live
//! traffic within seconds and needs no account.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dingbridge_cli::demo;
use dingbridge_core::agent::EchoAgent;
use dingbridge_core::config::Config;
use dingbridge_core::{Credentials, Engine};
use dingtalk_sim::Sim;
use secrecy::SecretString;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::engine::{EngineApi, Event, StatusSnapshot};

/// How long the echo agent "thinks" (the same as `dingbridged demo`).
const ECHO_DELAY: Duration = Duration::from_millis(700);

pub struct DemoEngine {
    engine: Engine,
    sim: Mutex<Option<Sim>>,
    traffic: CancellationToken,
    // The demo's store lives in a temporary directory, removed when the app exits: the demo never
    // touches the real inbox, and two demos never share one.
    _data_dir: tempfile::TempDir,
}

impl DemoEngine {
    pub async fn start() -> anyhow::Result<Self> {
        let sim = demo::start_simulator().await?;
        let data_dir = tempfile::Builder::new()
            .prefix("dingbridge-demo-")
            .tempdir()?;
        let mut config = Config::default();
        config.dingtalk.api_base = sim.base_url();
        config.dingtalk.oapi_base = sim.base_url();
        config.dingtalk.client_id = Some(demo::DEMO_CLIENT_ID.to_owned());
        let engine = Engine::start(dingbridge_core::EngineOptions {
            mode: "demo".to_owned(),
            config,
            data_dir: data_dir.path().to_path_buf(),
            credentials: Some(Credentials {
                client_id: demo::DEMO_CLIENT_ID.to_owned(),
                client_secret: SecretString::from(demo::DEMO_CLIENT_SECRET),
            }),
            agent: Arc::new(EchoAgent::new(ECHO_DELAY)).into(),
        })
        .await?;
        let traffic = CancellationToken::new();
        tokio::spawn(demo::trickle(sim.clone(), traffic.clone()));
        Ok(Self {
            engine,
            sim: Mutex::new(Some(sim)),
            traffic,
            _data_dir: data_dir,
        })
    }
}

impl EngineApi for DemoEngine {
    fn status(&self) -> StatusSnapshot {
        self.engine.status()
    }

    fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.engine.subscribe()
    }

    fn shutdown(&self) {
        self.traffic.cancel();
        let sim = self.sim.lock().map(|mut sim| sim.take()).unwrap_or(None);
        tauri::async_runtime::block_on(async {
            self.engine.shutdown().await;
            if let Some(sim) = sim {
                sim.shutdown().await;
            }
        });
    }
}
