//! Managed mode: DingBridge runs `opencode serve` itself (one server per project, on loopback with a
//! generated password) instead of talking to a server the user started. [`ManagedBackend`] is the
//! bridge's agent: it binds each conversation to a project, starts that project's server on first use,
//! supervises it ([`ManagedServer`]) and stops idle ones.

mod locate;
mod pool;
mod process;
mod projects;
mod supervisor;

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

pub use locate::{INSTALL_COMMAND, locate};
pub use pool::{ManagedBackend, ManagedOptions};
pub use projects::{Project, ProjectChoice, from_settings as projects_from_settings};
pub use supervisor::{ManagedServer, ServerConfig, ServerState, ServerStatus};

/// Keychain account of the generated password of the managed servers.
pub const MANAGED_PASSWORD_ACCOUNT: &str = "opencode-managed-password";

#[derive(Debug, thiserror::Error)]
pub enum ManagedError {
    #[error(
        "[OPENCODE_NOT_INSTALLED] OpenCode was not found (looked in {looked_in}). Install it with `{}` or set agent.opencode_bin",
        INSTALL_COMMAND
    )]
    NotInstalled { looked_in: String },
    /// The supervisor's own "not installed" message, passed on as it is.
    #[error("{0}")]
    NotInstalledReported(String),
    #[error("[OPENCODE_SPAWN] cannot start {bin}: {source}")]
    Spawn { bin: String, source: std::io::Error },
    #[error("[OPENCODE_NOT_READY] OpenCode for project {project} is {state}: {reason}")]
    NotReady {
        project: String,
        state: String,
        reason: String,
    },
    #[error("[OPENCODE_PORT] no free loopback port: {0}")]
    Port(std::io::Error),
    #[error("[UNKNOWN_PROJECT] there is no project named {0}")]
    UnknownProject(String),
    #[error(
        "[NO_PROJECT] no project directory is configured (agent.projects or agent.opencode_directory)"
    )]
    NoProject,
}

impl ManagedError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotInstalled { .. } | Self::NotInstalledReported(_) => "OPENCODE_NOT_INSTALLED",
            Self::Spawn { .. } => "OPENCODE_SPAWN",
            Self::NotReady { .. } => "OPENCODE_NOT_READY",
            Self::Port(_) => "OPENCODE_PORT",
            Self::UnknownProject(_) => "UNKNOWN_PROJECT",
            Self::NoProject => "NO_PROJECT",
        }
    }
}

/// A loopback port free right now (the server binds it moments later).
pub(crate) fn free_port() -> Result<u16, ManagedError> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(ManagedError::Port)?;
    Ok(listener.local_addr().map_err(ManagedError::Port)?.port())
}

/// A password for a managed server: 32 random alphanumerics (never written anywhere but the keychain).
pub fn generate_password() -> String {
    use rand::Rng;
    use rand::distr::Alphanumeric;
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

/// The managed servers' password from the keychain, generated and stored on first use. Blocking (the
/// keychain talks D-Bus): call it from a blocking task.
pub fn keychain_password(
    store: &dyn crate::secrets::SecretStore,
) -> Result<secrecy::SecretString, crate::secrets::SecretError> {
    if let Some(password) = store.get(MANAGED_PASSWORD_ACCOUNT)? {
        return Ok(password);
    }
    let password = secrecy::SecretString::from(generate_password());
    store.set(MANAGED_PASSWORD_ACCOUNT, password.clone())?;
    Ok(password)
}
