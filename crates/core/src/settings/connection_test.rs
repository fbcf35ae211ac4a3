//! "Test connection": the four things the bridge needs, tried once each with the unsaved form, through the
//! same clients the engine uses (token manager, gateway, WebSocket connect, OpenCode client).
//!
//! Invariants: nothing is saved or changed; no secret and no Stream ticket appears in a step's text; a step
//! whose prerequisite failed is reported as skipped instead of failing again with a misleading error. Every
//! network call has a timeout, so a test always finishes.
//!
//! The WebSocket step connects with the app's real subscription and closes within a couple of seconds; a
//! bot message DingTalk happens to route to it in that window is not acknowledged, so DingTalk redelivers it
//! to the engine's own connection.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use secrecy::SecretString;

use super::service::FormSettings;
use super::types::{ConnectionReport, ConnectionStep, StepKind};
use crate::agent::opencode::{ClientError, OpenCodeClient, OpenCodeSettings};
use crate::config::Config;
use crate::dingtalk::auth::{RefreshPolicy, TokenManager};
use crate::dingtalk::openapi::OpenApiError;
use crate::dingtalk::stream::{GatewayError, Ticket, open_connection};
use crate::engine::Credentials;
use crate::events::EventBus;

/// Bound of each HTTP call and of the WebSocket upgrade.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the WebSocket step waits for a first frame after the upgrade (absence is not a failure).
const FIRST_FRAME_WAIT: Duration = Duration::from_secs(2);

const HINT_CREDENTIALS: &str = "DingTalk does not accept this Client ID (AppKey) / Client Secret (AppSecret): \
    copy both again from the app's Credentials page in the DingTalk developer console";
const HINT_MISSING: &str =
    "enter the Client ID (AppKey) and Client Secret (AppSecret) of your DingTalk app";
const HINT_IP: &str = "DingTalk refuses calls from this machine's IP address: add it to the app's IP \
    allow-list in the developer console (or remove the allow-list)";
const HINT_BANNED: &str = "DingTalk has blocked this IP for a few minutes after too many calls (anti-DDoS); \
    wait and try again";
const HINT_STREAM: &str = "the Stream gateway refused the app: in the developer console, add a robot to the \
    app, set its message receiving mode to Stream mode, and publish the app version";
const HINT_NETWORK: &str = "DingTalk could not be reached: check the network, a proxy or firewall, and the \
    API address";
const HINT_RETRY: &str = "DingTalk answered with a temporary error: try again in a moment";
const HINT_OPENCODE_DOWN: &str = "start OpenCode's server (`opencode serve --port 4096`), fix the OpenCode URL, \
    or leave the URL empty so that DingBridge runs OpenCode on this computer";
const HINT_OPENCODE_INSTALL: &str = "install OpenCode (`npm i -g opencode-ai`) or set the path of the OpenCode \
    program (agent.opencode_bin)";
const HINT_OPENCODE_AUTH: &str = "OpenCode refused the password: use the value of OPENCODE_SERVER_PASSWORD \
    that `opencode serve` runs with (and OPENCODE_SERVER_USERNAME if it is not \"opencode\")";

/// Runs every step and reports each one.
pub async fn test_connection(form: FormSettings) -> ConnectionReport {
    let http = match reqwest::Client::builder()
        .connect_timeout(STEP_TIMEOUT)
        .build()
    {
        Ok(http) => http,
        Err(err) => return internal_failure(&err.to_string()),
    };
    let credentials = match (&form.config.dingtalk.client_id, &form.client_secret) {
        (Some(client_id), Some(secret)) => Some(Credentials {
            client_id: client_id.clone(),
            client_secret: secret.clone(),
        }),
        _ => None,
    };
    let (dingtalk, opencode) = tokio::join!(
        dingtalk_steps(&http, &form.config, credentials),
        opencode_step(&http, &form.config, form.opencode_password.clone()),
    );
    let mut steps = dingtalk;
    steps.push(opencode);
    ConnectionReport {
        ok: steps.iter().all(|step| step.ok),
        steps,
    }
}

async fn dingtalk_steps(
    http: &reqwest::Client,
    config: &Config,
    credentials: Option<Credentials>,
) -> Vec<ConnectionStep> {
    let Some(credentials) = credentials else {
        return vec![
            Step::new(StepKind::Token).failed(
                "no Client ID or Client Secret set",
                None,
                HINT_MISSING,
            ),
            Step::skipped(StepKind::Gateway, "needs the app credentials"),
            Step::skipped(StepKind::Websocket, "needs the app credentials"),
        ];
    };
    let api_base = config.dingtalk.api_base.as_str();
    let token = token_step(http, api_base, &credentials).await;
    if !token.ok {
        return vec![
            token,
            Step::skipped(StepKind::Gateway, "skipped: the token call failed"),
            Step::skipped(StepKind::Websocket, "skipped: the token call failed"),
        ];
    }
    let started = Step::new(StepKind::Gateway);
    let opened = open_connection(
        http,
        api_base,
        &credentials.client_id,
        &credentials.client_secret,
        STEP_TIMEOUT,
    )
    .await;
    match opened {
        Ok(ticket) => {
            let gateway =
                started.passed("connections/open returned a WebSocket endpoint and a ticket");
            let websocket = websocket_step(&ticket).await;
            vec![token, gateway, websocket]
        }
        Err(err) => vec![
            token,
            gateway_failure(started, &err),
            Step::skipped(
                StepKind::Websocket,
                "skipped: the gateway did not open a connection",
            ),
        ],
    }
}

async fn token_step(
    http: &reqwest::Client,
    api_base: &str,
    credentials: &Credentials,
) -> ConnectionStep {
    let step = Step::new(StepKind::Token);
    let policy = RefreshPolicy {
        request_timeout: STEP_TIMEOUT,
        ..RefreshPolicy::default()
    };
    // A throwaway manager: one request, its events go nowhere.
    let manager = TokenManager::new(
        http.clone(),
        api_base,
        Some(credentials.clone()),
        EventBus::default(),
        policy,
    );
    match manager.token().await {
        Ok(_) => step.passed("DingTalk issued an access token for the app"),
        Err(err) => token_failure(step, &err),
    }
}

fn token_failure(step: Step, err: &OpenApiError) -> ConnectionStep {
    let detail = err.to_string();
    if let OpenApiError::IpBanned { .. } = err {
        return step.failed(&detail, Some("1111".into()), HINT_BANNED);
    }
    let code = err.fault().map(|fault| fault.code.clone());
    let hint = match err {
        OpenApiError::Http(_) => HINT_NETWORK,
        _ if code.as_deref().is_some_and(is_ip_allow_list) => HINT_IP,
        OpenApiError::Auth(_)
        | OpenApiError::InvalidParams(_)
        | OpenApiError::PermissionDenied(_) => HINT_CREDENTIALS,
        _ if err.is_transient() => HINT_RETRY,
        _ => HINT_CREDENTIALS,
    };
    step.failed(&detail, code, hint)
}

fn gateway_failure(step: Step, err: &GatewayError) -> ConnectionStep {
    let detail = err.to_string();
    match err {
        GatewayError::Http(_) => step.failed(&detail, None, HINT_NETWORK),
        GatewayError::BadResponse => step.failed(&detail, None, HINT_STREAM),
        GatewayError::Rejected { status, code, .. } => {
            let hint = if is_ip_allow_list(code) {
                HINT_IP
            } else if err.is_credentials() && code.contains("ClientIdOrSecret") {
                HINT_CREDENTIALS
            } else if *status >= 500 || *status == 429 || code.contains("Limit") {
                HINT_RETRY
            } else {
                HINT_STREAM
            };
            let code = (!code.is_empty()).then(|| code.clone());
            step.failed(
                &detail,
                code.or_else(|| Some(format!("HTTP {status}"))),
                hint,
            )
        }
    }
}

fn is_ip_allow_list(code: &str) -> bool {
    code.contains("IpNotInWhiteList")
}

async fn websocket_step(ticket: &Ticket) -> ConnectionStep {
    let step = Step::new(StepKind::Websocket);
    let connect = tokio_tungstenite::connect_async(ticket.websocket_url());
    let mut socket = match tokio::time::timeout(STEP_TIMEOUT, connect).await {
        Ok(Ok((socket, _response))) => socket,
        // The URL carries the ticket: never put it in the text.
        Ok(Err(err)) => {
            return step.failed(&without_ticket(&err.to_string()), None, HINT_NETWORK);
        }
        Err(_) => return step.failed("the WebSocket upgrade timed out", None, HINT_NETWORK),
    };
    let detail = match tokio::time::timeout(FIRST_FRAME_WAIT, socket.next()).await {
        Ok(Some(Ok(_))) => "connected; the first frame arrived",
        Ok(Some(Err(err))) => {
            return step.failed(&without_ticket(&err.to_string()), None, HINT_NETWORK);
        }
        Ok(None) => {
            return step.failed("DingTalk closed the connection at once", None, HINT_STREAM);
        }
        Err(_) => "connected (no frame yet, which is normal)",
    };
    // Best effort: the connection is ours alone and dropped right after.
    let _ = socket.close(None).await;
    let _ = socket.flush().await;
    step.passed(detail)
}

fn without_ticket(text: &str) -> String {
    match text.find("ticket=") {
        Some(index) => format!("{}ticket=<redacted>", &text[..index]),
        None => text.to_owned(),
    }
}

async fn opencode_step(
    http: &reqwest::Client,
    config: &Config,
    password: Option<SecretString>,
) -> ConnectionStep {
    if config.agent.backend == "echo" {
        return Step::skipped(
            StepKind::Opencode,
            "the echo agent answers; OpenCode is not used",
        );
    }
    if config.agent.is_managed() {
        return managed_step(config);
    }
    let step = Step::new(StepKind::Opencode);
    let mut settings = OpenCodeSettings::default()
        .with_base_url(config.agent.opencode_url.clone())
        .with_env_username();
    if let Some(user) = &config.agent.opencode_username {
        settings.username = user.clone();
    }
    settings.directory = config.agent.opencode_directory.clone();
    settings.health_timeout = STEP_TIMEOUT;
    let client = OpenCodeClient::new(http.clone(), &settings, password);
    match client.health().await {
        Ok(body) if body.healthy => step.passed(&format!(
            "OpenCode {} is healthy",
            body.version.as_deref().unwrap_or("(unknown version)")
        )),
        Ok(_) => step.failed(
            "OpenCode answered but reports itself unhealthy",
            None,
            HINT_OPENCODE_DOWN,
        ),
        Err(err) => {
            let hint = match err {
                ClientError::Unauthorized { .. } => HINT_OPENCODE_AUTH,
                _ => HINT_OPENCODE_DOWN,
            };
            step.failed(&err.to_string(), Some(err.code().to_string()), hint)
        }
    }
}

/// Managed mode: no server runs yet to ask, so the step checks what a start needs, the `opencode` program.
fn managed_step(config: &Config) -> ConnectionStep {
    let step = Step::new(StepKind::Opencode);
    let configured = config
        .agent
        .opencode_bin
        .as_deref()
        .map(std::path::Path::new);
    match crate::agent::opencode::managed::locate(configured) {
        Ok(path) => step.passed(&format!(
            "OpenCode found at {}; DingBridge starts it when the first message arrives",
            path.display()
        )),
        Err(err) => step.failed(
            &err.to_string(),
            Some(err.code().to_owned()),
            HINT_OPENCODE_INSTALL,
        ),
    }
}

fn internal_failure(detail: &str) -> ConnectionReport {
    ConnectionReport {
        ok: false,
        steps: vec![Step::new(StepKind::Token).failed(
            &format!("cannot build an HTTP client: {detail}"),
            None,
            HINT_NETWORK,
        )],
    }
}

/// A step being timed.
struct Step {
    kind: StepKind,
    started: Instant,
}

impl Step {
    fn new(kind: StepKind) -> Self {
        Self {
            kind,
            started: Instant::now(),
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn passed(self, detail: &str) -> ConnectionStep {
        ConnectionStep {
            step: self.kind,
            ok: true,
            skipped: false,
            detail: detail.to_string(),
            error_code: None,
            hint: None,
            elapsed_ms: self.elapsed_ms(),
        }
    }

    fn failed(self, detail: &str, error_code: Option<String>, hint: &str) -> ConnectionStep {
        ConnectionStep {
            step: self.kind,
            ok: false,
            skipped: false,
            detail: detail.to_string(),
            error_code,
            hint: Some(hint.to_string()),
            elapsed_ms: self.elapsed_ms(),
        }
    }

    fn skipped(kind: StepKind, detail: &str) -> ConnectionStep {
        ConnectionStep {
            step: kind,
            ok: false,
            skipped: true,
            detail: detail.to_string(),
            error_code: None,
            hint: None,
            elapsed_ms: 0,
        }
    }
}
