//! A JSON file of secrets (mode 0600), for headless installs until the OS keychain store lands, and so the
//! `dingbridge-mcp` helper (another process) can read the MCP token the daemon generated: the in-memory
//! store cannot be shared across processes and the env store is read-only.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use secrecy::{ExposeSecret, SecretString};

use super::{SecretError, SecretStore};

pub struct FileSecretStore {
    path: PathBuf,
    /// Serialises read-modify-write cycles within this process.
    lock: Mutex<()>,
}

impl FileSecretStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// `<data_dir>/secrets.json`.
    pub fn in_dir(data_dir: &Path) -> Self {
        Self::new(data_dir.join("secrets.json"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read_all(&self) -> Result<BTreeMap<String, String>, SecretError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|err| {
                // serde_json errors name a position, never the content.
                SecretError::Unavailable(format!(
                    "{} is not valid JSON: {err}",
                    self.path.display()
                ))
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(err) => Err(SecretError::Unavailable(format!(
                "cannot read {}: {err}",
                self.path.display()
            ))),
        }
    }

    fn write_all(&self, values: &BTreeMap<String, String>) -> Result<(), SecretError> {
        let unavailable = |err: std::io::Error| {
            SecretError::Unavailable(format!("{}: {err}", self.path.display()))
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let text = serde_json::to_string_pretty(values)
            .map_err(|err| SecretError::Unavailable(err.to_string()))?;
        let tmp = self.path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(unavailable)?;
        file.write_all(text.as_bytes()).map_err(unavailable)?;
        file.sync_all().map_err(unavailable)?;
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(unavailable)
    }
}

impl SecretStore for FileSecretStore {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| SecretError::Unavailable("poisoned".into()))?;
        Ok(self.read_all()?.remove(account).map(SecretString::from))
    }

    fn set(&self, account: &str, value: SecretString) -> Result<(), SecretError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| SecretError::Unavailable("poisoned".into()))?;
        let mut values = self.read_all()?;
        values.insert(account.to_owned(), value.expose_secret().to_owned());
        self.write_all(&values)
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| SecretError::Unavailable("poisoned".into()))?;
        let mut values = self.read_all()?;
        if values.remove(account).is_some() {
            self.write_all(&values)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_a_new_store_instance_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileSecretStore::in_dir(dir.path());
        store.set("a", SecretString::from("one")).unwrap();
        store.set("b", SecretString::from("two")).unwrap();
        store.delete("a").unwrap();
        let again = FileSecretStore::in_dir(dir.path());
        assert!(again.get("a").unwrap().is_none());
        assert_eq!(again.get("b").unwrap().unwrap().expose_secret(), "two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
