//! The app's OpenAPI call rate. DingTalk allows 20 QPS per app and API on a standard org and answers
//! `Forbidden.AccessDenied.QpsLimitForAppkeyAndApi` above it (D-THROTTLE
//! https://open.dingtalk.com/document/development/how-to-process-api-throttling-on-the-dingtalk-server,
//! which recommends a local limiter). Invariant: one limiter per app — the outbox pacer's — hands out
//! permits evenly (no bursts), and every paced caller (robot sends, AI cards, Docs) takes from it, so their
//! sum stays under the limit.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

type DirectLimiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// Cheap to clone; clones share the permits.
#[derive(Clone)]
pub struct AppRate {
    limiter: Arc<DirectLimiter>,
}

impl AppRate {
    /// One permit every `spacing` (at least 1 ms), no burst.
    pub fn with_spacing(spacing: Duration) -> Self {
        // `with_period` only fails for a zero period, which the `max` rules out.
        let quota = Quota::with_period(spacing.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        Self {
            limiter: Arc::new(RateLimiter::direct(quota)),
        }
    }

    /// Waits for the app's next permit.
    pub async fn until_ready(&self) {
        self.limiter.until_ready().await;
    }
}
