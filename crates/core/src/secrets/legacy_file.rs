//! The plaintext `<data dir>/secrets.json` that DingBridge used before the keychain store (a JSON object
//! `{ "<account>": "<value>" }`, mode 0600). It is only ever read, to migrate it.
//!
//! Invariant of [`migrate_legacy_file`]: the file is removed only after every value in it was written to the
//! keychain and read back equal; on any failure the file stays (nothing is lost) and the next start retries.
//! A value already in the keychain is newer than the file (an earlier, interrupted migration or a later
//! `credentials set`) and is kept.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};

use super::{SecretError, SecretStore};

pub const LEGACY_FILE_NAME: &str = "secrets.json";

/// Reads the legacy file; `None` when there is none.
fn read(path: &Path) -> Result<Option<BTreeMap<String, String>>, SecretError> {
    match std::fs::read_to_string(path) {
        // serde_json errors name a position, never the content.
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|err| {
            SecretError::Unavailable(format!("{} is not valid JSON: {err}", path.display()))
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(SecretError::Unavailable(format!(
            "cannot read {}: {err}",
            path.display()
        ))),
    }
}

/// Moves `<data_dir>/secrets.json` into `store` (its persistent part: a layered store writes and reads back
/// through the keychain, never through env). Returns the accounts found in the file, or an empty list when
/// there was no file.
pub fn migrate_legacy_file(
    data_dir: &Path,
    store: &dyn SecretStore,
) -> Result<Vec<String>, SecretError> {
    let path: PathBuf = data_dir.join(LEGACY_FILE_NAME);
    let Some(values) = read(&path)? else {
        return Ok(Vec::new());
    };
    for (account, value) in &values {
        if store.get_stored(account)?.is_some() {
            continue;
        }
        store.set(account, SecretString::from(value.clone()))?;
        let back = store.get_stored(account)?;
        if back.as_ref().map(|v| v.expose_secret()) != Some(value.as_str()) {
            return Err(SecretError::Unavailable(format!(
                "the keychain did not return the value just written for {account}; {} is kept",
                path.display()
            )));
        }
    }
    std::fs::remove_file(&path).map_err(|err| {
        SecretError::Unavailable(format!(
            "migrated {} into the keychain but cannot remove it: {err}",
            path.display()
        ))
    })?;
    // A temporary file left by an interrupted write of the old store.
    let _ = std::fs::remove_file(path.with_extension("json.tmp"));
    Ok(values.into_keys().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MemorySecretStore;

    #[test]
    fn every_value_moves_into_the_store_and_the_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEGACY_FILE_NAME);
        std::fs::write(
            &path,
            r#"{"mcp-token": "dbm_old", "dingtalk-client-secret": "s"}"#,
        )
        .unwrap();
        let store = MemorySecretStore::default();
        let moved = migrate_legacy_file(dir.path(), &store).unwrap();
        assert_eq!(moved, ["dingtalk-client-secret", "mcp-token"]);
        assert_eq!(
            store.get("mcp-token").unwrap().unwrap().expose_secret(),
            "dbm_old"
        );
        assert!(!path.exists());
    }

    #[test]
    fn a_value_already_in_the_store_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LEGACY_FILE_NAME), r#"{"mcp-token": "old"}"#).unwrap();
        let store = MemorySecretStore::default();
        store.set("mcp-token", SecretString::from("new")).unwrap();
        migrate_legacy_file(dir.path(), &store).unwrap();
        assert_eq!(
            store.get("mcp-token").unwrap().unwrap().expose_secret(),
            "new"
        );
    }

    #[test]
    fn a_failing_store_keeps_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEGACY_FILE_NAME);
        // An account no environment variable maps to, so the env store really has to write it.
        std::fs::write(&path, r#"{"dashboard-secret": "old"}"#).unwrap();
        let err = migrate_legacy_file(dir.path(), &crate::secrets::EnvSecretStore).unwrap_err();
        assert_eq!(err.code(), "SECRET_READ_ONLY");
        assert!(path.exists());
    }

    #[test]
    fn no_file_is_nothing_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemorySecretStore::default();
        assert!(migrate_legacy_file(dir.path(), &store).unwrap().is_empty());
    }
}
