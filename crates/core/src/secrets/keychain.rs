//! The OS keychain as a [`SecretStore`]: keyring-core 1.x entries `(service, account)` built from one
//! injected credential store (Secret Service on Linux/BSD, Keychain on macOS, Credential Manager on
//! Windows). keyring-core's process-global default store is never touched, so tests and several stores
//! can live in one process.
//!
//! Invariants: every failure to reach the keychain is [`SecretError::KeychainUnavailable`] (never a silent
//! fallback); error texts never contain a value. The platform store is connected on first use and again
//! after a failure, so a keyring unlocked later is picked up without a restart. Every call blocks (D-Bus
//! round trips on Linux): async callers go through `spawn_blocking`.

use std::sync::{Arc, Mutex};

use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use secrecy::{ExposeSecret, SecretString};

use super::{SecretError, SecretStore};

/// The platform's keychain, for people.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
pub const KEYCHAIN_BACKEND: &str = "Secret Service";
#[cfg(target_os = "macos")]
pub const KEYCHAIN_BACKEND: &str = "macOS Keychain";
#[cfg(target_os = "windows")]
pub const KEYCHAIN_BACKEND: &str = "Windows Credential Manager";
#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "windows"
)))]
pub const KEYCHAIN_BACKEND: &str = "none";

enum Connector {
    /// A store handed in by the caller (tests use keyring-core's mock store).
    Injected(Arc<CredentialStore>),
    /// The platform store, connected lazily; `None` until a connection succeeded.
    Platform(Mutex<Option<Arc<CredentialStore>>>),
}

pub struct KeychainSecretStore {
    service: String,
    connector: Connector,
}

impl KeychainSecretStore {
    /// The platform keychain under `service`.
    pub fn platform(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            connector: Connector::Platform(Mutex::new(None)),
        }
    }

    /// Entries built from `store` under `service`.
    pub fn with_store(store: Arc<CredentialStore>, service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
            connector: Connector::Injected(store),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    fn store(&self) -> Result<Arc<CredentialStore>, SecretError> {
        match &self.connector {
            Connector::Injected(store) => Ok(store.clone()),
            Connector::Platform(slot) => {
                let mut slot = slot
                    .lock()
                    .map_err(|_| SecretError::Unavailable("keychain lock poisoned".into()))?;
                if let Some(store) = slot.as_ref() {
                    return Ok(store.clone());
                }
                let store = platform_store().map_err(|err| unavailable(&err))?;
                *slot = Some(store.clone());
                Ok(store)
            }
        }
    }

    /// Drops a platform connection that failed so the next call reconnects (e.g. the daemon restarted).
    fn forget_connection(&self) {
        if let Connector::Platform(slot) = &self.connector
            && let Ok(mut slot) = slot.lock()
        {
            *slot = None;
        }
    }

    fn entry(&self, account: &str) -> Result<Entry, SecretError> {
        let store = self.store()?;
        Entry::new_in_store(&store, &self.service, account).map_err(|err| self.map(account, err))
    }

    fn map(&self, account: &str, err: KeyringError) -> SecretError {
        match err {
            KeyringError::PlatformFailure(_)
            | KeyringError::NoStorageAccess(_)
            | KeyringError::NoDefaultStore => {
                self.forget_connection();
                unavailable(&err)
            }
            other => SecretError::Unavailable(format!(
                "keychain entry {}/{account}: {}",
                self.service,
                describe(&other)
            )),
        }
    }
}

impl SecretStore for KeychainSecretStore {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        match self.entry(account)?.get_password() {
            Ok(value) => Ok(Some(SecretString::from(value))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(err) => Err(self.map(account, err)),
        }
    }

    fn set(&self, account: &str, value: SecretString) -> Result<(), SecretError> {
        self.entry(account)?
            .set_password(value.expose_secret())
            .map_err(|err| self.map(account, err))
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(err) => Err(self.map(account, err)),
        }
    }

    /// Connects and looks up an entry nobody writes: reaches the service and its default collection
    /// without reading a secret.
    fn check(&self) -> Result<(), SecretError> {
        self.get("availability-probe").map(|_| ())
    }

    fn backend(&self) -> &'static str {
        KEYCHAIN_BACKEND
    }
}

fn unavailable(err: &KeyringError) -> SecretError {
    SecretError::keychain_unavailable(describe(err))
}

/// keyring-core's own texts, minus the variants whose Display or Debug could carry stored bytes.
fn describe(err: &KeyringError) -> String {
    match err {
        KeyringError::BadEncoding(_) => "the stored value is not UTF-8 text".into(),
        KeyringError::BadDataFormat(..) => "the stored value is not in the expected format".into(),
        KeyringError::Ambiguous(entries) => {
            format!("{} keychain items match this entry", entries.len())
        }
        other => other.to_string(),
    }
}

#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "windows"
)))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(KeyringError::NotSupportedByStore(
        "no OS keychain store for this platform".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyring_core::mock;

    fn store() -> KeychainSecretStore {
        let mock: Arc<CredentialStore> = mock::Store::new().unwrap();
        KeychainSecretStore::with_store(mock, "dingbridge-unit")
    }

    #[test]
    fn a_missing_entry_reads_as_none_and_deleting_it_is_not_an_error() {
        let store = store();
        assert!(store.get("nothing-here").unwrap().is_none());
        store.delete("nothing-here").unwrap();
    }

    #[test]
    fn a_value_round_trips_through_an_injected_store() {
        let store = store();
        store.set("a", SecretString::from("one")).unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().expose_secret(), "one");
        store.delete("a").unwrap();
        assert!(store.get("a").unwrap().is_none());
    }

    #[test]
    fn a_refused_keychain_is_keychain_unavailable_with_advice() {
        let err = unavailable(&KeyringError::NoStorageAccess("locked".into()));
        assert_eq!(err.code(), "KEYCHAIN_UNAVAILABLE");
        assert!(err.to_string().contains("DINGTALK_CLIENT_SECRET"), "{err}");
    }
}
