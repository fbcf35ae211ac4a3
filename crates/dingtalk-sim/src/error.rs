//! Errors surfaced by the simulator's public API.

use std::io;

/// Everything that can go wrong when starting or running the simulator.
///
/// Request-level problems never become a `SimError`: they are answered on the
/// wire with DingTalk's own error shapes, because that is what the client under
/// test must cope with.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The loopback listener could not be bound (port in use, no permission).
    #[error("could not bind 127.0.0.1:{port}: {source}")]
    Bind {
        port: u16,
        #[source]
        source: io::Error,
    },
    /// The bound listener could not tell its own address.
    #[error("could not read the listener address: {0}")]
    LocalAddr(#[source] io::Error),
}
