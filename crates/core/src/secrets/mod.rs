//! Secrets (DingTalk client secret, later the MCP token) only ever pass through a `SecretStore`.
//! The desktop app uses the OS keychain; headless servers and CI read env; tests use memory.

mod env;
mod file;
mod memory;

pub use env::EnvSecretStore;
pub use file::FileSecretStore;
pub use memory::MemorySecretStore;

use secrecy::SecretString;

/// Account names under which secrets are stored.
pub const CLIENT_SECRET: &str = "dingtalk-client-secret";
/// The bearer token of the local MCP server (`DINGBRIDGE_TOKEN` in the env store).
pub const MCP_TOKEN: &str = "mcp-token";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("[SECRET_UNAVAILABLE] the secret store is unavailable: {0}")]
    Unavailable(String),
    #[error("[SECRET_READ_ONLY] this secret store is read-only")]
    ReadOnly,
}

impl SecretError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unavailable(_) => "SECRET_UNAVAILABLE",
            Self::ReadOnly => "SECRET_READ_ONLY",
        }
    }
}

/// Get/set/delete a secret by account name. Implementations must never log secret values.
pub trait SecretStore: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError>;
    fn set(&self, account: &str, value: SecretString) -> Result<(), SecretError>;
    fn delete(&self, account: &str) -> Result<(), SecretError>;
}
