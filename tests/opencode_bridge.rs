//! Issue 3 acceptance with the OpenCode backend: DingTalk (simulator) ⇄ engine ⇄ fake OpenCode, all over
//! real sockets, with the session mapping in the real SQLite store.

mod support;

use std::time::Duration;

use dingbridge_core::agent::OpenCodeSettings;
use dingbridge_core::{AgentSpec, Credentials, Engine, EngineOptions};
use dingtalk_sim::opencode::{FakeOpenCode, FakeOpenCodeConfig, Script};
use dingtalk_sim::{InjectMessage, Sim, one_to_one_conversation_id};
use support::*;

const LONG: Duration = Duration::from_secs(30);

async fn start(sim: &Sim, opencode: &FakeOpenCode, dir: &std::path::Path) -> Engine {
    start_with(sim, opencode, dir, |_| {}).await
}

async fn start_with(
    sim: &Sim,
    opencode: &FakeOpenCode,
    dir: &std::path::Path,
    change: impl FnOnce(&mut dingbridge_core::config::Config),
) -> Engine {
    let mut config = engine_config(sim);
    config.agent.permission_timeout_secs = 30;
    change(&mut config);
    Engine::start(EngineOptions {
        mode: "test".into(),
        config,
        data_dir: dir.to_path_buf(),
        credentials: Some(Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: AgentSpec::OpenCode {
            settings: OpenCodeSettings::default().with_base_url(opencode.base_url()),
            password: None,
        },
    })
    .await
    .expect("engine starts")
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

#[tokio::test]
async fn a_message_gets_the_agents_reply_in_the_same_conversation_with_sender_context() {
    let sim = start_sim(sim_config()).await;
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    opencode.script_for(
        "failing tests",
        Script::reply("Two tests fail in `auth::login`."),
    );
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, &opencode, dir.path()).await;
    sim.inject(InjectMessage::text_group(
        "cidDevTeam==",
        "Dev team",
        "lead01",
        "王小明",
        "which failing tests?",
    ));
    assert!(wait_for_text(&sim, "cidDevTeam==", "Two tests fail in `auth::login`.").await);
    let prompt = &opencode.prompts()[0].text;
    assert!(
        prompt.contains("王小明") && prompt.contains("lead01") && prompt.contains("Dev team"),
        "{prompt}"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn two_conversations_get_two_sessions_new_starts_a_fresh_one_and_the_mapping_survives_a_restart()
 {
    let sim = start_sim(sim_config()).await;
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, &opencode, dir.path()).await;
    let alice = one_to_one_conversation_id("alice");
    let bob = one_to_one_conversation_id("bob");
    sim.inject(InjectMessage::text_1to1(
        "alice",
        "Alice",
        "first from alice",
    ));
    sim.inject(InjectMessage::text_1to1("bob", "Bob", "first from bob"));
    assert!(
        wait_for_text(&sim, &alice, "first from alice").await
            && wait_for_text(&sim, &bob, "first from bob").await
    );
    assert_eq!(
        opencode.sessions().len(),
        2,
        "two conversations, two sessions"
    );

    // The mapping is durable: after a restart alice continues in her session.
    engine.shutdown().await;
    let engine = start(&sim, &opencode, dir.path()).await;
    sim.inject(InjectMessage::text_1to1(
        "alice",
        "Alice",
        "second from alice",
    ));
    assert!(wait_for_text(&sim, &alice, "second from alice").await);
    let prompts = opencode.prompts();
    let session_of = |needle: &str| {
        prompts
            .iter()
            .find(|p| p.text.contains(needle))
            .unwrap()
            .session_id
            .clone()
    };
    assert_eq!(
        session_of("second from alice"),
        session_of("first from alice")
    );
    assert_eq!(opencode.sessions().len(), 2);

    // `/new` starts a fresh session for that chat only.
    sim.inject(InjectMessage::text_1to1("alice", "Alice", "/new"));
    assert!(wait_for_text(&sim, &alice, "fresh agent session").await);
    sim.inject(InjectMessage::text_1to1(
        "alice",
        "Alice",
        "third from alice",
    ));
    assert!(wait_for_text(&sim, &alice, "third from alice").await);
    let prompts = opencode.prompts();
    let third = prompts
        .iter()
        .find(|p| p.text.contains("third from alice"))
        .unwrap()
        .session_id
        .clone();
    let first = prompts
        .iter()
        .find(|p| p.text.contains("first from alice"))
        .unwrap()
        .session_id
        .clone();
    assert_ne!(third, first);
    assert_eq!(opencode.sessions().len(), 3);
    engine.shutdown().await;
}

#[tokio::test]
async fn stop_aborts_a_slow_turn() {
    let sim = start_sim(sim_config()).await;
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    let words: String = (0..200).map(|n| format!("word{n} ")).collect();
    opencode.script_for("refactor", Script::slow(words, Duration::from_millis(100)));
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, &opencode, dir.path()).await;
    let chat = one_to_one_conversation_id("dev");
    sim.inject(InjectMessage::text_1to1(
        "dev",
        "Dev",
        "refactor everything",
    ));
    assert!(
        sim.wait_until(LONG, |_| !opencode.prompts().is_empty())
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    sim.inject(InjectMessage::text_1to1("dev", "Dev", "/stop"));
    assert!(wait_for_text(&sim, &chat, "Stopped the running answer.").await);
    assert_eq!(opencode.aborts().len(), 1);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !texts(&sim, &chat).iter().any(|t| t.contains("word199")),
        "the aborted answer was still delivered"
    );
    // The chat keeps working after a stop.
    sim.inject(InjectMessage::text_1to1("dev", "Dev", "hello again"));
    assert!(wait_for_text(&sim, &chat, "hello again").await);
    engine.shutdown().await;
}

#[tokio::test]
async fn a_permission_ask_is_relayed_to_the_chat_and_allow_lets_the_agent_continue() {
    let sim = start_sim(sim_config()).await;
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    opencode.script_for(
        "deploy",
        Script::AskPermission {
            command: "make deploy-staging".into(),
            then: "Deployed to staging.".into(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, &opencode, dir.path()).await;
    let chat = one_to_one_conversation_id("ops");
    sim.inject(InjectMessage::text_1to1("ops", "Ops", "deploy to staging"));
    assert!(wait_for_text(&sim, &chat, "asks for permission").await);
    assert!(
        texts(&sim, &chat)
            .iter()
            .any(|t| t.contains("make deploy-staging")),
        "{:?}",
        texts(&sim, &chat)
    );
    sim.inject(InjectMessage::text_1to1("ops", "Ops", "/allow"));
    assert!(wait_for_text(&sim, &chat, "Deployed to staging.").await);
    let replies = opencode.permission_replies();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].reply, "once");
    engine.shutdown().await;
}

#[tokio::test]
async fn opencode_down_gets_a_clear_message_and_the_answer_arrives_when_it_is_back() {
    let sim = start_sim(sim_config()).await;
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    opencode.set_down(true).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, &opencode, dir.path()).await;
    let chat = one_to_one_conversation_id("patient");
    sim.inject(InjectMessage::text_1to1(
        "patient",
        "Patient",
        "are you there?",
    ));
    assert!(wait_for_text(&sim, &chat, "not reachable").await);
    assert_eq!(
        texts(&sim, &chat).len(),
        1,
        "the notice was repeated or an answer came from nowhere"
    );
    opencode.set_down(false).await.unwrap();
    assert!(
        wait_for_text(&sim, &chat, "are you there?").await,
        "{:?}",
        texts(&sim, &chat)
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_question_from_the_agent_is_relayed_and_answer_completes_the_turn() {
    let sim = start_sim(sim_config()).await;
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    opencode.script_for(
        "migrate",
        Script::Question {
            question: "Which database?".into(),
            options: vec!["SQLite".into(), "PostgreSQL".into()],
            then: "Migrating with".into(),
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, &opencode, dir.path()).await;
    let chat = one_to_one_conversation_id("dba");
    sim.inject(InjectMessage::text_1to1("dba", "DBA", "migrate the schema"));
    assert!(wait_for_text(&sim, &chat, "Which database?").await);
    sim.inject(InjectMessage::text_1to1("dba", "DBA", "/answer PostgreSQL"));
    assert!(wait_for_text(&sim, &chat, "Answer passed to the agent.").await);
    assert!(wait_for_text(&sim, &chat, "PostgreSQL").await);
    assert!(
        sim.wait_until(LONG, |_| texts(&sim, &chat)
            .iter()
            .any(|t| t.contains("Migrating with") && t.contains("PostgreSQL")))
            .await,
        "{:?}",
        texts(&sim, &chat)
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn a_turn_without_text_is_answered_with_a_note_in_the_chat_language() {
    let sim = start_sim(sim_config()).await;
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    // A turn that only ran tools: OpenCode records it with no text.
    opencode.script_for("tidy up", Script::Quiet(String::new()));
    let dir = tempfile::tempdir().unwrap();
    // The product default (`[bridge] language` unset = zh-CN); `engine_config` sets English for older tests.
    let engine = start_with(&sim, &opencode, dir.path(), |config| {
        config.bridge.language = dingbridge_core::config::Config::default().bridge.language;
    })
    .await;
    sim.inject(InjectMessage::text_1to1(
        "quiet",
        "李雷",
        "tidy up the logs",
    ));
    let chat = one_to_one_conversation_id("quiet");
    assert!(
        wait_for_text(&sim, &chat, "智能体已结束，但没有文字回复").await,
        "{:?}",
        texts(&sim, &chat)
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn while_opencode_is_down_the_status_shows_the_turn_waiting_for_the_agent() {
    let sim = start_sim(sim_config()).await;
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    opencode.set_down(true).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = start(&sim, &opencode, dir.path()).await;
    let chat = one_to_one_conversation_id("waiter");
    let msg_id = sim.inject(InjectMessage::text_1to1("waiter", "Waiter", "still there?"));
    let waiting = |engine: &Engine| {
        // The dashboard reads the same snapshot as JSON (`GET /api/status`).
        let status = serde_json::to_value(engine.status()).unwrap();
        status["queues"]["waiting_for_agent"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        eventually(LONG, || {
            let list = waiting(&engine);
            list.len() == 1 && list[0]["attempts"].as_u64().unwrap_or(0) >= 2
        })
        .await,
        "{:?}",
        waiting(&engine)
    );
    let entry = &waiting(&engine)[0];
    assert_eq!(entry["msg_id"], msg_id.as_str());
    assert_eq!(entry["conversation_id"], chat.as_str());
    assert!(
        entry["reason"]
            .as_str()
            .is_some_and(|r| r.contains("not reachable")),
        "{entry}"
    );
    assert!(entry["since_ms"].as_i64().is_some_and(|t| t > 0), "{entry}");

    opencode.set_down(false).await.unwrap();
    assert!(wait_for_text(&sim, &chat, "still there?").await);
    assert!(
        eventually(LONG, || waiting(&engine).is_empty()).await,
        "answered but still shown as waiting: {:?}",
        waiting(&engine)
    );
    engine.shutdown().await;
}
