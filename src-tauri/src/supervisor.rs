//! The supervisor owns the app's one running engine and swaps it (demo ⇄ real ⇄ unconfigured, pause,
//! new settings) without restarting the app.
//!
//! Invariants:
//! - at most one engine runs: swaps are serialized and the old engine is fully stopped (data dir lock,
//!   MCP port and runtime file released) before the next one starts;
//! - [`Supervisor::subscribe`] is one continuous event stream across swaps: each engine's events are
//!   relayed onto the supervisor's own bus, and every swap first publishes the new engine's connection
//!   state, so the webview, tray and notifier never resubscribe and never show a stale state;
//! - [`Supervisor::watch`] always tells which mode runs (or is starting), for the tray and the webview.

use std::sync::{Arc, PoisonError, RwLock};

use dingbridge_core::EventBus;
use serde::Serialize;
use tokio::sync::{Mutex, broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::engine::{EngineHandle, Event, LaunchError, Launcher, Mode, Plan, mode_name};

/// What runs now, as the tray and the webview (`engine-state` event) see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EngineState {
    pub mode: Mode,
    /// The user paused a real bridge (the engine runs without a DingTalk connection).
    pub paused: bool,
    /// False while an engine is stopping or starting, or when the last start failed.
    pub running: bool,
}

struct Running {
    engine: EngineHandle,
    plan: Plan,
    relay: CancellationToken,
}

struct Inner {
    launcher: Arc<dyn Launcher>,
    current: RwLock<Option<Running>>,
    /// Serializes swaps; held across the old engine's shutdown and the new one's start.
    swaps: Mutex<()>,
    bus: EventBus,
    state: watch::Sender<EngineState>,
}

/// Cheap-to-clone handle, managed as Tauri state.
#[derive(Clone)]
pub struct Supervisor {
    inner: Arc<Inner>,
}

impl Supervisor {
    pub fn new(launcher: Arc<dyn Launcher>) -> Self {
        let (state, _) = watch::channel(EngineState {
            mode: Mode::Unconfigured,
            paused: false,
            running: false,
        });
        Self {
            inner: Arc::new(Inner {
                launcher,
                current: RwLock::new(None),
                swaps: Mutex::new(()),
                bus: EventBus::default(),
                state,
            }),
        }
    }

    /// The running engine, if one runs (none while a swap is in progress).
    pub fn engine(&self) -> Option<EngineHandle> {
        self.read(|running| running.engine.clone())
    }

    /// The plan the running engine was started from.
    pub fn plan(&self) -> Option<Plan> {
        self.read(|running| running.plan.clone())
    }

    pub fn state(&self) -> EngineState {
        *self.inner.state.borrow()
    }

    /// Engine events across swaps. A receiver that lags skips ahead (see `forward_events`).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.bus.subscribe()
    }

    /// Mode changes.
    pub fn watch(&self) -> watch::Receiver<EngineState> {
        self.inner.state.subscribe()
    }

    /// Stops the running engine (if any) and starts the one `plan` describes. On failure no engine runs
    /// and the error says why; the caller decides what to show.
    pub async fn switch(&self, plan: Plan) -> Result<(), LaunchError> {
        let _swap = self.inner.swaps.lock().await;
        self.inner.state.send_replace(EngineState {
            mode: plan.mode(),
            paused: plan.paused(),
            running: false,
        });
        self.stop_current().await;
        let engine = self.inner.launcher.launch(plan.clone()).await?;
        // Subscribe before reading the state, then publish that state first: nothing published in between
        // is lost, and subscribers see the new engine's state before its newer events.
        let mut events = engine.subscribe();
        let connection = engine.status().connection;
        self.inner.bus.publish(Event::ConnectionChanged {
            state: connection.state,
            reconnects: connection.reconnects,
            reason: format!("{} engine started", mode_name(plan.mode())),
        });
        let relay = CancellationToken::new();
        let bus = self.inner.bus.clone();
        let stop = relay.clone();
        tokio::spawn(async move {
            loop {
                // Events first: what the engine published before it stopped is still relayed.
                let event = tokio::select! {
                    biased;
                    event = events.recv() => event,
                    _ = stop.cancelled() => return,
                };
                match event {
                    Ok(event) => bus.publish(event),
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        tracing::debug!(skipped, "engine relay lagged; skipping ahead");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Running {
            engine,
            plan: plan.clone(),
            relay,
        });
        self.inner.state.send_replace(EngineState {
            mode: plan.mode(),
            paused: plan.paused(),
            running: true,
        });
        Ok(())
    }

    /// Stops the running engine for good (app exit).
    pub async fn shutdown(&self) {
        let _swap = self.inner.swaps.lock().await;
        self.stop_current().await;
        self.inner.state.send_modify(|state| state.running = false);
    }

    async fn stop_current(&self) {
        let old = self
            .inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(old) = old {
            old.engine.shutdown().await;
            // After shutdown, so the old engine's last events (e.g. "stopped") still reach the bus.
            old.relay.cancel();
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Running) -> T) -> Option<T> {
        self.inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(f)
    }
}
