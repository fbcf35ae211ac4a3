//! OpenCode agent backend against the simulator's fake `opencode serve`, over real sockets: sessions per
//! conversation (persisted), streamed text, permission relay, abort, errors, auth, outages.

use std::time::Duration;

use dingbridge_core::agent::opencode::{OpenCodeBackend, OpenCodeSettings};
use dingbridge_core::agent::{
    AgentBackend, AgentError, AgentReply, AgentRequest, AgentUpdate, UpdateReceiver, update_channel,
};
use dingbridge_core::dingtalk::ConversationKind;
use dingbridge_core::store::Store;
use dingtalk_sim::opencode::long_markdown;
use dingtalk_sim::{FakeOpenCode, FakeOpenCodeConfig, Script};
use secrecy::SecretString;
use tempfile::TempDir;
use tokio::task::JoinHandle;

struct Harness {
    fake: FakeOpenCode,
    backend: OpenCodeBackend,
    store: Store,
    dir: TempDir,
}

fn settings(base_url: &str) -> OpenCodeSettings {
    OpenCodeSettings {
        request_timeout: Duration::from_secs(5),
        turn_timeout: Duration::from_secs(30),
        health_timeout: Duration::from_secs(2),
        event_idle_timeout: Duration::from_secs(10),
        reconnect_grace: Duration::from_secs(3),
        ..OpenCodeSettings::default()
    }
    .with_base_url(base_url)
}

async fn fake(config: FakeOpenCodeConfig) -> FakeOpenCode {
    FakeOpenCode::start(config).await.unwrap()
}

async fn harness_with(config: FakeOpenCodeConfig, password: Option<&str>) -> Harness {
    let fake = fake(config).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let backend = OpenCodeBackend::new(
        settings(&fake.base_url()),
        password.map(|p| SecretString::from(p.to_owned())),
        store.clone(),
    )
    .unwrap();
    Harness {
        fake,
        backend,
        store,
        dir,
    }
}

async fn harness() -> Harness {
    harness_with(FakeOpenCodeConfig::default(), None).await
}

/// Every request is a distinct DingTalk message (the backend runs each msgId's turn at most once).
fn request(conversation: &str, text: &str) -> AgentRequest {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    AgentRequest {
        msg_id: format!("msg-{conversation}-{n}"),
        conversation_id: conversation.to_owned(),
        conversation_kind: ConversationKind::Single,
        conversation_title: None,
        sender_nick: "Zhang San".to_owned(),
        sender_staff_id: Some("staff42".to_owned()),
        text: text.to_owned(),
        attachments: Vec::new(),
    }
}

async fn ask(
    backend: &OpenCodeBackend,
    request: AgentRequest,
) -> (Result<AgentReply, AgentError>, Vec<AgentUpdate>) {
    let (tx, mut rx) = update_channel();
    // Read the updates while the turn runs, like the bridge's relay (a waiting snapshot is replaced by the
    // next one, so reading only at the end would see just the last).
    let collect = tokio::spawn(async move {
        let mut updates = Vec::new();
        while let Some(update) = rx.recv().await {
            updates.push(update);
        }
        updates
    });
    let result = backend.respond(request, tx).await;
    (result, collect.await.expect("the update reader"))
}

/// Starts a turn in the background and hands back its update stream.
fn spawn_turn(
    backend: &OpenCodeBackend,
    request: AgentRequest,
) -> (JoinHandle<Result<AgentReply, AgentError>>, UpdateReceiver) {
    let (tx, rx) = update_channel();
    let backend = backend.clone();
    (
        tokio::spawn(async move { backend.respond(request, tx).await }),
        rx,
    )
}

async fn next_update(rx: &mut UpdateReceiver) -> AgentUpdate {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an update in time")
        .expect("the turn is still running")
}

async fn wait_for<F>(rx: &mut UpdateReceiver, mut pick: F) -> AgentUpdate
where
    F: FnMut(&AgentUpdate) -> bool,
{
    loop {
        let update = next_update(rx).await;
        if pick(&update) {
            return update;
        }
    }
}

fn texts(updates: &[AgentUpdate]) -> Vec<String> {
    updates
        .iter()
        .filter_map(|u| match u {
            AgentUpdate::Text(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn health_reports_the_server_version() {
    let h = harness().await;
    let health = h.backend.health().await.unwrap();
    assert!(health.healthy);
    assert_eq!(health.version.as_deref(), Some("1.18.33-fake"));
    assert_eq!(h.backend.name(), "opencode");
}

#[tokio::test]
async fn reply_streams_text_updates_and_finishes_on_idle() {
    let h = harness().await;
    let answer = "Hello there! The build is green and all tests pass.";
    h.fake.script_for("hello", Script::reply(answer));
    let (result, updates) = ask(&h.backend, request("conv-a", "hello")).await;
    assert_eq!(result.unwrap().text, answer);
    let texts = texts(&updates);
    assert!(texts.len() >= 2, "streamed in several updates: {texts:?}");
    for pair in texts.windows(2) {
        assert!(pair[1].starts_with(&pair[0]), "snapshots grow: {texts:?}");
    }
    assert_eq!(texts.last().map(String::as_str), Some(answer));
    // The user's own prompt is never echoed as the agent's text.
    assert!(texts.iter().all(|t| !t.contains("[DingTalk]")));
}

#[tokio::test]
async fn default_echo_and_long_answers_arrive_complete() {
    let h = harness().await;
    let (result, _) = ask(&h.backend, request("conv-a", "ping")).await;
    let text = result.unwrap().text;
    assert!(text.starts_with("You said: [DingTalk]"), "{text}");
    assert!(text.ends_with("ping"), "{text}");

    h.fake.script_for("report", Script::Long(20_000));
    let (result, updates) = ask(&h.backend, request("conv-a", "report")).await;
    let expected = long_markdown(20_000);
    assert_eq!(result.unwrap().text, expected.trim());
    assert!(texts(&updates).len() > 5);
}

#[tokio::test]
async fn two_conversations_get_two_sessions() {
    let h = harness().await;
    ask(&h.backend, request("conv-a", "one")).await.0.unwrap();
    ask(&h.backend, request("conv-b", "two")).await.0.unwrap();
    ask(&h.backend, request("conv-a", "three")).await.0.unwrap();
    let sessions = h.fake.sessions();
    assert_eq!(sessions.len(), 2);
    let prompts = h.fake.prompts();
    assert_eq!(prompts.len(), 3);
    assert_ne!(prompts[0].session_id, prompts[1].session_id);
    assert_eq!(prompts[0].session_id, prompts[2].session_id);
    let stored = h.store.agent_session("conv-a", "opencode").await.unwrap();
    assert_eq!(stored.as_deref(), Some(prompts[0].session_id.as_str()));
}

#[tokio::test]
async fn session_mapping_survives_a_new_backend_instance() {
    let h = harness().await;
    ask(&h.backend, request("conv-a", "first")).await.0.unwrap();
    let first_session = h.fake.prompts()[0].session_id.clone();
    drop(h.backend);
    h.store.close().await.unwrap();

    let store = Store::open(h.dir.path()).unwrap();
    let backend = OpenCodeBackend::new(settings(&h.fake.base_url()), None, store).unwrap();
    ask(&backend, request("conv-a", "second")).await.0.unwrap();
    assert_eq!(h.fake.sessions().len(), 1);
    assert_eq!(h.fake.prompts()[1].session_id, first_session);
}

#[tokio::test]
async fn reset_session_starts_a_fresh_session() {
    let h = harness().await;
    ask(&h.backend, request("conv-a", "first")).await.0.unwrap();
    h.backend.reset_session("conv-a").await.unwrap();
    assert_eq!(
        h.store.agent_session("conv-a", "opencode").await.unwrap(),
        None
    );
    ask(&h.backend, request("conv-a", "second"))
        .await
        .0
        .unwrap();
    let prompts = h.fake.prompts();
    assert_eq!(h.fake.sessions().len(), 2);
    assert_ne!(prompts[0].session_id, prompts[1].session_id);
}

#[tokio::test]
async fn a_session_deleted_in_opencode_is_replaced() {
    let h = harness().await;
    ask(&h.backend, request("conv-a", "first")).await.0.unwrap();
    let old = h.fake.prompts()[0].session_id.clone();
    assert!(h.fake.forget_session(&old));
    // A new backend instance must verify the recorded session and notice it is gone.
    let backend =
        OpenCodeBackend::new(settings(&h.fake.base_url()), None, h.store.clone()).unwrap();
    ask(&backend, request("conv-a", "second")).await.0.unwrap();
    let new = h.fake.prompts()[1].session_id.clone();
    assert_ne!(new, old);
    assert_eq!(
        h.store.agent_session("conv-a", "opencode").await.unwrap(),
        Some(new.clone())
    );

    // The same backend finding the session gone at prompt time (404) replaces it too.
    assert!(h.fake.forget_session(&new));
    ask(&backend, request("conv-a", "third")).await.0.unwrap();
    let third = h.fake.prompts().last().unwrap().session_id.clone();
    assert_ne!(third, new);
    assert_eq!(h.fake.sessions().len(), 1);
}

#[tokio::test]
async fn abort_stops_a_slow_turn() {
    let h = harness().await;
    let slow = "word ".repeat(100);
    h.fake
        .script_for("slow", Script::slow(slow, Duration::from_millis(100)));
    assert!(
        !h.backend.abort("conv-a").await.unwrap(),
        "nothing running yet"
    );
    let (turn, mut rx) = spawn_turn(&h.backend, request("conv-a", "slow job"));
    wait_for(&mut rx, |u| matches!(u, AgentUpdate::Text(_))).await;
    assert!(h.backend.abort("conv-a").await.unwrap());
    let result = tokio::time::timeout(Duration::from_secs(5), turn)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(result, Err(AgentError::Aborted)), "{result:?}");
    assert_eq!(h.fake.aborts().len(), 1);
    assert!(!h.backend.abort("conv-a").await.unwrap());

    // The aborted turn's trailing error/idle events must not end the next turn early.
    h.fake.script_for("next", Script::reply("the next answer"));
    let (result, _) = ask(&h.backend, request("conv-a", "next")).await;
    assert_eq!(result.unwrap().text, "the next answer");
}

#[tokio::test]
async fn turn_timeout_aborts_and_fails() {
    let fake = fake(FakeOpenCodeConfig::default()).await;
    fake.script_for(
        "slow",
        Script::slow("word ".repeat(100), Duration::from_millis(100)),
    );
    let dir = tempfile::tempdir().unwrap();
    let settings = OpenCodeSettings {
        turn_timeout: Duration::from_millis(600),
        ..settings(&fake.base_url())
    };
    let backend = OpenCodeBackend::new(settings, None, Store::open(dir.path()).unwrap()).unwrap();
    let (result, _) = ask(&backend, request("conv-a", "slow")).await;
    match result {
        Err(AgentError::Failed(message)) => {
            assert!(message.contains("did not finish"), "{message}")
        }
        other => panic!("expected a timeout failure, got {other:?}"),
    }
    assert_eq!(fake.aborts().len(), 1);
}

#[tokio::test]
async fn permission_ask_is_relayed_and_allow_continues() {
    let h = harness().await;
    h.fake.script_for(
        "test",
        Script::ask_permission("cargo test", "All 12 tests passed."),
    );
    let (turn, mut rx) = spawn_turn(&h.backend, request("conv-a", "run the test suite"));
    let AgentUpdate::PermissionAsked { id, summary } = wait_for(&mut rx, |u| {
        matches!(u, AgentUpdate::PermissionAsked { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(id.starts_with("per_"), "{id}");
    assert_eq!(summary, "bash: cargo test");
    h.backend
        .answer_permission("conv-a", &id, true)
        .await
        .unwrap();
    let reply = turn.await.unwrap().unwrap();
    assert!(
        reply.text.contains("I need to run `cargo test`."),
        "{}",
        reply.text
    );
    assert!(
        reply.text.ends_with("All 12 tests passed."),
        "{}",
        reply.text
    );
    let replies = h.fake.permission_replies();
    assert_eq!(replies.len(), 1);
    assert_eq!(
        (replies[0].reply.as_str(), replies[0].route),
        ("once", "permission")
    );
}

#[tokio::test]
async fn permission_reject_ends_the_turn() {
    let h = harness().await;
    h.fake
        .script_for("deploy", Script::ask_permission("./deploy.sh", "Deployed."));
    let (turn, mut rx) = spawn_turn(&h.backend, request("conv-a", "deploy it"));
    let AgentUpdate::PermissionAsked { id, .. } = wait_for(&mut rx, |u| {
        matches!(u, AgentUpdate::PermissionAsked { .. })
    })
    .await
    else {
        unreachable!()
    };
    h.backend
        .answer_permission("conv-a", &id, false)
        .await
        .unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), turn)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!reply.text.contains("Deployed."), "{}", reply.text);
    assert_eq!(h.fake.permission_replies()[0].reply, "reject");
    // Answering again: nothing is pending any more.
    let again = h.backend.answer_permission("conv-a", &id, true).await;
    assert!(matches!(again, Err(AgentError::Failed(_))), "{again:?}");
}

#[tokio::test]
async fn legacy_permission_route_is_used_when_the_new_one_is_missing() {
    let config = FakeOpenCodeConfig {
        legacy_permission_route_only: true,
        ..FakeOpenCodeConfig::default()
    };
    let h = harness_with(config, None).await;
    h.fake
        .script_for("test", Script::ask_permission("cargo test", "ok."));
    let (turn, mut rx) = spawn_turn(&h.backend, request("conv-a", "test"));
    let AgentUpdate::PermissionAsked { id, .. } = wait_for(&mut rx, |u| {
        matches!(u, AgentUpdate::PermissionAsked { .. })
    })
    .await
    else {
        unreachable!()
    };
    h.backend
        .answer_permission("conv-a", &id, true)
        .await
        .unwrap();
    turn.await.unwrap().unwrap();
    assert_eq!(h.fake.permission_replies()[0].route, "session");
}

#[tokio::test]
async fn question_is_relayed_and_can_be_answered() {
    let h = harness().await;
    h.fake.script_for(
        "which",
        Script::Question {
            question: "Which database?".to_owned(),
            options: vec!["Postgres".to_owned(), "SQLite".to_owned()],
            then: "Using it.".to_owned(),
        },
    );
    let (turn, mut rx) = spawn_turn(&h.backend, request("conv-a", "which db"));
    let AgentUpdate::QuestionAsked { id, question } =
        wait_for(&mut rx, |u| matches!(u, AgentUpdate::QuestionAsked { .. })).await
    else {
        unreachable!()
    };
    assert!(question.starts_with("Which database?"), "{question}");
    assert!(question.contains("- SQLite"), "{question}");
    h.backend
        .answer_question(&id, vec![vec!["SQLite".to_owned()]])
        .await
        .unwrap();
    let reply = turn.await.unwrap().unwrap();
    assert_eq!(reply.text, "Using it. (answer: SQLite)");
}

#[tokio::test]
async fn a_turn_without_streamed_text_reads_the_answer_from_history() {
    let h = harness().await;
    h.fake
        .script_for("quiet", Script::Quiet("answer from history".to_owned()));
    let (result, updates) = ask(&h.backend, request("conv-a", "quiet")).await;
    assert_eq!(result.unwrap().text, "answer from history");
    assert!(texts(&updates).is_empty());
}

#[tokio::test]
async fn session_error_fails_the_turn() {
    let h = harness().await;
    h.fake
        .script_for("explode", Script::Error("the model exploded".to_owned()));
    let (result, _) = ask(&h.backend, request("conv-a", "explode")).await;
    match result {
        Err(AgentError::Failed(message)) => assert_eq!(message, "the model exploded"),
        other => panic!("expected Failed, got {other:?}"),
    }
    // A retryable provider error is "try again later", not final.
    h.fake.script_for(
        "provider",
        Script::ApiError {
            message: "fetch failed: ECONNREFUSED".to_owned(),
            retryable: true,
        },
    );
    let (result, _) = ask(&h.backend, request("conv-a", "provider")).await;
    assert!(
        matches!(result, Err(AgentError::Unavailable(ref m)) if m.contains("ECONNREFUSED")),
        "{result:?}"
    );
    // The session still works afterwards.
    let (result, _) = ask(&h.backend, request("conv-a", "fine")).await;
    assert!(result.unwrap().text.ends_with("fine"));
}

#[tokio::test]
async fn sender_context_is_passed_to_the_agent() {
    let fake = fake(FakeOpenCodeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let settings = OpenCodeSettings {
        directory: Some("/home/dev/project".to_owned()),
        ..settings(&fake.base_url())
    };
    let backend = OpenCodeBackend::new(settings, None, Store::open(dir.path()).unwrap()).unwrap();
    let mut group = request("cid-group", "run the tests");
    group.conversation_kind = ConversationKind::Group;
    group.conversation_title = Some("Dev team".to_owned());
    group.sender_nick = "张三".to_owned();
    let group_id = group.msg_id.clone();
    ask(&backend, group).await.0.unwrap();
    let mut direct = request("cid-direct", "hi");
    direct.sender_staff_id = None;
    let direct_id = direct.msg_id.clone();
    ask(&backend, direct).await.0.unwrap();

    let prompts = fake.prompts();
    assert_eq!(
        prompts[0].text,
        format!(
            "[DingTalk] from 张三 (staff42) in group \"Dev team\" (message {group_id}):\nrun the tests"
        )
    );
    assert_eq!(
        prompts[1].text,
        format!("[DingTalk] from Zhang San in a direct chat (message {direct_id}):\nhi")
    );
    assert_eq!(prompts[0].directory.as_deref(), Some("/home/dev/project"));
    let titles: Vec<String> = fake.sessions().into_iter().map(|s| s.title).collect();
    assert_eq!(titles, vec!["DingTalk: Dev team", "DingTalk: Zhang San"]);
    assert_eq!(
        fake.sessions()[0].directory.as_deref(),
        Some("/home/dev/project")
    );
}

#[tokio::test]
async fn unreachable_opencode_is_unavailable_with_a_clear_message() {
    // A port that was just free: nothing listens there.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let backend =
        OpenCodeBackend::new(settings(&url), None, Store::open(dir.path()).unwrap()).unwrap();
    let health = backend.health().await;
    match health {
        Err(AgentError::Unavailable(message)) => {
            assert!(
                message.starts_with(&format!("OpenCode is not reachable at {url}: ")),
                "{message}"
            );
            assert!(message.len() < 200, "short: {message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let (result, _) = ask(&backend, request("conv-a", "hello")).await;
    assert!(
        matches!(result, Err(AgentError::Unavailable(ref m)) if m.contains("not reachable")),
        "{result:?}"
    );
}

#[tokio::test]
async fn opencode_going_down_and_coming_back() {
    let h = harness().await;
    ask(&h.backend, request("conv-a", "before"))
        .await
        .0
        .unwrap();
    h.fake.set_down(true).await.unwrap();
    let (result, _) = ask(&h.backend, request("conv-a", "during")).await;
    assert!(
        matches!(result, Err(AgentError::Unavailable(_))),
        "{result:?}"
    );
    assert!(matches!(
        h.backend.health().await,
        Err(AgentError::Unavailable(_))
    ));
    h.fake.set_down(false).await.unwrap();
    let (result, _) = ask(&h.backend, request("conv-a", "after")).await;
    assert!(result.unwrap().text.ends_with("after"));
    assert!(
        h.fake.event_connections() >= 2,
        "the event stream was reopened"
    );
}

#[tokio::test]
async fn a_turn_survives_a_short_event_stream_outage() {
    let h = harness().await;
    h.fake.script_for(
        "slow",
        Script::slow(
            "one two three four five six seven eight",
            Duration::from_millis(150),
        ),
    );
    let (turn, mut rx) = spawn_turn(&h.backend, request("conv-a", "slow"));
    wait_for(&mut rx, |u| matches!(u, AgentUpdate::Text(_))).await;
    // Down and up again quickly: the turn keeps running in OpenCode and the backend catches up.
    h.fake.set_down(true).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.fake.set_down(false).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(15), turn)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(reply.text, "one two three four five six seven eight");
}

#[tokio::test]
async fn basic_auth_is_sent_when_a_password_is_set() {
    let h = harness_with(
        FakeOpenCodeConfig::default().with_password("s3cret-pw"),
        Some("s3cret-pw"),
    )
    .await;
    h.backend.health().await.unwrap();
    let (result, _) = ask(&h.backend, request("conv-a", "hello")).await;
    assert!(result.unwrap().text.ends_with("hello"));
    assert_eq!(h.fake.auth_rejections(), 0);
    // health, create session, event stream, prompt at least.
    assert!(
        h.fake.authorized_requests() >= 4,
        "{}",
        h.fake.authorized_requests()
    );
}

#[tokio::test]
async fn wrong_password_is_reported_clearly() {
    let h = harness_with(
        FakeOpenCodeConfig::default().with_password("right-pw"),
        Some("wrong-pw"),
    )
    .await;
    let health = h.backend.health().await;
    match health {
        Err(AgentError::Unauthorized(message)) => {
            assert!(message.contains("rejected the credentials"), "{message}");
            assert!(message.contains("password"), "{message}");
            assert!(!message.contains("wrong-pw") && !message.contains("right-pw"));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    let (result, _) = ask(&h.backend, request("conv-a", "hello")).await;
    assert!(
        matches!(result, Err(AgentError::Unauthorized(_))),
        "{result:?}"
    );
    assert_eq!(result.unwrap_err().code(), "AGENT_UNAUTHORIZED");

    // No password at all against a protected server: the same clear error.
    let dir = tempfile::tempdir().unwrap();
    let backend = OpenCodeBackend::new(
        settings(&h.fake.base_url()),
        None,
        Store::open(dir.path()).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        backend.health().await,
        Err(AgentError::Unauthorized(_))
    ));
    assert!(h.fake.auth_rejections() >= 3);
}

/// The real `opencode serve` answering through a fresh fake model, or `None` (skip, reason printed) when
/// `DINGBRIDGE_OPENCODE_BIN` is unset. Set to a missing file, the test fails.
async fn real_opencode(
    test: &str,
) -> Option<(dingtalk_sim::FakeModel, dingtalk_sim::RealOpenCode, TempDir)> {
    let bin = match dingtalk_sim::model::opencode_binary() {
        Ok(Some(bin)) => bin,
        Ok(None) => {
            eprintln!("skipping {test}: DINGBRIDGE_OPENCODE_BIN is not set (scripts/test sets it)");
            return None;
        }
        Err(error) => panic!("{error}"),
    };
    let model = dingtalk_sim::FakeModel::start().await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let shared = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("opencode-shared");
    let opencode = dingtalk_sim::RealOpenCode::start(&bin, &model, work.path(), &shared)
        .await
        .unwrap();
    Some((model, opencode, work))
}

/// Against the real `opencode serve` (npm `opencode-ai`, `DINGBRIDGE_OPENCODE_BIN`; scripts/test installs it)
/// answering through a local fake OpenAI-compatible model: streamed text, the answer read back from
/// OpenCode's record, a second turn in the same session, abort mid-stream. Without the variable it prints
/// why and skips; with it set to a missing file it fails.
#[tokio::test]
async fn real_opencode_round_trip() {
    let Some((model, opencode, _work)) = real_opencode("real_opencode_round_trip").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = OpenCodeSettings {
        turn_timeout: Duration::from_secs(120),
        ..settings(&opencode.base_url())
    };
    let backend = OpenCodeBackend::new(settings, None, Store::open(dir.path()).unwrap()).unwrap();
    let health = backend.health().await.unwrap();
    assert!(health.healthy);
    assert_eq!(health.version.as_deref(), Some("1.18.33"));

    let first = request("real-conv", "say hi");
    let first_id = first.msg_id.clone();
    let (result, updates) = ask(&backend, first).await;
    assert_eq!(result.unwrap().text, "echo: say hi");
    let texts = texts(&updates);
    assert!(!texts.is_empty(), "the answer streamed");
    assert!(
        texts.iter().all(|t| "echo: say hi".starts_with(t.as_str())),
        "{texts:?}"
    );
    let stats = model.stats_for(&first_id);
    assert_eq!((stats.calls, stats.answers), (1, 1), "{stats:?}");

    let (result, _) = ask(&backend, request("real-conv", "again")).await;
    assert_eq!(result.unwrap().text, "echo: again");

    // Abort mid-stream: the model is still answering after the first words.
    model.slow_for("slow answer", Duration::from_millis(300));
    let (turn, mut rx) = spawn_turn(
        &backend,
        request("real-conv", "slow answer please, in many words"),
    );
    wait_for(&mut rx, |u| matches!(u, AgentUpdate::Text(_))).await;
    assert!(backend.abort("real-conv").await.unwrap());
    let result = tokio::time::timeout(Duration::from_secs(20), turn)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(result, Err(AgentError::Aborted)), "{result:?}");
    let (result, _) = ask(&backend, request("real-conv", "after the abort")).await;
    assert_eq!(result.unwrap().text, "echo: after the abort");
    // One session for the conversation, in OpenCode's project directory.
    let session = backend.session_of("real-conv").await.unwrap();
    assert!(session.is_some_and(|s| s.starts_with("ses_")));
    drop(opencode);
}

/// A picture the user sent reaches the model as an image: OpenCode reads the `file://` part and puts an
/// `image_url` content part into the chat completion request.
#[tokio::test]
async fn real_opencode_passes_a_picture_to_the_model_as_an_image() {
    let test = "real_opencode_passes_a_picture_to_the_model_as_an_image";
    let Some((model, opencode, work)) = real_opencode(test).await else {
        return;
    };
    // A valid 1×1 PNG.
    const PNG: [u8; 67] = [
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00,
        0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49,
        0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    let picture = work.path().join("picture-1.png");
    std::fs::write(&picture, PNG).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let settings = OpenCodeSettings {
        turn_timeout: Duration::from_secs(120),
        ..settings(&opencode.base_url())
    };
    let backend = OpenCodeBackend::new(settings, None, Store::open(dir.path()).unwrap()).unwrap();
    let mut with_picture = request("real-pic", "what is in [picture 1]?");
    with_picture.attachments = vec![dingbridge_core::agent::AgentAttachment {
        path: picture,
        mime: "image/png".to_owned(),
        filename: "picture-1.png".to_owned(),
    }];
    let msg_id = with_picture.msg_id.clone();
    let (result, _) = ask(&backend, with_picture).await;
    let reply = result.unwrap();
    assert!(reply.text.starts_with("echo: "), "{}", reply.text);
    let stats = model.stats_for(&msg_id);
    assert_eq!(
        (stats.calls, stats.answers, stats.with_image),
        (1, 1, 1),
        "the model got the picture as an image part once: {stats:?}"
    );
    drop(opencode);
}
