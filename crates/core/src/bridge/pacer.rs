//! Send pacing under DingTalk's limits: an app-wide rate (DingTalk allows 20 QPS per app and API on standard
//! orgs) and a per-conversation rate (20 messages per minute is the documented robot-webhook limit; applied to
//! every send as the safe reading). Both limiters hand out permits evenly, never in bursts, so no rolling
//! window ever holds more than the limit.
//!
//! Bounded: a conversation's limiter is forgotten once it has been idle for [`IDLE_FACTOR`] spacings (moka
//! time-to-idle). That is safe: a limiter idle for longer than one spacing would grant its next permit at
//! once anyway, so a fresh one behaves the same. The cache is also capped at [`MAX_CONVERSATIONS`].

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::DefaultClock;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use moka::sync::Cache;
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
    /// At DingTalk's 20 per 60 s, the default 4 % spaces sends 3.12 s apart: 21 sends span 62.4 s, so one send
    /// would have to arrive 2.4 s late relative to another for DingTalk to count 21 in its window, and the
    /// achieved rate is 96 % of the allowed one (10 % capped it at 90.9 %; docs/performance.md #7).
    pub safety_margin_percent: u32,
}

impl Default for PacingSettings {
    fn default() -> Self {
        Self {
            app_per_second: 20,
            per_conversation: 20,
            conversation_window_ms: 60_000,
            safety_margin_percent: 4,
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

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// A conversation's limiter is dropped after this many spacings without a send.
pub const IDLE_FACTOR: u32 = 2;
/// At most this many conversations' limiters are kept (least recently used go first).
pub const MAX_CONVERSATIONS: u64 = 50_000;

pub struct Pacer {
    /// Shared with the AI card and Docs clients (`app_rate`): one app-wide budget.
    app: AppRate,
    conversations: Cache<String, Arc<Limiter>>,
    conversation_quota: Quota,
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
        let spacing = settings.conversation_spacing();
        // Idle time counts from the last access, which is when a send asked for its permit; the permit comes
        // at most one spacing later, so two spacings (plus slack) of idleness always cover it.
        let idle = spacing
            .saturating_mul(IDLE_FACTOR)
            .saturating_add(Duration::from_millis(100));
        Self {
            app: AppRate::with_spacing(settings.app_spacing()),
            conversations: Cache::builder()
                .max_capacity(MAX_CONVERSATIONS)
                .time_to_idle(idle)
                .build(),
            conversation_quota: quota(spacing),
            conversation_spacing: spacing,
        }
    }

    /// Waits until this conversation and the app may send one message.
    pub async fn acquire(&self, conversation_id: &str) {
        let quota = self.conversation_quota;
        let limiter = self
            .conversations
            .get_with_by_ref(conversation_id, || Arc::new(RateLimiter::direct(quota)));
        limiter.until_ready().await;
        self.app.until_ready().await;
    }

    /// How many conversations' limiters are kept right now (idle ones are forgotten).
    pub fn tracked_conversations(&self) -> u64 {
        self.conversations.run_pending_tasks();
        self.conversations.entry_count()
    }

    pub fn conversation_spacing(&self) -> Duration {
        self.conversation_spacing
    }

    /// The app-wide rate, for other OpenAPI callers (`OpenApiClient::with_pacing`).
    pub fn app_rate(&self) -> AppRate {
        self.app.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> PacingSettings {
        PacingSettings {
            app_per_second: 10_000,
            per_conversation: 100,
            conversation_window_ms: 1_000,
            safety_margin_percent: 0,
        }
    }

    #[tokio::test]
    async fn idle_conversations_are_forgotten() {
        // Spacing 1 s: forgotten after 2.1 s idle. The first send of each conversation is not delayed.
        let pacer = Pacer::new(&PacingSettings {
            per_conversation: 1,
            ..fast()
        });
        for i in 0..300 {
            pacer.acquire(&format!("conversation-{i}")).await;
        }
        assert_eq!(pacer.tracked_conversations(), 300);
        tokio::time::sleep(Duration::from_millis(3_500)).await;
        assert_eq!(pacer.tracked_conversations(), 0);
    }

    #[tokio::test]
    async fn a_forgotten_conversation_is_still_paced_when_it_sends_again() {
        let pacer = Pacer::new(&PacingSettings {
            per_conversation: 5,
            conversation_window_ms: 1_000,
            ..fast()
        });
        pacer.acquire("c").await;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(pacer.tracked_conversations(), 0);
        let started = std::time::Instant::now();
        pacer.acquire("c").await;
        pacer.acquire("c").await;
        // Second send after the first must wait one spacing (200 ms); generous lower bound.
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
    }
}
