//! The allow-list: only configured senders reach the agent, and in groups only where the group is opted in.
//! Everyone else gets a polite refusal and is logged; with no allow-list at all, the bridge refuses everyone
//! and says how to configure it (an open bot in a company chat would hand strangers a coding agent).

use crate::config::AccessSettings;
use crate::dingtalk::{BotMessage, ConversationKind};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessDecision {
    Allowed,
    /// No allowed senders configured at all.
    NotConfigured,
    SenderNotAllowed,
    GroupNotEnabled,
}

const WILDCARD: &str = "*";

pub fn decide(settings: &AccessSettings, message: &BotMessage) -> AccessDecision {
    if settings.allowed_staff_ids.is_empty() {
        return AccessDecision::NotConfigured;
    }
    let sender_allowed = settings.allowed_staff_ids.iter().any(|id| id == WILDCARD)
        || message
            .sender_staff_id
            .as_ref()
            .is_some_and(|staff| settings.allowed_staff_ids.iter().any(|id| id == staff));
    if !sender_allowed {
        return AccessDecision::SenderNotAllowed;
    }
    if message.conversation_kind == ConversationKind::Group
        && !settings
            .allowed_groups
            .iter()
            .any(|id| id == WILDCARD || id == &message.conversation_id)
    {
        return AccessDecision::GroupNotEnabled;
    }
    AccessDecision::Allowed
}

/// What the refused sender reads.
pub fn refusal(decision: &AccessDecision, message: &BotMessage) -> Option<String> {
    let staff = message
        .sender_staff_id
        .as_deref()
        .unwrap_or("(external user, no userId)");
    match decision {
        AccessDecision::Allowed => None,
        AccessDecision::NotConfigured => Some(format!(
            "Sorry, this DingBridge has no allow-list yet, so it answers nobody.\n\n\
             The owner can allow you by adding your userId `{staff}` to `allowed_staff_ids` in the `[access]` \
             section of the DingBridge settings (and this group's id `{}` to `allowed_groups` for group chats).",
            message.conversation_id
        )),
        AccessDecision::SenderNotAllowed => Some(format!(
            "Sorry, you are not on this bot's allow-list. Ask its owner to add your userId `{staff}`."
        )),
        AccessDecision::GroupNotEnabled => Some(format!(
            "Sorry, the bot does not answer in this group yet. Its owner can enable it by adding `{}` to `allowed_groups`.",
            message.conversation_id
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dingtalk::MessageContent;

    fn message(kind: ConversationKind, staff: Option<&str>) -> BotMessage {
        BotMessage {
            msg_id: "m".into(),
            msgtype: "text".into(),
            conversation_id: "cidG".into(),
            conversation_kind: kind,
            conversation_title: None,
            sender_nick: "N".into(),
            sender_staff_id: staff.map(str::to_owned),
            sender_id: None,
            robot_code: None,
            session_webhook: None,
            session_webhook_expires_ms: None,
            create_at_ms: 0,
            content: MessageContent::Text { text: "hi".into() },
            quoted: None,
        }
    }

    fn settings(staff: &[&str], groups: &[&str]) -> AccessSettings {
        AccessSettings {
            allowed_staff_ids: staff.iter().map(|s| s.to_string()).collect(),
            allowed_groups: groups.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn no_allow_list_refuses_everyone_and_explains_how_to_configure() {
        let m = message(ConversationKind::Single, Some("u1"));
        let decision = decide(&settings(&[], &[]), &m);
        assert_eq!(decision, AccessDecision::NotConfigured);
        assert!(
            refusal(&decision, &m)
                .unwrap()
                .contains("allowed_staff_ids")
        );
    }

    #[test]
    fn listed_sender_is_allowed_in_a_direct_chat() {
        assert_eq!(
            decide(
                &settings(&["u1"], &[]),
                &message(ConversationKind::Single, Some("u1"))
            ),
            AccessDecision::Allowed
        );
    }

    #[test]
    fn unlisted_and_external_senders_are_refused() {
        let s = settings(&["u1"], &["*"]);
        assert_eq!(
            decide(&s, &message(ConversationKind::Single, Some("u2"))),
            AccessDecision::SenderNotAllowed
        );
        assert_eq!(
            decide(&s, &message(ConversationKind::Single, None)),
            AccessDecision::SenderNotAllowed
        );
    }

    #[test]
    fn groups_must_be_opted_in() {
        let m = message(ConversationKind::Group, Some("u1"));
        assert_eq!(
            decide(&settings(&["u1"], &[]), &m),
            AccessDecision::GroupNotEnabled
        );
        assert_eq!(
            decide(&settings(&["u1"], &["cidG"]), &m),
            AccessDecision::Allowed
        );
    }
}
