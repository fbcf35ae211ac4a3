//! The demo engine: the real engine against the embedded DingTalk simulator, an echo agent and the scripted
//! traffic of `dingbridged demo`, with the same settings (`dingbridge_cli::demo::demo_config`), so a newcomer
//! sees live, answered traffic within seconds and needs no account.
//!
//! Invariant: the demo never touches the real inbox (its store lives in a temporary directory removed at
//! shutdown) and starts no MCP server (OpenCode must never be pointed at the simulator by accident).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dingbridge_cli::demo;
use dingbridge_core::Engine;
use dingbridge_core::agent::EchoAgent;
use dingbridge_core::config::Config;
use dingtalk_sim::Sim;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::engine::{BoxFuture, EngineApi, Event, LaunchError, StatusSnapshot};

/// How long the echo agent "thinks" (the same as `dingbridged demo`).
const ECHO_DELAY: Duration = Duration::from_millis(700);

pub struct DemoEngine {
    engine: Engine,
    sim: Mutex<Option<Sim>>,
    traffic: CancellationToken,
    data_dir: Mutex<Option<tempfile::TempDir>>,
}

impl DemoEngine {
    pub async fn start() -> Result<Self, LaunchError> {
        let sim = demo::start_simulator()
            .await
            .map_err(|err| LaunchError::Simulator(format!("{err:#}")))?;
        let data_dir = tempfile::Builder::new()
            .prefix("dingbridge-demo-")
            .tempdir()
            .map_err(|err| LaunchError::DataDir(err.to_string()))?;
        let engine = Engine::start(dingbridge_core::EngineOptions {
            mode: "demo".to_owned(),
            config: demo::demo_config(&sim, Config::default()),
            data_dir: data_dir.path().to_path_buf(),
            credentials: Some(demo::demo_credentials()),
            agent: Arc::new(EchoAgent::new(ECHO_DELAY)).into(),
        })
        .await;
        let engine = match engine {
            Ok(engine) => engine,
            Err(err) => {
                sim.shutdown().await;
                return Err(err.into());
            }
        };
        let traffic = CancellationToken::new();
        tokio::spawn(demo::trickle(sim.clone(), traffic.clone()));
        Ok(Self {
            engine,
            sim: Mutex::new(Some(sim)),
            traffic,
            data_dir: Mutex::new(Some(data_dir)),
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

    fn core(&self) -> Option<&Engine> {
        Some(&self.engine)
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.traffic.cancel();
            let sim = self.sim.lock().ok().and_then(|mut sim| sim.take());
            self.engine.shutdown().await;
            if let Some(sim) = sim {
                sim.shutdown().await;
            }
            // The store is closed: its temporary directory can go now rather than at exit.
            let data_dir = self.data_dir.lock().ok().and_then(|mut dir| dir.take());
            if let Some(dir) = data_dir
                && let Err(error) = dir.close()
            {
                tracing::warn!(%error, "could not remove the demo data directory");
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 8: the app's demo refused every scripted message ("not on the allow-list") while
    /// `dingbridged demo` answered them. Both now share `demo_config`; the demo's messages get answers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_demo_answers_its_scripted_messages() {
        let demo = DemoEngine::start().await.expect("the demo starts");
        let mut events = demo.subscribe();
        let answered = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                match events.recv().await {
                    Ok(Event::AgentReplied { .. }) => return Ok(()),
                    Ok(Event::AccessRefused { sender_nick, .. }) => {
                        return Err(format!("{sender_nick} was refused"));
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Err("bus closed".into()),
                }
            }
        })
        .await;
        let status = demo.status();
        demo.shutdown().await;
        assert_eq!(answered, Ok(Ok(())), "no answer; status: {status:?}");
        assert_eq!(status.mode, "demo");
        assert!(status.counters.agent_replied >= 1, "{status:?}");
    }
}
