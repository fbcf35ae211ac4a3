//! Send pacing under DingTalk's limits: an app-wide rate (DingTalk allows 20 QPS per app and API on standard
//! orgs) and a per-conversation rate (20 messages per minute is the documented robot-webhook limit; applied to
//! every send as the safe reading). Both limiters hand out permits evenly, never in bursts, so no rolling
//! window ever holds more than the limit.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde::{Deserialize, Serialize};

use crate::dingtalk::openapi::AppRate;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacingSettings {
    /// Sends per second across the whole app.
    pub app_per_second: u32,
    /// Sends per conversation per `conversation_window_ms`.
    pub per_conversation: u32,
    pub conversation_window_ms: u64,
    /// Extra spacing, in percent, so clock jitter and network delays never push a window over the limit.
    pub safety_margin_percent: u32,
}

impl Default for PacingSettings {
    fn default() -> Self {
        Self {
            app_per_second: 20,
            per_conversation: 20,
            conversation_window_ms: 60_000,
            safety_margin_percent: 10,
        }
    }
}

impl PacingSettings {
    fn spacing(&self, window: Duration, count: u32) -> Duration {
        let base = window / count.max(1);
        base + base * self.safety_margin_percent / 100
    }

    pub fn conversation_spacing(&self) -> Duration {
        self.spacing(
            Duration::from_millis(self.conversation_window_ms.max(1)),
            self.per_conversation,
        )
    }

    pub fn app_spacing(&self) -> Duration {
        self.spacing(Duration::from_secs(1), self.app_per_second)
    }
}

type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

pub struct Pacer {
    /// Shared with the AI card and Docs clients (`app_rate`): one app-wide budget.
    app: AppRate,
    conversations: KeyedLimiter,
    conversation_spacing: Duration,
}

fn quota(spacing: Duration) -> Quota {
    // `with_period` only fails for a zero period; the spacing is at least 1 ms by construction.
    Quota::with_period(spacing.max(Duration::from_millis(1)))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN)
}

impl Pacer {
    pub fn new(settings: &PacingSettings) -> Self {
        Self {
            app: AppRate::with_spacing(settings.app_spacing()),
            conversations: RateLimiter::keyed(quota(settings.conversation_spacing())),
            conversation_spacing: settings.conversation_spacing(),
        }
    }

    /// Waits until this conversation and the app may send one message.
    pub async fn acquire(&self, conversation_id: &str) {
        self.conversations
            .until_key_ready(&conversation_id.to_owned())
            .await;
        self.app.until_ready().await;
    }

    pub fn conversation_spacing(&self) -> Duration {
        self.conversation_spacing
    }

    /// The app-wide rate, for other OpenAPI callers (`OpenApiClient::with_pacing`).
    pub fn app_rate(&self) -> AppRate {
        self.app.clone()
    }

    /// Forgets idle conversations' limiter state.
    pub fn shrink(&self) {
        self.conversations.retain_recent();
    }
}
