//! Shared by the process tests that need the OS keychain: a service name of the test's own (so parallel
//! tests and the developer's real entries never meet) and a `dingbridged` started with it.
#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dingbridge_core::secrets::{KeychainSecretStore, SecretStore};

pub const DAEMON: &str = env!("CARGO_BIN_EXE_dingbridged");

/// Every variable that could feed a secret or a setting from the developer's environment.
const SCRUBBED: [&str; 8] = [
    "DINGTALK_CLIENT_ID",
    "DINGTALK_CLIENT_SECRET",
    "OPENCODE_SERVER_PASSWORD",
    "DINGBRIDGE_TOKEN",
    "DINGBRIDGE_MCP_URL",
    "DINGBRIDGE_RUNTIME_FILE",
    "DINGBRIDGE_DATA_DIR",
    "DINGBRIDGE_CONFIG",
];

/// A keychain service for `test`, or `None` (skip) when no keychain is reachable and the run does not
/// require one (`DINGBRIDGE_KEYCHAIN_TESTS=1`, set by scripts/test, turns that into a failure).
pub fn keychain_service(test: &str) -> Option<String> {
    let service = format!("dingbridge-test-{}-{test}", std::process::id());
    match KeychainSecretStore::platform(service.as_str()).check() {
        Ok(()) => Some(service),
        Err(err) if std::env::var("DINGBRIDGE_KEYCHAIN_TESTS").as_deref() == Ok("1") => {
            panic!("DINGBRIDGE_KEYCHAIN_TESTS=1 but the keychain is not reachable: {err}")
        }
        Err(err) => {
            eprintln!(
                "skipping {test}: no reachable keychain ({err}); run it through scripts/with-keychain"
            );
            None
        }
    }
}

/// The value stored under `service`/`account`, read straight from the keychain.
pub fn stored(service: &str, account: &str) -> Option<String> {
    use secrecy::ExposeSecret;
    KeychainSecretStore::platform(service)
        .get(account)
        .unwrap()
        .map(|value| value.expose_secret().to_owned())
}

/// `dingbridged <args>` with a clean environment plus `envs`, stdin fed from `stdin`.
pub fn dingbridged(service: &str, args: &[&str], envs: &[(&str, &str)], stdin: &str) -> Output {
    use std::io::Write;
    let mut command = Command::new(DAEMON);
    for name in SCRUBBED {
        command.env_remove(name);
    }
    let mut child = command
        .args(args)
        .env("DINGBRIDGE_KEYCHAIN_SERVICE", service)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dingbridged starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

pub struct Daemon {
    pub child: Child,
    pub stdout_lines: mpsc::Receiver<String>,
    pub stderr_lines: mpsc::Receiver<String>,
}

impl Daemon {
    /// Starts a long-running `dingbridged <args>` with the test's keychain service.
    pub fn start(service: &str, args: &[&str], envs: &[(&str, &str)]) -> Daemon {
        let mut command = Command::new(DAEMON);
        for name in SCRUBBED {
            command.env_remove(name);
        }
        let mut child = command
            .args(args)
            .env("DINGBRIDGE_KEYCHAIN_SERVICE", service)
            .env("DINGBRIDGE_LOG", "info")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dingbridged starts");
        let stdout_lines = lines(child.stdout.take().unwrap());
        let stderr_lines = lines(child.stderr.take().unwrap());
        Daemon {
            child,
            stdout_lines,
            stderr_lines,
        }
    }

    /// The value of the first `KEY=value` line on stdout.
    pub fn wait_for_line(&self, key: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let line = self
                .stdout_lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("dingbridged printed no {key} line"));
            if let Some(value) = line.strip_prefix(&format!("{key}=")) {
                return value.to_owned();
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// Every file under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.map_while(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path)
            && bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        {
            found.push(path.display().to_string());
        }
    }
    found
}

/// Status of `POST <url>` with an MCP initialize request and `token` as bearer.
pub fn mcp_status(url: &str, token: &str) -> u16 {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#;
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    std::str::from_utf8(&head[9..12]).unwrap().parse().unwrap()
}
