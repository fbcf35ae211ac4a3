//! Issue 10, item 9: an answer streamed into an AI card is kept in the history without ever being queued
//! for sending. Before, the card's text was inserted `pending` and marked `sent` in a second write; a crash
//! between the two left it pending, and the next start sent the whole answer again as markdown.

mod support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dingbridge_core::agent::{
    AgentBackend, AgentError, AgentReply, AgentRequest, AgentUpdate, UpdateSender,
};
use dingbridge_core::{Credentials, Engine, EngineOptions};
use dingtalk_sim::{CardStatus, InjectMessage, Sim};
use support::*;

const GROUP: &str = "cidCardHistory==";
const ANSWER: &str = "All 214 tests passed.\n\n- unit: 180\n- integration: 34";

/// Streams its answer in a few steps, so the bridge opens an AI card.
struct Streaming;

#[async_trait]
impl AgentBackend for Streaming {
    fn name(&self) -> &str {
        "streaming"
    }
    async fn respond(
        &self,
        _request: AgentRequest,
        updates: UpdateSender,
    ) -> Result<AgentReply, AgentError> {
        for step in 1..=4 {
            let upto = ANSWER.len() * step / 4;
            if updates
                .send(AgentUpdate::Text(ANSWER[..upto].to_owned()))
                .is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(AgentReply {
            text: ANSWER.to_owned(),
        })
    }
}

async fn card_engine(sim: &Sim, dir: &std::path::Path) -> Engine {
    let mut config = engine_config(sim);
    config.cards.template_id = "dingbridge-ai-card.schema".into();
    config.cards.min_interval_ms = 100;
    Engine::start(EngineOptions {
        mode: "test".into(),
        config,
        data_dir: dir.to_path_buf(),
        credentials: Some(Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: Arc::new(Streaming).into(),
    })
    .await
    .expect("engine starts")
}

fn markdown_copies(sim: &Sim) -> usize {
    sim.received(GROUP)
        .into_iter()
        .filter(|m| m.channel != "card" && m.text.contains("214 tests passed"))
        .count()
}

#[tokio::test]
async fn a_card_answer_is_not_sent_again_as_markdown_after_a_restart() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = card_engine(&sim, dir.path()).await;
    // The process "dies" right after writing the card's history row: any later write that marks a card
    // row sent never happens.
    let other = rusqlite::Connection::open(dir.path().join("dingbridge.db")).unwrap();
    other.busy_timeout(Duration::from_secs(5)).unwrap();
    other
        .execute_batch(
            "CREATE TRIGGER crash_after_card_row BEFORE UPDATE OF state ON outbox WHEN NEW.channel = 'card'
             BEGIN SELECT RAISE(ABORT, 'crashed (test)'); END;",
        )
        .unwrap();
    sim.inject(InjectMessage::text_group(
        GROUP,
        "Cards",
        "dev",
        "Dev",
        "run the tests",
    ));
    assert!(
        sim.wait_until(Duration::from_secs(30), |_| sim
            .cards(GROUP)
            .iter()
            .any(|c| c.status == CardStatus::Finished))
            .await,
        "the card was finalized"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    engine.shutdown().await;
    other
        .execute_batch("DROP TRIGGER crash_after_card_row")
        .unwrap();

    let engine = card_engine(&sim, dir.path()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        markdown_copies(&sim),
        0,
        "the card's answer was sent again as markdown"
    );
    assert_eq!(sim.cards(GROUP).len(), 1, "the answer was carded twice");
    engine.shutdown().await;
}
