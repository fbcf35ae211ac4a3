//! The MCP bearer token: generated on first run, kept in the secret store under [`MCP_TOKEN`], rotatable.
//! The HTTP guard compares in constant time; after a mismatch it re-reads the store (at most once a second)
//! so a rotation done by another process (`dingbridged mcp-token --rotate`) takes effect without a restart.

use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use crate::secrets::{MCP_TOKEN, SecretError, SecretStore};

const RELOAD_INTERVAL: Duration = Duration::from_secs(1);
const TOKEN_PREFIX: &str = "dbm_";

pub struct McpToken {
    store: Option<Arc<dyn SecretStore>>,
    current: RwLock<SecretString>,
    last_reload: Mutex<Option<Instant>>,
}

/// 256 random bits, hex, with a recognisable prefix (secret scanners and humans can tell what it is).
pub fn generate_token() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    SecretString::from(format!("{TOKEN_PREFIX}{hex}"))
}

impl McpToken {
    /// The stored token, or a new one saved to the store on first run.
    pub fn load_or_create(store: Arc<dyn SecretStore>) -> Result<Self, SecretError> {
        let token = match store.get(MCP_TOKEN)? {
            Some(token) if !token.expose_secret().is_empty() => token,
            _ => {
                let token = generate_token();
                store.set(MCP_TOKEN, token.clone())?;
                token
            }
        };
        Ok(Self {
            store: Some(store),
            current: RwLock::new(token),
            last_reload: Mutex::new(None),
        })
    }

    /// A fixed token that is never reloaded (tests, or a token handed over by env).
    pub fn fixed(token: SecretString) -> Self {
        Self {
            store: None,
            current: RwLock::new(token),
            last_reload: Mutex::new(None),
        }
    }

    pub fn current(&self) -> SecretString {
        match self.current.read() {
            Ok(token) => token.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the token (old one stops working at once) and returns the new one.
    pub fn rotate(&self) -> Result<SecretString, SecretError> {
        let token = generate_token();
        if let Some(store) = &self.store {
            store.set(MCP_TOKEN, token.clone())?;
        }
        self.replace(token.clone());
        Ok(token)
    }

    fn replace(&self, token: SecretString) {
        match self.current.write() {
            Ok(mut current) => *current = token,
            Err(poisoned) => *poisoned.into_inner() = token,
        }
    }

    /// Whether `presented` is the current token.
    pub fn verify(&self, presented: &str) -> bool {
        if constant_time_eq(
            presented.as_bytes(),
            self.current().expose_secret().as_bytes(),
        ) {
            return true;
        }
        if self.reload_allowed() {
            self.reload();
            return constant_time_eq(
                presented.as_bytes(),
                self.current().expose_secret().as_bytes(),
            );
        }
        false
    }

    fn reload_allowed(&self) -> bool {
        let Some(_) = &self.store else { return false };
        let Ok(mut last) = self.last_reload.lock() else {
            return false;
        };
        let now = Instant::now();
        match *last {
            Some(at) if now.duration_since(at) < RELOAD_INTERVAL => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }

    fn reload(&self) {
        if let Some(store) = &self.store {
            match store.get(MCP_TOKEN) {
                Ok(Some(token)) if !token.expose_secret().is_empty() => self.replace(token),
                Ok(_) => {}
                Err(err) => tracing::warn!(code = err.code(), "cannot re-read the MCP token"),
            }
        }
    }
}

/// Compares without an early exit so response timing does not leak how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, byte) in a.iter().enumerate() {
        diff |= usize::from(byte ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecretStore;

    #[test]
    fn the_first_run_creates_and_stores_a_token_that_later_runs_reuse() {
        let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::default());
        let first = McpToken::load_or_create(store.clone()).unwrap().current();
        assert!(first.expose_secret().starts_with(TOKEN_PREFIX));
        assert_eq!(first.expose_secret().len(), TOKEN_PREFIX.len() + 64);
        let again = McpToken::load_or_create(store).unwrap().current();
        assert_eq!(first.expose_secret(), again.expose_secret());
    }

    #[test]
    fn rotation_invalidates_the_old_token_and_persists_the_new_one() {
        let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::default());
        let token = McpToken::load_or_create(store.clone()).unwrap();
        let old = token.current();
        let new = token.rotate().unwrap();
        assert!(!token.verify(old.expose_secret()));
        assert!(token.verify(new.expose_secret()));
        let stored = store.get(MCP_TOKEN).unwrap().unwrap();
        assert_eq!(stored.expose_secret(), new.expose_secret());
    }

    #[test]
    fn a_rotation_by_another_process_is_picked_up_from_the_store() {
        let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::default());
        let token = McpToken::load_or_create(store.clone()).unwrap();
        let elsewhere = generate_token();
        store.set(MCP_TOKEN, elsewhere.clone()).unwrap();
        assert!(token.verify(elsewhere.expose_secret()));
    }

    #[test]
    fn comparison_rejects_prefixes_and_empty_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
    }
}
