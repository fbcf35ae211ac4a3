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
