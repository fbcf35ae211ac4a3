//! The control surface the UI uses: a status snapshot, the live event stream, the settings API and (headless)
//! the HTTP routes that serve them plus the static dashboard, behind the dashboard login.

pub mod agent_servers;
pub mod auth;
pub mod conversation_routes;
pub mod conversations;
pub mod errors;
pub mod health;
pub mod host;
pub mod http;
pub mod live;
pub mod settings_routes;
pub mod status;

pub use auth::DashboardAuth;
pub use host::DashboardHost;
