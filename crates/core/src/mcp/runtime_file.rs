//! The runtime file (mode 0600) through which a running DingBridge tells `dingbridge-mcp` where its MCP
//! endpoint is and where the bearer token lives. It never contains the token itself: the helper reads the
//! token from the named keychain entry (or takes `DINGBRIDGE_TOKEN` from its env).
//!
//! Location: `DINGBRIDGE_RUNTIME_FILE`, else `<data dir>/runtime.json` (data dir: `DINGBRIDGE_DATA_DIR` or the
//! OS data dir). The app removes it on clean shutdown; a stale file is detected by the helper (refused
//! connection or dead pid) and reported as "not running".

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::default_data_dir;

pub const RUNTIME_FILE_ENV: &str = "DINGBRIDGE_RUNTIME_FILE";
pub const FILE_NAME: &str = "runtime.json";

/// Where the MCP token can be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "store", rename_all = "snake_case")]
pub enum TokenRef {
    /// The OS keychain entry `(service, account)`.
    Keychain { service: String, account: String },
    /// The app was given the token through this environment variable; the helper needs the same.
    Env { variable: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    /// The Streamable HTTP endpoint, e.g. `http://127.0.0.1:8766/mcp`.
    pub url: String,
    pub pid: u32,
    pub started_at_ms: i64,
    pub version: String,
    pub token: TokenRef,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeFileError {
    #[error("[RUNTIME_FILE_MISSING] no runtime file at {0}")]
    Missing(PathBuf),
    #[error("[RUNTIME_FILE_IO] cannot access {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("[RUNTIME_FILE_INVALID] {path} is not a DingBridge runtime file: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl RuntimeFileError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing(_) => "RUNTIME_FILE_MISSING",
            Self::Io { .. } => "RUNTIME_FILE_IO",
            Self::Invalid { .. } => "RUNTIME_FILE_INVALID",
        }
    }
}

/// `DINGBRIDGE_RUNTIME_FILE`, else `<data dir>/runtime.json`.
pub fn default_path() -> PathBuf {
    std::env::var_os(RUNTIME_FILE_ENV)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| default_data_dir().join(FILE_NAME))
}

pub fn write(path: &Path, info: &RuntimeInfo) -> Result<(), RuntimeFileError> {
    let io = |source| RuntimeFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::to_string_pretty(info).map_err(|err| RuntimeFileError::Invalid {
        path: path.to_path_buf(),
        message: err.to_string(),
    })?;
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    drop(file);
    std::fs::rename(&tmp, path).map_err(io)
}

pub fn read(path: &Path) -> Result<RuntimeInfo, RuntimeFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Err(RuntimeFileError::Missing(path.to_path_buf()));
        }
        Err(source) => {
            return Err(RuntimeFileError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_str(&text).map_err(|err| RuntimeFileError::Invalid {
        path: path.to_path_buf(),
        message: err.to_string(),
    })
}

/// Removes the runtime file when dropped, but only if it still describes this process (a second instance
/// may have replaced it).
pub struct RuntimeFileGuard {
    path: PathBuf,
}

impl RuntimeFileGuard {
    pub fn create(path: PathBuf, info: &RuntimeInfo) -> Result<Self, RuntimeFileError> {
        write(&path, info)?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RuntimeFileGuard {
    fn drop(&mut self) {
        if let Ok(info) = read(&self.path)
            && info.pid == std::process::id()
        {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> RuntimeInfo {
        RuntimeInfo {
            url: "http://127.0.0.1:8766/mcp".into(),
            pid: std::process::id(),
            started_at_ms: 1,
            version: "0.1.0".into(),
            token: TokenRef::Keychain {
                service: "dingbridge".into(),
                account: "mcp-token".into(),
            },
        }
    }

    #[test]
    fn the_file_round_trips_is_private_and_is_removed_by_its_guard() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        {
            let _guard = RuntimeFileGuard::create(path.clone(), &info()).unwrap();
            assert_eq!(read(&path).unwrap(), info());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&path).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
        }
        assert!(matches!(read(&path), Err(RuntimeFileError::Missing(_))));
    }
}
