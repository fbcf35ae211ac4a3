use std::time::Duration;

use async_trait::async_trait;

use super::{AgentBackend, AgentError, AgentReply, AgentRequest};

/// Answers every message with its own text. `delay` simulates a thinking agent (demo, ordering tests).
#[derive(Clone, Debug, Default)]
pub struct EchoAgent {
    pub delay: Duration,
}

impl EchoAgent {
    pub fn new(delay: Duration) -> Self {
        Self { delay }
    }
}

#[async_trait]
impl AgentBackend for EchoAgent {
    fn name(&self) -> &str {
        "echo"
    }

    async fn respond(&self, request: AgentRequest) -> Result<AgentReply, AgentError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        Ok(AgentReply {
            text: format!("**echo** for {}: {}", request.sender_nick, request.text),
        })
    }
}
