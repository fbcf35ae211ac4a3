//! Chat commands. They are handled as soon as they arrive, not behind the conversation's queue: `/stop` and
//! `/allow` must reach a turn that is still running.

use std::sync::Arc;

use super::language::ChatLanguages;
use super::permissions::PermissionBroker;
use super::processor::INTERRUPTED;
use super::queues::ConversationQueues;
use crate::agent::AgentBackend;
use crate::agent::opencode::managed::ManagedBackend;
use crate::events::ConnectionState;
use crate::i18n::{ChatKey, ChatText, Lang};
use crate::metrics::Metrics;
use crate::quota::QuotaMeter;
use crate::store::{InboxState, Store};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatCommand {
    New,
    Stop,
    Status,
    Help,
    /// `/allow [id]`: the oldest open permission ask, or the one with this id.
    Allow(Option<String>),
    /// `/deny [id]`.
    Deny(Option<String>),
    /// `/answer <text>`: the answer to the agent's pending question.
    Answer(String),
    /// `/skip`: dismiss the agent's pending question.
    Skip,
    /// `/retry`: ask the agent again for the chat's newest interrupted answer.
    Retry,
    /// `/project [name]`: list the projects, or switch the chat to one.
    Project(Option<String>),
    /// `/lang [tag]`: show, or set, the language of this chat's bridge replies.
    Lang(Option<String>),
    Unknown(String),
}

/// A message whose first word starts with `/` is a command (DingTalk strips the @mention, so group commands
/// look the same as direct ones).
pub fn parse(text: &str) -> Option<ChatCommand> {
    let word = text.split_whitespace().next()?;
    let name = word.strip_prefix('/')?;
    // `/src/main.rs is broken` is a message about a path, not a command.
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphabetic() || c == '?') {
        return None;
    }
    let argument = || text.split_whitespace().nth(1).map(str::to_owned);
    Some(match name.to_ascii_lowercase().as_str() {
        "new" | "reset" => ChatCommand::New,
        "stop" | "abort" => ChatCommand::Stop,
        "status" => ChatCommand::Status,
        "help" | "?" => ChatCommand::Help,
        "allow" | "yes" => ChatCommand::Allow(argument()),
        "deny" | "no" => ChatCommand::Deny(argument()),
        "answer" => ChatCommand::Answer(text.trim_start()[word.len()..].trim().to_owned()),
        "skip" => ChatCommand::Skip,
        "retry" => ChatCommand::Retry,
        "project" | "projects" => ChatCommand::Project(
            Some(text.trim_start()[word.len()..].trim().to_owned()).filter(|n| !n.is_empty()),
        ),
        "lang" | "language" => ChatCommand::Lang(argument()),
        _ => ChatCommand::Unknown(word.to_owned()),
    })
}

pub struct Commands {
    pub agent: Arc<dyn AgentBackend>,
    /// Managed mode's projects (`/project`); `None` in external mode.
    pub managed: Option<ManagedBackend>,
    pub permissions: Arc<PermissionBroker>,
    pub queues: ConversationQueues,
    pub metrics: Arc<Metrics>,
    pub quota: Arc<QuotaMeter>,
    pub store: Store,
    pub languages: ChatLanguages,
}

impl Commands {
    /// Runs the command and returns what to answer in the chat, in the conversation's language.
    pub async fn run(&self, command: &ChatCommand, conversation_id: &str) -> String {
        let lang = self.languages.of(conversation_id).await;
        let text = |key| ChatText::get(lang, key);
        let with_error = |key, err: &dyn std::fmt::Display| {
            ChatText::render(lang, key, &[("error", &err.to_string())])
        };
        match command {
            ChatCommand::Help => text(ChatKey::Help),
            ChatCommand::Unknown(word) => ChatText::render(
                lang,
                ChatKey::UnknownCommand,
                &[("command", word), ("help", &text(ChatKey::Help))],
            ),
            ChatCommand::New => match self.agent.reset_session(conversation_id).await {
                Ok(()) => text(ChatKey::NewDone),
                Err(err) => with_error(ChatKey::NewFailed, &err),
            },
            ChatCommand::Stop => match self.agent.abort(conversation_id).await {
                Ok(true) => text(ChatKey::StopDone),
                Ok(false) => text(ChatKey::StopNothing),
                Err(err) => with_error(ChatKey::StopFailed, &err),
            },
            ChatCommand::Allow(id) | ChatCommand::Deny(id) => {
                let allow = matches!(command, ChatCommand::Allow(_));
                let answer = self
                    .permissions
                    .answer(conversation_id, id.as_deref(), allow)
                    .await;
                let left = self.permissions.open_asks(conversation_id);
                let more = match left {
                    0 => None,
                    1 => Some(text(ChatKey::PermissionStillOpenOne)),
                    n => Some(ChatText::render(
                        lang,
                        ChatKey::PermissionStillOpenMany,
                        &[("count", &n.to_string())],
                    )),
                };
                let answered = |key, id: &str| {
                    let done = ChatText::render(lang, key, &[("id", id)]);
                    match &more {
                        // Two whole sentences; each language's sentence order is the same.
                        Some(more) => format!("{done} {more}"),
                        None => done,
                    }
                };
                match (answer, id) {
                    (Ok(Some(id)), _) if allow => answered(ChatKey::PermissionAllowed, &id),
                    (Ok(Some(id)), _) => answered(ChatKey::PermissionDenied, &id),
                    (Ok(None), Some(id)) => {
                        ChatText::render(lang, ChatKey::PermissionNoSuch, &[("id", id)])
                    }
                    (Ok(None), None) => text(ChatKey::PermissionNonePending),
                    (Err(err), _) => with_error(ChatKey::AnswerFailed, &err),
                }
            }
            ChatCommand::Answer(answer) if answer.is_empty() => text(ChatKey::AnswerUsage),
            ChatCommand::Answer(_) | ChatCommand::Skip => {
                let answer = match command {
                    ChatCommand::Answer(answer) => Some(answer.clone()),
                    _ => None,
                };
                let answered = answer.is_some();
                match self
                    .permissions
                    .answer_question(conversation_id, answer)
                    .await
                {
                    Ok(Some(_)) if answered => text(ChatKey::AnswerPassed),
                    Ok(Some(_)) => text(ChatKey::QuestionDismissed),
                    Ok(None) => text(ChatKey::QuestionNone),
                    Err(err) => with_error(ChatKey::AnswerFailed, &err),
                }
            }
            ChatCommand::Status => self.status(conversation_id, lang).await,
            ChatCommand::Project(name) => {
                super::project_command::run(
                    self.managed.as_ref(),
                    conversation_id,
                    name.as_deref(),
                    lang,
                )
                .await
            }
            ChatCommand::Retry => match self.retry(conversation_id).await {
                Ok(true) => text(ChatKey::RetryStarted),
                Ok(false) => text(ChatKey::RetryNothing),
                Err(err) => with_error(ChatKey::RetryFailed, &err),
            },
            ChatCommand::Lang(choice) => self.lang(conversation_id, lang, choice.as_deref()).await,
        }
    }

    /// `/lang`: shows the current language, or sets a new one and confirms it in that language.
    async fn lang(&self, conversation_id: &str, current: Lang, choice: Option<&str>) -> String {
        let available = Lang::ALL.map(|l| format!("`{l}`")).join(", ");
        let Some(choice) = choice else {
            return ChatText::render(
                current,
                ChatKey::LangCurrent,
                &[("current", current.tag()), ("available", &available)],
            );
        };
        let Some(chosen) = Lang::parse(choice) else {
            return ChatText::render(
                current,
                ChatKey::LangUnknown,
                &[("given", choice), ("available", &available)],
            );
        };
        match self.languages.set(conversation_id, chosen).await {
            Ok(()) => ChatText::render(chosen, ChatKey::LangSet, &[("lang", chosen.tag())]),
            Err(err) => {
                ChatText::render(current, ChatKey::LangFailed, &[("error", &err.to_string())])
            }
        }
    }

    /// Queues the newest interrupted message again, as a fresh prompt (its agent-turn record is dropped
    /// first, so the replay prompts instead of finding the interrupted answer again).
    async fn retry(&self, conversation_id: &str) -> Result<bool, crate::store::StoreError> {
        let Some(item) = self
            .store
            .latest_failed_with(conversation_id, INTERRUPTED)
            .await?
        else {
            return Ok(false);
        };
        self.store.forget_agent_turn(&item.message.msg_id).await?;
        self.store
            .set_state(&item.message.msg_id, InboxState::Queued, None)
            .await?;
        self.queues.enqueue(item);
        Ok(true)
    }

    async fn status(&self, conversation_id: &str, lang: Lang) -> String {
        let connection = self.metrics.connection();
        let queues = self.queues.status();
        // The status lists only the deepest queues; this conversation's own depth is asked directly.
        let (here, _) = self.queues.activity(conversation_id);
        let name = self.agent.name();
        let agent = match self.agent.health().await {
            Ok(health) if health.healthy => match health.version {
                Some(version) => ChatText::render(
                    lang,
                    ChatKey::StatusAgentUpVersion,
                    &[("agent", name), ("version", &version)],
                ),
                None => ChatText::render(lang, ChatKey::StatusAgentUp, &[("agent", name)]),
            },
            Ok(_) => ChatText::render(lang, ChatKey::StatusAgentProblem, &[("agent", name)]),
            Err(err) => ChatText::render(
                lang,
                ChatKey::StatusAgentUnreachable,
                &[("agent", name), ("error", &err.to_string())],
            ),
        };
        let pending = ChatText::get(
            lang,
            if self.permissions.is_pending(conversation_id) {
                ChatKey::StatusYes
            } else {
                ChatKey::StatusNo
            },
        );
        let usage = self.quota.usage();
        ChatText::render(
            lang,
            ChatKey::Status,
            &[
                (
                    "connection",
                    &ChatText::get(lang, connection_key(connection.state)),
                ),
                ("reconnects", &connection.reconnects.to_string()),
                ("agent", &agent),
                ("here", &here.to_string()),
                ("total", &queues.total_depth.to_string()),
                ("running", &queues.in_flight.to_string()),
                ("pending", &pending),
                ("month", &usage.month),
                ("stream_used", &usage.stream_used.to_string()),
                ("stream_budget", &usage.stream_budget.to_string()),
                ("api_used", &usage.api_used.to_string()),
                ("api_budget", &usage.api_budget.to_string()),
            ],
        )
    }
}

fn connection_key(state: ConnectionState) -> ChatKey {
    match state {
        ConnectionState::Connected => ChatKey::StatusConnected,
        ConnectionState::Connecting => ChatKey::StatusConnecting,
        ConnectionState::Backoff => ChatKey::StatusBackoff,
        ConnectionState::Stopped => ChatKey::StatusStopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised_case_insensitively() {
        assert_eq!(parse("/NEW"), Some(ChatCommand::New));
        assert_eq!(parse("  /stop now"), Some(ChatCommand::Stop));
        assert_eq!(parse("/allow"), Some(ChatCommand::Allow(None)));
        assert_eq!(
            parse("/deny per_2"),
            Some(ChatCommand::Deny(Some("per_2".into())))
        );
    }

    #[test]
    fn plain_text_and_paths_in_the_middle_are_not_commands() {
        assert_eq!(parse("run the tests in /src"), None);
        assert_eq!(parse("/src/main.rs is broken"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn answer_keeps_the_whole_answer_text() {
        assert_eq!(
            parse("/answer use the staging DB"),
            Some(ChatCommand::Answer("use the staging DB".into()))
        );
    }

    #[test]
    fn lang_takes_an_optional_language() {
        assert_eq!(parse("/lang"), Some(ChatCommand::Lang(None)));
        assert_eq!(
            parse("/LANG en"),
            Some(ChatCommand::Lang(Some("en".into())))
        );
    }

    #[test]
    fn help_lists_lang_and_says_groups_need_an_at_mention_in_both_languages() {
        for (lang, at_rule) in [(Lang::En, "@mention the bot"), (Lang::ZhCn, "@ 机器人")] {
            let help = ChatText::get(lang, ChatKey::Help);
            assert!(help.contains("`/lang`"), "{help}");
            assert!(help.contains(at_rule), "{help}");
        }
    }

    #[test]
    fn unknown_commands_are_reported() {
        assert_eq!(
            parse("/frobnicate x"),
            Some(ChatCommand::Unknown("/frobnicate".into()))
        );
    }
}
