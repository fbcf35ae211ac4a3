//! The `dingbridge-mcp` stdio helper as OpenCode runs it: a spawned process, with the app down, with a wrong
//! token, and against a running `dingbridged demo` (results identical to direct HTTP).

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};

mod support;

const DAEMON: &str = env!("CARGO_BIN_EXE_dingbridged");
const HELPER: &str = env!("CARGO_BIN_EXE_dingbridge-mcp");
const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

struct Daemon {
    child: Child,
    mcp_url: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A demo daemon whose MCP token lives in the keychain under `service`.
fn start_daemon(data_dir: &Path, service: &str) -> Daemon {
    let mut child = Command::new(DAEMON)
        .args([
            "--data-dir",
            &data_dir.display().to_string(),
            "--port",
            "0",
            "--mcp-port",
            "0",
            "demo",
        ])
        .env_remove("DINGTALK_CLIENT_ID")
        .env_remove("DINGBRIDGE_TOKEN")
        .env_remove("DINGBRIDGE_RUNTIME_FILE")
        .env("DINGBRIDGE_KEYCHAIN_SERVICE", service)
        .env("DINGBRIDGE_CONFIG", data_dir.join("none.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dingbridged starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mcp_url = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("dingbridged printed its MCP URL");
        if let Some(url) = line.strip_prefix("DINGBRIDGE_MCP_URL=") {
            break url.to_owned();
        }
    };
    Daemon { child, mcp_url }
}

/// Sends one line to a fresh helper, returns its first stdout line and how long that took.
fn helper_answer(envs: &[(&str, &str)], line: &str) -> (Value, Duration, Child) {
    let started = Instant::now();
    let mut child = Command::new(HELPER)
        .env_remove("DINGBRIDGE_TOKEN")
        .env_remove("DINGBRIDGE_MCP_URL")
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("helper starts");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{line}").expect("write");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut answer = String::new();
    reader.read_line(&mut answer).expect("read");
    let elapsed = started.elapsed();
    drop(stdin);
    (
        serde_json::from_str(&answer).expect("stdout is JSON-RPC"),
        elapsed,
        child,
    )
}

fn exits_within(child: &mut Child, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    false
}

#[test]
fn with_the_app_down_the_helper_answers_with_a_clear_json_rpc_error_and_exits_on_eof() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime.json");
    let runtime = runtime.display().to_string();
    let (answer, _, mut child) = helper_answer(&[("DINGBRIDGE_RUNTIME_FILE", &runtime)], INIT);
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["error"]["data"]["reason"], "app_not_running");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not running")
    );
    assert!(
        exits_within(&mut child, Duration::from_secs(2)),
        "exits when stdin closes"
    );

    // A stale URL (nothing listening) is also "not running".
    let (answer, _, mut child) = helper_answer(
        &[
            ("DINGBRIDGE_MCP_URL", "http://127.0.0.1:9/mcp"),
            ("DINGBRIDGE_TOKEN", "x"),
        ],
        INIT,
    );
    assert_eq!(answer["error"]["data"]["reason"], "app_not_running");
    assert!(exits_within(&mut child, Duration::from_secs(2)));
}

#[tokio::test]
async fn with_the_app_up_the_helper_gives_the_same_results_as_direct_http() {
    let Some(service) = support::keychain_service("helper") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let daemon = start_daemon(dir.path(), &service);
    let runtime = dir.path().join("runtime.json");

    // Wrong token: a clear error, not a silent exit.
    let runtime_text = runtime.display().to_string();
    let (answer, _, mut child) = helper_answer(
        &[
            ("DINGBRIDGE_RUNTIME_FILE", &runtime_text),
            ("DINGBRIDGE_TOKEN", "dbm_wrong"),
        ],
        INIT,
    );
    assert_eq!(answer["error"]["data"]["reason"], "unauthorized");
    assert!(exits_within(&mut child, Duration::from_secs(2)));

    // Start-up to first answer (informational; the release build is faster).
    let (answer, first_answer, mut child) =
        helper_answer(&[("DINGBRIDGE_RUNTIME_FILE", &runtime_text)], INIT);
    assert_eq!(answer["result"]["serverInfo"]["name"], "dingbridge");
    eprintln!("dingbridge-mcp start-up to first answer: {first_answer:?}");
    assert!(first_answer < Duration::from_secs(3));
    assert!(
        exits_within(&mut child, Duration::from_secs(2)),
        "exits when stdin closes"
    );

    let runtime_for_child = runtime.clone();
    let through_helper = ()
        .serve(
            TokioChildProcess::new(tokio::process::Command::new(HELPER).configure(move |cmd| {
                cmd.env("DINGBRIDGE_RUNTIME_FILE", &runtime_for_child)
                    .env_remove("DINGBRIDGE_TOKEN")
                    .env_remove("DINGBRIDGE_MCP_URL");
            }))
            .expect("helper spawns"),
        )
        .await
        .expect("initialise through the helper");
    // The helper found the token through the runtime file's keychain reference; read the same entry.
    let token = support::stored(&service, dingbridge_core::secrets::MCP_TOKEN).unwrap();
    let direct = ()
        .serve(StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(daemon.mcp_url.clone())
                .auth_header(token),
        ))
        .await
        .expect("initialise over HTTP");

    let helper_tools = through_helper.list_all_tools().await.unwrap();
    let direct_tools = direct.list_all_tools().await.unwrap();
    assert_eq!(helper_tools, direct_tools);
    assert_eq!(helper_tools.len(), 9);

    let call = || {
        CallToolRequestParams::new("get_messages").with_arguments(
            json!({"conversation_id": "cidNope=="})
                .as_object()
                .cloned()
                .unwrap(),
        )
    };
    let via_helper = through_helper.call_tool(call()).await.unwrap();
    let via_http = direct.call_tool(call()).await.unwrap();
    assert_eq!(via_helper, via_http);
    assert_eq!(via_helper.structured_content.unwrap()["code"], "NOT_FOUND");

    let group = || {
        CallToolRequestParams::new("find_group").with_arguments(
            json!({"name": "No Such Group"})
                .as_object()
                .cloned()
                .unwrap(),
        )
    };
    assert_eq!(
        through_helper.call_tool(group()).await.unwrap(),
        direct.call_tool(group()).await.unwrap()
    );
    assert_eq!(
        through_helper.list_all_prompts().await.unwrap(),
        direct.list_all_prompts().await.unwrap()
    );
    through_helper.cancel().await.unwrap();
    direct.cancel().await.unwrap();
}

#[test]
fn the_helper_exits_promptly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = dir.path().join("runtime.json").display().to_string();
    let mut child = Command::new(HELPER)
        .env("DINGBRIDGE_RUNTIME_FILE", &runtime)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(
        exits_within(&mut child, Duration::from_secs(2)),
        "exits on SIGTERM"
    );
}
