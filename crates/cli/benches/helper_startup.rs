//! Start-up of the `dingbridge-mcp` stdio helper: spawn → first JSON-RPC answer (to `initialize`) on stdout,
//! and stdin EOF → process exit, against a running `dingbridged demo`.
//!
//! `cargo bench -p dingbridge-cli --bench helper_startup` (release binaries; 30 runs).

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 30;
const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#;

fn percentile(values: &mut [Duration], p: f64) -> Duration {
    values.sort();
    values[((values.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime_file = dir.path().join("runtime.json");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_dingbridged"))
        .args([
            "--data-dir",
            &dir.path().display().to_string(),
            "--port",
            "0",
            "--mcp-port",
            "0",
            "demo",
        ])
        .env("DINGBRIDGE_CONFIG", dir.path().join("none.toml"))
        .env("DINGBRIDGE_RUNTIME_FILE", &runtime_file)
        .env("DINGBRIDGE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dingbridged starts");
    let mut lines = BufReader::new(daemon.stdout.take().expect("stdout")).lines();
    while let Some(Ok(line)) = lines.next() {
        if line.starts_with("DINGBRIDGE_MCP_URL=") {
            break;
        }
    }

    let mut first_answer = Vec::new();
    let mut exit_after_eof = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let mut helper = Command::new(env!("CARGO_BIN_EXE_dingbridge-mcp"))
            .env("DINGBRIDGE_RUNTIME_FILE", &runtime_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dingbridge-mcp starts");
        let mut stdin = helper.stdin.take().expect("stdin");
        writeln!(stdin, "{INITIALIZE}").expect("write initialize");
        let mut out = BufReader::new(helper.stdout.take().expect("stdout"));
        let mut answer = String::new();
        out.read_line(&mut answer).expect("answer");
        first_answer.push(started.elapsed());
        assert!(answer.contains("\"result\""), "unexpected answer: {answer}");
        let closing = Instant::now();
        drop(stdin);
        helper.wait().expect("helper exits");
        exit_after_eof.push(closing.elapsed());
    }
    let _ = daemon.kill();
    let _ = daemon.wait();

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "dingbridge-mcp spawn → first answer over {RUNS} runs: p50 {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(percentile(&mut first_answer, 0.5)),
        ms(percentile(&mut first_answer, 0.9)),
        ms(percentile(&mut first_answer, 1.0)),
    );
    println!(
        "stdin EOF → exit: p50 {:.1} ms, max {:.1} ms",
        ms(percentile(&mut exit_after_eof, 0.5)),
        ms(percentile(&mut exit_after_eof, 1.0)),
    );
}
