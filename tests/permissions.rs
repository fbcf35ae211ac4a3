//! Issue 10, defect 4: two permission asks open at once in one chat are both relayed, both answerable
//! (`/allow` answers the oldest, `/allow <id>` a given one) and each timeout denies its own ask.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use dingbridge_core::agent::{
    AgentBackend, AgentError, AgentReply, AgentRequest, AgentUpdate, UpdateSender,
};
use dingtalk_sim::{InjectMessage, Sim, one_to_one_conversation_id};
use support::*;

const LONG: Duration = Duration::from_secs(30);
const FIRST: &str = "per_first";
const SECOND: &str = "per_second";

/// Asks for two permissions in one turn and answers once both were decided, listing the decisions.
#[derive(Default)]
struct TwoAsks {
    answers: Mutex<Vec<(String, bool)>>,
}

impl TwoAsks {
    fn answers(&self) -> Vec<(String, bool)> {
        self.answers.lock().unwrap().clone()
    }
}

#[async_trait]
impl AgentBackend for TwoAsks {
    fn name(&self) -> &str {
        "two-asks"
    }

    async fn respond(
        &self,
        _request: AgentRequest,
        updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        for (id, what) in [(FIRST, "edit src/main.rs"), (SECOND, "run rm -rf target")] {
            let _ = updates.send(AgentUpdate::PermissionAsked {
                id: id.into(),
                summary: what.into(),
            });
        }
        while self.answers.lock().unwrap().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let text = self
            .answers()
            .iter()
            .map(|(id, allow)| format!("{id}={}", if *allow { "allow" } else { "deny" }))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(AgentReply { text })
    }

    async fn answer_permission(
        &self,
        _conversation_id: &str,
        permission_id: &str,
        allow: bool,
    ) -> Result<(), AgentError> {
        self.answers
            .lock()
            .unwrap()
            .push((permission_id.to_owned(), allow));
        Ok(())
    }
}

async fn start(
    sim: &Sim,
    dir: &std::path::Path,
    agent: Arc<TwoAsks>,
    timeout_secs: u64,
) -> dingbridge_core::Engine {
    let mut config = engine_config(sim);
    config.agent.permission_timeout_secs = timeout_secs;
    dingbridge_core::Engine::start(dingbridge_core::EngineOptions {
        mode: "test".into(),
        config,
        data_dir: dir.to_path_buf(),
        credentials: Some(dingbridge_core::Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: agent.into(),
    })
    .await
    .unwrap()
}

fn texts(sim: &Sim, conversation: &str) -> Vec<String> {
    sim.received(conversation)
        .into_iter()
        .map(|m| m.text)
        .collect()
}

async fn wait_for_text(sim: &Sim, conversation: &str, needle: &str) -> bool {
    sim.wait_until(LONG, |_| {
        texts(sim, conversation).iter().any(|t| t.contains(needle))
    })
    .await
}

async fn two_asks_relayed(sim: &Sim, conversation: &str) {
    assert!(
        sim.wait_until(LONG, |_| texts(sim, conversation)
            .iter()
            .filter(|t| t.contains("asks for permission"))
            .count()
            == 2)
            .await,
        "both asks reach the chat: {:?}",
        texts(sim, conversation)
    );
    let relayed = texts(sim, conversation);
    for id in [FIRST, SECOND] {
        assert!(
            relayed.iter().any(|t| t.contains(&format!("/allow {id}"))),
            "the relay says how to answer {id}: {relayed:?}"
        );
    }
}

#[tokio::test]
async fn two_asks_in_one_chat_are_answered_oldest_first() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(TwoAsks::default());
    let engine = start(&sim, dir.path(), agent.clone(), 300).await;
    let conversation = one_to_one_conversation_id("asker");
    sim.inject(InjectMessage::text_1to1(
        "asker",
        "Asker",
        "do two risky things",
    ));
    two_asks_relayed(&sim, &conversation).await;
    sim.inject(InjectMessage::text_1to1("asker", "Asker", "/allow"));
    assert!(wait_for_text(&sim, &conversation, "Allowed").await);
    sim.inject(InjectMessage::text_1to1("asker", "Asker", "/deny"));
    assert!(
        wait_for_text(&sim, &conversation, "per_first=allow, per_second=deny").await,
        "the turn finished with both answers: {:?}",
        texts(&sim, &conversation)
    );
    assert_eq!(
        agent.answers(),
        vec![(FIRST.to_owned(), true), (SECOND.to_owned(), false)]
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn an_ask_can_be_answered_by_its_id() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(TwoAsks::default());
    let engine = start(&sim, dir.path(), agent.clone(), 300).await;
    let conversation = one_to_one_conversation_id("picker");
    sim.inject(InjectMessage::text_1to1(
        "picker",
        "Picker",
        "do two risky things",
    ));
    two_asks_relayed(&sim, &conversation).await;
    sim.inject(InjectMessage::text_1to1(
        "picker",
        "Picker",
        format!("/deny {SECOND}"),
    ));
    assert!(wait_for_text(&sim, &conversation, "Denied").await);
    sim.inject(InjectMessage::text_1to1("picker", "Picker", "/allow"));
    assert!(
        wait_for_text(&sim, &conversation, "per_second=deny, per_first=allow").await,
        "{:?}",
        texts(&sim, &conversation)
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn each_unanswered_ask_is_denied_on_its_own_timeout() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(TwoAsks::default());
    let engine = start(&sim, dir.path(), agent.clone(), 1).await;
    let conversation = one_to_one_conversation_id("silent");
    sim.inject(InjectMessage::text_1to1(
        "silent",
        "Silent",
        "do two risky things",
    ));
    assert!(
        wait_for_text(&sim, &conversation, "per_first=deny, per_second=deny").await,
        "the turn hangs on an ask nobody answered: {:?} (answers {:?})",
        texts(&sim, &conversation),
        agent.answers()
    );
    engine.shutdown().await;
}
