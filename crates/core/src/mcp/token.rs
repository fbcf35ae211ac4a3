//! The MCP bearer token: generated on first run, kept in the secret store under [`MCP_TOKEN`] (the
//! keychain, or `DINGBRIDGE_TOKEN` which wins), rotatable.
//!
//! Invariant: [`McpToken::verify`] compares only with the token in memory (constant time, no store call on
//! the request path), and a running server keeps that copy equal to the stored token: [`McpToken::watch`]
//! re-reads the store every [`REFRESH_INTERVAL`] through `spawn_blocking`, so a rotation done by another
//! process (`dingbridged mcp-token --rotate`) revokes the old token within about a second, whatever
//! clients present. A token that comes from the environment cannot be rotated here.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use crate::secrets::{MCP_TOKEN, SecretError, SecretStore};

pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);
const TOKEN_PREFIX: &str = "dbm_";

pub struct McpToken {
    store: Option<Arc<dyn SecretStore>>,
    current: RwLock<SecretString>,
}

/// 256 random bits, hex, with a recognisable prefix (secret scanners and humans can tell what it is).
pub fn generate_token() -> SecretString {
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    SecretString::from(format!("{TOKEN_PREFIX}{hex}"))
}

impl McpToken {
    /// The stored token, or a new one saved to the store on first run. Blocking (keychain).
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
        })
    }

    /// A fixed token that is never reloaded (tests).
    pub fn fixed(token: SecretString) -> Self {
        Self {
            store: None,
            current: RwLock::new(token),
        }
    }

    pub fn current(&self) -> SecretString {
        match self.current.read() {
            Ok(token) => token.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the stored token (the old one stops working at once here, and within a second in any
    /// other running server) and returns the new one. Refused when the token comes from the environment:
    /// a new stored token would not be the one in effect. Blocking (keychain).
    pub fn rotate(&self) -> Result<SecretString, SecretError> {
        let token = generate_token();
        if let Some(store) = &self.store {
            if let Some(variable) = store.env_variable(MCP_TOKEN) {
                return Err(SecretError::FromEnv { variable });
            }
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

    /// Whether `presented` is the current token (memory only; see the module docs).
    pub fn verify(&self, presented: &str) -> bool {
        constant_time_eq(
            presented.as_bytes(),
            self.current().expose_secret().as_bytes(),
        )
    }

    /// Re-reads the store and adopts its token. A store that has lost the token keeps the one in memory
    /// (a later `load_or_create` writes a new one). Blocking (keychain).
    pub fn refresh(&self) -> Result<(), SecretError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        if let Some(token) = store.get(MCP_TOKEN)?
            && !token.expose_secret().is_empty()
        {
            self.replace(token);
        }
        Ok(())
    }

    /// Keeps the token in memory equal to the stored one until `cancel` fires (see the module docs).
    pub fn watch(self: &Arc<Self>, cancel: CancellationToken) -> tokio::task::JoinHandle<()> {
        let token = self.clone();
        tokio::spawn(async move {
            if token.store.is_none() {
                return;
            }
            let mut ticks = tokio::time::interval(REFRESH_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                let worker = token.clone();
                match tokio::task::spawn_blocking(move || worker.refresh()).await {
                    Ok(Ok(())) => failing = false,
                    // Log a failure once per outage, not every second.
                    Ok(Err(err)) if !failing => {
                        failing = true;
                        tracing::warn!(code = err.code(), error = %err, "cannot re-read the MCP token");
                    }
                    Ok(Err(_)) => {}
                    Err(err) => tracing::warn!(error = %err, "MCP token refresh task failed"),
                }
            }
        })
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
    fn a_rotation_by_another_process_revokes_the_old_token_after_a_refresh() {
        let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::default());
        let token = McpToken::load_or_create(store.clone()).unwrap();
        let old = token.current();
        let elsewhere = generate_token();
        store.set(MCP_TOKEN, elsewhere.clone()).unwrap();
        token.refresh().unwrap();
        assert!(!token.verify(old.expose_secret()));
        assert!(token.verify(elsewhere.expose_secret()));
    }

    #[test]
    fn presenting_the_new_token_does_not_by_itself_reload_the_store() {
        let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::default());
        let token = McpToken::load_or_create(store.clone()).unwrap();
        let old = token.current();
        let elsewhere = generate_token();
        store.set(MCP_TOKEN, elsewhere.clone()).unwrap();
        // Until the watcher refreshes, memory decides: a guess never triggers a store round trip.
        assert!(!token.verify(elsewhere.expose_secret()));
        assert!(token.verify(old.expose_secret()));
    }

    #[tokio::test(start_paused = true)]
    async fn the_watcher_adopts_a_stored_rotation_within_a_refresh_interval() {
        let store: Arc<dyn SecretStore> = Arc::new(MemorySecretStore::default());
        let token = Arc::new(McpToken::load_or_create(store.clone()).unwrap());
        let cancel = CancellationToken::new();
        let task = token.watch(cancel.clone());
        let old = token.current();
        let elsewhere = generate_token();
        store.set(MCP_TOKEN, elsewhere.clone()).unwrap();
        let mut adopted = false;
        for _ in 0..20 {
            tokio::time::sleep(REFRESH_INTERVAL / 4).await;
            if token.verify(elsewhere.expose_secret()) {
                adopted = true;
                break;
            }
        }
        assert!(adopted, "the watcher never picked up the stored token");
        assert!(!token.verify(old.expose_secret()));
        cancel.cancel();
        task.await.unwrap();
    }

    #[test]
    fn comparison_rejects_prefixes_and_empty_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
    }
}
