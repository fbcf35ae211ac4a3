//! Secrets (DingTalk client secret, OpenCode password, MCP token, dashboard secret) only ever pass through a
//! [`SecretStore`]. Invariant: a secret is written to the OS keychain and nowhere else; it is read from the
//! environment (headless servers, CI; env wins) or the keychain. There is no plaintext fallback: when no
//! keychain is reachable, reads of secrets not in env and every write fail with
//! [`SecretError::KeychainUnavailable`], whose text says what to do.
//!
//! Keychain calls are blocking (D-Bus on Linux): async code calls the store through
//! `tokio::task::spawn_blocking`.
//!
//! | account | keychain (service `dingbridge`) | environment |
//! |---|---|---|
//! | [`CLIENT_SECRET`] | `dingtalk-client-secret` | `DINGTALK_CLIENT_SECRET` |
//! | [`OPENCODE_PASSWORD`] | `opencode-password` | `OPENCODE_SERVER_PASSWORD` |
//! | [`MCP_TOKEN`] | `mcp-token` | `DINGBRIDGE_TOKEN` |
//! | [`DASHBOARD_SECRET`] | `dashboard-secret` | – |

mod env;
mod error;
mod keychain;
mod layered;
mod legacy_file;
mod memory;

pub use env::{EnvSecretStore, env_variable};
pub use error::SecretError;
pub use keychain::{KEYCHAIN_BACKEND, KeychainSecretStore};
pub use layered::LayeredSecretStore;
pub use legacy_file::{LEGACY_FILE_NAME, migrate_legacy_file};
pub use memory::MemorySecretStore;

use std::sync::Arc;

use secrecy::SecretString;

/// The DingTalk app's client secret (AppSecret).
pub const CLIENT_SECRET: &str = "dingtalk-client-secret";
/// The bearer token of the local MCP server.
pub const MCP_TOKEN: &str = "mcp-token";
/// HTTP Basic password of the OpenCode server.
pub const OPENCODE_PASSWORD: &str = "opencode-password";
/// Per-install secret from which `dingbridged`'s dashboard login cookie is derived.
pub const DASHBOARD_SECRET: &str = "dashboard-secret";
/// Every account DingBridge keeps, in the order `credentials status` lists them.
pub const ACCOUNTS: [&str; 4] = [
    CLIENT_SECRET,
    OPENCODE_PASSWORD,
    MCP_TOKEN,
    DASHBOARD_SECRET,
];

/// The keychain service name all accounts live under.
pub const DEFAULT_SERVICE: &str = "dingbridge";
/// Overrides [`DEFAULT_SERVICE`], so tests and side-by-side installs never share entries.
pub const SERVICE_ENV: &str = "DINGBRIDGE_KEYCHAIN_SERVICE";

/// `DINGBRIDGE_KEYCHAIN_SERVICE`, else `dingbridge`.
pub fn service_name() -> String {
    std::env::var(SERVICE_ENV)
        .ok()
        .filter(|value| !value.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVICE.to_owned())
}

/// The store the binaries and the app use: env first, then the OS keychain under [`service_name`].
/// The keychain is connected on first use, so an env-only headless setup works without one.
pub fn open_default() -> Arc<dyn SecretStore> {
    open_with_service(&service_name())
}

/// [`open_default`] over a given keychain service name (tests, side-by-side installs).
pub fn open_with_service(service: &str) -> Arc<dyn SecretStore> {
    Arc::new(LayeredSecretStore::new(Arc::new(
        KeychainSecretStore::platform(service),
    )))
}

/// Get/set/delete a secret by account name. Implementations never log secret values and never put one in
/// an error. Keychain-backed implementations block: call them from `spawn_blocking` in async code.
pub trait SecretStore: Send + Sync {
    /// The value in effect: for a layered store the environment wins over the keychain.
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError>;
    /// Writes to the persistent store (the keychain), never to the environment or a file.
    fn set(&self, account: &str, value: SecretString) -> Result<(), SecretError>;
    /// Removes the persisted value; removing an absent one is not an error.
    fn delete(&self, account: &str) -> Result<(), SecretError>;

    /// The value persisted in the store itself, ignoring environment overrides (status, read-back checks).
    fn get_stored(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        self.get(account)
    }

    /// The environment variable that supplies `account` right now (it wins over the keychain), if any.
    fn env_variable(&self, _account: &str) -> Option<&'static str> {
        None
    }

    /// Whether the persistent store can be reached now; the error says what to do.
    fn check(&self) -> Result<(), SecretError> {
        Ok(())
    }

    /// What persists the secrets, for people ("Secret Service", "memory", ...).
    fn backend(&self) -> &'static str;

    /// Where `get(account)` comes from, without exposing the value.
    fn source(&self, account: &str) -> Result<SecretSource, SecretError> {
        if let Some(variable) = self.env_variable(account) {
            return Ok(SecretSource::Env(variable));
        }
        Ok(match self.get_stored(account)? {
            Some(_) => SecretSource::Store,
            None => SecretSource::Missing,
        })
    }
}

/// Where a secret currently comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// This environment variable (it wins over the keychain).
    Env(&'static str),
    /// The persistent store (the keychain).
    Store,
    /// Not set anywhere.
    Missing,
}

/// The environment variables that currently override the keychain (`secrets_from_env` in the settings view).
pub fn secrets_from_env(store: &dyn SecretStore) -> Vec<&'static str> {
    ACCOUNTS
        .iter()
        .filter_map(|account| store.env_variable(account))
        .collect()
}
