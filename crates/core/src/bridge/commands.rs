//! Chat commands. They are handled as soon as they arrive, not behind the conversation's queue: `/stop` and
//! `/allow` must reach a turn that is still running.

use std::sync::Arc;

use super::permissions::PermissionBroker;
use super::processor::INTERRUPTED;
use super::queues::ConversationQueues;
use crate::agent::AgentBackend;
use crate::agent::opencode::managed::ManagedBackend;
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
    Some(match name.to_ascii_lowercase().as_str() {
        "new" | "reset" => ChatCommand::New,
        "stop" | "abort" => ChatCommand::Stop,
        "status" => ChatCommand::Status,
        "help" | "?" => ChatCommand::Help,
        "allow" | "yes" => ChatCommand::Allow(text.split_whitespace().nth(1).map(str::to_owned)),
        "deny" | "no" => ChatCommand::Deny(text.split_whitespace().nth(1).map(str::to_owned)),
        "answer" => ChatCommand::Answer(text.trim_start()[word.len()..].trim().to_owned()),
        "skip" => ChatCommand::Skip,
        "retry" => ChatCommand::Retry,
        "project" | "projects" => ChatCommand::Project(
            Some(text.trim_start()[word.len()..].trim().to_owned()).filter(|n| !n.is_empty()),
        ),
        _ => ChatCommand::Unknown(word.to_owned()),
    })
}

pub const HELP: &str = "**DingBridge commands**\n\n\
- `/new` — start a fresh agent session for this chat\n\
- `/stop` — stop the answer that is running now\n\
- `/status` — bridge and agent state\n\
- `/allow` / `/deny` — answer the agent's oldest open permission request (`/allow <id>` for a given one)\n\
- `/answer <text>` / `/skip` — answer or dismiss the agent's question\n\
- `/retry` — ask again when an answer was interrupted\n\
- `/project` — list the projects; `/project <name>` works in that project from now on\n\
- `/help` — this list\n\n\
Anything else is sent to the agent.";

pub struct Commands {
    pub agent: Arc<dyn AgentBackend>,
    /// Managed mode's projects (`/project`); `None` in external mode.
    pub managed: Option<ManagedBackend>,
    pub permissions: Arc<PermissionBroker>,
    pub queues: ConversationQueues,
    pub metrics: Arc<Metrics>,
    pub quota: Arc<QuotaMeter>,
    pub store: Store,
}

impl Commands {
    /// Runs the command and returns what to answer in the chat.
    pub async fn run(&self, command: &ChatCommand, conversation_id: &str) -> String {
        match command {
            ChatCommand::Help => HELP.into(),
            ChatCommand::Unknown(word) => format!("Unknown command `{word}`.\n\n{HELP}"),
            ChatCommand::New => match self.agent.reset_session(conversation_id).await {
                Ok(()) => "Started a fresh agent session for this chat.".into(),
                Err(err) => format!("Could not start a new session: {err}"),
            },
            ChatCommand::Stop => match self.agent.abort(conversation_id).await {
                Ok(true) => "Stopped the running answer.".into(),
                Ok(false) => "Nothing is running in this chat.".into(),
                Err(err) => format!("Could not stop the agent: {err}"),
            },
            ChatCommand::Allow(id) | ChatCommand::Deny(id) => {
                let allow = matches!(command, ChatCommand::Allow(_));
                let answer = self
                    .permissions
                    .answer(conversation_id, id.as_deref(), allow)
                    .await;
                let left = self.permissions.open_asks(conversation_id);
                let more = if left > 0 {
                    format!(" {left} more request(s) still open.")
                } else {
                    String::new()
                };
                match (answer, id) {
                    (Ok(Some(id)), _) if allow => {
                        format!("Allowed `{id}`. The agent continues.{more}")
                    }
                    (Ok(Some(id)), _) => {
                        format!("Denied `{id}`. The agent was told not to do it.{more}")
                    }
                    (Ok(None), Some(id)) => {
                        format!("There is no open permission request `{id}` in this chat.")
                    }
                    (Ok(None), None) => {
                        "There is no pending permission request in this chat.".into()
                    }
                    (Err(err), _) => format!("Could not answer the agent: {err}"),
                }
            }
            ChatCommand::Answer(text) if text.is_empty() => "Usage: `/answer <your answer>`".into(),
            ChatCommand::Answer(_) | ChatCommand::Skip => {
                let answer = match command {
                    ChatCommand::Answer(text) => Some(text.clone()),
                    _ => None,
                };
                let answered = answer.is_some();
                match self
                    .permissions
                    .answer_question(conversation_id, answer)
                    .await
                {
                    Ok(Some(_)) if answered => "Answer passed to the agent.".into(),
                    Ok(Some(_)) => "Question dismissed.".into(),
                    Ok(None) => "The agent has no open question in this chat.".into(),
                    Err(err) => format!("Could not answer the agent: {err}"),
                }
            }
            ChatCommand::Status => self.status(conversation_id).await,
            ChatCommand::Project(name) => self.project(conversation_id, name.as_deref()).await,
            ChatCommand::Retry => match self.retry(conversation_id).await {
                Ok(true) => "Asking the agent again.".into(),
                Ok(false) => "There is no interrupted answer to retry in this chat.".into(),
                Err(err) => format!("Could not retry: {err}"),
            },
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

    async fn project(&self, conversation_id: &str, name: Option<&str>) -> String {
        super::project_command::run(self.managed.as_ref(), conversation_id, name).await
    }

    async fn status(&self, conversation_id: &str) -> String {
        let connection = self.metrics.connection();
        let queues = self.queues.status();
        let here = queues
            .conversations
            .iter()
            .find(|q| q.conversation_id == conversation_id)
            .map_or(0, |q| q.depth);
        let agent = match self.agent.health().await {
            Ok(health) if health.healthy => format!(
                "{} is up{}",
                self.agent.name(),
                health
                    .version
                    .map(|v| format!(" (version {v})"))
                    .unwrap_or_default()
            ),
            Ok(_) => format!("{} reports a problem", self.agent.name()),
            Err(err) => format!("{} is not reachable: {err}", self.agent.name()),
        };
        let usage = self.quota.usage();
        format!(
            "**DingBridge status**\n\n\
             - DingTalk: {:?}, {} reconnects\n\
             - Agent: {agent}\n\
             - Waiting in this chat: {here}; in all chats: {}; running now: {}\n\
             - Permission request pending here: {}\n\
             - DingTalk usage in {}: {} / {} Stream messages, {} / {} API calls",
            connection.state,
            connection.reconnects,
            queues.total_depth,
            queues.in_flight,
            if self.permissions.is_pending(conversation_id) {
                "yes"
            } else {
                "no"
            },
            usage.month,
            usage.stream_used,
            usage.stream_budget,
            usage.api_used,
            usage.api_budget,
        )
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
    fn unknown_commands_are_reported() {
        assert_eq!(
            parse("/frobnicate x"),
            Some(ChatCommand::Unknown("/frobnicate".into()))
        );
    }
}
