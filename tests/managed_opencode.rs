//! Issue 14 acceptance: managed mode. No OpenCode URL is configured, so the engine starts the *real*
//! `opencode serve` itself (npm `opencode-ai`, named by `DINGBRIDGE_OPENCODE_BIN`; scripts/test installs
//! it), answering through the simulator's fake OpenAI-compatible model. Without the variable these tests
//! print why and skip; set to a missing file they fail. The missing-binary test always runs.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use dingbridge_core::agent::OpenCodeSettings;
use dingbridge_core::agent::opencode::managed::{ManagedOptions, Project};
use dingbridge_core::{AgentSpec, Credentials, Engine, EngineOptions};
use dingtalk_sim::{FakeModel, InjectMessage, Sim, one_to_one_conversation_id};
use serde_json::Value;
use support::*;

const LONG: Duration = Duration::from_secs(120);
const PASSWORD: &str = "managed-test-password";

/// One test at a time: concurrent first starts would race on installing OpenCode's plugin package into
/// the shared config dir, and the machine is small.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn binary(test: &str) -> Option<PathBuf> {
    match dingtalk_sim::model::opencode_binary() {
        Ok(Some(bin)) => Some(bin),
        Ok(None) => {
            eprintln!("skipping {test}: DINGBRIDGE_OPENCODE_BIN is not set (scripts/test sets it)");
            None
        }
        Err(error) => panic!("{error}"),
    }
}

/// A project directory whose `opencode.json` makes the fake model OpenCode's only model.
fn project(root: &Path, name: &str, model: &FakeModel) -> Project {
    let path = root.join(name);
    std::fs::create_dir_all(&path).unwrap();
    let config = serde_json::json!({
        "$schema": "https://opencode.ai/config.json",
        "autoupdate": false,
        "share": "disabled",
        "provider": {"fake": {
            "npm": "@ai-sdk/openai-compatible",
            "name": "DingBridge test model",
            "options": {"baseURL": model.base_url(), "apiKey": "test-key"},
            "models": {model.model_id(): {"name": "echo", "attachment": true}}
        }},
        "model": format!("fake/{}", model.model_id()),
        "small_model": format!("fake/{}", model.model_id()),
    });
    std::fs::write(path.join("opencode.json"), config.to_string()).unwrap();
    Project {
        name: name.to_owned(),
        path: path.canonicalize().unwrap(),
    }
}

/// OpenCode's config and data dirs of its own, never the developer's (config/cache shared by the run).
fn isolated_env(data: &Path) -> Vec<(String, String)> {
    let shared = Path::new(env!("CARGO_TARGET_TMPDIR")).join("opencode-shared");
    let s = |p: PathBuf| p.display().to_string();
    vec![
        ("HOME".into(), s(shared.join("home"))),
        ("XDG_CONFIG_HOME".into(), s(shared.join("config"))),
        ("XDG_CACHE_HOME".into(), s(shared.join("cache"))),
        ("XDG_DATA_HOME".into(), s(data.join("opencode-data"))),
        ("XDG_STATE_HOME".into(), s(data.join("opencode-state"))),
        ("OPENCODE_DISABLE_MODELS_FETCH".into(), "1".into()),
        ("OPENCODE_DISABLE_LSP_DOWNLOAD".into(), "1".into()),
    ]
}

fn options(bin: Option<PathBuf>, projects: Vec<Project>, data: &Path) -> ManagedOptions {
    ManagedOptions {
        projects,
        bin,
        log_dir: None,
        password: Some(PASSWORD.into()),
        settings: OpenCodeSettings {
            turn_timeout: Duration::from_secs(120),
            ..OpenCodeSettings::default()
        },
        env: isolated_env(data),
        start_timeout: Duration::from_secs(120),
        idle_stop: None,
    }
}

async fn start(sim: &Sim, options: ManagedOptions, data: &Path) -> Engine {
    Engine::start(EngineOptions {
        mode: "test".into(),
        config: engine_config(sim),
        data_dir: data.join("bridge"),
        credentials: Some(Credentials {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }),
        agent: AgentSpec::Managed(options),
    })
    .await
    .expect("engine starts")
}

fn servers(engine: &Engine) -> Vec<Value> {
    let status = serde_json::to_value(engine.status()).unwrap();
    status["agent_servers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn server<'a>(list: &'a [Value], project: &str) -> Option<&'a Value> {
    list.iter().find(|s| s["project"] == project)
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

/// Processes (alive, not zombies) in the process group `pgid`: the server and anything it spawned.
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the `(comm)`: state, ppid, pgrp, ...
        let rest = &stat[stat.rfind(')')? + 2..];
        let mut fields = rest.split_whitespace();
        let state = fields.next()?;
        let pgrp: u32 = fields.nth(1)?.parse().ok()?;
        (pgrp == pgid && state != "Z").then_some(pid)
    })
    .collect()
}

fn pid_of(engine: &Engine, project: &str) -> Option<u32> {
    server(&servers(engine), project)?["pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
}

/// One project, `alpha`, served by a managed OpenCode answering through the fake model. The fields keep the
/// simulator, the model and the data dir alive for as long as the test runs.
struct AlphaOnly {
    sim: Sim,
    model: FakeModel,
    _dir: tempfile::TempDir,
    engine: Engine,
}

/// Starts [`AlphaOnly`]; `tweak` adjusts the managed options (e.g. the idle stop).
async fn alpha_only(
    bin: PathBuf,
    tweak: impl FnOnce(ManagedOptions) -> ManagedOptions,
) -> AlphaOnly {
    let sim = start_sim(sim_config()).await;
    let model = FakeModel::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alpha = project(dir.path(), "alpha", &model);
    let engine = start(
        &sim,
        tweak(options(Some(bin), vec![alpha], dir.path())),
        dir.path(),
    )
    .await;
    AlphaOnly {
        sim,
        model,
        _dir: dir,
        engine,
    }
}

impl AlphaOnly {
    /// `user` asks `text` in their 1:1 chat; true once the echo answer arrived. Returns the chat too.
    async fn ask(&self, user: &str, nick: &str, text: &str) -> (String, bool) {
        let chat = one_to_one_conversation_id(user);
        self.sim.inject(InjectMessage::text_1to1(user, nick, text));
        let answered = wait_for_text(&self.sim, &chat, &format!("echo: {text}")).await;
        (chat, answered)
    }
}

#[tokio::test]
async fn without_a_url_dingbridge_starts_opencode_and_a_message_is_answered() {
    let Some(bin) = binary("without_a_url_dingbridge_starts_opencode_and_a_message_is_answered")
    else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let h = alpha_only(bin, |options| options).await;
    let (sim, engine) = (&h.sim, &h.engine);
    assert_eq!(
        server(&servers(engine), "alpha").unwrap()["state"],
        "stopped"
    );

    let (chat, answered) = h.ask("managed-user", "Managed", "hello managed").await;
    assert!(answered, "{:?} {:?}", texts(sim, &chat), servers(engine));
    let list = servers(engine);
    let alpha = server(&list, "alpha").unwrap();
    assert_eq!(alpha["state"], "running", "{alpha}");
    assert_eq!(alpha["version"], "1.18.33", "{alpha}");
    assert!(alpha["port"].as_u64().is_some_and(|p| p > 0), "{alpha}");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_killed_opencode_is_restarted_and_the_queued_message_is_answered_once() {
    let Some(bin) =
        binary("a_killed_opencode_is_restarted_and_the_queued_message_is_answered_once")
    else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let h = alpha_only(bin, |options| options).await;
    let (sim, model, engine) = (&h.sim, &h.model, &h.engine);
    let (chat, answered) = h.ask("crash-user", "Crash", "first question").await;
    assert!(answered);
    let first_pid = pid_of(engine, "alpha").expect("running server has a pid");

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(first_pid).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // Sent while OpenCode is down: it waits in the queue until the restarted server answers it.
    let msg_id = sim.inject(InjectMessage::text_1to1(
        "crash-user",
        "Crash",
        "second question",
    ));
    assert!(
        wait_for_text(sim, &chat, "echo: second question").await,
        "{:?} {:?}",
        texts(sim, &chat),
        servers(engine)
    );
    let list = servers(engine);
    let alpha = server(&list, "alpha").unwrap();
    assert_eq!(alpha["state"], "running", "{alpha}");
    assert!(
        alpha["restarts"].as_u64().is_some_and(|r| r >= 1),
        "{alpha}"
    );
    assert_ne!(pid_of(engine, "alpha"), Some(first_pid));
    // Give a duplicate a chance to show up before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let answers = texts(sim, &chat)
        .iter()
        .filter(|t| t.contains("echo: second question"))
        .count();
    assert_eq!(answers, 1, "{:?}", texts(sim, &chat));
    let stats = model.stats_for(&msg_id);
    assert_eq!(stats.answers, 1, "{stats:?}");
    assert!(
        group_members(first_pid).is_empty(),
        "the killed server left processes behind"
    );
    engine.shutdown().await;
}

#[tokio::test]
async fn after_shutdown_no_opencode_process_is_left() {
    let Some(bin) = binary("after_shutdown_no_opencode_process_is_left") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let h = alpha_only(bin, |options| options).await;
    let engine = &h.engine;
    let (_, answered) = h.ask("quit-user", "Quit", "before quitting").await;
    assert!(answered);
    let pid = pid_of(engine, "alpha").expect("running server has a pid");
    assert!(!group_members(pid).is_empty());

    engine.shutdown().await;
    assert!(
        group_members(pid).is_empty(),
        "still running after shutdown: {:?}",
        group_members(pid)
    );
}

#[tokio::test]
async fn project_b_switches_the_chat_to_a_session_in_b_and_the_binding_survives_a_restart() {
    let Some(bin) =
        binary("project_b_switches_the_chat_to_a_session_in_b_and_the_binding_survives_a_restart")
    else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let sim = start_sim(sim_config()).await;
    let model = FakeModel::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        project(dir.path(), "a", &model),
        project(dir.path(), "b", &model),
    );
    let projects = vec![a, b.clone()];
    let engine = start(
        &sim,
        options(Some(bin.clone()), projects.clone(), dir.path()),
        dir.path(),
    )
    .await;
    let chat = one_to_one_conversation_id("project-user");
    let say = |text: &str| sim.inject(InjectMessage::text_1to1("project-user", "Proj", text));

    say("/project b");
    assert!(wait_for_text(&sim, &chat, "now works in project `b`").await);
    say("question for b");
    assert!(wait_for_text(&sim, &chat, "echo: question for b").await);
    let session = engine
        .store()
        .agent_session(&chat, "opencode")
        .await
        .unwrap()
        .expect("the chat has a session");
    let list = servers(&engine);
    let port = server(&list, "b").unwrap()["port"].as_u64().unwrap();
    assert_eq!(server(&list, "a").unwrap()["state"], "stopped", "{list:?}");
    // OpenCode's own record of the session says which directory it works in.
    let info: Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/session/{session}"))
        .basic_auth("opencode", Some(PASSWORD))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let directory = PathBuf::from(info["directory"].as_str().unwrap_or_default());
    assert_eq!(directory, b.path, "{info}");
    engine.shutdown().await;

    // After a restart the chat still works in b.
    let engine = start(&sim, options(Some(bin), projects, dir.path()), dir.path()).await;
    say("/project");
    assert!(wait_for_text(&sim, &chat, "← this chat").await);
    let listing = texts(&sim, &chat)
        .into_iter()
        .rfind(|t| t.contains("**Projects**"))
        .unwrap();
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("- `b`") && l.contains("← this chat")),
        "{listing}"
    );
    say("after the restart");
    assert!(wait_for_text(&sim, &chat, "echo: after the restart").await);
    let list = servers(&engine);
    assert_eq!(server(&list, "b").unwrap()["state"], "running", "{list:?}");
    assert_eq!(server(&list, "a").unwrap()["state"], "stopped", "{list:?}");
    engine.shutdown().await;
}

#[tokio::test]
async fn a_missing_binary_is_reported_with_the_install_command_and_not_retried_in_a_loop() {
    let sim = start_sim(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p");
    std::fs::create_dir_all(&path).unwrap();
    let projects = vec![Project {
        name: "p".into(),
        path,
    }];
    let missing = dir.path().join("no-such-opencode");
    let engine = start(
        &sim,
        options(Some(missing), projects, dir.path()),
        dir.path(),
    )
    .await;
    sim.inject(InjectMessage::text_1to1(
        "nobin-user",
        "NoBin",
        "anyone there?",
    ));
    let not_installed =
        || server(&servers(&engine), "p").is_some_and(|s| s["state"] == "not_installed");
    assert!(
        eventually(LONG, not_installed).await,
        "{:?}",
        servers(&engine)
    );
    let list = servers(&engine);
    let p = server(&list, "p").unwrap();
    let error = p["error"].as_str().unwrap_or_default();
    assert!(error.contains("npm i -g opencode-ai"), "{p}");
    assert!(error.contains("no-such-opencode"), "{p}");
    // The bridge keeps retrying the message, but nothing is spawned and nothing counts as a restart.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let list = servers(&engine);
    let p = server(&list, "p").unwrap();
    assert_eq!(p["restarts"], 0, "{p}");
    assert!(p["pid"].is_null(), "{p}");
    engine.shutdown().await;
}

#[tokio::test]
async fn an_idle_server_is_stopped_and_the_next_message_starts_it_again() {
    let Some(bin) = binary("an_idle_server_is_stopped_and_the_next_message_starts_it_again") else {
        return;
    };
    let _serial = SERIAL.lock().await;
    let h = alpha_only(bin, |options| ManagedOptions {
        idle_stop: Some(Duration::from_secs(3)),
        ..options
    })
    .await;
    let (sim, engine) = (&h.sim, &h.engine);
    let (chat, answered) = h.ask("idle-user", "Idle", "wake up").await;
    assert!(answered);
    let pid = pid_of(engine, "alpha").expect("running server has a pid");

    let stopped = || server(&servers(engine), "alpha").is_some_and(|s| s["state"] == "stopped");
    assert!(eventually(LONG, stopped).await, "{:?}", servers(engine));
    assert!(
        group_members(pid).is_empty(),
        "the idle server left processes behind"
    );

    sim.inject(InjectMessage::text_1to1(
        "idle-user",
        "Idle",
        "again please",
    ));
    assert!(wait_for_text(sim, &chat, "echo: again please").await);
    engine.shutdown().await;
}
