//! Finds the `opencode` binary: the path set in settings wins (and is the only candidate when set, so a
//! wrong setting is reported instead of silently replaced), else `PATH`, else the places OpenCode's own
//! installers and npm put it. Located afresh on every start, so installing OpenCode while DingBridge runs
//! is picked up at the next attempt without a restart.

use std::path::{Path, PathBuf};

use super::ManagedError;

/// The command a user runs to install OpenCode; named in every "not installed" message.
pub const INSTALL_COMMAND: &str = "npm i -g opencode-ai";

#[cfg(windows)]
const NAMES: &[&str] = &["opencode.exe", "opencode.cmd"];
#[cfg(not(windows))]
const NAMES: &[&str] = &["opencode"];

/// The binary to run, or [`ManagedError::NotInstalled`] listing where it looked.
pub fn locate(configured: Option<&Path>) -> Result<PathBuf, ManagedError> {
    if let Some(path) = configured {
        return if is_executable(path) {
            Ok(path.to_path_buf())
        } else {
            Err(ManagedError::NotInstalled {
                looked_in: path.display().to_string(),
            })
        };
    }
    let dirs = search_dirs();
    dirs.iter()
        .flat_map(|dir| NAMES.iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| ManagedError::NotInstalled {
            looked_in: "PATH, ~/.opencode/bin, ~/.local/bin, the npm global bin".to_owned(),
        })
}

/// `PATH` first (what the user's shell would run), then the usual install places.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    if let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) {
        // OpenCode's install script, pip/pipx-style user bins, and npm's common user prefixes.
        for rel in [
            ".opencode/bin",
            ".local/bin",
            ".npm-global/bin",
            ".npm/bin",
            ".bun/bin",
            ".volta/bin",
            "AppData/Roaming/npm",
        ] {
            dirs.push(home.join(rel));
        }
    }
    if let Some(prefix) = std::env::var_os("NPM_CONFIG_PREFIX") {
        dirs.push(PathBuf::from(prefix).join("bin"));
    }
    // A desktop app started from the dock has a minimal PATH that misses Homebrew and /usr/local.
    for dir in ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin"] {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_path_that_does_not_exist_is_not_installed_and_names_the_path() {
        let err = locate(Some(Path::new("/nonexistent/opencode"))).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/nonexistent/opencode"), "{text}");
        assert!(text.contains(INSTALL_COMMAND), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_configured_executable_file_is_used() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("opencode");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate(Some(&bin)).unwrap(), bin);
    }
}
