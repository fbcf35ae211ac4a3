//! The one way DingBridge serves HTTP: bound to 127.0.0.1 only, with `TCP_NODELAY` on every accepted socket.
//!
//! Why `TCP_NODELAY`: an SSE or chunked response leaves hyper in several small writes (headers, each event,
//! the terminating chunk). With Nagle's algorithm on, the second small write waits until the first is ACKed,
//! and the peer's delayed-ACK timer holds that ACK for ~40 ms on Linux. On a kept-alive connection (OpenCode's
//! MCP client, the dashboard's fetches) every MCP response then took ~44 ms instead of ~1 ms. Every listener
//! (MCP, dashboard) goes through [`serve`], so none can forget it.

use std::net::{Ipv4Addr, SocketAddr};

use axum::Router;
use axum::serve::ListenerExt;

/// Binds `127.0.0.1:port` (0 = any free port) and serves `router` until `shutdown` resolves.
/// `name` only labels the error log line ("MCP server", "dashboard server").
pub async fn serve(
    name: &'static str,
    router: Router,
    port: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let listener = listener.tap_io(|socket| {
        if let Err(error) = socket.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY on an accepted socket");
        }
    });
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, "{name} failed");
        }
    });
    Ok((addr, task))
}
