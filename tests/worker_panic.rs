//! Issue 10, defect 6: a panic while answering one message fails that message visibly and the conversation
//! goes on with the next one.

mod support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dingbridge_core::agent::{AgentBackend, AgentError, AgentReply, AgentRequest, UpdateSender};
use dingtalk_sim::{InjectMessage, one_to_one_conversation_id};
use support::*;

const LONG: Duration = Duration::from_secs(30);

/// Panics on "boom" (a stand-in for any bug on the turn's path), echoes everything else.
struct Fragile;

#[async_trait]
impl AgentBackend for Fragile {
    fn name(&self) -> &str {
        "fragile"
    }

    async fn respond(
        &self,
        request: AgentRequest,
        _updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        if request.text.contains("boom") {
            panic!("bug triggered by the test");
        }
        Ok(AgentReply {
            text: format!("re: {}", request.text),
        })
    }
}

#[tokio::test]
async fn a_panicking_turn_fails_its_message_and_the_conversation_goes_on() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = dingbridge_core::Engine::start(dingbridge_core::EngineOptions {
        mode: "test".into(),
        config: engine_config(&sim),
        data_dir: dir.path().to_path_buf(),
        credentials: Some(dingbridge_core::Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: Arc::new(Fragile).into(),
    })
    .await
    .unwrap();
    let chat = one_to_one_conversation_id("fragile");
    sim.inject(InjectMessage::text_1to1("fragile", "Fragile", "boom"));
    sim.inject(InjectMessage::text_1to1(
        "fragile",
        "Fragile",
        "after the bug",
    ));
    assert!(
        sim.wait_until(LONG, |_| sim
            .received(&chat)
            .iter()
            .any(|m| m.text == "re: after the bug"))
            .await,
        "the conversation is stuck after a panic: {:?}",
        sim.received(&chat)
    );
    let texts: Vec<String> = sim.received(&chat).into_iter().map(|m| m.text).collect();
    assert!(
        texts[0].contains("internal error"),
        "the failed message is not reported: {texts:?}"
    );
    assert_eq!(engine.queues().status().in_flight, 0);
    engine.shutdown().await;
}
