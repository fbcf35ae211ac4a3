//! Route composition. The simulated DingTalk API sits behind the fault
//! middleware; the `/_sim` control API does not. Later modules (OpenAPI send,
//! contacts, docs, cards, fake OpenCode) add their routers to [`api_routes`].

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::Response;

use crate::api_error::{code_for_status, new_api_error};
use crate::state::SimState;
use crate::{cards, message_files, robot_send};
use crate::{control, faults, gateway, oauth, openapi, socket, webhook};

/// The simulated DingTalk endpoints (api.dingtalk.com + oapi + Stream).
pub fn api_routes() -> Router<Arc<SimState>> {
    Router::new()
        .merge(gateway::routes())
        .merge(socket::routes())
        .merge(oauth::routes())
        .merge(webhook::routes())
        .merge(openapi::routes())
        .merge(robot_send::routes())
        .merge(cards::routes())
        .merge(message_files::routes())
}

/// The whole application served on the simulator's port.
pub fn build(state: Arc<SimState>) -> Router {
    // Inner layer: OpenAPI faults (token outage, throttling, quota, IP ban); outer: latency / random 5xx.
    let api = api_routes()
        .layer(from_fn_with_state(state.clone(), openapi::middleware))
        .layer(from_fn_with_state(state.clone(), faults::middleware));
    Router::new()
        .merge(api)
        .merge(control::routes())
        .fallback(not_found)
        .with_state(state)
}

/// Unknown paths answer like the real gateway, so a client calling an API the
/// simulator does not have yet gets a clear new-API error.
async fn not_found() -> Response {
    let (code, message) = code_for_status(404);
    new_api_error(StatusCode::NOT_FOUND, code, message)
}
