//! Where the OpenCode server is and how patient to be with it. The password is deliberately not a field:
//! it comes from the secret store (or `OPENCODE_SERVER_PASSWORD`) as a `SecretString`, so settings can be
//! logged, shown and serialised without leaking it.

use std::time::Duration;

use secrecy::SecretString;

/// Env var OpenCode itself reads to protect `opencode serve` (HTTP Basic on every route).
pub const PASSWORD_ENV: &str = "OPENCODE_SERVER_PASSWORD";
/// Env var OpenCode reads for the Basic-auth user name (default `opencode`).
pub const USERNAME_ENV: &str = "OPENCODE_SERVER_USERNAME";

pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:4096";
pub const DEFAULT_USERNAME: &str = "opencode";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenCodeSettings {
    /// `opencode serve` address, e.g. `http://127.0.0.1:4096`.
    pub base_url: String,
    /// HTTP Basic user name (only sent when a password is set).
    pub username: String,
    /// Project directory, passed as `?directory=` so OpenCode scopes sessions and events to that project.
    pub directory: Option<String>,
    /// Per-request timeout for the short REST calls (create session, prompt, abort, replies).
    pub request_timeout: Duration,
    /// A turn that has not gone idle after this long is aborted and fails.
    pub turn_timeout: Duration,
    /// Timeout of `GET /global/health` and of waiting for the event stream to come up before a prompt.
    pub health_timeout: Duration,
    /// TCP connect timeout (a dead port on loopback fails at once anyway; this bounds remote hosts).
    pub connect_timeout: Duration,
    /// OpenCode sends `server.heartbeat` periodically; silence this long means the stream is dead even if
    /// the socket looks open, so the reader reconnects.
    pub event_idle_timeout: Duration,
    /// A running turn whose event stream stays down this long fails with `Unavailable` (the bridge retries).
    pub reconnect_grace: Duration,
}

impl Default for OpenCodeSettings {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            username: DEFAULT_USERNAME.to_owned(),
            directory: None,
            request_timeout: Duration::from_secs(15),
            turn_timeout: Duration::from_secs(30 * 60),
            health_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(3),
            event_idle_timeout: Duration::from_secs(60),
            reconnect_grace: Duration::from_secs(20),
        }
    }
}

impl OpenCodeSettings {
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Applies `OPENCODE_SERVER_USERNAME` if set (OpenCode's own variable, so one env serves both sides).
    pub fn with_env_username(mut self) -> Self {
        if let Ok(name) = std::env::var(USERNAME_ENV)
            && !name.trim().is_empty()
        {
            self.username = name;
        }
        self
    }

    /// The base URL without a trailing slash, ready for `format!("{base}/path")`.
    pub fn normalized_base(&self) -> String {
        self.base_url.trim_end_matches('/').to_owned()
    }
}

/// `OPENCODE_SERVER_PASSWORD` from the environment, for headless setups without a keychain.
pub fn password_from_env() -> Option<SecretString> {
    std::env::var(PASSWORD_ENV)
        .ok()
        .filter(|value| !value.is_empty())
        .map(SecretString::from)
}
