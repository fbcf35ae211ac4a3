//! The allow-list: only configured senders reach the agent, and in groups only where the group is opted in.
//! Everyone else gets a polite refusal and is logged; with no allow-list at all, the bridge refuses everyone
//! and says how to configure it (an open bot in a company chat would hand strangers a coding agent).

use crate::config::AccessSettings;
use crate::dingtalk::{BotMessage, ConversationKind};
use crate::i18n::{ChatKey, ChatText, Lang};

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

/// What the refused sender reads, in `lang`.
pub fn refusal(decision: &AccessDecision, message: &BotMessage, lang: Lang) -> Option<String> {
    let external = ChatText::get(lang, ChatKey::ExternalUser);
    let staff = message.sender_staff_id.as_deref().unwrap_or(&external);
    let conversation = message.conversation_id.as_str();
    let text = match decision {
        AccessDecision::Allowed => return None,
        AccessDecision::NotConfigured => ChatText::render(
            lang,
            ChatKey::RefusalNotConfigured,
            &[("staff", staff), ("conversation", conversation)],
        ),
        AccessDecision::SenderNotAllowed => {
            ChatText::render(lang, ChatKey::RefusalSender, &[("staff", staff)])
        }
        AccessDecision::GroupNotEnabled => ChatText::render(
            lang,
            ChatKey::RefusalGroup,
            &[("conversation", conversation)],
        ),
    };
    Some(text)
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
        for lang in Lang::ALL {
            let text = refusal(&decision, &m, lang).unwrap();
            assert!(
                text.contains("allowed_staff_ids") && text.contains("`u1`"),
                "{text}"
            );
        }
    }

    #[test]
    fn an_external_sender_is_named_as_such_in_the_refusals_language() {
        let m = message(ConversationKind::Single, None);
        let decision = decide(&settings(&["u1"], &[]), &m);
        let zh = refusal(&decision, &m, Lang::ZhCn).unwrap();
        assert!(zh.contains("外部用户") && zh.starts_with("抱歉"), "{zh}");
        let en = refusal(&decision, &m, Lang::En).unwrap();
        assert!(
            en.contains("external user") && en.starts_with("Sorry"),
            "{en}"
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
