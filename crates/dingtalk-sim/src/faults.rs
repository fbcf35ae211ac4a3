//! Fault injection: socket faults act on the live connections at once; HTTP
//! faults (latency, random 5xx, gateway failures) apply to the simulated
//! DingTalk API only, never to the `/_sim` control API.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

use crate::api_error::{code_for_status, new_api_error, old_api_error};
use crate::gateway::GATEWAY_PATH;
use crate::state::SimState;

/// HTTP fault settings.
#[derive(Debug, Default, Clone)]
pub struct FaultState {
    /// Status and remaining count of forced `connections/open` failures.
    gateway_failures: Option<(u16, u32)>,
    latency: Duration,
    rate_5xx: f64,
}

impl FaultState {
    /// Consume one forced gateway failure, if any is armed.
    pub fn take_gateway_failure(&mut self) -> Option<u16> {
        let (status, count) = self.gateway_failures?;
        self.gateway_failures = (count > 1).then(|| (status, count - 1));
        Some(status)
    }
}

/// Cheap clonable handle to inject faults into a running simulator.
#[derive(Clone)]
pub struct Faults {
    state: Arc<SimState>,
}

impl Faults {
    pub(crate) fn new(state: Arc<SimState>) -> Self {
        Self { state }
    }

    pub(crate) fn state(&self) -> &Arc<SimState> {
        &self.state
    }

    /// Abrupt TCP close of every socket, no close frame.
    pub fn drop_all_sockets(&self) {
        self.state.drop_all_sockets();
    }

    /// SYSTEM `disconnect` on every live socket: delivery on them stops at
    /// once; each is closed after `disconnect_grace`.
    pub fn send_disconnect(&self) {
        self.state.send_disconnect();
    }

    /// Live sockets go silent (no writes, no reads, so no WS pong) while TCP
    /// stays open. Their unACKed callbacks are redelivered elsewhere after
    /// `redelivery_after`. Not undone by [`Faults::clear`].
    pub fn zombify_sockets(&self) {
        self.state.zombify_sockets();
    }

    /// The next `count` `connections/open` calls answer `status`.
    pub fn set_gateway_failures(&self, status: u16, count: u32) {
        self.state.lock().faults.gateway_failures = (count > 0).then_some((status, count));
    }

    /// Added before every simulated API answer.
    pub fn set_http_latency(&self, d: Duration) {
        self.state.lock().faults.latency = d;
    }

    /// Fraction (0.0–1.0) of simulated API calls answered with HTTP 500.
    pub fn set_http_5xx_rate(&self, rate: f64) {
        let rate = if rate.is_finite() {
            rate.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.state.lock().faults.rate_5xx = rate;
    }

    /// Clear the HTTP faults (latency, 5xx rate, armed gateway failures).
    pub fn clear(&self) {
        self.state.lock().faults = FaultState::default();
    }
}

/// Middleware over the simulated API routes.
pub async fn middleware(State(state): State<Arc<SimState>>, req: Request, next: Next) -> Response {
    let (latency, rate) = {
        let inner = state.lock();
        (inner.faults.latency, inner.faults.rate_5xx)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if rate > 0.0 && rand::random::<f64>() < rate {
        let path = req.uri().path().to_owned();
        let mut inner = state.lock();
        inner.stats.injected_5xx += 1;
        if path == GATEWAY_PATH {
            inner.stats.gateway_rejections += 1;
        }
        drop(inner);
        // Old-API family (oapi, sessionWebhook) vs new API error shape.
        if path.starts_with("/robot/")
            || !(path.starts_with("/v1.0/") || path.starts_with("/v2.0/"))
        {
            // -1 = "system busy, retry" in the old API (§4.3).
            return old_api_error(StatusCode::INTERNAL_SERVER_ERROR, -1, "系统繁忙");
        }
        let (code, message) = code_for_status(500);
        return new_api_error(StatusCode::INTERNAL_SERVER_ERROR, code, message);
    }
    next.run(req).await
}
