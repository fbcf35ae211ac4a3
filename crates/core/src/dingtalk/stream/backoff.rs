//! Reconnect delays of the Stream supervisor.
//!
//! Invariants: a gateway that keeps failing gets jittered exponential growth (`backoff_initial` doubling up
//! to `backoff_max`), so a long outage is not hammered. A connection that was healthy (it delivered a frame,
//! or lived long) resets the growth, and the first few delays after it are capped at [`RECOVERY_CAP`]: a
//! socket drop followed by a short gateway blip costs seconds, not the minute the old growth would reach.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

use crate::config::StreamSettings;

/// Longest pause of the first attempts after a healthy connection.
pub const RECOVERY_CAP: Duration = Duration::from_secs(2);
/// How many attempts after a healthy connection use the cap.
pub const RECOVERY_ATTEMPTS: u32 = 4;

pub struct ReconnectBackoff {
    initial: Duration,
    max: Duration,
    growth: ExponentialBackoff,
    quick_left: u32,
}

impl ReconnectBackoff {
    pub fn new(settings: &StreamSettings) -> Self {
        let (initial, max) = (settings.backoff_initial(), settings.backoff_max());
        Self {
            initial,
            max,
            growth: growth(initial, max),
            quick_left: 0,
        }
    }

    /// A connection was healthy: start over, with the first delays capped.
    pub fn healthy(&mut self) {
        self.growth = growth(self.initial, self.max);
        self.quick_left = RECOVERY_ATTEMPTS;
    }

    /// The pause before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.growth.next().unwrap_or(self.max);
        if self.quick_left > 0 {
            self.quick_left -= 1;
            return delay.min(RECOVERY_CAP.max(self.initial));
        }
        delay
    }
}

fn growth(initial: Duration, max: Duration) -> ExponentialBackoff {
    ExponentialBuilder::default()
        .with_min_delay(initial)
        .with_max_delay(max)
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(initial_ms: u64, max_ms: u64) -> StreamSettings {
        StreamSettings {
            backoff_initial_ms: initial_ms,
            backoff_max_ms: max_ms,
            ..StreamSettings::default()
        }
    }

    #[test]
    fn a_failing_gateway_keeps_growing_and_a_healthy_connection_caps_the_next_attempts() {
        let mut backoff = ReconnectBackoff::new(&settings(1_000, 60_000));
        let grown: Vec<Duration> = (0..6).map(|_| backoff.next_delay()).collect();
        assert!(grown[5] >= Duration::from_secs(16), "{grown:?}");
        backoff.healthy();
        for _ in 0..RECOVERY_ATTEMPTS {
            assert!(backoff.next_delay() <= RECOVERY_CAP);
        }
        let later: Vec<Duration> = (0..3).map(|_| backoff.next_delay()).collect();
        assert!(later[2] > RECOVERY_CAP, "growth resumes: {later:?}");
    }
}
