//! Monthly DingTalk usage against the org's budget: Webhook & Stream messages (3,000 a month on a standard
//! org) and OpenAPI calls (5,000). Token and contacts APIs are exempt (protocol notes §4.4), and throttled
//! calls are not counted. Crossing 80 % and 100 % publishes a warning once per month.

use std::collections::HashSet;
use std::sync::Mutex;

use rusqlite::params;
use serde::Serialize;

use crate::config::QuotaSettings;
use crate::events::{Event, EventBus};
use crate::store::{Store, StoreError};
use crate::time::{month_of, now_ms};

const STREAM: &str = "stream_messages";
const API: &str = "api_calls";
const WARN_AT: [u64; 2] = [80, 100];

/// OpenAPI paths that do not count against the monthly quota.
const EXEMPT_PREFIXES: [&str; 7] = [
    "/v1.0/oauth2/",
    "/gettoken",
    "/v1.0/contact/",
    "/topapi/v2/user/",
    "/topapi/user/",
    "/topapi/v2/department/",
    "/v1.0/gateway/",
];

#[derive(Clone, Debug, Default, Serialize)]
pub struct QuotaUsage {
    pub month: String,
    pub stream_used: u64,
    pub stream_budget: u64,
    pub api_used: u64,
    pub api_budget: u64,
}

struct MonthUsage {
    month: String,
    stream: u64,
    api: u64,
    warned: HashSet<(&'static str, u64)>,
}

pub struct QuotaMeter {
    store: Store,
    events: EventBus,
    budgets: QuotaSettings,
    usage: Mutex<MonthUsage>,
}

impl QuotaMeter {
    /// Loads this month's counts from the store.
    pub async fn load(
        store: Store,
        events: EventBus,
        budgets: QuotaSettings,
    ) -> Result<Self, StoreError> {
        let month = month_of(now_ms());
        let stream = store.counter(&month, STREAM).await?;
        let api = store.counter(&month, API).await?;
        let meter = Self {
            store,
            events,
            budgets,
            usage: Mutex::new(MonthUsage {
                month,
                stream,
                api,
                warned: HashSet::new(),
            }),
        };
        // Already over a threshold at start: say so once.
        meter.check("stream");
        meter.check("api");
        Ok(meter)
    }

    pub fn is_exempt(path: &str) -> bool {
        EXEMPT_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
    }

    /// A new Stream message was accepted (its counter row is written in the inbox transaction).
    pub fn stream_message(&self, at_ms: i64) {
        self.bump("stream", at_ms);
    }

    /// A counted OpenAPI call completed (success or non-throttle error).
    pub fn api_call(&self, path: &str) {
        if Self::is_exempt(path) {
            return;
        }
        let at = now_ms();
        self.bump("api", at);
        let store = self.store.clone();
        let month = month_of(at);
        tokio::spawn(async move {
            let result = store
                .misc_write(move |conn| {
                    conn.execute(
                        "INSERT INTO counters (month, name, value) VALUES (?1, ?2, 1)
                         ON CONFLICT(month, name) DO UPDATE SET value = value + 1",
                        params![month, API],
                    )?;
                    Ok(())
                })
                .await;
            if let Err(err) = result {
                tracing::warn!(code = err.code(), error = %err, "cannot persist API usage");
            }
        });
    }

    pub fn usage(&self) -> QuotaUsage {
        let usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        QuotaUsage {
            month: usage.month.clone(),
            stream_used: usage.stream,
            stream_budget: self.budgets.stream_budget,
            api_used: usage.api,
            api_budget: self.budgets.api_budget,
        }
    }

    fn bump(&self, kind: &'static str, at_ms: i64) {
        {
            let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
            let month = month_of(at_ms);
            if usage.month != month {
                *usage = MonthUsage {
                    month,
                    stream: 0,
                    api: 0,
                    warned: HashSet::new(),
                };
            }
            match kind {
                "stream" => usage.stream += 1,
                _ => usage.api += 1,
            }
        }
        self.check(kind);
    }

    fn check(&self, kind: &'static str) {
        let (month, used, budget) = {
            let usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
            match kind {
                "stream" => (
                    usage.month.clone(),
                    usage.stream,
                    self.budgets.stream_budget,
                ),
                _ => (usage.month.clone(), usage.api, self.budgets.api_budget),
            }
        };
        if budget == 0 {
            return;
        }
        for level in WARN_AT {
            if used * 100 >= budget * level {
                let first = {
                    let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
                    usage.warned.insert((kind, level))
                };
                if first {
                    tracing::warn!(kind, used, budget, level, "DingTalk monthly quota warning");
                    self.events.publish(Event::QuotaWarning {
                        kind: kind.to_owned(),
                        month: month.clone(),
                        used,
                        budget,
                        percent: level,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::QuotaMeter;

    #[test]
    fn token_and_contacts_apis_are_exempt() {
        assert!(QuotaMeter::is_exempt("/v1.0/oauth2/accessToken"));
        assert!(QuotaMeter::is_exempt("/v1.0/contact/users/search"));
        assert!(QuotaMeter::is_exempt("/topapi/v2/user/get"));
        assert!(!QuotaMeter::is_exempt("/v1.0/robot/groupMessages/send"));
        assert!(!QuotaMeter::is_exempt(
            "/v1.0/doc/suites/documents/x/blocks"
        ));
    }
}
