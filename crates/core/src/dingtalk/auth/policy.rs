use std::time::Duration;

/// When and how hard the token manager refreshes.
#[derive(Clone, Debug)]
pub struct RefreshPolicy {
    /// Refresh this long before expiry (SDK-PY: 5 min). Capped at half the token's lifetime so a short-lived
    /// token is not refreshed in a tight loop.
    pub refresh_margin: Duration,
    /// Pause after the 1st, 2nd, ... consecutive failure before the next attempt (the last entry repeats).
    pub retry_delays: Vec<Duration>,
    /// After this many consecutive failures the manager is *degraded*: callers fail fast (no request per
    /// call) and the dashboard says so. An outage (network, 5xx, throttling) is still retried every
    /// `degraded_retry`; refused credentials wait for new ones or
    /// [`TokenManager::retry`](super::TokenManager::retry).
    pub degrade_after: u32,
    /// Pause between attempts while degraded by an outage.
    pub degraded_retry: Duration,
    /// HTTP timeout of one token request.
    pub request_timeout: Duration,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            refresh_margin: Duration::from_secs(300),
            retry_delays: [1, 2, 4, 8, 16].map(Duration::from_secs).to_vec(),
            degrade_after: 5,
            degraded_retry: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl RefreshPolicy {
    /// The pause after `failures` (≥ 1) consecutive failures.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let index = (failures.max(1) - 1) as usize;
        self.retry_delays
            .get(index)
            .or(self.retry_delays.last())
            .copied()
            .unwrap_or(Duration::from_secs(1))
    }

    /// How long before `lifetime` ends the refresh happens.
    pub fn margin_for(&self, lifetime: Duration) -> Duration {
        self.refresh_margin.min(lifetime / 2)
    }
}
