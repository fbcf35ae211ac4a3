//! The public handle: start the simulator, drive it, read what happened.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::delivery::spawn_redelivery_ticker;
use crate::error::SimError;
use crate::faults::Faults;
use crate::message::{InjectMessage, ReceivedMessage};
use crate::router;
use crate::state::SimState;
use crate::stats::SimStats;

/// A running simulator. Cheap to clone; the server stops on
/// [`Sim::shutdown`] or when the last clone is dropped.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<SimInner>,
}

struct SimInner {
    state: Arc<SimState>,
    port: u16,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for SimInner {
    fn drop(&mut self) {
        self.state.shutdown.cancel();
    }
}

impl Sim {
    /// Start on an ephemeral loopback port.
    pub async fn start(config: SimConfig) -> Result<Sim, SimError> {
        Self::start_on(config, 0).await
    }

    /// Start on `127.0.0.1:port` (0 = ephemeral).
    pub async fn start_on(config: SimConfig, port: u16) -> Result<Sim, SimError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { port, source })?;
        let port = listener.local_addr().map_err(SimError::LocalAddr)?.port();
        let state = Arc::new(SimState::new(config, format!("http://127.0.0.1:{port}")));
        let app = router::build(state.clone());
        let stop = state.shutdown.clone();
        let server = tokio::spawn(async move {
            // Like the real service, answer small writes at once (no Nagle / delayed-ACK stalls on loopback).
            let listener = axum::serve::ListenerExt::tap_io(listener, |socket| {
                if let Err(error) = socket.set_nodelay(true) {
                    tracing::debug!(%error, "could not set TCP_NODELAY");
                }
            });
            let serve = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned());
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "simulator server stopped with an error");
            }
        });
        spawn_redelivery_ticker(state.clone());
        tracing::info!(base_url = %state.base_url, "dingtalk simulator listening");
        Ok(Sim {
            inner: Arc::new(SimInner {
                state,
                port,
                server: Mutex::new(Some(server)),
            }),
        })
    }

    /// `http://127.0.0.1:PORT`: the client's `api_base` and `oapi_base`.
    pub fn base_url(&self) -> String {
        self.inner.state.base_url.clone()
    }

    pub fn port(&self) -> u16 {
        self.inner.port
    }

    pub(crate) fn state(&self) -> &Arc<SimState> {
        &self.inner.state
    }

    pub fn config(&self) -> &SimConfig {
        &self.inner.state.config
    }

    /// Queue a user's message as a bot CALLBACK; returns its `msgId`.
    /// Group messages with `at_bot == false` are not delivered (real rule).
    pub fn inject(&self, msg: InjectMessage) -> String {
        self.inner.state.inject(&msg)
    }

    /// Send arbitrary text (malformed JSON, unknown frame types, ...) on a
    /// live socket, or on the next one to open.
    pub fn inject_raw_frame(&self, text: String) {
        self.inner.state.inject_raw_frame(text);
    }

    /// Deliver an already injected message again (even if ACKed) with a new
    /// frame messageId and the same payload. False if the msgId is unknown.
    pub fn inject_duplicate(&self, msg_id: &str) -> bool {
        self.inner.state.inject_duplicate(msg_id)
    }

    /// What our client sent into the conversation, in arrival order.
    pub fn received(&self, conversation_id: &str) -> Vec<ReceivedMessage> {
        self.inner.state.received(conversation_id)
    }

    pub fn stats(&self) -> SimStats {
        self.inner.state.stats()
    }

    pub fn faults(&self) -> Faults {
        Faults::new(self.inner.state.clone())
    }

    /// Whether an access token was issued here and is still valid.
    pub fn validate_token(&self, token: &str) -> bool {
        self.inner.state.validate_token(token)
    }

    /// Poll the stats until `f` holds or `timeout` passes.
    pub async fn wait_until<F: Fn(&SimStats) -> bool>(&self, timeout: Duration, f: F) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if f(&self.stats()) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Per ACKed callback frame: frame written → ACK read.
    pub fn ack_latencies(&self) -> Vec<Duration> {
        self.inner.state.ack_latencies()
    }

    /// Stop serving and close every socket.
    pub async fn shutdown(self) {
        self.inner.state.shutdown.cancel();
        let server = self
            .inner
            .server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut server) = server {
            // Idle keep-alive HTTP connections can hold graceful shutdown open.
            if tokio::time::timeout(Duration::from_secs(2), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }
}
