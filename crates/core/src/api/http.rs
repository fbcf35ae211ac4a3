//! Headless dashboard on loopback: `GET /api/status`, `GET /api/events` (SSE, `live`), the settings API
//! (`settings_routes`), the conversation calls (`conversation_routes`) and the static `ui/`, all behind the
//! login (`auth`). Any local web page can send requests to loopback ports, so the `Host` header must name
//! loopback (DNS-rebinding defence) and responses carry a strict CSP.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Extension, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use super::auth::{self, DashboardAuth};
use super::errors::ApiError;
use super::settings_routes::{self, Host};
use crate::mcp::http::guard::is_loopback_host;
use crate::settings::SettingsError;

/// Live event streams (`/api/events`) served at once; past this a new one gets 503 with `Retry-After`.
/// A dashboard tab holds one; the cap only stops a runaway client from pinning unbounded tasks and buffers.
pub const MAX_EVENT_SUBSCRIBERS: usize = 32;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

pub fn router(host: Host, auth: Arc<DashboardAuth>, ui_dir: Option<PathBuf>) -> Router {
    let mut router = Router::new()
        .route("/api/status", get(status))
        .route("/api/events", get(events))
        .merge(settings_routes::routes())
        .merge(super::agent_servers::routes())
        .merge(super::conversation_routes::routes())
        .merge(super::health::routes())
        .layer(Extension(EventSlots(Arc::new(Semaphore::new(
            MAX_EVENT_SUBSCRIBERS,
        )))))
        .with_state(host);
    if let Some(dir) = ui_dir {
        router = router.fallback_service(ServeDir::new(dir));
    }
    let login = Router::new()
        .route("/login", get(auth::login))
        .with_state(auth.clone());
    router
        .merge(login)
        .layer(middleware::from_fn_with_state(auth, auth::require_login))
        .layer(middleware::from_fn(loopback_host_only))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

/// Binds 127.0.0.1:`port` (0 = any free port) and serves until `shutdown` resolves.
pub async fn serve(
    router: Router,
    port: u16,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    crate::loopback::serve("dashboard server", router, port, shutdown).await
}

async fn status(State(host): State<Host>) -> Result<impl IntoResponse, ApiError> {
    let engine = host.engine().ok_or(SettingsError::Starting)?;
    Ok(Json(engine.status()))
}

/// The free places for live event streams (see [`MAX_EVENT_SUBSCRIBERS`]).
#[derive(Clone)]
struct EventSlots(Arc<Semaphore>);

/// Live events of the engine running now, and the list rows they changed (`live`). When a save restarts
/// the engine, this stream ends and the browser's `EventSource` reconnects to the new one.
async fn events(State(host): State<Host>, Extension(slots): Extension<EventSlots>) -> Response {
    let Ok(slot) = slots.0.try_acquire_owned() else {
        tracing::warn!(
            max = MAX_EVENT_SUBSCRIBERS,
            "refusing a live event stream: too many open"
        );
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "too many live event streams are open; close a dashboard tab",
        )
            .into_response();
    };
    match host.engine() {
        Some(engine) => event_stream(engine, slot).into_response(),
        None => ApiError::from(SettingsError::Starting).into_response(),
    }
}

fn event_stream(
    engine: crate::Engine,
    slot: OwnedSemaphorePermit,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    // Bounded: a dashboard that stops reading holds up only its own feed (whose bus receiver then skips
    // ahead); when it goes away, the send fails and the feed ends.
    let (sender, receiver) = tokio::sync::mpsc::channel::<SseEvent>(64);
    tokio::spawn(super::live::run(engine, move |text| {
        let sender = sender.clone();
        async move { sender.send(SseEvent::default().data(text)).await.is_ok() }
    }));
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok(event), receiver))
    });
    // The slot lives as long as the response stream: it is freed when the client goes away.
    let stream = futures_util::StreamExt::map(stream, move |event| {
        let _held = &slot;
        event
    });
    // A short keep-alive also notices a closed tab soon, freeing its slot.
    Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(5)))
}

async fn loopback_host_only(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    // The same rule as the MCP server's guard (one implementation of "loopback Host").
    if is_loopback_host(host) {
        next.run(request).await
    } else {
        (StatusCode::FORBIDDEN, "Host must be a loopback name").into_response()
    }
}

#[cfg(test)]
mod tests {
    use crate::mcp::http::guard::is_loopback_host;

    #[test]
    fn only_loopback_hosts_are_accepted() {
        assert!(is_loopback_host("127.0.0.1:8765"));
        assert!(is_loopback_host("localhost"));
        assert!(is_loopback_host("[::1]:80"));
        assert!(!is_loopback_host("evil.example:8765"));
        assert!(!is_loopback_host("127.0.0.1.evil.example"));
        assert!(!is_loopback_host(""));
    }
}
