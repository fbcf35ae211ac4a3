//! One `opencode serve` process: started in its own process group (so stopping it also stops whatever it
//! spawned: LSP servers, MCP servers, shells), with the password in its environment only (never on argv,
//! where `ps` shows it), its output appended to a log file, and stopped with SIGTERM to the group, then
//! SIGKILL after a grace period. Dropping a [`ServeProcess`] kills the group too: no orphan survives a
//! panicking or cancelled supervisor.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::process::{Child, Command};

use super::ManagedError;
use crate::agent::opencode::config::{PASSWORD_ENV, USERNAME_ENV};

/// How long a stopped server may take to exit after SIGTERM before the group is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What to run and where.
pub struct Launch<'a> {
    pub bin: &'a Path,
    pub project: &'a Path,
    pub port: u16,
    pub username: &'a str,
    pub password: &'a SecretString,
    pub log: &'a Path,
    pub env: &'a [(String, String)],
}

pub struct ServeProcess {
    child: Option<Child>,
    pid: Option<u32>,
}

impl ServeProcess {
    pub fn spawn(launch: &Launch<'_>) -> Result<ServeProcess, ManagedError> {
        let spawn_error = |source: std::io::Error| ManagedError::Spawn {
            bin: launch.bin.display().to_string(),
            source,
        };
        if let Some(dir) = launch.log.parent() {
            std::fs::create_dir_all(dir).map_err(spawn_error)?;
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(launch.log)
            .map_err(spawn_error)?;
        let log_err = log.try_clone().map_err(spawn_error)?;
        let mut command = Command::new(launch.bin);
        command
            .args(["serve", "--hostname", "127.0.0.1", "--port"])
            .arg(launch.port.to_string())
            .current_dir(launch.project)
            .env(PASSWORD_ENV, launch.password.expose_secret())
            .env(USERNAME_ENV, launch.username)
            // Updating itself under a supervisor would replace the binary mid-run.
            .env("OPENCODE_DISABLE_AUTOUPDATE", "1")
            .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let child = command.spawn().map_err(spawn_error)?;
        Ok(ServeProcess {
            pid: child.id(),
            child: Some(child),
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Resolves when the process has exited (by itself or killed from outside).
    pub async fn exited(&mut self) -> String {
        match self.child.as_mut() {
            Some(child) => match child.wait().await {
                Ok(status) => {
                    self.pid = None;
                    status.to_string()
                }
                Err(error) => format!("cannot wait for it: {error}"),
            },
            None => std::future::pending().await,
        }
    }

    /// SIGTERM to the group, SIGKILL after [`STOP_GRACE`]; returns once the process is reaped.
    pub async fn stop(mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = self.pid.take() {
            signal_group(pid, Signal::Term);
            if tokio::time::timeout(STOP_GRACE, child.wait())
                .await
                .is_err()
            {
                signal_group(pid, Signal::Kill);
            } else {
                // The leader is gone; children that ignored SIGTERM must not outlive it.
                signal_group(pid, Signal::Kill);
                return;
            }
        }
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Some(pid) = self.pid.take() {
            signal_group(pid, Signal::Kill);
        }
    }
}

#[derive(Clone, Copy)]
enum Signal {
    Term,
    Kill,
}

#[cfg(unix)]
fn signal_group(pid: u32, signal: Signal) {
    let Ok(pgid) = libc::pid_t::try_from(pid) else {
        return;
    };
    let sig = match signal {
        Signal::Term => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    // SAFETY: killpg only sends a signal; `pgid` is the group this process created for its own child
    // (process_group(0) makes the child's pid its group id), so no unrelated group is addressed.
    unsafe {
        libc::killpg(pgid, sig);
    }
}

#[cfg(not(unix))]
fn signal_group(_pid: u32, _signal: Signal) {
    // Without process groups the child is killed through its handle (kill_on_drop / start_kill).
}

/// The log file of a project's server inside the log directory.
pub fn log_path(log_dir: &Path, project: &str) -> PathBuf {
    let safe: String = project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    log_dir.join(format!("opencode-{safe}.log"))
}
