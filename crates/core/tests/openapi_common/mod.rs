//! Shared setup for the `openapi_*` tests: a real `dingtalk-sim` over loopback sockets and the core
//! OpenAPI stack (token manager, client, contacts, docs) pointed at it.
#![allow(dead_code)]

use std::time::Duration;

use dingbridge_core::config::DingTalkSettings;
use dingbridge_core::dingtalk::auth::{RefreshPolicy, TokenManager};
use dingbridge_core::dingtalk::contacts::{ContactsService, Directory};
use dingbridge_core::dingtalk::docs::{DocsService, OperatorRef};
use dingbridge_core::dingtalk::openapi::OpenApiClient;
use dingbridge_core::store::Store;
use dingbridge_core::{Credentials, Event, EventBus};
use dingtalk_sim::{Sim, SimConfig};
use secrecy::SecretString;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub struct Harness {
    pub sim: Sim,
    pub store: Store,
    pub events: EventBus,
    pub tokens: TokenManager,
    pub api: OpenApiClient,
    pub contacts: ContactsService,
    pub docs: DocsService,
    pub cancel: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Short retry delays so outage tests run in milliseconds.
pub fn fast_policy() -> RefreshPolicy {
    RefreshPolicy {
        retry_delays: [10, 20, 40, 80, 160].map(Duration::from_millis).to_vec(),
        degraded_retry: Duration::from_millis(50),
        ..RefreshPolicy::default()
    }
}

pub async fn harness() -> Harness {
    harness_with(SimConfig::default(), fast_policy(), None).await
}

/// `secret` overrides the (correct) client secret.
pub async fn harness_with(
    config: SimConfig,
    policy: RefreshPolicy,
    secret: Option<&str>,
) -> Harness {
    let sim = Sim::start(config).await.expect("sim starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store opens");
    let events = EventBus::default();
    let settings = DingTalkSettings {
        api_base: sim.base_url(),
        oapi_base: sim.base_url(),
        client_id: Some(sim.config().client_id.clone()),
        robot_code: None,
    };
    let credentials = Credentials {
        client_id: sim.config().client_id.clone(),
        client_secret: SecretString::from(secret.unwrap_or(&sim.config().client_secret).to_owned()),
    };
    let http = reqwest::Client::new();
    let tokens = TokenManager::new(
        http.clone(),
        settings.api_base.clone(),
        Some(credentials),
        events.clone(),
        policy,
    );
    let api = OpenApiClient::new(http, &settings, tokens.clone(), events.clone());
    let contacts = ContactsService::new(api.clone(), Directory::new(store.clone()));
    let docs = DocsService::new(api.clone(), contacts.clone());
    Harness {
        sim,
        store,
        events,
        tokens,
        api,
        contacts,
        docs,
        cancel: CancellationToken::new(),
        _dir: dir,
    }
}

impl Harness {
    /// The docs operator = seeded user `zhangwei01` (张伟, R&D).
    pub async fn with_operator(self, user_id: &str) -> Self {
        self.docs
            .configure_operator(OperatorRef::UserId(user_id.to_owned()))
            .await
            .expect("operator resolves");
        self
    }
}

/// Waits for the first event matching `pred`.
pub async fn wait_event(
    rx: &mut broadcast::Receiver<Event>,
    pred: impl Fn(&Event) -> bool,
) -> Option<Event> {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match rx.recv().await {
                Ok(event) if pred(&event) => return Some(event),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    })
    .await
    .ok()
    .flatten()
}
