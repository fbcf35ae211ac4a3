//! The `dingbridged` binary as a user runs it: a real process, killed and restarted, against the simulator.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dingtalk_sim::{InjectMessage, Sim, SimConfig, one_to_one_conversation_id};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

mod support;

const BIN: &str = env!("CARGO_BIN_EXE_dingbridged");

/// Each daemon gets keychain entries of its own (its MCP token), never the developer's.
fn keychain_service() -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("dingbridge-test-daemon-{}-{n}", std::process::id())
}

struct Daemon {
    child: Child,
    stderr_lines: mpsc::Receiver<String>,
    /// `http://127.0.0.1:<port>/`, logged in with [`Daemon::cookie`].
    dashboard: String,
    /// The session cookie from the printed one-time login URL.
    cookie: String,
}

impl Daemon {
    /// Starts `dingbridged <args>` and waits for its dashboard URL line on stdout.
    fn start(args: &[&str], envs: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(BIN)
            .args(args)
            .envs(envs.iter().copied())
            .env_remove("DINGTALK_CLIENT_ID")
            .env_remove("DINGBRIDGE_TOKEN")
            .env("DINGBRIDGE_KEYCHAIN_SERVICE", keychain_service())
            .env("DINGBRIDGE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dingbridged starts");
        let (err_tx, stderr_lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = err_tx.send(line);
            }
        });
        let (out_tx, out_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = out_tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let login_url = loop {
            let line = out_rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("dingbridged printed its dashboard URL");
            if let Some(url) = line.strip_prefix("DINGBRIDGE_DASHBOARD_URL=") {
                break url.to_owned();
            }
        };
        let (dashboard, cookie) = http_get::login(&login_url);
        Daemon {
            child,
            stderr_lines,
            dashboard,
            cookie,
        }
    }

    /// Waits for a stderr line containing `needle`.
    fn wait_for_log(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        while let Ok(line) = self
            .stderr_lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            if line.contains(needle) {
                return Some(line);
            }
        }
        None
    }

    fn kill9(mut self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL).unwrap();
        let _ = self.child.wait();
    }

    fn terminate(mut self, timeout: Duration) -> (Option<std::process::ExitStatus>, Vec<String>) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + timeout;
        let mut lines = Vec::new();
        loop {
            while let Ok(line) = self.stderr_lines.try_recv() {
                lines.push(line);
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_millis(200)) {
                    lines.push(line);
                }
                return (Some(status), lines);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return (None, lines);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(dir: &Path, sim: &Sim) -> String {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[dingtalk]\napi_base = \"{base}\"\noapi_base = \"{base}\"\nclient_id = \"daemon-id\"\n\n[stream]\nbackoff_initial_ms = 50\nbackoff_max_ms = 500\n\n[bridge]\nmax_concurrent_turns = 4\nretry_delay_ms = 50\n\n[agent]\nbackend = \"echo\"\n\n[access]\nallowed_staff_ids = [\"*\"]\n\n[pacing]\napp_per_second = 1000\nper_conversation = 1000\nconversation_window_ms = 1000\n",
            base = sim.base_url()
        ),
    )
    .unwrap();
    path.display().to_string()
}

async fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    check()
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_while_messages_are_queued_then_restart_delivers_each_exactly_once() {
    let sim = Sim::start(
        SimConfig::default()
            .with_credentials("daemon-id", "daemon-secret")
            .with_redelivery_after(Duration::from_secs(2))
            .with_webhook_rate_per_min(100_000),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim);
    let data = dir.path().join("data").display().to_string();
    let args = [
        "--config",
        &config,
        "--data-dir",
        &data,
        "--port",
        "0",
        "--echo-delay-ms",
        "150",
        "serve",
    ];
    let env = [("DINGTALK_CLIENT_SECRET", "daemon-secret")];

    let daemon = Daemon::start(&args, &env);
    let users = ["alice", "bob", "carol"];
    let mut ids = Vec::new();
    for n in 0..10 {
        for user in users {
            ids.push(sim.inject(InjectMessage::text_1to1(
                user,
                user,
                format!("job {n} for {user}"),
            )));
        }
    }
    // Every message is persisted (ACKed) while most are still queued behind the slow agent.
    assert!(
        sim.wait_until(Duration::from_secs(20), |s| s.acks_received >= 30)
            .await
    );
    let replied_before_kill: usize = users
        .iter()
        .map(|u| sim.received(&one_to_one_conversation_id(u)).len())
        .sum();
    daemon.kill9();
    assert!(
        replied_before_kill < 30,
        "everything finished before the kill; the test proves nothing"
    );

    let daemon = Daemon::start(&args, &env);
    let all_replied = wait_until(Duration::from_secs(30), || {
        users
            .iter()
            .all(|u| sim.received(&one_to_one_conversation_id(u)).len() >= 10)
    })
    .await;
    assert!(
        all_replied,
        "not every message was answered after the restart"
    );
    // A late duplicate push of an already answered message must not produce another answer.
    assert!(sim.inject_duplicate(&ids[0]));
    tokio::time::sleep(Duration::from_millis(800)).await;
    for user in users {
        let replies: Vec<String> = sim
            .received(&one_to_one_conversation_id(user))
            .into_iter()
            .map(|r| r.text)
            .collect();
        let expected: Vec<String> = (0..10).map(|n| format!("job {n} for {user}")).collect();
        let answered: Vec<String> = replies
            .iter()
            .map(|text| text.split(": ").nth(1).unwrap_or_default().to_owned())
            .collect();
        assert_eq!(
            answered, expected,
            "{user}: lost, duplicated or reordered replies"
        );
    }
    drop(daemon);
}

#[test]
fn demo_starts_without_an_account_and_logs_traffic_within_5_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let started = Instant::now();
    let daemon = Daemon::start(
        &[
            "--data-dir",
            &data,
            "--port",
            "0",
            "--mcp-port",
            "0",
            "demo",
        ],
        &[("DINGBRIDGE_CONFIG", "/nonexistent/config.toml")],
    );
    let line = daemon.wait_for_log("message received", Duration::from_secs(5));
    assert!(line.is_some(), "no traffic in the logs within 5 s");
    assert!(started.elapsed() < Duration::from_secs(6));
    let replied = daemon.wait_for_log("reply sent", Duration::from_secs(5));
    assert!(replied.is_some(), "the demo agent never answered");
    let status: serde_json::Value =
        http_get::json(&format!("{}api/status", daemon.dashboard), &daemon.cookie);
    assert_eq!(status["mode"], "demo");
    assert!(status["counters"]["received"].as_u64().unwrap() >= 1);
}

#[test]
fn the_opencode_setup_shows_the_exact_configs_for_the_running_mcp_server() {
    // The MCP server keeps its token in the keychain.
    if support::keychain_service("settings-data").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let daemon = Daemon::start(
        &[
            "--data-dir",
            &data,
            "--port",
            "0",
            "--mcp-port",
            "0",
            "demo",
        ],
        &[("DINGBRIDGE_CONFIG", "/nonexistent/config.toml")],
    );
    let settings = http_get::json(&format!("{}api/settings", daemon.dashboard), &daemon.cookie);
    let setup = http_get::json(
        &format!("{}api/opencode-setup", daemon.dashboard),
        &daemon.cookie,
    );
    assert_eq!(setup["local"]["type"], "local");
    let helper = setup["local"]["command"][0].as_str().unwrap();
    assert!(helper.ends_with("dingbridge-mcp"), "{helper}");
    let remote = &setup["remote"];
    let url = remote["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );
    assert_eq!(settings["mcp"]["url"].as_str(), Some(url));
    assert_eq!(remote["oauth"], false);
    assert_eq!(
        remote["headers"]["Authorization"],
        "Bearer {env:DINGBRIDGE_TOKEN}"
    );
    assert!(
        !settings.to_string().contains("dbm_") && !setup.to_string().contains("dbm_"),
        "a token leaked into the settings data"
    );
}

#[test]
fn sigterm_drains_and_exits_cleanly_with_a_log_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let daemon = Daemon::start(
        &["--data-dir", &data, "--port", "0", "demo"],
        &[("DINGBRIDGE_CONFIG", "/nonexistent/config.toml")],
    );
    assert!(
        daemon
            .wait_for_log("message received", Duration::from_secs(5))
            .is_some()
    );
    let (status, lines) = daemon.terminate(Duration::from_secs(15));
    let status = status.expect("dingbridged exited after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        lines.iter().any(|l| l.contains("stopped cleanly")),
        "{lines:?}"
    );
    let logs: Vec<_> = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .collect();
    assert!(!logs.is_empty(), "no log file in the data dir");
}

#[test]
fn serve_without_credentials_explains_how_to_configure_them() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["--data-dir", &dir.path().display().to_string(), "serve"])
        .env("DINGBRIDGE_CONFIG", "/nonexistent/config.toml")
        .env_remove("DINGTALK_CLIENT_ID")
        .env_remove("DINGTALK_CLIENT_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DINGTALK_CLIENT_ID") && stderr.contains("DINGTALK_CLIENT_SECRET"),
        "{stderr}"
    );
}

mod http_get {
    use std::io::{Read, Write};

    /// Opens the one-time login URL; returns the dashboard's base URL and the session cookie (`name=value`).
    pub fn login(url: &str) -> (String, String) {
        let (host, path) = split(url);
        let response = request(host, path, "");
        let cookie = response
            .lines()
            .find_map(|line| line.strip_prefix("set-cookie: "))
            .and_then(|value| value.split(';').next())
            .expect("the login URL sets the session cookie")
            .to_owned();
        (format!("http://{host}/"), cookie)
    }

    /// Tiny blocking GET for a loopback JSON endpoint (keeps the test free of a second runtime).
    pub fn json(url: &str, cookie: &str) -> serde_json::Value {
        let (host, path) = split(url);
        let response = request(host, path, &format!("Cookie: {cookie}\r\n"));
        let body = response.split_once("\r\n\r\n").unwrap().1;
        serde_json::from_str(body).unwrap()
    }

    fn split(url: &str) -> (&str, &str) {
        url.strip_prefix("http://")
            .unwrap()
            .split_once('/')
            .unwrap()
    }

    fn request(host: &str, path: &str, headers: &str) -> String {
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(
            stream,
            "GET /{path} HTTP/1.1\r\nHost: {host}\r\n{headers}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}
