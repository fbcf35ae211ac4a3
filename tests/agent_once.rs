//! Issue 10 defect 5 / issue 15: an agent turn runs at most once per DingTalk message, whatever stops
//! DingBridge, and its outcome comes from OpenCode's record. DingBridge "crashes" here by dropping the
//! runtime it runs on (no shutdown code runs, like `kill -9`) and starts again on the same data dir.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dingbridge_core::agent::OpenCodeSettings;
use dingbridge_core::i18n::{ChatKey, ChatText};
use dingbridge_core::{AgentSpec, Credentials, Engine, EngineOptions};
use dingtalk_sim::opencode::{FakeOpenCode, FakeOpenCodeConfig, Script};
use dingtalk_sim::{InjectMessage, Sim, one_to_one_conversation_id};
use support::*;

const LONG: Duration = Duration::from_secs(30);

fn options(sim: &Sim, opencode: &FakeOpenCode, dir: &Path) -> EngineOptions {
    EngineOptions {
        mode: "test".into(),
        config: engine_config(sim),
        data_dir: dir.to_path_buf(),
        credentials: Some(Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: AgentSpec::OpenCode {
            settings: OpenCodeSettings::default().with_base_url(opencode.base_url()),
            password: None,
        },
    }
}

/// An engine on its own runtime and thread, so the test can kill it without any shutdown code running.
struct Killable {
    kill: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

async fn start_killable(options: EngineOptions) -> Killable {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (kill, kill_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let engine = runtime.block_on(Engine::start(options)).unwrap();
        ready_tx.send(()).unwrap();
        let _ = kill_rx.recv();
        // Every task stops at its next await; nothing is flushed, aborted or answered.
        runtime.shutdown_background();
        drop(engine);
    });
    tokio::task::spawn_blocking(move || ready_rx.recv())
        .await
        .unwrap()
        .expect("engine starts");
    Killable { kill, thread }
}

impl Killable {
    async fn kill(self) {
        let _ = self.kill.send(());
        tokio::task::spawn_blocking(move || self.thread.join())
            .await
            .unwrap()
            .unwrap();
    }
}

fn texts(sim: &Sim, conversation: &str) -> Vec<String> {
    sim.received(conversation)
        .into_iter()
        .map(|m| m.text)
        .collect()
}

async fn opencode_with_slow_answer() -> FakeOpenCode {
    let opencode = FakeOpenCode::start(FakeOpenCodeConfig::default())
        .await
        .unwrap();
    opencode.script_for(
        "refactor",
        Script::slow(
            "Done: the parser is refactored and every test passes.",
            Duration::from_millis(150),
        ),
    );
    opencode
}

async fn prompted(opencode: &FakeOpenCode, count: usize) -> bool {
    eventually(LONG, || opencode.prompts().len() >= count).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_that_reached_opencode_before_a_crash_is_collected_not_prompted_again() {
    let sim = start_sim(sim_config()).await;
    let opencode = opencode_with_slow_answer().await;
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().to_path_buf();
    let first = start_killable(options(&sim, &opencode, &data)).await;
    let chat = one_to_one_conversation_id("once");
    sim.inject(InjectMessage::text_1to1(
        "once",
        "Once",
        "please refactor the parser",
    ));
    assert!(prompted(&opencode, 1).await);
    first.kill().await;
    // OpenCode finishes the turn on its own while DingBridge is down.
    assert!(eventually(LONG, || opencode.busy_sessions().is_empty()).await);

    let engine = Engine::start(options(&sim, &opencode, &data))
        .await
        .unwrap();
    assert!(
        sim.wait_until(LONG, |_| !texts(&sim, &chat).is_empty())
            .await,
        "no answer after the restart"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        texts(&sim, &chat),
        vec!["Done: the parser is refactored and every test passes.".to_owned()]
    );
    assert_eq!(opencode.prompts().len(), 1, "the prompt was sent twice");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turn_still_running_after_a_crash_is_followed_to_its_end() {
    let sim = start_sim(sim_config()).await;
    let opencode = opencode_with_slow_answer().await;
    let dir = tempfile::tempdir().unwrap();
    let first = start_killable(options(&sim, &opencode, dir.path())).await;
    let chat = one_to_one_conversation_id("running");
    sim.inject(InjectMessage::text_1to1(
        "running",
        "Running",
        "refactor it all",
    ));
    assert!(prompted(&opencode, 1).await);
    first.kill().await;
    // Restart at once: OpenCode is still answering.
    assert!(!opencode.busy_sessions().is_empty());
    let engine = Engine::start(options(&sim, &opencode, dir.path()))
        .await
        .unwrap();
    assert!(
        sim.wait_until(LONG, |_| !texts(&sim, &chat).is_empty())
            .await
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        texts(&sim, &chat),
        vec!["Done: the parser is refactored and every test passes.".to_owned()],
        "the whole answer, once"
    );
    assert_eq!(opencode.prompts().len(), 1);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_cut_off_by_an_opencode_crash_is_reported_and_retry_answers_once() {
    let sim = start_sim(sim_config()).await;
    let opencode = opencode_with_slow_answer().await;
    let dir = tempfile::tempdir().unwrap();
    let first = start_killable(options(&sim, &opencode, dir.path())).await;
    let chat = one_to_one_conversation_id("cut");
    sim.inject(InjectMessage::text_1to1("cut", "Cut", "refactor the lexer"));
    assert!(prompted(&opencode, 1).await);
    // Mid-answer: a few of the answer's words (one per 150 ms) are out. A crash before the model said
    // anything is a turn that never ran, and is prompted again instead.
    tokio::time::sleep(Duration::from_millis(450)).await;
    // Both die mid-answer: DingBridge, then OpenCode (which keeps the half answer in its history).
    first.kill().await;
    opencode.crash().await.unwrap();
    opencode.set_down(false).await.unwrap();

    let engine = Engine::start(options(&sim, &opencode, dir.path()))
        .await
        .unwrap();
    assert!(
        sim.wait_until(LONG, |_| texts(&sim, &chat)
            .iter()
            .any(|t| t.contains("/retry")))
            .await,
        "the chat is told the answer was interrupted: {:?}",
        texts(&sim, &chat)
    );
    assert_eq!(opencode.prompts().len(), 1, "prompted again without /retry");
    assert!(
        !texts(&sim, &chat).iter().any(|t| t.starts_with("Done")),
        "a fragment was sent as the answer: {:?}",
        texts(&sim, &chat)
    );
    sim.inject(InjectMessage::text_1to1("cut", "Cut", "/retry"));
    assert!(
        sim.wait_until(LONG, |_| texts(&sim, &chat)
            .iter()
            .any(|t| t == "Done: the parser is refactored and every test passes."))
            .await,
        "{:?}",
        texts(&sim, &chat)
    );
    assert_eq!(opencode.prompts().len(), 2);
    engine.shutdown().await;
}

/// The chaos test's sequence (docs/reliability.md): DingBridge keeps running and follows the turn live while
/// OpenCode crashes mid-answer and comes back; the chat is in the default language (zh-CN). The chat gets
/// the interrupted note in its language, the prompt is not sent again on its own, and `/retry` answers once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_cut_off_while_followed_live_gets_the_note_in_the_chat_language_and_retry_answers_once()
 {
    let sim = start_sim(sim_config()).await;
    let opencode = opencode_with_slow_answer().await;
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(&sim, &opencode, dir.path());
    let language = dingbridge_core::config::Config::default().bridge.language;
    options.config.bridge.language = language;
    let engine = Engine::start(options).await.unwrap();
    let chat = one_to_one_conversation_id("live");
    sim.inject(InjectMessage::text_1to1(
        "live",
        "Live",
        "refactor the lexer",
    ));
    assert!(prompted(&opencode, 1).await);
    // Mid-answer (one word per 150 ms), like the chaos test's crash: down for 0.7 s, then back.
    tokio::time::sleep(Duration::from_millis(450)).await;
    opencode.crash().await.unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    opencode.set_down(false).await.unwrap();

    let note = ChatText::get(language, ChatKey::Interrupted);
    assert!(
        sim.wait_until(LONG, |_| texts(&sim, &chat).contains(&note))
            .await,
        "the chat is told, in its language, that the answer was interrupted: {:?}",
        texts(&sim, &chat)
    );
    assert_eq!(opencode.prompts().len(), 1, "prompted again without /retry");
    assert!(
        !texts(&sim, &chat).iter().any(|t| t.starts_with("Done")),
        "a fragment was sent as the answer: {:?}",
        texts(&sim, &chat)
    );
    sim.inject(InjectMessage::text_1to1("live", "Live", "/retry"));
    let answer = "Done: the parser is refactored and every test passes.";
    assert!(
        sim.wait_until(LONG, |_| texts(&sim, &chat).iter().any(|t| t == answer))
            .await,
        "{:?}",
        texts(&sim, &chat)
    );
    assert_eq!(opencode.prompts().len(), 2);
    engine.shutdown().await;
}

/// After OpenCode comes back, the turn is looked up (is the session still busy? what did OpenCode record?).
/// A look-up that fails must not leave the turn following an event stream on which nothing will come: the
/// turn is retried and resolved from OpenCode's record, so the chat is told within seconds, not after the
/// 30-minute turn timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_look_up_after_opencode_comes_back_is_retried_not_left_waiting() {
    let sim = start_sim(sim_config()).await;
    let opencode = opencode_with_slow_answer().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(options(&sim, &opencode, dir.path()))
        .await
        .unwrap();
    let chat = one_to_one_conversation_id("lookup");
    sim.inject(InjectMessage::text_1to1(
        "lookup",
        "Lookup",
        "refactor the lexer",
    ));
    assert!(prompted(&opencode, 1).await);
    tokio::time::sleep(Duration::from_millis(450)).await;
    opencode.crash().await.unwrap();
    // The first session-status request after the restart fails.
    opencode.fail_status_checks(1);
    opencode.set_down(false).await.unwrap();

    assert!(
        sim.wait_until(LONG, |_| texts(&sim, &chat)
            .iter()
            .any(|t| t.contains("/retry")))
            .await,
        "the chat is told the answer was interrupted: {:?}",
        texts(&sim, &chat)
    );
    assert_eq!(opencode.prompts().len(), 1, "prompted again without /retry");
    engine.shutdown().await;
}

#[tokio::test]
async fn shutdown_aborts_the_running_turn_in_opencode() {
    let sim = start_sim(sim_config()).await;
    let opencode = opencode_with_slow_answer().await;
    // Far longer than shutdown waits for running turns.
    opencode.script_for(
        "rewrite",
        Script::slow(
            "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen",
            Duration::from_secs(2),
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::start(options(&sim, &opencode, dir.path()))
        .await
        .unwrap();
    sim.inject(InjectMessage::text_1to1(
        "stopper",
        "Stopper",
        "rewrite everything",
    ));
    assert!(prompted(&opencode, 1).await);
    engine.shutdown().await;
    assert_eq!(
        opencode.aborts().len(),
        1,
        "the turn kept running in OpenCode"
    );
    assert!(eventually(LONG, || opencode.busy_sessions().is_empty()).await);
}
