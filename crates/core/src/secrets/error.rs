//! Errors of the secret stores. Invariant: no variant ever carries a secret value; texts name accounts,
//! services, files and variables only.

/// What to do when the OS keychain cannot be reached, per platform.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
pub(crate) const KEYCHAIN_ADVICE: &str = "start and unlock a Secret Service in your desktop session \
    (gnome-keyring, or KeePassXC with Secret Service integration), then retry; on a headless server set \
    DINGTALK_CLIENT_SECRET (and OPENCODE_SERVER_PASSWORD, DINGBRIDGE_TOKEN as needed) in the environment \
    instead";
#[cfg(target_os = "macos")]
pub(crate) const KEYCHAIN_ADVICE: &str = "unlock your login keychain (Keychain Access) and allow \
    DingBridge to use it, then retry; on a headless machine set DINGTALK_CLIENT_SECRET (and \
    OPENCODE_SERVER_PASSWORD, DINGBRIDGE_TOKEN as needed) in the environment instead";
#[cfg(target_os = "windows")]
pub(crate) const KEYCHAIN_ADVICE: &str = "make sure Windows Credential Manager is available for your \
    user, then retry; on a headless machine set DINGTALK_CLIENT_SECRET (and OPENCODE_SERVER_PASSWORD, \
    DINGBRIDGE_TOKEN as needed) in the environment instead";
#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    target_os = "windows"
)))]
pub(crate) const KEYCHAIN_ADVICE: &str = "this platform has no supported OS keychain: set \
    DINGTALK_CLIENT_SECRET (and OPENCODE_SERVER_PASSWORD, DINGBRIDGE_TOKEN as needed) in the environment";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No keychain to talk to (no Secret Service, locked and the unlock was refused, no platform store).
    #[error("[KEYCHAIN_UNAVAILABLE] the OS keychain cannot be reached ({reason}): {advice}")]
    KeychainUnavailable {
        reason: String,
        advice: &'static str,
    },
    /// The store answered but the operation failed (e.g. a value that is not UTF-8, ambiguous entries).
    #[error("[SECRET_UNAVAILABLE] the secret store is unavailable: {0}")]
    Unavailable(String),
    #[error("[SECRET_READ_ONLY] this secret store is read-only")]
    ReadOnly,
    /// The value comes from this environment variable, so changing the stored one would have no effect.
    #[error(
        "[SECRET_FROM_ENV] this secret comes from the environment variable {variable}; change or unset \
         {variable} instead"
    )]
    FromEnv { variable: &'static str },
}

impl SecretError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::KeychainUnavailable { .. } => "KEYCHAIN_UNAVAILABLE",
            Self::Unavailable(_) => "SECRET_UNAVAILABLE",
            Self::ReadOnly => "SECRET_READ_ONLY",
            Self::FromEnv { .. } => "SECRET_FROM_ENV",
        }
    }

    pub(crate) fn keychain_unavailable(reason: impl Into<String>) -> Self {
        Self::KeychainUnavailable {
            reason: reason.into(),
            advice: KEYCHAIN_ADVICE,
        }
    }

    /// What to do, for UIs that show the reason and the advice separately.
    pub fn advice(&self) -> Option<&'static str> {
        match self {
            Self::KeychainUnavailable { advice, .. } => Some(advice),
            _ => None,
        }
    }
}
