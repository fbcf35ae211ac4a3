use std::time::Duration;

use async_trait::async_trait;

use super::{AgentBackend, AgentError, AgentReply, AgentRequest, AgentUpdate, UpdateSender};

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

    async fn respond(
        &self,
        request: AgentRequest,
        updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        let mut text = format!("**echo** for {}: {}", request.sender_nick, request.text);
        for file in &request.attachments {
            text.push_str(&format!("\n\n📎 {} ({})", file.filename, file.mime));
        }
        if !self.delay.is_zero() {
            // Stream the answer in two halves so card streaming has something to show in the demo.
            let half: String = text.chars().take(text.chars().count() / 2).collect();
            let _ = updates.send(AgentUpdate::Text(half));
            tokio::time::sleep(self.delay).await;
        }
        let _ = updates.send(AgentUpdate::Text(text.clone()));
        Ok(AgentReply { text })
    }
}
