//! The agent a DingTalk conversation talks to. `AgentBackend` is the seam; the echo backend serves the demo
//! and tests, the OpenCode backend drives a real coding agent.

mod echo;

pub use echo::EchoAgent;

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
    pub text: String,
}

impl AgentRequest {
    pub fn from_message(message: &BotMessage) -> Self {
        Self {
            msg_id: message.msg_id.clone(),
            conversation_id: message.conversation_id.clone(),
            conversation_kind: message.conversation_kind,
            conversation_title: message.conversation_title.clone(),
            sender_nick: message.sender_nick.clone(),
            sender_staff_id: message.sender_staff_id.clone(),
            text: message.prompt_text(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentReply {
    /// Markdown.
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("[AGENT_UNAVAILABLE] the agent is not reachable: {0}")]
    Unavailable(String),
    #[error("[AGENT_FAILED] the agent failed: {0}")]
    Failed(String),
}

impl AgentError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "AGENT_UNAVAILABLE",
            Self::Failed(_) => "AGENT_FAILED",
        }
    }
}

#[async_trait]
pub trait AgentBackend: Send + Sync + 'static {
    fn name(&self) -> &str;
    async fn respond(&self, request: AgentRequest) -> Result<AgentReply, AgentError>;
}
