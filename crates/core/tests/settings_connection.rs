//! "Test connection" against a real `dingtalk-sim` and the sim's fake OpenCode server, over real sockets.
//! The form is unsaved: each test builds a `SettingsChange` and tests it before anything is written.

use std::sync::Arc;

use dingbridge_core::secrets::{CLIENT_SECRET, MemorySecretStore, SecretStore};
use dingbridge_core::settings::{
    ConnectionReport, ConnectionStep, SettingsChange, SettingsService, StepKind, test_connection,
};
use dingtalk_sim::{FakeOpenCode, FakeOpenCodeConfig, Sim, SimConfig};
use secrecy::SecretString;
use serde_json::json;

const CLIENT_ID: &str = "test-client";
const SECRET: &str = "test-secret";
const OPENCODE_PASSWORD: &str = "oc-password";

struct Setup {
    sim: Sim,
    opencode: FakeOpenCode,
    service: SettingsService,
    store: Arc<MemorySecretStore>,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let sim = Sim::start(SimConfig::default().with_credentials(CLIENT_ID, SECRET))
        .await
        .unwrap();
    let opencode =
        FakeOpenCode::start(FakeOpenCodeConfig::default().with_password(OPENCODE_PASSWORD))
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(MemorySecretStore::default());
    let service = SettingsService::new(dir.path().join("settings.toml"), store.clone(), "memory");
    Setup {
        sim,
        opencode,
        service,
        store,
        _dir: dir,
    }
}

/// The form as a user fills it in: the sim's address and credentials, the fake OpenCode.
fn form(setup: &Setup, secret: Option<&str>) -> SettingsChange {
    serde_json::from_value(form_json(setup, secret)).unwrap()
}

fn form_json(setup: &Setup, secret: Option<&str>) -> serde_json::Value {
    let mut dingtalk = json!({
        "client_id": CLIENT_ID,
        "api_base": setup.sim.base_url(),
        "oapi_base": setup.sim.base_url(),
    });
    if let Some(secret) = secret {
        dingtalk["client_secret"] = json!({"set": secret});
    }
    json!({
        "dingtalk": dingtalk,
        "agent": {
            "opencode_url": setup.opencode.base_url(),
            "opencode_password": {"set": OPENCODE_PASSWORD},
        },
    })
}

async fn run(setup: &Setup, change: &SettingsChange) -> ConnectionReport {
    test_connection(setup.service.form(change).unwrap()).await
}

fn step(report: &ConnectionReport, kind: StepKind) -> &ConnectionStep {
    report.steps.iter().find(|s| s.step == kind).unwrap()
}

#[tokio::test]
async fn every_step_passes_with_the_simulators_credentials() {
    let setup = setup().await;
    let report = run(&setup, &form(&setup, Some(SECRET))).await;
    assert!(report.ok, "{report:#?}");
    let kinds: Vec<StepKind> = report.steps.iter().map(|s| s.step).collect();
    assert_eq!(
        kinds,
        [
            StepKind::Token,
            StepKind::Gateway,
            StepKind::Websocket,
            StepKind::Opencode
        ]
    );
    assert!(
        step(&report, StepKind::Opencode)
            .detail
            .contains("1.18.33-fake")
    );
}

#[tokio::test]
async fn a_wrong_secret_fails_the_token_step_with_dingtalks_code_and_a_hint() {
    let setup = setup().await;
    let report = run(&setup, &form(&setup, Some("wrong-secret"))).await;
    assert!(!report.ok);
    let token = step(&report, StepKind::Token);
    assert!(!token.ok && !token.skipped);
    assert_eq!(token.error_code.as_deref(), Some("invalidClientIdOrSecret"));
    assert!(token.hint.as_deref().unwrap().contains("AppSecret"));
    assert!(step(&report, StepKind::Gateway).skipped);
    assert!(step(&report, StepKind::Websocket).skipped);
}

#[tokio::test]
async fn a_gateway_fault_fails_the_gateway_step_and_skips_the_websocket() {
    let setup = setup().await;
    setup.sim.faults().set_gateway_failures(503, 1);
    let report = run(&setup, &form(&setup, Some(SECRET))).await;
    assert!(step(&report, StepKind::Token).ok);
    let gateway = step(&report, StepKind::Gateway);
    assert!(!gateway.ok);
    assert_eq!(gateway.error_code.as_deref(), Some("ServiceUnavailable"));
    assert!(gateway.hint.is_some());
    assert!(step(&report, StepKind::Websocket).skipped);
}

#[tokio::test]
async fn the_saved_secret_is_used_when_the_form_keeps_it() {
    let setup = setup().await;
    setup
        .store
        .set(CLIENT_SECRET, SecretString::from(SECRET))
        .unwrap();
    let report = run(&setup, &form(&setup, None)).await;
    assert!(step(&report, StepKind::Websocket).ok, "{report:#?}");
}

#[tokio::test]
async fn a_wrong_opencode_password_fails_only_the_opencode_step() {
    let setup = setup().await;
    let mut change = json!({});
    change["dingtalk"] = json!({"client_id": CLIENT_ID, "client_secret": {"set": SECRET},
        "api_base": setup.sim.base_url()});
    change["agent"] = json!({"opencode_url": setup.opencode.base_url(),
        "opencode_password": {"set": "not-it"}});
    let report = run(&setup, &serde_json::from_value(change).unwrap()).await;
    assert!(step(&report, StepKind::Websocket).ok);
    let opencode = step(&report, StepKind::Opencode);
    assert!(!opencode.ok);
    assert_eq!(
        opencode.error_code.as_deref(),
        Some("OPENCODE_UNAUTHORIZED")
    );
    assert!(opencode.hint.as_deref().unwrap().contains("password"));
}

#[tokio::test]
async fn no_step_text_contains_a_secret() {
    let setup = setup().await;
    let report = run(&setup, &form(&setup, Some("wrong-secret"))).await;
    let text = serde_json::to_string(&report).unwrap();
    assert!(!text.contains("wrong-secret"));
    assert!(!text.contains(OPENCODE_PASSWORD));
}

/// The form with no OpenCode URL (managed mode) and `bin` as the OpenCode program.
fn managed_form(setup: &Setup, bin: &std::path::Path) -> SettingsChange {
    let mut change = form_json(setup, Some(SECRET));
    change["agent"] = json!({"opencode_url": "", "opencode_bin": bin.display().to_string()});
    serde_json::from_value(change).unwrap()
}

#[tokio::test]
async fn without_a_url_a_missing_opencode_program_fails_the_step_with_the_install_command() {
    let setup = setup().await;
    let missing = setup._dir.path().join("no-such-opencode");
    let report = run(&setup, &managed_form(&setup, &missing)).await;
    let opencode = step(&report, StepKind::Opencode);
    assert!(!opencode.ok && !opencode.skipped, "{opencode:#?}");
    assert_eq!(
        opencode.error_code.as_deref(),
        Some("OPENCODE_NOT_INSTALLED")
    );
    assert!(opencode.detail.contains("npm i -g opencode-ai"));
    assert!(
        opencode
            .hint
            .as_deref()
            .unwrap()
            .contains("npm i -g opencode-ai")
    );
    assert!(step(&report, StepKind::Websocket).ok, "DingTalk is fine");
}

#[cfg(unix)]
#[tokio::test]
async fn without_a_url_a_found_opencode_program_passes_the_step_without_starting_it() {
    use std::os::unix::fs::PermissionsExt;
    let setup = setup().await;
    // A program that leaves a mark if anything runs it: the step only locates it.
    let bin = setup._dir.path().join("opencode");
    let mark = setup._dir.path().join("ran");
    std::fs::write(&bin, format!("#!/bin/sh\ntouch '{}'\n", mark.display())).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let report = run(&setup, &managed_form(&setup, &bin)).await;
    let opencode = step(&report, StepKind::Opencode);
    assert!(opencode.ok, "{opencode:#?}");
    assert!(opencode.detail.contains(&bin.display().to_string()));
    assert!(report.ok, "{report:#?}");
    assert!(!mark.exists(), "the test connection ran OpenCode");
}
