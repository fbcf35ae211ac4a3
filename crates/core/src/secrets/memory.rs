//! In-process store for tests and demo mode. Invariant: values never leave the process.

use std::collections::HashMap;
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

use super::{SecretError, SecretStore};

#[derive(Default)]
pub struct MemorySecretStore {
    values: Mutex<HashMap<String, SecretString>>,
}

impl SecretStore for MemorySecretStore {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        let values = self
            .values
            .lock()
            .map_err(|_| SecretError::Unavailable("poisoned".into()))?;
        Ok(values
            .get(account)
            .map(|secret| SecretString::from(secret.expose_secret().to_owned())))
    }

    fn set(&self, account: &str, value: SecretString) -> Result<(), SecretError> {
        self.values
            .lock()
            .map_err(|_| SecretError::Unavailable("poisoned".into()))?
            .insert(account.to_owned(), value);
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        self.values
            .lock()
            .map_err(|_| SecretError::Unavailable("poisoned".into()))?
            .remove(account);
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "memory"
    }
}
