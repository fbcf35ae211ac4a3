//! One engine per data dir. Invariant: while an [`InstanceLock`] lives, no other process (nor a second
//! engine in this one) can take the exclusive lock on `<data dir>/dingbridge.lock`, so the desktop app and
//! `dingbridged` never write the same store. The lock is the OS's (`File::try_lock`), so a crashed holder
//! (even `kill -9`) releases it with its last file descriptor; the file's content (pid and program) only
//! serves to name the holder in the error.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::config::create_private_dir;

pub const LOCK_FILE_NAME: &str = "dingbridge.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "[DATA_DIR_IN_USE] another DingBridge ({holder}) is already running on the data dir {}; stop it \
         first, or use another data dir (--data-dir / DINGBRIDGE_DATA_DIR)",
        data_dir.display()
    )]
    Held { holder: String, data_dir: PathBuf },
    #[error("[DATA_DIR_IO] cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl LockError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Held { .. } => "DATA_DIR_IN_USE",
            Self::Io { .. } => "DATA_DIR_IO",
        }
    }
}

/// Held until dropped.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    /// Creates the data dir (0700) if needed and takes its lock, recording this process as the holder.
    pub fn acquire(data_dir: &Path) -> Result<Self, LockError> {
        let path = data_dir.join(LOCK_FILE_NAME);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        create_private_dir(data_dir).map_err(io)?;
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    holder: holder(&mut file),
                    data_dir: data_dir.to_path_buf(),
                });
            }
            Err(TryLockError::Error(err)) => return Err(io(err)),
        }
        let record = format!("{} {}\n", std::process::id(), program_name());
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(record.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        Ok(Self { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// "dingbridged, pid 123" from the holder's record (bounded read: the file is ours but may be damaged).
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.take(256).read_to_string(&mut text);
    let mut parts = text.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(pid), Some(program)) => format!("{program}, pid {pid}"),
        (Some(pid), None) => format!("pid {pid}"),
        _ => "a process that is still starting".to_owned(),
    }
}

fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "dingbridge".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_data_dir_names_the_holder_and_the_dir() {
        let dir = tempfile::tempdir().unwrap();
        let _first = InstanceLock::acquire(dir.path()).unwrap();
        let err = InstanceLock::acquire(dir.path()).unwrap_err();
        assert_eq!(err.code(), "DATA_DIR_IN_USE");
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
    }

    #[test]
    fn the_lock_is_free_again_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        drop(InstanceLock::acquire(dir.path()).unwrap());
        InstanceLock::acquire(dir.path()).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn a_new_data_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("nested").join("data");
        let _lock = InstanceLock::acquire(&data).unwrap();
        let mode = std::fs::metadata(&data).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
