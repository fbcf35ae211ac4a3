//! The dashboard's conversation API over real sockets: a real engine on `dingtalk-sim` with the echo agent,
//! the real router behind the login. What the dashboard (or any client with the cookie) observes.

use std::sync::Arc;
use std::time::Duration;

use dingbridge_core::agent::EchoAgent;
use dingbridge_core::api::http::{router, serve};
use dingbridge_core::api::{DashboardAuth, DashboardHost};
use dingbridge_core::config::Config;
use dingbridge_core::mcp::McpToken;
use dingbridge_core::secrets::MemorySecretStore;
use dingbridge_core::settings::{
    Mode, OpenCodeIntegration, Runtime, SettingsError, SettingsService,
};
use dingbridge_core::{Credentials, Engine, EngineOptions};
use dingtalk_sim::{ArmedAnswer, ConversationType, InjectContent, InjectMessage, Sim, SimConfig};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use secrecy::SecretString;
use serde_json::{Value, json};

const SECRET: &str = "sim-secret-value";
const GROUP: &str = "cidTestGroup+a/b==";

struct TestHost {
    engine: Engine,
    settings: Arc<SettingsService>,
    opencode: OpenCodeIntegration,
}

#[async_trait::async_trait]
impl DashboardHost for TestHost {
    fn engine(&self) -> Option<Engine> {
        Some(self.engine.clone())
    }
    fn runtime(&self) -> Runtime {
        Runtime {
            mode: Mode::Real,
            mcp_url: None,
        }
    }
    fn settings(&self) -> Arc<SettingsService> {
        self.settings.clone()
    }
    fn opencode(&self) -> OpenCodeIntegration {
        self.opencode.clone()
    }
    fn mcp_token(&self) -> Option<Arc<McpToken>> {
        None
    }
    async fn apply(&self, _config: Config) -> Result<(), SettingsError> {
        Ok(())
    }
}

struct Dashboard {
    base: String,
    cookie: String,
    http: reqwest::Client,
    sim: Sim,
    _dir: tempfile::TempDir,
}

async fn dashboard() -> Dashboard {
    let sim = Sim::start(SimConfig::default().with_credentials("sim-client", SECRET))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.dingtalk.api_base = sim.base_url();
    config.dingtalk.oapi_base = sim.base_url();
    config.access.allowed_staff_ids = vec!["*".into()];
    config.access.allowed_groups = vec!["*".into()];
    let engine = Engine::start(EngineOptions {
        mode: "test".into(),
        config,
        data_dir: dir.path().join("data"),
        credentials: Some(Credentials {
            client_id: "sim-client".into(),
            client_secret: SecretString::from(SECRET),
        }),
        agent: Arc::new(EchoAgent::new(Duration::ZERO)).into(),
    })
    .await
    .unwrap();
    let store = Arc::new(MemorySecretStore::default());
    let host = Arc::new(TestHost {
        engine,
        settings: Arc::new(SettingsService::new(
            dir.path().join("settings.toml"),
            store.clone(),
            "memory",
        )),
        opencode: OpenCodeIntegration::new(dir.path().join("opencode"), None),
    });
    let auth = Arc::new(DashboardAuth::from_store(store.as_ref()));
    let (addr, _task) = serve(router(host, auth.clone(), None), 0, std::future::pending())
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = http.get(auth.login_url(addr)).send().await.unwrap();
    let cookie = login.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    Dashboard {
        base: format!("http://{addr}"),
        cookie,
        http,
        sim,
        _dir: dir,
    }
}

fn group_message(text: &str) -> InjectMessage {
    InjectMessage {
        conversation_id: GROUP.into(),
        conversation_type: ConversationType::Group,
        conversation_title: Some("Release crew".into()),
        sender_staff_id: "alice01".into(),
        sender_nick: "Alice".into(),
        content: InjectContent::Text(text.into()),
        at_bot: true,
        quote: None,
        file_body: None,
    }
}

fn direct_message(staff: &str, text: &str) -> InjectMessage {
    InjectMessage {
        conversation_id: String::new(),
        conversation_type: ConversationType::Single,
        conversation_title: None,
        sender_staff_id: staff.into(),
        sender_nick: format!("Nick {staff}"),
        content: InjectContent::Text(text.into()),
        at_bot: true,
        quote: None,
        file_body: None,
    }
}

fn path_of(conversation_id: &str) -> String {
    // Conversation ids carry `/`, `+` and `=`: one percent-encoded path segment.
    let mut out = String::new();
    for byte in conversation_id.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("/api/conversations/{out}")
}

impl Dashboard {
    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, path: &str, body: Value, csrf: bool) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .json(&body);
        if csrf {
            request = request.header("X-DingBridge-Request", "1");
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Polls the conversation view until `done` holds (generous: the machine is loaded).
    async fn view_until(&self, conversation_id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self.get(&path_of(conversation_id)).await;
            if status == StatusCode::OK && done(&body) {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "conversation view never got there: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn states(view: &Value) -> Vec<(String, String)> {
    view["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().unwrap().to_owned(),
                m["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_list_counts_searches_and_filters_conversations_from_the_store() {
    let dashboard = dashboard().await;
    for n in 0..5 {
        dashboard
            .sim
            .inject(direct_message(&format!("user{n}"), "hello"));
    }
    dashboard.sim.inject(group_message("hi all"));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let page = loop {
        let (status, page) = dashboard.get("/api/conversations?limit=2").await;
        assert_eq!(status, StatusCode::OK);
        if page["total"] == 6 {
            break page;
        }
        assert!(std::time::Instant::now() < deadline, "{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (_, found) = dashboard.get("/api/conversations?q=release%20CREW").await;
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["conversation_id"], GROUP);
    assert_eq!(found["items"][0]["person"], "Alice");
    let (_, by_person) = dashboard.get("/api/conversations?q=Nick%20user3").await;
    assert_eq!(by_person["total"], 1);
    let (_, groups) = dashboard.get("/api/conversations?filter=group").await;
    assert_eq!(groups["total"], 1);
    let (_, singles) = dashboard.get("/api/conversations?filter=single").await;
    assert_eq!(singles["total"], 5);
}

#[tokio::test]
async fn an_unknown_filter_or_conversation_is_a_clear_error() {
    let dashboard = dashboard().await;
    let (status, body) = dashboard.get("/api/conversations?filter=everything").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "INVALID");
    let (status, body) = dashboard.get(&path_of("cidUnknown+/=")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "NOT_FOUND");
}

#[tokio::test]
async fn the_view_shows_messages_in_order_with_the_delivery_of_each_reply() {
    let dashboard = dashboard().await;
    dashboard.sim.inject(group_message("first"));
    dashboard
        .view_until(GROUP, |v| {
            states(v) == [("in".into(), "done".into()), ("out".into(), "sent".into())]
        })
        .await;
    dashboard.sim.inject(group_message("second"));
    let view = dashboard
        .view_until(GROUP, |v| states(v).len() == 4 && states(v)[3].1 == "sent")
        .await;
    let messages = view["messages"].as_array().unwrap();
    assert_eq!(messages[0]["text"], "first");
    assert_eq!(messages[0]["sender"], "Alice");
    assert_eq!(messages[2]["text"], "second");
    assert_eq!(messages[1]["channel"], "webhook");
    assert_eq!(messages[1]["reply_to"], messages[0]["id"]);
    assert_eq!(view["agent"]["state"], "idle");
    assert_eq!(view["limits"]["sent_in_window"], 2);
    assert_eq!(view["limits"]["queue_depth"], 0);
    assert_eq!(view["conversation"]["title"], "Release crew");
}

#[tokio::test]
async fn a_refused_send_shows_dingtalks_reason_and_retry_sends_it_once() {
    let dashboard = dashboard().await;
    dashboard
        .sim
        .faults()
        .arm_webhook(ArmedAnswer::errcode(430_101), 1);
    dashboard.sim.inject(group_message("a question"));
    let view = dashboard
        .view_until(GROUP, |v| states(v).get(1).is_some_and(|s| s.1 == "failed"))
        .await;
    let failed = &view["messages"][1];
    assert!(
        failed["error"].as_str().unwrap().contains("430101"),
        "{failed}"
    );
    assert_eq!(view["conversation"]["failed"], 1);
    let outbox_id = failed["outbox_id"].as_i64().unwrap();

    // Without the CSRF header nothing happens.
    let (status, _) = dashboard
        .post(
            &format!("{}/retry", path_of(GROUP)),
            json!({"outbox_id": outbox_id}),
            false,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(dashboard.sim.received(GROUP).is_empty());

    let (status, body) = dashboard
        .post(
            &format!("{}/retry", path_of(GROUP)),
            json!({"outbox_id": outbox_id}),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "retried");
    dashboard
        .view_until(GROUP, |v| states(v).get(1).is_some_and(|s| s.1 == "sent"))
        .await;
    assert_eq!(dashboard.sim.received(GROUP).len(), 1);
    // A second retry of the same row finds nothing failed to retry.
    let (status, body) = dashboard
        .post(
            &format!("{}/retry", path_of(GROUP)),
            json!({"outbox_id": outbox_id}),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(dashboard.sim.received(GROUP).len(), 1);
}

#[tokio::test]
async fn stop_and_new_session_answer_for_a_known_conversation_only() {
    let dashboard = dashboard().await;
    dashboard.sim.inject(group_message("hello"));
    dashboard.view_until(GROUP, |v| states(v).len() == 2).await;
    let (status, body) = dashboard
        .post(&format!("{}/stop", path_of(GROUP)), json!({}), true)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "nothing_running");
    let (status, body) = dashboard
        .post(&format!("{}/new-session", path_of(GROUP)), json!({}), true)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["outcome"], "new_session");
    let (status, _) = dashboard
        .post(&format!("{}/stop", path_of("cidNobody")), json!({}), true)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
