//! Environment over keychain: the store the binaries and the app use. Invariant: reads take a non-empty
//! environment variable first (headless servers and CI keep working without a keychain), then the keychain;
//! writes and deletes go to the keychain only, so nothing a user sets ever lands in a file.

use std::sync::Arc;

use secrecy::SecretString;

use super::{EnvSecretStore, SecretError, SecretStore};

pub struct LayeredSecretStore {
    env: EnvSecretStore,
    keychain: Arc<dyn SecretStore>,
}

impl LayeredSecretStore {
    pub fn new(keychain: Arc<dyn SecretStore>) -> Self {
        Self {
            env: EnvSecretStore,
            keychain,
        }
    }
}

impl SecretStore for LayeredSecretStore {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        match self.env.get(account)? {
            Some(value) => Ok(Some(value)),
            None => self.keychain.get(account),
        }
    }

    fn set(&self, account: &str, value: SecretString) -> Result<(), SecretError> {
        self.keychain.set(account, value)
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        self.keychain.delete(account)
    }

    fn get_stored(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        self.keychain.get(account)
    }

    fn env_variable(&self, account: &str) -> Option<&'static str> {
        self.env.env_variable(account)
    }

    fn check(&self) -> Result<(), SecretError> {
        self.keychain.check()
    }

    fn backend(&self) -> &'static str {
        self.keychain.backend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{DASHBOARD_SECRET, MemorySecretStore};
    use secrecy::ExposeSecret;

    #[test]
    fn an_account_without_an_env_variable_reads_and_writes_the_keychain() {
        let keychain = Arc::new(MemorySecretStore::default());
        let store = LayeredSecretStore::new(keychain.clone());
        store
            .set(DASHBOARD_SECRET, SecretString::from("kept"))
            .unwrap();
        assert_eq!(
            keychain
                .get(DASHBOARD_SECRET)
                .unwrap()
                .unwrap()
                .expose_secret(),
            "kept"
        );
        assert_eq!(
            store
                .get(DASHBOARD_SECRET)
                .unwrap()
                .unwrap()
                .expose_secret(),
            "kept"
        );
        assert_eq!(store.env_variable(DASHBOARD_SECRET), None);
    }
}
