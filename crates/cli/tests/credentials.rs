//! `dingbridged credentials …`, `mcp-token` and the one-engine-per-data-dir lock as a user runs them: real
//! processes, a real Secret Service (scripts/with-keychain), the simulator as DingTalk.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use dingbridge_core::secrets::{CLIENT_SECRET, MCP_TOKEN, OPENCODE_PASSWORD};
use dingtalk_sim::{InjectMessage, Sim, SimConfig, one_to_one_conversation_id};
use support::{Daemon, dingbridged, files_containing, keychain_service, mcp_status, stored};

const CLIENT_ID: &str = "keychain-app";

fn test_secret(test: &str) -> String {
    format!("kc-secret-{test}-{}", std::process::id())
}

fn write_config(dir: &Path, sim: &Sim) -> String {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "# my DingBridge settings\n[dingtalk]\napi_base = \"{base}\" # the simulator\noapi_base = \"{base}\"\n\n[agent]\nbackend = \"echo\"\n\n[access]\nallowed_staff_ids = [\"*\"]\n",
            base = sim.base_url()
        ),
    )
    .unwrap();
    path.display().to_string()
}

async fn sim_with(secret: &str) -> Sim {
    Sim::start(SimConfig::default().with_credentials(CLIENT_ID, secret))
        .await
        .unwrap()
}

/// `credentials set --client-id` with the secret on stdin; panics unless it succeeded.
fn set_credentials(service: &str, config: &str, data: &str, secret: &str) {
    let out = dingbridged(
        service,
        &[
            "--config",
            config,
            "--data-dir",
            data,
            "credentials",
            "set",
            "--client-id",
            CLIENT_ID,
        ],
        &[],
        &format!("{secret}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `credentials set`, then `serve` with no secret in the environment, until the simulator saw a reply.
async fn real_mode_run(test: &str, service: &str, dir: &Path) -> (Sim, String) {
    let secret = test_secret(test);
    let sim = sim_with(&secret).await;
    let config = write_config(dir, &sim);
    let data = dir.join("data").display().to_string();
    set_credentials(service, &config, &data, &secret);
    let daemon = Daemon::start(
        service,
        &[
            "--config",
            &config,
            "--data-dir",
            &data,
            "--port",
            "0",
            "--mcp-port",
            "0",
            "serve",
        ],
        &[],
    );
    daemon.wait_for_line("DINGBRIDGE_DASHBOARD_URL", Duration::from_secs(20));
    sim.inject(InjectMessage::text_1to1("alice", "Alice", "hello bridge"));
    let conversation = one_to_one_conversation_id("alice");
    let deadline = Instant::now() + Duration::from_secs(20);
    while sim.received(&conversation).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !sim.received(&conversation).is_empty(),
        "no reply through the simulator: serve did not connect with the keychain secret"
    );
    drop(daemon);
    (sim, secret)
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_set_then_serve_without_a_secret_in_env_connects_and_answers() {
    let Some(service) = keychain_service("serve") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (sim, secret) = real_mode_run("serve", &service, dir.path()).await;
    assert!(sim.stats().connections_opened >= 1);
    assert_eq!(
        stored(&service, CLIENT_SECRET).as_deref(),
        Some(secret.as_str())
    );
    let config = std::fs::read_to_string(dir.path().join("config.toml")).unwrap();
    assert!(
        config.contains(&format!("client_id = \"{CLIENT_ID}\"")),
        "{config}"
    );
    assert!(
        config.contains("# my DingBridge settings") && config.contains("# the simulator"),
        "the user's comments were lost: {config}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_real_mode_run_no_file_in_the_data_dir_config_or_logs_holds_the_secret() {
    let Some(service) = keychain_service("scan") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_sim, secret) = real_mode_run("scan", &service, dir.path()).await;
    let mcp_token = stored(&service, MCP_TOKEN).expect("the MCP token is in the keychain");
    // The temp dir holds the config file, the data dir, its logs and the runtime file.
    assert_eq!(files_containing(dir.path(), &secret), Vec::<String>::new());
    assert_eq!(
        files_containing(dir.path(), &mcp_token),
        Vec::<String>::new()
    );
}

#[test]
fn status_says_where_each_secret_comes_from_and_never_prints_a_value() {
    let Some(service) = keychain_service("status") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml").display().to_string();
    let data = dir.path().join("data").display().to_string();
    let secret = test_secret("status");
    set_credentials(&service, &config, &data, &secret);
    let out = dingbridged(
        &service,
        &[
            "--config",
            &config,
            "--data-dir",
            &data,
            "credentials",
            "status",
        ],
        &[("DINGBRIDGE_TOKEN", "dbm_from_env_value")],
        "",
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("client id: {CLIENT_ID}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("dingtalk-client-secret: set (keychain)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mcp-token: set (env DINGBRIDGE_TOKEN)"),
        "{stdout}"
    );
    assert!(stdout.contains("opencode-password: not set"), "{stdout}");
    let everything = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(!everything.contains(&secret) && !everything.contains("dbm_from_env_value"));
}

#[test]
fn the_opencode_password_is_read_from_stdin_into_the_keychain() {
    let Some(service) = keychain_service("opencode") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let out = dingbridged(
        &service,
        &[
            "--data-dir",
            &data,
            "credentials",
            "set",
            "--opencode-password",
        ],
        &[],
        "open-sesame\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stored(&service, OPENCODE_PASSWORD).as_deref(),
        Some("open-sesame")
    );
}

#[test]
fn clear_removes_the_secrets_from_the_keychain() {
    let Some(service) = keychain_service("clear") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml").display().to_string();
    let data = dir.path().join("data").display().to_string();
    set_credentials(&service, &config, &data, &test_secret("clear"));
    let out = dingbridged(
        &service,
        &[
            "--config",
            &config,
            "--data-dir",
            &data,
            "credentials",
            "clear",
        ],
        &[],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stored(&service, CLIENT_SECRET), None);
    let status = dingbridged(
        &service,
        &[
            "--config",
            &config,
            "--data-dir",
            &data,
            "credentials",
            "status",
        ],
        &[],
        "",
    );
    assert!(String::from_utf8_lossy(&status.stdout).contains("dingtalk-client-secret: not set"));
}

#[test]
fn status_without_a_reachable_keychain_fails_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let out = dingbridged(
        "dingbridge-test-no-keychain",
        &["--data-dir", &data, "credentials", "status"],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/dingbridge-test-bus",
        )],
        "",
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("KEYCHAIN_UNAVAILABLE"), "{stderr}");
    assert!(stderr.contains("DINGTALK_CLIENT_SECRET"), "{stderr}");
}

#[test]
fn a_second_daemon_on_the_same_data_dir_fails_naming_the_first() {
    let Some(service) = keychain_service("lock") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    let config = dir.path().join("none.toml").display().to_string();
    let args = [
        "--config",
        &config,
        "--data-dir",
        &data,
        "--port",
        "0",
        "--mcp-port",
        "0",
        "demo",
    ];
    let first = Daemon::start(&service, &args, &[]);
    first.wait_for_line("DINGBRIDGE_DASHBOARD_URL", Duration::from_secs(20));
    let second = dingbridged(&service, &args, &[], "");
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("DATA_DIR_IN_USE"), "{stderr}");
    assert!(
        stderr.contains(&format!("dingbridged, pid {}", first.child.id())),
        "{stderr}"
    );
    assert!(stderr.contains(&data), "{stderr}");
}

#[cfg(unix)]
#[test]
fn the_data_dir_is_private_and_the_database_and_logs_are_0600() {
    use std::os::unix::fs::PermissionsExt;
    let Some(service) = keychain_service("modes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.display().to_string();
    let config = dir.path().join("none.toml").display().to_string();
    let daemon = Daemon::start(
        &service,
        &[
            "--config",
            &config,
            "--data-dir",
            &data_arg,
            "--port",
            "0",
            "demo",
        ],
        &[],
    );
    daemon.wait_for_line("DINGBRIDGE_DASHBOARD_URL", Duration::from_secs(20));
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    let db = data.join("demo").join("dingbridge.db");
    for file in [
        db.clone(),
        db.with_extension("db-wal"),
        db.with_extension("db-shm"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    let logs: Vec<_> = std::fs::read_dir(data.join("logs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(!logs.is_empty());
    for log in logs {
        assert_eq!(mode(&log), 0o600, "{}", log.display());
    }
}

#[test]
fn rotating_the_token_revokes_the_old_one_on_the_running_daemon() {
    let Some(service) = keychain_service("rotate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data").display().to_string();
    let config = dir.path().join("none.toml").display().to_string();
    let daemon = Daemon::start(
        &service,
        &[
            "--config",
            &config,
            "--data-dir",
            &data,
            "--port",
            "0",
            "--mcp-port",
            "0",
            "demo",
        ],
        &[],
    );
    let url = daemon.wait_for_line("DINGBRIDGE_MCP_URL", Duration::from_secs(20));
    let token = |rotate: bool| {
        let mut args = vec!["--data-dir", data.as_str(), "mcp-token"];
        if rotate {
            args.push("--rotate");
        }
        let out = dingbridged(&service, &args, &[], "");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let old = token(false);
    assert_eq!(mcp_status(&url, &old), 200);
    let new = token(true);
    assert_ne!(old, new);
    // The daemon re-reads the keychain every second; allow a couple.
    let deadline = Instant::now() + Duration::from_secs(3);
    while mcp_status(&url, &old) != 401 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(mcp_status(&url, &old), 401, "the old token still works");
    assert_eq!(mcp_status(&url, &new), 200);
}

#[test]
fn rotation_is_refused_when_the_token_comes_from_the_environment() {
    // The environment wins before the keychain is asked, so no keychain is needed.
    let service = "dingbridge-test-rotate-env";
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let out = dingbridged(
        service,
        &["--data-dir", &data, "mcp-token", "--rotate"],
        &[("DINGBRIDGE_TOKEN", "dbm_fixed_by_env")],
        "",
    );
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "a token was printed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SECRET_FROM_ENV") && stderr.contains("DINGBRIDGE_TOKEN"),
        "{stderr}"
    );
}
