//! Where things live on disk. Both locations can be overridden so tests, CI and several instances never clash.

use std::path::PathBuf;

/// `DINGBRIDGE_CONFIG`, else `<OS config dir>/dingbridge/config.toml`.
pub fn default_config_path() -> PathBuf {
    if let Some(path) = std::env::var_os("DINGBRIDGE_CONFIG") {
        return PathBuf::from(path);
    }
    project_dirs()
        .map(|dirs| dirs.config_dir().join("config.toml"))
        .unwrap_or_else(|| PathBuf::from("dingbridge.toml"))
}

/// `DINGBRIDGE_DATA_DIR`, else `<OS data dir>/dingbridge`.
pub fn default_data_dir() -> PathBuf {
    if let Some(path) = std::env::var_os("DINGBRIDGE_DATA_DIR") {
        return PathBuf::from(path);
    }
    project_dirs()
        .map(|dirs| dirs.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".dingbridge"))
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("dev", "dingbridge", "dingbridge")
}

/// Creates `path` empty with mode 0600 on Unix if it does not exist yet, so a file another library then
/// opens (SQLite, whose -wal/-shm copy the database's mode) is private from its first byte.
pub fn precreate_private_file(path: &std::path::Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err),
    }
}
