//! The agent a DingTalk conversation talks to. `AgentBackend` is the seam; the echo backend serves the demo
//! and tests, the OpenCode backend drives a real coding agent.

mod echo;
pub mod opencode;
mod updates;

pub use echo::EchoAgent;
pub use opencode::{OpenCodeBackend, OpenCodeSettings};

pub use updates::{MAX_PENDING_ASKS, UpdateError, UpdateReceiver, UpdateSender, update_channel};

use async_trait::async_trait;
use serde::Serialize;

use crate::dingtalk::{BotMessage, ConversationKind};

/// One user turn, with enough context for the agent to know who is asking and where.
#[derive(Clone, Debug, Serialize)]
pub struct AgentRequest {
    pub msg_id: String,
    pub conversation_id: String,
    pub conversation_kind: ConversationKind,
    pub conversation_title: Option<String>,
    pub sender_nick: String,
    pub sender_staff_id: Option<String>,
    /// The user's words ([`BotMessage::agent_text`]: quoted text first, media named in place).
    pub text: String,
    /// Files the user sent, downloaded under the data dir, in the order the text numbers them.
    pub attachments: Vec<AgentAttachment>,
}

/// One file that goes to the agent with the prompt (OpenCode: a `file` part; images as images).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentAttachment {
    /// Absolute path of the stored file.
    pub path: std::path::PathBuf,
    /// MIME type (`image/png`, `application/pdf`, `audio/amr`, ...).
    pub mime: String,
    /// The name shown to the agent (the user's file name, or `picture-1.png`, ...).
    pub filename: String,
}

impl AgentRequest {
    /// The request for a message; its files are added with [`AgentRequest::with_attachments`].
    pub fn from_message(message: &BotMessage) -> Self {
        Self {
            msg_id: message.msg_id.clone(),
            conversation_id: message.conversation_id.clone(),
            conversation_kind: message.conversation_kind,
            conversation_title: message.conversation_title.clone(),
            sender_nick: message.sender_nick.clone(),
            sender_staff_id: message.sender_staff_id.clone(),
            text: message.agent_text(),
            attachments: Vec::new(),
        }
    }

    pub fn with_attachments(mut self, attachments: Vec<AgentAttachment>) -> Self {
        self.attachments = attachments;
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentReply {
    /// Markdown. Empty when the turn ended without text (e.g. it only ran tools): the bridge writes its own
    /// note in the conversation's language instead.
    pub text: String,
}

/// Progress of a running turn, streamed to the bridge (AI card updates, permission relays).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentUpdate {
    /// The whole reply text so far. Snapshots, not deltas: the card shows the latest, and a lost update
    /// costs nothing.
    Text(String),
    /// The agent wants permission for an action; the bridge relays it to the chat and answers with
    /// [`AgentBackend::answer_permission`] (`/allow`, `/deny`, or deny on timeout).
    PermissionAsked { id: String, summary: String },
    /// The agent asks the user a question; the text is relayed to the chat.
    QuestionAsked { id: String, question: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentHealth {
    pub healthy: bool,
    pub version: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("[AGENT_UNAVAILABLE] the agent is not reachable: {0}")]
    Unavailable(String),
    #[error("[AGENT_FAILED] the agent failed: {0}")]
    Failed(String),
    /// The turn was stopped (chat `/stop`, or aborted in the agent's own UI). Final, not an error to show.
    #[error("[AGENT_ABORTED] the turn was stopped")]
    Aborted,
    /// The agent refused our credentials: a configuration problem, final until the settings change.
    #[error("[AGENT_UNAUTHORIZED] {0}")]
    Unauthorized(String),
    /// The prompt reached the agent but its answer was cut off (the agent or DingBridge stopped mid-answer).
    /// Final for this attempt: the chat is told and may `/retry`; the partial answer is never sent.
    #[error("[AGENT_INTERRUPTED] the agent's answer was interrupted")]
    Interrupted,
}

impl AgentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "AGENT_UNAVAILABLE",
            Self::Failed(_) => "AGENT_FAILED",
            Self::Aborted => "AGENT_ABORTED",
            Self::Unauthorized(_) => "AGENT_UNAUTHORIZED",
            Self::Interrupted => "AGENT_INTERRUPTED",
        }
    }
}

#[async_trait]
pub trait AgentBackend: Send + Sync + 'static {
    fn name(&self) -> &str;

    /// Is the agent reachable and well?
    async fn health(&self) -> Result<AgentHealth, AgentError> {
        Ok(AgentHealth {
            healthy: true,
            version: None,
        })
    }

    /// Runs one turn to completion. Progress goes to `updates` (the receiver may be gone: ignore send
    /// errors). `Unavailable` means "try again later" (the bridge retries with backoff); `Failed` is final.
    async fn respond(
        &self,
        request: AgentRequest,
        updates: UpdateSender,
    ) -> Result<AgentReply, AgentError>;

    /// Aborts the turn running in this conversation (chat `/stop`). `Ok(false)`: nothing was running.
    async fn abort(&self, _conversation_id: &str) -> Result<bool, AgentError> {
        Ok(false)
    }

    /// Starts a fresh agent session for this conversation (chat `/new`).
    async fn reset_session(&self, _conversation_id: &str) -> Result<(), AgentError> {
        Ok(())
    }

    /// Answers (or, with `None`, dismisses) a question relayed with [`AgentUpdate::QuestionAsked`].
    async fn reply_to_question(
        &self,
        _conversation_id: &str,
        _question_id: &str,
        _answer: Option<String>,
    ) -> Result<(), AgentError> {
        Ok(())
    }

    /// Answers a permission ask relayed with [`AgentUpdate::PermissionAsked`].
    async fn answer_permission(
        &self,
        _conversation_id: &str,
        _permission_id: &str,
        _allow: bool,
    ) -> Result<(), AgentError> {
        Ok(())
    }
}
