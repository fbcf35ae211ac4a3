//! The connection supervisor: keeps exactly one *current* socket (plus any old ones still draining after a
//! server `disconnect`), reconnects with exponential backoff + jitter, and publishes its state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::backoff::ReconnectBackoff;
use super::connection::{self, ConnectionContext, ConnectionEnd, ConnectionReport, Socket};
use super::gateway::{self, GatewayError};
use super::handler::CallbackHandler;
use crate::config::StreamSettings;
use crate::events::{ConnectionState, Event, EventBus};
use crate::metrics::Metrics;

/// A connection that lived this long (or delivered a frame) counts as good and resets the backoff.
const GOOD_CONNECTION: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct StreamClientConfig {
    pub api_base: String,
    pub client_id: String,
    pub client_secret: SecretString,
    pub settings: StreamSettings,
}

pub struct StreamClient {
    config: StreamClientConfig,
    http: reqwest::Client,
    handler: Arc<dyn CallbackHandler>,
    metrics: Arc<Metrics>,
    events: EventBus,
    next_id: AtomicU64,
}

#[derive(Debug, thiserror::Error)]
enum ConnectError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("[STREAM_WS] WebSocket handshake failed: {0}")]
    WebSocket(String),
    #[error("[STREAM_WS] WebSocket handshake timed out")]
    Timeout,
}

impl StreamClient {
    pub fn new(
        config: StreamClientConfig,
        http: reqwest::Client,
        handler: Arc<dyn CallbackHandler>,
        metrics: Arc<Metrics>,
        events: EventBus,
    ) -> Self {
        Self {
            config,
            http,
            handler,
            metrics,
            events,
            next_id: AtomicU64::new(1),
        }
    }

    /// Runs until `cancel` fires. Never returns an error: failures are published and retried.
    pub async fn run(self, cancel: CancellationToken) {
        // Each connection asks at most once; a few slots cover the make-before-break overlap.
        let (disconnect_tx, mut disconnect_rx) = mpsc::channel::<u64>(16);
        let mut draining: JoinSet<ConnectionReport> = JoinSet::new();
        let mut backoff = ReconnectBackoff::new(&self.config.settings);
        let mut opened_before = false;
        let mut reason = String::from("starting");

        'outer: while !cancel.is_cancelled() {
            self.set_state(ConnectionState::Connecting, &reason, None);
            let socket = tokio::select! {
                _ = cancel.cancelled() => break,
                result = self.connect() => result,
            };
            let socket = match socket {
                Ok(socket) => socket,
                Err(err) => {
                    if let ConnectError::Gateway(
                        gateway @ GatewayError::Rejected { code, message, .. },
                    ) = &err
                        && gateway.is_credentials()
                    {
                        self.events.publish(Event::CredentialsRejected {
                            code: code.clone(),
                            message: message.clone(),
                        });
                    }
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %err, delay_ms = delay.as_millis() as u64, "stream connect failed");
                    self.set_state(
                        ConnectionState::Backoff,
                        &err.to_string(),
                        Some(err.to_string()),
                    );
                    reason = format!("retrying after: {err}");
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(delay) => continue,
                    }
                }
            };
            if opened_before {
                self.metrics.reconnects.inc();
            }
            opened_before = true;
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let conn_cancel = cancel.child_token();
            let mut current = tokio::spawn(connection::run(
                socket,
                ConnectionContext {
                    id,
                    handler: self.handler.clone(),
                    metrics: self.metrics.clone(),
                    events: self.events.clone(),
                    watchdog_idle: self.config.settings.watchdog_idle(),
                    cancel: conn_cancel.clone(),
                    disconnect_requested: disconnect_tx.clone(),
                },
            ));
            self.set_state(ConnectionState::Connected, "socket open", None);
            tracing::info!(connection = id, "stream connected");

            loop {
                tokio::select! {
                    _ = cancel.cancelled() => {
                        if let Err(err) = (&mut current).await {
                            tracing::error!(connection = id, error = %err, "stream connection task failed at shutdown");
                        }
                        break 'outer;
                    }
                    Some(requested) = disconnect_rx.recv() => {
                        if requested != id {
                            continue; // an old, already-draining socket
                        }
                        // Make before break: keep this socket reading (it may still carry ACK-able frames)
                        // and open the replacement right away.
                        draining.spawn(async move { current.await.unwrap_or_else(|_| aborted()) });
                        reason = "server requested disconnect".into();
                        backoff.healthy();
                        continue 'outer;
                    }
                    Some(done) = draining.join_next(), if !draining.is_empty() => {
                        if let Ok(report) = done {
                            tracing::debug!(end = ?report.end, "draining socket finished");
                        }
                    }
                    report = &mut current => {
                        let report = report.unwrap_or_else(|_| aborted());
                        if report.lived >= GOOD_CONNECTION || report.callbacks > 0 || report.frames > 0 {
                            backoff.healthy();
                        }
                        match report.end {
                            ConnectionEnd::Cancelled => break 'outer,
                            ConnectionEnd::Idle(idle) => {
                                // A zombie is replaced at once; the backoff only guards against a failing gateway.
                                reason = format!("watchdog: no frame or pong for {} ms", idle.as_millis());
                                tracing::warn!(connection = id, "{reason}");
                                continue 'outer;
                            }
                            ConnectionEnd::Closed(why) | ConnectionEnd::Failed(why) => {
                                let delay = backoff.next_delay();
                                tracing::warn!(connection = id, why, delay_ms = delay.as_millis() as u64, "stream socket ended");
                                self.set_state(ConnectionState::Backoff, &why, Some(why.clone()));
                                reason = format!("reconnecting after: {why}");
                                tokio::select! {
                                    _ = cancel.cancelled() => break 'outer,
                                    _ = tokio::time::sleep(delay) => continue 'outer,
                                }
                            }
                        }
                    }
                }
            }
        }
        // Old sockets may still be draining; they saw the same cancel token.
        while draining.join_next().await.is_some() {}
        self.set_state(ConnectionState::Stopped, "shutdown", None);
    }

    async fn connect(&self) -> Result<Socket, ConnectError> {
        let settings = &self.config.settings;
        let ticket = gateway::open_connection(
            &self.http,
            &self.config.api_base,
            &self.config.client_id,
            &self.config.client_secret,
            settings.open_timeout(),
        )
        .await?;
        let url = ticket.websocket_url();
        match tokio::time::timeout(
            settings.open_timeout(),
            tokio_tungstenite::connect_async(url),
        )
        .await
        {
            Ok(Ok((socket, _response))) => Ok(socket),
            // The URL carries the ticket: never put it in the error text.
            Ok(Err(err)) => Err(ConnectError::WebSocket(strip_url(&err.to_string()))),
            Err(_) => Err(ConnectError::Timeout),
        }
    }

    fn set_state(&self, state: ConnectionState, reason: &str, error: Option<String>) {
        self.metrics.set_connection(state, error);
        self.events.publish(Event::ConnectionChanged {
            state,
            reconnects: self.metrics.reconnects.get(),
            reason: reason.to_owned(),
        });
    }
}

fn aborted() -> ConnectionReport {
    ConnectionReport {
        end: ConnectionEnd::Failed("connection task aborted".into()),
        callbacks: 0,
        frames: 0,
        lived: Duration::ZERO,
    }
}

fn strip_url(text: &str) -> String {
    match text.find("ticket=") {
        Some(index) => format!("{}ticket=<redacted>", &text[..index]),
        None => text.to_owned(),
    }
}
