//! When to show a desktop notification: only for what needs the user (credentials rejected, auth degraded,
//! monthly quota at 80 % and exhausted, OpenCode unreachable, a permission waiting in a chat).
//!
//! Invariant: one notification per condition while it lasts. [`Notifier::on_event`] is pure (no clock, no
//! I/O): a condition notifies when it starts and again only after the event that ends it (connected,
//! auth recovered, agent replied) or, for quota, for a new month / level. `desktop.rs` shows what it returns.

use std::collections::HashSet;

use crate::engine::{ConnectionState, Event};

/// Every catalogue key a notice uses (`i18n.rs` checks that each catalogue has them).
#[cfg(test)]
pub const KEYS: [&str; 19] = [
    "notify.credentials_rejected.title",
    "notify.credentials_rejected.body",
    "notify.auth_degraded.title",
    "notify.auth_degraded.body",
    "notify.quota_warning_stream.title",
    "notify.quota_warning_stream.body",
    "notify.quota_warning_api.title",
    "notify.quota_warning_api.body",
    "notify.quota_exhausted_stream.title",
    "notify.quota_exhausted_stream.body",
    "notify.quota_exhausted_api.title",
    "notify.quota_exhausted_api.body",
    "notify.opencode_unreachable.title",
    "notify.opencode_unreachable.body",
    "notify.opencode_unreachable.managed_body",
    "notify.permission_waiting.title",
    "notify.permission_waiting.body",
    "notify.mcp_config_copied.title",
    "notify.mcp_config_copied.body",
];

/// What a notice may mention beyond its event: filled in by the caller from the running engine.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// `[agent] opencode_url`, for "OpenCode is unreachable"; empty in managed mode (DingBridge runs
    /// OpenCode itself, so there is no address of the user's to name).
    pub opencode_url: String,
    /// Conversation titles by id, for "a permission request is waiting in {conversation}".
    pub titles: Vec<(String, String)>,
}

impl Context {
    fn title_of(&self, conversation_id: &str) -> String {
        self.titles
            .iter()
            .find(|(id, _)| id == conversation_id)
            .map(|(_, title)| title.clone())
            .unwrap_or_else(|| conversation_id.to_owned())
    }
}

/// A notification to show: catalogue keys (`notify.*`) and the values of their `{placeholders}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub title: &'static str,
    pub body: &'static str,
    pub params: Vec<(&'static str, String)>,
}

impl Notice {
    pub fn new(title: &'static str, body: &'static str) -> Self {
        Self {
            title,
            body,
            params: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.params.push((name, value.into()));
        self
    }
}

/// Conditions that last until something ends them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Condition {
    CredentialsRejected,
    AuthDegraded,
    AgentUnreachable,
    /// `kind` ("stream" / "api"), month ("" when DingTalk did not say), percent (80 / 100).
    Quota(String, String, u64),
    Permission(String, String),
}

/// Remembers which conditions were already notified.
#[derive(Debug, Default)]
pub struct Notifier {
    active: HashSet<Condition>,
}

impl Notifier {
    /// The notification this event calls for, if any.
    pub fn on_event(&mut self, event: &Event, context: &Context) -> Option<Notice> {
        match event {
            Event::CredentialsRejected { code, .. } => {
                self.start(Condition::CredentialsRejected).then(|| {
                    Notice::new(
                        "notify.credentials_rejected.title",
                        "notify.credentials_rejected.body",
                    )
                    .with("code", code.clone())
                })
            }
            Event::ConnectionChanged {
                state: ConnectionState::Connected,
                ..
            } => {
                self.end(&Condition::CredentialsRejected);
                None
            }
            Event::AuthDegraded { failures, reason } => {
                self.start(Condition::AuthDegraded).then(|| {
                    Notice::new("notify.auth_degraded.title", "notify.auth_degraded.body")
                        .with("failures", failures.to_string())
                        .with("reason", reason.clone())
                })
            }
            Event::AuthRecovered => {
                self.end(&Condition::AuthDegraded);
                self.end(&Condition::CredentialsRejected);
                None
            }
            Event::QuotaWarning {
                kind,
                month,
                used,
                budget,
                percent,
            } => self.quota(kind, month, *percent).then(|| {
                quota_notice(kind, *percent)
                    .with("used", used.to_string())
                    .with("budget", budget.to_string())
                    .with("percent", format!("{percent}%"))
            }),
            Event::QuotaExhausted { .. } => self
                .quota("stream", "", 100)
                .then(|| quota_notice("stream", 100)),
            Event::ApiQuotaExhausted { .. } => {
                self.quota("api", "", 100).then(|| quota_notice("api", 100))
            }
            Event::AgentUnreachable { .. } => self.start(Condition::AgentUnreachable).then(|| {
                if context.opencode_url.trim().is_empty() {
                    Notice::new(
                        "notify.opencode_unreachable.title",
                        "notify.opencode_unreachable.managed_body",
                    )
                } else {
                    Notice::new(
                        "notify.opencode_unreachable.title",
                        "notify.opencode_unreachable.body",
                    )
                    .with("url", context.opencode_url.clone())
                }
            }),
            Event::AgentReplied { .. } => {
                self.end(&Condition::AgentUnreachable);
                None
            }
            Event::PermissionRequested {
                conversation_id,
                permission_id,
                summary,
            } => self
                .start(Condition::Permission(
                    conversation_id.clone(),
                    permission_id.clone(),
                ))
                .then(|| {
                    Notice::new(
                        "notify.permission_waiting.title",
                        "notify.permission_waiting.body",
                    )
                    .with("conversation", context.title_of(conversation_id))
                    .with("summary", summary.chars().take(120).collect::<String>())
                }),
            _ => None,
        }
    }

    /// `true` when the condition was not active yet.
    fn start(&mut self, condition: Condition) -> bool {
        self.active.insert(condition)
    }

    fn end(&mut self, condition: &Condition) {
        self.active.remove(condition);
    }

    /// Quota levels notify once per kind, month and level. "Exhausted" without a month (the 20001 frame,
    /// errcode 90020) is the exhausted level already notified, if any; a dated warning that follows it is
    /// the same condition, now with its month.
    fn quota(&mut self, kind: &str, month: &str, percent: u64) -> bool {
        let undated = Condition::Quota(kind.to_owned(), String::new(), 100);
        if month.is_empty() {
            let known = self.active.iter().any(
                |condition| matches!(condition, Condition::Quota(k, _, p) if k == kind && *p >= 100),
            );
            return !known && self.start(undated);
        }
        let was_undated = percent >= 100 && self.active.remove(&undated);
        self.start(Condition::Quota(kind.to_owned(), month.to_owned(), percent)) && !was_undated
    }
}

/// The quota notice of a kind ("stream" / "api") and level.
fn quota_notice(kind: &str, percent: u64) -> Notice {
    match (kind, percent >= 100) {
        ("api", true) => Notice::new(
            "notify.quota_exhausted_api.title",
            "notify.quota_exhausted_api.body",
        ),
        ("api", false) => Notice::new(
            "notify.quota_warning_api.title",
            "notify.quota_warning_api.body",
        ),
        (_, true) => Notice::new(
            "notify.quota_exhausted_stream.title",
            "notify.quota_exhausted_stream.body",
        ),
        (_, false) => Notice::new(
            "notify.quota_warning_stream.title",
            "notify.quota_warning_stream.body",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            opencode_url: "http://127.0.0.1:4096".into(),
            titles: vec![("cid".into(), "Build squad".into())],
        }
    }

    fn connection(state: ConnectionState) -> Event {
        Event::ConnectionChanged {
            state,
            reconnects: 0,
            reason: String::new(),
        }
    }

    fn rejected() -> Event {
        Event::CredentialsRejected {
            code: "invalidClientIdOrSecret".into(),
            message: "bad".into(),
        }
    }

    fn quota(percent: u64, month: &str) -> Event {
        Event::QuotaWarning {
            kind: "stream".into(),
            month: month.into(),
            used: percent,
            budget: 100,
            percent,
        }
    }

    fn unreachable() -> Event {
        Event::AgentUnreachable {
            conversation_id: "cid".into(),
            reason: "connection refused".into(),
        }
    }

    fn permission(id: &str) -> Event {
        Event::PermissionRequested {
            conversation_id: "cid".into(),
            permission_id: id.into(),
            summary: "run `rm -rf build`".into(),
        }
    }

    #[test]
    fn rejected_credentials_notify_once_with_the_dingtalk_code() {
        let mut notifier = Notifier::default();
        let notice = notifier.on_event(&rejected(), &ctx()).expect("notified");
        assert_eq!(notice.title, "notify.credentials_rejected.title");
        assert_eq!(
            notice.params,
            vec![("code", "invalidClientIdOrSecret".to_owned())]
        );
        // Every retry is rejected again: no second notification.
        assert_eq!(
            notifier.on_event(&connection(ConnectionState::Backoff), &ctx()),
            None
        );
        assert_eq!(notifier.on_event(&rejected(), &ctx()), None);
    }

    #[test]
    fn rejected_credentials_notify_again_after_a_connection_succeeded() {
        let mut notifier = Notifier::default();
        assert!(notifier.on_event(&rejected(), &ctx()).is_some());
        assert_eq!(
            notifier.on_event(&connection(ConnectionState::Connected), &ctx()),
            None
        );
        assert!(notifier.on_event(&rejected(), &ctx()).is_some());
    }

    #[test]
    fn auth_degraded_notifies_once_until_recovered() {
        let mut notifier = Notifier::default();
        let degraded = Event::AuthDegraded {
            reason: "timeout".into(),
            failures: 5,
        };
        assert!(notifier.on_event(&degraded, &ctx()).is_some());
        assert_eq!(notifier.on_event(&degraded, &ctx()), None);
        assert_eq!(notifier.on_event(&Event::AuthRecovered, &ctx()), None);
        assert!(notifier.on_event(&degraded, &ctx()).is_some());
    }

    #[test]
    fn quota_notifies_at_80_and_at_100_percent_once_each() {
        let mut notifier = Notifier::default();
        let warning = notifier
            .on_event(&quota(80, "2026-12"), &ctx())
            .expect("80 %");
        assert_eq!(warning.title, "notify.quota_warning_stream.title");
        assert_eq!(notifier.on_event(&quota(80, "2026-12"), &ctx()), None);
        let exhausted = notifier
            .on_event(&quota(100, "2026-12"), &ctx())
            .expect("100 %");
        assert_eq!(exhausted.title, "notify.quota_exhausted_stream.title");
        assert_eq!(notifier.on_event(&quota(100, "2026-12"), &ctx()), None);
        // The 20001 frames that follow are the same condition.
        let frame = Event::QuotaExhausted {
            conversation_id: "cid".into(),
            message: "quota".into(),
        };
        assert_eq!(notifier.on_event(&frame, &ctx()), None);
    }

    #[test]
    fn quota_notifies_again_in_a_new_month() {
        let mut notifier = Notifier::default();
        assert!(notifier.on_event(&quota(80, "2026-11"), &ctx()).is_some());
        assert!(notifier.on_event(&quota(80, "2026-12"), &ctx()).is_some());
    }

    #[test]
    fn an_exhausted_frame_without_a_warning_notifies_once() {
        let mut notifier = Notifier::default();
        let frame = Event::QuotaExhausted {
            conversation_id: "cid".into(),
            message: "quota".into(),
        };
        assert!(notifier.on_event(&frame, &ctx()).is_some());
        assert_eq!(notifier.on_event(&frame, &ctx()), None);
    }

    #[test]
    fn in_managed_mode_opencode_unreachable_names_no_address_but_the_dashboard() {
        let mut notifier = Notifier::default();
        let managed = Context {
            opencode_url: String::new(),
            ..ctx()
        };
        let notice = notifier
            .on_event(&unreachable(), &managed)
            .expect("notified");
        assert_eq!(notice.body, "notify.opencode_unreachable.managed_body");
        assert_eq!(notice.params, Vec::new());
    }

    #[test]
    fn opencode_unreachable_notifies_once_until_the_agent_answers_again() {
        let mut notifier = Notifier::default();
        let notice = notifier.on_event(&unreachable(), &ctx()).expect("notified");
        assert_eq!(notice.title, "notify.opencode_unreachable.title");
        assert_eq!(
            notice.params,
            vec![("url", "http://127.0.0.1:4096".to_owned())]
        );
        assert_eq!(notifier.on_event(&unreachable(), &ctx()), None);
        let replied = Event::AgentReplied {
            msg_id: "m".into(),
            conversation_id: "cid".into(),
            preview: "ok".into(),
            duration_ms: 1,
        };
        assert_eq!(notifier.on_event(&replied, &ctx()), None);
        assert!(notifier.on_event(&unreachable(), &ctx()).is_some());
    }

    #[test]
    fn each_permission_request_notifies_once() {
        let mut notifier = Notifier::default();
        let notice = notifier
            .on_event(&permission("p1"), &ctx())
            .expect("notified");
        assert_eq!(notice.title, "notify.permission_waiting.title");
        assert!(
            notice
                .params
                .contains(&("conversation", "Build squad".to_owned()))
        );
        assert_eq!(notifier.on_event(&permission("p1"), &ctx()), None);
        assert!(notifier.on_event(&permission("p2"), &ctx()).is_some());
    }

    #[test]
    fn routine_traffic_never_notifies() {
        let mut notifier = Notifier::default();
        let events = [
            connection(ConnectionState::Connecting),
            connection(ConnectionState::Backoff),
            Event::Acked {
                msg_id: "m".into(),
                latency_us: 1,
            },
        ];
        for event in &events {
            assert_eq!(notifier.on_event(event, &ctx()), None);
        }
    }
}
