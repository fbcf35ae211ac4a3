use secrecy::SecretString;

use super::{CLIENT_SECRET, MCP_TOKEN, SecretError, SecretStore};

/// Read-only store over the environment, for headless servers and CI (`DINGTALK_CLIENT_SECRET`).
#[derive(Default)]
pub struct EnvSecretStore;

impl EnvSecretStore {
    fn variable(account: &str) -> Option<&'static str> {
        match account {
            CLIENT_SECRET => Some("DINGTALK_CLIENT_SECRET"),
            MCP_TOKEN => Some("DINGBRIDGE_TOKEN"),
            _ => None,
        }
    }
}

impl SecretStore for EnvSecretStore {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        Ok(Self::variable(account)
            .and_then(|name| std::env::var(name).ok())
            .filter(|value| !value.is_empty())
            .map(SecretString::from))
    }

    fn set(&self, _account: &str, _value: SecretString) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }

    fn delete(&self, _account: &str) -> Result<(), SecretError> {
        Err(SecretError::ReadOnly)
    }
}
