//! The dashboard's HTTP API behind its login, over real sockets: a real engine on `dingtalk-sim`, the real
//! router, a real settings file. What a browser (or any other local process) observes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use dingbridge_core::agent::EchoAgent;
use dingbridge_core::api::http::{router, serve};
use dingbridge_core::api::{DashboardAuth, DashboardHost};
use dingbridge_core::config::Config;
use dingbridge_core::mcp::McpToken;
use dingbridge_core::secrets::{CLIENT_SECRET, MemorySecretStore};
use dingbridge_core::settings::{
    Mode, OpenCodeIntegration, Runtime, SettingsError, SettingsService,
};
use dingbridge_core::{AgentSpec, Credentials, Engine, EngineOptions};
use dingtalk_sim::{Sim, SimConfig};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

const SECRET: &str = "sim-secret-value";

struct TestHost {
    engine: Engine,
    settings: Arc<SettingsService>,
    opencode: OpenCodeIntegration,
    token: Arc<McpToken>,
    applied: Mutex<Vec<Config>>,
}

#[async_trait::async_trait]
impl DashboardHost for TestHost {
    fn engine(&self) -> Option<Engine> {
        Some(self.engine.clone())
    }
    fn runtime(&self) -> Runtime {
        Runtime {
            mode: Mode::Real,
            mcp_url: Some("http://127.0.0.1:8766/mcp".into()),
        }
    }
    fn settings(&self) -> Arc<SettingsService> {
        self.settings.clone()
    }
    fn opencode(&self) -> OpenCodeIntegration {
        self.opencode.clone()
    }
    fn mcp_token(&self) -> Option<Arc<McpToken>> {
        Some(self.token.clone())
    }
    async fn apply(&self, config: Config) -> Result<(), SettingsError> {
        self.applied.lock().unwrap().push(config);
        Ok(())
    }
}

struct Dashboard {
    base: String,
    login_url: String,
    auth: Arc<DashboardAuth>,
    addr: std::net::SocketAddr,
    host: Arc<TestHost>,
    config_path: std::path::PathBuf,
    http: reqwest::Client,
    _sim: Sim,
    _dir: tempfile::TempDir,
}

async fn dashboard() -> Dashboard {
    dashboard_with(|_| Arc::new(EchoAgent::new(Duration::ZERO)).into()).await
}

/// The dashboard over an engine whose agent `agent` makes from the engine's settings and a scratch dir.
async fn dashboard_with(agent: impl FnOnce(&std::path::Path) -> AgentSpec) -> Dashboard {
    let sim = Sim::start(SimConfig::default().with_credentials("sim-client", SECRET))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.dingtalk.api_base = sim.base_url();
    config.dingtalk.oapi_base = sim.base_url();
    let engine = Engine::start(EngineOptions {
        mode: "test".into(),
        config,
        data_dir: dir.path().join("data"),
        credentials: Some(Credentials {
            client_id: "sim-client".into(),
            client_secret: SecretString::from(SECRET),
        }),
        agent: agent(dir.path()),
    })
    .await
    .unwrap();
    let config_path = dir.path().join("config").join("settings.toml");
    let store = Arc::new(MemorySecretStore::default());
    let host = Arc::new(TestHost {
        engine,
        settings: Arc::new(SettingsService::new(&config_path, store.clone(), "memory")),
        opencode: OpenCodeIntegration::new(dir.path().join("opencode"), None),
        token: Arc::new(McpToken::fixed(SecretString::from("dbm_test"))),
        applied: Mutex::new(Vec::new()),
    });
    let auth = Arc::new(DashboardAuth::from_store(store.as_ref()));
    let app = router(host.clone(), auth.clone(), None);
    let (addr, _task) = serve(app, 0, std::future::pending()).await.unwrap();
    Dashboard {
        base: format!("http://{addr}"),
        login_url: auth.login_url(addr),
        auth,
        addr,
        host,
        config_path,
        // No redirects: the login's 303 and its Set-Cookie are what is under test.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        _sim: sim,
        _dir: dir,
    }
}

impl Dashboard {
    async fn get_json(&self, cookie: &str, path: &str) -> Value {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.json().await.unwrap()
    }

    async fn post(&self, cookie: &str, path: &str, csrf: bool) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, cookie);
        if csrf {
            request = request.header("X-DingBridge-Request", "1");
        }
        request.send().await.unwrap()
    }

    /// Opens the login URL and returns the session cookie (`name=value`).
    async fn login(&self) -> String {
        let response = self.http.get(&self.login_url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/");
        let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        cookie.split(';').next().unwrap().to_owned()
    }

    async fn put_settings(&self, cookie: &str, change: Value, csrf: bool) -> reqwest::Response {
        let mut request = self
            .http
            .put(format!("{}/api/settings", self.base))
            .header(COOKIE, cookie)
            .json(&json!({ "change": change }));
        if csrf {
            request = request.header("X-DingBridge-Request", "1");
        }
        request.send().await.unwrap()
    }
}

#[tokio::test]
async fn without_the_cookie_status_events_conversations_and_settings_answer_401() {
    let dashboard = dashboard().await;
    for path in [
        "/api/status",
        "/api/events",
        "/api/conversations",
        "/api/conversations/cid%2Fsome%2Bid",
        "/api/settings",
    ] {
        let response = dashboard
            .http
            .get(format!("{}{path}", dashboard.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "UNAUTHORIZED", "{path}");
    }
}

#[tokio::test]
async fn after_the_login_url_status_events_conversations_and_settings_answer_200() {
    let dashboard = dashboard().await;
    let cookie = dashboard.login().await;
    for path in [
        "/api/status",
        "/api/events",
        "/api/conversations",
        "/api/settings",
    ] {
        let response = dashboard
            .http
            .get(format!("{}{path}", dashboard.base))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_login_code_works_only_once() {
    let dashboard = dashboard().await;
    dashboard.login().await;
    let again = dashboard
        .http
        .get(&dashboard.login_url)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert!(again.headers().get(SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_new_login_code_replaces_the_printed_one() {
    let dashboard = dashboard().await;
    let fresh = dashboard.auth.login_url(dashboard.addr);
    let stale = dashboard
        .http
        .get(&dashboard.login_url)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::UNAUTHORIZED);
    let ok = dashboard.http.get(&fresh).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_put_without_the_csrf_header_is_forbidden_and_changes_nothing() {
    let dashboard = dashboard().await;
    let cookie = dashboard.login().await;
    let response = dashboard
        .put_settings(&cookie, json!({"ui": {"language": "zh-CN"}}), false)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "FORBIDDEN");
    assert!(!dashboard.config_path.exists());
}

#[tokio::test]
async fn saving_an_invalid_port_answers_invalid_settings_naming_the_field() {
    let dashboard = dashboard().await;
    let cookie = dashboard.login().await;
    let response = dashboard
        .put_settings(&cookie, json!({"mcp": {"port": 70000}}), true)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "INVALID_SETTINGS");
    assert_eq!(body["fields"][0]["field"], "mcp.port");
    assert!(dashboard.host.applied.lock().unwrap().is_empty());
}

#[tokio::test]
async fn saving_keeps_the_users_comment_and_puts_no_secret_in_the_file() {
    let dashboard = dashboard().await;
    std::fs::create_dir_all(dashboard.config_path.parent().unwrap()).unwrap();
    std::fs::write(
        &dashboard.config_path,
        "# my DingBridge settings\n[access]\nallowed_staff_ids = [\"alice\"] # the team lead\n",
    )
    .unwrap();
    let cookie = dashboard.login().await;
    let response = dashboard
        .put_settings(
            &cookie,
            json!({
                "dingtalk": {"client_id": "dingnewapp", "client_secret": {"set": "top-secret-value"}},
                "access": {"allowed_staff_ids": ["alice", "bob"]},
            }),
            true,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(!text.contains("top-secret-value"));
    let view: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(view["dingtalk"]["client_secret_set"], true);
    assert_eq!(view["dingtalk"]["client_id"], "dingnewapp");

    let file = std::fs::read_to_string(&dashboard.config_path).unwrap();
    assert!(file.starts_with("# my DingBridge settings\n"));
    assert!(file.contains("allowed_staff_ids = [\"alice\", \"bob\"] # the team lead"));
    assert!(!file.contains("top-secret-value"));
    let stored = dashboard
        .host
        .settings
        .secrets()
        .get(CLIENT_SECRET)
        .unwrap();
    assert_eq!(stored.unwrap().expose_secret(), "top-secret-value");
    assert_eq!(dashboard.host.applied.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_page_without_the_cookie_says_to_open_the_login_url() {
    let dashboard = dashboard().await;
    let response = dashboard
        .http
        .get(format!("{}/index.html", dashboard.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.text().await.unwrap().contains("login URL"));
}

#[tokio::test]
async fn live_event_streams_past_the_cap_get_503_and_a_closed_one_frees_its_place() {
    use dingbridge_core::api::http::MAX_EVENT_SUBSCRIBERS;
    let dashboard = dashboard().await;
    let cookie = dashboard.login().await;
    let open = || async {
        dashboard
            .http
            .get(format!("{}/api/events", dashboard.base))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap()
    };
    let mut streams = Vec::new();
    for _ in 0..MAX_EVENT_SUBSCRIBERS {
        let response = open().await;
        assert_eq!(response.status(), StatusCode::OK);
        streams.push(response);
    }
    let refused = open().await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key(reqwest::header::RETRY_AFTER));
    // A tab closes: its place is free again once the server notices the stream is gone.
    drop(streams.pop());
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    // The server notices at its next write at the latest (keep-alive comments every 5 s).
    for _ in 0..300 {
        let response = open().await;
        status = response.status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, StatusCode::OK);
}

/// Managed mode (no OpenCode URL) with one project, `app`, and an OpenCode program that does not exist.
fn managed_without_opencode(dir: &std::path::Path) -> AgentSpec {
    let project = dir.join("app");
    std::fs::create_dir_all(&project).unwrap();
    let mut settings = Config::default().agent;
    settings.projects = vec![dingbridge_core::config::ProjectSettings {
        name: "app".into(),
        path: project.display().to_string(),
    }];
    settings.opencode_bin = Some(dir.join("no-such-opencode").display().to_string());
    AgentSpec::from_settings(&settings, Duration::ZERO)
}

#[tokio::test]
async fn without_opencode_installed_the_status_names_the_install_command() {
    let dashboard = dashboard_with(managed_without_opencode).await;
    let cookie = dashboard.login().await;
    let status = dashboard.get_json(&cookie, "/api/status").await;
    let servers = status["agent_servers"].as_array().unwrap();
    assert_eq!(servers.len(), 1, "{status}");
    assert_eq!(servers[0]["project"], "app");
    assert_eq!(servers[0]["state"], "not_installed");
    let error = servers[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("npm i -g opencode-ai"), "{error}");
    assert!(error.contains("no-such-opencode"), "{error}");
}

#[tokio::test]
async fn starting_a_managed_server_needs_the_csrf_header_and_answers_its_status() {
    let dashboard = dashboard_with(managed_without_opencode).await;
    let cookie = dashboard.login().await;
    let refused = dashboard
        .post(&cookie, "/api/agent-servers/app/start", false)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let started = dashboard
        .post(&cookie, "/api/agent-servers/app/start", true)
        .await;
    assert_eq!(started.status(), StatusCode::OK);
    let server: Value = started.json().await.unwrap();
    assert_eq!(server["project"], "app", "{server}");
    // The start ends at once in "not installed" (no process, no restart loop).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let server = loop {
        let status = dashboard.get_json(&cookie, "/api/status").await;
        let server = status["agent_servers"][0].clone();
        if server["state"] == "not_installed" || std::time::Instant::now() > deadline {
            break server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(server["state"], "not_installed", "{server}");
    assert_eq!(server["restarts"], 0, "{server}");
    assert!(server["pid"].is_null(), "{server}");
}

#[tokio::test]
async fn an_unknown_project_or_action_is_refused_naming_the_field() {
    let dashboard = dashboard_with(managed_without_opencode).await;
    let cookie = dashboard.login().await;
    for (path, field, code) in [
        (
            "/api/agent-servers/nope/start",
            "project",
            "UNKNOWN_PROJECT",
        ),
        ("/api/agent-servers/app/explode", "action", "UNKNOWN_ACTION"),
    ] {
        let response = dashboard.post(&cookie, path, true).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["fields"][0]["field"], field, "{body}");
        assert_eq!(body["fields"][0]["code"], code, "{body}");
    }
}

#[tokio::test]
async fn with_an_agent_of_its_own_there_is_no_managed_server_to_start() {
    let dashboard = dashboard().await;
    let cookie = dashboard.login().await;
    let status = dashboard.get_json(&cookie, "/api/status").await;
    assert_eq!(status["agent_servers"], json!([]));
    let response = dashboard
        .post(&cookie, "/api/agent-servers/app/start", true)
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["fields"][0]["code"], "NOT_MANAGED", "{body}");
}

#[tokio::test]
async fn with_an_opencode_url_configured_dingbridge_runs_no_opencode_of_its_own() {
    let dashboard = dashboard_with(|dir| {
        let mut settings = Config::default().agent;
        settings.opencode_url = "http://127.0.0.1:4096".into();
        // Even with projects and a program named, an external server means nothing is started here.
        settings.projects = vec![dingbridge_core::config::ProjectSettings {
            name: "app".into(),
            path: dir.display().to_string(),
        }];
        settings.opencode_bin = Some("/bin/true".into());
        AgentSpec::from_settings(&settings, Duration::ZERO)
    })
    .await;
    assert!(dashboard.host.engine.managed().is_none());
    let cookie = dashboard.login().await;
    let status = dashboard.get_json(&cookie, "/api/status").await;
    assert_eq!(status["agent_servers"], json!([]));
    let response = dashboard
        .post(&cookie, "/api/agent-servers/app/start", true)
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["fields"][0]["code"], "NOT_MANAGED", "{body}");
}
