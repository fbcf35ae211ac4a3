//! The token manager: one cached app token shared by every OpenAPI call.
//!
//! - Cached until expiry; a background task refreshes it `refresh_margin` before expiry, so callers never
//!   see an expired token in normal operation.
//! - Single-flight: concurrent callers needing a token wait on one refresh lock and all get the token it
//!   produced (a generation counter tells a waiter that someone else already refreshed).
//! - Failures are retried on the policy's schedule (1, 2, 4, 8, 16 s); after `degrade_after` consecutive
//!   failures the manager is degraded: callers fail fast with `AuthDegraded` (no token request per call) and
//!   an `AuthDegraded` event is published.
//! - Invariant: only refused credentials need the user. An outage (network, 5xx, throttling, an undecodable
//!   answer) is retried by the background task every `degraded_retry` for as long as it lasts, and callers
//!   get a *transient* `AuthDegraded` (the outbox waits, MCP answers a retryable error). Refused credentials
//!   stop the refresher until `set_credentials` or `retry`. The next success publishes `AuthRecovered`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::policy::RefreshPolicy;
use crate::dingtalk::openapi::{OpenApiError, classify};
use crate::engine::Credentials;
use crate::events::{Event, EventBus};

const TOKEN_PATH: &str = "/v1.0/oauth2/accessToken";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthState {
    /// No credentials configured.
    #[default]
    Unconfigured,
    /// Tokens are (or can be) obtained.
    Healthy,
    /// Too many consecutive refresh failures; waiting for new credentials or a user retry.
    Degraded,
}

/// What the dashboard / stats show about authentication.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuthStatus {
    pub state: AuthState,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// Remaining validity of the cached token.
    pub token_expires_in_ms: Option<u64>,
    /// Successful token requests since start.
    pub refreshes: u64,
    /// DingTalk refused the credentials: nothing is retried until they change or the user retries.
    pub needs_user: bool,
}

struct Cached {
    token: SecretString,
    expires_at: Instant,
    lifetime: Duration,
}

#[derive(Default)]
struct State {
    credentials: Option<Credentials>,
    cached: Option<Cached>,
    /// Bumped on every successful refresh and on credential changes.
    generation: u64,
    failures: u32,
    last_error: Option<String>,
    degraded: bool,
    /// The last failure was DingTalk refusing the credentials: only the user can fix it.
    needs_user: bool,
    /// Set when degraded, cleared (with an `AuthRecovered` event) by the next success.
    recovering: bool,
    refreshes: u64,
}

struct Inner {
    http: reqwest::Client,
    api_base: String,
    events: EventBus,
    policy: RefreshPolicy,
    state: Mutex<State>,
    refresh_lock: tokio::sync::Mutex<()>,
    wake: Notify,
}

/// Cheap-to-clone handle.
#[derive(Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(rename = "accessToken")]
    access_token: String,
    #[serde(rename = "expireIn", default = "default_expire_in")]
    expire_in: u64,
}

fn default_expire_in() -> u64 {
    7200
}

impl TokenManager {
    pub fn new(
        http: reqwest::Client,
        api_base: impl Into<String>,
        credentials: Option<Credentials>,
        events: EventBus,
        policy: RefreshPolicy,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                api_base: api_base.into().trim_end_matches('/').to_owned(),
                events,
                policy,
                state: Mutex::new(State {
                    credentials,
                    ..State::default()
                }),
                refresh_lock: tokio::sync::Mutex::new(()),
                wake: Notify::new(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // No code panics while holding this lock; if one did, the data is still consistent enough to use.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A valid token: the cached one, or one fresh refresh shared with concurrent callers.
    pub async fn token(&self) -> Result<SecretString, OpenApiError> {
        let seen = {
            let state = self.state();
            if let Some(cached) = state
                .cached
                .as_ref()
                .filter(|c| c.expires_at > Instant::now())
            {
                return Ok(cached.token.clone());
            }
            if state.credentials.is_none() {
                return Err(OpenApiError::NoCredentials);
            }
            if state.degraded {
                return Err(degraded_error(&state, &self.inner.policy));
            }
            state.generation
        };
        self.refresh_from(seen, false).await
    }

    /// Forgets `token` if it is still the cached one (DingTalk refused it), so the next `token()` refreshes.
    pub fn invalidate(&self, token: &SecretString) {
        let mut state = self.state();
        if state
            .cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == token.expose_secret())
        {
            state.cached = None;
        }
    }

    /// New credentials (or none): drops the token, clears the degraded state and refreshes in the background.
    pub fn set_credentials(&self, credentials: Option<Credentials>) {
        {
            let mut state = self.state();
            state.credentials = credentials;
            state.cached = None;
            state.generation += 1;
            state.failures = 0;
            state.degraded = false;
            state.needs_user = false;
            state.last_error = None;
        }
        self.inner.wake.notify_one();
    }

    /// The user pressed "retry": leave the degraded state and try once now.
    pub async fn retry(&self) -> Result<(), OpenApiError> {
        let seen = {
            let mut state = self.state();
            state.degraded = false;
            state.needs_user = false;
            state.failures = 0;
            state.generation
        };
        self.inner.wake.notify_one();
        self.refresh_from(seen, false).await.map(|_| ())
    }

    pub fn status(&self) -> AuthStatus {
        let state = self.state();
        let now = Instant::now();
        AuthStatus {
            state: if state.credentials.is_none() {
                AuthState::Unconfigured
            } else if state.degraded {
                AuthState::Degraded
            } else {
                AuthState::Healthy
            },
            consecutive_failures: state.failures,
            last_error: state.last_error.clone(),
            token_expires_in_ms: state
                .cached
                .as_ref()
                .map(|c| c.expires_at.saturating_duration_since(now).as_millis() as u64),
            refreshes: state.refreshes,
            needs_user: state.degraded && state.needs_user,
        }
    }

    pub fn is_degraded(&self) -> bool {
        self.state().degraded
    }

    /// Single-flight refresh. `seen` is the generation the caller observed: if another refresh completed
    /// meanwhile, its token is returned without a new request. `degraded_attempt` is the background task's
    /// slow retry during an outage: it asks DingTalk although the manager is degraded.
    async fn refresh_from(
        &self,
        seen: u64,
        degraded_attempt: bool,
    ) -> Result<SecretString, OpenApiError> {
        let _guard = self.inner.refresh_lock.lock().await;
        let credentials = {
            let state = self.state();
            if state.generation != seen
                && let Some(cached) = state
                    .cached
                    .as_ref()
                    .filter(|c| c.expires_at > Instant::now())
            {
                return Ok(cached.token.clone());
            }
            // Degraded: only the background task's slow retry of an outage asks DingTalk.
            let may_ask = !state.degraded || (degraded_attempt && !state.needs_user);
            if !may_ask {
                return Err(degraded_error(&state, &self.inner.policy));
            }
            state
                .credentials
                .clone()
                .ok_or(OpenApiError::NoCredentials)?
        };
        let result = self.request_token(&credentials).await;
        let mut state = self.state();
        match result {
            Ok(answer) => {
                // `expireIn` is DingTalk's number: clamp it so `now + lifetime` cannot overflow an Instant.
                let lifetime =
                    Duration::from_secs(answer.expire_in.clamp(1, MAX_TOKEN_LIFETIME_SECS));
                let token = SecretString::from(answer.access_token);
                state.cached = Some(Cached {
                    token: token.clone(),
                    expires_at: Instant::now() + lifetime,
                    lifetime,
                });
                state.generation = state.generation.wrapping_add(1);
                state.failures = 0;
                state.degraded = false;
                state.needs_user = false;
                state.last_error = None;
                state.refreshes = state.refreshes.saturating_add(1);
                if std::mem::take(&mut state.recovering) {
                    tracing::info!("DingTalk access token obtained again; leaving degraded state");
                    self.inner.events.publish(Event::AuthRecovered);
                }
                Ok(token)
            }
            Err(err) => {
                state.failures = state.failures.saturating_add(1);
                state.last_error = Some(err.to_string());
                state.needs_user = needs_user(&err);
                tracing::warn!(failures = state.failures, code = err.code(), error = %err, "access token refresh failed");
                if state.failures >= self.inner.policy.degrade_after && !state.degraded {
                    state.degraded = true;
                    state.recovering = true;
                    tracing::error!(
                        failures = state.failures,
                        "token refresh keeps failing; auth degraded"
                    );
                    self.inner.events.publish(Event::AuthDegraded {
                        reason: err.to_string(),
                        failures: state.failures,
                    });
                }
                if state.degraded {
                    // Callers hear the degraded state (transient unless the credentials were refused).
                    return Err(degraded_error(&state, &self.inner.policy));
                }
                Err(err)
            }
        }
    }

    async fn request_token(&self, credentials: &Credentials) -> Result<TokenAnswer, OpenApiError> {
        let body = json!({
            "appKey": credentials.client_id,
            "appSecret": credentials.client_secret.expose_secret(),
        });
        let response = self
            .inner
            .http
            .post(format!("{}{TOKEN_PATH}", self.inner.api_base))
            .json(&body)
            .timeout(self.inner.policy.request_timeout)
            .send()
            .await
            .map_err(|err| OpenApiError::Http(err.without_url().to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|err| OpenApiError::Http(err.without_url().to_string()))?;
        if !(200..300).contains(&status) {
            return Err(classify(status, &bytes));
        }
        serde_json::from_slice(&bytes)
            .map_err(|err| OpenApiError::Decode(format!("token answer: {err}")))
    }

    /// When the background task should refresh next (None = wait for a wake-up).
    fn next_refresh_in(&self) -> Option<Duration> {
        let state = self.state();
        if state.credentials.is_none() || (state.degraded && state.needs_user) {
            return None;
        }
        if state.degraded {
            return Some(self.inner.policy.degraded_retry);
        }
        let Some(cached) = &state.cached else {
            return Some(Duration::ZERO);
        };
        let margin = self.inner.policy.margin_for(cached.lifetime);
        Some(
            cached
                .expires_at
                .checked_sub(margin)
                .map(|at| at.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::ZERO),
        )
    }

    /// Runs the background refresher until `cancel`.
    pub fn spawn_refresher(&self, cancel: CancellationToken) -> JoinHandle<()> {
        let manager = self.clone();
        tokio::spawn(async move { manager.refresh_loop(cancel).await })
    }

    async fn refresh_loop(self, cancel: CancellationToken) {
        let mut retry_in: Option<Duration> = None;
        loop {
            let wait = retry_in.take().or_else(|| self.next_refresh_in());
            let sleep = async {
                match wait {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = self.inner.wake.notified() => continue,
                _ = sleep => {}
            }
            // A forced refresh: the cached token may still be valid, but it is within the margin.
            let seen = self.state().generation;
            if self.refresh_from(seen, true).await.is_err() && !self.is_degraded() {
                let failures = self.state().failures;
                retry_in = Some(self.inner.policy.delay_after(failures));
            }
        }
    }
}

/// Longest token lifetime believed (DingTalk issues 7200 s); anything larger is clamped.
const MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;

/// DingTalk refused the credentials themselves (or the app): retrying unchanged cannot help.
fn needs_user(err: &OpenApiError) -> bool {
    matches!(
        err,
        OpenApiError::Auth(_)
            | OpenApiError::NoCredentials
            | OpenApiError::PermissionDenied(_)
            | OpenApiError::InvalidParams(_)
    )
}

fn degraded_error(state: &State, policy: &RefreshPolicy) -> OpenApiError {
    OpenApiError::AuthDegraded {
        retry_in: (!state.needs_user).then_some(policy.degraded_retry),
        failures: state.failures,
        reason: state
            .last_error
            .clone()
            .unwrap_or_else(|| "token refresh failed".into()),
    }
}
