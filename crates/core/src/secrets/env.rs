//! Read-only store over the environment, for headless servers and CI. Invariant: an empty variable counts as
//! unset, so `DINGTALK_CLIENT_SECRET=` never shadows a keychain value.

use secrecy::SecretString;

use super::{CLIENT_SECRET, MCP_TOKEN, OPENCODE_PASSWORD, SecretError, SecretStore};

/// The environment variable that may carry `account`.
pub fn env_variable(account: &str) -> Option<&'static str> {
    match account {
        CLIENT_SECRET => Some("DINGTALK_CLIENT_SECRET"),
        OPENCODE_PASSWORD => Some("OPENCODE_SERVER_PASSWORD"),
        MCP_TOKEN => Some("DINGBRIDGE_TOKEN"),
        _ => None,
    }
}

#[derive(Default)]
pub struct EnvSecretStore;

impl EnvSecretStore {
    fn value(account: &str) -> Option<(&'static str, String)> {
        let name = env_variable(account)?;
        let value = std::env::var(name).ok()?;
        let value = value.trim();
        (!value.is_empty()).then(|| (name, value.to_owned()))
    }
}

impl SecretStore for EnvSecretStore {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        Ok(Self::value(account).map(|(_, value)| SecretString::from(value)))
    }

    fn set(&self, _account: &str, _value: SecretString) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }

    fn delete(&self, _account: &str) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }

    fn env_variable(&self, account: &str) -> Option<&'static str> {
        Self::value(account).map(|(name, _)| name)
    }

    fn backend(&self) -> &'static str {
        "environment"
    }
}
